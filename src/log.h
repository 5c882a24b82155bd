/* log.h: leveled logging to the journal (structured) or stderr.
 *
 * log_debug() costs one integer compare when debug is off. Functions ending in
 * _errno take a negative errno value and append its message. log_ratelimited()
 * is for per-message warnings that hostile input could trigger at line rate. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

extern int log_max_level;

int log_parse_level(const char *s);
void log_open(int level, bool force_stderr);
void log_msg(int prio, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Structured: fields is a NULL-terminated list of "KEY=value" strings, may be NULL. */
void log_fields(int prio, const char *const *fields, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A message about an alert, a household and/or a device (each may be NULL): under journald
 * the ids become the fields DOORWATCH_ALERT=, DOORWATCH_HOUSEHOLD=, DOORWATCH_DEVICE=, so
 * `journalctl DOORWATCH_HOUSEHOLD=CHL-0001` shows a household's story. */
void log_about(int prio, const char *alert_id, const char *household_id, const char *device_id,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define log_debug(...)                                                                             \
        do {                                                                                       \
                if (log_max_level >= LOG_DEBUG)                                                    \
                        log_msg(LOG_DEBUG, 0, __VA_ARGS__);                                        \
        } while (0)
#define log_info(...)          log_msg(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...)        log_msg(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warn(...)          log_msg(LOG_WARNING, 0, __VA_ARGS__)
#define log_err(...)           log_msg(LOG_ERR, 0, __VA_ARGS__)
#define log_warn_errno(r, ...) log_msg(LOG_WARNING, (r), __VA_ARGS__)
#define log_err_errno(r, ...)  log_msg(LOG_ERR, (r), __VA_ARGS__)

/* A token bucket per call site: at most `burst` messages, refilled at one per `interval_usec`.
 * Returns true when the caller may log; suppressed counts are reported on the next allowed one. */
struct ratelimit {
        uint64_t interval_usec;
        unsigned burst;
        uint64_t begin_usec;
        unsigned n_printed;
        unsigned n_suppressed;
};
#define RATELIMIT_INIT(i, b)                                                                       \
        {                                                                                          \
                .interval_usec = (i), .burst = (b)                                                 \
        }
bool ratelimit_below(struct ratelimit *rl);

/* Masks a phone number for logs: "+8613800000001" -> "+86138****0001". */
const char *log_mask_phone(const char *phone, char buf[static 32]);

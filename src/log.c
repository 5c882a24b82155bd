/* log.c: logging to the journal when stderr is connected to it ($JOURNAL_STREAM matches),
 * otherwise lines on stderr: on a terminal as people read them ("warning: ..."), else with
 * the syslog priority prefix ("<4>...") that journald and syslog collectors reading a pipe
 * understand. Nothing here allocates on the hot path. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

int log_max_level = LOG_INFO;
static bool log_to_journal, log_to_tty;

static const char *const level_names[] = {
        [LOG_EMERG] = "emerg", [LOG_ALERT] = "alert",     [LOG_CRIT] = "crit",
        [LOG_ERR] = "err",     [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
        [LOG_INFO] = "info",   [LOG_DEBUG] = "debug",
};

int log_parse_level(const char *s)
{
        for (int i = 0; i <= LOG_DEBUG; i++)
                if (strcmp(s, level_names[i]) == 0)
                        return i;
        if (strcmp(s, "warn") == 0)
                return LOG_WARNING;
        if (strcmp(s, "error") == 0)
                return LOG_ERR;
        return -EINVAL;
}

/* stderr goes to the journal when its device/inode pair is the one systemd put into
 * $JOURNAL_STREAM (see systemd.exec(5)). */
static bool stderr_is_journal(void)
{
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_open(int level, bool force_stderr)
{
        log_max_level = level;
        log_to_journal = !force_stderr && stderr_is_journal();
        log_to_tty = isatty(STDERR_FILENO) == 1;
}

static void log_emit(int prio, const char *const *fields, const char *msg)
{
        if (log_to_journal) {
                struct iovec iov[16];
                char pbuf[16];
                int n = 0;
                char *m = NULL;

                if (asprintf(&m, "MESSAGE=%s", msg) < 0)
                        return;
                snprintf(pbuf, sizeof(pbuf), "PRIORITY=%d", prio);
                iov[n++] = (struct iovec){ m, strlen(m) };
                iov[n++] = (struct iovec){ pbuf, strlen(pbuf) };
                iov[n++] = (struct iovec){ (char *)"SYSLOG_IDENTIFIER=doorwatchd", 28 };
                for (size_t i = 0; fields && fields[i] && n < 16; i++)
                        iov[n++] = (struct iovec){ (char *)fields[i], strlen(fields[i]) };
                sd_journal_sendv(iov, n);
                free(m);
                return;
        }
        if (!log_to_tty)
                fprintf(stderr, "<%d>%s\n", prio, msg);
        else if (prio <= LOG_ERR)
                fprintf(stderr, "error: %s\n", msg);
        else if (prio == LOG_WARNING)
                fprintf(stderr, "warning: %s\n", msg);
        else
                fprintf(stderr, "%s\n", msg);
}

static void log_vmsg(int prio, int err, const char *const *fields, const char *fmt, va_list ap)
{
        char buf[1024];
        int n;

        if (prio > log_max_level)
                return;
        n = vsnprintf(buf, sizeof(buf), fmt, ap);
        if (n < 0)
                return;
        if (err != 0 && (size_t)n < sizeof(buf))
                snprintf(buf + n, sizeof(buf) - (size_t)n, ": %s", strerror(err < 0 ? -err : err));
        log_emit(prio, fields, buf);
}

void log_msg(int prio, int err, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        log_vmsg(prio, err, NULL, fmt, ap);
        va_end(ap);
}

void log_fields(int prio, const char *const *fields, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        log_vmsg(prio, 0, fields, fmt, ap);
        va_end(ap);
}

void log_about(int prio, const char *alert_id, const char *household_id, const char *device_id,
               const char *fmt, ...)
{
        char fa[96], fh[96], fd[96];
        const char *fields[4];
        size_t n = 0;
        va_list ap;

        if (prio > log_max_level)
                return;
        if (alert_id) {
                snprintf(fa, sizeof(fa), "DOORWATCH_ALERT=%s", alert_id);
                fields[n++] = fa;
        }
        if (household_id) {
                snprintf(fh, sizeof(fh), "DOORWATCH_HOUSEHOLD=%s", household_id);
                fields[n++] = fh;
        }
        if (device_id) {
                snprintf(fd, sizeof(fd), "DOORWATCH_DEVICE=%s", device_id);
                fields[n++] = fd;
        }
        fields[n] = NULL;
        va_start(ap, fmt);
        log_vmsg(prio, 0, fields, fmt, ap);
        va_end(ap);
}

static uint64_t mono_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

bool ratelimit_below(struct ratelimit *rl)
{
        uint64_t now = mono_usec();

        if (rl->begin_usec == 0 || now - rl->begin_usec >= rl->interval_usec) {
                if (rl->n_suppressed > 0)
                        log_warn("(%u similar messages suppressed)", rl->n_suppressed);
                rl->begin_usec = now;
                rl->n_printed = 0;
                rl->n_suppressed = 0;
        }
        if (rl->n_printed < rl->burst) {
                rl->n_printed++;
                return true;
        }
        rl->n_suppressed++;
        return false;
}

const char *log_mask_phone(const char *phone, char buf[static 32])
{
        size_t n = phone ? strlen(phone) : 0;

        if (n == 0)
                return "-";
        if (n < 8 || n >= 32) {
                snprintf(buf, 32, "****");
                return buf;
        }
        memcpy(buf, phone, n);
        buf[n] = 0;
        for (size_t i = n - 8; i < n - 4; i++)
                buf[i] = '*';
        return buf;
}

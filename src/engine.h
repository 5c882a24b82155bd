/* engine.h: turns decoded events into verdicts, alerts and notifications.
 *
 * The engine owns the runtime state of every household and device (parallel arrays
 * indexed by the config records' `index`) and the live alerts. Every change goes to the
 * store inside the current transaction; notifications are written to the outbox table
 * and sent by the outbox after the transaction commits. Time is passed in. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "alert.h"
#include "command.h"
#include "config.h"
#include "event.h"
#include "rules.h"
#include "store.h"

/* Positive outcomes. A refused command (ENGINE_E_REFUSED and the three after it) comes
 * with a static English error text. */
enum {
        ENGINE_OK = 0,
        ENGINE_E_DUPLICATE = 1,  /* redelivered event, already stored and acted on */
        ENGINE_E_REFUSED = 2,    /* understood and refused: the alert's state, a rule */
        ENGINE_E_FORBIDDEN = 3,  /* the worker may not act on this alert or household */
        ENGINE_E_UNKNOWN = 4,    /* no such alert */
        ENGINE_E_OVER_LIMIT = 5, /* a pre-report beyond the daily limit, recorded all the same */
};

struct engine_counters {
        uint64_t events[3]; /* by verdict kind */
        uint64_t duplicates;
        uint64_t alerts_raised;
        uint64_t notifications;
        uint64_t alerts_by_kind[_ALERT_KIND_MAX]; /* raised, by kind */
};

struct engine;

int engine_new(const struct config *c, struct store *s, struct engine **ret);
struct engine *engine_free(struct engine *e);
/* Builds memory from the database: live alerts, the rule state and passes of every
 * household. */
int engine_load(struct engine *e);
/* Makes memory the database's again after a transaction was rolled back (a failed COMMIT
 * loses a whole burst of events, commands and deadlines): frees every live alert, the rule
 * state, debounce and device-health memory and every timer, then loads them as at start
 * (engine_load(), and devhealth_start() when it had been called). Call it with no
 * transaction open. Returns 0 or a negative errno; on failure memory is incomplete: call
 * it again before handling anything else. */
int engine_rebuild(struct engine *e, int64_t now_usec);

struct device_state *engine_device_state(struct engine *e, const struct device *d);
struct household_state *engine_household_state(struct engine *e, const struct household *h);

/* Handles one decoded event of device d. payload is stored with the event. */
int engine_handle_event(struct engine *e, const struct device *d, const struct event *ev,
                        int64_t recv_usec, const char *payload, size_t payload_len,
                        struct verdict *ret_verdict);

/* Carries out a command that command.h validated, through the verb's function below.
 * Returns ENGINE_OK, a refusal (ENGINE_E_REFUSED, _FORBIDDEN, _UNKNOWN, _OVER_LIMIT) with
 * *error set, or a negative errno. */
int engine_command(struct engine *e, const struct command *cmd, const char **error);

/* Commands. `channel` says how the actor reached us; it is recorded with the action. An
 * ack stops the escalation and queues an `ack_notice` (with the channel's code) to every
 * other worker who was notified of the alert; its record and the notices are written
 * together. Resolve wants a non-empty note and also accepts acked alerts whose absorb
 * window is over (no longer live in memory). Refusals: ENGINE_E_UNKNOWN (no such alert),
 * ENGINE_E_FORBIDDEN (worker may not act), ENGINE_E_REFUSED (already acknowledged /
 * resolved, note missing), with *error. */
int engine_ack(struct engine *e, const struct worker *w, const char *alert_id, enum channel channel,
               int64_t now_usec, const char **error);
int engine_resolve(struct engine *e, const struct worker *w, const char *alert_id, const char *note,
                   enum channel channel, int64_t now_usec, const char **error);

/* Observation-rule commands (issue 4). at_usec is the command's time for the rules
 * (rules_command_time()), now_usec the receive time. Refusals (recorded as actions):
 * ENGINE_E_FORBIDDEN for a worker who is not of the household's community or team,
 * ENGINE_E_REFUSED by a rule, with *error; a pre-report beyond the daily limit is recorded
 * and answered ENGINE_E_OVER_LIMIT (the next opening will raise too_many_openings). */
int engine_checkin(struct engine *e, const struct worker *w, const struct household *h,
                   enum channel channel, int64_t at_usec, int64_t now_usec, const char **error);
int engine_add_pass(struct engine *e, const struct worker *w, const struct household *h,
                    int64_t from_usec, int64_t to_usec, const char *reason, enum channel channel,
                    int64_t at_usec, int64_t now_usec, int64_t *ret_id, const char **error);
int engine_report(struct engine *e, const struct household *h, const char *reason,
                  enum channel channel, int64_t at_usec, int64_t now_usec, const char **error);

/* Timers: the earliest instant engine_tick() has work (INT64_MAX when none); the daemon
 * arms one timer for it. engine_tick() fires everything due at now_usec: escalation steps
 * and reminders (escalation.h) of open alerts, recipients resolved by the roster at now. */
int64_t engine_next_deadline(const struct engine *e);
int engine_tick(struct engine *e, int64_t now_usec);

/* Notifications. With a notify context (borrowed), group notifiers get one row per round
 * and text comes from its templates; without one, every channel a worker lists gets a
 * per-person row and the default templates are used. */
struct notify_context;
void engine_set_notify(struct engine *e, struct notify_context *ctx);

struct alert *engine_find_alert(struct engine *e, const char *alert_id);

/* Builds the one-tap acknowledge link of a notification into buf (http_ack_url); false
 * when there is none. Without a builder, notifications carry "ack_url": null. */
typedef bool (*engine_ack_url_fn)(void *userdata, const char *alert_id, const char *worker_id,
                                  int64_t now_usec, char *buf, size_t size);
void engine_set_ack_url(struct engine *e, engine_ack_url_fn fn, void *userdata);
/* Builds a worker's own page link (http_worker_page_url); without a builder, per-person
 * notifications carry no "page_url". */
typedef bool (*engine_page_url_fn)(void *userdata, const char *worker_id, int64_t now_usec,
                                   char *buf, size_t size);
void engine_set_page_url(struct engine *e, engine_page_url_fn fn, void *userdata);
/* True once per call after notifications were queued; the caller kicks the outbox. */
bool engine_take_outbox_dirty(struct engine *e);
const struct engine_counters *engine_counters(const struct engine *e);
size_t engine_live_alerts(const struct engine *e);
/* Live alerts in state open (not yet acknowledged). */
size_t engine_open_alerts(const struct engine *e);

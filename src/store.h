/* store.h: the daemon's durable state, behind one interface.
 *
 * The store alone knows the schema: every SQL statement lives in src/store/, and callers
 * read and write typed records. store_open() picks the backend from the database string: a
 * file path is SQLite (src/store/sqlite*.c); a "postgresql://" (or "postgres://") URI is
 * PostgreSQL (src/store/pg*.c). Every backend keeps these promises, and the callers rely on
 * nothing else:
 *
 * - One writer. doorwatchd alone writes; doorwatchctl and the bench open the store
 *   read-only (readonly: every write fails) and see committed states only.
 * - One transaction per read burst. Writes happen inside the current transaction, which
 *   store_begin() opens lazily (a no-op when one is open; the begin hook then tells the
 *   daemon, which commits before its loop sleeps again). The messages of one MQTT read burst
 *   and whatever else that loop iteration writes are one transaction and one commit. Reads
 *   inside it see its writes; reads outside see the last commit, each statement one snapshot.
 * - PUBACK only after commit. 0 from store_commit() means the transaction is durable (to the
 *   degree database_sync asks), and only then does the daemon acknowledge the messages it
 *   holds to the broker. A failed commit (negative errno) means the whole transaction is gone,
 *   ids handed out in it included, nothing partial stays; store_write_failed() is then true
 *   until a later commit succeeds, and the daemon reports itself unhealthy. A failed
 *   operation inside a transaction loses the whole transaction, whatever the database did
 *   about it: later writes fail with its error (none runs outside a transaction) and the
 *   commit fails; store_rollback() ends it without a commit.
 * - Waiting. store_begin() waits a bounded time (2 s) for another writer's lock, then fails;
 *   store_try_begin() fails at once with -EBUSY, and the daemon holds its messages in memory
 *   (nothing acknowledged) and retries. A server that cannot be reached (PostgreSQL: the
 *   connection is lost, the server answers nothing within 5 s, or takes no writes, as a
 *   standby after a failover) is a failed BEGIN, write or COMMIT like a full disk: the
 *   transaction it interrupted is gone whole, and the backend reconnects with backoff (up
 *   to 1 s) on later calls (store_probe_write(), store_try_begin()) without blocking the
 *   daemon, which holds the transaction's messages and retries.
 * - Savepoints. store_savepoint() .. store_release() or store_rollback_to() keeps a group of
 *   writes (one escalation step) whole or not at all inside the transaction. Not nested.
 * - Ids. store_next_id() hands out per-day sequences inside the transaction; a rollback (to a
 *   savepoint, or of a failed commit) hands the same ids out again, never an id committed.
 * - Callbacks. A store_foreach/list/get function calls cb once per row, in the order it
 *   states; the row's pointers are valid during the call only. A negative return of cb stops
 *   the loop and is returned.
 * - Errors. 0 success, negative errno (-EIO, -ENOSPC disk full, -EBUSY locked, -EACCES,
 *   -EPROTO schema newer than this program, -EPROTONOSUPPORT no such backend,
 *   -EMEDIUMTYPE a file or database that is not doorwatch's, left untouched, -ENOTCONN
 *   server unreachable, -EOPNOTSUPP not done by this backend), positive
 *   STORE_E_* for expected outcomes. Errors are logged here, with the database's message.
 *
 * The event path (store_event_exists(), store_insert_event(), store_try_begin() inside a
 * transaction) costs one indirect call per operation, no allocation and no copy. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"

enum {
        STORE_E_DUPLICATE = 1, /* the (device, id) pair was stored before */
        STORE_E_NOT_FOUND = 2,
        STORE_E_BUSY = 3, /* sqlite_checkpoint(): another checkpoint runs */
};

struct store;

/* database: a file path (SQLite, created with its directory when missing) or a URI. */
int store_open(const char *database, bool sync_full, bool readonly, struct store **ret);
/* store_open() with the password of a database server (PostgreSQL: from
 * database_password_file or the pg.password credential, read through secret.c; NULL
 * leaves it to libpq: the URI, PGPASSFILE, ~/.pgpass). A file ignores it. */
int store_open_with_password(const char *database, const char *password, bool sync_full,
                             bool readonly, struct store **ret);
/* database as it may be shown in messages: a URI's password replaced by "***" (malloc'd). */
char *store_database_shown(const char *database);
/* Commits the open transaction, if any, and frees the store. NULL-safe. */
struct store *store_close(struct store *s);

int store_begin(struct store *s);
/* store_begin() without waiting for another connection's write lock: -EBUSY at once while
 * someone else writes. */
int store_try_begin(struct store *s);
int store_commit(struct store *s);
/* Ends the open transaction without writing anything of it (a no-op when none is open). */
void store_rollback(struct store *s);
bool store_in_transaction(struct store *s);
/* True when an operation failed inside the open transaction: it is lost, every write
 * fails until store_commit() (which fails too) or store_rollback() ends it. */
bool store_transaction_failed(struct store *s);
/* A savepoint inside the current transaction (opened if needed), so that a group of writes
 * (one escalation step: its notifications and the alert's new position) is kept whole or
 * not at all. Not nested. */
int store_savepoint(struct store *s);
int store_release(struct store *s);
int store_rollback_to(struct store *s);
/* Called whenever store_begin() actually opens a transaction (the daemon uses it to
 * schedule the commit at the end of the loop iteration). */
void store_set_begin_hook(struct store *s, void (*fn)(void *userdata), void *userdata);
/* Write health: true after a BEGIN or COMMIT failed, until a later COMMIT succeeds. */
bool store_write_failed(struct store *s);
/* Writes one small row in its own transaction to find out whether the database takes
 * writes again (used while store_write_failed()); a no-op inside a transaction. */
int store_probe_write(struct store *s, int64_t now_usec);

/* A consistent copy of the database (`doorwatchctl backup`) while the daemon writes it: the
 * state after one of its commits, written beside dest_path and renamed over it, so dest_path
 * is never a partial copy. Fills *info (may be NULL) from the copy. */
struct store_backup_info {
        int64_t events, alerts, open_alerts, pending_notifications;
        int64_t bytes;
};
int store_backup(const char *database, const char *dest_path, struct store_backup_info *info);
/* The version of the SQLite library linked in ("3.40.1"), for reports of the machine. */
const char *store_sqlite_version(void);

/* Events: one record written by the engine and read back (id set, payload not read). */
struct store_event {
        int64_t id; /* read back only */
        const char *device;
        const char *household;
        const char *source;
        const char *uid; /* device-assigned id or NULL */
        const char *type;
        const char *state; /* door state, direction... or NULL */
        bool has_ts;
        double ts;
        int64_t recv_usec;
        int64_t event_usec;     /* the time rules judged by */
        const char *time_basis; /* "device" (its ts) or "receive"; NULL: stored before */
        bool retained;
        const char *verdict; /* "alert" | "expected" | "ignored" */
        const char *rule;    /* the rule that decided (rules_basis_to_string()), may be NULL */
        const char *reason;
        const char *alert_id;
        const char *payload; /* original payload (JSON or text), may be NULL */
        size_t payload_len;
};
/* Returns 1 when (device, uid) is already stored, 0 when not. */
int store_event_exists(struct store *s, const char *device, const char *uid);
int store_insert_event(struct store *s, const struct store_event *e, int64_t *ret_rowid);
/* A held opening settled (policy.chatter_settle): the door-open event of the household
 * that started it, at event_usec, gets its verdict, rule, reason and alert. No such row
 * (purged) is no error. */
int store_settle_opening(struct store *s, const char *household, int64_t event_usec,
                         const char *verdict, const char *rule, const char *reason,
                         const char *alert_id);
typedef int (*store_event_cb)(const struct store_event *e, void *userdata);
/* The event (device, uid): calls cb once, or returns STORE_E_NOT_FOUND. */
int store_get_event(struct store *s, const char *device, const char *uid, store_event_cb cb,
                    void *userdata);
/* The events that name an alert (household: the alert's, NULL for none), in event time
 * order, at most max. */
int store_list_alert_events(struct store *s, const char *household, const char *alert_id,
                            size_t max, store_event_cb cb, void *userdata);
/* The id of the last event stored (0 when none), and how many events after after_id have
 * this verdict (the bench). */
int store_last_event_id(struct store *s, int64_t *ret);
int store_count_events(struct store *s, int64_t after_id, const char *verdict, int64_t *ret);

/* Identifiers "a-20200206-0007", "n-20200206-0031": per local calendar day sequences. */
int store_next_id(struct store *s, char prefix, int64_t now_usec, char *buf, size_t size);

/* Alerts. */
int store_insert_alert(struct store *s, const struct alert *a, const char *community,
                       const char *reason);
int store_update_alert(struct store *s, const struct alert *a);
/* Records who did what (ack, resolve, checkin, pass, report) through which channel. */
int store_insert_action(struct store *s, const char *kind, const char *actor, const char *channel,
                        const char *target, int64_t usec, const char *detail);
/* An action as stored; target is an alert id or a household id. */
struct store_action {
        int64_t id;
        const char *kind, *actor, *channel, *target, *detail;
        int64_t usec;
};
typedef int (*store_action_cb)(const struct store_action *a, void *userdata);
/* The actions about target, in the order they happened. */
int store_list_actions(struct store *s, const char *target, store_action_cb cb, void *userdata);
int store_set_alert_acked(struct store *s, const char *alert_id, const char *worker,
                          const char *channel, int64_t usec);
int store_set_alert_resolved(struct store *s, const char *alert_id, const char *worker,
                             const char *channel, int64_t usec, const char *note);

/* The household of any stored alert: 0, or STORE_E_NOT_FOUND (no such alert or none). */
int store_alert_household(struct store *s, const char *alert_id, char *buf, size_t size);

/* An alert as stored: one record for every reader (the engine at start and for refusals,
 * the API, the pages, the CLI). Text is NULL when not set; times are Unix usec, 0 when not
 * set; event_ts is the device's clock of the event that raised it, 0 when unknown. */
struct store_alert_row {
        const char *id, *household, *community, *device, *kind, *severity, *state, *event_uid;
        const char *reason, *acked_by, *ack_channel, *resolved_by, *resolve_channel, *note;
        int count, step, round, reminders;
        double event_ts;
        int64_t raised_usec, last_event_usec, acked_usec, resolved_usec, next_usec;
};
typedef int (*store_alert_cb)(const struct store_alert_row *row, void *userdata);
#define STORE_ALERTS_LIVE ((1u << ALERT_OPEN) | (1u << ALERT_ACKED))
struct store_alert_filter {
        unsigned states;       /* bits 1 << enum alert_state (STORE_ALERTS_LIVE...); 0: any */
        const char *community; /* NULL: any */
        const char *household; /* NULL: any */
        const char *kind;      /* NULL: any */
        /* The alert's time (the event time of what raised it) in [from_usec, to_usec);
         * 0: no bound. */
        int64_t from_usec, to_usec;
        bool newest_first; /* by raised time, then id; otherwise oldest first */
        size_t limit;      /* 0: no limit */
};
/* The alerts f selects (NULL: all), in its order. */
int store_list_alerts(struct store *s, const struct store_alert_filter *f, store_alert_cb cb,
                      void *userdata);
/* Live alerts (open, or acked) oldest first, for rebuilding memory at start. */
int store_foreach_live_alert(struct store *s, store_alert_cb cb, void *userdata);
/* Any alert by id, in any state: calls cb once, or returns STORE_E_NOT_FOUND. */
int store_get_alert(struct store *s, const char *alert_id, store_alert_cb cb, void *userdata);
/* Alerts not resolved, by kind and state (metrics). */
struct store_alert_counts {
        int64_t open[_ALERT_KIND_MAX], acked[_ALERT_KIND_MAX];
};
int store_count_live_alerts(struct store *s, struct store_alert_counts *ret);
/* Workers who were notified of the alert (steps and reminders, not ack notices), in the
 * order they were first notified. */
typedef int (*store_worker_cb)(const char *worker_id, void *userdata);
int store_foreach_notified_worker(struct store *s, const char *alert_id, store_worker_cb cb,
                                  void *userdata);

/* Device health at start: the last live (not retained) event of each device of a household
 * judged at or after since_usec, and the last alert of a kind of each device raised at or
 * after since_usec. */
typedef int (*store_device_usec_cb)(const char *device, int64_t usec, void *userdata);
int store_foreach_device_seen(struct store *s, const char *household, int64_t since_usec,
                              store_device_usec_cb cb, void *userdata);
int store_foreach_alert_raised(struct store *s, const char *kind, int64_t since_usec,
                               store_device_usec_cb cb, void *userdata);

/* Notification outbox. */
enum notification_state {
        NOTIFICATION_PENDING,
        NOTIFICATION_SENDING,
        NOTIFICATION_DELIVERED,
        NOTIFICATION_DEAD,
        _NOTIFICATION_STATE_MAX,
};
const char *notification_state_to_string(enum notification_state st);
/* A notification as stored. Written pending with the fields up to attempts; the rest is
 * read back only (times 0 when not set). */
struct store_notification {
        const char *id;
        const char *alert_id;
        const char *worker; /* NULL for group channels */
        const char *channel;
        const char *step;
        int round;
        const char *kind; /* "alert" (default when NULL), "reminder", "ack_notice" */
        int priority;     /* lower goes first: door alerts 0, device health 1 */
        const char *payload;
        int64_t created_usec;
        int64_t next_usec;
        int attempts;
        enum notification_state state;
        const char *last_error;
        int64_t last_attempt_usec, delivered_usec, dead_usec;
};
int store_insert_notification(struct store *s, const struct store_notification *n);
typedef int (*store_notification_cb)(const struct store_notification *n, void *userdata);
/* Pending notifications due at now_usec, most urgent first, at most max. */
int store_foreach_due_notification(struct store *s, int64_t now_usec, size_t max,
                                   store_notification_cb cb, void *userdata);
struct store_notification_filter {
        const char *alert_id; /* NULL: any */
        unsigned states;      /* bits 1 << enum notification_state; 0: any */
        bool newest_first;    /* by creation, then id; otherwise oldest first */
        size_t limit;         /* 0: no limit */
};
/* The notifications f selects (NULL: all), in its order. */
int store_list_notifications(struct store *s, const struct store_notification_filter *f,
                             store_notification_cb cb, void *userdata);
/* attempts < 0 keeps the stored count. Also records now_usec as the delivery time
 * (delivered), the attempt time (sending) or the dead-letter time (dead). */
int store_set_notification_state(struct store *s, const char *id, enum notification_state st,
                                 int attempts, int64_t next_usec, const char *error,
                                 int64_t now_usec);
/* Earliest next_usec of pending notifications, or INT64_MAX. */
int64_t store_next_notification_usec(struct store *s);
/* Moves a pending row's next attempt (rate limits, waiting for a channel) without
 * touching its attempts or last error. */
int store_defer_notification(struct store *s, const char *id, int64_t next_usec);
/* Makes pending rows whose last_error is `waiting_for` (e.g. "broker not connected")
 * due at now_usec. */
int store_wake_notifications(struct store *s, const char *waiting_for, int64_t now_usec);
/* At start: rows left "sending" by a previous process go back to pending. */
int store_requeue_sending(struct store *s);
int64_t store_outbox_depth(struct store *s);

/* Observation rules (issue 4). Passes: approved outings; exit/return/overdue/done are
 * updated as openings are seen. Check-ins and pre-reports are records (the audit trail);
 * household_state holds each household's rule state as JSON (rules_state_to_json()) so
 * the engine rebuilds it at start. */
struct store_pass {
        int64_t id;
        const char *household, *worker, *channel, *reason;
        int64_t from_usec, to_usec, created_usec;
        int64_t exit_usec, return_usec; /* 0 = none */
        bool overdue, done;
};
int store_insert_pass(struct store *s, const struct store_pass *p, int64_t *ret_id);
/* Updates exit_usec, return_usec, overdue and done of pass p->id. */
int store_update_pass(struct store *s, const struct store_pass *p);
typedef int (*store_pass_cb)(const struct store_pass *p, void *userdata);
struct store_pass_filter {
        const char *household; /* NULL: any */
        bool all;              /* every pass; otherwise those not done, */
        int64_t now_usec;      /* and (when not 0) those done that end after now_usec */
};
/* The passes f selects (NULL: those not done), in order of start, then id. */
int store_list_passes(struct store *s, const struct store_pass_filter *f, store_pass_cb cb,
                      void *userdata);
/* Passes not done, in order of start. */
int store_foreach_pending_pass(struct store *s, store_pass_cb cb, void *userdata);
int store_insert_checkin(struct store *s, const char *household, const char *worker,
                         const char *channel, int64_t usec, int64_t recv_usec);
int store_insert_report(struct store *s, const char *household, const char *channel,
                        const char *reason, int64_t usec, int64_t recv_usec, int number,
                        bool over_limit);
int store_save_household_state(struct store *s, const char *household, const char *json,
                               int64_t usec);
typedef int (*store_household_state_cb)(const char *household, const char *json, void *userdata);
int store_foreach_household_state(struct store *s, store_household_state_cb cb, void *userdata);
typedef int (*store_household_cb)(const char *household, void *userdata);
/* Households that ever had an alert of this kind. */
int store_foreach_household_with_alert(struct store *s, const char *kind, store_household_cb cb,
                                       void *userdata);
int store_set_alert_reason(struct store *s, const char *alert_id, const char *reason);
/* When this database was created (Unix usec), 0 when unknown. */
int64_t store_created_usec(struct store *s);
/* Named counters kept in the seq table (e.g. the generation of a household's resident
 * links): the current value, 0 when never bumped, and an increment returning the new one. */
int store_seq_get(struct store *s, const char *name, int64_t *ret);
int store_seq_bump(struct store *s, const char *name, int64_t *ret);
/* created_usec of the oldest notification not yet delivered, or INT64_MAX when none. */
int64_t store_oldest_undelivered_usec(struct store *s);

/* A household's timeline (`doorwatchctl events`): its events with verdict and reason, the
 * commands about it (check-ins, passes, pre-reports, readings, also refused ones), its alerts that
 * no event names (raised by a deadline) and the acks and resolves of its alerts, from since_usec
 * on, in time order (then in that order of kinds, then as stored). Rule times are event times; acks
 * and resolves are the times they happened. */
enum store_timeline_kind {
        STORE_TIMELINE_EVENT,        /* source: device; what: type; state, retained, verdict;
                                      * detail: reason; alert: the alert it raised or joined;
                                      * time_basis */
        STORE_TIMELINE_COMMAND,      /* source: actor; channel; what: kind; detail */
        STORE_TIMELINE_ALERT,        /* what: kind; detail: reason; alert: its id */
        STORE_TIMELINE_ALERT_ACTION, /* source: actor; channel; what: "ack" or "resolve";
                                      * detail; alert: its id */
};
struct store_timeline_entry {
        enum store_timeline_kind kind;
        int64_t usec;
        const char *source, *channel, *what, *state, *verdict, *detail, *alert;
        const char *time_basis; /* an event's: "device" or "receive" (NULL: stored before) */
        bool retained;
};
typedef int (*store_timeline_cb)(const struct store_timeline_entry *e, void *userdata);
int store_household_timeline(struct store *s, const char *household, int64_t since_usec,
                             store_timeline_cb cb, void *userdata);

/* The field (issue 18): a medical round's readings, and the one-time forms of a worker's
 * own page. */
struct store_reading {
        int64_t id; /* read back only */
        const char *household, *worker, *channel;
        const char *community; /* the household's, for the report after a purge */
        int64_t usec;          /* the reading's time for the rules (its "ts", else receipt) */
        int64_t recv_usec;     /* when it was received */
        double temperature;    /* °C */
        const char *symptoms;  /* a JSON array of strings ("[]" when none) */
        const char *note;      /* NULL when none */
        bool counts;           /* from the household's doctor or one on duty */
        int64_t round_usec;    /* the scheduled time of the round it counts for, 0 when none */
        bool fever;
        const char *alert_id; /* the fever alert it raised or joined, NULL when none */
};
int store_insert_reading(struct store *s, const struct store_reading *r, int64_t *ret_id);
typedef int (*store_reading_cb)(const struct store_reading *r, void *userdata);
struct store_reading_filter {
        const char *household; /* NULL: any */
        const char *worker;    /* NULL: any */
        int64_t since_usec;    /* usec >= since (0: no bound) */
        int64_t until_usec;    /* usec < until (0: no bound) */
        bool newest_first;     /* by usec, then id; otherwise oldest first */
        size_t limit;          /* 0: no limit */
};
/* The readings f selects (NULL: all), in its order. */
int store_list_readings(struct store *s, const struct store_reading_filter *f, store_reading_cb cb,
                        void *userdata);
/* From when medical rounds are judged (Unix usec): recorded when the database learnt of
 * rounds (created with it, or by the upgrade that brought them), so a household first seen
 * by this database is judged from there on, across restarts; 0 when unknown. */
int64_t store_rounds_since_usec(struct store *s);

/* A worker page form's one-time nonce (a replayed POST answers what the first did): 0 with
 * the first answer's status and text in *ret_status and buf, or STORE_E_NOT_FOUND. */
int store_form_result(struct store *s, const char *nonce, int *ret_status, char *buf, size_t size);
/* Records the first answer to a nonce (in the current transaction, with the action). */
int store_form_record(struct store *s, const char *nonce, const char *worker, int64_t usec,
                      int status, const char *result);
/* Forgets the nonces used before before_usec (they are refused as expired by then). */
int store_purge_forms(struct store *s, int64_t before_usec);
/* A medical round judged when its window ended (outcome "done", "excused", "missed"); the
 * retention purge forgets its household (NULL then). */
struct store_round {
        const char *household, *community;
        int64_t at_usec, end_usec;
        const char *outcome;
};
int store_insert_round(struct store *s, const struct store_round *r);
typedef int (*store_round_cb)(const struct store_round *r, void *userdata);
/* The rounds whose window ended in [from_usec, to_usec), in that order. */
int store_foreach_round(struct store *s, int64_t from_usec, int64_t to_usec, store_round_cb cb,
                        void *userdata);
/* Fever readings in [from_usec, to_usec) with their household's community, live and purged,
 * in time order. */
typedef int (*store_fever_cb)(const char *community, int64_t usec, void *userdata);
int store_foreach_fever(struct store *s, int64_t from_usec, int64_t to_usec, store_fever_cb cb,
                        void *userdata);

/* The household's last (not retained) door opening with its verdict: calls cb once, or
 * returns STORE_E_NOT_FOUND. */
int store_last_opening(struct store *s, const char *household, store_event_cb cb, void *userdata);

/* Retention (DESIGN.md §8): deletes a household's events and personal data in the current
 * transaction and records that it was purged. What the daily report counts (door openings
 * by quarter hour, verdict and rule; alerts with their times and who acknowledged; failed
 * notifications) is kept first, without the household, in anonymous aggregates that the
 * report reads beside the live rows, so that a past day reports the same after the purge. */
int store_purge_household(struct store *s, const char *household, int64_t now_usec,
                          int64_t *ret_events);
/* 1 when the household was purged before, 0 when not. */
int store_household_purged(struct store *s, const char *household);

/* The daily report (report.h). Its reads see the live rows and the aggregates left by the
 * retention purge alike. */

/* A household's community and observation window as a configuration load had them: each
 * load records the households whose window or community differs from the last one
 * recorded (the history the report counts households under observation from). */
struct store_household_window {
        const char *household, *community;
        int64_t start_usec, end_usec;
};
/* Records the windows that changed (in the current transaction); *ret_recorded (may be
 * NULL) gets how many did. */
int store_record_household_windows(struct store *s, const struct store_household_window *w,
                                   size_t n, int64_t now_usec, size_t *ret_recorded);
typedef int (*store_household_window_cb)(const struct store_household_window *w, void *userdata);
/* For every household ever recorded, in household order, the window recorded last before
 * before_usec, or the first one recorded when none was before. */
int store_foreach_household_window(struct store *s, int64_t before_usec,
                                   store_household_window_cb cb, void *userdata);

/* Door openings ("door" events with state "open", but for a reopen that joins an opening,
 * rule "chatter") counted by 15-minute span (UTC-aligned,
 * so every time zone's midnight is a span's start), verdict and rule, with event times in
 * [from_usec, to_usec): live ones by household (community NULL), purged ones by community
 * (household NULL). Rule NULL: events stored before rules were. In span order. */
#define STORE_SPAN_USEC INT64_C(900000000) /* 15 min; *_retention.c's SQL has it too */
struct store_opening_count {
        const char *household, *community;
        int64_t span_usec;
        const char *verdict, *rule;
        int64_t n;
};
typedef int (*store_opening_count_cb)(const struct store_opening_count *c, void *userdata);
int store_foreach_opening_count(struct store *s, int64_t from_usec, int64_t to_usec,
                                store_opening_count_cb cb, void *userdata);

/* Alerts as the report counts them (live and purged): raised in [raised_from_usec,
 * raised_to_usec), and also those raised before raised_to_usec that were not resolved at
 * unresolved_at_usec (0: not these). An alert's raising time here is the event time of
 * what raised it (the rules' clock: a replayed day reports as it happened); acked and
 * resolved are the times the acts were done. Times 0 when not set. In order of raising. */
struct store_alert_span {
        int64_t raised_from_usec, raised_to_usec, unresolved_at_usec;
};
struct store_alert_brief {
        const char *community, *kind, *acked_by;
        int64_t raised_usec, acked_usec, resolved_usec;
};
typedef int (*store_alert_brief_cb)(const struct store_alert_brief *a, void *userdata);
int store_foreach_alert_brief(struct store *s, const struct store_alert_span *f,
                              store_alert_brief_cb cb, void *userdata);

/* Notifications given up (dead-lettered) in [from_usec, to_usec), with their alert's
 * community (NULL for the system's alerts), live and purged, in order. */
typedef int (*store_dead_notification_cb)(const char *community, int64_t dead_usec, void *userdata);
int store_foreach_dead_notification(struct store *s, int64_t from_usec, int64_t to_usec,
                                    store_dead_notification_cb cb, void *userdata);
/* Households purged before. */
int store_foreach_purged_household(struct store *s, store_household_cb cb, void *userdata);
/* Every household the database holds data of (events, alerts, rule state, commands,
 * readings) that was not purged, with the time of the last thing recorded about it (a
 * household removed from the configuration is purged `retention` after that). */
typedef int (*store_household_usec_cb)(const char *household, int64_t last_usec, void *userdata);
int store_foreach_stored_household(struct store *s, store_household_usec_cb cb, void *userdata);

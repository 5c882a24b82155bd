/* store.h: the SQLite database (WAL), the daemon's durable state.
 *
 * doorwatchd is the only writer; doorwatchctl opens it read-only. Writes happen inside
 * one transaction per event-loop iteration: store_begin() opens it lazily (a no-op when
 * one is open) and the daemon commits it before going back to sleep, so a burst of MQTT
 * messages costs one commit and the window between broker PUBACK and COMMIT is a few
 * microseconds of in-process work. */
#pragma once

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"

enum {
        STORE_E_DUPLICATE = 1, /* the (device, id) pair was stored before */
        STORE_E_NOT_FOUND = 2,
};

#define STORE_SCHEMA_VERSION 5

struct store;

int store_open(const char *path, bool sync_full, bool readonly, struct store **ret);
struct store *store_close(struct store *s);
sqlite3 *store_db(struct store *s);
const char *store_path(struct store *s);

int store_begin(struct store *s);
/* store_begin() without waiting for another connection's write lock (no busy timeout):
 * -EBUSY at once while someone else writes. */
int store_try_begin(struct store *s);
int store_commit(struct store *s);
bool store_in_transaction(struct store *s);
/* A savepoint inside the current transaction (opened if needed), so that a group of writes
 * (one escalation step: its notifications and the alert's new position) is kept whole or
 * not at all. Not nested. */
int store_savepoint(struct store *s);
int store_release(struct store *s);
int store_rollback_to(struct store *s);
/* Called whenever store_begin() actually opens a transaction (the daemon uses it to
 * schedule the commit at the end of the loop iteration). */
void store_set_begin_hook(struct store *s, void (*fn)(void *userdata), void *userdata);
/* Checkpoints under the caller's control (checkpoint.c runs them, mostly on a thread of
 * its own, not inside a COMMIT as SQLite's automatic ones, which held up notifications):
 * after this, store_wal_frames() says how many frames the WAL holds after the last commit
 * (it drops when a commit started the WAL over), and the WAL file is cut back to
 * wal_limit_bytes when it starts over (journal_size_limit). */
void store_manual_checkpoints(struct store *s, int64_t wal_limit_bytes);
int store_wal_frames(struct store *s);
/* A second connection to the database at path that only runs checkpoints (checkpoint.c's
 * thread), with the writer's synchronous setting and the WAL opened. sqlite3_close() it
 * before the store, whose close then runs the last checkpoint as before. */
int store_checkpoint_connection(const char *path, bool sync_full, sqlite3 **ret);
/* A PASSIVE checkpoint on db (store_db() or a checkpoint connection): copies into the
 * database what no reader still needs. *ret_log: frames in the WAL, *ret_ckpt: how many of
 * them are copied. Returns 0, -EBUSY when another checkpoint runs, or another negative
 * errno; not logged here (the caller rate-limits), sqlite3_errmsg(db) says why. */
int store_checkpoint(sqlite3 *db, int *ret_log, int *ret_ckpt);
/* Write health: true after a BEGIN or COMMIT failed, until a later COMMIT succeeds. */
bool store_write_failed(struct store *s);
/* Writes one small row in its own transaction to find out whether the database takes
 * writes again (used while store_write_failed()); a no-op inside a transaction. */
int store_probe_write(struct store *s, int64_t now_usec);

/* Events. */
struct store_event {
        const char *device;
        const char *household;
        const char *source;
        const char *uid; /* device-assigned id or NULL */
        const char *type;
        const char *state; /* door state, direction... or NULL */
        bool has_ts;
        double ts;
        int64_t recv_usec;
        int64_t event_usec; /* the time rules judged by */
        bool retained;
        const char *verdict; /* "alert" | "expected" | "ignored" */
        const char *reason;
        const char *alert_id;
        const char *payload; /* original payload (JSON or text), may be NULL */
        size_t payload_len;
};
/* Returns 1 when (device, uid) is already stored, 0 when not. */
int store_event_exists(struct store *s, const char *device, const char *uid);
int store_insert_event(struct store *s, const struct store_event *e, int64_t *ret_rowid);
/* A held opening settled (policy.chatter_settle): the door-open event of the household
 * that started it, at event_usec, gets its verdict, reason and alert. No such row (purged)
 * is no error. */
int store_settle_opening(struct store *s, const char *household, int64_t event_usec,
                         const char *verdict, const char *reason, const char *alert_id);

/* Identifiers "a-20200206-0007", "n-20200206-0031": per local calendar day sequences. */
int store_next_id(struct store *s, char prefix, int64_t now_usec, char *buf, size_t size);

/* Alerts. */
int store_insert_alert(struct store *s, const struct alert *a, const char *community,
                       const char *reason);
int store_update_alert(struct store *s, const struct alert *a);
/* Records who did what (ack, resolve, checkin, pass, report) through which channel. */
int store_insert_action(struct store *s, const char *kind, const char *actor, const char *channel,
                        const char *target, int64_t usec, const char *detail);
int store_set_alert_acked(struct store *s, const char *alert_id, const char *worker,
                          const char *channel, int64_t usec);
int store_set_alert_resolved(struct store *s, const char *alert_id, const char *worker,
                             const char *channel, int64_t usec, const char *note);

/* The household of any stored alert: 0, or STORE_E_NOT_FOUND (no such alert or none). */
int store_alert_household(struct store *s, const char *alert_id, char *buf, size_t size);

/* Live alerts (open, or acked) for rebuilding memory at start. */
struct store_alert_row {
        const char *id, *household, *device, *kind, *severity, *state, *event_uid;
        const char *reason, *acked_by;
        int count, step, round, reminders;
        double event_ts;
        int64_t raised_usec, last_event_usec, acked_usec, next_usec;
};
typedef int (*store_alert_cb)(const struct store_alert_row *row, void *userdata);
int store_foreach_live_alert(struct store *s, store_alert_cb cb, void *userdata);
/* Any alert by id, in any state: calls cb once, or returns STORE_E_NOT_FOUND. */
int store_get_alert(struct store *s, const char *alert_id, store_alert_cb cb, void *userdata);
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
};
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
};
int store_insert_notification(struct store *s, const struct store_notification *n);
typedef int (*store_notification_cb)(const struct store_notification *n, void *userdata);
/* Pending notifications due at now_usec, most urgent first, at most max. */
int store_foreach_due_notification(struct store *s, int64_t now_usec, size_t max,
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

/* Retention (DESIGN.md §8): deletes a household's events and personal data in the current
 * transaction and records that it was purged. */
int store_purge_household(struct store *s, const char *household, int64_t now_usec,
                          int64_t *ret_events);
/* 1 when the household was purged before, 0 when not. */
int store_household_purged(struct store *s, const char *household);

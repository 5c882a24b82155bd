/* sqlite.h: the SQLite backend, private to src/store/ (its files, the checkpoint thread, the
 * online backup) and to unit tests that look at the database directly.
 *
 * The backend's functions take the generic struct store * of the operations table
 * (backend.h); sq() is the SQLite store behind it. Statements of the hot paths are prepared
 * once and cached per connection (sqlite_stmt()); rare ones are prepared per call. */
#pragma once

#include <sqlite3.h>

#include "backend.h"
#include "store.h"
#include "util.h"

/* Cached statements, one slot each (the SQL stands where it is used). */
enum {
        STMT_EVENT_EXISTS,
        STMT_EVENT_INSERT,
        STMT_SEQ_NEXT,
        STMT_SEQ_SET,
        STMT_DEVICE_SEEN,
        STMT_BEGIN,
        STMT_COMMIT,
        STMT_ROLLBACK,
        STMT_SAVEPOINT,
        STMT_RELEASE,
        STMT_ROLLBACK_TO,
        STMT_ALERT_INSERT,
        STMT_ALERT_UPDATE,
        STMT_ACTION_INSERT,
        STMT_ALERT_ACK,
        STMT_ALERT_RESOLVE,
        STMT_NOTIF_INSERT,
        STMT_NOTIF_DUE,
        STMT_NOTIF_STATE,
        STMT_NOTIF_NEXT,
        STMT_NOTIF_DEPTH,
        STMT_NOTIF_DEFER,
        STMT_NOTIF_WAKE,
        STMT_NOTIFIED_WORKERS,
        /* observation rules (issue 4) */
        STMT_PASS_INSERT,
        STMT_PASS_UPDATE,
        STMT_CHECKIN_INSERT,
        STMT_REPORT_INSERT,
        STMT_HSTATE_SAVE,
        STMT_ALERT_REASON,
        STMT_OPENING_SETTLE,
        /* the daily report */
        STMT_WINDOW_LAST,
        STMT_WINDOW_INSERT,
        /* the field (issue 18) */
        STMT_READING_INSERT,
        STMT_ROUND_INSERT,
        _STMT_MAX,
};

#define SEQ_CACHE_MAX 4

struct store_sqlite {
        struct store base;
        sqlite3 *db;
        char *path;
        bool readonly;
        bool quiet_busy; /* store_try_begin(): a busy database is not an error to log */
        sqlite3_stmt *stmt[_STMT_MAX];
        /* Id counters (seq rows) in use: the row is read (and bumped) once, then counted
         * here and written back before COMMIT and before each SAVEPOINT, so a ROLLBACK TO
         * finds the row as the counter was and the cache is just dropped. */
        struct seq_entry {
                char name[32];
                long long value; /* the last id handed out */
                bool dirty;      /* value is ahead of the row */
        } seq[SEQ_CACHE_MAX];
        size_t n_seq;
        /* Manual checkpoints (sqlite_manual_checkpoints()): frames in the WAL after the
         * last commit. */
        int wal_frames;
};

static inline struct store_sqlite *sq(struct store *s)
{
        return (struct store_sqlite *)s;
}

/* The SQLite store behind s, or NULL when s is another backend's. */
struct store_sqlite *store_sqlite(struct store *s);
/* The connection (the checkpoint thread's loop-side checkpoints; unit tests). */
sqlite3 *store_sqlite_db(struct store *s);

/* Helpers of the backend's files. sqlite_err() logs "database: <what>: <SQLite's message>"
 * (not when quiet_busy and the database is busy) and translates the code to an errno. */
int sqlite_err(struct store *s, int rc, const char *what);
int sqlite_exec(struct store *s, const char *sql);
/* The cached statement `which` (prepared from sql the first time), reset and unbound. */
sqlite3_stmt *sqlite_stmt(struct store *s, int which, const char *sql);
/* A statement prepared for this call (sqlite3_finalize() it), or NULL, logged. */
sqlite3_stmt *sqlite_prepare(struct store *s, const char *sql, const char *what);
/* sqlite_prepare() of the text built in q, which is freed. */
sqlite3_stmt *sqlite_prepare_built(struct store *s, struct sbuf *q, const char *what);
void sqlite_bind_text(sqlite3_stmt *st, int i, const char *v);
/* 0 is NULL (no such time). */
void sqlite_bind_usec(sqlite3_stmt *st, int i, int64_t v);
/* Steps a statement that returns no rows (or whose rows are not wanted), then resets it. */
int sqlite_step_done(struct store *s, sqlite3_stmt *st, const char *what);
/* The first column of the first row of sql (one text argument or none), dflt for NULL. */
int sqlite_query_int64(struct store *s, const char *sql, const char *arg, int64_t dflt,
                       int64_t *ret);
static inline const char *sqlite_text(sqlite3_stmt *st, int col)
{
        return (const char *)sqlite3_column_text(st, col);
}
/* A store_*_cb (cast back to its type by the row function) and its userdata. */
struct sqlite_cb {
        void (*fn)(void);
        void *userdata;
};
/* Steps st (from sqlite_prepare()) to its end, calling row(st, ctx) for each row until one
 * returns a negative value, then finalizes st. Returns that value, a negative errno (logged
 * with what), or the number of rows. */
int sqlite_each(struct store *s, sqlite3_stmt *st, int (*row)(sqlite3_stmt *st, void *ctx),
                void *ctx, const char *what);
/* Appends " AND column IN ('name', ...)" for the bits set in mask (bit i: names[i], i < n);
 * nothing when mask is 0. The names are the program's own constants, never input. */
void sqlite_where_in(struct sbuf *q, const char *column, unsigned mask, const char *const *names,
                     int n);
/* Rows of (device, usec) of st, whose ?1 is text and ?2 usec. */
int sqlite_foreach_device_usec(struct store *s, sqlite3_stmt *st, const char *text, int64_t usec,
                               store_device_usec_cb cb, void *userdata, const char *what);

/* Checkpoints under the caller's control (checkpoint.c runs them, mostly on a thread of
 * its own, not inside a COMMIT as SQLite's automatic ones, which held up notifications):
 * after this, sqlite_wal_frames() says how many frames the WAL holds after the last commit
 * (it drops when a commit started the WAL over), and the WAL file is cut back to
 * wal_limit_bytes when it starts over (journal_size_limit). */
void sqlite_manual_checkpoints(struct store *s, int64_t wal_limit_bytes);
int sqlite_wal_frames(struct store *s);
const char *sqlite_path(struct store *s);
/* A second connection to the database at path that only runs checkpoints (checkpoint.c's
 * thread), with the writer's synchronous setting and the WAL opened. sqlite3_close() it
 * before the store, whose close then runs the last checkpoint as before. */
int sqlite_checkpoint_connection(const char *path, bool sync_full, sqlite3 **ret);
/* A PASSIVE checkpoint on db (the store's or a checkpoint connection): copies into the
 * database what no reader still needs. *ret_log: frames in the WAL, *ret_ckpt: how many of
 * them are copied. Returns 0, STORE_E_BUSY when another checkpoint runs, or a negative
 * errno; not logged here (the caller rate-limits), sqlite3_errmsg(db) says why. */
int sqlite_checkpoint(sqlite3 *db, int *ret_log, int *ret_ckpt);

/* The operations (backend.h), by file. */
int sqlite_open(const char *database, const char *password, bool sync_full, bool readonly,
                struct store **ret);
void sqlite_close(struct store *s);
int sqlite_begin(struct store *s, bool wait);
int sqlite_commit(struct store *s);
void sqlite_rollback(struct store *s);
int sqlite_savepoint(struct store *s);
int sqlite_release(struct store *s);
int sqlite_rollback_to(struct store *s);
int sqlite_probe_write(struct store *s, int64_t now_usec);
int sqlite_next_id(struct store *s, char prefix, int64_t now_usec, char *buf, size_t size);
int64_t sqlite_created_usec(struct store *s);
int sqlite_seq_get(struct store *s, const char *name, int64_t *ret);
int sqlite_seq_bump(struct store *s, const char *name, int64_t *ret);
/* backup.c */
int sqlite_backup(const char *src_path, const char *dest_path, struct store_backup_info *info);
/* sqlite_events.c */
int sqlite_event_exists(struct store *s, const char *device, const char *uid);
int sqlite_insert_event(struct store *s, const struct store_event *e, int64_t *ret_rowid);
int sqlite_settle_opening(struct store *s, const char *household, int64_t event_usec,
                          const char *verdict, const char *rule, const char *reason,
                          const char *alert_id);
int sqlite_get_event(struct store *s, const char *device, const char *uid, store_event_cb cb,
                     void *userdata);
int sqlite_list_alert_events(struct store *s, const char *household, const char *alert_id,
                             size_t max, store_event_cb cb, void *userdata);
int sqlite_last_event_id(struct store *s, int64_t *ret);
int sqlite_last_opening(struct store *s, const char *household, store_event_cb cb, void *userdata);
int sqlite_count_events(struct store *s, int64_t after_id, const char *verdict, int64_t *ret);
int sqlite_household_timeline(struct store *s, const char *household, int64_t since_usec,
                              store_timeline_cb cb, void *userdata);
int sqlite_foreach_device_seen(struct store *s, const char *household, int64_t since_usec,
                               store_device_usec_cb cb, void *userdata);
/* sqlite_alerts.c */
int sqlite_insert_alert(struct store *s, const struct alert *a, const char *community,
                        const char *reason);
int sqlite_update_alert(struct store *s, const struct alert *a);
int sqlite_set_alert_reason(struct store *s, const char *alert_id, const char *reason);
int sqlite_insert_action(struct store *s, const char *kind, const char *actor, const char *channel,
                         const char *target, int64_t usec, const char *detail);
int sqlite_list_actions(struct store *s, const char *target, store_action_cb cb, void *userdata);
int sqlite_set_alert_acked(struct store *s, const char *alert_id, const char *worker,
                           const char *channel, int64_t usec);
int sqlite_set_alert_resolved(struct store *s, const char *alert_id, const char *worker,
                              const char *channel, int64_t usec, const char *note);
int sqlite_alert_household(struct store *s, const char *alert_id, char *buf, size_t size);
int sqlite_list_alerts(struct store *s, const struct store_alert_filter *f, store_alert_cb cb,
                       void *userdata);
int sqlite_get_alert(struct store *s, const char *alert_id, store_alert_cb cb, void *userdata);
int sqlite_count_live_alerts(struct store *s, struct store_alert_counts *ret);
int sqlite_foreach_alert_raised(struct store *s, const char *kind, int64_t since_usec,
                                store_device_usec_cb cb, void *userdata);
int sqlite_foreach_household_with_alert(struct store *s, const char *kind, store_household_cb cb,
                                        void *userdata);
/* sqlite_outbox.c */
int sqlite_insert_notification(struct store *s, const struct store_notification *n);
int sqlite_foreach_due_notification(struct store *s, int64_t now_usec, size_t max,
                                    store_notification_cb cb, void *userdata);
int sqlite_list_notifications(struct store *s, const struct store_notification_filter *f,
                              store_notification_cb cb, void *userdata);
int sqlite_set_notification_state(struct store *s, const char *id, enum notification_state st,
                                  int attempts, int64_t next_usec, const char *error,
                                  int64_t now_usec);
int64_t sqlite_next_notification_usec(struct store *s);
int sqlite_defer_notification(struct store *s, const char *id, int64_t next_usec);
int sqlite_wake_notifications(struct store *s, const char *waiting_for, int64_t now_usec);
int sqlite_requeue_sending(struct store *s);
int64_t sqlite_outbox_depth(struct store *s);
int64_t sqlite_oldest_undelivered_usec(struct store *s);
int sqlite_foreach_notified_worker(struct store *s, const char *alert_id, store_worker_cb cb,
                                   void *userdata);
/* sqlite_rules.c */
int sqlite_insert_pass(struct store *s, const struct store_pass *p, int64_t *ret_id);
int sqlite_update_pass(struct store *s, const struct store_pass *p);
int sqlite_list_passes(struct store *s, const struct store_pass_filter *f, store_pass_cb cb,
                       void *userdata);
int sqlite_insert_checkin(struct store *s, const char *household, const char *worker,
                          const char *channel, int64_t usec, int64_t recv_usec);
int sqlite_insert_report(struct store *s, const char *household, const char *channel,
                         const char *reason, int64_t usec, int64_t recv_usec, int number,
                         bool over_limit);
int sqlite_save_household_state(struct store *s, const char *household, const char *json,
                                int64_t usec);
int sqlite_foreach_household_state(struct store *s, store_household_state_cb cb, void *userdata);
/* sqlite_retention.c */
int sqlite_purge_household(struct store *s, const char *household, int64_t now_usec,
                           int64_t *ret_events);
int sqlite_household_purged(struct store *s, const char *household);
/* sqlite_report.c */
int sqlite_record_household_windows(struct store *s, const struct store_household_window *w,
                                    size_t n, int64_t now_usec, size_t *ret_recorded);
int sqlite_foreach_household_window(struct store *s, int64_t before_usec,
                                    store_household_window_cb cb, void *userdata);
int sqlite_foreach_opening_count(struct store *s, int64_t from_usec, int64_t to_usec,
                                 store_opening_count_cb cb, void *userdata);
int sqlite_foreach_alert_brief(struct store *s, const struct store_alert_span *f,
                               store_alert_brief_cb cb, void *userdata);
int sqlite_foreach_dead_notification(struct store *s, int64_t from_usec, int64_t to_usec,
                                     store_dead_notification_cb cb, void *userdata);
int sqlite_foreach_purged_household(struct store *s, store_household_cb cb, void *userdata);
int sqlite_foreach_stored_household(struct store *s, store_household_usec_cb cb, void *userdata);
/* sqlite_field.c */
int sqlite_insert_reading(struct store *s, const struct store_reading *r, int64_t *ret_id);
int sqlite_list_readings(struct store *s, const struct store_reading_filter *f, store_reading_cb cb,
                         void *userdata);
int64_t sqlite_rounds_since_usec(struct store *s);
int sqlite_form_result(struct store *s, const char *nonce, int *ret_status, char *buf, size_t size);
int sqlite_form_record(struct store *s, const char *nonce, const char *worker, int64_t usec,
                       int status, const char *result);
int sqlite_purge_forms(struct store *s, int64_t before_usec);
int sqlite_insert_round(struct store *s, const struct store_round *r);
int sqlite_foreach_round(struct store *s, int64_t from_usec, int64_t to_usec, store_round_cb cb,
                         void *userdata);
int sqlite_foreach_fever(struct store *s, int64_t from_usec, int64_t to_usec, store_fever_cb cb,
                         void *userdata);

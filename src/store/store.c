/* store.c: the public store_*() functions (store.h) over the backends (backend.h).
 *
 * store_open() picks the backend from the database string: a URI's scheme names it
 * (postgresql:// or postgres://: pg*.c), any other string is a file path for SQLite. Here,
 * once for every backend, is the transaction bookkeeping the promises of store.h rest on: a
 * transaction is opened lazily and the begin hook called when one is, commits and
 * savepoints happen only inside one, a failed operation inside one loses it (txn_result()),
 * and write health follows every BEGIN and COMMIT. Every other function is one indirect
 * call into the backend, with its arguments as they came (no copy, no allocation). */
#include <errno.h>
#include <string.h>

#include "backend.h"
#include "log.h"
#include "pg.h"
#include "util.h"

/* The backend of database: SQLite for a path, the one a URI's scheme names, or NULL. */
static const struct store_backend *backend_for_quiet(const char *database)
{
        size_t n = uri_scheme_len(database);

        if (n == 0)
                return &store_sqlite_backend;
        if ((n == 10 && strncmp(database, "postgresql", n) == 0) ||
            (n == 8 && strncmp(database, "postgres", n) == 0))
                return &store_pg_backend;
        return NULL;
}

/* The backend for database, or NULL (logged) when there is none. */
static const struct store_backend *backend_for(const char *database)
{
        const struct store_backend *b = backend_for_quiet(database);

        if (b)
                return b;
        log_err("database: unknown kind of database \"%.*s://\"; \"database\" must be the "
                "path of an SQLite file or a postgresql:// URI",
                (int)uri_scheme_len(database), database);
        return NULL;
}

int store_open(const char *database, bool sync_full, bool readonly, struct store **ret)
{
        return store_open_with_password(database, NULL, sync_full, readonly, ret);
}

int store_open_with_password(const char *database, const char *password, bool sync_full,
                             bool readonly, struct store **ret)
{
        const struct store_backend *b = backend_for(database);

        if (!b)
                return -EPROTONOSUPPORT;
        return b->open(database, password, sync_full, readonly, ret);
}

char *store_database_shown(const char *database)
{
        return backend_for_quiet(database) == &store_pg_backend ? pg_mask_uri(database)
                                                                : xstrdup(database);
}

struct store *store_close(struct store *s)
{
        if (!s)
                return NULL;
        if (s->in_txn)
                store_commit(s);
        s->ops->close(s);
        return NULL;
}

int store_backup(const char *database, const char *dest_path, struct store_backup_info *info)
{
        const struct store_backend *b = backend_for(database);

        if (!b)
                return -EPROTONOSUPPORT;
        return b->backup(database, dest_path, info);
}

/* ---- transactions ---- */

/* The result r of an operation: a failure inside the transaction loses it, whatever the
 * backend did about it (SQLite rolls the whole transaction back by itself on SQLITE_FULL,
 * SQLITE_IOERR or SQLITE_NOMEM and leaves it open on others; an event's writes have no
 * savepoint, so what it wrote before the failure would be committed half; PostgreSQL
 * aborts the transaction on any error). From then on every write and store_begin() fail
 * with the same error instead of running outside a transaction, and store_commit() rolls
 * back and returns it. Inside a savepoint the caller's store_rollback_to() decides: it
 * undoes the group, or fails (and loses the transaction) when the database dropped it. */
static int txn_result(struct store *s, int r)
{
        if (r < 0 && s->in_txn && !s->in_savepoint && !s->txn_failed) {
                s->txn_failed = true;
                s->txn_error = r;
        }
        return r;
}

static int begin(struct store *s, bool wait)
{
        int r;

        if (s->in_txn)
                return s->txn_failed ? s->txn_error : 0;
        r = s->ops->begin(s, wait);
        if (r < 0) {
                s->write_failed = true;
                return r;
        }
        s->in_txn = true;
        if (s->begin_hook)
                s->begin_hook(s->begin_userdata);
        return 0;
}

int store_begin(struct store *s)
{
        return begin(s, true);
}

int store_try_begin(struct store *s)
{
        return begin(s, false);
}

int store_commit(struct store *s)
{
        int r;

        if (!s->in_txn)
                return 0;
        if (s->txn_failed) {
                s->ops->rollback(s);
                r = s->txn_error;
        } else
                r = s->ops->commit(s);
        s->in_txn = false;
        s->in_savepoint = false;
        s->txn_failed = false;
        s->write_failed = r < 0;
        return r;
}

void store_rollback(struct store *s)
{
        if (!s->in_txn)
                return;
        s->ops->rollback(s);
        s->in_txn = false;
        s->in_savepoint = false;
        s->txn_failed = false;
}

bool store_in_transaction(struct store *s)
{
        return s->in_txn;
}

bool store_transaction_failed(struct store *s)
{
        return s->in_txn && s->txn_failed;
}

int store_savepoint(struct store *s)
{
        int r = store_begin(s);

        if (r < 0)
                return r;
        r = txn_result(s, s->ops->savepoint(s));
        s->in_savepoint = r == 0;
        return r;
}

int store_release(struct store *s)
{
        s->in_savepoint = false;
        return txn_result(s, s->ops->release(s));
}

int store_rollback_to(struct store *s)
{
        s->in_savepoint = false;
        return txn_result(s, s->ops->rollback_to(s));
}

void store_set_begin_hook(struct store *s, void (*fn)(void *userdata), void *userdata)
{
        s->begin_hook = fn;
        s->begin_userdata = userdata;
}

bool store_write_failed(struct store *s)
{
        return s->write_failed;
}

int store_probe_write(struct store *s, int64_t now_usec)
{
        int r;

        if (s->in_txn)
                return 0; /* the pending COMMIT decides */
        r = s->ops->probe_write(s, now_usec);
        s->write_failed = r < 0;
        return r;
}

/* ---- events ---- */

int store_event_exists(struct store *s, const char *device, const char *uid)
{
        return txn_result(s, s->ops->event_exists(s, device, uid));
}

int store_insert_event(struct store *s, const struct store_event *e, int64_t *ret_rowid)
{
        if (s->txn_failed)
                return s->txn_error;
        return txn_result(s, s->ops->insert_event(s, e, ret_rowid));
}

int store_settle_opening(struct store *s, const char *household, int64_t event_usec,
                         const char *verdict, const char *rule, const char *reason,
                         const char *alert_id)
{
        return s->ops->settle_opening(s, household, event_usec, verdict, rule, reason, alert_id);
}

int store_next_id(struct store *s, char prefix, int64_t now_usec, char *buf, size_t size)
{
        int r;

        if (s->txn_failed)
                return s->txn_error;
        /* Every backend writes its counters back at COMMIT: make sure there is one. */
        r = store_begin(s);
        if (r < 0)
                return r;
        return txn_result(s, s->ops->next_id(s, prefix, now_usec, buf, size));
}

int store_foreach_device_seen(struct store *s, const char *household, int64_t since_usec,
                              store_device_usec_cb cb, void *userdata)
{
        return txn_result(s, s->ops->foreach_device_seen(s, household, since_usec, cb, userdata));
}

int store_get_event(struct store *s, const char *device, const char *uid, store_event_cb cb,
                    void *userdata)
{
        return txn_result(s, s->ops->get_event(s, device, uid, cb, userdata));
}

int store_list_alert_events(struct store *s, const char *household, const char *alert_id,
                            size_t max, store_event_cb cb, void *userdata)
{
        return txn_result(s, s->ops->list_alert_events(s, household, alert_id, max, cb, userdata));
}

int store_last_event_id(struct store *s, int64_t *ret)
{
        return txn_result(s, s->ops->last_event_id(s, ret));
}

int store_count_events(struct store *s, int64_t after_id, const char *verdict, int64_t *ret)
{
        return txn_result(s, s->ops->count_events(s, after_id, verdict, ret));
}

/* ---- alerts and actions ---- */

int store_insert_alert(struct store *s, const struct alert *a, const char *community,
                       const char *reason)
{
        if (s->txn_failed)
                return s->txn_error;
        return txn_result(s, s->ops->insert_alert(s, a, community, reason));
}

int store_update_alert(struct store *s, const struct alert *a)
{
        if (s->txn_failed)
                return s->txn_error;
        return txn_result(s, s->ops->update_alert(s, a));
}

int store_set_alert_reason(struct store *s, const char *alert_id, const char *reason)
{
        if (s->txn_failed)
                return s->txn_error;
        return txn_result(s, s->ops->set_alert_reason(s, alert_id, reason));
}

int store_insert_action(struct store *s, const char *kind, const char *actor, const char *channel,
                        const char *target, int64_t usec, const char *detail)
{
        if (s->txn_failed)
                return s->txn_error;
        return txn_result(s, s->ops->insert_action(s, kind, actor, channel, target, usec, detail));
}

int store_list_actions(struct store *s, const char *target, store_action_cb cb, void *userdata)
{
        return txn_result(s, s->ops->list_actions(s, target, cb, userdata));
}

int store_set_alert_acked(struct store *s, const char *alert_id, const char *worker,
                          const char *channel, int64_t usec)
{
        if (s->txn_failed)
                return s->txn_error;
        return txn_result(s, s->ops->set_alert_acked(s, alert_id, worker, channel, usec));
}

int store_set_alert_resolved(struct store *s, const char *alert_id, const char *worker,
                             const char *channel, int64_t usec, const char *note)
{
        if (s->txn_failed)
                return s->txn_error;
        return txn_result(s, s->ops->set_alert_resolved(s, alert_id, worker, channel, usec, note));
}

int store_alert_household(struct store *s, const char *alert_id, char *buf, size_t size)
{
        return txn_result(s, s->ops->alert_household(s, alert_id, buf, size));
}

int store_list_alerts(struct store *s, const struct store_alert_filter *f, store_alert_cb cb,
                      void *userdata)
{
        return txn_result(s, s->ops->list_alerts(s, f, cb, userdata));
}

int store_foreach_live_alert(struct store *s, store_alert_cb cb, void *userdata)
{
        static const struct store_alert_filter live = { .states = STORE_ALERTS_LIVE };
        return txn_result(s, s->ops->list_alerts(s, &live, cb, userdata));
}

int store_get_alert(struct store *s, const char *alert_id, store_alert_cb cb, void *userdata)
{
        return txn_result(s, s->ops->get_alert(s, alert_id, cb, userdata));
}

int store_count_live_alerts(struct store *s, struct store_alert_counts *ret)
{
        return txn_result(s, s->ops->count_live_alerts(s, ret));
}

int store_foreach_alert_raised(struct store *s, const char *kind, int64_t since_usec,
                               store_device_usec_cb cb, void *userdata)
{
        return txn_result(s, s->ops->foreach_alert_raised(s, kind, since_usec, cb, userdata));
}

int store_foreach_household_with_alert(struct store *s, const char *kind, store_household_cb cb,
                                       void *userdata)
{
        return txn_result(s, s->ops->foreach_household_with_alert(s, kind, cb, userdata));
}

/* ---- outbox ---- */

const char *notification_state_to_string(enum notification_state st)
{
        static const char *const names[] = { "pending", "sending", "delivered", "dead" };
        return st >= 0 && st < _NOTIFICATION_STATE_MAX ? names[st] : NULL;
}

int store_insert_notification(struct store *s, const struct store_notification *n)
{
        if (s->txn_failed)
                return s->txn_error;
        return txn_result(s, s->ops->insert_notification(s, n));
}

int store_foreach_due_notification(struct store *s, int64_t now_usec, size_t max,
                                   store_notification_cb cb, void *userdata)
{
        return txn_result(s, s->ops->foreach_due_notification(s, now_usec, max, cb, userdata));
}

int store_list_notifications(struct store *s, const struct store_notification_filter *f,
                             store_notification_cb cb, void *userdata)
{
        return txn_result(s, s->ops->list_notifications(s, f, cb, userdata));
}

int store_set_notification_state(struct store *s, const char *id, enum notification_state st,
                                 int attempts, int64_t next_usec, const char *error,
                                 int64_t now_usec)
{
        if (s->txn_failed)
                return s->txn_error;
        return txn_result(
            s, s->ops->set_notification_state(s, id, st, attempts, next_usec, error, now_usec));
}

int64_t store_next_notification_usec(struct store *s)
{
        return s->ops->next_notification_usec(s);
}

int store_defer_notification(struct store *s, const char *id, int64_t next_usec)
{
        if (s->txn_failed)
                return s->txn_error;
        return txn_result(s, s->ops->defer_notification(s, id, next_usec));
}

int store_wake_notifications(struct store *s, const char *waiting_for, int64_t now_usec)
{
        if (s->txn_failed)
                return s->txn_error;
        return txn_result(s, s->ops->wake_notifications(s, waiting_for, now_usec));
}

int store_requeue_sending(struct store *s)
{
        if (s->txn_failed)
                return s->txn_error;
        return txn_result(s, s->ops->requeue_sending(s));
}

int64_t store_outbox_depth(struct store *s)
{
        return s->ops->outbox_depth(s);
}

int64_t store_oldest_undelivered_usec(struct store *s)
{
        return s->ops->oldest_undelivered_usec(s);
}

int store_foreach_notified_worker(struct store *s, const char *alert_id, store_worker_cb cb,
                                  void *userdata)
{
        return txn_result(s, s->ops->foreach_notified_worker(s, alert_id, cb, userdata));
}

/* ---- observation rules' records ---- */

int store_insert_pass(struct store *s, const struct store_pass *p, int64_t *ret_id)
{
        if (s->txn_failed)
                return s->txn_error;
        return txn_result(s, s->ops->insert_pass(s, p, ret_id));
}

int store_update_pass(struct store *s, const struct store_pass *p)
{
        if (s->txn_failed)
                return s->txn_error;
        return txn_result(s, s->ops->update_pass(s, p));
}

int store_list_passes(struct store *s, const struct store_pass_filter *f, store_pass_cb cb,
                      void *userdata)
{
        return txn_result(s, s->ops->list_passes(s, f, cb, userdata));
}

int store_foreach_pending_pass(struct store *s, store_pass_cb cb, void *userdata)
{
        return txn_result(s, s->ops->list_passes(s, NULL, cb, userdata));
}

int store_insert_checkin(struct store *s, const char *household, const char *worker,
                         const char *channel, int64_t usec, int64_t recv_usec)
{
        if (s->txn_failed)
                return s->txn_error;
        return txn_result(s,
                          s->ops->insert_checkin(s, household, worker, channel, usec, recv_usec));
}

int store_insert_report(struct store *s, const char *household, const char *channel,
                        const char *reason, int64_t usec, int64_t recv_usec, int number,
                        bool over_limit)
{
        if (s->txn_failed)
                return s->txn_error;
        return txn_result(s, s->ops->insert_report(s, household, channel, reason, usec, recv_usec,
                                                   number, over_limit));
}

int store_save_household_state(struct store *s, const char *household, const char *json,
                               int64_t usec)
{
        if (s->txn_failed)
                return s->txn_error;
        return txn_result(s, s->ops->save_household_state(s, household, json, usec));
}

int store_foreach_household_state(struct store *s, store_household_state_cb cb, void *userdata)
{
        return txn_result(s, s->ops->foreach_household_state(s, cb, userdata));
}

int store_household_timeline(struct store *s, const char *household, int64_t since_usec,
                             store_timeline_cb cb, void *userdata)
{
        return txn_result(s, s->ops->household_timeline(s, household, since_usec, cb, userdata));
}

/* ---- the database itself ---- */

int64_t store_created_usec(struct store *s)
{
        return s->ops->created_usec(s);
}

int store_seq_get(struct store *s, const char *name, int64_t *ret)
{
        return txn_result(s, s->ops->seq_get(s, name, ret));
}

int store_seq_bump(struct store *s, const char *name, int64_t *ret)
{
        if (s->txn_failed)
                return s->txn_error;
        return txn_result(s, s->ops->seq_bump(s, name, ret));
}

/* ---- retention ---- */

int store_purge_household(struct store *s, const char *household, int64_t now_usec,
                          int64_t *ret_events)
{
        if (s->txn_failed)
                return s->txn_error;
        return txn_result(s, s->ops->purge_household(s, household, now_usec, ret_events));
}

int store_household_purged(struct store *s, const char *household)
{
        return txn_result(s, s->ops->household_purged(s, household));
}

int store_record_household_windows(struct store *s, const struct store_household_window *w,
                                   size_t n, int64_t now_usec, size_t *ret_recorded)
{
        return s->ops->record_household_windows(s, w, n, now_usec, ret_recorded);
}

int store_foreach_household_window(struct store *s, int64_t before_usec,
                                   store_household_window_cb cb, void *userdata)
{
        return s->ops->foreach_household_window(s, before_usec, cb, userdata);
}

int store_foreach_opening_count(struct store *s, int64_t from_usec, int64_t to_usec,
                                store_opening_count_cb cb, void *userdata)
{
        return s->ops->foreach_opening_count(s, from_usec, to_usec, cb, userdata);
}

int store_foreach_alert_brief(struct store *s, const struct store_alert_span *f,
                              store_alert_brief_cb cb, void *userdata)
{
        return s->ops->foreach_alert_brief(s, f, cb, userdata);
}

int store_foreach_dead_notification(struct store *s, int64_t from_usec, int64_t to_usec,
                                    store_dead_notification_cb cb, void *userdata)
{
        return s->ops->foreach_dead_notification(s, from_usec, to_usec, cb, userdata);
}

int store_foreach_purged_household(struct store *s, store_household_cb cb, void *userdata)
{
        return s->ops->foreach_purged_household(s, cb, userdata);
}

int store_foreach_stored_household(struct store *s, store_household_usec_cb cb, void *userdata)
{
        return s->ops->foreach_stored_household(s, cb, userdata);
}

/* ---- the field: readings, rounds, the worker page's forms ---- */

int store_insert_reading(struct store *s, const struct store_reading *r, int64_t *ret_id)
{
        return s->ops->insert_reading(s, r, ret_id);
}

int store_list_readings(struct store *s, const struct store_reading_filter *f, store_reading_cb cb,
                        void *userdata)
{
        return s->ops->list_readings(s, f, cb, userdata);
}

int64_t store_rounds_since_usec(struct store *s)
{
        return s->ops->rounds_since_usec(s);
}

int store_form_result(struct store *s, const char *nonce, int *ret_status, char *buf, size_t size)
{
        return s->ops->form_result(s, nonce, ret_status, buf, size);
}

int store_form_record(struct store *s, const char *nonce, const char *worker, int64_t usec,
                      int status, const char *result)
{
        return s->ops->form_record(s, nonce, worker, usec, status, result);
}

int store_purge_forms(struct store *s, int64_t before_usec)
{
        return s->ops->purge_forms(s, before_usec);
}

int store_last_opening(struct store *s, const char *household, store_event_cb cb, void *userdata)
{
        return s->ops->last_opening(s, household, cb, userdata);
}

int store_insert_round(struct store *s, const struct store_round *r)
{
        return s->ops->insert_round(s, r);
}

int store_foreach_round(struct store *s, int64_t from_usec, int64_t to_usec, store_round_cb cb,
                        void *userdata)
{
        return s->ops->foreach_round(s, from_usec, to_usec, cb, userdata);
}

int store_foreach_fever(struct store *s, int64_t from_usec, int64_t to_usec, store_fever_cb cb,
                        void *userdata)
{
        return s->ops->foreach_fever(s, from_usec, to_usec, cb, userdata);
}

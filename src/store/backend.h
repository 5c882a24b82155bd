/* backend.h: what a store backend implements (private to src/store/).
 *
 * store.c keeps the public store_*() functions and what every backend shares: the choice
 * of backend from the database string, the transaction bookkeeping (whether one is open,
 * the begin hook, write health) and the wrappers that are one query with a fixed filter.
 * Everything that speaks to a database is an operation here, called through one indirect
 * call; a backend's store embeds struct store first and allocates it in open(). The
 * operations keep the promises written at the top of store.h; those with the same name as
 * a store_*() function have its arguments and results. */
#pragma once

#include "store.h"

struct store {
        const struct store_backend *ops;
        void (*begin_hook)(void *userdata);
        void *begin_userdata;
        bool in_txn;
        bool write_failed; /* the last BEGIN or COMMIT failed; cleared by the next COMMIT */
        bool in_savepoint; /* between store_savepoint() and its release or rollback_to */
        bool txn_failed;   /* an operation failed inside the open transaction: it is lost */
        int txn_error;     /* that operation's error, returned by every later write */
};

struct store_backend {
        const char *name;
        /* database: a path (SQLite) or a URI whose scheme chose this backend; password:
         * for a server, NULL for its client library's own sources. */
        int (*open)(const char *database, const char *password, bool sync_full, bool readonly,
                    struct store **ret);
        /* Frees the store; the transaction, if any, was committed before. */
        void (*close)(struct store *s);
        int (*backup)(const char *database, const char *dest_path, struct store_backup_info *info);

        /* Transactions. store.c calls begin only outside a transaction, commit, savepoint,
         * release and rollback_to only inside one. begin: wait tells whether to wait for
         * another writer's lock (as store_begin()) or fail at once with -EBUSY (as
         * store_try_begin()). commit: on failure the transaction is rolled back whole.
         * rollback: ends the transaction without a trace, also when the database already
         * rolled it back by itself (no error then). */
        int (*begin)(struct store *s, bool wait);
        int (*commit)(struct store *s);
        void (*rollback)(struct store *s);
        int (*savepoint)(struct store *s);
        int (*release)(struct store *s);
        int (*rollback_to)(struct store *s);
        /* One small write in a transaction of its own (outside the loop's). */
        int (*probe_write)(struct store *s, int64_t now_usec);

        /* Events. */
        int (*event_exists)(struct store *s, const char *device, const char *uid);
        int (*insert_event)(struct store *s, const struct store_event *e, int64_t *ret_rowid);
        int (*settle_opening)(struct store *s, const char *household, int64_t event_usec,
                              const char *verdict, const char *rule, const char *reason,
                              const char *alert_id);
        int (*next_id)(struct store *s, char prefix, int64_t now_usec, char *buf, size_t size);
        int (*get_event)(struct store *s, const char *device, const char *uid, store_event_cb cb,
                         void *userdata);
        int (*list_alert_events)(struct store *s, const char *household, const char *alert_id,
                                 size_t max, store_event_cb cb, void *userdata);
        int (*last_event_id)(struct store *s, int64_t *ret);
        int (*count_events)(struct store *s, int64_t after_id, const char *verdict, int64_t *ret);
        int (*foreach_device_seen)(struct store *s, const char *household, int64_t since_usec,
                                   store_device_usec_cb cb, void *userdata);

        /* Alerts and actions. */
        int (*insert_alert)(struct store *s, const struct alert *a, const char *community,
                            const char *reason);
        int (*update_alert)(struct store *s, const struct alert *a);
        int (*set_alert_reason)(struct store *s, const char *alert_id, const char *reason);
        int (*insert_action)(struct store *s, const char *kind, const char *actor,
                             const char *channel, const char *target, int64_t usec,
                             const char *detail);
        int (*list_actions)(struct store *s, const char *target, store_action_cb cb,
                            void *userdata);
        int (*set_alert_acked)(struct store *s, const char *alert_id, const char *worker,
                               const char *channel, int64_t usec);
        int (*set_alert_resolved)(struct store *s, const char *alert_id, const char *worker,
                                  const char *channel, int64_t usec, const char *note);
        int (*alert_household)(struct store *s, const char *alert_id, char *buf, size_t size);
        int (*list_alerts)(struct store *s, const struct store_alert_filter *f, store_alert_cb cb,
                           void *userdata);
        int (*get_alert)(struct store *s, const char *alert_id, store_alert_cb cb, void *userdata);
        int (*count_live_alerts)(struct store *s, struct store_alert_counts *ret);
        int (*foreach_alert_raised)(struct store *s, const char *kind, int64_t since_usec,
                                    store_device_usec_cb cb, void *userdata);
        int (*foreach_household_with_alert)(struct store *s, const char *kind,
                                            store_household_cb cb, void *userdata);

        /* Outbox. */
        int (*insert_notification)(struct store *s, const struct store_notification *n);
        int (*foreach_due_notification)(struct store *s, int64_t now_usec, size_t max,
                                        store_notification_cb cb, void *userdata);
        int (*list_notifications)(struct store *s, const struct store_notification_filter *f,
                                  store_notification_cb cb, void *userdata);
        int (*set_notification_state)(struct store *s, const char *id, enum notification_state st,
                                      int attempts, int64_t next_usec, const char *error,
                                      int64_t now_usec);
        int64_t (*next_notification_usec)(struct store *s);
        int (*defer_notification)(struct store *s, const char *id, int64_t next_usec);
        int (*wake_notifications)(struct store *s, const char *waiting_for, int64_t now_usec);
        int (*requeue_sending)(struct store *s);
        int64_t (*outbox_depth)(struct store *s);
        int64_t (*oldest_undelivered_usec)(struct store *s);
        int (*foreach_notified_worker)(struct store *s, const char *alert_id, store_worker_cb cb,
                                       void *userdata);

        /* Observation rules' records. */
        int (*insert_pass)(struct store *s, const struct store_pass *p, int64_t *ret_id);
        int (*update_pass)(struct store *s, const struct store_pass *p);
        int (*list_passes)(struct store *s, const struct store_pass_filter *f, store_pass_cb cb,
                           void *userdata);
        int (*insert_checkin)(struct store *s, const char *household, const char *worker,
                              const char *channel, int64_t usec, int64_t recv_usec);
        int (*insert_report)(struct store *s, const char *household, const char *channel,
                             const char *reason, int64_t usec, int64_t recv_usec, int number,
                             bool over_limit);
        int (*save_household_state)(struct store *s, const char *household, const char *json,
                                    int64_t usec);
        int (*foreach_household_state)(struct store *s, store_household_state_cb cb,
                                       void *userdata);

        int (*household_timeline)(struct store *s, const char *household, int64_t since_usec,
                                  store_timeline_cb cb, void *userdata);

        /* The database itself: when it was created, named counters. */
        int64_t (*created_usec)(struct store *s);
        int (*seq_get)(struct store *s, const char *name, int64_t *ret);
        int (*seq_bump)(struct store *s, const char *name, int64_t *ret);

        /* Retention. */
        int (*purge_household)(struct store *s, const char *household, int64_t now_usec,
                               int64_t *ret_events);
        int (*household_purged)(struct store *s, const char *household);

        /* The daily report. */
        int (*record_household_windows)(struct store *s, const struct store_household_window *w,
                                        size_t n, int64_t now_usec, size_t *ret_recorded);
        int (*foreach_household_window)(struct store *s, int64_t before_usec,
                                        store_household_window_cb cb, void *userdata);
        int (*foreach_opening_count)(struct store *s, int64_t from_usec, int64_t to_usec,
                                     store_opening_count_cb cb, void *userdata);
        int (*foreach_alert_brief)(struct store *s, const struct store_alert_span *f,
                                   store_alert_brief_cb cb, void *userdata);
        int (*foreach_dead_notification)(struct store *s, int64_t from_usec, int64_t to_usec,
                                         store_dead_notification_cb cb, void *userdata);

        /* Retention, continued: what was purged, what is stored. */
        int (*foreach_purged_household)(struct store *s, store_household_cb cb, void *userdata);
        int (*foreach_stored_household)(struct store *s, store_household_usec_cb cb,
                                        void *userdata);

        /* The field (issue 18): readings, rounds, the worker page's one-time forms. */
        int (*insert_reading)(struct store *s, const struct store_reading *r, int64_t *ret_id);
        int (*list_readings)(struct store *s, const struct store_reading_filter *f,
                             store_reading_cb cb, void *userdata);
        int64_t (*rounds_since_usec)(struct store *s);
        int (*form_result)(struct store *s, const char *nonce, int *ret_status, char *buf,
                           size_t size);
        int (*form_record)(struct store *s, const char *nonce, const char *worker, int64_t usec,
                           int status, const char *result);
        int (*purge_forms)(struct store *s, int64_t before_usec);
        int (*last_opening)(struct store *s, const char *household, store_event_cb cb,
                            void *userdata);
        int (*insert_round)(struct store *s, const struct store_round *r);
        int (*foreach_round)(struct store *s, int64_t from_usec, int64_t to_usec, store_round_cb cb,
                             void *userdata);
        int (*foreach_fever)(struct store *s, int64_t from_usec, int64_t to_usec, store_fever_cb cb,
                             void *userdata);
};

extern const struct store_backend store_sqlite_backend;
extern const struct store_backend store_pg_backend;

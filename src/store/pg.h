/* pg.h: the PostgreSQL backend, private to src/store/pg*.c and to unit tests.
 *
 * One libpq connection per store, always in pipeline mode (pg_conn.c owns it: connecting,
 * reconnecting with backoff, round trips bounded in time, what the server's errors mean).
 * Inside a transaction a write whose result nobody waits for is only queued (pg_send()):
 * it travels with the next statement that needs an answer, or with the COMMIT, and its
 * error, if any, fails the transaction there. Statements that return rows or a count wait
 * (pg_query(), pg_command()). Outside a transaction every statement waits and commits on
 * its own (a Sync after it). The backend's functions take the generic struct store * of
 * the operations table (backend.h); pq() is the PostgreSQL store behind it. */
#pragma once

#include "pg_conn.h"

/* ---- the operations (backend.h), by file ---- */
/* pg.c */
int pg_open(const char *database, const char *password, bool sync_full, bool readonly,
            struct store **ret);
void pg_close(struct store *s);
int pg_backup(const char *database, const char *dest_path, struct store_backup_info *info);
int pg_begin(struct store *s, bool wait);
int pg_commit(struct store *s);
void pg_rollback(struct store *s);
int pg_savepoint(struct store *s);
int pg_release(struct store *s);
int pg_rollback_to(struct store *s);
int pg_probe_write(struct store *s, int64_t now_usec);
int pg_next_id(struct store *s, char prefix, int64_t now_usec, char *buf, size_t size);
int64_t pg_created_usec(struct store *s);
int pg_seq_get(struct store *s, const char *name, int64_t *ret);
int pg_seq_bump(struct store *s, const char *name, int64_t *ret);
/* Session set-up on each new connection (pg_conn.c calls it once the connection is
 * usable): read-only readers, the commit's durability. */
int pg_session_setup(struct store *s);
/* pg_events.c */
int pg_event_exists(struct store *s, const char *device, const char *uid);
int pg_insert_event(struct store *s, const struct store_event *e, int64_t *ret_rowid);
int pg_settle_opening(struct store *s, const char *household, int64_t event_usec,
                      const char *verdict, const char *rule, const char *reason,
                      const char *alert_id);
int pg_last_opening(struct store *s, const char *household, store_event_cb cb, void *userdata);
int pg_get_event(struct store *s, const char *device, const char *uid, store_event_cb cb,
                 void *userdata);
int pg_list_alert_events(struct store *s, const char *household, const char *alert_id, size_t max,
                         store_event_cb cb, void *userdata);
int pg_last_event_id(struct store *s, int64_t *ret);
int pg_count_events(struct store *s, int64_t after_id, const char *verdict, int64_t *ret);
int pg_household_timeline(struct store *s, const char *household, int64_t since_usec,
                          store_timeline_cb cb, void *userdata);
int pg_foreach_device_seen(struct store *s, const char *household, int64_t since_usec,
                           store_device_usec_cb cb, void *userdata);
/* pg_alerts.c */
int pg_insert_alert(struct store *s, const struct alert *a, const char *community,
                    const char *reason);
int pg_update_alert(struct store *s, const struct alert *a);
int pg_set_alert_reason(struct store *s, const char *alert_id, const char *reason);
int pg_insert_action(struct store *s, const char *kind, const char *actor, const char *channel,
                     const char *target, int64_t usec, const char *detail);
int pg_list_actions(struct store *s, const char *target, store_action_cb cb, void *userdata);
int pg_set_alert_acked(struct store *s, const char *alert_id, const char *worker,
                       const char *channel, int64_t usec);
int pg_set_alert_resolved(struct store *s, const char *alert_id, const char *worker,
                          const char *channel, int64_t usec, const char *note);
int pg_alert_household(struct store *s, const char *alert_id, char *buf, size_t size);
int pg_list_alerts(struct store *s, const struct store_alert_filter *f, store_alert_cb cb,
                   void *userdata);
int pg_get_alert(struct store *s, const char *alert_id, store_alert_cb cb, void *userdata);
int pg_count_live_alerts(struct store *s, struct store_alert_counts *ret);
int pg_foreach_alert_raised(struct store *s, const char *kind, int64_t since_usec,
                            store_device_usec_cb cb, void *userdata);
int pg_foreach_household_with_alert(struct store *s, const char *kind, store_household_cb cb,
                                    void *userdata);
/* pg_outbox.c */
int pg_insert_notification(struct store *s, const struct store_notification *n);
int pg_foreach_due_notification(struct store *s, int64_t now_usec, size_t max,
                                store_notification_cb cb, void *userdata);
int pg_list_notifications(struct store *s, const struct store_notification_filter *f,
                          store_notification_cb cb, void *userdata);
int pg_set_notification_state(struct store *s, const char *id, enum notification_state st,
                              int attempts, int64_t next_usec, const char *error, int64_t now_usec);
int64_t pg_next_notification_usec(struct store *s);
int pg_defer_notification(struct store *s, const char *id, int64_t next_usec);
int pg_wake_notifications(struct store *s, const char *waiting_for, int64_t now_usec);
int pg_requeue_sending(struct store *s);
int64_t pg_outbox_depth(struct store *s);
int64_t pg_oldest_undelivered_usec(struct store *s);
int pg_foreach_notified_worker(struct store *s, const char *alert_id, store_worker_cb cb,
                               void *userdata);
/* pg_rules.c */
int pg_insert_pass(struct store *s, const struct store_pass *p, int64_t *ret_id);
int pg_update_pass(struct store *s, const struct store_pass *p);
int pg_list_passes(struct store *s, const struct store_pass_filter *f, store_pass_cb cb,
                   void *userdata);
int pg_insert_checkin(struct store *s, const char *household, const char *worker,
                      const char *channel, int64_t usec, int64_t recv_usec);
int pg_insert_report(struct store *s, const char *household, const char *channel,
                     const char *reason, int64_t usec, int64_t recv_usec, int number,
                     bool over_limit);
int pg_save_household_state(struct store *s, const char *household, const char *json, int64_t usec);
int pg_foreach_household_state(struct store *s, store_household_state_cb cb, void *userdata);
/* pg_retention.c */
int pg_purge_household(struct store *s, const char *household, int64_t now_usec,
                       int64_t *ret_events);
int pg_household_purged(struct store *s, const char *household);
int pg_foreach_purged_household(struct store *s, store_household_cb cb, void *userdata);
int pg_foreach_stored_household(struct store *s, store_household_usec_cb cb, void *userdata);
/* pg_report.c */
int pg_record_household_windows(struct store *s, const struct store_household_window *w, size_t n,
                                int64_t now_usec, size_t *ret_recorded);
int pg_foreach_household_window(struct store *s, int64_t before_usec, store_household_window_cb cb,
                                void *userdata);
int pg_foreach_opening_count(struct store *s, int64_t from_usec, int64_t to_usec,
                             store_opening_count_cb cb, void *userdata);
int pg_foreach_alert_brief(struct store *s, const struct store_alert_span *f,
                           store_alert_brief_cb cb, void *userdata);
int pg_foreach_dead_notification(struct store *s, int64_t from_usec, int64_t to_usec,
                                 store_dead_notification_cb cb, void *userdata);
/* pg_field.c */
int pg_insert_reading(struct store *s, const struct store_reading *r, int64_t *ret_id);
int pg_list_readings(struct store *s, const struct store_reading_filter *f, store_reading_cb cb,
                     void *userdata);
int64_t pg_rounds_since_usec(struct store *s);
int pg_form_result(struct store *s, const char *nonce, int *ret_status, char *buf, size_t size);
int pg_form_record(struct store *s, const char *nonce, const char *worker, int64_t usec, int status,
                   const char *result);
int pg_purge_forms(struct store *s, int64_t before_usec);
int pg_insert_round(struct store *s, const struct store_round *r);
int pg_foreach_round(struct store *s, int64_t from_usec, int64_t to_usec, store_round_cb cb,
                     void *userdata);
int pg_foreach_fever(struct store *s, int64_t from_usec, int64_t to_usec, store_fever_cb cb,
                     void *userdata);

/* sqlite_outbox.c: the notification outbox in SQLite: rows written with the alert that
 * caused them, dispatched in order of priority and due time, their delivery recorded. */
#include "sqlite.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "util.h"

/* The one column list of a notification, read by notification_read(). */
#define NOTIFICATION_COLUMNS                                                                       \
        "id, alert_id, worker, channel, step, round, kind, priority, payload, created_usec,"       \
        " next_usec, attempts, state, last_error, last_attempt_usec, delivered_usec, dead_usec"

static const char sql_notified_workers[] =
    "SELECT worker FROM notification WHERE alert_id = ?1"
    " AND kind != 'ack_notice' AND worker IS NOT NULL"
    " GROUP BY worker ORDER BY min(created_usec), min(rowid)";
static const char sql_notif_insert[] =
    "INSERT INTO notification (id, alert_id, worker, channel, step, round, priority,"
    " payload, state, attempts, created_usec, next_usec, kind)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', 0, ?9, ?10,"
    " coalesce(?11, 'alert'))";
/* The order is found on the index alone (notification_due covers it), then only
 * the rows taken are read: sorting whole rows (payloads) of a backlog of thousands
 * took tens of milliseconds per pass. */
static const char sql_notif_due[] = "SELECT " NOTIFICATION_COLUMNS " FROM notification"
                                    " WHERE rowid IN (SELECT rowid FROM notification"
                                    "  WHERE state = 'pending' AND next_usec <= ?1"
                                    "  ORDER BY priority, next_usec, created_usec LIMIT ?2)"
                                    " ORDER BY priority, next_usec, created_usec";
static const char sql_notif_state[] =
    "UPDATE notification SET state = ?2,"
    " attempts = CASE WHEN ?3 < 0 THEN attempts ELSE ?3 END, next_usec = ?4,"
    " last_error = ?5,"
    " delivered_usec = CASE WHEN ?2 = 'delivered' THEN ?6 END,"
    " last_attempt_usec = CASE WHEN ?2 = 'sending' THEN ?6 ELSE last_attempt_usec END,"
    " dead_usec = CASE WHEN ?2 = 'dead' THEN ?6 END"
    " WHERE id = ?1";
static const char sql_notif_next[] =
    "SELECT min(next_usec) FROM notification WHERE state = 'pending'";
static const char sql_notif_defer[] = "UPDATE notification SET next_usec = ?2 WHERE id = ?1";
static const char sql_notif_wake[] =
    "UPDATE notification SET next_usec = ?1 WHERE state = 'pending'"
    " AND last_error = ?2 AND next_usec > ?1";
static const char sql_notif_depth[] =
    "SELECT count(*) FROM notification WHERE state IN ('pending', 'sending')";

int sqlite_foreach_notified_worker(struct store *s, const char *alert_id, store_worker_cb cb,
                                   void *userdata)
{
        sqlite3_stmt *st = sqlite_stmt(s, STMT_NOTIFIED_WORKERS, sql_notified_workers);
        int rc, r = 0;

        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, alert_id);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                r = cb((const char *)sqlite3_column_text(st, 0), userdata);
                if (r < 0)
                        break;
        }
        if (r == 0 && rc != SQLITE_DONE)
                r = sqlite_err(s, rc, "reading recipients");
        sqlite3_reset(st);
        return r;
}

int sqlite_insert_notification(struct store *s, const struct store_notification *n)
{
        sqlite3_stmt *st = sqlite_stmt(s, STMT_NOTIF_INSERT, sql_notif_insert);
        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, n->id);
        sqlite_bind_text(st, 2, n->alert_id);
        sqlite_bind_text(st, 3, n->worker);
        sqlite_bind_text(st, 4, n->channel);
        sqlite_bind_text(st, 5, n->step);
        sqlite3_bind_int(st, 6, n->round);
        sqlite3_bind_int(st, 7, n->priority);
        sqlite_bind_text(st, 8, n->payload);
        sqlite3_bind_int64(st, 9, n->created_usec);
        sqlite3_bind_int64(st, 10, n->next_usec);
        sqlite_bind_text(st, 11, n->kind);
        return sqlite_step_done(s, st, "storing notification");
}

static enum notification_state notification_state_from_string(const char *v)
{
        for (int i = 0; i < _NOTIFICATION_STATE_MAX; i++)
                if (str_eq(v, notification_state_to_string((enum notification_state)i)))
                        return (enum notification_state)i;
        return NOTIFICATION_PENDING;
}

static void notification_read(sqlite3_stmt *st, struct store_notification *n)
{
        *n = (struct store_notification){
                .id = sqlite_text(st, 0),
                .alert_id = sqlite_text(st, 1),
                .worker = sqlite_text(st, 2),
                .channel = sqlite_text(st, 3),
                .step = sqlite_text(st, 4),
                .round = sqlite3_column_int(st, 5),
                .kind = sqlite_text(st, 6),
                .priority = sqlite3_column_int(st, 7),
                .payload = sqlite_text(st, 8),
                .created_usec = sqlite3_column_int64(st, 9),
                .next_usec = sqlite3_column_int64(st, 10),
                .attempts = sqlite3_column_int(st, 11),
                .state = notification_state_from_string(sqlite_text(st, 12)),
                .last_error = sqlite_text(st, 13),
                .last_attempt_usec = sqlite3_column_int64(st, 14),
                .delivered_usec = sqlite3_column_int64(st, 15),
                .dead_usec = sqlite3_column_int64(st, 16),
        };
}

int sqlite_foreach_due_notification(struct store *s, int64_t now_usec, size_t max,
                                    store_notification_cb cb, void *userdata)
{
        sqlite3_stmt *st = sqlite_stmt(s, STMT_NOTIF_DUE, sql_notif_due);
        int rc, r = 0;

        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 1, now_usec);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                struct store_notification n;
                notification_read(st, &n);
                r = cb(&n, userdata);
                if (r < 0)
                        break;
        }
        if (r == 0 && rc != SQLITE_DONE)
                r = sqlite_err(s, rc, "reading outbox");
        sqlite3_reset(st);
        return r;
}

static int notification_row(sqlite3_stmt *st, void *userdata)
{
        struct sqlite_cb *c = userdata;
        struct store_notification n;

        notification_read(st, &n);
        return ((store_notification_cb)c->fn)(&n, c->userdata);
}

int sqlite_list_notifications(struct store *s, const struct store_notification_filter *f,
                              store_notification_cb cb, void *userdata)
{
        static const struct store_notification_filter all = { 0 };
        const char *states[_NOTIFICATION_STATE_MAX];
        char buf[512];
        struct sbuf q;
        sqlite3_stmt *st;
        int r;

        if (!f)
                f = &all;
        for (int i = 0; i < _NOTIFICATION_STATE_MAX; i++)
                states[i] = notification_state_to_string((enum notification_state)i);
        sbuf_init(&q, buf, sizeof(buf));
        sbuf_puts(&q, "SELECT " NOTIFICATION_COLUMNS " FROM notification WHERE 1");
        if (f->alert_id)
                sbuf_puts(&q, " AND alert_id = ?1");
        sqlite_where_in(&q, "state", f->states, states, _NOTIFICATION_STATE_MAX);
        sbuf_puts(&q, f->newest_first ? " ORDER BY created_usec DESC, id DESC"
                                      : " ORDER BY created_usec, id");
        if (f->limit)
                sbuf_printf(&q, " LIMIT %zu", f->limit);
        st = sqlite_prepare_built(s, &q, "reading notifications");
        if (!st)
                return -EIO;
        if (f->alert_id)
                sqlite_bind_text(st, 1, f->alert_id);
        r = sqlite_each(s, st, notification_row,
                        &(struct sqlite_cb){ (void (*)(void))cb, userdata },
                        "reading notifications");
        return r < 0 ? r : 0;
}

int sqlite_set_notification_state(struct store *s, const char *id, enum notification_state nst,
                                  int attempts, int64_t next_usec, const char *error,
                                  int64_t now_usec)
{
        sqlite3_stmt *st = sqlite_stmt(s, STMT_NOTIF_STATE, sql_notif_state);
        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, id);
        sqlite_bind_text(st, 2, notification_state_to_string(nst));
        sqlite3_bind_int(st, 3, attempts);
        sqlite3_bind_int64(st, 4, next_usec);
        sqlite_bind_text(st, 5, error);
        sqlite3_bind_int64(st, 6, now_usec);
        return sqlite_step_done(s, st, "updating notification");
}

int64_t sqlite_next_notification_usec(struct store *s)
{
        sqlite3_stmt *st = sqlite_stmt(s, STMT_NOTIF_NEXT, sql_notif_next);
        int64_t v = INT64_MAX;
        if (!st)
                return INT64_MAX;
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
                v = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return v;
}

int sqlite_defer_notification(struct store *s, const char *id, int64_t next_usec)
{
        sqlite3_stmt *st = sqlite_stmt(s, STMT_NOTIF_DEFER, sql_notif_defer);
        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, id);
        sqlite3_bind_int64(st, 2, next_usec);
        return sqlite_step_done(s, st, "deferring notification");
}

int sqlite_wake_notifications(struct store *s, const char *waiting_for, int64_t now_usec)
{
        sqlite3_stmt *st = sqlite_stmt(s, STMT_NOTIF_WAKE, sql_notif_wake);
        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 1, now_usec);
        sqlite_bind_text(st, 2, waiting_for);
        return sqlite_step_done(s, st, "waking the outbox");
}

int sqlite_requeue_sending(struct store *s)
{
        return sqlite_exec(s, "UPDATE notification SET state = 'pending' WHERE state = 'sending'");
}

int64_t sqlite_outbox_depth(struct store *s)
{
        sqlite3_stmt *st = sqlite_stmt(s, STMT_NOTIF_DEPTH, sql_notif_depth);
        int64_t v = 0;
        if (!st)
                return -EIO;
        if (sqlite3_step(st) == SQLITE_ROW)
                v = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return v;
}

int64_t sqlite_oldest_undelivered_usec(struct store *s)
{
        int64_t v;
        if (sqlite_query_int64(s,
                               "SELECT min(created_usec) FROM notification"
                               " WHERE state IN ('pending', 'sending')",
                               NULL, INT64_MAX, &v) < 0)
                return INT64_MAX;
        return v;
}

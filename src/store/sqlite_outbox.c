/* sqlite_outbox.c: the notification outbox in SQLite: rows written with the alert that
 * caused them, dispatched in order of priority and due time, their delivery recorded. */
#include "sqlite.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "util.h"

int store_foreach_notified_worker(struct store *s, const char *alert_id, store_worker_cb cb,
                                  void *userdata)
{
        sqlite3_stmt *st = stmt(s, STMT_NOTIFIED_WORKERS);
        int rc, r = 0;

        if (!st)
                return -EIO;
        bind_text(st, 1, alert_id);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                r = cb((const char *)sqlite3_column_text(st, 0), userdata);
                if (r < 0)
                        break;
        }
        if (r == 0 && rc != SQLITE_DONE)
                r = sql_err(s, rc, "reading recipients");
        sqlite3_reset(st);
        return r;
}

int store_insert_notification(struct store *s, const struct store_notification *n)
{
        sqlite3_stmt *st = stmt(s, STMT_NOTIF_INSERT);
        if (!st)
                return -EIO;
        bind_text(st, 1, n->id);
        bind_text(st, 2, n->alert_id);
        bind_text(st, 3, n->worker);
        bind_text(st, 4, n->channel);
        bind_text(st, 5, n->step);
        sqlite3_bind_int(st, 6, n->round);
        sqlite3_bind_int(st, 7, n->priority);
        bind_text(st, 8, n->payload);
        sqlite3_bind_int64(st, 9, n->created_usec);
        sqlite3_bind_int64(st, 10, n->next_usec);
        bind_text(st, 11, n->kind);
        return step_done(s, st, "storing notification");
}

int store_foreach_due_notification(struct store *s, int64_t now_usec, size_t max,
                                   store_notification_cb cb, void *userdata)
{
        sqlite3_stmt *st = stmt(s, STMT_NOTIF_DUE);
        int rc, r = 0;

        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 1, now_usec);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                struct store_notification n = {
                        .id = (const char *)sqlite3_column_text(st, 0),
                        .alert_id = (const char *)sqlite3_column_text(st, 1),
                        .worker = (const char *)sqlite3_column_text(st, 2),
                        .channel = (const char *)sqlite3_column_text(st, 3),
                        .step = (const char *)sqlite3_column_text(st, 4),
                        .round = sqlite3_column_int(st, 5),
                        .priority = sqlite3_column_int(st, 6),
                        .payload = (const char *)sqlite3_column_text(st, 7),
                        .created_usec = sqlite3_column_int64(st, 8),
                        .next_usec = sqlite3_column_int64(st, 9),
                        .attempts = sqlite3_column_int(st, 10),
                };
                r = cb(&n, userdata);
                if (r < 0)
                        break;
        }
        if (r == 0 && rc != SQLITE_DONE)
                r = sql_err(s, rc, "reading outbox");
        sqlite3_reset(st);
        return r;
}

static const char *notification_state_name(enum notification_state st)
{
        static const char *const names[] = { "pending", "sending", "delivered", "dead" };
        return names[st];
}

int store_set_notification_state(struct store *s, const char *id, enum notification_state nst,
                                 int attempts, int64_t next_usec, const char *error,
                                 int64_t now_usec)
{
        sqlite3_stmt *st = stmt(s, STMT_NOTIF_STATE);
        if (!st)
                return -EIO;
        bind_text(st, 1, id);
        bind_text(st, 2, notification_state_name(nst));
        sqlite3_bind_int(st, 3, attempts);
        sqlite3_bind_int64(st, 4, next_usec);
        bind_text(st, 5, error);
        sqlite3_bind_int64(st, 6, now_usec);
        return step_done(s, st, "updating notification");
}

int64_t store_next_notification_usec(struct store *s)
{
        sqlite3_stmt *st = stmt(s, STMT_NOTIF_NEXT);
        int64_t v = INT64_MAX;
        if (!st)
                return INT64_MAX;
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
                v = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return v;
}

int store_defer_notification(struct store *s, const char *id, int64_t next_usec)
{
        sqlite3_stmt *st = stmt(s, STMT_NOTIF_DEFER);
        if (!st)
                return -EIO;
        bind_text(st, 1, id);
        sqlite3_bind_int64(st, 2, next_usec);
        return step_done(s, st, "deferring notification");
}

int store_wake_notifications(struct store *s, const char *waiting_for, int64_t now_usec)
{
        sqlite3_stmt *st = stmt(s, STMT_NOTIF_WAKE);
        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 1, now_usec);
        bind_text(st, 2, waiting_for);
        return step_done(s, st, "waking the outbox");
}

int store_requeue_sending(struct store *s)
{
        return exec_sql(s, "UPDATE notification SET state = 'pending' WHERE state = 'sending'");
}

int64_t store_outbox_depth(struct store *s)
{
        sqlite3_stmt *st = stmt(s, STMT_NOTIF_DEPTH);
        int64_t v = 0;
        if (!st)
                return -EIO;
        if (sqlite3_step(st) == SQLITE_ROW)
                v = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return v;
}

int64_t store_oldest_undelivered_usec(struct store *s)
{
        int64_t v;
        if (query_int64(s,
                        "SELECT min(created_usec) FROM notification"
                        " WHERE state IN ('pending', 'sending')",
                        NULL, INT64_MAX, &v) < 0)
                return INT64_MAX;
        return v;
}

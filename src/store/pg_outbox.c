/* pg_outbox.c: the notification outbox in PostgreSQL: rows written with the alert that
 * caused them (queued writes), dispatched in order of priority and due time from the
 * notification_due index, their delivery recorded. */
#include "pg.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "util.h"

/* The one column list of a notification, read by notification_read(). */
#define NOTIFICATION_COLUMNS                                                                       \
        "id, alert_id, worker, channel, step, round, kind, priority, payload, created_usec,"       \
        " next_usec, attempts, state, last_error, last_attempt_usec, delivered_usec, dead_usec"

static const char sql_notified_workers[] = "SELECT worker FROM notification WHERE alert_id = $1"
                                           " AND kind != 'ack_notice' AND worker IS NOT NULL"
                                           " GROUP BY worker ORDER BY min(created_usec), min(seq)";
static const char sql_notif_insert[] =
    "INSERT INTO notification (id, alert_id, worker, channel, step, round, priority,"
    " payload, state, attempts, created_usec, next_usec, kind)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, $9, $10,"
    " coalesce($11, 'alert'))";
static const char sql_notif_due[] = "SELECT " NOTIFICATION_COLUMNS " FROM notification"
                                    " WHERE state = 'pending' AND next_usec <= $1"
                                    " ORDER BY priority, next_usec, created_usec LIMIT $2";
static const char sql_notif_state[] =
    "UPDATE notification SET state = $2,"
    " attempts = CASE WHEN $3::int < 0 THEN attempts ELSE $3::int END, next_usec = $4,"
    " last_error = $5,"
    " delivered_usec = CASE WHEN $2 = 'delivered' THEN $6::bigint END,"
    " last_attempt_usec = CASE WHEN $2 = 'sending' THEN $6::bigint ELSE last_attempt_usec END,"
    " dead_usec = CASE WHEN $2 = 'dead' THEN $6::bigint END"
    " WHERE id = $1";
static const char sql_notif_next[] =
    "SELECT min(next_usec) FROM notification WHERE state = 'pending'";
static const char sql_notif_defer[] = "UPDATE notification SET next_usec = $2 WHERE id = $1";
static const char sql_notif_wake[] =
    "UPDATE notification SET next_usec = $1 WHERE state = 'pending'"
    " AND last_error = $2 AND next_usec > $1";
static const char sql_notif_depth[] =
    "SELECT count(*) FROM notification WHERE state IN ('pending', 'sending')";

int pg_foreach_notified_worker(struct store *s, const char *alert_id, store_worker_cb cb,
                               void *userdata)
{
        struct pg_params p = { .n = 0 };
        PGresult *res;
        int r = 0;

        pg_p_text(&p, alert_id);
        res = pg_query(s, PG_NOTIFIED_WORKERS, sql_notified_workers, &p, "reading recipients", &r);
        if (!res)
                return r;
        for (int i = 0; i < PQntuples(res) && r >= 0; i++)
                r = cb(pg_get_text(res, i, 0), userdata);
        PQclear(res);
        return r < 0 ? r : 0;
}

int pg_insert_notification(struct store *s, const struct store_notification *n)
{
        struct pg_params p = { .n = 0 };

        pg_p_text(&p, n->id);
        pg_p_text(&p, n->alert_id);
        pg_p_text(&p, n->worker);
        pg_p_text(&p, n->channel);
        pg_p_text(&p, n->step);
        pg_p_int(&p, n->round);
        pg_p_int(&p, n->priority);
        pg_p_text(&p, n->payload);
        pg_p_int(&p, n->created_usec);
        pg_p_int(&p, n->next_usec);
        pg_p_text(&p, n->kind);
        return pg_send(s, PG_NOTIF_INSERT, sql_notif_insert, &p, "storing notification");
}

static enum notification_state notification_state_from_string(const char *v)
{
        for (int i = 0; i < _NOTIFICATION_STATE_MAX; i++)
                if (str_eq(v, notification_state_to_string((enum notification_state)i)))
                        return (enum notification_state)i;
        return NOTIFICATION_PENDING;
}

static int notification_row(const PGresult *res, int i, void *userdata)
{
        struct pg_cb *c = userdata;
        struct store_notification n = {
                .id = pg_get_text(res, i, 0),
                .alert_id = pg_get_text(res, i, 1),
                .worker = pg_get_text(res, i, 2),
                .channel = pg_get_text(res, i, 3),
                .step = pg_get_text(res, i, 4),
                .round = (int)pg_get_int64(res, i, 5),
                .kind = pg_get_text(res, i, 6),
                .priority = (int)pg_get_int64(res, i, 7),
                .payload = pg_get_text(res, i, 8),
                .created_usec = pg_get_int64(res, i, 9),
                .next_usec = pg_get_int64(res, i, 10),
                .attempts = (int)pg_get_int64(res, i, 11),
                .state = notification_state_from_string(pg_get_text(res, i, 12)),
                .last_error = pg_get_text(res, i, 13),
                .last_attempt_usec = pg_get_int64(res, i, 14),
                .delivered_usec = pg_get_int64(res, i, 15),
                .dead_usec = pg_get_int64(res, i, 16),
        };
        return ((store_notification_cb)c->fn)(&n, c->userdata);
}

int pg_foreach_due_notification(struct store *s, int64_t now_usec, size_t max,
                                store_notification_cb cb, void *userdata)
{
        struct pg_params p = { .n = 0 };
        PGresult *res;
        int r;

        pg_p_int(&p, now_usec);
        pg_p_int(&p, (int64_t)max);
        res = pg_query(s, PG_NOTIF_DUE, sql_notif_due, &p, "reading outbox", &r);
        if (!res)
                return r;
        r = pg_each(res, notification_row, &(struct pg_cb){ (void (*)(void))cb, userdata });
        return r < 0 ? r : 0;
}

int pg_list_notifications(struct store *s, const struct store_notification_filter *f,
                          store_notification_cb cb, void *userdata)
{
        static const struct store_notification_filter all = { 0 };
        const char *states[_NOTIFICATION_STATE_MAX];
        struct pg_params p = { .n = 0 };
        char buf[512];
        struct sbuf q;
        PGresult *res = NULL;
        int r;

        if (!f)
                f = &all;
        for (int i = 0; i < _NOTIFICATION_STATE_MAX; i++)
                states[i] = notification_state_to_string((enum notification_state)i);
        sbuf_init(&q, buf, sizeof(buf));
        sbuf_puts(&q, "SELECT " NOTIFICATION_COLUMNS " FROM notification WHERE true");
        if (f->alert_id) {
                pg_p_text(&p, f->alert_id);
                sbuf_puts(&q, " AND alert_id = $1");
        }
        pg_where_in(&q, "state", f->states, states, _NOTIFICATION_STATE_MAX);
        sbuf_puts(&q, f->newest_first ? " ORDER BY created_usec DESC, id COLLATE \"C\" DESC"
                                      : " ORDER BY created_usec, id COLLATE \"C\"");
        if (f->limit)
                sbuf_printf(&q, " LIMIT %zu", f->limit);
        if (sbuf_text(&q))
                res = pg_query(s, PG_UNNAMED, sbuf_text(&q), &p, "reading notifications", &r);
        else {
                log_err("database: reading notifications: the statement could not be built");
                r = -EIO;
        }
        sbuf_done(&q);
        if (!res)
                return r;
        r = pg_each(res, notification_row, &(struct pg_cb){ (void (*)(void))cb, userdata });
        return r < 0 ? r : 0;
}

int pg_set_notification_state(struct store *s, const char *id, enum notification_state nst,
                              int attempts, int64_t next_usec, const char *error, int64_t now_usec)
{
        struct pg_params p = { .n = 0 };

        pg_p_text(&p, id);
        pg_p_text(&p, notification_state_to_string(nst));
        pg_p_int(&p, attempts);
        pg_p_int(&p, next_usec);
        pg_p_text(&p, error);
        pg_p_int(&p, now_usec);
        return pg_send(s, PG_NOTIF_STATE, sql_notif_state, &p, "updating notification");
}

static int64_t query_int64(struct store *s, int which, const char *sql, int64_t dflt,
                           const char *what)
{
        int64_t v;
        int r = pg_query_int64(s, which, sql, NULL, dflt, what, &v);
        return r < 0 ? r : v;
}

int64_t pg_next_notification_usec(struct store *s)
{
        int64_t v = query_int64(s, PG_NOTIF_NEXT, sql_notif_next, INT64_MAX, "reading outbox");
        return v < 0 ? INT64_MAX : v;
}

int pg_defer_notification(struct store *s, const char *id, int64_t next_usec)
{
        struct pg_params p = { .n = 0 };

        pg_p_text(&p, id);
        pg_p_int(&p, next_usec);
        return pg_send(s, PG_NOTIF_DEFER, sql_notif_defer, &p, "deferring notification");
}

int pg_wake_notifications(struct store *s, const char *waiting_for, int64_t now_usec)
{
        struct pg_params p = { .n = 0 };

        pg_p_int(&p, now_usec);
        pg_p_text(&p, waiting_for);
        return pg_send(s, PG_NOTIF_WAKE, sql_notif_wake, &p, "waking the outbox");
}

int pg_requeue_sending(struct store *s)
{
        int r = pg_command(s, PG_UNNAMED,
                           "UPDATE notification SET state = 'pending' WHERE state = 'sending'",
                           NULL, "requeueing notifications");
        return r < 0 ? r : 0;
}

int64_t pg_outbox_depth(struct store *s)
{
        int64_t v = query_int64(s, PG_NOTIF_DEPTH, sql_notif_depth, 0, "reading outbox depth");
        return v < 0 ? -EIO : v;
}

int64_t pg_oldest_undelivered_usec(struct store *s)
{
        int64_t v = query_int64(s, PG_UNNAMED,
                                "SELECT min(created_usec) FROM notification"
                                " WHERE state IN ('pending', 'sending')",
                                INT64_MAX, "reading outbox");
        return v < 0 ? INT64_MAX : v;
}

/* pg_alerts.c: alerts and the actions recorded about them (ack, resolve, commands) in
 * PostgreSQL. Every reader of an alert gets the same record through one column list
 * (ALERT_COLUMNS). Inserts and updates of the event path and the escalation are queued
 * (pg_send()); an ack or resolve waits, since its caller needs to know whether a row
 * changed. Ids order as bytes (COLLATE "C"), as in SQLite, whatever the database's
 * collation. */
#include "pg.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "util.h"

static const char sql_alert_insert[] =
    "INSERT INTO alert (id, household, community, device, kind, severity, state,"
    " reason, count, event_uid, event_ts, raised_usec, last_event_usec, step, round,"
    " next_usec, event_usec) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
    " $13, $14, $15, $16, $13)";
static const char sql_alert_update[] =
    "UPDATE alert SET severity = $2, state = $3, count = $4,"
    " last_event_usec = $5, step = $6, round = $7, next_usec = $8,"
    " kind = $9, reminders = $10 WHERE id = $1";
static const char sql_action_insert[] =
    "INSERT INTO action (kind, actor, channel, target, usec, detail)"
    " VALUES ($1, $2, $3, $4, $5, $6)";
static const char sql_alert_ack[] =
    "UPDATE alert SET state = 'acked', acked_by = $2, ack_channel = $3,"
    " acked_usec = $4, next_usec = NULL WHERE id = $1 AND state = 'open'";
static const char sql_alert_resolve[] = "UPDATE alert SET state = 'resolved', resolved_by = $2,"
                                        " resolve_channel = $3, resolved_usec = $4, note = $5,"
                                        " next_usec = NULL WHERE id = $1 AND state != 'resolved'";
static const char sql_alert_reason[] = "UPDATE alert SET reason = $2 WHERE id = $1";

int pg_insert_alert(struct store *s, const struct alert *a, const char *community,
                    const char *reason)
{
        struct pg_params p = { .n = 0 };

        pg_p_text(&p, a->id);
        pg_p_text(&p, a->household ? a->household->id : NULL);
        pg_p_text(&p, community);
        pg_p_text(&p, a->device_id);
        pg_p_text(&p, alert_kind_to_string(a->kind));
        pg_p_text(&p, severity_to_string(a->severity));
        pg_p_text(&p, alert_state_to_string(a->state));
        pg_p_text(&p, reason);
        pg_p_int(&p, a->count);
        pg_p_text(&p, a->event_uid[0] ? a->event_uid : NULL);
        if (a->event_ts > 0)
                pg_p_double(&p, a->event_ts);
        else
                pg_p_null(&p);
        pg_p_int(&p, a->raised_usec);
        pg_p_int(&p, a->last_event_usec);
        pg_p_int(&p, a->step_index);
        pg_p_int(&p, a->round);
        pg_p_usec(&p, a->next_usec);
        return pg_send(s, PG_ALERT_INSERT, sql_alert_insert, &p, "storing alert");
}

int pg_update_alert(struct store *s, const struct alert *a)
{
        struct pg_params p = { .n = 0 };

        pg_p_text(&p, a->id);
        pg_p_text(&p, severity_to_string(a->severity));
        pg_p_text(&p, alert_state_to_string(a->state));
        pg_p_int(&p, a->count);
        pg_p_int(&p, a->last_event_usec);
        pg_p_int(&p, a->step_index);
        pg_p_int(&p, a->round);
        pg_p_usec(&p, a->next_usec);
        pg_p_text(&p, alert_kind_to_string(a->kind));
        pg_p_int(&p, a->reminders);
        return pg_send(s, PG_ALERT_UPDATE, sql_alert_update, &p, "updating alert");
}

int pg_insert_action(struct store *s, const char *kind, const char *actor, const char *channel,
                     const char *target, int64_t usec, const char *detail)
{
        struct pg_params p = { .n = 0 };

        pg_p_text(&p, kind);
        pg_p_text(&p, actor);
        pg_p_text(&p, channel);
        pg_p_text(&p, target);
        pg_p_int(&p, usec);
        pg_p_text(&p, detail);
        return pg_send(s, PG_ACTION_INSERT, sql_action_insert, &p, "storing action");
}

static int action_row(const PGresult *res, int i, void *userdata)
{
        struct pg_cb *c = userdata;
        struct store_action a = {
                .id = pg_get_int64(res, i, 0),
                .kind = pg_get_text(res, i, 1),
                .actor = pg_get_text(res, i, 2),
                .channel = pg_get_text(res, i, 3),
                .target = pg_get_text(res, i, 4),
                .usec = pg_get_int64(res, i, 5),
                .detail = pg_get_text(res, i, 6),
        };
        return ((store_action_cb)c->fn)(&a, c->userdata);
}

int pg_list_actions(struct store *s, const char *target, store_action_cb cb, void *userdata)
{
        struct pg_params p = { .n = 0 };
        PGresult *res;
        int r;

        pg_p_text(&p, target);
        res = pg_query(s, PG_UNNAMED,
                       "SELECT id, kind, actor, channel, target, usec, detail"
                       " FROM action WHERE target = $1 ORDER BY usec, id",
                       &p, "reading actions", &r);
        if (!res)
                return r;
        r = pg_each(res, action_row, &(struct pg_cb){ (void (*)(void))cb, userdata });
        return r < 0 ? r : 0;
}

int pg_set_alert_acked(struct store *s, const char *alert_id, const char *worker,
                       const char *channel, int64_t usec)
{
        struct pg_params p = { .n = 0 };
        int r;

        pg_p_text(&p, alert_id);
        pg_p_text(&p, worker);
        pg_p_text(&p, channel);
        pg_p_int(&p, usec);
        r = pg_command(s, PG_ALERT_ACK, sql_alert_ack, &p, "acknowledging alert");
        return r < 0 ? r : r > 0 ? 0 : STORE_E_NOT_FOUND;
}

int pg_set_alert_resolved(struct store *s, const char *alert_id, const char *worker,
                          const char *channel, int64_t usec, const char *note)
{
        struct pg_params p = { .n = 0 };
        int r;

        pg_p_text(&p, alert_id);
        pg_p_text(&p, worker);
        pg_p_text(&p, channel);
        pg_p_int(&p, usec);
        pg_p_text(&p, note);
        r = pg_command(s, PG_ALERT_RESOLVE, sql_alert_resolve, &p, "resolving alert");
        return r < 0 ? r : r > 0 ? 0 : STORE_E_NOT_FOUND;
}

/* The one column list of an alert, read by alert_row(). */
#define ALERT_COLUMNS                                                                              \
        "id, household, community, device, kind, severity, state, reason, count, event_uid,"       \
        " event_ts, raised_usec, last_event_usec, step, round, next_usec, reminders, acked_by,"    \
        " ack_channel, acked_usec, resolved_by, resolve_channel, resolved_usec, note"

static int alert_row(const PGresult *res, int i, void *userdata)
{
        struct pg_cb *c = userdata;
        struct store_alert_row row = {
                .id = pg_get_text(res, i, 0),
                .household = pg_get_text(res, i, 1),
                .community = pg_get_text(res, i, 2),
                .device = pg_get_text(res, i, 3),
                .kind = pg_get_text(res, i, 4),
                .severity = pg_get_text(res, i, 5),
                .state = pg_get_text(res, i, 6),
                .reason = pg_get_text(res, i, 7),
                .count = (int)pg_get_int64(res, i, 8),
                .event_uid = pg_get_text(res, i, 9),
                .event_ts = pg_get_double(res, i, 10),
                .raised_usec = pg_get_int64(res, i, 11),
                .last_event_usec = pg_get_int64(res, i, 12),
                .step = (int)pg_get_int64(res, i, 13),
                .round = (int)pg_get_int64(res, i, 14),
                .next_usec = pg_get_int64(res, i, 15),
                .reminders = (int)pg_get_int64(res, i, 16),
                .acked_by = pg_get_text(res, i, 17),
                .ack_channel = pg_get_text(res, i, 18),
                .acked_usec = pg_get_int64(res, i, 19),
                .resolved_by = pg_get_text(res, i, 20),
                .resolve_channel = pg_get_text(res, i, 21),
                .resolved_usec = pg_get_int64(res, i, 22),
                .note = pg_get_text(res, i, 23),
        };
        return ((store_alert_cb)c->fn)(&row, c->userdata);
}

int pg_list_alerts(struct store *s, const struct store_alert_filter *f, store_alert_cb cb,
                   void *userdata)
{
        static const struct store_alert_filter all = { 0 };
        const char *states[_ALERT_STATE_MAX];
        struct pg_params p = { .n = 0 };
        char buf[512];
        struct sbuf q;
        PGresult *res = NULL;
        int r;

        if (!f)
                f = &all;
        for (int i = 0; i < _ALERT_STATE_MAX; i++)
                states[i] = alert_state_to_string((enum alert_state)i);
        sbuf_init(&q, buf, sizeof(buf));
        sbuf_puts(&q, "SELECT " ALERT_COLUMNS " FROM alert WHERE true");
        pg_where_in(&q, "state", f->states, states, _ALERT_STATE_MAX);
        if (f->community) {
                pg_p_text(&p, f->community);
                sbuf_printf(&q, " AND community = $%d", p.n);
        }
        if (f->household) {
                pg_p_text(&p, f->household);
                sbuf_printf(&q, " AND household = $%d", p.n);
        }
        if (f->kind) {
                pg_p_text(&p, f->kind);
                sbuf_printf(&q, " AND kind = $%d", p.n);
        }
        if (f->from_usec) {
                pg_p_int(&p, f->from_usec);
                sbuf_printf(&q, " AND event_usec >= $%d", p.n);
        }
        if (f->to_usec) {
                pg_p_int(&p, f->to_usec);
                sbuf_printf(&q, " AND event_usec < $%d", p.n);
        }
        sbuf_puts(&q, f->newest_first ? " ORDER BY raised_usec DESC, id COLLATE \"C\" DESC"
                                      : " ORDER BY raised_usec, id COLLATE \"C\"");
        if (f->limit)
                sbuf_printf(&q, " LIMIT %zu", f->limit);
        if (sbuf_text(&q))
                res = pg_query(s, PG_UNNAMED, sbuf_text(&q), &p, "reading alerts", &r);
        else {
                log_err("database: reading alerts: the statement could not be built");
                r = -EIO;
        }
        sbuf_done(&q);
        if (!res)
                return r;
        r = pg_each(res, alert_row, &(struct pg_cb){ (void (*)(void))cb, userdata });
        return r < 0 ? r : 0;
}

int pg_get_alert(struct store *s, const char *alert_id, store_alert_cb cb, void *userdata)
{
        struct pg_params p = { .n = 0 };
        PGresult *res;
        int r;

        pg_p_text(&p, alert_id);
        res = pg_query(s, PG_UNNAMED, "SELECT " ALERT_COLUMNS " FROM alert WHERE id = $1", &p,
                       "looking up alert", &r);
        if (!res)
                return r;
        r = pg_each(res, alert_row, &(struct pg_cb){ (void (*)(void))cb, userdata });
        return r < 0 ? r : r == 0 ? STORE_E_NOT_FOUND : 0;
}

int pg_count_live_alerts(struct store *s, struct store_alert_counts *ret)
{
        PGresult *res;
        int r;

        memset(ret, 0, sizeof(*ret));
        res = pg_query(s, PG_UNNAMED,
                       "SELECT kind, state, count(*) FROM alert"
                       " WHERE state IN ('open', 'acked') GROUP BY kind, state",
                       NULL, "counting alerts", &r);
        if (!res)
                return r;
        for (int i = 0; i < PQntuples(res); i++) {
                enum alert_kind k = alert_kind_from_string(pg_get_text(res, i, 0));
                if (k >= 0 && k < _ALERT_KIND_MAX)
                        *(str_eq(pg_get_text(res, i, 1), "acked") ? &ret->acked[k]
                                                                  : &ret->open[k]) =
                            pg_get_int64(res, i, 2);
        }
        PQclear(res);
        return 0;
}

int pg_foreach_alert_raised(struct store *s, const char *kind, int64_t since_usec,
                            store_device_usec_cb cb, void *userdata)
{
        struct pg_params p = { .n = 0 };
        PGresult *res;
        int r;

        pg_p_text(&p, kind);
        pg_p_int(&p, since_usec);
        res = pg_query(s, PG_UNNAMED,
                       "SELECT device, max(raised_usec) FROM alert"
                       " WHERE kind = $1 AND raised_usec >= $2 AND device IS NOT NULL"
                       " GROUP BY device",
                       &p, "reading device alerts", &r);
        if (!res)
                return r;
        return pg_foreach_device_usec(res, cb, userdata);
}

int pg_alert_household(struct store *s, const char *alert_id, char *buf, size_t size)
{
        struct pg_params p = { .n = 0 };
        PGresult *res;
        int r = STORE_E_NOT_FOUND;

        pg_p_text(&p, alert_id);
        res = pg_query(s, PG_UNNAMED, "SELECT household FROM alert WHERE id = $1", &p,
                       "looking up alert", &r);
        if (!res)
                return r;
        r = STORE_E_NOT_FOUND;
        if (PQntuples(res) > 0 && !pg_get_isnull(res, 0, 0)) {
                snprintf(buf, size, "%s", pg_get_text(res, 0, 0));
                r = 0;
        }
        PQclear(res);
        return r;
}

int pg_foreach_household_with_alert(struct store *s, const char *kind, store_household_cb cb,
                                    void *userdata)
{
        struct pg_params p = { .n = 0 };
        PGresult *res;
        int r = 0;

        pg_p_text(&p, kind);
        res = pg_query(s, PG_UNNAMED,
                       "SELECT DISTINCT household FROM alert WHERE kind = $1"
                       " AND household IS NOT NULL",
                       &p, "loading alerts", &r);
        if (!res)
                return r;
        for (int i = 0; i < PQntuples(res) && r >= 0; i++)
                r = cb(pg_get_text(res, i, 0), userdata);
        PQclear(res);
        return r < 0 ? r : 0;
}

int pg_set_alert_reason(struct store *s, const char *alert_id, const char *reason)
{
        struct pg_params p = { .n = 0 };

        pg_p_text(&p, alert_id);
        pg_p_text(&p, reason);
        return pg_send(s, PG_ALERT_REASON, sql_alert_reason, &p, "updating alert");
}

/* pg_events.c: device events in PostgreSQL: the event path's writes (one row per event,
 * (device, uid) unique so a redelivery is recognised; a held opening's verdict once it
 * settles, policy.chatter_settle), the signs of life read at start, and
 * the reads of events: one by id, an alert's, a household's timeline, counts for the bench.
 * Reads go through one column list (EVENT_COLUMNS); the payload is stored (BYTEA, as the
 * device sent it), never read back.
 *
 * The event path costs one round trip per event: the duplicate check waits, the insert is
 * queued and travels with the next statement that waits (the next event's check, or the
 * COMMIT). The engine checks for a duplicate before it inserts, inside the same
 * transaction of the only writer, so the insert's ON CONFLICT is a safety net whose
 * outcome nobody waits for; its failure fails the transaction at its next wait. */
#include "pg.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "util.h"

static const char sql_event_exists[] = "SELECT 1 FROM event WHERE device = $1 AND uid = $2";
static const char sql_event_insert[] =
    "INSERT INTO event (device, household, source, uid, type, state, ts, recv_usec,"
    " event_usec, retained, verdict, reason, alert_id, payload, rule, time_basis)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
    " ON CONFLICT (device, uid) DO NOTHING";
/* The opening's first row at its time (a later repeat at the same time is not it);
 * event_household (household, event_usec) finds it. */
static const char sql_opening_settle[] =
    "UPDATE event SET verdict = $3, reason = $4, alert_id = $5, rule = $6 WHERE id = ("
    " SELECT id FROM event WHERE household = $1 AND event_usec = $2 AND type = 'door'"
    " AND state = 'open' ORDER BY id LIMIT 1)";
/* event_household (household, event_usec) bounds the scan to the recent events. */
static const char sql_device_seen[] = "SELECT device, max(recv_usec) FROM event"
                                      " WHERE household = $1 AND event_usec >= $2"
                                      " AND NOT retained GROUP BY device";

int pg_event_exists(struct store *s, const char *device, const char *uid)
{
        struct pg_params p = { .n = 0 };
        PGresult *res;
        int r;

        pg_p_text(&p, device);
        pg_p_text(&p, uid);
        res = pg_query(s, PG_EVENT_EXISTS, sql_event_exists, &p, "looking up event", &r);
        if (!res)
                return r;
        r = PQntuples(res) > 0;
        PQclear(res);
        return r;
}

static void event_params(struct pg_params *p, const struct store_event *e)
{
        pg_p_text(p, e->device);
        pg_p_text(p, e->household);
        pg_p_text(p, e->source);
        pg_p_text(p, e->uid);
        pg_p_text(p, e->type);
        pg_p_text(p, e->state);
        if (e->has_ts)
                pg_p_double(p, e->ts);
        else
                pg_p_null(p);
        pg_p_int(p, e->recv_usec);
        pg_p_int(p, e->event_usec);
        pg_p_bool(p, e->retained);
        pg_p_text(p, e->verdict);
        pg_p_text(p, e->reason);
        pg_p_text(p, e->alert_id);
        if (e->payload)
                pg_p_bytes(p, e->payload, e->payload_len);
        else
                pg_p_null(p);
        pg_p_text(p, e->rule);
        pg_p_text(p, e->time_basis);
}

int pg_insert_event(struct store *s, const struct store_event *e, int64_t *ret_rowid)
{
        struct pg_params p = { .n = 0 };
        PGresult *res;
        int r;

        event_params(&p, e);
        if (!ret_rowid)
                return pg_send(s, PG_EVENT_INSERT, sql_event_insert, &p, "storing event");
        /* Someone wants the id: wait for it (not the event path). */
        res = pg_query(s, PG_UNNAMED,
                       "INSERT INTO event (device, household, source, uid, type, state, ts,"
                       " recv_usec, event_usec, retained, verdict, reason, alert_id, payload,"
                       " rule, time_basis) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
                       " $11, $12, $13, $14, $15, $16)"
                       " ON CONFLICT (device, uid) DO NOTHING RETURNING id",
                       &p, "storing event", &r);
        if (!res)
                return r;
        r = PQntuples(res) == 0 ? STORE_E_DUPLICATE : 0;
        if (r == 0)
                *ret_rowid = pg_get_int64(res, 0, 0);
        PQclear(res);
        return r;
}

/* Once per held opening that settles (policy.chatter_settle): queued like an insert. */
int pg_settle_opening(struct store *s, const char *household, int64_t event_usec,
                      const char *verdict, const char *rule, const char *reason,
                      const char *alert_id)
{
        struct pg_params p = { .n = 0 };

        pg_p_text(&p, household);
        pg_p_int(&p, event_usec);
        pg_p_text(&p, verdict);
        pg_p_text(&p, reason);
        pg_p_text(&p, alert_id);
        pg_p_text(&p, rule);
        return pg_send(s, PG_OPENING_SETTLE, sql_opening_settle, &p,
                       "storing a settled opening's verdict");
}

/* Called once per household at start (100,000 in a city): the statement is kept. */
int pg_foreach_device_seen(struct store *s, const char *household, int64_t since_usec,
                           store_device_usec_cb cb, void *userdata)
{
        struct pg_params p = { .n = 0 };
        PGresult *res;
        int r;

        pg_p_text(&p, household);
        pg_p_int(&p, since_usec);
        res = pg_query(s, PG_DEVICE_SEEN, sql_device_seen, &p, "reading signs of life", &r);
        if (!res)
                return r;
        return pg_foreach_device_usec(res, cb, userdata);
}

/* The one column list of an event read back, read by event_row() (the payload is not). */
#define EVENT_COLUMNS                                                                              \
        "id, device, household, source, uid, type, state, ts, recv_usec, event_usec, retained,"    \
        " verdict, reason, alert_id, time_basis"

static int event_row(const PGresult *res, int i, void *userdata)
{
        struct pg_cb *c = userdata;
        struct store_event e = {
                .id = pg_get_int64(res, i, 0),
                .device = pg_get_text(res, i, 1),
                .household = pg_get_text(res, i, 2),
                .source = pg_get_text(res, i, 3),
                .uid = pg_get_text(res, i, 4),
                .type = pg_get_text(res, i, 5),
                .state = pg_get_text(res, i, 6),
                .has_ts = !pg_get_isnull(res, i, 7),
                .ts = pg_get_double(res, i, 7),
                .recv_usec = pg_get_int64(res, i, 8),
                .event_usec = pg_get_int64(res, i, 9),
                .retained = pg_get_bool(res, i, 10),
                .verdict = pg_get_text(res, i, 11),
                .reason = pg_get_text(res, i, 12),
                .alert_id = pg_get_text(res, i, 13),
                .time_basis = pg_get_text(res, i, 14),
        };
        return ((store_event_cb)c->fn)(&e, c->userdata);
}

int pg_get_event(struct store *s, const char *device, const char *uid, store_event_cb cb,
                 void *userdata)
{
        struct pg_params p = { .n = 0 };
        PGresult *res;
        int r;

        pg_p_text(&p, device);
        pg_p_text(&p, uid);
        res = pg_query(s, PG_UNNAMED,
                       "SELECT " EVENT_COLUMNS " FROM event WHERE device = $1 AND uid = $2", &p,
                       "looking up event", &r);
        if (!res)
                return r;
        r = pg_each(res, event_row, &(struct pg_cb){ (void (*)(void))cb, userdata });
        return r < 0 ? r : r == 0 ? STORE_E_NOT_FOUND : 0;
}

int pg_last_opening(struct store *s, const char *household, store_event_cb cb, void *userdata)
{
        struct pg_params p = { .n = 0 };
        PGresult *res;
        int r;

        /* event_household (household, event_usec): the newest door event first. */
        pg_p_text(&p, household);
        res = pg_query(s, PG_UNNAMED,
                       "SELECT " EVENT_COLUMNS " FROM event"
                       " WHERE household = $1 AND type = 'door' AND state = 'open'"
                       " AND NOT retained ORDER BY event_usec DESC, id DESC LIMIT 1",
                       &p, "reading the last opening", &r);
        if (!res)
                return r;
        r = pg_each(res, event_row, &(struct pg_cb){ (void (*)(void))cb, userdata });
        return r < 0 ? r : r == 0 ? STORE_E_NOT_FOUND : 0;
}

/* By household first: that is what the index covers. */
int pg_list_alert_events(struct store *s, const char *household, const char *alert_id, size_t max,
                         store_event_cb cb, void *userdata)
{
        struct pg_params p = { .n = 0 };
        PGresult *res;
        int r;

        pg_p_text(&p, household);
        pg_p_text(&p, alert_id);
        pg_p_int(&p, (int64_t)max);
        res = pg_query(s, PG_UNNAMED,
                       "SELECT " EVENT_COLUMNS " FROM event"
                       " WHERE household IS NOT DISTINCT FROM $1 AND alert_id = $2"
                       " ORDER BY event_usec, id LIMIT $3",
                       &p, "reading events", &r);
        if (!res)
                return r;
        r = pg_each(res, event_row, &(struct pg_cb){ (void (*)(void))cb, userdata });
        return r < 0 ? r : 0;
}

int pg_last_event_id(struct store *s, int64_t *ret)
{
        return pg_query_int64(s, PG_UNNAMED, "SELECT max(id) FROM event", NULL, 0,
                              "reading the last event", ret);
}

int pg_count_events(struct store *s, int64_t after_id, const char *verdict, int64_t *ret)
{
        struct pg_params p = { .n = 0 };
        PGresult *res;
        int r;

        pg_p_int(&p, after_id);
        pg_p_text(&p, verdict);
        res = pg_query(s, PG_UNNAMED, "SELECT count(*) FROM event WHERE id > $1 AND verdict = $2",
                       &p, "counting events", &r);
        if (!res)
                return r;
        *ret = pg_get_int64(res, 0, 0);
        PQclear(res);
        return 0;
}

static int timeline_row(const PGresult *res, int i, void *userdata)
{
        struct pg_cb *c = userdata;
        struct store_timeline_entry e = {
                .kind = (enum store_timeline_kind)pg_get_int64(res, i, 0),
                .usec = pg_get_int64(res, i, 1),
                .source = pg_get_text(res, i, 2),
                .channel = pg_get_text(res, i, 3),
                .what = pg_get_text(res, i, 4),
                .state = pg_get_text(res, i, 5),
                .retained = pg_get_bool(res, i, 6),
                .verdict = pg_get_text(res, i, 7),
                .detail = pg_get_text(res, i, 8),
                .alert = pg_get_text(res, i, 9),
                .time_basis = pg_get_text(res, i, 10),
        };
        return ((store_timeline_cb)c->fn)(&e, c->userdata);
}

int pg_household_timeline(struct store *s, const char *household, int64_t since_usec,
                          store_timeline_cb cb, void *userdata)
{
        struct pg_params p = { .n = 0 };
        PGresult *res;
        int r;

        pg_p_text(&p, household);
        pg_p_int(&p, since_usec);
        res = pg_query(
            s, PG_UNNAMED,
            "SELECT kind, t, source, channel, what, state, retained, verdict, detail, alert,"
            " time_basis FROM ("
            " SELECT 0 AS kind, event_usec AS t, id AS k, device AS source, NULL::text AS channel,"
            "  type AS what, state, retained, verdict, reason AS detail, alert_id AS alert,"
            "  time_basis"
            "  FROM event WHERE household = $1 AND event_usec >= $2"
            " UNION ALL"
            " SELECT 1, usec, id, actor, channel, kind, NULL, false, NULL, detail, NULL, NULL"
            "  FROM action WHERE kind IN ('checkin', 'pass', 'report', 'reading') AND target = $1"
            "  AND usec >= $2"
            " UNION ALL"
            " SELECT 2, a.last_event_usec, a.seq, NULL, NULL, a.kind, NULL, false, NULL,"
            "  a.reason, a.id, NULL FROM alert a"
            "  WHERE a.household = $1 AND a.last_event_usec >= $2"
            "  AND NOT EXISTS (SELECT 1 FROM event e WHERE e.alert_id = a.id)"
            " UNION ALL"
            " SELECT 3, x.usec, x.id, x.actor, x.channel, x.kind, NULL, false, NULL, x.detail,"
            "  x.target, NULL FROM action x JOIN alert a ON a.id = x.target"
            "  WHERE a.household = $1 AND x.kind IN ('ack', 'resolve') AND x.usec >= $2"
            ") u ORDER BY t, kind, k",
            &p, "reading the timeline", &r);
        if (!res)
                return r;
        r = pg_each(res, timeline_row, &(struct pg_cb){ (void (*)(void))cb, userdata });
        return r < 0 ? r : 0;
}

/* pg_report.c: the daily report's rows in PostgreSQL (see store.h, "The daily report"),
 * the same as sqlite_report.c's: the history of households' windows written at each
 * configuration load, and the reads that put the live tables and the purge's anonymous
 * aggregates (purged_opening, purged_alert, purged_notification, written by
 * pg_retention.c) side by side.
 *
 * A configuration load records every household's window in one statement (arrays of the
 * windows, compared with each household's last row on the server): a city's 100,000
 * households cost one round trip, not one each. Households order as bytes (COLLATE "C"),
 * as in SQLite. */
#include "pg.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "util.h"

/* The windows that differ from their household's last recorded one (or have none), in
 * the order given. */
static const char sql_window_record[] =
    "INSERT INTO household_window (household, community, start_usec, end_usec, recorded_usec)"
    " SELECT w.household, w.community, w.start_usec, w.end_usec, $5"
    " FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) WITH ORDINALITY"
    "  AS w (household, community, start_usec, end_usec, ord)"
    " LEFT JOIN LATERAL (SELECT h.community, h.start_usec, h.end_usec FROM household_window h"
    "  WHERE h.household = w.household ORDER BY h.id DESC LIMIT 1) l ON true"
    " WHERE l.start_usec IS NULL OR l.community IS DISTINCT FROM w.community"
    "  OR l.start_usec <> w.start_usec OR l.end_usec <> w.end_usec"
    " ORDER BY w.ord";

int pg_record_household_windows(struct store *s, const struct store_household_window *w, size_t n,
                                int64_t now_usec, size_t *ret_recorded)
{
        struct pg_array a[4];
        _cleanup_free_ char *households = NULL, *communities = NULL, *starts = NULL, *ends = NULL;
        struct pg_params p = { .n = 0 };
        int r = store_begin(s);

        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(a); i++)
                pg_array_init(&a[i]);
        for (size_t i = 0; i < n; i++) {
                pg_array_text(&a[0], w[i].household);
                pg_array_text(&a[1], w[i].community);
                pg_array_int(&a[2], w[i].start_usec);
                pg_array_int(&a[3], w[i].end_usec);
        }
        households = pg_array_finish(&a[0]);
        communities = pg_array_finish(&a[1]);
        starts = pg_array_finish(&a[2]);
        ends = pg_array_finish(&a[3]);
        if (!households || !communities || !starts || !ends) {
                log_err("database: recording households' windows: the statement could not be "
                        "built");
                return -EIO;
        }
        pg_p_text(&p, households);
        pg_p_text(&p, communities);
        pg_p_text(&p, starts);
        pg_p_text(&p, ends);
        pg_p_int(&p, now_usec);
        r = pg_command(s, PG_UNNAMED, sql_window_record, &p, "recording household windows");
        if (r < 0)
                return r;
        if (ret_recorded)
                *ret_recorded = (size_t)r;
        return 0;
}

int pg_foreach_household_window(struct store *s, int64_t before_usec, store_household_window_cb cb,
                                void *userdata)
{
        struct pg_params p = { .n = 0 };
        PGresult *res;
        int r = 0;

        /* Per household: the last window recorded before before_usec, else its first. */
        pg_p_int(&p, before_usec);
        res = pg_query(s, PG_UNNAMED,
                       "SELECT DISTINCT ON (household COLLATE \"C\") household, community,"
                       " start_usec, end_usec FROM household_window"
                       " ORDER BY household COLLATE \"C\", (recorded_usec < $1) DESC,"
                       " CASE WHEN recorded_usec < $1 THEN -id ELSE id END",
                       &p, "reading household windows", &r);
        if (!res)
                return r;
        for (int i = 0; i < PQntuples(res) && r >= 0; i++)
                r = cb(&(struct store_household_window){ .household = pg_get_text(res, i, 0),
                                                         .community = pg_get_text(res, i, 1),
                                                         .start_usec = pg_get_int64(res, i, 2),
                                                         .end_usec = pg_get_int64(res, i, 3) },
                       userdata);
        PQclear(res);
        return r < 0 ? r : 0;
}

static int opening_row(const PGresult *res, int i, void *userdata)
{
        struct pg_cb *c = userdata;

        return ((store_opening_count_cb)c->fn)(
            &(struct store_opening_count){
                .household = pg_get_text(res, i, 0),
                .community = pg_get_text(res, i, 1),
                .span_usec = pg_get_int64(res, i, 2),
                .verdict = pg_get_text(res, i, 3),
                .rule = pg_get_text(res, i, 4),
                .n = pg_get_int64(res, i, 5),
            },
            c->userdata);
}

int pg_foreach_opening_count(struct store *s, int64_t from_usec, int64_t to_usec,
                             store_opening_count_cb cb, void *userdata)
{
        struct pg_params p = { .n = 0 };
        PGresult *res;
        int r;

        pg_p_int(&p, from_usec);
        pg_p_int(&p, to_usec);
        pg_p_int(&p, STORE_SPAN_USEC);
        /* event_time bounds the scan to the span asked for. */
        res = pg_query(s, PG_UNNAMED,
                       "SELECT household, NULL::text, event_usec / $3 * $3 AS span, verdict, rule,"
                       " count(*) FROM event WHERE event_usec >= $1 AND event_usec < $2"
                       " AND type = 'door' AND state = 'open'"
                       " AND rule IS DISTINCT FROM 'chatter'"
                       " GROUP BY household, span, verdict, rule"
                       " UNION ALL "
                       "SELECT NULL, community, span_usec, verdict, rule, sum(n)::bigint"
                       " FROM purged_opening WHERE span_usec >= $1 AND span_usec < $2"
                       " GROUP BY community, span_usec, verdict, rule ORDER BY 3",
                       &p, "reading openings", &r);
        if (!res)
                return r;
        r = pg_each(res, opening_row, &(struct pg_cb){ (void (*)(void))cb, userdata });
        return r < 0 ? r : 0;
}

static int brief_row(const PGresult *res, int i, void *userdata)
{
        struct pg_cb *c = userdata;

        return ((store_alert_brief_cb)c->fn)(
            &(struct store_alert_brief){
                .community = pg_get_text(res, i, 0),
                .kind = pg_get_text(res, i, 1),
                .acked_by = pg_get_text(res, i, 2),
                .raised_usec = pg_get_int64(res, i, 3),
                .acked_usec = pg_get_int64(res, i, 4),
                .resolved_usec = pg_get_int64(res, i, 5),
            },
            c->userdata);
}

int pg_foreach_alert_brief(struct store *s, const struct store_alert_span *f,
                           store_alert_brief_cb cb, void *userdata)
{
        struct pg_params p = { .n = 0 };
        PGresult *res;
        int r;

        pg_p_int(&p, f->raised_from_usec);
        pg_p_int(&p, f->raised_to_usec);
        pg_p_int(&p, f->unresolved_at_usec);
        /* An alert's time is its event time (the rules' clock), see migration 2. */
        res = pg_query(s, PG_UNNAMED,
                       "SELECT community, kind, acked_by, event_usec, acked_usec, resolved_usec"
                       " FROM alert WHERE event_usec < $2 AND (event_usec >= $1 OR ($3::bigint <> 0"
                       " AND (resolved_usec IS NULL OR resolved_usec >= $3)))"
                       " UNION ALL "
                       "SELECT community, kind, acked_by, raised_usec, acked_usec, resolved_usec"
                       " FROM purged_alert WHERE raised_usec < $2 AND (raised_usec >= $1"
                       " OR ($3::bigint <> 0 AND (resolved_usec IS NULL OR resolved_usec >= $3)))"
                       " ORDER BY 4",
                       &p, "reading alerts for the report", &r);
        if (!res)
                return r;
        r = pg_each(res, brief_row, &(struct pg_cb){ (void (*)(void))cb, userdata });
        return r < 0 ? r : 0;
}

static int dead_row(const PGresult *res, int i, void *userdata)
{
        struct pg_cb *c = userdata;

        return ((store_dead_notification_cb)c->fn)(pg_get_text(res, i, 0), pg_get_int64(res, i, 1),
                                                   c->userdata);
}

int pg_foreach_dead_notification(struct store *s, int64_t from_usec, int64_t to_usec,
                                 store_dead_notification_cb cb, void *userdata)
{
        struct pg_params p = { .n = 0 };
        PGresult *res;
        int r;

        pg_p_int(&p, from_usec);
        pg_p_int(&p, to_usec);
        res = pg_query(s, PG_UNNAMED,
                       "SELECT a.community, n.dead_usec FROM notification n"
                       " LEFT JOIN alert a ON a.id = n.alert_id"
                       " WHERE n.state = 'dead' AND n.dead_usec >= $1 AND n.dead_usec < $2"
                       " UNION ALL "
                       "SELECT community, dead_usec FROM purged_notification"
                       " WHERE dead_usec >= $1 AND dead_usec < $2 ORDER BY 2",
                       &p, "reading failed notifications", &r);
        if (!res)
                return r;
        r = pg_each(res, dead_row, &(struct pg_cb){ (void (*)(void))cb, userdata });
        return r < 0 ? r : 0;
}

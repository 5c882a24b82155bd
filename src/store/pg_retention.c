/* pg_retention.c: retention in PostgreSQL (DESIGN.md §8): a household's events and
 * personal data deleted after its observation ended, and the record that it was; the
 * same statements as SQLite's, in the current transaction. */
#include "pg.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "util.h"

int pg_household_purged(struct store *s, const char *household)
{
        struct pg_params p = { .n = 0 };
        PGresult *res;
        int r;

        pg_p_text(&p, household);
        res = pg_query(s, PG_UNNAMED, "SELECT 1 FROM purged WHERE household = $1", &p,
                       "reading purged households", &r);
        if (!res)
                return r;
        r = PQntuples(res) > 0;
        PQclear(res);
        return r;
}

int pg_purge_household(struct store *s, const char *household, int64_t now_usec,
                       int64_t *ret_events)
{
        /* What the daily report counts is kept first, without the household (see store.h):
         * its door openings by 15-minute span (STORE_SPAN_USEC), verdict and rule under its
         * community (the last recorded, else its alerts'), its alerts' kinds, times and who
         * acknowledged, its failed notifications' times, its fevers' times; its rounds
         * stay, without it. Then the personal data of the household: its events (with
         * payloads), the notifications about its alerts (addresses, names, phones),
         * check-ins, passes, pre-reports, readings (temperatures, symptoms), rule state, the
         * audit rows about its alerts, and the alerts themselves. */
        static const char *const sql[] = {
                "INSERT INTO purged_opening (community, span_usec, verdict, rule, n)"
                " SELECT COALESCE((SELECT community FROM household_window WHERE household = $1"
                "   ORDER BY id DESC LIMIT 1),"
                "  (SELECT community FROM alert WHERE household = $1 LIMIT 1)),"
                " event_usec / 900000000 * 900000000 AS span, verdict, rule, count(*)"
                " FROM event WHERE household = $1 AND type = 'door' AND state = 'open'"
                " AND rule IS DISTINCT FROM 'chatter' GROUP BY span, verdict, rule",
                "INSERT INTO purged_alert (community, kind, raised_usec, acked_usec, acked_by,"
                " resolved_usec) SELECT community, kind, COALESCE(event_usec, raised_usec),"
                " acked_usec, acked_by, resolved_usec FROM alert WHERE household = $1",
                "INSERT INTO purged_notification (community, dead_usec)"
                " SELECT a.community, n.dead_usec FROM notification n JOIN alert a"
                " ON a.id = n.alert_id WHERE a.household = $1 AND n.state = 'dead'"
                " AND n.dead_usec IS NOT NULL",
                "DELETE FROM notification WHERE alert_id IN"
                " (SELECT id FROM alert WHERE household = $1)",
                "DELETE FROM action WHERE target = $1 OR target IN"
                " (SELECT id FROM alert WHERE household = $1)",
                "DELETE FROM alert WHERE household = $1",
                "DELETE FROM checkin WHERE household = $1",
                "DELETE FROM pass WHERE household = $1",
                "DELETE FROM report WHERE household = $1",
                "INSERT INTO purged_fever (community, usec)"
                " SELECT community, usec FROM reading WHERE household = $1 AND fever",
                "UPDATE round SET household = NULL WHERE household = $1",
                "DELETE FROM reading WHERE household = $1",
                "DELETE FROM household_state WHERE household = $1",
                "DELETE FROM event WHERE household = $1",
        };
        struct pg_params p = { .n = 0 };
        int64_t events = 0;
        int r = store_begin(s);

        pg_p_text(&p, household);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(sql); i++) {
                r = pg_command(s, PG_UNNAMED, sql[i], &p, "purging a household");
                if (r >= 0 && i == ELEMENTSOF(sql) - 1)
                        events = r;
        }
        if (r >= 0) {
                pg_p_int(&p, now_usec);
                pg_p_int(&p, events);
                r = pg_command(s, PG_UNNAMED,
                               "INSERT INTO purged VALUES ($1, $2, $3) ON CONFLICT (household)"
                               " DO UPDATE SET usec = excluded.usec, events = excluded.events",
                               &p, "purging a household");
        }
        if (r < 0)
                return r;
        if (ret_events)
                *ret_events = events;
        return 0;
}

static int household_row(const PGresult *res, int i, void *userdata)
{
        struct pg_cb *c = userdata;
        return ((store_household_cb)c->fn)(pg_get_text(res, i, 0), c->userdata);
}

int pg_foreach_purged_household(struct store *s, store_household_cb cb, void *userdata)
{
        PGresult *res;
        int r;

        res =
            pg_query(s, PG_UNNAMED, "SELECT household FROM purged ORDER BY household COLLATE \"C\"",
                     NULL, "reading purged households", &r);
        if (!res)
                return r;
        r = pg_each(res, household_row, &(struct pg_cb){ (void (*)(void))cb, userdata });
        return r < 0 ? r : 0;
}

static int household_usec_row(const PGresult *res, int i, void *userdata)
{
        struct pg_cb *c = userdata;
        return ((store_household_usec_cb)c->fn)(pg_get_text(res, i, 0), pg_get_int64(res, i, 1),
                                                c->userdata);
}

int pg_foreach_stored_household(struct store *s, store_household_usec_cb cb, void *userdata)
{
        PGresult *res;
        int r;

        /* Every table that holds data of a household, with the time of its last row. */
        res = pg_query(
            s, PG_UNNAMED,
            "SELECT household, max(t) FROM ("
            " SELECT household, max(event_usec) AS t FROM event WHERE household IS NOT NULL"
            "  GROUP BY household"
            " UNION ALL SELECT household, max(GREATEST(raised_usec, last_event_usec,"
            "  COALESCE(acked_usec, 0), COALESCE(resolved_usec, 0))) FROM alert"
            "  WHERE household IS NOT NULL GROUP BY household"
            " UNION ALL SELECT household, max(updated_usec) FROM household_state GROUP BY household"
            " UNION ALL SELECT household, max(recv_usec) FROM checkin GROUP BY household"
            " UNION ALL SELECT household, max(GREATEST(created_usec, to_usec)) FROM pass"
            "  GROUP BY household"
            " UNION ALL SELECT household, max(recv_usec) FROM report GROUP BY household"
            " UNION ALL SELECT household, max(recv_usec) FROM reading GROUP BY household"
            ") u WHERE household NOT IN (SELECT household FROM purged)"
            " GROUP BY household ORDER BY household COLLATE \"C\"",
            NULL, "reading stored households", &r);
        if (!res)
                return r;
        r = pg_each(res, household_usec_row, &(struct pg_cb){ (void (*)(void))cb, userdata });
        return r < 0 ? r : 0;
}

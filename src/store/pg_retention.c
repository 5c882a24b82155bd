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
        /* Personal data of a household: its events (with payloads), the notifications about
         * its alerts (addresses, names, phones), check-ins, passes, pre-reports, rule state,
         * the audit rows about its alerts, and the alerts themselves. */
        static const char *const sql[] = {
                "DELETE FROM notification WHERE alert_id IN"
                " (SELECT id FROM alert WHERE household = $1)",
                "DELETE FROM action WHERE target = $1 OR target IN"
                " (SELECT id FROM alert WHERE household = $1)",
                "DELETE FROM alert WHERE household = $1",
                "DELETE FROM checkin WHERE household = $1",
                "DELETE FROM pass WHERE household = $1",
                "DELETE FROM report WHERE household = $1",
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

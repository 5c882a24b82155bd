/* sqlite_retention.c: retention in SQLite (DESIGN.md §8): a household's events and
 * personal data deleted after its observation ended, and the record that it was. */
#include "sqlite.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "util.h"

int sqlite_household_purged(struct store *s, const char *household)
{
        sqlite3_stmt *st;
        int rc;

        rc = sqlite3_prepare_v2(sq(s)->db, "SELECT 1 FROM purged WHERE household = ?1", -1, &st,
                                NULL);
        if (rc != SQLITE_OK)
                return sqlite_err(s, rc, "reading purged households");
        sqlite3_bind_text(st, 1, household, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc == SQLITE_ROW)
                return 1;
        return rc == SQLITE_DONE ? 0 : sqlite_err(s, rc, "reading purged households");
}

int sqlite_purge_household(struct store *s, const char *household, int64_t now_usec,
                           int64_t *ret_events)
{
        /* What the daily report counts is kept first, without the household (see store.h):
         * its door openings by 15-minute span, verdict and rule under its community (the
         * last recorded, else its alerts'), its alerts' kinds, times and who acknowledged,
         * its failed notifications' times, its fevers' times; its rounds stay, without it.
         * Then the personal data of the household: its
         * events (with payloads), the notifications about its alerts (addresses, names,
         * phones), check-ins, passes, pre-reports, readings (temperatures, symptoms), rule
         * state, the audit rows about its alerts, and the alerts themselves. */
        static const char *const sql[] = {
                "INSERT INTO purged_opening (community, span_usec, verdict, rule, n)"
                " SELECT COALESCE((SELECT community FROM household_window WHERE household = ?1"
                "   ORDER BY id DESC LIMIT 1),"
                "  (SELECT community FROM alert WHERE household = ?1 LIMIT 1)),"
                " event_usec / 900000000 * 900000000 AS span, verdict, rule, count(*)"
                " FROM event WHERE household = ?1 AND type = 'door' AND state = 'open'"
                " AND rule IS NOT 'chatter' GROUP BY span, verdict, rule",
                "INSERT INTO purged_alert (community, kind, raised_usec, acked_usec, acked_by,"
                " resolved_usec) SELECT community, kind, COALESCE(event_usec, raised_usec),"
                " acked_usec, acked_by, resolved_usec FROM alert WHERE household = ?1",
                "INSERT INTO purged_notification (community, dead_usec)"
                " SELECT a.community, n.dead_usec FROM notification n JOIN alert a"
                " ON a.id = n.alert_id WHERE a.household = ?1 AND n.state = 'dead'"
                " AND n.dead_usec IS NOT NULL",
                "DELETE FROM notification WHERE alert_id IN"
                " (SELECT id FROM alert WHERE household = ?1)",
                "DELETE FROM action WHERE target = ?1 OR target IN"
                " (SELECT id FROM alert WHERE household = ?1)",
                "DELETE FROM alert WHERE household = ?1",
                "DELETE FROM checkin WHERE household = ?1",
                "DELETE FROM pass WHERE household = ?1",
                "DELETE FROM report WHERE household = ?1",
                "INSERT INTO purged_fever (community, usec)"
                " SELECT community, usec FROM reading WHERE household = ?1 AND fever",
                "UPDATE round SET household = NULL WHERE household = ?1",
                "DELETE FROM reading WHERE household = ?1",
                "DELETE FROM household_state WHERE household = ?1",
                "DELETE FROM event WHERE household = ?1",
        };
        int64_t events = 0;
        int r = store_begin(s);

        for (size_t i = 0; r == 0 && i < ELEMENTSOF(sql); i++) {
                sqlite3_stmt *st;
                int rc = sqlite3_prepare_v2(sq(s)->db, sql[i], -1, &st, NULL);
                if (rc != SQLITE_OK)
                        return sqlite_err(s, rc, "purging a household");
                sqlite3_bind_text(st, 1, household, -1, SQLITE_STATIC);
                rc = sqlite3_step(st);
                sqlite3_finalize(st);
                if (rc != SQLITE_DONE)
                        return sqlite_err(s, rc, "purging a household");
                if (i == ELEMENTSOF(sql) - 1)
                        events = sqlite3_changes(sq(s)->db);
        }
        if (r == 0) {
                sqlite3_stmt *st;
                int rc = sqlite3_prepare_v2(
                    sq(s)->db, "INSERT OR REPLACE INTO purged VALUES (?1, ?2, ?3)", -1, &st, NULL);
                if (rc != SQLITE_OK)
                        return sqlite_err(s, rc, "purging a household");
                sqlite3_bind_text(st, 1, household, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 2, now_usec);
                sqlite3_bind_int64(st, 3, events);
                rc = sqlite3_step(st);
                sqlite3_finalize(st);
                if (rc != SQLITE_DONE)
                        return sqlite_err(s, rc, "purging a household");
        }
        if (r == 0 && ret_events)
                *ret_events = events;
        return r;
}

static int household_row(sqlite3_stmt *st, void *userdata)
{
        struct sqlite_cb *c = userdata;
        return ((store_household_cb)c->fn)(sqlite_text(st, 0), c->userdata);
}

int sqlite_foreach_purged_household(struct store *s, store_household_cb cb, void *userdata)
{
        sqlite3_stmt *st = sqlite_prepare(s, "SELECT household FROM purged ORDER BY household",
                                          "reading purged households");
        int r;

        if (!st)
                return -EIO;
        r = sqlite_each(s, st, household_row, &(struct sqlite_cb){ (void (*)(void))cb, userdata },
                        "reading purged households");
        return r < 0 ? r : 0;
}

static int household_usec_row(sqlite3_stmt *st, void *userdata)
{
        struct sqlite_cb *c = userdata;
        return ((store_household_usec_cb)c->fn)(sqlite_text(st, 0), sqlite3_column_int64(st, 1),
                                                c->userdata);
}

int sqlite_foreach_stored_household(struct store *s, store_household_usec_cb cb, void *userdata)
{
        /* Every table that holds data of a household, with the time of its last row. */
        sqlite3_stmt *st = sqlite_prepare(
            s,
            "SELECT household, max(t) FROM ("
            " SELECT household, max(event_usec) AS t FROM event WHERE household IS NOT NULL"
            "  GROUP BY household"
            " UNION ALL SELECT household, max(max(raised_usec, last_event_usec,"
            "  COALESCE(acked_usec, 0), COALESCE(resolved_usec, 0))) FROM alert"
            "  WHERE household IS NOT NULL GROUP BY household"
            " UNION ALL SELECT household, max(updated_usec) FROM household_state GROUP BY household"
            " UNION ALL SELECT household, max(recv_usec) FROM checkin GROUP BY household"
            " UNION ALL SELECT household, max(max(created_usec, to_usec)) FROM pass"
            "  GROUP BY household"
            " UNION ALL SELECT household, max(recv_usec) FROM report GROUP BY household"
            " UNION ALL SELECT household, max(recv_usec) FROM reading GROUP BY household"
            ") WHERE household NOT IN (SELECT household FROM purged)"
            " GROUP BY household ORDER BY household",
            "reading stored households");
        int r;

        if (!st)
                return -EIO;
        r = sqlite_each(s, st, household_usec_row,
                        &(struct sqlite_cb){ (void (*)(void))cb, userdata },
                        "reading stored households");
        return r < 0 ? r : 0;
}

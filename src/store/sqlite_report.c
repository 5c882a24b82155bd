/* sqlite_report.c: the daily report's rows in SQLite (see store.h, "The daily report"):
 * the history of households' windows written at each configuration load, and the reads
 * that put the live tables and the purge's anonymous aggregates (purged_opening,
 * purged_alert, purged_notification, written by sqlite_retention.c) side by side. */
#include "sqlite.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "util.h"

static const char sql_window_last[] = "SELECT community, start_usec, end_usec"
                                      " FROM household_window WHERE household = ?1"
                                      " ORDER BY id DESC LIMIT 1";
static const char sql_window_insert[] =
    "INSERT INTO household_window (household, community, start_usec, end_usec, recorded_usec)"
    " VALUES (?1, ?2, ?3, ?4, ?5)";

/* Whether the last window recorded for w->household says the same as w. */
static int window_unchanged(struct store *s, const struct store_household_window *w)
{
        sqlite3_stmt *st = sqlite_stmt(s, STMT_WINDOW_LAST, sql_window_last);
        int rc, r = 0;

        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, w->household);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                r = str_eq(sqlite_text(st, 0), w->community) &&
                    sqlite3_column_int64(st, 1) == w->start_usec &&
                    sqlite3_column_int64(st, 2) == w->end_usec;
        else if (rc != SQLITE_DONE)
                r = sqlite_err(s, rc, "reading household windows");
        sqlite3_reset(st);
        return r;
}

int sqlite_record_household_windows(struct store *s, const struct store_household_window *w,
                                    size_t n, int64_t now_usec, size_t *ret_recorded)
{
        size_t recorded = 0;
        int r = store_begin(s);

        for (size_t i = 0; r == 0 && i < n; i++) {
                sqlite3_stmt *st;

                r = window_unchanged(s, &w[i]);
                if (r != 0) {
                        r = r < 0 ? r : 0;
                        continue;
                }
                st = sqlite_stmt(s, STMT_WINDOW_INSERT, sql_window_insert);
                if (!st)
                        return -EIO;
                sqlite_bind_text(st, 1, w[i].household);
                sqlite_bind_text(st, 2, w[i].community);
                sqlite3_bind_int64(st, 3, w[i].start_usec);
                sqlite3_bind_int64(st, 4, w[i].end_usec);
                sqlite3_bind_int64(st, 5, now_usec);
                r = sqlite_step_done(s, st, "recording household windows");
                recorded += r == 0;
        }
        if (r == 0 && ret_recorded)
                *ret_recorded = recorded;
        return r;
}

/* The window of one household being chosen while its rows go by. */
struct window_pick {
        char *household, *community;
        int64_t start_usec, end_usec;
};

/* Calls cb with the pick (none when cb is NULL) and starts over. */
static int emit_pick(struct window_pick *p, store_household_window_cb cb, void *userdata)
{
        int r = 0;

        if (p->household && cb)
                r = cb(&(struct store_household_window){ p->household, p->community, p->start_usec,
                                                         p->end_usec },
                       userdata);
        free(p->household);
        free(p->community);
        *p = (struct window_pick){ 0 };
        return r;
}

int sqlite_foreach_household_window(struct store *s, int64_t before_usec,
                                    store_household_window_cb cb, void *userdata)
{
        sqlite3_stmt *st = sqlite_prepare(s,
                                          "SELECT household, community, start_usec, end_usec,"
                                          " recorded_usec FROM household_window"
                                          " ORDER BY household, id",
                                          "reading household windows");
        struct window_pick p = { 0 };
        int rc, r = 0;

        if (!st)
                return -EIO;
        while (r >= 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *h = sqlite_text(st, 0);
                bool before = sqlite3_column_int64(st, 4) < before_usec;

                if (!str_eq(h, p.household)) {
                        r = emit_pick(&p, cb, userdata);
                        p.household = xstrdup(h);
                } else if (!before)
                        continue; /* keep the last one before, or the first one */
                free(p.community);
                p.community = xstrdup(sqlite_text(st, 1));
                p.start_usec = sqlite3_column_int64(st, 2);
                p.end_usec = sqlite3_column_int64(st, 3);
        }
        if (r >= 0 && rc != SQLITE_DONE)
                r = sqlite_err(s, rc, "reading household windows");
        if (r >= 0)
                r = emit_pick(&p, cb, userdata);
        else
                emit_pick(&p, NULL, NULL);
        sqlite3_finalize(st);
        return r < 0 ? r : 0;
}

static int opening_row(sqlite3_stmt *st, void *ctx)
{
        const struct sqlite_cb *c = ctx;

        return ((store_opening_count_cb)c->fn)(
            &(struct store_opening_count){
                .household = sqlite_text(st, 0),
                .community = sqlite_text(st, 1),
                .span_usec = sqlite3_column_int64(st, 2),
                .verdict = sqlite_text(st, 3),
                .rule = sqlite_text(st, 4),
                .n = sqlite3_column_int64(st, 5),
            },
            c->userdata);
}

int sqlite_foreach_opening_count(struct store *s, int64_t from_usec, int64_t to_usec,
                                 store_opening_count_cb cb, void *userdata)
{
        /* event_time bounds the scan to the span asked for. */
        sqlite3_stmt *st = sqlite_prepare(
            s,
            "SELECT household, NULL, event_usec / ?3 * ?3 AS span, verdict, rule, count(*)"
            " FROM event WHERE event_usec >= ?1 AND event_usec < ?2 AND type = 'door'"
            " AND state = 'open' AND rule IS NOT 'chatter' GROUP BY household, span, verdict,"
            " rule"
            " UNION ALL "
            "SELECT NULL, community, span_usec, verdict, rule, sum(n) FROM purged_opening"
            " WHERE span_usec >= ?1 AND span_usec < ?2 GROUP BY community, span_usec, verdict,"
            " rule ORDER BY 3",
            "reading openings");
        int r;

        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 1, from_usec);
        sqlite3_bind_int64(st, 2, to_usec);
        sqlite3_bind_int64(st, 3, STORE_SPAN_USEC);
        r = sqlite_each(s, st, opening_row, &(struct sqlite_cb){ (void (*)(void))cb, userdata },
                        "reading openings");
        return r < 0 ? r : 0;
}

static int brief_row(sqlite3_stmt *st, void *ctx)
{
        const struct sqlite_cb *c = ctx;

        return ((store_alert_brief_cb)c->fn)(
            &(struct store_alert_brief){
                .community = sqlite_text(st, 0),
                .kind = sqlite_text(st, 1),
                .acked_by = sqlite_text(st, 2),
                .raised_usec = sqlite3_column_int64(st, 3),
                .acked_usec = sqlite3_column_int64(st, 4),
                .resolved_usec = sqlite3_column_int64(st, 5),
            },
            c->userdata);
}

int sqlite_foreach_alert_brief(struct store *s, const struct store_alert_span *f,
                               store_alert_brief_cb cb, void *userdata)
{
#define BRIEF_WHERE(t)                                                                             \
        " WHERE " t " < ?2 AND (" t " >= ?1 OR (?3 != 0 AND (resolved_usec IS NULL"                \
        " OR resolved_usec >= ?3)))"
        /* An alert's time is its event time (the rules' clock), see the migration to 7. */
        sqlite3_stmt *st = sqlite_prepare(
            s,
            "SELECT community, kind, acked_by, event_usec, acked_usec, resolved_usec FROM "
            "alert" BRIEF_WHERE("event_usec") " UNION ALL "
                                              "SELECT community, kind, acked_by, raised_usec, "
                                              "acked_usec, resolved_usec"
                                              " FROM purged_alert" BRIEF_WHERE(
                                                  "raised_usec") " ORDER BY 4",
            "reading alerts for the report");
#undef BRIEF_WHERE
        int r;

        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 1, f->raised_from_usec);
        sqlite3_bind_int64(st, 2, f->raised_to_usec);
        sqlite3_bind_int64(st, 3, f->unresolved_at_usec);
        r = sqlite_each(s, st, brief_row, &(struct sqlite_cb){ (void (*)(void))cb, userdata },
                        "reading alerts for the report");
        return r < 0 ? r : 0;
}

static int dead_row(sqlite3_stmt *st, void *ctx)
{
        const struct sqlite_cb *c = ctx;

        return ((store_dead_notification_cb)c->fn)(sqlite_text(st, 0), sqlite3_column_int64(st, 1),
                                                   c->userdata);
}

int sqlite_foreach_dead_notification(struct store *s, int64_t from_usec, int64_t to_usec,
                                     store_dead_notification_cb cb, void *userdata)
{
        sqlite3_stmt *st =
            sqlite_prepare(s,
                           "SELECT a.community, n.dead_usec FROM notification n"
                           " LEFT JOIN alert a ON a.id = n.alert_id"
                           " WHERE n.state = 'dead' AND n.dead_usec >= ?1 AND n.dead_usec < ?2"
                           " UNION ALL "
                           "SELECT community, dead_usec FROM purged_notification"
                           " WHERE dead_usec >= ?1 AND dead_usec < ?2 ORDER BY 2",
                           "reading failed notifications");
        int r;

        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 1, from_usec);
        sqlite3_bind_int64(st, 2, to_usec);
        r = sqlite_each(s, st, dead_row, &(struct sqlite_cb){ (void (*)(void))cb, userdata },
                        "reading failed notifications");
        return r < 0 ? r : 0;
}

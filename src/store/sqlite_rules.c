/* sqlite_rules.c: the observation rules' records in SQLite: passes, check-ins,
 * pre-reports (the audit trail) and each household's rule state (rebuilt at start). */
#include "sqlite.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "util.h"

static const char sql_pass_insert[] =
    "INSERT INTO pass (household, worker, channel, from_usec, to_usec, reason,"
    " created_usec) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char sql_pass_update[] =
    "UPDATE pass SET exit_usec = ?2, return_usec = ?3, overdue = ?4,"
    " done = ?5 WHERE id = ?1";
static const char sql_checkin_insert[] =
    "INSERT INTO checkin (household, worker, channel, usec, recv_usec)"
    " VALUES (?1, ?2, ?3, ?4, ?5)";
static const char sql_report_insert[] =
    "INSERT INTO report (household, channel, reason, usec, recv_usec, number,"
    " over_limit) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char sql_hstate_save[] =
    "INSERT INTO household_state (household, state, updated_usec)"
    " VALUES (?1, ?2, ?3) ON CONFLICT (household) DO UPDATE SET"
    " state = excluded.state, updated_usec = excluded.updated_usec";

/* ---- observation rules (issue 4): passes, check-ins, pre-reports, household state ---- */

int sqlite_insert_pass(struct store *s, const struct store_pass *p, int64_t *ret_id)
{
        sqlite3_stmt *st = sqlite_stmt(s, STMT_PASS_INSERT, sql_pass_insert);
        int r;
        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, p->household);
        sqlite_bind_text(st, 2, p->worker);
        sqlite_bind_text(st, 3, p->channel);
        sqlite3_bind_int64(st, 4, p->from_usec);
        sqlite3_bind_int64(st, 5, p->to_usec);
        sqlite_bind_text(st, 6, p->reason);
        sqlite3_bind_int64(st, 7, p->created_usec);
        r = sqlite_step_done(s, st, "storing pass");
        if (r == 0 && ret_id)
                *ret_id = sqlite3_last_insert_rowid(sq(s)->db);
        return r;
}

int sqlite_update_pass(struct store *s, const struct store_pass *p)
{
        sqlite3_stmt *st = sqlite_stmt(s, STMT_PASS_UPDATE, sql_pass_update);
        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 1, p->id);
        sqlite_bind_usec(st, 2, p->exit_usec);
        sqlite_bind_usec(st, 3, p->return_usec);
        sqlite3_bind_int(st, 4, p->overdue);
        sqlite3_bind_int(st, 5, p->done);
        return sqlite_step_done(s, st, "updating pass");
}

/* The one column list of a pass, read by pass_row(). */
#define PASS_COLUMNS                                                                               \
        "id, household, worker, channel, reason, from_usec, to_usec, created_usec, exit_usec,"     \
        " return_usec, overdue, done"

static int pass_row(sqlite3_stmt *st, void *userdata)
{
        struct sqlite_cb *c = userdata;
        struct store_pass p = {
                .id = sqlite3_column_int64(st, 0),
                .household = sqlite_text(st, 1),
                .worker = sqlite_text(st, 2),
                .channel = sqlite_text(st, 3),
                .reason = sqlite_text(st, 4),
                .from_usec = sqlite3_column_int64(st, 5),
                .to_usec = sqlite3_column_int64(st, 6),
                .created_usec = sqlite3_column_int64(st, 7),
                .exit_usec = sqlite3_column_int64(st, 8),
                .return_usec = sqlite3_column_int64(st, 9),
                .overdue = sqlite3_column_int(st, 10) != 0,
                .done = sqlite3_column_int(st, 11) != 0,
        };
        return ((store_pass_cb)c->fn)(&p, c->userdata);
}

int sqlite_list_passes(struct store *s, const struct store_pass_filter *f, store_pass_cb cb,
                       void *userdata)
{
        static const struct store_pass_filter pending = { 0 };
        char buf[512];
        struct sbuf q;
        sqlite3_stmt *st;
        int n = 0, r;

        if (!f)
                f = &pending;
        sbuf_init(&q, buf, sizeof(buf));
        sbuf_puts(&q, "SELECT " PASS_COLUMNS " FROM pass WHERE 1");
        if (f->household)
                sbuf_printf(&q, " AND household = ?%d", ++n);
        if (!f->all && f->now_usec)
                sbuf_printf(&q, " AND (done = 0 OR to_usec > ?%d)", ++n);
        else if (!f->all)
                sbuf_puts(&q, " AND done = 0");
        sbuf_puts(&q, " ORDER BY from_usec, id");
        st = sqlite_prepare_built(s, &q, "loading passes");
        if (!st)
                return -EIO;
        n = 0;
        if (f->household)
                sqlite_bind_text(st, ++n, f->household);
        if (!f->all && f->now_usec)
                sqlite3_bind_int64(st, ++n, f->now_usec);
        r = sqlite_each(s, st, pass_row, &(struct sqlite_cb){ (void (*)(void))cb, userdata },
                        "loading passes");
        return r < 0 ? r : 0;
}

int sqlite_insert_checkin(struct store *s, const char *household, const char *worker,
                          const char *channel, int64_t usec, int64_t recv_usec)
{
        sqlite3_stmt *st = sqlite_stmt(s, STMT_CHECKIN_INSERT, sql_checkin_insert);
        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, household);
        sqlite_bind_text(st, 2, worker);
        sqlite_bind_text(st, 3, channel);
        sqlite3_bind_int64(st, 4, usec);
        sqlite3_bind_int64(st, 5, recv_usec);
        return sqlite_step_done(s, st, "storing check-in");
}

int sqlite_insert_report(struct store *s, const char *household, const char *channel,
                         const char *reason, int64_t usec, int64_t recv_usec, int number,
                         bool over_limit)
{
        sqlite3_stmt *st = sqlite_stmt(s, STMT_REPORT_INSERT, sql_report_insert);
        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, household);
        sqlite_bind_text(st, 2, channel);
        sqlite_bind_text(st, 3, reason);
        sqlite3_bind_int64(st, 4, usec);
        sqlite3_bind_int64(st, 5, recv_usec);
        sqlite3_bind_int(st, 6, number);
        sqlite3_bind_int(st, 7, over_limit);
        return sqlite_step_done(s, st, "storing pre-report");
}

int sqlite_save_household_state(struct store *s, const char *household, const char *json,
                                int64_t usec)
{
        sqlite3_stmt *st = sqlite_stmt(s, STMT_HSTATE_SAVE, sql_hstate_save);
        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, household);
        sqlite_bind_text(st, 2, json);
        sqlite3_bind_int64(st, 3, usec);
        return sqlite_step_done(s, st, "storing household state");
}

int sqlite_foreach_household_state(struct store *s, store_household_state_cb cb, void *userdata)
{
        sqlite3_stmt *st;
        int rc, r = 0;

        rc = sqlite3_prepare_v2(sq(s)->db, "SELECT household, state FROM household_state", -1, &st,
                                NULL);
        if (rc != SQLITE_OK)
                return sqlite_err(s, rc, "loading household state");
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                r = cb((const char *)sqlite3_column_text(st, 0),
                       (const char *)sqlite3_column_text(st, 1), userdata);
                if (r < 0)
                        break;
        }
        if (r == 0 && rc != SQLITE_DONE)
                r = sqlite_err(s, rc, "loading household state");
        sqlite3_finalize(st);
        return r;
}

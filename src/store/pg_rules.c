/* pg_rules.c: the observation rules' records in PostgreSQL: passes, check-ins,
 * pre-reports (the audit trail) and each household's rule state (rebuilt at start). A new
 * pass waits for its id; the other writes are queued. */
#include "pg.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "util.h"

static const char sql_pass_insert[] =
    "INSERT INTO pass (household, worker, channel, from_usec, to_usec, reason,"
    " created_usec) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
static const char sql_pass_update[] =
    "UPDATE pass SET exit_usec = $2, return_usec = $3, overdue = $4,"
    " done = $5 WHERE id = $1";
static const char sql_checkin_insert[] =
    "INSERT INTO checkin (household, worker, channel, usec, recv_usec)"
    " VALUES ($1, $2, $3, $4, $5)";
static const char sql_report_insert[] =
    "INSERT INTO report (household, channel, reason, usec, recv_usec, number,"
    " over_limit) VALUES ($1, $2, $3, $4, $5, $6, $7)";
static const char sql_hstate_save[] =
    "INSERT INTO household_state (household, state, updated_usec)"
    " VALUES ($1, $2, $3) ON CONFLICT (household) DO UPDATE SET"
    " state = excluded.state, updated_usec = excluded.updated_usec";

int pg_insert_pass(struct store *s, const struct store_pass *p, int64_t *ret_id)
{
        struct pg_params a = { .n = 0 };
        PGresult *res;
        int r;

        pg_p_text(&a, p->household);
        pg_p_text(&a, p->worker);
        pg_p_text(&a, p->channel);
        pg_p_int(&a, p->from_usec);
        pg_p_int(&a, p->to_usec);
        pg_p_text(&a, p->reason);
        pg_p_int(&a, p->created_usec);
        res = pg_query(s, PG_PASS_INSERT, sql_pass_insert, &a, "storing pass", &r);
        if (!res)
                return r;
        if (ret_id)
                *ret_id = pg_get_int64(res, 0, 0);
        PQclear(res);
        return 0;
}

int pg_update_pass(struct store *s, const struct store_pass *p)
{
        struct pg_params a = { .n = 0 };

        pg_p_int(&a, p->id);
        pg_p_usec(&a, p->exit_usec);
        pg_p_usec(&a, p->return_usec);
        pg_p_bool(&a, p->overdue);
        pg_p_bool(&a, p->done);
        return pg_send(s, PG_PASS_UPDATE, sql_pass_update, &a, "updating pass");
}

/* The one column list of a pass, read by pass_row(). */
#define PASS_COLUMNS                                                                               \
        "id, household, worker, channel, reason, from_usec, to_usec, created_usec, exit_usec,"     \
        " return_usec, overdue, done"

static int pass_row(const PGresult *res, int i, void *userdata)
{
        struct pg_cb *c = userdata;
        struct store_pass p = {
                .id = pg_get_int64(res, i, 0),
                .household = pg_get_text(res, i, 1),
                .worker = pg_get_text(res, i, 2),
                .channel = pg_get_text(res, i, 3),
                .reason = pg_get_text(res, i, 4),
                .from_usec = pg_get_int64(res, i, 5),
                .to_usec = pg_get_int64(res, i, 6),
                .created_usec = pg_get_int64(res, i, 7),
                .exit_usec = pg_get_int64(res, i, 8),
                .return_usec = pg_get_int64(res, i, 9),
                .overdue = pg_get_bool(res, i, 10),
                .done = pg_get_bool(res, i, 11),
        };
        return ((store_pass_cb)c->fn)(&p, c->userdata);
}

int pg_list_passes(struct store *s, const struct store_pass_filter *f, store_pass_cb cb,
                   void *userdata)
{
        static const struct store_pass_filter pending = { 0 };
        struct pg_params a = { .n = 0 };
        char buf[512];
        struct sbuf q;
        PGresult *res = NULL;
        int r;

        if (!f)
                f = &pending;
        sbuf_init(&q, buf, sizeof(buf));
        sbuf_puts(&q, "SELECT " PASS_COLUMNS " FROM pass WHERE true");
        if (f->household) {
                pg_p_text(&a, f->household);
                sbuf_printf(&q, " AND household = $%d", a.n);
        }
        if (!f->all && f->now_usec) {
                pg_p_int(&a, f->now_usec);
                sbuf_printf(&q, " AND (NOT done OR to_usec > $%d)", a.n);
        } else if (!f->all)
                sbuf_puts(&q, " AND NOT done");
        sbuf_puts(&q, " ORDER BY from_usec, id");
        if (sbuf_text(&q))
                res = pg_query(s, PG_UNNAMED, sbuf_text(&q), &a, "loading passes", &r);
        else {
                log_err("database: loading passes: the statement could not be built");
                r = -EIO;
        }
        sbuf_done(&q);
        if (!res)
                return r;
        r = pg_each(res, pass_row, &(struct pg_cb){ (void (*)(void))cb, userdata });
        return r < 0 ? r : 0;
}

int pg_insert_checkin(struct store *s, const char *household, const char *worker,
                      const char *channel, int64_t usec, int64_t recv_usec)
{
        struct pg_params a = { .n = 0 };

        pg_p_text(&a, household);
        pg_p_text(&a, worker);
        pg_p_text(&a, channel);
        pg_p_int(&a, usec);
        pg_p_int(&a, recv_usec);
        return pg_send(s, PG_CHECKIN_INSERT, sql_checkin_insert, &a, "storing check-in");
}

int pg_insert_report(struct store *s, const char *household, const char *channel,
                     const char *reason, int64_t usec, int64_t recv_usec, int number,
                     bool over_limit)
{
        struct pg_params a = { .n = 0 };

        pg_p_text(&a, household);
        pg_p_text(&a, channel);
        pg_p_text(&a, reason);
        pg_p_int(&a, usec);
        pg_p_int(&a, recv_usec);
        pg_p_int(&a, number);
        pg_p_bool(&a, over_limit);
        return pg_send(s, PG_REPORT_INSERT, sql_report_insert, &a, "storing pre-report");
}

int pg_save_household_state(struct store *s, const char *household, const char *json, int64_t usec)
{
        struct pg_params a = { .n = 0 };

        pg_p_text(&a, household);
        pg_p_text(&a, json);
        pg_p_int(&a, usec);
        return pg_send(s, PG_HSTATE_SAVE, sql_hstate_save, &a, "storing household state");
}

int pg_foreach_household_state(struct store *s, store_household_state_cb cb, void *userdata)
{
        PGresult *res;
        int r = 0;

        res = pg_query(s, PG_UNNAMED, "SELECT household, state FROM household_state", NULL,
                       "loading household state", &r);
        if (!res)
                return r;
        for (int i = 0; i < PQntuples(res) && r >= 0; i++)
                r = cb(pg_get_text(res, i, 0), pg_get_text(res, i, 1), userdata);
        PQclear(res);
        return r < 0 ? r : 0;
}

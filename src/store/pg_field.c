/* pg_field.c: the field (issue 18) in PostgreSQL: medical rounds' readings (one row each,
 * with who, when, through which channel, what was measured and what it meant), from when
 * rounds are judged, every round judged (for the daily report), and the worker page's
 * one-time form nonces with the answer each first got; the same rows and meaning as
 * sqlite_field.c. Readings are personal data: the retention purge (pg_retention.c) deletes
 * them with the household (keeping a fever's community and time), and forgets the
 * household of its rounds. Writes are queued with the transaction (pg_send()) unless their
 * id is wanted. */
#include "pg.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "util.h"

static const char sql_reading_insert[] =
    "INSERT INTO reading (household, worker, channel, usec, recv_usec, temperature, symptoms,"
    " note, counts, round_usec, fever, alert_id, community)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";

int pg_insert_reading(struct store *s, const struct store_reading *r, int64_t *ret_id)
{
        struct pg_params p = { .n = 0 };
        PGresult *res;
        int rc;

        pg_p_text(&p, r->household);
        pg_p_text(&p, r->worker);
        pg_p_text(&p, r->channel);
        pg_p_int(&p, r->usec);
        pg_p_int(&p, r->recv_usec);
        pg_p_double(&p, r->temperature);
        pg_p_text(&p, r->symptoms ? r->symptoms : "[]");
        pg_p_text(&p, r->note);
        pg_p_bool(&p, r->counts);
        pg_p_usec(&p, r->round_usec);
        pg_p_bool(&p, r->fever);
        pg_p_text(&p, r->alert_id);
        pg_p_text(&p, r->community);
        if (!ret_id)
                return pg_send(s, PG_READING_INSERT, sql_reading_insert, &p, "storing a reading");
        res = pg_query(s, PG_UNNAMED,
                       "INSERT INTO reading (household, worker, channel, usec, recv_usec,"
                       " temperature, symptoms, note, counts, round_usec, fever, alert_id,"
                       " community) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
                       " $13) RETURNING id",
                       &p, "storing a reading", &rc);
        if (!res)
                return rc;
        *ret_id = pg_get_int64(res, 0, 0);
        PQclear(res);
        return 0;
}

/* The one column list of a reading, read by reading_row(). */
#define READING_COLUMNS                                                                            \
        "id, household, worker, channel, usec, recv_usec, temperature, symptoms, note, counts,"    \
        " round_usec, fever, alert_id"

static int reading_row(const PGresult *res, int i, void *userdata)
{
        struct pg_cb *c = userdata;
        struct store_reading r = {
                .id = pg_get_int64(res, i, 0),
                .household = pg_get_text(res, i, 1),
                .worker = pg_get_text(res, i, 2),
                .channel = pg_get_text(res, i, 3),
                .usec = pg_get_int64(res, i, 4),
                .recv_usec = pg_get_int64(res, i, 5),
                .temperature = pg_get_double(res, i, 6),
                .symptoms = pg_get_text(res, i, 7),
                .note = pg_get_text(res, i, 8),
                .counts = pg_get_bool(res, i, 9),
                .round_usec = pg_get_int64(res, i, 10),
                .fever = pg_get_bool(res, i, 11),
                .alert_id = pg_get_text(res, i, 12),
        };
        return ((store_reading_cb)c->fn)(&r, c->userdata);
}

int pg_list_readings(struct store *s, const struct store_reading_filter *f, store_reading_cb cb,
                     void *userdata)
{
        static const struct store_reading_filter all = { 0 };
        struct pg_params p = { .n = 0 };
        char buf[512];
        struct sbuf q;
        PGresult *res = NULL;
        int r;

        if (!f)
                f = &all;
        sbuf_init(&q, buf, sizeof(buf));
        sbuf_puts(&q, "SELECT " READING_COLUMNS " FROM reading WHERE true");
        if (f->household) {
                pg_p_text(&p, f->household);
                sbuf_printf(&q, " AND household = $%d", p.n);
        }
        if (f->worker) {
                pg_p_text(&p, f->worker);
                sbuf_printf(&q, " AND worker = $%d", p.n);
        }
        if (f->since_usec) {
                pg_p_int(&p, f->since_usec);
                sbuf_printf(&q, " AND usec >= $%d", p.n);
        }
        if (f->until_usec) {
                pg_p_int(&p, f->until_usec);
                sbuf_printf(&q, " AND usec < $%d", p.n);
        }
        sbuf_puts(&q, f->newest_first ? " ORDER BY usec DESC, id DESC" : " ORDER BY usec, id");
        if (f->limit)
                sbuf_printf(&q, " LIMIT %zu", f->limit);
        if (sbuf_text(&q))
                res = pg_query(s, PG_UNNAMED, sbuf_text(&q), &p, "loading readings", &r);
        else {
                log_err("database: loading readings: the statement could not be built");
                r = -EIO;
        }
        sbuf_done(&q);
        if (!res)
                return r;
        r = pg_each(res, reading_row, &(struct pg_cb){ (void (*)(void))cb, userdata });
        return r < 0 ? r : 0;
}

int64_t pg_rounds_since_usec(struct store *s)
{
        int64_t v = 0;

        if (pg_query_int64(s, PG_UNNAMED,
                           "SELECT value::bigint FROM meta WHERE key = 'rounds_since_usec'", NULL,
                           0, "reading when rounds are judged from", &v) < 0)
                return 0;
        return v;
}

int pg_form_result(struct store *s, const char *nonce, int *ret_status, char *buf, size_t size)
{
        struct pg_params p = { .n = 0 };
        PGresult *res;
        int r;

        pg_p_text(&p, nonce);
        res = pg_query(s, PG_UNNAMED, "SELECT status, result FROM form_nonce WHERE nonce = $1", &p,
                       "reading a form nonce", &r);
        if (!res)
                return r;
        r = STORE_E_NOT_FOUND;
        if (PQntuples(res) > 0) {
                *ret_status = (int)pg_get_int64(res, 0, 0);
                snprintf(buf, size, "%s", pg_get_text(res, 0, 1) ? pg_get_text(res, 0, 1) : "");
                r = 0;
        }
        PQclear(res);
        return r;
}

int pg_form_record(struct store *s, const char *nonce, const char *worker, int64_t usec, int status,
                   const char *result)
{
        struct pg_params p = { .n = 0 };

        pg_p_text(&p, nonce);
        pg_p_text(&p, worker);
        pg_p_int(&p, usec);
        pg_p_int(&p, status);
        pg_p_text(&p, result);
        return pg_send(s, PG_UNNAMED,
                       "INSERT INTO form_nonce (nonce, worker, usec, status, result)"
                       " VALUES ($1, $2, $3, $4, $5)",
                       &p, "recording a form nonce");
}

int pg_purge_forms(struct store *s, int64_t before_usec)
{
        struct pg_params p = { .n = 0 };

        pg_p_int(&p, before_usec);
        return pg_send(s, PG_UNNAMED, "DELETE FROM form_nonce WHERE usec < $1", &p,
                       "forgetting form nonces");
}

int pg_insert_round(struct store *s, const struct store_round *r)
{
        struct pg_params p = { .n = 0 };

        pg_p_text(&p, r->household);
        pg_p_text(&p, r->community);
        pg_p_int(&p, r->at_usec);
        pg_p_int(&p, r->end_usec);
        pg_p_text(&p, r->outcome);
        return pg_send(s, PG_ROUND_INSERT,
                       "INSERT INTO round (household, community, at_usec, end_usec, outcome)"
                       " VALUES ($1, $2, $3, $4, $5)",
                       &p, "storing a round");
}

static int round_row(const PGresult *res, int i, void *userdata)
{
        struct pg_cb *c = userdata;
        struct store_round r = {
                .household = pg_get_text(res, i, 0),
                .community = pg_get_text(res, i, 1),
                .at_usec = pg_get_int64(res, i, 2),
                .end_usec = pg_get_int64(res, i, 3),
                .outcome = pg_get_text(res, i, 4),
        };
        return ((store_round_cb)c->fn)(&r, c->userdata);
}

int pg_foreach_round(struct store *s, int64_t from_usec, int64_t to_usec, store_round_cb cb,
                     void *userdata)
{
        struct pg_params p = { .n = 0 };
        PGresult *res;
        int r;

        pg_p_int(&p, from_usec);
        pg_p_int(&p, to_usec);
        res = pg_query(s, PG_UNNAMED,
                       "SELECT household, community, at_usec, end_usec, outcome FROM round"
                       " WHERE end_usec >= $1 AND end_usec < $2 ORDER BY end_usec, id",
                       &p, "reading rounds", &r);
        if (!res)
                return r;
        r = pg_each(res, round_row, &(struct pg_cb){ (void (*)(void))cb, userdata });
        return r < 0 ? r : 0;
}

static int fever_row(const PGresult *res, int i, void *userdata)
{
        struct pg_cb *c = userdata;
        return ((store_fever_cb)c->fn)(pg_get_text(res, i, 0), pg_get_int64(res, i, 1),
                                       c->userdata);
}

int pg_foreach_fever(struct store *s, int64_t from_usec, int64_t to_usec, store_fever_cb cb,
                     void *userdata)
{
        struct pg_params p = { .n = 0 };
        PGresult *res;
        int r;

        pg_p_int(&p, from_usec);
        pg_p_int(&p, to_usec);
        res =
            pg_query(s, PG_UNNAMED,
                     "SELECT community, usec FROM reading WHERE fever AND usec >= $1 AND usec < $2"
                     " UNION ALL SELECT community, usec FROM purged_fever"
                     " WHERE usec >= $1 AND usec < $2 ORDER BY 2",
                     &p, "reading fevers", &r);
        if (!res)
                return r;
        r = pg_each(res, fever_row, &(struct pg_cb){ (void (*)(void))cb, userdata });
        return r < 0 ? r : 0;
}

/* sqlite_field.c: the field (issue 18) in SQLite: medical rounds' readings (one row each,
 * with who, when, through which channel, what was measured and what it meant), from when
 * rounds are judged, every round judged (for the daily report), and the worker page's
 * one-time form nonces with the answer each first got. Readings are personal data: the
 * retention purge deletes them with the household (keeping a fever's community and time),
 * and forgets the household of its rounds. */
#include "sqlite.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "util.h"

static const char sql_reading_insert[] =
    "INSERT INTO reading (household, worker, channel, usec, recv_usec, temperature, symptoms,"
    " note, counts, round_usec, fever, alert_id, community)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

int sqlite_insert_reading(struct store *s, const struct store_reading *r, int64_t *ret_id)
{
        sqlite3_stmt *st = sqlite_stmt(s, STMT_READING_INSERT, sql_reading_insert);
        int rc;

        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, r->household);
        sqlite_bind_text(st, 2, r->worker);
        sqlite_bind_text(st, 3, r->channel);
        sqlite3_bind_int64(st, 4, r->usec);
        sqlite3_bind_int64(st, 5, r->recv_usec);
        sqlite3_bind_double(st, 6, r->temperature);
        sqlite_bind_text(st, 7, r->symptoms ? r->symptoms : "[]");
        sqlite_bind_text(st, 8, r->note);
        sqlite3_bind_int(st, 9, r->counts);
        sqlite_bind_usec(st, 10, r->round_usec);
        sqlite3_bind_int(st, 11, r->fever);
        sqlite_bind_text(st, 12, r->alert_id);
        sqlite_bind_text(st, 13, r->community);
        rc = sqlite_step_done(s, st, "storing a reading");
        if (rc == 0 && ret_id)
                *ret_id = sqlite3_last_insert_rowid(sq(s)->db);
        return rc;
}

/* The one column list of a reading, read by reading_row(). */
#define READING_COLUMNS                                                                            \
        "id, household, worker, channel, usec, recv_usec, temperature, symptoms, note, counts,"    \
        " round_usec, fever, alert_id"

static int reading_row(sqlite3_stmt *st, void *userdata)
{
        struct sqlite_cb *c = userdata;
        struct store_reading r = {
                .id = sqlite3_column_int64(st, 0),
                .household = sqlite_text(st, 1),
                .worker = sqlite_text(st, 2),
                .channel = sqlite_text(st, 3),
                .usec = sqlite3_column_int64(st, 4),
                .recv_usec = sqlite3_column_int64(st, 5),
                .temperature = sqlite3_column_double(st, 6),
                .symptoms = sqlite_text(st, 7),
                .note = sqlite_text(st, 8),
                .counts = sqlite3_column_int(st, 9) != 0,
                .round_usec = sqlite3_column_int64(st, 10),
                .fever = sqlite3_column_int(st, 11) != 0,
                .alert_id = sqlite_text(st, 12),
        };
        return ((store_reading_cb)c->fn)(&r, c->userdata);
}

int sqlite_list_readings(struct store *s, const struct store_reading_filter *f, store_reading_cb cb,
                         void *userdata)
{
        static const struct store_reading_filter all = { 0 };
        char buf[512];
        struct sbuf q;
        sqlite3_stmt *st;
        int n = 0, r;

        if (!f)
                f = &all;
        sbuf_init(&q, buf, sizeof(buf));
        sbuf_puts(&q, "SELECT " READING_COLUMNS " FROM reading WHERE 1");
        if (f->household)
                sbuf_printf(&q, " AND household = ?%d", ++n);
        if (f->worker)
                sbuf_printf(&q, " AND worker = ?%d", ++n);
        if (f->since_usec)
                sbuf_printf(&q, " AND usec >= ?%d", ++n);
        if (f->until_usec)
                sbuf_printf(&q, " AND usec < ?%d", ++n);
        sbuf_puts(&q, f->newest_first ? " ORDER BY usec DESC, id DESC" : " ORDER BY usec, id");
        if (f->limit)
                sbuf_printf(&q, " LIMIT %zu", f->limit);
        st = sqlite_prepare_built(s, &q, "loading readings");
        if (!st)
                return -EIO;
        n = 0;
        if (f->household)
                sqlite_bind_text(st, ++n, f->household);
        if (f->worker)
                sqlite_bind_text(st, ++n, f->worker);
        if (f->since_usec)
                sqlite3_bind_int64(st, ++n, f->since_usec);
        if (f->until_usec)
                sqlite3_bind_int64(st, ++n, f->until_usec);
        r = sqlite_each(s, st, reading_row, &(struct sqlite_cb){ (void (*)(void))cb, userdata },
                        "loading readings");
        return r < 0 ? r : 0;
}

int64_t sqlite_rounds_since_usec(struct store *s)
{
        int64_t v = 0;

        if (sqlite_query_int64(s, "SELECT value FROM meta WHERE key = 'rounds_since_usec'", NULL, 0,
                               &v) < 0)
                return 0;
        return v;
}

int sqlite_form_result(struct store *s, const char *nonce, int *ret_status, char *buf, size_t size)
{
        sqlite3_stmt *st = sqlite_prepare(
            s, "SELECT status, result FROM form_nonce WHERE nonce = ?1", "reading a form nonce");
        int rc;

        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, nonce);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                *ret_status = sqlite3_column_int(st, 0);
                snprintf(buf, size, "%s", sqlite_text(st, 1) ? sqlite_text(st, 1) : "");
        }
        sqlite3_finalize(st);
        if (rc == SQLITE_ROW)
                return 0;
        return rc == SQLITE_DONE ? STORE_E_NOT_FOUND : sqlite_err(s, rc, "reading a form nonce");
}

int sqlite_form_record(struct store *s, const char *nonce, const char *worker, int64_t usec,
                       int status, const char *result)
{
        sqlite3_stmt *st = sqlite_prepare(s,
                                          "INSERT INTO form_nonce (nonce, worker, usec, status,"
                                          " result) VALUES (?1, ?2, ?3, ?4, ?5)",
                                          "recording a form nonce");
        int rc;

        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, nonce);
        sqlite_bind_text(st, 2, worker);
        sqlite3_bind_int64(st, 3, usec);
        sqlite3_bind_int(st, 4, status);
        sqlite_bind_text(st, 5, result);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        return rc == SQLITE_DONE ? 0 : sqlite_err(s, rc, "recording a form nonce");
}

int sqlite_purge_forms(struct store *s, int64_t before_usec)
{
        sqlite3_stmt *st =
            sqlite_prepare(s, "DELETE FROM form_nonce WHERE usec < ?1", "forgetting form nonces");
        int rc;

        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 1, before_usec);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        return rc == SQLITE_DONE ? 0 : sqlite_err(s, rc, "forgetting form nonces");
}

int sqlite_insert_round(struct store *s, const struct store_round *r)
{
        sqlite3_stmt *st = sqlite_stmt(s, STMT_ROUND_INSERT,
                                       "INSERT INTO round (household, community, at_usec, end_usec,"
                                       " outcome) VALUES (?1, ?2, ?3, ?4, ?5)");

        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, r->household);
        sqlite_bind_text(st, 2, r->community);
        sqlite3_bind_int64(st, 3, r->at_usec);
        sqlite3_bind_int64(st, 4, r->end_usec);
        sqlite_bind_text(st, 5, r->outcome);
        return sqlite_step_done(s, st, "storing a round");
}

static int round_row(sqlite3_stmt *st, void *userdata)
{
        struct sqlite_cb *c = userdata;
        struct store_round r = {
                .household = sqlite_text(st, 0),
                .community = sqlite_text(st, 1),
                .at_usec = sqlite3_column_int64(st, 2),
                .end_usec = sqlite3_column_int64(st, 3),
                .outcome = sqlite_text(st, 4),
        };
        return ((store_round_cb)c->fn)(&r, c->userdata);
}

int sqlite_foreach_round(struct store *s, int64_t from_usec, int64_t to_usec, store_round_cb cb,
                         void *userdata)
{
        sqlite3_stmt *st = sqlite_prepare(s,
                                          "SELECT household, community, at_usec, end_usec, outcome"
                                          " FROM round WHERE end_usec >= ?1 AND end_usec < ?2"
                                          " ORDER BY end_usec, id",
                                          "reading rounds");
        int r;

        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 1, from_usec);
        sqlite3_bind_int64(st, 2, to_usec);
        r = sqlite_each(s, st, round_row, &(struct sqlite_cb){ (void (*)(void))cb, userdata },
                        "reading rounds");
        return r < 0 ? r : 0;
}

static int fever_row(sqlite3_stmt *st, void *userdata)
{
        struct sqlite_cb *c = userdata;
        return ((store_fever_cb)c->fn)(sqlite_text(st, 0), sqlite3_column_int64(st, 1),
                                       c->userdata);
}

int sqlite_foreach_fever(struct store *s, int64_t from_usec, int64_t to_usec, store_fever_cb cb,
                         void *userdata)
{
        sqlite3_stmt *st = sqlite_prepare(
            s,
            "SELECT community, usec FROM reading WHERE fever AND usec >= ?1 AND usec < ?2"
            " UNION ALL SELECT community, usec FROM purged_fever WHERE usec >= ?1 AND usec < ?2"
            " ORDER BY 2",
            "reading fevers");
        int r;

        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 1, from_usec);
        sqlite3_bind_int64(st, 2, to_usec);
        r = sqlite_each(s, st, fever_row, &(struct sqlite_cb){ (void (*)(void))cb, userdata },
                        "reading fevers");
        return r < 0 ? r : 0;
}

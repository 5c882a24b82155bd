/* pg_conn.c: the PostgreSQL backend's connection: connecting and reconnecting, the
 * pipeline of statements and their results, round trips bounded in time, and what the
 * server's errors mean to the store.
 *
 * Invariants. The connection, when there is one, is non-blocking and in pipeline mode;
 * every command sent has an entry in `queue` saying what its result is for, and results
 * are taken in that order. A wait (pg_roundtrip()) sends a flush request (inside a
 * transaction) or a Sync (outside, which commits the statement), then takes results until
 * the queue is empty, each within PG_IO_TIMEOUT_USEC: a server that answers nothing in
 * that time (stopped, unplugged) is dropped like one that closed the connection. A dropped
 * connection loses its transaction; the store then says unreachable until a connection
 * succeeds again. Connections are attempted with exponential backoff and, from the
 * daemon's loop, without blocking: PQconnectStartParams() and PQconnectPoll() advanced as
 * far as the socket allows on each call (DNS resolution is still synchronous: use an
 * address or a local resolver).
 *
 * Where the standby issue hooks in (issue 21): the session set-up (pg.c's
 * pg_session_setup(), through store_pg.session_setup) runs on every new
 * connection (a lease would be taken there), last_ok_usec is the monotonic time of the
 * last answer from the server (a lease is trusted until it + lease_timeout/2), and
 * pg_lost() is the one place a connection ends.
 *
 * The password comes from the caller (database_password_file or the pg.password
 * credential, read by secret.c) or from libpq's own sources (the URI, PGPASSFILE,
 * ~/.pgpass); messages show the URI masked (pg_mask_uri()). */
#include "pg_conn.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define PG_IO_TIMEOUT_USEC      (5 * USEC_PER_SEC)
#define PG_CONNECT_TIMEOUT_USEC (5 * USEC_PER_SEC)
#define PG_BACKOFF_MIN_USEC     (50 * USEC_PER_MSEC)
#define PG_BACKOFF_MAX_USEC     (1 * USEC_PER_SEC)

static struct ratelimit rl_down = RATELIMIT_INIT(10 * USEC_PER_SEC, 1);

/* ---- parameters and rows ---- */

static void p_add(struct pg_params *p, const char *v, int len, int fmt)
{
        if (p->n >= PG_PARAMS_MAX)
                abort(); /* a statement of ours with too many parameters: a bug */
        p->v[p->n] = v;
        p->len[p->n] = len;
        p->fmt[p->n] = fmt;
        p->n++;
}

void pg_p_text(struct pg_params *p, const char *v)
{
        p_add(p, v, 0, 0);
}

void pg_p_null(struct pg_params *p)
{
        p_add(p, NULL, 0, 0);
}

void pg_p_int(struct pg_params *p, int64_t v)
{
        char *b = p->num[p->n < PG_PARAMS_MAX ? p->n : 0];
        snprintf(b, sizeof(p->num[0]), "%lld", (long long)v);
        p_add(p, b, 0, 0);
}

void pg_p_usec(struct pg_params *p, int64_t v)
{
        if (v)
                pg_p_int(p, v);
        else
                pg_p_null(p);
}

void pg_p_double(struct pg_params *p, double v)
{
        char *b = p->num[p->n < PG_PARAMS_MAX ? p->n : 0];
        snprintf(b, sizeof(p->num[0]), "%.17g", v);
        p_add(p, b, 0, 0);
}

void pg_p_bool(struct pg_params *p, bool v)
{
        p_add(p, v ? "t" : "f", 0, 0);
}

void pg_p_bytes(struct pg_params *p, const void *v, size_t len)
{
        p_add(p, v, (int)len, 1);
}

const char *pg_get_text(const PGresult *r, int row, int col)
{
        return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

bool pg_get_isnull(const PGresult *r, int row, int col)
{
        return PQgetisnull(r, row, col);
}

int64_t pg_get_int64(const PGresult *r, int row, int col)
{
        return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

double pg_get_double(const PGresult *r, int row, int col)
{
        return PQgetisnull(r, row, col) ? 0 : strtod(PQgetvalue(r, row, col), NULL);
}

bool pg_get_bool(const PGresult *r, int row, int col)
{
        return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

int pg_each(PGresult *res, int (*row)(const PGresult *res, int i, void *ctx), void *ctx)
{
        int n = PQntuples(res), r = 0;

        for (int i = 0; i < n && r >= 0; i++)
                r = row(res, i, ctx);
        PQclear(res);
        return r < 0 ? r : n;
}

void pg_where_in(struct sbuf *q, const char *column, unsigned mask, const char *const *names, int n)
{
        const char *sep = "";

        if (!mask)
                return;
        sbuf_printf(q, " AND %s IN (", column);
        for (int i = 0; i < n; i++)
                if (mask & (1u << i)) {
                        sbuf_printf(q, "%s'%s'", sep, names[i]);
                        sep = ", ";
                }
        sbuf_putc(q, ')');
}

int pg_foreach_device_usec(PGresult *res, store_device_usec_cb cb, void *userdata)
{
        int n = PQntuples(res), r = 0;

        for (int i = 0; i < n && r >= 0; i++)
                if (!PQgetisnull(res, i, 0))
                        r = cb(PQgetvalue(res, i, 0), pg_get_int64(res, i, 1), userdata);
        PQclear(res);
        return r < 0 ? r : 0;
}

void pg_array_init(struct pg_array *a)
{
        sbuf_init(&a->b, NULL, 0);
        sbuf_putc(&a->b, '{');
        a->n = 0;
}

void pg_array_text(struct pg_array *a, const char *v)
{
        if (a->n++)
                sbuf_putc(&a->b, ',');
        if (!v) {
                sbuf_puts(&a->b, "NULL");
                return;
        }
        /* Quoted always (an empty string, NULL, spaces, braces and commas are data), with
         * the two characters that end or escape a quoted element escaped. */
        sbuf_putc(&a->b, '"');
        for (const char *c = v; *c; c++) {
                if (*c == '"' || *c == '\\')
                        sbuf_putc(&a->b, '\\');
                sbuf_putc(&a->b, *c);
        }
        sbuf_putc(&a->b, '"');
}

void pg_array_int(struct pg_array *a, int64_t v)
{
        sbuf_printf(&a->b, "%s%lld", a->n++ ? "," : "", (long long)v);
}

char *pg_array_finish(struct pg_array *a)
{
        sbuf_putc(&a->b, '}');
        return sbuf_finish(&a->b);
}

/* ---- the URI as shown ---- */

char *pg_mask_uri(const char *uri)
{
        struct sbuf b;
        const char *p = strstr(uri, "://"), *at, *colon, *q;

        sbuf_init(&b, NULL, 0);
        if (!p) {
                sbuf_puts(&b, uri);
                return sbuf_finish(&b);
        }
        p += 3;
        /* userinfo ends at the last '@' before the path or query */
        q = p + strcspn(p, "/?");
        at = NULL;
        for (const char *c = p; c < q; c++)
                if (*c == '@')
                        at = c;
        colon = at ? memchr(p, ':', (size_t)(at - p)) : NULL;
        if (colon) {
                sbuf_add(&b, uri, (size_t)(colon + 1 - uri));
                sbuf_puts(&b, "***");
                p = at;
        } else {
                sbuf_add(&b, uri, (size_t)(p - uri));
        }
        /* password=... among the parameters */
        while (*p) {
                const char *next = p + strcspn(p, "?&");
                sbuf_add(&b, p, (size_t)(next - p));
                if (!*next)
                        break;
                sbuf_putc(&b, *next);
                p = next + 1;
                if (strncmp(p, "password=", 9) == 0) {
                        sbuf_puts(&b, "password=***");
                        p += 9 + strcspn(p + 9, "&");
                }
        }
        return sbuf_finish(&b);
}

/* ---- errors ---- */

/* libpq's messages end with a newline and may hold more lines: one line for the log. */
static void strip_newline(char *m)
{
        size_t n = strlen(m);
        while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' '))
                m[--n] = 0;
        for (char *p = m; *p; p++)
                if (*p == '\n' || *p == '\t')
                        *p = ' ';
}

int pg_errno_of(const PGresult *res, bool *ret_unreachable)
{
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        bool gone = false;
        int r = -EIO;

        if (!state)
                gone = true; /* no answer from the server at all */
        else if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)
                gone = true; /* connection exception, admin or crash shutdown */
        else if (strcmp(state, "25006") == 0)
                gone = true; /* a server that takes no writes (a standby after failover) */
        else if (strncmp(state, "53", 2) == 0)
                r = strcmp(state, "53100") == 0 ? -ENOSPC : -EIO; /* insufficient resources */
        else if (strcmp(state, "42501") == 0)
                r = -EACCES;
        else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
                 strcmp(state, "55P03") == 0)
                r = -EBUSY;
        if (ret_unreachable)
                *ret_unreachable = gone || (state && strncmp(state, "53", 2) == 0);
        return gone ? -ENOTCONN : r;
}

/* ---- connection ---- */

static void on_notice(void *arg, const char *message)
{
        _cleanup_free_ char *m = xstrdup(message);
        strip_newline(m);
        log_debug("database: %s", m);
}

void pg_disconnect(struct store *s)
{
        struct store_pg *q = pq(s);

        if (q->conn)
                PQfinish(q->conn);
        q->conn = NULL;
        q->connecting = false;
        q->q_head = q->q_len = 0;
        q->need_sync = false;
        memset(q->prepared, 0, sizeof(q->prepared));
        q->txn = false;
        q->in_savepoint = false;
        q->n_seq = 0;
}

static void schedule_attempt(struct store_pg *q)
{
        int64_t d = PG_BACKOFF_MIN_USEC;

        for (unsigned i = 0; i < q->attempt && d < PG_BACKOFF_MAX_USEC; i++)
                d *= 2;
        d = MIN(d, PG_BACKOFF_MAX_USEC);
        q->attempt++;
        q->next_attempt_usec = now_monotonic_usec() + d / 2 + random() % (d / 2 + 1);
}

int pg_lost(struct store *s, const char *why)
{
        struct store_pg *q = pq(s);
        _cleanup_free_ char *m = xstrdup(why);

        strip_newline(m);
        if (q->txn && !q->txn_error)
                q->txn_error = -ENOTCONN;
        if (!q->down_since_usec) {
                q->down_since_usec = now_monotonic_usec();
                log_err("database %s: %s: %s", q->shown,
                        q->connecting ? "cannot connect" : "connection lost", m);
        } else if (ratelimit_below(&rl_down))
                log_err("database %s unreachable for %.1f s: %s", q->shown,
                        (double)(now_monotonic_usec() - q->down_since_usec) / USEC_PER_SEC, m);
        pg_disconnect(s);
        q->unreachable = true;
        schedule_attempt(q);
        return -ENOTCONN;
}

static int connect_start(struct store *s)
{
        struct store_pg *q = pq(s);
        /* Defaults first: what the URI says overrides them (later keywords win); the
         * password read by the caller comes last and wins over one in the URI. */
        const char *keys[] = { "connect_timeout",
                               "keepalives_idle",
                               "keepalives_interval",
                               "keepalives_count",
                               "tcp_user_timeout",
                               "target_session_attrs",
                               "fallback_application_name",
                               "dbname",
                               q->password ? "password" : NULL,
                               NULL };
        const char *vals[] = { "5",          "10",    "5",
                               "3",          "10000", q->readonly ? "any" : "read-write",
                               "doorwatchd", q->uri,  q->password,
                               NULL };

        q->conn = PQconnectStartParams(keys, vals, 1);
        if (!q->conn)
                abort(); /* libpq could not allocate its connection object */
        if (PQstatus(q->conn) == CONNECTION_BAD)
                return -ENOTCONN;
        PQsetNoticeProcessor(q->conn, on_notice, NULL);
        q->connecting = true;
        q->polling = PGRES_POLLING_WRITING;
        q->connect_started_usec = now_monotonic_usec();
        return 0;
}

/* Waits until fd is ready for events or deadline (monotonic usec; 0: do not wait).
 * Returns > 0 ready, 0 timed out, negative errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
        struct pollfd p = { .fd = fd, .events = events };
        int64_t left = deadline ? deadline - now_monotonic_usec() : 0;
        int r;

        if (fd < 0)
                return -ENOTCONN;
        do
                r = poll(&p, 1, left > 0 ? (int)((left + 999) / 1000) : 0);
        while (r < 0 && errno == EINTR);
        return r < 0 ? -errno : r;
}

static int connected(struct store *s)
{
        struct store_pg *q = pq(s);
        int r;

        q->connecting = false;
        if (PQsetnonblocking(q->conn, 1) != 0 || PQenterPipelineMode(q->conn) != 1)
                return pg_lost(s, PQerrorMessage(q->conn));
        q->last_ok_usec = now_monotonic_usec();
        r = q->session_setup ? q->session_setup(s) : 0;
        if (r < 0) {
                if (q->conn)
                        pg_lost(s, "setting up the session failed");
                return -ENOTCONN;
        }
        if (q->down_since_usec)
                log_notice("database %s: connected again after %.1f s", q->shown,
                           (double)(now_monotonic_usec() - q->down_since_usec) / USEC_PER_SEC);
        q->down_since_usec = 0;
        q->attempt = 0;
        q->unreachable = false;
        q->connects++;
        return 0;
}

int pg_ready(struct store *s, bool wait)
{
        struct store_pg *q = pq(s);
        int64_t deadline;

        if (q->conn && !q->connecting) {
                if (PQstatus(q->conn) == CONNECTION_OK)
                        return 0;
                return pg_lost(s, PQerrorMessage(q->conn));
        }
        if (!q->conn) {
                if (!wait && now_monotonic_usec() < q->next_attempt_usec)
                        return -ENOTCONN;
                if (connect_start(s) < 0)
                        return pg_lost(s, q->conn ? PQerrorMessage(q->conn) : "out of memory");
        }
        deadline = wait ? q->connect_started_usec + PG_CONNECT_TIMEOUT_USEC : 0;
        for (;;) {
                int r;

                if (q->polling == PGRES_POLLING_OK)
                        return connected(s);
                if (q->polling == PGRES_POLLING_FAILED)
                        return pg_lost(s, PQerrorMessage(q->conn));
                if (now_monotonic_usec() - q->connect_started_usec > PG_CONNECT_TIMEOUT_USEC)
                        return pg_lost(s, "timeout while connecting");
                r = wait_fd(PQsocket(q->conn),
                            q->polling == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
                if (r < 0)
                        return pg_lost(s, PQerrorMessage(q->conn));
                if (r == 0) {
                        if (!wait)
                                return -ENOTCONN; /* in progress: asked again soon */
                        continue;                 /* the timeout check above ends it */
                }
                q->polling = PQconnectPoll(q->conn);
        }
}

/* ---- the pipeline ---- */

static int expect(struct store_pg *q, enum pg_expect_kind kind, int stmt, const char *what)
{
        struct pg_expect *e;

        if (q->q_len >= ELEMENTSOF(q->queue))
                return -ENOBUFS;
        e = &q->queue[(q->q_head + q->q_len++) % ELEMENTSOF(q->queue)];
        *e = (struct pg_expect){ .kind = (uint8_t)kind, .stmt = (int16_t)stmt, .what = what };
        return 0;
}

/* Writes what libpq holds, reading meanwhile so the server never blocks on us. */
static int flush(struct store *s, int64_t deadline)
{
        struct store_pg *q = pq(s);
        int r;

        while ((r = PQflush(q->conn)) == 1) {
                int w = wait_fd(PQsocket(q->conn), POLLIN | POLLOUT, deadline);
                if (w <= 0)
                        return pg_lost(s, w == 0 ? "timeout while sending" : "poll failed");
                if (PQconsumeInput(q->conn) != 1)
                        return pg_lost(s, PQerrorMessage(q->conn));
        }
        return r == 0 ? 0 : pg_lost(s, PQerrorMessage(q->conn));
}

/* The next result, or NULL at the end of a command's results; *ret < 0 when the
 * connection was lost meanwhile. */
static PGresult *next_result(struct store *s, int64_t deadline, int *ret)
{
        struct store_pg *q = pq(s);

        *ret = 0;
        while (PQisBusy(q->conn)) {
                int w = wait_fd(PQsocket(q->conn), POLLIN, deadline);
                if (w <= 0) {
                        *ret = pg_lost(s, w == 0 ? "no answer in time" : "poll failed");
                        return NULL;
                }
                if (PQconsumeInput(q->conn) != 1) {
                        *ret = pg_lost(s, PQerrorMessage(q->conn));
                        return NULL;
                }
        }
        return PQgetResult(q->conn);
}

/* A failed result: logged, and the transaction (if any) fails with it. Returns the errno. */
static int failed(struct store *s, PGresult *res, const char *what)
{
        struct store_pg *q = pq(s);
        bool gone = false;
        _cleanup_free_ char *m = NULL;
        int r;

        q->need_sync = true;
        if (PQresultStatus(res) == PGRES_PIPELINE_ABORTED)
                return q->txn_error ? q->txn_error : -EIO; /* skipped after an earlier error */
        r = pg_errno_of(res, &gone);
        m = xstrdup(PQresultErrorMessage(res));
        strip_newline(m);
        log_err("database: %s: %s", what ? what : "statement", m);
        if (q->txn && !q->txn_error)
                q->txn_error = r;
        if (gone) {
                q->unreachable = true;
                pg_lost(s, m); /* reconnect rather than stay on a server that refuses */
        }
        return r;
}

/* Takes the results of every queued command in order. The wanted one, when there is one,
 * is kept in *ret_res; the first error is returned. */
static int drain(struct store *s, PGresult **ret_res)
{
        struct store_pg *q = pq(s);
        int64_t deadline = now_monotonic_usec() + PG_IO_TIMEOUT_USEC;
        int first = 0;

        while (q->conn && q->q_len > 0) {
                struct pg_expect e = q->queue[q->q_head];
                ExecStatusType st;
                PGresult *res, *end;
                int r;

                res = next_result(s, deadline, &r);
                if (r < 0)
                        return first ? first : r;
                q->q_head = (q->q_head + 1) % ELEMENTSOF(q->queue);
                q->q_len--;
                if (!res) {
                        /* a command without a result of its own: cannot happen */
                        first = first ? first : -EIO;
                        continue;
                }
                q->last_ok_usec = now_monotonic_usec();
                st = PQresultStatus(res);
                if (e.kind == PG_EXPECT_SYNC) {
                        if (st == PGRES_PIPELINE_SYNC)
                                q->need_sync = false;
                        PQclear(res);
                        continue;
                }
                /* Each command's results end with a NULL. */
                end = next_result(s, deadline, &r);
                if (r < 0) {
                        PQclear(res);
                        return first ? first : r;
                }
                PQclear(end);
                if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
                        if (e.kind == PG_EXPECT_WANTED && ret_res)
                                *ret_res = res;
                        else
                                PQclear(res);
                        continue;
                }
                if (e.kind == PG_EXPECT_PREPARE && e.stmt >= 0)
                        q->prepared[e.stmt] = false;
                r = failed(s, res, e.what);
                PQclear(res);
                if (!first)
                        first = r;
                if (!q->conn)
                        return first;
        }
        return q->conn ? first : first ? first : -ENOTCONN;
}

/* Ends the segment (sync) or asks for what was sent so far, then takes every result. */
static int wait_results(struct store *s, bool sync, PGresult **ret_res)
{
        struct store_pg *q = pq(s);
        int r;

        if (!q->conn)
                return -ENOTCONN;
        if (sync) {
                if (PQpipelineSync(q->conn) != 1)
                        return pg_lost(s, PQerrorMessage(q->conn));
                expect(q, PG_EXPECT_SYNC, -1, NULL);
        } else if (PQsendFlushRequest(q->conn) != 1)
                return pg_lost(s, PQerrorMessage(q->conn));
        int64_t t0 = now_monotonic_usec();
        r = flush(s, t0 + PG_IO_TIMEOUT_USEC);
        if (r == 0)
                r = drain(s, ret_res);
        q->n_waits++;
        q->wait_usec += now_monotonic_usec() - t0;
        return r;
}

int pg_roundtrip(struct store *s, bool sync)
{
        return wait_results(s, sync, NULL);
}

/* Sends one command (preparing its statement first when needed). */
static int send_one(struct store *s, int which, const char *sql, const struct pg_params *p,
                    enum pg_expect_kind kind, const char *what)
{
        struct store_pg *q = pq(s);
        static const struct pg_params none = { .n = 0 };
        char name[16];
        int r;

        if (!p)
                p = &none;
        if (q->q_len >= PG_QUEUE_MAX) {
                r = pg_roundtrip(s, !q->txn);
                if (r < 0 && !q->conn)
                        return r;
        }
        if (q->need_sync) {
                /* An error skipped the rest of the segment; commands after it would be
                 * skipped too. Inside a transaction it stays failed until ROLLBACK (TO). */
                if (PQpipelineSync(q->conn) != 1)
                        return pg_lost(s, PQerrorMessage(q->conn));
                expect(q, PG_EXPECT_SYNC, -1, NULL);
                q->need_sync = false;
        }
        if (which == PG_UNNAMED) {
                if (PQsendQueryParams(q->conn, sql, p->n, NULL, p->v, p->len, p->fmt, 0) != 1)
                        return pg_lost(s, PQerrorMessage(q->conn));
                q->n_sent++;
                return expect(q, kind, -1, what);
        }
        snprintf(name, sizeof(name), "dw%d", which);
        if (!q->prepared[which]) {
                if (PQsendPrepare(q->conn, name, sql, p->n, NULL) != 1)
                        return pg_lost(s, PQerrorMessage(q->conn));
                expect(q, PG_EXPECT_PREPARE, which, what);
                q->prepared[which] = true;
        }
        if (PQsendQueryPrepared(q->conn, name, p->n, p->v, p->len, p->fmt, 0) != 1)
                return pg_lost(s, PQerrorMessage(q->conn));
        q->n_sent++;
        return expect(q, kind, which, what);
}

int pg_send(struct store *s, int which, const char *sql, const struct pg_params *p,
            const char *what)
{
        struct store_pg *q = pq(s);
        int r;

        if (!q->txn) {
                r = pg_command(s, which, sql, p, what);
                return r < 0 ? r : 0;
        }
        if (q->txn_error)
                return q->txn_error; /* the transaction is lost anyway */
        if (!q->conn)
                return -ENOTCONN;
        r = send_one(s, which, sql, p, PG_EXPECT_WRITE, what);
        return r < 0 ? r : 0;
}

PGresult *pg_query(struct store *s, int which, const char *sql, const struct pg_params *p,
                   const char *what, int *ret)
{
        struct store_pg *q = pq(s);
        PGresult *res = NULL;
        int r;

        if (q->txn && q->txn_error) {
                *ret = q->txn_error;
                return NULL;
        }
        if (!q->txn) {
                /* Outside a transaction: connect if needed. Readers (doorwatchctl) wait for
                 * a connection; the daemon's loop does not (pg_ready()). */
                r = pg_ready(s, q->readonly);
                if (r < 0) {
                        *ret = r;
                        return NULL;
                }
        } else if (!q->conn) {
                *ret = -ENOTCONN;
                return NULL;
        }
        r = send_one(s, which, sql, p, PG_EXPECT_WANTED, what);
        if (r == 0)
                r = wait_results(s, !q->txn, &res);
        if (r < 0 && res) {
                PQclear(res);
                res = NULL;
        }
        if (r == 0 && !res)
                r = -EIO;
        *ret = r;
        return res;
}

int pg_command(struct store *s, int which, const char *sql, const struct pg_params *p,
               const char *what)
{
        int r;
        PGresult *res = pg_query(s, which, sql, p, what, &r);

        if (!res)
                return r;
        r = atoi(PQcmdTuples(res));
        PQclear(res);
        return r;
}

int pg_query_int64(struct store *s, int which, const char *sql, const char *arg, int64_t dflt,
                   const char *what, int64_t *ret)
{
        struct pg_params p = { .n = 0 };
        PGresult *res;
        int r;

        if (arg)
                pg_p_text(&p, arg);
        res = pg_query(s, which, sql, &p, what, &r);
        if (!res)
                return r;
        *ret = PQntuples(res) > 0 && !PQgetisnull(res, 0, 0) ? pg_get_int64(res, 0, 0) : dflt;
        PQclear(res);
        return 0;
}

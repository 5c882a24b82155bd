/* pg_conn.h: the PostgreSQL backend's connection and statements (pg_conn.c), under the
 * operations of pg.h: struct store_pg, the prepared statement slots, parameters, round
 * trips, row readers and array literals. Private to src/store/pg*.c and to unit tests. */
#pragma once

#include <libpq-fe.h>

#include "backend.h"
#include "store.h"
#include "util.h"

/* Named prepared statements, one slot each (the SQL stands where it is used); prepared on
 * first use on each connection. */
enum {
        PG_EVENT_EXISTS,
        PG_EVENT_INSERT,
        PG_SEQ_NEXT,
        PG_SEQ_SET,
        PG_DEVICE_SEEN,
        PG_ALERT_INSERT,
        PG_ALERT_UPDATE,
        PG_ACTION_INSERT,
        PG_ALERT_ACK,
        PG_ALERT_RESOLVE,
        PG_ALERT_REASON,
        PG_NOTIF_INSERT,
        PG_NOTIF_DUE,
        PG_NOTIF_STATE,
        PG_NOTIF_NEXT,
        PG_NOTIF_DEPTH,
        PG_NOTIF_DEFER,
        PG_NOTIF_WAKE,
        PG_NOTIFIED_WORKERS,
        PG_PASS_INSERT,
        PG_PASS_UPDATE,
        PG_CHECKIN_INSERT,
        PG_REPORT_INSERT,
        PG_HSTATE_SAVE,
        PG_OPENING_SETTLE,
        PG_READING_INSERT,
        PG_ROUND_INSERT,
        _PG_STMT_MAX,
};
#define PG_UNNAMED (-1) /* pg_query()/pg_command() of a statement not kept */

/* What a queued command's result is for, in the order they come back. */
enum pg_expect_kind {
        PG_EXPECT_PREPARE, /* a Parse: on failure the slot is prepared again next time */
        PG_EXPECT_WRITE,   /* a queued write: an error fails the transaction */
        PG_EXPECT_WANTED,  /* the result the caller waits for */
        PG_EXPECT_SYNC,    /* the end of a pipeline segment (implicit commit outside BEGIN) */
};

#define PG_QUEUE_MAX  512 /* queued writes before one round trip drains them */
#define PG_PARAMS_MAX 20
#define PG_SEQ_MAX    4

struct store_pg {
        struct store base;
        PGconn *conn; /* NULL while disconnected */
        char *uri;    /* as configured (may hold a password: never printed) */
        char *shown;  /* uri with any password masked, for messages */
        char *password;
        bool readonly, sync_full;
        /* pg.c's set-up of every new session (pg_session_setup()), called by pg_conn.c
         * once a connection is usable. */
        int (*session_setup)(struct store *s);

        /* Connection (pg_conn.c). */
        bool connecting;                   /* PQconnectStart() done, not yet usable */
        PostgresPollingStatusType polling; /* what PQconnectPoll() asked for last */
        int64_t connect_started_usec;      /* monotonic */
        unsigned attempt;                  /* failed attempts in a row (backoff) */
        int64_t next_attempt_usec;         /* monotonic; no attempt before, unless waiting */
        int64_t down_since_usec;           /* monotonic; 0 while connected */
        int64_t last_ok_usec;              /* monotonic: the last answer from the server */
        uint64_t connects;                 /* successful connections */
        uint64_t n_sent, n_waits;          /* statements sent, round trips waited for */
        int64_t wait_usec;                 /* time spent waiting for answers */
        bool unreachable;                  /* the last failure was the server's absence */
        bool prepared[_PG_STMT_MAX];       /* on this connection */
        struct pg_expect {
                uint8_t kind;
                int16_t stmt;
                const char *what;
        } queue[PG_QUEUE_MAX + 4];
        size_t q_head, q_len;
        bool need_sync; /* an error skipped the rest of the segment: Sync before more */

        /* Transaction (pg.c). */
        bool txn;      /* BEGIN sent */
        int txn_error; /* first failure inside it (negative errno), 0 = none */
        bool in_savepoint;
        int savepoint_error; /* txn_error when the savepoint was taken */
        struct pg_seq {
                char name[32];
                long long value; /* the last id handed out */
                bool dirty;      /* value is ahead of the row */
        } seq[PG_SEQ_MAX];
        size_t n_seq;
};

static inline struct store_pg *pq(struct store *s)
{
        return (struct store_pg *)s;
}

/* Parameters of one statement, text format unless pg_p_bytes(). Values are copied into
 * libpq's buffer when the statement is sent: a struct pg_params may live on the stack. */
struct pg_params {
        const char *v[PG_PARAMS_MAX];
        int len[PG_PARAMS_MAX];
        int fmt[PG_PARAMS_MAX];
        char num[PG_PARAMS_MAX][32];
        int n;
};
void pg_p_text(struct pg_params *p, const char *v); /* NULL is NULL */
void pg_p_int(struct pg_params *p, int64_t v);
void pg_p_usec(struct pg_params *p, int64_t v); /* 0 is NULL (no such time) */
void pg_p_double(struct pg_params *p, double v);
void pg_p_null(struct pg_params *p);
void pg_p_bool(struct pg_params *p, bool v);
void pg_p_bytes(struct pg_params *p, const void *v, size_t len); /* bytea, binary */

/* A usable connection: 0, or -ENOTCONN (logged, rate-limited) when the server cannot be
 * reached. wait: connect now, blocking up to the connect timeout; otherwise a connection
 * is only attempted when the backoff allows, and one in progress is advanced without
 * blocking (the daemon asks again soon). */
int pg_ready(struct store *s, bool wait);
/* Drops the connection (the server is gone, or answers nothing in time): an open
 * transaction is lost. Returns -ENOTCONN. */
int pg_lost(struct store *s, const char *why);
void pg_disconnect(struct store *s);
/* Queues a write (inside a transaction; outside one it waits like pg_command()). which is
 * a PG_* slot whose sql is prepared once per connection, or PG_UNNAMED. */
int pg_send(struct store *s, int which, const char *sql, const struct pg_params *p,
            const char *what);
/* Sends and waits for the answer (after the results of everything queued before it). A
 * PGresult that is PGRES_TUPLES_OK or PGRES_COMMAND_OK (PQclear() it), or NULL with *ret a
 * negative errno (logged with what). */
PGresult *pg_query(struct store *s, int which, const char *sql, const struct pg_params *p,
                   const char *what, int *ret);
/* pg_query() of a statement without rows: the number of rows it changed, or a negative
 * errno. */
int pg_command(struct store *s, int which, const char *sql, const struct pg_params *p,
               const char *what);
/* Sends a Sync and waits until everything queued has answered. sync: the pipeline's
 * implicit transaction ends (outside BEGIN), otherwise a flush request only. */
int pg_roundtrip(struct store *s, bool sync);
/* The first failure of the open transaction, or of the last statement outside one. */
int pg_errno_of(const PGresult *res, bool *ret_unreachable);
/* The URI with the password of its userinfo or of a password= parameter replaced by
 * "***" (malloc'd). */
char *pg_mask_uri(const char *uri);

/* Row readers of a result in text format: NULL / 0 for SQL NULL. */
const char *pg_get_text(const PGresult *r, int row, int col);
int64_t pg_get_int64(const PGresult *r, int row, int col);
double pg_get_double(const PGresult *r, int row, int col);
bool pg_get_bool(const PGresult *r, int row, int col);
bool pg_get_isnull(const PGresult *r, int row, int col);
/* Calls row(res, i, ctx) for each row until one returns a negative value, then clears
 * res. Returns that value or the number of rows. */
int pg_each(PGresult *res, int (*row)(const PGresult *res, int i, void *ctx), void *ctx);
/* A store_*_cb (cast back to its type by the row function) and its userdata. */
struct pg_cb {
        void (*fn)(void);
        void *userdata;
};
/* Appends " AND column IN ('name', ...)" for the bits set in mask (bit i: names[i], i < n);
 * nothing when mask is 0. The names are the program's own constants, never input. */
void pg_where_in(struct sbuf *q, const char *column, unsigned mask, const char *const *names,
                 int n);
/* The first column of the first row of sql (one text argument or none), dflt for NULL or
 * no row. */
int pg_query_int64(struct store *s, int which, const char *sql, const char *arg, int64_t dflt,
                   const char *what, int64_t *ret);
/* Rows of (device, usec) of a result. */
int pg_foreach_device_usec(PGresult *res, store_device_usec_cb cb, void *userdata);
/* A one-dimensional array literal ("{...}") for one text-format parameter, built element
 * by element: one statement over many rows (unnest($1::text[], ...)) is one round trip. */
struct pg_array {
        struct sbuf b;
        size_t n;
};
void pg_array_init(struct pg_array *a);
void pg_array_text(struct pg_array *a, const char *v); /* NULL is NULL */
void pg_array_int(struct pg_array *a, int64_t v);
/* The literal (malloc'd); a is done. */
char *pg_array_finish(struct pg_array *a);

/* sqlite.h: private to the store's SQLite files (src/store/sqlite*.c): the connection
 * and its cached statements, and the helpers they share. Nothing outside src/store/
 * includes it. */
#pragma once

#include <sqlite3.h>

#include "store.h"

enum {
        STMT_EVENT_EXISTS,
        STMT_EVENT_INSERT,
        STMT_SEQ_NEXT,
        STMT_SEQ_SET,
        STMT_DEVICE_SEEN,
        STMT_BEGIN,
        STMT_COMMIT,
        STMT_ROLLBACK,
        STMT_SAVEPOINT,
        STMT_RELEASE,
        STMT_ROLLBACK_TO,
        STMT_ALERT_INSERT,
        STMT_ALERT_UPDATE,
        STMT_ACTION_INSERT,
        STMT_ALERT_ACK,
        STMT_ALERT_RESOLVE,
        STMT_NOTIF_INSERT,
        STMT_NOTIF_DUE,
        STMT_NOTIF_STATE,
        STMT_NOTIF_NEXT,
        STMT_NOTIF_DEPTH,
        STMT_NOTIF_DEFER,
        STMT_NOTIF_WAKE,
        STMT_NOTIFIED_WORKERS,
        /* observation rules (issue 4) */
        STMT_PASS_INSERT,
        STMT_PASS_UPDATE,
        STMT_CHECKIN_INSERT,
        STMT_REPORT_INSERT,
        STMT_HSTATE_SAVE,
        STMT_ALERT_REASON,
        _STMT_MAX,
};

#define SEQ_CACHE_MAX 4

struct store {
        sqlite3 *db;
        void (*begin_hook)(void *userdata);
        void *begin_userdata;
        char *path;
        bool in_txn;
        bool readonly;
        bool write_failed; /* the last BEGIN or COMMIT failed; cleared by the next COMMIT */
        bool quiet_busy;   /* store_try_begin(): a busy database is not an error to log */
        sqlite3_stmt *stmt[_STMT_MAX];
        /* Id counters (seq rows) in use: the row is read (and bumped) once, then counted
         * here and written back before COMMIT and before each SAVEPOINT, so a ROLLBACK TO
         * finds the row as the counter was and the cache is just dropped. */
        struct seq_entry {
                char name[32];
                long long value; /* the last id handed out */
                bool dirty;      /* value is ahead of the row */
        } seq[SEQ_CACHE_MAX];
        size_t n_seq;
        /* Manual checkpoints (store_manual_checkpoints()): frames in the WAL after the last
         * commit. */
        int wal_frames;
};

int sql_err(struct store *s, int rc, const char *what);
int exec_sql(struct store *s, const char *sql);
sqlite3_stmt *stmt(struct store *s, int which);
void bind_text(sqlite3_stmt *st, int i, const char *v);
void bind_usec(sqlite3_stmt *st, int i, int64_t v);
int step_done(struct store *s, sqlite3_stmt *st, const char *what);
int foreach_device_usec_stmt(struct store *s, sqlite3_stmt *st, const char *text, int64_t usec,
                             store_device_usec_cb cb, void *userdata, const char *what);
int query_int64(struct store *s, const char *sql, const char *arg, int64_t dflt, int64_t *ret);

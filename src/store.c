/* store.c: SQLite persistence. One connection, prepared statements cached for the
 * life of the store, schema versioned in `meta` and migrated forward at open.
 *
 * Durability: journal_mode=WAL; synchronous=NORMAL by default (a committed transaction
 * survives a crash of the daemon; a power cut may lose the last commits) or FULL
 * (fsync at every commit). The file and its directory are created group-readable only. */
#include "store.h"

#include <errno.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

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
        STMT_OPENING_SETTLE,
        _STMT_MAX,
};

static const char *const stmt_sql[_STMT_MAX] = {
        /* The opening's first row at its time (a later repeat at the same time is not it). */
        [STMT_OPENING_SETTLE] =
            "UPDATE event SET verdict = ?3, reason = ?4, alert_id = ?5 WHERE id = ("
            " SELECT id FROM event WHERE household = ?1 AND event_usec = ?2 AND type = 'door'"
            " AND state = 'open' ORDER BY id LIMIT 1)",
        [STMT_EVENT_EXISTS] = "SELECT 1 FROM event WHERE device = ?1 AND uid = ?2",
        [STMT_EVENT_INSERT] =
            "INSERT INTO event (device, household, source, uid, type, state, ts, recv_usec,"
            " event_usec, retained, verdict, reason, alert_id, payload)"
            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
            " ON CONFLICT (device, uid) DO NOTHING",
        [STMT_SEQ_SET] = "UPDATE seq SET value = ?2 WHERE name = ?1",
        /* event_household (household, event_usec) bounds the scan to the recent events. */
        [STMT_DEVICE_SEEN] = "SELECT device, max(recv_usec) FROM event"
                             " WHERE household = ?1 AND event_usec >= ?2 AND retained = 0"
                             " GROUP BY device",
        [STMT_BEGIN] = "BEGIN IMMEDIATE",
        [STMT_COMMIT] = "COMMIT",
        [STMT_ROLLBACK] = "ROLLBACK",
        [STMT_SAVEPOINT] = "SAVEPOINT step",
        [STMT_RELEASE] = "RELEASE step",
        [STMT_ROLLBACK_TO] = "ROLLBACK TO step",
        [STMT_SEQ_NEXT] = "INSERT INTO seq (name, value) VALUES (?1, 1)"
                          " ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
        [STMT_ALERT_INSERT] =
            "INSERT INTO alert (id, household, community, device, kind, severity, state,"
            " reason, count, event_uid, event_ts, raised_usec, last_event_usec, step, round,"
            " next_usec) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
            " ?14, ?15, ?16)",
        [STMT_ALERT_UPDATE] = "UPDATE alert SET severity = ?2, state = ?3, count = ?4,"
                              " last_event_usec = ?5, step = ?6, round = ?7, next_usec = ?8,"
                              " kind = ?9, reminders = ?10 WHERE id = ?1",
        [STMT_ACTION_INSERT] = "INSERT INTO action (kind, actor, channel, target, usec, detail)"
                               " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        [STMT_ALERT_ACK] = "UPDATE alert SET state = 'acked', acked_by = ?2, ack_channel = ?3,"
                           " acked_usec = ?4, next_usec = NULL WHERE id = ?1 AND state = 'open'",
        [STMT_ALERT_RESOLVE] = "UPDATE alert SET state = 'resolved', resolved_by = ?2,"
                               " resolve_channel = ?3, resolved_usec = ?4, note = ?5,"
                               " next_usec = NULL WHERE id = ?1 AND state != 'resolved'",
        [STMT_NOTIF_INSERT] =
            "INSERT INTO notification (id, alert_id, worker, channel, step, round, priority,"
            " payload, state, attempts, created_usec, next_usec, kind)"
            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', 0, ?9, ?10,"
            " coalesce(?11, 'alert'))",
        /* The order is found on the index alone (notification_due covers it), then only
         * the rows taken are read: sorting whole rows (payloads) of a backlog of thousands
         * took tens of milliseconds per pass. */
        [STMT_NOTIF_DUE] = "SELECT id, alert_id, worker, channel, step, round, priority, payload,"
                           " created_usec, next_usec, attempts FROM notification"
                           " WHERE rowid IN (SELECT rowid FROM notification"
                           "  WHERE state = 'pending' AND next_usec <= ?1"
                           "  ORDER BY priority, next_usec, created_usec LIMIT ?2)"
                           " ORDER BY priority, next_usec, created_usec",
        [STMT_NOTIF_STATE] =
            "UPDATE notification SET state = ?2,"
            " attempts = CASE WHEN ?3 < 0 THEN attempts ELSE ?3 END, next_usec = ?4,"
            " last_error = ?5,"
            " delivered_usec = CASE WHEN ?2 = 'delivered' THEN ?6 END,"
            " last_attempt_usec = CASE WHEN ?2 = 'sending' THEN ?6 ELSE last_attempt_usec END,"
            " dead_usec = CASE WHEN ?2 = 'dead' THEN ?6 END"
            " WHERE id = ?1",
        [STMT_NOTIF_NEXT] = "SELECT min(next_usec) FROM notification WHERE state = 'pending'",
        [STMT_NOTIF_DEPTH] =
            "SELECT count(*) FROM notification WHERE state IN ('pending', 'sending')",
        [STMT_NOTIF_DEFER] = "UPDATE notification SET next_usec = ?2 WHERE id = ?1",
        [STMT_NOTIF_WAKE] = "UPDATE notification SET next_usec = ?1 WHERE state = 'pending'"
                            " AND last_error = ?2 AND next_usec > ?1",
        [STMT_NOTIFIED_WORKERS] = "SELECT worker FROM notification WHERE alert_id = ?1"
                                  " AND kind != 'ack_notice' AND worker IS NOT NULL"
                                  " GROUP BY worker ORDER BY min(created_usec), min(rowid)",
        [STMT_PASS_INSERT] =
            "INSERT INTO pass (household, worker, channel, from_usec, to_usec, reason,"
            " created_usec) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        [STMT_PASS_UPDATE] = "UPDATE pass SET exit_usec = ?2, return_usec = ?3, overdue = ?4,"
                             " done = ?5 WHERE id = ?1",
        [STMT_CHECKIN_INSERT] = "INSERT INTO checkin (household, worker, channel, usec, recv_usec)"
                                " VALUES (?1, ?2, ?3, ?4, ?5)",
        [STMT_REPORT_INSERT] =
            "INSERT INTO report (household, channel, reason, usec, recv_usec, number,"
            " over_limit) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        [STMT_HSTATE_SAVE] = "INSERT INTO household_state (household, state, updated_usec)"
                             " VALUES (?1, ?2, ?3) ON CONFLICT (household) DO UPDATE SET"
                             " state = excluded.state, updated_usec = excluded.updated_usec",
        [STMT_ALERT_REASON] = "UPDATE alert SET reason = ?2 WHERE id = ?1",
};

/* Migrations: index i brings the schema from version i to i + 1. */
static const char *const migrations[] = {
        "CREATE TABLE event ("
        "  id INTEGER PRIMARY KEY,"
        "  device TEXT NOT NULL, household TEXT, source TEXT, uid TEXT,"
        "  type TEXT NOT NULL, state TEXT, ts REAL,"
        "  recv_usec INTEGER NOT NULL, event_usec INTEGER NOT NULL,"
        "  retained INTEGER NOT NULL DEFAULT 0,"
        "  verdict TEXT NOT NULL, reason TEXT NOT NULL, alert_id TEXT, payload TEXT,"
        "  UNIQUE (device, uid));"
        "CREATE INDEX event_household ON event (household, event_usec);"
        "CREATE TABLE seq (name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
        "CREATE TABLE alert ("
        "  id TEXT PRIMARY KEY, household TEXT, community TEXT, device TEXT,"
        "  kind TEXT NOT NULL, severity TEXT NOT NULL, state TEXT NOT NULL,"
        "  reason TEXT NOT NULL, count INTEGER NOT NULL DEFAULT 1,"
        "  event_uid TEXT, event_ts REAL,"
        "  raised_usec INTEGER NOT NULL, last_event_usec INTEGER NOT NULL,"
        "  step INTEGER NOT NULL DEFAULT 0, round INTEGER NOT NULL DEFAULT 1, next_usec INTEGER,"
        "  acked_by TEXT, ack_channel TEXT, acked_usec INTEGER,"
        "  resolved_by TEXT, resolve_channel TEXT, resolved_usec INTEGER, note TEXT);"
        "CREATE INDEX alert_state ON alert (state, household);"
        "CREATE TABLE action ("
        "  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, actor TEXT, channel TEXT NOT NULL,"
        "  target TEXT, usec INTEGER NOT NULL, detail TEXT);"
        "CREATE INDEX action_target ON action (target);"
        "CREATE TABLE notification ("
        "  id TEXT PRIMARY KEY, alert_id TEXT NOT NULL, worker TEXT, channel TEXT NOT NULL,"
        "  step TEXT, round INTEGER, priority INTEGER NOT NULL DEFAULT 0,"
        "  payload TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
        "  created_usec INTEGER NOT NULL, next_usec INTEGER NOT NULL,"
        "  delivered_usec INTEGER, last_error TEXT);"
        "CREATE INDEX notification_due ON notification (state, next_usec);"
        "CREATE INDEX notification_alert ON notification (alert_id);",
        /* 1 -> 2: escalation reminders sent after the last round; what a notification is
         * ('alert' for an escalation step, 'reminder', 'ack_notice'). */
        "ALTER TABLE alert ADD COLUMN reminders INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE notification ADD COLUMN kind TEXT NOT NULL DEFAULT 'alert';",
        /* 2 -> 3, observation rules: passes, check-ins, resident pre-reports (records, kept
         * with the events), each household's rule state (rebuilt at start), and when this
         * database was created (an observation that ended before it gets no notice). */
        "CREATE TABLE pass ("
        "  id INTEGER PRIMARY KEY, household TEXT NOT NULL, worker TEXT NOT NULL,"
        "  channel TEXT NOT NULL, from_usec INTEGER NOT NULL, to_usec INTEGER NOT NULL,"
        "  reason TEXT NOT NULL, created_usec INTEGER NOT NULL,"
        "  exit_usec INTEGER, return_usec INTEGER, overdue INTEGER NOT NULL DEFAULT 0,"
        "  done INTEGER NOT NULL DEFAULT 0);"
        "CREATE INDEX pass_household ON pass (household, from_usec);"
        "CREATE INDEX pass_pending ON pass (done, household);"
        "CREATE TABLE checkin ("
        "  id INTEGER PRIMARY KEY, household TEXT NOT NULL, worker TEXT NOT NULL,"
        "  channel TEXT NOT NULL, usec INTEGER NOT NULL, recv_usec INTEGER NOT NULL);"
        "CREATE INDEX checkin_household ON checkin (household, usec);"
        "CREATE TABLE report ("
        "  id INTEGER PRIMARY KEY, household TEXT NOT NULL, channel TEXT NOT NULL, reason TEXT,"
        "  usec INTEGER NOT NULL, recv_usec INTEGER NOT NULL, number INTEGER NOT NULL,"
        "  over_limit INTEGER NOT NULL);"
        "CREATE INDEX report_household ON report (household, usec);"
        "CREATE TABLE household_state ("
        "  household TEXT PRIMARY KEY, state TEXT NOT NULL, updated_usec INTEGER NOT NULL);"
        "CREATE INDEX alert_kind ON alert (kind, household);"
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('created_usec',"
        "  CAST(COALESCE((SELECT min(recv_usec) FROM event),"
        "                (julianday('now') - 2440587.5) * 86400000000.0) AS INTEGER));",
        /* 3 -> 4: when a notification was last handed to its channel and when it was given
         * up (dead letter), for `doorwatchctl notify list` and the rate-limit record. */
        "ALTER TABLE notification ADD COLUMN last_attempt_usec INTEGER;"
        "ALTER TABLE notification ADD COLUMN dead_usec INTEGER;",
        /* 4 -> 5: retention. Households whose events and personal data were purged after
         * their observation ended (DESIGN.md §8), and an index to find their alerts. */
        "CREATE TABLE purged (household TEXT PRIMARY KEY, usec INTEGER NOT NULL,"
        "  events INTEGER NOT NULL);"
        "CREATE INDEX alert_household ON alert (household);",
        /* 5 -> 6: the outbox's due rows ordered from the index alone (the dispatch query
         * sorts keys, not rows). */
        "DROP INDEX notification_due;"
        "CREATE INDEX notification_due ON notification (state, next_usec, priority,"
        " created_usec);",
};

#define SEQ_CACHE_MAX 4
/* How long a write waits for another connection's lock before it fails. */
#define STORE_BUSY_TIMEOUT_MS 2000

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

sqlite3 *store_db(struct store *s)
{
        return s->db;
}

const char *store_path(struct store *s)
{
        return s->path;
}

static int sql_err(struct store *s, int rc, const char *what)
{
        if (!(s->quiet_busy && (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)))
                log_err("database: %s: %s", what, sqlite3_errmsg(s->db));
        if (rc == SQLITE_FULL)
                return -ENOSPC;
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
                return -EBUSY;
        if (rc == SQLITE_READONLY || rc == SQLITE_PERM || rc == SQLITE_CANTOPEN)
                return -EACCES;
        return -EIO;
}

static int exec_sql(struct store *s, const char *sql)
{
        char *msg = NULL;
        int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
        if (rc != SQLITE_OK) {
                log_err("database: %s", msg ? msg : sqlite3_errstr(rc));
                sqlite3_free(msg);
                return rc == SQLITE_FULL ? -ENOSPC : -EIO;
        }
        return 0;
}

static sqlite3_stmt *stmt(struct store *s, int which)
{
        sqlite3_stmt *st = s->stmt[which];
        if (!st) {
                if (sqlite3_prepare_v3(s->db, stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT, &st,
                                       NULL) != SQLITE_OK) {
                        log_err("database: preparing statement %d: %s", which,
                                sqlite3_errmsg(s->db));
                        return NULL;
                }
                s->stmt[which] = st;
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return st;
}

/* A cached statement without parameters or rows (transaction control), like exec_sql(). */
static int exec_stmt(struct store *s, int which)
{
        sqlite3_stmt *st = stmt(s, which);
        int rc;

        if (!st)
                return -EIO;
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
                log_err("database: %s: %s", stmt_sql[which], sqlite3_errmsg(s->db));
                return rc == SQLITE_FULL ? -ENOSPC : -EIO;
        }
        return 0;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
        if (v)
                sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null(st, i);
}

static void bind_usec(sqlite3_stmt *st, int i, int64_t v)
{
        if (v)
                sqlite3_bind_int64(st, i, v);
        else
                sqlite3_bind_null(st, i);
}

static int step_done(struct store *s, sqlite3_stmt *st, const char *what)
{
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE && rc != SQLITE_ROW)
                return sql_err(s, rc, what);
        return 0;
}

static int schema_version(struct store *s, int *ret)
{
        sqlite3_stmt *st;
        int rc;

        rc = sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = 'schema_version'", -1,
                                &st, NULL);
        if (rc != SQLITE_OK) {
                *ret = 0; /* no meta table: empty database */
                return 0;
        }
        rc = sqlite3_step(st);
        *ret = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
        sqlite3_finalize(st);
        return 0;
}

static int migrate(struct store *s)
{
        int version, r;
        char sql[128];

        schema_version(s, &version);
        if (version > (int)ELEMENTSOF(migrations)) {
                log_err("database %s has schema version %d, newer than this doorwatchd (%d)",
                        s->path, version, (int)ELEMENTSOF(migrations));
                return -EPROTO;
        }
        if (version == (int)ELEMENTSOF(migrations))
                return 0;
        if (s->readonly) {
                log_err("database %s has schema version %d, expected %d", s->path, version,
                        (int)ELEMENTSOF(migrations));
                return -EPROTO;
        }
        r = exec_sql(s, "BEGIN IMMEDIATE");
        if (r < 0)
                return r;
        r = exec_sql(s, "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)");
        for (int v = version; r == 0 && v < (int)ELEMENTSOF(migrations); v++) {
                r = exec_sql(s, migrations[v]);
                if (r == 0) {
                        snprintf(sql, sizeof(sql),
                                 "INSERT OR REPLACE INTO meta VALUES ('schema_version', '%d')",
                                 v + 1);
                        r = exec_sql(s, sql);
                }
                if (r == 0)
                        log_info("database: migrated schema to version %d", v + 1);
        }
        if (r < 0) {
                exec_sql(s, "ROLLBACK");
                return r;
        }
        return exec_sql(s, "COMMIT");
}

/* Creates the directory of path (mode 0750) if it is missing. */
static int ensure_parent_dir(const char *path)
{
        _cleanup_free_ char *copy = xstrdup(path);
        const char *dir = dirname(copy);
        struct stat st;

        if (stat(dir, &st) == 0)
                return 0;
        if (mkdir(dir, 0750) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int store_open(const char *path, bool sync_full, bool readonly, struct store **ret)
{
        static bool configured;
        struct store *s;
        int flags, rc, r;

        /* SQLite's memory statistics take a global mutex around every allocation (some
         * twenty per stored event); nothing here reads them. Only possible before SQLite
         * initialises, i.e. at the first open. */
        if (!configured) {
                (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
                configured = true;
        }

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->path = xstrdup(path);
        s->readonly = readonly;
        if (!readonly) {
                r = ensure_parent_dir(path);
                if (r < 0) {
                        log_err_errno(r, "database: cannot create directory for %s", path);
                        store_close(s);
                        return r;
                }
        }
        flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
        mode_t old = umask(027);
        rc = sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
        umask(old);
        if (rc != SQLITE_OK) {
                log_err("database: cannot open %s: %s", path,
                        s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
                store_close(s);
                return -EACCES;
        }
        sqlite3_busy_timeout(s->db, readonly ? 5000 : STORE_BUSY_TIMEOUT_MS);
        sqlite3_extended_result_codes(s->db, 1);
        if (!readonly) {
                if (chmod(path, 0640) < 0)
                        log_warn_errno(-errno, "database: cannot chmod %s", path);
                r = exec_sql(s, "PRAGMA journal_mode=WAL");
                if (r == 0)
                        r = exec_sql(s, sync_full ? "PRAGMA synchronous=FULL"
                                                  : "PRAGMA synchronous=NORMAL");
                /* 1 MiB of page cache, not SQLite's default 2 MB: the writes touch the ends
                 * of the tables and indexes, the rest is in the kernel's page cache a pread
                 * away (bench: +3% reads, no measurable CPU), and peak RSS is a target. It
                 * also bounds the sorter's memory before it spills (outbox backlogs). */
                if (r == 0)
                        r = exec_sql(s, "PRAGMA cache_size=-1024");
                if (r == 0)
                        r = migrate(s);
                if (r < 0) {
                        store_close(s);
                        return r;
                }
        } else {
                r = migrate(s);
                if (r < 0) {
                        store_close(s);
                        return r;
                }
        }
        *ret = s;
        return 0;
}

struct store *store_close(struct store *s)
{
        if (!s)
                return NULL;
        if (s->in_txn)
                store_commit(s);
        for (int i = 0; i < _STMT_MAX; i++)
                sqlite3_finalize(s->stmt[i]);
        sqlite3_close(s->db);
        free(s->path);
        free(s);
        return NULL;
}

/* Writes the counters that ran ahead of their seq rows. */
static int seq_flush(struct store *s)
{
        for (size_t i = 0; i < s->n_seq; i++) {
                struct seq_entry *q = &s->seq[i];
                sqlite3_stmt *st;
                int r;

                if (!q->dirty)
                        continue;
                st = stmt(s, STMT_SEQ_SET);
                if (!st)
                        return -EIO;
                bind_text(st, 1, q->name);
                sqlite3_bind_int64(st, 2, q->value);
                r = step_done(s, st, "saving id counter");
                if (r < 0)
                        return r;
                q->dirty = false;
        }
        return 0;
}

int store_begin(struct store *s)
{
        int r;
        if (s->in_txn)
                return 0;
        r = exec_stmt(s, STMT_BEGIN);
        if (r < 0)
                s->write_failed = true;
        if (r == 0) {
                s->in_txn = true;
                if (s->begin_hook)
                        s->begin_hook(s->begin_userdata);
        }
        return r;
}

int store_try_begin(struct store *s)
{
        int r;

        if (s->in_txn)
                return 0;
        sqlite3_busy_timeout(s->db, 0);
        s->quiet_busy = true; /* the caller retries and says so */
        r = store_begin(s);
        s->quiet_busy = false;
        sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
        return r;
}

int store_commit(struct store *s)
{
        int r;
        if (!s->in_txn)
                return 0;
        r = seq_flush(s);
        if (r == 0)
                r = exec_stmt(s, STMT_COMMIT);
        if (r < 0) {
                exec_stmt(s, STMT_ROLLBACK);
                s->n_seq = 0;
        }
        s->in_txn = false;
        s->write_failed = r < 0;
        return r;
}

bool store_write_failed(struct store *s)
{
        return s->write_failed;
}

int store_probe_write(struct store *s, int64_t now_usec)
{
        char sql[128];
        int r;

        if (s->in_txn)
                return 0; /* the pending COMMIT decides */
        r = exec_sql(s, "BEGIN IMMEDIATE");
        if (r == 0) {
                snprintf(sql, sizeof(sql),
                         "INSERT OR REPLACE INTO meta VALUES ('write_probe_usec', '%lld')",
                         (long long)now_usec);
                r = exec_sql(s, sql);
                if (r == 0)
                        r = exec_sql(s, "COMMIT");
                if (r < 0)
                        exec_sql(s, "ROLLBACK");
        }
        s->write_failed = r < 0;
        return r;
}

int store_savepoint(struct store *s)
{
        int r = store_begin(s);
        if (r == 0)
                r = seq_flush(s);
        return r < 0 ? r : exec_stmt(s, STMT_SAVEPOINT);
}

int store_release(struct store *s)
{
        return exec_stmt(s, STMT_RELEASE);
}

int store_rollback_to(struct store *s)
{
        int r = exec_stmt(s, STMT_ROLLBACK_TO);
        /* The rows are back to the savepoint, where the counters were flushed. */
        s->n_seq = 0;
        return r < 0 ? r : exec_stmt(s, STMT_RELEASE);
}

static int wal_hook(void *userdata, sqlite3 *db, const char *name, int frames)
{
        struct store *s = userdata;

        s->wal_frames = frames;
        return SQLITE_OK;
}

void store_manual_checkpoints(struct store *s, int64_t wal_limit_bytes)
{
        char sql[64];

        /* A WAL hook replaces SQLite's automatic checkpoint after COMMIT. */
        sqlite3_wal_hook(s->db, wal_hook, s);
        snprintf(sql, sizeof(sql), "PRAGMA journal_size_limit=%lld", (long long)wal_limit_bytes);
        exec_sql(s, sql);
}

int store_wal_frames(struct store *s)
{
        return s->wal_frames;
}

int store_checkpoint_connection(const char *path, bool sync_full, sqlite3 **ret)
{
        sqlite3 *db = NULL;
        int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);

        if (rc == SQLITE_OK) {
                sqlite3_extended_result_codes(db, 1);
                /* The checkpoint's fsyncs follow this connection's setting. A first read
                 * opens the WAL: until then a checkpoint would do nothing. */
                rc = sqlite3_exec(db,
                                  sync_full ? "PRAGMA synchronous=FULL; PRAGMA schema_version"
                                            : "PRAGMA synchronous=NORMAL; PRAGMA schema_version",
                                  NULL, NULL, NULL);
        }
        if (rc != SQLITE_OK) {
                log_err("database: cannot open %s for checkpoints: %s", path,
                        db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
                sqlite3_close(db);
                return -EACCES;
        }
        *ret = db;
        return 0;
}

int store_checkpoint(sqlite3 *db, int *ret_log, int *ret_ckpt)
{
        int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, ret_log, ret_ckpt);

        switch (rc & 0xff) {
        case SQLITE_OK:
                return 0;
        case SQLITE_BUSY:
                return -EBUSY;
        case SQLITE_FULL:
                return -ENOSPC;
        default:
                return -EIO;
        }
}

void store_set_begin_hook(struct store *s, void (*fn)(void *userdata), void *userdata)
{
        s->begin_hook = fn;
        s->begin_userdata = userdata;
}

bool store_in_transaction(struct store *s)
{
        return s->in_txn;
}

int store_event_exists(struct store *s, const char *device, const char *uid)
{
        sqlite3_stmt *st = stmt(s, STMT_EVENT_EXISTS);
        int rc;
        if (!st)
                return -EIO;
        bind_text(st, 1, device);
        bind_text(st, 2, uid);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc == SQLITE_ROW)
                return 1;
        if (rc == SQLITE_DONE)
                return 0;
        return sql_err(s, rc, "looking up event");
}

int store_insert_event(struct store *s, const struct store_event *e, int64_t *ret_rowid)
{
        sqlite3_stmt *st = stmt(s, STMT_EVENT_INSERT);
        int r;
        if (!st)
                return -EIO;
        bind_text(st, 1, e->device);
        bind_text(st, 2, e->household);
        bind_text(st, 3, e->source);
        bind_text(st, 4, e->uid);
        bind_text(st, 5, e->type);
        bind_text(st, 6, e->state);
        if (e->has_ts)
                sqlite3_bind_double(st, 7, e->ts);
        sqlite3_bind_int64(st, 8, e->recv_usec);
        sqlite3_bind_int64(st, 9, e->event_usec);
        sqlite3_bind_int(st, 10, e->retained);
        bind_text(st, 11, e->verdict);
        bind_text(st, 12, e->reason);
        bind_text(st, 13, e->alert_id);
        if (e->payload)
                sqlite3_bind_text(st, 14, e->payload, (int)e->payload_len, SQLITE_STATIC);
        r = step_done(s, st, "storing event");
        if (r < 0)
                return r;
        if (sqlite3_changes(s->db) == 0)
                return STORE_E_DUPLICATE;
        if (ret_rowid)
                *ret_rowid = sqlite3_last_insert_rowid(s->db);
        return 0;
}

int store_settle_opening(struct store *s, const char *household, int64_t event_usec,
                         const char *verdict, const char *reason, const char *alert_id)
{
        sqlite3_stmt *st = stmt(s, STMT_OPENING_SETTLE);
        if (!st)
                return -EIO;
        bind_text(st, 1, household);
        sqlite3_bind_int64(st, 2, event_usec);
        bind_text(st, 3, verdict);
        bind_text(st, 4, reason);
        bind_text(st, 5, alert_id);
        return step_done(s, st, "storing a settled opening's verdict");
}

int store_next_id(struct store *s, char prefix, int64_t now_usec, char *buf, size_t size)
{
        sqlite3_stmt *st;
        char name[32], day[16];
        struct seq_entry *q = NULL;
        struct tm tm;
        int rc, r;

        local_time(now_usec / USEC_PER_SEC, &tm);
        strftime(day, sizeof(day), "%Y%m%d", &tm);
        snprintf(name, sizeof(name), "%c-%s", prefix, day);
        /* The counter is only written back at COMMIT: make sure there is one. */
        r = store_begin(s);
        if (r < 0)
                return r;
        for (size_t i = 0; i < s->n_seq && !q; i++)
                if (strcmp(s->seq[i].name, name) == 0)
                        q = &s->seq[i];
        if (q) {
                q->value++;
                q->dirty = true;
                snprintf(buf, size, "%s-%04lld", name, q->value);
                return 0;
        }
        if (s->n_seq == SEQ_CACHE_MAX) {
                /* A new day or prefix: write the others back and start over. */
                r = seq_flush(s);
                if (r < 0)
                        return r;
                s->n_seq = 0;
        }
        st = stmt(s, STMT_SEQ_NEXT);
        if (!st)
                return -EIO;
        bind_text(st, 1, name);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
                sqlite3_reset(st);
                return sql_err(s, rc, "allocating id");
        }
        q = &s->seq[s->n_seq++];
        snprintf(q->name, sizeof(q->name), "%s", name);
        q->value = sqlite3_column_int64(st, 0);
        q->dirty = false;
        sqlite3_reset(st);
        snprintf(buf, size, "%s-%04lld", name, q->value);
        return 0;
}

int store_insert_alert(struct store *s, const struct alert *a, const char *community,
                       const char *reason)
{
        sqlite3_stmt *st = stmt(s, STMT_ALERT_INSERT);
        if (!st)
                return -EIO;
        bind_text(st, 1, a->id);
        bind_text(st, 2, a->household ? a->household->id : NULL);
        bind_text(st, 3, community);
        bind_text(st, 4, a->device_id);
        bind_text(st, 5, alert_kind_to_string(a->kind));
        bind_text(st, 6, severity_to_string(a->severity));
        bind_text(st, 7, alert_state_to_string(a->state));
        bind_text(st, 8, reason);
        sqlite3_bind_int(st, 9, a->count);
        bind_text(st, 10, a->event_uid[0] ? a->event_uid : NULL);
        if (a->event_ts > 0)
                sqlite3_bind_double(st, 11, a->event_ts);
        sqlite3_bind_int64(st, 12, a->raised_usec);
        sqlite3_bind_int64(st, 13, a->last_event_usec);
        sqlite3_bind_int(st, 14, a->step_index);
        sqlite3_bind_int(st, 15, a->round);
        bind_usec(st, 16, a->next_usec);
        return step_done(s, st, "storing alert");
}

int store_update_alert(struct store *s, const struct alert *a)
{
        sqlite3_stmt *st = stmt(s, STMT_ALERT_UPDATE);
        if (!st)
                return -EIO;
        bind_text(st, 1, a->id);
        bind_text(st, 2, severity_to_string(a->severity));
        bind_text(st, 3, alert_state_to_string(a->state));
        sqlite3_bind_int(st, 4, a->count);
        sqlite3_bind_int64(st, 5, a->last_event_usec);
        sqlite3_bind_int(st, 6, a->step_index);
        sqlite3_bind_int(st, 7, a->round);
        bind_usec(st, 8, a->next_usec);
        bind_text(st, 9, alert_kind_to_string(a->kind));
        sqlite3_bind_int(st, 10, a->reminders);
        return step_done(s, st, "updating alert");
}

int store_insert_action(struct store *s, const char *kind, const char *actor, const char *channel,
                        const char *target, int64_t usec, const char *detail)
{
        sqlite3_stmt *st = stmt(s, STMT_ACTION_INSERT);
        if (!st)
                return -EIO;
        bind_text(st, 1, kind);
        bind_text(st, 2, actor);
        bind_text(st, 3, channel);
        bind_text(st, 4, target);
        sqlite3_bind_int64(st, 5, usec);
        bind_text(st, 6, detail);
        return step_done(s, st, "storing action");
}

int store_set_alert_acked(struct store *s, const char *alert_id, const char *worker,
                          const char *channel, int64_t usec)
{
        sqlite3_stmt *st = stmt(s, STMT_ALERT_ACK);
        int r;
        if (!st)
                return -EIO;
        bind_text(st, 1, alert_id);
        bind_text(st, 2, worker);
        bind_text(st, 3, channel);
        sqlite3_bind_int64(st, 4, usec);
        r = step_done(s, st, "acknowledging alert");
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) ? 0 : STORE_E_NOT_FOUND;
}

int store_set_alert_resolved(struct store *s, const char *alert_id, const char *worker,
                             const char *channel, int64_t usec, const char *note)
{
        sqlite3_stmt *st = stmt(s, STMT_ALERT_RESOLVE);
        int r;
        if (!st)
                return -EIO;
        bind_text(st, 1, alert_id);
        bind_text(st, 2, worker);
        bind_text(st, 3, channel);
        sqlite3_bind_int64(st, 4, usec);
        bind_text(st, 5, note);
        r = step_done(s, st, "resolving alert");
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) ? 0 : STORE_E_NOT_FOUND;
}

#define ALERT_ROW_COLUMNS                                                                          \
        "id, household, device, kind, severity, state, event_uid, count, step, round,"             \
        " event_ts, raised_usec, last_event_usec, acked_usec, next_usec, reminders, reason,"       \
        " acked_by"

static void alert_row_read(sqlite3_stmt *st, struct store_alert_row *row)
{
        *row = (struct store_alert_row){
                .id = (const char *)sqlite3_column_text(st, 0),
                .household = (const char *)sqlite3_column_text(st, 1),
                .device = (const char *)sqlite3_column_text(st, 2),
                .kind = (const char *)sqlite3_column_text(st, 3),
                .severity = (const char *)sqlite3_column_text(st, 4),
                .state = (const char *)sqlite3_column_text(st, 5),
                .event_uid = (const char *)sqlite3_column_text(st, 6),
                .count = sqlite3_column_int(st, 7),
                .step = sqlite3_column_int(st, 8),
                .round = sqlite3_column_int(st, 9),
                .event_ts = sqlite3_column_double(st, 10),
                .raised_usec = sqlite3_column_int64(st, 11),
                .last_event_usec = sqlite3_column_int64(st, 12),
                .acked_usec = sqlite3_column_int64(st, 13),
                .next_usec = sqlite3_column_int64(st, 14),
                .reminders = sqlite3_column_int(st, 15),
                .reason = (const char *)sqlite3_column_text(st, 16),
                .acked_by = (const char *)sqlite3_column_text(st, 17),
        };
}

int store_foreach_live_alert(struct store *s, store_alert_cb cb, void *userdata)
{
        sqlite3_stmt *st;
        int rc, r = 0;

        rc = sqlite3_prepare_v2(s->db,
                                "SELECT " ALERT_ROW_COLUMNS " FROM alert WHERE state != 'resolved'"
                                " ORDER BY raised_usec",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_err(s, rc, "loading alerts");
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                struct store_alert_row row;
                alert_row_read(st, &row);
                r = cb(&row, userdata);
                if (r < 0)
                        break;
        }
        if (r == 0 && rc != SQLITE_DONE)
                r = sql_err(s, rc, "loading alerts");
        sqlite3_finalize(st);
        return r;
}

int store_get_alert(struct store *s, const char *alert_id, store_alert_cb cb, void *userdata)
{
        sqlite3_stmt *st;
        int rc, r;

        rc = sqlite3_prepare_v2(s->db, "SELECT " ALERT_ROW_COLUMNS " FROM alert WHERE id = ?1", -1,
                                &st, NULL);
        if (rc != SQLITE_OK)
                return sql_err(s, rc, "looking up alert");
        bind_text(st, 1, alert_id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                struct store_alert_row row;
                alert_row_read(st, &row);
                r = cb(&row, userdata);
        } else if (rc == SQLITE_DONE)
                r = STORE_E_NOT_FOUND;
        else
                r = sql_err(s, rc, "looking up alert");
        sqlite3_finalize(st);
        return r;
}

int store_foreach_notified_worker(struct store *s, const char *alert_id, store_worker_cb cb,
                                  void *userdata)
{
        sqlite3_stmt *st = stmt(s, STMT_NOTIFIED_WORKERS);
        int rc, r = 0;

        if (!st)
                return -EIO;
        bind_text(st, 1, alert_id);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                r = cb((const char *)sqlite3_column_text(st, 0), userdata);
                if (r < 0)
                        break;
        }
        if (r == 0 && rc != SQLITE_DONE)
                r = sql_err(s, rc, "reading recipients");
        sqlite3_reset(st);
        return r;
}

/* Device health at start (rare: plain statements, not cached). */
static int foreach_device_usec_stmt(struct store *s, sqlite3_stmt *st, const char *text,
                                    int64_t usec, store_device_usec_cb cb, void *userdata,
                                    const char *what)
{
        int rc, r = 0;

        bind_text(st, 1, text);
        sqlite3_bind_int64(st, 2, usec);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *device = (const char *)sqlite3_column_text(st, 0);
                if (device)
                        r = cb(device, sqlite3_column_int64(st, 1), userdata);
                if (r < 0)
                        break;
        }
        if (r == 0 && rc != SQLITE_DONE)
                r = sql_err(s, rc, what);
        return r;
}

static int foreach_device_usec(struct store *s, const char *sql, const char *text, int64_t usec,
                               store_device_usec_cb cb, void *userdata, const char *what)
{
        sqlite3_stmt *st = NULL;
        int rc, r;

        rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_err(s, rc, what);
        r = foreach_device_usec_stmt(s, st, text, usec, cb, userdata, what);
        sqlite3_finalize(st);
        return r;
}

/* Called once per household at start (100,000 in a city): the statement is kept. */
int store_foreach_device_seen(struct store *s, const char *household, int64_t since_usec,
                              store_device_usec_cb cb, void *userdata)
{
        sqlite3_stmt *st = stmt(s, STMT_DEVICE_SEEN);
        int r;

        if (!st)
                return -EIO;
        r = foreach_device_usec_stmt(s, st, household, since_usec, cb, userdata,
                                     "reading signs of life");
        sqlite3_reset(st);
        return r;
}

int store_foreach_alert_raised(struct store *s, const char *kind, int64_t since_usec,
                               store_device_usec_cb cb, void *userdata)
{
        return foreach_device_usec(s,
                                   "SELECT device, max(raised_usec) FROM alert"
                                   " WHERE kind = ?1 AND raised_usec >= ?2 AND device IS NOT NULL"
                                   " GROUP BY device",
                                   kind, since_usec, cb, userdata, "reading device alerts");
}

int store_insert_notification(struct store *s, const struct store_notification *n)
{
        sqlite3_stmt *st = stmt(s, STMT_NOTIF_INSERT);
        if (!st)
                return -EIO;
        bind_text(st, 1, n->id);
        bind_text(st, 2, n->alert_id);
        bind_text(st, 3, n->worker);
        bind_text(st, 4, n->channel);
        bind_text(st, 5, n->step);
        sqlite3_bind_int(st, 6, n->round);
        sqlite3_bind_int(st, 7, n->priority);
        bind_text(st, 8, n->payload);
        sqlite3_bind_int64(st, 9, n->created_usec);
        sqlite3_bind_int64(st, 10, n->next_usec);
        bind_text(st, 11, n->kind);
        return step_done(s, st, "storing notification");
}

int store_foreach_due_notification(struct store *s, int64_t now_usec, size_t max,
                                   store_notification_cb cb, void *userdata)
{
        sqlite3_stmt *st = stmt(s, STMT_NOTIF_DUE);
        int rc, r = 0;

        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 1, now_usec);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                struct store_notification n = {
                        .id = (const char *)sqlite3_column_text(st, 0),
                        .alert_id = (const char *)sqlite3_column_text(st, 1),
                        .worker = (const char *)sqlite3_column_text(st, 2),
                        .channel = (const char *)sqlite3_column_text(st, 3),
                        .step = (const char *)sqlite3_column_text(st, 4),
                        .round = sqlite3_column_int(st, 5),
                        .priority = sqlite3_column_int(st, 6),
                        .payload = (const char *)sqlite3_column_text(st, 7),
                        .created_usec = sqlite3_column_int64(st, 8),
                        .next_usec = sqlite3_column_int64(st, 9),
                        .attempts = sqlite3_column_int(st, 10),
                };
                r = cb(&n, userdata);
                if (r < 0)
                        break;
        }
        if (r == 0 && rc != SQLITE_DONE)
                r = sql_err(s, rc, "reading outbox");
        sqlite3_reset(st);
        return r;
}

static const char *notification_state_name(enum notification_state st)
{
        static const char *const names[] = { "pending", "sending", "delivered", "dead" };
        return names[st];
}

int store_set_notification_state(struct store *s, const char *id, enum notification_state nst,
                                 int attempts, int64_t next_usec, const char *error,
                                 int64_t now_usec)
{
        sqlite3_stmt *st = stmt(s, STMT_NOTIF_STATE);
        if (!st)
                return -EIO;
        bind_text(st, 1, id);
        bind_text(st, 2, notification_state_name(nst));
        sqlite3_bind_int(st, 3, attempts);
        sqlite3_bind_int64(st, 4, next_usec);
        bind_text(st, 5, error);
        sqlite3_bind_int64(st, 6, now_usec);
        return step_done(s, st, "updating notification");
}

int64_t store_next_notification_usec(struct store *s)
{
        sqlite3_stmt *st = stmt(s, STMT_NOTIF_NEXT);
        int64_t v = INT64_MAX;
        if (!st)
                return INT64_MAX;
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
                v = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return v;
}

int store_defer_notification(struct store *s, const char *id, int64_t next_usec)
{
        sqlite3_stmt *st = stmt(s, STMT_NOTIF_DEFER);
        if (!st)
                return -EIO;
        bind_text(st, 1, id);
        sqlite3_bind_int64(st, 2, next_usec);
        return step_done(s, st, "deferring notification");
}

int store_wake_notifications(struct store *s, const char *waiting_for, int64_t now_usec)
{
        sqlite3_stmt *st = stmt(s, STMT_NOTIF_WAKE);
        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 1, now_usec);
        bind_text(st, 2, waiting_for);
        return step_done(s, st, "waking the outbox");
}

int store_alert_household(struct store *s, const char *alert_id, char *buf, size_t size)
{
        sqlite3_stmt *st;
        int rc, r = STORE_E_NOT_FOUND;

        rc = sqlite3_prepare_v2(s->db, "SELECT household FROM alert WHERE id = ?1", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_err(s, rc, "looking up alert");
        bind_text(st, 1, alert_id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && sqlite3_column_text(st, 0)) {
                snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
                r = 0;
        } else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                r = sql_err(s, rc, "looking up alert");
        sqlite3_finalize(st);
        return r;
}

int store_requeue_sending(struct store *s)
{
        return exec_sql(s, "UPDATE notification SET state = 'pending' WHERE state = 'sending'");
}

int64_t store_outbox_depth(struct store *s)
{
        sqlite3_stmt *st = stmt(s, STMT_NOTIF_DEPTH);
        int64_t v = 0;
        if (!st)
                return -EIO;
        if (sqlite3_step(st) == SQLITE_ROW)
                v = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return v;
}

/* ---- observation rules (issue 4): passes, check-ins, pre-reports, household state ---- */

int store_insert_pass(struct store *s, const struct store_pass *p, int64_t *ret_id)
{
        sqlite3_stmt *st = stmt(s, STMT_PASS_INSERT);
        int r;
        if (!st)
                return -EIO;
        bind_text(st, 1, p->household);
        bind_text(st, 2, p->worker);
        bind_text(st, 3, p->channel);
        sqlite3_bind_int64(st, 4, p->from_usec);
        sqlite3_bind_int64(st, 5, p->to_usec);
        bind_text(st, 6, p->reason);
        sqlite3_bind_int64(st, 7, p->created_usec);
        r = step_done(s, st, "storing pass");
        if (r == 0 && ret_id)
                *ret_id = sqlite3_last_insert_rowid(s->db);
        return r;
}

int store_update_pass(struct store *s, const struct store_pass *p)
{
        sqlite3_stmt *st = stmt(s, STMT_PASS_UPDATE);
        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 1, p->id);
        bind_usec(st, 2, p->exit_usec);
        bind_usec(st, 3, p->return_usec);
        sqlite3_bind_int(st, 4, p->overdue);
        sqlite3_bind_int(st, 5, p->done);
        return step_done(s, st, "updating pass");
}

int store_foreach_pending_pass(struct store *s, store_pass_cb cb, void *userdata)
{
        sqlite3_stmt *st;
        int rc, r = 0;

        rc = sqlite3_prepare_v2(s->db,
                                "SELECT id, household, worker, channel, reason, from_usec, to_usec,"
                                " created_usec, exit_usec, return_usec, overdue FROM pass"
                                " WHERE done = 0 ORDER BY from_usec, id",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_err(s, rc, "loading passes");
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                struct store_pass p = {
                        .id = sqlite3_column_int64(st, 0),
                        .household = (const char *)sqlite3_column_text(st, 1),
                        .worker = (const char *)sqlite3_column_text(st, 2),
                        .channel = (const char *)sqlite3_column_text(st, 3),
                        .reason = (const char *)sqlite3_column_text(st, 4),
                        .from_usec = sqlite3_column_int64(st, 5),
                        .to_usec = sqlite3_column_int64(st, 6),
                        .created_usec = sqlite3_column_int64(st, 7),
                        .exit_usec = sqlite3_column_int64(st, 8),
                        .return_usec = sqlite3_column_int64(st, 9),
                        .overdue = sqlite3_column_int(st, 10) != 0,
                };
                r = cb(&p, userdata);
                if (r < 0)
                        break;
        }
        if (r == 0 && rc != SQLITE_DONE)
                r = sql_err(s, rc, "loading passes");
        sqlite3_finalize(st);
        return r;
}

int store_insert_checkin(struct store *s, const char *household, const char *worker,
                         const char *channel, int64_t usec, int64_t recv_usec)
{
        sqlite3_stmt *st = stmt(s, STMT_CHECKIN_INSERT);
        if (!st)
                return -EIO;
        bind_text(st, 1, household);
        bind_text(st, 2, worker);
        bind_text(st, 3, channel);
        sqlite3_bind_int64(st, 4, usec);
        sqlite3_bind_int64(st, 5, recv_usec);
        return step_done(s, st, "storing check-in");
}

int store_insert_report(struct store *s, const char *household, const char *channel,
                        const char *reason, int64_t usec, int64_t recv_usec, int number,
                        bool over_limit)
{
        sqlite3_stmt *st = stmt(s, STMT_REPORT_INSERT);
        if (!st)
                return -EIO;
        bind_text(st, 1, household);
        bind_text(st, 2, channel);
        bind_text(st, 3, reason);
        sqlite3_bind_int64(st, 4, usec);
        sqlite3_bind_int64(st, 5, recv_usec);
        sqlite3_bind_int(st, 6, number);
        sqlite3_bind_int(st, 7, over_limit);
        return step_done(s, st, "storing pre-report");
}

int store_save_household_state(struct store *s, const char *household, const char *json,
                               int64_t usec)
{
        sqlite3_stmt *st = stmt(s, STMT_HSTATE_SAVE);
        if (!st)
                return -EIO;
        bind_text(st, 1, household);
        bind_text(st, 2, json);
        sqlite3_bind_int64(st, 3, usec);
        return step_done(s, st, "storing household state");
}

int store_foreach_household_state(struct store *s, store_household_state_cb cb, void *userdata)
{
        sqlite3_stmt *st;
        int rc, r = 0;

        rc = sqlite3_prepare_v2(s->db, "SELECT household, state FROM household_state", -1, &st,
                                NULL);
        if (rc != SQLITE_OK)
                return sql_err(s, rc, "loading household state");
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                r = cb((const char *)sqlite3_column_text(st, 0),
                       (const char *)sqlite3_column_text(st, 1), userdata);
                if (r < 0)
                        break;
        }
        if (r == 0 && rc != SQLITE_DONE)
                r = sql_err(s, rc, "loading household state");
        sqlite3_finalize(st);
        return r;
}

int store_foreach_household_with_alert(struct store *s, const char *kind, store_household_cb cb,
                                       void *userdata)
{
        sqlite3_stmt *st;
        int rc, r = 0;

        rc = sqlite3_prepare_v2(s->db,
                                "SELECT DISTINCT household FROM alert WHERE kind = ?1"
                                " AND household IS NOT NULL",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_err(s, rc, "loading alerts");
        bind_text(st, 1, kind);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                r = cb((const char *)sqlite3_column_text(st, 0), userdata);
                if (r < 0)
                        break;
        }
        if (r == 0 && rc != SQLITE_DONE)
                r = sql_err(s, rc, "loading alerts");
        sqlite3_finalize(st);
        return r;
}

int store_set_alert_reason(struct store *s, const char *alert_id, const char *reason)
{
        sqlite3_stmt *st = stmt(s, STMT_ALERT_REASON);
        if (!st)
                return -EIO;
        bind_text(st, 1, alert_id);
        bind_text(st, 2, reason);
        return step_done(s, st, "updating alert");
}

int64_t store_created_usec(struct store *s)
{
        sqlite3_stmt *st;
        int64_t v = 0;

        if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = 'created_usec'", -1, &st,
                               NULL) != SQLITE_OK)
                return 0;
        if (sqlite3_step(st) == SQLITE_ROW)
                v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return v;
}

/* Statements used a few times a minute at most (HTTP health and links) are prepared per
 * call, which keeps the cached statement table to the hot path. */
static int query_int64(struct store *s, const char *sql, const char *arg, int64_t dflt,
                       int64_t *ret)
{
        sqlite3_stmt *st;
        int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

        if (rc != SQLITE_OK)
                return sql_err(s, rc, "preparing a query");
        if (arg)
                bind_text(st, 1, arg);
        rc = sqlite3_step(st);
        *ret = rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL
                   ? sqlite3_column_int64(st, 0)
                   : dflt;
        sqlite3_finalize(st);
        return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sql_err(s, rc, "reading a value");
}

int store_seq_get(struct store *s, const char *name, int64_t *ret)
{
        return query_int64(s, "SELECT value FROM seq WHERE name = ?1", name, 0, ret);
}

int store_seq_bump(struct store *s, const char *name, int64_t *ret)
{
        sqlite3_stmt *st = stmt(s, STMT_SEQ_NEXT);
        int rc;

        if (!st)
                return -EIO;
        bind_text(st, 1, name);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
                sqlite3_reset(st);
                return sql_err(s, rc, "incrementing a counter");
        }
        *ret = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return 0;
}

int64_t store_oldest_undelivered_usec(struct store *s)
{
        int64_t v;
        if (query_int64(s,
                        "SELECT min(created_usec) FROM notification"
                        " WHERE state IN ('pending', 'sending')",
                        NULL, INT64_MAX, &v) < 0)
                return INT64_MAX;
        return v;
}

int store_household_purged(struct store *s, const char *household)
{
        sqlite3_stmt *st;
        int rc;

        rc = sqlite3_prepare_v2(s->db, "SELECT 1 FROM purged WHERE household = ?1", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sql_err(s, rc, "reading purged households");
        sqlite3_bind_text(st, 1, household, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc == SQLITE_ROW)
                return 1;
        return rc == SQLITE_DONE ? 0 : sql_err(s, rc, "reading purged households");
}

int store_purge_household(struct store *s, const char *household, int64_t now_usec,
                          int64_t *ret_events)
{
        /* Personal data of a household: its events (with payloads), the notifications about
         * its alerts (addresses, names, phones), check-ins, passes, pre-reports, rule state,
         * the audit rows about its alerts, and the alerts themselves. */
        static const char *const sql[] = {
                "DELETE FROM notification WHERE alert_id IN"
                " (SELECT id FROM alert WHERE household = ?1)",
                "DELETE FROM action WHERE target = ?1 OR target IN"
                " (SELECT id FROM alert WHERE household = ?1)",
                "DELETE FROM alert WHERE household = ?1",
                "DELETE FROM checkin WHERE household = ?1",
                "DELETE FROM pass WHERE household = ?1",
                "DELETE FROM report WHERE household = ?1",
                "DELETE FROM household_state WHERE household = ?1",
                "DELETE FROM event WHERE household = ?1",
        };
        int64_t events = 0;
        int r = store_begin(s);

        for (size_t i = 0; r == 0 && i < ELEMENTSOF(sql); i++) {
                sqlite3_stmt *st;
                int rc = sqlite3_prepare_v2(s->db, sql[i], -1, &st, NULL);
                if (rc != SQLITE_OK)
                        return sql_err(s, rc, "purging a household");
                sqlite3_bind_text(st, 1, household, -1, SQLITE_STATIC);
                rc = sqlite3_step(st);
                sqlite3_finalize(st);
                if (rc != SQLITE_DONE)
                        return sql_err(s, rc, "purging a household");
                if (i == ELEMENTSOF(sql) - 1)
                        events = sqlite3_changes(s->db);
        }
        if (r == 0) {
                sqlite3_stmt *st;
                int rc = sqlite3_prepare_v2(
                    s->db, "INSERT OR REPLACE INTO purged VALUES (?1, ?2, ?3)", -1, &st, NULL);
                if (rc != SQLITE_OK)
                        return sql_err(s, rc, "purging a household");
                sqlite3_bind_text(st, 1, household, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 2, now_usec);
                sqlite3_bind_int64(st, 3, events);
                rc = sqlite3_step(st);
                sqlite3_finalize(st);
                if (rc != SQLITE_DONE)
                        return sql_err(s, rc, "purging a household");
        }
        if (r == 0 && ret_events)
                *ret_events = events;
        return r;
}

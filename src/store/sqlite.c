/* sqlite.c: the SQLite backend's connection: opening, schema and migrations, transactions
 * and savepoints, per-day id counters, named counters, and what the checkpoint thread needs.
 * The rows themselves are written and read in sqlite_<entity>.c.
 *
 * One connection, prepared statements cached for the life of the store, schema versioned
 * in `meta` and migrated forward at open. Durability: journal_mode=WAL; synchronous=NORMAL
 * by default (a committed transaction survives a crash of the daemon; a power cut may lose
 * the last commits) or FULL (fsync at every commit). The file and its directory are created
 * group-readable only. */
#include "sqlite.h"

#include <errno.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

const struct store_backend store_sqlite_backend = {
        .name = "sqlite",
        .open = sqlite_open,
        .close = sqlite_close,
        .backup = sqlite_backup,
        .begin = sqlite_begin,
        .commit = sqlite_commit,
        .rollback = sqlite_rollback,
        .savepoint = sqlite_savepoint,
        .release = sqlite_release,
        .rollback_to = sqlite_rollback_to,
        .probe_write = sqlite_probe_write,
        .event_exists = sqlite_event_exists,
        .insert_event = sqlite_insert_event,
        .settle_opening = sqlite_settle_opening,
        .next_id = sqlite_next_id,
        .get_event = sqlite_get_event,
        .list_alert_events = sqlite_list_alert_events,
        .last_event_id = sqlite_last_event_id,
        .count_events = sqlite_count_events,
        .foreach_device_seen = sqlite_foreach_device_seen,
        .insert_alert = sqlite_insert_alert,
        .update_alert = sqlite_update_alert,
        .set_alert_reason = sqlite_set_alert_reason,
        .insert_action = sqlite_insert_action,
        .list_actions = sqlite_list_actions,
        .set_alert_acked = sqlite_set_alert_acked,
        .set_alert_resolved = sqlite_set_alert_resolved,
        .alert_household = sqlite_alert_household,
        .list_alerts = sqlite_list_alerts,
        .get_alert = sqlite_get_alert,
        .count_live_alerts = sqlite_count_live_alerts,
        .foreach_alert_raised = sqlite_foreach_alert_raised,
        .foreach_household_with_alert = sqlite_foreach_household_with_alert,
        .insert_notification = sqlite_insert_notification,
        .foreach_due_notification = sqlite_foreach_due_notification,
        .list_notifications = sqlite_list_notifications,
        .set_notification_state = sqlite_set_notification_state,
        .next_notification_usec = sqlite_next_notification_usec,
        .defer_notification = sqlite_defer_notification,
        .wake_notifications = sqlite_wake_notifications,
        .requeue_sending = sqlite_requeue_sending,
        .outbox_depth = sqlite_outbox_depth,
        .oldest_undelivered_usec = sqlite_oldest_undelivered_usec,
        .foreach_notified_worker = sqlite_foreach_notified_worker,
        .insert_pass = sqlite_insert_pass,
        .update_pass = sqlite_update_pass,
        .list_passes = sqlite_list_passes,
        .insert_checkin = sqlite_insert_checkin,
        .insert_report = sqlite_insert_report,
        .save_household_state = sqlite_save_household_state,
        .foreach_household_state = sqlite_foreach_household_state,
        .household_timeline = sqlite_household_timeline,
        .created_usec = sqlite_created_usec,
        .seq_get = sqlite_seq_get,
        .seq_bump = sqlite_seq_bump,
        .purge_household = sqlite_purge_household,
        .household_purged = sqlite_household_purged,
        .record_household_windows = sqlite_record_household_windows,
        .foreach_household_window = sqlite_foreach_household_window,
        .foreach_opening_count = sqlite_foreach_opening_count,
        .foreach_alert_brief = sqlite_foreach_alert_brief,
        .foreach_dead_notification = sqlite_foreach_dead_notification,
        .foreach_purged_household = sqlite_foreach_purged_household,
        .foreach_stored_household = sqlite_foreach_stored_household,
        .insert_reading = sqlite_insert_reading,
        .list_readings = sqlite_list_readings,
        .rounds_since_usec = sqlite_rounds_since_usec,
        .form_result = sqlite_form_result,
        .form_record = sqlite_form_record,
        .purge_forms = sqlite_purge_forms,
        .last_opening = sqlite_last_opening,
        .insert_round = sqlite_insert_round,
        .foreach_round = sqlite_foreach_round,
        .foreach_fever = sqlite_foreach_fever,
};

/* Transaction control, cached like the hot statements. */
static const char *const txn_sql[] = {
        [STMT_BEGIN] = "BEGIN IMMEDIATE", [STMT_COMMIT] = "COMMIT",
        [STMT_ROLLBACK] = "ROLLBACK",     [STMT_SAVEPOINT] = "SAVEPOINT step",
        [STMT_RELEASE] = "RELEASE step",  [STMT_ROLLBACK_TO] = "ROLLBACK TO step",
};
static const char sql_seq_next[] = "INSERT INTO seq (name, value) VALUES (?1, 1)"
                                   " ON CONFLICT (name) DO UPDATE SET value = value + 1"
                                   " RETURNING value";

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
        /* 6 -> 7: the daily report. The rule that decided each event and an alert's event
         * time; every household's
         * community and observation window as configuration loads had them; what the
         * retention purge leaves of a household for the report, without the household:
         * openings counted by 15-minute span, verdict and rule, alerts with their times and
         * who acknowledged, the times of failed notifications. Indexes for reading days. */
        "ALTER TABLE event ADD COLUMN rule TEXT;"
        "CREATE INDEX event_time ON event (event_usec);"
        /* An alert's time as the rules' clock had it (the event time of what raised it):
         * a replayed day reports as it happened. Before this, the time it was raised. */
        "ALTER TABLE alert ADD COLUMN event_usec INTEGER;"
        "UPDATE alert SET event_usec = raised_usec;"
        "CREATE INDEX alert_time ON alert (event_usec);"
        "CREATE TABLE household_window ("
        "  id INTEGER PRIMARY KEY, household TEXT NOT NULL, community TEXT,"
        "  start_usec INTEGER NOT NULL, end_usec INTEGER NOT NULL,"
        "  recorded_usec INTEGER NOT NULL);"
        "CREATE INDEX household_window_household ON household_window (household, id);"
        "CREATE TABLE purged_opening ("
        "  community TEXT, span_usec INTEGER NOT NULL, verdict TEXT NOT NULL, rule TEXT,"
        "  n INTEGER NOT NULL);"
        "CREATE INDEX purged_opening_span ON purged_opening (span_usec);"
        "CREATE TABLE purged_alert ("
        "  community TEXT, kind TEXT NOT NULL, raised_usec INTEGER NOT NULL,"
        "  acked_usec INTEGER, acked_by TEXT, resolved_usec INTEGER);"
        "CREATE INDEX purged_alert_raised ON purged_alert (raised_usec);"
        "CREATE TABLE purged_notification (community TEXT, dead_usec INTEGER NOT NULL);",
        /* 7 -> 8: which clock an event's time is, its device's or the receive time (issue
         * 16); NULL for the events stored before. */
        "ALTER TABLE event ADD COLUMN time_basis TEXT;",
        /* 8 -> 9, the field (issue 18): medical rounds' readings (who measured what, when,
         * through which channel; whether it counted for a round, whether it was a fever),
         * from when rounds are judged (now: no round before this upgrade is missed), and the
         * worker page's one-time form nonces with the answer each first got; rounds judged
         * and anonymous fevers for the daily report. */
        "CREATE TABLE reading ("
        "  id INTEGER PRIMARY KEY, household TEXT NOT NULL, community TEXT, worker TEXT NOT NULL,"
        "  channel TEXT NOT NULL, usec INTEGER NOT NULL, recv_usec INTEGER NOT NULL,"
        "  temperature REAL NOT NULL, symptoms TEXT NOT NULL, note TEXT,"
        "  counts INTEGER NOT NULL, round_usec INTEGER, fever INTEGER NOT NULL, alert_id TEXT);"
        "CREATE INDEX reading_household ON reading (household, usec);"
        "CREATE INDEX reading_worker ON reading (worker, usec);"
        "CREATE INDEX reading_time ON reading (usec);"
        /* Every medical round judged (its window ended): done, excused or missed, for the
         * daily report; the purge forgets the household (the community stays). Fever
         * readings the purge removes are kept as anonymous counts. */
        "CREATE TABLE round ("
        "  id INTEGER PRIMARY KEY, household TEXT, community TEXT, at_usec INTEGER NOT NULL,"
        "  end_usec INTEGER NOT NULL, outcome TEXT NOT NULL);"
        "CREATE INDEX round_end ON round (end_usec);"
        "CREATE INDEX round_household ON round (household);"
        "CREATE TABLE purged_fever (community TEXT, usec INTEGER NOT NULL);"
        "CREATE INDEX purged_fever_usec ON purged_fever (usec);"
        "CREATE TABLE form_nonce ("
        "  nonce TEXT PRIMARY KEY, worker TEXT NOT NULL, usec INTEGER NOT NULL,"
        "  status INTEGER NOT NULL, result TEXT NOT NULL);"
        "CREATE INDEX form_nonce_usec ON form_nonce (usec);"
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('rounds_since_usec',"
        "  CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER));",
};

/* How long a write waits for another connection's lock before it fails. */
#define STORE_BUSY_TIMEOUT_MS 2000

const char *store_sqlite_version(void)
{
        return sqlite3_libversion();
}

struct store_sqlite *store_sqlite(struct store *s)
{
        return s && s->ops == &store_sqlite_backend ? sq(s) : NULL;
}

sqlite3 *store_sqlite_db(struct store *s)
{
        return sq(s)->db;
}

const char *sqlite_path(struct store *s)
{
        return sq(s)->path;
}

int sqlite_err(struct store *s, int rc, const char *what)
{
        /* A database that fails keeps failing at every retry: a few lines a minute, then
         * a count of the rest. */
        static struct ratelimit rl = RATELIMIT_INIT(60 * USEC_PER_SEC, 10);

        rc &= 0xff; /* extended result codes are on */
        if (!(sq(s)->quiet_busy && (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)) &&
            ratelimit_below(&rl))
                log_err("database: %s: %s", what, sqlite3_errmsg(sq(s)->db));
        if (rc == SQLITE_FULL)
                return -ENOSPC;
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
                return -EBUSY;
        if (rc == SQLITE_READONLY || rc == SQLITE_PERM || rc == SQLITE_CANTOPEN)
                return -EACCES;
        return -EIO;
}

int sqlite_exec(struct store *s, const char *sql)
{
        char *msg = NULL;
        int rc = sqlite3_exec(sq(s)->db, sql, NULL, NULL, &msg);
        if (rc != SQLITE_OK) {
                log_err("database: %s", msg ? msg : sqlite3_errstr(rc));
                sqlite3_free(msg);
                return rc == SQLITE_FULL ? -ENOSPC : -EIO;
        }
        return 0;
}

sqlite3_stmt *sqlite_stmt(struct store *s, int which, const char *sql)
{
        struct store_sqlite *q = sq(s);
        sqlite3_stmt *st = q->stmt[which];
        if (!st) {
                if (sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) !=
                    SQLITE_OK) {
                        log_err("database: preparing statement %d: %s", which,
                                sqlite3_errmsg(q->db));
                        return NULL;
                }
                q->stmt[which] = st;
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return st;
}

sqlite3_stmt *sqlite_prepare(struct store *s, const char *sql, const char *what)
{
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(sq(s)->db, sql, -1, &st, NULL);

        if (rc != SQLITE_OK) {
                sqlite_err(s, rc, what);
                return NULL;
        }
        return st;
}

int sqlite_each(struct store *s, sqlite3_stmt *st, int (*row)(sqlite3_stmt *st, void *ctx),
                void *ctx, const char *what)
{
        int rc, r = 0, n = 0;

        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                n++;
                r = row(st, ctx);
                if (r < 0)
                        break;
        }
        if (r >= 0)
                r = rc == SQLITE_DONE ? n : sqlite_err(s, rc, what);
        sqlite3_finalize(st);
        return r;
}

void sqlite_where_in(struct sbuf *q, const char *column, unsigned mask, const char *const *names,
                     int n)
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

sqlite3_stmt *sqlite_prepare_built(struct store *s, struct sbuf *q, const char *what)
{
        const char *sql = sbuf_text(q);
        sqlite3_stmt *st = NULL;

        if (sql)
                st = sqlite_prepare(s, sql, what);
        else
                log_err("database: %s: the statement could not be built", what);
        sbuf_done(q);
        return st;
}

/* A cached statement without parameters or rows (transaction control), like sqlite_exec(). */
static int exec_stmt(struct store *s, int which)
{
        sqlite3_stmt *st = sqlite_stmt(s, which, txn_sql[which]);
        int rc;

        if (!st)
                return -EIO;
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE && rc != SQLITE_ROW)
                return sqlite_err(s, rc, txn_sql[which]);
        return 0;
}

void sqlite_bind_text(sqlite3_stmt *st, int i, const char *v)
{
        if (v)
                sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null(st, i);
}

void sqlite_bind_usec(sqlite3_stmt *st, int i, int64_t v)
{
        if (v)
                sqlite3_bind_int64(st, i, v);
        else
                sqlite3_bind_null(st, i);
}

int sqlite_step_done(struct store *s, sqlite3_stmt *st, const char *what)
{
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE && rc != SQLITE_ROW)
                return sqlite_err(s, rc, what);
        return 0;
}

static int schema_version(struct store *s, int *ret)
{
        sqlite3_stmt *st;
        int rc;

        rc = sqlite3_prepare_v2(sq(s)->db, "SELECT value FROM meta WHERE key = 'schema_version'",
                                -1, &st, NULL);
        if (rc != SQLITE_OK) {
                *ret = 0; /* no meta table: empty database */
                return 0;
        }
        rc = sqlite3_step(st);
        *ret = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
        sqlite3_finalize(st);
        return 0;
}

/* "Door" in the header's application id (offset 68): `file` and sqlite3 name the file a
 * doorwatch database, and a file of another program is never taken for one. */
#define DOORWATCH_APPLICATION_ID 0x446f6f72

static int pragma_int(struct store *s, const char *sql, int *ret)
{
        sqlite3_stmt *st;
        int rc = sqlite3_prepare_v2(sq(s)->db, sql, -1, &st, NULL);

        if (rc == SQLITE_OK) {
                rc = sqlite3_step(st);
                *ret = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
                rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
        }
        sqlite3_finalize(st);
        return rc;
}

/* Whether the file is doorwatch's, before anything is written to it: an empty database
 * (new), one with our application id, or one of an earlier doorwatchd (no id yet, but the
 * meta table with a schema version and the event table: adopted, stamped by migrate()).
 * Anything else, a foreign SQLite database or a file that is not SQLite at all, is refused
 * with one line that names it, untouched. *ret_adopt: an earlier doorwatchd's. */
static int check_identity(struct store *s, bool *ret_adopt)
{
        const char *path = sq(s)->path;
        int app_id = 0, tables = 0, ours = 0, rc;

        *ret_adopt = false;
        rc = pragma_int(s, "PRAGMA application_id", &app_id);
        if (rc == SQLITE_OK)
                rc = pragma_int(s, "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                                &tables);
        if (rc == SQLITE_OK)
                rc = pragma_int(s,
                                "SELECT (SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                                " AND name IN ('meta', 'event'))",
                                &ours);
        if ((rc & 0xff) == SQLITE_NOTADB) {
                log_err("database %s: %s; not a doorwatch database, left untouched", path,
                        sqlite3_errmsg(sq(s)->db));
                return -EMEDIUMTYPE;
        }
        if (rc != SQLITE_OK) {
                log_err("database %s: cannot open it as uid %u: %s", path, (unsigned)geteuid(),
                        sqlite3_errmsg(sq(s)->db));
                rc &= 0xff;
                return rc == SQLITE_CANTOPEN || rc == SQLITE_READONLY || rc == SQLITE_PERM ||
                               rc == SQLITE_AUTH
                           ? -EACCES
                           : -EIO;
        }
        if (app_id == DOORWATCH_APPLICATION_ID || (app_id == 0 && tables == 0))
                return 0;
        if (app_id == 0 && ours == 2) {
                int version = 0;
                schema_version(s, &version);
                if (version > 0) {
                        *ret_adopt = true;
                        return 0;
                }
        }
        if (app_id != 0)
                log_err("database %s: application id 0x%08x is another program's, not "
                        "doorwatch's; left untouched",
                        path, (unsigned)app_id);
        else
                log_err("database %s: an SQLite database whose tables are not doorwatch's "
                        "(%d of them); left untouched",
                        path, tables);
        return -EMEDIUMTYPE;
}

static int migrate(struct store *s)
{
        int version, r;
        char sql[128];
        bool adopt = false;

        r = check_identity(s, &adopt);
        if (r < 0)
                return r;
        schema_version(s, &version);
        if (version > (int)ELEMENTSOF(migrations)) {
                log_err("database %s has schema version %d, newer than this doorwatchd (%d)",
                        sq(s)->path, version, (int)ELEMENTSOF(migrations));
                return -EPROTO;
        }
        if (version == (int)ELEMENTSOF(migrations) && !adopt)
                return 0;
        if (sq(s)->readonly) {
                if (adopt && version == (int)ELEMENTSOF(migrations))
                        return 0; /* the daemon stamps it */
                log_err("database %s has schema version %d, expected %d", sq(s)->path, version,
                        (int)ELEMENTSOF(migrations));
                return -EPROTO;
        }
        r = sqlite_exec(s, "BEGIN IMMEDIATE");
        if (r < 0)
                return r;
        r = sqlite_exec(s, "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)");
        for (int v = version; r == 0 && v < (int)ELEMENTSOF(migrations); v++) {
                r = sqlite_exec(s, migrations[v]);
                if (r == 0) {
                        snprintf(sql, sizeof(sql),
                                 "INSERT OR REPLACE INTO meta VALUES ('schema_version', '%d')",
                                 v + 1);
                        r = sqlite_exec(s, sql);
                }
                if (r == 0)
                        log_info("database: migrated schema to version %d", v + 1);
        }
        /* The header says whose file it is and which schema (sqlite3's .dbinfo, file(1)). */
        if (r == 0) {
                snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; PRAGMA user_version = %d",
                         DOORWATCH_APPLICATION_ID, (int)ELEMENTSOF(migrations));
                r = sqlite_exec(s, sql);
        }
        if (r == 0 && adopt)
                log_notice("database %s: written by an earlier doorwatchd (schema version %d); "
                           "adopted and stamped with doorwatch's application id",
                           sq(s)->path, version);
        if (r < 0) {
                sqlite_exec(s, "ROLLBACK");
                return r;
        }
        return sqlite_exec(s, "COMMIT");
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

/* The database holds addresses, phone numbers and the movements of people under
 * observation: a directory others may read or enter (a state directory made by hand with
 * the usual 0755) gets a warning; the daemon does not change a directory it did not make. */
static void warn_open_directory(const char *path)
{
        _cleanup_free_ char *copy = xstrdup(path);
        const char *dir = dirname(copy);
        struct stat st;

        if (stat(dir, &st) == 0 && (st.st_mode & (S_IROTH | S_IXOTH)))
                log_warn("database: its directory %s is open to other users (mode %04o): the "
                         "database and its -wal file hold personal data; chmod 0750 %s",
                         dir, (unsigned)(st.st_mode & 07777), dir);
}

int sqlite_open(const char *path, const char *password, bool sync_full, bool readonly,
                struct store **ret)
{
        static bool configured;
        struct store_sqlite *q;
        struct store *s;
        int flags, rc, r;

        /* SQLite's memory statistics take a global mutex around every allocation (some
         * twenty per stored event); nothing here reads them. Only possible before SQLite
         * initialises, i.e. at the first open. */
        if (!configured) {
                (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
                configured = true;
        }

        q = xcalloc(1, sizeof(*q));
        s = &q->base;
        s->ops = &store_sqlite_backend;
        q->path = xstrdup(path);
        q->readonly = readonly;
        if (!readonly) {
                r = ensure_parent_dir(path);
                if (r < 0) {
                        log_err_errno(r, "database: cannot create directory for %s", path);
                        sqlite_close(s);
                        return r;
                }
        }
        flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
        mode_t old = umask(027);
        rc = sqlite3_open_v2(path, &q->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
        umask(old);
        if (rc != SQLITE_OK) {
                log_err("database: cannot open %s: %s", path,
                        q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc));
                sqlite_close(s);
                return -EACCES;
        }
        sqlite3_busy_timeout(q->db, readonly ? 5000 : STORE_BUSY_TIMEOUT_MS);
        sqlite3_extended_result_codes(q->db, 1);
        if (!readonly) {
                bool adopt;

                /* Nothing is written (not even the WAL switch) to a file that is not ours. */
                r = check_identity(s, &adopt);
                if (r < 0) {
                        sqlite_close(s);
                        return r;
                }
                /* SQLite opens a file it may not write read-only, silently. */
                if (sqlite3_db_readonly(q->db, "main") == 1) {
                        log_err("database %s: not writable by this user (uid %u); left untouched",
                                path, (unsigned)geteuid());
                        sqlite_close(s);
                        return -EACCES;
                }
                if (chmod(path, 0640) < 0)
                        log_warn_errno(-errno, "database: cannot chmod %s", path);
                warn_open_directory(path);
                r = sqlite_exec(s, "PRAGMA journal_mode=WAL");
                if (r == 0)
                        r = sqlite_exec(s, sync_full ? "PRAGMA synchronous=FULL"
                                                     : "PRAGMA synchronous=NORMAL");
                /* 1 MiB of page cache, not SQLite's default 2 MB: the writes touch the ends
                 * of the tables and indexes, the rest is in the kernel's page cache a pread
                 * away (bench: +3% reads, no measurable CPU), and peak RSS is a target. It
                 * also bounds the sorter's memory before it spills (outbox backlogs). */
                if (r == 0)
                        r = sqlite_exec(s, "PRAGMA cache_size=-1024");
                if (r == 0)
                        r = migrate(s);
                if (r < 0) {
                        sqlite_close(s);
                        return r;
                }
        } else {
                r = migrate(s);
                if (r < 0) {
                        sqlite_close(s);
                        return r;
                }
        }
        *ret = s;
        return 0;
}

void sqlite_close(struct store *s)
{
        struct store_sqlite *q = sq(s);

        for (int i = 0; i < _STMT_MAX; i++)
                sqlite3_finalize(q->stmt[i]);
        sqlite3_close(q->db);
        free(q->path);
        free(q);
}

/* Writes the counters that ran ahead of their seq rows. */
static int seq_flush(struct store *s)
{
        struct store_sqlite *sl = sq(s);

        for (size_t i = 0; i < sl->n_seq; i++) {
                struct seq_entry *q = &sl->seq[i];
                sqlite3_stmt *st;
                int r;

                if (!q->dirty)
                        continue;
                st = sqlite_stmt(s, STMT_SEQ_SET, "UPDATE seq SET value = ?2 WHERE name = ?1");
                if (!st)
                        return -EIO;
                sqlite_bind_text(st, 1, q->name);
                sqlite3_bind_int64(st, 2, q->value);
                r = sqlite_step_done(s, st, "saving id counter");
                if (r < 0)
                        return r;
                q->dirty = false;
        }
        return 0;
}

int sqlite_begin(struct store *s, bool wait)
{
        struct store_sqlite *q = sq(s);
        int r;

        if (wait)
                return exec_stmt(s, STMT_BEGIN);
        sqlite3_busy_timeout(q->db, 0);
        q->quiet_busy = true; /* the caller retries and says so */
        r = exec_stmt(s, STMT_BEGIN);
        q->quiet_busy = false;
        sqlite3_busy_timeout(q->db, STORE_BUSY_TIMEOUT_MS);
        return r;
}

void sqlite_rollback(struct store *s)
{
        /* SQLite may have rolled the transaction back already (SQLITE_FULL, SQLITE_IOERR,
         * SQLITE_NOMEM, a trigger's RAISE(ROLLBACK)): then there is nothing to end. */
        if (!sqlite3_get_autocommit(sq(s)->db))
                exec_stmt(s, STMT_ROLLBACK);
        sq(s)->n_seq = 0; /* the counters' rows are as before the transaction */
}

int sqlite_commit(struct store *s)
{
        int r = seq_flush(s);

        if (r == 0)
                r = exec_stmt(s, STMT_COMMIT);
        if (r < 0)
                sqlite_rollback(s);
        return r;
}

int sqlite_probe_write(struct store *s, int64_t now_usec)
{
        char sql[128];
        int r;

        r = sqlite_exec(s, "BEGIN IMMEDIATE");
        if (r == 0) {
                snprintf(sql, sizeof(sql),
                         "INSERT OR REPLACE INTO meta VALUES ('write_probe_usec', '%lld')",
                         (long long)now_usec);
                r = sqlite_exec(s, sql);
                if (r == 0)
                        r = sqlite_exec(s, "COMMIT");
                if (r < 0)
                        sqlite_rollback(s);
        }
        return r;
}

int sqlite_savepoint(struct store *s)
{
        int r = seq_flush(s);
        return r < 0 ? r : exec_stmt(s, STMT_SAVEPOINT);
}

int sqlite_release(struct store *s)
{
        return exec_stmt(s, STMT_RELEASE);
}

int sqlite_rollback_to(struct store *s)
{
        int r = exec_stmt(s, STMT_ROLLBACK_TO);
        /* The rows are back to the savepoint, where the counters were flushed. */
        sq(s)->n_seq = 0;
        return r < 0 ? r : exec_stmt(s, STMT_RELEASE);
}

static int wal_hook(void *userdata, sqlite3 *db, const char *name, int frames)
{
        struct store_sqlite *q = userdata;

        q->wal_frames = frames;
        return SQLITE_OK;
}

void sqlite_manual_checkpoints(struct store *s, int64_t wal_limit_bytes)
{
        char sql[64];

        /* A WAL hook replaces SQLite's automatic checkpoint after COMMIT. */
        sqlite3_wal_hook(sq(s)->db, wal_hook, sq(s));
        snprintf(sql, sizeof(sql), "PRAGMA journal_size_limit=%lld", (long long)wal_limit_bytes);
        sqlite_exec(s, sql);
}

int sqlite_wal_frames(struct store *s)
{
        return sq(s)->wal_frames;
}

int sqlite_checkpoint_connection(const char *path, bool sync_full, sqlite3 **ret)
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

int sqlite_checkpoint(sqlite3 *db, int *ret_log, int *ret_ckpt)
{
        int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, ret_log, ret_ckpt);

        switch (rc & 0xff) {
        case SQLITE_OK:
                return 0;
        case SQLITE_BUSY:
                return STORE_E_BUSY;
        case SQLITE_FULL:
                return -ENOSPC;
        default:
                return -EIO;
        }
}

int sqlite_next_id(struct store *s, char prefix, int64_t now_usec, char *buf, size_t size)
{
        struct store_sqlite *sl = sq(s);
        sqlite3_stmt *st;
        char name[32], day[16];
        struct seq_entry *q = NULL;
        struct tm tm;
        int rc, r;

        local_time(now_usec / USEC_PER_SEC, &tm);
        strftime(day, sizeof(day), "%Y%m%d", &tm);
        snprintf(name, sizeof(name), "%c-%s", prefix, day);
        for (size_t i = 0; i < sl->n_seq && !q; i++)
                if (strcmp(sl->seq[i].name, name) == 0)
                        q = &sl->seq[i];
        if (q) {
                q->value++;
                q->dirty = true;
                snprintf(buf, size, "%s-%04lld", name, q->value);
                return 0;
        }
        if (sl->n_seq == SEQ_CACHE_MAX) {
                /* A new day or prefix: write the others back and start over. */
                r = seq_flush(s);
                if (r < 0)
                        return r;
                sl->n_seq = 0;
        }
        st = sqlite_stmt(s, STMT_SEQ_NEXT, sql_seq_next);
        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, name);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
                sqlite3_reset(st);
                return sqlite_err(s, rc, "allocating id");
        }
        q = &sl->seq[sl->n_seq++];
        snprintf(q->name, sizeof(q->name), "%s", name);
        q->value = sqlite3_column_int64(st, 0);
        q->dirty = false;
        sqlite3_reset(st);
        snprintf(buf, size, "%s-%04lld", name, q->value);
        return 0;
}

int64_t sqlite_created_usec(struct store *s)
{
        sqlite3_stmt *st;
        int64_t v = 0;

        if (sqlite3_prepare_v2(sq(s)->db, "SELECT value FROM meta WHERE key = 'created_usec'", -1,
                               &st, NULL) != SQLITE_OK)
                return 0;
        if (sqlite3_step(st) == SQLITE_ROW)
                v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return v;
}

/* Statements used a few times a minute at most (HTTP health and links) are prepared per
 * call, which keeps the cached statement table to the hot path. */
int sqlite_query_int64(struct store *s, const char *sql, const char *arg, int64_t dflt,
                       int64_t *ret)
{
        sqlite3_stmt *st;
        int rc = sqlite3_prepare_v2(sq(s)->db, sql, -1, &st, NULL);

        if (rc != SQLITE_OK)
                return sqlite_err(s, rc, "preparing a query");
        if (arg)
                sqlite_bind_text(st, 1, arg);
        rc = sqlite3_step(st);
        *ret = rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL
                   ? sqlite3_column_int64(st, 0)
                   : dflt;
        sqlite3_finalize(st);
        return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sqlite_err(s, rc, "reading a value");
}

int sqlite_seq_get(struct store *s, const char *name, int64_t *ret)
{
        return sqlite_query_int64(s, "SELECT value FROM seq WHERE name = ?1", name, 0, ret);
}

int sqlite_seq_bump(struct store *s, const char *name, int64_t *ret)
{
        sqlite3_stmt *st = sqlite_stmt(s, STMT_SEQ_NEXT, sql_seq_next);
        int rc;

        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, name);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
                sqlite3_reset(st);
                return sqlite_err(s, rc, "incrementing a counter");
        }
        *ret = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return 0;
}

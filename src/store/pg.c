/* pg.c: the PostgreSQL backend: opening, schema and migrations, transactions and
 * savepoints, per-day id counters, named counters, and the session's settings. The rows
 * themselves are written and read in pg_<entity>.c, the connection is pg_conn.c's.
 *
 * Schema: the same tables, columns and meaning as SQLite's (sqlite.c), in PostgreSQL's
 * types: BIGINT times and counters, BOOLEAN flags, DOUBLE PRECISION device clocks, BYTEA
 * payloads (a device's payload need not be valid UTF-8), identity columns for row ids,
 * and a `seq` identity column on alert and notification where SQLite's ordering used the
 * rowid. Its migration history is its own (`migrations` below, versions in `meta` like
 * SQLite's): a new column is a migration in each backend. Migrations run at open, in one
 * transaction under an advisory lock, so two daemons starting at once migrate once.
 *
 * Transactions: BEGIN is queued with the first statement, COMMIT waits (with the id
 * counters written just before it in the same round trip). A transaction whose connection
 * is lost, or whose server answers nothing in time or refuses writes, is gone as a whole:
 * its writes and its COMMIT fail, and the daemon holds its messages and retries (a probe
 * write, then BEGIN), which connects again with backoff (pg_conn.c). Durability follows the server:
 * a COMMIT returns once the server's synchronous_commit is satisfied; "database_sync": "full"
 * raises a session's off or local to on, "normal" raises only off (to local): a commit acknowledged
 * to the broker survives a crash of the server either way. */
#include "pg.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "util.h"

const struct store_backend store_pg_backend = {
        .name = "postgresql",
        .open = pg_open,
        .close = pg_close,
        .backup = pg_backup,
        .begin = pg_begin,
        .commit = pg_commit,
        .savepoint = pg_savepoint,
        .release = pg_release,
        .rollback_to = pg_rollback_to,
        .probe_write = pg_probe_write,
        .rollback = pg_rollback,
        .event_exists = pg_event_exists,
        .insert_event = pg_insert_event,
        .settle_opening = pg_settle_opening,
        .next_id = pg_next_id,
        .get_event = pg_get_event,
        .list_alert_events = pg_list_alert_events,
        .last_event_id = pg_last_event_id,
        .count_events = pg_count_events,
        .foreach_device_seen = pg_foreach_device_seen,
        .insert_alert = pg_insert_alert,
        .update_alert = pg_update_alert,
        .set_alert_reason = pg_set_alert_reason,
        .insert_action = pg_insert_action,
        .list_actions = pg_list_actions,
        .set_alert_acked = pg_set_alert_acked,
        .set_alert_resolved = pg_set_alert_resolved,
        .alert_household = pg_alert_household,
        .list_alerts = pg_list_alerts,
        .get_alert = pg_get_alert,
        .count_live_alerts = pg_count_live_alerts,
        .foreach_alert_raised = pg_foreach_alert_raised,
        .foreach_household_with_alert = pg_foreach_household_with_alert,
        .insert_notification = pg_insert_notification,
        .foreach_due_notification = pg_foreach_due_notification,
        .list_notifications = pg_list_notifications,
        .set_notification_state = pg_set_notification_state,
        .next_notification_usec = pg_next_notification_usec,
        .defer_notification = pg_defer_notification,
        .wake_notifications = pg_wake_notifications,
        .requeue_sending = pg_requeue_sending,
        .outbox_depth = pg_outbox_depth,
        .oldest_undelivered_usec = pg_oldest_undelivered_usec,
        .foreach_notified_worker = pg_foreach_notified_worker,
        .insert_pass = pg_insert_pass,
        .update_pass = pg_update_pass,
        .list_passes = pg_list_passes,
        .insert_checkin = pg_insert_checkin,
        .insert_report = pg_insert_report,
        .save_household_state = pg_save_household_state,
        .foreach_household_state = pg_foreach_household_state,
        .household_timeline = pg_household_timeline,
        .created_usec = pg_created_usec,
        .seq_get = pg_seq_get,
        .seq_bump = pg_seq_bump,
        .purge_household = pg_purge_household,
        .household_purged = pg_household_purged,
        .record_household_windows = pg_record_household_windows,
        .foreach_household_window = pg_foreach_household_window,
        .foreach_opening_count = pg_foreach_opening_count,
        .foreach_alert_brief = pg_foreach_alert_brief,
        .foreach_dead_notification = pg_foreach_dead_notification,
        .foreach_purged_household = pg_foreach_purged_household,
        .foreach_stored_household = pg_foreach_stored_household,
        .insert_reading = pg_insert_reading,
        .list_readings = pg_list_readings,
        .rounds_since_usec = pg_rounds_since_usec,
        .form_result = pg_form_result,
        .form_record = pg_form_record,
        .purge_forms = pg_purge_forms,
        .last_opening = pg_last_opening,
        .insert_round = pg_insert_round,
        .foreach_round = pg_foreach_round,
        .foreach_fever = pg_foreach_fever,
};

/* Migrations: index i brings the schema from version i to i + 1, one statement per string
 * (the extended protocol runs one at a time). Version 1 is SQLite's version 6. */
static const char *const migration_1[] = {
        "CREATE TABLE event ("
        "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
        "  device TEXT NOT NULL, household TEXT, source TEXT, uid TEXT,"
        "  type TEXT NOT NULL, state TEXT, ts DOUBLE PRECISION,"
        "  recv_usec BIGINT NOT NULL, event_usec BIGINT NOT NULL,"
        "  retained BOOLEAN NOT NULL DEFAULT false,"
        "  verdict TEXT NOT NULL, reason TEXT NOT NULL, alert_id TEXT, payload BYTEA,"
        "  UNIQUE (device, uid))",
        "CREATE INDEX event_household ON event (household, event_usec)",
        "CREATE TABLE seq (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
        "CREATE TABLE alert ("
        "  id TEXT PRIMARY KEY, seq BIGINT GENERATED ALWAYS AS IDENTITY,"
        "  household TEXT, community TEXT, device TEXT,"
        "  kind TEXT NOT NULL, severity TEXT NOT NULL, state TEXT NOT NULL,"
        "  reason TEXT NOT NULL, count INTEGER NOT NULL DEFAULT 1,"
        "  event_uid TEXT, event_ts DOUBLE PRECISION,"
        "  raised_usec BIGINT NOT NULL, last_event_usec BIGINT NOT NULL,"
        "  step INTEGER NOT NULL DEFAULT 0, round INTEGER NOT NULL DEFAULT 1, next_usec BIGINT,"
        "  reminders INTEGER NOT NULL DEFAULT 0,"
        "  acked_by TEXT, ack_channel TEXT, acked_usec BIGINT,"
        "  resolved_by TEXT, resolve_channel TEXT, resolved_usec BIGINT, note TEXT)",
        "CREATE INDEX alert_state ON alert (state, household)",
        "CREATE INDEX alert_kind ON alert (kind, household)",
        "CREATE INDEX alert_household ON alert (household)",
        "CREATE TABLE action ("
        "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, kind TEXT NOT NULL,"
        "  actor TEXT, channel TEXT NOT NULL, target TEXT, usec BIGINT NOT NULL, detail TEXT)",
        "CREATE INDEX action_target ON action (target)",
        "CREATE TABLE notification ("
        "  id TEXT PRIMARY KEY, seq BIGINT GENERATED ALWAYS AS IDENTITY,"
        "  alert_id TEXT NOT NULL, worker TEXT, channel TEXT NOT NULL,"
        "  step TEXT, round INTEGER, priority INTEGER NOT NULL DEFAULT 0,"
        "  kind TEXT NOT NULL DEFAULT 'alert',"
        "  payload TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
        "  created_usec BIGINT NOT NULL, next_usec BIGINT NOT NULL,"
        "  delivered_usec BIGINT, last_error TEXT, last_attempt_usec BIGINT, dead_usec BIGINT)",
        "CREATE INDEX notification_due ON notification (state, next_usec, priority, created_usec)",
        "CREATE INDEX notification_alert ON notification (alert_id)",
        "CREATE TABLE pass ("
        "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, household TEXT NOT NULL,"
        "  worker TEXT NOT NULL, channel TEXT NOT NULL, from_usec BIGINT NOT NULL,"
        "  to_usec BIGINT NOT NULL, reason TEXT NOT NULL, created_usec BIGINT NOT NULL,"
        "  exit_usec BIGINT, return_usec BIGINT, overdue BOOLEAN NOT NULL DEFAULT false,"
        "  done BOOLEAN NOT NULL DEFAULT false)",
        "CREATE INDEX pass_household ON pass (household, from_usec)",
        "CREATE INDEX pass_pending ON pass (done, household)",
        "CREATE TABLE checkin ("
        "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, household TEXT NOT NULL,"
        "  worker TEXT NOT NULL, channel TEXT NOT NULL, usec BIGINT NOT NULL,"
        "  recv_usec BIGINT NOT NULL)",
        "CREATE INDEX checkin_household ON checkin (household, usec)",
        "CREATE TABLE report ("
        "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, household TEXT NOT NULL,"
        "  channel TEXT NOT NULL, reason TEXT, usec BIGINT NOT NULL, recv_usec BIGINT NOT NULL,"
        "  number INTEGER NOT NULL, over_limit BOOLEAN NOT NULL)",
        "CREATE INDEX report_household ON report (household, usec)",
        "CREATE TABLE household_state ("
        "  household TEXT PRIMARY KEY, state TEXT NOT NULL, updated_usec BIGINT NOT NULL)",
        "CREATE TABLE purged (household TEXT PRIMARY KEY, usec BIGINT NOT NULL,"
        "  events BIGINT NOT NULL)",
        "INSERT INTO meta (key, value) VALUES ('created_usec',"
        "  (extract(epoch FROM clock_timestamp()) * 1000000)::bigint::text)"
        "  ON CONFLICT (key) DO NOTHING",
        NULL,
};

/* 1 -> 2 (SQLite's 6 -> 7): the daily report. The rule that decided each event and an
 * alert's event time (before this, the time it was raised); every household's community
 * and observation window as configuration loads had them; what the retention purge leaves
 * of a household for the report, without the household: openings counted by 15-minute
 * span, verdict and rule, alerts with their times and who acknowledged, the times of
 * failed notifications. Indexes for reading days. */
static const char *const migration_2[] = {
        "ALTER TABLE event ADD COLUMN rule TEXT",
        "CREATE INDEX event_time ON event (event_usec)",
        "ALTER TABLE alert ADD COLUMN event_usec BIGINT",
        "UPDATE alert SET event_usec = raised_usec",
        "CREATE INDEX alert_time ON alert (event_usec)",
        "CREATE TABLE household_window ("
        "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, household TEXT NOT NULL,"
        "  community TEXT, start_usec BIGINT NOT NULL, end_usec BIGINT NOT NULL,"
        "  recorded_usec BIGINT NOT NULL)",
        "CREATE INDEX household_window_household ON household_window (household, id)",
        "CREATE TABLE purged_opening ("
        "  community TEXT, span_usec BIGINT NOT NULL, verdict TEXT NOT NULL, rule TEXT,"
        "  n BIGINT NOT NULL)",
        "CREATE INDEX purged_opening_span ON purged_opening (span_usec)",
        "CREATE TABLE purged_alert ("
        "  community TEXT, kind TEXT NOT NULL, raised_usec BIGINT NOT NULL,"
        "  acked_usec BIGINT, acked_by TEXT, resolved_usec BIGINT)",
        "CREATE INDEX purged_alert_raised ON purged_alert (raised_usec)",
        "CREATE TABLE purged_notification (community TEXT, dead_usec BIGINT NOT NULL)",
        NULL,
};

/* 2 -> 3 (SQLite's 7 -> 8): which clock an event's time is, its device's or the receive
 * time (issue 16); NULL for the events stored before. */
static const char *const migration_3[] = {
        "ALTER TABLE event ADD COLUMN time_basis TEXT",
        NULL,
};

/* 3 -> 4 (SQLite's 8 -> 9), the field (issue 18): medical rounds' readings, from when
 * rounds are judged (now: no round before this upgrade is missed), the worker page's
 * one-time form nonces with the answer each first got, the rounds judged and the fevers
 * the purge leaves anonymous, for the daily report. */
static const char *const migration_4[] = {
        "CREATE TABLE reading ("
        "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, household TEXT NOT NULL,"
        "  community TEXT, worker TEXT NOT NULL, channel TEXT NOT NULL, usec BIGINT NOT NULL,"
        "  recv_usec BIGINT NOT NULL, temperature DOUBLE PRECISION NOT NULL,"
        "  symptoms TEXT NOT NULL, note TEXT, counts BOOLEAN NOT NULL, round_usec BIGINT,"
        "  fever BOOLEAN NOT NULL, alert_id TEXT)",
        "CREATE INDEX reading_household ON reading (household, usec)",
        "CREATE INDEX reading_worker ON reading (worker, usec)",
        "CREATE INDEX reading_time ON reading (usec)",
        "CREATE TABLE round ("
        "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, household TEXT,"
        "  community TEXT, at_usec BIGINT NOT NULL, end_usec BIGINT NOT NULL,"
        "  outcome TEXT NOT NULL)",
        "CREATE INDEX round_end ON round (end_usec)",
        "CREATE INDEX round_household ON round (household)",
        "CREATE TABLE purged_fever (community TEXT, usec BIGINT NOT NULL)",
        "CREATE INDEX purged_fever_usec ON purged_fever (usec)",
        "CREATE TABLE form_nonce ("
        "  nonce TEXT PRIMARY KEY, worker TEXT NOT NULL, usec BIGINT NOT NULL,"
        "  status INTEGER NOT NULL, result TEXT NOT NULL)",
        "CREATE INDEX form_nonce_usec ON form_nonce (usec)",
        "INSERT INTO meta (key, value) VALUES ('rounds_since_usec',"
        "  (extract(epoch FROM clock_timestamp()) * 1000000)::bigint::text)"
        "  ON CONFLICT (key) DO NOTHING",
        NULL,
};

static const char *const *const migrations[] = { migration_1, migration_2, migration_3,
                                                 migration_4 };

/* Two daemons opening one database migrate one after the other: the key is "door". */
#define PG_MIGRATION_LOCK "1685024626"

static const char sql_seq_next[] = "INSERT INTO seq (name, value) VALUES ($1, 1)"
                                   " ON CONFLICT (name) DO UPDATE SET value = seq.value + 1"
                                   " RETURNING value";

/* A statement outside any transaction of ours (set-up, migrations): waits. */
static int exec(struct store *s, const char *sql, const char *what)
{
        int r = pg_command(s, PG_UNNAMED, sql, NULL, what);
        return r < 0 ? r : 0;
}

int pg_session_setup(struct store *s)
{
        struct store_pg *q = pq(s);
        PGresult *res;
        char level[32] = "";
        int r;

        if (q->readonly)
                return exec(s, "SET default_transaction_read_only = on", "setting up the session");
        res = pg_query(s, PG_UNNAMED, "SHOW synchronous_commit", NULL, "reading synchronous_commit",
                       &r);
        if (!res)
                return r;
        if (PQntuples(res) == 1)
                snprintf(level, sizeof(level), "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        if (str_eq(level, "off"))
                return exec(s,
                            q->sync_full ? "SET synchronous_commit = on"
                                         : "SET synchronous_commit = local",
                            "setting synchronous_commit");
        if (q->sync_full && str_eq(level, "local"))
                return exec(s, "SET synchronous_commit = on", "setting synchronous_commit");
        return 0;
}

static int schema_version(struct store *s, int *ret)
{
        int64_t v = 0;
        int r;

        r = pg_query_int64(s, PG_UNNAMED, "SELECT (to_regclass('meta') IS NOT NULL)::int", NULL, 0,
                           "reading the schema version", &v);
        if (r < 0)
                return r;
        if (v)
                r = pg_query_int64(s, PG_UNNAMED,
                                   "SELECT value::bigint FROM meta WHERE key = 'schema_version'",
                                   NULL, 0, "reading the schema version", &v);
        *ret = (int)v;
        return r;
}

static int migrate(struct store *s)
{
        struct store_pg *q = pq(s);
        const int latest = (int)ELEMENTSOF(migrations);
        char sql[160];
        int version, r;

        r = schema_version(s, &version);
        if (r < 0)
                return r;
        if (version > latest) {
                log_err("database %s has schema version %d, newer than this doorwatchd (%d)",
                        q->shown, version, latest);
                return -EPROTO;
        }
        if (version == latest)
                return 0;
        if (q->readonly) {
                log_err("database %s has schema version %d, expected %d", q->shown, version,
                        latest);
                return -EPROTO;
        }
        r = pg_begin(s, true);
        if (r < 0)
                return r;
        r = pg_command(s, PG_UNNAMED, "SELECT pg_advisory_xact_lock(" PG_MIGRATION_LOCK ")", NULL,
                       "locking the schema");
        if (r >= 0)
                r = pg_command(s, PG_UNNAMED,
                               "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
                               NULL, "creating the schema");
        /* Again under the lock: another daemon may have migrated meanwhile. */
        if (r >= 0)
                r = schema_version(s, &version);
        for (int v = version; r >= 0 && v < latest; v++) {
                for (const char *const *st = migrations[v]; r >= 0 && *st; st++)
                        r = pg_command(s, PG_UNNAMED, *st, NULL, "migrating the schema");
                if (r >= 0) {
                        snprintf(sql, sizeof(sql),
                                 "INSERT INTO meta VALUES ('schema_version', '%d')"
                                 " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                 v + 1);
                        r = pg_command(s, PG_UNNAMED, sql, NULL, "migrating the schema");
                }
                if (r >= 0)
                        log_info("database: migrated schema to version %d", v + 1);
        }
        if (r < 0) {
                q->txn_error = q->txn_error ? q->txn_error : r;
                pg_commit(s); /* rolls back */
                return r;
        }
        return pg_commit(s);
}

int pg_open(const char *database, const char *password, bool sync_full, bool readonly,
            struct store **ret)
{
        struct store_pg *q = xcalloc(1, sizeof(*q));
        struct store *s;
        int r;

        s = &q->base;
        s->ops = &store_pg_backend;
        q->session_setup = pg_session_setup;
        q->uri = xstrdup(database);
        q->shown = pg_mask_uri(database);
        q->password = password ? xstrdup(password) : NULL;
        q->readonly = readonly;
        q->sync_full = sync_full;
        if (!q->shown)
                abort();
        r = pg_ready(s, true);
        if (r == 0)
                r = migrate(s);
        if (r < 0) {
                log_err("database %s: cannot open", q->shown);
                pg_close(s);
                return r;
        }
        *ret = s;
        return 0;
}

void pg_close(struct store *s)
{
        struct store_pg *q = pq(s);

        if (!q->readonly)
                log_info("database: %llu statements in %llu round trips, %.3f s waiting for the "
                         "server",
                         (unsigned long long)q->n_sent, (unsigned long long)q->n_waits,
                         (double)q->wait_usec / USEC_PER_SEC);
        pg_disconnect(s);
        free(q->uri);
        free(q->shown);
        if (q->password) {
                explicit_bzero(q->password, strlen(q->password));
                free(q->password);
        }
        free(q);
}

int pg_backup(const char *database, const char *dest_path, struct store_backup_info *info)
{
        _cleanup_free_ char *shown = pg_mask_uri(database);

        log_err("backup: the database is PostgreSQL, which backs itself up: use pg_dump, e.g. "
                "pg_dump --format=custom --file=%s '%s' (PGPASSFILE or ~/.pgpass for the "
                "password), or the server's own base backups and WAL archive",
                dest_path, shown);
        return -EOPNOTSUPP;
}

/* ---- transactions ---- */

/* Writes the counters that ran ahead of their seq rows (queued with what follows). */
static int seq_flush(struct store *s)
{
        struct store_pg *q = pq(s);

        for (size_t i = 0; i < q->n_seq; i++) {
                struct pg_seq *c = &q->seq[i];
                struct pg_params p = { .n = 0 };
                int r;

                if (!c->dirty)
                        continue;
                pg_p_text(&p, c->name);
                pg_p_int(&p, c->value);
                r = pg_send(s, PG_SEQ_SET, "UPDATE seq SET value = $2 WHERE name = $1", &p,
                            "saving id counter");
                if (r < 0)
                        return r;
                c->dirty = false;
        }
        return 0;
}

int pg_begin(struct store *s, bool wait)
{
        struct store_pg *q = pq(s);
        int r;

        /* The daemon's loop never blocks on a connection attempt: its held messages are
         * retried; readers (doorwatchctl) wait for one. */
        r = pg_ready(s, q->readonly && wait);
        if (r < 0)
                return r;
        q->txn = true;
        q->txn_error = 0;
        q->in_savepoint = false;
        r = pg_send(s, PG_UNNAMED, "BEGIN", NULL, "BEGIN");
        if (r < 0)
                q->txn = false;
        return r;
}

static void rollback(struct store *s)
{
        struct store_pg *q = pq(s);

        q->n_seq = 0;
        if (q->conn) {
                q->txn_error = 0; /* so the ROLLBACK is sent */
                pg_send(s, PG_UNNAMED, "ROLLBACK", NULL, "ROLLBACK");
                pg_roundtrip(s, true);
        }
        q->txn = false;
        q->in_savepoint = false;
}

/* store_rollback(): also after the server aborted the transaction or the connection went
 * (nothing to send then). */
void pg_rollback(struct store *s)
{
        rollback(s);
}

int pg_commit(struct store *s)
{
        struct store_pg *q = pq(s);
        PGresult *res;
        int r = q->txn_error;

        if (r == 0)
                r = seq_flush(s);
        if (r == 0 && !q->conn)
                r = -ENOTCONN;
        if (r < 0) {
                rollback(s);
                return r;
        }
        /* COMMIT and a Sync after it: the answer comes once the commit is durable. */
        q->txn = false;
        q->in_savepoint = false;
        res = pg_query(s, PG_UNNAMED, "COMMIT", NULL, "COMMIT", &r);
        /* COMMIT of a transaction that failed is answered "ROLLBACK". */
        if (res && !str_eq(PQcmdStatus(res), "COMMIT"))
                r = -EIO;
        PQclear(res);
        if (r < 0) {
                q->n_seq = 0;
                if (q->conn)
                        rollback(s); /* a COMMIT skipped after an error leaves the block open */
        }
        return r;
}

int pg_probe_write(struct store *s, int64_t now_usec)
{
        struct pg_params p = { .n = 0 };
        int r = pg_ready(s, false);

        if (r < 0)
                return r;
        pg_p_int(&p, now_usec);
        r = pg_command(s, PG_UNNAMED,
                       "INSERT INTO meta VALUES ('write_probe_usec', $1::bigint::text)"
                       " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                       &p, "probing for writes");
        return r < 0 ? r : 0;
}

int pg_savepoint(struct store *s)
{
        struct store_pg *q = pq(s);
        int r = seq_flush(s);

        if (r == 0)
                r = pg_send(s, PG_UNNAMED, "SAVEPOINT step", NULL, "SAVEPOINT");
        if (r == 0) {
                q->in_savepoint = true;
                q->savepoint_error = q->txn_error;
        }
        return r;
}

/* Waits: a write under the savepoint that failed is reported here, while the caller can
 * still roll back to the savepoint. */
int pg_release(struct store *s)
{
        struct store_pg *q = pq(s);
        int r = pg_send(s, PG_UNNAMED, "RELEASE step", NULL, "RELEASE");

        if (r == 0)
                r = pg_roundtrip(s, false);
        if (r == 0)
                r = q->txn_error;
        if (r == 0)
                q->in_savepoint = false;
        return r;
}

int pg_rollback_to(struct store *s)
{
        struct store_pg *q = pq(s);
        int r;

        if (!q->in_savepoint)
                return -EINVAL;
        /* The error being undone must not stop the ROLLBACK TO from being sent. */
        q->txn_error = 0;
        r = pg_send(s, PG_UNNAMED, "ROLLBACK TO step", NULL, "ROLLBACK TO");
        if (r == 0)
                r = pg_send(s, PG_UNNAMED, "RELEASE step", NULL, "RELEASE");
        if (r == 0)
                r = pg_roundtrip(s, false);
        /* The rows are back to the savepoint, where the counters were flushed. */
        q->n_seq = 0;
        q->in_savepoint = false;
        if (r < 0 || !q->conn) {
                q->txn_error = r < 0 ? r : -ENOTCONN;
                return q->txn_error;
        }
        q->txn_error = q->savepoint_error;
        return 0;
}

/* ---- ids and counters ---- */

int pg_next_id(struct store *s, char prefix, int64_t now_usec, char *buf, size_t size)
{
        struct store_pg *q = pq(s);
        struct pg_params p = { .n = 0 };
        struct pg_seq *c = NULL;
        char name[32], day[16];
        PGresult *res;
        struct tm tm;
        int r;

        local_time(now_usec / USEC_PER_SEC, &tm);
        strftime(day, sizeof(day), "%Y%m%d", &tm);
        snprintf(name, sizeof(name), "%c-%s", prefix, day);
        for (size_t i = 0; i < q->n_seq && !c; i++)
                if (strcmp(q->seq[i].name, name) == 0)
                        c = &q->seq[i];
        if (c) {
                c->value++;
                c->dirty = true;
                snprintf(buf, size, "%s-%04lld", name, c->value);
                return 0;
        }
        if (q->n_seq == PG_SEQ_MAX) {
                /* A new day or prefix: write the others back and start over. */
                r = seq_flush(s);
                if (r < 0)
                        return r;
                q->n_seq = 0;
        }
        pg_p_text(&p, name);
        res = pg_query(s, PG_SEQ_NEXT, sql_seq_next, &p, "allocating id", &r);
        if (!res)
                return r;
        c = &q->seq[q->n_seq++];
        snprintf(c->name, sizeof(c->name), "%s", name);
        c->value = PQntuples(res) == 1 ? pg_get_int64(res, 0, 0) : 1;
        c->dirty = false;
        PQclear(res);
        snprintf(buf, size, "%s-%04lld", name, c->value);
        return 0;
}

int64_t pg_created_usec(struct store *s)
{
        int64_t v = 0;

        if (pg_query_int64(s, PG_UNNAMED,
                           "SELECT value::bigint FROM meta WHERE key = 'created_usec'", NULL, 0,
                           "reading the creation time", &v) < 0)
                return 0;
        return v;
}

int pg_seq_get(struct store *s, const char *name, int64_t *ret)
{
        return pg_query_int64(s, PG_UNNAMED, "SELECT value FROM seq WHERE name = $1", name, 0,
                              "reading a counter", ret);
}

int pg_seq_bump(struct store *s, const char *name, int64_t *ret)
{
        struct pg_params p = { .n = 0 };
        PGresult *res;
        int r;

        pg_p_text(&p, name);
        res = pg_query(s, PG_SEQ_NEXT, sql_seq_next, &p, "incrementing a counter", &r);
        if (!res)
                return r;
        *ret = pg_get_int64(res, 0, 0);
        PQclear(res);
        return 0;
}

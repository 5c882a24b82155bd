/* sqlite_events.c: device events in SQLite: the event path's writes (one row per event,
 * (device, uid) unique so a redelivery is recognised; a held opening's verdict once it
 * settles, policy.chatter_settle), the signs of life read at start, and
 * the reads of events: one by id, an alert's, a household's timeline, counts for the bench.
 * Reads go through one column list (EVENT_COLUMNS); the payload is stored, never read back. */
#include "sqlite.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "util.h"

static const char sql_event_exists[] = "SELECT 1 FROM event WHERE device = ?1 AND uid = ?2";
static const char sql_event_insert[] =
    "INSERT INTO event (device, household, source, uid, type, state, ts, recv_usec,"
    " event_usec, retained, verdict, reason, alert_id, payload, rule, time_basis)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
    " ON CONFLICT (device, uid) DO NOTHING";
/* The opening's first row at its time (a later repeat at the same time is not it);
 * event_household (household, event_usec) finds it. */
static const char sql_opening_settle[] =
    "UPDATE event SET verdict = ?3, reason = ?4, alert_id = ?5, rule = ?6 WHERE id = ("
    " SELECT id FROM event WHERE household = ?1 AND event_usec = ?2 AND type = 'door'"
    " AND state = 'open' ORDER BY id LIMIT 1)";
/* event_household (household, event_usec) bounds the scan to the recent events. */
static const char sql_device_seen[] = "SELECT device, max(recv_usec) FROM event"
                                      " WHERE household = ?1 AND event_usec >= ?2 AND retained = 0"
                                      " GROUP BY device";

int sqlite_event_exists(struct store *s, const char *device, const char *uid)
{
        sqlite3_stmt *st = sqlite_stmt(s, STMT_EVENT_EXISTS, sql_event_exists);
        int rc;
        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, device);
        sqlite_bind_text(st, 2, uid);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc == SQLITE_ROW)
                return 1;
        if (rc == SQLITE_DONE)
                return 0;
        return sqlite_err(s, rc, "looking up event");
}

int sqlite_insert_event(struct store *s, const struct store_event *e, int64_t *ret_rowid)
{
        sqlite3_stmt *st = sqlite_stmt(s, STMT_EVENT_INSERT, sql_event_insert);
        int r;
        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, e->device);
        sqlite_bind_text(st, 2, e->household);
        sqlite_bind_text(st, 3, e->source);
        sqlite_bind_text(st, 4, e->uid);
        sqlite_bind_text(st, 5, e->type);
        sqlite_bind_text(st, 6, e->state);
        if (e->has_ts)
                sqlite3_bind_double(st, 7, e->ts);
        sqlite3_bind_int64(st, 8, e->recv_usec);
        sqlite3_bind_int64(st, 9, e->event_usec);
        sqlite3_bind_int(st, 10, e->retained);
        sqlite_bind_text(st, 11, e->verdict);
        sqlite_bind_text(st, 12, e->reason);
        sqlite_bind_text(st, 13, e->alert_id);
        if (e->payload)
                sqlite3_bind_text(st, 14, e->payload, (int)e->payload_len, SQLITE_STATIC);
        sqlite_bind_text(st, 15, e->rule);
        sqlite_bind_text(st, 16, e->time_basis);
        r = sqlite_step_done(s, st, "storing event");
        if (r < 0)
                return r;
        if (sqlite3_changes(sq(s)->db) == 0)
                return STORE_E_DUPLICATE;
        if (ret_rowid)
                *ret_rowid = sqlite3_last_insert_rowid(sq(s)->db);
        return 0;
}

/* Once per held opening that settles (policy.chatter_settle): cached. */
int sqlite_settle_opening(struct store *s, const char *household, int64_t event_usec,
                          const char *verdict, const char *rule, const char *reason,
                          const char *alert_id)
{
        sqlite3_stmt *st = sqlite_stmt(s, STMT_OPENING_SETTLE, sql_opening_settle);
        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, household);
        sqlite3_bind_int64(st, 2, event_usec);
        sqlite_bind_text(st, 3, verdict);
        sqlite_bind_text(st, 4, reason);
        sqlite_bind_text(st, 5, alert_id);
        sqlite_bind_text(st, 6, rule);
        return sqlite_step_done(s, st, "storing a settled opening's verdict");
}

/* Device health at start (rare: plain statements, not cached). */
int sqlite_foreach_device_usec(struct store *s, sqlite3_stmt *st, const char *text, int64_t usec,
                               store_device_usec_cb cb, void *userdata, const char *what)
{
        int rc, r = 0;

        sqlite_bind_text(st, 1, text);
        sqlite3_bind_int64(st, 2, usec);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *device = (const char *)sqlite3_column_text(st, 0);
                if (device)
                        r = cb(device, sqlite3_column_int64(st, 1), userdata);
                if (r < 0)
                        break;
        }
        if (r == 0 && rc != SQLITE_DONE)
                r = sqlite_err(s, rc, what);
        return r;
}

/* Called once per household at start (100,000 in a city): the statement is kept. */
int sqlite_foreach_device_seen(struct store *s, const char *household, int64_t since_usec,
                               store_device_usec_cb cb, void *userdata)
{
        sqlite3_stmt *st = sqlite_stmt(s, STMT_DEVICE_SEEN, sql_device_seen);
        int r;

        if (!st)
                return -EIO;
        r = sqlite_foreach_device_usec(s, st, household, since_usec, cb, userdata,
                                       "reading signs of life");
        sqlite3_reset(st);
        return r;
}

/* The one column list of an event read back, read by event_read() (the payload is not). */
#define EVENT_COLUMNS                                                                              \
        "id, device, household, source, uid, type, state, ts, recv_usec, event_usec, retained,"    \
        " verdict, reason, alert_id, time_basis"

static int event_row(sqlite3_stmt *st, void *userdata)
{
        struct sqlite_cb *c = userdata;
        struct store_event e = {
                .id = sqlite3_column_int64(st, 0),
                .device = sqlite_text(st, 1),
                .household = sqlite_text(st, 2),
                .source = sqlite_text(st, 3),
                .uid = sqlite_text(st, 4),
                .type = sqlite_text(st, 5),
                .state = sqlite_text(st, 6),
                .has_ts = sqlite3_column_type(st, 7) != SQLITE_NULL,
                .ts = sqlite3_column_double(st, 7),
                .recv_usec = sqlite3_column_int64(st, 8),
                .event_usec = sqlite3_column_int64(st, 9),
                .retained = sqlite3_column_int(st, 10) != 0,
                .verdict = sqlite_text(st, 11),
                .reason = sqlite_text(st, 12),
                .alert_id = sqlite_text(st, 13),
                .time_basis = sqlite_text(st, 14),
        };
        return ((store_event_cb)c->fn)(&e, c->userdata);
}

int sqlite_get_event(struct store *s, const char *device, const char *uid, store_event_cb cb,
                     void *userdata)
{
        sqlite3_stmt *st =
            sqlite_prepare(s, "SELECT " EVENT_COLUMNS " FROM event WHERE device = ?1 AND uid = ?2",
                           "looking up event");
        int r;

        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, device);
        sqlite_bind_text(st, 2, uid);
        r = sqlite_each(s, st, event_row, &(struct sqlite_cb){ (void (*)(void))cb, userdata },
                        "looking up event");
        return r < 0 ? r : r == 0 ? STORE_E_NOT_FOUND : 0;
}

int sqlite_last_opening(struct store *s, const char *household, store_event_cb cb, void *userdata)
{
        /* event_household (household, event_usec): the newest door event first. */
        sqlite3_stmt *st = sqlite_prepare(s,
                                          "SELECT " EVENT_COLUMNS " FROM event"
                                          " WHERE household = ?1 AND type = 'door'"
                                          " AND state = 'open' AND retained = 0"
                                          " ORDER BY event_usec DESC, id DESC LIMIT 1",
                                          "reading the last opening");
        int r;

        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, household);
        r = sqlite_each(s, st, event_row, &(struct sqlite_cb){ (void (*)(void))cb, userdata },
                        "reading the last opening");
        return r < 0 ? r : r == 0 ? STORE_E_NOT_FOUND : 0;
}

/* By household first: that is what the index covers. */
int sqlite_list_alert_events(struct store *s, const char *household, const char *alert_id,
                             size_t max, store_event_cb cb, void *userdata)
{
        sqlite3_stmt *st = sqlite_prepare(s,
                                          "SELECT " EVENT_COLUMNS " FROM event"
                                          " WHERE household IS ?1 AND alert_id = ?2"
                                          " ORDER BY event_usec, id LIMIT ?3",
                                          "reading events");
        int r;

        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, household);
        sqlite_bind_text(st, 2, alert_id);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)max);
        r = sqlite_each(s, st, event_row, &(struct sqlite_cb){ (void (*)(void))cb, userdata },
                        "reading events");
        return r < 0 ? r : 0;
}

int sqlite_last_event_id(struct store *s, int64_t *ret)
{
        return sqlite_query_int64(s, "SELECT max(id) FROM event", NULL, 0, ret);
}

int sqlite_count_events(struct store *s, int64_t after_id, const char *verdict, int64_t *ret)
{
        sqlite3_stmt *st = sqlite_prepare(
            s, "SELECT count(*) FROM event WHERE id > ?1 AND verdict = ?2", "counting events");
        int rc;

        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 1, after_id);
        sqlite_bind_text(st, 2, verdict);
        rc = sqlite3_step(st);
        *ret = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_finalize(st);
        return rc == SQLITE_ROW ? 0 : sqlite_err(s, rc, "counting events");
}

static int timeline_row(sqlite3_stmt *st, void *userdata)
{
        struct sqlite_cb *c = userdata;
        struct store_timeline_entry e = {
                .kind = (enum store_timeline_kind)sqlite3_column_int(st, 0),
                .usec = sqlite3_column_int64(st, 1),
                .source = sqlite_text(st, 2),
                .channel = sqlite_text(st, 3),
                .what = sqlite_text(st, 4),
                .state = sqlite_text(st, 5),
                .retained = sqlite3_column_int(st, 6) != 0,
                .verdict = sqlite_text(st, 7),
                .detail = sqlite_text(st, 8),
                .alert = sqlite_text(st, 9),
                .time_basis = sqlite_text(st, 10),
        };
        return ((store_timeline_cb)c->fn)(&e, c->userdata);
}

int sqlite_household_timeline(struct store *s, const char *household, int64_t since_usec,
                              store_timeline_cb cb, void *userdata)
{
        sqlite3_stmt *st = sqlite_prepare(
            s,
            "SELECT kind, t, source, channel, what, state, retained, verdict, detail, alert,"
            " time_basis FROM ("
            " SELECT 0 AS kind, event_usec AS t, id AS k, device AS source, NULL AS channel,"
            "  type AS what, state, retained, verdict, reason AS detail, alert_id AS alert,"
            "  time_basis"
            "  FROM event WHERE household = ?1 AND event_usec >= ?2"
            " UNION ALL"
            " SELECT 1, usec, id, actor, channel, kind, NULL, 0, NULL, detail, NULL, NULL"
            "  FROM action WHERE kind IN ('checkin', 'pass', 'report', 'reading') AND target = ?1"
            "  AND usec >= ?2"
            " UNION ALL"
            " SELECT 2, a.last_event_usec, a.rowid, NULL, NULL, a.kind, NULL, 0, NULL, a.reason,"
            "  a.id, NULL FROM alert a"
            "  WHERE a.household = ?1 AND a.last_event_usec >= ?2"
            "  AND NOT EXISTS (SELECT 1 FROM event e WHERE e.alert_id = a.id)"
            " UNION ALL"
            " SELECT 3, x.usec, x.id, x.actor, x.channel, x.kind, NULL, 0, NULL, x.detail,"
            "  x.target, NULL FROM action x JOIN alert a ON a.id = x.target"
            "  WHERE a.household = ?1 AND x.kind IN ('ack', 'resolve') AND x.usec >= ?2"
            ") ORDER BY t, kind, k",
            "reading the timeline");
        int r;

        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, household);
        sqlite3_bind_int64(st, 2, since_usec);
        r = sqlite_each(s, st, timeline_row, &(struct sqlite_cb){ (void (*)(void))cb, userdata },
                        "reading the timeline");
        return r < 0 ? r : 0;
}

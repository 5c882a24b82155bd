/* sqlite_events.c: device events in SQLite: the event path's writes (one row per event,
 * (device, uid) unique so a redelivery is recognised) and the signs of life read at start. */
#include "sqlite.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "util.h"

static const char sql_event_exists[] = "SELECT 1 FROM event WHERE device = ?1 AND uid = ?2";
static const char sql_event_insert[] =
    "INSERT INTO event (device, household, source, uid, type, state, ts, recv_usec,"
    " event_usec, retained, verdict, reason, alert_id, payload)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
    " ON CONFLICT (device, uid) DO NOTHING";
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
        r = sqlite_step_done(s, st, "storing event");
        if (r < 0)
                return r;
        if (sqlite3_changes(sq(s)->db) == 0)
                return STORE_E_DUPLICATE;
        if (ret_rowid)
                *ret_rowid = sqlite3_last_insert_rowid(sq(s)->db);
        return 0;
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

/* sqlite_events.c: device events in SQLite: the event path's writes (one row per event,
 * (device, uid) unique so a redelivery is recognised) and the signs of life read at start. */
#include "sqlite.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "util.h"

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

/* Device health at start (rare: plain statements, not cached). */
int foreach_device_usec_stmt(struct store *s, sqlite3_stmt *st, const char *text, int64_t usec,
                             store_device_usec_cb cb, void *userdata, const char *what)
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

/* sqlite_alerts.c: alerts and the actions recorded about them (ack, resolve, commands) in
 * SQLite. Every reader of an alert (the engine at start, the API, the pages, the CLI) gets
 * the same record through one column list (ALERT_COLUMNS). */
#include "sqlite.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "util.h"

static const char sql_alert_insert[] =
    "INSERT INTO alert (id, household, community, device, kind, severity, state,"
    " reason, count, event_uid, event_ts, raised_usec, last_event_usec, step, round,"
    " next_usec, event_usec) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
    " ?14, ?15, ?16, ?13)";
static const char sql_alert_update[] =
    "UPDATE alert SET severity = ?2, state = ?3, count = ?4,"
    " last_event_usec = ?5, step = ?6, round = ?7, next_usec = ?8,"
    " kind = ?9, reminders = ?10 WHERE id = ?1";
static const char sql_action_insert[] =
    "INSERT INTO action (kind, actor, channel, target, usec, detail)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char sql_alert_ack[] =
    "UPDATE alert SET state = 'acked', acked_by = ?2, ack_channel = ?3,"
    " acked_usec = ?4, next_usec = NULL WHERE id = ?1 AND state = 'open'";
static const char sql_alert_resolve[] = "UPDATE alert SET state = 'resolved', resolved_by = ?2,"
                                        " resolve_channel = ?3, resolved_usec = ?4, note = ?5,"
                                        " next_usec = NULL WHERE id = ?1 AND state != 'resolved'";
static const char sql_alert_reason[] = "UPDATE alert SET reason = ?2 WHERE id = ?1";

int sqlite_insert_alert(struct store *s, const struct alert *a, const char *community,
                        const char *reason)
{
        sqlite3_stmt *st = sqlite_stmt(s, STMT_ALERT_INSERT, sql_alert_insert);
        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, a->id);
        sqlite_bind_text(st, 2, a->household ? a->household->id : NULL);
        sqlite_bind_text(st, 3, community);
        sqlite_bind_text(st, 4, a->device_id);
        sqlite_bind_text(st, 5, alert_kind_to_string(a->kind));
        sqlite_bind_text(st, 6, severity_to_string(a->severity));
        sqlite_bind_text(st, 7, alert_state_to_string(a->state));
        sqlite_bind_text(st, 8, reason);
        sqlite3_bind_int(st, 9, a->count);
        sqlite_bind_text(st, 10, a->event_uid[0] ? a->event_uid : NULL);
        if (a->event_ts > 0)
                sqlite3_bind_double(st, 11, a->event_ts);
        sqlite3_bind_int64(st, 12, a->raised_usec);
        sqlite3_bind_int64(st, 13, a->last_event_usec);
        sqlite3_bind_int(st, 14, a->step_index);
        sqlite3_bind_int(st, 15, a->round);
        sqlite_bind_usec(st, 16, a->next_usec);
        return sqlite_step_done(s, st, "storing alert");
}

int sqlite_update_alert(struct store *s, const struct alert *a)
{
        sqlite3_stmt *st = sqlite_stmt(s, STMT_ALERT_UPDATE, sql_alert_update);
        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, a->id);
        sqlite_bind_text(st, 2, severity_to_string(a->severity));
        sqlite_bind_text(st, 3, alert_state_to_string(a->state));
        sqlite3_bind_int(st, 4, a->count);
        sqlite3_bind_int64(st, 5, a->last_event_usec);
        sqlite3_bind_int(st, 6, a->step_index);
        sqlite3_bind_int(st, 7, a->round);
        sqlite_bind_usec(st, 8, a->next_usec);
        sqlite_bind_text(st, 9, alert_kind_to_string(a->kind));
        sqlite3_bind_int(st, 10, a->reminders);
        return sqlite_step_done(s, st, "updating alert");
}

int sqlite_insert_action(struct store *s, const char *kind, const char *actor, const char *channel,
                         const char *target, int64_t usec, const char *detail)
{
        sqlite3_stmt *st = sqlite_stmt(s, STMT_ACTION_INSERT, sql_action_insert);
        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, kind);
        sqlite_bind_text(st, 2, actor);
        sqlite_bind_text(st, 3, channel);
        sqlite_bind_text(st, 4, target);
        sqlite3_bind_int64(st, 5, usec);
        sqlite_bind_text(st, 6, detail);
        return sqlite_step_done(s, st, "storing action");
}

static int action_row(sqlite3_stmt *st, void *userdata)
{
        struct sqlite_cb *c = userdata;
        struct store_action a = {
                .id = sqlite3_column_int64(st, 0),
                .kind = sqlite_text(st, 1),
                .actor = sqlite_text(st, 2),
                .channel = sqlite_text(st, 3),
                .target = sqlite_text(st, 4),
                .usec = sqlite3_column_int64(st, 5),
                .detail = sqlite_text(st, 6),
        };
        return ((store_action_cb)c->fn)(&a, c->userdata);
}

int sqlite_list_actions(struct store *s, const char *target, store_action_cb cb, void *userdata)
{
        sqlite3_stmt *st = sqlite_prepare(s,
                                          "SELECT id, kind, actor, channel, target, usec, detail"
                                          " FROM action WHERE target = ?1 ORDER BY usec, id",
                                          "reading actions");
        int r;

        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, target);
        r = sqlite_each(s, st, action_row, &(struct sqlite_cb){ (void (*)(void))cb, userdata },
                        "reading actions");
        return r < 0 ? r : 0;
}

int sqlite_set_alert_acked(struct store *s, const char *alert_id, const char *worker,
                           const char *channel, int64_t usec)
{
        sqlite3_stmt *st = sqlite_stmt(s, STMT_ALERT_ACK, sql_alert_ack);
        int r;
        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, alert_id);
        sqlite_bind_text(st, 2, worker);
        sqlite_bind_text(st, 3, channel);
        sqlite3_bind_int64(st, 4, usec);
        r = sqlite_step_done(s, st, "acknowledging alert");
        if (r < 0)
                return r;
        return sqlite3_changes(sq(s)->db) ? 0 : STORE_E_NOT_FOUND;
}

int sqlite_set_alert_resolved(struct store *s, const char *alert_id, const char *worker,
                              const char *channel, int64_t usec, const char *note)
{
        sqlite3_stmt *st = sqlite_stmt(s, STMT_ALERT_RESOLVE, sql_alert_resolve);
        int r;
        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, alert_id);
        sqlite_bind_text(st, 2, worker);
        sqlite_bind_text(st, 3, channel);
        sqlite3_bind_int64(st, 4, usec);
        sqlite_bind_text(st, 5, note);
        r = sqlite_step_done(s, st, "resolving alert");
        if (r < 0)
                return r;
        return sqlite3_changes(sq(s)->db) ? 0 : STORE_E_NOT_FOUND;
}

/* The one column list of an alert, read by alert_row_read(). */
#define ALERT_COLUMNS                                                                              \
        "id, household, community, device, kind, severity, state, reason, count, event_uid,"       \
        " event_ts, raised_usec, last_event_usec, step, round, next_usec, reminders, acked_by,"    \
        " ack_channel, acked_usec, resolved_by, resolve_channel, resolved_usec, note"

static void alert_row_read(sqlite3_stmt *st, struct store_alert_row *row)
{
        *row = (struct store_alert_row){
                .id = sqlite_text(st, 0),
                .household = sqlite_text(st, 1),
                .community = sqlite_text(st, 2),
                .device = sqlite_text(st, 3),
                .kind = sqlite_text(st, 4),
                .severity = sqlite_text(st, 5),
                .state = sqlite_text(st, 6),
                .reason = sqlite_text(st, 7),
                .count = sqlite3_column_int(st, 8),
                .event_uid = sqlite_text(st, 9),
                .event_ts = sqlite3_column_double(st, 10),
                .raised_usec = sqlite3_column_int64(st, 11),
                .last_event_usec = sqlite3_column_int64(st, 12),
                .step = sqlite3_column_int(st, 13),
                .round = sqlite3_column_int(st, 14),
                .next_usec = sqlite3_column_int64(st, 15),
                .reminders = sqlite3_column_int(st, 16),
                .acked_by = sqlite_text(st, 17),
                .ack_channel = sqlite_text(st, 18),
                .acked_usec = sqlite3_column_int64(st, 19),
                .resolved_by = sqlite_text(st, 20),
                .resolve_channel = sqlite_text(st, 21),
                .resolved_usec = sqlite3_column_int64(st, 22),
                .note = sqlite_text(st, 23),
        };
}

static int alert_row(sqlite3_stmt *st, void *userdata)
{
        struct sqlite_cb *c = userdata;
        struct store_alert_row row;

        alert_row_read(st, &row);
        return ((store_alert_cb)c->fn)(&row, c->userdata);
}

int sqlite_list_alerts(struct store *s, const struct store_alert_filter *f, store_alert_cb cb,
                       void *userdata)
{
        static const struct store_alert_filter all = { 0 };
        const char *states[_ALERT_STATE_MAX];
        char buf[512];
        struct sbuf q;
        sqlite3_stmt *st;
        int n = 0, r;

        if (!f)
                f = &all;
        for (int i = 0; i < _ALERT_STATE_MAX; i++)
                states[i] = alert_state_to_string((enum alert_state)i);
        sbuf_init(&q, buf, sizeof(buf));
        sbuf_puts(&q, "SELECT " ALERT_COLUMNS " FROM alert WHERE 1");
        sqlite_where_in(&q, "state", f->states, states, _ALERT_STATE_MAX);
        if (f->community)
                sbuf_printf(&q, " AND community = ?%d", ++n);
        if (f->household)
                sbuf_printf(&q, " AND household = ?%d", ++n);
        if (f->kind)
                sbuf_printf(&q, " AND kind = ?%d", ++n);
        if (f->from_usec)
                sbuf_printf(&q, " AND event_usec >= ?%d", ++n);
        if (f->to_usec)
                sbuf_printf(&q, " AND event_usec < ?%d", ++n);
        sbuf_puts(&q, f->newest_first ? " ORDER BY raised_usec DESC, id DESC"
                                      : " ORDER BY raised_usec, id");
        if (f->limit)
                sbuf_printf(&q, " LIMIT %zu", f->limit);
        st = sqlite_prepare_built(s, &q, "reading alerts");
        if (!st)
                return -EIO;
        n = 0;
        if (f->community)
                sqlite_bind_text(st, ++n, f->community);
        if (f->household)
                sqlite_bind_text(st, ++n, f->household);
        if (f->kind)
                sqlite_bind_text(st, ++n, f->kind);
        if (f->from_usec)
                sqlite3_bind_int64(st, ++n, f->from_usec);
        if (f->to_usec)
                sqlite3_bind_int64(st, ++n, f->to_usec);
        r = sqlite_each(s, st, alert_row, &(struct sqlite_cb){ (void (*)(void))cb, userdata },
                        "reading alerts");
        return r < 0 ? r : 0;
}

int sqlite_get_alert(struct store *s, const char *alert_id, store_alert_cb cb, void *userdata)
{
        sqlite3_stmt *st = sqlite_prepare(s, "SELECT " ALERT_COLUMNS " FROM alert WHERE id = ?1",
                                          "looking up alert");
        int r;

        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, alert_id);
        r = sqlite_each(s, st, alert_row, &(struct sqlite_cb){ (void (*)(void))cb, userdata },
                        "looking up alert");
        return r < 0 ? r : r == 0 ? STORE_E_NOT_FOUND : 0;
}

int sqlite_count_live_alerts(struct store *s, struct store_alert_counts *ret)
{
        sqlite3_stmt *st = sqlite_prepare(s,
                                          "SELECT kind, state, count(*) FROM alert"
                                          " WHERE state IN ('open', 'acked') GROUP BY kind, state",
                                          "counting alerts");
        int rc, r = 0;

        memset(ret, 0, sizeof(*ret));
        if (!st)
                return -EIO;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                enum alert_kind k = alert_kind_from_string(sqlite_text(st, 0));
                if (k >= 0 && k < _ALERT_KIND_MAX)
                        *(str_eq(sqlite_text(st, 1), "acked") ? &ret->acked[k] : &ret->open[k]) =
                            sqlite3_column_int64(st, 2);
        }
        if (rc != SQLITE_DONE)
                r = sqlite_err(s, rc, "counting alerts");
        sqlite3_finalize(st);
        return r;
}

static int foreach_device_usec(struct store *s, const char *sql, const char *text, int64_t usec,
                               store_device_usec_cb cb, void *userdata, const char *what)
{
        sqlite3_stmt *st = NULL;
        int rc, r;

        rc = sqlite3_prepare_v2(sq(s)->db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_err(s, rc, what);
        r = sqlite_foreach_device_usec(s, st, text, usec, cb, userdata, what);
        sqlite3_finalize(st);
        return r;
}

int sqlite_foreach_alert_raised(struct store *s, const char *kind, int64_t since_usec,
                                store_device_usec_cb cb, void *userdata)
{
        return foreach_device_usec(s,
                                   "SELECT device, max(raised_usec) FROM alert"
                                   " WHERE kind = ?1 AND raised_usec >= ?2 AND device IS NOT NULL"
                                   " GROUP BY device",
                                   kind, since_usec, cb, userdata, "reading device alerts");
}

int sqlite_alert_household(struct store *s, const char *alert_id, char *buf, size_t size)
{
        sqlite3_stmt *st;
        int rc, r = STORE_E_NOT_FOUND;

        rc = sqlite3_prepare_v2(sq(s)->db, "SELECT household FROM alert WHERE id = ?1", -1, &st,
                                NULL);
        if (rc != SQLITE_OK)
                return sqlite_err(s, rc, "looking up alert");
        sqlite_bind_text(st, 1, alert_id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && sqlite3_column_text(st, 0)) {
                snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
                r = 0;
        } else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                r = sqlite_err(s, rc, "looking up alert");
        sqlite3_finalize(st);
        return r;
}

int sqlite_foreach_household_with_alert(struct store *s, const char *kind, store_household_cb cb,
                                        void *userdata)
{
        sqlite3_stmt *st;
        int rc, r = 0;

        rc = sqlite3_prepare_v2(sq(s)->db,
                                "SELECT DISTINCT household FROM alert WHERE kind = ?1"
                                " AND household IS NOT NULL",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_err(s, rc, "loading alerts");
        sqlite_bind_text(st, 1, kind);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                r = cb((const char *)sqlite3_column_text(st, 0), userdata);
                if (r < 0)
                        break;
        }
        if (r == 0 && rc != SQLITE_DONE)
                r = sqlite_err(s, rc, "loading alerts");
        sqlite3_finalize(st);
        return r;
}

int sqlite_set_alert_reason(struct store *s, const char *alert_id, const char *reason)
{
        sqlite3_stmt *st = sqlite_stmt(s, STMT_ALERT_REASON, sql_alert_reason);
        if (!st)
                return -EIO;
        sqlite_bind_text(st, 1, alert_id);
        sqlite_bind_text(st, 2, reason);
        return sqlite_step_done(s, st, "updating alert");
}

/* test-store.c: id allocation (store_next_id) with counters cached between commits: ids
 * go on across commits and reopenings, a ROLLBACK TO a savepoint hands out again exactly
 * the ids it rolled back and never one from before the savepoint, a failed transaction
 * loses nothing committed, prefixes and days count separately. The backend is chosen from
 * the database string: a path is SQLite, a PostgreSQL URI is PostgreSQL (an unreachable
 * server fails the open, without creating a file), any other URI is refused. Every backend
 * implements every operation. The typed reads return what was written, one record per
 * row, filtered and ordered as they promise; none of them writes. An event's time_basis is
 * kept (and an SQLite database from before it migrates); a held opening that settles gives
 * its first event row the verdict. A statement that takes the transaction with it loses
 * all of it: later writes fail instead of landing one by one outside a transaction, the
 * commit fails, the next transaction works; store_rollback() ends one without a trace; a
 * failure inside a savepoint that the database survives costs only the savepoint's
 * writes. A file that is not doorwatch's (someone's SQLite database, another program's
 * application id, random bytes) is refused and left byte for byte as it was; an earlier
 * doorwatchd's database is adopted and stamped. The URI as shown hides its password. In
 * the PostgreSQL pass of `make check` (DOORWATCH_TEST_PG set) the id and read tests run on
 * a fresh database of the private server instead of an SQLite file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "../lib/pgtest.h"
#include "config.h"
#include "store.h"
#include "store/backend.h"
#include "store/pg.h"
#include "store/sqlite.h"
#include "util.h"

/* 2020-02-06 12:00 and the next day, UTC+8 (TZ set in main). */
#define DAY1 (INT64_C(1580961600) * USEC_PER_SEC)
#define DAY2 (DAY1 + USEC_PER_DAY)

static char dir[64], path[256], file_path[128];

static int setup(void **state)
{
        snprintf(dir, sizeof(dir), "/tmp/doorwatch-test-store-XXXXXX");
        if (!mkdtemp(dir))
                return -1;
        snprintf(file_path, sizeof(file_path), "%s/db.sqlite", dir);
        snprintf(path, sizeof(path), "%s", file_path);
        return 0;
}

/* The tests that run on either backend: a fresh PostgreSQL database in the PostgreSQL
 * pass. */
static int setup_any(void **state)
{
        int r = setup(state);

        if (r == 0 && pgtest_dir()) {
                _cleanup_free_ char *uri = pgtest_create_db();
                snprintf(path, sizeof(path), "%s", uri);
        }
        return r;
}

static int teardown(void **state)
{
        char cmd[128];
        if (uri_scheme_len(path) > 0)
                pgtest_drop_db(path);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        return system(cmd);
}

static void expect_id(struct store *s, char prefix, int64_t now, const char *want)
{
        char id[64];

        assert_int_equal(store_next_id(s, prefix, now, id, sizeof(id)), 0);
        assert_string_equal(id, want);
}

static void test_ids(void **state)
{
        struct store *s;

        assert_int_equal(store_open(path, false, false, &s), 0);
        expect_id(s, 'a', DAY1, "a-20200206-0001");
        expect_id(s, 'a', DAY1, "a-20200206-0002");
        expect_id(s, 'n', DAY1, "n-20200206-0001");
        expect_id(s, 'a', DAY2, "a-20200207-0001");
        assert_true(store_in_transaction(s));
        assert_int_equal(store_commit(s), 0);
        expect_id(s, 'a', DAY1, "a-20200206-0003");

        /* A savepoint rolled back: its ids come again, those before it do not. */
        assert_int_equal(store_savepoint(s), 0);
        expect_id(s, 'a', DAY1, "a-20200206-0004");
        expect_id(s, 'n', DAY1, "n-20200206-0002");
        assert_int_equal(store_rollback_to(s), 0);
        expect_id(s, 'a', DAY1, "a-20200206-0004");
        expect_id(s, 'n', DAY1, "n-20200206-0002");
        assert_int_equal(store_savepoint(s), 0);
        expect_id(s, 'a', DAY1, "a-20200206-0005");
        assert_int_equal(store_release(s), 0);
        expect_id(s, 'a', DAY1, "a-20200206-0006");
        assert_int_equal(store_commit(s), 0);

        /* More days than cached counters. */
        for (int d = 2; d < 8; d++) {
                char want[32];
                snprintf(want, sizeof(want), "n-202002%02d-0001", 6 + d);
                expect_id(s, 'n', DAY1 + d * USEC_PER_DAY, want);
        }
        assert_int_equal(store_commit(s), 0);
        store_close(s);

        assert_int_equal(store_open(path, false, false, &s), 0);
        expect_id(s, 'a', DAY1, "a-20200206-0007");
        expect_id(s, 'n', DAY1, "n-20200206-0003");
        expect_id(s, 'a', DAY2, "a-20200207-0002");
        expect_id(s, 'n', DAY1 + 3 * USEC_PER_DAY, "n-20200209-0002");
        store_close(s); /* commits */

        assert_int_equal(store_open(path, false, false, &s), 0);
        expect_id(s, 'a', DAY1, "a-20200206-0008");
        store_close(s);
}

/* ---- typed reads ---- */

#define T0 (DAY1 + 3600 * USEC_PER_SEC)

struct rows {
        char text[16][160];
        size_t n;
};

static void add_row(struct rows *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_row(struct rows *r, const char *fmt, ...)
{
        va_list ap;

        assert_true(r->n < ELEMENTSOF(r->text));
        va_start(ap, fmt);
        vsnprintf(r->text[r->n++], sizeof(r->text[0]), fmt, ap);
        va_end(ap);
}

#define S(v) ((v) ? (v) : "-")

static int alert_cb(const struct store_alert_row *a, void *userdata)
{
        add_row(userdata, "%s %s %s %s %s c%d s%d r%d m%d %lld %lld %lld %s %s %lld %s %s %lld %s",
                a->id, S(a->household), S(a->community), a->kind, a->state, a->count, a->step,
                a->round, a->reminders, (long long)(a->raised_usec - T0),
                (long long)(a->last_event_usec - T0), (long long)a->next_usec, S(a->acked_by),
                S(a->ack_channel), (long long)a->acked_usec, S(a->resolved_by),
                S(a->resolve_channel), (long long)a->resolved_usec, S(a->note));
        return 0;
}

static int alert_id_cb(const struct store_alert_row *a, void *userdata)
{
        add_row(userdata, "%s", a->id);
        return 0;
}

static int event_cb(const struct store_event *e, void *userdata)
{
        add_row(userdata, "%s %s %s %s ts=%s%g %s %s %s", S(e->uid), e->device, e->type,
                S(e->state), e->has_ts ? "" : "none/", e->ts, e->verdict, e->reason,
                S(e->alert_id));
        return 0;
}

static int action_cb(const struct store_action *a, void *userdata)
{
        add_row(userdata, "%s %s %s %s %lld %s", a->kind, S(a->actor), a->channel, a->target,
                (long long)(a->usec - T0), S(a->detail));
        return 0;
}

static int notification_cb(const struct store_notification *n, void *userdata)
{
        add_row(userdata, "%s %s %s %s %s r%d p%d %s a%d %s %lld %lld", n->id, n->alert_id,
                S(n->worker), n->channel, S(n->kind), n->round, n->priority,
                notification_state_to_string(n->state), n->attempts, S(n->last_error),
                (long long)n->delivered_usec, (long long)n->dead_usec);
        return 0;
}

static int pass_cb(const struct store_pass *p, void *userdata)
{
        add_row(userdata, "%lld %s %s %d%d", (long long)p->id, p->household, p->reason, p->overdue,
                p->done);
        return 0;
}

static int timeline_cb(const struct store_timeline_entry *e, void *userdata)
{
        add_row(userdata, "%d %lld %s %s %s %s %d %s %s %s", (int)e->kind,
                (long long)(e->usec - T0), S(e->source), S(e->channel), S(e->what), S(e->state),
                e->retained, S(e->verdict), S(e->detail), S(e->alert));
        return 0;
}

static int stop_cb(const struct store_alert_row *a, void *userdata)
{
        ++*(int *)userdata;
        return -ECANCELED;
}

static void expect_rows(const struct rows *r, const char *const *want, size_t n)
{
        for (size_t i = 0; i < n && i < r->n; i++)
                assert_string_equal(r->text[i], want[i]);
        assert_int_equal(r->n, n);
}
#define EXPECT_ROWS(r, ...)                                                                        \
        do {                                                                                       \
                static const char *const want_[] = { __VA_ARGS__ };                                \
                expect_rows(r, want_, ELEMENTSOF(want_));                                          \
        } while (0)

static void insert_alert(struct store *s, const char *id, struct household *hh, enum alert_kind k,
                         int64_t raised, const char *event_uid)
{
        struct alert a = {
                .household = hh,
                .device_id = "d-1",
                .event_uid = (char *)event_uid,
                .raised_usec = raised,
                .last_event_usec = raised,
                .next_usec = raised + 60 * USEC_PER_SEC,
                .event_ts = event_uid[0] ? 1580961600.5 : 0,
                .count = 1,
                .round = 1,
                .kind = k,
                .severity = alert_kind_default_severity(k),
                .state = ALERT_OPEN,
        };
        snprintf(a.id, sizeof(a.id), "%s", id);
        assert_int_equal(store_insert_alert(s, &a, hh ? hh->community_id : NULL, "why"), 0);
}

static void insert_event(struct store *s, const char *uid, const char *type, const char *state,
                         int64_t at, const char *verdict, const char *alert_id)
{
        assert_int_equal(store_insert_event(s,
                                            &(struct store_event){
                                                .device = "d-1",
                                                .household = "H-1",
                                                .source = "native",
                                                .uid = uid,
                                                .type = type,
                                                .state = state,
                                                .has_ts = uid != NULL,
                                                .ts = 0,
                                                .recv_usec = at,
                                                .event_usec = at,
                                                .retained = state && !uid,
                                                .verdict = verdict,
                                                .reason = "because",
                                                .alert_id = alert_id,
                                                .payload = "{}",
                                                .payload_len = 2,
                                            },
                                            NULL),
                         0);
}

static void insert_notification(struct store *s, const char *id, const char *alert_id,
                                const char *worker, int64_t created)
{
        assert_int_equal(store_insert_notification(s,
                                                   &(struct store_notification){
                                                       .id = id,
                                                       .alert_id = alert_id,
                                                       .worker = worker,
                                                       .channel = "mqtt",
                                                       .step = "team",
                                                       .round = 1,
                                                       .kind = worker ? NULL : "reminder",
                                                       .priority = worker ? 0 : 1,
                                                       .payload = "{\"kind\":\"x\"}",
                                                       .created_usec = created,
                                                       .next_usec = created,
                                                   }),
                         0);
}

static void test_reads(void **state)
{
        struct household h1 = { .id = "H-1", .community_id = "c-1" };
        struct household h2 = { .id = "H-2", .community_id = "c-2" };
        struct store_alert_counts counts;
        struct store_alert_row none = { 0 };
        struct rows r = { 0 };
        struct store *s;
        int64_t v;
        int n = 0;

        assert_int_equal(store_open(path, false, false, &s), 0);
        assert_int_equal(store_last_event_id(s, &v), 0);
        assert_int_equal(v, 0);
        insert_alert(s, "a-1", &h1, ALERT_DOOR_OPEN_UNEXPECTED, T0 + 10, "e-1");
        insert_alert(s, "a-2", &h2, ALERT_TAMPER, T0 + 20, "");
        insert_alert(s, "a-3", NULL, ALERT_STORAGE_FAILED, T0 + 20, "");
        insert_alert(s, "a-4", &h1, ALERT_DOOR_HELD_OPEN, T0 + 5, "");
        assert_int_equal(store_set_alert_acked(s, "a-2", "w-1", "mqtt", T0 + 30), 0);
        assert_int_equal(store_set_alert_resolved(s, "a-4", "w-2", "cli", T0 + 40, "fine"), 0);
        insert_event(s, "e-1", "door", "open", T0 + 10, "alert", "a-1");
        insert_event(s, "e-2", "door", "closed", T0 + 12, "ignored", "a-1");
        insert_event(s, NULL, "door", "open", T0 + 1, "ignored", NULL);
        insert_event(s, "e-3", "ring", NULL, T0 + 11, "expected", NULL);
        assert_int_equal(store_insert_action(s, "checkin", "w-1", "mqtt", "H-1", T0 + 2, NULL), 0);
        assert_int_equal(store_insert_action(s, "ack", "w-1", "mqtt", "a-2", T0 + 30, NULL), 0);
        assert_int_equal(store_insert_action(s, "resolve", "w-2", "cli", "a-4", T0 + 40, "fine"),
                         0);
        insert_notification(s, "n-1", "a-1", "w-1", T0 + 10);
        insert_notification(s, "n-2", "a-1", NULL, T0 + 11);
        insert_notification(s, "n-3", "a-2", "w-1", T0 + 20);
        assert_int_equal(
            store_set_notification_state(s, "n-1", NOTIFICATION_DELIVERED, 1, T0, NULL, T0 + 15),
            0);
        assert_int_equal(
            store_set_notification_state(s, "n-3", NOTIFICATION_DEAD, 8, T0, "gone", T0 + 25), 0);
        assert_int_equal(store_insert_pass(s,
                                           &(struct store_pass){ .household = "H-1",
                                                                 .worker = "w-1",
                                                                 .channel = "mqtt",
                                                                 .reason = "hospital",
                                                                 .from_usec = T0,
                                                                 .to_usec = T0 + 100 },
                                           NULL),
                         0);
        assert_int_equal(store_insert_pass(s,
                                           &(struct store_pass){ .household = "H-2",
                                                                 .worker = "w-1",
                                                                 .channel = "mqtt",
                                                                 .reason = "exam",
                                                                 .from_usec = T0 - 50,
                                                                 .to_usec = T0 + 200 },
                                           NULL),
                         0);
        assert_int_equal(store_update_pass(s, &(struct store_pass){ .id = 2, .done = true }), 0);
        assert_int_equal(store_commit(s), 0);

        /* Alerts: one full record; filters; both orders, ties broken by id; limits. */
        assert_int_equal(store_get_alert(s, "a-2", alert_cb, &r), 0);
        EXPECT_ROWS(&r,
                    "a-2 H-2 c-2 tamper acked c1 s0 r1 m0 20 20 0 w-1 mqtt 1580965200000030 - - "
                    "0 -");
        r.n = 0;
        assert_int_equal(store_get_alert(s, "a-4", alert_cb, &r), 0);
        EXPECT_ROWS(&r, "a-4 H-1 c-1 door_held_open resolved c1 s0 r1 m0 5 5 0 - - 0 w-2 cli "
                        "1580965200000040 fine");
        assert_int_equal(store_get_alert(s, "a-9", alert_cb, &none), STORE_E_NOT_FOUND);
        r.n = 0;
        assert_int_equal(store_list_alerts(s, NULL, alert_id_cb, &r), 0);
        EXPECT_ROWS(&r, "a-4", "a-1", "a-2", "a-3");
        r.n = 0;
        assert_int_equal(store_list_alerts(s, &(struct store_alert_filter){ .newest_first = true },
                                           alert_id_cb, &r),
                         0);
        EXPECT_ROWS(&r, "a-3", "a-2", "a-1", "a-4");
        r.n = 0;
        assert_int_equal(store_foreach_live_alert(s, alert_id_cb, &r), 0);
        EXPECT_ROWS(&r, "a-1", "a-2", "a-3");
        r.n = 0;
        assert_int_equal(
            store_list_alerts(
                s, &(struct store_alert_filter){ .states = STORE_ALERTS_LIVE, .household = "H-1" },
                alert_id_cb, &r),
            0);
        EXPECT_ROWS(&r, "a-1");
        r.n = 0;
        assert_int_equal(store_list_alerts(s,
                                           &(struct store_alert_filter){
                                               .states = 1u << ALERT_RESOLVED,
                                               .community = "c-1",
                                           },
                                           alert_id_cb, &r),
                         0);
        EXPECT_ROWS(&r, "a-4");
        r.n = 0;
        assert_int_equal(
            store_list_alerts(s, &(struct store_alert_filter){ .newest_first = true, .limit = 2 },
                              alert_id_cb, &r),
            0);
        EXPECT_ROWS(&r, "a-3", "a-2");
        assert_int_equal(store_list_alerts(s, NULL, stop_cb, &n), -ECANCELED);
        assert_int_equal(n, 1);
        assert_int_equal(store_count_live_alerts(s, &counts), 0);
        assert_int_equal(counts.open[ALERT_DOOR_OPEN_UNEXPECTED], 1);
        assert_int_equal(counts.acked[ALERT_TAMPER], 1);
        assert_int_equal(counts.open[ALERT_STORAGE_FAILED], 1);
        assert_int_equal(counts.open[ALERT_DOOR_HELD_OPEN] + counts.acked[ALERT_DOOR_HELD_OPEN], 0);

        /* Events: an alert's, by event time; one by (device, uid); counts after an id. */
        r.n = 0;
        assert_int_equal(store_list_alert_events(s, "H-1", "a-1", 10, event_cb, &r), 0);
        EXPECT_ROWS(&r, "e-1 d-1 door open ts=0 alert because a-1",
                    "e-2 d-1 door closed ts=0 ignored because a-1");
        r.n = 0;
        assert_int_equal(store_list_alert_events(s, "H-1", "a-1", 1, event_cb, &r), 0);
        assert_int_equal(r.n, 1);
        r.n = 0;
        assert_int_equal(store_get_event(s, "d-1", "e-3", event_cb, &r), 0);
        EXPECT_ROWS(&r, "e-3 d-1 ring - ts=0 expected because -");
        assert_int_equal(store_get_event(s, "d-1", "e-9", event_cb, &r), STORE_E_NOT_FOUND);
        assert_int_equal(store_last_event_id(s, &v), 0);
        assert_int_equal(v, 4);
        assert_int_equal(store_count_events(s, 1, "ignored", &v), 0);
        assert_int_equal(v, 2);
        assert_int_equal(store_count_events(s, 0, "alert", &v), 0);
        assert_int_equal(v, 1);

        /* Actions about a target, in the order they happened. */
        r.n = 0;
        assert_int_equal(store_list_actions(s, "a-4", action_cb, &r), 0);
        EXPECT_ROWS(&r, "resolve w-2 cli a-4 40 fine");

        /* Notifications: by alert oldest first, by state newest first. */
        r.n = 0;
        assert_int_equal(
            store_list_notifications(s, &(struct store_notification_filter){ .alert_id = "a-1" },
                                     notification_cb, &r),
            0);
        EXPECT_ROWS(&r, "n-1 a-1 w-1 mqtt alert r1 p0 delivered a1 - 1580965200000015 0",
                    "n-2 a-1 - mqtt reminder r1 p1 pending a0 - 0 0");
        r.n = 0;
        assert_int_equal(store_list_notifications(
                             s,
                             &(struct store_notification_filter){
                                 .states = (1u << NOTIFICATION_DEAD) | (1u << NOTIFICATION_PENDING),
                                 .newest_first = true,
                             },
                             notification_cb, &r),
                         0);
        EXPECT_ROWS(&r, "n-3 a-2 w-1 mqtt alert r1 p0 dead a8 gone 0 1580965200000025",
                    "n-2 a-1 - mqtt reminder r1 p1 pending a0 - 0 0");

        /* Passes: not done (the engine's), every one, and those done not yet ended. */
        r.n = 0;
        assert_int_equal(store_foreach_pending_pass(s, pass_cb, &r), 0);
        EXPECT_ROWS(&r, "1 H-1 hospital 00");
        r.n = 0;
        assert_int_equal(
            store_list_passes(s, &(struct store_pass_filter){ .all = true }, pass_cb, &r), 0);
        EXPECT_ROWS(&r, "2 H-2 exam 01", "1 H-1 hospital 00");
        r.n = 0;
        assert_int_equal(
            store_list_passes(s, &(struct store_pass_filter){ .now_usec = T0 + 150 }, pass_cb, &r),
            0);
        EXPECT_ROWS(&r, "2 H-2 exam 01", "1 H-1 hospital 00");
        r.n = 0;
        assert_int_equal(store_list_passes(s,
                                           &(struct store_pass_filter){ .household = "H-2",
                                                                        .now_usec = T0 + 250 },
                                           pass_cb, &r),
                         0);
        assert_int_equal(r.n, 0);

        /* The household's timeline: events, commands, alerts no event names, acks and
         * resolves of its alerts, in time order. */
        r.n = 0;
        assert_int_equal(store_household_timeline(s, "H-1", T0 + 2, timeline_cb, &r), 0);
        EXPECT_ROWS(
            &r, "1 2 w-1 mqtt checkin - 0 - - -", "2 5 - - door_held_open - 0 - why a-4",
            "0 10 d-1 - door open 0 alert because a-1", "0 11 d-1 - ring - 0 expected because -",
            "0 12 d-1 - door closed 0 ignored because a-1", "3 40 w-2 cli resolve - 0 - fine a-4");
        r.n = 0;
        assert_int_equal(store_household_timeline(s, "H-1", 0, timeline_cb, &r), 0);
        assert_string_equal(r.text[0], "0 1 d-1 - door open 1 ignored because -");
        store_close(s);
}

static int count_action(const struct store_action *a, void *userdata)
{
        size_t *n = userdata;
        (*n)++;
        return 0;
}

/* Actions recorded about target. */
static size_t actions(struct store *s, const char *target)
{
        size_t n = 0;
        assert_true(store_list_actions(s, target, count_action, &n) >= 0);
        return n;
}

static void exec_sql(struct store *s, const char *sql)
{
        assert_int_equal(sqlite3_exec(store_sqlite_db(s), sql, NULL, NULL, NULL), SQLITE_OK);
}

static void test_lost_transaction(void **state)
{
        struct store *s;
        int r;

        assert_int_equal(store_open(path, false, false, &s), 0);
        exec_sql(s, "CREATE TRIGGER boom BEFORE INSERT ON action WHEN NEW.kind = 'boom'"
                    " BEGIN SELECT RAISE(ROLLBACK, 'injected'); END;"
                    "CREATE TRIGGER abort BEFORE INSERT ON action WHEN NEW.kind = 'abort'"
                    " BEGIN SELECT RAISE(ABORT, 'injected'); END");

        /* SQLite rolls the whole transaction back: nothing of it lands, not even what
         * comes after (it would run outside a transaction, committed row by row). */
        assert_int_equal(store_begin(s), 0);
        assert_int_equal(store_insert_action(s, "ack", "w", "mqtt", "t1", DAY1, NULL), 0);
        r = store_insert_action(s, "boom", "w", "mqtt", "t1", DAY1, NULL);
        assert_true(r < 0);
        assert_true(store_transaction_failed(s));
        assert_int_equal(store_insert_action(s, "ack", "w", "mqtt", "t1", DAY1, NULL), r);
        assert_int_equal(store_begin(s), r);
        assert_int_equal(store_try_begin(s), r);
        assert_int_equal(store_commit(s), r);
        assert_false(store_in_transaction(s));
        assert_true(store_write_failed(s));
        assert_int_equal(actions(s, "t1"), 0);

        /* The next transaction works and clears the write health. */
        assert_int_equal(store_insert_action(s, "ack", "w", "mqtt", "t2", DAY1, NULL), 0);
        assert_int_equal(store_begin(s), 0);
        assert_int_equal(store_insert_action(s, "ack", "w", "mqtt", "t2", DAY1, NULL), 0);
        assert_int_equal(store_commit(s), 0);
        assert_false(store_write_failed(s));
        assert_int_equal(actions(s, "t2"), 2);

        /* store_rollback(): nothing of the transaction, ids handed out in it come again. */
        expect_id(s, 'a', DAY1, "a-20200206-0001");
        assert_int_equal(store_insert_action(s, "ack", "w", "mqtt", "t3", DAY1, NULL), 0);
        store_rollback(s);
        assert_false(store_in_transaction(s));
        assert_int_equal(actions(s, "t3"), 0);
        expect_id(s, 'a', DAY1, "a-20200206-0001");
        store_rollback(s);

        /* A statement aborted inside a savepoint: the savepoint's writes go, the rest of the
         * transaction stays. */
        assert_int_equal(store_begin(s), 0);
        assert_int_equal(store_insert_action(s, "ack", "w", "mqtt", "t4", DAY1, NULL), 0);
        assert_int_equal(store_savepoint(s), 0);
        assert_int_equal(store_insert_action(s, "ack", "w", "mqtt", "t4", DAY1, NULL), 0);
        assert_true(store_insert_action(s, "abort", "w", "mqtt", "t4", DAY1, NULL) < 0);
        assert_false(store_transaction_failed(s));
        assert_int_equal(store_rollback_to(s), 0);
        assert_int_equal(store_insert_action(s, "ack", "w", "mqtt", "t4", DAY1, NULL), 0);
        assert_int_equal(store_commit(s), 0);
        assert_int_equal(actions(s, "t4"), 2);

        /* The transaction lost inside a savepoint: rolling back to it fails, and loses the
         * transaction. */
        assert_int_equal(store_begin(s), 0);
        assert_int_equal(store_insert_action(s, "ack", "w", "mqtt", "t5", DAY1, NULL), 0);
        assert_int_equal(store_savepoint(s), 0);
        assert_true(store_insert_action(s, "boom", "w", "mqtt", "t5", DAY1, NULL) < 0);
        assert_true(store_rollback_to(s) < 0);
        assert_true(store_transaction_failed(s));
        assert_true(store_insert_action(s, "ack", "w", "mqtt", "t5", DAY1, NULL) < 0);
        assert_true(store_commit(s) < 0);
        assert_int_equal(actions(s, "t5"), 0);
        store_close(s);
}

/* The whole file, malloc'd, *len its size (NULL when missing). */
static char *slurp(const char *file, size_t *len)
{
        FILE *f = fopen(file, "rb");
        char *buf;
        long n;

        if (!f)
                return NULL;
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        rewind(f);
        buf = malloc((size_t)n + 1);
        assert_non_null(buf);
        assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
        fclose(f);
        *len = (size_t)n;
        return buf;
}

static int db_app_id(const char *file)
{
        sqlite3 *db;
        sqlite3_stmt *st;
        int id = -1;

        assert_int_equal(sqlite3_open_v2(file, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA application_id", -1, &st, NULL), SQLITE_OK);
        if (sqlite3_step(st) == SQLITE_ROW)
                id = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        sqlite3_close(db);
        return id;
}

/* A file that is not doorwatch's is refused, every byte left as it was; an earlier
 * doorwatchd's database (no application id) is adopted and stamped. */
static void test_identity(void **state)
{
        static const unsigned char noise[4096] = { 0x13, 0x37, 0xde, 0xad };
        char foreign[160], junk[160];
        struct store *s;
        sqlite3 *db;
        size_t n_before, n_after;
        char *before, *after;
        FILE *f;

        /* Someone's customers. */
        snprintf(foreign, sizeof(foreign), "%s/customers.db", dir);
        assert_int_equal(sqlite3_open(foreign, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db,
                                      "CREATE TABLE customers (name TEXT); INSERT INTO "
                                      "customers VALUES ('Li');",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(db);
        before = slurp(foreign, &n_before);
        assert_int_equal(store_open(foreign, false, false, &s), -EMEDIUMTYPE);
        assert_int_equal(store_open(foreign, false, true, &s), -EMEDIUMTYPE);
        after = slurp(foreign, &n_after);
        assert_int_equal(n_before, n_after);
        assert_memory_equal(before, after, n_before);
        free(before);
        free(after);

        /* Another program's application id, even without tables. */
        assert_int_equal(sqlite3_open(foreign, &db), SQLITE_OK);
        assert_int_equal(
            sqlite3_exec(db, "DROP TABLE customers; PRAGMA application_id = 7", NULL, NULL, NULL),
            SQLITE_OK);
        sqlite3_close(db);
        assert_int_equal(store_open(foreign, false, false, &s), -EMEDIUMTYPE);
        assert_int_equal(db_app_id(foreign), 7);

        /* Not SQLite at all. */
        snprintf(junk, sizeof(junk), "%s/junk.db", dir);
        f = fopen(junk, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(noise, 1, sizeof(noise), f), sizeof(noise));
        fclose(f);
        assert_int_equal(store_open(junk, false, false, &s), -EMEDIUMTYPE);
        after = slurp(junk, &n_after);
        assert_int_equal(n_after, sizeof(noise));
        assert_memory_equal(after, noise, sizeof(noise));
        free(after);
        assert_null(slurp("/nonexistent", &n_after));

        /* Ours, new: stamped. An earlier one (no id): adopted, its rows kept. */
        assert_int_equal(store_open(path, false, false, &s), 0);
        assert_int_equal(store_insert_action(s, "ack", "w", "mqtt", "kept", DAY1, NULL), 0);
        store_close(s);
        assert_int_equal(db_app_id(path), 0x446f6f72);
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "PRAGMA application_id = 0", NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(db);
        assert_int_equal(store_open(path, false, true, &s), 0); /* a reader takes it as is */
        store_close(s);
        assert_int_equal(db_app_id(path), 0);
        assert_int_equal(store_open(path, false, false, &s), 0);
        assert_int_equal(actions(s, "kept"), 1);
        store_close(s);
        assert_int_equal(db_app_id(path), 0x446f6f72);
}

static int basis_cb(const struct store_event *e, void *userdata)
{
        add_row(userdata, "%s %s %s %s %s", S(e->uid), e->verdict, e->reason, S(e->alert_id),
                S(e->time_basis));
        return 0;
}

static int timeline_basis_cb(const struct store_timeline_entry *e, void *userdata)
{
        add_row(userdata, "%d %s %s", (int)e->kind, S(e->what), S(e->time_basis));
        return 0;
}

static int opening_count_cb(const struct store_opening_count *c, void *userdata)
{
        add_row(userdata, "%s %s %s %lld", S(c->household), c->verdict, S(c->rule),
                (long long)c->n);
        return 0;
}

static void insert_timed(struct store *s, const char *uid, const char *type, int64_t at,
                         const char *basis)
{
        assert_int_equal(store_insert_event(s,
                                            &(struct store_event){
                                                .device = "d-1",
                                                .household = "H-1",
                                                .uid = uid,
                                                .type = type,
                                                .state = strcmp(type, "door") ? NULL : "open",
                                                .recv_usec = at,
                                                .event_usec = at,
                                                .time_basis = basis,
                                                .verdict = "ignored",
                                                .reason = "held",
                                            },
                                            NULL),
                         0);
}

static void test_time_basis_and_settled_opening(void **state)
{
        struct rows r = { 0 };
        struct store *s;
        sqlite3 *db;

        assert_int_equal(store_open(path, false, false, &s), 0);
        insert_timed(s, "e-1", "door", T0, "device");
        insert_timed(s, "e-2", "door", T0, "device"); /* a repeat at the same time */
        insert_timed(s, "e-3", "ring", T0 + 1, "receive");
        assert_int_equal(store_insert_event(s,
                                            &(struct store_event){ .device = "d-1",
                                                                   .household = "H-1",
                                                                   .uid = "e-4",
                                                                   .type = "door",
                                                                   .state = "open",
                                                                   .recv_usec = T0 + 2,
                                                                   .event_usec = T0 + 2,
                                                                   .verdict = "ignored",
                                                                   .rule = "chatter",
                                                                   .reason = "joins" },
                                            NULL),
                         0);
        assert_int_equal(
            store_settle_opening(s, "H-1", T0, "alert", "unexpected", "settled", "a-1"), 0);
        assert_int_equal(
            store_settle_opening(s, "H-1", T0 + 5, "alert", "unexpected", "none", "a-2"), 0);
        assert_int_equal(store_commit(s), 0);
        for (const char *const *uid = (const char *const[]){ "e-1", "e-2", "e-3", NULL }; *uid;
             uid++)
                assert_int_equal(store_get_event(s, "d-1", *uid, basis_cb, &r), 0);
        EXPECT_ROWS(&r, "e-1 alert settled a-1 device", "e-2 ignored held - device",
                    "e-3 ignored held - receive");
        r.n = 0;
        assert_int_equal(store_household_timeline(s, "H-1", 0, timeline_basis_cb, &r), 0);
        EXPECT_ROWS(&r, "0 door device", "0 door device", "0 ring receive", "0 door -");
        /* The daily report counts the settled opening, its repeat, not the reopen that
         * joined it. */
        r.n = 0;
        assert_int_equal(store_foreach_opening_count(s, T0, T0 + 10, opening_count_cb, &r), 0);
        EXPECT_ROWS(&r, "H-1 alert unexpected 1", "H-1 ignored - 1");
        s = store_close(s);
        if (uri_scheme_len(path) > 0)
                return; /* PostgreSQL: its migration history starts with time_basis's */

        /* A database from before time_basis: its events have none, new ones do. */
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db,
                                      "ALTER TABLE event DROP COLUMN time_basis;"
                                      " DROP TABLE reading; DROP TABLE round;"
                                      " DROP TABLE purged_fever; DROP TABLE form_nonce;"
                                      " DELETE FROM meta WHERE key = 'rounds_since_usec';"
                                      " UPDATE meta SET value = '7' WHERE key = 'schema_version'",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(db);
        assert_int_equal(store_open(path, false, false, &s), 0);
        insert_timed(s, "e-5", "ring", T0 + 3, "receive");
        assert_int_equal(store_commit(s), 0);
        r.n = 0;
        assert_int_equal(store_household_timeline(s, "H-1", 0, timeline_basis_cb, &r), 0);
        EXPECT_ROWS(&r, "0 door -", "0 door -", "0 ring -", "0 door -", "0 ring receive");
        store_close(s);
}

static void test_backend_choice(void **state)
{
        static const char *const refused[] = {
                "mysql://doorwatch@localhost/doorwatch",
                "sqlite://doorwatch.db",
        };
        /* Port 1 of the loopback: nothing listens, the connection is refused at once. */
        static const char *const unreachable[] = {
                "postgresql://doorwatch@127.0.0.1:1/doorwatch?sslmode=disable",
                "postgres://doorwatch:secret@127.0.0.1:1/doorwatch?connect_timeout=2",
        };
        struct store *s = NULL;
        struct stat st;
        char file[160];
        _cleanup_free_ char *joined = NULL;

        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                assert_int_equal(store_open(refused[i], false, false, &s), -EPROTONOSUPPORT);
                assert_null(s);
                assert_int_equal(store_backup(refused[i], file_path, NULL), -EPROTONOSUPPORT);
        }
        for (size_t i = 0; i < ELEMENTSOF(unreachable); i++) {
                assert_int_equal(store_open(unreachable[i], false, false, &s), -ENOTCONN);
                assert_null(s);
                /* PostgreSQL backs itself up: pg_dump, not us. */
                assert_int_equal(store_backup(unreachable[i], file_path, NULL), -EOPNOTSUPP);
        }
        assert_int_equal(stat("postgresql:", &st), -1);
        assert_int_equal(stat("postgres:", &st), -1);
        assert_int_equal(stat(file_path, &st), -1);

        /* The configuration joins relative paths to its directory, but not a URI. */
        joined = path_join("/etc/doorwatch", unreachable[0]);
        assert_string_equal(joined, unreachable[0]);

        /* A path with a colon in it is still a path. */
        snprintf(file, sizeof(file), "%s/a:b.db", dir);
        assert_int_equal(store_open(file, false, false, &s), 0);
        store_close(s);
        assert_int_equal(stat(file, &st), 0);
}

/* A missing operation fails here, not as a NULL call in the daemon: every entry of every
 * backend's table is set (the table is all function pointers after name and remote). */
static void test_ops_complete(void **state)
{
        static const struct store_backend *const backends[] = { &store_sqlite_backend,
                                                                &store_pg_backend };

        for (size_t b = 0; b < ELEMENTSOF(backends); b++) {
                const char *first = (const char *)&backends[b]->open;
                const char *end = (const char *)(backends[b] + 1);
                size_t n = (size_t)(end - first) / sizeof(void (*)(void));

                assert_true(n >= 50);
                for (size_t i = 0; i < n; i++) {
                        void (*fn)(void);
                        memcpy(&fn, first + i * sizeof(fn), sizeof(fn));
                        if (!fn)
                                fail_msg("backend %s: operation %zu of the table is NULL",
                                         backends[b]->name, i);
                }
        }
}

struct windows {
        char got[512];
        int n;
};

static int on_window(const struct store_household_window *w, void *userdata)
{
        struct windows *ws = userdata;
        size_t len = strlen(ws->got);

        snprintf(ws->got + len, sizeof(ws->got) - len, "%s|%s|%lld|%lld;", w->household,
                 w->community ? w->community : "-", (long long)w->start_usec,
                 (long long)w->end_usec);
        ws->n++;
        return 0;
}

/* The households' windows: recorded when they differ from the last recorded (so one load
 * after another records nothing), read back per household as of a time (the last before
 * it, else the first), whatever characters the ids hold (PostgreSQL sends them as array
 * literals). */
static void test_household_windows(void **state)
{
        const struct store_household_window w[] = {
                { "H-\"1\"", "c,{1}", 10, 20 },
                { "H\\2", NULL, 30, 40 },
                { "H 3", "NULL", 50, 60 },
        };
        struct store_household_window changed = { "H\\2", "c2", 30, 45 };
        struct windows ws = { 0 };
        struct store *s;
        size_t n = 99;

        assert_int_equal(store_open(path, false, false, &s), 0);
        assert_int_equal(store_record_household_windows(s, w, ELEMENTSOF(w), 1000, &n), 0);
        assert_int_equal(n, 3);
        assert_int_equal(store_commit(s), 0);
        assert_int_equal(store_record_household_windows(s, w, ELEMENTSOF(w), 2000, &n), 0);
        assert_int_equal(n, 0);
        assert_int_equal(store_record_household_windows(s, &changed, 1, 3000, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(store_commit(s), 0);

        assert_int_equal(store_foreach_household_window(s, 2500, on_window, &ws), 0);
        assert_string_equal(ws.got, "H 3|NULL|50|60;H-\"1\"|c,{1}|10|20;H\\2|-|30|40;");
        memset(&ws, 0, sizeof(ws));
        assert_int_equal(store_foreach_household_window(s, 3500, on_window, &ws), 0);
        assert_string_equal(ws.got, "H 3|NULL|50|60;H-\"1\"|c,{1}|10|20;H\\2|c2|30|45;");
        memset(&ws, 0, sizeof(ws));
        assert_int_equal(store_foreach_household_window(s, 500, on_window, &ws), 0);
        assert_int_equal(ws.n, 3); /* none before: the first of each */
        assert_non_null(strstr(ws.got, "H\\2|-|30|40;"));
        store_close(s);
}

/* Messages show the URI without its password, wherever the password stands. */
static void test_shown(void **state)
{
        static const char *const cases[][2] = {
                { "postgresql://dw:s3cret@db.example:5432/doorwatch?sslmode=require",
                  "postgresql://dw:***@db.example:5432/doorwatch?sslmode=require" },
                { "postgresql://dw@db/doorwatch?sslmode=verify-full&password=s3cret&x=1",
                  "postgresql://dw@db/doorwatch?sslmode=verify-full&password=***&x=1" },
                { "postgres://dw:p%40ss@h1:5432,h2:5432/d?password=a",
                  "postgres://dw:***@h1:5432,h2:5432/d?password=***" },
                { "postgresql:///doorwatch?host=/run/postgresql",
                  "postgresql:///doorwatch?host=/run/postgresql" },
                { "/var/lib/doorwatch/doorwatch.db", "/var/lib/doorwatch/doorwatch.db" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *shown = store_database_shown(cases[i][0]);
                assert_string_equal(shown, cases[i][1]);
                assert_null(strstr(shown, "s3cret"));
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_ids, setup_any, teardown),
                cmocka_unit_test_setup_teardown(test_backend_choice, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reads, setup_any, teardown),
                cmocka_unit_test_setup_teardown(test_household_windows, setup_any, teardown),
                cmocka_unit_test_setup_teardown(test_lost_transaction, setup, teardown),
                cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
                cmocka_unit_test_setup_teardown(test_time_basis_and_settled_opening, setup_any,
                                                teardown),
                cmocka_unit_test(test_ops_complete),
                cmocka_unit_test(test_shown),
        };
        setenv("TZ", "Asia/Shanghai", 1);
        return cmocka_run_group_tests(tests, NULL, NULL);
}

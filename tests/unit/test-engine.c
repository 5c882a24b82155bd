/* test-engine.c: the engine's event path over a real SQLite file: decide, persist, apply.
 *
 * Part 1: a write that fails in the middle of an event (an alert, a notification, the
 * event itself, the rule state, a joined alert's new count, a device's battery_low) leaves
 * memory exactly as it was; the fault takes the transaction with it, as a full disk can,
 * so the database is as it was too, and the same event handled afterwards gives the result
 * it would have given. A deadline whose write fails (its savepoint rolled back, the
 * transaction goes on) leaves memory as it was but for its retry. Faults are SQLite
 * triggers installed through a second connection, so the store is used as it is.
 * Part 2: a burst whose transaction is lost (the trigger rolls the whole transaction back,
 * then the COMMIT fails) is undone in memory by engine_rebuild(): alerts, rule state,
 * passes and device health are what the database says, and the burst handled again is
 * judged as the first time (not as duplicates, not debounced). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/files.h"
#include "config.h"
#include "devhealth.h"
#include "engine.h"
#include "log.h"
#include "store.h"
#include "util.h"

#define MIN_ (60 * USEC_PER_SEC)

static char dir[64];

/* chatter_settle 0: an opening's alert is raised by its event, whose writes these tests
 * break (a held opening's alert comes from a deadline like door_held_open). */
static const char *doorwatch_json_fmt =
    "{\"timezone\": \"Asia/Shanghai\", \"database\": \"%s/doorwatch.db\","
    " \"policy\": {\"max_clock_skew\": \"100000d\", \"ack_absorb\": \"30m\","
    "  \"held_open_after\": \"10m\", \"debounce\": \"2s\", \"battery_low_percent\": 15,"
    "  \"chatter_settle\": \"0s\"},"
    " \"escalation\": {\"ack_timeout\": \"5m\", \"steps\": [\"team\", \"leader\", \"command\"],"
    "  \"repeat\": 2, \"remind_every\": \"30m\"},"
    " \"notifiers\": {\"mqtt\": {\"type\": \"mqtt\"}}}";

static const char *workers_json =
    "[{\"id\": \"w-c1\", \"name\": \"王芳\", \"role\": \"community\", \"community\": \"alpha\","
    "  \"channels\": [\"mqtt\"]},"
    " {\"id\": \"w-m1\", \"name\": \"李医生\", \"role\": \"medical\", \"community\": \"alpha\","
    "  \"channels\": [\"mqtt\"]},"
    " {\"id\": \"w-p1\", \"name\": \"张警官\", \"role\": \"police\", \"community\": \"alpha\","
    "  \"channels\": [\"mqtt\"]},"
    " {\"id\": \"w-i1\", \"name\": \"安装甲\", \"role\": \"installer\", \"community\": \"alpha\","
    "  \"channels\": [\"mqtt\"]},"
    " {\"id\": \"w-ld\", \"name\": \"周主任\", \"role\": \"staff\", \"community\": \"alpha\","
    "  \"channels\": [\"mqtt\"]},"
    " {\"id\": \"w-cmd\", \"name\": \"指挥中心\", \"role\": \"staff\", \"channels\": [\"mqtt\"]}]";

static const char *households_json =
    "[{\"id\": \"H-1\", \"community\": \"alpha\", \"address\": \"长虹路 12号 3栋 402\","
    "  \"observation\": {\"start\": \"2026-11-01T00:00:00+08:00\","
    "                    \"end\": \"2026-12-31T00:00:00+08:00\"},"
    "  \"team\": {\"community\": \"w-c1\", \"medical\": \"w-m1\", \"police\": \"w-p1\"},"
    "  \"devices\": [{\"id\": \"d-1\", \"kind\": \"door_contact\", \"source\": \"native\"},"
    "              {\"id\": \"d-b\", \"kind\": \"doorbell\", \"source\": \"native\"}]}]";

static const char *rosters_json =
    "{\"communities\": {\"alpha\": {\"leader\": \"w-ld\"}}, \"command\": [\"w-cmd\"],"
    " \"admins\": [\"w-cmd\"]}";

struct fx {
        struct config *config;
        struct store *store;
        struct engine *engine;
        sqlite3 *db; /* a second connection: queries and faults */
        int64_t t0;
};

static int64_t t_(const char *rfc3339)
{
        int64_t usec;
        assert_int_equal(parse_rfc3339(rfc3339, &usec), 0);
        return usec;
}

static int fx_setup(void **state)
{
        struct fx *fx = calloc(1, sizeof(*fx));
        struct config_diag diag = { 0 };
        char buf[1024];

        snprintf(dir, sizeof(dir), "/tmp/doorwatch-unit-XXXXXX");
        assert_non_null(mkdtemp(dir));
        snprintf(buf, sizeof(buf), doorwatch_json_fmt, dir);
        test_write_file(dir, "doorwatch.json", buf);
        test_write_file(dir, "workers.json", workers_json);
        test_write_file(dir, "households.json", households_json);
        test_write_file(dir, "rosters.json", rosters_json);
        if (config_load(dir, &fx->config, &diag) < 0) {
                for (size_t i = 0; i < diag.n_errors; i++)
                        fprintf(stderr, "error: %s\n", diag.errors[i]);
                fail_msg("fixture configuration invalid");
        }
        config_diag_done(&diag);
        assert_int_equal(timezone_set("Asia/Shanghai"), 0);
        fx->t0 = t_("2026-11-30T08:00:00+08:00");
        assert_int_equal(store_open(fx->config->database, false, false, &fx->store), 0);
        assert_int_equal(engine_new(fx->config, fx->store, &fx->engine), 0);
        assert_int_equal(engine_load(fx->engine), 0);
        assert_int_equal(devhealth_start(fx->engine, fx->t0), 0);
        assert_int_equal(store_commit(fx->store), 0);
        assert_int_equal(sqlite3_open(fx->config->database, &fx->db), SQLITE_OK);
        sqlite3_busy_timeout(fx->db, 5000);
        *state = fx;
        return 0;
}

static int fx_teardown(void **state)
{
        struct fx *fx = *state;
        char path[128];

        sqlite3_close(fx->db);
        store_commit(fx->store);
        fx->engine = engine_free(fx->engine);
        fx->store = store_close(fx->store);
        config_free(fx->config);
        for (const char *const *s = (const char *const[]){ "", "-wal", "-shm", NULL }; *s; s++) {
                snprintf(path, sizeof(path), "%s/doorwatch.db%s", dir, *s);
                unlink(path);
        }
        for (const char *const *s =
                 (const char *const[]){ "doorwatch.json", "workers.json", "households.json",
                                        "rosters.json", NULL };
             *s; s++) {
                snprintf(path, sizeof(path), "%s/%s", dir, *s);
                unlink(path);
        }
        rmdir(dir);
        free(fx);
        return 0;
}

static void sql(struct fx *fx, const char *text)
{
        char *err = NULL;

        if (sqlite3_exec(fx->db, text, NULL, NULL, &err) != SQLITE_OK)
                fail_msg("%s: %s", text, err);
}

/* The rows of every table an event writes to, committed ones only. */
static void db_rows(struct fx *fx, char *buf, size_t size)
{
        sqlite3_stmt *st;

        assert_int_equal(sqlite3_prepare_v2(
                             fx->db,
                             "SELECT (SELECT count(*) FROM event), (SELECT count(*) FROM alert),"
                             " (SELECT group_concat(id || ':' || kind || ':' || count || ':' ||"
                             "  state, ',') FROM alert),"
                             " (SELECT count(*) FROM notification), (SELECT count(*) FROM action),"
                             " (SELECT group_concat(state, ',') FROM household_state)",
                             -1, &st, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        snprintf(buf, size, "events %d alerts %d [%s] notifications %d actions %d state %s",
                 sqlite3_column_int(st, 0), sqlite3_column_int(st, 1),
                 sqlite3_column_text(st, 2) ? (const char *)sqlite3_column_text(st, 2) : "",
                 sqlite3_column_int(st, 3), sqlite3_column_int(st, 4),
                 sqlite3_column_text(st, 5) ? (const char *)sqlite3_column_text(st, 5) : "");
        sqlite3_finalize(st);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

enum {
        MEM_TIMERS = 1 << 0, /* the next deadline, the households' rule timers */
        MEM_EXACT = 1 << 1,  /* what a rebuild renumbers or re-derives: alert serials, timer
                              * tokens, signs of life, counters */
};

/* What the engine holds in memory, as text. */
static char *memory(struct fx *fx, unsigned what)
{
        const struct config *c = fx->config;
        char *text = NULL, *lines[64] = { 0 };
        size_t len = 0, n = 0;
        FILE *f = open_memstream(&text, &len);
        bool exact = what & MEM_EXACT;

        assert_non_null(f);
        fprintf(f, "live %zu open %zu", engine_live_alerts(fx->engine),
                engine_open_alerts(fx->engine));
        if (what & MEM_TIMERS)
                fprintf(f, " next %lld", (long long)engine_next_deadline(fx->engine));
        fputc('\n', f);
        for (size_t i = 0; i < c->n_households; i++) {
                const struct household_state *st =
                    engine_household_state(fx->engine, &c->households[i]);
                cJSON *j = rules_state_to_json(st);
                char *json = cJSON_PrintUnformatted(j);

                fprintf(f, "%s: %s", c->households[i].id, json);
                if (what & MEM_TIMERS)
                        fprintf(f, " timer %lld", (long long)st->timer_usec);
                if (exact)
                        fprintf(f, " token %u hash %llu", st->timer_token,
                                (unsigned long long)st->saved_hash);
                fputc('\n', f);
                free(json);
                cJSON_Delete(j);
                for (size_t k = 0; k < st->n_passes; k++)
                        fprintf(f, "  pass %lld %lld-%lld exit %lld return %lld overdue %d %s\n",
                                (long long)st->passes[k].id, (long long)st->passes[k].from_usec,
                                (long long)st->passes[k].to_usec,
                                (long long)st->passes[k].exit_usec,
                                (long long)st->passes[k].return_usec, st->passes[k].overdue,
                                st->passes[k].reason);
                for (const struct alert *a = st->alerts; a && n < ELEMENTSOF(lines); a = a->next) {
                        assert_true(
                            asprintf(&lines[n],
                                     "  alert %s %s %s %s x%d raised %lld last"
                                     " %lld acked %lld next %lld pos %d/%d/%d"
                                     " event %s device %s serial %u\n",
                                     a->id, alert_kind_to_string(a->kind),
                                     severity_to_string(a->severity),
                                     alert_state_to_string(a->state), a->count,
                                     (long long)a->raised_usec, (long long)a->last_event_usec,
                                     (long long)a->acked_usec, (long long)a->next_usec,
                                     a->step_index, a->round, a->reminders, a->event_uid,
                                     a->device_id ? a->device_id : "-", exact ? a->serial : 0) > 0);
                        n++;
                }
        }
        qsort(lines, n, sizeof(*lines), cmp_str);
        for (size_t i = 0; i < n; i++) {
                fputs(lines[i], f);
                free(lines[i]);
        }
        for (size_t i = 0; i < c->n_devices; i++) {
                const struct device_state *ds = engine_device_state(fx->engine, &c->devices[i]);

                fprintf(f, "%s: offline %d bridge %d battery_low %d", c->devices[i].id,
                        ds->health_offline, ds->health_bridge_offline, ds->health_battery_low);
                if (exact)
                        fprintf(f, " seen %lld since %lld timer %lld battery_alert %lld",
                                (long long)ds->health_seen_usec, (long long)ds->health_since_usec,
                                (long long)ds->health_timer_usec,
                                (long long)ds->health_battery_alert_usec);
                fputc('\n', f);
        }
        if (exact) {
                const struct engine_counters *k = engine_counters(fx->engine);
                fprintf(f, "counters %llu/%llu/%llu raised %llu notifications %llu\n",
                        (unsigned long long)k->events[0], (unsigned long long)k->events[1],
                        (unsigned long long)k->events[2], (unsigned long long)k->alerts_raised,
                        (unsigned long long)k->notifications);
        }
        fclose(f);
        return text;
}

static struct event door(const char *id, enum door_state state)
{
        struct event ev = { .type = EVENT_DOOR, .door = state, .battery_percent = -1 };

        snprintf(ev.id, sizeof(ev.id), "%s", id);
        return ev;
}

static struct event battery(const char *id, int percent)
{
        struct event ev = { .type = EVENT_BATTERY, .battery_percent = percent };

        snprintf(ev.id, sizeof(ev.id), "%s", id);
        return ev;
}

static int handle(struct fx *fx, const char *device, const struct event *ev, int64_t at,
                  struct verdict *v)
{
        static const char payload[] = "{}";

        return engine_handle_event(fx->engine, config_device(fx->config, device), ev, at, payload,
                                   strlen(payload), v);
}

/* ---- part 1: a failed write in the middle of an event ---- */

struct step {
        const char *device;
        struct event ev;
        int64_t at_min;
        const char *faults[4]; /* trigger bodies "BEFORE ... ON table", each tried in turn */
        const char *expect;    /* what memory shows afterwards (a substring) */
};

static void test_failed_write_leaves_memory_as_it_was(void **state)
{
        struct fx *fx = *state;
        const struct step steps[] = {
                /* An unexpected opening: a new alert, told to the team. */
                { "d-1",
                  door("e-1", DOOR_OPEN),
                  0,
                  { "BEFORE INSERT ON alert", "BEFORE INSERT ON notification",
                    "BEFORE INSERT ON event", "BEFORE INSERT ON household_state" },
                  "door_open_unexpected high open x1" },
                /* Closed 12 minutes later: door_held_open raised by the deadline that came
                 * due before it, then the closing. */
                { "d-1",
                  door("e-2", DOOR_CLOSED),
                  12,
                  { "BEFORE INSERT ON alert", "BEFORE INSERT ON notification",
                    "BEFORE INSERT ON event", "BEFORE INSERT ON household_state" },
                  "door_held_open" },
                /* Opened again: joins the open alert (a count). */
                { "d-1",
                  door("e-3", DOOR_OPEN),
                  13,
                  { "BEFORE UPDATE ON alert", "BEFORE INSERT ON event", NULL },
                  "door_open_unexpected high open x2" },
                /* A low battery: device health raises battery_low and remembers the level. */
                { "d-b",
                  battery("e-4", 9),
                  14,
                  { "BEFORE INSERT ON alert", "BEFORE INSERT ON notification",
                    "BEFORE INSERT ON event", NULL },
                  "d-b: offline 0 bridge 0 battery_low 1" },
        };

        for (size_t i = 0; i < ELEMENTSOF(steps); i++) {
                const struct step *s = &steps[i];
                int64_t at = fx->t0 + s->at_min * MIN_;
                struct verdict v;
                char rows_before[512], rows_after[512], trigger[256];

                for (size_t k = 0; k < ELEMENTSOF(s->faults) && s->faults[k]; k++) {
                        _cleanup_free_ char *before = NULL, *after = NULL;

                        assert_int_equal(store_commit(fx->store), 0);
                        snprintf(trigger, sizeof(trigger),
                                 "CREATE TRIGGER fault %s BEGIN SELECT RAISE(ROLLBACK,"
                                 " 'injected'); END",
                                 s->faults[k]);
                        sql(fx, trigger);
                        db_rows(fx, rows_before, sizeof(rows_before));
                        before = memory(fx, MEM_TIMERS | MEM_EXACT);
                        assert_true(handle(fx, s->device, &s->ev, at, &v) < 0);
                        after = memory(fx, MEM_TIMERS | MEM_EXACT);
                        if (strcmp(before, after) != 0)
                                fail_msg("step %zu, fault %s: memory changed\nbefore:\n%s\nafter:"
                                         "\n%s",
                                         i, s->faults[k], before, after);
                        assert_true(store_commit(fx->store) < 0); /* nothing left to commit */
                        db_rows(fx, rows_after, sizeof(rows_after));
                        if (strcmp(rows_before, rows_after) != 0)
                                fail_msg("step %zu, fault %s: database changed\n%s\n%s", i,
                                         s->faults[k], rows_before, rows_after);
                        sql(fx, "DROP TRIGGER fault");
                }
                /* Without the fault the same event does what it should. */
                assert_int_equal(handle(fx, s->device, &s->ev, at, &v), 0);
                assert_int_equal(store_commit(fx->store), 0);
                _cleanup_free_ char *now = memory(fx, MEM_TIMERS);
                if (!strstr(now, s->expect))
                        fail_msg("step %zu: \"%s\" not in\n%s", i, s->expect, now);
        }
        /* And nothing of the failed attempts reached the database. */
        char rows[512];
        db_rows(fx, rows, sizeof(rows));
        assert_non_null(strstr(rows, "events 4 alerts 3"));
}

/* The same with a deadline that fires from the timer (no event): door_held_open. Only the
 * retry is armed. */
static void test_failed_deadline_leaves_memory_as_it_was(void **state)
{
        struct fx *fx = *state;
        struct event open = door("e-1", DOOR_OPEN);
        _cleanup_free_ char *before = NULL, *after = NULL, *done = NULL;
        int64_t held = fx->t0 + 10 * MIN_;

        assert_int_equal(handle(fx, "d-1", &open, fx->t0, NULL), 0);
        assert_int_equal(engine_tick(fx->engine, fx->t0 + 5 * MIN_), 0); /* the leader step */
        assert_int_equal(store_commit(fx->store), 0);
        sql(fx, "CREATE TRIGGER fault BEFORE INSERT ON alert"
                " BEGIN SELECT RAISE(ABORT, 'injected'); END");
        before = memory(fx, 0);
        assert_true(engine_tick(fx->engine, held) < 0);
        after = memory(fx, 0);
        assert_string_equal(before, after);
        assert_int_equal(store_commit(fx->store), 0);
        sql(fx, "DROP TRIGGER fault");
        for (int64_t t = held; t <= held + 10 * USEC_PER_SEC; t += USEC_PER_SEC)
                assert_true(engine_tick(fx->engine, t) >= 0);
        assert_int_equal(store_commit(fx->store), 0);
        done = memory(fx, 0);
        assert_non_null(strstr(done, "door_held_open"));
        assert_non_null(strstr(done, "\"held_alerted\":true"));
}

/* A door event whose write failed is not in the rule state. Adapters of devices that
 * report their full state (zigbee2mqtt, Shelly) pass a door state on only when it changes
 * from the one they decoded last: that memory forgets it, so the device's next report,
 * which repeats the state, reaches the rules (a door whose reports say closed is not left
 * open for door_held_open). */
static void test_failed_door_event_forgets_the_adapters_edge(void **state)
{
        struct fx *fx = *state;
        struct event open = door("e-1", DOOR_OPEN), close = door("e-2", DOOR_CLOSED);
        struct device_state *ds = engine_device_state(fx->engine, config_device(fx->config, "d-1"));

        ds->door = DOOR_OPEN; /* as an adapter leaves it */
        assert_int_equal(handle(fx, "d-1", &open, fx->t0, NULL), 0);
        assert_int_equal(store_commit(fx->store), 0);
        ds->door = DOOR_CLOSED;
        sql(fx, "CREATE TRIGGER fault BEFORE INSERT ON event"
                " BEGIN SELECT RAISE(ROLLBACK, 'injected'); END");
        assert_true(handle(fx, "d-1", &close, fx->t0 + MIN_, NULL) < 0);
        assert_int_equal(ds->door, DOOR_UNKNOWN);
        sql(fx, "DROP TRIGGER fault");
        store_commit(fx->store);
        /* The same after a lost transaction: the rules' door states are the database's. */
        ds->door = DOOR_CLOSED;
        assert_int_equal(engine_rebuild(fx->engine, fx->t0 + MIN_), 0);
        assert_int_equal(ds->door, DOOR_UNKNOWN);
}

/* The same message delivered twice, seconds apart (a broker's redelivery, a device that
 * repeats an unacknowledged message): the second is recognised by its id and changes
 * nothing, in memory or in the database. */
static void test_redelivery_seconds_later_changes_nothing(void **state)
{
        struct fx *fx = *state;
        struct event open = door("e-1", DOOR_OPEN), close = door("e-2", DOOR_CLOSED);
        _cleanup_free_ char *before = NULL, *after = NULL;
        char rows_before[512], rows_after[512];

        open.has_ts = close.has_ts = true;
        open.ts = (double)fx->t0 / 1e6;
        close.ts = (double)(fx->t0 + 30 * USEC_PER_SEC) / 1e6;
        assert_int_equal(handle(fx, "d-1", &open, fx->t0, NULL), 0);
        assert_int_equal(handle(fx, "d-1", &close, fx->t0 + 30 * USEC_PER_SEC, NULL), 0);
        assert_int_equal(store_commit(fx->store), 0);
        before = memory(fx, MEM_TIMERS | MEM_EXACT);
        db_rows(fx, rows_before, sizeof(rows_before));
        assert_int_equal(handle(fx, "d-1", &open, fx->t0 + 5 * USEC_PER_SEC, NULL),
                         ENGINE_E_DUPLICATE);
        assert_int_equal(handle(fx, "d-1", &close, fx->t0 + 42 * USEC_PER_SEC, NULL),
                         ENGINE_E_DUPLICATE);
        assert_int_equal(store_commit(fx->store), 0);
        after = memory(fx, MEM_TIMERS | MEM_EXACT);
        db_rows(fx, rows_after, sizeof(rows_after));
        assert_string_equal(before, after);
        assert_string_equal(rows_before, rows_after);
}

/* ---- part 2: a lost transaction, undone by engine_rebuild() ---- */

static void test_rebuild_after_rolled_back_burst(void **state)
{
        struct fx *fx = *state;
        const struct worker *w = config_worker(fx->config, "w-c1");
        const struct household *h = config_household(fx->config, "H-1");
        struct event open = door("e-1", DOOR_OPEN), boom = door("boom", DOOR_CLOSED);
        const struct {
                const char *device;
                struct event ev;
                int64_t at_min;
        } burst[] = {
                { "d-1", door("e-2", DOOR_CLOSED), 12 }, /* door_held_open */
                { "d-1", door("e-3", DOOR_OPEN), 13 },   /* joins the opening's alert */
                { "d-b", battery("e-4", 9), 14 },        /* battery_low */
                { "d-1", door("e-5", DOOR_CLOSED), 15 },
        };
        struct verdict first[ELEMENTSOF(burst)], again;
        _cleanup_free_ char *committed = NULL, *lost = NULL, *rebuilt = NULL;
        const char *error = NULL;
        int64_t pass_id = 0;
        char rows[512];

        /* Committed: an alert, a pass, the rule state. */
        assert_int_equal(handle(fx, "d-1", &open, fx->t0, NULL), 0);
        assert_int_equal(engine_add_pass(fx->engine, w, h, fx->t0 + 2 * USEC_PER_HOUR,
                                         fx->t0 + 3 * USEC_PER_HOUR, "就医", CHANNEL_MQTT,
                                         fx->t0 + MIN_, fx->t0 + MIN_, &pass_id, &error),
                         0);
        assert_int_equal(store_commit(fx->store), 0);
        committed = memory(fx, MEM_TIMERS);

        /* The burst, then an event that takes the whole transaction with it. */
        sql(fx, "CREATE TRIGGER fault BEFORE INSERT ON event WHEN NEW.uid = 'boom'"
                " BEGIN SELECT RAISE(ROLLBACK, 'injected'); END");
        for (size_t i = 0; i < ELEMENTSOF(burst); i++)
                assert_int_equal(handle(fx, burst[i].device, &burst[i].ev,
                                        fx->t0 + burst[i].at_min * MIN_, &first[i]),
                                 0);
        assert_true(handle(fx, "d-1", &boom, fx->t0 + 16 * MIN_, NULL) < 0);
        assert_true(store_commit(fx->store) < 0);
        lost = memory(fx, MEM_TIMERS);
        assert_string_not_equal(lost, committed); /* memory still has the burst */

        assert_int_equal(engine_rebuild(fx->engine, fx->t0 + 16 * MIN_), 0);
        rebuilt = memory(fx, MEM_TIMERS);
        if (strcmp(rebuilt, committed) != 0)
                fail_msg("rebuilt memory differs\ncommitted:\n%s\nrebuilt:\n%s", committed,
                         rebuilt);

        /* Handled again, the burst is judged as the first time. */
        sql(fx, "DROP TRIGGER fault");
        for (size_t i = 0; i < ELEMENTSOF(burst); i++) {
                assert_int_equal(handle(fx, burst[i].device, &burst[i].ev,
                                        fx->t0 + burst[i].at_min * MIN_, &again),
                                 0);
                assert_int_equal(again.kind, first[i].kind);
                assert_string_equal(again.reason, first[i].reason);
        }
        assert_int_equal(store_commit(fx->store), 0);
        db_rows(fx, rows, sizeof(rows));
        assert_non_null(strstr(rows, "events 5 alerts 3"));
        assert_non_null(strstr(rows, ":door_open_unexpected:2:open"));
        _cleanup_free_ char *done = memory(fx, MEM_TIMERS);
        assert_non_null(strstr(done, "door_held_open"));
        assert_non_null(strstr(done, "d-b: offline 0 bridge 0 battery_low 1"));
        assert_non_null(strstr(done, "pass "));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_failed_write_leaves_memory_as_it_was, fx_setup,
                                                fx_teardown),
                cmocka_unit_test_setup_teardown(test_failed_door_event_forgets_the_adapters_edge,
                                                fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_redelivery_seconds_later_changes_nothing,
                                                fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_failed_deadline_leaves_memory_as_it_was,
                                                fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_rebuild_after_rolled_back_burst, fx_setup,
                                                fx_teardown),
        };
        log_open(LOG_CRIT, true);
        return cmocka_run_group_tests(tests, NULL, NULL);
}

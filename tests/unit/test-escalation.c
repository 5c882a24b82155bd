/* test-escalation.c: the escalation schedule, table-driven with an injected clock.
 *
 * Part 1 drives the pure function (escalation.c): the schedule without an ack for
 * several configs, deadlines that are not due, overdue deadlines after a long outage,
 * and "restarts" (the same stored position and deadline seen later give the same
 * next action). Part 2 drives the engine over a real SQLite file with the same clock:
 * recipients resolved by the roster at the instant of each step (a police shift change
 * between two steps), an ack at every step stops everything (also across a restart),
 * every step after a close/reopen of the database reproduces the uninterrupted run, ack
 * notices, refusals, and resolve of an acked alert no longer in memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/files.h"
#include "config.h"
#include "engine.h"
#include "escalation.h"
#include "log.h"
#include "store.h"
#include "store/sqlite.h"
#include "util.h"

#define MIN_ (60 * USEC_PER_SEC)

static int64_t t_(const char *rfc3339)
{
        int64_t usec;
        assert_int_equal(parse_rfc3339(rfc3339, &usec), 0);
        return usec;
}

/* ---- part 1: the pure schedule ---- */

struct step_case {
        int64_t at_min; /* deadline, minutes after the raise */
        enum escalation_fire fire;
        enum escalation_step step;
        int step_index, round, reminders;
        int64_t next_min; /* the following deadline */
};

struct schedule_case {
        const char *name;
        struct escalation cfg;
        struct step_case seq[12]; /* seq[0] is the raise (escalation_start) */
        size_t n;
};

#define ESC(t, r, m, ...)                                                                          \
        {                                                                                          \
                .ack_timeout_usec = (t)*MIN_, .repeat = (r), .remind_every_usec = (m)*MIN_,        \
                .steps = { __VA_ARGS__ },                                                          \
                .n_steps = sizeof((enum escalation_step[]){ __VA_ARGS__ }) /                       \
                           sizeof(enum escalation_step),                                           \
        }

static const struct schedule_case schedules[] = {
        { "default: 3 steps, 2 rounds, 5m, reminders every 30m",
          ESC(5, 2, 30, STEP_TEAM, STEP_LEADER, STEP_COMMAND),
          {
              { 0, ESCALATION_FIRE_STEP, STEP_TEAM, 0, 1, 0, 5 },
              { 5, ESCALATION_FIRE_STEP, STEP_LEADER, 1, 1, 0, 10 },
              { 10, ESCALATION_FIRE_STEP, STEP_COMMAND, 2, 1, 0, 15 },
              { 15, ESCALATION_FIRE_STEP, STEP_TEAM, 0, 2, 0, 20 },
              { 20, ESCALATION_FIRE_STEP, STEP_LEADER, 1, 2, 0, 25 },
              { 25, ESCALATION_FIRE_STEP, STEP_COMMAND, 2, 2, 0, 55 },
              { 55, ESCALATION_FIRE_REMINDER, STEP_COMMAND, 2, 2, 1, 85 },
              { 85, ESCALATION_FIRE_REMINDER, STEP_COMMAND, 2, 2, 2, 115 },
              { 115, ESCALATION_FIRE_REMINDER, STEP_COMMAND, 2, 2, 3, 145 },
          },
          9 },
        { "one step, one round: reminders right away",
          ESC(5, 1, 10, STEP_TEAM),
          {
              { 0, ESCALATION_FIRE_STEP, STEP_TEAM, 0, 1, 0, 10 },
              { 10, ESCALATION_FIRE_REMINDER, STEP_COMMAND, 0, 1, 1, 20 },
              { 20, ESCALATION_FIRE_REMINDER, STEP_COMMAND, 0, 1, 2, 30 },
          },
          3 },
        { "team and command, 3 rounds of 1m, reminders hourly",
          ESC(1, 3, 60, STEP_TEAM, STEP_COMMAND),
          {
              { 0, ESCALATION_FIRE_STEP, STEP_TEAM, 0, 1, 0, 1 },
              { 1, ESCALATION_FIRE_STEP, STEP_COMMAND, 1, 1, 0, 2 },
              { 2, ESCALATION_FIRE_STEP, STEP_TEAM, 0, 2, 0, 3 },
              { 3, ESCALATION_FIRE_STEP, STEP_COMMAND, 1, 2, 0, 4 },
              { 4, ESCALATION_FIRE_STEP, STEP_TEAM, 0, 3, 0, 5 },
              { 5, ESCALATION_FIRE_STEP, STEP_COMMAND, 1, 3, 0, 65 },
              { 65, ESCALATION_FIRE_REMINDER, STEP_COMMAND, 1, 3, 1, 125 },
          },
          7 },
        { "leader first, no team step",
          ESC(3, 1, 15, STEP_LEADER, STEP_COMMAND),
          {
              { 0, ESCALATION_FIRE_STEP, STEP_LEADER, 0, 1, 0, 3 },
              { 3, ESCALATION_FIRE_STEP, STEP_COMMAND, 1, 1, 0, 18 },
              { 18, ESCALATION_FIRE_REMINDER, STEP_COMMAND, 1, 1, 1, 33 },
          },
          3 },
};

static void check_plan(const struct schedule_case *sc, size_t i, const struct escalation_plan *p,
                       int64_t t0, int64_t expect_next)
{
        const struct step_case *w = &sc->seq[i];

        if (p->fire != w->fire || p->step != w->step || p->pos.step_index != w->step_index ||
            p->pos.round != w->round || p->pos.reminders != w->reminders ||
            p->next_usec != expect_next)
                fail_msg("%s, entry %zu (+%lldm): got fire %d step %s pos %d/%d/%d next +%.2fm",
                         sc->name, i, (long long)w->at_min, p->fire,
                         escalation_step_to_string(p->step), p->pos.step_index, p->pos.round,
                         p->pos.reminders, (double)(p->next_usec - t0) / (double)MIN_);
}

static void test_schedule_without_ack(void **state)
{
        const int64_t t0 = t_("2026-11-30T19:58:00+08:00");

        for (size_t c = 0; c < ELEMENTSOF(schedules); c++) {
                const struct schedule_case *sc = &schedules[c];
                struct escalation_plan p;

                escalation_start(&sc->cfg, t0, &p);
                check_plan(sc, 0, &p, t0, t0 + sc->seq[0].next_min * MIN_);
                for (size_t i = 1; i < sc->n; i++) {
                        int64_t deadline = p.next_usec;
                        assert_int_equal(deadline, t0 + sc->seq[i].at_min * MIN_);
                        /* The timer fires a few ms late: the schedule does not drift. */
                        escalation_next(&sc->cfg, &p.pos, deadline, deadline + 7000, &p);
                        check_plan(sc, i, &p, t0, t0 + sc->seq[i].next_min * MIN_);
                }
        }
}

static void test_not_due_is_nothing(void **state)
{
        const struct escalation cfg = ESC(5, 2, 30, STEP_TEAM, STEP_LEADER, STEP_COMMAND);
        const struct escalation_pos pos = { 1, 1, 0 };
        struct escalation_plan p;
        int64_t deadline = t_("2026-11-30T20:08:00+08:00");

        escalation_next(&cfg, &pos, deadline, deadline - 1, &p);
        assert_int_equal(p.fire, ESCALATION_FIRE_NONE);
        assert_int_equal(p.pos.step_index, 1);
        assert_int_equal(p.pos.round, 1);
        assert_int_equal(p.next_usec, deadline);
}

/* A restart: the stored position and deadline, seen d later. Within an interval the
 * same step fires and the schedule is kept; beyond it the step fires once and the next
 * one gets a full interval from now. */
static void test_restart_reproduces_next_action(void **state)
{
        const int64_t t0 = t_("2026-11-30T19:58:00+08:00");
        const int64_t delays[] = {
                0, 1, 90 * USEC_PER_SEC, 4 * MIN_ + 59 * USEC_PER_SEC, 5 * MIN_, 3 * USEC_PER_HOUR
        };

        for (size_t c = 0; c < ELEMENTSOF(schedules); c++) {
                const struct schedule_case *sc = &schedules[c];
                struct escalation_plan p, live, restarted;

                escalation_start(&sc->cfg, t0, &p);
                for (size_t i = 1; i < sc->n; i++) {
                        int64_t deadline = p.next_usec;
                        escalation_next(&sc->cfg, &p.pos, deadline, deadline, &live);
                        for (size_t k = 0; k < ELEMENTSOF(delays); k++) {
                                int64_t now = deadline + delays[k];
                                int64_t interval = live.next_usec - deadline;
                                struct escalation_pos stored = p.pos;

                                escalation_next(&sc->cfg, &stored, deadline, now, &restarted);
                                assert_int_equal(restarted.fire, live.fire);
                                assert_int_equal(restarted.step, live.step);
                                assert_memory_equal(&restarted.pos, &live.pos, sizeof(live.pos));
                                if (delays[k] < interval)
                                        assert_int_equal(restarted.next_usec, live.next_usec);
                                else
                                        assert_int_equal(restarted.next_usec, now + interval);
                                /* Firing is once: the new position is not due again now. */
                                struct escalation_plan again;
                                escalation_next(&sc->cfg, &restarted.pos, restarted.next_usec, now,
                                                &again);
                                assert_int_equal(again.fire, ESCALATION_FIRE_NONE);
                        }
                        p = live;
                }
        }
}

/* Positions written under a longer config: never out of range, never a step twice. */
static void test_config_shrunk(void **state)
{
        const struct escalation cfg = ESC(5, 1, 30, STEP_TEAM, STEP_LEADER);
        const struct {
                struct escalation_pos pos;
                enum escalation_fire fire;
                int step_index, round, reminders;
        } cases[] = {
                { { 2, 1, 0 }, ESCALATION_FIRE_REMINDER, 1, 1, 1 },
                { { 0, 2, 0 }, ESCALATION_FIRE_REMINDER, 1, 1, 1 },
                { { 5, 9, 3 }, ESCALATION_FIRE_REMINDER, 1, 1, 4 },
                { { -1, 0, -2 }, ESCALATION_FIRE_STEP, 1, 1, 0 },
                { { 0, 1, 0 }, ESCALATION_FIRE_STEP, 1, 1, 0 },
        };
        int64_t d = t_("2026-11-30T20:00:00+08:00");

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct escalation_plan p;
                escalation_next(&cfg, &cases[i].pos, d, d, &p);
                assert_int_equal(p.fire, cases[i].fire);
                assert_int_equal(p.pos.step_index, cases[i].step_index);
                assert_int_equal(p.pos.round, cases[i].round);
                assert_int_equal(p.pos.reminders, cases[i].reminders);
                assert_true(p.next_usec > d);
                assert_true(escalation_pos_final(&cfg, &p.pos));
        }
}

/* ---- part 2: the engine over a real database ---- */

static char dir[64];

/* chatter_settle 0: the alerts these tests escalate are raised by the opening's event. */
static const char *doorwatch_json_fmt =
    "{\"timezone\": \"Asia/Shanghai\", \"database\": \"%s/doorwatch.db\","
    " \"policy\": {\"max_clock_skew\": \"100000d\", \"ack_absorb\": \"30m\","
    "  \"chatter_settle\": \"0s\"},"
    " \"escalation\": {\"ack_timeout\": \"5m\", \"steps\": [\"team\", \"leader\", \"command\"],"
    "  \"repeat\": 2, \"remind_every\": \"30m\"},"
    " \"notifiers\": {\"mqtt\": {\"type\": \"mqtt\"}, \"pager\": {\"type\": \"mqtt\"}}}";

static const char *workers_json =
    "[{\"id\": \"w-c1\", \"name\": \"王芳\", \"role\": \"community\", \"community\": \"alpha\","
    "  \"channels\": [\"mqtt\", \"pager\"]},"
    " {\"id\": \"w-m1\", \"name\": \"李医生\", \"role\": \"medical\", \"community\": \"alpha\"},"
    " {\"id\": \"w-p1\", \"name\": \"张警官\", \"role\": \"police\", \"community\": \"alpha\"},"
    " {\"id\": \"w-p2\", \"name\": \"赵警官\", \"role\": \"police\", \"community\": \"alpha\"},"
    " {\"id\": \"w-ld\", \"name\": \"周主任\", \"role\": \"staff\", \"community\": \"alpha\"},"
    " {\"id\": \"w-x1\", \"name\": \"外社区\", \"role\": \"community\", \"community\": \"beta\"},"
    " {\"id\": \"w-cmd\", \"name\": \"指挥中心\", \"role\": \"staff\"}]";

static const char *households_json =
    "[{\"id\": \"H-1\", \"community\": \"alpha\", \"address\": \"长虹路 12号 3栋 402\","
    "  \"observation\": {\"start\": \"2020-01-01T00:00:00+08:00\","
    "                    \"end\": \"2099-01-01T00:00:00+08:00\"},"
    "  \"team\": {\"community\": \"w-c1\", \"medical\": \"w-m1\", \"police\": \"w-p1\"},"
    "  \"devices\": [{\"id\": \"d-1\", \"kind\": \"door_contact\", \"source\": \"native\"}]}]";

/* Police change shift at 20:00; the community worker and the doctor keep no roster. */
static const char *rosters_json =
    "{\"communities\": {\"alpha\": {\"leader\": \"w-ld\", \"shifts\": ["
    "   {\"role\": \"police\", \"worker\": \"w-p1\", \"days\": [\"*\"], \"from\": \"08:00\","
    "    \"to\": \"20:00\"},"
    "   {\"role\": \"police\", \"worker\": \"w-p2\", \"days\": [\"*\"], \"from\": \"20:00\","
    "    \"to\": \"08:00\"}]}},"
    " \"command\": [\"w-cmd\"], \"admins\": [\"w-cmd\"]}";

struct fx {
        struct config *config;
        struct store *store;
        struct engine *engine;
        int64_t t0;
};

static void write_file(const char *name, const char *text)
{
        test_write_file(dir, name, text);
}

static void fx_open(struct fx *fx)
{
        assert_int_equal(store_open(fx->config->database, false, false, &fx->store), 0);
        assert_int_equal(engine_new(fx->config, fx->store, &fx->engine), 0);
        assert_int_equal(engine_load(fx->engine), 0);
}

static void fx_close(struct fx *fx)
{
        assert_int_equal(store_commit(fx->store), 0);
        fx->engine = engine_free(fx->engine);
        fx->store = store_close(fx->store);
}

/* A crash and restart: everything committed survives, memory is rebuilt. */
static void fx_restart(struct fx *fx)
{
        fx_close(fx);
        fx_open(fx);
}

static int fx_setup(void **state)
{
        struct fx *fx = calloc(1, sizeof(*fx));
        struct config_diag diag = { 0 };
        char buf[1024];

        snprintf(dir, sizeof(dir), "/tmp/doorwatch-unit-XXXXXX");
        assert_non_null(mkdtemp(dir));
        snprintf(buf, sizeof(buf), doorwatch_json_fmt, dir);
        write_file("doorwatch.json", buf);
        write_file("workers.json", workers_json);
        write_file("households.json", households_json);
        write_file("rosters.json", rosters_json);
        if (config_load(dir, &fx->config, &diag) < 0) {
                for (size_t i = 0; i < diag.n_errors; i++)
                        fprintf(stderr, "error: %s\n", diag.errors[i]);
                fail_msg("fixture configuration invalid");
        }
        config_diag_done(&diag);
        assert_int_equal(timezone_set("Asia/Shanghai"), 0);
        fx->t0 = t_("2026-11-30T19:58:00+08:00");
        fx_open(fx);
        *state = fx;
        return 0;
}

static int fx_teardown(void **state)
{
        struct fx *fx = *state;
        char path[128];

        fx_close(fx);
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

/* Raises an alert at H-1 at instant t (an unexplained opening; the door closes again a
 * second later, so no door_held_open follows); returns its id in buf. */
static void fx_raise(struct fx *fx, int64_t t, const char *event_id, char buf[ALERT_ID_MAX])
{
        const struct config *c = fx->config;
        struct event ev = { .type = EVENT_DOOR, .door = DOOR_OPEN, .battery_percent = -1 };
        struct verdict v;
        const char *payload = "{}";

        snprintf(ev.id, sizeof(ev.id), "%s", event_id);
        assert_int_equal(engine_handle_event(fx->engine, config_device(c, "d-1"), &ev, t, payload,
                                             strlen(payload), &v),
                         ENGINE_OK);
        assert_int_equal(v.kind, VERDICT_ALERT);
        ev.door = DOOR_CLOSED;
        snprintf(ev.id, sizeof(ev.id), "%s-closed", event_id);
        assert_int_equal(engine_handle_event(fx->engine, config_device(c, "d-1"), &ev,
                                             t + USEC_PER_SEC, payload, strlen(payload), NULL),
                         ENGINE_OK);
        assert_int_equal(store_commit(fx->store), 0);
        sqlite3_stmt *st;
        assert_int_equal(
            sqlite3_prepare_v2(store_sqlite_db(fx->store),
                               "SELECT id FROM alert ORDER BY raised_usec DESC, id DESC", -1, &st,
                               NULL),
            SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        snprintf(buf, ALERT_ID_MAX, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
}

/* "step/round/kind: worker:role,..." of the notifications created at t (sorted), and the
 * number of rows (one per channel). */
static const char *fired_at(struct fx *fx, int64_t t, const char *kind_filter, int *rows)
{
        static char out[512];
        sqlite3_stmt *st;

        assert_int_equal(
            sqlite3_prepare_v2(
                store_sqlite_db(fx->store),
                "SELECT (SELECT step || '/' || round || '/' || kind FROM notification"
                "         WHERE created_usec = ?1 AND kind LIKE ?2 LIMIT 1) || ': ' ||"
                "       group_concat(w, ','), (SELECT count(*) FROM notification"
                "         WHERE created_usec = ?1 AND kind LIKE ?2)"
                " FROM (SELECT DISTINCT worker || ':' || json_extract(payload, '$.role') AS w"
                "       FROM notification WHERE created_usec = ?1 AND kind LIKE ?2 ORDER BY w)",
                -1, &st, NULL),
            SQLITE_OK);
        sqlite3_bind_int64(st, 1, t);
        sqlite3_bind_text(st, 2, kind_filter, -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        snprintf(out, sizeof(out), "%s",
                 sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "");
        if (rows)
                *rows = sqlite3_column_int(st, 1);
        sqlite3_finalize(st);
        return out;
}

static int64_t db_int(struct fx *fx, const char *sql)
{
        sqlite3_stmt *st;
        int64_t v = -1;

        assert_int_equal(sqlite3_prepare_v2(store_sqlite_db(fx->store), sql, -1, &st, NULL),
                         SQLITE_OK);
        if (sqlite3_step(st) == SQLITE_ROW)
                v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return v;
}

/* The uninterrupted schedule of an alert raised at 19:58. The police shift changes at
 * 20:00: from the leader step on, the roster resolves police to w-p2 (cover). w-c1 has
 * two channels, so one row more than recipients. */
static const struct {
        int64_t at_min;
        const char *fired;
        int rows;
} engine_schedule[] = {
        { 0, "team/1/alert: w-c1:community,w-m1:medical,w-p1:police", 4 },
        { 5, "leader/1/alert: w-c1:community,w-ld:leader,w-m1:medical,w-p2:police", 5 },
        { 10, "command/1/alert: w-c1:community,w-cmd:command,w-ld:leader,w-m1:medical,w-p2:police",
          6 },
        { 15, "team/2/alert: w-c1:community,w-m1:medical,w-p2:police", 4 },
        { 20, "leader/2/alert: w-c1:community,w-ld:leader,w-m1:medical,w-p2:police", 5 },
        { 25, "command/2/alert: w-c1:community,w-cmd:command,w-ld:leader,w-m1:medical,w-p2:police",
          6 },
        { 55, "command/2/reminder: w-cmd:command", 1 },
        { 85, "command/2/reminder: w-cmd:command", 1 },
};

static void check_fired(struct fx *fx, size_t i)
{
        int rows;
        const char *got = fired_at(fx, fx->t0 + engine_schedule[i].at_min * MIN_, "%", &rows);

        if (strcmp(got, engine_schedule[i].fired) != 0)
                fail_msg("entry %zu (+%lldm): got \"%s\"", i, (long long)engine_schedule[i].at_min,
                         got);
        assert_int_equal(rows, engine_schedule[i].rows);
}

static void run_schedule(struct fx *fx, bool restart_between)
{
        char id[ALERT_ID_MAX];

        fx_raise(fx, fx->t0, "e-1", id);
        check_fired(fx, 0);
        for (size_t i = 1; i < ELEMENTSOF(engine_schedule); i++) {
                int64_t due = fx->t0 + engine_schedule[i].at_min * MIN_;
                if (restart_between)
                        fx_restart(fx);
                assert_int_equal(engine_next_deadline(fx->engine), due);
                /* Just before: nothing. */
                assert_int_equal(engine_tick(fx->engine, due - 1), 0);
                assert_int_equal(store_commit(fx->store), 0);
                assert_int_equal(
                    db_int(fx, "SELECT count(DISTINCT created_usec) FROM notification"),
                    (int64_t)i);
                assert_int_equal(engine_tick(fx->engine, due), 0);
                assert_int_equal(store_commit(fx->store), 0);
                check_fired(fx, i);
        }
        assert_int_equal(db_int(fx, "SELECT reminders FROM alert"), 2);
}

static void test_engine_schedule_by_roster(void **state)
{
        run_schedule(*state, false);
}

static void test_engine_restart_before_every_step(void **state)
{
        run_schedule(*state, true);
}

/* Restarted long after a deadline: that step fires once, promptly; the next one gets a
 * full ack_timeout. */
static void test_engine_restart_overdue(void **state)
{
        struct fx *fx = *state;
        char id[ALERT_ID_MAX];
        int64_t now = fx->t0 + 2 * USEC_PER_HOUR;

        fx_raise(fx, fx->t0, "e-1", id);
        fx_restart(fx);
        assert_int_equal(engine_next_deadline(fx->engine), fx->t0 + 5 * MIN_);
        assert_int_equal(engine_tick(fx->engine, now), 0);
        assert_int_equal(store_commit(fx->store), 0);
        assert_string_equal(fired_at(fx, now, "%", NULL),
                            "leader/1/alert: w-c1:community,w-ld:leader,w-m1:medical,w-p2:police");
        assert_int_equal(engine_next_deadline(fx->engine), now + 5 * MIN_);
        assert_int_equal(db_int(fx, "SELECT count(DISTINCT created_usec) FROM notification"), 2);
        fx_restart(fx);
        assert_int_equal(engine_next_deadline(fx->engine), now + 5 * MIN_);
}

/* An ack after k steps (k = 1 is right after the raise): nothing more, ever, also after a
 * restart; the others who were notified get one ack notice per channel. */
static void test_engine_ack_at_each_step_stops(void **state)
{
        struct fx *fx = *state;

        for (size_t k = 1; k <= ELEMENTSOF(engine_schedule); k++) {
                const struct worker *acker = config_worker(fx->config, "w-m1");
                char id[ALERT_ID_MAX], event_id[16];
                const char *error = NULL;
                int64_t t0 = fx->t0 + (int64_t)k * 24 * USEC_PER_HOUR, ack_at;
                int64_t before, notices, expect_notices;

                snprintf(event_id, sizeof(event_id), "e-k%zu", k);
                fx_raise(fx, t0, event_id, id);
                for (size_t i = 1; i < k; i++) {
                        assert_int_equal(engine_tick(fx->engine, engine_next_deadline(fx->engine)),
                                         0);
                        assert_int_equal(store_commit(fx->store), 0);
                }
                ack_at = engine_next_deadline(fx->engine) - USEC_PER_SEC;
                before = db_int(fx, "SELECT count(*) FROM notification WHERE kind != 'ack_notice'");
                assert_int_equal(engine_ack(fx->engine, acker, id, CHANNEL_MQTT, ack_at, &error),
                                 ENGINE_OK);
                assert_int_equal(store_commit(fx->store), 0);
                /* One notice per channel of everyone else notified (w-c1 has two). */
                expect_notices = 1 + db_int(fx, "SELECT count(DISTINCT worker) FROM notification"
                                                " WHERE kind != 'ack_notice' AND worker != 'w-m1'"
                                                " AND alert_id = (SELECT id FROM alert"
                                                " ORDER BY raised_usec DESC LIMIT 1)");
                notices = db_int(fx, "SELECT count(*) FROM notification WHERE kind = 'ack_notice'"
                                     " AND alert_id = (SELECT id FROM alert ORDER BY raised_usec"
                                     " DESC LIMIT 1)");
                assert_int_equal(notices, expect_notices);
                assert_int_equal(db_int(fx, "SELECT count(*) FROM notification WHERE"
                                            " kind = 'ack_notice' AND worker = 'w-m1'"),
                                 0);
                /* Nothing more: now, far later, and after a restart. */
                assert_int_equal(engine_tick(fx->engine, t0 + 20 * USEC_PER_HOUR), 0);
                assert_int_equal(store_commit(fx->store), 0);
                fx_restart(fx);
                assert_int_equal(engine_tick(fx->engine, t0 + 23 * USEC_PER_HOUR), 0);
                assert_int_equal(store_commit(fx->store), 0);
                assert_int_equal(
                    db_int(fx, "SELECT count(*) FROM notification WHERE kind != 'ack_notice'"),
                    before);
                assert_int_equal(db_int(fx, "SELECT count(*) FROM alert WHERE state = 'open'"), 0);
        }
}

static void test_engine_refusals_and_resolve(void **state)
{
        struct fx *fx = *state;
        const struct config *c = fx->config;
        char id[ALERT_ID_MAX], id2[ALERT_ID_MAX];
        const char *error = NULL;
        int64_t t = fx->t0;

        fx_raise(fx, t, "e-1", id);
        assert_int_equal(engine_ack(fx->engine, config_worker(c, "w-c1"), "a-19990101-0001",
                                    CHANNEL_MQTT, t, &error),
                         ENGINE_E_UNKNOWN);
        assert_string_equal(error, "unknown alert");
        assert_int_equal(
            engine_ack(fx->engine, config_worker(c, "w-x1"), id, CHANNEL_MQTT, t, &error),
            ENGINE_E_FORBIDDEN);
        assert_string_equal(error, "worker may not act on this alert");
        assert_int_equal(
            engine_resolve(fx->engine, config_worker(c, "w-c1"), id, NULL, CHANNEL_MQTT, t, &error),
            ENGINE_E_REFUSED);
        assert_string_equal(error, "\"note\" missing or empty");
        assert_int_equal(
            engine_ack(fx->engine, config_worker(c, "w-cmd"), id, CHANNEL_CLI, t + 1, &error),
            ENGINE_OK);
        assert_int_equal(
            engine_ack(fx->engine, config_worker(c, "w-c1"), id, CHANNEL_MQTT, t + 2, &error),
            ENGINE_E_REFUSED);
        assert_string_equal(error, "alert already acknowledged");
        assert_int_equal(store_commit(fx->store), 0);
        assert_int_equal(db_int(fx, "SELECT count(*) FROM action WHERE kind = 'ack'"
                                    " AND channel = 'cli' AND actor = 'w-cmd'"),
                         1);
        /* w-cmd was not notified: all three team members hear of it (w-c1 twice). */
        assert_int_equal(db_int(fx, "SELECT count(*) FROM notification WHERE kind = 'ack_notice'"),
                         4);
        assert_int_equal(
            db_int(fx, "SELECT count(*) FROM notification WHERE kind = 'ack_notice'"
                       " AND json_extract(payload, '$.text') LIKE"
                       " '【居家观察】长虹路 12号 3栋 402 的告警已由 指挥中心 确认（命令行）。%'"
                       " AND json_extract(payload, '$.channel') = 'cli'"),
            4);

        /* After ack_absorb, a new opening raises a new alert and drops the old one from
         * memory; it can still be resolved (and only once). */
        fx_raise(fx, t + 31 * MIN_, "e-2", id2);
        assert_string_not_equal(id, id2);
        assert_null(engine_find_alert(fx->engine, id));
        assert_int_equal(engine_resolve(fx->engine, config_worker(c, "w-x1"), id, "x", CHANNEL_MQTT,
                                        t + 32 * MIN_, &error),
                         ENGINE_E_FORBIDDEN);
        assert_int_equal(engine_resolve(fx->engine, config_worker(c, "w-c1"), id, "家属倒垃圾",
                                        CHANNEL_MQTT, t + 32 * MIN_, &error),
                         ENGINE_OK);
        assert_int_equal(engine_resolve(fx->engine, config_worker(c, "w-c1"), id, "again",
                                        CHANNEL_MQTT, t + 33 * MIN_, &error),
                         ENGINE_E_REFUSED);
        assert_string_equal(error, "alert already resolved");
        assert_int_equal(engine_ack(fx->engine, config_worker(c, "w-c1"), id, CHANNEL_MQTT,
                                    t + 33 * MIN_, &error),
                         ENGINE_E_REFUSED);
        assert_string_equal(error, "alert already resolved");
        /* Resolving the open one stops its escalation. */
        assert_int_equal(engine_resolve(fx->engine, config_worker(c, "w-ld"), id2, "ok",
                                        CHANNEL_MQTT, t + 34 * MIN_, &error),
                         ENGINE_OK);
        assert_int_equal(store_commit(fx->store), 0);
        int64_t before = db_int(fx, "SELECT count(*) FROM notification");
        assert_int_equal(engine_tick(fx->engine, t + 10 * USEC_PER_HOUR), 0);
        assert_int_equal(store_commit(fx->store), 0);
        assert_int_equal(db_int(fx, "SELECT count(*) FROM notification"), before);
        assert_int_equal(db_int(fx, "SELECT count(*) FROM alert WHERE state = 'resolved'"), 2);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_schedule_without_ack),
                cmocka_unit_test(test_not_due_is_nothing),
                cmocka_unit_test(test_restart_reproduces_next_action),
                cmocka_unit_test(test_config_shrunk),
                cmocka_unit_test_setup_teardown(test_engine_schedule_by_roster, fx_setup,
                                                fx_teardown),
                cmocka_unit_test_setup_teardown(test_engine_restart_before_every_step, fx_setup,
                                                fx_teardown),
                cmocka_unit_test_setup_teardown(test_engine_restart_overdue, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_engine_ack_at_each_step_stops, fx_setup,
                                                fx_teardown),
                cmocka_unit_test_setup_teardown(test_engine_refusals_and_resolve, fx_setup,
                                                fx_teardown),
        };
        log_open(LOG_WARNING, true);
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test-retention.c: a household's events and personal data are purged `retention` after its
 * observation ends (DESIGN.md §8), once, and nothing of the other households is touched;
 * its unresolved alerts (the observation_ended notice too) do not hold the purge up; a
 * household removed from the configuration is purged `retention` after the last thing
 * recorded about it; after a purge and a restart, observation_ended is not raised again.
 * Real SQLite file, injected time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/files.h"
#include "config.h"
#include "engine.h"
#include "retention.h"
#include "store.h"
#include "store/sqlite.h"
#include "util.h"

#include <cmocka.h>

static char dir[64];

static int64_t t_(const char *rfc3339)
{
        int64_t usec;
        assert_int_equal(parse_rfc3339(rfc3339, &usec), 0);
        return usec;
}

static void write_file(const char *name, const char *text)
{
        test_write_file(dir, name, text);
}

#define HOUSEHOLD(id, start, end)                                                                  \
        "{\"id\": \"" id "\", \"community\": \"alpha\", \"address\": \"测试路 " id "\","           \
        " \"observation\": {\"start\": \"" start "\", \"end\": \"" end "\"},"                      \
        " \"team\": {\"community\": \"w-c\", \"medical\": \"w-m\", \"police\": \"w-p\"},"          \
        " \"devices\": [{\"id\": \"d-" id                                                          \
        "\", \"kind\": \"door_contact\", \"source\": \"native\"}]}"

struct fx {
        struct config *config;
        struct store *store;
        struct engine *engine;
};

static int setup(void **state)
{
        struct fx *fx = calloc(1, sizeof(*fx));
        struct config_diag diag = { 0 };
        char buf[512];

        snprintf(dir, sizeof(dir), "/tmp/doorwatch-unit-XXXXXX");
        assert_non_null(mkdtemp(dir));
        snprintf(buf, sizeof(buf),
                 "{\"database\": \"%s/doorwatch.db\", \"retention\": \"30d\","
                 " \"policy\": {\"max_clock_skew\": \"100000d\", \"chatter_settle\": \"0s\"},"
                 " \"http\": null}",
                 dir);
        write_file("doorwatch.json", buf);
        write_file(
            "workers.json",
            "[{\"id\": \"w-c\", \"name\": \"甲\", \"role\": \"community\", \"community\": "
            "\"alpha\"},"
            " {\"id\": \"w-m\", \"name\": \"乙\", \"role\": \"medical\", \"community\": \"alpha\"},"
            " {\"id\": \"w-p\", \"name\": \"丙\", \"role\": \"police\", \"community\": "
            "\"alpha\"}]");
        write_file(
            "households.json",
            "[" HOUSEHOLD("OLD", "2026-09-01T00:00:00+08:00", "2026-09-15T00:00:00+08:00") "," HOUSEHOLD(
                "RECENT", "2026-11-01T00:00:00+08:00",
                "2026-11-15T00:00:00+08:00") "," HOUSEHOLD("NOW", "2026-11-20T00:00:00+08:00",
                                                           "2026-12-04T00:00:00+08:00") "]");
        write_file("rosters.json", "{\"communities\": {}}");
        assert_int_equal(config_load(dir, &fx->config, &diag), 0);
        config_diag_done(&diag);
        assert_int_equal(timezone_set("Asia/Shanghai"), 0);
        assert_int_equal(store_open(fx->config->database, false, false, &fx->store), 0);
        assert_int_equal(engine_new(fx->config, fx->store, &fx->engine), 0);
        assert_int_equal(engine_load(fx->engine), 0);
        *state = fx;
        return 0;
}

static int teardown(void **state)
{
        struct fx *fx = *state;
        char cmd[128];

        engine_free(fx->engine);
        store_close(fx->store);
        config_free(fx->config);
        free(fx);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
        return 0;
}

static int64_t count(struct fx *fx, const char *sql)
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

/* A closed-door event at `when` (ignored verdict, no alert). */
static void closed(struct fx *fx, const char *household, const char *id, const char *when)
{
        char dev[32];
        struct event ev = { .type = EVENT_DOOR, .door = DOOR_CLOSED, .has_ts = true };

        snprintf(dev, sizeof(dev), "d-%s", household);
        snprintf(ev.id, sizeof(ev.id), "%s", id);
        ev.ts = (double)t_(when) / 1e6;
        assert_int_equal(engine_handle_event(fx->engine, config_device(fx->config, dev), &ev,
                                             t_(when), "{}", 2, NULL),
                         ENGINE_OK);
}

static void test_purges_only_households_past_retention_once(void **state)
{
        struct fx *fx = *state;

        closed(fx, "OLD", "o-1", "2026-09-02T10:00:00+08:00");
        closed(fx, "OLD", "o-2", "2026-09-03T10:00:00+08:00");
        closed(fx, "RECENT", "r-1", "2026-11-02T10:00:00+08:00");
        closed(fx, "NOW", "n-1", "2026-11-21T10:00:00+08:00");
        assert_int_equal(store_commit(fx->store), 0);

        /* 2026-11-29: OLD ended 75 days ago (past 30d), RECENT 14 days ago, NOW is running. */
        assert_int_equal(retention_purge_expired(fx->engine, t_("2026-11-29T12:00:00+08:00")), 1);
        assert_int_equal(store_commit(fx->store), 0);
        assert_int_equal(count(fx, "SELECT count(*) FROM event WHERE household = 'OLD'"), 0);
        assert_int_equal(count(fx, "SELECT count(*) FROM event WHERE household = 'RECENT'"), 1);
        assert_int_equal(count(fx, "SELECT count(*) FROM event WHERE household = 'NOW'"), 1);
        assert_int_equal(count(fx, "SELECT events FROM purged WHERE household = 'OLD'"), 2);

        /* Once only; RECENT follows when its retention has passed (end + 30d). */
        assert_int_equal(retention_purge_expired(fx->engine, t_("2026-12-14T23:59:00+08:00")), 0);
        assert_int_equal(retention_purge_expired(fx->engine, t_("2026-12-15T00:00:00+08:00")), 1);
        assert_int_equal(store_commit(fx->store), 0);
        assert_int_equal(count(fx, "SELECT count(*) FROM event WHERE household = 'RECENT'"), 0);
        assert_int_equal(count(fx, "SELECT count(*) FROM event WHERE household = 'NOW'"), 1);
        assert_int_equal(count(fx, "SELECT count(*) FROM purged"), 2);
}

/* An opening with nothing to explain it: an open door_open_unexpected alert. */
static void opened(struct fx *fx, const char *household, const char *id, const char *when)
{
        char dev[32];
        struct event ev = { .type = EVENT_DOOR, .door = DOOR_OPEN, .has_ts = true };

        snprintf(dev, sizeof(dev), "d-%s", household);
        snprintf(ev.id, sizeof(ev.id), "%s", id);
        ev.ts = (double)t_(when) / 1e6;
        assert_int_equal(engine_handle_event(fx->engine, config_device(fx->config, dev), &ev,
                                             t_(when), "{}", 2, NULL),
                         ENGINE_OK);
}

/* A new engine on the same database, as after a restart (with another configuration when
 * households is not NULL). */
static void restart(struct fx *fx, const char *households)
{
        struct config_diag diag = { 0 };

        assert_int_equal(store_commit(fx->store), 0);
        fx->engine = engine_free(fx->engine);
        if (households) {
                write_file("households.json", households);
                config_free(fx->config);
                assert_int_equal(config_load(dir, &fx->config, &diag), 0);
                config_diag_done(&diag);
        }
        assert_int_equal(engine_new(fx->config, fx->store, &fx->engine), 0);
        assert_int_equal(engine_load(fx->engine), 0);
}

static void test_unresolved_alerts_do_not_block_the_purge(void **state)
{
        struct fx *fx = *state;

        /* A database from before OLD's end (its end is noticed), an alert, and the end of
         * observation's notice, which nobody resolves. */
        assert_int_equal(sqlite3_exec(store_sqlite_db(fx->store),
                                      "UPDATE meta SET value = '1767196800000000'"
                                      " WHERE key = 'created_usec'",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        restart(fx, NULL);
        opened(fx, "OLD", "o-1", "2026-09-10T10:00:00+08:00");
        assert_int_equal(engine_live_alerts(fx->engine), 1);
        assert_int_equal(engine_tick(fx->engine, t_("2026-09-15T00:00:01+08:00")), 0);
        assert_int_equal(store_commit(fx->store), 0);
        assert_int_equal(count(fx, "SELECT count(*) FROM alert WHERE household = 'OLD' AND"
                                   " kind = 'observation_ended' AND state = 'open'"),
                         1);
        assert_int_equal(engine_live_alerts(fx->engine), 1); /* the notice */

        /* A fever reading and a judged round: the report keeps them without the household. */
        assert_int_equal(store_insert_reading(fx->store,
                                              &(struct store_reading){
                                                  .household = "OLD",
                                                  .community = "alpha",
                                                  .worker = "w-m",
                                                  .channel = "mqtt",
                                                  .usec = t_("2026-09-10T09:10:00+08:00"),
                                                  .recv_usec = t_("2026-09-10T09:10:00+08:00"),
                                                  .temperature = 38.5,
                                                  .fever = true,
                                              },
                                              NULL),
                         0);
        assert_int_equal(store_insert_round(fx->store,
                                            &(struct store_round){
                                                .household = "OLD",
                                                .community = "alpha",
                                                .at_usec = t_("2026-09-10T09:00:00+08:00"),
                                                .end_usec = t_("2026-09-10T09:30:00+08:00"),
                                                .outcome = "done",
                                            }),
                         0);

        assert_int_equal(retention_purge_expired(fx->engine, t_("2026-11-29T12:00:00+08:00")), 1);
        assert_int_equal(store_commit(fx->store), 0);
        assert_int_equal(count(fx, "SELECT count(*) FROM alert WHERE household = 'OLD'"), 0);
        assert_int_equal(count(fx, "SELECT count(*) FROM event WHERE household = 'OLD'"), 0);
        assert_int_equal(count(fx, "SELECT count(*) FROM reading"), 0);
        assert_int_equal(count(fx, "SELECT count(*) FROM purged_fever WHERE community = 'alpha'"),
                         1);
        assert_int_equal(count(fx, "SELECT count(*) FROM round WHERE household IS NULL AND"
                                   " community = 'alpha' AND outcome = 'done'"),
                         1);
        assert_int_equal(engine_live_alerts(fx->engine), 0);

        /* After a restart, the purged household's end is not noticed a second time. */
        restart(fx, NULL);
        assert_int_equal(engine_tick(fx->engine, t_("2026-11-29T13:00:00+08:00")), 0);
        assert_int_equal(store_commit(fx->store), 0);
        assert_int_equal(count(fx, "SELECT count(*) FROM alert WHERE household = 'OLD'"), 0);
        /* (the end of RECENT, which was not purged, is noticed by the same tick) */
        assert_int_equal(count(fx, "SELECT count(*) FROM alert WHERE household = 'RECENT'"), 1);
}

static void test_removed_household_is_purged_in_time(void **state)
{
        struct fx *fx = *state;

        /* NOW is watched, alerts, has a reading; then it leaves the configuration. */
        opened(fx, "NOW", "n-1", "2026-11-21T10:00:00+08:00");
        closed(fx, "NOW", "n-2", "2026-11-22T10:00:00+08:00");
        restart(fx,
                "[" HOUSEHOLD("OLD", "2026-09-01T00:00:00+08:00", "2026-09-15T00:00:00+08:00") "]");
        assert_int_equal(engine_live_alerts(fx->engine), 0); /* not in memory */
        assert_int_equal(count(fx, "SELECT count(*) FROM alert WHERE household = 'NOW' AND"
                                   " state = 'open'"),
                         2);

        /* Purged `retention` (30d) after the last thing recorded about it (its last event):
         * not a minute before (OLD's own retention has passed by then). */
        assert_int_equal(retention_purge_expired(fx->engine, t_("2026-12-22T09:59:00+08:00")), 1);
        assert_int_equal(store_commit(fx->store), 0);
        assert_int_equal(count(fx, "SELECT count(*) FROM purged WHERE household = 'OLD'"), 1);
        assert_int_equal(count(fx, "SELECT count(*) FROM event WHERE household = 'NOW'"), 2);
        assert_int_equal(retention_purge_expired(fx->engine, t_("2026-12-22T10:00:00+08:00")), 1);
        assert_int_equal(store_commit(fx->store), 0);
        assert_int_equal(count(fx, "SELECT count(*) FROM event WHERE household = 'NOW'"), 0);
        assert_int_equal(count(fx, "SELECT count(*) FROM alert WHERE household = 'NOW'"), 0);
        assert_int_equal(count(fx, "SELECT count(*) FROM household_state WHERE household = 'NOW'"),
                         0);
        assert_int_equal(count(fx, "SELECT events FROM purged WHERE household = 'NOW'"), 2);
        assert_int_equal(retention_purge_expired(fx->engine, t_("2027-01-22T10:00:00+08:00")), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_purges_only_households_past_retention_once,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_unresolved_alerts_do_not_block_the_purge,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_removed_household_is_purged_in_time, setup,
                                                teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

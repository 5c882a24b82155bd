/* test-retention.c: a household's events and personal data are purged `retention` after its
 * observation ends (DESIGN.md §8), once, and nothing of the other households is touched.
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
                 " \"policy\": {\"max_clock_skew\": \"100000d\"}, \"http\": null}",
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

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_purges_only_households_past_retention_once,
                                                setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

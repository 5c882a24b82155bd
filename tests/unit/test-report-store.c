/* test-report-store.c: the daily report read from a real SQLite store that the real engine
 * wrote, with injected time: the rule stored with each event, an alert's event time,
 * households counted from the configuration history (the window recorded last before the
 * day's end, so a later change leaves a past day alone), and the same report for a day
 * before and after its household's data was purged (the anonymous aggregates). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/files.h"
#include "../lib/pgtest.h"
#include "config.h"
#include "engine.h"
#include "report.h"
#include "retention.h"
#include "store.h"
#include "store/sqlite.h"
#include "util.h"

#include <cmocka.h>

static char dir[64];
/* The configuration's "database": a file in dir, or a PostgreSQL URI. */
static char database[300];

static int64_t t_(const char *rfc3339)
{
        int64_t usec;
        assert_int_equal(parse_rfc3339(rfc3339, &usec), 0);
        return usec;
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

static void write_config(const char *households)
{
        char buf[512];

        snprintf(buf, sizeof(buf),
                 "{\"database\": \"%s\", \"retention\": \"30d\","
                 " \"policy\": {\"max_clock_skew\": \"100000d\"}, \"http\": null}",
                 database);
        test_write_file(dir, "doorwatch.json", buf);
        test_write_file(dir, "workers.json",
                        "[{\"id\": \"w-c\", \"name\": \"甲\", \"role\": \"community\","
                        " \"community\": \"alpha\"},"
                        " {\"id\": \"w-m\", \"name\": \"乙\", \"role\": \"medical\","
                        " \"community\": \"alpha\"},"
                        " {\"id\": \"w-p\", \"name\": \"丙\", \"role\": \"police\","
                        " \"community\": \"alpha\"}]");
        test_write_file(dir, "households.json", households);
        test_write_file(dir, "rosters.json",
                        "{\"communities\": {\"alpha\": {\"name\": \"甲社区\"}}}");
}

static int setup(void **state)
{
        struct fx *fx = calloc(1, sizeof(*fx));
        struct config_diag diag = { 0 };

        snprintf(dir, sizeof(dir), "/tmp/doorwatch-unit-XXXXXX");
        assert_non_null(mkdtemp(dir));
        if (pgtest_dir()) {
                _cleanup_free_ char *uri = pgtest_create_db();
                snprintf(database, sizeof(database), "%s", uri);
        } else
                snprintf(database, sizeof(database), "%s/doorwatch.db", dir);
        write_config("[" HOUSEHOLD("OLD", "2026-09-01T00:00:00+08:00",
                                   "2026-09-15T00:00:00+08:00") "," HOUSEHOLD("NOW",
                                                                              "2026-11-20T00:00:"
                                                                              "00+08:00",
                                                                              "2026-12-04T00:00:"
                                                                              "00+08:00") "]");
        assert_int_equal(config_load(dir, &fx->config, &diag), 0);
        config_diag_done(&diag);
        assert_int_equal(timezone_set("Asia/Shanghai"), 0);
        assert_int_equal(store_open(fx->config->database, false, false, &fx->store), 0);
        assert_int_equal(engine_new(fx->config, fx->store, &fx->engine), 0);
        assert_int_equal(engine_load(fx->engine), 0);
        assert_int_equal(report_record_config(fx->store, fx->config, t_("2026-09-01T00:00:00Z")),
                         0);
        assert_int_equal(store_commit(fx->store), 0);
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
        if (pgtest_dir())
                pgtest_drop_db(database);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
        return 0;
}

/* The first column of the first row of sql as text ("" for NULL or no row). */
static const char *text_of(struct fx *fx, const char *sql)
{
        static char buf[128];
        sqlite3_stmt *st;

        buf[0] = 0;
        if (pgtest_dir()) {
                pgtest_first(database, sql, buf, sizeof(buf));
                return buf;
        }
        assert_int_equal(sqlite3_prepare_v2(store_sqlite_db(fx->store), sql, -1, &st, NULL),
                         SQLITE_OK);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
                snprintf(buf, sizeof(buf), "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        return buf;
}

static int64_t count(struct fx *fx, const char *sql)
{
        const char *v = text_of(fx, sql);
        return *v ? strtoll(v, NULL, 10) : -1;
}

static void door(struct fx *fx, const char *household, const char *id, bool open, const char *when)
{
        char dev[32];
        struct event ev = { .type = EVENT_DOOR,
                            .door = open ? DOOR_OPEN : DOOR_CLOSED,
                            .has_ts = true };

        snprintf(dev, sizeof(dev), "d-%s", household);
        snprintf(ev.id, sizeof(ev.id), "%s", id);
        ev.ts = (double)t_(when) / 1e6;
        /* Received a day later: the rules and the report go by the event's own time. */
        assert_int_equal(engine_handle_event(fx->engine, config_device(fx->config, dev), &ev,
                                             t_(when) + USEC_PER_DAY, "{}", 2, NULL),
                         ENGINE_OK);
}

/* One day of OLD: two unexpected openings (one acknowledged 4 minutes later), one after a
 * check-in. */
static void play_day(struct fx *fx)
{
        const char *error = NULL;
        const struct worker *wc = config_worker(fx->config, "w-c");
        char alert[64];

        door(fx, "OLD", "e1", true, "2026-09-10T10:00:00+08:00");
        door(fx, "OLD", "e2", false, "2026-09-10T10:01:00+08:00");
        assert_int_equal(store_commit(fx->store), 0); /* PostgreSQL: read on another session */
        snprintf(alert, sizeof(alert), "%s",
                 text_of(fx, "SELECT id FROM alert WHERE household = 'OLD'"));
        assert_int_equal(engine_ack(fx->engine, wc, alert, CHANNEL_MQTT,
                                    t_("2026-09-10T10:04:00+08:00"), &error),
                         ENGINE_OK);
        door(fx, "OLD", "e3", true, "2026-09-10T15:00:00+08:00");
        door(fx, "OLD", "e4", false, "2026-09-10T15:00:30+08:00");
        assert_int_equal(engine_checkin(fx->engine, wc, config_household(fx->config, "OLD"),
                                        CHANNEL_MQTT, t_("2026-09-10T18:00:00+08:00"),
                                        t_("2026-09-10T18:00:00+08:00"), &error),
                         ENGINE_OK);
        door(fx, "OLD", "e5", true, "2026-09-10T18:05:00+08:00");
        door(fx, "OLD", "e6", false, "2026-09-10T18:06:00+08:00");
        assert_int_equal(store_commit(fx->store), 0);
}

static char *report_text(struct fx *fx, const char *date, struct report *keep)
{
        struct report r;
        char *text;

        assert_int_equal(report_init(&r, fx->config, date, NULL, t_("2026-12-01T08:00:00+08:00")),
                         0);
        assert_int_equal(report_load(&r, fx->store), 0);
        text = report_render(&r, REPORT_CSV);
        if (keep)
                *keep = r;
        else
                report_done(&r);
        return text;
}

static void test_day_and_purge(void **state)
{
        struct fx *fx = *state;
        _cleanup_free_ char *before = NULL, *after = NULL, *first = NULL;
        struct report r;
        const struct report_section *t;

        play_day(fx);
        /* The rule that decided, with each event; the alert's time is the event's. */
        assert_string_equal(text_of(fx, "SELECT rule FROM event WHERE uid = 'e1'"), "unexpected");
        assert_string_equal(text_of(fx, "SELECT rule FROM event WHERE uid = 'e5'"), "checkin");
        assert_int_equal(count(fx, "SELECT count(*) FROM alert WHERE household = 'OLD' AND"
                                   " event_usec < raised_usec"),
                         2);

        first = report_text(fx, "2026-09-10", &r);
        t = &r.sections[0];
        assert_int_equal(t->households_start, 1);
        assert_int_equal(t->households_end, 1);
        assert_int_equal(t->openings, 3);
        assert_int_equal(t->openings_by_verdict[REPORT_ALERT], 2);
        assert_int_equal(t->openings_by_verdict[REPORT_EXPECTED], 1);
        assert_int_equal(t->openings_by_rule[REPORT_RULE_UNEXPECTED], 2);
        assert_int_equal(t->openings_by_rule[REPORT_RULE_CHECKIN], 1);
        assert_int_equal(t->openings_by_hour[10], 1);
        assert_int_equal(t->openings_by_hour[15], 1);
        assert_int_equal(t->openings_by_hour[18], 1);
        assert_int_equal(t->alerts_by_kind[ALERT_DOOR_OPEN_UNEXPECTED], 2);
        assert_int_equal(t->acked, 1);
        assert_int_equal(t->unacked, 1);
        assert_int_equal(t->ack_median_usec, 4 * USEC_PER_MIN);
        assert_int_equal(t->n_ackers, 1);
        assert_string_equal(t->ackers[0].name, "甲");
        assert_string_equal(r.sections[1].label, "甲社区");
        assert_int_equal(r.sections[1].openings, 3);
        report_done(&r);

        /* Both alerts resolved (an unresolved alert holds the purge back), the next day. */
        {
                const char *error = NULL;
                const struct worker *wc = config_worker(fx->config, "w-c");
                assert_int_equal(engine_resolve(fx->engine, wc, "a-20260910-0001", "家属倒垃圾",
                                                CHANNEL_MQTT, t_("2026-09-11T09:00:00+08:00"),
                                                &error),
                                 ENGINE_OK);
                assert_int_equal(engine_resolve(fx->engine, wc, "a-20260910-0002", "已核实",
                                                CHANNEL_MQTT, t_("2026-09-11T09:00:00+08:00"),
                                                &error),
                                 ENGINE_OK);
                assert_int_equal(store_commit(fx->store), 0);
        }
        before = report_text(fx, "2026-09-10", NULL);
        assert_string_equal(before, first); /* resolved the next day: the day is as it was */

        /* OLD ended on 09-15: on 11-29 its 30 days of retention are over. */
        assert_int_equal(retention_purge_expired(fx->engine, t_("2026-11-29T12:00:00+08:00")), 1);
        assert_int_equal(store_commit(fx->store), 0);
        assert_int_equal(count(fx, "SELECT count(*) FROM event WHERE household = 'OLD'"), 0);
        assert_int_equal(count(fx, "SELECT count(*) FROM alert WHERE household = 'OLD'"), 0);
        assert_int_equal(count(fx, "SELECT count(*) FROM purged_alert"), 2);
        after = report_text(fx, "2026-09-10", NULL);
        assert_string_equal(after, before);
}

static void test_history(void **state)
{
        struct fx *fx = *state;
        struct config_diag diag = { 0 };
        struct config *changed = NULL;
        struct report r;

        /* On 12-02 the office records that NOW's observation ended on 11-30 (the sheet was
         * late), and the daemon reloads, twice. */
        write_config("[" HOUSEHOLD("OLD", "2026-09-01T00:00:00+08:00",
                                   "2026-09-15T00:00:00+08:00") "," HOUSEHOLD("NOW",
                                                                              "2026-11-20T00:00:"
                                                                              "00+08:00",
                                                                              "2026-11-30T00:00:"
                                                                              "00+08:00") "]");
        assert_int_equal(config_load(dir, &changed, &diag), 0);
        config_diag_done(&diag);
        assert_int_equal(report_record_config(fx->store, changed, t_("2026-12-02T09:00:00+08:00")),
                         0);
        assert_int_equal(report_record_config(fx->store, changed, t_("2026-12-02T10:00:00+08:00")),
                         0);
        assert_int_equal(store_commit(fx->store), 0);
        assert_int_equal(count(fx, "SELECT count(*) FROM household_window"), 3); /* once */

        /* 11-30 reports as it did then: NOW under observation all day. */
        assert_int_equal(report_init(&r, changed, "2026-11-30", NULL, 0), 0);
        assert_int_equal(report_load(&r, fx->store), 0);
        assert_int_equal(r.sections[0].households_start, 1);
        assert_int_equal(r.sections[0].households_end, 1);
        assert_int_equal(r.sections[0].households_released, 0);
        report_done(&r);
        /* A day that ends after the change goes by the new window. */
        assert_int_equal(report_init(&r, changed, "2026-12-02", NULL, 0), 0);
        assert_int_equal(report_load(&r, fx->store), 0);
        assert_int_equal(r.sections[0].households_start, 0);
        assert_int_equal(r.sections[0].households_end, 0);
        report_done(&r);
        config_free(changed);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_day_and_purge, setup, teardown),
                cmocka_unit_test_setup_teardown(test_history, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

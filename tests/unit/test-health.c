/* test-health.c: device health with an injected clock.
 *
 * Part 1 drives the pure decisions (health.c): the staleness limit per kind and per device,
 * the stale instant (last sign of life, start, bridge return, observation window),
 * battery thresholds (flag, percent, voltage) and the verdict of every availability,
 * battery and heartbeat case, table-driven. Part 2 drives the engine over a real
 * SQLite file: a silent device becomes device_offline at last_seen + offline_after (and a
 * sign of life before that moves the check), recipients are the community worker and the
 * community's installers, a bridge's offline is one alert for all its devices and stops
 * their staleness checks, battery_low at most once a day, daily reminders until an ack,
 * recovery recorded, tamper (judged by rules.c) escalates from the community worker and
 * installers, and a restart keeps what is known. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/files.h"
#include "config.h"
#include "devhealth.h"
#include "engine.h"
#include "health.h"
#include "log.h"
#include "reload.h"
#include "store.h"
#include "store/sqlite.h"
#include "util.h"

#define H_ USEC_PER_HOUR

static int64_t t_(const char *rfc3339)
{
        int64_t usec;
        assert_int_equal(parse_rfc3339(rfc3339, &usec), 0);
        return usec;
}

static char dir[64];

static const char *doorwatch_json_fmt =
    "{\"timezone\": \"Asia/Shanghai\", \"database\": \"%s/doorwatch.db\","
    " \"policy\": {\"max_clock_skew\": \"100000d\", \"ack_absorb\": \"30m\","
    "  \"offline_after\": {\"door_contact\": \"26h\", \"camera\": \"10m\"},"
    "  \"battery_low_percent\": 15},"
    " \"escalation\": {\"ack_timeout\": \"5m\", \"steps\": [\"team\", \"leader\", \"command\"],"
    "  \"repeat\": 1, \"remind_every\": \"30m\"},"
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
    " {\"id\": \"w-i2\", \"name\": \"安装乙\", \"role\": \"installer\", \"community\": \"beta\","
    "  \"channels\": [\"mqtt\"]},"
    " {\"id\": \"w-ld\", \"name\": \"周主任\", \"role\": \"staff\", \"community\": \"alpha\","
    "  \"channels\": [\"mqtt\"]},"
    " {\"id\": \"w-cmd\", \"name\": \"指挥中心\", \"role\": \"staff\", \"channels\": [\"mqtt\"]}]";

#define HOUSEHOLD(id, devices)                                                                     \
        "{\"id\": \"" id "\", \"community\": \"alpha\", \"address\": \"长虹路 " id "\","           \
        "  \"observation\": {\"start\": \"2026-11-01T00:00:00+08:00\","                            \
        "                    \"end\": \"2026-12-31T00:00:00+08:00\"},"                             \
        "  \"team\": {\"community\": \"w-c1\", \"medical\": \"w-m1\", \"police\": \"w-p1\"},"      \
        "  \"devices\": [" devices "]}"

static const char *households_json = "[" HOUSEHOLD(
    "H-1",
    "{\"id\": \"d-1\", \"kind\": \"door_contact\", \"source\": \"native\"},"
    "{\"id\": \"d-z1\", \"kind\": \"door_contact\","
    " \"source\": \"zigbee2mqtt\", \"friendly_name\": \"h1/door\"},"
    "{\"id\": \"d-cam\", \"kind\": \"camera\", \"source\": \"native\"},"
    "{\"id\": \"d-v\", \"kind\": \"doorbell\", \"source\": \"native\","
    " \"offline_after\": \"2s\", \"battery_low_mv\": 2700}") "," HOUSEHOLD("H-2",
                                                                           "{\"id\": \"d-z2\", "
                                                                           "\"kind\": "
                                                                           "\"door_contact\","
                                                                           " \"source\": "
                                                                           "\"zigbee2mqtt\", "
                                                                           "\"friendly_name\": "
                                                                           "\"h2/door\"}") "]";

static const char *rosters_json =
    "{\"communities\": {\"alpha\": {\"leader\": \"w-ld\"}}, \"command\": [\"w-cmd\"],"
    " \"admins\": [\"w-cmd\"]}";

struct fx {
        struct config *config;
        struct store *store;
        struct engine *engine;
        int64_t t0;
};

static struct fx *fx_global; /* for the pure tests' config */

static void write_file(const char *name, const char *text)
{
        test_write_file(dir, name, text);
}

static void fx_open(struct fx *fx, int64_t now)
{
        assert_int_equal(store_open(fx->config->database, false, false, &fx->store), 0);
        assert_int_equal(engine_new(fx->config, fx->store, &fx->engine), 0);
        assert_int_equal(engine_load(fx->engine), 0);
        assert_int_equal(devhealth_start(fx->engine, now), 0);
}

static void fx_close(struct fx *fx)
{
        assert_int_equal(store_commit(fx->store), 0);
        fx->engine = engine_free(fx->engine);
        fx->store = store_close(fx->store);
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
        fx->t0 = t_("2026-11-30T08:00:00+08:00");
        fx_open(fx, fx->t0);
        fx_global = fx;
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
        fx_global = NULL;
        return 0;
}

static const struct device *dev(struct fx *fx, const char *id)
{
        const struct device *d = config_device(fx->config, id);
        assert_non_null(d);
        return d;
}

/* ---- part 1: pure decisions ---- */

static void test_offline_after_and_stale_at(void **state)
{
        struct fx *fx = *state;
        const struct config *c = fx->config;
        struct device_state st = { 0 };
        const struct device *d1 = dev(fx, "d-1"), *cam = dev(fx, "d-cam"), *v = dev(fx, "d-v");
        int64_t t = fx->t0;

        assert_int_equal(health_offline_after_usec(c, d1), 26 * H_);
        assert_int_equal(health_offline_after_usec(c, cam), 10 * USEC_PER_MIN);
        assert_int_equal(health_offline_after_usec(c, v), 2 * USEC_PER_SEC); /* the device's */
        assert_int_equal(health_offline_after_usec(c, dev(fx, "d-z1")), 26 * H_);

        /* silence counts from the latest of seen, since and the observation start */
        st.health_seen_usec = t;
        assert_int_equal(health_stale_at(c, d1, &st), t + 26 * H_);
        st.health_since_usec = t + 5 * H_; /* the bridge came back later */
        assert_int_equal(health_stale_at(c, d1, &st), t + 31 * H_);
        st = (struct device_state){ 0 };
        assert_int_equal(health_stale_at(c, d1, &st), d1->household->obs_start_usec + 26 * H_);
        /* never at or after the end of the observation */
        st.health_seen_usec = d1->household->obs_end_usec - H_;
        assert_int_equal(health_stale_at(c, d1, &st), INT64_MAX);
}

static void test_stale(void **state)
{
        struct fx *fx = *state;
        const struct config *c = fx->config;
        const struct device *d1 = dev(fx, "d-1");
        struct device_state st = { .health_seen_usec = fx->t0 };
        char reason[VERDICT_REASON_MAX];
        int64_t next;

        assert_false(health_stale(c, d1, &st, fx->t0 + 25 * H_, &next, reason, sizeof(reason)));
        assert_int_equal(next, fx->t0 + 26 * H_);
        assert_true(health_stale(c, d1, &st, fx->t0 + 26 * H_ + 5, &next, reason, sizeof(reason)));
        assert_non_null(strstr(reason, "no sign of life from native device d-1 for 1d02h"));
        assert_non_null(strstr(reason, "limit 1d02h, policy.offline_after of its kind"));
        /* already alerted, or behind an offline bridge: only a sign of life re-arms */
        st.health_offline = true;
        assert_false(health_stale(c, d1, &st, fx->t0 + 30 * H_, &next, reason, sizeof(reason)));
        assert_int_equal(next, INT64_MAX);
        st.health_offline = false;
        st.health_bridge_offline = true;
        assert_false(health_stale(c, d1, &st, fx->t0 + 30 * H_, &next, reason, sizeof(reason)));
        assert_int_equal(next, INT64_MAX);
        /* the device's own limit is named as such */
        st = (struct device_state){ .health_seen_usec = fx->t0 };
        assert_true(health_stale(c, dev(fx, "d-v"), &st, fx->t0 + 3 * USEC_PER_SEC, &next, reason,
                                 sizeof(reason)));
        assert_non_null(strstr(reason, "for 3s (limit 2s, the device's offline_after)"));
}

static void test_battery_thresholds(void **state)
{
        struct fx *fx = *state;
        const struct device *d1 = dev(fx, "d-1"), *v = dev(fx, "d-v");
        static const struct {
                int percent, mv;
                bool flag;
                bool low_default, low_2700; /* d-1 (2600 mV), d-v (battery_low_mv 2700) */
                const char *why;
        } cases[] = {
                { 80, 0, true, true, true, "the device reports low (80%)" },
                { -1, 0, true, true, true, "the device reports low" },
                { 15, 0, false, true, true, "15% (limit 15%)" },
                { 16, 0, false, false, false, "16% (limit 15%)" },
                { 0, 0, false, true, true, "0% (limit 15%)" },
                { -1, 2600, false, true, true, NULL },
                { -1, 2650, false, false, true, NULL },
                { -1, 3000, false, false, false, NULL },
                { 50, 2400, false, false, false, "50% (limit 15%)" }, /* the percentage wins */
                { -1, 0, false, false, false, "no level reported" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct event ev = { .type = EVENT_BATTERY,
                                    .battery_percent = cases[i].percent,
                                    .battery_mv = cases[i].mv,
                                    .battery_low = cases[i].flag };
                char why[96];

                if (health_battery_is_low(fx->config, d1, &ev, why, sizeof(why)) !=
                        cases[i].low_default ||
                    health_battery_is_low(fx->config, v, &ev, why, sizeof(why)) !=
                        cases[i].low_2700)
                        fail_msg("battery case %zu", i);
                if (cases[i].why && strcmp(why, cases[i].why) != 0)
                        fail_msg("battery case %zu: why \"%s\"", i, why);
        }
}

struct judge_case {
        const char *name;
        struct event ev;
        struct health_view hv;
        int64_t at_h; /* event time, hours after t0 */
        enum health_action action;
        enum alert_kind kind;
        bool bridge, recovered;
        const char *reason; /* substring */
};

#define AVAIL(on, ...)                                                                             \
        {                                                                                          \
                .type = EVENT_AVAILABILITY, .online = (on), .battery_percent = -1, __VA_ARGS__     \
        }
#define BRIDGE(on, ...)                                                                            \
        AVAIL(on, .bridge = true, .bridge_id = "zigbee2mqtt/bridge/state", __VA_ARGS__)
#define BATTERY(...)                                                                               \
        {                                                                                          \
                .type = EVENT_BATTERY, __VA_ARGS__                                                 \
        }
#define TAMPER(on, ...)                                                                            \
        {                                                                                          \
                .type = EVENT_TAMPER, .tampered = (on), .battery_percent = -1, __VA_ARGS__         \
        }
#define OBS .observed = true

static const struct judge_case judge_cases[] = {
        { "availability offline raises",
          AVAIL(false),
          { OBS },
          0,
          HEALTH_RAISE,
          ALERT_DEVICE_OFFLINE,
          false,
          false,
          "zigbee2mqtt device d-z1 reports offline" },
        { "retained offline raises, says so",
          AVAIL(false, .retained = true),
          { OBS },
          0,
          HEALTH_RAISE,
          ALERT_DEVICE_OFFLINE,
          false,
          false,
          "offline (retained state)" },
        { "offline again: already alerted",
          AVAIL(false),
          { OBS, .offline = true },
          0,
          HEALTH_RECORD,
          ALERT_DEVICE_OFFLINE,
          false,
          false,
          "already alerted" },
        { "offline outside the observation",
          AVAIL(false),
          { 0 },
          0,
          HEALTH_RECORD,
          ALERT_DEVICE_OFFLINE,
          false,
          false,
          "not under observation" },
        { "online",
          AVAIL(true),
          { OBS },
          0,
          HEALTH_RECORD,
          ALERT_DEVICE_OFFLINE,
          false,
          false,
          "device online" },
        { "online after offline: recovered",
          AVAIL(true),
          { OBS, .offline = true },
          0,
          HEALTH_RECORD,
          ALERT_DEVICE_OFFLINE,
          false,
          true,
          "device back" },
        { "retained online is the LWT now: recovered",
          AVAIL(true, .retained = true),
          { OBS, .offline = true },
          0,
          HEALTH_RECORD,
          ALERT_DEVICE_OFFLINE,
          false,
          true,
          NULL },
        { "bridge offline raises for the bridge",
          BRIDGE(false),
          { OBS },
          0,
          HEALTH_RAISE,
          ALERT_DEVICE_OFFLINE,
          true,
          false,
          "bridge zigbee2mqtt/bridge/state offline" },
        { "bridge offline, alerted: one alert",
          BRIDGE(false),
          { OBS, .bridge_alerted = true },
          0,
          HEALTH_RECORD,
          ALERT_DEVICE_OFFLINE,
          true,
          false,
          "one alert for the whole bridge" },
        { "bridge back",
          BRIDGE(true),
          { OBS, .bridge_alerted = true },
          0,
          HEALTH_RECOVER,
          ALERT_DEVICE_OFFLINE,
          true,
          false,
          "back online" },
        { "bridge online is no sign of the device",
          BRIDGE(true),
          { OBS, .offline = true },
          0,
          HEALTH_RECORD,
          ALERT_DEVICE_OFFLINE,
          true,
          false,
          "bridge zigbee2mqtt/bridge/state online" },
        { "battery low raises",
          BATTERY(.battery_percent = 9),
          { OBS },
          0,
          HEALTH_RAISE,
          ALERT_BATTERY_LOW,
          false,
          false,
          "battery low: 9% (limit 15%)" },
        { "battery low, alerted 5h ago",
          BATTERY(.battery_percent = 8),
          { OBS, .battery_low = true, .battery_alert_usec = 1 },
          5,
          HEALTH_RECORD,
          ALERT_BATTERY_LOW,
          false,
          false,
          "at most once a day" },
        { "battery low, open alert absorbs",
          BATTERY(.battery_percent = 8),
          { OBS, .live_battery = true, .battery_alert_usec = 1 },
          5,
          HEALTH_RAISE,
          ALERT_BATTERY_LOW,
          false,
          false,
          "battery low" },
        { "battery low, alerted 25h ago",
          BATTERY(.battery_percent = 7),
          { OBS, .battery_alert_usec = 1 },
          25,
          HEALTH_RAISE,
          ALERT_BATTERY_LOW,
          false,
          false,
          "battery low" },
        { "battery replaced",
          BATTERY(.battery_percent = 100),
          { OBS, .battery_low = true },
          0,
          HEALTH_RECOVER,
          ALERT_BATTERY_LOW,
          false,
          false,
          "no longer low: 100%" },
        { "battery fine",
          BATTERY(.battery_percent = 90),
          { OBS },
          0,
          HEALTH_RECORD,
          ALERT_BATTERY_LOW,
          false,
          false,
          "battery 90%" },
        { "battery by voltage",
          BATTERY(.battery_percent = -1, .battery_mv = 2500),
          { OBS },
          0,
          HEALTH_RAISE,
          ALERT_BATTERY_LOW,
          false,
          false,
          "2500 mV (limit 2600 mV)" },
        { "battery low outside the observation",
          BATTERY(.battery_low = true, .battery_percent = -1),
          { 0 },
          0,
          HEALTH_RECORD,
          ALERT_BATTERY_LOW,
          false,
          false,
          "not under observation" },
        { "battery from a device that was offline",
          BATTERY(.battery_percent = 90),
          { OBS, .offline = true },
          0,
          HEALTH_RECORD,
          ALERT_BATTERY_LOW,
          false,
          true,
          "device back after being offline" },
        { "heartbeat",
          { .type = EVENT_HEARTBEAT, .battery_percent = -1 },
          { OBS },
          0,
          HEALTH_RECORD,
          ALERT_DEVICE_OFFLINE,
          false,
          false,
          "heartbeat: device alive" },
        { "heartbeat after offline",
          { .type = EVENT_HEARTBEAT, .battery_percent = -1 },
          { OBS, .offline = true },
          0,
          HEALTH_RECORD,
          ALERT_DEVICE_OFFLINE,
          false,
          true,
          "device back" },
        { "retained heartbeat is no sign of life",
          { .type = EVENT_HEARTBEAT, .retained = true, .battery_percent = -1 },
          { OBS, .offline = true },
          0,
          HEALTH_RECORD,
          ALERT_DEVICE_OFFLINE,
          false,
          false,
          NULL },
};

static void test_judge_table(void **state)
{
        struct fx *fx = *state;
        const struct device *d = dev(fx, "d-z1");

        for (size_t i = 0; i < ELEMENTSOF(judge_cases); i++) {
                const struct judge_case *jc = &judge_cases[i];
                struct health_view hv = jc->hv;
                struct health_decision dec;
                int64_t at = fx->t0 + jc->at_h * H_;

                if (hv.battery_alert_usec == 1)
                        hv.battery_alert_usec = fx->t0;
                health_judge(fx->config, d, &jc->ev, &hv, at, &dec);
                if (dec.action != jc->action || dec.kind != jc->kind || dec.bridge != jc->bridge ||
                    dec.recovered != jc->recovered ||
                    (jc->reason && !strstr(dec.reason, jc->reason)))
                        fail_msg("%s: action %d kind %s bridge %d recovered %d reason \"%s\"",
                                 jc->name, dec.action, alert_kind_to_string(dec.kind), dec.bridge,
                                 dec.recovered, dec.reason);
        }
}

static void test_condition(void **state)
{
        struct fx *fx = *state;
        const struct config *c = fx->config;
        const struct device *d1 = dev(fx, "d-1");
        struct device_state st = { .battery_percent = -1, .health_seen_usec = fx->t0 };
        int64_t t = fx->t0 + H_;

        assert_string_equal(health_condition(c, d1, &st, t), "unknown");
        st.seen = true;
        assert_string_equal(health_condition(c, d1, &st, t), "ok");
        st.battery_percent = 15;
        assert_string_equal(health_condition(c, d1, &st, t), "battery_low");
        st.battery_percent = 60;
        st.health_battery_low = true; /* by flag or voltage */
        assert_string_equal(health_condition(c, d1, &st, t), "battery_low");
        assert_string_equal(health_condition(c, d1, &st, fx->t0 + 26 * H_), "offline");
        st.health_bridge_offline = true;
        assert_string_equal(health_condition(c, d1, &st, t), "offline");
        st.tampered = true;
        assert_string_equal(health_condition(c, d1, &st, t), "tampered");
}

static void test_format_duration(void **state)
{
        char b[32];

        assert_string_equal(health_format_duration(45 * USEC_PER_SEC, b), "45s");
        assert_string_equal(health_format_duration(200 * USEC_PER_MSEC, b), "200ms");
        assert_string_equal(health_format_duration(3 * H_ + 12 * USEC_PER_MIN, b), "3h12m");
        assert_string_equal(health_format_duration(50 * H_, b), "2d02h");
        assert_string_equal(health_format_duration(-5, b), "0s");
}

/* ---- part 2: the engine over a real database ---- */

static int64_t db_int(struct fx *fx, const char *fmt, ...)
{
        sqlite3_stmt *st;
        int64_t v = -1;
        va_list ap;
        char *sql;

        va_start(ap, fmt);
        sql = sqlite3_vmprintf(fmt, ap);
        va_end(ap);
        assert_int_equal(sqlite3_prepare_v2(store_sqlite_db(fx->store), sql, -1, &st, NULL),
                         SQLITE_OK);
        if (sqlite3_step(st) == SQLITE_ROW)
                v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        sqlite3_free(sql);
        return v;
}

static const char *db_text(struct fx *fx, const char *fmt, ...)
{
        static char out[1024];
        sqlite3_stmt *st;
        va_list ap;
        char *sql;

        va_start(ap, fmt);
        sql = sqlite3_vmprintf(fmt, ap);
        va_end(ap);
        assert_int_equal(sqlite3_prepare_v2(store_sqlite_db(fx->store), sql, -1, &st, NULL),
                         SQLITE_OK);
        out[0] = 0;
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
                snprintf(out, sizeof(out), "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        sqlite3_free(sql);
        return out;
}

/* "worker,worker" notified of the alert (kind 'alert' or 'reminder'), sorted. */
static const char *recipients(struct fx *fx, const char *alert_id, const char *kind)
{
        return db_text(fx,
                       "SELECT group_concat(worker, ',') FROM (SELECT worker FROM notification"
                       " WHERE alert_id = %Q AND kind = %Q ORDER BY worker)",
                       alert_id, kind);
}

static int handle(struct fx *fx, const char *device, struct event ev, int64_t t, struct verdict *v)
{
        int r = engine_handle_event(fx->engine, dev(fx, device), &ev, t, "x", 1, v);
        assert_int_equal(store_commit(fx->store), 0);
        return r;
}

static void tick(struct fx *fx, int64_t t)
{
        assert_int_equal(engine_tick(fx->engine, t), 0);
        assert_int_equal(store_commit(fx->store), 0);
}

static const struct event heartbeat = { .type = EVENT_HEARTBEAT, .battery_percent = -1 };

static void test_engine_silence_raises_device_offline(void **state)
{
        struct fx *fx = *state;
        struct verdict v;
        char id[ALERT_ID_MAX];

        /* started at t0: d-v (2s) first, every door_contact at t0 + 26h */
        assert_int_equal(engine_next_deadline(fx->engine), fx->t0 + 2 * USEC_PER_SEC);
        handle(fx, "d-v", heartbeat, fx->t0, &v); /* keep the 2s doorbell out of the way */
        tick(fx, fx->t0 + 3 * USEC_PER_SEC);
        assert_int_equal(db_int(fx, "SELECT count(*) FROM alert WHERE device = 'd-v'"), 1);

        /* d-1 shows life at +10h: nothing at +26h, device_offline at +36h */
        assert_int_equal(handle(fx, "d-1", heartbeat, fx->t0 + 10 * H_, &v), ENGINE_OK);
        assert_int_equal(v.kind, VERDICT_IGNORED);
        assert_string_equal(v.reason, "heartbeat: device alive");
        tick(fx, fx->t0 + 26 * H_);
        assert_int_equal(db_int(fx, "SELECT count(*) FROM alert WHERE device = 'd-1'"), 0);
        assert_int_equal(db_int(fx, "SELECT count(*) FROM alert WHERE device = 'd-z1'"), 1);
        tick(fx, fx->t0 + 36 * H_ - 1);
        assert_int_equal(db_int(fx, "SELECT count(*) FROM alert WHERE device = 'd-1'"), 0);
        tick(fx, fx->t0 + 36 * H_);
        snprintf(id, sizeof(id), "%s",
                 db_text(fx, "SELECT id FROM alert WHERE device = 'd-1' AND"
                             " kind = 'device_offline'"));
        assert_true(id[0]);
        assert_string_equal(db_text(fx, "SELECT severity FROM alert WHERE id = %Q", id), "low");
        assert_non_null(strstr(db_text(fx, "SELECT reason FROM alert WHERE id = %Q", id),
                               "no sign of life from native device d-1 for 1d02h"));
        /* community worker + the community's installers; not medical, police, other
         * communities' installers */
        assert_string_equal(recipients(fx, id, "alert"), "w-c1,w-i1");
        assert_string_equal(db_text(fx,
                                    "SELECT json_extract(payload, '$.role') FROM notification"
                                    " WHERE alert_id = %Q AND worker = 'w-i1'",
                                    id),
                            "installer");
        /* no escalation: the next deadline is the daily reminder */
        assert_int_equal(db_int(fx, "SELECT next_usec FROM alert WHERE id = %Q", id),
                         fx->t0 + 60 * H_);
        /* still silent: no second alert, no count */
        tick(fx, fx->t0 + 50 * H_);
        assert_int_equal(db_int(fx, "SELECT count FROM alert WHERE id = %Q", id), 1);
}

/* A reload that moves every device to another index keeps each staleness check on its own
 * device (timer entries name devices by index), also before the checks are re-armed. */
static void test_engine_reload_moves_staleness_checks(void **state)
{
        struct fx *fx = *state;
        struct config_diag diag = { 0 };
        struct config *nc = NULL;
        struct verdict v;
        char *moved;

        handle(fx, "d-1", heartbeat, fx->t0 + 10 * H_, &v); /* its check: +36h */
        assert_true(asprintf(&moved,
                             "[" HOUSEHOLD("H-0", "{\"id\": \"d-0\", \"kind\": \"door_contact\","
                                                  " \"source\": \"native\"}") ",%s",
                             households_json + 1) > 0);
        write_file("households.json", moved);
        free(moved);
        assert_int_equal(config_load(dir, &nc, &diag), 0);
        config_diag_done(&diag);
        assert_int_not_equal(config_device(nc, "d-1")->index, dev(fx, "d-1")->index);
        assert_int_equal(reload_config(fx->engine, nc), 0);
        config_free(fx->config);
        fx->config = nc;

        tick(fx, fx->t0 + 26 * H_);
        assert_int_equal(db_int(fx, "SELECT count(*) FROM alert WHERE device = 'd-z1'"), 1);
        assert_int_equal(db_int(fx, "SELECT count(*) FROM alert WHERE device = 'd-1'"), 0);
        tick(fx, fx->t0 + 36 * H_ - 1);
        assert_int_equal(db_int(fx, "SELECT count(*) FROM alert WHERE device = 'd-1'"), 0);
        tick(fx, fx->t0 + 36 * H_);
        assert_int_equal(db_int(fx, "SELECT count(*) FROM alert WHERE device = 'd-1'"), 1);
        /* d-0 is new: watched from the re-arm that follows a reload, not before */
        assert_int_equal(db_int(fx, "SELECT count(*) FROM alert WHERE device = 'd-0'"), 0);
}

static void test_engine_reminders_recovery_and_ack(void **state)
{
        struct fx *fx = *state;
        struct verdict v;
        char id[ALERT_ID_MAX];
        const struct worker *w = config_worker(fx->config, "w-i1");
        const char *error = NULL;

        assert_int_equal(handle(fx, "d-1", (struct event)AVAIL(false), fx->t0 + H_, &v), ENGINE_OK);
        assert_int_equal(v.kind, VERDICT_ALERT);
        assert_int_equal(v.alert, ALERT_DEVICE_OFFLINE);
        snprintf(id, sizeof(id), "%s", db_text(fx, "SELECT id FROM alert WHERE device = 'd-1'"));
        assert_string_equal(db_text(fx, "SELECT alert_id FROM event WHERE device = 'd-1'"), id);
        /* the silence check does not add to it */
        tick(fx, fx->t0 + 40 * H_);
        assert_int_equal(db_int(fx, "SELECT count FROM alert WHERE id = %Q", id), 1);
        /* daily reminders, to the same people */
        assert_int_equal(db_int(fx,
                                "SELECT count(*) FROM notification WHERE alert_id = %Q AND"
                                " kind = 'reminder'",
                                id),
                         2); /* +25h fired at +40h: community worker and installer */
        tick(fx, fx->t0 + 49 * H_);
        assert_string_equal(recipients(fx, id, "reminder"), "w-c1,w-c1,w-i1,w-i1");
        assert_int_equal(db_int(fx, "SELECT reminders FROM alert WHERE id = %Q", id), 2);
        assert_int_equal(db_int(fx,
                                "SELECT max(json_extract(payload, '$.reminder'))"
                                " FROM notification WHERE alert_id = %Q",
                                id),
                         2);
        /* a sign of life: recovery recorded, reminders stop, the alert stays open */
        assert_int_equal(handle(fx, "d-1", heartbeat, fx->t0 + 50 * H_, &v), ENGINE_OK);
        assert_non_null(strstr(v.reason, "device back after being offline"));
        assert_int_equal(db_int(fx,
                                "SELECT count(*) FROM action WHERE kind = 'recovered' AND"
                                " target = %Q AND actor = 'd-1'",
                                id),
                         1);
        assert_int_equal(db_int(fx, "SELECT next_usec IS NULL FROM alert WHERE id = %Q", id), 1);
        assert_string_equal(db_text(fx, "SELECT state FROM alert WHERE id = %Q", id), "open");
        tick(fx, fx->t0 + 60 * H_);
        assert_int_equal(db_int(fx, "SELECT reminders FROM alert WHERE id = %Q", id), 2);
        /* offline again: joins the open alert, reminders resume; an ack stops them */
        handle(fx, "d-1", (struct event)AVAIL(false), fx->t0 + 70 * H_, &v);
        assert_int_equal(db_int(fx, "SELECT count FROM alert WHERE id = %Q", id), 2);
        assert_int_equal(db_int(fx, "SELECT next_usec FROM alert WHERE id = %Q", id),
                         fx->t0 + 94 * H_);
        assert_int_equal(engine_ack(fx->engine, w, id, CHANNEL_CLI, fx->t0 + 71 * H_, &error),
                         ENGINE_OK);
        assert_int_equal(store_commit(fx->store), 0);
        tick(fx, fx->t0 + 120 * H_);
        assert_int_equal(db_int(fx, "SELECT reminders FROM alert WHERE id = %Q", id), 2);
}

static void test_engine_bridge_one_alert(void **state)
{
        struct fx *fx = *state;
        const struct event off = BRIDGE(false), on = BRIDGE(true);
        struct verdict v1, v2;
        char id[ALERT_ID_MAX];

        /* the bridge's LWT reaches both devices (two households): one alert */
        handle(fx, "d-z1", off, fx->t0 + H_, &v1);
        handle(fx, "d-z2", off, fx->t0 + H_, &v2);
        assert_int_equal(v1.kind, VERDICT_ALERT);
        assert_int_equal(v2.kind, VERDICT_IGNORED);
        assert_non_null(strstr(v2.reason, "one alert for the whole bridge"));
        assert_int_equal(db_int(fx, "SELECT count(*) FROM alert"), 1);
        snprintf(id, sizeof(id), "%s", db_text(fx, "SELECT id FROM alert"));
        assert_string_equal(db_text(fx, "SELECT device FROM alert WHERE id = %Q", id),
                            "zigbee2mqtt/bridge/state");
        assert_string_equal(db_text(fx, "SELECT household FROM alert WHERE id = %Q", id), "H-1");
        assert_string_equal(recipients(fx, id, "alert"), "w-c1,w-i1");
        /* devices behind it are not judged silent while it is down */
        tick(fx, fx->t0 + 40 * H_);
        assert_int_equal(db_int(fx, "SELECT count(*) FROM alert WHERE device IN ('d-z1', 'd-z2')"),
                         0);
        /* back: recovery recorded once; silence counts from its return */
        handle(fx, "d-z1", on, fx->t0 + 41 * H_, &v1);
        handle(fx, "d-z2", on, fx->t0 + 41 * H_, &v2);
        assert_non_null(strstr(v1.reason, "back online"));
        assert_string_equal(v2.reason, "bridge zigbee2mqtt/bridge/state online");
        assert_int_equal(db_int(fx, "SELECT count(*) FROM action WHERE kind = 'recovered'"), 1);
        tick(fx, fx->t0 + 66 * H_);
        assert_int_equal(db_int(fx, "SELECT count(*) FROM alert WHERE device IN ('d-z1', 'd-z2')"),
                         0);
        tick(fx, fx->t0 + 67 * H_);
        assert_int_equal(db_int(fx, "SELECT count(*) FROM alert WHERE device IN ('d-z1', 'd-z2')"),
                         2);
        /* a second outage while the first alert is open joins it */
        handle(fx, "d-z1", off, fx->t0 + 70 * H_, &v1);
        handle(fx, "d-z2", off, fx->t0 + 70 * H_, &v2);
        assert_int_equal(db_int(fx, "SELECT count FROM alert WHERE id = %Q", id), 2);
        assert_int_equal(db_int(fx, "SELECT count(*) FROM alert WHERE device ="
                                    " 'zigbee2mqtt/bridge/state'"),
                         1);
}

static void test_engine_battery_once_a_day(void **state)
{
        struct fx *fx = *state;
        const struct worker *w = config_worker(fx->config, "w-c1");
        const char *error = NULL;
        struct verdict v;
        char id[ALERT_ID_MAX];

        handle(fx, "d-z1", (struct event)BATTERY(.battery_percent = 12), fx->t0, &v);
        assert_int_equal(v.kind, VERDICT_ALERT);
        assert_int_equal(v.alert, ALERT_BATTERY_LOW);
        snprintf(id, sizeof(id), "%s", db_text(fx, "SELECT id FROM alert"));
        assert_string_equal(recipients(fx, id, "alert"), "w-c1,w-i1");
        assert_string_equal(db_text(fx, "SELECT state FROM event WHERE device = 'd-z1'"), "12");
        /* a lower report joins the open alert (no new notification) */
        handle(fx, "d-z1", (struct event)BATTERY(.battery_percent = 11), fx->t0 + H_, &v);
        assert_int_equal(db_int(fx, "SELECT count FROM alert WHERE id = %Q", id), 2);
        assert_int_equal(db_int(fx, "SELECT count(*) FROM notification"), 2);
        /* acked, absorb over: still at most one a day */
        assert_int_equal(engine_ack(fx->engine, w, id, CHANNEL_CLI, fx->t0 + 2 * H_, &error),
                         ENGINE_OK);
        assert_int_equal(store_commit(fx->store), 0);
        handle(fx, "d-z1", (struct event)BATTERY(.battery_percent = 10), fx->t0 + 5 * H_, &v);
        assert_int_equal(v.kind, VERDICT_IGNORED);
        assert_non_null(strstr(v.reason, "at most once a day"));
        /* ... also after a restart */
        fx_close(fx);
        fx_open(fx, fx->t0 + 6 * H_);
        handle(fx, "d-z1", (struct event)BATTERY(.battery_percent = 9), fx->t0 + 7 * H_, &v);
        assert_int_equal(v.kind, VERDICT_IGNORED);
        assert_int_equal(db_int(fx, "SELECT count(*) FROM alert WHERE kind = 'battery_low'"), 1);
        /* a day later: a new one */
        handle(fx, "d-z1", (struct event)BATTERY(.battery_percent = 5), fx->t0 + 25 * H_, &v);
        assert_int_equal(v.kind, VERDICT_ALERT);
        assert_int_equal(db_int(fx, "SELECT count(*) FROM alert WHERE kind = 'battery_low'"), 2);
        /* battery replaced: recorded on the open one */
        handle(fx, "d-z1", (struct event)BATTERY(.battery_percent = 100), fx->t0 + 26 * H_, &v);
        assert_int_equal(v.kind, VERDICT_IGNORED);
        assert_non_null(strstr(v.reason, "battery no longer low: 100%"));
        assert_int_equal(db_int(fx, "SELECT count(*) FROM action WHERE kind = 'recovered'"), 1);
        /* voltage only, against the device's battery_low_mv */
        handle(fx, "d-v", (struct event)BATTERY(.battery_percent = -1, .battery_mv = 2650),
               fx->t0 + 27 * H_, &v);
        assert_int_equal(v.kind, VERDICT_ALERT);
        assert_non_null(strstr(v.reason, "2650 mV (limit 2700 mV)"));
}

static void test_engine_tamper_escalates(void **state)
{
        struct fx *fx = *state;
        struct verdict v;
        char id[ALERT_ID_MAX];

        handle(fx, "d-z1", (struct event)TAMPER(true), fx->t0, &v);
        assert_int_equal(v.kind, VERDICT_ALERT);
        assert_int_equal(v.alert, ALERT_TAMPER);
        snprintf(id, sizeof(id), "%s", db_text(fx, "SELECT id FROM alert"));
        assert_string_equal(db_text(fx, "SELECT severity FROM alert WHERE id = %Q", id), "high");
        assert_string_equal(recipients(fx, id, "alert"), "w-c1,w-i1");
        assert_int_equal(db_int(fx, "SELECT next_usec FROM alert WHERE id = %Q", id),
                         fx->t0 + 5 * USEC_PER_MIN);
        /* the leader step: the leader, then the community worker and installers again */
        tick(fx, fx->t0 + 5 * USEC_PER_MIN);
        assert_int_equal(db_int(fx,
                                "SELECT count(*) FROM notification WHERE alert_id = %Q AND"
                                " step = 'leader'",
                                id),
                         3);
        /* a retained replay of the same tamper state is no new alert */
        handle(fx, "d-z1", (struct event)TAMPER(true, .retained = true), fx->t0 + H_, &v);
        assert_int_equal(v.kind, VERDICT_IGNORED);
        handle(fx, "d-z1", (struct event)TAMPER(false), fx->t0 + H_, &v);
        assert_string_equal(v.reason, "tamper cleared");
        assert_int_equal(db_int(fx, "SELECT count(*) FROM alert WHERE kind = 'tamper'"), 1);
}

static void test_engine_restart_keeps_what_is_known(void **state)
{
        struct fx *fx = *state;
        struct verdict v;

        /* d-1 offline and alerted, d-z1 seen at +20h, then a restart at +30h */
        handle(fx, "d-1", (struct event)AVAIL(false), fx->t0 + H_, &v);
        handle(fx, "d-z1", heartbeat, fx->t0 + 20 * H_, &v);
        handle(fx, "d-v", heartbeat, fx->t0 + 20 * H_, &v);
        fx_close(fx);
        fx_open(fx, fx->t0 + 30 * H_);
        /* d-z1: from its last sign of life in the database (+20h + 26h), not the restart */
        tick(fx, fx->t0 + 46 * H_ - 1);
        assert_int_equal(db_int(fx, "SELECT count(*) FROM alert WHERE device = 'd-z1'"), 0);
        tick(fx, fx->t0 + 46 * H_);
        assert_int_equal(db_int(fx, "SELECT count(*) FROM alert WHERE device = 'd-z1'"), 1);
        /* d-1: still the one alert; d-z2, never seen: a full limit from the restart */
        assert_int_equal(db_int(fx, "SELECT count FROM alert WHERE device = 'd-1'"), 1);
        assert_int_equal(db_int(fx, "SELECT count(*) FROM alert WHERE device = 'd-z2'"), 0);
        tick(fx, fx->t0 + 56 * H_);
        assert_int_equal(db_int(fx, "SELECT count(*) FROM alert WHERE device = 'd-z2'"), 1);
        /* the retained offline replayed at restart does not add to d-1's alert */
        handle(fx, "d-1", (struct event)AVAIL(false, .retained = true), fx->t0 + 57 * H_, &v);
        assert_string_equal(v.reason, "device offline, already alerted");
        assert_int_equal(db_int(fx, "SELECT count FROM alert WHERE device = 'd-1'"), 1);
        /* d-z2 back; two reloads (same config) re-arm under new generations: one check */
        handle(fx, "d-z2", heartbeat, fx->t0 + 57 * H_, &v);
        devhealth_rearm(fx->engine, fx->t0 + 58 * H_);
        devhealth_rearm(fx->engine, fx->t0 + 58 * H_);
        tick(fx, fx->t0 + 83 * H_ - 1);
        assert_int_equal(db_int(fx, "SELECT count FROM alert WHERE device = 'd-z2'"), 1);
        tick(fx, fx->t0 + 200 * H_);
        assert_int_equal(db_int(fx, "SELECT count FROM alert WHERE device = 'd-z2'"), 2);
        assert_int_equal(db_int(fx, "SELECT count(*) FROM alert WHERE kind = 'device_offline'"),
                         5); /* d-1, d-z1, d-z2, d-v, d-cam */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_offline_after_and_stale_at, fx_setup,
                                                fx_teardown),
                cmocka_unit_test_setup_teardown(test_stale, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_battery_thresholds, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_judge_table, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_condition, fx_setup, fx_teardown),
                cmocka_unit_test(test_format_duration),
                cmocka_unit_test_setup_teardown(test_engine_silence_raises_device_offline, fx_setup,
                                                fx_teardown),
                cmocka_unit_test_setup_teardown(test_engine_reload_moves_staleness_checks, fx_setup,
                                                fx_teardown),
                cmocka_unit_test_setup_teardown(test_engine_reminders_recovery_and_ack, fx_setup,
                                                fx_teardown),
                cmocka_unit_test_setup_teardown(test_engine_bridge_one_alert, fx_setup,
                                                fx_teardown),
                cmocka_unit_test_setup_teardown(test_engine_battery_once_a_day, fx_setup,
                                                fx_teardown),
                cmocka_unit_test_setup_teardown(test_engine_tamper_escalates, fx_setup,
                                                fx_teardown),
                cmocka_unit_test_setup_teardown(test_engine_restart_keeps_what_is_known, fx_setup,
                                                fx_teardown),
        };

        log_open(LOG_WARNING, true);
        return cmocka_run_group_tests(tests, NULL, NULL);
}

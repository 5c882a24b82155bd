/* test-devtools.c: the analyses behind `doorwatchctl device verify` and `device discover`,
 * fed messages directly with an injected clock (the broker drivers are covered by
 * tests/integration/test-devices.c).
 *
 * verify: the topics it subscribes to; a correct door passes only after a quiet moment; a
 * report at rest followed by an inverted opening and closing is a polarity failure, with
 * or without a retained state; wrong names on similar topics and other devices on shared
 * topics (Frigate cameras, RF codes) are named; retained only, nothing, malformed; a
 * doorbell's live ring and a camera's person pass, retained ones do not. discover:
 * registered devices are recognised by their adapters (shared topics included), others
 * listed with entries and unique ids, non-door devices skipped. */
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
#include "devtools.h"
#include "util.h"

static char dir[64];
static struct config *cfg;

static const char *households_json =
    "[{\"id\": \"H-1\", \"community\": \"alpha\", \"address\": \"x\","
    "  \"observation\": {\"start\": \"2020-01-01T00:00:00+08:00\","
    "                    \"end\": \"2099-01-01T00:00:00+08:00\"},"
    "  \"team\": {\"community\": \"w-c\", \"medical\": \"w-m\", \"police\": \"w-p\"},"
    "  \"devices\": ["
    "   {\"id\": \"d-z2m\", \"kind\": \"door_contact\", \"source\": \"zigbee2mqtt\","
    "    \"friendly_name\": \"ward3/front door\"},"
    "   {\"id\": \"d-sw\", \"kind\": \"door_contact\", \"source\": \"tasmota\","
    "    \"tasmota_topic\": \"door-sw\", \"invert\": true},"
    "   {\"id\": \"d-rf\", \"kind\": \"door_contact\", \"source\": \"tasmota\","
    "    \"tasmota_topic\": \"rfbridge\", \"tasmota_mode\": \"rf\","
    "    \"codes\": {\"4AF10A\": \"open\", \"4AF10E\": \"closed\"}},"
    "   {\"id\": \"d-cam\", \"kind\": \"camera\", \"source\": \"frigate\", \"camera\": \"front\"},"
    "   {\"id\": \"d-bell\", \"kind\": \"doorbell\", \"source\": \"ring\","
    "    \"location_id\": \"loc\", \"ring_device_id\": \"dev\"},"
    "   {\"id\": \"d-sh\", \"kind\": \"door_contact\", \"source\": \"shelly\","
    "    \"shelly_id\": \"shellydw2-AAAAAA\"}]}]";

static void write_file(const char *name, const char *text)
{
        test_write_file(dir, name, text);
}

static int group_setup(void **state)
{
        struct config_diag diag = { 0 };

        snprintf(dir, sizeof(dir), "/tmp/doorwatch-unit-XXXXXX");
        assert_non_null(mkdtemp(dir));
        write_file("doorwatch.json", "{\"notifiers\": {\"mqtt\": {\"type\": \"mqtt\"}}}");
        write_file("workers.json",
                   "[{\"id\": \"w-c\", \"name\": \"c\", \"role\": \"community\","
                   "  \"community\": \"alpha\"},"
                   " {\"id\": \"w-m\", \"name\": \"m\", \"role\": \"medical\", \"community\": "
                   "\"alpha\"},"
                   " {\"id\": \"w-p\", \"name\": \"p\", \"role\": \"police\", \"community\": "
                   "\"alpha\"}]");
        write_file("households.json", households_json);
        write_file("rosters.json", "{\"communities\": {\"alpha\": {}}}");
        if (config_load(dir, &cfg, &diag) < 0) {
                for (size_t i = 0; i < diag.n_errors; i++)
                        fprintf(stderr, "error: %s\n", diag.errors[i]);
                fail_msg("fixture configuration invalid");
        }
        config_diag_done(&diag);
        return 0;
}

static int group_teardown(void **state)
{
        char path[128];

        cfg = config_free(cfg);
        for (const char *const *s =
                 (const char *const[]){ "doorwatch.json", "workers.json", "households.json",
                                        "rosters.json", NULL };
             *s; s++) {
                snprintf(path, sizeof(path), "%s/%s", dir, *s);
                unlink(path);
        }
        rmdir(dir);
        return 0;
}

#define S_ USEC_PER_SEC
static const int64_t T0 = INT64_C(1700000000) * S_;

static struct verify *verify_of(const char *id)
{
        struct verify *v = NULL;
        const struct device *d = config_device(cfg, id);

        assert_non_null(d);
        assert_int_equal(verify_new(cfg, d, &v), 0);
        return v;
}

static enum verify_result feed(struct verify *v, const char *topic, const char *payload,
                               bool retained, int64_t t, char *line)
{
        char buf[512];

        return verify_feed(v, topic, payload, strlen(payload), retained, t, line ? line : buf,
                           sizeof(buf));
}

static const char *outcome(struct verify *v, enum verify_result want, enum verify_problem problem)
{
        enum verify_problem p;
        const char *text;

        if (verify_outcome(v, &p, &text) != want || p != problem)
                fail_msg("outcome %s: %s", verify_problem_to_string(p), text);
        return text;
}

static bool has_filter(const struct verify *v, const char *f, bool own)
{
        for (size_t i = 0; i < verify_n_filters(v); i++)
                if (strcmp(verify_filter(v, i), f) == 0)
                        return own == (i < verify_n_own(v));
        return false;
}

static void test_verify_topics(void **state)
{
        struct verify *v = verify_of("d-z2m");

        assert_int_equal(verify_n_own(v), 3);
        assert_true(has_filter(v, "zigbee2mqtt/ward3/front door", true));
        assert_true(has_filter(v, "zigbee2mqtt/ward3/front door/availability", true));
        assert_true(has_filter(v, "zigbee2mqtt/bridge/state", true));
        assert_true(has_filter(v, "zigbee2mqtt/#", false));
        verify_free(v);

        v = verify_of("d-sw");
        assert_true(has_filter(v, "tele/door-sw/SENSOR", true));
        assert_true(has_filter(v, "tele/+/SENSOR", false));
        assert_true(has_filter(v, "tele/+/LWT", false));
        assert_true(has_filter(v, "stat/+/RESULT", false));
        assert_false(has_filter(v, "#", false));
        assert_string_equal(verify_instruction(v), "with the door closed, open it, then close it");
        verify_free(v);
}

static void test_verify_door_passes_after_quiet(void **state)
{
        struct verify *v = verify_of("d-z2m");
        const char *t = "zigbee2mqtt/ward3/front door";
        char line[512];

        assert_int_equal(feed(v, t, "{\"contact\":true,\"battery\":90}", true, T0, line),
                         VERIFY_PENDING);
        assert_string_equal(line, "door closed, battery 90% (retained)");
        assert_int_equal(feed(v, t, "{\"contact\":false}", false, T0 + S_, line), VERIFY_PENDING);
        assert_string_equal(line, "door open");
        assert_int_equal(feed(v, t, "{\"contact\":true}", false, T0 + 2 * S_, NULL),
                         VERIFY_PENDING);
        assert_int_equal(verify_poll(v, T0 + 4 * S_), VERIFY_PENDING);
        assert_int_equal(verify_poll(v, T0 + 5 * S_), VERIFY_PASS);
        assert_non_null(strstr(outcome(v, VERIFY_PASS, VERIFY_OK), "opening and a closing"));
        verify_free(v);

        /* the time ran out right after the closing: passes all the same */
        v = verify_of("d-z2m");
        feed(v, t, "{\"contact\":false}", false, T0, NULL);
        feed(v, t, "{\"contact\":true}", false, T0 + S_, NULL);
        outcome(v, VERIFY_PASS, VERIFY_OK);
        verify_free(v);
}

static void test_verify_polarity(void **state)
{
        struct verify *v = verify_of("d-z2m");
        const char *t = "zigbee2mqtt/ward3/front door";

        /* no retained state: a report at rest ("open"), the opening as closed, the closing
         * as open; the quiet moment after "closed" is not enough to pass */
        feed(v, t, "{\"contact\":false,\"battery\":90}", false, T0, NULL);
        feed(v, t, "{\"contact\":true}", false, T0 + 10 * S_, NULL);
        assert_int_equal(verify_poll(v, T0 + 12 * S_), VERIFY_PENDING);
        feed(v, t, "{\"contact\":false}", false, T0 + 12 * S_, NULL);
        assert_int_equal(verify_poll(v, T0 + 30 * S_), VERIFY_PENDING);
        assert_non_null(strstr(outcome(v, VERIFY_FAIL, VERIFY_POLARITY), "set \"invert\": true"));
        verify_free(v);

        /* retained open at rest: settled at once; a device already inverted is told to undo */
        v = verify_of("d-sw");
        assert_int_equal(feed(v, "tele/door-sw/SENSOR", "{\"Switch1\":\"OFF\"}", true, T0, NULL),
                         VERIFY_PENDING); /* inverted: OFF = open */
        feed(v, "tele/door-sw/SENSOR", "{\"Switch1\":\"ON\"}", false, T0 + S_, NULL);
        assert_int_equal(
            feed(v, "tele/door-sw/SENSOR", "{\"Switch1\":\"OFF\"}", false, T0 + 2 * S_, NULL),
            VERIFY_FAIL);
        assert_non_null(
            strstr(outcome(v, VERIFY_FAIL, VERIFY_POLARITY), "remove \"invert\": true"));
        verify_free(v);
}

static void test_verify_wrong_names(void **state)
{
        struct verify *v = verify_of("d-sw");
        char line[512];

        feed(v, "tele/door-sw2/SENSOR", "{\"Switch1\":\"ON\"}", false, T0, line);
        assert_string_equal(line, "not this device's topic: tele/door-sw2/SENSOR (\"door-sw2\")");
        feed(v, "tele/door-sw2/SENSOR", "{\"Switch1\":\"OFF\"}", false, T0 + S_, NULL);
        assert_non_null(strstr(outcome(v, VERIFY_FAIL, VERIFY_WRONG_NAME),
                               "\"door-sw2\" (tele/door-sw2/SENSOR: 2 live, 0 retained). Check "
                               "\"tasmota_topic\""));
        verify_free(v);

        /* zigbee2mqtt: another friendly name under the base; bridge topics are no names */
        v = verify_of("d-z2m");
        feed(v, "zigbee2mqtt/bridge/devices", "[]", true, T0, line);
        assert_string_equal(line, "");
        feed(v, "zigbee2mqtt/ward3/front-door/availability", "online", true, T0, NULL);
        feed(v, "zigbee2mqtt/ward3/front-door", "{\"contact\":true}", false, T0, NULL);
        assert_non_null(strstr(outcome(v, VERIFY_FAIL, VERIFY_WRONG_NAME), "\"ward3/front-door\""));
        verify_free(v);

        /* shared topics: other cameras, other RF codes */
        v = verify_of("d-cam");
        feed(v, "frigate/events",
             "{\"type\":\"new\",\"after\":{\"id\":\"1.0-a\",\"camera\":\"back_yard\","
             "\"label\":\"person\",\"false_positive\":false}}",
             false, T0, line);
        assert_string_equal(line, "for another device: camera \"back_yard\"");
        assert_non_null(strstr(outcome(v, VERIFY_FAIL, VERIFY_WRONG_NAME), "camera \"back_yard\""));
        verify_free(v);
        v = verify_of("d-rf");
        feed(v, "tele/rfbridge/RESULT", "{\"RfReceived\":{\"Data\":\"9C1E0A\"}}", false, T0, NULL);
        assert_non_null(strstr(outcome(v, VERIFY_FAIL, VERIFY_WRONG_NAME), "RF code 9C1E0A"));
        verify_free(v);
}

static void test_verify_other_failures(void **state)
{
        struct verify *v = verify_of("d-z2m");

        outcome(v, VERIFY_FAIL, VERIFY_NOTHING);
        verify_free(v);

        v = verify_of("d-z2m");
        feed(v, "zigbee2mqtt/ward3/front door", "{\"contact\":true}", true, T0, NULL);
        assert_non_null(strstr(outcome(v, VERIFY_FAIL, VERIFY_RETAINED_ONLY), "1 stored message"));
        verify_free(v);

        v = verify_of("d-z2m");
        feed(v, "zigbee2mqtt/ward3/front door", "{\"contact\":\"maybe\"}", false, T0, NULL);
        assert_non_null(strstr(outcome(v, VERIFY_FAIL, VERIFY_INVALID), "not a boolean"));
        verify_free(v);

        /* alive, opened, never closed; an offline on the way is mentioned */
        v = verify_of("d-z2m");
        feed(v, "zigbee2mqtt/bridge/state", "offline", false, T0, NULL);
        feed(v, "zigbee2mqtt/ward3/front door", "{\"contact\":false}", false, T0, NULL);
        {
                const char *text = outcome(v, VERIFY_FAIL, VERIFY_INCOMPLETE);
                assert_non_null(strstr(text, "never closed"));
                assert_non_null(strstr(text, "reported offline 1 time"));
        }
        verify_free(v);
}

static void test_verify_doorbell_and_camera(void **state)
{
        struct verify *v = verify_of("d-bell");
        const char *t = "ring/loc/camera/dev/ding/state";

        assert_string_equal(verify_instruction(v), "press the doorbell");
        assert_int_equal(feed(v, t, "ON", true, T0, NULL), VERIFY_PENDING);
        feed(v, t, "OFF", false, T0 + S_, NULL);
        outcome(v, VERIFY_FAIL, VERIFY_INCOMPLETE);
        verify_free(v);
        v = verify_of("d-bell");
        assert_int_equal(feed(v, t, "ON", false, T0 + 2 * S_, NULL), VERIFY_PASS);
        verify_free(v);

        v = verify_of("d-cam");
        assert_int_equal(feed(v, "frigate/events",
                              "{\"type\":\"new\",\"after\":{\"id\":\"1.0-b\",\"camera\":\"front\","
                              "\"label\":\"person\",\"false_positive\":false}}",
                              false, T0, NULL),
                         VERIFY_PASS);
        assert_non_null(strstr(outcome(v, VERIFY_PASS, VERIFY_OK), "saw a person"));
        verify_free(v);
}

static const struct discovered *found(struct discover *ds, const char *name)
{
        for (size_t i = 0; i < discover_n_found(ds); i++)
                if (strcmp(discover_found(ds, i)->name, name) == 0)
                        return discover_found(ds, i);
        return NULL;
}

static void test_discover(void **state)
{
        struct discover *ds = NULL;
        const struct discovered *f;
        const char *devices =
            "[{\"type\":\"Coordinator\",\"friendly_name\":\"Coordinator\"},"
            " {\"type\":\"EndDevice\",\"friendly_name\":\"ward3/front door\",\"definition\":"
            "  {\"model\":\"MCCGQ11LM\",\"vendor\":\"Xiaomi\","
            "   \"exposes\":[{\"type\":\"binary\",\"property\":\"contact\"}]}},"
            " {\"type\":\"EndDevice\",\"friendly_name\":\"ward3/back door\",\"definition\":"
            "  {\"model\":\"MCCGQ11LM\",\"vendor\":\"Xiaomi\",\"description\":\"door sensor\","
            "   \"exposes\":[{\"type\":\"binary\",\"property\":\"contact\"}]}},"
            " {\"type\":\"EndDevice\",\"friendly_name\":\"btn\",\"definition\":"
            "  {\"exposes\":[{\"type\":\"composite\",\"features\":[{\"property\":\"action\"}]}]}},"
            " {\"type\":\"Router\",\"friendly_name\":\"plug\",\"definition\":"
            "  {\"exposes\":[{\"type\":\"switch\",\"features\":[{\"property\":\"state\"}]}]}}]";

        assert_int_equal(discover_new(cfg, &ds), 0);
        discover_feed(ds, "zigbee2mqtt/bridge/devices", devices, strlen(devices), true, T0);
        discover_feed(ds, "zigbee2mqtt/bridge/devices", devices, strlen(devices), true, T0);
        discover_feed(ds, "shellies/announce", "{\"id\":\"shellydw2-AAAAAA\",\"model\":\"SHDW-2\"}",
                      44, false, T0);
        discover_feed(ds, "shellies/announce", "{\"id\":\"shellydw2-BBBBBB\",\"model\":\"SHDW-2\"}",
                      44, false, T0);
        discover_feed(ds, "shellies/announce", "{\"id\":\"shelly1-CCCCCC\",\"model\":\"SHSW-1\"}",
                      42, false, T0);
        discover_feed(ds, "frigate/stats",
                      "{\"cameras\":{\"front\":{\"camera_fps\":5},\"yard\":{\"camera_fps\":5}}}",
                      64, false, T0);
        discover_feed(ds, "tele/door-sw/LWT", "Online", 6, true, T0);
        discover_feed(ds, "tele/rfbridge/LWT", "Online", 6, true, T0);
        discover_feed(ds, "tele/new sw/LWT", "Online", 6, true, T0);

        /* registered: ward3/front door, shellydw2-AAAAAA, front, door-sw, rfbridge */
        assert_int_equal(discover_n_registered(ds), 5);
        assert_int_equal(discover_n_skipped(ds), 2); /* the plug, the Gen1 relay */
        assert_int_equal(discover_n_found(ds), 5);
        f = found(ds, "ward3/back door");
        assert_non_null(f);
        assert_string_equal(f->entry, "{\"id\":\"d-ward3-back-door\",\"kind\":\"door_contact\","
                                      "\"source\":\"zigbee2mqtt\",\"friendly_name\":\"ward3/back "
                                      "door\"}");
        assert_string_equal(f->model, "Xiaomi MCCGQ11LM: door sensor");
        f = found(ds, "btn");
        assert_non_null(strstr(f->entry, "\"kind\":\"doorbell\""));
        assert_non_null(
            strstr(found(ds, "shellydw2-BBBBBB")->entry, "\"shelly_id\":\"shellydw2-BBBBBB\""));
        assert_non_null(strstr(found(ds, "yard")->entry, "\"camera\":\"yard\""));
        assert_non_null(strstr(found(ds, "new sw")->entry, "\"id\":\"d-new-sw\""));
        assert_null(found(ds, "front"));
        assert_null(found(ds, "rfbridge"));
        discover_free(ds);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_verify_topics),
                cmocka_unit_test(test_verify_door_passes_after_quiet),
                cmocka_unit_test(test_verify_polarity),
                cmocka_unit_test(test_verify_wrong_names),
                cmocka_unit_test(test_verify_other_failures),
                cmocka_unit_test(test_verify_doorbell_and_camera),
                cmocka_unit_test(test_discover),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

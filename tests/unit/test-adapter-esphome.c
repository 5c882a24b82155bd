/* test-adapter-esphome.c: the ESPHome (MQTT mode) adapter against ESPHome's topics and text
 * payloads (tests/fixtures/devices/esphome/). */
#include "adapter-test.h"

#define NODE   "ward3-door402"
#define STATE  NODE "/binary_sensor/front_door/state"
#define STATUS NODE "/status"

static void door(struct tdev *t, bool invert)
{
        tdev_init(t, "esphome", DEVICE_DOOR_CONTACT, invert,
                  "{\"esphome_prefix\":\"" NODE "\",\"object_id\":\"front_door\","
                  "\"battery_object_id\":\"battery_level\",\"tamper_object_id\":\"case_open\"}");
}

static void test_topics(void **state)
{
        struct tdev t;
        struct route_list l;

        door(&t, false);
        tdev_routes(&t, &l);
        assert_int_equal(l.n, 4);
        assert_true(has_route(&l, STATUS));
        assert_true(has_route(&l, STATE));
        assert_true(has_route(&l, NODE "/sensor/battery_level/state"));
        assert_true(has_route(&l, NODE "/binary_sensor/case_open/state"));
        tdev_done(&t);

        tdev_init(&t, "esphome", DEVICE_DOORBELL, false,
                  "{\"esphome_prefix\":\"esp/bell\",\"object_id\":\"button\"}");
        tdev_routes(&t, &l);
        assert_int_equal(l.n, 2);
        assert_true(has_route(&l, "esp/bell/binary_sensor/button/state"));
        tdev_done(&t);
}

static void test_parse_errors(void **state)
{
        static const struct {
                const char *json, *path;
        } cases[] = {
                { "{\"object_id\":\"d\"}", "[0].devices[0].esphome_prefix" },
                { "{\"esphome_prefix\":\"n\"}", "[0].devices[0].object_id" },
                { "{\"esphome_prefix\":\"n\",\"object_id\":\"a/b\"}", "[0].devices[0].object_id" },
                { "{\"esphome_prefix\":\"n/+\",\"object_id\":\"d\"}",
                  "[0].devices[0].esphome_prefix" },
                { "{\"esphome_prefix\":\"n\",\"object_id\":\"d\",\"tamper_object_id\":\"d\"}",
                  "[0].devices[0].tamper_object_id" },
                { "{\"esphome_prefix\":\"n\",\"object_id\":\"d\",\"battery_object_id\":5}",
                  "[0].devices[0].battery_object_id" },
        };
        struct tdev t;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                assert_int_equal(tdev_try(&t, "esphome", DEVICE_DOOR_CONTACT, false, cases[i].json),
                                 -EINVAL);
                assert_diag(cases[i].path);
        }
}

static void test_open_close(void **state)
{
        struct tdev t;

        door(&t, false);
        assert_int_equal(tdev_fixture(&t, STATE, "state-on.txt", false), ADAPTER_OK);
        assert_door(&t, DOOR_OPEN, false);
        assert_int_equal(tdev_fixture(&t, STATE, "state-off.txt", false), ADAPTER_OK);
        assert_door(&t, DOOR_CLOSED, false);
        assert_int_equal(tdev_fixture(&t, STATE, "state-bogus.txt", false), ADAPTER_E_INVALID);
        tdev_done(&t);
}

static void test_pitfall1_polarity_wiring_invert(void **state)
{
        struct tdev t;

        door(&t, true);
        tdev_fixture(&t, STATE, "state-on.txt", false);
        assert_door(&t, DOOR_CLOSED, false);
        tdev_fixture(&t, STATE, "state-off.txt", false);
        assert_door(&t, DOOR_OPEN, false);
        tdev_done(&t);
}

static void test_pitfall2_status_online_offline(void **state)
{
        struct tdev t;
        const struct event *e;

        door(&t, false);
        assert_int_equal(tdev_fixture(&t, STATUS, "status-offline.txt", true), ADAPTER_OK);
        e = only(&t, EVENT_AVAILABILITY);
        assert_false(e->online);
        assert_false(e->bridge);
        assert_int_equal(tdev_fixture(&t, STATUS, "status-online.txt", true), ADAPTER_OK);
        assert_true(only(&t, EVENT_AVAILABILITY)->online);
        assert_int_equal(tdev_text(&t, STATUS, "{\"state\":\"online\"}", true), ADAPTER_OK);
        assert_int_equal(tdev_text(&t, STATUS, "rebooting", true), ADAPTER_E_INVALID);
        tdev_done(&t);
}

static void test_pitfall3_retained_state_reconciles_once(void **state)
{
        struct tdev t;

        door(&t, false);
        /* binary sensor states are retained by default: replayed at every subscribe */
        assert_int_equal(tdev_fixture(&t, STATE, "state-on.txt", true), ADAPTER_OK);
        assert_door(&t, DOOR_OPEN, true);
        assert_int_equal(tdev_fixture(&t, STATE, "state-on.txt", true), ADAPTER_E_IGNORED);
        tdev_done(&t);
}

static void test_doorbell_rings_on_press(void **state)
{
        struct tdev t;

        tdev_init(&t, "esphome", DEVICE_DOORBELL, false,
                  "{\"esphome_prefix\":\"esp/bell\",\"object_id\":\"button\"}");
        assert_int_equal(
            tdev_fixture(&t, "esp/bell/binary_sensor/button/state", "state-on.txt", false),
            ADAPTER_OK);
        only(&t, EVENT_RING);
        assert_int_equal(
            tdev_fixture(&t, "esp/bell/binary_sensor/button/state", "state-off.txt", false),
            ADAPTER_E_IGNORED);
        assert_int_equal(
            tdev_fixture(&t, "esp/bell/binary_sensor/button/state", "state-on.txt", false),
            ADAPTER_OK);
        only(&t, EVENT_RING);
        /* a retained ON replay of the button is flagged */
        tdev_done(&t);
        tdev_init(&t, "esphome", DEVICE_DOORBELL, false,
                  "{\"esphome_prefix\":\"esp/bell\",\"object_id\":\"button\"}");
        assert_int_equal(
            tdev_fixture(&t, "esp/bell/binary_sensor/button/state", "state-on.txt", true),
            ADAPTER_OK);
        assert_true(only(&t, EVENT_RING)->retained);
        tdev_done(&t);
}

static void test_battery_and_tamper(void **state)
{
        struct tdev t;

        door(&t, false);
        assert_int_equal(tdev_fixture(&t, NODE "/sensor/battery_level/state", "battery.txt", false),
                         ADAPTER_OK);
        assert_int_equal(only(&t, EVENT_BATTERY)->battery_percent, 87);
        assert_int_equal(
            tdev_fixture(&t, NODE "/sensor/battery_level/state", "battery-nan.txt", false),
            ADAPTER_E_IGNORED);
        assert_int_equal(
            tdev_fixture(&t, NODE "/sensor/battery_level/state", "battery-bogus.txt", false),
            ADAPTER_E_INVALID);
        assert_int_equal(
            tdev_fixture(&t, NODE "/sensor/battery_level/state", "battery-out-of-range.txt", false),
            ADAPTER_E_INVALID);
        assert_int_equal(
            tdev_fixture(&t, NODE "/binary_sensor/case_open/state", "tamper-on.txt", false),
            ADAPTER_OK);
        assert_true(only(&t, EVENT_TAMPER)->tampered);
        assert_int_equal(
            tdev_fixture(&t, NODE "/binary_sensor/case_open/state", "tamper-off.txt", false),
            ADAPTER_OK);
        assert_false(only(&t, EVENT_TAMPER)->tampered);
        tdev_done(&t);
}

static void test_other_topics_not_mine(void **state)
{
        struct tdev t;

        door(&t, false);
        assert_int_equal(tdev_text(&t, NODE "/binary_sensor/back_door/state", "ON", false),
                         ADAPTER_E_NOT_MINE);
        assert_int_equal(tdev_text(&t, NODE "/debug", "ON", false), ADAPTER_E_NOT_MINE);
        assert_int_equal(t.st.door, DOOR_UNKNOWN);
        tdev_done(&t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_topics),
                cmocka_unit_test(test_parse_errors),
                cmocka_unit_test(test_open_close),
                cmocka_unit_test(test_pitfall1_polarity_wiring_invert),
                cmocka_unit_test(test_pitfall2_status_online_offline),
                cmocka_unit_test(test_pitfall3_retained_state_reconciles_once),
                cmocka_unit_test(test_doorbell_rings_on_press),
                cmocka_unit_test(test_battery_and_tamper),
                cmocka_unit_test(test_other_topics_not_mine),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

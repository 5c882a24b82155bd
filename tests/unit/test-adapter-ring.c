/* test-adapter-ring.c: the ring-mqtt adapter (doorbell dings, Ring Alarm contact sensors)
 * against ring-mqtt's topics and payloads (tests/fixtures/devices/ring/). */
#include "adapter-test.h"

#define LOC     "5ab9e4c1-8d2f-4c4e-9a33-0123456789ab"
#define CAMBASE "ring/" LOC "/camera/3c8d2f112233"
#define ALMBASE "ring/" LOC "/alarm/0a1b2c3d-4e5f"

static void doorbell(struct tdev *t)
{
        tdev_init(t, "ring", DEVICE_DOORBELL, false,
                  "{\"location_id\":\"" LOC "\",\"ring_device_id\":\"3c8d2f112233\"}");
}

static void contact(struct tdev *t, bool invert)
{
        tdev_init(t, "ring", DEVICE_DOOR_CONTACT, invert,
                  "{\"location_id\":\"" LOC "\",\"ring_device_id\":\"0a1b2c3d-4e5f\"}");
}

static void test_topics(void **state)
{
        struct tdev t;
        struct route_list l;

        doorbell(&t);
        tdev_routes(&t, &l);
        assert_int_equal(l.n, 3);
        assert_true(has_route(&l, CAMBASE "/ding/state"));
        assert_true(has_route(&l, CAMBASE "/status"));
        assert_true(has_route(&l, CAMBASE "/info/state"));
        tdev_done(&t);

        contact(&t, false);
        tdev_routes(&t, &l);
        assert_int_equal(l.n, 3);
        assert_true(has_route(&l, ALMBASE "/contact/state"));
        tdev_done(&t);

        tdev_init(&t, "ring", DEVICE_DOORBELL, false,
                  "{\"location_id\":\"L\",\"ring_device_id\":\"D\",\"ring_topic\":\"ringmqtt\","
                  "\"ring_category\":\"alarm\"}");
        tdev_routes(&t, &l);
        assert_true(has_route(&l, "ringmqtt/L/alarm/D/contact/state"));
        tdev_done(&t);
}

static void test_parse_errors(void **state)
{
        static const struct {
                const char *json, *path;
        } cases[] = {
                { "{\"ring_device_id\":\"D\"}", "[0].devices[0].location_id" },
                { "{\"location_id\":\"L\"}", "[0].devices[0].ring_device_id" },
                { "{\"location_id\":\"L/x\",\"ring_device_id\":\"D\"}",
                  "[0].devices[0].location_id" },
                { "{\"location_id\":\"L\",\"ring_device_id\":\"D\",\"ring_category\":\"lighting\"}",
                  "[0].devices[0].ring_category" },
                { "{\"location_id\":\"L\",\"ring_device_id\":\"D\",\"ring_topic\":\"\"}",
                  "[0].devices[0].ring_topic" },
        };
        struct tdev t;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                assert_int_equal(tdev_try(&t, "ring", DEVICE_DOORBELL, false, cases[i].json),
                                 -EINVAL);
                assert_diag(cases[i].path);
        }
}

static void test_ding_on_rings_off_ignored(void **state)
{
        struct tdev t;

        doorbell(&t);
        assert_int_equal(tdev_fixture(&t, CAMBASE "/ding/state", "ding-on.txt", false), ADAPTER_OK);
        assert_false(only(&t, EVENT_RING)->retained);
        assert_int_equal(tdev_fixture(&t, CAMBASE "/ding/state", "ding-off.txt", false),
                         ADAPTER_E_IGNORED);
        assert_int_equal(tdev_fixture(&t, CAMBASE "/ding/state", "ding-on.txt", false), ADAPTER_OK);
        only(&t, EVENT_RING);
        assert_int_equal(tdev_fixture(&t, CAMBASE "/ding/state", "ding-bogus.txt", false),
                         ADAPTER_E_INVALID);
        tdev_done(&t);
}

static void test_pitfall3_retained_ring_flagged(void **state)
{
        struct tdev t;

        doorbell(&t);
        t.debounce_usec = 5 * USEC_PER_SEC;
        /* at (re)subscribe the broker replays the last ding: reported, flagged */
        assert_int_equal(tdev_fixture(&t, CAMBASE "/ding/state", "ding-on.txt", true), ADAPTER_OK);
        assert_true(only(&t, EVENT_RING)->retained);
        /* and it does not swallow a real ding right after it */
        assert_int_equal(tdev_fixture(&t, CAMBASE "/ding/state", "ding-on.txt", false), ADAPTER_OK);
        assert_false(only(&t, EVENT_RING)->retained);
        tdev_done(&t);
}

static void test_pitfall6_ding_repeats_debounced(void **state)
{
        struct tdev t;

        doorbell(&t);
        t.debounce_usec = 5 * USEC_PER_SEC;
        tdev_fixture(&t, CAMBASE "/ding/state", "ding-on.txt", false);
        /* ring-mqtt republishes ON 1 s later (reconnect, state refresh) */
        assert_int_equal(tdev_fixture(&t, CAMBASE "/ding/state", "ding-on.txt", false),
                         ADAPTER_E_IGNORED);
        t.now_usec += 30 * USEC_PER_SEC;
        assert_int_equal(tdev_fixture(&t, CAMBASE "/ding/state", "ding-on.txt", false), ADAPTER_OK);
        tdev_done(&t);
}

static void test_pitfall1_polarity_contact_on_is_open(void **state)
{
        struct tdev t;

        contact(&t, false);
        assert_int_equal(tdev_fixture(&t, ALMBASE "/contact/state", "contact-on.txt", false),
                         ADAPTER_OK);
        assert_door(&t, DOOR_OPEN, false);
        assert_int_equal(tdev_fixture(&t, ALMBASE "/contact/state", "contact-off.txt", false),
                         ADAPTER_OK);
        assert_door(&t, DOOR_CLOSED, false);
        tdev_done(&t);

        contact(&t, true);
        tdev_fixture(&t, ALMBASE "/contact/state", "contact-on.txt", false);
        assert_door(&t, DOOR_CLOSED, false);
        tdev_done(&t);
}

static void test_pitfall4_contact_edges_only(void **state)
{
        struct tdev t;

        contact(&t, false);
        tdev_fixture(&t, ALMBASE "/contact/state", "contact-on.txt", true);
        assert_door(&t, DOOR_OPEN, true);
        assert_int_equal(tdev_fixture(&t, ALMBASE "/contact/state", "contact-on.txt", false),
                         ADAPTER_OK);
        only(&t, EVENT_HEARTBEAT); /* live but unchanged */
        assert_int_equal(tdev_fixture(&t, ALMBASE "/contact/state", "contact-on.txt", false),
                         ADAPTER_E_IGNORED);
        tdev_done(&t);
}

static void test_status_online_offline(void **state)
{
        struct tdev t;
        const struct event *e;

        doorbell(&t);
        assert_int_equal(tdev_fixture(&t, CAMBASE "/status", "status-offline.txt", true),
                         ADAPTER_OK);
        e = only(&t, EVENT_AVAILABILITY);
        assert_false(e->online);
        assert_false(e->bridge);
        assert_int_equal(tdev_fixture(&t, CAMBASE "/status", "status-online.txt", false),
                         ADAPTER_OK);
        assert_true(only(&t, EVENT_AVAILABILITY)->online);
        tdev_done(&t);
}

static void test_info_battery_and_tamper(void **state)
{
        struct tdev t;
        const struct event *e;

        contact(&t, false);
        assert_int_equal(tdev_fixture(&t, ALMBASE "/info/state", "info-alarm-sensor.json", false),
                         ADAPTER_OK);
        e = only(&t, EVENT_BATTERY);
        assert_int_equal(e->battery_percent, 92);
        assert_false(e->battery_low);
        assert_int_equal(tdev_fixture(&t, ALMBASE "/info/state", "info-alarm-tamper.json", false),
                         ADAPTER_OK);
        assert_true(only(&t, EVENT_TAMPER)->tampered);
        assert_int_equal(
            tdev_fixture(&t, ALMBASE "/info/state", "info-alarm-battery-low.json", false),
            ADAPTER_OK);
        assert_int_equal(t.out.n_events, 2);
        assert_false(ev(&t, 0, EVENT_TAMPER)->tampered);
        e = ev(&t, 1, EVENT_BATTERY);
        assert_int_equal(e->battery_percent, 8);
        assert_true(e->battery_low);
        assert_int_equal(tdev_fixture(&t, ALMBASE "/info/state", "info-invalid.json", false),
                         ADAPTER_E_INVALID);
        tdev_done(&t);
}

static void test_pitfall5_camera_info_without_battery(void **state)
{
        struct tdev t;

        doorbell(&t);
        assert_int_equal(tdev_fixture(&t, CAMBASE "/info/state", "info-camera.json", false),
                         ADAPTER_OK);
        assert_int_equal(only(&t, EVENT_BATTERY)->battery_percent, 54);
        /* a wired camera has no battery fields: no battery event, just alive */
        t.now_usec += 2 * USEC_PER_MIN;
        assert_int_equal(tdev_fixture(&t, CAMBASE "/info/state", "info-camera-wired.json", false),
                         ADAPTER_OK);
        only(&t, EVENT_HEARTBEAT);
        assert_int_equal(t.st.battery_percent, 54);
        tdev_done(&t);
}

static void test_other_topics_not_mine(void **state)
{
        struct tdev t;

        doorbell(&t);
        assert_int_equal(tdev_text(&t, CAMBASE "/motion/state", "ON", false), ADAPTER_E_NOT_MINE);
        assert_int_equal(tdev_text(&t, "ring/" LOC "/camera/other/ding/state", "ON", false),
                         ADAPTER_E_NOT_MINE);
        tdev_done(&t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_topics),
                cmocka_unit_test(test_parse_errors),
                cmocka_unit_test(test_ding_on_rings_off_ignored),
                cmocka_unit_test(test_pitfall3_retained_ring_flagged),
                cmocka_unit_test(test_pitfall6_ding_repeats_debounced),
                cmocka_unit_test(test_pitfall1_polarity_contact_on_is_open),
                cmocka_unit_test(test_pitfall4_contact_edges_only),
                cmocka_unit_test(test_status_online_offline),
                cmocka_unit_test(test_info_battery_and_tamper),
                cmocka_unit_test(test_pitfall5_camera_info_without_battery),
                cmocka_unit_test(test_other_topics_not_mine),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

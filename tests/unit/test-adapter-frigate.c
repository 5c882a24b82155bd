/* test-adapter-frigate.c: the Frigate adapter against frigate/events, frigate/available and
 * frigate/stats payloads (tests/fixtures/devices/frigate/). */
#include "adapter-test.h"

#define EVENTS "frigate/events"
#define ID1    "1580860800.25-mxklsc"

static void cam(struct tdev *t)
{
        tdev_init(t, "frigate", DEVICE_CAMERA, false,
                  "{\"camera\":\"front_door\",\"zones_out\":[\"stairs\"]}");
}

static void test_topics(void **state)
{
        struct tdev t;
        struct route_list l;

        cam(&t);
        tdev_routes(&t, &l);
        assert_int_equal(l.n, 3);
        assert_true(has_route(&l, "frigate/events"));
        assert_true(has_route(&l, "frigate/available"));
        assert_true(has_route(&l, "frigate/stats"));
        tdev_done(&t);

        tdev_init(&t, "frigate", DEVICE_CAMERA, false,
                  "{\"camera\":\"front_door\",\"frigate_topic\":\"nvr/site1\"}");
        tdev_routes(&t, &l);
        assert_true(has_route(&l, "nvr/site1/events"));
        assert_int_equal(tdev_fixture(&t, "nvr/site1/events", "event-new-person.json", false),
                         ADAPTER_OK);
        tdev_done(&t);
}

static void test_parse_errors(void **state)
{
        static const struct {
                const char *json, *path;
        } cases[] = {
                { "{}", "[0].devices[0].camera" },
                { "{\"camera\":\"front/door\"}", "[0].devices[0].camera" },
                { "{\"camera\":\"a\\\"b\"}", "[0].devices[0].camera" },
                { "{\"camera\":\"c\",\"zones_out\":\"stairs\"}", "[0].devices[0].zones_out" },
                { "{\"camera\":\"c\",\"zones_out\":[1]}", "[0].devices[0].zones_out" },
                { "{\"camera\":\"c\",\"zones_in\":[\"\"]}", "[0].devices[0].zones_in" },
                { "{\"camera\":\"c\",\"frigate_topic\":\"+\"}", "[0].devices[0].frigate_topic" },
        };
        struct tdev t;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                assert_int_equal(tdev_try(&t, "frigate", DEVICE_CAMERA, false, cases[i].json),
                                 -EINVAL);
                assert_diag(cases[i].path);
        }
}

static void test_person_counted_once_per_event_id(void **state)
{
        struct tdev t;
        const struct event *e;

        cam(&t);
        assert_int_equal(tdev_fixture(&t, EVENTS, "event-new-person.json", false), ADAPTER_OK);
        e = only(&t, EVENT_PERSON);
        assert_string_equal(e->id, ID1);
        assert_int_equal(e->direction, DIRECTION_NONE);
        assert_true(e->has_ts);
        assert_true(e->ts == 1580860800.25);
        assert_false(e->retained);
        /* updates and the end of the same object are the same detection */
        assert_int_equal(tdev_fixture(&t, EVENTS, "event-update-doorstep.json", false),
                         ADAPTER_E_IGNORED);
        assert_int_equal(tdev_fixture(&t, EVENTS, "event-new-person.json", false),
                         ADAPTER_E_IGNORED);
        tdev_done(&t);
}

static void test_person_leaving_direction_out_when_zones_show_it(void **state)
{
        struct tdev t;
        const struct event *e;

        cam(&t);
        tdev_fixture(&t, EVENTS, "event-new-person.json", false);
        tdev_fixture(&t, EVENTS, "event-update-doorstep.json", false);
        /* doorstep -> stairs: the person left; one refinement with its own id */
        assert_int_equal(tdev_fixture(&t, EVENTS, "event-update-person-out.json", false),
                         ADAPTER_OK);
        e = only(&t, EVENT_PERSON);
        assert_string_equal(e->id, ID1 ":out");
        assert_int_equal(e->direction, DIRECTION_OUT);
        assert_true(e->ts == 1580860802.75);
        assert_int_equal(tdev_fixture(&t, EVENTS, "event-end-person-out.json", false),
                         ADAPTER_E_IGNORED);
        tdev_done(&t);
}

static void test_person_new_already_out(void **state)
{
        struct tdev t;
        const struct event *e;

        cam(&t);
        assert_int_equal(tdev_fixture(&t, EVENTS, "event-new-person-out.json", false), ADAPTER_OK);
        e = only(&t, EVENT_PERSON);
        assert_string_equal(e->id, "1580860900.50-q7b2zd");
        assert_int_equal(e->direction, DIRECTION_OUT);
        tdev_done(&t);
}

static void test_person_direction_in(void **state)
{
        struct tdev t;

        tdev_init(&t, "frigate", DEVICE_CAMERA, false,
                  "{\"camera\":\"front_door\",\"zones_out\":[\"stairs\"],"
                  "\"zones_in\":[\"doorstep\"]}");
        /* stairs, then doorstep: the zone entered last wins */
        assert_int_equal(tdev_fixture(&t, EVENTS, "event-new-person-in.json", false), ADAPTER_OK);
        assert_int_equal(only(&t, EVENT_PERSON)->direction, DIRECTION_IN);
        tdev_done(&t);
}

static void test_false_positive_ignored_until_confirmed(void **state)
{
        struct tdev t;

        cam(&t);
        assert_int_equal(tdev_fixture(&t, EVENTS, "event-new-false-positive.json", false),
                         ADAPTER_E_IGNORED);
        /* the same object confirmed later is counted at its first true sighting */
        assert_int_equal(tdev_fixture(&t, EVENTS, "event-update-after-false-positive.json", false),
                         ADAPTER_OK);
        assert_string_equal(only(&t, EVENT_PERSON)->id, "1580861100.00-fp0001");
        tdev_done(&t);
}

static void test_first_sighting_on_update(void **state)
{
        struct tdev t;

        cam(&t);
        assert_int_equal(tdev_fixture(&t, EVENTS, "event-update-first-sighting.json", false),
                         ADAPTER_OK);
        assert_string_equal(only(&t, EVENT_PERSON)->id, "1580861400.00-late01");
        tdev_done(&t);
}

static void test_only_persons(void **state)
{
        struct tdev t;

        cam(&t);
        assert_int_equal(tdev_fixture(&t, EVENTS, "event-new-car.json", false), ADAPTER_E_IGNORED);
        tdev_done(&t);
}

static void test_other_camera_not_mine(void **state)
{
        struct tdev t, other;

        cam(&t);
        tdev_init(&other, "frigate", DEVICE_CAMERA, false, "{\"camera\":\"back_yard\"}");
        assert_int_equal(tdev_fixture(&t, EVENTS, "event-new-other-camera.json", false),
                         ADAPTER_E_NOT_MINE);
        assert_int_equal(tdev_fixture(&other, EVENTS, "event-new-other-camera.json", false),
                         ADAPTER_OK);
        assert_int_equal(tdev_fixture(&other, EVENTS, "event-new-person.json", false),
                         ADAPTER_E_NOT_MINE);
        tdev_done(&t);
        tdev_done(&other);
}

static void test_newer_format_snapshot_object(void **state)
{
        struct tdev t;
        const struct event *e;

        cam(&t);
        assert_int_equal(tdev_fixture(&t, EVENTS, "event-new-person-snapshot-object.json", false),
                         ADAPTER_OK);
        e = only(&t, EVENT_PERSON);
        assert_string_equal(e->id, "1708000000.123456-abc123");
        assert_int_equal(e->direction, DIRECTION_OUT);
        tdev_done(&t);
}

static void test_available_is_bridge_wide(void **state)
{
        struct tdev t;
        const struct event *e;

        cam(&t);
        assert_int_equal(tdev_fixture(&t, "frigate/available", "available-offline.txt", true),
                         ADAPTER_OK);
        e = only(&t, EVENT_AVAILABILITY);
        assert_false(e->online);
        assert_true(e->bridge);
        assert_true(e->retained);
        assert_string_equal(e->bridge_id, "frigate/available");
        assert_int_equal(tdev_fixture(&t, "frigate/available", "available-online.txt", false),
                         ADAPTER_OK);
        assert_true(only(&t, EVENT_AVAILABILITY)->online);
        tdev_done(&t);
}

static void test_stats_heartbeat(void **state)
{
        struct tdev t, other;

        cam(&t);
        assert_int_equal(tdev_fixture(&t, "frigate/stats", "stats.json", false), ADAPTER_OK);
        only(&t, EVENT_HEARTBEAT);
        t.now_usec += 2 * USEC_PER_MIN;
        assert_int_equal(tdev_fixture(&t, "frigate/stats", "stats-0.14.json", false), ADAPTER_OK);
        only(&t, EVENT_HEARTBEAT);
        t.now_usec += 2 * USEC_PER_MIN;
        assert_int_equal(tdev_fixture(&t, "frigate/stats", "stats-camera-down.json", false),
                         ADAPTER_E_IGNORED);
        tdev_done(&t);

        /* back_yard has camera_fps 0 in stats.json: not alive */
        tdev_init(&other, "frigate", DEVICE_CAMERA, false, "{\"camera\":\"back_yard\"}");
        assert_int_equal(tdev_fixture(&other, "frigate/stats", "stats.json", false),
                         ADAPTER_E_IGNORED);
        assert_int_equal(tdev_fixture(&other, "frigate/stats", "stats-0.14.json", false),
                         ADAPTER_E_NOT_MINE);
        tdev_done(&other);
}

static void test_pitfall3_retained_event_flagged(void **state)
{
        struct tdev t;

        cam(&t);
        assert_int_equal(tdev_fixture(&t, EVENTS, "event-new-person.json", true), ADAPTER_OK);
        assert_true(only(&t, EVENT_PERSON)->retained);
        tdev_done(&t);
}

static void test_pitfall7_other_cameras_not_parsed(void **state)
{
        struct tdev t;

        cam(&t);
        /* not even valid JSON, but it does not name our camera: dropped before parsing */
        assert_int_equal(tdev_fixture(&t, EVENTS, "event-not-json-other-camera.txt", false),
                         ADAPTER_E_NOT_MINE);
        tdev_done(&t);
}

static void test_recent_ids_bounded(void **state)
{
        struct tdev t;
        char buf[128];

        cam(&t);
        /* the memory of counted ids exists from the first counted detection on */
        assert_null(t.st.recent);
        assert_int_equal(tdev_text(&t, EVENTS,
                                   "{\"type\":\"new\",\"after\":{\"camera\":\"front_door\"}}",
                                   false),
                         ADAPTER_E_IGNORED);
        assert_null(t.st.recent);
        for (int i = 0; i <= DEVICE_STATE_RECENT_IDS; i++) {
                snprintf(buf, sizeof(buf),
                         "{\"type\":\"new\",\"after\":{\"id\":\"15808608%02d.0-aaaaaa\","
                         "\"camera\":\"front_door\",\"label\":\"person\"}}",
                         i);
                assert_int_equal(tdev_text(&t, EVENTS, buf, false), ADAPTER_OK);
                assert_non_null(t.st.recent);
                assert_int_equal(tdev_text(&t, EVENTS, buf, false), ADAPTER_E_IGNORED);
        }
        /* the oldest id was forgotten: memory per device is bounded */
        snprintf(buf, sizeof(buf),
                 "{\"type\":\"update\",\"after\":{\"id\":\"1580860800.0-aaaaaa\","
                 "\"camera\":\"front_door\",\"label\":\"person\"}}");
        assert_int_equal(tdev_text(&t, EVENTS, buf, false), ADAPTER_OK);
        tdev_done(&t);
}

static void test_invalid_payloads(void **state)
{
        struct tdev t;

        cam(&t);
        assert_int_equal(tdev_fixture(&t, EVENTS, "event-invalid-no-after.json", false),
                         ADAPTER_E_INVALID);
        assert_int_equal(tdev_fixture(&t, EVENTS, "event-invalid-truncated.json", false),
                         ADAPTER_E_INVALID);
        assert_int_equal(tdev_text(&t, EVENTS,
                                   "{\"type\":\"new\",\"after\":{\"camera\":\"front_door\","
                                   "\"label\":\"person\"}}",
                                   false),
                         ADAPTER_E_INVALID);
        assert_int_equal(tdev_text(&t, "frigate/available", "ONLINE?", false), ADAPTER_E_INVALID);
        assert_int_equal(tdev_text(&t, "frigate/front_door/person", "1", false),
                         ADAPTER_E_NOT_MINE);
        tdev_done(&t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_topics),
                cmocka_unit_test(test_parse_errors),
                cmocka_unit_test(test_person_counted_once_per_event_id),
                cmocka_unit_test(test_person_leaving_direction_out_when_zones_show_it),
                cmocka_unit_test(test_person_new_already_out),
                cmocka_unit_test(test_person_direction_in),
                cmocka_unit_test(test_false_positive_ignored_until_confirmed),
                cmocka_unit_test(test_first_sighting_on_update),
                cmocka_unit_test(test_only_persons),
                cmocka_unit_test(test_other_camera_not_mine),
                cmocka_unit_test(test_newer_format_snapshot_object),
                cmocka_unit_test(test_available_is_bridge_wide),
                cmocka_unit_test(test_stats_heartbeat),
                cmocka_unit_test(test_pitfall3_retained_event_flagged),
                cmocka_unit_test(test_pitfall7_other_cameras_not_parsed),
                cmocka_unit_test(test_recent_ids_bounded),
                cmocka_unit_test(test_invalid_payloads),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

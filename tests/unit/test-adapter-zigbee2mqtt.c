/* test-adapter-zigbee2mqtt.c: the zigbee2mqtt adapter against payloads in zigbee2mqtt's
 * formats (tests/fixtures/devices/zigbee2mqtt/), including every pitfall of devices.md. */
#include "adapter-test.h"

#define FN     "ward3/front door"
#define STATE  "zigbee2mqtt/" FN
#define AVAIL  "zigbee2mqtt/" FN "/availability"
#define BRIDGE "zigbee2mqtt/bridge/state"
#define ENTRY  "{\"id\":\"d1\",\"source\":\"zigbee2mqtt\",\"friendly_name\":\"" FN "\"}"

static void door(struct tdev *t, bool invert)
{
        tdev_init(t, "zigbee2mqtt", DEVICE_DOOR_CONTACT, invert, ENTRY);
}

static void bell(struct tdev *t)
{
        tdev_init(t, "zigbee2mqtt", DEVICE_DOORBELL, false,
                  "{\"friendly_name\":\"chl/0001/bell\"}");
}

static void test_topics_narrow_and_exact(void **state)
{
        struct tdev t;
        struct route_list l;

        door(&t, false);
        tdev_routes(&t, &l);
        assert_int_equal(l.n, 3);
        assert_true(has_route(&l, STATE));
        assert_true(has_route(&l, AVAIL));
        assert_true(has_route(&l, BRIDGE));
        for (size_t i = 0; i < l.n; i++)
                assert_string_equal(l.filters[i], l.routes[i]);
        tdev_done(&t);

        tdev_init(&t, "zigbee2mqtt", DEVICE_DOOR_CONTACT, false,
                  "{\"friendly_name\":\"door\",\"base_topic\":\"z2m/site1\"}");
        tdev_routes(&t, &l);
        assert_true(has_route(&l, "z2m/site1/door"));
        assert_true(has_route(&l, "z2m/site1/door/availability"));
        assert_true(has_route(&l, "z2m/site1/bridge/state"));
        assert_int_equal(tdev_fixture(&t, "z2m/site1/door", "state-open.json", false), ADAPTER_OK);
        assert_int_equal(tdev_fixture(&t, STATE, "state-open.json", false), ADAPTER_E_NOT_MINE);
        tdev_done(&t);
}

static void test_parse_errors(void **state)
{
        struct tdev t;

        assert_int_equal(tdev_try(&t, "zigbee2mqtt", DEVICE_DOOR_CONTACT, false, "{}"), -EINVAL);
        assert_diag("[0].devices[0].friendly_name");

        assert_int_equal(
            tdev_try(&t, "zigbee2mqtt", DEVICE_DOOR_CONTACT, false, "{\"friendly_name\":42}"),
            -EINVAL);
        assert_diag("[0].devices[0].friendly_name");

        static const char *const bad[] = {
                "{\"friendly_name\":\"bridge/state\"}", "{\"friendly_name\":\"door/availability\"}",
                "{\"friendly_name\":\"door/set\"}",     "{\"friendly_name\":\"door/get\"}",
                "{\"friendly_name\":\"a/+/b\"}",        "{\"friendly_name\":\"a/#\"}",
                "{\"friendly_name\":\"/door\"}",        "{\"friendly_name\":\"door/\"}",
                "{\"friendly_name\":\"a//b\"}",         "{\"friendly_name\":\"\"}",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_int_equal(tdev_try(&t, "zigbee2mqtt", DEVICE_DOOR_CONTACT, false, bad[i]),
                                 -EINVAL);
                assert_diag("[0].devices[0].friendly_name");
        }

        assert_int_equal(tdev_try(&t, "zigbee2mqtt", DEVICE_DOOR_CONTACT, false,
                                  "{\"friendly_name\":\"d\",\"base_topic\":\"z/#\"}"),
                         -EINVAL);
        assert_diag("[0].devices[0].base_topic");
        assert_int_equal(tdev_try(&t, "zigbee2mqtt", DEVICE_DOORBELL, false,
                                  "{\"friendly_name\":\"d\",\"ring_actions\":\"bell1\"}"),
                         -EINVAL);
        assert_diag("[0].devices[0].ring_actions");
}

static void test_first_message_gives_door_state_and_battery(void **state)
{
        struct tdev t;
        const struct event *e;

        door(&t, false);
        assert_int_equal(tdev_fixture(&t, STATE, "state-closed.json", false), ADAPTER_OK);
        assert_int_equal(t.out.n_events, 2);
        e = ev(&t, 0, EVENT_DOOR);
        assert_int_equal(e->door, DOOR_CLOSED);
        assert_false(e->retained);
        assert_string_equal(e->id, ""); /* the daemon assigns ids */
        e = ev(&t, 1, EVENT_BATTERY);
        assert_int_equal(e->battery_percent, 100);
        assert_false(e->battery_low);
        assert_int_equal(e->battery_mv, 3000);
        /* tamper:false on a first report is no event */
        assert_true(t.st.tamper_known);
        assert_false(t.st.tampered);
        tdev_done(&t);
}

static void test_open_then_close(void **state)
{
        struct tdev t;

        door(&t, false);
        tdev_fixture(&t, STATE, "state-closed.json", false);
        assert_int_equal(tdev_fixture(&t, STATE, "state-open.json", false), ADAPTER_OK);
        assert_int_equal(t.out.n_events, 2);
        assert_int_equal(ev(&t, 0, EVENT_DOOR)->door, DOOR_OPEN);
        assert_int_equal(ev(&t, 1, EVENT_BATTERY)->battery_percent, 97);
        assert_int_equal(t.st.door, DOOR_OPEN);
        assert_int_equal(tdev_fixture(&t, STATE, "state-closed-battery-report.json", false),
                         ADAPTER_OK);
        assert_int_equal(ev(&t, 0, EVENT_DOOR)->door, DOOR_CLOSED);
        tdev_done(&t);
}

static void test_pitfall1_polarity_contact_false_is_open(void **state)
{
        struct tdev t;

        door(&t, false);
        tdev_fixture(&t, STATE, "state-open.json", false);
        assert_int_equal(ev(&t, 0, EVENT_DOOR)->door, DOOR_OPEN);
        tdev_done(&t);
}

static void test_pitfall1_polarity_invert(void **state)
{
        struct tdev t;

        door(&t, true);
        tdev_fixture(&t, STATE, "state-open.json", false);
        assert_int_equal(ev(&t, 0, EVENT_DOOR)->door, DOOR_CLOSED);
        tdev_fixture(&t, STATE, "state-closed.json", false);
        assert_int_equal(ev(&t, 0, EVENT_DOOR)->door, DOOR_OPEN);
        tdev_done(&t);
}

static void test_pitfall2_contact_as_string(void **state)
{
        struct tdev t;

        door(&t, false);
        assert_int_equal(tdev_fixture(&t, STATE, "state-contact-string-false.json", false),
                         ADAPTER_OK);
        assert_int_equal(ev(&t, 0, EVENT_DOOR)->door, DOOR_OPEN);
        tdev_done(&t);
}

static void test_pitfall2_availability_text_and_json(void **state)
{
        static const struct {
                const char *name;
                bool online;
        } cases[] = {
                { "availability-online.txt", true },
                { "availability-offline.txt", false },
                { "availability-json-online.json", true },
                { "availability-json-offline.json", false },
        };
        struct tdev t;

        door(&t, false);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const struct event *e;
                assert_int_equal(tdev_fixture(&t, AVAIL, cases[i].name, true), ADAPTER_OK);
                e = only(&t, EVENT_AVAILABILITY);
                assert_int_equal(e->online, cases[i].online);
                assert_false(e->bridge);
                assert_true(e->retained);
                assert_int_equal(t.st.online, cases[i].online);
        }
        assert_int_equal(tdev_fixture(&t, AVAIL, "availability-bogus.txt", true),
                         ADAPTER_E_INVALID);
        tdev_done(&t);
}

static void test_bridge_offline_is_bridge_wide(void **state)
{
        struct tdev a, b;
        const struct event *e;

        door(&a, false);
        bell(&b);
        /* both devices get the same bridge event, with the same bridge id */
        assert_int_equal(tdev_fixture(&a, BRIDGE, "bridge-state-offline.txt", true), ADAPTER_OK);
        assert_int_equal(tdev_fixture(&b, BRIDGE, "bridge-state-offline.txt", true), ADAPTER_OK);
        e = only(&a, EVENT_AVAILABILITY);
        assert_false(e->online);
        assert_true(e->bridge);
        assert_string_equal(e->bridge_id, BRIDGE);
        assert_string_equal(only(&b, EVENT_AVAILABILITY)->bridge_id, BRIDGE);
        assert_int_equal(tdev_fixture(&a, BRIDGE, "bridge-state-online.json", false), ADAPTER_OK);
        e = only(&a, EVENT_AVAILABILITY);
        assert_true(e->online);
        assert_true(e->bridge);
        tdev_done(&a);
        tdev_done(&b);
}

static void test_pitfall3_retained_state_flagged(void **state)
{
        struct tdev t;

        door(&t, false);
        /* after a restart the retained state reconciles the door, flagged */
        assert_int_equal(tdev_fixture(&t, STATE, "state-open.json", true), ADAPTER_OK);
        assert_true(ev(&t, 0, EVENT_DOOR)->retained);
        assert_int_equal(ev(&t, 0, EVENT_DOOR)->door, DOOR_OPEN);
        /* the same replay again (resubscribe) changes nothing and is no heartbeat */
        t.now_usec += 10 * USEC_PER_MIN;
        assert_int_equal(tdev_fixture(&t, STATE, "state-open.json", true), ADAPTER_E_IGNORED);
        tdev_done(&t);
}

static void test_pitfall3_retained_replay_differs_from_known_state(void **state)
{
        struct tdev t;

        door(&t, false);
        tdev_fixture(&t, STATE, "state-closed.json", false);
        assert_int_equal(tdev_fixture(&t, STATE, "state-open.json", true), ADAPTER_OK);
        assert_int_equal(ev(&t, 0, EVENT_DOOR)->door, DOOR_OPEN);
        assert_true(ev(&t, 0, EVENT_DOOR)->retained);
        tdev_done(&t);
}

static void test_pitfall3_retained_ring_flagged(void **state)
{
        struct tdev t;

        bell(&t);
        assert_int_equal(tdev_fixture(&t, "zigbee2mqtt/chl/0001/bell", "bell-action.json", true),
                         ADAPTER_OK);
        assert_true(ev(&t, 0, EVENT_RING)->retained);
        tdev_done(&t);
}

static void test_pitfall4_battery_report_repeating_contact_is_no_door_event(void **state)
{
        struct tdev t;

        door(&t, false);
        tdev_fixture(&t, STATE, "state-open.json", false);
        assert_int_equal(tdev_fixture(&t, STATE, "state-open-battery-report.json", false),
                         ADAPTER_OK);
        assert_int_equal(only(&t, EVENT_BATTERY)->battery_percent, 96);
        assert_int_equal(t.st.door, DOOR_OPEN);
        tdev_done(&t);
}

static void test_pitfall4_unchanged_state_is_heartbeat_at_most_once_a_minute(void **state)
{
        struct tdev t;

        door(&t, false);
        tdev_fixture(&t, STATE, "state-closed.json", false);
        assert_int_equal(tdev_fixture(&t, STATE, "state-closed.json", false), ADAPTER_E_IGNORED);
        t.now_usec += 2 * USEC_PER_MIN;
        assert_int_equal(tdev_fixture(&t, STATE, "state-closed.json", false), ADAPTER_OK);
        only(&t, EVENT_HEARTBEAT);
        assert_int_equal(tdev_fixture(&t, STATE, "state-closed.json", false), ADAPTER_E_IGNORED);
        tdev_done(&t);
}

static void test_pitfall5_missing_contact_is_not_closed(void **state)
{
        struct tdev t;

        door(&t, false);
        tdev_fixture(&t, STATE, "state-open.json", false);
        assert_int_equal(tdev_fixture(&t, STATE, "state-no-contact.json", false), ADAPTER_OK);
        only(&t, EVENT_BATTERY);
        assert_int_equal(t.st.door, DOOR_OPEN);
        /* null is "unknown" too, for contact, battery and tamper */
        t.now_usec += 2 * USEC_PER_MIN;
        assert_int_equal(tdev_fixture(&t, STATE, "state-contact-null.json", false), ADAPTER_OK);
        only(&t, EVENT_HEARTBEAT);
        assert_int_equal(t.st.door, DOOR_OPEN);
        assert_int_equal(t.st.battery_percent, 90);
        tdev_done(&t);
}

static void test_pitfall5_first_message_without_contact_leaves_door_unknown(void **state)
{
        struct tdev t;

        door(&t, false);
        tdev_fixture(&t, STATE, "state-no-contact.json", false);
        only(&t, EVENT_BATTERY);
        assert_int_equal(t.st.door, DOOR_UNKNOWN);
        tdev_done(&t);
}

static void test_battery_low_flag_and_voltage(void **state)
{
        struct tdev t;
        const struct event *e;

        door(&t, false);
        tdev_fixture(&t, STATE, "state-closed.json", false);
        assert_int_equal(tdev_fixture(&t, STATE, "state-battery-low.json", false), ADAPTER_OK);
        e = only(&t, EVENT_BATTERY);
        assert_int_equal(e->battery_percent, 9);
        assert_true(e->battery_low);
        assert_int_equal(e->battery_mv, 2550);
        tdev_done(&t);
}

static void test_battery_voltage_only(void **state)
{
        struct tdev t;
        const struct event *e;

        door(&t, false);
        tdev_fixture(&t, STATE, "state-voltage-only.json", false);
        e = ev(&t, 1, EVENT_BATTERY);
        assert_int_equal(e->battery_percent, -1);
        assert_int_equal(e->battery_mv, 2600);
        assert_int_equal(tdev_fixture(&t, STATE, "state-voltage-only-drop.json", false),
                         ADAPTER_OK);
        e = only(&t, EVENT_BATTERY);
        assert_int_equal(e->battery_mv, 2450);
        tdev_done(&t);
}

static void test_tamper_and_cleared(void **state)
{
        struct tdev t;

        door(&t, false);
        tdev_fixture(&t, STATE, "state-closed.json", false);
        assert_int_equal(tdev_fixture(&t, STATE, "state-tamper.json", false), ADAPTER_OK);
        assert_true(only(&t, EVENT_TAMPER)->tampered);
        assert_int_equal(tdev_fixture(&t, STATE, "state-tamper.json", false), ADAPTER_E_IGNORED);
        assert_int_equal(tdev_fixture(&t, STATE, "state-tamper-cleared.json", false), ADAPTER_OK);
        assert_false(only(&t, EVENT_TAMPER)->tampered);
        tdev_done(&t);
}

static void test_ring_from_bell_action(void **state)
{
        struct tdev t;

        bell(&t);
        assert_int_equal(tdev_fixture(&t, "zigbee2mqtt/chl/0001/bell", "bell-action.json", false),
                         ADAPTER_OK);
        assert_int_equal(t.out.n_events, 2);
        assert_false(ev(&t, 0, EVENT_RING)->retained);
        ev(&t, 1, EVENT_BATTERY);
        tdev_done(&t);
}

static void test_empty_action_ignored(void **state)
{
        struct tdev t;

        bell(&t);
        tdev_fixture(&t, "zigbee2mqtt/chl/0001/bell", "bell-action.json", false);
        assert_int_equal(tdev_fixture(&t, "zigbee2mqtt/chl/0001/bell", "action-empty.json", false),
                         ADAPTER_E_IGNORED);
        tdev_done(&t);
}

static void test_other_actions_do_not_ring(void **state)
{
        struct tdev t;

        bell(&t);
        tdev_fixture(&t, "zigbee2mqtt/chl/0001/bell", "bell-action.json", false);
        assert_int_equal(tdev_fixture(&t, "zigbee2mqtt/chl/0001/bell", "action-hold.json", false),
                         ADAPTER_E_IGNORED);
        tdev_done(&t);

        /* unless configured */
        tdev_init(&t, "zigbee2mqtt", DEVICE_DOORBELL, false,
                  "{\"friendly_name\":\"chl/0001/bell\",\"ring_actions\":[\"hold\"]}");
        assert_int_equal(tdev_fixture(&t, "zigbee2mqtt/chl/0001/bell", "action-hold.json", false),
                         ADAPTER_OK);
        ev(&t, 0, EVENT_RING);
        assert_int_equal(tdev_fixture(&t, "zigbee2mqtt/chl/0001/bell", "bell-action.json", false),
                         ADAPTER_E_IGNORED);
        tdev_done(&t);

        /* a door contact never rings */
        door(&t, false);
        tdev_fixture(&t, STATE, "bell-action.json", false);
        only(&t, EVENT_BATTERY);
        tdev_done(&t);
}

static void test_pitfall6_ring_repeats_debounced(void **state)
{
        struct tdev t;

        bell(&t);
        t.debounce_usec = 3 * USEC_PER_SEC;
        tdev_fixture(&t, "zigbee2mqtt/chl/0001/bell", "bell-action.json", false);
        ev(&t, 0, EVENT_RING);
        /* 1 s later: a repeat of the same press */
        assert_int_equal(tdev_fixture(&t, "zigbee2mqtt/chl/0001/bell", "bell-action.json", false),
                         ADAPTER_E_IGNORED);
        t.now_usec += 10 * USEC_PER_SEC;
        assert_int_equal(tdev_fixture(&t, "zigbee2mqtt/chl/0001/bell", "bell-action.json", false),
                         ADAPTER_OK);
        only(&t, EVENT_RING);
        tdev_done(&t);
}

static void test_pitfall7_large_payloads_bounded(void **state)
{
        struct tdev t;
        struct route_list l;
        size_t n = 300 * 1024;
        char *big = malloc(n + 1);

        assert_non_null(big);
        /* a syntactically valid JSON object far larger than any device state */
        memset(big, ' ', n);
        memcpy(big, "{\"contact\":false,\"x\":\"", 22);
        memcpy(big + n - 2, "\"}", 2);
        big[n] = 0;
        door(&t, false);
        /* bridge/devices is never subscribed nor routed to a device */
        tdev_routes(&t, &l);
        assert_false(has_route(&l, "zigbee2mqtt/bridge/devices"));
        assert_int_equal(tdev_msg(&t, "zigbee2mqtt/bridge/devices", big, n, true),
                         ADAPTER_E_NOT_MINE);
        /* an oversized state message is refused before parsing */
        assert_int_equal(tdev_msg(&t, STATE, big, 20000, false), ADAPTER_E_INVALID);
        assert_int_equal(tdev_msg(&t, STATE, big, ADAPTER_MAX_PAYLOAD, false), ADAPTER_E_INVALID);
        assert_int_equal(t.st.door, DOOR_UNKNOWN);
        free(big);
        tdev_done(&t);
}

static void test_friendly_name_with_slash_and_space(void **state)
{
        struct tdev t;

        door(&t, false);
        assert_int_equal(tdev_fixture(&t, STATE, "state-open.json", false), ADAPTER_OK);
        /* the known suffixes and shorter or longer names are not this device's state */
        assert_int_equal(tdev_fixture(&t, STATE "/set", "state-closed.json", false),
                         ADAPTER_E_NOT_MINE);
        assert_int_equal(tdev_fixture(&t, STATE "/get", "state-closed.json", false),
                         ADAPTER_E_NOT_MINE);
        assert_int_equal(tdev_fixture(&t, "zigbee2mqtt/ward3", "state-closed.json", false),
                         ADAPTER_E_NOT_MINE);
        assert_int_equal(tdev_fixture(&t, "zigbee2mqtt/ward3/front", "state-closed.json", false),
                         ADAPTER_E_NOT_MINE);
        assert_int_equal(t.st.door, DOOR_OPEN);
        assert_int_equal(tdev_fixture(&t, AVAIL, "availability-offline.txt", true), ADAPTER_OK);
        assert_false(only(&t, EVENT_AVAILABILITY)->online);
        tdev_done(&t);
}

static void test_invalid_payloads(void **state)
{
        struct tdev t;

        door(&t, false);
        assert_int_equal(tdev_fixture(&t, STATE, "invalid-contact-type.json", false),
                         ADAPTER_E_INVALID);
        assert_int_equal(tdev_fixture(&t, STATE, "invalid-not-json.txt", false), ADAPTER_E_INVALID);
        assert_int_equal(tdev_fixture(&t, STATE, "invalid-array.json", false), ADAPTER_E_INVALID);
        assert_int_equal(tdev_text(&t, STATE, "", false), ADAPTER_E_INVALID);
        assert_int_equal(
            tdev_text(&t, STATE, "{\"a\":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}", false),
            ADAPTER_E_INVALID);
        assert_int_equal(t.st.door, DOOR_UNKNOWN);
        tdev_done(&t);
}

static void test_last_seen_gives_device_time(void **state)
{
        struct tdev t;
        const struct event *e;

        door(&t, false);
        tdev_fixture(&t, STATE, "state-last-seen.json", false);
        e = ev(&t, 0, EVENT_DOOR);
        assert_true(e->has_ts);
        assert_true(e->ts > 1580860800.24 && e->ts < 1580860800.26);
        tdev_done(&t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_topics_narrow_and_exact),
                cmocka_unit_test(test_parse_errors),
                cmocka_unit_test(test_first_message_gives_door_state_and_battery),
                cmocka_unit_test(test_open_then_close),
                cmocka_unit_test(test_pitfall1_polarity_contact_false_is_open),
                cmocka_unit_test(test_pitfall1_polarity_invert),
                cmocka_unit_test(test_pitfall2_contact_as_string),
                cmocka_unit_test(test_pitfall2_availability_text_and_json),
                cmocka_unit_test(test_bridge_offline_is_bridge_wide),
                cmocka_unit_test(test_pitfall3_retained_state_flagged),
                cmocka_unit_test(test_pitfall3_retained_replay_differs_from_known_state),
                cmocka_unit_test(test_pitfall3_retained_ring_flagged),
                cmocka_unit_test(test_pitfall4_battery_report_repeating_contact_is_no_door_event),
                cmocka_unit_test(test_pitfall4_unchanged_state_is_heartbeat_at_most_once_a_minute),
                cmocka_unit_test(test_pitfall5_missing_contact_is_not_closed),
                cmocka_unit_test(test_pitfall5_first_message_without_contact_leaves_door_unknown),
                cmocka_unit_test(test_battery_low_flag_and_voltage),
                cmocka_unit_test(test_battery_voltage_only),
                cmocka_unit_test(test_tamper_and_cleared),
                cmocka_unit_test(test_ring_from_bell_action),
                cmocka_unit_test(test_empty_action_ignored),
                cmocka_unit_test(test_other_actions_do_not_ring),
                cmocka_unit_test(test_pitfall6_ring_repeats_debounced),
                cmocka_unit_test(test_pitfall7_large_payloads_bounded),
                cmocka_unit_test(test_friendly_name_with_slash_and_space),
                cmocka_unit_test(test_invalid_payloads),
                cmocka_unit_test(test_last_seen_gives_device_time),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

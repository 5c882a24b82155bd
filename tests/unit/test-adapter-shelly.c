/* test-adapter-shelly.c: the Shelly adapter (Gen1 Door/Window 2, Gen2 RPC inputs, BLU
 * Door/Window relayed by a Gen2 device) against payloads in Shelly's formats
 * (tests/fixtures/devices/shelly/), including the pitfalls of devices.md that apply. */
#include "adapter-test.h"

#define DW2       "shellies/shellydw2-483FDA"
#define DW2_ENTRY "{\"shelly_id\":\"shellydw2-483FDA\"}"
#define I4        "shellyplusi4-a8032ab12345"
#define I4_RPC    I4 "/events/rpc"
#define RELAY     "shellyplus1-441793a1b2c3"
#define RELAY_RPC RELAY "/events/rpc"
#define BLU_ENTRY "{\"shelly_id\":\"" RELAY "\",\"blu_address\":\"60:EF:AB:42:ED:25\"}"

static void dw2(struct tdev *t, bool invert)
{
        tdev_init(t, "shelly", DEVICE_DOOR_CONTACT, invert, DW2_ENTRY);
}

static void i4(struct tdev *t, enum device_kind kind)
{
        tdev_init(t, "shelly", kind, false, "{\"shelly_id\":\"" I4 "\",\"input\":0}");
}

static void test_gen1_topics(void **state)
{
        struct tdev t;
        struct route_list l;

        dw2(&t, false);
        tdev_routes(&t, &l);
        assert_int_equal(l.n, 4);
        assert_true(has_route(&l, DW2 "/sensor/state"));
        assert_true(has_route(&l, DW2 "/sensor/battery"));
        assert_true(has_route(&l, DW2 "/sensor/vibration"));
        assert_true(has_route(&l, DW2 "/online"));
        tdev_done(&t);

        tdev_init(&t, "shelly", DEVICE_DOOR_CONTACT, false,
                  "{\"shelly_gen\":1,\"prefix\":\"ward3/dw-402\"}");
        tdev_routes(&t, &l);
        assert_true(has_route(&l, "ward3/dw-402/sensor/state"));
        tdev_done(&t);
}

static void test_gen2_topics(void **state)
{
        struct tdev t;
        struct route_list l;

        i4(&t, DEVICE_DOOR_CONTACT);
        tdev_routes(&t, &l);
        assert_int_equal(l.n, 4);
        assert_true(has_route(&l, I4_RPC));
        assert_true(has_route(&l, I4 "/online"));
        assert_true(has_route(&l, I4 "/status/input:0"));
        assert_true(has_route(&l, I4 "/status/devicepower:0"));
        tdev_done(&t);

        tdev_init(&t, "shelly", DEVICE_DOOR_CONTACT, false,
                  "{\"shelly_id\":\"shellypro2-2cbcbb9f1a2b\",\"bthome_sensor\":202,"
                  "\"bthome_device\":200}");
        tdev_routes(&t, &l);
        assert_int_equal(l.n, 4);
        assert_true(has_route(&l, "shellypro2-2cbcbb9f1a2b/status/bthomesensor:202"));
        assert_true(has_route(&l, "shellypro2-2cbcbb9f1a2b/status/bthomedevice:200"));
        tdev_done(&t);
}

static void test_parse_errors(void **state)
{
        static const struct {
                enum device_kind kind;
                const char *json, *path;
        } cases[] = {
                { DEVICE_DOOR_CONTACT, "{}", "[0].devices[0].shelly_id" },
                { DEVICE_DOOR_CONTACT, "{\"shelly_id\":\"a/b\"}", "[0].devices[0].shelly_id" },
                { DEVICE_DOORBELL, DW2_ENTRY, "[0].devices[0].shelly_gen" },
                { DEVICE_DOOR_CONTACT, "{\"shelly_id\":\"x\",\"shelly_gen\":3}",
                  "[0].devices[0].shelly_gen" },
                { DEVICE_DOOR_CONTACT, "{\"shelly_id\":\"" I4 "\"}", "[0].devices[0].input" },
                { DEVICE_DOOR_CONTACT, "{\"shelly_id\":\"" I4 "\",\"input\":-1}",
                  "[0].devices[0].input" },
                { DEVICE_DOOR_CONTACT, "{\"shelly_id\":\"" I4 "\",\"blu_address\":\"60:ef\"}",
                  "[0].devices[0].blu_address" },
                { DEVICE_DOOR_CONTACT,
                  "{\"shelly_id\":\"" I4 "\",\"input\":0,\"blu_address\":\"60:ef:ab:42:ed:25\"}",
                  "[0].devices[0].input" },
                { DEVICE_DOOR_CONTACT, "{\"shelly_id\":\"" I4 "\",\"bthome_device\":200}",
                  "[0].devices[0].bthome_device" },
                { DEVICE_DOOR_CONTACT,
                  "{\"shelly_id\":\"" I4 "\",\"input\":0,\"vibration_tamper\":1}",
                  "[0].devices[0].vibration_tamper" },
                { DEVICE_DOOR_CONTACT, "{\"shelly_id\":\"shellydw2-1\",\"input\":0}",
                  "[0].devices[0].input" },
        };
        struct tdev t;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                assert_int_equal(tdev_try(&t, "shelly", cases[i].kind, false, cases[i].json),
                                 -EINVAL);
                assert_diag(cases[i].path);
        }
}

static void test_gen1_open_close(void **state)
{
        struct tdev t;

        dw2(&t, false);
        assert_int_equal(tdev_fixture(&t, DW2 "/sensor/state", "gen1-state-open.txt", false),
                         ADAPTER_OK);
        assert_door(&t, DOOR_OPEN, false);
        assert_int_equal(tdev_fixture(&t, DW2 "/sensor/state", "gen1-state-close.txt", false),
                         ADAPTER_OK);
        assert_door(&t, DOOR_CLOSED, false);
        tdev_fixture(&t, DW2 "/sensor/state", "gen1-state-open.txt", false);
        assert_int_equal(tdev_fixture(&t, DW2 "/sensor/state", "gen1-state-closed.txt", false),
                         ADAPTER_OK);
        assert_door(&t, DOOR_CLOSED, false);
        assert_int_equal(tdev_fixture(&t, DW2 "/sensor/state", "gen1-state-bogus.txt", false),
                         ADAPTER_E_INVALID);
        tdev_done(&t);
}

static void test_gen1_battery(void **state)
{
        struct tdev t;
        const struct event *e;

        dw2(&t, false);
        assert_int_equal(tdev_fixture(&t, DW2 "/sensor/battery", "gen1-battery.txt", false),
                         ADAPTER_OK);
        e = only(&t, EVENT_BATTERY);
        assert_int_equal(e->battery_percent, 87);
        assert_false(e->battery_low);
        assert_int_equal(tdev_fixture(&t, DW2 "/sensor/battery", "gen1-battery-low.txt", false),
                         ADAPTER_OK);
        assert_int_equal(only(&t, EVENT_BATTERY)->battery_percent, 9);
        assert_int_equal(tdev_fixture(&t, DW2 "/sensor/battery", "gen1-battery-bogus.txt", false),
                         ADAPTER_E_INVALID);
        tdev_done(&t);
}

static void test_gen1_vibration_is_tamper(void **state)
{
        struct tdev t;

        dw2(&t, false);
        assert_int_equal(tdev_fixture(&t, DW2 "/sensor/vibration", "gen1-vibration-1.txt", false),
                         ADAPTER_OK);
        assert_true(only(&t, EVENT_TAMPER)->tampered);
        assert_int_equal(tdev_fixture(&t, DW2 "/sensor/vibration", "gen1-vibration-0.txt", false),
                         ADAPTER_OK);
        assert_false(only(&t, EVENT_TAMPER)->tampered);
        tdev_done(&t);

        tdev_init(&t, "shelly", DEVICE_DOOR_CONTACT, false,
                  "{\"shelly_id\":\"shellydw2-483FDA\",\"vibration_tamper\":false}");
        assert_int_equal(tdev_fixture(&t, DW2 "/sensor/vibration", "gen1-vibration-1.txt", false),
                         ADAPTER_OK);
        only(&t, EVENT_HEARTBEAT); /* still a sign of life */
        tdev_done(&t);
}

static void test_gen1_wakeup_is_one_heartbeat_and_sleep_is_not_offline(void **state)
{
        struct tdev t;

        dw2(&t, false);
        tdev_fixture(&t, DW2 "/sensor/state", "gen1-state-close.txt", false);
        tdev_fixture(&t, DW2 "/sensor/battery", "gen1-battery.txt", false);
        /* goes to sleep: offline between wake-ups is normal */
        assert_int_equal(tdev_fixture(&t, DW2 "/online", "gen1-online-false.txt", false),
                         ADAPTER_E_IGNORED);
        /* the periodic wake-up, hours later: online, state, battery; one heartbeat */
        t.now_usec += 4 * USEC_PER_HOUR;
        assert_int_equal(tdev_fixture(&t, DW2 "/online", "gen1-online-true.txt", false),
                         ADAPTER_OK);
        only(&t, EVENT_HEARTBEAT);
        assert_int_equal(tdev_fixture(&t, DW2 "/sensor/state", "gen1-state-close.txt", false),
                         ADAPTER_E_IGNORED);
        assert_int_equal(tdev_fixture(&t, DW2 "/sensor/battery", "gen1-battery.txt", false),
                         ADAPTER_E_IGNORED);
        /* a retained "true" replayed at subscribe time is no wake-up */
        t.now_usec += 4 * USEC_PER_HOUR;
        assert_int_equal(tdev_fixture(&t, DW2 "/online", "gen1-online-true.txt", true),
                         ADAPTER_E_IGNORED);
        tdev_done(&t);
}

static void test_pitfall1_polarity_invert_gen1(void **state)
{
        struct tdev t;

        dw2(&t, true);
        tdev_fixture(&t, DW2 "/sensor/state", "gen1-state-open.txt", false);
        assert_door(&t, DOOR_CLOSED, false);
        tdev_done(&t);
}

static void test_pitfall2_text_booleans(void **state)
{
        struct tdev t;

        /* Gen2 online is text true/false, not JSON, not online/offline */
        i4(&t, DEVICE_DOOR_CONTACT);
        assert_int_equal(tdev_fixture(&t, I4 "/online", "gen2-online-false.txt", true), ADAPTER_OK);
        assert_false(only(&t, EVENT_AVAILABILITY)->online);
        assert_false(only(&t, EVENT_AVAILABILITY)->bridge);
        assert_int_equal(tdev_fixture(&t, I4 "/online", "gen2-online-true.txt", true), ADAPTER_OK);
        assert_true(only(&t, EVENT_AVAILABILITY)->online);
        /* an input state sent as the string "true" */
        assert_int_equal(tdev_fixture(&t, I4_RPC, "gen2-notifystatus-input-string.json", false),
                         ADAPTER_OK);
        assert_door(&t, DOOR_OPEN, false);
        tdev_done(&t);
}

static void test_pitfall3_retained_state_flagged(void **state)
{
        struct tdev t;

        dw2(&t, false);
        assert_int_equal(tdev_fixture(&t, DW2 "/sensor/state", "gen1-state-open.txt", true),
                         ADAPTER_OK);
        assert_door(&t, DOOR_OPEN, true);
        assert_int_equal(tdev_fixture(&t, DW2 "/sensor/state", "gen1-state-open.txt", true),
                         ADAPTER_E_IGNORED);
        tdev_done(&t);
}

static void test_gen2_input_open_close_with_device_time(void **state)
{
        struct tdev t;
        const struct event *e;

        i4(&t, DEVICE_DOOR_CONTACT);
        assert_int_equal(tdev_fixture(&t, I4_RPC, "gen2-notifystatus-input-true.json", false),
                         ADAPTER_OK);
        e = only(&t, EVENT_DOOR);
        assert_int_equal(e->door, DOOR_OPEN);
        assert_true(e->has_ts);
        assert_true(e->ts == 1580860800.25);
        assert_int_equal(tdev_fixture(&t, I4_RPC, "gen2-notifystatus-input-false.json", false),
                         ADAPTER_OK);
        assert_door(&t, DOOR_CLOSED, false);
        /* another input of the same Shelly is not this door, but proves the Shelly alive */
        t.now_usec += 2 * USEC_PER_MIN;
        assert_int_equal(tdev_fixture(&t, I4_RPC, "gen2-notifystatus-input1.json", false),
                         ADAPTER_OK);
        only(&t, EVENT_HEARTBEAT);
        assert_int_equal(t.st.door, DOOR_CLOSED);
        /* the status/<component> topic */
        assert_int_equal(
            tdev_fixture(&t, I4 "/status/input:0", "gen2-status-input-true.json", true),
            ADAPTER_OK);
        assert_door(&t, DOOR_OPEN, true);
        tdev_done(&t);
}

static void test_pitfall4_full_status_edges_only(void **state)
{
        struct tdev t;

        i4(&t, DEVICE_DOOR_CONTACT);
        tdev_fixture(&t, I4_RPC, "gen2-notifystatus-input-false.json", false);
        assert_door(&t, DOOR_CLOSED, false);
        /* NotifyFullStatus repeats input:0 false: no door event */
        assert_int_equal(tdev_fixture(&t, I4_RPC, "gen2-notifyfullstatus.json", false),
                         ADAPTER_E_IGNORED);
        tdev_done(&t);

        /* but a first NotifyFullStatus gives the door state */
        i4(&t, DEVICE_DOOR_CONTACT);
        assert_int_equal(tdev_fixture(&t, I4_RPC, "gen2-notifyfullstatus.json", false), ADAPTER_OK);
        assert_door(&t, DOOR_CLOSED, false);
        tdev_done(&t);
}

static void test_pitfall5_missing_fields(void **state)
{
        struct tdev t;

        i4(&t, DEVICE_DOOR_CONTACT);
        tdev_fixture(&t, I4_RPC, "gen2-notifystatus-input-true.json", false);
        /* a NotifyStatus without input:0 says nothing about the door */
        t.now_usec += 2 * USEC_PER_MIN;
        assert_int_equal(tdev_fixture(&t, I4_RPC, "gen2-notifystatus-wifi.json", false),
                         ADAPTER_OK);
        only(&t, EVENT_HEARTBEAT);
        assert_int_equal(t.st.door, DOOR_OPEN);
        tdev_done(&t);
}

static void test_gen2_battery(void **state)
{
        struct tdev t;
        const struct event *e;

        i4(&t, DEVICE_DOOR_CONTACT);
        assert_int_equal(tdev_fixture(&t, I4_RPC, "gen2-notifystatus-battery.json", false),
                         ADAPTER_OK);
        e = only(&t, EVENT_BATTERY);
        assert_int_equal(e->battery_percent, 73);
        assert_int_equal(e->battery_mv, 5460);
        assert_int_equal(
            tdev_fixture(&t, I4 "/status/devicepower:0", "gen2-status-devicepower.json", false),
            ADAPTER_OK);
        e = only(&t, EVENT_BATTERY);
        assert_int_equal(e->battery_percent, 12);
        assert_int_equal(e->battery_mv, 4020);
        tdev_done(&t);
}

static void test_gen2_doorbell_push_rings_once(void **state)
{
        struct tdev t;

        i4(&t, DEVICE_DOORBELL);
        assert_int_equal(tdev_fixture(&t, I4_RPC, "gen2-notifyevent-single-push.json", false),
                         ADAPTER_OK);
        assert_true(only(&t, EVENT_RING)->has_ts);
        tdev_done(&t);

        /* a door contact on the same input does not ring on push events */
        i4(&t, DEVICE_DOOR_CONTACT);
        assert_int_equal(tdev_fixture(&t, I4_RPC, "gen2-notifyevent-single-push.json", false),
                         ADAPTER_OK);
        only(&t, EVENT_HEARTBEAT);
        tdev_done(&t);
}

static void test_gen2_doorbell_switch_input_rings_on_edge(void **state)
{
        struct tdev t;

        i4(&t, DEVICE_DOORBELL);
        assert_int_equal(tdev_fixture(&t, I4_RPC, "gen2-notifystatus-input-true.json", false),
                         ADAPTER_OK);
        only(&t, EVENT_RING);
        assert_int_equal(tdev_fixture(&t, I4_RPC, "gen2-notifystatus-input-true.json", false),
                         ADAPTER_E_IGNORED);
        assert_int_equal(tdev_fixture(&t, I4_RPC, "gen2-notifystatus-input-false.json", false),
                         ADAPTER_E_IGNORED);
        assert_int_equal(tdev_fixture(&t, I4_RPC, "gen2-notifystatus-input-true.json", false),
                         ADAPTER_OK);
        only(&t, EVENT_RING);
        tdev_done(&t);
}

static void test_blu_window_open_close(void **state)
{
        struct tdev t;
        const struct event *e;

        tdev_init(&t, "shelly", DEVICE_DOOR_CONTACT, false, BLU_ENTRY);
        assert_int_equal(tdev_fixture(&t, RELAY_RPC, "blu-event-open.json", false), ADAPTER_OK);
        assert_int_equal(t.out.n_events, 2);
        e = ev(&t, 0, EVENT_DOOR);
        assert_int_equal(e->door, DOOR_OPEN);
        assert_true(e->ts == 1580860820.10);
        assert_int_equal(ev(&t, 1, EVENT_BATTERY)->battery_percent, 100);
        assert_int_equal(tdev_fixture(&t, RELAY_RPC, "blu-event-closed.json", false), ADAPTER_OK);
        assert_door(&t, DOOR_CLOSED, false);
        /* another BLU device heard by the same relay */
        assert_int_equal(tdev_fixture(&t, RELAY_RPC, "blu-event-other-address.json", false),
                         ADAPTER_E_NOT_MINE);
        assert_int_equal(t.st.door, DOOR_CLOSED);
        /* the relay's own status says nothing about the BLU device: no heartbeat */
        t.now_usec += 2 * USEC_PER_MIN;
        assert_int_equal(tdev_fixture(&t, RELAY_RPC, "gen2-notifystatus-wifi.json", false),
                         ADAPTER_E_IGNORED);
        tdev_done(&t);
}

static void test_blu_relay_offline_is_bridge(void **state)
{
        struct tdev t;
        const struct event *e;

        tdev_init(&t, "shelly", DEVICE_DOOR_CONTACT, false, BLU_ENTRY);
        assert_int_equal(tdev_fixture(&t, RELAY "/online", "gen2-online-false.txt", true),
                         ADAPTER_OK);
        e = only(&t, EVENT_AVAILABILITY);
        assert_false(e->online);
        assert_true(e->bridge);
        assert_string_equal(e->bridge_id, RELAY "/online");
        tdev_done(&t);
}

static void test_blu_button_as_doorbell(void **state)
{
        struct tdev t;

        tdev_init(&t, "shelly", DEVICE_DOORBELL, false,
                  "{\"shelly_id\":\"" RELAY "\",\"blu_address\":\"5C:C7:C1:F2:E4:7C\"}");
        assert_int_equal(tdev_fixture(&t, RELAY_RPC, "blu-event-button.json", false), ADAPTER_OK);
        assert_int_equal(t.out.n_events, 2);
        ev(&t, 0, EVENT_RING);
        assert_int_equal(ev(&t, 1, EVENT_BATTERY)->battery_percent, 70);
        tdev_done(&t);
}

static void test_bthome_components(void **state)
{
        struct tdev t;

        tdev_init(&t, "shelly", DEVICE_DOOR_CONTACT, false,
                  "{\"shelly_id\":\"shellypro2-2cbcbb9f1a2b\",\"bthome_sensor\":202,"
                  "\"bthome_device\":200}");
        assert_int_equal(tdev_fixture(&t, "shellypro2-2cbcbb9f1a2b/events/rpc",
                                      "bthome-sensor-open.json", false),
                         ADAPTER_OK);
        assert_door(&t, DOOR_OPEN, false);
        assert_int_equal(tdev_fixture(&t, "shellypro2-2cbcbb9f1a2b/status/bthomesensor:202",
                                      "bthome-sensor-closed.json", false),
                         ADAPTER_OK);
        assert_door(&t, DOOR_CLOSED, false);
        assert_int_equal(tdev_fixture(&t, "shellypro2-2cbcbb9f1a2b/status/bthomedevice:200",
                                      "bthome-device-battery.json", false),
                         ADAPTER_OK);
        assert_int_equal(only(&t, EVENT_BATTERY)->battery_percent, 64);
        tdev_done(&t);
}

static void test_invalid_payloads(void **state)
{
        struct tdev t;

        i4(&t, DEVICE_DOOR_CONTACT);
        assert_int_equal(tdev_fixture(&t, I4_RPC, "gen2-invalid-no-params.json", false),
                         ADAPTER_E_INVALID);
        assert_int_equal(tdev_text(&t, I4_RPC, "NotifyStatus", false), ADAPTER_E_INVALID);
        assert_int_equal(tdev_text(&t, I4_RPC,
                                   "{\"method\":\"NotifyStatus\",\"params\":{\"input:0\":"
                                   "{\"state\":[true]}}}",
                                   false),
                         ADAPTER_E_INVALID);
        assert_int_equal(tdev_text(&t, I4 "/online", "maybe", false), ADAPTER_E_INVALID);
        /* other RPC methods (replies to our own calls, if any) are ignored */
        assert_int_equal(
            tdev_text(&t, I4_RPC, "{\"method\":\"NotifyWakeup\",\"params\":{}}", false),
            ADAPTER_E_IGNORED);
        assert_int_equal(tdev_text(&t, "shellies/other/sensor/state", "open", false),
                         ADAPTER_E_NOT_MINE);
        assert_int_equal(t.st.door, DOOR_UNKNOWN);
        tdev_done(&t);
}

/* Found by fuzzing: a message refused as invalid after a valid part must not have moved the
 * device state (the door change would be lost: no event, but state updated). */
static void test_invalid_message_leaves_no_trace(void **state)
{
        struct tdev t;

        i4(&t, DEVICE_DOOR_CONTACT);
        assert_int_equal(tdev_fixture(&t, I4_RPC, "gen2-invalid-duplicate-input.json", false),
                         ADAPTER_E_INVALID);
        assert_int_equal(t.st.door, DOOR_UNKNOWN);
        assert_false(t.st.input_known);
        assert_int_equal(tdev_fixture(&t, I4_RPC, "gen2-notifystatus-input-true.json", false),
                         ADAPTER_OK);
        assert_door(&t, DOOR_OPEN, false);
        tdev_done(&t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_gen1_topics),
                cmocka_unit_test(test_gen2_topics),
                cmocka_unit_test(test_parse_errors),
                cmocka_unit_test(test_gen1_open_close),
                cmocka_unit_test(test_gen1_battery),
                cmocka_unit_test(test_gen1_vibration_is_tamper),
                cmocka_unit_test(test_gen1_wakeup_is_one_heartbeat_and_sleep_is_not_offline),
                cmocka_unit_test(test_pitfall1_polarity_invert_gen1),
                cmocka_unit_test(test_pitfall2_text_booleans),
                cmocka_unit_test(test_pitfall3_retained_state_flagged),
                cmocka_unit_test(test_gen2_input_open_close_with_device_time),
                cmocka_unit_test(test_pitfall4_full_status_edges_only),
                cmocka_unit_test(test_pitfall5_missing_fields),
                cmocka_unit_test(test_gen2_battery),
                cmocka_unit_test(test_gen2_doorbell_push_rings_once),
                cmocka_unit_test(test_gen2_doorbell_switch_input_rings_on_edge),
                cmocka_unit_test(test_blu_window_open_close),
                cmocka_unit_test(test_blu_relay_offline_is_bridge),
                cmocka_unit_test(test_blu_button_as_doorbell),
                cmocka_unit_test(test_bthome_components),
                cmocka_unit_test(test_invalid_payloads),
                cmocka_unit_test(test_invalid_message_leaves_no_trace),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test-adapter-tasmota.c: the Tasmota adapter (GPIO switch, 433 MHz RF bridge with a per-device
 * code map, Zigbee bridge) against Tasmota's payloads (tests/fixtures/devices/tasmota/). */
#include "adapter-test.h"

#define RF_CODES                                                                                   \
        "\"codes\":{\"4AF10A\":\"open\",\"4AF10E\":\"closed\",\"4AF107\":\"tamper\","              \
        "\"4AF106\":\"battery_low\"}"

static void sw(struct tdev *t, enum device_kind kind, bool invert)
{
        tdev_init(t, "tasmota", kind, invert, "{\"tasmota_topic\":\"door402\"}");
}

static void rf(struct tdev *t)
{
        tdev_init(t, "tasmota", DEVICE_DOOR_CONTACT, false,
                  "{\"tasmota_topic\":\"rfbridge\",\"tasmota_mode\":\"rf\"," RF_CODES "}");
}

static void zb(struct tdev *t, const char *dev)
{
        char json[256];

        snprintf(json, sizeof(json),
                 "{\"tasmota_topic\":\"zbbridge\",\"tasmota_mode\":\"zigbee\","
                 "\"zigbee_device\":\"%s\"}",
                 dev);
        tdev_init(t, "tasmota", DEVICE_DOOR_CONTACT, false, json);
}

static void test_topics(void **state)
{
        struct tdev t;
        struct route_list l;

        sw(&t, DEVICE_DOOR_CONTACT, false);
        tdev_routes(&t, &l);
        assert_int_equal(l.n, 3);
        assert_true(has_route(&l, "tele/door402/LWT"));
        assert_true(has_route(&l, "tele/door402/SENSOR"));
        assert_true(has_route(&l, "stat/door402/RESULT"));
        tdev_done(&t);

        rf(&t);
        tdev_routes(&t, &l);
        assert_int_equal(l.n, 2);
        assert_true(has_route(&l, "tele/rfbridge/LWT"));
        assert_true(has_route(&l, "tele/rfbridge/RESULT"));
        tdev_done(&t);

        zb(&t, "0x8F20");
        tdev_routes(&t, &l);
        assert_int_equal(l.n, 2);
        assert_true(has_route(&l, "tele/zbbridge/SENSOR"));
        tdev_done(&t);

        /* FullTopic in another order */
        tdev_init(&t, "tasmota", DEVICE_DOOR_CONTACT, false,
                  "{\"tasmota_topic\":\"door402\",\"full_topic\":\"ward3/%topic%/%prefix%/\"}");
        tdev_routes(&t, &l);
        assert_true(has_route(&l, "ward3/door402/tele/LWT"));
        assert_true(has_route(&l, "ward3/door402/stat/RESULT"));
        tdev_done(&t);
}

static void test_parse_errors(void **state)
{
        static const struct {
                const char *json, *path;
        } cases[] = {
                { "{}", "[0].devices[0].tasmota_topic" },
                { "{\"tasmota_topic\":\"a/b\"}", "[0].devices[0].tasmota_topic" },
                { "{\"tasmota_topic\":\"t\",\"tasmota_mode\":\"ir\"}",
                  "[0].devices[0].tasmota_mode" },
                { "{\"tasmota_topic\":\"t\",\"switch\":0}", "[0].devices[0].switch" },
                { "{\"tasmota_topic\":\"t\",\"switch\":29}", "[0].devices[0].switch" },
                { "{\"tasmota_topic\":\"t\",\"tasmota_mode\":\"rf\"}", "[0].devices[0].codes" },
                { "{\"tasmota_topic\":\"t\",\"tasmota_mode\":\"rf\",\"codes\":{}}",
                  "[0].devices[0].codes" },
                { "{\"tasmota_topic\":\"t\",\"tasmota_mode\":\"rf\",\"codes\":{\"XYZ\":\"open\"}}",
                  "[0].devices[0].codes.XYZ" },
                { "{\"tasmota_topic\":\"t\",\"tasmota_mode\":\"rf\",\"codes\":{\"123456789\":"
                  "\"open\"}}",
                  "[0].devices[0].codes.123456789" },
                { "{\"tasmota_topic\":\"t\",\"tasmota_mode\":\"rf\",\"codes\":{\"4AF10A\":\"ajar\"}"
                  "}",
                  "[0].devices[0].codes.4AF10A" },
                { "{\"tasmota_topic\":\"t\",\"tasmota_mode\":\"rf\",\"codes\":{\"4AF10A\":\"open\","
                  "\"0x4af10a\":\"closed\"}}",
                  "[0].devices[0].codes.0x4af10a" },
                { "{\"tasmota_topic\":\"t\",\"codes\":{\"4AF10A\":\"open\"}}",
                  "[0].devices[0].codes" },
                { "{\"tasmota_topic\":\"t\",\"tasmota_mode\":\"zigbee\"}",
                  "[0].devices[0].zigbee_device" },
                { "{\"tasmota_topic\":\"t\",\"full_topic\":\"%prefix%/%hostname%/\"}",
                  "[0].devices[0].full_topic" },
                { "{\"tasmota_topic\":\"t\",\"full_topic\":\"%prefix%/%topic%/#\"}",
                  "[0].devices[0].full_topic" },
        };
        struct tdev t;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                assert_int_equal(tdev_try(&t, "tasmota", DEVICE_DOOR_CONTACT, false, cases[i].json),
                                 -EINVAL);
                assert_diag(cases[i].path);
        }
}

static void test_switch_mode15_sensor(void **state)
{
        struct tdev t;

        sw(&t, DEVICE_DOOR_CONTACT, false);
        assert_int_equal(tdev_fixture(&t, "tele/door402/SENSOR", "sensor-switch-on.json", false),
                         ADAPTER_OK);
        assert_door(&t, DOOR_OPEN, false);
        assert_int_equal(tdev_fixture(&t, "tele/door402/SENSOR", "sensor-switch-off.json", false),
                         ADAPTER_OK);
        assert_door(&t, DOOR_CLOSED, false);
        /* another switch of the same Tasmota: not this door */
        assert_int_equal(tdev_fixture(&t, "tele/door402/SENSOR", "sensor-switch2-on.json", false),
                         ADAPTER_E_IGNORED);
        /* periodic telemetry proves the device alive */
        t.now_usec += 5 * USEC_PER_MIN;
        assert_int_equal(tdev_fixture(&t, "tele/door402/SENSOR", "sensor-telemetry.json", false),
                         ADAPTER_OK);
        only(&t, EVENT_HEARTBEAT);
        tdev_done(&t);
}

static void test_switch_setoption114_result(void **state)
{
        struct tdev t;

        sw(&t, DEVICE_DOOR_CONTACT, false);
        assert_int_equal(
            tdev_fixture(&t, "stat/door402/RESULT", "result-switch-action-on.json", false),
            ADAPTER_OK);
        assert_door(&t, DOOR_OPEN, false);
        assert_int_equal(
            tdev_fixture(&t, "stat/door402/RESULT", "result-switch-action-off.json", false),
            ADAPTER_OK);
        assert_door(&t, DOOR_CLOSED, false);
        assert_int_equal(tdev_fixture(&t, "stat/door402/RESULT", "result-power.json", false),
                         ADAPTER_E_IGNORED);
        tdev_done(&t);
}

static void test_switch_text_name(void **state)
{
        struct tdev t;

        tdev_init(&t, "tasmota", DEVICE_DOOR_CONTACT, false,
                  "{\"tasmota_topic\":\"door402\",\"switch\":\"Door\"}");
        assert_int_equal(
            tdev_fixture(&t, "tele/door402/SENSOR", "sensor-switchtext-on.json", false),
            ADAPTER_OK);
        assert_door(&t, DOOR_OPEN, false);
        tdev_done(&t);
}

static void test_pitfall1_polarity_switch_wiring_invert(void **state)
{
        struct tdev t;

        sw(&t, DEVICE_DOOR_CONTACT, true);
        tdev_fixture(&t, "tele/door402/SENSOR", "sensor-switch-on.json", false);
        assert_door(&t, DOOR_CLOSED, false);
        tdev_done(&t);
}

static void test_switch_doorbell(void **state)
{
        struct tdev t;

        sw(&t, DEVICE_DOORBELL, false);
        assert_int_equal(
            tdev_fixture(&t, "stat/door402/RESULT", "result-switch-action-on.json", false),
            ADAPTER_OK);
        only(&t, EVENT_RING);
        assert_int_equal(
            tdev_fixture(&t, "stat/door402/RESULT", "result-switch-action-off.json", false),
            ADAPTER_E_IGNORED);
        assert_int_equal(
            tdev_fixture(&t, "stat/door402/RESULT", "result-switch-action-toggle.json", false),
            ADAPTER_OK);
        only(&t, EVENT_RING);
        tdev_done(&t);
}

static void test_pitfall2_lwt_online_offline(void **state)
{
        struct tdev t;
        const struct event *e;

        sw(&t, DEVICE_DOOR_CONTACT, false);
        assert_int_equal(tdev_fixture(&t, "tele/door402/LWT", "lwt-offline.txt", true), ADAPTER_OK);
        e = only(&t, EVENT_AVAILABILITY);
        assert_false(e->online);
        assert_false(e->bridge);
        assert_true(e->retained);
        assert_int_equal(tdev_fixture(&t, "tele/door402/LWT", "lwt-online.txt", true), ADAPTER_OK);
        assert_true(only(&t, EVENT_AVAILABILITY)->online);
        tdev_done(&t);

        /* a bridge's LWT is the availability of every sensor behind it */
        rf(&t);
        assert_int_equal(tdev_fixture(&t, "tele/rfbridge/LWT", "lwt-offline.txt", true),
                         ADAPTER_OK);
        e = only(&t, EVENT_AVAILABILITY);
        assert_true(e->bridge);
        assert_string_equal(e->bridge_id, "tele/rfbridge/LWT");
        tdev_done(&t);
}

static void test_rf_codes(void **state)
{
        struct tdev t;
        const struct event *e;

        rf(&t);
        assert_int_equal(tdev_fixture(&t, "tele/rfbridge/RESULT", "rf-open.json", false),
                         ADAPTER_OK);
        assert_door(&t, DOOR_OPEN, false);
        assert_int_equal(tdev_fixture(&t, "tele/rfbridge/RESULT", "rf-closed.json", false),
                         ADAPTER_OK);
        assert_door(&t, DOOR_CLOSED, false);
        assert_int_equal(tdev_fixture(&t, "tele/rfbridge/RESULT", "rf-tamper.json", false),
                         ADAPTER_OK);
        assert_true(only(&t, EVENT_TAMPER)->tampered);
        assert_int_equal(tdev_fixture(&t, "tele/rfbridge/RESULT", "rf-battery-low.json", false),
                         ADAPTER_OK);
        e = only(&t, EVENT_BATTERY);
        assert_true(e->battery_low);
        assert_int_equal(e->battery_percent, -1);
        /* the rc-switch form with 0x */
        assert_int_equal(tdev_fixture(&t, "tele/rfbridge/RESULT", "rf-open-rcswitch.json", false),
                         ADAPTER_OK);
        assert_door(&t, DOOR_OPEN, false);
        tdev_done(&t);
}

static void test_rf_shared_bridge(void **state)
{
        struct tdev t;

        rf(&t);
        assert_int_equal(tdev_fixture(&t, "tele/rfbridge/RESULT", "rf-other-sensor.json", false),
                         ADAPTER_E_NOT_MINE);
        assert_int_equal(tdev_fixture(&t, "tele/rfbridge/RESULT", "rf-result-command.json", false),
                         ADAPTER_E_IGNORED);
        assert_int_equal(tdev_fixture(&t, "tele/rfbridge/RESULT", "rf-no-data.json", false),
                         ADAPTER_E_INVALID);
        tdev_done(&t);
}

static void test_pitfall6_rf_repeats_debounced(void **state)
{
        struct tdev t;

        rf(&t);
        t.debounce_usec = 2 * USEC_PER_SEC;
        assert_int_equal(tdev_fixture(&t, "tele/rfbridge/RESULT", "rf-open.json", false),
                         ADAPTER_OK);
        /* the sensor repeats its code: 1 s apart, a burst of five */
        for (int i = 0; i < 5; i++)
                assert_int_equal(tdev_fixture(&t, "tele/rfbridge/RESULT", "rf-open.json", false),
                                 ADAPTER_E_IGNORED);
        /* a different code is not a repeat */
        assert_int_equal(tdev_fixture(&t, "tele/rfbridge/RESULT", "rf-closed.json", false),
                         ADAPTER_OK);
        assert_door(&t, DOOR_CLOSED, false);
        assert_int_equal(tdev_fixture(&t, "tele/rfbridge/RESULT", "rf-closed.json", false),
                         ADAPTER_E_IGNORED);
        /* an open-only sensor opening again later is reported again */
        assert_int_equal(tdev_fixture(&t, "tele/rfbridge/RESULT", "rf-open.json", false),
                         ADAPTER_OK);
        t.now_usec += 10 * USEC_PER_SEC;
        assert_int_equal(tdev_fixture(&t, "tele/rfbridge/RESULT", "rf-open.json", false),
                         ADAPTER_OK);
        assert_door(&t, DOOR_OPEN, false);
        tdev_done(&t);
}

static void test_zigbee_bridge(void **state)
{
        struct tdev t;
        const struct event *e;

        zb(&t, "0x8F20");
        assert_int_equal(tdev_fixture(&t, "tele/zbbridge/SENSOR", "zb-contact-open.json", false),
                         ADAPTER_OK);
        /* pitfall 1: Tasmota's Contact 1 = open, the opposite of zigbee2mqtt */
        assert_door(&t, DOOR_OPEN, false);
        assert_int_equal(tdev_fixture(&t, "tele/zbbridge/SENSOR", "zb-contact-closed.json", false),
                         ADAPTER_OK);
        assert_int_equal(t.out.n_events, 2);
        assert_int_equal(ev(&t, 0, EVENT_DOOR)->door, DOOR_CLOSED);
        e = ev(&t, 1, EVENT_BATTERY);
        assert_int_equal(e->battery_percent, 84);
        assert_int_equal(e->battery_mv, 2900);
        /* pitfall 5: a battery report without Contact leaves the door as it was */
        assert_int_equal(tdev_fixture(&t, "tele/zbbridge/SENSOR", "zb-battery-only.json", false),
                         ADAPTER_OK);
        assert_int_equal(only(&t, EVENT_BATTERY)->battery_percent, 60);
        assert_int_equal(t.st.door, DOOR_CLOSED);
        assert_int_equal(tdev_fixture(&t, "tele/zbbridge/SENSOR", "zb-other-device.json", false),
                         ADAPTER_E_NOT_MINE);
        assert_int_equal(
            tdev_fixture(&t, "tele/zbbridge/SENSOR", "zb-bridge-telemetry.json", false),
            ADAPTER_E_IGNORED);
        assert_int_equal(tdev_fixture(&t, "tele/zbbridge/SENSOR", "zb-contact-bogus.json", false),
                         ADAPTER_E_INVALID);
        tdev_done(&t);

        /* addressed by friendly name (SetOption83 keys or the Name field) */
        zb(&t, "Door402");
        assert_int_equal(tdev_fixture(&t, "tele/zbbridge/SENSOR", "zb-friendly-key.json", false),
                         ADAPTER_OK);
        assert_door(&t, DOOR_OPEN, false);
        assert_int_equal(tdev_fixture(&t, "tele/zbbridge/SENSOR", "zb-contact-closed.json", false),
                         ADAPTER_OK);
        assert_int_equal(ev(&t, 0, EVENT_DOOR)->door, DOOR_CLOSED);
        tdev_done(&t);

        /* short addresses compare case-insensitively */
        zb(&t, "0x8f20");
        assert_int_equal(tdev_fixture(&t, "tele/zbbridge/SENSOR", "zb-contact-open.json", false),
                         ADAPTER_OK);
        tdev_done(&t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_topics),
                cmocka_unit_test(test_parse_errors),
                cmocka_unit_test(test_switch_mode15_sensor),
                cmocka_unit_test(test_switch_setoption114_result),
                cmocka_unit_test(test_switch_text_name),
                cmocka_unit_test(test_pitfall1_polarity_switch_wiring_invert),
                cmocka_unit_test(test_switch_doorbell),
                cmocka_unit_test(test_pitfall2_lwt_online_offline),
                cmocka_unit_test(test_rf_codes),
                cmocka_unit_test(test_rf_shared_bridge),
                cmocka_unit_test(test_pitfall6_rf_repeats_debounced),
                cmocka_unit_test(test_zigbee_bridge),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

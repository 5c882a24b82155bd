/* test-devices.c: one device of every ecosystem in one configuration, driven through the
 * real broker with the ecosystem's own payloads into the real doorwatchd: door openings
 * become door_open_unexpected for the household, camera and doorbell events are stored,
 * availability and LWT offline become device_offline for the community worker and the
 * installer (a bridge's offline one alert for the bridge), battery_low is raised once,
 * tamper escalates, and a silent device goes offline after its offline_after. Then the
 * installer tools: `doorwatchctl device verify` against a simulated zigbee2mqtt sensor
 * (pass, wrong friendly name, wrong polarity, retained only, a doorbell) and `device
 * discover` listing devices that are not in the registry. */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"

#define NOTIFY "doorwatch/v1/workers/+/notify"

#define HOUSEHOLD(id, device)                                                                      \
        "{\"id\": \"" id "\", \"community\": \"alpha\", \"address\": \"测试路 " id "\","           \
        " \"observation\": {\"start\": \"2020-01-01T00:00:00+08:00\","                             \
        "                   \"end\": \"2099-01-01T00:00:00+08:00\"},"                              \
        " \"team\": {\"community\": \"w-a-01\", \"medical\": \"w-a-02\", \"police\": \"w-a-03\"}," \
        " \"devices\": [" device "]}"

/* One device of each ecosystem, each in its own household. */
static const char *households =
    "[" HOUSEHOLD(
        "H-NAT",
        "{\"id\": \"d-nat\", \"kind\": \"door_contact\", \"source\": "
        "\"native\"}") "," HOUSEHOLD("H-Z2M", "{\"id\": \"d-z2m\", \"kind\": "
                                              "\"door_contact\", \"source\": "
                                              "\"zigbee2mqtt\","
                                              " \"friendly_name\": \"t/z2m "
                                              "door\"}") "," HOUSEHOLD("H-Z2B", "{\"id\": "
                                                                                "\"d-z2b\","
                                                                                " "
                                                                                "\"kind\": "
                                                                                "\"doorbell"
                                                                                "\", "
                                                                                "\"source\""
                                                                                ": "
                                                                                "\"zigbee2m"
                                                                                "qtt\","
                                                                                " \"friendl"
                                                                                "y_name\":"
                                                                                " \"t/z2m "
                                                                                "bell\"}") "," HOUSEHOLD("H-SH1", "{\"id\": \"d-sh1\", \"kind\": \"door_contact\", \"source\": \"shelly\","
                                                                                                                  " \"shelly_id\": \"shellydw2-483FDA\"}") "," HOUSEHOLD("H-SH2", "{\"id\": \"d-sh2\", \"kind\": \"door_contact\", \"source\": \"shelly\","
                                                                                                                                                                                  " \"shelly_id\": \"shellyplusi4-a8032ab12345\", \"input\": 0}") "," HOUSEHOLD("H-FRG", "{\"id\": \"d-frg\", \"kind\": \"camera\", \"source\": \"frigate\","
                                                                                                                                                                                                                                                                         " \"camera\": \"front_door\", \"zones_out\": [\"stairs\"]}") "," HOUSEHOLD("H-RNG", "{\"id\": \"d-rng\", \"kind\": \"doorbell\", \"source\": \"ring\","
                                                                                                                                                                                                                                                                                                                                                             " \"location_id\": \"loc1\", \"ring_device_id\": \"3c8d2f112233\"}") "," HOUSEHOLD("H-TSW", "{\"id\": \"d-tsw\", \"kind\": \"door_contact\", \"source\": \"tasmota\","
                                                                                                                                                                                                                                                                                                                                                                                                                                                         " \"tasmota_topic\": \"door-sw\"}") "," HOUSEHOLD("H-TRF",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                           "{\"id\": \"d-trf\", \"kind\": \"door_contact\", \"source\": \"tasmota\","
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                           " \"tasmota_topic\": \"rfbridge\", \"tasmota_mode\": \"rf\","
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                           " \"codes\": {\"4AF10A\": \"open\", \"4AF10E\": \"closed\","
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                           "             \"4AF107\": \"tamper\"}}") "," HOUSEHOLD("H-TZB",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                  "{\"id\": \"d-tzb\", \"kind\": \"door_contact\", \"source\": \"tasmota\","
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                  " \"tasmota_topic\": \"zbbridge\", \"tasmota_mode\": \"zigbee\","
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                  " \"zigbee_device\": \"0x8F20\"}") "," HOUSEHOLD("H-ESP",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                   "{\"id\": \"d-esp\", \"kind\": \"door_contact\", \"source\": \"esphome\","
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                   " \"esphome_prefix\": \"door-node\", \"object_id\": \"front_door\","
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                   " \"battery_object_id\": \"battery\"}") "]";

/* The door of every door contact opening, in the ecosystem's words. */
static const struct {
        const char *device, *topic, *payload;
} openings[] = {
        { "d-nat", "doorwatch/v1/devices/d-nat/events",
          "{\"id\": \"n-1\", \"type\": \"door\", \"state\": \"open\"}" },
        { "d-z2m", "zigbee2mqtt/t/z2m door",
          "{\"battery\":97,\"contact\":false,\"linkquality\":120,\"voltage\":3005}" },
        { "d-sh1", "shellies/shellydw2-483FDA/sensor/state", "open" },
        { "d-sh2", "shellyplusi4-a8032ab12345/events/rpc",
          "{\"src\":\"shellyplusi4-a8032ab12345\",\"dst\":\"shellyplusi4-a8032ab12345/events\","
          "\"method\":\"NotifyStatus\",\"params\":{\"ts\":1580860800.25,"
          "\"input:0\":{\"id\":0,\"state\":true}}}" },
        { "d-tsw", "tele/door-sw/SENSOR", "{\"Time\":\"2021-01-01T00:00:00\",\"Switch1\":\"ON\"}" },
        { "d-trf", "tele/rfbridge/RESULT",
          "{\"Time\":\"2021-01-01T00:00:00\",\"RfReceived\":{\"Sync\":14090,\"Low\":470,"
          "\"High\":1360,\"Data\":\"4AF10A\",\"RfKey\":\"None\"}}" },
        { "d-tzb", "tele/zbbridge/SENSOR",
          "{\"ZbReceived\":{\"0x8F20\":{\"Device\":\"0x8F20\",\"Name\":\"Door402\",\"Contact\":1,"
          "\"Endpoint\":1,\"LinkQuality\":65}}}" },
        { "d-esp", "door-node/binary_sensor/front_door/state", "ON" },
};

static const char *frigate_person_out =
    "{\"type\":\"new\",\"before\":{\"id\":\"1580860900.50-q7b2zd\",\"camera\":\"front_door\","
    "\"label\":\"person\",\"sub_label\":null,\"top_score\":0.78,\"false_positive\":false,"
    "\"start_time\":1580860800.25,\"end_time\":null,\"current_zones\":[],\"entered_zones\":[]},"
    "\"after\":{\"id\":\"1580860900.50-q7b2zd\",\"camera\":\"front_door\",\"label\":\"person\","
    "\"sub_label\":null,\"top_score\":0.84,\"false_positive\":false,\"start_time\":1580860800.25,"
    "\"end_time\":null,\"current_zones\":[\"stairs\"],\"entered_zones\":[\"doorstep\",\"stairs\"],"
    "\"has_clip\":true,\"has_snapshot\":true}}";

static int setup(void **state)
{
        struct harness *h = calloc(1, sizeof(*h));

        h_init(h);
        h_write_conf(h, "households.json", households);
        h_start_broker(h);
        h_start_daemon(h);
        *state = h;
        return 0;
}

static int teardown(void **state)
{
        struct harness *h = *state;

        h_cleanup(h);
        free(h);
        return 0;
}

/* The workers notified (sorted, comma-separated) of alerts of kind at device. */
static const char *notified(struct harness *h, const char *kind, const char *device)
{
        return h_db_text(h,
                         "SELECT group_concat(worker, ',') FROM (SELECT DISTINCT n.worker FROM"
                         " notification n JOIN alert a ON a.id = n.alert_id WHERE a.kind = %Q AND"
                         " a.device = %Q ORDER BY n.worker) AS w",
                         kind, device);
}

static void test_door_open_each_ecosystem(void **state)
{
        struct harness *h = *state;

        for (size_t i = 0; i < sizeof(openings) / sizeof(openings[0]); i++)
                h_publish(h, openings[i].topic, openings[i].payload, false);
        /* a ring of each doorbell, and the camera seeing a person leave */
        h_publish(h, "zigbee2mqtt/t/z2m bell", "{\"action\":\"single\",\"battery\":90}", false);
        h_publish(h, "ring/loc1/camera/3c8d2f112233/ding/state", "ON", false);
        h_publish(h, "frigate/events", frigate_person_out, false);

        assert_int_equal(h_db_wait_int(h, 8, 10000,
                                       "SELECT count(DISTINCT household) FROM alert WHERE kind ="
                                       " 'door_open_unexpected'"),
                         8);
        for (size_t i = 0; i < sizeof(openings) / sizeof(openings[0]); i++) {
                const char *dev = openings[i].device;
                if (h_db_int(h,
                             "SELECT count(*) FROM event WHERE device = %Q AND type = 'door' AND"
                             " state = 'open' AND verdict = 'alert' AND alert_id IS NOT NULL",
                             dev) != 1)
                        fail_msg("%s: no alerting door open event", dev);
        }
        /* the team of each household: 3 workers per alert */
        assert_int_equal(h_wait_messages(h, NOTIFY, 24, 10000), 24);
        assert_int_equal(h_db_wait_int(h, 1, 5000,
                                       "SELECT count(*) FROM event WHERE device = 'd-frg' AND"
                                       " type = 'person' AND state = 'out'"),
                         1);
        assert_int_equal(h_db_wait_int(h, 2, 5000,
                                       "SELECT count(*) FROM event WHERE type = 'ring' AND"
                                       " device IN ('d-z2b', 'd-rng') AND verdict = 'ignored'"),
                         2);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM alert WHERE household IN"
                                     " ('H-FRG', 'H-RNG', 'H-Z2B')"),
                         0);
}

static int setup_held_open(void **state)
{
        struct harness *h = calloc(1, sizeof(*h));

        h_init(h);
        h_write_conf(h, "households.json", households);
        h_write_default_config(h, "\"policy\": {\"held_open_after\": \"2s\"}");
        h_start_broker(h);
        h_start_daemon(h);
        *state = h;
        return 0;
}

/* Full-state reports (issue 16): zigbee2mqtt repeats a contact's whole state in every
 * report, a Shelly its sensor's at every wake-up. The "closed" of an opening is lost; the
 * next report, which says closed, closes the door raising nothing, and a door whose last
 * report says closed is not held open (held_open_after 2s here). */
static void test_full_state_report_closes_the_door(void **state)
{
        struct harness *h = *state;

        h_publish(h, "zigbee2mqtt/t/z2m door",
                  "{\"battery\":97,\"contact\":false,\"linkquality\":120,\"voltage\":3005}", false);
        h_publish(h, "shellies/shellydw2-483FDA/sensor/state", "open", false);
        assert_int_equal(h_wait_messages(h, NOTIFY, 6, 5000), 6); /* the openings, settled */
        /* Their closes are lost; the next reports repeat the state. */
        h_publish(h, "zigbee2mqtt/t/z2m door",
                  "{\"battery\":96,\"contact\":true,\"linkquality\":110,\"voltage\":3000}", false);
        h_publish(h, "shellies/shellydw2-483FDA/sensor/battery", "96", false);
        h_publish(h, "shellies/shellydw2-483FDA/sensor/state", "close", false);
        h_publish(h, "zigbee2mqtt/t/z2m door",
                  "{\"battery\":96,\"contact\":true,\"linkquality\":90,\"voltage\":3000}", false);
        h_publish(h, "shellies/shellydw2-483FDA/sensor/state", "close", false);
        assert_int_equal(
            h_db_wait_int(h, 2, 5000,
                          "SELECT count(*) FROM event WHERE device IN ('d-z2m',"
                          " 'd-sh1') AND type = 'door' AND state = 'closed'"
                          " AND verdict = 'ignored' AND reason LIKE 'door closed after%%'"),
            2);
        h_pump(h, 2500);
        assert_int_equal(h_count_messages(h, NOTIFY), 6);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM alert WHERE kind = 'door_held_open'"),
                         0);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM alert"), 2);
}

static void test_availability_offline_to_community_and_installer(void **state)
{
        struct harness *h = *state;

        /* both zigbee2mqtt forms, ESPHome's and a native device's LWT */
        h_publish(h, "zigbee2mqtt/t/z2m door/availability", "{\"state\":\"offline\"}", false);
        h_publish(h, "zigbee2mqtt/t/z2m bell/availability", "offline", false);
        h_publish(h, "door-node/status", "offline", true);
        h_publish(h, "doorwatch/v1/devices/d-nat/status", "offline", true);
        h_publish(h, "tele/door-sw/LWT", "Offline", true);
        h_publish(h, "ring/loc1/camera/3c8d2f112233/status", "offline", false);
        assert_int_equal(
            h_db_wait_int(h, 6, 10000, "SELECT count(*) FROM alert WHERE kind = 'device_offline'"),
            6);
        /* the community worker and the community's installer, nobody else; severity low */
        assert_int_equal(h_wait_messages(h, NOTIFY, 12, 10000), 12);
        h_pump(h, 200);
        assert_int_equal(h_count_messages(h, NOTIFY), 12);
        assert_int_equal(h_count_messages(h, "doorwatch/v1/workers/w-a-01/notify"), 6);
        assert_int_equal(h_count_messages(h, "doorwatch/v1/workers/w-a-09/notify"), 6);
        {
                const struct h_msg *m = h_message(h, "doorwatch/v1/workers/w-a-09/notify", 0);
                cJSON *j = cJSON_Parse(m->payload);
                assert_string_equal(cJSON_GetObjectItem(j, "kind")->valuestring, "device_offline");
                assert_string_equal(cJSON_GetObjectItem(j, "severity")->valuestring, "low");
                assert_string_equal(cJSON_GetObjectItem(j, "role")->valuestring, "installer");
                cJSON_Delete(j);
        }
        assert_string_equal(notified(h, "device_offline", "d-z2m"), "w-a-01,w-a-09");
        assert_string_equal(notified(h, "device_offline", "d-esp"), "w-a-01,w-a-09");
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM alert WHERE kind = 'device_offline' AND"
                                     " next_usec IS NOT NULL AND step = 0"),
                         6); /* daily reminder, no escalation */
        /* back online (the other zigbee2mqtt form): recovery recorded, the alert stays open */
        h_publish(h, "zigbee2mqtt/t/z2m door/availability", "online", false);
        h_publish(h, "door-node/status", "online", true);
        assert_int_equal(
            h_db_wait_int(h, 2, 5000, "SELECT count(*) FROM action WHERE kind = 'recovered'"), 2);
        assert_string_equal(h_db_text(h, "SELECT state FROM alert WHERE device = 'd-z2m'"), "open");
        assert_non_null(strstr(h_db_text(h, "SELECT reason FROM event WHERE device = 'd-z2m'"
                                            " AND state = 'online'"),
                               "device back"));
}

static void test_bridge_offline_is_one_alert(void **state)
{
        struct harness *h = *state;

        /* two zigbee2mqtt devices (two households) behind one bridge; Frigate; an RF bridge */
        h_publish(h, "zigbee2mqtt/bridge/state", "offline", true);
        h_publish(h, "frigate/available", "offline", true);
        h_publish(h, "tele/rfbridge/LWT", "Offline", true);
        assert_int_equal(
            h_db_wait_int(h, 3, 10000, "SELECT count(*) FROM alert WHERE kind = 'device_offline'"),
            3);
        assert_int_equal(h_db_wait_int(h, 2, 5000,
                                       "SELECT count(*) FROM event WHERE type = 'availability'"
                                       " AND device IN ('d-z2m', 'd-z2b')"),
                         2);
        h_pump(h, 200);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM alert WHERE device ="
                                     " 'zigbee2mqtt/bridge/state'"),
                         1);
        assert_int_equal(
            h_db_int(h, "SELECT count(*) FROM alert WHERE device = 'frigate/available'"), 1);
        assert_int_equal(
            h_db_int(h, "SELECT count(*) FROM alert WHERE device = 'tele/rfbridge/LWT'"), 1);
        assert_string_equal(notified(h, "device_offline", "zigbee2mqtt/bridge/state"),
                            "w-a-01,w-a-09");
        assert_non_null(strstr(h_db_text(h, "SELECT reason FROM alert WHERE device ="
                                            " 'zigbee2mqtt/bridge/state'"),
                               "every device behind it"));
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM event WHERE type = 'availability' AND"
                                     " verdict = 'ignored' AND reason LIKE '%%one alert for the"
                                     " whole bridge%%'"),
                         1);
        /* back, in the JSON form */
        h_publish(h, "zigbee2mqtt/bridge/state", "{\"state\":\"online\"}", true);
        assert_int_equal(h_db_wait_int(h, 1, 5000,
                                       "SELECT count(*) FROM action WHERE kind = 'recovered' AND"
                                       " actor = 'zigbee2mqtt/bridge/state'"),
                         1);
}

static void test_battery_low_once(void **state)
{
        struct harness *h = *state;

        h_publish(h, "zigbee2mqtt/t/z2m door",
                  "{\"battery\":9,\"battery_low\":true,\"contact\":true,\"linkquality\":140,"
                  "\"tamper\":false,\"voltage\":2550}",
                  false);
        h_publish(h, "zigbee2mqtt/t/z2m door",
                  "{\"battery\":8,\"battery_low\":true,\"contact\":true,\"linkquality\":140,"
                  "\"tamper\":false,\"voltage\":2540}",
                  false);
        h_publish(h, "shellies/shellydw2-483FDA/sensor/battery", "9", false);
        h_publish(h, "ring/loc1/camera/3c8d2f112233/info/state",
                  "{\"batteryLevel\":8,\"batteryStatus\":\"low\",\"commStatus\":\"ok\","
                  "\"tamperStatus\":\"ok\"}",
                  false);
        h_publish(h, "door-node/sensor/battery/state", "12", false);
        assert_int_equal(
            h_db_wait_int(h, 4, 10000, "SELECT count(*) FROM alert WHERE kind = 'battery_low'"), 4);
        assert_int_equal(h_db_wait_int(h, 2, 5000,
                                       "SELECT count(*) FROM event WHERE device = 'd-z2m' AND"
                                       " type = 'battery'"),
                         2);
        h_pump(h, 200);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM alert WHERE kind = 'battery_low' AND"
                                     " device = 'd-z2m'"),
                         1);
        assert_int_equal(h_db_int(h, "SELECT count FROM alert WHERE device = 'd-z2m'"), 2);
        assert_string_equal(notified(h, "battery_low", "d-z2m"), "w-a-01,w-a-09");
        assert_int_equal(h_wait_messages(h, NOTIFY, 8, 5000), 8);
        h_pump(h, 200);
        assert_int_equal(h_count_messages(h, NOTIFY), 8); /* 4 alerts x 2, the join is silent */
}

static void test_tamper_escalates_to_installer(void **state)
{
        struct harness *h = *state;

        h_publish(h, "tele/rfbridge/RESULT",
                  "{\"Time\":\"2021-01-01T00:01:00\",\"RfReceived\":{\"Sync\":14100,\"Low\":460,"
                  "\"High\":1370,\"Data\":\"4AF107\",\"RfKey\":\"None\"}}",
                  false);
        h_publish(h, "zigbee2mqtt/t/z2m door",
                  "{\"battery\":100,\"battery_low\":false,\"contact\":true,\"linkquality\":160,"
                  "\"tamper\":true,\"voltage\":3000}",
                  false);
        assert_int_equal(
            h_db_wait_int(h, 2, 10000, "SELECT count(*) FROM alert WHERE kind = 'tamper'"), 2);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM alert WHERE kind = 'tamper' AND"
                                     " severity = 'high' AND next_usec IS NOT NULL"),
                         2); /* escalates */
        assert_string_equal(notified(h, "tamper", "d-trf"), "w-a-01,w-a-09");
        assert_string_equal(notified(h, "tamper", "d-z2m"), "w-a-01,w-a-09");
}

static void test_silent_device_goes_offline(void **state)
{
        struct harness *h = *state;

        h_stop_daemon(h, SIGTERM);
        h_write_conf(h, "households.json",
                     "[" HOUSEHOLD("H-1",
                                   "{\"id\": \"d-quiet\", \"kind\": \"door_contact\","
                                   " \"source\": \"native\", \"offline_after\": \"2s\"}") "]");
        h_start_daemon(h);
        h_clear_messages(h);
        h_publish(h, "doorwatch/v1/devices/d-quiet/events",
                  "{\"id\": \"hb-1\", \"type\": \"heartbeat\"}", false);
        assert_int_equal(h_db_wait_int(h, 1, 5000, "SELECT count(*) FROM event WHERE uid = 'hb-1'"),
                         1);
        assert_string_equal(h_db_text(h, "SELECT verdict FROM event WHERE uid = 'hb-1'"),
                            "ignored");
        assert_int_equal(h_db_wait_int(h, 1, 10000,
                                       "SELECT count(*) FROM alert WHERE kind = 'device_offline'"
                                       " AND device = 'd-quiet'"),
                         1);
        assert_non_null(strstr(h_db_text(h, "SELECT reason FROM alert WHERE device = 'd-quiet'"),
                               "no sign of life from native device d-quiet"));
        assert_int_equal(h_wait_messages(h, NOTIFY, 2, 5000), 2);
        /* a sign of life: recovery recorded */
        h_publish(h, "doorwatch/v1/devices/d-quiet/events",
                  "{\"id\": \"hb-2\", \"type\": \"heartbeat\"}", false);
        assert_int_equal(h_db_wait_int(h, 1, 5000,
                                       "SELECT count(*) FROM action WHERE kind = 'recovered' AND"
                                       " actor = 'd-quiet'"),
                         1);
}

/* ---- doorwatchctl device verify / discover ---- */

struct bg {
        pid_t pid;
        char out[512];
};

static void bg_start(struct harness *h, struct bg *b, const char *const *args)
{
        static int seq;
        char bin[256];
        const char *argv[16] = { bin, "-c", h->confdir };
        size_t n = 3;

        snprintf(bin, sizeof(bin), "%s/doorwatchctl", h_build_dir());
        snprintf(b->out, sizeof(b->out), "%s/ctl-%d.out", h->dir, ++seq);
        for (size_t i = 0; args[i] && n < 15; i++)
                argv[n++] = args[i];
        argv[n] = NULL;
        b->pid = fork();
        assert_true(b->pid >= 0);
        if (b->pid == 0) {
                int fd = open(b->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
                if (fd >= 0) {
                        dup2(fd, 1);
                        dup2(fd, 2);
                }
                execv(argv[0], (char *const *)argv);
                _exit(127);
        }
}

static char *slurp(const char *path)
{
        FILE *f = fopen(path, "r");
        char *buf = NULL;
        size_t len = 0;

        if (!f)
                return strdup("");
        if (getdelim(&buf, &len, 0, f) < 0) {
                free(buf);
                buf = strdup("");
        }
        fclose(f);
        return buf;
}

/* Waits (bounded) until the output contains text. */
static bool bg_wait_text(struct harness *h, struct bg *b, const char *text, int timeout_ms)
{
        for (int waited = 0; waited < timeout_ms; waited += 20) {
                char *out = slurp(b->out);
                bool found = strstr(out, text) != NULL;
                free(out);
                if (found)
                        return true;
                h_pump(h, 20);
        }
        return false;
}

/* Waits (bounded) for the exit; returns the status and the output in *out. */
static int bg_wait_exit(struct harness *h, struct bg *b, int timeout_ms, char **out)
{
        int status = 0;

        for (int waited = 0;; waited += 20) {
                pid_t p = waitpid(b->pid, &status, WNOHANG);
                if (p == b->pid)
                        break;
                if (waited > timeout_ms) {
                        kill(b->pid, SIGKILL);
                        waitpid(b->pid, &status, 0);
                        *out = slurp(b->out);
                        fail_msg("doorwatchctl did not finish: %s", *out);
                }
                h_pump(h, 20);
        }
        *out = slurp(b->out);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Waits until the daemon stored at least n events of the device: what the test published
 * has reached the broker (a retained message is then replayed to verify as retained). */
static void stored(struct harness *h, const char *device, int n)
{
        assert_int_equal(h_db_wait_int(h, 1, 5000,
                                       "SELECT count(*) >= %d FROM event WHERE device = %Q", n,
                                       device),
                         1);
}

static void test_verify_passes(void **state)
{
        struct harness *h = *state;
        const char *args[] = { "device", "verify", "d-z2m", "--timeout", "20s", NULL };
        struct bg b = { 0 };
        char *out;

        /* the sensor's last state is on the broker (retained), closed */
        h_publish(h, "zigbee2mqtt/t/z2m door",
                  "{\"battery\":100,\"contact\":true,\"linkquality\":178,\"voltage\":3000}", true);
        stored(h, "d-z2m", 1);
        bg_start(h, &b, args);
        assert_true(bg_wait_text(h, &b, "listening on", 10000));
        h_publish(h, "zigbee2mqtt/t/z2m door",
                  "{\"battery\":100,\"contact\":false,\"linkquality\":170,\"voltage\":3000}",
                  false);
        h_publish(h, "zigbee2mqtt/t/z2m door",
                  "{\"battery\":100,\"contact\":true,\"linkquality\":171,\"voltage\":3000}", false);
        assert_int_equal(bg_wait_exit(h, &b, 15000, &out), 0);
        assert_non_null(strstr(out, "door closed, battery 100% (retained)"));
        assert_non_null(strstr(out, "door open"));
        assert_non_null(strstr(out, "PASS: d-z2m showed an opening and a closing"));
        free(out);
}

static void test_verify_wrong_name(void **state)
{
        struct harness *h = *state;
        const char *args[] = { "device", "verify", "d-z2m", "--timeout", "3s", NULL };
        struct bg b = { 0 };
        char *out;

        bg_start(h, &b, args);
        assert_true(bg_wait_text(h, &b, "listening on", 10000));
        /* the sensor was paired under another friendly name */
        h_publish(h, "zigbee2mqtt/t/z2m_door",
                  "{\"battery\":100,\"contact\":false,\"linkquality\":170,\"voltage\":3000}",
                  false);
        assert_int_equal(bg_wait_exit(h, &b, 15000, &out), 1);
        assert_non_null(strstr(out, "FAIL: wrong name?"));
        assert_non_null(strstr(out, "\"t/z2m_door\""));
        assert_non_null(strstr(out, "Check \"friendly_name\""));
        free(out);
}

static void test_verify_wrong_polarity(void **state)
{
        struct harness *h = *state;
        const char *args[] = { "device", "verify", "d-z2m", "--timeout", "20s", NULL };
        struct bg b = { 0 };
        char *out;

        /* at rest the sensor says open: opening it reports closed, closing it open */
        h_publish(h, "zigbee2mqtt/t/z2m door", "{\"battery\":100,\"contact\":false}", true);
        stored(h, "d-z2m", 1);
        bg_start(h, &b, args);
        assert_true(bg_wait_text(h, &b, "listening on", 10000));
        h_publish(h, "zigbee2mqtt/t/z2m door", "{\"battery\":100,\"contact\":true}", false);
        h_publish(h, "zigbee2mqtt/t/z2m door", "{\"battery\":100,\"contact\":false}", false);
        if (bg_wait_exit(h, &b, 15000, &out) != 1)
                fail_msg("%s", out);
        assert_non_null(strstr(out, "FAIL: wrong polarity"));
        assert_non_null(strstr(out, "set \"invert\": true"));
        free(out);
}

static void test_verify_retained_only_and_doorbell(void **state)
{
        struct harness *h = *state;
        const char *args[] = { "--json", "device", "verify", "d-z2m", "--timeout", "2s", NULL };
        const char *bell[] = { "device", "verify", "d-rng", "--timeout", "20s", NULL };
        struct bg b = { 0 };
        char *out;
        cJSON *j;

        /* JSON output: the broker's retained copy is all there is */
        h_publish(h, "zigbee2mqtt/t/z2m door", "{\"battery\":100,\"contact\":true}", true);
        stored(h, "d-z2m", 1);
        bg_start(h, &b, args);
        assert_int_equal(bg_wait_exit(h, &b, 15000, &out), 1);
        j = cJSON_Parse(out);
        if (!j)
                fail_msg("not JSON: %s", out);
        if (strcmp(cJSON_GetObjectItem(j, "problem")->valuestring, "retained_only") != 0)
                fail_msg("%s", out);
        assert_string_equal(cJSON_GetObjectItem(j, "result")->valuestring, "FAIL");
        assert_non_null(
            strstr(cJSON_GetObjectItem(j, "explanation")->valuestring, "only retained messages"));
        assert_true(
            cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "seen"), 0), "retained")
                ->type == cJSON_True);
        cJSON_Delete(j);
        free(out);

        /* a Ring doorbell: its retained ding is no ring, a live one is */
        h_publish(h, "ring/loc1/camera/3c8d2f112233/ding/state", "ON", true);
        stored(h, "d-rng", 1);
        bg_start(h, &b, bell);
        assert_true(bg_wait_text(h, &b, "listening on", 10000));
        h_publish(h, "ring/loc1/camera/3c8d2f112233/ding/state", "OFF", false);
        h_publish(h, "ring/loc1/camera/3c8d2f112233/ding/state", "ON", false);
        assert_int_equal(bg_wait_exit(h, &b, 15000, &out), 0);
        assert_non_null(strstr(out, "ring (retained)"));
        assert_non_null(strstr(out, "PASS: d-rng rang."));
        free(out);
}

/* The installer's tools connect as every tool does (mqtt_session.h): TLS files that cannot
 * be read stop them with the file named (verify and discover used to go on without TLS). */
static void test_discover_refuses_unreadable_tls(void **state)
{
        struct harness *h = *state;
        const char *args[] = { "device", "discover", "--seconds", "2", NULL };
        struct bg b = { 0 };
        char conf[1024], *out;

        snprintf(conf, sizeof(conf),
                 "{\"timezone\": \"Asia/Shanghai\", \"database\": \"%s\",\n"
                 " \"mqtt\": {\"host\": \"127.0.0.1\", \"port\": %d,"
                 " \"tls\": {\"ca_file\": \"ca.pem\"}},\n"
                 " \"notifiers\": {\"mqtt\": {\"type\": \"mqtt\"}}}\n",
                 h->dbpath, h->port);
        h_write_conf(h, "doorwatch.json", conf);
        bg_start(h, &b, args);
        assert_int_equal(bg_wait_exit(h, &b, 15000, &out), 1);
        assert_non_null(strstr(out, "doorwatchctl: TLS setup: cannot read "));
        assert_non_null(strstr(out, "/ca.pem: No such file or directory"));
        free(out);
}

static void test_discover_lists_unregistered(void **state)
{
        struct harness *h = *state;
        const char *args[] = { "--json", "device", "discover", "--seconds", "2", NULL };
        char *out, *check = NULL, bin[256], buf[8192] = "";
        struct bg b = { 0 };
        cJSON *j, *it;
        bool z2m_new = false, tasmota_new = false, registered = false;
        size_t n = 0;

        h_publish(
            h, "zigbee2mqtt/bridge/devices",
            "[{\"ieee_address\":\"0x00124b0000000000\",\"type\":\"Coordinator\","
            "\"friendly_name\":\"Coordinator\",\"definition\":null},"
            "{\"ieee_address\":\"0x00158d0001a2b3c4\",\"type\":\"EndDevice\","
            "\"friendly_name\":\"t/z2m door\",\"definition\":{\"model\":\"MCCGQ11LM\","
            "\"vendor\":\"Xiaomi\",\"exposes\":[{\"type\":\"binary\",\"property\":\"contact\"}]}},"
            "{\"ieee_address\":\"0x00158d0001a2b3c5\",\"type\":\"EndDevice\","
            "\"friendly_name\":\"t/new door\",\"definition\":{\"model\":\"MCCGQ11LM\","
            "\"vendor\":\"Xiaomi\",\"exposes\":[{\"type\":\"binary\",\"property\":\"contact\"}]}},"
            "{\"ieee_address\":\"0x00158d0001a2b3c6\",\"type\":\"Router\","
            "\"friendly_name\":\"plug\",\"definition\":{\"model\":\"ZNCZ02LM\","
            "\"vendor\":\"Xiaomi\",\"exposes\":[{\"type\":\"switch\",\"features\":"
            "[{\"property\":\"state\"}]}]}}]",
            true);
        h_publish(h, "tele/door-sw/LWT", "Online", true);
        h_publish(h, "tele/new-sw/LWT", "Online", true);
        bg_start(h, &b, args);
        assert_int_equal(bg_wait_exit(h, &b, 15000, &out), 0);
        j = cJSON_Parse(out);
        if (!cJSON_IsArray(j))
                fail_msg("not a JSON array: %s", out);
        cJSON_ArrayForEach(it, j)
        {
                const char *name = cJSON_GetObjectItem(it, "name")->valuestring;
                char *entry = cJSON_PrintUnformatted(cJSON_GetObjectItem(it, "entry"));

                z2m_new = z2m_new || strcmp(name, "t/new door") == 0;
                tasmota_new = tasmota_new || strcmp(name, "new-sw") == 0;
                registered = registered || strcmp(name, "t/z2m door") == 0 ||
                             strcmp(name, "door-sw") == 0 || strcmp(name, "plug") == 0;
                n += (size_t)snprintf(buf + n, sizeof(buf) - n, ",%s", entry);
                free(entry);
        }
        assert_true(z2m_new);
        assert_true(tasmota_new);
        assert_false(registered);
        cJSON_Delete(j);
        free(out);
        /* the entries are ready to paste: the configuration with them is valid */
        {
                char hh[16384];
                snprintf(hh, sizeof(hh),
                         "[" HOUSEHOLD("H-NEW", "{\"id\": \"d-x\", \"kind\": \"door_contact\","
                                                " \"source\": \"native\"}%s") "]",
                         buf);
                h_write_conf(h, "households.json", hh);
        }
        snprintf(bin, sizeof(bin), "%s/doorwatchd", h_build_dir());
        const char *argv[] = { bin, "--check-config", "-c", h->confdir, NULL };
        if (h_run(&check, argv) != 0)
                fail_msg("pasted entries rejected: %s", check);
        free(check);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_door_open_each_ecosystem, setup, teardown),
                cmocka_unit_test_setup_teardown(test_full_state_report_closes_the_door,
                                                setup_held_open, teardown),
                cmocka_unit_test_setup_teardown(
                    test_availability_offline_to_community_and_installer, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bridge_offline_is_one_alert, setup, teardown),
                cmocka_unit_test_setup_teardown(test_battery_low_once, setup, teardown),
                cmocka_unit_test_setup_teardown(test_tamper_escalates_to_installer, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_silent_device_goes_offline, setup, teardown),
                cmocka_unit_test_setup_teardown(test_verify_passes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_verify_wrong_name, setup, teardown),
                cmocka_unit_test_setup_teardown(test_verify_wrong_polarity, setup, teardown),
                cmocka_unit_test_setup_teardown(test_verify_retained_only_and_doorbell, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_discover_lists_unregistered, setup, teardown),
                cmocka_unit_test_setup_teardown(test_discover_refuses_unreadable_tls, setup,
                                                teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

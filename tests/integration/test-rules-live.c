/* test-rules-live.c: the observation rules that need live time (a deadline with no event:
 * an opening settled after chatter_settle, held open, hand-off expired, pass overdue,
 * observation ended), restart reconciliation of
 * retained door states, rule state surviving a restart, tamper recipients, debounce, and
 * the commands' replies, refusals and doorwatchctl. Deadlines are configured in seconds and
 * waited for with bounded polling; nothing sleeps. */
#include <cjson/cJSON.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "harness.h"

#define NOTIFY  "doorwatch/v1/workers/+/notify"
#define RESULTS "doorwatch/v1/+/+/result"

static const char *workers_json =
    "[{\"id\": \"w-a-01\", \"name\": \"社区甲\", \"role\": \"community\", \"community\": "
    "\"alpha\"},"
    " {\"id\": \"w-a-02\", \"name\": \"医生乙\", \"role\": \"medical\", \"community\": \"alpha\"},"
    " {\"id\": \"w-a-03\", \"name\": \"民警丙\", \"role\": \"police\", \"community\": \"alpha\"},"
    " {\"id\": \"w-a-00\", \"name\": \"组长丁\", \"role\": \"staff\", \"community\": \"alpha\"},"
    " {\"id\": \"w-a-09\", \"name\": \"安装戊\", \"role\": \"installer\", \"community\": "
    "\"alpha\"},"
    " {\"id\": \"w-b-01\", \"name\": \"别社区\", \"role\": \"community\", \"community\": \"beta\"},"
    " {\"id\": \"w-cmd\", \"name\": \"指挥中心\", \"role\": \"staff\"}]";

/* Three households under observation now (until obs_end), no schedule. */
static void write_households(struct harness *h, const char *obs_end)
{
        char buf[4096];
        const char *team = "\"team\": {\"community\": \"w-a-01\", \"medical\": \"w-a-02\", "
                           "\"police\": \"w-a-03\"}";

        snprintf(
            buf, sizeof(buf),
            "[{\"id\": \"H-1\", \"community\": \"alpha\", \"address\": \"测试路 1号\","
            "  \"observation\": {\"start\": \"2020-01-01T00:00:00+08:00\", \"end\": \"%s\"}, %s,"
            "  \"devices\": [{\"id\": \"d-1-door\", \"kind\": \"door_contact\", \"source\": "
            "\"native\"},"
            "               {\"id\": \"d-1-bell\", \"kind\": \"doorbell\", \"source\": "
            "\"native\"}]},"
            " {\"id\": \"H-2\", \"community\": \"alpha\", \"address\": \"测试路 2号\","
            "  \"observation\": {\"start\": \"2020-01-01T00:00:00+08:00\","
            "                    \"end\": \"2099-01-01T00:00:00+08:00\"}, %s,"
            "  \"devices\": [{\"id\": \"d-2-door\", \"kind\": \"door_contact\", \"source\": "
            "\"native\"}]},"
            " {\"id\": \"H-3\", \"community\": \"alpha\", \"address\": \"测试路 3号\","
            "  \"observation\": {\"start\": \"2020-01-01T00:00:00+08:00\","
            "                    \"end\": \"2099-01-01T00:00:00+08:00\"}, %s,"
            "  \"devices\": [{\"id\": \"d-3-door\", \"kind\": \"door_contact\", \"source\": "
            "\"native\"}]}]",
            obs_end, team, team, team);
        h_write_conf(h, "households.json", buf);
}

static int setup(void **state)
{
        struct harness *h = calloc(1, sizeof(*h));
        h_init(h);
        h_write_conf(h, "workers.json", workers_json);
        write_households(h, "2099-01-01T00:00:00+08:00");
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

/* Writes doorwatch.json with this policy and starts broker and daemon. */
static void start(struct harness *h, const char *policy)
{
        char extra[512];
        snprintf(extra, sizeof(extra), "\"policy\": {%s}", policy);
        h_write_default_config(h, extra);
        if (!h->broker_pid)
                h_start_broker(h);
        h_start_daemon(h);
        h_subscribe(h, "doorwatch/v1/households/+/result");
}

static void restart_daemon(struct harness *h)
{
        assert_int_equal(h_stop_daemon(h, SIGTERM), 0);
        h_start_daemon(h);
}

static void publish(struct harness *h, const char *device, const char *payload, bool retain)
{
        char topic[128];
        snprintf(topic, sizeof(topic), "doorwatch/v1/devices/%s/events", device);
        h_publish(h, topic, payload, retain);
}

static void door(struct harness *h, const char *device, const char *id, const char *state)
{
        char payload[128];
        snprintf(payload, sizeof(payload),
                 "{\"id\": \"%s\", \"type\": \"door\", \"state\": \"%s\"}", id, state);
        publish(h, device, payload, false);
}

static void command(struct harness *h, const char *worker, const char *verb, const char *body)
{
        char topic[128];
        snprintf(topic, sizeof(topic), "doorwatch/v1/workers/%s/%s", worker, verb);
        h_publish(h, topic, body, false);
}

/* Waits for the reply carrying request id rid and returns it. */
static const char *wait_result(struct harness *h, const char *rid)
{
        char needle[64];
        snprintf(needle, sizeof(needle), "\"request_id\":\"%s\"", rid);
        for (int i = 0; i < 500; i++) {
                for (size_t k = 0; k < h->n_msgs; k++)
                        if (strstr(h->msgs[k].topic, "/result") &&
                            strstr(h->msgs[k].payload, needle))
                                return h->msgs[k].payload;
                h_pump(h, 10);
        }
        fail_msg("no result for %s", rid);
        return NULL;
}

static const char *json_str(const char *payload, const char *key, char *buf, size_t size)
{
        cJSON *j = cJSON_Parse(payload);
        const cJSON *v = cJSON_GetObjectItem(j, key);
        snprintf(buf, size, "%s", cJSON_IsString(v) ? v->valuestring : "");
        cJSON_Delete(j);
        return buf;
}

/* Every notification so far is of this kind; returns how many there are. */
static size_t notifications_of(struct harness *h, const char *kind)
{
        char buf[256];
        size_t n = h_count_messages(h, NOTIFY);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(
                    json_str(h_message(h, NOTIFY, i)->payload, "kind", buf, sizeof(buf)), kind);
        return n;
}

static void test_held_open_even_when_expected(void **state)
{
        struct harness *h = *state;
        char buf[256];

        start(h, "\"held_open_after\": \"1s\"");
        command(h, "w-a-01", "checkin", "{\"request_id\": \"c1\", \"household\": \"H-1\"}");
        assert_non_null(strstr(wait_result(h, "c1"), "\"ok\":true"));
        door(h, "d-1-door", "e-1", "open");
        assert_int_equal(h_wait_messages(h, NOTIFY, 3, 6000), 3);
        assert_int_equal(notifications_of(h, "door_held_open"), 3);
        assert_non_null(
            strstr(json_str(h_message(h, NOTIFY, 0)->payload, "reason", buf, sizeof(buf)),
                   "the opening itself was expected"));
        assert_string_equal(
            json_str(h_message(h, NOTIFY, 0)->payload, "event_id", buf, sizeof(buf)), "e-1");
        assert_string_equal(h_db_text(h, "SELECT verdict FROM event WHERE uid = 'e-1'"),
                            "expected");
        /* Once per opening: closing and waiting raises nothing more. */
        door(h, "d-1-door", "e-2", "closed");
        h_pump(h, 1500);
        assert_int_equal(h_count_messages(h, NOTIFY), 3);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM alert"), 1);
}

/* Chatter, live (issue 16, chatter_settle 300ms by default): a blip raises nothing; an
 * opening that stays open is alerted by the settle timer, its event row given the verdict;
 * a ring that arrives after the opening it explains (an earlier device time, while the
 * opening settles) makes it a hand-off. */
static void test_chatter_settles_live(void **state)
{
        struct harness *h = *state;
        char payload[160], buf[256];

        start(h, "");
        door(h, "d-1-door", "e-1", "open");
        door(h, "d-1-door", "e-2", "closed");
        door(h, "d-2-door", "m-1", "open");
        assert_int_equal(h_wait_messages(h, NOTIFY, 3, 5000), 3);
        for (size_t i = 0; i < 3; i++) {
                const char *p = h_message(h, NOTIFY, i)->payload;
                cJSON *j = cJSON_Parse(p);
                assert_string_equal(json_str(p, "household", buf, sizeof(buf)), "H-2");
                assert_string_equal(json_str(p, "event_id", buf, sizeof(buf)), "m-1");
                /* raised once it had stayed open the settle */
                assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "raised_at")) -
                                cJSON_GetNumberValue(cJSON_GetObjectItem(j, "event_ts")) >=
                            0.3);
                cJSON_Delete(j);
        }
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM alert"), 1);
        assert_non_null(strstr(h_db_text(h, "SELECT reason FROM event WHERE uid = 'e-1'"),
                               "held for chatter_settle (0.3s)"));
        assert_non_null(strstr(h_db_text(h, "SELECT reason FROM event WHERE uid = 'e-2'"),
                               "before chatter_settle (0.3s)"));
        assert_string_equal(
            h_db_text(h, "SELECT verdict || ' ' || CAST((alert_id IS NOT NULL) AS INTEGER) FROM"
                         " event WHERE uid = 'm-1'"),
            "alert 1");
        assert_non_null(strstr(h_db_text(h, "SELECT reason FROM event WHERE uid = 'm-1'"),
                               "still open after chatter_settle (300ms)"));

        /* The ring comes after the opening, from a doorbell whose clock says 10 s before. */
        h_clear_messages(h);
        door(h, "d-1-door", "e-3", "open");
        snprintf(payload, sizeof(payload), "{\"id\": \"e-4\", \"ts\": %.3f, \"type\": \"ring\"}",
                 h_now() - 10);
        publish(h, "d-1-bell", payload, false);
        door(h, "d-3-door", "m-2", "open"); /* marker: settles after e-3 */
        assert_int_equal(h_wait_messages(h, NOTIFY, 3, 5000), 3);
        assert_int_equal(h_count_messages(h, "doorwatch/v1/workers/+/notify"), 3);
        assert_string_equal(
            json_str(h_message(h, NOTIFY, 0)->payload, "household", buf, sizeof(buf)), "H-3");
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM alert WHERE household = 'H-1'"), 0);
        assert_string_equal(h_db_text(h, "SELECT verdict FROM event WHERE uid = 'e-3'"),
                            "expected");
        /* "ring 10s before", or 9.9s when the ring's time was taken a moment after the
         * opening arrived (a loaded machine, a database server). */
        assert_non_null(strstr(h_db_text(h, "SELECT reason FROM event WHERE uid = 'e-3'"),
                               "doorbell hand-off: ring "));
        assert_string_equal(h_db_text(h, "SELECT rule FROM event WHERE uid = 'e-3'"), "handoff");

        /* Which clock each time is: the ring's own (within max_clock_skew), the receive
         * time for events without ts, and for a ts an hour off. */
        snprintf(payload, sizeof(payload), "{\"id\": \"e-5\", \"ts\": %.3f, \"type\": \"ring\"}",
                 h_now() - 3600);
        publish(h, "d-1-bell", payload, false);
        assert_int_equal(h_db_wait_int(h, 1, 3000, "SELECT count(*) FROM event WHERE uid = 'e-5'"),
                         1);
        assert_string_equal(h_db_text(h, "SELECT group_concat(uid || ':' || time_basis) FROM"
                                         " (SELECT uid, time_basis FROM event WHERE uid IN"
                                         " ('e-3', 'e-4', 'e-5') ORDER BY uid) AS e"),
                            "e-3:receive,e-4:device,e-5:receive");
        assert_int_equal(h_db_int(h, "SELECT event_usec = recv_usec FROM event WHERE uid = 'e-5'"),
                         1);
}

static void test_handoff_that_stays_open_is_judged_without_the_ring(void **state)
{
        struct harness *h = *state;
        char buf[256];

        /* chatter_settle 0: the door closes within milliseconds here, a blip otherwise. */
        start(h, "\"handoff_max_open\": \"1s\", \"debounce\": \"0s\", \"chatter_settle\": \"0s\"");
        /* A hand-off that closes in time raises nothing. */
        publish(h, "d-1-bell", "{\"id\": \"e-1\", \"type\": \"ring\"}", false);
        door(h, "d-1-door", "e-2", "open");
        door(h, "d-1-door", "e-3", "closed");
        /* This one stays open. */
        publish(h, "d-1-bell", "{\"id\": \"e-4\", \"type\": \"ring\"}", false);
        door(h, "d-1-door", "e-5", "open");
        assert_int_equal(h_db_wait_int(h, 5, 3000, "SELECT count(*) FROM event"), 5);
        assert_string_equal(h_db_text(h, "SELECT verdict FROM event WHERE uid = 'e-5'"),
                            "expected");
        assert_int_equal(h_count_messages(h, NOTIFY), 0);
        assert_int_equal(h_wait_messages(h, NOTIFY, 3, 6000), 3);
        assert_int_equal(notifications_of(h, "door_open_unexpected"), 3);
        const char *p = h_message(h, NOTIFY, 0)->payload;
        assert_non_null(
            strstr(json_str(p, "reason", buf, sizeof(buf)), "judged as if there had been no ring"));
        assert_string_equal(json_str(p, "event_id", buf, sizeof(buf)), "e-5");
        assert_string_equal(h_db_text(h, "SELECT verdict FROM event WHERE uid = 'e-3'"),
                            "expected");
        assert_non_null(strstr(h_db_text(h, "SELECT reason FROM event WHERE uid = 'e-3'"),
                               "hand-off complete"));
}

static void test_pass_overdue_resolved_by_the_return(void **state)
{
        struct harness *h = *state;
        char body[256];
        double now = h_now();

        /* chatter_settle 0: the door closes within milliseconds here, a blip otherwise. */
        start(h, "\"pass_overdue_after\": \"1s\", \"chatter_settle\": \"0s\"");
        snprintf(body, sizeof(body),
                 "{\"request_id\": \"p1\", \"household\": \"H-1\", \"from\": %.0f, \"to\": %.3f,"
                 " \"reason\": \"hospital\"}",
                 now - 60, now + 1.5);
        command(h, "w-a-03", "pass", body);
        assert_non_null(strstr(wait_result(h, "p1"), "\"ok\":true"));
        door(h, "d-1-door", "e-1", "open"); /* the exit */
        door(h, "d-1-door", "e-2", "closed");
        assert_int_equal(h_db_wait_int(h, 2, 3000, "SELECT count(*) FROM event"), 2);
        assert_string_equal(h_db_text(h, "SELECT verdict FROM event WHERE uid = 'e-1'"),
                            "expected");
        assert_int_equal(h_wait_messages(h, NOTIFY, 3, 8000), 3);
        assert_int_equal(notifications_of(h, "pass_overdue"), 3);
        assert_int_equal(h_db_int(h, "SELECT overdue FROM pass"), 1);
        /* The late return is expected, and it resolves the alert: by the system, with the
         * reason, and the three who were notified are told (resolved_notice). */
        h_clear_messages(h);
        door(h, "d-1-door", "e-3", "open");
        assert_int_equal(h_db_wait_int(h, 3, 3000, "SELECT count(*) FROM event"), 3);
        assert_non_null(strstr(h_db_text(h, "SELECT reason FROM event WHERE uid = 'e-3'"),
                               "return from a pass (hospital)"));
        assert_int_equal(h_db_int(h, "SELECT return_usec IS NOT NULL FROM pass"), 1);
        assert_int_equal(h_wait_messages(h, NOTIFY, 3, 5000), 3);
        assert_int_equal(notifications_of(h, "resolved_notice"), 3);
        assert_string_equal(h_db_text(h, "SELECT state || ' ' || resolved_by || ' ' ||"
                                         " resolve_channel FROM alert WHERE kind = 'pass_overdue'"),
                            "resolved system system");
        assert_non_null(strstr(h_db_text(h, "SELECT note FROM alert WHERE kind = 'pass_overdue'"),
                               "the return was seen: the door opened at"));
        h_pump(h, 200);
        assert_int_equal(h_count_messages(h, NOTIFY), 3);
}

static void test_observation_end_resolves_and_notifies_once(void **state)
{
        struct harness *h = *state;
        char end[64], buf[256];
        time_t t = time(NULL) + 3;
        struct tm tm;

        gmtime_r(&t, &tm);
        strftime(end, sizeof(end), "%Y-%m-%dT%H:%M:%SZ", &tm);
        write_households(h, end);
        start(h, "");
        door(h, "d-1-door", "e-1", "open");
        assert_int_equal(h_wait_messages(h, NOTIFY, 3, 5000), 3);
        h_clear_messages(h);
        /* At the end: the alert is resolved by the system, the notice goes to the community
         * worker and the installer. */
        assert_int_equal(h_wait_messages(h, NOTIFY, 2, 8000), 2);
        assert_int_equal(notifications_of(h, "observation_ended"), 2);
        assert_non_null(h_message(h, "doorwatch/v1/workers/w-a-01/notify", 0));
        assert_non_null(h_message(h, "doorwatch/v1/workers/w-a-09/notify", 0));
        assert_string_equal(
            json_str(h_message(h, NOTIFY, 0)->payload, "severity", buf, sizeof(buf)), "info");
        assert_string_equal(h_db_text(h, "SELECT state || '/' || resolved_by || '/' ||"
                                         " resolve_channel FROM alert"
                                         " WHERE kind = 'door_open_unexpected'"),
                            "resolved/system/system");
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM action WHERE kind = 'resolve'"
                                     " AND actor = 'system' AND channel = 'system'"),
                         1);
        /* Events after the end are ignored; a restart does not notify again. */
        door(h, "d-1-door", "e-2", "closed");
        restart_daemon(h);
        door(h, "d-2-door", "m-1", "open"); /* marker: H-2 is still observed */
        assert_int_equal(h_wait_messages(h, NOTIFY, 3, 5000), 3);
        h_pump(h, 300);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM alert WHERE kind = 'observation_ended'"),
                         1);
        assert_int_equal(h_count_messages(h, "doorwatch/v1/workers/w-a-09/notify"), 0);
        assert_string_equal(h_db_text(h, "SELECT verdict FROM event WHERE uid = 'e-2'"), "ignored");
}

static void test_retained_open_is_alerted_once_across_restarts(void **state)
{
        struct harness *h = *state;

        h_write_default_config(h, "");
        h_start_broker(h);
        h_connect(h);
        h_subscribe(h, "doorwatch/v1/households/+/result");
        /* States left on the broker while no daemon ran (no ids: replays are not
         * recognised as duplicates, the stored state must explain them). */
        publish(h, "d-1-door", "{\"type\": \"door\", \"state\": \"open\"}", true);
        publish(h, "d-1-bell", "{\"type\": \"ring\"}", true);
        h_start_daemon(h);
        assert_int_equal(h_wait_messages(h, NOTIFY, 3, 5000), 3);
        assert_int_equal(notifications_of(h, "door_open_unexpected"), 3);
        assert_non_null(
            strstr(h_db_text(h, "SELECT reason FROM alert"), "door found open (retained state)"));
        assert_int_equal(h_db_wait_int(h, 2, 3000, "SELECT count(*) FROM event WHERE retained"), 2);
        assert_non_null(strstr(h_db_text(h, "SELECT reason FROM event WHERE type = 'ring'"),
                               "retained replay of a ring"));

        /* Restarted (the recorder starts afresh): the same retained states arrive again and
         * change nothing. */
        restart_daemon(h);
        assert_int_equal(h_db_wait_int(h, 4, 5000, "SELECT count(*) FROM event WHERE retained"), 4);
        h_pump(h, 300);
        assert_int_equal(h_count_messages(h, NOTIFY), 0);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM alert"), 1);
        assert_non_null(strstr(h_db_text(h, "SELECT reason FROM event WHERE type = 'door'"
                                            " ORDER BY id DESC LIMIT 1"),
                               "retained replay of a known open door"));
        /* A retained ring made no hand-off: a live opening after a close is unexpected (once
         * it has stayed open chatter_settle, which a reopen within it of the close joins). */
        char payload[128];
        door(h, "d-1-door", "e-1", "closed");
        snprintf(payload, sizeof(payload),
                 "{\"id\": \"e-2\", \"ts\": %.3f, \"type\": \"door\", \"state\": \"open\"}",
                 h_now() + 1);
        publish(h, "d-1-door", payload, false);
        assert_int_equal(h_db_wait_int(h, 6, 3000, "SELECT count(*) FROM event"), 6);
        assert_int_equal(
            h_db_wait_int(h, 1, 3000, "SELECT verdict = 'alert' FROM event WHERE uid = 'e-2'"), 1);
}

static void test_rule_state_survives_a_restart(void **state)
{
        struct harness *h = *state;
        char body[256];
        double now = h_now();

        start(h, "");
        command(h, "w-a-01", "checkin", "{\"request_id\": \"c1\", \"household\": \"H-1\"}");
        h_publish(h, "doorwatch/v1/households/H-2/report",
                  "{\"request_id\": \"r1\", \"reason\": \"倒垃圾\"}", false);
        snprintf(body, sizeof(body),
                 "{\"request_id\": \"p1\", \"household\": \"H-3\", \"from\": %.0f, \"to\": %.0f,"
                 " \"reason\": \"hospital\"}",
                 now - 10, now + 3600);
        command(h, "w-a-01", "pass", body);
        assert_non_null(strstr(wait_result(h, "c1"), "\"ok\":true"));
        assert_non_null(strstr(wait_result(h, "r1"), "\"ok\":true"));
        assert_non_null(strstr(wait_result(h, "p1"), "\"ok\":true"));
        restart_daemon(h);
        door(h, "d-1-door", "e-1", "open");
        door(h, "d-2-door", "e-2", "open");
        door(h, "d-3-door", "e-3", "open");
        assert_int_equal(h_db_wait_int(h, 3, 5000, "SELECT count(*) FROM event"), 3);
        assert_non_null(strstr(h_db_text(h, "SELECT reason FROM event WHERE uid = 'e-1'"),
                               "worker w-a-01 checked in"));
        assert_non_null(strstr(h_db_text(h, "SELECT reason FROM event WHERE uid = 'e-2'"),
                               "pre-reported by the resident"));
        assert_non_null(strstr(h_db_text(h, "SELECT reason FROM event WHERE uid = 'e-3'"),
                               "during a pass (hospital)"));
        h_pump(h, 200);
        assert_int_equal(h_count_messages(h, NOTIFY), 0);
        /* The open door is remembered too: the same door opening again is no new opening. */
        restart_daemon(h);
        door(h, "d-1-door", "e-4", "open");
        assert_int_equal(h_db_wait_int(h, 4, 5000, "SELECT count(*) FROM event"), 4);
        assert_non_null(strstr(h_db_text(h, "SELECT reason FROM event WHERE uid = 'e-4'"),
                               "door already open"));
}

static void test_tamper_goes_to_community_worker_and_installers(void **state)
{
        struct harness *h = *state;

        start(h, "");
        publish(h, "d-1-door", "{\"id\": \"t-1\", \"type\": \"tamper\"}", false);
        publish(h, "d-1-door", "{\"id\": \"t-2\", \"type\": \"tamper\"}", false); /* a burst */
        assert_int_equal(h_wait_messages(h, NOTIFY, 2, 5000), 2);
        assert_int_equal(h_db_wait_int(h, 2, 3000, "SELECT count(*) FROM event"), 2);
        h_pump(h, 300);
        assert_int_equal(notifications_of(h, "tamper"), 2);
        assert_non_null(h_message(h, "doorwatch/v1/workers/w-a-01/notify", 0));
        assert_non_null(h_message(h, "doorwatch/v1/workers/w-a-09/notify", 0));
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM alert WHERE kind = 'tamper'"
                                     " AND severity = 'high' AND device = 'd-1-door'"),
                         1);
        assert_non_null(
            strstr(h_db_text(h, "SELECT reason FROM event WHERE uid = 't-2'"), "within debounce"));
}

static void test_commands_are_answered_refused_and_recorded(void **state)
{
        struct harness *h = *state;
        char bin[256], *out = NULL;

        start(h, "");
        command(h, "w-b-01", "checkin", "{\"request_id\": \"x1\", \"household\": \"H-1\"}");
        command(h, "w-a-01", "checkin", "{\"request_id\": \"x2\", \"household\": \"H-9\"}");
        command(h, "w-a-01", "checkin", "{\"request_id\": \"x3\"}");
        command(h, "w-a-01", "pass",
                "{\"request_id\": \"x4\", \"household\": \"H-1\", \"reason\": \"hospital\","
                " \"from\": \"2020-02-06T12:00:00+08:00\", \"to\": \"2020-02-06T10:00:00+08:00\"}");
        command(h, "w-a-01", "pass",
                "{\"request_id\": \"x5\", \"household\": \"H-1\", \"reason\": \"hospital\","
                " \"from\": \"tomorrow\", \"to\": \"2020-02-06T10:00:00+08:00\"}");
        command(h, "w-a-01", "checkin",
                "{\"request_id\": \"x6\", \"household\": \"H-1\", \"ts\": \"now\"}");
        h_publish(h, "doorwatch/v1/households/H-9/report", "{\"request_id\": \"x7\"}", false);
        h_publish(h, "doorwatch/v1/households/H-1/report", "{\"reason\": ", false);
        assert_non_null(strstr(wait_result(h, "x1"), "not of the household's community"));
        assert_non_null(strstr(wait_result(h, "x2"), "unknown household"));
        assert_non_null(strstr(wait_result(h, "x3"), "\\\"household\\\" missing"));
        assert_non_null(strstr(wait_result(h, "x4"), "\\\"from\\\" must be before \\\"to\\\""));
        assert_non_null(strstr(wait_result(h, "x5"), "RFC 3339"));
        assert_non_null(strstr(wait_result(h, "x6"), "Unix seconds"));
        assert_non_null(strstr(wait_result(h, "x7"), "unknown household"));
        assert_non_null(h_message(h, "doorwatch/v1/households/H-9/result", 0));
        assert_int_equal(h_wait_messages(h, "doorwatch/v1/households/H-1/result", 1, 3000), 1);
        assert_non_null(strstr(h_message(h, "doorwatch/v1/households/H-1/result", 0)->payload,
                               "malformed JSON"));
        /* Refusals of a known worker and household are in the record too. */
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM action WHERE actor = 'w-b-01'"
                                     " AND detail LIKE 'refused:%%'"),
                         1);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM checkin"), 0);

        /* doorwatchctl acts on a worker's behalf; the record says it was the CLI. */
        snprintf(bin, sizeof(bin), "%s/doorwatchctl", h_build_dir());
        const char *ci[] = { bin,   "-c",       h->confdir, "checkin", "--household",
                             "H-1", "--worker", "w-a-01",   NULL };
        assert_int_equal(h_run(&out, ci), 0);
        free(out);
        assert_string_equal(h_db_text(h, "SELECT channel FROM checkin"), "cli");
        const char *bad[] = { bin,   "-c",       h->confdir, "checkin", "--household",
                              "H-1", "--worker", "w-b-01",   NULL };
        assert_int_equal(h_run(&out, bad), 1);
        assert_non_null(strstr(out, "refused"));
        free(out);
        const char *pass[] = { bin,
                               "-c",
                               h->confdir,
                               "pass",
                               "add",
                               "--household",
                               "H-2",
                               "--worker",
                               "w-a-03",
                               "--from",
                               "2098-02-06T09:00:00+08:00",
                               "--to",
                               "2098-02-06T12:00:00+08:00",
                               "--reason",
                               "hospital",
                               NULL };
        assert_int_equal(h_run(&out, pass), 0);
        free(out);
        /* The daemon judges the times, in the same words as for any other front door. */
        const char *badtime[] = { bin,     "-c",       h->confdir, "pass",   "add",  "--household",
                                  "H-2",   "--worker", "w-a-03",   "--from", "soon", "--to",
                                  "later", "--reason", "x",        NULL };
        assert_int_equal(h_run(&out, badtime), 1);
        assert_non_null(strstr(out, "\"from\" must be an RFC 3339 time or Unix seconds"));
        free(out);
        const char *usage[] = { bin, "-c", h->confdir, "pass", "add", "--household", "H-2", NULL };
        assert_int_equal(h_run(&out, usage), 2);
        free(out);
        const char *list[] = { bin, "-c", h->confdir, "pass", "list", "--household", "H-2", NULL };
        assert_int_equal(h_run(&out, list), 0);
        assert_non_null(
            strstr(out, "2098-02-06 09:00:00\t2098-02-06 12:00:00\thospital\tupcoming"));
        assert_non_null(strstr(out, "w-a-03\tcli"));
        free(out);
        const char *list_json[] = { bin, "-c", h->confdir, "--json", "pass", "list", NULL };
        assert_int_equal(h_run(&out, list_json), 0);
        assert_non_null(strstr(out, "\"reason\":\t\"hospital\""));
        free(out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_held_open_even_when_expected, setup, teardown),
                cmocka_unit_test_setup_teardown(test_chatter_settles_live, setup, teardown),
                cmocka_unit_test_setup_teardown(
                    test_handoff_that_stays_open_is_judged_without_the_ring, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pass_overdue_resolved_by_the_return, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_observation_end_resolves_and_notifies_once,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_retained_open_is_alerted_once_across_restarts,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_rule_state_survives_a_restart, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_tamper_goes_to_community_worker_and_installers,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_commands_are_answered_refused_and_recorded,
                                                setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

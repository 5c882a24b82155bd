/* test-rules-day.c: one whole recorded day of one household (2020-02-06, Asia/Shanghai)
 * played through the real broker into the real doorwatchd, with the device and command
 * timestamps of that day and a large policy.max_clock_skew, so the day replays instantly
 * and the rules judge by the day's own times. The day has a pre-reported garbage run, a
 * delivery hand-off, the medical visit, a worker's check-in, two more pre-reports, one
 * beyond the daily limit, a hospital pass with its return, and one real escape confirmed
 * by the door camera. Exactly two alerts may come of it: too_many_openings, and the
 * escape's door_open_unexpected upgraded to person_left, critical.
 *
 * Then a district's day (issue 16): doorwatch-sim's simulated day of 300 households
 * (tools/sim-day.c), played clean, and again with noisy sensors (contacts chattering on
 * 5 % of the openings; on 10 % with redelivered messages and repeated state reports). Each
 * must end with exactly the alerts the day was made to raise: no false alert, none missed,
 * no opening joined to one. Each prints its figures (run it with DOORWATCH_BUILD naming
 * another build to measure that daemon). */
#include <cjson/cJSON.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../tools/sim-day.h"
#include "harness.h"

#define NOTIFY  "doorwatch/v1/workers/+/notify"
#define RESULTS "doorwatch/v1/+/+/result"

/* 2020-02-06T00:00:00+08:00 */
#define DAY 1580918400.0

static const char *workers_json =
    "[{\"id\": \"w-a-01\", \"name\": \"社区甲\", \"role\": \"community\", \"community\": "
    "\"alpha\"},"
    " {\"id\": \"w-a-02\", \"name\": \"医生乙\", \"role\": \"medical\", \"community\": \"alpha\"},"
    " {\"id\": \"w-a-03\", \"name\": \"民警丙\", \"role\": \"police\", \"community\": \"alpha\"},"
    " {\"id\": \"w-a-00\", \"name\": \"组长丁\", \"role\": \"staff\", \"community\": \"alpha\"},"
    " {\"id\": \"w-a-09\", \"name\": \"安装戊\", \"role\": \"installer\", \"community\": "
    "\"alpha\"},"
    " {\"id\": \"w-cmd\", \"name\": \"指挥中心\", \"role\": \"staff\"}]";

static const char *households_json =
    "[{\"id\": \"H-1\", \"community\": \"alpha\", \"address\": \"测试路 1号 101\","
    "  \"observation\": {\"start\": \"2020-02-05T00:00:00+08:00\","
    "                    \"end\": \"2099-01-01T00:00:00+08:00\"},"
    "  \"team\": {\"community\": \"w-a-01\", \"medical\": \"w-a-02\", \"police\": \"w-a-03\"},"
    "  \"schedule\": [{\"role\": \"medical\", \"at\": [\"09:00\", \"15:00\"], \"window\": "
    "\"30m\"}],"
    "  \"devices\": [{\"id\": \"d-1-door\", \"kind\": \"door_contact\", \"source\": \"native\"},"
    "               {\"id\": \"d-1-bell\", \"kind\": \"doorbell\", \"source\": \"native\"},"
    "               {\"id\": \"d-1-cam\", \"kind\": \"camera\", \"source\": \"native\"}]}]";

static int setup(void **state)
{
        struct harness *h = calloc(1, sizeof(*h));
        h_init(h);
        h_write_conf(h, "workers.json", workers_json);
        h_write_conf(h, "households.json", households_json);
        h_write_default_config(h, "\"policy\": {\"max_clock_skew\": \"100000d\"}");
        h_start_broker(h);
        h_start_daemon(h);
        h_subscribe(h, "doorwatch/v1/households/+/result");
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

/* Seconds since the day's local midnight. */
static double at(int hh, int mm, int ss)
{
        return DAY + hh * 3600 + mm * 60 + ss;
}

static void event(struct harness *h, const char *device, const char *id, double ts,
                  const char *fields)
{
        char topic[128], payload[256];

        snprintf(topic, sizeof(topic), "doorwatch/v1/devices/%s/events", device);
        snprintf(payload, sizeof(payload), "{\"id\": \"%s\", \"ts\": %.3f, %s}", id, ts, fields);
        h_publish(h, topic, payload, false);
}

static void door(struct harness *h, const char *id, double ts, const char *state)
{
        char fields[64];
        snprintf(fields, sizeof(fields), "\"type\": \"door\", \"state\": \"%s\"", state);
        event(h, "d-1-door", id, ts, fields);
}

static void report(struct harness *h, const char *rid, double ts, const char *reason)
{
        char payload[256];
        snprintf(payload, sizeof(payload),
                 "{\"request_id\": \"%s\", \"ts\": %.3f, \"reason\": \"%s\"}", rid, ts, reason);
        h_publish(h, "doorwatch/v1/households/H-1/report", payload, false);
}

static void command(struct harness *h, const char *worker, const char *verb, const char *body)
{
        char topic[128];
        snprintf(topic, sizeof(topic), "doorwatch/v1/workers/%s/%s", worker, verb);
        h_publish(h, topic, body, false);
}

/* The reply with this request id, or fails. */
static const char *result_of(struct harness *h, const char *rid)
{
        char needle[64];
        snprintf(needle, sizeof(needle), "\"request_id\":\"%s\"", rid);
        for (size_t i = 0; i < h->n_msgs; i++)
                if (strstr(h->msgs[i].topic, "/result") && strstr(h->msgs[i].payload, needle))
                        return h->msgs[i].payload;
        fail_msg("no result for %s", rid);
        return NULL;
}

static void assert_event(struct harness *h, const char *uid, const char *verdict,
                         const char *reason_part)
{
        const char *v =
            h_db_text(h, "SELECT verdict || ' | ' || reason FROM event WHERE uid = %Q", uid);
        if (!strstr(v, verdict) || strncmp(v, verdict, strlen(verdict)) != 0 ||
            !strstr(v, reason_part))
                fail_msg("event %s: \"%s\", expected %s with \"%s\"", uid, v, verdict, reason_part);
}

static void test_a_whole_day(void **state)
{
        struct harness *h = *state;
        char body[256];

        /* 07:30 the resident pre-reports the garbage run, then goes. */
        report(h, "r1", at(7, 30, 0), "garbage");
        door(h, "e-01", at(7, 32, 0), "open");
        door(h, "e-02", at(7, 33, 0), "closed");
        /* 08:00 a delivery: ring, open, hand the parcel over, close. */
        event(h, "d-1-bell", "e-03", at(8, 0, 0), "\"type\": \"ring\"");
        door(h, "e-04", at(8, 0, 20), "open");
        door(h, "e-05", at(8, 0, 50), "closed");
        /* 09:05 the medical visit (09:00 +-30m). */
        door(h, "e-06", at(9, 5, 0), "open");
        door(h, "e-07", at(9, 8, 0), "closed");
        /* 10:00 the community worker checks in at the door. */
        snprintf(body, sizeof(body),
                 "{\"request_id\": \"c1\", \"household\": \"H-1\", \"ts\": %.3f}", at(10, 0, 0));
        command(h, "w-a-01", "checkin", body);
        door(h, "e-08", at(10, 2, 0), "open");
        door(h, "e-09", at(10, 4, 0), "closed");
        /* Two more pre-reports (the limit is 3 a day), then a fourth. */
        report(h, "r2", at(11, 0, 0), "garbage");
        door(h, "e-10", at(11, 1, 0), "open");
        door(h, "e-11", at(11, 2, 0), "closed");
        report(h, "r3", at(12, 0, 0), "takeaway");
        door(h, "e-12", at(12, 1, 0), "open");
        door(h, "e-13", at(12, 2, 0), "closed");
        report(h, "r4", at(13, 0, 0), "garbage");
        door(h, "e-14", at(13, 2, 0), "open");
        door(h, "e-15", at(13, 3, 0), "closed");
        /* 15:40 a pass to hospital, 16:00-18:00; out at 16:05, back at 17:30. */
        snprintf(body, sizeof(body),
                 "{\"request_id\": \"p1\", \"household\": \"H-1\", \"ts\": %.3f,"
                 " \"from\": \"2020-02-06T16:00:00+08:00\", \"to\": \"2020-02-06T18:00:00+08:00\","
                 " \"reason\": \"hospital\"}",
                 at(15, 40, 0));
        command(h, "w-a-03", "pass", body);
        door(h, "e-16", at(16, 5, 0), "open");
        door(h, "e-17", at(16, 6, 0), "closed");
        door(h, "e-18", at(17, 30, 0), "open");
        door(h, "e-19", at(17, 31, 0), "closed");
        /* 20:00 the door opens with nothing explaining it; the camera sees someone leave. */
        door(h, "e-20", at(20, 0, 0), "open");
        event(h, "d-1-cam", "e-21", at(20, 0, 40), "\"type\": \"person\", \"direction\": \"out\"");
        door(h, "e-22", at(20, 1, 0), "closed");

        /* Every event is stored in order; then nothing more may arrive. */
        assert_int_equal(h_db_wait_int(h, 22, 10000, "SELECT count(*) FROM event"), 22);
        assert_int_equal(h_wait_messages(h, NOTIFY, 9, 5000), 9);
        assert_int_equal(h_wait_messages(h, RESULTS, 6, 5000), 6);
        h_pump(h, 300);
        assert_int_equal(h_count_messages(h, NOTIFY), 9);

        /* Exactly two alerts. */
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM alert"), 2);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM alert WHERE kind = 'too_many_openings'"
                                     " AND severity = 'medium'"),
                         1);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM alert WHERE kind = 'person_left'"
                                     " AND severity = 'critical'"),
                         1);

        /* Each event with its verdict and reason. */
        assert_event(h, "e-01", "expected", "pre-reported by the resident at 07:30:00 (garbage)");
        assert_event(h, "e-02", "ignored", "door closed after 1m");
        assert_event(h, "e-03", "ignored", "doorbell ring");
        assert_event(h, "e-04", "expected", "doorbell hand-off: ring 20s before");
        assert_event(h, "e-05", "expected", "delivery hand-off complete: door closed after 30s");
        assert_event(h, "e-06", "expected", "scheduled medical visit at 09:00");
        assert_event(h, "e-08", "expected", "worker w-a-01 checked in at 10:00:00");
        assert_event(h, "e-10", "expected", "report 2 of 3 today");
        assert_event(h, "e-12", "expected", "report 3 of 3 today");
        assert_event(h, "e-14", "alert", "after pre-report 4 of the day; the limit is 3 a day");
        assert_event(h, "e-16", "expected", "during a pass (hospital)");
        assert_event(h, "e-16", "expected", "leaving");
        assert_event(h, "e-18", "expected", "return (out since 16:05:00)");
        assert_event(h, "e-20", "alert", "door opened with no scheduled visit");
        assert_event(h, "e-21", "alert", "the camera saw a person leave 40s after");
        assert_string_equal(h_db_text(h, "SELECT alert_id FROM event WHERE uid = 'e-20'"),
                            h_db_text(h, "SELECT alert_id FROM event WHERE uid = 'e-21'"));

        /* The commands were answered and recorded. */
        assert_non_null(strstr(result_of(h, "r1"), "\"ok\":true"));
        assert_non_null(strstr(result_of(h, "r3"), "\"ok\":true"));
        assert_non_null(strstr(result_of(h, "r4"), "\"ok\":false"));
        assert_non_null(strstr(result_of(h, "r4"), "limit"));
        assert_non_null(strstr(result_of(h, "c1"), "\"ok\":true"));
        assert_non_null(strstr(result_of(h, "p1"), "\"ok\":true"));
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM report"), 4);
        assert_int_equal(h_db_int(h, "SELECT over_limit FROM report WHERE number = 4"), 1);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM checkin WHERE worker = 'w-a-01'"), 1);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM pass WHERE reason = 'hospital'"
                                     " AND exit_usec IS NOT NULL AND return_usec IS NOT NULL"),
                         1);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM action WHERE channel = 'mqtt'"
                                     " AND kind IN ('checkin', 'pass', 'report')"),
                         6);

        /* Notifications: the team for too_many_openings, the team for the escape, and the
         * team again when the camera upgraded it to person_left. */
        size_t person_left = 0, too_many = 0, unexpected = 0;
        for (size_t i = 0; i < h_count_messages(h, NOTIFY); i++) {
                cJSON *j = cJSON_Parse(h_message(h, NOTIFY, i)->payload);
                const char *kind = cJSON_GetObjectItem(j, "kind")->valuestring;
                const char *sev = cJSON_GetObjectItem(j, "severity")->valuestring;
                assert_string_equal(cJSON_GetObjectItem(j, "household")->valuestring, "H-1");
                if (strcmp(kind, "person_left") == 0) {
                        person_left++;
                        assert_string_equal(sev, "critical");
                        assert_non_null(
                            strstr(cJSON_GetObjectItem(j, "reason")->valuestring, "person leave"));
                } else if (strcmp(kind, "too_many_openings") == 0) {
                        too_many++;
                        assert_string_equal(sev, "medium");
                } else if (strcmp(kind, "door_open_unexpected") == 0) {
                        unexpected++;
                }
                cJSON_Delete(j);
        }
        assert_int_equal(too_many, 3);
        assert_int_equal(unexpected, 3);
        assert_int_equal(person_left, 3);

        /* The timeline says why, in the day's own time. */
        char bin[256], *out = NULL;
        snprintf(bin, sizeof(bin), "%s/doorwatchctl", h_build_dir());
        const char *argv[] = { bin, "-c", h->confdir, "events", "--household", "H-1", NULL };
        assert_int_equal(h_run(&out, argv), 0);
        assert_non_null(strstr(out, "2020-02-06 07:30:00\tH-1 (mqtt)\treport"));
        assert_non_null(strstr(out, "2020-02-06 08:00:20\td-1-door\tdoor open\texpected"));
        assert_non_null(strstr(out, "w-a-03 (mqtt)\tpass\trecorded"));
        assert_non_null(strstr(out, "door open\talert\tdoor opened after pre-report 4"));
        /* Every event's time is its device's (max_clock_skew is large here). */
        assert_non_null(strstr(out, "\tdevice\n"));
        assert_null(strstr(out, "\treceive\n"));
        free(out);
        const char *argv2[] = { bin,           "-c",  h->confdir, "events",
                                "--household", "H-1", "--since",  "2020-02-06T19:00:00+08:00",
                                NULL };
        assert_int_equal(h_run(&out, argv2), 0);
        assert_null(strstr(out, "07:30:00"));
        assert_non_null(strstr(out, "20:00:40\td-1-cam\tperson out\talert"));
        free(out);
}

/* ---- a district's day ---- */

static int setup_district(void **state)
{
        struct harness *h = calloc(1, sizeof(*h));
        h_init(h);
        *state = h;
        return 0;
}

/* Publishes the day as fast as the broker takes it, in order, and waits until every event
 * is stored and every command answered. */
static void play_district_day(struct harness *h, const struct sim_day *d)
{
        h_write_conf(h, "workers.json", d->workers_json);
        h_write_conf(h, "households.json", d->households_json);
        h_write_conf(h, "rosters.json", d->rosters_json);
        h_write_default_config(h, "\"policy\": {\"max_clock_skew\": \"100000d\"}");
        h_start_broker(h);
        h_start_daemon(h);
        h_subscribe(h, "doorwatch/v1/households/+/result");
        for (size_t i = 0; i < d->n_msgs; i++) {
                const struct sim_day_msg *m = &d->msgs[i];
                assert_int_equal(mosquitto_publish(h->client, NULL, m->topic,
                                                   (int)strlen(m->payload), m->payload, 1, false),
                                 MOSQ_ERR_SUCCESS);
                mosquitto_loop(h->client, 0, 1);
        }
        assert_int_equal(
            h_db_wait_int(h, (int64_t)d->n_events, 120000, "SELECT count(*) FROM event"),
            (int64_t)d->n_events);
        assert_int_equal(h_wait_messages(h, RESULTS, d->n_commands, 30000), d->n_commands);
        h_pump(h, 500); /* a deadline still due (none should be) */
}

struct compare {
        const struct sim_day *d;
        const char *what;
        bool *matched;
        size_t n, false_alerts, joined;
};

static void compare_row(const char *const *cols, int n_cols, void *userdata)
{
        struct compare *c = userdata;
        const char *hh = cols[0] ? cols[0] : "", *kind = cols[1] ? cols[1] : "";
        double ts = cols[2] ? strtod(cols[2], NULL) : 0;
        int count = cols[3] ? atoi(cols[3]) : 0;
        bool found = false;

        c->n++;
        for (size_t i = 0; i < c->d->n_alerts && !found; i++)
                if (!c->matched[i] && strcmp(c->d->alerts[i].household, hh) == 0 &&
                    strcmp(c->d->alerts[i].kind, kind) == 0 && fabs(c->d->alerts[i].ts - ts) <= 5)
                        found = c->matched[i] = true;
        if (!found) {
                c->false_alerts++;
                print_message("%s: false alert %s %s at %.3f\n", c->what, hh, kind, ts);
        }
        if (count != (strcmp(kind, "person_left") == 0 ? 2 : 1)) {
                c->joined += (size_t)count - 1;
                print_message("%s: alert %s %s at %.3f counts %d openings\n", c->what, hh, kind, ts,
                              count);
        }
}

/* Compares the alerts raised with the day's: each raised alert (an episode: the opening
 * it is about within 5 s) must be one the day was made to raise, and count that opening
 * only (and the camera's detection, for person_left). Prints and returns the false ones,
 * the missed ones and the openings joined to them beyond that. */
static void compare_alerts(struct harness *h, const struct sim_day *d, const char *what,
                           size_t *ret_false, size_t *ret_missed, size_t *ret_joined)
{
        struct compare c = { .d = d,
                             .what = what,
                             .matched = calloc(d->n_alerts ? d->n_alerts : 1, sizeof(bool)) };
        size_t missed = 0;

        h_db_each(h,
                  "SELECT household, kind, event_ts, count FROM alert ORDER BY household, event_ts",
                  compare_row, &c);
        for (size_t i = 0; i < d->n_alerts; i++)
                if (!c.matched[i]) {
                        missed++;
                        print_message("%s: missed alert %s %s at %.3f\n", what,
                                      d->alerts[i].household, d->alerts[i].kind, d->alerts[i].ts);
                }
        print_message("%s: %zu openings (%zu with chatter), %zu messages; %zu alerts raised, "
                      "%zu to raise: %zu false, %zu missed, %zu more openings joined\n",
                      what, d->n_openings, d->n_chattering, d->n_msgs, c.n, d->n_alerts,
                      c.false_alerts, missed, c.joined);
        free(c.matched);
        *ret_false = c.false_alerts;
        *ret_missed = missed;
        *ret_joined = c.joined;
}

static void district_day(void **state, double chatter, double repeat, const char *what)
{
        struct harness *h = *state;
        struct sim_day_opts o = {
                .households = 300, .seed = 16, .chatter = chatter, .repeat = repeat
        };
        struct sim_day d;
        size_t false_alerts, missed, joined;

        sim_day_generate(&o, &d);
        assert_true(d.n_alerts > 20);
        play_district_day(h, &d);
        compare_alerts(h, &d, what, &false_alerts, &missed, &joined);
        assert_int_equal(false_alerts, 0);
        assert_int_equal(missed, 0);
        assert_int_equal(joined, 0);
        /* Redeliveries were recognised (each event stored once), and the noise left its
         * trace in the audit: chatter merged or held, every raw event kept. */
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM event"), (int64_t)d.n_events);
        if (chatter > 0) {
                assert_true(h_db_int(h, "SELECT count(*) FROM event WHERE reason LIKE"
                                        " '%%within chatter_settle%%: joins the opening%%'") > 0);
                assert_true(h_db_int(h, "SELECT count(*) FROM event WHERE reason LIKE"
                                        " '%%before chatter_settle%%'") > 0);
        }
        sim_day_free(&d);
}

static void test_a_clean_district_day(void **state)
{
        district_day(state, 0, 0, "clean day");
}

static void test_a_district_day_with_chatter(void **state)
{
        district_day(state, 0.05, 0, "chatter on 5 % of openings");
}

static void test_a_noisy_district_day(void **state)
{
        district_day(state, 0.10, 0.02, "chatter on 10 %, 2 % redelivered and repeated");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_a_whole_day, setup, teardown),
                cmocka_unit_test_setup_teardown(test_a_clean_district_day, setup_district,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_a_district_day_with_chatter, setup_district,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_a_noisy_district_day, setup_district,
                                                teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test-escalation.c: escalation, acknowledgement and rosters with the real doorwatchd and
 * a real broker. Deadlines are short (1-2 s) and the daemon is killed with SIGKILL in the
 * middle: each step must still arrive once, at its original deadline, and nothing may
 * arrive after an ack, across restarts. Arrival errors are printed ("figure: ...").
 * doorwatchctl's roster and alert commands are checked for output and exit status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define NOTIFY "doorwatch/v1/workers/+/notify"
#define RESULT "doorwatch/v1/workers/+/result"

/* One received notification, parsed. */
struct note {
        char id[64], worker[64], step[16], kind[32], role[16], alert[64], text[512];
        int round, reminder;
        double raised_at, at;
};

/* Every distinct notification received (redeliveries of one notification_id collapse to
 * the first, as receivers are told to de-duplicate). Returns the count. */
static size_t notes(struct harness *h, struct note *out, size_t max)
{
        size_t n = 0;

        for (size_t i = 0; i < h->n_msgs && n < max; i++) {
                bool mine = false, dup = false;
                mosquitto_topic_matches_sub(NOTIFY, h->msgs[i].topic, &mine);
                if (!mine)
                        continue;
                cJSON *j = cJSON_Parse(h->msgs[i].payload);
                assert_non_null(j);
                struct note *x = &out[n];
                memset(x, 0, sizeof(*x));
#define S(field, key)                                                                              \
        do {                                                                                       \
                cJSON *v = cJSON_GetObjectItem(j, key);                                            \
                if (cJSON_IsString(v))                                                             \
                        snprintf(x->field, sizeof(x->field), "%s", v->valuestring);                \
        } while (0)
                S(id, "notification_id");
                S(worker, "worker");
                S(step, "step");
                S(kind, "kind");
                S(role, "role");
                S(alert, "alert_id");
                S(text, "text");
#undef S
                cJSON *v = cJSON_GetObjectItem(j, "round");
                x->round = cJSON_IsNumber(v) ? v->valueint : 0;
                v = cJSON_GetObjectItem(j, "reminder");
                x->reminder = cJSON_IsNumber(v) ? v->valueint : 0;
                v = cJSON_GetObjectItem(j, "raised_at");
                x->raised_at = cJSON_IsNumber(v) ? v->valuedouble : 0;
                x->at = h->msgs[i].at;
                cJSON_Delete(j);
                for (size_t k = 0; k < n && !dup; k++)
                        dup = strcmp(out[k].id, x->id) == 0;
                if (!dup)
                        n++;
        }
        return n;
}

/* Distinct alert notifications (not ack notices) of the given step (NULL: any), round
 * (0: any) and reminder number (-1: any). */
static size_t count_step(struct harness *h, const char *step, int round, int reminder,
                         double *first_at)
{
        static struct note v[512];
        size_t n = notes(h, v, 512), c = 0;

        if (first_at)
                *first_at = 0;
        for (size_t i = 0; i < n; i++) {
                if (strcmp(v[i].kind, "ack_notice") == 0)
                        continue;
                if ((step && strcmp(v[i].step, step) != 0) || (round && v[i].round != round) ||
                    (reminder >= 0 && v[i].reminder != reminder))
                        continue;
                if (first_at && (c == 0 || v[i].at < *first_at))
                        *first_at = v[i].at;
                c++;
        }
        return c;
}

static size_t wait_step(struct harness *h, const char *step, int round, int reminder, size_t want,
                        int timeout_ms, double *first_at)
{
        size_t n = 0;
        for (int waited = 0; waited <= timeout_ms; waited += 10) {
                n = count_step(h, step, round, reminder, first_at);
                if (n >= want)
                        break;
                h_pump(h, 10);
        }
        return n;
}

static void pump_until(struct harness *h, double t)
{
        while (h_now() < t)
                h_pump(h, 10);
}

static void door_event(struct harness *h, const char *device, const char *id, const char *state)
{
        char topic[256], payload[256];
        snprintf(topic, sizeof(topic), "doorwatch/v1/devices/%s/events", device);
        snprintf(payload, sizeof(payload),
                 "{\"id\": \"%s\", \"ts\": %.3f, \"type\": \"door\", \"state\": \"%s\"}", id,
                 h_now(), state);
        h_publish(h, topic, payload, false);
}

static const char *workers_with_beta =
    "[{\"id\": \"w-a-01\", \"name\": \"测试甲\", \"role\": \"community\", \"community\": \"alpha\","
    "  \"channels\": [\"mqtt\"]},"
    " {\"id\": \"w-a-02\", \"name\": \"测试乙\", \"role\": \"medical\", \"community\": \"alpha\","
    "  \"channels\": [\"mqtt\"]},"
    " {\"id\": \"w-a-03\", \"name\": \"测试丙\", \"role\": \"police\", \"community\": \"alpha\","
    "  \"channels\": [\"mqtt\"]},"
    " {\"id\": \"w-a-13\", \"name\": \"测试庚\", \"role\": \"police\", \"community\": \"alpha\","
    "  \"channels\": [\"mqtt\"]},"
    " {\"id\": \"w-a-00\", \"name\": \"测试丁\", \"role\": \"staff\", \"community\": \"alpha\","
    "  \"channels\": [\"mqtt\"]},"
    " {\"id\": \"w-b-01\", \"name\": \"别社区\", \"role\": \"community\", \"community\": \"beta\","
    "  \"channels\": [\"mqtt\"]},"
    " {\"id\": \"w-cmd\", \"name\": \"指挥中心\", \"role\": \"staff\", \"channels\": [\"mqtt\"]}]";

static struct harness *start(const char *escalation)
{
        struct harness *h = calloc(1, sizeof(*h));
        char extra[512];

        h_init(h);
        snprintf(extra, sizeof(extra), "\"escalation\": %s", escalation);
        h_write_default_config(h, extra);
        h_start_broker(h);
        h_start_daemon(h);
        return h;
}

static int teardown(void **state)
{
        struct harness *h = *state;
        if (h) {
                h_cleanup(h);
                free(h);
        }
        return 0;
}

/* Raises an alert on H-1 and waits for the team step; returns raised_at. */
static double raise_alert(struct harness *h, const char *event_id, char *alert_id, size_t size)
{
        double t;
        door_event(h, "d-1-door", event_id, "open");
        assert_int_equal(wait_step(h, "team", 1, 0, 3, 5000, &t), 3);
        const struct h_msg *m = h_message(h, NOTIFY, 0);
        cJSON *j = cJSON_Parse(m->payload);
        double raised = cJSON_GetObjectItem(j, "raised_at")->valuedouble;
        snprintf(alert_id, size, "%s", cJSON_GetObjectItem(j, "alert_id")->valuestring);
        cJSON_Delete(j);
        return raised;
}

static void test_leader_step_survives_sigkill_once_on_time(void **state)
{
        struct harness *h = start("{\"ack_timeout\": \"2s\", \"steps\": [\"team\", \"leader\","
                                  " \"command\"], \"repeat\": 1, \"remind_every\": \"30m\"}");
        char alert_id[64], payload[256];
        double raised, leader_at, err;
        *state = h;

        raised = raise_alert(h, "e-1", alert_id, sizeof(alert_id));
        assert_int_equal(h_stop_daemon(h, SIGKILL), 128 + SIGKILL);
        assert_true(h_now() < raised + 1.5); /* killed well before ack_timeout */
        h_start_daemon(h);                   /* clears the recorded messages */

        /* The leader step: the leader and the team again, each once, at raised + 2 s. */
        assert_int_equal(wait_step(h, "leader", 1, 0, 4, 6000, &leader_at), 4);
        err = leader_at - (raised + 2.0);
        fprintf(stderr,
                "figure: leader step after SIGKILL + restart arrived %+.0f ms from its "
                "deadline\n",
                err * 1000);
        assert_true(err > -0.05 && err < 0.5);
        assert_int_equal(count_step(h, "leader", 1, 0, NULL), 4);
        assert_int_equal(h_db_int(h,
                                  "SELECT count(*) FROM notification WHERE alert_id = '%q'"
                                  " AND step = 'leader'",
                                  alert_id),
                         4);
        assert_int_equal(h_db_int(h,
                                  "SELECT count(DISTINCT worker) FROM notification"
                                  " WHERE alert_id = '%q' AND step = 'leader'",
                                  alert_id),
                         4);
        assert_string_equal(
            h_db_text(h,
                      "SELECT json_extract(payload, '$.role') FROM notification"
                      " WHERE alert_id = '%q' AND step = 'leader' AND worker = 'w-a-00'",
                      alert_id),
            "leader");

        /* Ack by the doctor: escalation stops, the three others are told who acknowledged. */
        snprintf(payload, sizeof(payload), "{\"alert_id\": \"%s\", \"request_id\": \"ack-1\"}",
                 alert_id);
        h_publish(h, "doorwatch/v1/workers/w-a-02/ack", payload, false);
        assert_int_equal(h_wait_messages(h, "doorwatch/v1/workers/w-a-02/result", 1, 3000), 1);
        assert_non_null(
            strstr(h_message(h, "doorwatch/v1/workers/w-a-02/result", 0)->payload, "\"ok\":true"));
        const char *others[] = { "w-a-00", "w-a-01", "w-a-03" };
        for (size_t i = 0; i < 3; i++) {
                char filter[128];
                snprintf(filter, sizeof(filter), "doorwatch/v1/workers/%s/notify", others[i]);
                bool seen = false;
                for (int k = 0; k < 300 && !seen; k++) {
                        for (size_t m = 0; m < h->n_msgs && !seen; m++) {
                                bool match = false;
                                mosquitto_topic_matches_sub(filter, h->msgs[m].topic, &match);
                                seen = match && strstr(h->msgs[m].payload, "\"ack_notice\"") &&
                                       strstr(h->msgs[m].payload, "的告警已由 测试乙 确认") &&
                                       strstr(h->msgs[m].payload, alert_id);
                        }
                        h_pump(h, 10);
                }
                assert_true(seen);
        }
        for (size_t m = 0; m < h->n_msgs; m++)
                if (strstr(h->msgs[m].topic, "/w-a-02/notify"))
                        assert_null(strstr(h->msgs[m].payload, "ack_notice"));
        assert_string_equal(h_db_text(h, "SELECT ack_channel FROM alert WHERE id = '%q'", alert_id),
                            "mqtt");

        /* Another SIGKILL and restart: past the command deadline (raised + 4 s) nothing comes. */
        assert_int_equal(h_stop_daemon(h, SIGKILL), 128 + SIGKILL);
        h_start_daemon(h);
        pump_until(h, raised + 6.0);
        assert_int_equal(count_step(h, NULL, 0, -1, NULL), 0);
        assert_int_equal(h_db_int(h,
                                  "SELECT count(*) FROM notification WHERE alert_id = '%q'"
                                  " AND kind != 'ack_notice'",
                                  alert_id),
                         7);
        assert_int_equal(
            h_db_int(h, "SELECT count(*) FROM alert WHERE id = '%q' AND next_usec IS NULL",
                     alert_id),
            1);
}

static void test_overdue_step_fires_once_promptly_then_keeps_schedule(void **state)
{
        struct harness *h = start("{\"ack_timeout\": \"2s\", \"steps\": [\"team\", \"leader\","
                                  " \"command\"], \"repeat\": 1, \"remind_every\": \"30m\"}");
        char alert_id[64];
        double raised, restarted, leader_at, command_at;
        *state = h;

        raised = raise_alert(h, "e-2", alert_id, sizeof(alert_id));
        assert_int_equal(h_stop_daemon(h, SIGKILL), 128 + SIGKILL);
        pump_until(h, raised + 3.0); /* the leader step is 1 s overdue while the daemon is down */
        restarted = h_now();
        h_start_daemon(h);
        assert_int_equal(wait_step(h, "leader", 1, 0, 4, 3000, &leader_at), 4);
        fprintf(stderr, "figure: overdue leader step arrived %.0f ms after the restart began\n",
                (leader_at - restarted) * 1000);
        assert_true(leader_at - restarted < 1.5);
        /* The command step keeps its original deadline, raised + 4 s. */
        assert_int_equal(wait_step(h, "command", 1, 0, 5, 4000, &command_at), 5);
        fprintf(stderr, "figure: command step arrived %+.0f ms from its original deadline\n",
                (command_at - raised - 4.0) * 1000);
        assert_true(fabs(command_at - (raised + 4.0)) < 0.5);
        pump_until(h, raised + 5.5);
        assert_int_equal(count_step(h, "leader", 0, -1, NULL), 4);
        assert_int_equal(count_step(h, "command", 0, -1, NULL), 5);
        assert_int_equal(
            h_db_int(h, "SELECT count(*) FROM notification WHERE alert_id = '%q'", alert_id),
            3 + 4 + 5);
}

static void test_rounds_and_reminders_until_cli_ack(void **state)
{
        struct harness *h = start("{\"ack_timeout\": \"1s\", \"steps\": [\"team\", \"leader\"],"
                                  " \"repeat\": 2, \"remind_every\": \"1s\"}");
        char alert_id[64], bin[256], *out = NULL;
        static struct note v[512];
        double raised;
        *state = h;

        raised = raise_alert(h, "e-3", alert_id, sizeof(alert_id));
        assert_int_equal(wait_step(h, "command", 0, 2, 1, 8000, NULL), 1);
        /* team r1, leader r1, team r2, leader r2, reminder 1, reminder 2, in that order and
         * each about 1 s after the previous. */
        size_t n = notes(h, v, 512);
        const struct {
                const char *step;
                int round, reminder;
                size_t count;
        } want[] = {
                { "team", 1, 0, 3 },   { "leader", 1, 0, 4 },  { "team", 2, 0, 3 },
                { "leader", 2, 0, 4 }, { "command", 2, 1, 1 }, { "command", 2, 2, 1 },
        };
        size_t k = 0;
        for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
                double at = v[k].at;
                for (size_t c = 0; c < want[w].count; c++, k++) {
                        assert_true(k < n);
                        assert_string_equal(v[k].step, want[w].step);
                        assert_int_equal(v[k].round, want[w].round);
                        assert_int_equal(v[k].reminder, want[w].reminder);
                }
                assert_true(fabs(at - (raised + (double)w)) < 0.5);
        }
        assert_string_equal(v[14].worker, "w-cmd");
        assert_non_null(strstr(v[14].text, "第1次提醒"));
        assert_non_null(strstr(v[7].text, "已升级"));

        /* The command centre acknowledges through doorwatchctl: recorded as the CLI. */
        snprintf(bin, sizeof(bin), "%s/doorwatchctl", h_build_dir());
        const char *ack[] = { bin,      "-c",       h->confdir, "alerts", "ack",
                              alert_id, "--worker", "w-cmd",    NULL };
        assert_int_equal(h_run(&out, ack), 0);
        assert_non_null(strstr(out, "ok"));
        free(out);
        assert_string_equal(h_db_text(h, "SELECT ack_channel FROM alert WHERE id = '%q'", alert_id),
                            "cli");
        assert_string_equal(
            h_db_text(h, "SELECT channel FROM action WHERE kind = 'ack' AND target = '%q'",
                      alert_id),
            "cli");
        /* Everyone notified but the acker hears of it; no reminder follows. */
        assert_int_equal(h_db_wait_int(h, 4, 3000,
                                       "SELECT count(DISTINCT worker) FROM notification"
                                       " WHERE alert_id = '%q' AND kind = 'ack_notice'",
                                       alert_id),
                         4);
        assert_int_equal(h_db_int(h,
                                  "SELECT count(*) FROM notification WHERE alert_id = '%q'"
                                  " AND kind = 'ack_notice' AND worker = 'w-cmd'",
                                  alert_id),
                         0);
        size_t reminders = count_step(h, "command", 0, -1, NULL);
        double acked = h_now();
        pump_until(h, acked + 2.5);
        assert_int_equal(count_step(h, "command", 0, -1, NULL), reminders);

        /* alerts list shows the escalation state. */
        const char *list[] = { bin,      "-c",   h->confdir,     "--json",
                               "alerts", "list", "--unresolved", NULL };
        assert_int_equal(h_run(&out, list), 0);
        cJSON *j = cJSON_Parse(out);
        assert_non_null(j);
        cJSON *a = cJSON_GetArrayItem(j, 0);
        assert_string_equal(cJSON_GetObjectItem(a, "id")->valuestring, alert_id);
        assert_string_equal(cJSON_GetObjectItem(a, "state")->valuestring, "acked");
        assert_string_equal(cJSON_GetObjectItem(a, "step")->valuestring, "reminder 2");
        assert_int_equal(cJSON_GetObjectItem(a, "round")->valueint, 2);
        assert_string_equal(cJSON_GetObjectItem(a, "ack_channel")->valuestring, "cli");
        assert_true(cJSON_GetObjectItem(a, "age_s")->valuedouble >= 4);
        cJSON_Delete(j);
        free(out);
        const char *table[] = { bin, "-c", h->confdir, "alerts", "list", NULL };
        assert_int_equal(h_run(&out, table), 0);
        assert_non_null(strstr(out, "age"));
        assert_non_null(strstr(out, "reminder 2"));
        free(out);
}

static void reply_of(struct harness *h, const char *worker, const char *request_id, bool ok,
                     const char *error)
{
        char filter[128], rid[128];
        snprintf(filter, sizeof(filter), "doorwatch/v1/workers/%s/result", worker);
        snprintf(rid, sizeof(rid), "\"request_id\":\"%s\"", request_id);
        for (int k = 0; k < 300; k++) {
                for (size_t m = 0; m < h->n_msgs; m++) {
                        bool match = false;
                        mosquitto_topic_matches_sub(filter, h->msgs[m].topic, &match);
                        if (!match || !strstr(h->msgs[m].payload, rid))
                                continue;
                        assert_non_null(
                            strstr(h->msgs[m].payload, ok ? "\"ok\":true" : "\"ok\":false"));
                        if (error)
                                assert_non_null(strstr(h->msgs[m].payload, error));
                        return;
                }
                h_pump(h, 10);
        }
        fail_msg("no reply %s for %s", request_id, worker);
}

static void command(struct harness *h, const char *worker, const char *verb, const char *body)
{
        char topic[128];
        snprintf(topic, sizeof(topic), "doorwatch/v1/workers/%s/%s", worker, verb);
        h_publish(h, topic, body, false);
}

static void test_refusals_and_resolve(void **state)
{
        struct harness *h = calloc(1, sizeof(*h));
        char alert_id[64], body[256], bin[256], *out = NULL;
        *state = h;

        h_init(h);
        h_write_conf(h, "workers.json", workers_with_beta);
        h_write_default_config(h, "\"escalation\": {\"ack_timeout\": \"1h\"}");
        h_start_broker(h);
        h_start_daemon(h);
        raise_alert(h, "e-4", alert_id, sizeof(alert_id));

        command(h, "w-a-01", "ack", "{\"alert_id\": \"a-19990101-0001\", \"request_id\": \"r1\"}");
        reply_of(h, "w-a-01", "r1", false, "unknown alert");
        command(h, "w-nobody", "ack", "{\"alert_id\": \"x\", \"request_id\": \"r2\"}");
        reply_of(h, "w-nobody", "r2", false, "unknown worker");
        snprintf(body, sizeof(body), "{\"alert_id\": \"%s\", \"request_id\": \"r3\"}", alert_id);
        command(h, "w-b-01", "ack", body);
        reply_of(h, "w-b-01", "r3", false, "may not act");
        snprintf(body, sizeof(body), "{\"alert_id\": \"%s\", \"request_id\": \"r4\"}", alert_id);
        command(h, "w-a-03", "ack", body);
        reply_of(h, "w-a-03", "r4", true, NULL);
        snprintf(body, sizeof(body), "{\"alert_id\": \"%s\", \"request_id\": \"r5\"}", alert_id);
        command(h, "w-a-01", "ack", body);
        reply_of(h, "w-a-01", "r5", false, "already acknowledged");
        snprintf(body, sizeof(body), "{\"alert_id\": \"%s\", \"request_id\": \"r6\"}", alert_id);
        command(h, "w-a-01", "resolve", body);
        reply_of(h, "w-a-01", "r6", false, "note");
        snprintf(body, sizeof(body),
                 "{\"alert_id\": \"%s\", \"request_id\": \"r7\", \"note\": \"家属倒垃圾\"}",
                 alert_id);
        command(h, "w-a-01", "resolve", body);
        reply_of(h, "w-a-01", "r7", true, NULL);
        snprintf(body, sizeof(body),
                 "{\"alert_id\": \"%s\", \"request_id\": \"r8\", \"note\": \"again\"}", alert_id);
        command(h, "w-a-01", "resolve", body);
        reply_of(h, "w-a-01", "r8", false, "already resolved");
        snprintf(body, sizeof(body), "{\"alert_id\": \"%s\", \"request_id\": \"r9\"}", alert_id);
        command(h, "w-a-01", "ack", body);
        reply_of(h, "w-a-01", "r9", false, "already resolved");

        assert_string_equal(h_db_text(h, "SELECT state FROM alert WHERE id = '%q'", alert_id),
                            "resolved");
        assert_string_equal(h_db_text(h,
                                      "SELECT acked_by || ' ' || resolved_by || ' ' || note"
                                      " FROM alert WHERE id = '%q'",
                                      alert_id),
                            "w-a-03 w-a-01 家属倒垃圾");
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM action WHERE target = '%q'", alert_id),
                         2);

        /* doorwatchctl: refused -> 1, usage -> 2, with a JSON answer under --json. */
        snprintf(bin, sizeof(bin), "%s/doorwatchctl", h_build_dir());
        const char *again[] = { bin,   "-c",     h->confdir, "--json", "alerts",
                                "ack", alert_id, "--worker", "w-a-02", NULL };
        assert_int_equal(h_run(&out, again), 1);
        assert_non_null(strstr(out, "already resolved"));
        assert_non_null(strstr(out, "\"ok\":false"));
        free(out);
        const char *nonote[] = { bin,      "-c",       h->confdir, "alerts", "resolve",
                                 alert_id, "--worker", "w-a-02",   NULL };
        assert_int_equal(h_run(&out, nonote), 2);
        free(out);
        const char *badworker[] = { bin,      "-c",       h->confdir, "alerts", "ack",
                                    alert_id, "--worker", "w-nobody", NULL };
        assert_int_equal(h_run(&out, badworker), 1);
        free(out);
}

/* A roster with day and night shifts, an off-duty police team member covered by a
 * colleague, and a medical hole every night. */
static const char *shift_rosters =
    "{\"communities\": {\"alpha\": {\"leader\": \"w-a-00\","
    "  \"shifts\": ["
    "   {\"role\": \"community\", \"worker\": \"w-a-01\", \"days\": [\"*\"], \"from\": \"00:00\", "
    "\"to\": \"00:00\"},"
    "   {\"role\": \"medical\", \"worker\": \"w-a-02\", \"days\": [\"*\"], \"from\": \"08:00\", "
    "\"to\": \"20:00\"},"
    "   {\"role\": \"police\", \"worker\": \"w-a-03\", \"days\": [\"mon\"], \"from\": \"08:00\", "
    "\"to\": \"20:00\"},"
    "   {\"role\": \"police\", \"worker\": \"w-a-13\", \"days\": [\"*\"], \"from\": \"00:00\", "
    "\"to\": \"00:00\"}],"
    "  \"overrides\": ["
    "   {\"role\": \"medical\", \"worker\": \"w-a-02\", \"from\": \"2026-12-02T20:00:00+08:00\","
    "    \"to\": \"2026-12-03T08:00:00+08:00\"}]}},"
    " \"command\": [\"w-cmd\"], \"admins\": [\"w-cmd\"]}";

static void test_ctl_roster_who_and_gaps(void **state)
{
        struct harness *h = calloc(1, sizeof(*h));
        char bin[256], dbin[256], *out = NULL;
        *state = h;

        h_init(h);
        h_write_conf(h, "workers.json", workers_with_beta);
        h_write_conf(h, "rosters.json", shift_rosters);
        snprintf(bin, sizeof(bin), "%s/doorwatchctl", h_build_dir());
        snprintf(dbin, sizeof(dbin), "%s/doorwatchd", h_build_dir());

        /* Monday 2026-11-30 10:00: the whole team on shift. */
        const char *mon[] = { bin,      "-c",   h->confdir,
                              "roster", "who",  "--household",
                              "H-1",    "--at", "2026-11-30T10:00:00+08:00",
                              NULL };
        assert_int_equal(h_run(&out, mon), 0);
        assert_non_null(strstr(out, "team member w-a-02 on shift"));
        assert_non_null(strstr(out, "team member w-a-03 on shift"));
        assert_non_null(strstr(out, "leader     w-a-00"));
        free(out);
        /* Tuesday 10:00: the police officer is off, covered by w-a-13. */
        const char *tue[] = {
                bin,   "-c",          h->confdir, "--json", "roster",
                "who", "--household", "H-1",      "--at",   "2026-12-01T10:00:00+08:00",
                NULL
        };
        assert_int_equal(h_run(&out, tue), 0);
        cJSON *j = cJSON_Parse(out);
        assert_non_null(j);
        cJSON *police = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "roles"), 2);
        assert_string_equal(cJSON_GetObjectItem(police, "role")->valuestring, "police");
        assert_string_equal(cJSON_GetObjectItem(police, "reason")->valuestring, "cover");
        assert_string_equal(
            cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(police, "workers"), 0), "id")
                ->valuestring,
            "w-a-13");
        assert_string_equal(cJSON_GetObjectItem(j, "at")->valuestring, "2026-12-01T10:00:00+08:00");
        cJSON_Delete(j);
        free(out);
        /* Tuesday 22:00: no doctor on duty: the leader. */
        const char *night[] = { bin,      "-c",   h->confdir,
                                "roster", "who",  "--household",
                                "H-1",    "--at", "2026-12-01T22:00:00+08:00",
                                NULL };
        assert_int_equal(h_run(&out, night), 0);
        assert_non_null(strstr(out, "nobody on duty for medical; community leader w-a-00"));
        free(out);

        /* Gaps: the medical nights, except the one the override fills. */
        const char *gaps[] = { bin,      "-c",     h->confdir,
                               "roster", "gaps",   "--community",
                               "alpha",  "--from", "2026-11-30T08:00:00+08:00",
                               "--days", "4",      NULL };
        assert_int_equal(h_run(&out, gaps), 1);
        assert_non_null(strstr(out, "medical  2026-11-30 20:00  2026-12-01 08:00  12h"));
        assert_non_null(strstr(out, "medical  2026-12-01 20:00  2026-12-02 08:00  12h"));
        assert_null(strstr(out, "2026-12-02 20:00"));
        assert_null(strstr(out, "police"));
        free(out);
        const char *gaps_json[] = {
                bin,      "-c",          h->confdir, "--json", "roster",
                "gaps",   "--community", "alpha",    "--from", "2026-11-30T08:00:00+08:00",
                "--days", "1",           NULL
        };
        assert_int_equal(h_run(&out, gaps_json), 1);
        j = cJSON_Parse(out);
        assert_non_null(j);
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "gaps")), 1);
        cJSON_Delete(j);
        free(out);
        const char *day[] = { bin,      "-c",     h->confdir,
                              "roster", "gaps",   "--community",
                              "alpha",  "--from", "2026-11-30T08:00:00+08:00",
                              "--days", "1",      NULL };
        h_write_conf(
            h, "rosters.json",
            "{\"communities\": {\"alpha\": {\"leader\": \"w-a-00\"}}, \"command\": [\"w-cmd\"]}");
        assert_int_equal(h_run(&out, day), 0);
        assert_non_null(strstr(out, "every role covered"));
        free(out);
        h_write_conf(h, "rosters.json", shift_rosters);

        /* Usage errors and unknown names. */
        const char *bad_at[] = { bin,           "-c",  h->confdir, "roster",  "who",
                                 "--household", "H-1", "--at",     "tonight", NULL };
        assert_int_equal(h_run(&out, bad_at), 2);
        free(out);
        const char *no_hh[] = { bin, "-c", h->confdir, "roster", "who", NULL };
        assert_int_equal(h_run(&out, no_hh), 2);
        free(out);
        const char *unknown[] = { bin,   "-c",          h->confdir, "roster",
                                  "who", "--household", "H-99",     NULL };
        assert_int_equal(h_run(&out, unknown), 1);
        free(out);
        const char *bad_days[] = { bin,           "-c",    h->confdir, "roster", "gaps",
                                   "--community", "alpha", "--days",   "0",      NULL };
        assert_int_equal(h_run(&out, bad_days), 2);
        free(out);
        const char *bad_cm[] = { bin,    "-c",          h->confdir, "roster",
                                 "gaps", "--community", "gamma",    NULL };
        assert_int_equal(h_run(&out, bad_cm), 1);
        free(out);

        /* --check-config: gap warnings for the next 7 days, still exit 0. */
        const char *check[] = { dbin, "--check-config", "-c", h->confdir, NULL };
        assert_int_equal(h_run(&out, check), 0);
        assert_non_null(
            strstr(out, "warning: rosters.json: communities.alpha: no medical on duty "));
        assert_non_null(strstr(out, "configuration OK"));
        free(out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_leader_step_survives_sigkill_once_on_time, teardown),
                cmocka_unit_test_teardown(test_overdue_step_fires_once_promptly_then_keeps_schedule,
                                          teardown),
                cmocka_unit_test_teardown(test_rounds_and_reminders_until_cli_ack, teardown),
                cmocka_unit_test_teardown(test_refusals_and_resolve, teardown),
                cmocka_unit_test_teardown(test_ctl_roster_who_and_gaps, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

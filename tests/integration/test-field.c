/* test-field.c: the field against the real daemon and broker (issue 18): the command line
 * says plainly what it does not know and reads the database through a broken registry;
 * medical rounds and readings (MQTT, the operator API, doorwatchctl), fevers and missed
 * rounds; a worker's own page; a pass_overdue resolved by the return; retention of
 * households removed from the configuration. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"
#include "util.h"

#define NOTIFY  "doorwatch/v1/workers/+/notify"
#define RESULTS "doorwatch/v1/workers/+/result"
#define ACK_KEY "integration-test-link-key-abcdefghijklmnop"

/* ---- an HTTP client ---- */

struct resp {
        long status;
        char *body;
        size_t len;
};

static size_t collect(char *data, size_t size, size_t n, void *userdata)
{
        struct resp *r = userdata;
        char *b = realloc(r->body, r->len + size * n + 1);
        assert_non_null(b);
        memcpy(b + r->len, data, size * n);
        r->len += size * n;
        b[r->len] = 0;
        r->body = b;
        return size * n;
}

/* GET (body NULL) or POST body to path (or a full URL), with the API token when auth. The
 * answer's body is in r->body (never NULL; free it). */
static long http(struct harness *h, const char *path, bool auth, const char *ctype,
                 const char *body, struct resp *r)
{
        struct curl_slist *hdrs = NULL;
        char url[2048], line[512];
        CURL *c = curl_easy_init();

        assert_non_null(c);
        *r = (struct resp){ 0 };
        if (strncmp(path, "http", 4) == 0)
                snprintf(url, sizeof(url), "%s", path);
        else
                snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", h->http_port, path);
        if (auth)
                hdrs = curl_slist_append(hdrs, "Authorization: Bearer " H_API_TOKEN);
        if (body) {
                snprintf(line, sizeof(line), "Content-Type: %s", ctype);
                hdrs = curl_slist_append(hdrs, line);
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        }
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
        CURLcode rc = curl_easy_perform(c);
        if (rc != CURLE_OK)
                fail_msg("%s %s: %s", body ? "POST" : "GET", url, curl_easy_strerror(rc));
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(c);
        if (!r->body)
                r->body = strdup("");
        return r->status;
}

static long api(struct harness *h, const char *path, const char *body, struct resp *r)
{
        return http(h, path, true, "application/json", body, r);
}

/* The "error" of a JSON answer (static buffer). */
static const char *error_of(const struct resp *r)
{
        static char buf[512];
        cJSON *j = cJSON_Parse(r->body);
        const cJSON *e = cJSON_GetObjectItem(j, "error");

        snprintf(buf, sizeof(buf), "%s", cJSON_IsString(e) ? e->valuestring : "(no error)");
        cJSON_Delete(j);
        return buf;
}

/* The error of the MQTT reply to worker's request rid, "(accepted)" when none (static). */
static const char *mqtt_reply(struct harness *h, const char *worker, const char *rid)
{
        static char buf[512];
        char filter[128];

        snprintf(filter, sizeof(filter), "doorwatch/v1/workers/%s/result", worker);
        for (int k = 0; k < 500; k++) {
                for (size_t m = 0; m < h->n_msgs; m++) {
                        bool match = false;
                        mosquitto_topic_matches_sub(filter, h->msgs[m].topic, &match);
                        cJSON *j = match ? cJSON_Parse(h->msgs[m].payload) : NULL;
                        const cJSON *id = cJSON_GetObjectItem(j, "request_id");
                        if (!cJSON_IsString(id) || strcmp(id->valuestring, rid) != 0) {
                                cJSON_Delete(j);
                                continue;
                        }
                        const cJSON *e = cJSON_GetObjectItem(j, "error");
                        snprintf(buf, sizeof(buf), "%s",
                                 cJSON_IsString(e) ? e->valuestring : "(accepted)");
                        cJSON_Delete(j);
                        return buf;
                }
                h_pump(h, 10);
        }
        fail_msg("no reply %s for %s", rid, worker);
        return NULL;
}

/* A worker's MQTT command; returns the reply's error or "(accepted)". */
static const char *mqtt_command(struct harness *h, const char *worker, const char *verb,
                                const char *rid, const char *body_fmt, ...)
{
        char topic[128], body[1024], payload[1200];
        va_list ap;

        va_start(ap, body_fmt);
        vsnprintf(body, sizeof(body), body_fmt, ap);
        va_end(ap);
        snprintf(topic, sizeof(topic), "doorwatch/v1/workers/%s/%s", worker, verb);
        snprintf(payload, sizeof(payload), "{\"request_id\": \"%s\", %s}", rid, body);
        h_publish(h, topic, payload, false);
        return mqtt_reply(h, worker, rid);
}

/* The notifications received so far to worker (their kinds, space-separated, static). */
static const char *kinds_to(struct harness *h, const char *worker)
{
        static char buf[512];
        char filter[128];
        size_t n = 0;

        snprintf(filter, sizeof(filter), "doorwatch/v1/workers/%s/notify", worker);
        buf[0] = 0;
        for (size_t i = 0; i < h_count_messages(h, filter); i++) {
                cJSON *j = cJSON_Parse(h_message(h, filter, i)->payload);
                const cJSON *k = cJSON_GetObjectItem(j, "kind");
                n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? " " : "",
                                      cJSON_IsString(k) ? k->valuestring : "?");
                cJSON_Delete(j);
        }
        return buf;
}

/* How many alerts the operator API lists as open (state=open). */
static int api_get_open(struct harness *h)
{
        struct resp r;
        cJSON *j;
        int n;

        assert_int_equal(http(h, "/api/v1/alerts?state=open", true, NULL, NULL, &r), 200);
        j = cJSON_Parse(r.body);
        n = cJSON_GetArraySize(cJSON_GetObjectItem(j, "alerts"));
        cJSON_Delete(j);
        free(r.body);
        return n;
}

/* ---- fixture ---- */

static const char *field_workers =
    "[{\"id\": \"w-a-01\", \"name\": \"社区甲\", \"role\": \"community\", \"community\": "
    "\"alpha\"},"
    " {\"id\": \"w-a-02\", \"name\": \"医生乙\", \"role\": \"medical\", \"community\": \"alpha\"},"
    " {\"id\": \"w-a-03\", \"name\": \"民警丙\", \"role\": \"police\", \"community\": \"alpha\"},"
    " {\"id\": \"w-a-00\", \"name\": \"组长丁\", \"role\": \"staff\", \"community\": \"alpha\"},"
    " {\"id\": \"w-b-01\", \"name\": \"外社区\", \"role\": \"medical\", \"community\": "
    "\"beta\"},"
    " {\"id\": \"w-cmd\", \"name\": \"指挥中心\", \"role\": \"staff\"}]";

/* Household H-1 (team w-a-01, w-a-02, w-a-03) with medical rounds at `at` (a JSON array of
 * "HH:MM") +/- window, and H-2 without rounds. */
static void write_field_config(struct harness *h, const char *at, const char *window)
{
        char hh[2048], extra[512];

        snprintf(hh, sizeof(hh),
                 "[{\"id\": \"H-1\", \"community\": \"alpha\", \"address\": \"巡诊路 1号\","
                 "  \"observation\": {\"start\": \"2020-01-01T00:00:00+08:00\", \"end\": null},"
                 "  \"team\": {\"community\": \"w-a-01\", \"medical\": \"w-a-02\","
                 "            \"police\": \"w-a-03\"},"
                 "  \"schedule\": [{\"role\": \"medical\", \"at\": %s, \"window\": \"%s\"}],"
                 "  \"devices\": [{\"id\": \"d-1-door\", \"kind\": \"door_contact\","
                 "               \"source\": \"native\"}]},"
                 " {\"id\": \"H-2\", \"community\": \"alpha\", \"address\": \"巡诊路 2号\","
                 "  \"observation\": {\"start\": \"2020-01-01T00:00:00+08:00\", \"end\": null},"
                 "  \"team\": {\"community\": \"w-a-01\", \"medical\": \"w-a-02\","
                 "            \"police\": \"w-a-03\"},"
                 "  \"devices\": [{\"id\": \"d-2-door\", \"kind\": \"door_contact\","
                 "               \"source\": \"native\"}]}]",
                 at, window);
        h_write_conf(h, "households.json", hh);
        h_write_conf(h, "workers.json", field_workers);
        h_write_conf(h, "ack.key", ACK_KEY "\n");
        snprintf(extra, sizeof(extra),
                 "\"http\": {\"listen\": \"127.0.0.1:%d\", \"public_url\": \"http://127.0.0.1:%d\","
                 " \"token_file\": \"api.token\", \"ack_secret_file\": \"ack.key\"},"
                 " \"policy\": {\"max_clock_skew\": \"100000d\"},"
                 " \"escalation\": {\"ack_timeout\": \"1h\"}",
                 h->http_port, h->http_port);
        h_write_default_config(h, extra);
}

/* The local time of day of t as "HH:MM" (the campaign's zone, which main() sets). */
static void hhmm(time_t t, char buf[static 8])
{
        struct tm tm;
        localtime_r(&t, &tm);
        snprintf(buf, 8, "%02d:%02d", tm.tm_hour, tm.tm_min);
}

static int setup(void **state)
{
        struct harness *h = calloc(1, sizeof(*h));

        h_init(h);
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

/* Runs a program of the build (doorwatchctl, doorwatch-sim) with args; doorwatchctl gets
 * "-c CONFDIR" first. */
static int run_tool(struct harness *h, const char *tool, char **out, const char *const *args)
{
        char bin[256];
        const char *argv[32] = { bin };
        size_t n = 1;

        snprintf(bin, sizeof(bin), "%s/%s", h_build_dir(), tool);
        if (strcmp(tool, "doorwatchctl") == 0) {
                argv[n++] = "-c";
                argv[n++] = h->confdir;
        }
        for (size_t i = 0; args[i] && n < 31; i++)
                argv[n++] = args[i];
        argv[n] = NULL;
        return h_run(out, argv);
}

static int run_ctl(struct harness *h, char **out, const char *const *args)
{
        return run_tool(h, "doorwatchctl", out, args);
}

static size_t count_lines(const char *s)
{
        size_t n = 0;
        for (; *s; s++)
                n += *s == '\n';
        return n;
}

static size_t count_str(const char *s, const char *what)
{
        size_t n = 0;
        for (const char *p = strstr(s, what); p; p = strstr(p + 1, what))
                n++;
        return n;
}

/* ---- the command line ---- */

/* An unknown command is one line; --help lists every command once and exits 0; the
 * simulator knows --help; read-only queries go on through a broken registry. */
static void test_cli_says_what_it_does_not_know(void **state)
{
        struct harness *h = *state;
        char *out = NULL, payload[256];

        const char *frob[] = { "frob", "x", NULL };
        assert_int_equal(run_ctl(h, &out, frob), 2);
        assert_string_equal(out, "doorwatchctl: unknown command \"frob\" (doorwatchctl --help)\n");
        free(out);
        const char *alerts_frob[] = { "alerts", "frob", NULL };
        assert_int_equal(run_ctl(h, &out, alerts_frob), 2);
        assert_non_null(strstr(out, "unknown command \"alerts frob\""));
        assert_int_equal(count_lines(out), 1);
        free(out);
        const char *help[] = { "--help", NULL };
        assert_int_equal(run_ctl(h, &out, help), 0);
        assert_int_equal(count_str(out, "  events --household"), 1);
        free(out);
        assert_int_equal(run_tool(h, "doorwatch-sim", &out, help), 0);
        assert_non_null(strstr(out, "Usage: doorwatch-sim"));
        assert_null(strstr(out, "invalid option"));
        free(out);

        /* A database with an alert in it. */
        h_start_broker(h);
        h_start_daemon(h);
        snprintf(payload, sizeof(payload),
                 "{\"id\": \"e-cli\", \"ts\": %.3f, \"type\": \"door\", \"state\": \"open\"}",
                 h_now());
        h_publish(h, "doorwatch/v1/devices/d-1-door/events", payload, false);
        assert_int_equal(h_db_wait_int(h, 1, 5000, "SELECT count(*) FROM alert"), 1);

        /* The registry breaks (an unknown key): queries of the database go on, with the
         * errors as warnings; roster answers and actions, which need it, do not. */
        h_write_conf(h, "rosters.json", "{\"communities\": {}, \"commandx\": []}");
        const char *list[] = { "alerts", "list", NULL };
        assert_int_equal(run_ctl(h, &out, list), 0);
        assert_non_null(strstr(out, "warning: rosters.json: commandx: unknown key"));
        assert_non_null(strstr(out, "door_open_unexpected"));
        assert_null(strstr(out, "<3>"));
        free(out);
        const char *events[] = { "events", "--household", "H-1", NULL };
        assert_int_equal(run_ctl(h, &out, events), 0);
        assert_non_null(strstr(out, "door open"));
        free(out);
        const char *checkin[] = { "checkin", "--household", "H-1", "--worker", "w-a-01", NULL };
        assert_int_equal(run_ctl(h, &out, checkin), 1);
        assert_non_null(strstr(out, "is invalid"));
        free(out);
}

/* ---- medical rounds and readings ---- */

/* Readings through every door (MQTT, the operator API, doorwatchctl), stored with who,
 * when and the channel; rounds judged in event time (the replayed readings' ts): done,
 * then missed (to the medical worker alone), resolved by a later reading (the system, the
 * notified told); a fever to the team and the leader at once; bad input refused with a
 * clear answer: 80 °C, a household not in the worker's care. */
static void test_readings_and_rounds(void **state)
{
        struct harness *h = *state;
        /* Rounds at R and R + 2h, six hours ahead: no round ends while the test runs. */
        time_t now = time(NULL), R = (now + 6 * 3600) / 3600 * 3600;
        char at[64], a[8], b[8], *out = NULL, body[512];
        struct resp r;

        hhmm(R, a);
        hhmm(R + 2 * 3600, b);
        snprintf(at, sizeof(at), "[\"%s\", \"%s\"]", a, b);
        write_field_config(h, at, "30m");
        h_start_broker(h);
        h_start_daemon(h);
        h_subscribe(h, NOTIFY);
        h_subscribe(h, RESULTS);

        /* The team's doctor, ten minutes before R, over MQTT: counts for the round. */
        assert_string_equal(mqtt_command(h, "w-a-02", "reading", "r1",
                                         "\"household\": \"H-1\", \"temperature\": 36.6,"
                                         " \"ts\": %lld",
                                         (long long)R - 600),
                            "(accepted)");
        /* The community worker, through the operator API, 40 minutes after R: recorded, counts
         * for no round; the round at R (judged first) was done. */
        snprintf(body, sizeof(body),
                 "{\"worker\": \"w-a-01\", \"household\": \"H-1\", \"temperature\": 36.8,"
                 " \"note\": \"家属代测\", \"ts\": %lld}",
                 (long long)R + 2400);
        assert_int_equal(api(h, "/api/v1/readings", body, &r), 200);
        free(r.body);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM alert"), 0);

        /* 80 °C: a typing error, refused with a clear answer through every door. */
        assert_string_equal(mqtt_command(h, "w-a-02", "reading", "r2",
                                         "\"household\": \"H-1\", \"temperature\": 80"),
                            "\"temperature\" 80.0 °C is outside 34–43 °C: a typing error? "
                            "(degrees Celsius, e.g. 36.6)");
        assert_int_equal(
            api(h, "/api/v1/readings",
                "{\"worker\": \"w-a-02\", \"household\": \"H-1\", \"temperature\": 80}", &r),
            400);
        assert_non_null(strstr(error_of(&r), "80.0 °C is outside 34–43 °C"));
        free(r.body);
        const char *hot[] = { "reading", "--household",   "H-1", "--worker",
                              "w-a-02",  "--temperature", "80",  NULL };
        assert_int_equal(run_ctl(h, &out, hot), 1);
        assert_non_null(strstr(out, "80.0 °C is outside 34–43 °C"));
        assert_int_equal(count_lines(out), 1);
        free(out);
        /* A household not in the worker's care (a doctor of another community): refused,
         * recorded. */
        assert_string_equal(mqtt_command(h, "w-b-01", "reading", "r3",
                                         "\"household\": \"H-1\", \"temperature\": 36.6"),
                            "household is not in the worker's care (not of the worker's "
                            "community or team)");
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM action WHERE kind = 'reading' AND"
                                     " actor = 'w-b-01' AND detail LIKE 'refused: %%'"),
                         1);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM reading"), 2);

        /* Nobody came for the round at R + 2h: judged missed when the next reading arrives
         * (event time), to the medical worker on duty alone. */
        h_clear_messages(h);
        assert_string_equal(mqtt_command(h, "w-a-01", "reading", "r4",
                                         "\"household\": \"H-1\", \"temperature\": 36.5,"
                                         " \"ts\": %lld",
                                         (long long)R + 2 * 3600 + 31 * 60),
                            "(accepted)");
        assert_int_equal(h_wait_messages(h, NOTIFY, 1, 5000), 1);
        h_pump(h, 300);
        assert_string_equal(kinds_to(h, "w-a-02"), "round_missed");
        assert_int_equal(h_count_messages(h, NOTIFY), 1);
        assert_string_equal(h_db_text(h, "SELECT severity FROM alert WHERE kind = 'round_missed'"),
                            "medium");
        assert_non_null(strstr(h_db_text(h, "SELECT reason FROM alert WHERE kind = 'round_missed'"),
                               "no reading for the medical round at"));

        /* The doctor comes late and finds a fever: the missed round is resolved by the
         * system (the notified told), the fever goes to the team and the leader at once. */
        h_clear_messages(h);
        assert_string_equal(mqtt_command(h, "w-a-02", "reading", "r5",
                                         "\"household\": \"H-1\", \"temperature\": 38.2,"
                                         " \"symptoms\": [\"cough\"], \"ts\": %lld",
                                         (long long)R + 2 * 3600 + 40 * 60),
                            "(accepted)");
        assert_int_equal(h_wait_messages(h, NOTIFY, 5, 5000), 5);
        h_pump(h, 300);
        assert_string_equal(kinds_to(h, "w-a-02"), "resolved_notice fever");
        assert_string_equal(kinds_to(h, "w-a-01"), "fever");
        assert_string_equal(kinds_to(h, "w-a-03"), "fever");
        assert_string_equal(kinds_to(h, "w-a-00"), "fever");
        assert_string_equal(
            h_db_text(h, "SELECT state || ' ' || resolved_by || ' ' || resolve_channel FROM alert"
                         " WHERE kind = 'round_missed'"),
            "resolved system system");
        assert_non_null(strstr(h_db_text(h, "SELECT note FROM alert WHERE kind = 'round_missed'"),
                               "a reading of 38.2 °C by w-a-02"));
        cJSON *notice = cJSON_Parse(h_message(h, "doorwatch/v1/workers/w-a-02/notify", 0)->payload);
        assert_string_equal(cJSON_GetObjectItem(notice, "alert_kind")->valuestring, "round_missed");
        assert_non_null(strstr(cJSON_GetObjectItem(notice, "text")->valuestring,
                               "“健康巡查未完成”告警已由系统解除：医生乙 已于"));
        cJSON_Delete(notice);
        assert_string_equal(h_db_text(h, "SELECT severity FROM alert WHERE kind = 'fever'"),
                            "critical");
        assert_non_null(strstr(h_db_text(h, "SELECT reason FROM alert WHERE kind = 'fever'"),
                               "temperature 38.2 °C at or above fever_at 37.3 °C; fever "
                               "symptoms: cough"));

        /* doorwatchctl records as the CLI (fatigue is a listed symptom: a fever of H-2). */
        const char *ok[] = { "reading",  "--household", "H-2",
                             "--worker", "w-a-02",      "--temperature",
                             "36.4",     "--symptoms",  "fatigue, itch",
                             NULL };
        assert_int_equal(run_ctl(h, &out, ok), 0);
        free(out);

        /* Every reading stored with who, when, the channel and what it meant. */
        assert_string_equal(
            h_db_text(h, "SELECT group_concat(worker || '/' || channel || '/' ||"
                         " CAST(counts AS INTEGER) || '/' || CAST(fever AS INTEGER) || '/' ||"
                         " CAST((alert_id IS NOT NULL) AS INTEGER) || '/' || symptoms, ' ')"
                         " FROM (SELECT * FROM reading ORDER BY id) AS r"),
            "w-a-02/mqtt/1/0/0/[] w-a-01/operator-api/0/0/0/[] w-a-01/mqtt/0/0/0/[] "
            "w-a-02/mqtt/1/1/1/[\"cough\"] w-a-02/cli/1/1/1/[\"fatigue\",\"itch\"]");
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM reading WHERE round_usec = %lld",
                                  (long long)(R - 0) * 1000000),
                         1);
        assert_string_equal(h_db_text(h, "SELECT note FROM reading WHERE channel = 'operator-api'"),
                            "家属代测");
        /* The daily report of the day the second round ended counts the rounds and fevers. */
        {
                char day[16], r1[16], today[16], want[128];
                time_t end2 = R + 2 * 3600 + 1800, end1 = R + 1800, t = time(NULL);
                struct tm tm;
                bool both = false;

                strftime(day, sizeof(day), "%F", localtime_r(&end2, &tm));
                strftime(r1, sizeof(r1), "%F", localtime_r(&end1, &tm));
                strftime(today, sizeof(today), "%F", localtime_r(&t, &tm));
                both = strcmp(day, r1) == 0;
                const char *rep[] = { "report", "daily", "--date", day, "--format", "csv", NULL };
                assert_int_equal(run_ctl(h, &out, rep), 0);
                snprintf(want, sizeof(want), "%s,健康巡查应做（时段已结束）,%d,%d,0\r\n", day,
                         both ? 2 : 1, both ? 2 : 1);
                if (!strstr(out, want))
                        fail_msg("no \"%s\" in the report:\n%s", want, out);
                snprintf(want, sizeof(want), "%s,已完成（有测温记录）,%d,%d,0\r\n", day, both,
                         both);
                assert_non_null(strstr(out, want));
                snprintf(want, sizeof(want), "%s,未完成,1,1,0\r\n", day);
                assert_non_null(strstr(out, want));
                snprintf(want, sizeof(want), "%s,发热或可疑症状（测温记录）,%d,%d,0\r\n", day,
                         1 + !strcmp(day, today), 1 + !strcmp(day, today));
                if (!strstr(out, want))
                        fail_msg("no \"%s\" in the report:\n%s", want, out);
                free(out);
        }

        /* The household's timeline shows them. */
        const char *events[] = { "events", "--household", "H-1", NULL };
        assert_int_equal(run_ctl(h, &out, events), 0);
        assert_non_null(strstr(out, "36.6 °C; counts for the round at"));
        assert_non_null(strstr(out, "38.2 °C; symptoms cough; fever"));
        assert_non_null(strstr(out, "refused: household is not in the worker's care"));
        free(out);
}

/* The live case: a round whose window ends a few seconds after the daemon started, with no
 * event at all, is judged by the household's timer. */
static void test_round_missed_live(void **state)
{
        struct harness *h = *state;
        time_t now = time(NULL), minute = now / 60 * 60;
        char at[32], a[8], window[16];

        /* The window around this minute ends 8 s from now. */
        hhmm(minute, a);
        snprintf(at, sizeof(at), "[\"%s\"]", a);
        snprintf(window, sizeof(window), "%llds", (long long)(now + 8 - minute));
        write_field_config(h, at, window);
        h_start_broker(h);
        h_start_daemon(h);
        h_subscribe(h, NOTIFY);
        assert_int_equal(
            h_db_wait_int(h, 1, 20000, "SELECT count(*) FROM alert WHERE kind = 'round_missed'"),
            1);
        assert_int_equal(h_wait_messages(h, NOTIFY, 1, 5000), 1);
        assert_string_equal(kinds_to(h, "w-a-02"), "round_missed");
        /* H-2 has no rounds. */
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM alert WHERE household = 'H-2'"), 0);
}

/* ---- a worker's own page ---- */

/* The value of the nonce of the first form after `after` (an id on the page) whose action is
 * `action` (static buffer). */
static const char *nonce_of(const char *page, const char *after, const char *action)
{
        static char buf[600];
        char want[64];
        const char *p = strstr(page, after), *form, *v;

        assert_non_null(p);
        snprintf(want, sizeof(want), "name=\"action\" value=\"%s\"", action);
        form = strstr(p, want);
        assert_non_null(form);
        /* The nonce input comes just before the action's. */
        for (v = form; v > p && strncmp(v, "name=\"nonce\" value=\"", 20) != 0; v--)
                ;
        assert_true(v > p);
        v += 20;
        snprintf(buf, sizeof(buf), "%.*s", (int)(strchr(v, '"') - v), v);
        return buf;
}

static long form_post(struct harness *h, const char *url, const char *body, struct resp *r)
{
        return http(h, url, false, "application/x-www-form-urlencoded", body, r);
}

/* The URL doorwatchctl worker link printed (its second line; static buffer). */
static const char *ctl_link(struct harness *h, const char *worker, bool revoke)
{
        static char url[1024];
        const char *args[] = { "worker", "link", worker, revoke ? "--revoke" : NULL, NULL };
        char *out = NULL;
        const char *nl;

        assert_int_equal(run_ctl(h, &out, args), 0);
        nl = strchr(out, '\n');
        assert_non_null(nl);
        snprintf(url, sizeof(url), "%.*s", (int)(strchr(nl + 1, '\n') - nl - 1), nl + 1);
        free(out);
        assert_true(strncmp(url, "http://127.0.0.1:", 17) == 0 && strstr(url, "/w/"));
        return url;
}

static void test_worker_page(void **state)
{
        struct harness *h = *state;
        char url[1024], alert[64], payload[256], body[1024], *page = NULL;
        struct resp r, again;
        time_t R = (time(NULL) + 6 * 3600) / 3600 * 3600;
        char at[16], a[8];

        hhmm(R, a);
        snprintf(at, sizeof(at), "[\"%s\"]", a);
        write_field_config(h, at, "30m");
        h_start_broker(h);
        h_start_daemon(h);
        h_subscribe(h, NOTIFY);

        /* The doctor's link, from doorwatchctl; the page shows their households. */
        snprintf(url, sizeof(url), "%s", ctl_link(h, "w-a-02", false));
        assert_int_equal(http(h, url, false, NULL, NULL, &r), 200);
        assert_non_null(strstr(r.body, "我的工作页面"));
        assert_non_null(strstr(r.body, "医生乙"));
        assert_non_null(strstr(r.body, "data-household=\"H-1\""));
        assert_non_null(strstr(r.body, "长期观察"));
        assert_non_null(strstr(r.body, "今日巡查")); /* H-1's round, today */
        assert_null(strstr(r.body, "<script"));
        assert_null(strstr(r.body, "https://")); /* no external assets */
        free(r.body);

        /* A door opens: the notification carries the doctor's own page, per person. */
        snprintf(payload, sizeof(payload),
                 "{\"id\": \"e-w1\", \"ts\": %.3f, \"type\": \"door\", \"state\": \"open\"}",
                 h_now());
        h_publish(h, "doorwatch/v1/devices/d-2-door/events", payload, false);
        assert_int_equal(h_wait_messages(h, "doorwatch/v1/workers/w-a-02/notify", 1, 5000), 1);
        cJSON *n = cJSON_Parse(h_message(h, "doorwatch/v1/workers/w-a-02/notify", 0)->payload);
        const cJSON *pu = cJSON_GetObjectItem(n, "page_url");
        assert_true(cJSON_IsString(pu));
        assert_non_null(strstr(pu->valuestring, "/w/"));
        snprintf(alert, sizeof(alert), "%s", cJSON_GetObjectItem(n, "alert_id")->valuestring);
        cJSON_Delete(n);

        /* GET shows the alert, and changes nothing. */
        assert_int_equal(http(h, url, false, NULL, NULL, &r), 200);
        page = r.body;
        snprintf(body, sizeof(body), "data-alert=\"%s\"", alert);
        assert_non_null(strstr(page, body));
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM form_nonce"), 0);
        assert_string_equal(h_db_text(h, "SELECT state FROM alert WHERE id = %Q", alert), "open");

        /* Tap "confirm": acknowledged as the doctor, through the worker page. */
        snprintf(body, sizeof(body), "nonce=%s&action=ack&alert_id=%s",
                 nonce_of(page, alert, "ack"), alert);
        if (form_post(h, url, body, &r) != 200)
                fail_msg("ack: %ld %s", r.status, r.body);
        assert_non_null(strstr(r.body, "已确认"));
        assert_string_equal(
            h_db_text(h,
                      "SELECT state || ' ' || acked_by || ' ' || ack_channel FROM alert"
                      " WHERE id = %Q",
                      alert),
            "acked w-a-02 worker-page");
        /* The same POST again (a double tap, a resent form): the first answer, nothing
         * done twice. */
        assert_int_equal(form_post(h, url, body, &again), 200);
        assert_string_equal(again.body, r.body);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM action WHERE kind = 'ack'"), 1);
        free(r.body);
        free(again.body);

        /* A reading of 80 °C: refused with a clear answer, the same on replay. */
        snprintf(body, sizeof(body), "nonce=%s&action=reading&household=H-1&temperature=80&note=",
                 nonce_of(page, "data-household=\"H-1\"", "reading"));
        assert_int_equal(form_post(h, url, body, &r), 400);
        assert_non_null(strstr(r.body, "体温 80.0℃ 超出 34–43℃"));
        assert_int_equal(form_post(h, url, body, &again), 400);
        assert_string_equal(again.body, r.body);
        free(r.body);
        free(again.body);
        /* A household not in the doctor's care (H-9 does not exist; H-2 is hers): by name. */
        snprintf(body, sizeof(body), "nonce=%s&action=reading&household=H-9&temperature=36.6",
                 nonce_of(page, "data-household=\"H-2\"", "reading"));
        assert_int_equal(form_post(h, url, body, &r), 400);
        assert_non_null(strstr(r.body, "unknown household"));
        free(r.body);
        /* A good reading, with symptoms ticked and typed (a fresh page: a form is used
         * once, its nonce answered the 80 °C above). */
        free(page);
        assert_int_equal(http(h, url, false, NULL, NULL, &r), 200);
        page = r.body;
        snprintf(body, sizeof(body),
                 "nonce=%s&action=reading&household=H-1&temperature=36.7&symptom=cough"
                 "&other_symptoms=%%E5%%A4%%B4%%E7%%97%%9B&note=ok",
                 nonce_of(page, "data-household=\"H-1\"", "reading"));
        assert_int_equal(form_post(h, url, body, &r), 200);
        free(r.body);
        assert_string_equal(h_db_text(h, "SELECT channel || ' ' || symptoms FROM reading"),
                            "worker-page [\"cough\",\"头痛\"]");
        /* Resolve with a note. */
        snprintf(body, sizeof(body),
                 "nonce=%s&action=resolve&alert_id=%s&note=%%E5%%B7%%B2%%E6%%A0%%B8%%E5%%AE%%9E",
                 nonce_of(page, alert, "resolve"), alert);
        assert_int_equal(form_post(h, url, body, &r), 200);
        free(r.body);
        assert_string_equal(
            h_db_text(h,
                      "SELECT state || ' ' || resolve_channel || ' ' || note FROM alert"
                      " WHERE id = %Q",
                      alert),
            "resolved worker-page 已核实");
        /* Another worker's form on this page: refused. */
        assert_int_equal(http(h, ctl_link(h, "w-a-01", false), false, NULL, NULL, &again), 200);
        snprintf(body, sizeof(body), "nonce=%s&action=checkin&household=H-1",
                 nonce_of(again.body, "data-household=\"H-1\"", "checkin"));
        assert_int_equal(form_post(h, url, body, &r), 403);
        free(r.body);
        free(again.body);
        free(page);

        /* Revoked: the old link says so plainly; the new one works. */
        char fresh[1024];
        snprintf(fresh, sizeof(fresh), "%s", ctl_link(h, "w-a-02", true));
        assert_int_equal(http(h, url, false, NULL, NULL, &r), 410);
        assert_non_null(strstr(r.body, "已被停用"));
        free(r.body);
        assert_int_equal(http(h, fresh, false, NULL, NULL, &r), 200);
        free(r.body);
        assert_int_equal(
            h_db_int(h, "SELECT count(*) FROM action WHERE kind = "
                        "'revoke-worker-links' AND target = 'w-a-02' AND channel = 'cli'"),
            1);
        /* A tampered link: one letter of its payload changed (a valid base64url letter, so
         * that it is the signature that fails). */
        char *letter = strstr(fresh, "/w/") + 3 + 4;
        *letter = *letter == 'A' ? 'B' : 'A';
        assert_int_equal(http(h, fresh, false, NULL, NULL, &r), 403);
        free(r.body);
}

/* Links expire (http.worker_link_ttl) and say so; without http.public_url the command
 * line says why it cannot make one. */
static void test_worker_link_expiry_and_no_public_url(void **state)
{
        struct harness *h = *state;
        char url[1024], extra[512], *out = NULL;
        struct resp r;
        long status = 0;

        write_field_config(h, "[\"03:00\"]", "30m");
        snprintf(extra, sizeof(extra),
                 "\"http\": {\"listen\": \"127.0.0.1:%d\", \"public_url\": \"http://127.0.0.1:%d\","
                 " \"token_file\": \"api.token\", \"ack_secret_file\": \"ack.key\","
                 " \"worker_link_ttl\": \"2s\"}",
                 h->http_port, h->http_port);
        h_write_default_config(h, extra);
        h_start_broker(h);
        h_start_daemon(h);
        snprintf(url, sizeof(url), "%s", ctl_link(h, "w-a-01", false));
        assert_int_equal(http(h, url, false, NULL, NULL, &r), 200);
        free(r.body);
        for (int i = 0; i < 60 && status != 410; i++) {
                status = http(h, url, false, NULL, NULL, &r);
                if (status != 410) {
                        free(r.body);
                        h_pump(h, 100);
                }
        }
        assert_int_equal(status, 410);
        assert_non_null(strstr(r.body, "链接已过期"));
        free(r.body);

        snprintf(extra, sizeof(extra),
                 "\"http\": {\"listen\": \"127.0.0.1:%d\", \"token_file\": \"api.token\","
                 " \"ack_secret_file\": \"ack.key\"}",
                 h->http_port);
        h_write_default_config(h, extra);
        const char *link[] = { "worker", "link", "w-a-01", NULL };
        assert_int_equal(run_ctl(h, &out, link), 1);
        assert_non_null(strstr(out, "http.public_url is not set"));
        assert_int_equal(count_lines(out), 1);
        free(out);
}

/* ---- a pass_overdue resolved by the return ---- */

/* Replayed (event time): the deadline and the return are judged by one event, the alert is
 * raised and resolved at once; nothing of it stays live in memory. */
static void test_pass_overdue_resolved_in_a_replay(void **state)
{
        struct harness *h = *state;
        time_t R = (time(NULL) + 6 * 3600) / 3600 * 3600;
        char body[256], payload[256], at[16], a[8];
        struct resp r;

        hhmm(R + 6 * 3600, a); /* H-1's rounds, far from now and from the replay */
        snprintf(at, sizeof(at), "[\"%s\"]", a);
        write_field_config(h, at, "30m");
        h_start_broker(h);
        h_start_daemon(h);
        h_subscribe(h, NOTIFY);
        snprintf(body, sizeof(body),
                 "{\"worker\": \"w-a-01\", \"household\": \"H-2\", \"from\": %lld, \"to\": %lld,"
                 " \"reason\": \"hospital\", \"ts\": %lld}",
                 (long long)R, (long long)R + 3600, (long long)R - 60);
        assert_int_equal(api(h, "/api/v1/passes", body, &r), 200);
        free(r.body);
        static const struct {
                const char *id, *state;
                long long at;
        } steps[] = { { "e-out", "open", 600 },
                      { "e-shut", "closed", 660 },
                      { "e-back", "open", 3600 + 1800 } };
        for (size_t i = 0; i < ELEMENTSOF(steps); i++) {
                snprintf(payload, sizeof(payload),
                         "{\"id\": \"%s\", \"ts\": %lld, \"type\": \"door\", \"state\": \"%s\"}",
                         steps[i].id, (long long)R + steps[i].at, steps[i].state);
                h_publish(h, "doorwatch/v1/devices/d-2-door/events", payload, false);
        }
        assert_int_equal(h_db_wait_int(h, 3, 5000, "SELECT count(*) FROM event"), 3);
        assert_string_equal(h_db_text(h, "SELECT state || ' ' || resolved_by FROM alert"
                                         " WHERE kind = 'pass_overdue'"),
                            "resolved system");
        assert_int_equal(h_wait_messages(h, NOTIFY, 6, 5000), 6);
        assert_string_equal(kinds_to(h, "w-a-01"), "pass_overdue resolved_notice");
        assert_int_equal(api_get_open(h), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_cli_says_what_it_does_not_know, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_readings_and_rounds, setup, teardown),
                cmocka_unit_test_setup_teardown(test_round_missed_live, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pass_overdue_resolved_in_a_replay, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_worker_page, setup, teardown),
                cmocka_unit_test_setup_teardown(test_worker_link_expiry_and_no_public_url, setup,
                                                teardown),
        };
        setenv("TZ", "Asia/Shanghai", 1);
        tzset();
        curl_global_init(CURL_GLOBAL_DEFAULT);
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test-commands.c: the one command path against the real daemon and broker. Every front
 * door (a worker's MQTT topic, the operator API, the one-tap ack link, doorwatchctl) is
 * recorded with its own channel code and tells the other recipients of an ack through
 * which channel it came; MQTT and HTTP refuse the same bad command with the same text; a
 * payload's "via" changes nothing; doorwatchctl acts through the HTTP API (the broker may
 * be down) and says plainly why it could not. */
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

#define NOTIFY  "doorwatch/v1/workers/+/notify"
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

/* POSTs body to path (or a full URL); auth: bearer token or NULL; extra: one more header
 * line or NULL. The answer's body is in r->body (never NULL). */
static long post(struct harness *h, const char *path, const char *auth, const char *extra,
                 const char *ctype, const char *body, struct resp *r)
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
        if (auth) {
                snprintf(line, sizeof(line), "Authorization: Bearer %s", auth);
                hdrs = curl_slist_append(hdrs, line);
        }
        if (extra)
                hdrs = curl_slist_append(hdrs, extra);
        snprintf(line, sizeof(line), "Content-Type: %s", ctype);
        hdrs = curl_slist_append(hdrs, line);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
        CURLcode rc = curl_easy_perform(c);
        if (rc != CURLE_OK)
                fail_msg("POST %s: %s", url, curl_easy_strerror(rc));
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(c);
        if (!r->body)
                r->body = strdup("");
        return r->status;
}

static long api(struct harness *h, const char *path, const char *body, struct resp *r)
{
        return post(h, path, H_API_TOKEN, NULL, "application/json", body, r);
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

/* ---- fixture: four households, links on ---- */

static void write_households(struct harness *h)
{
        struct sbuf {
                char b[4096];
                size_t n;
        } s = { .n = 0 };
        const char *team = "\"team\": {\"community\": \"w-a-01\", \"medical\": \"w-a-02\", "
                           "\"police\": \"w-a-03\"}";

        s.n += (size_t)snprintf(s.b, sizeof(s.b), "[");
        for (int i = 1; i <= 4; i++)
                s.n += (size_t)snprintf(
                    s.b + s.n, sizeof(s.b) - s.n,
                    "%s{\"id\": \"H-%d\", \"community\": \"alpha\", \"address\": \"命令路 %d号\","
                    " \"observation\": {\"start\": \"2020-01-01T00:00:00+08:00\","
                    " \"end\": \"2099-01-01T00:00:00+08:00\"}, %s,"
                    " \"devices\": [{\"id\": \"d-%d-door\", \"kind\": \"door_contact\","
                    " \"source\": \"native\"}]}",
                    i > 1 ? ",\n " : "", i, i, team, i);
        snprintf(s.b + s.n, sizeof(s.b) - s.n, "]");
        h_write_conf(h, "households.json", s.b);
}

static void write_config(struct harness *h, bool http)
{
        char extra[512];

        if (!http) {
                h_write_default_config(h, "\"http\": null");
                return;
        }
        snprintf(extra, sizeof(extra),
                 "\"http\": {\"listen\": \"127.0.0.1:%d\", \"public_url\": \"http://127.0.0.1:%d\","
                 " \"token_file\": \"api.token\", \"ack_secret_file\": \"ack.key\"},"
                 " \"escalation\": {\"ack_timeout\": \"1h\"}",
                 h->http_port, h->http_port);
        h_write_default_config(h, extra);
}

static int setup(void **state)
{
        struct harness *h = calloc(1, sizeof(*h));

        h_init(h);
        write_households(h);
        h_write_conf(h, "ack.key", ACK_KEY "\n");
        write_config(h, true);
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

/* ---- helpers ---- */

static int run_ctl(struct harness *h, char **out, const char *const *args)
{
        char bin[256];
        const char *argv[24] = { bin, "-c", h->confdir };
        size_t n = 3;

        snprintf(bin, sizeof(bin), "%s/doorwatchctl", h_build_dir());
        for (size_t i = 0; args[i] && n < 23; i++)
                argv[n++] = args[i];
        argv[n] = NULL;
        return h_run(out, argv);
}

/* Opens household n's door; returns the alert id and the ack_url of the notification to
 * `worker` (malloc'd, NULL when it has none). */
static char *raise_alert(struct harness *h, int n, const char *worker, char *alert_id, size_t size)
{
        char topic[128], payload[256], filter[128];
        char *url = NULL;
        cJSON *j;

        h_clear_messages(h);
        snprintf(topic, sizeof(topic), "doorwatch/v1/devices/d-%d-door/events", n);
        snprintf(payload, sizeof(payload),
                 "{\"id\": \"e-%d\", \"ts\": %.3f, \"type\": \"door\", \"state\": \"open\"}", n,
                 h_now());
        h_publish(h, topic, payload, false);
        assert_int_equal(h_wait_messages(h, NOTIFY, 3, 5000), 3);
        snprintf(filter, sizeof(filter), "doorwatch/v1/workers/%s/notify", worker);
        j = cJSON_Parse(h_message(h, filter, 0)->payload);
        assert_non_null(j);
        snprintf(alert_id, size, "%s", cJSON_GetObjectItem(j, "alert_id")->valuestring);
        if (cJSON_IsString(cJSON_GetObjectItem(j, "ack_url")))
                url = strdup(cJSON_GetObjectItem(j, "ack_url")->valuestring);
        cJSON_Delete(j);
        h_clear_messages(h);
        return url;
}

/* The two other recipients are told of the ack by `acker`, with the channel's code (and
 * its label in the text people read). */
static void expect_ack_notices(struct harness *h, const char *alert_id, const char *acker,
                               const char *channel, const char *label)
{
        char said[128];

        snprintf(said, sizeof(said), "确认（%s）", label);
        assert_int_equal(h_wait_messages(h, NOTIFY, 2, 5000), 2);
        for (size_t i = 0; i < 2; i++) {
                cJSON *n = cJSON_Parse(h_message(h, NOTIFY, i)->payload);
                assert_non_null(n);
                assert_string_equal(cJSON_GetObjectItem(n, "kind")->valuestring, "ack_notice");
                assert_string_equal(cJSON_GetObjectItem(n, "alert_id")->valuestring, alert_id);
                assert_string_equal(cJSON_GetObjectItem(n, "acked_by")->valuestring, acker);
                assert_string_equal(cJSON_GetObjectItem(n, "channel")->valuestring, channel);
                assert_non_null(strstr(cJSON_GetObjectItem(n, "text")->valuestring, said));
                cJSON_Delete(n);
        }
        assert_string_equal(h_db_text(h, "SELECT ack_channel FROM alert WHERE id = '%q'", alert_id),
                            channel);
        assert_string_equal(
            h_db_text(h, "SELECT channel FROM action WHERE kind = 'ack' AND target = '%q'",
                      alert_id),
            channel);
}

/* The error of the MQTT reply with request_id rid (static buffer). */
static const char *mqtt_error(struct harness *h, const char *worker, const char *rid)
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

/* ---- tests ---- */

/* An ack through each front door tells the other recipients through which channel it came,
 * as DESIGN.md's code. The one-tap link in w-a-03's notification: */
static void test_ack_notice_after_the_link(void **state)
{
        struct harness *h = *state;
        char alert_id[64];
        struct resp r;
        char *url;

        url = raise_alert(h, 1, "w-a-03", alert_id, sizeof(alert_id));
        assert_non_null(url);
        assert_int_equal(
            post(h, url, NULL, NULL, "application/x-www-form-urlencoded", "confirm=1", &r), 200);
        free(r.body);
        free(url);
        expect_ack_notices(h, alert_id, "w-a-03", "http-link", "网页链接");
}

static void test_ack_notice_after_the_operator_api(void **state)
{
        struct harness *h = *state;
        char alert_id[64], path[128];
        struct resp r;

        free(raise_alert(h, 2, "w-a-03", alert_id, sizeof(alert_id)));
        snprintf(path, sizeof(path), "/api/v1/alerts/%s/ack", alert_id);
        assert_int_equal(api(h, path, "{\"worker\": \"w-a-03\"}", &r), 200);
        free(r.body);
        expect_ack_notices(h, alert_id, "w-a-03", "operator-api", "值班管理接口");
}

/* doorwatchctl; then the worker's own topic, claiming to be the CLI: still "mqtt". */
static void test_ack_notice_after_the_cli_and_the_topic(void **state)
{
        struct harness *h = *state;
        char alert_id[64], body[256], *out = NULL;

        free(raise_alert(h, 3, "w-a-03", alert_id, sizeof(alert_id)));
        const char *ack[] = { "alerts", "ack", alert_id, "--worker", "w-a-03", NULL };
        assert_int_equal(run_ctl(h, &out, ack), 0);
        free(out);
        expect_ack_notices(h, alert_id, "w-a-03", "cli", "命令行");

        free(raise_alert(h, 4, "w-a-03", alert_id, sizeof(alert_id)));
        snprintf(body, sizeof(body), "{\"alert_id\": \"%s\", \"via\": \"cli\"}", alert_id);
        h_publish(h, "doorwatch/v1/workers/w-a-03/ack", body, false);
        expect_ack_notices(h, alert_id, "w-a-03", "mqtt", "工作人员消息");
}

/* "via" in a check-in, a pass and a pre-report changes nothing either. */
static void test_payload_via_is_ignored(void **state)
{
        struct harness *h = *state;
        char body[512];
        time_t t0 = time(NULL) + 3600;

        h_subscribe(h, "doorwatch/v1/households/+/result");
        h_publish(h, "doorwatch/v1/workers/w-a-01/checkin",
                  "{\"request_id\": \"v1\", \"household\": \"H-1\", \"via\": \"cli\"}", false);
        assert_string_equal(mqtt_error(h, "w-a-01", "v1"), "(accepted)");
        snprintf(body, sizeof(body),
                 "{\"request_id\": \"v2\", \"household\": \"H-1\", \"from\": %lld, \"to\": %lld,"
                 " \"reason\": \"hospital\", \"via\": \"operator-api\"}",
                 (long long)t0, (long long)t0 + 3600);
        h_publish(h, "doorwatch/v1/workers/w-a-01/pass", body, false);
        assert_string_equal(mqtt_error(h, "w-a-01", "v2"), "(accepted)");
        h_publish(h, "doorwatch/v1/households/H-2/report",
                  "{\"request_id\": \"v3\", \"reason\": \"garbage\", \"via\": \"http-link\"}",
                  false);
        assert_int_equal(h_wait_messages(h, "doorwatch/v1/households/H-2/result", 1, 5000), 1);
        assert_string_equal(h_db_text(h, "SELECT channel FROM checkin"), "mqtt");
        assert_string_equal(h_db_text(h, "SELECT channel FROM pass"), "mqtt");
        assert_string_equal(h_db_text(h, "SELECT channel FROM report"), "mqtt");
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM action WHERE channel != 'mqtt'"), 0);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM action"), 3);
}

/* The same bad command gets the same answer over MQTT and over HTTP; what one accepts, the
 * other accepts (a pass with Unix-seconds bounds). */
static void test_mqtt_and_http_refuse_alike(void **state)
{
        struct harness *h = *state;
        char long_reason[301], body[1024], from[40], to[40];
        time_t t0 = time(NULL) + 3600, t1 = t0 + 3 * 3600;
        struct resp r;

        memset(long_reason, 'x', 300);
        long_reason[300] = 0;
        strftime(from, sizeof(from), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t0));
        strftime(to, sizeof(to), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t1));
        const struct {
                const char *verb, *route, *fmt, *arg1, *arg2, *arg3, *error;
        } cases[] = {
                { "pass", "passes",
                  "\"household\": \"H-1\", \"from\": \"%s\", \"to\": \"%s\", \"reason\": \"%s\"",
                  from, to, long_reason, "\"reason\" too long (at most 256 bytes)" },
                { "pass", "passes",
                  "\"household\": \"H-1\", \"from\": \"%s\", \"to\": \"%s\", \"reason\": \"%s\"",
                  "tomorrow", to, "hospital", "\"from\" must be an RFC 3339 time or Unix seconds" },
                { "pass", "passes",
                  "\"household\": \"H-1\", \"from\": \"%s\", \"to\": \"%s\", \"reason\": \"%s\"",
                  to, from, "hospital", "\"from\" must be before \"to\"" },
                { "pass", "passes",
                  "\"household\": \"H-1\", \"from\": \"%s\", \"to\": \"%s\", \"reason\": \"%s\"",
                  from, to, "", "\"reason\" missing or empty" },
                { "pass", "passes", "\"household\": \"%s\", \"from\": %s, \"to\": %s", "H-1",
                  "1e12", "2e12", "\"from\" must be an RFC 3339 time or Unix seconds" },
                { "checkin", "checkins", "\"household\": \"%s\", \"ts\": \"%s\"%s", "H-1", "now",
                  "", "\"ts\" must be Unix seconds" },
                { "checkin", "checkins", "\"household\": \"%s\"%s%s", "H-9", "", "",
                  "unknown household \"H-9\"" },
                { "checkin", "checkins", "\"household\": %s%s%s", "7", "", "",
                  "\"household\" must be a string" },
                { "checkin", "checkins", "\"%s%s%s\": 1", "", "", "",
                  "\"household\" missing or empty" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char fields[900], topic[128], rid[16], path[64], mqtt[512];

                snprintf(fields, sizeof(fields), cases[i].fmt, cases[i].arg1, cases[i].arg2,
                         cases[i].arg3);
                snprintf(rid, sizeof(rid), "b%zu", i);
                snprintf(body, sizeof(body), "{\"request_id\": \"%s\", %s}", rid, fields);
                snprintf(topic, sizeof(topic), "doorwatch/v1/workers/w-a-01/%s", cases[i].verb);
                h_publish(h, topic, body, false);
                snprintf(mqtt, sizeof(mqtt), "%s", mqtt_error(h, "w-a-01", rid));

                snprintf(body, sizeof(body), "{\"worker\": \"w-a-01\", %s}", fields);
                snprintf(path, sizeof(path), "/api/v1/%s", cases[i].route);
                assert_int_equal(api(h, path, body, &r), 400);
                if (strcmp(mqtt, cases[i].error) != 0 || strcmp(error_of(&r), cases[i].error) != 0)
                        fail_msg("case %zu: MQTT \"%s\", HTTP \"%s\", want \"%s\"", i, mqtt,
                                 error_of(&r), cases[i].error);
                free(r.body);
        }
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM pass"), 0);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM checkin"), 0);

        /* Unix-seconds bounds, through both doors. */
        snprintf(body, sizeof(body),
                 "{\"worker\": \"w-a-01\", \"household\": \"H-1\", \"from\": %lld, \"to\": %lld,"
                 " \"reason\": \"hospital\"}",
                 (long long)t0, (long long)t1);
        assert_int_equal(api(h, "/api/v1/passes", body, &r), 200);
        free(r.body);
        snprintf(body, sizeof(body),
                 "{\"request_id\": \"ok\", \"household\": \"H-2\", \"from\": %lld, \"to\": %lld,"
                 " \"reason\": \"hospital\"}",
                 (long long)t0, (long long)t1);
        h_publish(h, "doorwatch/v1/workers/w-a-01/pass", body, false);
        assert_string_equal(mqtt_error(h, "w-a-01", "ok"), "(accepted)");
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM pass WHERE from_usec = %lld",
                                  (long long)t0 * 1000000),
                         2);
}

/* doorwatchctl acts through the HTTP API with the office token, recorded as "cli"; it
 * needs no broker, and says in one line why it could not act. */
static void test_ctl_acts_through_the_http_api(void **state)
{
        struct harness *h = *state;
        char *out = NULL;
        struct resp r;

        /* The broker is down: the CLI does not need it. */
        h_stop_broker(h);
        const char *ci[] = { "checkin", "--household", "H-1", "--worker", "w-a-01", NULL };
        assert_int_equal(run_ctl(h, &out, ci), 0);
        free(out);
        assert_string_equal(h_db_text(h, "SELECT channel FROM checkin"), "cli");
        assert_string_equal(h_db_text(h, "SELECT channel FROM action WHERE kind = 'checkin'"),
                            "cli");
        const char *pass[] = { "pass",        "add",
                               "--household", "H-2",
                               "--worker",    "w-a-02",
                               "--from",      "2098-02-06T09:00:00+08:00",
                               "--to",        "2098-02-06T12:00:00+08:00",
                               "--reason",    "hospital",
                               NULL };
        assert_int_equal(run_ctl(h, &out, pass), 0);
        free(out);
        assert_string_equal(h_db_text(h, "SELECT channel FROM pass"), "cli");
        h_start_broker(h);

        /* The daemon's refusal, word for word, exit 1. */
        const char *unknown[] = { "checkin", "--household", "H-9", "--worker", "w-a-01", NULL };
        assert_int_equal(run_ctl(h, &out, unknown), 1);
        assert_non_null(strstr(out, "unknown household \"H-9\""));
        free(out);
        const char *badtime[] = { "pass",     "add",    "--household", "H-2",  "--worker",
                                  "w-a-02",   "--from", "soon",        "--to", "later",
                                  "--reason", "x",      NULL };
        assert_int_equal(run_ctl(h, &out, badtime), 1);
        assert_non_null(strstr(out, "\"from\" must be an RFC 3339 time or Unix seconds"));
        free(out);

        /* The channel header is the office's alone: it needs the token, and names only the
         * office's own channels. */
        const char *ci_body = "{\"worker\": \"w-a-01\", \"household\": \"H-3\"}";
        assert_int_equal(post(h, "/api/v1/checkins", "wrong-token-0123456789",
                              "X-Doorwatch-Channel: cli", "application/json", ci_body, &r),
                         401);
        free(r.body);
        assert_int_equal(post(h, "/api/v1/checkins", H_API_TOKEN, "X-Doorwatch-Channel: mqtt",
                              "application/json", ci_body, &r),
                         400);
        assert_non_null(strstr(error_of(&r), "X-Doorwatch-Channel"));
        free(r.body);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM checkin WHERE household = 'H-3'"), 0);

        /* No token to read: said so, in one line. */
        char token_path[400];
        snprintf(token_path, sizeof(token_path), "%s/api.token", h->confdir);
        assert_int_equal(unlink(token_path), 0);
        assert_int_equal(run_ctl(h, &out, ci), 1);
        assert_non_null(strstr(out, "cannot read the API token"));
        assert_int_equal(strchr(out, '\n') - out + 1, (long)strlen(out));
        free(out);

        /* A token the daemon does not know: 401, said so. */
        h_write_conf(h, "api.token", "not-the-daemons-token-0123456789\n");
        assert_int_equal(run_ctl(h, &out, ci), 1);
        assert_non_null(strstr(out, "401"));
        assert_null(strstr(out, "not-the-daemons-token")); /* never echoed */
        free(out);
        h_write_conf(h, "api.token", H_API_TOKEN "\n");

        /* The daemon is not running: connection refused, said so. */
        assert_int_equal(h_stop_daemon(h, SIGTERM), 0);
        assert_int_equal(run_ctl(h, &out, ci), 1);
        assert_non_null(strstr(out, "cannot reach doorwatchd"));
        free(out);

        /* No HTTP API configured: one plain line. */
        write_config(h, false);
        assert_int_equal(run_ctl(h, &out, ci), 1);
        assert_non_null(strstr(out, "no HTTP API is configured"));
        assert_int_equal(strchr(out, '\n') - out + 1, (long)strlen(out));
        free(out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_ack_notice_after_the_link, setup, teardown),
                cmocka_unit_test_setup_teardown(test_ack_notice_after_the_operator_api, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_ack_notice_after_the_cli_and_the_topic, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_payload_via_is_ignored, setup, teardown),
                cmocka_unit_test_setup_teardown(test_mqtt_and_http_refuse_alike, setup, teardown),
                cmocka_unit_test_setup_teardown(test_ctl_acts_through_the_http_api, setup,
                                                teardown),
        };
        curl_global_init(CURL_GLOBAL_DEFAULT);
        return cmocka_run_group_tests(tests, NULL, NULL);
}

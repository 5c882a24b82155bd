/* test-http.c: doorwatchd's HTTP server against the real daemon and broker, with libcurl
 * as the client: one-tap acknowledge links (a GET never acknowledges, the confirm POST
 * does and stops escalation, tampered, expired and replayed links are refused), resident
 * pre-report links (recorded, tampering refused, revocation), the API's authentication,
 * status codes and actions, /metrics in the Prometheus text format moving with events (and
 * counting one commit for a burst of MQTT messages), /readyz and /healthz across a broker
 * outage, security headers and the rate limit. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <curl/curl.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"
#include "token.h"

#define NOTIFY    "doorwatch/v1/workers/+/notify"
#define API_TOKEN "integration-test-api-token-0123456789"
#define ACK_KEY   "integration-test-link-key-abcdefghijklmnop"

struct resp {
        long status;
        char *body;
        size_t len;
        char *headers;
        size_t hlen;
};

static void resp_free(struct resp *r)
{
        free(r->body);
        free(r->headers);
        memset(r, 0, sizeof(*r));
}

static size_t collect(char *data, size_t size, size_t n, void *userdata)
{
        char **buf = userdata;
        size_t *len = (size_t *)(buf + 1);
        char *b = realloc(*buf, *len + size * n + 1);
        assert_non_null(b);
        memcpy(b + *len, data, size * n);
        *len += size * n;
        b[*len] = 0;
        *buf = b;
        return size * n;
}

/* One request. path may be a full URL or a path on the daemon's HTTP port. auth: bearer
 * token or NULL. body: sent as is (ctype default form-urlencoded) or NULL. */
static long request(struct harness *h, const char *method, const char *path, const char *auth,
                    const char *body, const char *ctype, struct resp *r)
{
        struct {
                char *buf;
                size_t len;
        } b = { 0 }, hd = { 0 };
        struct curl_slist *hdrs = NULL;
        char url[2048], line[512];
        CURL *c = curl_easy_init();

        assert_non_null(c);
        if (strncmp(path, "http", 4) == 0)
                snprintf(url, sizeof(url), "%s", path);
        else
                snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", h->http_port, path);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        if (strcmp(method, "HEAD") == 0)
                curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &hd);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
        curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L); /* send dot segments as written */
        if (auth) {
                snprintf(line, sizeof(line), "Authorization: Bearer %s", auth);
                hdrs = curl_slist_append(hdrs, line);
        }
        if (body) {
                snprintf(line, sizeof(line), "Content-Type: %s",
                         ctype ? ctype : "application/x-www-form-urlencoded");
                hdrs = curl_slist_append(hdrs, line);
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        }
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        CURLcode rc = curl_easy_perform(c);
        if (rc != CURLE_OK)
                fail_msg("%s %s: %s", method, url, curl_easy_strerror(rc));
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(c);
        r->body = b.buf ? b.buf : strdup("");
        r->len = b.len;
        r->headers = hd.buf ? hd.buf : strdup("");
        r->hlen = hd.len;
        return r->status;
}

/* Status only. */
static long status_of(struct harness *h, const char *method, const char *path, const char *auth,
                      const char *body)
{
        struct resp r = { 0 };
        long s = request(h, method, path, auth, body, NULL, &r);
        resp_free(&r);
        return s;
}

static bool has_header(const struct resp *r, const char *line)
{
        return strcasestr(r->headers, line) != NULL;
}

/* ---- fixtures ---- */

static void write_http_config(struct harness *h, const char *escalation)
{
        char extra[1024];

        h_write_conf(h, "secrets/api.token", API_TOKEN "\n");
        h_write_conf(h, "secrets/ack.key", ACK_KEY "\n");
        snprintf(extra, sizeof(extra),
                 "\"http\": {\"listen\": \"127.0.0.1:%d\", \"public_url\": "
                 "\"http://127.0.0.1:%d/\", \"token_file\": \"secrets/api.token\", "
                 "\"ack_secret_file\": \"secrets/ack.key\", \"ack_link_ttl\": \"1h\"}%s%s",
                 h->http_port, h->http_port, escalation ? ",\n " : "",
                 escalation ? escalation : "");
        h_write_default_config(h, extra);
}

static int setup_with(void **state, const char *escalation)
{
        struct harness *h = calloc(1, sizeof(*h));
        char dir[400];

        h_init(h);
        snprintf(dir, sizeof(dir), "%s/secrets", h->confdir);
        assert_int_equal(mkdir(dir, 0700), 0);
        write_http_config(h, escalation);
        h_start_broker(h);
        h_start_daemon(h);
        *state = h;
        return 0;
}

static int setup(void **state)
{
        return setup_with(state, NULL);
}

static int setup_fast_escalation(void **state)
{
        return setup_with(state, "\"escalation\": {\"ack_timeout\": \"2s\"}");
}

static int teardown(void **state)
{
        struct harness *h = *state;
        h_cleanup(h);
        free(h);
        return 0;
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

/* Opens H-1's door and returns the ack_url of the notification to `worker`. */
static char *alert_and_link(struct harness *h, const char *event_id, const char *worker,
                            char *alert_id, size_t size)
{
        char topic[128];
        const struct h_msg *m;
        cJSON *j;
        char *url;

        door_event(h, "d-1-door", event_id, "open");
        assert_int_equal(h_wait_messages(h, NOTIFY, 3, 5000), 3);
        snprintf(topic, sizeof(topic), "doorwatch/v1/workers/%s/notify", worker);
        m = h_message(h, topic, 0);
        assert_non_null(m);
        j = cJSON_Parse(m->payload);
        assert_non_null(j);
        assert_true(cJSON_IsString(cJSON_GetObjectItem(j, "ack_url")));
        url = strdup(cJSON_GetObjectItem(j, "ack_url")->valuestring);
        snprintf(alert_id, size, "%s", cJSON_GetObjectItem(j, "alert_id")->valuestring);
        cJSON_Delete(j);
        return url;
}

/* ---- acknowledge links ---- */

static void test_ack_link_confirm_acknowledges_and_stops_escalation(void **state)
{
        struct harness *h = *state;
        char alert_id[64], prefix[128];
        char *url = alert_and_link(h, "e-1", "w-a-03", alert_id, sizeof(alert_id));
        struct resp r = { 0 };

        snprintf(prefix, sizeof(prefix), "http://127.0.0.1:%d/ack/", h->http_port);
        assert_true(strncmp(url, prefix, strlen(prefix)) == 0); /* trailing slash dropped */

        /* The link opens a page with the alert and a confirm form, and acknowledges nothing. */
        assert_int_equal(request(h, "GET", url, NULL, NULL, NULL, &r), 200);
        assert_non_null(strstr(r.body, "测试路 1号 101"));
        assert_non_null(strstr(r.body, "异常开门"));
        assert_non_null(strstr(r.body, "<form method=\"post\""));
        assert_non_null(strstr(r.body, "测试丙")); /* acting as the link's worker */
        assert_true(has_header(&r, "Content-Type: text/html; charset=utf-8"));
        assert_true(has_header(&r, "Cache-Control: no-store"));
        resp_free(&r);
        assert_int_equal(status_of(h, "HEAD", url, NULL, NULL), 200);
        assert_string_equal(h_db_text(h, "SELECT state FROM alert WHERE id = '%q'", alert_id),
                            "open");
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM action"), 0);

        /* Confirming acknowledges as that worker, through the link channel. */
        h_clear_messages(h);
        assert_int_equal(request(h, "POST", url, NULL, "confirm=1", NULL, &r), 200);
        assert_non_null(strstr(r.body, "已确认"));
        resp_free(&r);
        assert_string_equal(h_db_text(h, "SELECT state FROM alert WHERE id = '%q'", alert_id),
                            "acked");
        assert_string_equal(h_db_text(h, "SELECT acked_by FROM alert WHERE id = '%q'", alert_id),
                            "w-a-03");
        assert_string_equal(h_db_text(h, "SELECT ack_channel FROM alert WHERE id = '%q'", alert_id),
                            "http-link");
        assert_string_equal(h_db_text(h, "SELECT channel FROM action WHERE kind = 'ack'"),
                            "http-link");
        /* Escalation stopped: no deadline left, and nothing more is sent past ack_timeout. */
        assert_int_equal(
            h_db_int(h, "SELECT next_usec IS NULL FROM alert WHERE id = '%q'", alert_id), 1);
        /* Past ack_timeout (2s) no step is notified: only the notices to the other two
         * recipients that w-a-03 took it. */
        h_pump(h, 3000);
        assert_int_equal(h_count_messages(h, NOTIFY), 2);
        for (size_t i = 0; i < 2; i++) {
                cJSON *n = cJSON_Parse(h_message(h, NOTIFY, i)->payload);
                assert_non_null(n);
                assert_string_equal(cJSON_GetObjectItem(n, "kind")->valuestring, "ack_notice");
                assert_string_equal(cJSON_GetObjectItem(n, "acked_by")->valuestring, "w-a-03");
                assert_string_not_equal(cJSON_GetObjectItem(n, "worker")->valuestring, "w-a-03");
                cJSON_Delete(n);
        }
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM notification WHERE step != 'team'"
                                     " AND payload NOT LIKE '%%ack_notice%%'"),
                         0);

        /* Confirming again is a conflict; looking again is fine. */
        assert_int_equal(status_of(h, "POST", url, NULL, "confirm=1"), 409);
        assert_int_equal(status_of(h, "GET", url, NULL, NULL), 200);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM action WHERE kind = 'ack'"), 1);
        free(url);
}

static void test_ack_link_refusals(void **state)
{
        struct harness *h = *state;
        char alert_id[64], bad[2048], *dot;
        char *url = alert_and_link(h, "e-2", "w-a-01", alert_id, sizeof(alert_id));
        struct resp r = { 0 };

        /* A modified token: one character of the payload and of the MAC. */
        snprintf(bad, sizeof(bad), "%s", url);
        dot = strrchr(bad, '.');
        dot[-2] = dot[-2] == 'A' ? 'B' : 'A';
        assert_int_equal(request(h, "GET", bad, NULL, NULL, NULL, &r), 403);
        assert_non_null(strstr(r.body, "链接无效"));
        resp_free(&r);
        assert_int_equal(status_of(h, "POST", bad, NULL, "confirm=1"), 403);
        snprintf(bad, sizeof(bad), "%s", url);
        bad[strlen(bad) - 2] = bad[strlen(bad) - 2] == 'A' ? 'B' : 'A';
        assert_int_equal(status_of(h, "POST", bad, NULL, "confirm=1"), 403);
        /* Not a token at all; no path tricks either. */
        assert_int_equal(status_of(h, "POST", "/ack/nonsense", NULL, "confirm=1"), 400);
        assert_int_equal(status_of(h, "GET", "/ack/..%2F..%2Fetc%2Fpasswd", NULL, NULL), 400);
        assert_int_equal(status_of(h, "GET", "/ack/", NULL, NULL), 400);
        assert_string_equal(h_db_text(h, "SELECT state FROM alert WHERE id = '%q'", alert_id),
                            "open");

        /* Genuine but expired (signed here with the daemon's key). */
        struct token_key key;
        struct token_ack claim = { .expires_usec = (int64_t)(h_now() - 10) * 1000000 };
        char tok[TOKEN_MAX], path[700];
        assert_int_equal(token_key_set(&key, ACK_KEY, strlen(ACK_KEY)), 0);
        snprintf(claim.alert_id, sizeof(claim.alert_id), "%s", alert_id);
        snprintf(claim.worker, sizeof(claim.worker), "w-a-01");
        assert_int_equal(token_ack_encode(&key, &claim, tok, sizeof(tok)), 0);
        snprintf(path, sizeof(path), "/ack/%s", tok);
        assert_int_equal(request(h, "POST", path, NULL, "confirm=1", NULL, &r), 410);
        assert_non_null(strstr(r.body, "过期"));
        resp_free(&r);
        /* Genuine, for a worker who is not configured. */
        claim.expires_usec = (int64_t)(h_now() + 600) * 1000000;
        snprintf(claim.worker, sizeof(claim.worker), "w-gone");
        assert_int_equal(token_ack_encode(&key, &claim, tok, sizeof(tok)), 0);
        snprintf(path, sizeof(path), "/ack/%s", tok);
        assert_int_equal(status_of(h, "POST", path, NULL, "confirm=1"), 403);
        /* Genuine, for an alert that does not exist. */
        snprintf(claim.worker, sizeof(claim.worker), "w-a-01");
        snprintf(claim.alert_id, sizeof(claim.alert_id), "a-19990101-0001");
        assert_int_equal(token_ack_encode(&key, &claim, tok, sizeof(tok)), 0);
        snprintf(path, sizeof(path), "/ack/%s", tok);
        assert_int_equal(status_of(h, "GET", path, NULL, NULL), 404);
        assert_string_equal(h_db_text(h, "SELECT state FROM alert WHERE id = '%q'", alert_id),
                            "open");

        /* Replayed after the alert was resolved: a clear page, no ack. */
        char body[256], api[128];
        snprintf(api, sizeof(api), "/api/v1/alerts/%s/resolve", alert_id);
        snprintf(body, sizeof(body), "{\"worker\": \"w-a-02\", \"note\": \"家属倒垃圾\"}");
        assert_int_equal(request(h, "POST", api, API_TOKEN, body, "application/json", &r), 200);
        resp_free(&r);
        assert_int_equal(request(h, "GET", url, NULL, NULL, NULL, &r), 410);
        assert_non_null(strstr(r.body, "已处理完毕"));
        assert_null(strstr(r.body, "<form"));
        resp_free(&r);
        assert_int_equal(status_of(h, "POST", url, NULL, "confirm=1"), 410);
        assert_string_equal(h_db_text(h, "SELECT state FROM alert WHERE id = '%q'", alert_id),
                            "resolved");
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM action WHERE kind = 'ack'"), 0);
        assert_int_equal(status_of(h, "PUT", url, NULL, "x"), 405);
        free(url);
}

/* ---- resident links ---- */

static char *resident_link(struct harness *h, const char *household, bool revoke)
{
        char path[256];
        struct resp r = { 0 };
        cJSON *j;
        char *url;

        snprintf(path, sizeof(path), "/api/v1/households/%s/resident-link", household);
        assert_int_equal(request(h, "POST", path, API_TOKEN, revoke ? "{\"revoke\": true}" : "{}",
                                 "application/json", &r),
                         200);
        j = cJSON_Parse(r.body);
        assert_non_null(j);
        url = strdup(cJSON_GetObjectItem(j, "url")->valuestring);
        cJSON_Delete(j);
        resp_free(&r);
        return url;
}

static int64_t reports(struct harness *h)
{
        return h_db_int(h, "SELECT count(*) FROM report WHERE household = 'H-1'"
                           " AND channel = 'http-link'");
}

static void test_resident_link_reports_and_tampering_is_refused(void **state)
{
        struct harness *h = *state;
        char *url = resident_link(h, "H-1", false), bad[1024];
        struct resp r = { 0 };

        assert_non_null(strstr(url, "/r/"));
        assert_int_equal(request(h, "GET", url, NULL, NULL, NULL, &r), 200);
        assert_non_null(strstr(r.body, "测试路 1号 101"));
        assert_non_null(strstr(r.body, "value=\"garbage\""));
        resp_free(&r);
        assert_int_equal(reports(h), 0); /* a GET reports nothing */

        /* The resident announces an opening: a pre-report through the link channel. */
        assert_int_equal(request(h, "POST", url, NULL, "reason=garbage", NULL, &r), 200);
        assert_non_null(strstr(r.body, "倒垃圾"));
        resp_free(&r);
        assert_int_equal(reports(h), 1);
        assert_string_equal(h_db_text(h, "SELECT reason FROM report WHERE household = 'H-1'"),
                            "garbage");
        /* ... which explains the opening that follows: no alert. */
        door_event(h, "d-1-door", "e-r1", "open");
        h_db_wait_int(h, 1, 3000, "SELECT count(*) FROM event WHERE uid = 'e-r1'");
        assert_string_equal(h_db_text(h, "SELECT verdict FROM event WHERE uid = 'e-r1'"),
                            "expected");
        door_event(h, "d-1-door", "e-r2", "closed");

        /* An unknown reason, a tampered link: refused, nothing reported. */
        assert_int_equal(status_of(h, "POST", url, NULL, "reason=party"), 400);
        snprintf(bad, sizeof(bad), "%s", url);
        char *p = strstr(bad, "/r/") + 4;
        *p = *p == 'A' ? 'B' : 'A'; /* another household's id, same MAC */
        assert_int_equal(status_of(h, "POST", bad, NULL, "reason=garbage"), 403);
        assert_int_equal(status_of(h, "GET", bad, NULL, NULL), 403);
        /* A genuine ack link is no resident link. */
        struct token_key key;
        struct token_ack claim = { .alert_id = "a-1",
                                   .worker = "w-a-01",
                                   .expires_usec = (int64_t)(h_now() + 600) * 1000000 };
        char tok[TOKEN_MAX];
        assert_int_equal(token_key_set(&key, ACK_KEY, strlen(ACK_KEY)), 0);
        assert_int_equal(token_ack_encode(&key, &claim, tok, sizeof(tok)), 0);
        snprintf(bad, sizeof(bad), "/r/%s", tok);
        assert_int_equal(status_of(h, "POST", bad, NULL, "reason=garbage"), 400);
        assert_int_equal(reports(h), 1);

        /* Revocation: the old link is gone, the new one works. */
        char *fresh = resident_link(h, "H-1", true);
        assert_string_not_equal(fresh, url);
        assert_int_equal(request(h, "POST", url, NULL, "reason=delivery", NULL, &r), 410);
        assert_non_null(strstr(r.body, "失效"));
        resp_free(&r);
        assert_int_equal(status_of(h, "POST", fresh, NULL, "reason=delivery"), 200);
        assert_int_equal(reports(h), 2);
        assert_int_equal(
            h_db_int(h, "SELECT count(*) FROM action WHERE kind = 'revoke-resident-links'"), 1);
        /* Beyond the daily limit (3): recorded, and the page says the next opening alerts. */
        assert_int_equal(status_of(h, "POST", fresh, NULL, "reason=other"), 200);
        assert_int_equal(request(h, "POST", fresh, NULL, "reason=other", NULL, &r), 429);
        assert_non_null(strstr(r.body, "上限"));
        resp_free(&r);
        assert_int_equal(reports(h), 4);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM report WHERE over_limit"), 1);
        /* A household whose observation ended gets a clear page. */
        char *ended = resident_link(h, "H-3", false);
        assert_int_equal(status_of(h, "GET", ended, NULL, NULL), 410);
        free(ended);
        free(fresh);
        free(url);
}

static void test_ctl_qr_link_png_and_revoke(void **state)
{
        struct harness *h = *state;
        char bin[256], png[400], *out = NULL, head[8] = { 0 };
        FILE *f;

        snprintf(bin, sizeof(bin), "%s/doorwatchctl", h_build_dir());
        snprintf(png, sizeof(png), "%s/H-2.png", h->dir);
        const char *argv[] = { bin, "-c", h->confdir, "qr", "H-2", "--png", png, NULL };
        assert_int_equal(h_run(&out, argv), 0);
        assert_non_null(strstr(out, "H-2 (generation 0)"));
        assert_non_null(strstr(out, "/r/"));
        assert_non_null(strstr(out, "\u2588")); /* the terminal rendering */
        char *line = strstr(out, "http://");
        assert_non_null(line);
        line[strcspn(line, "\n")] = 0;
        assert_int_equal(status_of(h, "GET", line, NULL, NULL), 200);
        free(out);
        f = fopen(png, "rb");
        assert_non_null(f);
        assert_int_equal(fread(head, 1, 8, f), 8);
        fclose(f);
        assert_memory_equal(head, "\x89PNG\r\n\x1a\n", 8);

        const char *revoke[] = { bin, "-c", h->confdir, "--json", "qr", "H-2", "--revoke", NULL };
        assert_int_equal(h_run(&out, revoke), 0);
        cJSON *j = cJSON_Parse(out);
        assert_non_null(j);
        assert_int_equal(cJSON_GetObjectItem(j, "generation")->valueint, 1);
        cJSON_Delete(j);
        free(out);
        const char *unknown[] = { bin, "-c", h->confdir, "qr", "H-9", NULL };
        assert_int_equal(h_run(&out, unknown), 1);
        free(out);
        const char *usage[] = { bin, "-c", h->confdir, "qr", NULL };
        assert_int_equal(h_run(&out, usage), 2);
        free(out);
}

/* ---- API ---- */

static void test_api_auth_status_codes_and_actions(void **state)
{
        struct harness *h = *state;
        struct resp r = { 0 };
        char path[256], alert_id[64];
        cJSON *j;

        /* Authentication. */
        assert_int_equal(request(h, "GET", "/api/v1/alerts", NULL, NULL, NULL, &r), 401);
        assert_true(has_header(&r, "WWW-Authenticate: Bearer"));
        assert_true(has_header(&r, "Content-Type: application/json"));
        resp_free(&r);
        assert_int_equal(status_of(h, "GET", "/api/v1/alerts", "wrong-token-0123456789", NULL),
                         401);
        assert_int_equal(status_of(h, "GET", "/api/v1/alerts", API_TOKEN "x", NULL), 401);
        assert_int_equal(status_of(h, "GET", "/api/v1/nothing", NULL, NULL), 401);
        assert_int_equal(status_of(h, "GET", "/api/v1/alerts", API_TOKEN, NULL), 200);
        /* Status codes. */
        assert_int_equal(status_of(h, "GET", "/api/v1/nothing", API_TOKEN, NULL), 404);
        assert_int_equal(status_of(h, "GET", "/api/v2/alerts", API_TOKEN, NULL), 404);
        assert_int_equal(status_of(h, "GET", "/etc/passwd", NULL, NULL), 404);
        assert_int_equal(status_of(h, "GET", "/../../etc/passwd", NULL, NULL), 404);
        assert_int_equal(status_of(h, "GET", "/api/v1/alerts?state=sleeping", API_TOKEN, NULL),
                         400);
        assert_int_equal(status_of(h, "GET", "/api/v1/alerts?limit=-1", API_TOKEN, NULL), 400);
        assert_int_equal(request(h, "DELETE", "/api/v1/alerts", API_TOKEN, NULL, NULL, &r), 405);
        assert_true(has_header(&r, "Allow: GET, HEAD"));
        resp_free(&r);
        assert_int_equal(status_of(h, "GET", "/api/v1/alerts/a-1/ack", API_TOKEN, NULL), 405);
        assert_int_equal(status_of(h, "POST", "/metrics", NULL, "x"), 405);
        /* /metrics says how many households are watched and when doors open: the token. */
        assert_int_equal(status_of(h, "GET", "/metrics", NULL, NULL), 401);
        assert_int_equal(status_of(h, "GET", "/metrics", "wrong-token-0123456789", NULL), 401);
        assert_int_equal(status_of(h, "GET", "/metrics", API_TOKEN, NULL), 200);
        assert_int_equal(status_of(h, "GET", "/healthz", NULL, NULL), 200);
        assert_int_equal(status_of(h, "GET", "/api/v1/households/H-9", API_TOKEN, NULL), 404);
        char *big = malloc(40000);
        memset(big, 'x', 39999);
        big[39999] = 0;
        assert_int_equal(status_of(h, "POST", "/api/v1/checkins", API_TOKEN, big), 413);
        free(big);

        /* Check-ins and passes go to the observation rules, recorded as operator-api. */
        assert_int_equal(status_of(h, "POST", "/api/v1/checkins", API_TOKEN, "{not json"), 400);
        assert_int_equal(status_of(h, "POST", "/api/v1/checkins", API_TOKEN,
                                   "{\"worker\": \"w-a-02\", \"household\": \"H-9\"}"),
                         400);
        assert_int_equal(status_of(h, "POST", "/api/v1/checkins", API_TOKEN,
                                   "{\"worker\": \"w-a-02\", \"household\": \"H-2\"}"),
                         200);
        assert_string_equal(h_db_text(h, "SELECT channel FROM checkin WHERE household = 'H-2'"),
                            "operator-api");
        assert_int_equal(status_of(h, "POST", "/api/v1/passes", API_TOKEN,
                                   "{\"worker\": \"w-a-01\", \"household\": \"H-2\","
                                   " \"from\": \"2020-02-05T08:00:00+08:00\", \"to\": \"x\"}"),
                         400);
        char pass[512], from[40], to[40];
        time_t t0 = time(NULL) + 3600, t1 = t0 + 3 * 3600;
        strftime(from, sizeof(from), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t0));
        strftime(to, sizeof(to), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t1));
        snprintf(pass, sizeof(pass),
                 "{\"worker\": \"w-a-01\", \"household\": \"H-2\", \"from\": \"%s\","
                 " \"to\": \"%s\", \"reason\": \"hospital\"}",
                 from, to);
        assert_int_equal(
            request(h, "POST", "/api/v1/passes", API_TOKEN, pass, "application/json", &r), 200);
        resp_free(&r);
        assert_string_equal(h_db_text(h, "SELECT channel FROM pass WHERE household = 'H-2'"),
                            "operator-api");

        /* An alert through the API: list, detail, ack, conflicts, resolve. */
        door_event(h, "d-1-door", "e-4", "open");
        assert_int_equal(h_wait_messages(h, NOTIFY, 3, 5000), 3);
        assert_int_equal(request(h, "GET", "/api/v1/alerts?state=open", API_TOKEN, NULL, NULL, &r),
                         200);
        assert_true(has_header(&r, "Cache-Control: no-store"));
        j = cJSON_Parse(r.body);
        resp_free(&r);
        cJSON *alerts = cJSON_GetObjectItem(j, "alerts");
        assert_int_equal(cJSON_GetArraySize(alerts), 1);
        cJSON *a = cJSON_GetArrayItem(alerts, 0);
        snprintf(alert_id, sizeof(alert_id), "%s", cJSON_GetObjectItem(a, "id")->valuestring);
        assert_string_equal(cJSON_GetObjectItem(a, "address")->valuestring, "测试路 1号 101");
        assert_string_equal(cJSON_GetObjectItem(a, "step")->valuestring, "team");
        assert_true(cJSON_GetObjectItem(j, "now")->valuedouble >=
                    cJSON_GetObjectItem(a, "raised_at")->valuedouble);
        cJSON_Delete(j);

        snprintf(path, sizeof(path), "/api/v1/alerts/%s", alert_id);
        assert_int_equal(request(h, "GET", path, API_TOKEN, NULL, NULL, &r), 200);
        j = cJSON_Parse(r.body);
        resp_free(&r);
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "events")), 1);
        assert_string_equal(
            cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "events"), 0), "id")
                ->valuestring,
            "e-4");
        assert_string_equal(
            cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "events"), 0),
                                "time_basis")
                ->valuestring,
            "device"); /* its ts, within max_clock_skew */
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "notifications")), 3);
        cJSON_Delete(j);
        assert_int_equal(status_of(h, "GET", "/api/v1/alerts/a-19990101-0001", API_TOKEN, NULL),
                         404);

        snprintf(path, sizeof(path), "/api/v1/alerts/%s/ack", alert_id);
        assert_int_equal(status_of(h, "POST", path, API_TOKEN, "{}"), 400);
        assert_int_equal(status_of(h, "POST", path, API_TOKEN, "{\"worker\": \"w-nobody\"}"), 400);
        assert_int_equal(status_of(h, "POST", path, API_TOKEN, "{\"worker\": \"w-a-09\"}"), 200);
        assert_int_equal(status_of(h, "POST", path, API_TOKEN, "{\"worker\": \"w-a-01\"}"), 409);
        assert_string_equal(h_db_text(h, "SELECT ack_channel FROM alert WHERE id = '%q'", alert_id),
                            "operator-api");
        assert_string_equal(h_db_text(h, "SELECT acked_by FROM alert WHERE id = '%q'", alert_id),
                            "w-a-09");
        snprintf(path, sizeof(path), "/api/v1/alerts/%s/resolve", alert_id);
        assert_int_equal(status_of(h, "POST", path, API_TOKEN, "{\"worker\": \"w-a-01\"}"), 400);
        assert_int_equal(
            status_of(h, "POST", path, API_TOKEN, "{\"worker\": \"w-a-01\", \"note\": \"ok\"}"),
            200);
        assert_int_equal(
            status_of(h, "POST", path, API_TOKEN, "{\"worker\": \"w-a-01\", \"note\": \"ok\"}"),
            409);

        /* The household: door state, devices, team on duty. */
        assert_int_equal(request(h, "GET", "/api/v1/households/H-1", API_TOKEN, NULL, NULL, &r),
                         200);
        j = cJSON_Parse(r.body);
        resp_free(&r);
        assert_string_equal(
            cJSON_GetObjectItem(cJSON_GetObjectItem(j, "door"), "state")->valuestring, "open");
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "devices")), 2);
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "on_duty")), 3);
        cJSON *duty = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "on_duty"), 2);
        assert_string_equal(cJSON_GetObjectItem(duty, "role")->valuestring, "police");
        assert_string_equal(
            cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(duty, "workers"), 0), "id")
                ->valuestring,
            "w-a-03");
        cJSON_Delete(j);
        assert_int_equal(request(h, "GET", "/api/v1/households", API_TOKEN, NULL, NULL, &r), 200);
        j = cJSON_Parse(r.body);
        resp_free(&r);
        assert_int_equal(cJSON_GetObjectItem(j, "total")->valueint, 2); /* H-3 has ended */
        cJSON_Delete(j);
        /* After all that, a clean stop (under ASan: nothing leaked). */
        assert_int_equal(h_stop_daemon(h, SIGTERM), 0);
}

/* ---- metrics ---- */

static bool metric_name(const char **p)
{
        const char *s = *p;
        if (!(isalpha((unsigned char)*s) || *s == '_' || *s == ':'))
                return false;
        while (isalnum((unsigned char)*s) || *s == '_' || *s == ':')
                s++;
        *p = s;
        return true;
}

/* Checks one exposition (text format 0.0.4) strictly enough to catch what Prometheus would
 * reject: line shapes, label escaping, numbers, TYPE before samples and once per family,
 * a family's samples together, histogram buckets cumulative with +Inf = _count. Returns
 * NULL, or what is wrong (in err). */
#define BAD(...)                                                                                   \
        do {                                                                                       \
                snprintf(err, err_size, __VA_ARGS__);                                              \
                return err;                                                                        \
        } while (0)

static const char *exposition_error(const char *text, char *err, size_t err_size)
{
        char families[256][128], current[128] = "", type[128] = "";
        size_t n_families = 0, lineno = 0;
        double last_bucket = -1, inf_bucket = -1;
        const char *line = text;

        if (!*text || text[strlen(text) - 1] != '\n')
                BAD("empty, or the last line does not end with a newline");
        while (*line) {
                const char *end = strchr(line, '\n'), *p = line, *name;
                char fam[128];
                size_t nl;

                lineno++;
                if (end == line) {
                        line = end + 1;
                        continue;
                }
                if (*p == '#') {
                        if (strncmp(p, "# HELP ", 7) == 0 || strncmp(p, "# TYPE ", 7) == 0) {
                                bool is_type = p[2] == 'T';
                                p += 7;
                                name = p;
                                if (!metric_name(&p) || *p != ' ')
                                        BAD("line %zu: bad metric name: %.*s", lineno,
                                            (int)(end - line), line);
                                nl = (size_t)(p - name);
                                if (is_type) {
                                        char t[32];
                                        snprintf(t, sizeof(t), "%.*s", (int)(end - p - 1), p + 1);
                                        if (strcmp(t, "counter") && strcmp(t, "gauge") &&
                                            strcmp(t, "histogram") && strcmp(t, "summary") &&
                                            strcmp(t, "untyped"))
                                                BAD("line %zu: bad type %s", lineno, t);
                                        snprintf(fam, sizeof(fam), "%.*s", (int)nl, name);
                                        for (size_t i = 0; i < n_families; i++)
                                                if (strcmp(families[i], fam) == 0)
                                                        BAD("line %zu: second TYPE for %s", lineno,
                                                            fam);
                                        snprintf(families[n_families++], sizeof(families[0]), "%s",
                                                 fam);
                                        snprintf(current, sizeof(current), "%s", fam);
                                        snprintf(type, sizeof(type), "%s", t);
                                        last_bucket = -1;
                                        inf_bucket = -1;
                                }
                        }
                        line = end + 1;
                        continue;
                }
                /* A sample: name{labels} value */
                name = p;
                if (!metric_name(&p))
                        BAD("line %zu: bad sample: %.*s", lineno, (int)(end - line), line);
                nl = (size_t)(p - name);
                snprintf(fam, sizeof(fam), "%.*s", (int)nl, name);
                bool in_family = strcmp(fam, current) == 0;
                if (!in_family && strcmp(type, "histogram") == 0) {
                        size_t cl = strlen(current);
                        in_family =
                            strncmp(fam, current, cl) == 0 &&
                            (strcmp(fam + cl, "_bucket") == 0 || strcmp(fam + cl, "_sum") == 0 ||
                             strcmp(fam + cl, "_count") == 0);
                }
                if (!in_family)
                        BAD("line %zu: sample %s outside its family (TYPE %s)", lineno, fam,
                            current);
                char le[64] = "";
                if (*p == '{') {
                        p++;
                        while (*p != '}') {
                                const char *ln = p;
                                if (!metric_name(&p) || *p != '=' || p[1] != '"')
                                        BAD("line %zu: bad label: %.*s", lineno, (int)(end - line),
                                            line);
                                bool is_le = p - ln == 2 && strncmp(ln, "le", 2) == 0;
                                p += 2;
                                const char *v = p;
                                while (*p != '"') {
                                        if (p >= end)
                                                BAD("line %zu: unterminated label value", lineno);
                                        if (*p == '\\') {
                                                if (p[1] != '\\' && p[1] != '"' && p[1] != 'n')
                                                        BAD("line %zu: bad escape", lineno);
                                                p++;
                                        }
                                        p++;
                                }
                                if (is_le)
                                        snprintf(le, sizeof(le), "%.*s", (int)(p - v), v);
                                p++;
                                if (*p == ',')
                                        p++;
                                else if (*p != '}')
                                        BAD("line %zu: bad label list", lineno);
                        }
                        p++;
                }
                if (*p != ' ')
                        BAD("line %zu: no value: %.*s", lineno, (int)(end - line), line);
                p++;
                char *vend;
                double v = strtod(p, &vend);
                if (vend == p || (vend != end && *vend != ' '))
                        BAD("line %zu: bad value: %.*s", lineno, (int)(end - line), line);
                if (strcmp(type, "counter") == 0 && v < 0)
                        BAD("line %zu: negative counter", lineno);
                if (strcmp(type, "histogram") == 0 && strstr(fam, "_bucket")) {
                        if (!le[0])
                                BAD("line %zu: bucket without le", lineno);
                        if (v < last_bucket)
                                BAD("line %zu: buckets not cumulative", lineno);
                        last_bucket = v;
                        if (strcmp(le, "+Inf") == 0)
                                inf_bucket = v;
                }
                if (strcmp(type, "histogram") == 0 && strstr(fam, "_count") && v != inf_bucket)
                        BAD("line %zu: _count differs from the +Inf bucket", lineno);
                line = end + 1;
        }
        return NULL;
}

static void check_exposition(const char *text)
{
        char err[256];
        const char *e = exposition_error(text, err, sizeof(err));
        if (e)
                fail_msg("not Prometheus text format: %s", e);
}

/* The value of one sample ("name{labels}" exactly as written), or -1. */
static double sample(const char *text, const char *series)
{
        size_t l = strlen(series);
        for (const char *p = text; (p = strstr(p, series)); p += l)
                if ((p == text || p[-1] == '\n') && p[l] == ' ')
                        return strtod(p + l + 1, NULL);
        return -1;
}

static double commits(struct harness *h)
{
        struct resp r = { 0 };
        double v;

        assert_int_equal(request(h, "GET", "/metrics", API_TOKEN, NULL, NULL, &r), 200);
        v = sample(r.body, "doorwatch_commit_seconds_count");
        resp_free(&r);
        return v;
}

/* What the daemon reads in one wake-up is committed together, at the end of the read, and
 * a command's reply follows that commit: with the daemon stopped, the broker hands it ten
 * events and a check-in at once; after SIGCONT they take one commit (two if the broker
 * split them), not one each. */
static void test_read_burst_is_one_commit(void **state)
{
        struct harness *h = *state;
        double before = commits(h);

        assert_true(before >= 0);
        h_subscribe(h, "doorwatch/v1/devices/+/events");
        h_subscribe(h, "doorwatch/v1/workers/+/checkin");
        assert_int_equal(kill(h->daemon_pid, SIGSTOP), 0);
        for (int i = 0; i < 10; i++) {
                char id[16];
                snprintf(id, sizeof(id), "b-%d", i);
                door_event(h, "d-2-door", id, "closed"); /* no alert: no commits of its own */
        }
        h_publish(h, "doorwatch/v1/workers/w-a-01/checkin",
                  "{\"household\": \"H-2\", \"request_id\": \"burst\"}", false);
        /* The broker relays them to the stopped daemon's socket as it relays them here. */
        assert_int_equal(h_wait_messages(h, "doorwatch/v1/devices/+/events", 10, 5000), 10);
        assert_int_equal(h_wait_messages(h, "doorwatch/v1/workers/+/checkin", 1, 5000), 1);
        assert_int_equal(kill(h->daemon_pid, SIGCONT), 0);
        assert_int_equal(h_wait_messages(h, "doorwatch/v1/workers/w-a-01/result", 1, 5000), 1);
        assert_non_null(
            strstr(h_message(h, "doorwatch/v1/workers/w-a-01/result", 0)->payload, "\"ok\":true"));
        /* The reply came after the commit: everything is in the database already. */
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM checkin WHERE household = 'H-2'"), 1);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM event WHERE uid LIKE 'b-%%'"), 10);
        double d = commits(h) - before;
        assert_true(d >= 1 && d <= 2);
}

static void test_metrics_exposition_moves_with_events(void **state)
{
        struct harness *h = *state;
        const char *alerts = "doorwatch_events_total{source=\"native\",verdict=\"alert\"}";
        struct resp r = { 0 };
        double before;

        assert_int_equal(request(h, "GET", "/metrics", API_TOKEN, NULL, NULL, &r), 200);
        assert_true(has_header(&r, "Content-Type: text/plain; version=0.0.4"));
        check_exposition(r.body);
        /* No event yet: the family is declared, the labelled series does not exist yet
         * (it appears with its first event: then 1, below). */
        before = sample(r.body, alerts);
        assert_true(before == -1);
        assert_non_null(strstr(r.body, "\n# TYPE doorwatch_events_total counter\n"));
        assert_true(sample(r.body, "doorwatch_mqtt_connected") == 1);
        assert_true(sample(r.body, "doorwatch_outbox_depth") == 0);
        resp_free(&r);

        /* The opening is held for chatter_settle when it arrives (counted "ignored" then);
         * its alert is raised when it settles. */
        door_event(h, "d-1-door", "e-5", "open");
        assert_int_equal(h_wait_messages(h, NOTIFY, 3, 5000), 3);
        door_event(h, "d-1-door", "e-6", "closed");
        h_db_wait_int(h, 3, 3000, "SELECT count(*) FROM notification WHERE state = 'delivered'");
        h_db_wait_int(h, 2, 3000, "SELECT count(*) FROM event");
        assert_int_equal(request(h, "GET", "/metrics", API_TOKEN, NULL, NULL, &r), 200);
        check_exposition(r.body);
        assert_true(sample(r.body, alerts) <= 0);
        assert_true(
            sample(r.body, "doorwatch_events_total{source=\"native\",verdict=\"ignored\"}") == 2);
        assert_true(
            sample(r.body, "doorwatch_alerts{kind=\"door_open_unexpected\",state=\"open\"}") == 1);
        assert_true(
            sample(r.body, "doorwatch_alerts_raised_total{kind=\"door_open_unexpected\"}") == 1);
        assert_true(
            sample(r.body,
                   "doorwatch_notifications_total{channel=\"mqtt\",outcome=\"delivered\"}") == 3);
        assert_true(sample(r.body, "doorwatch_event_processing_seconds_count") == 2);
        assert_true(sample(r.body, "doorwatch_event_processing_seconds_bucket{le=\"+Inf\"}") == 2);
        assert_true(sample(r.body, "doorwatch_mqtt_reconnects_total") == 0);
        resp_free(&r);

        /* The checker itself catches what it should. */
        static const char *const bad[] = {
                "x 1",
                "# TYPE x counter\nx 1\n# TYPE x counter\n",
                "# TYPE x counter\nx{a=\"b} 1\n",
                "# TYPE x counter\nx{a=\"\\q\"} 1\n",
                "# TYPE x counter\nx one\n",
                "# TYPE x counter\nx -1\n",
                "# TYPE x counter\nx 1\n# TYPE y gauge\ny 1\nx 2\n",
                "# TYPE x wobbly\nx 1\n",
                "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n",
                "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 1\n",
        };
        char err[256];
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                if (!exposition_error(bad[i], err, sizeof(err)))
                        fail_msg("the checker accepted: %s", bad[i]);
        check_exposition("# HELP x a help text\n# TYPE x counter\nx{a=\"q\\\"\\\\\\n\"} 1\n"
                         "# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
                         "h_sum 1.5\nh_count 2\n");
}

/* ---- health and readiness ---- */

static void test_readyz_follows_the_broker_healthz_stays(void **state)
{
        struct harness *h = *state;
        struct resp r = { 0 };
        long s = 0;

        assert_int_equal(status_of(h, "GET", "/healthz", NULL, NULL), 200);
        assert_int_equal(status_of(h, "GET", "/readyz", NULL, NULL), 200);
        h_stop_broker(h);
        for (int i = 0; i < 100 && s != 503; i++) {
                s = status_of(h, "GET", "/readyz", NULL, NULL);
                if (s != 503)
                        usleep(50000);
        }
        assert_int_equal(request(h, "GET", "/readyz", NULL, NULL, NULL, &r), 503);
        assert_non_null(strstr(r.body, "broker"));
        resp_free(&r);
        assert_int_equal(request(h, "GET", "/healthz", NULL, NULL, NULL, &r), 200);
        assert_string_equal(r.body, "ok\n");
        resp_free(&r);
        assert_int_equal(request(h, "GET", "/metrics", API_TOKEN, NULL, NULL, &r), 200);
        assert_true(sample(r.body, "doorwatch_mqtt_connected") == 0);
        resp_free(&r);

        h_start_broker(h);
        for (int i = 0; i < 300 && s != 200; i++) {
                s = status_of(h, "GET", "/readyz", NULL, NULL);
                if (s != 200)
                        usleep(50000);
        }
        assert_int_equal(s, 200);
        assert_int_equal(request(h, "GET", "/metrics", API_TOKEN, NULL, NULL, &r), 200);
        assert_true(sample(r.body, "doorwatch_mqtt_reconnects_total") == 1);
        resp_free(&r);
}

/* ---- headers and limits ---- */

static void test_security_headers_and_rate_limit(void **state)
{
        struct harness *h = *state;
        const char *paths[] = { "/", "/healthz", "/api/v1/alerts", "/ack/x", "/nope" };
        struct resp r = { 0 };
        int limited = 0;

        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
                request(h, "GET", paths[i], NULL, NULL, NULL, &r);
                assert_true(has_header(&r, "Content-Security-Policy: default-src 'none'"));
                assert_true(has_header(&r, "frame-ancestors 'none'"));
                assert_true(has_header(&r, "X-Content-Type-Options: nosniff"));
                assert_true(has_header(&r, "X-Frame-Options: DENY"));
                assert_true(has_header(&r, "Referrer-Policy: no-referrer"));
                assert_true(has_header(&r, "Cache-Control: no-"));
                resp_free(&r);
        }
        assert_int_equal(request(h, "GET", "/", NULL, NULL, NULL, &r), 200);
        assert_non_null(strstr(r.body, "status.js"));
        resp_free(&r);
        assert_int_equal(status_of(h, "GET", "/status.js", NULL, NULL), 200);
        assert_int_equal(status_of(h, "GET", "/style.css", NULL, NULL), 200);
        assert_int_equal(status_of(h, "GET", "/style.css/../status.js", NULL, NULL), 404);

        /* A burst beyond the per-address bucket is answered 429, with Retry-After. */
        for (int i = 0; i < 3000 && !limited; i++) {
                request(h, "GET", "/healthz", NULL, NULL, NULL, &r);
                if (r.status == 429) {
                        limited = i;
                        assert_true(has_header(&r, "Retry-After: "));
                }
                resp_free(&r);
        }
        assert_true(limited > 100);
        /* It refills. */
        usleep(300000);
        assert_int_equal(status_of(h, "GET", "/healthz", NULL, NULL), 200);
        assert_true(h_daemon_alive(h));
}

static void test_http_off_when_listen_is_null(void **state)
{
        struct harness *h = *state;
        CURL *c = curl_easy_init();
        char url[64];

        h_stop_daemon(h, SIGTERM);
        h_write_default_config(h, "\"http\": {\"listen\": null}");
        h_start_daemon(h);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", h->http_port);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 2L);
        assert_int_equal(curl_easy_perform(c), CURLE_COULDNT_CONNECT);
        curl_easy_cleanup(c);
        /* Notifications then carry no link. */
        door_event(h, "d-1-door", "e-7", "open");
        assert_int_equal(h_wait_messages(h, NOTIFY, 3, 5000), 3);
        assert_non_null(strstr(h_message(h, NOTIFY, 0)->payload, "\"ack_url\":null"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(
                    test_ack_link_confirm_acknowledges_and_stops_escalation, setup_fast_escalation,
                    teardown),
                cmocka_unit_test_setup_teardown(test_ack_link_refusals, setup, teardown),
                cmocka_unit_test_setup_teardown(test_resident_link_reports_and_tampering_is_refused,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_ctl_qr_link_png_and_revoke, setup, teardown),
                cmocka_unit_test_setup_teardown(test_api_auth_status_codes_and_actions, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_read_burst_is_one_commit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_metrics_exposition_moves_with_events, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_readyz_follows_the_broker_healthz_stays, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_security_headers_and_rate_limit, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_http_off_when_listen_is_null, setup, teardown),
        };
        curl_global_init(CURL_GLOBAL_DEFAULT);
        int r = cmocka_run_group_tests(tests, NULL, NULL);
        curl_global_cleanup();
        return r;
}

/* test-notify.c: notifications as the real doorwatchd delivers them, through a real broker
 * and a real HTTP server on loopback (tests/lib/http-sink, in this process, while the
 * daemon runs in another): the exact requests of the WeCom, DingTalk, Feishu and webhook
 * channels with their signatures (secrets read from files in the conf dir), the mqtt
 * payload, queueing under rate limits, retries after a 500 and a timeout, the dead letter
 * with its notification_failed alert, a pending outbox delivered after kill -9 and restart,
 * the exec channel's argv (no shell), the monitoring_gap notice while the broker is down,
 * `doorwatchctl notify test|list` and `doorwatchd --check-config` on notifiers. Every wait
 * is bounded polling on an observable condition. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
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

#include "../lib/http-sink.h"
#include "harness.h"

#define NOTIFY        "doorwatch/v1/workers/+/notify"
#define ROBOT_OK      "{\"errcode\":0,\"errmsg\":\"ok\",\"code\":0,\"msg\":\"success\"}"
#define DOOR_TEXT     "门开了：{address}（{household}）第{round}轮 {step} 通知 {name}"
#define REASON        "door opened with no scheduled visit, check-in, pass or doorbell hand-off"
#define WECOM_KEY     "KEYwecom7f3a"
#define DING_TOKEN    "TOKding91c2"
#define DING_SECRET   "SECding55e1"
#define FEISHU_SECRET "fsSecret0b7d"
#define HOOK_SECRET   "hookSecret4c9e"

struct t {
        struct harness h;
        struct http_sink *sink;
};

static const char *workers_json =
    "[{\"id\": \"w-a-01\", \"name\": \"测试甲\", \"role\": \"community\", \"community\": \"alpha\","
    "  \"phone\": \"+8613800000101\", \"channels\": [\"mqtt\"]},"
    " {\"id\": \"w-a-02\", \"name\": \"测试乙\", \"role\": \"medical\", \"community\": \"alpha\","
    "  \"phone\": \"+8613800000102\", \"channels\": [\"mqtt\"]},"
    " {\"id\": \"w-a-03\", \"name\": \"测试丙\", \"role\": \"police\", \"community\": \"alpha\","
    "  \"phone\": \"+8613800000103\", \"channels\": [\"mqtt\"]},"
    " {\"id\": \"w-a-00\", \"name\": \"测试丁\", \"role\": \"staff\", \"community\": \"alpha\","
    "  \"phone\": \"+8613800000100\", \"channels\": [\"mqtt\"]},"
    " {\"id\": \"w-b-01\", \"name\": \"贝一\", \"role\": \"community\", \"community\": \"beta\","
    "  \"phone\": \"+8613800000201\", \"channels\": [\"mqtt\"]},"
    " {\"id\": \"w-b-02\", \"name\": \"贝二\", \"role\": \"medical\", \"community\": \"beta\","
    "  \"phone\": \"+8613800000202\", \"channels\": [\"mqtt\"]},"
    " {\"id\": \"w-b-03\", \"name\": \"贝三\", \"role\": \"police\", \"community\": \"beta\","
    "  \"phone\": \"+8613800000203\", \"channels\": [\"mqtt\"]},"
    " {\"id\": \"w-cmd\", \"name\": \"指挥中心\", \"role\": \"staff\","
    "  \"phone\": \"+8613800000199\", \"channels\": [\"mqtt\"]}]";

#define OBS                                                                                        \
        "\"observation\": {\"start\": \"2020-01-01T00:00:00+08:00\", \"end\": "                    \
        "\"2099-01-01T00:00:00+08:00\"}"
#define TEAM_A                                                                                     \
        "\"team\": {\"community\": \"w-a-01\", \"medical\": \"w-a-02\", \"police\": \"w-a-03\"}"
#define TEAM_B                                                                                     \
        "\"team\": {\"community\": \"w-b-01\", \"medical\": \"w-b-02\", \"police\": \"w-b-03\"}"

static const char *households_json =
    "[{\"id\": \"H-1\", \"community\": \"alpha\", \"address\": \"测试路 1号 101\", " OBS ", " TEAM_A
    ", \"devices\": [{\"id\": \"d-1-door\", \"kind\": \"door_contact\", \"source\": \"native\"}]},"
    " {\"id\": \"H-2\", \"community\": \"alpha\", \"address\": \"测试路 2号 202\", " OBS ", " TEAM_A
    ", \"devices\": [{\"id\": \"d-2-door\", \"kind\": \"door_contact\", \"source\": \"native\"}]},"
    " {\"id\": \"H-4\", \"community\": \"alpha\", \"address\": \"测试路 4号 404\", " OBS ", " TEAM_A
    ", \"devices\": [{\"id\": \"d-4-door\", \"kind\": \"door_contact\", \"source\": \"native\"}]},"
    " {\"id\": \"H-5\", \"community\": \"beta\", \"address\": \"贝塔路 5号 505\", " OBS ", " TEAM_B
    ", \"devices\": [{\"id\": \"d-5-door\", \"kind\": \"door_contact\", \"source\": \"native\"}]}]";

static const char *rosters_json =
    "{\"communities\": {\"alpha\": {\"leader\": \"w-a-00\"}, \"beta\": {}},"
    " \"command\": [\"w-cmd\"], \"admins\": [\"w-cmd\"]}";

static int setup(void **state)
{
        struct t *t = calloc(1, sizeof(*t));
        char path[512];

        h_init(&t->h);
        snprintf(path, sizeof(path), "%s/secrets", t->h.confdir);
        mkdir(path, 0700);
        h_write_conf(&t->h, "workers.json", workers_json);
        h_write_conf(&t->h, "households.json", households_json);
        h_write_conf(&t->h, "rosters.json", rosters_json);
        assert_int_equal(http_sink_start(&t->sink), 0);
        http_sink_set_default(t->sink,
                              &(struct http_sink_response){ .status = 200, .body = ROBOT_OK });
        *state = t;
        return 0;
}

static int teardown(void **state)
{
        struct t *t = *state;
        h_cleanup(&t->h);
        http_sink_free(t->sink);
        free(t);
        return 0;
}

/* doorwatch.json with the mqtt notifier, `notifiers` (members, may be "") and extra
 * top-level members (may be ""). No HTTP server unless extra has one: the default port
 * 8088 may be taken by another checkout's tests on the machine. */
static void write_doorwatch(struct t *t, const char *notifiers, const char *extra)
{
        char *buf;

        assert_true(asprintf(&buf,
                             "{\"timezone\": \"Asia/Shanghai\", \"database\": \"%s\",\n"
                             " \"mqtt\": {\"host\": \"127.0.0.1\", \"port\": %d,"
                             " \"client_id\": \"doorwatchd-test\", \"keepalive\": \"5s\"},\n"
                             " \"notifiers\": {\"mqtt\": {\"type\": \"mqtt\"}%s%s}%s%s%s}\n",
                             t->h.dbpath, t->h.port, notifiers && *notifiers ? ", " : "",
                             notifiers ? notifiers : "",
                             extra && strstr(extra, "\"http\"") ? "" : ",\n \"http\": null",
                             extra && *extra ? ",\n " : "", extra ? extra : "") >= 0);
        h_write_conf(&t->h, "doorwatch.json", buf);
        free(buf);
}

static void write_secret(struct t *t, const char *name, const char *fmt, ...)
{
        char rel[128], *content;
        va_list ap;

        va_start(ap, fmt);
        assert_true(vasprintf(&content, fmt, ap) >= 0);
        va_end(ap);
        snprintf(rel, sizeof(rel), "secrets/%s", name);
        h_write_conf(&t->h, rel, content);
        free(content);
}

static void start(struct t *t)
{
        h_start_broker(&t->h);
        h_start_daemon(&t->h);
}

static void door_event(struct t *t, const char *device, const char *id, double ts)
{
        char topic[256], payload[256];

        snprintf(topic, sizeof(topic), "doorwatch/v1/devices/%s/events", device);
        snprintf(payload, sizeof(payload),
                 "{\"id\": \"%s\", \"ts\": %.3f, \"type\": \"door\", \"state\": \"open\"}", id, ts);
        h_publish(&t->h, topic, payload, false);
}

static double mono(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t count_path(struct t *t, const char *path)
{
        size_t n = 0;
        for (size_t i = 0; i < http_sink_n_requests(t->sink); i++)
                n += strcmp(http_sink_request(t->sink, i)->path, path) == 0;
        return n;
}

static const struct http_sink_request *nth_on(struct t *t, const char *path, size_t nth)
{
        for (size_t i = 0; i < http_sink_n_requests(t->sink); i++) {
                const struct http_sink_request *r = http_sink_request(t->sink, i);
                if (strcmp(r->path, path) == 0 && nth-- == 0)
                        return r;
        }
        return NULL;
}

/* Waits (bounded) until `path` got n requests; keeps the MQTT client pumped. */
static size_t wait_path(struct t *t, const char *path, size_t n, int timeout_ms)
{
        double end = mono() + timeout_ms / 1000.0;
        while (count_path(t, path) < n && mono() < end)
                h_pump(&t->h, 10);
        return count_path(t, path);
}

static char *hmac_b64(const char *key, size_t key_len, const char *msg, size_t msg_len)
{
        unsigned char mac[32];
        unsigned int len = sizeof(mac);
        char *out = malloc(64);

        HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, msg_len, mac, &len);
        EVP_EncodeBlock((unsigned char *)out, mac, 32);
        return out;
}

static char *hmac_hex(const char *key, const char *msg, size_t msg_len)
{
        unsigned char mac[32];
        unsigned int len = sizeof(mac);
        char *out = malloc(65);

        HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)msg, msg_len, mac, &len);
        for (int i = 0; i < 32; i++)
                sprintf(out + 2 * i, "%02x", mac[i]);
        return out;
}

static char *urlencode(const char *s)
{
        char *out = malloc(3 * strlen(s) + 1), *o = out;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                    (*p >= '0' && *p <= '9') || strchr("-._~", *p))
                        *o++ = (char)*p;
                else
                        o += sprintf(o, "%%%02X", *p);
        }
        *o = 0;
        return out;
}

/* Asserts obj has exactly these keys, in this order. */
static void assert_keys(const cJSON *obj, const char *const *keys)
{
        const cJSON *c = obj->child;
        size_t i = 0;

        for (; keys[i]; i++, c = c->next) {
                assert_non_null(c);
                assert_string_equal(c->string, keys[i]);
        }
        assert_null(c);
}

static const char *jstr(const cJSON *o, const char *key)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
        assert_true(cJSON_IsString(v));
        return v->valuestring;
}

static char *log_contents(struct t *t)
{
        char path[512], *buf = NULL;
        size_t len = 0;
        FILE *f;

        snprintf(path, sizeof(path), "%s/doorwatchd.log", t->h.dir);
        f = fopen(path, "r");
        assert_non_null(f);
        assert_true(getdelim(&buf, &len, 0, f) >= 0);
        fclose(f);
        return buf;
}

static int run_ctl(struct t *t, char **out, const char *a1, const char *a2, const char *a3,
                   const char *a4)
{
        char bin[256];
        snprintf(bin, sizeof(bin), "%s/doorwatchctl", h_build_dir());
        const char *argv[] = { bin, "-c", t->h.confdir, a1, a2, a3, a4, NULL };
        return h_run(out, argv);
}

/* w-a-01 is also reached by the "sms" notifier. */
static void write_workers_with_sms(struct t *t)
{
        h_write_conf(&t->h, "workers.json",
                     "[{\"id\": \"w-a-01\", \"name\": \"测试甲\", \"role\": \"community\","
                     "  \"community\": \"alpha\", \"phone\": \"+8613800000101\","
                     "  \"channels\": [\"mqtt\", \"sms\"]},"
                     " {\"id\": \"w-a-02\", \"name\": \"测试乙\", \"role\": \"medical\","
                     "  \"community\": \"alpha\", \"channels\": [\"mqtt\"]},"
                     " {\"id\": \"w-a-03\", \"name\": \"测试丙\", \"role\": \"police\","
                     "  \"community\": \"alpha\", \"channels\": [\"mqtt\"]},"
                     " {\"id\": \"w-a-00\", \"name\": \"测试丁\", \"role\": \"staff\","
                     "  \"community\": \"alpha\", \"channels\": [\"mqtt\"]},"
                     " {\"id\": \"w-b-01\", \"name\": \"贝一\", \"role\": \"community\","
                     "  \"community\": \"beta\"},"
                     " {\"id\": \"w-b-02\", \"name\": \"贝二\", \"role\": \"medical\","
                     "  \"community\": \"beta\"},"
                     " {\"id\": \"w-b-03\", \"name\": \"贝三\", \"role\": \"police\","
                     "  \"community\": \"beta\"},"
                     " {\"id\": \"w-cmd\", \"name\": \"指挥中心\", \"role\": \"staff\"}]");
}

/* ---- the four HTTP channels, exactly as the daemon sends them ---- */

static void test_group_channels_exact_requests(void **state)
{
        struct t *t = *state;
        const char *url = http_sink_url(t->sink);
        const char *group_text =
            "门开了：测试路 1号 101（H-1）第1轮 责任团队 通知 测试甲、测试乙、测试丙";
        const char *person_text = "门开了：测试路 1号 101（H-1）第1轮 责任团队 通知 测试甲";
        char notifiers[2048], *expect;
        double ts = h_now();
        const struct http_sink_request *r;
        cJSON *j;

        write_secret(t, "wecom.url", "%s/wecom/send?key=" WECOM_KEY "\n", url);
        write_secret(t, "ding.url", "%s/dingtalk/robot/send?access_token=" DING_TOKEN "\n", url);
        write_secret(t, "ding.secret", DING_SECRET "\n");
        write_secret(t, "feishu.url", "%s/feishu/hook/b1\n", url);
        write_secret(t, "feishu.secret", FEISHU_SECRET "\n");
        write_secret(t, "hook.secret", HOOK_SECRET "\n");
        snprintf(notifiers, sizeof(notifiers),
                 "\"wecom-a\": {\"type\": \"wecom\", \"url_file\": \"secrets/wecom.url\","
                 " \"communities\": [\"alpha\"]},"
                 "\"ding-a\": {\"type\": \"dingtalk\", \"url_file\": \"secrets/ding.url\","
                 " \"secret_file\": \"secrets/ding.secret\", \"communities\": [\"alpha\"]},"
                 "\"feishu-a\": {\"type\": \"feishu\", \"url_file\": \"secrets/feishu.url\","
                 " \"secret_file\": \"secrets/feishu.secret\", \"communities\": [\"alpha\"]},"
                 "\"ops\": {\"type\": \"webhook\", \"url\": \"%s/hook\","
                 " \"secret_file\": \"secrets/hook.secret\", \"kinds\": [\"door_open_unexpected\"],"
                 " \"communities\": [\"alpha\"]}",
                 url);
        write_doorwatch(t, notifiers,
                        "\"templates\": {\"door_open_unexpected\": \"" DOOR_TEXT "\"}");
        start(t);

        door_event(t, "d-1-door", "e-1", ts);
        door_event(t, "d-5-door", "e-5", ts); /* community beta: no group channel wants it */
        assert_int_equal(h_wait_messages(&t->h, NOTIFY, 6, 5000), 6);
        assert_int_equal(wait_path(t, "/hook", 1, 5000), 1);
        assert_int_equal(wait_path(t, "/wecom/send", 1, 5000), 1);
        assert_int_equal(wait_path(t, "/dingtalk/robot/send", 1, 5000), 1);
        assert_int_equal(wait_path(t, "/feishu/hook/b1", 1, 5000), 1);
        assert_int_equal(
            h_db_wait_int(&t->h, 10, 5000,
                          "SELECT count(*) FROM notification WHERE state = 'delivered'"),
            10);
        assert_int_equal(http_sink_n_requests(t->sink), 4);

        /* WeCom: text with the recipients' phones mentioned. */
        r = nth_on(t, "/wecom/send", 0);
        assert_string_equal(r->method, "POST");
        assert_string_equal(r->target, "/wecom/send?key=" WECOM_KEY);
        assert_string_equal(http_sink_header(r, "Content-Type"), "application/json");
        assert_true(asprintf(&expect,
                             "{\"msgtype\":\"text\",\"text\":{\"content\":\"%s\","
                             "\"mentioned_mobile_list\":[\"13800000101\",\"13800000102\","
                             "\"13800000103\"]}}",
                             group_text) >= 0);
        assert_string_equal(r->body, expect);
        free(expect);

        /* DingTalk: signed URL (timestamp in ms, HMAC-SHA256 of "timestamp\nsecret"). */
        r = nth_on(t, "/dingtalk/robot/send", 0);
        {
                const char *p = strstr(r->target, "&timestamp="), *sign;
                char tsbuf[32], *to_sign, *b64, *enc, *want;
                long long ms;

                assert_non_null(p);
                assert_true(strncmp(r->target, "/dingtalk/robot/send?access_token=" DING_TOKEN "&",
                                    strlen("/dingtalk/robot/send?access_token=" DING_TOKEN "&")) ==
                            0);
                ms = strtoll(p + strlen("&timestamp="), NULL, 10);
                assert_true(llabs(ms - (long long)(h_now() * 1000)) < 60000);
                snprintf(tsbuf, sizeof(tsbuf), "%lld", ms);
                sign = strstr(r->target, "&sign=");
                assert_non_null(sign);
                assert_true(asprintf(&to_sign, "%s\n%s", tsbuf, DING_SECRET) >= 0);
                b64 = hmac_b64(DING_SECRET, strlen(DING_SECRET), to_sign, strlen(to_sign));
                enc = urlencode(b64);
                assert_true(asprintf(&want, "&sign=%s", enc) >= 0);
                assert_string_equal(sign, want);
                free(to_sign);
                free(b64);
                free(enc);
                free(want);
        }
        assert_string_equal(http_sink_header(r, "Content-Type"), "application/json");
        assert_true(asprintf(&expect,
                             "{\"msgtype\":\"text\",\"text\":{\"content\":\"%s\"},"
                             "\"at\":{\"atMobiles\":[\"13800000101\",\"13800000102\","
                             "\"13800000103\"],\"isAtAll\":false}}",
                             group_text) >= 0);
        assert_string_equal(r->body, expect);
        free(expect);

        /* Feishu: timestamp (s) and sign = base64(HMAC-SHA256(key "ts\nsecret", "")). */
        r = nth_on(t, "/feishu/hook/b1", 0);
        j = cJSON_Parse(r->body);
        assert_non_null(j);
        {
                const char *fts = jstr(j, "timestamp");
                char *key, *sign;

                assert_true(llabs(strtoll(fts, NULL, 10) - (long long)h_now()) < 60);
                assert_true(asprintf(&key, "%s\n%s", fts, FEISHU_SECRET) >= 0);
                sign = hmac_b64(key, strlen(key), "", 0);
                assert_true(asprintf(&expect,
                                     "{\"timestamp\":\"%s\",\"sign\":\"%s\",\"msg_type\":\"text\","
                                     "\"content\":{\"text\":\"%s\"}}",
                                     fts, sign, group_text) >= 0);
                assert_string_equal(r->body, expect);
                free(expect);
                free(key);
                free(sign);
        }
        cJSON_Delete(j);

        /* Webhook: the round as JSON, signed over the exact body. */
        r = nth_on(t, "/hook", 0);
        assert_string_equal(http_sink_header(r, "Content-Type"), "application/json");
        {
                char *hex = hmac_hex(HOOK_SECRET, r->body, r->body_len), *want;
                assert_true(asprintf(&want, "sha256=%s", hex) >= 0);
                assert_string_equal(http_sink_header(r, "X-Doorwatch-Signature"), want);
                free(hex);
                free(want);
        }
        j = cJSON_Parse(r->body);
        assert_non_null(j);
        {
                static const char *const keys[] = {
                        "notification_id", "alert_id", "round",     "household", "community",
                        "address",         "kind",     "severity",  "reason",    "text",
                        "event_id",        "event_ts", "raised_at", "step",      "ack_url",
                        "recipients",      NULL
                };
                static const char *const rkeys[] = { "worker", "name", "phone", "role", NULL };
                static const char *const ids[] = { "w-a-01", "w-a-02", "w-a-03" };
                static const char *const names[] = { "测试甲", "测试乙", "测试丙" };
                static const char *const phones[] = { "+8613800000101", "+8613800000102",
                                                      "+8613800000103" };
                static const char *const roles[] = { "community", "medical", "police" };
                const cJSON *list = cJSON_GetObjectItem(j, "recipients"), *e;
                size_t i = 0;

                assert_keys(j, keys);
                assert_true(strncmp(jstr(j, "notification_id"), "n-", 2) == 0);
                assert_string_equal(
                    jstr(j, "alert_id"),
                    h_db_text(&t->h, "SELECT id FROM alert WHERE household = 'H-1'"));
                assert_int_equal(cJSON_GetObjectItem(j, "round")->valueint, 1);
                assert_string_equal(jstr(j, "household"), "H-1");
                assert_string_equal(jstr(j, "community"), "alpha");
                assert_string_equal(jstr(j, "address"), "测试路 1号 101");
                assert_string_equal(jstr(j, "kind"), "door_open_unexpected");
                assert_string_equal(jstr(j, "severity"), "high");
                assert_string_equal(jstr(j, "reason"), REASON);
                assert_string_equal(jstr(j, "text"), group_text);
                assert_string_equal(jstr(j, "event_id"), "e-1");
                assert_true(fabs(cJSON_GetObjectItem(j, "event_ts")->valuedouble - ts) < 0.002);
                assert_true(cJSON_IsNumber(cJSON_GetObjectItem(j, "raised_at")));
                assert_string_equal(jstr(j, "step"), "team");
                assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "ack_url")));
                assert_int_equal(cJSON_GetArraySize(list), 3);
                cJSON_ArrayForEach(e, list)
                {
                        assert_keys(e, rkeys);
                        assert_string_equal(jstr(e, "worker"), ids[i]);
                        assert_string_equal(jstr(e, "name"), names[i]);
                        assert_string_equal(jstr(e, "phone"), phones[i]);
                        assert_string_equal(jstr(e, "role"), roles[i]);
                        i++;
                }
        }
        cJSON_Delete(j);

        /* MQTT: exactly the DESIGN.md §4 keys, the text naming its one reader. */
        {
                static const char *const keys[] = {
                        "notification_id", "alert_id",  "round",     "household", "community",
                        "address",         "kind",      "severity",  "reason",    "text",
                        "event_id",        "event_ts",  "raised_at", "step",      "role",
                        "worker",          "ack_topic", "ack_url",   NULL
                };
                const struct h_msg *m = h_message(&t->h, "doorwatch/v1/workers/w-a-01/notify", 0);

                assert_non_null(m);
                j = cJSON_Parse(m->payload);
                assert_keys(j, keys);
                assert_string_equal(jstr(j, "text"), person_text);
                assert_string_equal(jstr(j, "role"), "community");
                assert_string_equal(jstr(j, "worker"), "w-a-01");
                assert_string_equal(jstr(j, "ack_topic"), "doorwatch/v1/workers/w-a-01/ack");
                cJSON_Delete(j);
        }
        /* One row per round for group channels (no worker), one per person for mqtt. */
        assert_int_equal(h_db_int(&t->h, "SELECT count(*) FROM notification WHERE worker IS NULL"),
                         4);
        assert_int_equal(
            h_db_int(&t->h, "SELECT count(*) FROM notification WHERE channel = 'mqtt'"), 6);
        /* Secrets and phone numbers never reach the log. */
        {
                char *log = log_contents(t);
                assert_null(strstr(log, WECOM_KEY));
                assert_null(strstr(log, DING_TOKEN));
                assert_null(strstr(log, DING_SECRET));
                assert_null(strstr(log, FEISHU_SECRET));
                assert_null(strstr(log, HOOK_SECRET));
                assert_null(strstr(log, "13800000101"));
                free(log);
        }
}

/* ---- rate limits: queued, never dropped ---- */

static void test_rate_limit_per_minute_queues_the_third(void **state)
{
        struct t *t = *state;
        char notifiers[512];

        snprintf(notifiers, sizeof(notifiers),
                 "\"ops\": {\"type\": \"webhook\", \"url\": \"%s/hook\", \"rate_per_minute\": 2}",
                 http_sink_url(t->sink));
        write_doorwatch(t, notifiers, "");
        start(t);
        door_event(t, "d-1-door", "e-1", h_now());
        door_event(t, "d-2-door", "e-2", h_now());
        door_event(t, "d-4-door", "e-4", h_now());
        assert_int_equal(wait_path(t, "/hook", 2, 5000), 2);
        /* The third round waits for the minute's window to free a slot. */
        assert_int_equal(h_db_wait_int(&t->h, 1, 5000,
                                       "SELECT count(*) FROM notification WHERE channel = 'ops'"
                                       " AND state = 'pending' AND attempts = 0"),
                         1);
        assert_int_equal(wait_path(t, "/hook", 3, 1500), 2);
        int64_t wait_usec =
            h_db_int(&t->h, "SELECT (SELECT next_usec FROM notification WHERE channel = "
                            "'ops' AND state = 'pending') - (SELECT min(last_attempt_usec)"
                            " FROM notification WHERE channel = 'ops')");
        print_message("third webhook round queued for %.2f s after the first\n", wait_usec / 1e6);
        assert_true(wait_usec >= 59 * 1000000LL && wait_usec <= 61 * 1000000LL);
        assert_int_equal(h_db_int(&t->h, "SELECT count(*) FROM notification WHERE state = 'dead'"),
                         0);
}

static void test_rate_limit_per_second_spaces_sends(void **state)
{
        struct t *t = *state;
        char notifiers[512];
        int64_t gap[2];

        snprintf(notifiers, sizeof(notifiers),
                 "\"ops\": {\"type\": \"webhook\", \"url\": \"%s/hook\", \"rate_per_second\": 1}",
                 http_sink_url(t->sink));
        write_doorwatch(t, notifiers, "");
        start(t);
        door_event(t, "d-1-door", "e-1", h_now());
        door_event(t, "d-2-door", "e-2", h_now());
        door_event(t, "d-4-door", "e-4", h_now());
        assert_int_equal(wait_path(t, "/hook", 3, 6000), 3);
        for (int i = 0; i < 2; i++)
                gap[i] = nth_on(t, "/hook", (size_t)i + 1)->time_usec -
                         nth_on(t, "/hook", (size_t)i)->time_usec;
        print_message("webhook arrivals %.3f s and %.3f s apart (rate_per_second 1)\n",
                      gap[0] / 1e6, gap[1] / 1e6);
        assert_int_equal(h_db_wait_int(&t->h, 3, 3000,
                                       "SELECT count(*) FROM notification WHERE channel = 'ops'"
                                       " AND state = 'delivered' AND attempts = 1"),
                         3);
        /* The spacing is the daemon's: its own send times (last_attempt_usec), not the
         * arrivals here, which a loaded machine squeezes (a late first request arrives
         * closer to the second, which went out on time). */
        for (int i = 0; i < 2; i++)
                gap[i] = h_db_int(&t->h,
                                  "SELECT b.last_attempt_usec - a.last_attempt_usec FROM"
                                  " (SELECT last_attempt_usec FROM notification WHERE channel ="
                                  " 'ops' ORDER BY last_attempt_usec LIMIT 1 OFFSET %d) a,"
                                  " (SELECT last_attempt_usec FROM notification WHERE channel ="
                                  " 'ops' ORDER BY last_attempt_usec LIMIT 1 OFFSET %d) b",
                                  i, i + 1);
        print_message("sent %.3f s and %.3f s apart\n", gap[0] / 1e6, gap[1] / 1e6);
        assert_true(gap[0] >= 999000 && gap[1] >= 999000);
        assert_true(gap[0] < 3000000 && gap[1] < 3000000);
}

/* ---- retries and the dead letter ---- */

static void test_retries_after_500_and_timeout(void **state)
{
        struct t *t = *state;
        char notifiers[512];

        snprintf(notifiers, sizeof(notifiers),
                 "\"ops\": {\"type\": \"webhook\", \"url\": \"%s/hook\", \"timeout\": \"1s\"}",
                 http_sink_url(t->sink));
        write_doorwatch(t, notifiers,
                        "\"outbox\": {\"retry_base\": \"200ms\", \"retry_max\": \"400ms\"}");
        http_sink_push(t->sink, &(struct http_sink_response){
                                    .path = "/hook", .status = 500, .body = "busy" });
        http_sink_push(t->sink, &(struct http_sink_response){
                                    .path = "/hook", .status = 200, .delay_ms = 2500 });
        start(t);
        door_event(t, "d-1-door", "e-1", h_now());
        assert_int_equal(wait_path(t, "/hook", 3, 10000), 3);
        assert_int_equal(h_db_wait_int(&t->h, 3, 5000,
                                       "SELECT attempts FROM notification WHERE channel = 'ops'"
                                       " AND state = 'delivered'"),
                         3);
        /* The same notification each time (receivers de-duplicate by notification_id). */
        assert_string_equal(nth_on(t, "/hook", 0)->body, nth_on(t, "/hook", 2)->body);
        /* Backed off: the retry after the 500 came 100..200 ms later at the earliest, the one
         * after the timeout at least the 1 s timeout later. */
        assert_true(nth_on(t, "/hook", 1)->time_usec - nth_on(t, "/hook", 0)->time_usec >= 100000);
        assert_true(nth_on(t, "/hook", 2)->time_usec - nth_on(t, "/hook", 1)->time_usec >= 1000000);
        char *log = log_contents(t);
        assert_non_null(strstr(log, "HTTP 500: busy"));
        assert_non_null(strstr(log, "timed out"));
        free(log);
}

static void test_dead_letter_raises_notification_failed(void **state)
{
        struct t *t = *state;
        char notifiers[512], *out = NULL, dead_id[64];

        snprintf(notifiers, sizeof(notifiers),
                 "\"ops\": {\"type\": \"webhook\", \"url\": \"%s/hook\", \"kinds\": [\"*\"]}",
                 http_sink_url(t->sink));
        write_doorwatch(t, notifiers,
                        "\"outbox\": {\"max_attempts\": 3, \"retry_base\": \"100ms\","
                        " \"retry_max\": \"200ms\", \"dead_after\": \"1h\"}");
        http_sink_set_default(t->sink,
                              &(struct http_sink_response){ .status = 500, .body = "down" });
        start(t);
        door_event(t, "d-1-door", "e-1", h_now());
        assert_int_equal(h_db_wait_int(&t->h, 1, 10000,
                                       "SELECT count(*) FROM notification n JOIN alert a"
                                       " ON a.id = n.alert_id WHERE n.channel = 'ops'"
                                       " AND n.state = 'dead' AND a.kind = 'door_open_unexpected'"),
                         1);
        snprintf(dead_id, sizeof(dead_id), "%s",
                 h_db_text(&t->h, "SELECT id FROM notification WHERE state = 'dead'"));
        assert_int_equal(
            h_db_int(&t->h, "SELECT attempts FROM notification WHERE id = '%q'", dead_id), 3);
        assert_string_equal(
            h_db_text(&t->h, "SELECT last_error FROM notification WHERE id = '%q'", dead_id),
            "HTTP 500: down");
        /* The admins (and the command centre) hear of it over their channels. */
        assert_int_equal(h_wait_messages(&t->h, "doorwatch/v1/workers/w-cmd/notify", 1, 5000), 1);
        cJSON *j = cJSON_Parse(h_message(&t->h, "doorwatch/v1/workers/w-cmd/notify", 0)->payload);
        assert_string_equal(jstr(j, "kind"), "notification_failed");
        assert_string_equal(jstr(j, "household"), "H-1");
        assert_non_null(strstr(jstr(j, "text"), "通知发送失败"));
        assert_non_null(strstr(jstr(j, "reason"), dead_id));
        cJSON_Delete(j);
        assert_string_equal(
            h_db_text(&t->h, "SELECT state FROM alert WHERE kind = 'notification_failed'"), "open");
        /* Its own round to the failing webhook dies too: logged, no second alert. */
        assert_int_equal(h_db_wait_int(&t->h, 2, 10000,
                                       "SELECT count(*) FROM notification WHERE state = 'dead'"),
                         2);
        h_pump(&t->h, 300);
        assert_int_equal(
            h_db_int(&t->h, "SELECT count(*) FROM alert WHERE kind = 'notification_failed'"), 1);
        assert_true(h_daemon_alive(&t->h));

        assert_int_equal(run_ctl(t, &out, "alerts", "list", NULL, NULL), 0);
        assert_non_null(strstr(out, "notification_failed"));
        free(out);
        assert_int_equal(run_ctl(t, &out, "notify", "list", "--dead", NULL), 0);
        assert_non_null(strstr(out, dead_id));
        assert_non_null(strstr(out, "HTTP 500: down"));
        assert_null(strstr(out, "\tdelivered\t"));
        free(out);
}

/* A per-person channel that keeps failing: given up, the admins told, the phone masked. */
static void test_failing_sms_is_given_up_with_phone_masked(void **state)
{
        struct t *t = *state;
        char script[PATH_MAX], out[600], notifiers[8192], *log;

        assert_non_null(realpath("tests/fixtures/record-argv.sh", script));
        snprintf(out, sizeof(out), "%s/argv.out", t->h.dir);
        snprintf(notifiers, sizeof(notifiers),
                 "\"sms\": {\"type\": \"exec\", \"argv\": [\"%s\", \"%s\", \"fail\", \"{phone}\"]}",
                 script, out);
        write_doorwatch(t, notifiers,
                        "\"outbox\": {\"max_attempts\": 2, \"retry_base\": \"100ms\","
                        " \"retry_max\": \"100ms\"}");
        write_workers_with_sms(t);
        start(t);
        door_event(t, "d-1-door", "e-1", h_now());
        assert_int_equal(h_db_wait_int(&t->h, 1, 10000,
                                       "SELECT count(*) FROM notification WHERE channel = 'sms'"
                                       " AND state = 'dead' AND attempts = 2"),
                         1);
        /* The program's complaint, phone masked as in every log line and detail. */
        assert_non_null(
            strstr(h_db_text(&t->h, "SELECT last_error FROM notification WHERE channel = 'sms'"),
                   "exit status 3: modem not ready for 138****0001"));
        assert_int_equal(h_db_wait_int(&t->h, 1, 5000,
                                       "SELECT count(*) FROM alert WHERE kind ="
                                       " 'notification_failed' AND household = 'H-1'"),
                         1);
        assert_int_equal(h_wait_messages(&t->h, "doorwatch/v1/workers/w-cmd/notify", 1, 5000), 1);
        log = log_contents(t);
        assert_non_null(strstr(log, "worker w-a-01 (测试甲, phone +86138****0101) was not reached"
                                    " via sms"));
        assert_null(strstr(log, "13800000101"));
        assert_null(strstr(log, "13800000001"));
        free(log);
}

/* ---- kill -9 with a pending outbox ---- */

static void test_pending_outbox_survives_kill9(void **state)
{
        struct t *t = *state;
        char notifiers[512], pending[2][64];
        uint16_t port = http_sink_port(t->sink);

        snprintf(notifiers, sizeof(notifiers),
                 "\"ops\": {\"type\": \"webhook\", \"url\": \"%s/hook\"}", http_sink_url(t->sink));
        write_doorwatch(t, notifiers,
                        "\"outbox\": {\"retry_base\": \"300ms\", \"retry_max\": \"600ms\"}");
        start(t);
        door_event(t, "d-1-door", "e-1", h_now());
        assert_int_equal(wait_path(t, "/hook", 1, 5000), 1);
        assert_int_equal(h_db_wait_int(&t->h, 1, 5000,
                                       "SELECT count(*) FROM notification WHERE channel = 'ops'"
                                       " AND state = 'delivered'"),
                         1);

        t->sink = http_sink_free(t->sink); /* the far end goes down: connection refused */
        door_event(t, "d-2-door", "e-2", h_now());
        door_event(t, "d-4-door", "e-4", h_now());
        assert_int_equal(h_db_wait_int(&t->h, 2, 5000,
                                       "SELECT count(*) FROM notification WHERE channel = 'ops'"
                                       " AND state = 'pending' AND attempts >= 1"),
                         2);
        snprintf(pending[0], sizeof(pending[0]), "%s",
                 h_db_text(&t->h, "SELECT id FROM notification WHERE channel = 'ops' AND state !="
                                  " 'delivered' ORDER BY id LIMIT 1"));
        snprintf(pending[1], sizeof(pending[1]), "%s",
                 h_db_text(&t->h, "SELECT id FROM notification WHERE channel = 'ops' AND state !="
                                  " 'delivered' ORDER BY id LIMIT 1 OFFSET 1"));
        assert_int_equal(h_stop_daemon(&t->h, SIGKILL), 128 + SIGKILL);

        assert_int_equal(http_sink_start_port(port, &t->sink), 0);
        http_sink_set_default(t->sink,
                              &(struct http_sink_response){ .status = 200, .body = ROBOT_OK });
        h_start_daemon(&t->h);
        assert_int_equal(wait_path(t, "/hook", 2, 10000), 2);
        h_pump(&t->h, 500);
        assert_int_equal(http_sink_n_requests(t->sink), 2); /* exactly the pending ones */
        for (int i = 0; i < 2; i++) {
                cJSON *j = cJSON_Parse(nth_on(t, "/hook", (size_t)i)->body);
                const char *id = jstr(j, "notification_id");
                assert_true(strcmp(id, pending[0]) == 0 || strcmp(id, pending[1]) == 0);
                cJSON_Delete(j);
        }
        assert_string_not_equal(nth_on(t, "/hook", 0)->body, nth_on(t, "/hook", 1)->body);
        assert_int_equal(h_db_wait_int(&t->h, 3, 5000,
                                       "SELECT count(*) FROM notification WHERE channel = 'ops'"
                                       " AND state = 'delivered'"),
                         3);
}

/* ---- exec: argv without a shell ---- */

static void test_exec_argv_is_literal(void **state)
{
        struct t *t = *state;
        char script[PATH_MAX], out[600], pwned[600], notifiers[8192], *buf = NULL, tmpl[2048];
        char *templates;
        size_t len = 0;
        FILE *f;
        const char *want_text;

        assert_non_null(realpath("tests/fixtures/record-argv.sh", script));
        snprintf(out, sizeof(out), "%s/argv.out", t->h.dir);
        snprintf(pwned, sizeof(pwned), "%s/pwned", t->h.dir);
        snprintf(notifiers, sizeof(notifiers),
                 "\"sms\": {\"type\": \"exec\", \"timeout\": \"5s\", \"argv\": [\"%s\", \"%s\","
                 " \"ok\", \"{phone}\", \"{text}\", \"{name}\", \"{worker}\", \"{kind}\"]}",
                 script, out);
        /* A text with quotes, spaces, $(), backticks, a semicolon and newlines. */
        snprintf(tmpl, sizeof(tmpl),
                 "告警 \"{address}\" 'q' $(touch %s) `touch %s` ; echo x\n第二行\t{name}", pwned,
                 pwned);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "door_open_unexpected", tmpl);
        templates = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        char *extra;
        assert_true(asprintf(&extra, "\"templates\": %s", templates) >= 0);
        write_doorwatch(t, notifiers, extra);
        free(extra);
        free(templates);
        write_workers_with_sms(t);
        start(t);
        door_event(t, "d-1-door", "e-1", h_now());
        assert_int_equal(h_db_wait_int(&t->h, 1, 10000,
                                       "SELECT count(*) FROM notification WHERE channel = 'sms'"
                                       " AND state = 'delivered'"),
                         1);
        f = fopen(out, "r");
        assert_non_null(f);
        buf = calloc(1, 65536);
        assert_non_null(buf);
        len = fread(buf, 1, 65535, f);
        fclose(f);
        /* phone \0 text \0 name \0 worker \0 kind \0 */
        const char *p = buf;
        assert_string_equal(p, "+8613800000101");
        p += strlen(p) + 1;
        char *want;
        assert_true(asprintf(&want,
                             "告警 \"测试路 1号 101\" 'q' $(touch %s) `touch %s` ; echo x\n第二行\t"
                             "测试甲",
                             pwned, pwned) >= 0);
        want_text = want;
        assert_string_equal(p, want_text);
        p += strlen(p) + 1;
        assert_string_equal(p, "测试甲");
        p += strlen(p) + 1;
        assert_string_equal(p, "w-a-01");
        p += strlen(p) + 1;
        assert_string_equal(p, "door_open_unexpected");
        p += strlen(p) + 1;
        assert_int_equal((size_t)(p - buf), len);
        assert_int_equal(access(pwned, F_OK), -1); /* nothing was interpreted */
        free(want);
        free(buf);
}

/* ---- the broker down: monitoring_gap over a webhook ---- */

static void test_monitoring_gap_over_webhook(void **state)
{
        struct t *t = *state;
        char notifiers[512];
        cJSON *j;

        snprintf(notifiers, sizeof(notifiers),
                 "\"ops\": {\"type\": \"webhook\", \"url\": \"%s/hook\","
                 " \"kinds\": [\"monitoring_gap\", \"monitoring_restored\"]}",
                 http_sink_url(t->sink));
        write_doorwatch(t, notifiers, "\"monitoring_gap_after\": \"1s\"");
        start(t);
        /* Connected for longer than monitoring_gap_after: no gap is reported (a gap timer
         * armed at start and never disarmed by the connect would fire within this). */
        h_pump(&t->h, 1500);
        assert_int_equal(count_path(t, "/hook"), 0);

        h_stop_broker(&t->h);
        assert_true(http_sink_wait(t->sink, 1, 15000));
        j = cJSON_Parse(nth_on(t, "/hook", 0)->body);
        assert_string_equal(jstr(j, "kind"), "monitoring_gap");
        assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "household")));
        assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "community")));
        assert_non_null(strstr(jstr(j, "text"), "监测中断"));
        assert_non_null(strstr(jstr(j, "reason"), "unreachable"));
        assert_string_equal(
            jstr(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "recipients"), 0), "worker"), "w-cmd");
        cJSON_Delete(j);
        assert_string_equal(
            h_db_text(&t->h, "SELECT state FROM alert WHERE kind = 'monitoring_gap'"), "open");
        /* w-cmd has only MQTT: nothing is queued there for the gap. */
        assert_int_equal(
            h_db_int(&t->h, "SELECT count(*) FROM notification WHERE channel = 'mqtt'"), 0);

        h_start_broker(&t->h);
        assert_true(http_sink_wait(t->sink, 2, 40000));
        j = cJSON_Parse(nth_on(t, "/hook", 1)->body);
        assert_string_equal(jstr(j, "kind"), "monitoring_restored");
        assert_non_null(strstr(jstr(j, "text"), "监测已恢复"));
        cJSON_Delete(j);
        assert_int_equal(h_db_wait_int(&t->h, 1, 5000,
                                       "SELECT count(*) FROM alert WHERE kind = 'monitoring_gap'"
                                       " AND state = 'resolved'"),
                         1);
}

/* ---- doorwatchctl notify test / list ---- */

static void test_ctl_notify_test(void **state)
{
        struct t *t = *state;
        char notifiers[8192], script[PATH_MAX], out_file[600], *out = NULL;

        assert_non_null(realpath("tests/fixtures/record-argv.sh", script));
        snprintf(out_file, sizeof(out_file), "%s/argv.out", t->h.dir);
        snprintf(notifiers, sizeof(notifiers),
                 "\"ops\": {\"type\": \"webhook\", \"url\": \"%s/hook\"},"
                 "\"sms\": {\"type\": \"exec\", \"argv\": [\"%s\", \"%s\", \"ok\", \"{kind}\","
                 " \"{text}\"]}",
                 http_sink_url(t->sink), script, out_file);
        write_doorwatch(t, notifiers, "");
        h_write_conf(&t->h, "workers.json",
                     "[{\"id\": \"w-a-01\", \"name\": \"测试甲\", \"role\": \"community\","
                     "  \"community\": \"alpha\", \"phone\": \"+8613800000101\","
                     "  \"channels\": [\"mqtt\", \"sms\"]},"
                     " {\"id\": \"w-a-02\", \"name\": \"测试乙\", \"role\": \"medical\"},"
                     " {\"id\": \"w-a-03\", \"name\": \"测试丙\", \"role\": \"police\"},"
                     " {\"id\": \"w-a-00\", \"name\": \"测试丁\", \"role\": \"staff\"},"
                     " {\"id\": \"w-b-01\", \"name\": \"贝一\", \"role\": \"community\"},"
                     " {\"id\": \"w-b-02\", \"name\": \"贝二\", \"role\": \"medical\"},"
                     " {\"id\": \"w-b-03\", \"name\": \"贝三\", \"role\": \"police\"},"
                     " {\"id\": \"w-cmd\", \"name\": \"指挥中心\", \"role\": \"staff\"}]");
        h_start_broker(&t->h);
        h_connect(&t->h);

        /* A group notifier: the webhook answers 200. */
        assert_int_equal(run_ctl(t, &out, "notify", "test", "ops", NULL), 0);
        assert_non_null(strstr(out, "ops (webhook): delivered: HTTP 200"));
        free(out);
        assert_int_equal(count_path(t, "/hook"), 1);
        cJSON *j = cJSON_Parse(nth_on(t, "/hook", 0)->body);
        assert_string_equal(jstr(j, "kind"), "test");
        assert_non_null(strstr(jstr(j, "text"), "测试消息"));
        cJSON_Delete(j);

        /* What the far end says when it fails. */
        http_sink_push(t->sink, &(struct http_sink_response){
                                    .path = "/hook", .status = 503, .body = "maintenance" });
        assert_int_equal(run_ctl(t, &out, "notify", "test", "ops", NULL), 1);
        assert_non_null(strstr(out, "ops (webhook): retry: HTTP 503: maintenance"));
        free(out);

        /* A worker: every channel they list, MQTT straight to the broker. */
        assert_int_equal(run_ctl(t, &out, "notify", "test", "w-a-01", NULL), 0);
        assert_non_null(strstr(out, "mqtt (mqtt) to w-a-01: delivered: PUBACK"));
        assert_non_null(strstr(out, "sms (exec) to w-a-01: delivered"));
        free(out);
        assert_int_equal(h_wait_messages(&t->h, "doorwatch/v1/workers/w-a-01/notify", 1, 3000), 1);
        j = cJSON_Parse(h_message(&t->h, "doorwatch/v1/workers/w-a-01/notify", 0)->payload);
        assert_string_equal(jstr(j, "kind"), "test");
        cJSON_Delete(j);

        /* Per-person notifiers need a recipient. */
        assert_int_equal(run_ctl(t, &out, "notify", "test", "sms", NULL), 2);
        free(out);
        assert_int_equal(run_ctl(t, &out, "notify", "test", "nobody", NULL), 1);
        free(out);
}

/* doorwatch.json with `mqtt` (members after host and port, may be ""). */
static void write_doorwatch_mqtt(struct t *t, const char *mqtt)
{
        char *buf;

        assert_true(asprintf(&buf,
                             "{\"timezone\": \"Asia/Shanghai\", \"database\": \"%s\",\n"
                             " \"mqtt\": {\"host\": \"127.0.0.1\", \"port\": %d%s%s},\n"
                             " \"notifiers\": {\"mqtt\": {\"type\": \"mqtt\"}}}\n",
                             t->h.dbpath, t->h.port, *mqtt ? ", " : "", mqtt) >= 0);
        h_write_conf(&t->h, "doorwatch.json", buf);
        free(buf);
}

/* The MQTT test connects as every tool does (mqtt_session.h): a password or TLS file that
 * cannot be read stops it, named, before anything is sent (it used to go on without the
 * password, and without TLS), and so does a broker that is not there. */
static void test_ctl_notify_test_broker_settings(void **state)
{
        struct t *t = *state;
        char *out = NULL;

        h_start_broker(&t->h);
        h_connect(&t->h);
        write_doorwatch_mqtt(t, "\"username\": \"doorwatchd\", \"password_file\": "
                                "\"secrets/mqtt.password\"");
        assert_int_equal(run_ctl(t, &out, "notify", "test", "w-a-01", NULL), 1);
        assert_non_null(
            strstr(out, "mqtt (mqtt) to w-a-01: retry: cannot read the MQTT password ("));
        free(out);

        write_doorwatch_mqtt(t, "\"tls\": {\"ca_file\": \"secrets/ca.pem\"}");
        assert_int_equal(run_ctl(t, &out, "notify", "test", "w-a-01", NULL), 1);
        assert_non_null(strstr(out, "mqtt (mqtt) to w-a-01: retry: TLS setup: cannot read "));
        assert_non_null(strstr(out, "secrets/ca.pem: No such file or directory"));
        free(out);
        assert_int_equal(h_wait_messages(&t->h, "doorwatch/v1/workers/w-a-01/notify", 1, 500), 0);

        h_stop_broker(&t->h);
        write_doorwatch_mqtt(t, "");
        assert_int_equal(run_ctl(t, &out, "notify", "test", "w-a-01", NULL), 1);
        assert_non_null(strstr(out, "retry: cannot reach the broker 127.0.0.1:"));
        free(out);
}

/* ---- reload (SIGHUP) builds the notifiers of the new configuration ---- */

static void test_reload_rebuilds_notifiers(void **state)
{
        struct t *t = *state;
        char notifiers[512];
        double end;
        bool reloaded = false;

        snprintf(notifiers, sizeof(notifiers),
                 "\"ops\": {\"type\": \"webhook\", \"url\": \"%s/hook\"}", http_sink_url(t->sink));
        write_doorwatch(t, notifiers, "");
        start(t);
        door_event(t, "d-1-door", "e-1", h_now());
        assert_int_equal(wait_path(t, "/hook", 1, 5000), 1);

        snprintf(notifiers, sizeof(notifiers),
                 "\"ops\": {\"type\": \"webhook\", \"url\": \"%s/hook2\"},"
                 " \"ops-b\": {\"type\": \"webhook\", \"url\": \"%s/beta\","
                 " \"communities\": [\"beta\"]}",
                 http_sink_url(t->sink), http_sink_url(t->sink));
        write_doorwatch(t, notifiers, "");
        kill(t->h.daemon_pid, SIGHUP);
        for (end = mono() + 10; !reloaded && mono() < end; h_pump(&t->h, 20)) {
                char *log = log_contents(t);
                reloaded = strstr(log, "reload: configuration in force") != NULL;
                free(log);
        }
        assert_true(reloaded);
        door_event(t, "d-2-door", "e-2", h_now());
        door_event(t, "d-5-door", "e-5", h_now());
        assert_int_equal(wait_path(t, "/hook2", 2, 5000), 2);
        assert_int_equal(wait_path(t, "/beta", 1, 5000), 1);
        assert_int_equal(count_path(t, "/hook"), 1);
}

/* ---- --check-config builds every notifier ---- */

static void test_check_config_checks_notifiers_and_templates(void **state)
{
        struct t *t = *state;
        char bin[256], *out = NULL;

        snprintf(bin, sizeof(bin), "%s/doorwatchd", h_build_dir());
        const char *argv[] = { bin, "--check-config", "-c", t->h.confdir, NULL };

        write_secret(t, "wecom.url", "%s/wecom/send?key=" WECOM_KEY "\n", http_sink_url(t->sink));
        write_doorwatch(t,
                        "\"wecom-a\": {\"type\": \"wecom\", \"url_file\": \"secrets/wecom.url\"}",
                        "\"outbox\": {\"dead_after\": \"30m\", \"max_attempts\": 5},"
                        " \"monitoring_gap_after\": \"90s\"");
        assert_int_equal(h_run(&out, argv), 0);
        free(out);

        write_doorwatch(t,
                        "\"wecom-a\": {\"type\": \"wecom\", \"url_file\": \"secrets/missing.url\"},"
                        "\"ops\": {\"type\": \"webhook\", \"url\": \"http://x/\", \"colour\": 1}",
                        "\"templates\": {\"door_open_unexpected\": \"{nope}\"},"
                        " \"outbox\": {\"max_attempts\": -1}, \"monitoring_gap_after\": \"soon\"");
        assert_int_equal(h_run(&out, argv), 1);
        assert_non_null(strstr(out, "doorwatch.json: templates.door_open_unexpected: unknown "
                                    "placeholder {nope}"));
        assert_non_null(strstr(out, "doorwatch.json: outbox.max_attempts: must be between 0"));
        assert_non_null(strstr(out, "doorwatch.json: monitoring_gap_after: invalid duration"));
        free(out);

        /* Config errors stop first; with those fixed, the notifiers themselves are checked. */
        write_doorwatch(t,
                        "\"wecom-a\": {\"type\": \"wecom\", \"url_file\": \"secrets/missing.url\"},"
                        "\"ops\": {\"type\": \"webhook\", \"url\": \"http://x/\", \"colour\": 1}",
                        "");
        assert_int_equal(h_run(&out, argv), 1);
        assert_non_null(strstr(out, "doorwatch.json: notifiers.wecom-a.url_file: cannot read "
                                    "secrets/missing.url"));
        assert_non_null(strstr(out, "doorwatch.json: notifiers.ops.colour: unknown key"));
        free(out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_group_channels_exact_requests, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_rate_limit_per_minute_queues_the_third, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_rate_limit_per_second_spaces_sends, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_retries_after_500_and_timeout, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_dead_letter_raises_notification_failed, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_failing_sms_is_given_up_with_phone_masked,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_pending_outbox_survives_kill9, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_exec_argv_is_literal, setup, teardown),
                cmocka_unit_test_setup_teardown(test_monitoring_gap_over_webhook, setup, teardown),
                cmocka_unit_test_setup_teardown(test_ctl_notify_test, setup, teardown),
                cmocka_unit_test_setup_teardown(test_ctl_notify_test_broker_settings, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_reload_rebuilds_notifiers, setup, teardown),
                cmocka_unit_test_setup_teardown(test_check_config_checks_notifiers_and_templates,
                                                setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

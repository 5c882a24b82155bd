/* test-channels.c: every built-in channel end to end on the real event loop: HTTP
 * channels against a real HTTP server on 127.0.0.1 (tests/lib/http-sink), checking the
 * exact request target, headers, body and signature (recomputed here with OpenSSL from
 * the fixed clock), the robots' result codes, 5xx, 4xx, 429, a server that never
 * answers and a refused connection; exec against tests/fixtures/record-argv.sh, which
 * records its argv NUL-separated.
 *
 * The loop is driven by bounded sd_event_run() steps; nothing sleeps. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../lib/diag.h"
#include "../lib/files.h"
#include "../lib/http-sink.h"
#include "config.h"
#include "notify/notify.h"
#include "util.h"

#define NOW_USEC INT64_C(1580860800123456) /* 2020-02-05 08:00:00.123456 +08:00 */

struct fixture {
        sd_event *event;
        struct notify_context *ctx;
        struct http_sink *sink;
        int64_t now;
        char dir[64];
        char script[PATH_MAX];
};

struct done {
        int calls;
        enum notify_outcome outcome;
        int64_t retry_after_usec;
        char detail[256];
};

static void on_done(struct notifier *n, const struct notify_result *res, void *userdata)
{
        struct done *d = userdata;
        d->calls++;
        d->outcome = res->outcome;
        d->retry_after_usec = res->retry_after_usec;
        snprintf(d->detail, sizeof(d->detail), "%s", res->detail);
}

static int64_t fixed_clock(void *userdata)
{
        return *(int64_t *)userdata;
}

static void write_file(const struct fixture *f, const char *rel, const char *content)
{
        test_write_file(f->dir, rel, content);
}

static void remove_file(const struct fixture *f, const char *rel)
{
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", f->dir, rel);
        remove(path);
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        char buf[256];

        assert_non_null(realpath("tests/fixtures/record-argv.sh", f->script));
        snprintf(f->dir, sizeof(f->dir), "/tmp/doorwatch-channels-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        assert_int_equal(sd_event_new(&f->event), 0);
        assert_int_equal(notify_context_new(f->event, &f->ctx), 0);
        f->now = NOW_USEC;
        notify_context_set_clock(f->ctx, fixed_clock, &f->now);
        assert_int_equal(http_sink_start(&f->sink), 0);
        snprintf(buf, sizeof(buf), "%s/cgi-bin/webhook/send?key=K\n", http_sink_url(f->sink));
        write_file(f, "wecom.url", buf);
        snprintf(buf, sizeof(buf), "%s/robot/send?access_token=T", http_sink_url(f->sink));
        write_file(f, "ding.url", buf);
        snprintf(buf, sizeof(buf), "%s/open-apis/bot/v2/hook/H", http_sink_url(f->sink));
        write_file(f, "feishu.url", buf);
        write_file(f, "robot.secret", "SECabc\n");
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        static const char *const files[] = { "wecom.url",    "ding.url", "feishu.url",
                                             "robot.secret", "argv",     "argv.pid" };

        notify_context_free(f->ctx);
        http_sink_free(f->sink);
        sd_event_unref(f->event);
        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                remove_file(f, files[i]);
        rmdir(f->dir);
        free(f);
        return 0;
}

static struct notifier *make(struct fixture *f, const char *name, const char *json)
{
        _cleanup_json_ cJSON *j = cJSON_Parse(json);
        struct notifier_config nc = {
                .name = (char *)name,
                .type = cJSON_GetObjectItem(j, "type")->valuestring,
                .json = j,
        };
        struct config_diag d = { 0 };
        struct notifier *n = NULL;

        if (notifier_new(f->ctx, &nc, f->dir, &d, &n) != 0)
                fail_msg("%s: %s", name, d.n_errors ? d.errors[0] : "?");
        return n;
}

static void send_wait(struct fixture *f, struct notifier *n, const struct notify_message *m,
                      struct done *d)
{
        int64_t end = now_monotonic_usec() + 10 * USEC_PER_SEC;

        *d = (struct done){ 0 };
        assert_int_equal(notifier_send(n, m, on_done, d), 0);
        assert_int_equal(d->calls, 0);
        while (d->calls == 0 && now_monotonic_usec() < end)
                assert_true(sd_event_run(f->event, 50 * USEC_PER_MSEC) >= 0);
        assert_int_equal(d->calls, 1);
        assert_int_equal(notifier_n_pending(n), 0);
}

static const struct notify_recipient recipients[] = {
        { .worker = "w-chl-01", .name = "王芳", .phone = "+8613800000001", .role = "community" },
        { .worker = "w-chl-07", .name = "李医生", .phone = NULL, .role = "medical" },
        { .worker = "w-chl-12", .name = "张警官", .phone = "+8613800000012", .role = "police" },
};

#define TEXT "【居家观察告警】长虹路 12号 3栋 402 门被打开。请确认。"

static const struct notify_message msg = {
        .notification_id = "n-20200206-0031",
        .alert_id = "a-20200206-0007",
        .round = 1,
        .household = "CHL-0001",
        .community = "changhonglu",
        .address = "长虹路 12号 3栋 402",
        .kind = "door_open_unexpected",
        .severity = "high",
        .reason = "door opened with no scheduled visit, check-in, pass or doorbell hand-off",
        .text = TEXT,
        .event_id = "e-000123",
        .event_ts_usec = 1580860800250000LL,
        .raised_at_usec = 1580860800310000LL,
        .step = "team",
        .recipients = recipients,
        .n_recipients = 3,
};

static const struct http_sink_request *last_request(struct fixture *f)
{
        size_t n = http_sink_n_requests(f->sink);
        assert_true(n > 0);
        return http_sink_request(f->sink, n - 1);
}

/* base64(HMAC-SHA256(key, msg)), computed independently of the code under test. */
static void expect_b64_hmac(const char *key, const char *data, char out[64])
{
        unsigned char mac[32];
        unsigned int len = sizeof(mac);

        HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)data, strlen(data), mac,
             &len);
        EVP_EncodeBlock((unsigned char *)out, mac, (int)len);
}

static void test_wecom(void **state)
{
        struct fixture *f = *state;
        struct notifier *n = make(f, "wecom-chl",
                                  "{\"type\":\"wecom\",\"url_file\":\"wecom.url\","
                                  "\"communities\":[\"changhonglu\"]}");
        const struct http_sink_request *q;
        struct done d;

        http_sink_push(f->sink, &(struct http_sink_response){
                                    .status = 200, .body = "{\"errcode\":0,\"errmsg\":\"ok\"}" });
        send_wait(f, n, &msg, &d);
        assert_int_equal(d.outcome, NOTIFY_DELIVERED);
        assert_string_equal(d.detail, "errcode 0: ok");
        q = last_request(f);
        assert_string_equal(q->method, "POST");
        assert_string_equal(q->target, "/cgi-bin/webhook/send?key=K");
        assert_string_equal(http_sink_header(q, "Content-Type"), "application/json");
        assert_string_equal(q->body, "{\"msgtype\":\"text\",\"text\":{\"content\":\"" TEXT
                                     "\",\"mentioned_mobile_list\":[\"13800000001\","
                                     "\"13800000012\"]}}");

        /* 45009: too fast -> RATE_LIMITED, the robot is blocked for a minute. */
        http_sink_push(f->sink,
                       &(struct http_sink_response){
                           .status = 200,
                           .body = "{\"errcode\":45009,\"errmsg\":\"api freq out of limit\"}" });
        send_wait(f, n, &msg, &d);
        assert_int_equal(d.outcome, NOTIFY_RATE_LIMITED);
        assert_string_equal(d.detail, "errcode 45009: api freq out of limit");
        assert_int_equal(d.retry_after_usec, 60 * USEC_PER_SEC);
        assert_int_equal(notifier_next_slot_usec(n, f->now), f->now + 60 * USEC_PER_SEC);

        /* -1 system busy -> RETRY; 93000 invalid webhook URL -> FAILED; junk -> RETRY. */
        http_sink_push(f->sink,
                       &(struct http_sink_response){
                           .status = 200, .body = "{\"errcode\":-1,\"errmsg\":\"busy\"}" });
        send_wait(f, n, &msg, &d);
        assert_int_equal(d.outcome, NOTIFY_RETRY);
        http_sink_push(f->sink, &(struct http_sink_response){
                                    .status = 200,
                                    .body = "{\"errcode\":93000,\"errmsg\":\"invalid webhook "
                                            "url, hint: [1580860800_abc]\"}" });
        send_wait(f, n, &msg, &d);
        assert_int_equal(d.outcome, NOTIFY_FAILED);
        assert_string_equal(d.detail, "errcode 93000: invalid webhook url, hint: [15****0800_abc]");
        http_sink_push(f->sink, &(struct http_sink_response){ .status = 200, .body = "<html>" });
        send_wait(f, n, &msg, &d);
        assert_int_equal(d.outcome, NOTIFY_RETRY);
        assert_string_equal(d.detail, "HTTP 200 without a result code: <html>");
}

static void test_wecom_markdown_and_limit(void **state)
{
        struct fixture *f = *state;
        struct notifier *n = make(
            f, "md", "{\"type\":\"wecom\",\"url_file\":\"wecom.url\",\"msgtype\":\"markdown\"}");
        struct notifier *t = make(f, "tx", "{\"type\":\"wecom\",\"url_file\":\"wecom.url\"}");
        struct notify_message m = msg;
        char *long_text = malloc(9001);
        struct done d;

        http_sink_set_default(
            f->sink, &(struct http_sink_response){ .status = 200, .body = "{\"errcode\":0}" });
        send_wait(f, n, &msg, &d);
        assert_int_equal(d.outcome, NOTIFY_DELIVERED);
        assert_string_equal(last_request(f)->body,
                            "{\"msgtype\":\"markdown\",\"markdown\":{\"content\":\"" TEXT "\"}}");

        for (int i = 0; i < 3000; i++)
                memcpy(long_text + 3 * i, "门", 3);
        long_text[9000] = 0;
        m.text = long_text;
        send_wait(f, t, &m, &d);
        {
                _cleanup_json_ cJSON *j = cJSON_Parse(last_request(f)->body);
                const char *content =
                    cJSON_GetObjectItem(cJSON_GetObjectItem(j, "text"), "content")->valuestring;
                assert_true(strlen(content) <= 2048);
                assert_true(strlen(content) > 2040);
                assert_string_equal(content + strlen(content) - 3, "…");
        }
        send_wait(f, n, &m, &d);
        {
                _cleanup_json_ cJSON *j = cJSON_Parse(last_request(f)->body);
                const char *content =
                    cJSON_GetObjectItem(cJSON_GetObjectItem(j, "markdown"), "content")->valuestring;
                assert_true(strlen(content) <= 4096 && strlen(content) > 4090);
        }
        free(long_text);
}

static void test_dingtalk(void **state)
{
        struct fixture *f = *state;
        struct notifier *n = make(f, "ding",
                                  "{\"type\":\"dingtalk\",\"url_file\":\"ding.url\","
                                  "\"secret_file\":\"robot.secret\"}");
        struct notifier *plain =
            make(f, "ding2", "{\"type\":\"dingtalk\",\"url_file\":\"ding.url\"}");
        const struct http_sink_request *q;
        char b64[64], target[256], enc[128] = "", *o = enc;
        struct done d;

        http_sink_push(f->sink, &(struct http_sink_response){
                                    .status = 200, .body = "{\"errcode\":0,\"errmsg\":\"ok\"}" });
        send_wait(f, n, &msg, &d);
        assert_int_equal(d.outcome, NOTIFY_DELIVERED);
        q = last_request(f);
        /* sign = urlencode(base64(HMAC-SHA256(secret, "<ms>\n<secret>"))) */
        expect_b64_hmac("SECabc", "1580860800123\nSECabc", b64);
        for (const char *p = b64; *p; p++)
                o += *p == '+'   ? sprintf(o, "%%2B")
                     : *p == '/' ? sprintf(o, "%%2F")
                     : *p == '=' ? sprintf(o, "%%3D")
                                 : sprintf(o, "%c", *p);
        snprintf(target, sizeof(target),
                 "/robot/send?access_token=T&timestamp=1580860800123&sign=%s", enc);
        assert_string_equal(q->target, target);
        assert_string_equal(q->body, "{\"msgtype\":\"text\",\"text\":{\"content\":\"" TEXT "\"},"
                                     "\"at\":{\"atMobiles\":[\"13800000001\",\"13800000012\"],"
                                     "\"isAtAll\":false}}");
        assert_string_equal(http_sink_header(q, "Content-Type"), "application/json");

        /* Without a secret the URL is used as it is. */
        send_wait(f, plain, &msg, &d);
        assert_string_equal(last_request(f)->target, "/robot/send?access_token=T");

        /* 130101: too fast. 310000: keyword/sign check failed, permanent. */
        http_sink_push(f->sink, &(struct http_sink_response){
                                    .status = 200,
                                    .body = "{\"errcode\":130101,\"errmsg\":\"send too fast, "
                                            "exceed 20 times per minute\"}" });
        send_wait(f, n, &msg, &d);
        assert_int_equal(d.outcome, NOTIFY_RATE_LIMITED);
        assert_true(notifier_next_slot_usec(n, f->now) >= f->now + 60 * USEC_PER_SEC);
        http_sink_push(f->sink, &(struct http_sink_response){
                                    .status = 200,
                                    .body = "{\"errcode\":310000,\"errmsg\":\"sign not match\"}" });
        send_wait(f, n, &msg, &d);
        assert_int_equal(d.outcome, NOTIFY_FAILED);
        assert_string_equal(d.detail, "errcode 310000: sign not match");
}

static void test_feishu(void **state)
{
        struct fixture *f = *state;
        struct notifier *n = make(f, "fs",
                                  "{\"type\":\"feishu\",\"url_file\":\"feishu.url\","
                                  "\"secret_file\":\"robot.secret\"}");
        struct notifier *plain =
            make(f, "fs2", "{\"type\":\"feishu\",\"url_file\":\"feishu.url\"}");
        char b64[64], body[512];
        struct done d;

        http_sink_push(f->sink,
                       &(struct http_sink_response){
                           .status = 200, .body = "{\"code\":0,\"msg\":\"success\",\"data\":{}}" });
        send_wait(f, n, &msg, &d);
        assert_int_equal(d.outcome, NOTIFY_DELIVERED);
        assert_string_equal(d.detail, "code 0: success");
        /* sign = base64(HMAC-SHA256(key = "<s>\n<secret>", msg = "")) */
        expect_b64_hmac("1580860800\nSECabc", "", b64);
        snprintf(body, sizeof(body),
                 "{\"timestamp\":\"1580860800\",\"sign\":\"%s\",\"msg_type\":\"text\","
                 "\"content\":{\"text\":\"" TEXT "\"}}",
                 b64);
        assert_string_equal(last_request(f)->target, "/open-apis/bot/v2/hook/H");
        assert_string_equal(last_request(f)->body, body);

        http_sink_push(f->sink, &(struct http_sink_response){
                                    .status = 200,
                                    .body = "{\"StatusCode\":0,\"StatusMessage\":\"success\"}" });
        send_wait(f, plain, &msg, &d);
        assert_int_equal(d.outcome, NOTIFY_DELIVERED);
        assert_string_equal(last_request(f)->body,
                            "{\"msg_type\":\"text\",\"content\":{\"text\":\"" TEXT "\"}}");

        http_sink_push(
            f->sink, &(struct http_sink_response){
                         .status = 200, .body = "{\"code\":11232,\"msg\":\"frequency limited\"}" });
        send_wait(f, plain, &msg, &d);
        assert_int_equal(d.outcome, NOTIFY_RATE_LIMITED);

        /* HTTP 429 with Retry-After. */
        http_sink_push(f->sink, &(struct http_sink_response){
                                    .status = 429,
                                    .body = "{\"code\":11232}",
                                    .headers = (const char *const[]){ "Retry-After: 3", NULL } });
        send_wait(f, n, &msg, &d);
        assert_int_equal(d.outcome, NOTIFY_RATE_LIMITED);
        assert_int_equal(d.retry_after_usec, 3 * USEC_PER_SEC);

        http_sink_push(f->sink,
                       &(struct http_sink_response){
                           .status = 200, .body = "{\"code\":19021,\"msg\":\"sign match fail\"}" });
        send_wait(f, n, &msg, &d);
        assert_int_equal(d.outcome, NOTIFY_FAILED);
}

static void test_webhook(void **state)
{
        struct fixture *f = *state;
        struct notifier *signed_hook, *plain;
        const struct http_sink_request *q;
        char json[512], sig[128];
        struct notify_message m = msg;
        unsigned char mac[32];
        unsigned int len = sizeof(mac);
        _cleanup_free_ char *expect = NULL;
        struct done d;

        snprintf(json, sizeof(json),
                 "{\"type\":\"webhook\",\"url\":\"%s/doorwatch\",\"secret_file\":\"robot.secret\"}",
                 http_sink_url(f->sink));
        signed_hook = make(f, "ops", json);
        snprintf(json, sizeof(json),
                 "{\"type\":\"webhook\",\"url\":\"%s/plain\",\"timeout\":\"300ms\"}",
                 http_sink_url(f->sink));
        plain = make(f, "plain", json);

        m.text = NULL; /* rendered from the default template */
        send_wait(f, signed_hook, &m, &d);
        assert_int_equal(d.outcome, NOTIFY_DELIVERED);
        assert_string_equal(d.detail, "HTTP 200");
        q = last_request(f);
        assert_string_equal(q->target, "/doorwatch");
        m.text = "【居家观察告警】长虹路 12号 3栋 402 门被打开（无预约、登记或通行证）。时间 "
                 "2020-02-05 08:00:00。请确认：请被通知人在各自的通知中确认（告警编号 "
                 "a-20200206-0007）";
        expect = notify_message_format(&m, NOTIFY_FORMAT_ROUND);
        assert_string_equal(q->body, expect);
        assert_non_null(strstr(q->body, "\"recipients\":[{\"worker\":\"w-chl-01\",\"name\":"
                                        "\"王芳\",\"phone\":\"+8613800000001\",\"role\":"
                                        "\"community\"}"));
        HMAC(EVP_sha256(), "SECabc", 6, (const unsigned char *)q->body, q->body_len, mac, &len);
        strcpy(sig, "sha256=");
        for (unsigned i = 0; i < len; i++)
                sprintf(sig + 7 + 2 * i, "%02x", mac[i]);
        assert_string_equal(http_sink_header(q, "X-Doorwatch-Signature"), sig);
        assert_string_equal(http_sink_header(q, "Content-Type"), "application/json");

        /* Unsigned. */
        send_wait(f, plain, &msg, &d);
        assert_null(http_sink_header(last_request(f), "X-Doorwatch-Signature"));

        /* 500 -> RETRY, 404 -> FAILED, 302 -> FAILED (redirects are not followed). */
        http_sink_push(f->sink, &(struct http_sink_response){ .status = 500, .body = "oops" });
        send_wait(f, plain, &msg, &d);
        assert_int_equal(d.outcome, NOTIFY_RETRY);
        assert_string_equal(d.detail, "HTTP 500: oops");
        http_sink_push(f->sink, &(struct http_sink_response){ .status = 404 });
        send_wait(f, plain, &msg, &d);
        assert_int_equal(d.outcome, NOTIFY_FAILED);
        assert_string_equal(d.detail, "HTTP 404: ");
        http_sink_push(f->sink,
                       &(struct http_sink_response){ .status = 302,
                                                     .headers = (const char *const[]){
                                                         "Location: http://127.0.0.1:1/", NULL } });
        send_wait(f, plain, &msg, &d);
        assert_int_equal(d.outcome, NOTIFY_FAILED);

        /* A server that never answers: RETRY after the 300 ms timeout. */
        int64_t start = now_monotonic_usec();
        http_sink_push(f->sink, &(struct http_sink_response){ .status = 0 });
        send_wait(f, plain, &msg, &d);
        assert_int_equal(d.outcome, NOTIFY_RETRY);
        assert_string_equal(d.detail, "timed out");
        assert_true(now_monotonic_usec() - start < 3 * USEC_PER_SEC);
}

static void test_refused(void **state)
{
        struct fixture *f = *state;
        struct sockaddr_in sa = { .sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t slen = sizeof(sa);
        char json[256];
        struct done d;
        /* Bound, never listening: connections to its port are refused. */
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &slen), 0);
        snprintf(json, sizeof(json), "{\"type\":\"webhook\",\"url\":\"http://127.0.0.1:%u/x\"}",
                 (unsigned)ntohs(sa.sin_port));
        send_wait(f, make(f, "refused", json), &msg, &d);
        assert_int_equal(d.outcome, NOTIFY_RETRY);
        assert_non_null(strstr(d.detail, "onnect"));
        close(fd);
}

static void test_cancel_in_flight(void **state)
{
        struct fixture *f = *state;
        struct notifier *n = make(f, "w", "{\"type\":\"wecom\",\"url_file\":\"wecom.url\"}");
        struct done d = { 0 };

        http_sink_set_default(f->sink, &(struct http_sink_response){ .status = 0 });
        assert_int_equal(notifier_send(n, &msg, on_done, &d), 0);
        for (int i = 0; i < 200 && http_sink_n_requests(f->sink) == 0; i++)
                assert_true(sd_event_run(f->event, 10 * USEC_PER_MSEC) >= 0);
        assert_int_equal(http_sink_n_requests(f->sink), 1);
        f->ctx = notify_context_free(f->ctx);
        assert_int_equal(d.calls, 1);
        assert_int_equal(d.outcome, NOTIFY_RETRY);
        assert_string_equal(d.detail, "cancelled");
}

/* ---- exec ---- */

static struct notifier *make_exec(struct fixture *f, const char *mode, const char *extra)
{
        char json[PATH_MAX + 1024];
        snprintf(json, sizeof(json),
                 "{\"type\":\"exec\",\"argv\":[\"%s\",\"%s/argv\",\"%s\",\"TEXT\",\"{phone}\","
                 "\"-unicode\",\"{text}\",\"{worker}\",\"{name}\",\"{alert_id}\","
                 "\"{notification_id}\",\"{kind}\",\"to:{phone}/{name}\",\"{{phone}}\"]%s}",
                 f->script, f->dir, mode, extra);
        return make(f, mode, json);
}

static struct notify_message person(const char *text)
{
        struct notify_message m = msg;
        m.role = "police";
        m.worker = "w-chl-12";
        m.recipients = &recipients[2];
        m.n_recipients = 1;
        m.text = text;
        return m;
}

static void test_exec_argv_literal(void **state)
{
        struct fixture *f = *state;
        static const char hostile[] = "it's \"quoted\"  two  spaces $(date) `id` $HOME ${PATH} "
                                      "\\n; rm -rf / && echo * | cat > x\nsecond line\ttab";
        struct notify_message m = person(hostile);
        static const char *const expect[] = {
                "TEXT",
                "+8613800000012",
                "-unicode",
                hostile,
                "w-chl-12",
                "张警官",
                "a-20200206-0007",
                "n-20200206-0031",
                "door_open_unexpected",
                "to:+8613800000012/张警官",
                "{phone}",
        };
        _cleanup_free_ char *got = NULL;
        char path[128];
        size_t len, off = 0;
        struct done d;

        send_wait(f, make_exec(f, "ok", ""), &m, &d);
        assert_int_equal(d.outcome, NOTIFY_DELIVERED);
        assert_string_equal(d.detail, "exit status 0");
        snprintf(path, sizeof(path), "%s/argv", f->dir);
        assert_int_equal(read_file(path, 65536, &got, &len), 0);
        for (size_t i = 0; i < ELEMENTSOF(expect); i++) {
                assert_true(off < len);
                assert_string_equal(got + off, expect[i]);
                off += strlen(expect[i]) + 1;
        }
        assert_int_equal(off, len);
}

static void test_exec_text_bound_and_template(void **state)
{
        struct fixture *f = *state;
        struct notify_message m = person(NULL); /* rendered from the template */
        struct notifier *n = make_exec(f, "ok", ",\"max_text_bytes\":60");
        _cleanup_free_ char *got = NULL;
        char path[128];
        const char *text;
        size_t len;
        struct done d;

        send_wait(f, n, &m, &d);
        assert_int_equal(d.outcome, NOTIFY_DELIVERED);
        snprintf(path, sizeof(path), "%s/argv", f->dir);
        assert_int_equal(read_file(path, 65536, &got, &len), 0);
        text = got + strlen(got) + 1; /* TEXT */
        text += strlen(text) + 1;     /* phone */
        text += strlen(text) + 1;     /* -unicode */
        assert_true(strlen(text) <= 60);
        assert_true(str_startswith(text, "【居家观察告警】长虹路"));
        assert_string_equal(text + strlen(text) - 3, "…");
}

static void test_exec_failures(void **state)
{
        struct fixture *f = *state;
        struct notify_message m = person("hello");
        struct notify_message nophone = person("hello");
        struct notify_recipient r = recipients[1];
        _cleanup_free_ char *pidtext = NULL;
        char path[128], stat_path[64];
        struct done d;

        /* Non-zero exit: RETRY, with the program's complaint (phone masked). */
        send_wait(f, make_exec(f, "fail", ""), &m, &d);
        assert_int_equal(d.outcome, NOTIFY_RETRY);
        assert_string_equal(d.detail, "exit status 3: modem not ready for 138****0001 ");

        /* Timeout: the whole process group is killed, RETRY "timed out". */
        int64_t start = now_monotonic_usec();
        send_wait(f, make_exec(f, "hang", ",\"timeout\":\"300ms\""), &m, &d);
        assert_int_equal(d.outcome, NOTIFY_RETRY);
        assert_string_equal(d.detail, "timed out after 300ms");
        assert_true(now_monotonic_usec() - start < 3 * USEC_PER_SEC);
        snprintf(path, sizeof(path), "%s/argv.pid", f->dir);
        assert_int_equal(read_file(path, 64, &pidtext, NULL), 0);
        snprintf(stat_path, sizeof(stat_path), "/proc/%d/stat", atoi(pidtext));
        /* The grandchild is gone (or a zombie waiting for its reaper), never sleeping. */
        for (int i = 0;; i++) {
                char st[512] = "";
                FILE *fp = fopen(stat_path, "re"); /* /proc sizes are 0: not read_file() */
                if (fp) {
                        if (!fgets(st, sizeof(st), fp))
                                st[0] = 0;
                        fclose(fp);
                }
                if (!fp || strstr(st, ") Z "))
                        break;
                if (i == 100)
                        fail_msg("grandchild still running: %s", st);
                sd_event_run(f->event, 10 * USEC_PER_MSEC);
        }

        /* A recipient without phone cannot get an SMS: FAILED, nothing run. */
        nophone.recipients = &r;
        remove_file(f, "argv");
        send_wait(f, make_exec(f, "ok", ",\"rate_per_minute\":0"), &nophone, &d);
        assert_int_equal(d.outcome, NOTIFY_FAILED);
        assert_string_equal(d.detail, "message has no phone for {phone}");
        snprintf(path, sizeof(path), "%s/argv", f->dir);
        assert_int_equal(access(path, F_OK), -1);
}

int main(void)
{
        sigset_t mask;
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_wecom, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wecom_markdown_and_limit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dingtalk, setup, teardown),
                cmocka_unit_test_setup_teardown(test_feishu, setup, teardown),
                cmocka_unit_test_setup_teardown(test_webhook, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cancel_in_flight, setup, teardown),
                cmocka_unit_test_setup_teardown(test_exec_argv_literal, setup, teardown),
                cmocka_unit_test_setup_teardown(test_exec_text_bound_and_template, setup, teardown),
                cmocka_unit_test_setup_teardown(test_exec_failures, setup, teardown),
        };

        /* As the daemon does at the top of main(): exec's child watch needs it. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        if (timezone_set("Asia/Shanghai") < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}

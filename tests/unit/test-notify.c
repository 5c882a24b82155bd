/* test-notify.c: the notifier framework without network: configuration of every type
 * (good and bad entries, secrets, $CREDENTIALS_DIRECTORY), filters, rate limits,
 * message parse/format, text rendering, and the send contract (asynchronous callback,
 * exactly once, cancellation) through a type registered from outside, as the daemon's
 * mqtt type will be. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../lib/diag.h"
#include "../lib/files.h"
#include "config.h"
#include "notify/channel.h"
#include "notify/notify.h"
#include "util.h"

static char dir[64];

static void write_file(const char *rel, const char *content)
{
        test_write_file(dir, rel, content);
}

static int setup_dir(void **state)
{
        char path[128];

        snprintf(dir, sizeof(dir), "/tmp/doorwatch-notify-XXXXXX");
        if (!mkdtemp(dir))
                return -1;
        snprintf(path, sizeof(path), "%s/secrets", dir);
        mkdir(path, 0700);
        snprintf(path, sizeof(path), "%s/creds", dir);
        mkdir(path, 0700);
        write_file("secrets/wecom.url", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K\n");
        write_file("secrets/ding.url", "https://oapi.dingtalk.com/robot/send?access_token=T");
        write_file("secrets/ding.secret", "SECabc\n\n");
        write_file("secrets/empty", "\n");
        write_file("secrets/ftp.url", "ftp://example.com/x");
        write_file("creds/ding.secret", "SECfromcreds");
        unsetenv("CREDENTIALS_DIRECTORY");
        return timezone_set("Asia/Shanghai");
}

static int teardown_dir(void **state)
{
        static const char *const files[] = {
                "secrets/wecom.url",
                "secrets/ding.url",
                "secrets/ding.secret",
                "secrets/empty",
                "secrets/ftp.url",
                "creds/ding.secret",
                "secrets",
                "creds",
        };
        char path[256];

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
                remove(path);
        }
        rmdir(dir);
        return 0;
}

/* Builds a notifier from JSON text; returns notifier_new()'s result. */
static int make(struct notify_context *ctx, const char *name, const char *json,
                struct config_diag *d, struct notifier **ret)
{
        _cleanup_json_ cJSON *j = cJSON_Parse(json);
        const cJSON *type = cJSON_GetObjectItem(j, "type");
        struct notifier_config nc = {
                .name = (char *)name,
                .type = cJSON_IsString(type) ? type->valuestring : NULL,
                .json = j,
        };

        assert_non_null(j);
        return notifier_new(ctx, &nc, dir, d, ret);
}

static void test_config_valid(void **state)
{
        _cleanup_(notify_context_freep) struct notify_context *ctx = NULL;
        struct config_diag d = { 0 };
        struct notifier *n;
        static const struct {
                const char *name, *json, *type;
                bool group;
        } cases[] = {
                { "mqtt", "{\"type\":\"mqtt\"}", "mqtt", false },
                { "sms",
                  "{\"type\":\"exec\",\"argv\":[\"/bin/true\",\"TEXT\",\"{phone}\",\"{text}\","
                  "\"{{literal}}\"],\"timeout\":\"5s\",\"max_text_bytes\":140}",
                  "exec", false },
                { "wecom-chl",
                  "{\"type\":\"wecom\",\"url_file\":\"secrets/wecom.url\",\"communities\":"
                  "[\"changhonglu\"],\"msgtype\":\"markdown\",\"rate_per_minute\":10}",
                  "wecom", true },
                { "ding",
                  "{\"type\":\"dingtalk\",\"url_file\":\"secrets/ding.url\",\"secret_file\":"
                  "\"secrets/ding.secret\",\"kinds\":[\"tamper\",\"device_offline\"]}",
                  "dingtalk", true },
                { "fs",
                  "{\"type\":\"feishu\",\"url_file\":\"secrets/ding.url\",\"timeout\":\"300ms\"}",
                  "feishu", true },
                { "ops",
                  "{\"type\":\"webhook\",\"url\":\"http://127.0.0.1:9000/doorwatch\","
                  "\"secret_file\":null,\"kinds\":[\"*\"]}",
                  "webhook", true },
                { "ops2", "{\"type\":\"webhook\",\"url_file\":\"secrets/wecom.url\"}", "webhook",
                  true },
        };

        assert_int_equal(notify_context_new(NULL, &ctx), 0);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                int r = make(ctx, cases[i].name, cases[i].json, &d, &n);
                if (r != 0)
                        fail_msg("%s: %d %s", cases[i].name, r, d.n_errors ? d.errors[0] : "");
                assert_ptr_equal(notify_context_find(ctx, cases[i].name), n);
                assert_string_equal(notifier_name(n), cases[i].name);
                assert_string_equal(notifier_type(n), cases[i].type);
                assert_int_equal(notifier_is_group(n), cases[i].group);
        }
        assert_int_equal(d.n_errors, 0);
        /* A validation-only context cannot send. */
        assert_int_equal(
            notifier_send(notify_context_find(ctx, "ops"),
                          &(struct notify_message){ .notification_id = "n", .kind = "test" },
                          (notify_done_fn)abort, NULL),
            -ENOTCONN);
        /* Duplicate names. */
        assert_int_equal(make(ctx, "ops", "{\"type\":\"webhook\",\"url\":\"http://x/\"}", &d, NULL),
                         -EEXIST);
        assert_true(test_diag_has(&d, "notifiers.ops: defined twice"));
        test_diag_clear(&d);
}

static void test_config_errors(void **state)
{
        static const struct {
                const char *json, *error;
        } cases[] = {
                { "{\"type\":\"sms\"}", "notifiers.x.type: unknown type \"sms\"" },
                { "{\"argv\":[]}", "notifiers.x.type: missing" },
                { "{\"type\":\"mqtt\",\"qos\":1}", "notifiers.x.qos: unknown key for type mqtt" },
                { "{\"type\":\"mqtt\",\"communities\":[\"a\"]}",
                  "notifiers.x.communities: unknown key for type mqtt" },
                { "{\"type\":\"wecom\"}", "notifiers.x.url_file: missing" },
                { "{\"type\":\"wecom\",\"url\":\"https://a/\"}", "notifiers.x.url: unknown key" },
                { "{\"type\":\"wecom\",\"url_file\":\"secrets/nope\"}",
                  "notifiers.x.url_file: cannot read secrets/nope: No such file" },
                { "{\"type\":\"wecom\",\"url_file\":\"secrets/empty\"}",
                  "notifiers.x.url_file: secrets/empty is empty" },
                { "{\"type\":\"wecom\",\"url_file\":\"secrets/ftp.url\"}",
                  "notifiers.x.url_file: must be an http:// or https:// URL" },
                { "{\"type\":\"wecom\",\"url_file\":\"secrets/wecom.url\",\"msgtype\":\"news\"}",
                  "notifiers.x.msgtype: must be \"text\" or \"markdown\"" },
                { "{\"type\":\"wecom\",\"url_file\":\"secrets/wecom.url\",\"rate_per_minute\":-1}",
                  "notifiers.x.rate_per_minute: must be an integer" },
                { "{\"type\":\"wecom\",\"url_file\":\"secrets/wecom.url\",\"rate_per_minute\":1.5}",
                  "notifiers.x.rate_per_minute: must be an integer" },
                { "{\"type\":\"wecom\",\"url_file\":\"secrets/wecom.url\",\"communities\":\"chl\"}",
                  "notifiers.x.communities: must be a list of strings" },
                { "{\"type\":\"wecom\",\"url_file\":\"secrets/wecom.url\",\"kinds\":[\"door\"]}",
                  "notifiers.x.kinds: unknown kind \"door\"" },
                { "{\"type\":\"dingtalk\",\"url_file\":\"secrets/ding.url\",\"secret_file\":3}",
                  "notifiers.x.secret_file: must be a non-empty string" },
                { "{\"type\":\"feishu\",\"url_file\":\"secrets/ding.url\",\"timeout\":\"10\"}",
                  "notifiers.x.timeout: must be a positive duration" },
                { "{\"type\":\"webhook\"}", "notifiers.x: needs url or url_file" },
                { "{\"type\":\"webhook\",\"url\":\"http://a/\",\"url_file\":\"secrets/wecom.url\"}",
                  "notifiers.x.url: give either url or url_file, not both" },
                { "{\"type\":\"webhook\",\"url\":\"file:///etc/passwd\"}",
                  "notifiers.x.url: must be an http:// or https:// URL" },
                { "{\"type\":\"exec\"}", "notifiers.x.argv: missing" },
                { "{\"type\":\"exec\",\"argv\":[]}", "notifiers.x.argv: missing" },
                { "{\"type\":\"exec\",\"argv\":[\"true\"]}",
                  "notifiers.x.argv: argv[0] must be an absolute path" },
                { "{\"type\":\"exec\",\"argv\":[\"/nonexistent/gammu\"]}",
                  "notifiers.x.argv: /nonexistent/gammu: No such file" },
                { "{\"type\":\"exec\",\"argv\":[\"/bin/true\",\"{phone\"]}",
                  "notifiers.x.argv: unterminated placeholder" },
                { "{\"type\":\"exec\",\"argv\":[\"/bin/true\",\"{mobile}\"]}",
                  "notifiers.x.argv: unknown placeholder {mobile}" },
                { "{\"type\":\"exec\",\"argv\":[\"/bin/true\",5]}",
                  "notifiers.x.argv: must be a list of non-empty strings" },
                { "{\"type\":\"exec\",\"argv\":[\"/bin/true\"],\"max_text_bytes\":2}",
                  "notifiers.x.max_text_bytes: must be at least 4" },
                { "{\"type\":\"exec\",\"argv\":[\"/bin/true\"],\"url\":\"http://a/\"}",
                  "notifiers.x.url: unknown key for type exec" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_json_ cJSON *j = cJSON_Parse(cases[i].json);
                const cJSON *type = cJSON_GetObjectItem(j, "type");
                struct notifier_config nc = { .name = "x",
                                              .type = type ? type->valuestring : NULL,
                                              .json = j };
                struct config_diag d = { 0 };

                assert_int_equal(notify_check_config(&nc, dir, &d), -EINVAL);
                if (!test_diag_has(&d, cases[i].error))
                        fail_msg("case %zu: want \"%s\", got \"%s\"", i, cases[i].error,
                                 d.n_errors ? d.errors[0] : "");
                for (size_t k = 0; k < d.n_errors; k++) /* secrets are never quoted */
                        assert_null(strstr(d.errors[k], "key=K"));
                test_diag_clear(&d);
        }
}

/* A type registered under a new name whose parse reads a secret, to see which file won. */
static int probe_parse(const struct notify_parse *p, void **ret)
{
        char *secret = NULL;
        int r = notify_parse_secret(p, "secret_file", true, &secret);
        *ret = secret;
        return r;
}

static void test_credentials_directory(void **state)
{
        static const char *const keys[] = { "secret_file", NULL };
        static const struct notify_type probe = {
                .name = "probe", .keys = keys, .parse = probe_parse, .free_data = free
        };
        _cleanup_(notify_context_freep) struct notify_context *ctx = NULL;
        struct config_diag d = { 0 };
        char creds[128];
        struct notifier *n;

        assert_int_equal(notify_register_type(&probe), 0);
        assert_int_equal(notify_context_new(NULL, &ctx), 0);
        snprintf(creds, sizeof(creds), "%s/creds", dir);
        setenv("CREDENTIALS_DIRECTORY", creds, 1);
        /* $CREDENTIALS_DIRECTORY/ding.secret wins over secrets/ding.secret ... */
        assert_int_equal(
            make(ctx, "a", "{\"type\":\"probe\",\"secret_file\":\"secrets/ding.secret\"}", &d, &n),
            0);
        assert_string_equal(notifier_data(n), "SECfromcreds");
        /* ... and the configured file is used when the credential does not exist. */
        assert_int_equal(
            make(ctx, "b", "{\"type\":\"probe\",\"secret_file\":\"secrets/wecom.url\"}", &d, &n),
            0);
        assert_string_equal(notifier_data(n),
                            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K");
        unsetenv("CREDENTIALS_DIRECTORY");
        assert_int_equal(
            make(ctx, "c", "{\"type\":\"probe\",\"secret_file\":\"secrets/ding.secret\"}", &d, &n),
            0);
        assert_string_equal(notifier_data(n), "SECabc"); /* first line, whitespace stripped */
        assert_int_equal(d.n_errors, 0);
}

static void test_wants(void **state)
{
        _cleanup_(notify_context_freep) struct notify_context *ctx = NULL;
        struct config_diag d = { 0 };
        struct notifier *all, *chl, *kinds, *sms;

        assert_int_equal(notify_context_new(NULL, &ctx), 0);
        assert_int_equal(make(ctx, "all", "{\"type\":\"webhook\",\"url\":\"http://a/\"}", &d, &all),
                         0);
        assert_int_equal(make(ctx, "chl",
                              "{\"type\":\"wecom\",\"url_file\":\"secrets/wecom.url\","
                              "\"communities\":[\"changhonglu\",\"saihong\"]}",
                              &d, &chl),
                         0);
        assert_int_equal(make(ctx, "kinds",
                              "{\"type\":\"webhook\",\"url\":\"http://a/\",\"kinds\":"
                              "[\"monitoring_gap\",\"storage_failed\"]}",
                              &d, &kinds),
                         0);
        assert_int_equal(make(ctx, "sms", "{\"type\":\"exec\",\"argv\":[\"/bin/true\"]}", &d, &sms),
                         0);
        assert_true(notifier_wants(all, "tamper", "changhonglu"));
        assert_true(notifier_wants(all, "monitoring_gap", NULL));
        assert_true(notifier_wants(chl, "door_open_unexpected", "saihong"));
        assert_false(notifier_wants(chl, "door_open_unexpected", "other"));
        assert_false(notifier_wants(chl, "monitoring_gap", NULL));
        assert_true(notifier_wants(kinds, "monitoring_gap", NULL));
        assert_false(notifier_wants(kinds, "tamper", "changhonglu"));
        assert_true(notifier_wants(sms, "anything", "anywhere"));
}

static void test_rate_limits(void **state)
{
        _cleanup_(notify_context_freep) struct notify_context *ctx = NULL;
        struct config_diag d = { 0 };
        struct notifier *wecom, *feishu, *custom, *hook;
        const int64_t t0 = 1580860800 * USEC_PER_SEC;

        assert_int_equal(notify_context_new(NULL, &ctx), 0);
        assert_int_equal(
            make(ctx, "w", "{\"type\":\"wecom\",\"url_file\":\"secrets/wecom.url\"}", &d, &wecom),
            0);
        assert_int_equal(
            make(ctx, "f", "{\"type\":\"feishu\",\"url_file\":\"secrets/ding.url\"}", &d, &feishu),
            0);
        assert_int_equal(make(ctx, "c",
                              "{\"type\":\"dingtalk\",\"url_file\":\"secrets/ding.url\","
                              "\"rate_per_minute\":2,\"rate_per_second\":1}",
                              &d, &custom),
                         0);
        assert_int_equal(make(ctx, "h", "{\"type\":\"webhook\",\"url\":\"http://a/\"}", &d, &hook),
                         0);

        /* WeCom: 20 per sliding minute. */
        for (int i = 0; i < 20; i++) {
                assert_int_equal(notifier_next_slot_usec(wecom, t0 + i * USEC_PER_SEC),
                                 t0 + i * USEC_PER_SEC);
                notifier_record_send(wecom, t0 + i * USEC_PER_SEC);
        }
        assert_int_equal(notifier_next_slot_usec(wecom, t0 + 20 * USEC_PER_SEC), t0 + USEC_PER_MIN);
        notifier_record_send(wecom, t0 + USEC_PER_MIN);
        /* The first send left the window; the second is the oldest now. */
        assert_int_equal(notifier_next_slot_usec(wecom, t0 + USEC_PER_MIN),
                         t0 + USEC_PER_MIN + USEC_PER_SEC);

        /* Feishu: 5 per second, and 100 per minute. */
        for (int i = 0; i < 5; i++)
                notifier_record_send(feishu, t0 + i * 1000);
        assert_int_equal(notifier_next_slot_usec(feishu, t0 + 5000), t0 + USEC_PER_SEC);
        for (int s = 1; s < 20; s++)
                for (int i = 0; i < 5; i++)
                        notifier_record_send(feishu, t0 + s * USEC_PER_SEC + i * 1000);
        assert_int_equal(notifier_next_slot_usec(feishu, t0 + 20 * USEC_PER_SEC),
                         t0 + USEC_PER_MIN);

        /* Configured rates. */
        notifier_record_send(custom, t0);
        assert_int_equal(notifier_next_slot_usec(custom, t0), t0 + USEC_PER_SEC);
        notifier_record_send(custom, t0 + USEC_PER_SEC);
        assert_int_equal(notifier_next_slot_usec(custom, t0 + 2 * USEC_PER_SEC), t0 + USEC_PER_MIN);

        /* Unlimited. */
        for (int i = 0; i < 1000; i++)
                notifier_record_send(hook, t0);
        assert_int_equal(notifier_next_slot_usec(hook, t0), t0);
}

static const struct notify_recipient recipients[] = {
        { .worker = "w-chl-01", .name = "王芳", .phone = "+8613800000001", .role = "community" },
        { .worker = "w-chl-07", .name = "李医生", .phone = NULL, .role = "medical" },
        { .worker = "w-chl-12", .name = "张警官", .phone = "+8613800000012", .role = "police" },
};

static const struct notify_message round_msg = {
        .notification_id = "n-20200206-0031",
        .alert_id = "a-20200206-0007",
        .round = 1,
        .household = "CHL-0001",
        .community = "changhonglu",
        .address = "长虹路 12号 3栋 402",
        .kind = "door_open_unexpected",
        .severity = "high",
        .reason = "door opened with no scheduled visit, check-in, pass or doorbell hand-off",
        .event_id = "e-000123",
        .event_ts_usec = 1580860800250000LL,
        .raised_at_usec = 1580860800310000LL,
        .step = "team",
        .recipients = recipients,
        .n_recipients = 3,
};

static void test_message_formats(void **state)
{
        struct notify_message person = round_msg;
        _cleanup_free_ char *p = NULL, *r = NULL, *o = NULL, *o2 = NULL;
        _cleanup_(notify_message_freep) struct notify_message *m = NULL;
        _cleanup_(notify_message_freep) struct notify_message *m2 = NULL;

        person.role = "police";
        person.worker = "w-chl-12";
        person.ack_topic = "doorwatch/v1/workers/w-chl-12/ack";
        person.text =
            "【居家观察告警】长虹路 12号 3栋 402 门被打开（无预约、登记或通行证）。请确认。";
        person.recipients = &recipients[2];
        person.n_recipients = 1;
        p = notify_message_format(&person, NOTIFY_FORMAT_PERSON);
        /* Exactly the DESIGN.md §4 example. */
        assert_string_equal(
            p, "{\"notification_id\":\"n-20200206-0031\",\"alert_id\":\"a-20200206-0007\","
               "\"round\":1,\"household\":\"CHL-0001\",\"community\":\"changhonglu\","
               "\"address\":\"长虹路 12号 3栋 402\",\"kind\":\"door_open_unexpected\","
               "\"severity\":\"high\",\"reason\":\"door opened with no scheduled visit, "
               "check-in, pass or doorbell hand-off\",\"text\":\"【居家观察告警】长虹路 12号 "
               "3栋 402 门被打开（无预约、登记或通行证）。请确认。\",\"event_id\":\"e-000123\","
               "\"event_ts\":1580860800.25,\"raised_at\":1580860800.31,\"step\":\"team\","
               "\"role\":\"police\",\"worker\":\"w-chl-12\",\"ack_topic\":"
               "\"doorwatch/v1/workers/w-chl-12/ack\",\"ack_url\":null}");

        r = notify_message_format(&round_msg, NOTIFY_FORMAT_ROUND);
        assert_non_null(strstr(r, "\"step\":\"team\",\"ack_url\":null,\"recipients\":[{\"worker\":"
                                  "\"w-chl-01\",\"name\":\"王芳\",\"phone\":\"+8613800000001\","
                                  "\"role\":\"community\"},{\"worker\":\"w-chl-07\",\"name\":"
                                  "\"李医生\",\"phone\":null,\"role\":\"medical\"}"));
        assert_null(strstr(r, "\"worker\":null"));
        assert_null(strstr(r, "ack_topic"));

        /* Outbox round trip. */
        o = notify_message_format(&person, NOTIFY_FORMAT_OUTBOX);
        assert_int_equal(notify_message_parse(o, &m), 0);
        assert_string_equal(m->json, o);
        assert_string_equal(m->notification_id, "n-20200206-0031");
        assert_string_equal(m->address, "长虹路 12号 3栋 402");
        assert_int_equal(m->round, 1);
        assert_int_equal(m->event_ts_usec, 1580860800250000LL);
        assert_int_equal(m->raised_at_usec, 1580860800310000LL);
        assert_null(m->ack_url);
        assert_int_equal(m->n_recipients, 1);
        assert_string_equal(m->recipients[0].phone, "+8613800000012");
        assert_string_equal(m->recipients[0].name, "张警官");
        o2 = notify_message_format(m, NOTIFY_FORMAT_OUTBOX);
        assert_string_equal(o, o2);

        /* A bare §4 payload: one recipient from worker/role, no phone. */
        assert_int_equal(notify_message_parse(p, &m2), 0);
        assert_int_equal(m2->n_recipients, 1);
        assert_string_equal(m2->recipients[0].worker, "w-chl-12");
        assert_string_equal(m2->recipients[0].role, "police");
        assert_null(m2->recipients[0].phone);
}

static void test_message_parse_errors(void **state)
{
        static const char *const bad[] = {
                "",
                "[]",
                "{\"kind\":\"tamper\"}",
                "{\"notification_id\":\"n\"}",
                "{\"notification_id\":5,\"kind\":\"tamper\"}",
                "{\"notification_id\":\"n\",\"kind\":\"tamper\",\"round\":\"1\"}",
                "{\"notification_id\":\"n\",\"kind\":\"tamper\",\"event_ts\":\"x\"}",
                "{\"notification_id\":\"n\",\"kind\":\"tamper\",\"recipients\":{}}",
                "{\"notification_id\":\"n\",\"kind\":\"tamper\",\"recipients\":[{\"phone\":1}]}",
                "{\"notification_id\":\"n\",\"kind\":\"tamper\",\"x\":[[[[[[[[[1]]]]]]]]]}",
                "{\"notification_id\":\"n\",\"kind\":\"tamper\"",
        };
        struct notify_message *m = NULL;
        char *big;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (notify_message_parse(bad[i], &m) != -EBADMSG)
                        fail_msg("case %zu accepted", i);
        big = malloc(70000);
        memset(big, ' ', 69999);
        big[69999] = 0;
        memcpy(big, "{\"notification_id\":\"n\",\"kind\":\"tamper\"}", 39);
        assert_int_equal(notify_message_parse(big, &m), -EBADMSG);
        free(big);
        assert_int_equal(notify_message_parse("{\"notification_id\":\"n\",\"kind\":\"test\"}", &m),
                         0);
        assert_int_equal(m->n_recipients, 0);
        notify_message_free(m);
}

static void test_render_text(void **state)
{
        _cleanup_(templates_freep) struct templates *t = NULL;
        _cleanup_json_ cJSON *j = cJSON_Parse("{\"door_open_unexpected\":\"{name}|{worker}|{time}|"
                                              "{round}|{step}\"}");
        _cleanup_free_ char *s = NULL, *p = NULL;
        struct notify_message one = round_msg;
        struct config_diag d = { 0 };

        assert_int_equal(templates_new(j, &d, &t), 0);
        assert_int_equal(notify_render_text(t, &round_msg, 0, &s), 0);
        assert_string_equal(s, "王芳、李医生、张警官|w-chl-01,w-chl-07,w-chl-12|2020-02-05 "
                               "08:00:00|1|责任团队");
        one.recipients = NULL;
        one.n_recipients = 0;
        one.worker = "w-x";
        one.event_ts_usec = 0; /* falls back to raised_at */
        assert_int_equal(notify_render_text(t, &one, 0, &p), 0);
        assert_string_equal(p, "|w-x|2020-02-05 08:00:00|1|责任团队");
}

static void test_hmac_base64(void **state)
{
        unsigned char mac[32];
        _cleanup_free_ char *hex = NULL, *b64 = NULL, *enc = NULL;
        char buf[32];

        /* RFC-style known answer (Wikipedia HMAC example). */
        channel_hmac_sha256("key", 3, "The quick brown fox jumps over the lazy dog", 43, mac);
        hex = channel_hex(mac, sizeof(mac));
        assert_string_equal(hex,
                            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
        b64 = channel_base64((const unsigned char *)"hello?>", 7);
        assert_string_equal(b64, "aGVsbG8/Pg==");
        enc = channel_urlencode("a+b/c=d e~_.-门");
        assert_string_equal(enc, "a%2Bb%2Fc%3Dd%20e~_.-%E9%97%A8");
        assert_true(channel_mention_phone("+8613800000001", buf));
        assert_string_equal(buf, "13800000001");
        assert_true(channel_mention_phone("008613800000001", buf));
        assert_string_equal(buf, "13800000001");
        assert_true(channel_mention_phone("+14155550100", buf));
        assert_string_equal(buf, "+14155550100");
        assert_false(channel_mention_phone(NULL, buf));
        assert_false(channel_mention_phone("call me", buf));
}

/* ---- a type provided from outside, like the daemon's mqtt ---- */

struct fake {
        bool sync;
        enum notify_outcome outcome;
        int sent, cancelled;
        struct notify_op *pending;
        char last[1024];
};

static int fake_send(struct notifier *n, const struct notify_message *m, struct notify_op *op)
{
        struct fake *f = notifier_get_type(n)->userdata;
        char *json = notify_message_format(m, NOTIFY_FORMAT_PERSON);

        snprintf(f->last, sizeof(f->last), "%s", json);
        free(json);
        f->sent++;
        if (f->sync)
                notify_op_complete(op, f->outcome, 0, "published to +8613800000001");
        else {
                f->pending = op;
                notify_op_set_data(op, f);
        }
        return 0;
}

static void fake_cancel(struct notifier *n, struct notify_op *op)
{
        struct fake *f = notify_op_get_data(op);
        f->cancelled++;
        f->pending = NULL;
}

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

static void test_registered_type(void **state)
{
        static struct fake fake;
        static const char *const keys[] = { "qos", NULL };
        struct notify_type mqtt = {
                .name = "mqtt",
                .keys = keys,
                .send = fake_send,
                .cancel = fake_cancel,
                .userdata = &fake,
        };
        _cleanup_(notify_context_freep) struct notify_context *ctx = NULL;
        sd_event *e = NULL;
        struct config_diag d = { 0 };
        struct notifier *n;
        struct done d1 = { 0 }, d2 = { 0 }, d3 = { 0 };
        struct notify_message m = round_msg;
        int64_t now = 1580860800 * USEC_PER_SEC;

        m.worker = "w-chl-12";
        m.recipients = &recipients[2];
        m.n_recipients = 1;
        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(notify_context_new(e, &ctx), 0);
        notify_context_set_clock(ctx, fixed_clock, &now);

        /* Before registration the placeholder refuses "qos" and fails sends. */
        assert_int_equal(make(ctx, "old", "{\"type\":\"mqtt\"}", &d, &n), 0);
        assert_int_equal(notifier_send(n, &m, on_done, &d1), 0);
        assert_int_equal(d1.calls, 0);
        assert_true(sd_event_run(e, 0) >= 0);
        assert_int_equal(d1.calls, 1);
        assert_int_equal(d1.outcome, NOTIFY_FAILED);
        assert_string_equal(d1.detail, "type mqtt is not provided by this program");

        assert_int_equal(notify_register_type(&mqtt), 0);
        assert_ptr_equal(notify_type_find("mqtt"), &mqtt);
        assert_int_equal(make(ctx, "mqtt", "{\"type\":\"mqtt\",\"qos\":1}", &d, &n), 0);

        /* Synchronous completion: the callback still comes from the loop, once. */
        fake.sync = true;
        fake.outcome = NOTIFY_DELIVERED;
        d1 = (struct done){ 0 };
        assert_int_equal(notifier_send(n, &m, on_done, &d1), 0);
        assert_int_equal(d1.calls, 0);
        assert_int_equal(notifier_n_pending(n), 1);
        assert_non_null(strstr(fake.last, "\"worker\":\"w-chl-12\""));
        for (int i = 0; i < 3; i++)
                assert_true(sd_event_run(e, 0) >= 0);
        assert_int_equal(d1.calls, 1);
        assert_int_equal(d1.outcome, NOTIFY_DELIVERED);
        assert_string_equal(d1.detail, "published to +86138****0001"); /* masked */
        assert_int_equal(notifier_n_pending(n), 0);

        /* Rate limited: the notifier is blocked for the default minute. */
        fake.outcome = NOTIFY_RATE_LIMITED;
        d1 = (struct done){ 0 };
        assert_int_equal(notifier_send(n, &m, on_done, &d1), 0);
        assert_true(sd_event_run(e, 0) >= 0);
        assert_int_equal(d1.outcome, NOTIFY_RATE_LIMITED);
        assert_int_equal(d1.retry_after_usec, CHANNEL_RATE_LIMIT_BACKOFF_USEC);
        assert_int_equal(notifier_next_slot_usec(n, now), now + CHANNEL_RATE_LIMIT_BACKOFF_USEC);

        /* Asynchronous completion runs the callback directly. */
        fake.sync = false;
        assert_int_equal(notifier_send(n, &m, on_done, &d2), 0);
        assert_non_null(fake.pending);
        notify_op_complete(fake.pending, NOTIFY_RETRY, 5 * USEC_PER_SEC, "broker down");
        assert_int_equal(d2.calls, 1);
        assert_int_equal(d2.outcome, NOTIFY_RETRY);
        assert_int_equal(d2.retry_after_usec, 5 * USEC_PER_SEC);

        /* Missing mandatory fields: FAILED through the callback, type not called. */
        int sent = fake.sent;
        struct done d4 = { 0 };
        assert_int_equal(notifier_send(n, &(struct notify_message){ .kind = "test" }, on_done, &d4),
                         0);
        assert_true(sd_event_run(e, 0) >= 0);
        assert_int_equal(d4.outcome, NOTIFY_FAILED);
        assert_int_equal(fake.sent, sent);

        /* Freeing with a send in flight: cancel(), then RETRY "cancelled", once. */
        assert_int_equal(notifier_send(n, &m, on_done, &d3), 0);
        notifier_free(n);
        assert_int_equal(fake.cancelled, 1);
        assert_int_equal(d3.calls, 1);
        assert_int_equal(d3.outcome, NOTIFY_RETRY);
        assert_string_equal(d3.detail, "cancelled");
        assert_null(notify_context_find(ctx, "mqtt"));

        /* Restore the placeholder for other tests: register a copy named mqtt. */
        static const struct notify_type restore = { .name = "mqtt", .send = fake_send };
        assert_int_equal(notify_register_type(&restore), 0);
        ctx = notify_context_free(ctx);
        sd_event_unref(e);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_config_valid),
                cmocka_unit_test(test_config_errors),
                cmocka_unit_test(test_credentials_directory),
                cmocka_unit_test(test_wants),
                cmocka_unit_test(test_rate_limits),
                cmocka_unit_test(test_message_formats),
                cmocka_unit_test(test_message_parse_errors),
                cmocka_unit_test(test_render_text),
                cmocka_unit_test(test_hmac_base64),
                cmocka_unit_test(test_registered_type),
        };
        return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}

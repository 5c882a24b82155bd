/* test-command.c: the one command parser (command.h), table-driven: good and bad inputs of
 * every verb, the bounds of every field, the actor named by the origin or (office channels)
 * by the body, "ts" within and beyond max_clock_skew, form fields, and the channels' codes
 * and labels. Pure: a configuration on disk, the time passed in. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../lib/files.h"
#include "command.h"
#include "config.h"
#include "util.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

static char dir[64];
static struct config *cfg;

/* 2025-12-01T10:00:00+08:00 */
#define NOW_S 1764554400LL
#define NOW   (NOW_S * USEC_PER_SEC)

static int group_setup(void **state)
{
        struct config_diag diag = { 0 };
        char buf[512];

        snprintf(dir, sizeof(dir), "/tmp/doorwatch-unit-XXXXXX");
        assert_non_null(mkdtemp(dir));
        snprintf(buf, sizeof(buf),
                 "{\"timezone\": \"Asia/Shanghai\", \"database\": \"%s/doorwatch.db\","
                 " \"policy\": {\"max_clock_skew\": \"5m\"}}",
                 dir);
        test_write_file(dir, "doorwatch.json", buf);
        test_write_file(dir, "workers.json",
                        "[{\"id\": \"w-c1\", \"name\": \"王芳\", \"role\": \"community\","
                        "  \"community\": \"alpha\"},"
                        " {\"id\": \"w-m1\", \"name\": \"李医生\", \"role\": \"medical\","
                        "  \"community\": \"alpha\"},"
                        " {\"id\": \"w-p1\", \"name\": \"张警官\", \"role\": \"police\","
                        "  \"community\": \"alpha\"},"
                        " {\"id\": \"w-x1\", \"name\": \"外社区\", \"role\": \"community\","
                        "  \"community\": \"beta\"}]");
        test_write_file(
            dir, "households.json",
            "[{\"id\": \"H-1\", \"community\": \"alpha\", \"address\": \"测试路 1号\","
            "  \"observation\": {\"start\": \"2020-01-01T00:00:00+08:00\","
            "                    \"end\": \"2099-01-01T00:00:00+08:00\"},"
            "  \"team\": {\"community\": \"w-c1\", \"medical\": \"w-m1\", \"police\": \"w-p1\"},"
            "  \"devices\": []}]");
        test_write_file(dir, "rosters.json", "{\"communities\": {}}");
        if (config_load(dir, &cfg, &diag) < 0) {
                for (size_t i = 0; i < diag.n_errors; i++)
                        fprintf(stderr, "error: %s\n", diag.errors[i]);
                fail_msg("fixture configuration invalid");
        }
        config_diag_done(&diag);
        return 0;
}

static int group_teardown(void **state)
{
        static const char *const files[] = { "doorwatch.json", "workers.json", "households.json",
                                             "rosters.json" };
        char path[128];

        config_free(cfg);
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
                unlink(path);
        }
        rmdir(dir);
        return 0;
}

/* A string of n copies of c (static buffers: a table may hold 16 at a time). */
static const char *repeat(char c, size_t n)
{
        static char bufs[16][COMMAND_PAYLOAD_MAX + 2];
        static unsigned k;
        char *b = bufs[k++ % ELEMENTSOF(bufs)];

        assert_true(n < sizeof(bufs[0]));
        memset(b, c, n);
        b[n] = 0;
        return b;
}

/* ---- the table ---- */

enum origin_kind {
        MQTT_W,     /* w-c1's topic */
        MQTT_UNK,   /* an unknown worker's topic */
        API,        /* the operator API: the body names the worker */
        LINK_ALERT, /* a link naming w-c1 and alert a-9 */
        MQTT_H,     /* H-1's topic */
        MQTT_H_UNK, /* an unknown household's topic */
};

static struct command_origin origin_of(enum origin_kind k)
{
        switch (k) {
        case MQTT_W:
                return (struct command_origin){ .channel = CHANNEL_MQTT, .worker = "w-c1" };
        case MQTT_UNK:
                return (struct command_origin){ .channel = CHANNEL_MQTT, .worker = "w-zz" };
        case API:
                return (struct command_origin){ .channel = CHANNEL_OPERATOR_API };
        case LINK_ALERT:
                return (struct command_origin){ .channel = CHANNEL_HTTP_LINK,
                                                .worker = "w-c1",
                                                .alert_id = "a-9" };
        case MQTT_H:
                return (struct command_origin){ .channel = CHANNEL_MQTT, .household = "H-1" };
        case MQTT_H_UNK:
                return (struct command_origin){ .channel = CHANNEL_MQTT, .household = "H-9" };
        }
        return (struct command_origin){ 0 };
}

struct tcase {
        enum command_verb verb;
        enum origin_kind origin;
        const char *payload; /* printf format; %s is the case's arg */
        const char *arg;
        int want;          /* 0 or a COMMAND_E_* */
        const char *error; /* the exact text, for refusals */
};

#define R2 "\"from\": \"2025-12-01T14:00:00+08:00\", \"to\": \"2025-12-01T17:00:00+08:00\""

static const char *long_id(void)
{
        return repeat('a', COMMAND_ID_MAX);
}

static void run_case(const struct tcase *t, size_t i)
{
        struct command_origin o = origin_of(t->origin);
        char payload[2 * COMMAND_PAYLOAD_MAX];
        struct command cmd;
        int r;

        snprintf(payload, sizeof(payload), t->payload, t->arg ? t->arg : "");
        r = command_parse_payload(cfg, t->verb, &o, payload, strlen(payload), NOW, &cmd);
        if (r != t->want || (t->error && strcmp(cmd.error, t->error) != 0) ||
            (!t->error && r == 0 && cmd.error[0]))
                fail_msg("case %zu (%s %.60s): got %d \"%s\", want %d \"%s\"", i,
                         command_verb_to_string(t->verb), payload, r, cmd.error, t->want,
                         t->error ? t->error : "");
        assert_int_equal(cmd.verb, t->verb);
        assert_int_equal(cmd.channel, o.channel);
        if (r == 0) {
                if (command_verb_by_household(t->verb))
                        assert_string_equal(cmd.household->id, "H-1");
                else
                        assert_string_equal(cmd.worker->id, "w-c1");
        }
}

static void test_table(void **state)
{
        const struct tcase cases[] = {
                /* ack */
                { COMMAND_ACK, MQTT_W, "{\"alert_id\": \"a-1\"}" },
                { COMMAND_ACK, MQTT_W, "{\"alert_id\": \"a-1\", \"via\": \"cli\", \"x\": [1]}" },
                { COMMAND_ACK, MQTT_W, "{}", NULL, COMMAND_E_INVALID,
                  "\"alert_id\" missing or empty" },
                { COMMAND_ACK, MQTT_W, "", NULL, COMMAND_E_INVALID,
                  "\"alert_id\" missing or empty" },
                { COMMAND_ACK, MQTT_W, "{\"alert_id\": \"\"}", NULL, COMMAND_E_INVALID,
                  "\"alert_id\" missing or empty" },
                { COMMAND_ACK, MQTT_W, "{\"alert_id\": null}", NULL, COMMAND_E_INVALID,
                  "\"alert_id\" missing or empty" },
                { COMMAND_ACK, MQTT_W, "{\"alert_id\": 7}", NULL, COMMAND_E_INVALID,
                  "\"alert_id\" must be a string" },
                { COMMAND_ACK, MQTT_W, "{\"alert_id\": \"%s\"}", "a-20261201-0001" },
                { COMMAND_ACK, MQTT_UNK, "{\"alert_id\": \"a-1\"}", NULL, COMMAND_E_INVALID,
                  "unknown worker \"w-zz\"" },
                { COMMAND_ACK, MQTT_W, "[1]", NULL, COMMAND_E_MALFORMED,
                  "malformed JSON (one object expected)" },
                { COMMAND_ACK, MQTT_W, "{\"alert_id\": ", NULL, COMMAND_E_MALFORMED,
                  "malformed JSON (one object expected)" },
                { COMMAND_ACK, MQTT_W, "{\"a\": {\"b\": {\"c\": {\"d\": {}}}}}", NULL,
                  COMMAND_E_MALFORMED, "malformed JSON (one object expected)" },
                { COMMAND_ACK, MQTT_W, "{\"alert_id\": \"a-1\", \"request_id\": 5}", NULL,
                  COMMAND_E_INVALID, "\"request_id\" must be a string" },
                { COMMAND_ACK, MQTT_W, "{\"alert_id\": \"a-1\", \"ts\": \"now\"}", NULL,
                  COMMAND_E_INVALID, "\"ts\" must be Unix seconds" },
                /* the office's channels: the body names the worker */
                { COMMAND_ACK, API, "{\"worker\": \"w-c1\", \"alert_id\": \"a-1\"}" },
                { COMMAND_ACK, API, "{\"alert_id\": \"a-1\"}", NULL, COMMAND_E_INVALID,
                  "\"worker\" missing or empty" },
                { COMMAND_ACK, API, "{\"worker\": 5, \"alert_id\": \"a-1\"}", NULL,
                  COMMAND_E_INVALID, "\"worker\" must be a string" },
                { COMMAND_ACK, API, "{\"worker\": \"w-nobody\", \"alert_id\": \"a-1\"}", NULL,
                  COMMAND_E_INVALID, "unknown worker \"w-nobody\"" },
                /* a link names the worker and the alert; the body cannot change them */
                { COMMAND_ACK, LINK_ALERT, "{\"worker\": \"w-x1\", \"alert_id\": \"a-1\"}" },
                { COMMAND_ACK, LINK_ALERT, "" },
                /* resolve */
                { COMMAND_RESOLVE, MQTT_W, "{\"alert_id\": \"a-1\", \"note\": \"家属倒垃圾\"}" },
                { COMMAND_RESOLVE, MQTT_W, "{\"alert_id\": \"a-1\"}", NULL, COMMAND_E_INVALID,
                  "\"note\" missing or empty" },
                { COMMAND_RESOLVE, MQTT_W, "{\"alert_id\": \"a-1\", \"note\": \"\"}", NULL,
                  COMMAND_E_INVALID, "\"note\" missing or empty" },
                { COMMAND_RESOLVE, MQTT_W, "{\"note\": \"x\"}", NULL, COMMAND_E_INVALID,
                  "\"alert_id\" missing or empty" },
                /* check-in */
                { COMMAND_CHECKIN, MQTT_W, "{\"household\": \"H-1\"}" },
                { COMMAND_CHECKIN, MQTT_W, "{\"household\": \"H-1\", \"ts\": 1764554340.25}" },
                { COMMAND_CHECKIN, MQTT_W, "{\"household\": \"H-9\"}", NULL, COMMAND_E_INVALID,
                  "unknown household \"H-9\"" },
                { COMMAND_CHECKIN, MQTT_W, "{}", NULL, COMMAND_E_INVALID,
                  "\"household\" missing or empty" },
                { COMMAND_CHECKIN, MQTT_W, "{\"household\": [\"H-1\"]}", NULL, COMMAND_E_INVALID,
                  "\"household\" must be a string" },
                { COMMAND_CHECKIN, MQTT_UNK, "{\"household\": \"H-9\"}", NULL, COMMAND_E_INVALID,
                  "unknown worker \"w-zz\"" }, /* the actor first */
                /* pass */
                { COMMAND_PASS, MQTT_W,
                  "{\"household\": \"H-1\", " R2 ", \"reason\": \"hospital\"}" },
                { COMMAND_PASS, MQTT_W,
                  "{\"household\": \"H-1\", \"from\": 1764568800, \"to\": 1764579600.5,"
                  " \"reason\": \"hospital\"}" },
                { COMMAND_PASS, MQTT_W,
                  "{\"household\": \"H-1\", \"from\": \"tomorrow\", \"to\": 1764579600,"
                  " \"reason\": \"x\"}",
                  NULL, COMMAND_E_INVALID, "\"from\" must be an RFC 3339 time or Unix seconds" },
                { COMMAND_PASS, MQTT_W,
                  "{\"household\": \"H-1\", \"from\": 0, \"to\": 1764579600, \"reason\": \"x\"}",
                  NULL, COMMAND_E_INVALID, "\"from\" must be an RFC 3339 time or Unix seconds" },
                { COMMAND_PASS, MQTT_W,
                  "{\"household\": \"H-1\", \"from\": 1764568800, \"to\": 1e11, \"reason\": \"x\"}",
                  NULL, COMMAND_E_INVALID, "\"to\" must be an RFC 3339 time or Unix seconds" },
                { COMMAND_PASS, MQTT_W,
                  "{\"household\": \"H-1\", \"from\": 1764568800, \"reason\": \"x\"}", NULL,
                  COMMAND_E_INVALID, "\"to\" missing or empty" },
                { COMMAND_PASS, MQTT_W,
                  "{\"household\": \"H-1\", \"from\": 1764568800, \"to\": 1764568800,"
                  " \"reason\": \"x\"}",
                  NULL, COMMAND_E_INVALID, "\"from\" must be before \"to\"" },
                { COMMAND_PASS, MQTT_W, "{\"household\": \"H-1\", " R2 "}", NULL, COMMAND_E_INVALID,
                  "\"reason\" missing or empty" },
                { COMMAND_PASS, MQTT_W, "{\"household\": \"H-1\", " R2 ", \"reason\": \"%s\"}",
                  repeat('r', COMMAND_REASON_MAX) },
                { COMMAND_PASS, MQTT_W, "{\"household\": \"H-1\", " R2 ", \"reason\": \"%s\"}",
                  repeat('r', COMMAND_REASON_MAX + 1), COMMAND_E_INVALID,
                  "\"reason\" too long (at most 256 bytes)" },
                { COMMAND_PASS, API,
                  "{\"worker\": \"w-c1\", \"household\": \"H-1\", " R2 ", \"reason\": \"x\"}" },
                /* pre-report: the topic names the household */
                { COMMAND_REPORT, MQTT_H, "" },
                { COMMAND_REPORT, MQTT_H, "{\"reason\": \"garbage\", \"request_id\": \"r1\"}" },
                { COMMAND_REPORT, MQTT_H, "{\"reason\": 3}", NULL, COMMAND_E_INVALID,
                  "\"reason\" must be a string" },
                { COMMAND_REPORT, MQTT_H, "{\"reason\": \"%s\"}",
                  repeat('r', COMMAND_REASON_MAX + 1), COMMAND_E_INVALID,
                  "\"reason\" too long (at most 256 bytes)" },
                { COMMAND_REPORT, MQTT_H_UNK, "{}", NULL, COMMAND_E_INVALID,
                  "unknown household \"H-9\"" },
                { COMMAND_REPORT, MQTT_H, "{\"reason\": \"x\", \"ts\": true}", NULL,
                  COMMAND_E_INVALID, "\"ts\" must be Unix seconds" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                run_case(&cases[i], i);
}

/* Bounds that need long inputs: ids, notes, the payload itself. */
static void test_bounds(void **state)
{
        const struct tcase cases[] = {
                { COMMAND_ACK, MQTT_W, "{\"alert_id\": \"%s\"}", repeat('a', COMMAND_ID_MAX - 1) },
                { COMMAND_ACK, MQTT_W, "{\"alert_id\": \"%s\"}", long_id(), COMMAND_E_INVALID,
                  "\"alert_id\" too long (at most 127 bytes)" },
                { COMMAND_ACK, MQTT_W, "{\"alert_id\": \"a\", \"request_id\": \"%s\"}", long_id(),
                  COMMAND_E_INVALID, "\"request_id\" too long (at most 127 bytes)" },
                { COMMAND_RESOLVE, MQTT_W, "{\"alert_id\": \"a\", \"note\": \"%s\"}",
                  repeat('n', COMMAND_NOTE_MAX) },
                { COMMAND_RESOLVE, MQTT_W, "{\"alert_id\": \"a\", \"note\": \"%s\"}",
                  repeat('n', COMMAND_NOTE_MAX + 1), COMMAND_E_INVALID,
                  "\"note\" too long (at most 1024 bytes)" },
                { COMMAND_ACK, MQTT_W, "{\"alert_id\": \"a\", \"pad\": \"%s\"}",
                  repeat('p', COMMAND_PAYLOAD_MAX - 28) }, /* exactly the limit */
                { COMMAND_ACK, MQTT_W, "{\"alert_id\": \"a\", \"pad\": \"%s\"}",
                  repeat('p', COMMAND_PAYLOAD_MAX - 27), COMMAND_E_TOO_LARGE,
                  "payload too large (at most 4096 bytes)" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                run_case(&cases[i], i);
}

/* What the parser hands the engine. */
static void test_values(void **state)
{
        struct command_origin o = origin_of(LINK_ALERT);
        struct command cmd;
        const char *p;

        /* The link's alert wins over the body's; "via" does not change the channel. */
        p = "{\"alert_id\": \"a-1\", \"via\": \"cli\", \"request_id\": \"q\"}";
        assert_int_equal(command_parse_payload(cfg, COMMAND_ACK, &o, p, strlen(p), NOW, &cmd), 0);
        assert_string_equal(cmd.alert_id, "a-9");
        assert_int_equal(cmd.channel, CHANNEL_HTTP_LINK);
        assert_string_equal(cmd.request_id, "q");
        assert_int_equal(cmd.now_usec, NOW);
        assert_int_equal(cmd.at_usec, NOW);

        /* A refusal still knows the request_id, to answer it. */
        o = origin_of(MQTT_W);
        p = "{\"request_id\": \"r-7\", \"household\": \"H-9\"}";
        assert_int_equal(command_parse_payload(cfg, COMMAND_CHECKIN, &o, p, strlen(p), NOW, &cmd),
                         COMMAND_E_INVALID);
        assert_string_equal(cmd.request_id, "r-7");

        /* Pass bounds: RFC 3339 and Unix seconds give the same instants. */
        p = "{\"household\": \"H-1\", \"from\": \"2025-12-01T14:00:00+08:00\","
            " \"to\": 1764579600.5, \"reason\": \"hospital\"}";
        assert_int_equal(command_parse_payload(cfg, COMMAND_PASS, &o, p, strlen(p), NOW, &cmd), 0);
        assert_int_equal(cmd.from_usec, 1764568800LL * USEC_PER_SEC);
        assert_int_equal(cmd.to_usec, 1764579600LL * USEC_PER_SEC + 500000);
        assert_string_equal(cmd.reason, "hospital");
        assert_string_equal(cmd.household->id, "H-1");

        /* A bare pre-report has no reason. */
        o = origin_of(MQTT_H);
        assert_int_equal(command_parse_payload(cfg, COMMAND_REPORT, &o, NULL, 0, NOW, &cmd), 0);
        assert_string_equal(cmd.reason, "");
        assert_null(cmd.worker);
}

/* "ts": the command's time when within max_clock_skew (5m) of the receive time, else the
 * receive time; a "ts" that is no number is refused. */
static void test_ts_skew(void **state)
{
        static const struct {
                const char *ts;
                int64_t want;
        } cases[] = {
                { "1764554340", NOW - 60 * USEC_PER_SEC },
                { "1764554399.75", NOW - 250000 },
                { "1764554700", NOW + 5 * USEC_PER_MIN }, /* exactly the skew */
                { "1764554701", NOW },                    /* beyond it, ahead */
                { "1764553800", NOW },                    /* beyond it, behind */
                { "0", NOW },
                { "-5", NOW },
                { "1e12", NOW },
        };
        struct command_origin o = origin_of(MQTT_W);
        struct command cmd;
        char p[128];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                snprintf(p, sizeof(p), "{\"household\": \"H-1\", \"ts\": %s}", cases[i].ts);
                assert_int_equal(
                    command_parse_payload(cfg, COMMAND_CHECKIN, &o, p, strlen(p), NOW, &cmd), 0);
                if (cmd.at_usec != cases[i].want)
                        fail_msg("ts %s: at %lld, want %lld", cases[i].ts, (long long)cmd.at_usec,
                                 (long long)cases[i].want);
                assert_int_equal(cmd.now_usec, NOW);
        }
}

/* ---- form fields ---- */

struct form {
        const char *const *kv; /* key, value, ..., NULL */
};

static bool form_get(void *userdata, const char *key, char *buf, size_t size)
{
        const struct form *f = userdata;

        for (size_t i = 0; f->kv[i]; i += 2)
                if (strcmp(f->kv[i], key) == 0)
                        return (size_t)snprintf(buf, size, "%s", f->kv[i + 1]) < size;
        return false;
}

static void test_fields(void **state)
{
        struct command_origin o = { .channel = CHANNEL_WORKER_PAGE, .worker = "w-c1" };
        struct command cmd;

        /* Times and numbers come as text; the same rules apply. */
        struct form pass = { (const char *const[]){
            "household", "H-1", "from", "1764568800", "to", "2025-12-01T17:00:00+08:00", "reason",
            "hospital", "ts", "1764554340", "worker", "w-x1", NULL } };
        assert_int_equal(command_parse_fields(cfg, COMMAND_PASS, &o, form_get, &pass, NOW, &cmd),
                         0);
        assert_int_equal(cmd.from_usec, 1764568800LL * USEC_PER_SEC);
        assert_int_equal(cmd.to_usec, 1764579600LL * USEC_PER_SEC);
        assert_int_equal(cmd.at_usec, NOW - 60 * USEC_PER_SEC);
        assert_string_equal(cmd.worker->id, "w-c1"); /* the origin's, not the form's */
        assert_int_equal(cmd.channel, CHANNEL_WORKER_PAGE);

        struct form bad_ts = { (const char *const[]){ "household", "H-1", "ts", "soon", NULL } };
        assert_int_equal(
            command_parse_fields(cfg, COMMAND_CHECKIN, &o, form_get, &bad_ts, NOW, &cmd),
            COMMAND_E_INVALID);
        assert_string_equal(cmd.error, "\"ts\" must be Unix seconds");

        struct form bad_from = { (const char *const[]){ "household", "H-1", "from", "12x", "to",
                                                        "1764579600", "reason", "x", NULL } };
        assert_int_equal(
            command_parse_fields(cfg, COMMAND_PASS, &o, form_get, &bad_from, NOW, &cmd),
            COMMAND_E_INVALID);
        assert_string_equal(cmd.error, "\"from\" must be an RFC 3339 time or Unix seconds");

        struct form long_reason = { (const char *const[]){
            "reason", repeat('r', COMMAND_REASON_MAX + 1), NULL } };
        o = (struct command_origin){ .channel = CHANNEL_HTTP_LINK, .household = "H-1" };
        assert_int_equal(
            command_parse_fields(cfg, COMMAND_REPORT, &o, form_get, &long_reason, NOW, &cmd),
            COMMAND_E_INVALID);
        assert_string_equal(cmd.error, "\"reason\" too long (at most 256 bytes)");

        struct form garbage = { (const char *const[]){ "reason", "garbage", NULL } };
        assert_int_equal(
            command_parse_fields(cfg, COMMAND_REPORT, &o, form_get, &garbage, NOW, &cmd), 0);
        assert_string_equal(cmd.reason, "garbage");
        assert_string_equal(cmd.household->id, "H-1");
}

/* A medical round's reading: a temperature in °C within 34..43 (else a typing error, said
 * plainly), symptoms a list of strings, an optional note; from a form too. */
static void test_reading(void **state)
{
        const struct tcase cases[] = {
                { COMMAND_READING, MQTT_W, "{\"household\": \"H-1\", \"temperature\": 36.6}" },
                { COMMAND_READING, MQTT_W,
                  "{\"household\": \"H-1\", \"temperature\": 37, \"symptoms\": [\"cough\", "
                  "\"发热\"], \"note\": \"夜间咳嗽\"}" },
                { COMMAND_READING, MQTT_W,
                  "{\"household\": \"H-1\", \"temperature\": 36.6, \"symptoms\": null}" },
                { COMMAND_READING, MQTT_W, "{\"household\": \"H-1\", \"temperature\": 80}", NULL,
                  COMMAND_E_INVALID,
                  "\"temperature\" 80.0 °C is outside 34–43 °C: a typing error? (degrees Celsius, "
                  "e.g. 36.6)" },
                { COMMAND_READING, MQTT_W, "{\"household\": \"H-1\", \"temperature\": 33.9}", NULL,
                  COMMAND_E_INVALID,
                  "\"temperature\" 33.9 °C is outside 34–43 °C: a typing error? (degrees Celsius, "
                  "e.g. 36.6)" },
                { COMMAND_READING, MQTT_W, "{\"household\": \"H-1\", \"temperature\": 34}" },
                { COMMAND_READING, MQTT_W, "{\"household\": \"H-1\", \"temperature\": 43}" },
                { COMMAND_READING, MQTT_W, "{\"household\": \"H-1\", \"temperature\": 98.6}", NULL,
                  COMMAND_E_INVALID,
                  "\"temperature\" 98.6 °C is outside 34–43 °C: a typing error? (degrees Celsius, "
                  "e.g. 36.6)" },
                { COMMAND_READING, MQTT_W, "{\"household\": \"H-1\", \"temperature\": \"36.6\"}",
                  NULL, COMMAND_E_INVALID, "\"temperature\" must be a number" },
                { COMMAND_READING, MQTT_W, "{\"household\": \"H-1\"}", NULL, COMMAND_E_INVALID,
                  "\"temperature\" missing or empty" },
                { COMMAND_READING, MQTT_W, "{\"household\": \"H-9\", \"temperature\": 36.6}", NULL,
                  COMMAND_E_INVALID, "unknown household \"H-9\"" },
                { COMMAND_READING, MQTT_W,
                  "{\"household\": \"H-1\", \"temperature\": 36.6, \"symptoms\": \"cough\"}", NULL,
                  COMMAND_E_INVALID, "\"symptoms\" must be a list of strings" },
                { COMMAND_READING, MQTT_W,
                  "{\"household\": \"H-1\", \"temperature\": 36.6, \"symptoms\": [\"\"]}", NULL,
                  COMMAND_E_INVALID, "\"symptoms\" must be a list of non-empty strings" },
                { COMMAND_READING, MQTT_W,
                  "{\"household\": \"H-1\", \"temperature\": 36.6, \"symptoms\": "
                  "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]}",
                  NULL, COMMAND_E_INVALID, "\"symptoms\": at most 8 entries" },
                { COMMAND_READING, MQTT_W,
                  "{\"household\": \"H-1\", \"temperature\": 36.6, \"symptoms\": [\"%s\"]}",
                  repeat('s', COMMAND_SYMPTOM_MAX), COMMAND_E_INVALID,
                  "\"symptoms\": an entry is too long (at most 63 bytes)" },
                { COMMAND_READING, MQTT_W,
                  "{\"household\": \"H-1\", \"temperature\": 36.6, \"note\": \"%s\"}",
                  repeat('n', COMMAND_NOTE_MAX + 1), COMMAND_E_INVALID,
                  "\"note\" too long (at most 1024 bytes)" },
        };
        struct command_origin o = { .channel = CHANNEL_WORKER_PAGE, .worker = "w-c1" };
        struct command cmd;
        const char *p;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                run_case(&cases[i], i);

        o = origin_of(MQTT_W);
        p = "{\"household\": \"H-1\", \"temperature\": 37.4, \"symptoms\": [\"cough\"],"
            " \"note\": \"x\"}";
        assert_int_equal(command_parse_payload(cfg, COMMAND_READING, &o, p, strlen(p), NOW, &cmd),
                         0);
        assert_true(cmd.temperature > 37.39 && cmd.temperature < 37.41);
        assert_int_equal(cmd.n_symptoms, 1);
        assert_string_equal(cmd.symptoms[0], "cough");
        assert_string_equal(cmd.note, "x");
        assert_string_equal(cmd.household->id, "H-1");

        /* A form: the number as text, the symptoms one text, comma-separated. */
        o = (struct command_origin){ .channel = CHANNEL_WORKER_PAGE, .worker = "w-c1" };
        struct form form = { (const char *const[]){ "household", "H-1", "temperature", "38.2",
                                                    "symptoms", " cough, ,fatigue ", NULL } };
        assert_int_equal(command_parse_fields(cfg, COMMAND_READING, &o, form_get, &form, NOW, &cmd),
                         0);
        assert_true(cmd.temperature > 38.19 && cmd.temperature < 38.21);
        assert_int_equal(cmd.n_symptoms, 2);
        assert_string_equal(cmd.symptoms[1], "fatigue");
        struct form typo = { (const char *const[]){ "household", "H-1", "temperature", "366",
                                                    NULL } };
        assert_int_equal(command_parse_fields(cfg, COMMAND_READING, &o, form_get, &typo, NOW, &cmd),
                         COMMAND_E_INVALID);
        assert_non_null(strstr(cmd.error, "366.0 °C is outside 34–43 °C"));
        struct form words = { (const char *const[]){ "household", "H-1", "temperature", "正常",
                                                     NULL } };
        assert_int_equal(
            command_parse_fields(cfg, COMMAND_READING, &o, form_get, &words, NOW, &cmd),
            COMMAND_E_INVALID);
        assert_string_equal(cmd.error, "\"temperature\" must be a number");
}

/* ---- names ---- */

static void test_channels_and_verbs(void **state)
{
        static const char *const codes[_CHANNEL_MAX] = {
                [CHANNEL_MQTT] = "mqtt",
                [CHANNEL_CLI] = "cli",
                [CHANNEL_HTTP_LINK] = "http-link",
                [CHANNEL_OPERATOR_API] = "operator-api",
                [CHANNEL_WORKER_PAGE] = "worker-page",
                [CHANNEL_SYSTEM] = "system",
        };
        enum channel ch;
        enum command_verb v;

        for (int i = 0; i < _CHANNEL_MAX; i++) {
                assert_string_equal(channel_code((enum channel)i), codes[i]);
                assert_int_equal(channel_from_code(codes[i], &ch), 0);
                assert_int_equal(ch, i);
                /* A Chinese label for people: not the code, not ASCII. */
                assert_non_null(channel_label((enum channel)i));
                assert_true((unsigned char)channel_label((enum channel)i)[0] >= 0x80);
        }
        assert_string_equal(channel_label(CHANNEL_CLI), "命令行");
        assert_null(channel_code(_CHANNEL_MAX));
        /* The labels of the old code, and anything else, are no channel. */
        assert_int_equal(channel_from_code("http", &ch), -EINVAL);
        assert_int_equal(channel_from_code("worker topic", &ch), -EINVAL);
        assert_int_equal(channel_from_code(NULL, &ch), -EINVAL);

        for (int i = 0; i < _COMMAND_VERB_MAX; i++) {
                assert_int_equal(command_verb_from_string(command_verb_to_string(i), &v), 0);
                assert_int_equal(v, i);
                assert_int_equal(command_verb_by_household(i), i == COMMAND_REPORT);
        }
        assert_int_equal(command_verb_from_string("result", &v), -EINVAL);
        assert_int_equal(command_verb_from_string("notify", &v), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_bounds),
                cmocka_unit_test(test_values),
                cmocka_unit_test(test_ts_skew),
                cmocka_unit_test(test_fields),
                cmocka_unit_test(test_reading),
                cmocka_unit_test(test_channels_and_verbs),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

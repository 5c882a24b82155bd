/* test-jsonw.c: the JSON writer prints byte for byte what cJSON_PrintUnformatted() prints
 * for the same members: every escape, numbers at the int/double boundaries and at random,
 * nesting, NULL strings as null, growth past the caller's buffer; and its users (the rule
 * state, notification messages) print what their former cJSON versions printed. */
#include <cjson/cJSON.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "jsonw.h"
#include "notify/notify.h"
#include "rules.h"
#include "util.h"

static void expect_same_number(double d)
{
        _cleanup_json_ cJSON *o = cJSON_CreateObject();
        _cleanup_free_ char *want = NULL, *got = NULL;
        struct jsonw w;

        cJSON_AddNumberToObject(o, "n", d);
        want = cJSON_PrintUnformatted(o);
        jsonw_init(&w, NULL, 0);
        jsonw_object_begin(&w, NULL);
        jsonw_number(&w, "n", d);
        jsonw_object_end(&w);
        got = jsonw_finish(&w);
        assert_non_null(got);
        if (strcmp(want, got) != 0)
                fail_msg("%.17g: cJSON %s, jsonw %s", d, want, got);
}

static void test_numbers(void **state)
{
        static const double fixed[] = {
                0,
                -0.0,
                1,
                -1,
                0.1,
                0.5,
                1e-300,
                1e300,
                DBL_MAX,
                DBL_MIN,
                INT_MAX,
                INT_MIN,
                (double)INT_MAX + 1,
                (double)INT_MIN - 1,
                2147483647.5,
                1e15,
                1e16,
                1e17,
                1732867200.0,
                1732867200.25,
                1732867200.123456,
                1732867200123456.0,
                1732867200000000.0,
                9007199254740993.0,
                -1732867200.654321,
                NAN,
                INFINITY,
                -INFINITY,
        };
        unsigned seed = 42;

        for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
                expect_same_number(fixed[i]);
        for (int i = 0; i < 20000; i++) {
                /* Event times in microseconds and in seconds, counters, random bits. */
                int64_t usec = 1500000000000000LL + (int64_t)(rand_r(&seed)) * 1000003LL +
                               rand_r(&seed) % 1000000;
                uint64_t bits = ((uint64_t)rand_r(&seed) << 33) ^ ((uint64_t)rand_r(&seed) << 11) ^
                                (uint64_t)rand_r(&seed);
                double r;

                expect_same_number((double)usec);
                expect_same_number((double)usec / 1e6);
                expect_same_number((double)(rand_r(&seed) % 100000) - 50000);
                memcpy(&r, &bits, sizeof(r));
                expect_same_number(r);
        }
}

static void test_strings(void **state)
{
        char all[160];
        size_t n = 0;
        _cleanup_json_ cJSON *o = cJSON_CreateObject();
        _cleanup_free_ char *want = NULL, *got = NULL;
        struct jsonw w;

        for (int c = 1; c < 128; c++)
                all[n++] = (char)c;
        strcpy(all + n, "长虹路 12号 \xe2\x80\xa8 \"q\" \\");
        cJSON_AddStringToObject(o, "all", all);
        cJSON_AddStringToObject(o, "ke\"y\n", "v");
        cJSON_AddStringToObject(o, "empty", "");
        cJSON_AddNullToObject(o, "null");
        want = cJSON_PrintUnformatted(o);

        jsonw_init(&w, NULL, 0);
        jsonw_object_begin(&w, NULL);
        jsonw_string(&w, "all", all);
        jsonw_string(&w, "ke\"y\n", "v");
        jsonw_string(&w, "empty", "");
        jsonw_string(&w, "null", NULL);
        jsonw_object_end(&w);
        got = jsonw_finish(&w);
        assert_string_equal(got, want);
}

static void test_nesting(void **state)
{
        _cleanup_json_ cJSON *o = cJSON_CreateObject();
        _cleanup_free_ char *want = NULL, *got = NULL;
        char small[8];
        struct jsonw w;
        cJSON *list, *e;

        cJSON_AddStringToObject(o, "a", "x");
        cJSON_AddArrayToObject(o, "empty");
        cJSON_AddObjectToObject(o, "obj");
        list = cJSON_AddArrayToObject(o, "list");
        for (int i = 0; i < 3; i++) {
                e = cJSON_CreateObject();
                cJSON_AddNumberToObject(e, "i", i);
                cJSON_AddBoolToObject(e, "odd", i % 2);
                cJSON_AddNullToObject(e, "z");
                cJSON_AddItemToArray(list, e);
        }
        cJSON_AddBoolToObject(o, "t", true);
        want = cJSON_PrintUnformatted(o);

        /* Starts in an 8-byte buffer: the text moves to the heap on the way. */
        jsonw_init(&w, small, sizeof(small));
        jsonw_object_begin(&w, NULL);
        jsonw_string(&w, "a", "x");
        jsonw_array_begin(&w, "empty");
        jsonw_array_end(&w);
        jsonw_object_begin(&w, "obj");
        jsonw_object_end(&w);
        jsonw_array_begin(&w, "list");
        for (int i = 0; i < 3; i++) {
                jsonw_object_begin(&w, NULL);
                jsonw_number(&w, "i", i);
                jsonw_bool(&w, "odd", i % 2);
                jsonw_null(&w, "z");
                jsonw_object_end(&w);
        }
        jsonw_array_end(&w);
        jsonw_bool(&w, "t", true);
        jsonw_object_end(&w);
        assert_string_equal(jsonw_text(&w), want);
        got = jsonw_finish(&w);
        assert_string_equal(got, want);
}

static void test_stack_buffer(void **state)
{
        char buf[64];
        struct jsonw w;

        jsonw_init(&w, buf, sizeof(buf));
        jsonw_object_begin(&w, NULL);
        jsonw_number(&w, "n", 7);
        jsonw_object_end(&w);
        assert_ptr_equal(jsonw_text(&w), buf);
        assert_string_equal(buf, "{\"n\":7}");
        jsonw_done(&w);
}

/* Exact integers and microsecond instants as seconds. */
static void test_int_and_seconds(void **state)
{
        static const struct {
                int64_t usec;
                const char *text;
        } secs[] = {
                { 0, "0" },
                { 1, "0.000001" },
                { 1580860800250000, "1580860800.25" },
                { 1732867200123456, "1732867200.123456" },
                { 1732867200000000, "1732867200" },
                { 1732867200000010, "1732867200.00001" },
                { -1500000, "-1.5" },
                { INT64_MAX, "9223372036854.775807" },
        };
        char buf[64], want[96];
        struct jsonw w;

        for (size_t i = 0; i < ELEMENTSOF(secs); i++) {
                jsonw_init(&w, buf, sizeof(buf));
                jsonw_object_begin(&w, NULL);
                jsonw_seconds(&w, "t", secs[i].usec);
                jsonw_object_end(&w);
                snprintf(want, sizeof(want), "{\"t\":%s}", secs[i].text);
                assert_string_equal(jsonw_text(&w), want);
                jsonw_done(&w);
        }
        jsonw_init(&w, buf, sizeof(buf));
        jsonw_array_begin(&w, NULL);
        jsonw_int(&w, NULL, 1732867200123457);
        jsonw_int(&w, NULL, INT64_MIN);
        jsonw_int(&w, NULL, 0);
        jsonw_array_end(&w);
        assert_string_equal(jsonw_text(&w), "[1732867200123457,-9223372036854775808,0]");
        jsonw_done(&w);
}

/* ---- users ---- */

/* The rule state's members as a cJSON tree, built independently of rules_state_format(). */
static cJSON *ref_rules_state(const struct household_state *st)
{
        static const char *const openings[] = { "none",    "ignored", "expected",
                                                "handoff", "alerted", "held" };
        cJSON *j = cJSON_CreateObject();

        cJSON_AddStringToObject(j, "door", door_state_to_string(st->door));
        cJSON_AddNumberToObject(j, "door_changed_usec", (double)st->door_changed_usec);
        cJSON_AddStringToObject(j, "opening", openings[st->opening]);
        cJSON_AddNumberToObject(j, "opening_usec", (double)st->opening_usec);
        cJSON_AddBoolToObject(j, "settling", st->settling);
        cJSON_AddStringToObject(j, "open_event", rules_open_event(st));
        cJSON_AddStringToObject(j, "handoff_fallback", alert_kind_to_string(st->handoff_fallback));
        cJSON_AddNumberToObject(j, "handoff_report", st->handoff_report);
        cJSON_AddBoolToObject(j, "held_alerted", st->held_alerted);
        cJSON_AddNumberToObject(j, "last_ring_usec", (double)st->last_ring_usec);
        cJSON_AddNumberToObject(j, "unexpected_open_usec", (double)st->unexpected_open_usec);
        cJSON_AddNumberToObject(j, "person_out_usec", (double)st->person_out_usec);
        cJSON_AddNumberToObject(j, "checkin_usec", (double)st->checkin_usec);
        cJSON_AddStringToObject(j, "checkin_worker", rules_checkin_worker(st));
        cJSON_AddNumberToObject(j, "report_usec", (double)st->report_usec);
        cJSON_AddStringToObject(j, "report_reason", rules_report_reason(st));
        cJSON_AddNumberToObject(j, "report_number", st->report_number);
        cJSON_AddNumberToObject(j, "report_day", st->report_day);
        cJSON_AddNumberToObject(j, "reports_today", st->reports_today);
        cJSON_AddNumberToObject(j, "clock_offset_usec", (double)st->clock_offset_usec);
        cJSON_AddNumberToObject(j, "rounds_usec", (double)st->rounds_usec);
        cJSON_AddNumberToObject(j, "reading_usec", (double)st->reading_usec);
        return j;
}

static void test_rules_state(void **state)
{
        static const char *const texts[] = { "", "e-000123", "快递 \"box\"\n\\", "w-chl-01" };
        unsigned seed = 7;

        for (int i = 0; i < 2000; i++) {
                struct household_state st = { 0 }, back = { 0 };
                cJSON *j, *got;
                struct jsonw w;
                char buf[64];

                st.door = (enum door_state)(rand_r(&seed) % 3);
                st.door_changed_usec = i % 3 ? 1732867200000000LL + rand_r(&seed) : 0;
                st.opening = (enum rules_opening)(rand_r(&seed) % 6);
                st.opening_usec = i % 4 ? 1732867200000000LL + rand_r(&seed) : 0;
                st.settling = rand_r(&seed) % 2;
                rules_set_open_event(&st, texts[rand_r(&seed) % 4]);
                st.handoff_fallback = (enum alert_kind)(rand_r(&seed) % _ALERT_KIND_MAX);
                st.handoff_report = rand_r(&seed) % 4;
                st.held_alerted = rand_r(&seed) % 2;
                st.last_ring_usec = i % 5 ? 1732867200000000LL + 10LL * rand_r(&seed) : 0;
                st.unexpected_open_usec = 1732867200000000LL + rand_r(&seed);
                st.person_out_usec = i % 7 ? 0 : 1732867200000000LL;
                st.checkin_usec = rand_r(&seed);
                rules_set_checkin_worker(&st, texts[rand_r(&seed) % 4]);
                st.report_usec = -(int64_t)rand_r(&seed);
                rules_set_report_reason(&st, texts[rand_r(&seed) % 4]);
                st.report_number = rand_r(&seed) % 10;
                st.report_day = 20200206 + i;
                st.reports_today = i % 4;
                st.clock_offset_usec = (int64_t)(rand_r(&seed) % 2000000) - 1000000;
                st.rounds_usec = i % 2 ? 1732867200000000LL + rand_r(&seed) : 0;
                st.reading_usec = i % 3 ? 0 : 1732867200000000LL - rand_r(&seed);

                /* The same members and values as the reference tree, and the instants read
                 * back exactly (the loader normalises inconsistent random states, so
                 * only the numbers are compared). */
                j = ref_rules_state(&st);
                jsonw_init(&w, buf, sizeof(buf));
                rules_state_format(&st, &w);
                got = cJSON_Parse(jsonw_text(&w));
                assert_non_null(got);
                assert_true(cJSON_Compare(got, j, true));
                rules_state_from_json(&back, got);
                assert_int_equal(back.door_changed_usec, st.door_changed_usec);
                assert_int_equal(back.opening_usec, st.opening_usec);
                assert_int_equal(back.last_ring_usec, st.last_ring_usec);
                assert_int_equal(back.unexpected_open_usec, st.unexpected_open_usec);
                assert_int_equal(back.person_out_usec, st.person_out_usec);
                assert_int_equal(back.checkin_usec, st.checkin_usec);
                assert_int_equal(back.report_usec, st.report_usec);
                assert_int_equal(back.report_day, st.report_day);
                assert_int_equal(back.clock_offset_usec, st.clock_offset_usec);
                jsonw_done(&w);
                cJSON_Delete(got);
                cJSON_Delete(j);
                rules_state_done(&back);
                rules_state_done(&st);
        }
}

/* notify_message_format() as it was written with cJSON. */
static void ref_str(cJSON *o, const char *key, const char *v)
{
        if (v)
                cJSON_AddStringToObject(o, key, v);
        else
                cJSON_AddNullToObject(o, key);
}

/* Times are written exactly, with six decimals at most and no trailing zeros. */
static void ref_time(cJSON *o, const char *key, int64_t usec)
{
        char buf[40];
        size_t n;

        if (usec <= 0) {
                cJSON_AddNullToObject(o, key);
                return;
        }
        n = (size_t)snprintf(buf, sizeof(buf), "%lld.%06lld", (long long)(usec / 1000000),
                             (long long)(usec % 1000000));
        while (buf[n - 1] == '0')
                buf[--n] = 0;
        if (buf[n - 1] == '.')
                buf[--n] = 0;
        cJSON_AddRawToObject(o, key, buf);
}

static char *ref_format(const struct notify_message *m, enum notify_format f)
{
        _cleanup_json_ cJSON *o = cJSON_CreateObject();

        ref_str(o, "notification_id", m->notification_id);
        ref_str(o, "alert_id", m->alert_id);
        cJSON_AddNumberToObject(o, "round", m->round);
        ref_str(o, "household", m->household);
        ref_str(o, "community", m->community);
        ref_str(o, "address", m->address);
        ref_str(o, "kind", m->kind);
        ref_str(o, "severity", m->severity);
        ref_str(o, "reason", m->reason);
        ref_str(o, "text", m->text);
        ref_str(o, "event_id", m->event_id);
        ref_time(o, "event_ts", m->event_ts_usec);
        ref_time(o, "raised_at", m->raised_at_usec);
        ref_str(o, "step", m->step);
        if (f != NOTIFY_FORMAT_ROUND) {
                ref_str(o, "role", m->role);
                ref_str(o, "worker", m->worker);
                ref_str(o, "ack_topic", m->ack_topic);
        }
        ref_str(o, "ack_url", m->ack_url);
        if (f == NOTIFY_FORMAT_OUTBOX) {
                ref_str(o, "acked_by", m->acked_by);
                cJSON_AddNumberToObject(o, "count", m->count);
        } else if (m->acked_by)
                ref_str(o, "acked_by", m->acked_by);
        if (m->reminder > 0)
                cJSON_AddNumberToObject(o, "reminder", m->reminder);
        if (m->acked_by_name)
                ref_str(o, "acked_by_name", m->acked_by_name);
        if (m->acked_at_usec > 0)
                ref_time(o, "acked_at", m->acked_at_usec);
        if (m->ack_channel)
                ref_str(o, "channel", m->ack_channel);
        if (m->alert_kind)
                ref_str(o, "alert_kind", m->alert_kind);
        if (f != NOTIFY_FORMAT_PERSON) {
                cJSON *list = cJSON_AddArrayToObject(o, "recipients");
                for (size_t i = 0; list && i < m->n_recipients; i++) {
                        const struct notify_recipient *r = &m->recipients[i];
                        cJSON *e = cJSON_CreateObject();
                        ref_str(e, "worker", r->worker);
                        ref_str(e, "name", r->name);
                        ref_str(e, "phone", r->phone);
                        ref_str(e, "role", r->role);
                        cJSON_AddItemToArray(list, e);
                }
        }
        return cJSON_PrintUnformatted(o);
}

static void test_notify_format(void **state)
{
        const struct notify_recipient rs[] = {
                { .worker = "w-chl-12",
                  .name = "王芳",
                  .phone = "+8613800000001",
                  .role = "police" },
                { .worker = "w-chl-00", .name = NULL, .phone = NULL, .role = "leader" },
        };
        struct notify_message m = {
                .notification_id = "n-20200206-0031",
                .alert_id = "a-20200206-0007",
                .round = 1,
                .household = "CHL-0001",
                .community = "changhonglu",
                .address = "长虹路 12号 3栋 402",
                .kind = "door_open_unexpected",
                .severity = "high",
                .reason = "door opened with no \"scheduled\" visit",
                .text = "【居家观察告警】长虹路 12号 3栋 402 门被打开\n请确认。",
                .event_id = "e-000123",
                .event_ts_usec = 1580860800250000,
                .raised_at_usec = 1580860800310000,
                .step = "team",
                .role = "police",
                .worker = "w-chl-12",
                .ack_topic = "doorwatch/v1/workers/w-chl-12/ack",
                .recipients = rs,
                .n_recipients = 2,
        };
        static const enum notify_format formats[] = { NOTIFY_FORMAT_PERSON, NOTIFY_FORMAT_ROUND,
                                                      NOTIFY_FORMAT_OUTBOX };
        unsigned seed = 3;

        for (int i = 0; i < 300; i++) {
                for (size_t f = 0; f < ELEMENTSOF(formats); f++) {
                        _cleanup_free_ char *want = ref_format(&m, formats[f]);
                        _cleanup_free_ char *got = notify_message_format(&m, formats[f]);
                        assert_non_null(got);
                        assert_string_equal(got, want);
                }
                /* Vary what is set between rounds. */
                m.event_ts_usec = i % 4 ? 1732867200000000LL + rand_r(&seed) : 0;
                m.raised_at_usec = 1732867200000000LL + 10LL * rand_r(&seed);
                m.round = i % 3 + 1;
                m.reminder = i % 5 == 0 ? i : 0;
                m.acked_by = i % 2 ? "w-chl-01" : NULL;
                m.acked_by_name = i % 3 ? NULL : "李四";
                m.acked_at_usec = i % 3 ? 0 : 1732867200123456LL;
                m.ack_channel = i % 6 ? NULL : "worker topic";
                m.alert_kind = i % 7 ? NULL : "door_open_unexpected";
                m.count = (unsigned)i;
                m.text = i % 2 ? NULL : m.text;
                m.n_recipients = (size_t)(i % 3);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_numbers),         cmocka_unit_test(test_strings),
                cmocka_unit_test(test_nesting),         cmocka_unit_test(test_stack_buffer),
                cmocka_unit_test(test_rules_state),     cmocka_unit_test(test_notify_format),
                cmocka_unit_test(test_int_and_seconds),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

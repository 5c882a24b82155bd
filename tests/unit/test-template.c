/* test-template.c: default texts, overrides and their validation, bounded rendering. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../lib/diag.h"
#include "config.h"
#include "notify/template.h"
#include "util.h"

static const struct template_vars vars = {
        .household = "CHL-0001",
        .address = "长虹路 12号 3栋 402",
        .kind = "door_open_unexpected",
        .severity = "high",
        .step = "team",
        .worker = "w-chl-12",
        .name = "王芳",
        .ack_url = "https://dw.example/a/x",
        .acked_by = "李强",
        .channel = "网页链接",
        .time_usec = 1580860800250000LL, /* 2020-02-05 08:00:00 +08:00 */
        .round = 2,
        .count = 3,
};

static int setup_tz(void **state)
{
        return timezone_set("Asia/Shanghai") == 0 ? 0 : -1;
}

static void test_defaults(void **state)
{
        _cleanup_(templates_freep) struct templates *t = NULL;
        _cleanup_free_ char *s = NULL, *a = NULL, *n = NULL;
        struct template_vars v = vars;
        struct config_diag d = { 0 };
        static const char *const all[] = {

                "door_open_unexpected",
                "person_left",
                "door_held_open",
                "too_many_openings",
                "pass_overdue",
                "tamper",
                "device_offline",
                "battery_low",
                "monitoring_gap",
                "monitoring_restored",
                "notification_failed",
                "storage_failed",
                "observation_ended",
                "ack_notice",
                "test",
                "round_missed",
                "fever",
                "resolved_notice",
                "storage_restored",
        };

        assert_int_equal(templates_new(NULL, &d, &t), 0);
        assert_int_equal(template_render(t, "door_open_unexpected", &v, 0, &s), 0);
        assert_string_equal(s,
                            "【居家观察告警】长虹路 12号 3栋 402 门被打开（无预约、登记或通行证）。"
                            "时间 2020-02-05 08:00:00。请确认：点击 https://dw.example/a/x 确认");
        /* Without a link, {ack} says what this recipient can do instead: their own page,
         * else a reply on their ack topic; a group round, that each confirms for themself. */
        v.ack_url = NULL;
        v.page_url = "https://dw.example/w/t";
        v.ack_topic = "doorwatch/v1/workers/w-1/ack";
        v.alert_id = "a-20200205-0001";
        assert_int_equal(template_render(t, "door_open_unexpected", &v, 0, &n), 0);
        assert_non_null(strstr(n, "请确认：打开个人页面 https://dw.example/w/t 确认"));
        free(n);
        v.page_url = NULL;
        assert_int_equal(template_render(t, "door_open_unexpected", &v, 0, &n), 0);
        assert_non_null(strstr(
            n, "请确认：回复告警编号 a-20200205-0001 至确认主题 doorwatch/v1/workers/w-1/ack"));
        free(n);
        v.ack_topic = NULL;
        assert_int_equal(template_render(t, "door_open_unexpected", &v, 0, &n), 0);
        assert_non_null(
            strstr(n, "请确认：请被通知人在各自的通知中确认（告警编号 a-20200205-0001）"));
        assert_null(strstr(n, "App"));
        assert_int_equal(template_render(t, "ack_notice", &v, 0, &a), 0);
        assert_string_equal(a, "【居家观察】长虹路 12号 3栋 402 的告警已由 李强 确认（网页链接）。"
                               "时间 2020-02-05 08:00:00。");
        {
                _cleanup_free_ char *r = NULL;
                v.alert_kind = "pass_overdue";
                v.note = "14:05 已见返回开门";
                assert_int_equal(template_render(t, "resolved_notice", &v, 0, &r), 0);
                assert_string_equal(r, "【居家观察】长虹路 12号 3栋 402 的“通行证逾期未归”告警已由"
                                       "系统解除：14:05 已见返回开门。时间 2020-02-05 08:00:00。");
        }
        for (size_t i = 0; i < ELEMENTSOF(all); i++) {
                char *x = NULL;
                assert_true(template_kind_known(all[i]));
                assert_int_equal(template_render(t, all[i], &v, 0, &x), 0);
                assert_true(strlen(x) > 10);
                assert_null(strchr(x, '{'));
                free(x);
        }
        assert_false(template_kind_known("door_opened"));
        char *x = NULL;
        assert_int_equal(template_render(t, "door_opened", &v, 0, &x), TEMPLATE_E_UNKNOWN_KIND);
        assert_int_equal(d.n_errors, 0);
}

static void test_overrides(void **state)
{
        _cleanup_(templates_freep) struct templates *t = NULL;
        _cleanup_json_ cJSON *j = cJSON_Parse(
            "{\"tamper\":\"{{{kind}}} {severity}/{step} r{round} x{count} {worker} {name} "
            "{household} {ack_url} {time}\",\"test\":\"plain }\",\"ack_notice\":\"经{channel}\"}");
        _cleanup_free_ char *s = NULL, *u = NULL, *o = NULL, *c = NULL;
        struct config_diag d = { 0 };

        assert_int_equal(templates_new(j, &d, &t), 0);
        assert_int_equal(template_render(t, "tamper", &vars, 0, &s), 0);
        assert_string_equal(s, "{门异常打开} 高/责任团队 r2 x3 w-chl-12 王芳 CHL-0001 "
                               "https://dw.example/a/x 2020-02-05 08:00:00");
        assert_int_equal(template_render(t, "test", &vars, 0, &u), 0);
        assert_string_equal(u, "plain }");
        assert_int_equal(template_render(t, "ack_notice", &vars, 0, &c), 0);
        assert_string_equal(c, "经网页链接");
        /* Kinds not overridden keep their default. */
        assert_int_equal(template_render(t, "battery_low", &vars, 0, &o), 0);
        assert_non_null(strstr(o, "电量低"));
        assert_int_equal(d.n_errors, 0);
}

static void test_invalid_overrides(void **state)
{
        static const struct {
                const char *json;
                const char *error;
        } cases[] = {
                { "{\"door_opened\":\"x\"}",
                  "doorwatch.json: templates.door_opened: unknown kind" },
                { "{\"tamper\":\"{adress}\"}", "templates.tamper: unknown placeholder {adress}" },
                { "{\"tamper\":\"{address\"}", "templates.tamper: unterminated placeholder" },
                { "{\"tamper\":3}", "templates.tamper: must be a string" },
                { "{\"tamper\":\"\\u00ff\\u00fe\"}", NULL }, /* valid UTF-8 after JSON decoding */
                { "[\"tamper\"]", "doorwatch.json: templates: must be an object" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_json_ cJSON *j = cJSON_Parse(cases[i].json);
                struct templates *t = NULL;
                struct config_diag d = { 0 };
                int r;

                assert_non_null(j);
                /* The check alone (what the config loader calls) reports the same. */
                assert_int_equal(templates_check(j, &d), cases[i].error == NULL);
                if (cases[i].error && !test_diag_has(&d, cases[i].error))
                        fail_msg("case %zu: check got \"%s\"", i, d.n_errors ? d.errors[0] : "");
                test_diag_clear(&d);
                r = templates_new(j, &d, &t);
                if (!cases[i].error) {
                        assert_int_equal(r, 0);
                        templates_free(t);
                        continue;
                }
                assert_int_equal(r, -EINVAL);
                assert_null(t);
                if (!test_diag_has(&d, cases[i].error))
                        fail_msg("case %zu: got \"%s\"", i, d.n_errors ? d.errors[0] : "");
                test_diag_clear(&d);
        }

        /* Raw invalid UTF-8 and oversized templates. */
        {
                _cleanup_json_ cJSON *j = cJSON_CreateObject();
                char big[TEMPLATE_MAX_SOURCE + 2];
                struct templates *t = NULL;
                struct config_diag d = { 0 };

                cJSON_AddStringToObject(j, "test", "bad \xff byte");
                memset(big, 'a', sizeof(big) - 1);
                big[sizeof(big) - 1] = 0;
                cJSON_AddStringToObject(j, "tamper", big);
                assert_false(templates_check(j, NULL));
                assert_int_equal(templates_new(j, &d, &t), -EINVAL);
                assert_true(test_diag_has(&d, "templates.test: template is not valid UTF-8"));
                assert_true(test_diag_has(&d, "templates.tamper: template longer than"));
                test_diag_clear(&d);
        }
}

static void test_truncate(void **state)
{
        char s[64];

        /* Fits: unchanged. */
        strcpy(s, "abc");
        assert_int_equal(template_truncate(s, 3), 3);
        assert_string_equal(s, "abc");
        /* ASCII: cut + "…" (3 bytes). */
        strcpy(s, "abcdefgh");
        assert_int_equal(template_truncate(s, 7), 7);
        assert_string_equal(s, "abcd…");
        /* Never inside a character: "门被打开" is 4 x 3 bytes. */
        for (size_t max = 4; max <= 12; max++) {
                strcpy(s, "门被打开");
                size_t n = template_truncate(s, max);
                assert_true(n <= max);
                assert_int_equal(strlen(s), n);
                if (max < 12) {
                        assert_int_equal((n - 3) % 3, 0);
                        assert_string_equal(s + n - 3, "…");
                }
        }
        strcpy(s, "门被");
        assert_int_equal(template_truncate(s, 2), 0); /* too small for one char or "…" */
        assert_string_equal(s, "");
}

static void test_render_bounded(void **state)
{
        _cleanup_(templates_freep) struct templates *t = NULL;
        struct config_diag d = { 0 };
        struct template_vars v = vars;
        char longaddr[2048];
        const size_t limits[] = { TEMPLATE_MAX_SMS, 100, 5, 4 };

        for (size_t i = 0; i + 3 < sizeof(longaddr); i += 3)
                memcpy(longaddr + i, "楼", 3);
        longaddr[sizeof(longaddr) - 3] = 0;
        longaddr[(sizeof(longaddr) - 3) / 3 * 3] = 0;
        v.address = longaddr;
        assert_int_equal(templates_new(NULL, &d, &t), 0);
        for (size_t i = 0; i < ELEMENTSOF(limits); i++) {
                _cleanup_free_ char *s = NULL;
                assert_int_equal(template_render(t, "door_open_unexpected", &v, limits[i], &s), 0);
                assert_true(strlen(s) <= limits[i]);
                assert_string_equal(s + strlen(s) - 3, "…");
                if (limits[i] >= 100)
                        assert_true(str_startswith(s, "【居家观察告警】楼楼"));
                else
                        assert_string_equal(s, "…");
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),          cmocka_unit_test(test_overrides),
                cmocka_unit_test(test_invalid_overrides), cmocka_unit_test(test_truncate),
                cmocka_unit_test(test_render_bounded),
        };
        return cmocka_run_group_tests(tests, setup_tz, NULL);
}

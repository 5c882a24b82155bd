/* test-report.c: the daily report's figures from rows chosen to sit on every boundary
 * (windows starting and ending at midnight, openings at 23:59:59 and 00:00, an ack after
 * the day's end, an alert resolved within the day), each figure checked exactly, for all
 * communities and for one; and its text, CSV and HTML forms (self-contained, escaped). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "report.h"
#include "rules.h"
#include "util.h"

static struct config *cfg;

static int setup(void **state)
{
        struct config_diag d = { 0 };

        timezone_set("Asia/Shanghai");
        assert_int_equal(config_load("conf", &cfg, &d), 0);
        config_diag_done(&d);
        return 0;
}

static int teardown(void **state)
{
        config_free(cfg);
        return 0;
}

static int64_t at(const char *local) /* "2026-12-01 14:10:00" in +08:00 */
{
        char buf[40];
        int64_t t;

        snprintf(buf, sizeof(buf), "%.10sT%s+08:00", local, local + 11);
        assert_int_equal(parse_rfc3339(buf, &t), 0);
        return t;
}

#define MIN_ INT64_C(60000000)

static void feed(struct report *r)
{
        /* Households: H1 all day; H2 from 00:00; H3 until 00:00; H4 within the day; H5 from
         * the next midnight; H6 ended before. */
        report_add_household(r, "yunjinlu", at("2026-11-20 00:00:00"), at("2026-12-04 00:00:00"));
        report_add_household(r, "yunjinlu", at("2026-12-01 00:00:00"), at("2026-12-15 00:00:00"));
        report_add_household(r, "taohuawu", at("2026-11-20 00:00:00"), at("2026-12-01 00:00:00"));
        report_add_household(r, "taohuawu", at("2026-12-01 10:00:00"), at("2026-12-01 20:00:00"));
        report_add_household(r, "liuyingli", at("2026-12-02 00:00:00"), at("2026-12-16 00:00:00"));
        report_add_household(r, "liuyingli", at("2026-11-16 00:00:00"), at("2026-11-30 00:00:00"));

        report_add_openings(r, "yunjinlu", at("2026-12-01 09:05:00"), REPORT_EXPECTED, "schedule",
                            3);
        report_add_openings(r, "yunjinlu", at("2026-12-01 14:10:00"), REPORT_ALERT, "unexpected",
                            1);
        report_add_openings(r, "taohuawu", at("2026-12-01 23:59:59"), REPORT_EXPECTED, "checkin",
                            1);
        report_add_openings(r, "taohuawu", at("2026-11-30 23:59:00"), REPORT_IGNORED, NULL, 1);
        report_add_openings(r, "taohuawu", at("2026-12-02 00:00:00"), REPORT_EXPECTED, "pass", 1);
        report_add_openings(r, "liuyingli", at("2026-12-01 08:00:00"), REPORT_IGNORED,
                            "outside_window", 2);

        static const struct {
                const char *community, *kind, *raised, *acked, *resolved, *by;
        } alerts[] = {
                { "yunjinlu", "door_open_unexpected", "2026-12-01 14:10:00", "2026-12-01 14:12:00",
                  NULL, "w-yjl-01" },
                { "yunjinlu", "door_open_unexpected", "2026-12-01 15:00:00", "2026-12-01 15:10:00",
                  "2026-12-01 16:00:00", "w-yjl-12" },
                { "taohuawu", "person_left", "2026-12-01 16:00:00", "2026-12-01 16:01:00", NULL,
                  "w-thw-01" },
                { "taohuawu", "tamper", "2026-12-01 23:58:00", "2026-12-02 00:03:00", NULL,
                  "w-thw-01" },
                { "yunjinlu", "device_offline", "2026-11-30 10:00:00", NULL, NULL, NULL },
                { "liuyingli", "battery_low", "2026-12-01 05:00:00", NULL, "2026-12-01 06:00:00",
                  NULL },
                { NULL, "notification_failed", "2026-12-01 12:00:00", NULL, NULL, NULL },
                { "yunjinlu", "door_open_unexpected", "2026-11-25 10:00:00", "2026-11-25 10:05:00",
                  NULL, "w-yjl-01" },
                { "yunjinlu", "observation_ended", "2026-12-01 00:00:00", NULL, NULL, NULL },
                { "yunjinlu", "door_open_unexpected", "2026-11-17 23:00:00", NULL, NULL, NULL },
        };
        for (size_t i = 0; i < sizeof(alerts) / sizeof(alerts[0]); i++)
                report_add_alert(
                    r, &(struct report_alert){
                           .community = alerts[i].community,
                           .kind = alert_kind_from_string(alerts[i].kind),
                           .raised_usec = at(alerts[i].raised),
                           .acked_usec = alerts[i].acked ? at(alerts[i].acked) : 0,
                           .resolved_usec = alerts[i].resolved ? at(alerts[i].resolved) : 0,
                           .acked_by = alerts[i].by,
                       });
        report_add_failed_notification(r, "yunjinlu", at("2026-12-01 12:00:00"));
        report_add_failed_notification(r, NULL, at("2026-12-01 13:00:00"));
        report_add_failed_notification(r, "taohuawu", at("2026-11-30 13:00:00"));
        report_finish(r);
}

static const struct report_section *sec(const struct report *r, const char *community)
{
        for (size_t i = 0; i < r->n_sections; i++)
                if (str_eq(r->sections[i].community, community))
                        return &r->sections[i];
        fail_msg("no section %s", community ? community : "(total)");
        return NULL;
}

static void test_figures(void **state)
{
        struct report r;
        const struct report_section *t, *y, *h, *l;

        assert_int_equal(report_init(&r, cfg, "2026-12-01", NULL, at("2026-12-02 08:00:00")), 0);
        assert_int_equal(r.day_start_usec, at("2026-12-01 00:00:00"));
        assert_int_equal(r.day_end_usec, at("2026-12-02 00:00:00"));
        assert_string_equal(r.days[0], "2026-11-18");
        assert_int_equal(r.n_sections, 4);
        feed(&r);
        t = sec(&r, NULL);
        y = sec(&r, "yunjinlu");
        h = sec(&r, "taohuawu");
        l = sec(&r, "liuyingli");
        assert_string_equal(y->label, "云锦路社区");

        assert_int_equal(t->households_start, 2);
        assert_int_equal(t->households_end, 2);
        assert_int_equal(t->households_new, 2);
        assert_int_equal(t->households_released, 2);
        assert_int_equal(y->households_start, 1);
        assert_int_equal(y->households_end, 2);
        assert_int_equal(y->households_new, 1);
        assert_int_equal(h->households_released, 2);
        assert_int_equal(l->households_start + l->households_end + l->households_new, 0);

        assert_int_equal(t->openings, 7);
        assert_int_equal(t->openings_by_verdict[REPORT_EXPECTED], 4);
        assert_int_equal(t->openings_by_verdict[REPORT_ALERT], 1);
        assert_int_equal(t->openings_by_verdict[REPORT_IGNORED], 2);
        assert_int_equal(t->openings_by_rule[REPORT_RULE_SCHEDULE], 3);
        assert_int_equal(t->openings_by_rule[REPORT_RULE_UNEXPECTED], 1);
        assert_int_equal(t->openings_by_rule[REPORT_RULE_CHECKIN], 1);
        assert_int_equal(t->openings_by_rule[REPORT_RULE_OUTSIDE_WINDOW], 2);
        assert_int_equal(t->openings_by_hour[9], 3);
        assert_int_equal(t->openings_by_hour[14], 1);
        assert_int_equal(t->alert_openings_by_hour[14], 1);
        assert_int_equal(t->openings_by_hour[23], 1);
        assert_int_equal(t->openings_by_hour[0], 0);
        assert_int_equal(h->openings, 1);

        assert_int_equal(t->alerts, 7);
        assert_int_equal(t->alerts_by_kind[ALERT_DOOR_OPEN_UNEXPECTED], 2);
        assert_int_equal(t->alerts_by_kind[ALERT_NOTIFICATION_FAILED], 1);
        assert_int_equal(t->alerts_by_kind[ALERT_OBSERVATION_ENDED], 1);
        assert_int_equal(y->alerts, 3);
        assert_int_equal(t->acked, 3);
        assert_int_equal(t->unacked, 1);
        assert_int_equal(t->ack_median_usec, 2 * MIN_);
        assert_int_equal(t->ack_p90_usec, 10 * MIN_);
        assert_int_equal(t->ack_worst_usec, 10 * MIN_);
        assert_int_equal(y->ack_median_usec, 2 * MIN_);
        assert_int_equal(y->ack_p90_usec, 10 * MIN_);
        assert_int_equal(h->acked, 1);
        assert_int_equal(h->unacked, 1);
        assert_int_equal(l->ack_median_usec, -1);
        assert_int_equal(t->n_ackers, 3);
        assert_string_equal(t->ackers[0].worker, "w-thw-01");
        assert_string_equal(t->ackers[0].name, "何俊杰");
        assert_string_equal(t->ackers[1].worker, "w-yjl-01");
        assert_int_equal(t->devices_offline, 1);
        assert_int_equal(y->devices_offline, 1);
        assert_int_equal(t->batteries_low, 0);
        assert_int_equal(t->notifications_failed, 2);
        assert_int_equal(y->notifications_failed, 1);
        assert_int_equal(h->notifications_failed, 0);

        /* The 14 days: 2026-11-25 is day 7; 11-17 is before the first; observation_ended
         * notices are no alarms. */
        assert_int_equal(t->alerts_by_day[13], 6);
        assert_int_equal(t->alerts_by_day[7], 1);
        assert_int_equal(t->ack_median_by_day[7], 5 * MIN_);
        assert_int_equal(t->ack_median_by_day[6], -1);
        assert_int_equal(t->alerts_by_day[12], 1); /* device_offline of 11-30 */
        report_done(&r);
}

static void test_one_community(void **state)
{
        struct report r;

        assert_int_equal(report_init(&r, cfg, "2026-12-01", "taohuawu", 0), 0);
        assert_int_equal(r.n_sections, 2);
        feed(&r);
        assert_int_equal(r.sections[0].households_released, 2);
        assert_int_equal(r.sections[0].households_start, 1);
        assert_int_equal(r.sections[0].alerts, 2); /* not the system's */
        assert_int_equal(r.sections[0].notifications_failed, 0);
        assert_int_equal(r.sections[1].alerts, 2);
        report_done(&r);
}

/* Medical rounds whose window ended in the day, by outcome, and fever readings; the day's
 * bounds and the community filter as for every figure. */
static void test_rounds_and_fevers(void **state)
{
        struct report r;

        assert_int_equal(report_init(&r, cfg, "2026-12-01", NULL, 0), 0);
        report_add_round(&r, "yunjinlu", at("2026-12-01 09:30:00"), "done");
        report_add_round(&r, "yunjinlu", at("2026-12-01 15:30:00"), "missed");
        report_add_round(&r, "taohuawu", at("2026-12-01 09:30:00"), "excused");
        report_add_round(&r, "taohuawu", at("2026-12-01 00:00:00"), "done"); /* the first instant */
        report_add_round(&r, "taohuawu", at("2026-12-02 00:00:00"), "missed"); /* the next day */
        report_add_fever(&r, "yunjinlu", at("2026-12-01 09:10:00"));
        report_add_fever(&r, "liuyingli", at("2026-11-30 23:59:59"));
        report_finish(&r);
        assert_int_equal(sec(&r, NULL)->rounds_due, 4);
        assert_int_equal(sec(&r, NULL)->rounds_done, 2);
        assert_int_equal(sec(&r, NULL)->rounds_excused, 1);
        assert_int_equal(sec(&r, NULL)->rounds_missed, 1);
        assert_int_equal(sec(&r, NULL)->fevers, 1);
        assert_int_equal(sec(&r, "yunjinlu")->rounds_due, 2);
        assert_int_equal(sec(&r, "yunjinlu")->rounds_missed, 1);
        assert_int_equal(sec(&r, "yunjinlu")->fevers, 1);
        assert_int_equal(sec(&r, "taohuawu")->rounds_due, 2);
        assert_int_equal(sec(&r, "liuyingli")->fevers, 0);
        _cleanup_free_ char *csv = report_render(&r, REPORT_CSV);
        assert_non_null(strstr(csv, "2026-12-01,未完成,1,1,0,0\r\n"));
        assert_non_null(strstr(csv, "2026-12-01,发热或可疑症状（测温记录）,1,1,0,0\r\n"));
        report_done(&r);

        assert_int_equal(report_init(&r, cfg, "2026-12-01", "taohuawu", 0), 0);
        report_add_round(&r, "yunjinlu", at("2026-12-01 15:30:00"), "missed");
        report_add_round(&r, "taohuawu", at("2026-12-01 09:30:00"), "excused");
        report_finish(&r);
        assert_int_equal(r.sections[0].rounds_due, 1);
        assert_int_equal(r.sections[0].rounds_missed, 0);
        report_done(&r);
}

static void test_bad_dates(void **state)
{
        struct report r;

        assert_int_equal(report_init(&r, cfg, "2026-02-30", NULL, 0), -22);
        assert_int_equal(report_init(&r, cfg, "2026-12-1x", NULL, 0), -22);
        assert_int_equal(report_init(&r, cfg, "yesterday", NULL, 0), -22);
        assert_int_equal(report_init(&r, cfg, NULL, NULL, 0), -22);
        /* Across a month and a year. */
        assert_int_equal(report_init(&r, cfg, "2027-01-01", NULL, 0), 0);
        assert_string_equal(r.days[0], "2026-12-19");
        report_done(&r);
}

/* The text with runs of spaces as one: the table's figures without its alignment. */
static char *squeeze(const char *s)
{
        char *o = xstrdup(s), *w = o;

        for (const char *p = s; *p; p++)
                if (*p != ' ' || w == o || w[-1] != ' ')
                        *w++ = *p;
        *w = 0;
        return o;
}

static void test_render(void **state)
{
        struct report r;
        _cleanup_free_ char *text = NULL, *csv = NULL, *html = NULL, *sq = NULL;

        assert_int_equal(report_init(&r, cfg, "2026-12-01", NULL, at("2026-12-02 08:00:00")), 0);
        feed(&r);
        /* A community the configuration no longer has keeps its rows, escaped. */
        report_add_openings(&r, "old<c>", at("2026-12-01 10:00:00"), REPORT_EXPECTED, "pass", 1);
        report_finish(&r);

        text = report_render(&r, REPORT_TEXT);
        if (getenv("SHOW"))
                fputs(text, stderr);
        assert_non_null(strstr(text, "居家观察日报 2026-12-01（星期二）\n"));
        assert_non_null(strstr(text, "生成于 2026-12-02 08:00:00（Asia/Shanghai）\n"));
        sq = squeeze(text);
        assert_non_null(strstr(sq, "\n 合计 云锦路社区 桃花坞社区 柳营里社区 old<c>\n"));
        assert_non_null(strstr(sq, "\n在观察户数（日初） 2 1 1 0 0\n"));
        assert_non_null(strstr(sq, "\n 规则：预约上门 3 3 0 0 0\n"));
        assert_non_null(strstr(sq, "\n 确认用时90% 10m00s 10m00s 1m00s - -\n"));
        assert_non_null(strstr(text, "  合计：何俊杰 1，陈晓燕 1，马卫东 1\n"));

        csv = report_render(&r, REPORT_CSV);
        assert_true(str_startswith(csv, "\xef\xbb\xbf日期,项目,合计,云锦路社区,桃花坞社区,"
                                        "柳营里社区,old<c>\r\n"));
        assert_non_null(strstr(csv, "2026-12-01,新增观察,2,1,1,0,0\r\n"));
        assert_non_null(strstr(csv, "2026-12-01,确认用时90%,10m00s,10m00s,1m00s,-,-\r\n"));
        assert_non_null(strstr(csv, "2026-12-01,告警 2026-11-25,1,1,0,0,0\r\n"));
        assert_non_null(strstr(csv, "2026-12-01,确认人 陈晓燕 (w-yjl-01),1,1,0,0,0\r\n"));

        html = report_render(&r, REPORT_HTML);
        if (getenv("REPORT_HTML_OUT")) { /* to look at it: REPORT_HTML_OUT=/tmp/r.html */
                FILE *f = fopen(getenv("REPORT_HTML_OUT"), "w");
                assert_non_null(f);
                fputs(html, f);
                fclose(f);
        }
        assert_true(str_startswith(html, "<!DOCTYPE html>"));
        assert_non_null(strstr(html, "<svg viewBox=\"0 0 680 220\""));
        assert_non_null(strstr(html, "id=\"chart-hours\""));
        assert_non_null(strstr(html, "id=\"chart-alerts\""));
        assert_non_null(strstr(html, "id=\"chart-ack\""));
        assert_non_null(strstr(html, "@page{size:A4"));
        assert_non_null(strstr(html, "<th>old&lt;c&gt;</th>"));
        assert_null(strstr(html, "<th>old<c>"));
        /* Self-contained: no script, no external file (the only URL is SVG's namespace). */
        assert_null(strstr(html, "<script"));
        assert_null(strstr(html, "<link"));
        assert_null(strstr(html, "src="));
        assert_null(strstr(html, "href="));
        assert_null(strstr(html, "url("));
        report_done(&r);
}

static void test_small_things(void **state)
{
        char buf[32];

        assert_string_equal(report_format_duration(-1, buf), "-");
        assert_string_equal(report_format_duration(59 * USEC_PER_SEC, buf), "59s");
        assert_string_equal(report_format_duration(65 * USEC_PER_SEC, buf), "1m05s");
        assert_string_equal(report_format_duration(7380 * USEC_PER_SEC, buf), "2h03m");
        assert_int_equal(report_format_from_string("html"), REPORT_HTML);
        assert_int_equal(report_format_from_string("pdf"), REPORT_FORMAT_INVALID);
        assert_int_equal(report_rule_from_code("pass_return"), REPORT_RULE_PASS);
        assert_int_equal(report_rule_from_code("debounced"), REPORT_RULE_OTHER);
        assert_int_equal(report_rule_from_code(NULL), REPORT_RULE_OTHER);
        assert_string_equal(report_alert_kind_label(ALERT_PERSON_LEFT), "有人离开");
}

/* The words and names the command centre's filters take (status page, API, CLI alike). */
static void test_filters(void **state)
{
        int64_t from, to;
        char buf[16];

        assert_int_equal(alert_states_from_filter("open"), 1u << ALERT_OPEN);
        assert_int_equal(alert_states_from_filter("acked"), 1u << ALERT_ACKED);
        assert_int_equal(alert_states_from_filter("unresolved"),
                         (1u << ALERT_OPEN) | (1u << ALERT_ACKED));
        assert_int_equal(alert_states_from_filter("resolved"), 1u << ALERT_RESOLVED);
        assert_int_equal(alert_states_from_filter("all"), 7);
        assert_int_equal(alert_states_from_filter("live"), 0);
        assert_int_equal(alert_states_from_filter(NULL), 0);

        assert_string_equal(config_community_named(cfg, "yunjinlu")->id, "yunjinlu");
        assert_string_equal(config_community_named(cfg, "桃花坞社区")->id, "taohuawu");
        assert_null(config_community_named(cfg, "桃花坞"));
        assert_null(config_community_named(cfg, NULL));

        assert_int_equal(local_calendar_day("2026-12-01", 0, &from, &to, buf), 0);
        assert_string_equal(buf, "2026-12-01");
        assert_int_equal(from, at("2026-12-01 00:00:00"));
        assert_int_equal(to, at("2026-12-02 00:00:00"));
        assert_int_equal(
            local_calendar_day("yesterday", at("2027-01-01 00:30:00"), &from, &to, buf), 0);
        assert_string_equal(buf, "2026-12-31");
        assert_int_equal(local_calendar_day("today", at("2026-12-01 23:59:59"), &from, &to, buf),
                         0);
        assert_string_equal(buf, "2026-12-01");
        assert_int_equal(local_calendar_day("2026-02-30", 0, &from, &to, buf), -22);
        assert_int_equal(local_calendar_day("2026-12-1x", 0, &from, &to, buf), -22);
        assert_int_equal(local_calendar_day("tomorrow", 0, &from, &to, buf), -22);
}

/* The codes the engine stores with each event (rules_basis_to_string()) are the ones the
 * report counts openings by. */
static void test_rule_codes(void **state)
{
        static const struct {
                enum rules_basis basis;
                enum report_rule rule;
        } cases[] = {
                { BASIS_SCHEDULE, REPORT_RULE_SCHEDULE },
                { BASIS_CHECKIN, REPORT_RULE_CHECKIN },
                { BASIS_PASS, REPORT_RULE_PASS },
                { BASIS_PASS_RETURN, REPORT_RULE_PASS },
                { BASIS_REPORT, REPORT_RULE_REPORT },
                { BASIS_HANDOFF, REPORT_RULE_HANDOFF },
                { BASIS_UNEXPECTED, REPORT_RULE_UNEXPECTED },
                { BASIS_FOUND_OPEN, REPORT_RULE_UNEXPECTED },
                { BASIS_HANDOFF_EXPIRED, REPORT_RULE_UNEXPECTED },
                { BASIS_TOO_MANY, REPORT_RULE_TOO_MANY },
                { BASIS_OUTSIDE_WINDOW, REPORT_RULE_OUTSIDE_WINDOW },
                { BASIS_DEBOUNCED, REPORT_RULE_OTHER },
                { BASIS_RETAINED, REPORT_RULE_OTHER },
                { BASIS_OTHER, REPORT_RULE_OTHER },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                if (report_rule_from_code(rules_basis_to_string(cases[i].basis)) != cases[i].rule)
                        fail_msg("basis %d (%s)", cases[i].basis,
                                 rules_basis_to_string(cases[i].basis));
        assert_string_equal(rules_basis_to_string(BASIS_PASS_RETURN), "pass_return");
        assert_string_equal(rules_basis_to_string((enum rules_basis)99), "other");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_figures),      cmocka_unit_test(test_one_community),
                cmocka_unit_test(test_bad_dates),    cmocka_unit_test(test_render),
                cmocka_unit_test(test_small_things), cmocka_unit_test(test_rule_codes),
                cmocka_unit_test(test_filters),      cmocka_unit_test(test_rounds_and_fevers),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}

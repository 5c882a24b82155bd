/* test-sheet.c: the office's spreadsheets as columns and values: finding the header below
 * a title, Chinese and English headers and their variants, what is required, ignored
 * columns; and tables of the cells: dates (with and without time, end dates), times,
 * days, roles, phone numbers. Dates are read in Asia/Shanghai. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "csv.h"
#include "sheet.h"
#include "util.h"

static int setup(void **state)
{
        return timezone_set("Asia/Shanghai");
}

static struct csv *csv_of(const char *text)
{
        struct csv *c = NULL;
        char *msg = NULL;
        unsigned row;

        assert_int_equal(csv_parse(text, strlen(text), &c, &row, &msg), 0);
        return c;
}

static void test_header(void **state)
{
        struct csv *c = csv_of("青枫桥街道居家观察名单,,,\n"
                               ",,,\n"
                               "序号, 户 号 ,观察结束（日期）,Community Worker,社区*,备注\n"
                               "1,YJL-0001,2026/12/14,w-yjl-01,云锦路社区,\" 远程\n办公 \"\n"
                               ",,,,,\n");
        struct sheet s;
        char *msg = NULL;
        unsigned row;

        assert_int_equal(sheet_open(c, SHEET_HOUSEHOLDS, &s, &row, &msg), 0);
        assert_int_equal(s.header, 2);
        assert_int_equal(s.col[SF_HH_ID], 1);
        assert_int_equal(s.col[SF_HH_END], 2);
        assert_int_equal(s.col[SF_HH_TEAM_COMMUNITY], 3);
        assert_int_equal(s.col[SF_HH_COMMUNITY], 4);
        assert_int_equal(s.col[SF_HH_ADDRESS], -1);
        assert_int_equal(s.n_ignored, 2);
        assert_string_equal(s.ignored[0], "序号");
        assert_string_equal(s.ignored[1], "备注");
        /* Cells are trimmed, and a cell's lines joined. */
        assert_string_equal(sheet_cell(&s, &c->rows[3], SF_HH_ID), "YJL-0001");
        assert_string_equal(c->rows[3].cells[5], "远程 办公");
        assert_string_equal(sheet_cell(&s, &c->rows[3], SF_HH_ADDRESS), "");
        assert_string_equal(sheet_header(&s, SF_HH_END), "观察结束（日期）");
        assert_string_equal(sheet_header(&s, SF_HH_ADDRESS), "地址");
        assert_true(sheet_row_blank(&c->rows[4]));
        assert_false(sheet_row_blank(&c->rows[3]));
        sheet_done(&s);
        csv_free(c);
}

static void expect_open_fails(const char *text, enum sheet_kind kind, unsigned want_row,
                              const char *want)
{
        struct csv *c = csv_of(text);
        struct sheet s;
        char *msg = NULL;
        unsigned row = 99;

        assert_int_equal(sheet_open(c, kind, &s, &row, &msg), 1);
        assert_int_equal(row, want_row);
        assert_string_equal(msg, want);
        free(msg);
        csv_free(c);
}

static void test_header_refused(void **state)
{
        expect_open_fails("a,b\n1,2\n", SHEET_HOUSEHOLDS, 0,
                          "no header row: none of the first rows names two or more households "
                          "columns (e.g. 户号, 社区)");
        expect_open_fails("社区,地址,观察开始\nc,a,2026-12-01\n", SHEET_HOUSEHOLDS, 1,
                          "no 户号/id column");
        expect_open_fails("户号,编号,社区\n", SHEET_HOUSEHOLDS, 1,
                          "columns A (户号) and B (编号) both mean id");
        expect_open_fails("工号,角色\n", SHEET_WORKERS, 1, "no 姓名/name column");
        expect_open_fails("社区,值班人员\n", SHEET_SHIFTS, 1, "no 开始/from, 结束/to column");
}

static void test_names_as_workers(void **state)
{
        /* Without an id column, the name column names the worker. */
        struct csv *c = csv_of("社区,姓名,电话,星期,开始,结束\n");
        struct sheet s;
        char *msg = NULL;
        unsigned row;

        assert_int_equal(sheet_open(c, SHEET_SHIFTS, &s, &row, &msg), 0);
        assert_int_equal(s.col[SF_S_WORKER], 1);
        assert_int_equal(s.col[SF_S_WORKER_NAME], -1);
        assert_int_equal(s.col[SF_S_WORKER_PHONE], 2);
        sheet_done(&s);
        csv_free(c);
}

static void test_instants(void **state)
{
        static const struct {
                const char *cell;
                bool end;
                const char *want; /* NULL: refused */
        } cases[] = {
                { "2026-12-01", false, "2026-12-01T00:00:00+08:00" },
                { "2026-12-01", true, "2026-12-02T00:00:00+08:00" },
                { "2026/12/1", false, "2026-12-01T00:00:00+08:00" },
                { "2026.12.01", false, "2026-12-01T00:00:00+08:00" },
                { "2026年12月1日", false, "2026-12-01T00:00:00+08:00" },
                { "2026年12月14日", true, "2026-12-15T00:00:00+08:00" },
                { "2026年12月1号", false, "2026-12-01T00:00:00+08:00" },
                { "2026年12月1日 8:30", false, "2026-12-01T08:30:00+08:00" },
                { "2026/12/1 8:00", true, "2026-12-01T08:00:00+08:00" },
                { "2026-12-01T08:00", false, "2026-12-01T08:00:00+08:00" },
                { "2026-12-01 08:00:30", false, "2026-12-01T08:00:30+08:00" },
                { "2026-12-01  8点30分", false, "2026-12-01T08:30:00+08:00" },
                { "2026/12/31", true, "2027-01-01T00:00:00+08:00" },
                { "2026/12/14 24:00", true, "2026-12-15T00:00:00+08:00" },
                { "2026-12-01T08:00:00+08:00", false, "2026-12-01T08:00:00+08:00" },
                { "2026-12-01T00:00:00Z", true, "2026-12-01T08:00:00+08:00" },
                { "2028/2/29", false, "2028-02-29T00:00:00+08:00" },
                { "2026/13/01", false, NULL },
                { "2026/02/30", false, NULL },
                { "2026/2/29", false, NULL },
                { "26/12/01", false, NULL },
                { "12/01/2026", false, NULL },
                { "2026-12-01 25:00", false, NULL },
                { "2026-12-01 24:30", false, NULL },
                { "2026-12-01 8", false, NULL },
                { "2026-12-01x", false, NULL },
                { "46357", false, NULL },
                { "明天", false, NULL },
                { "", false, NULL },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                int64_t t = 0;
                char buf[40];
                int r = sheet_parse_instant(cases[i].cell, cases[i].end, &t, NULL);

                if (!cases[i].want) {
                        if (r == 0)
                                fail_msg("\"%s\" read as %s", cases[i].cell,
                                         format_rfc3339(t, buf));
                        continue;
                }
                if (r != 0)
                        fail_msg("\"%s\" refused", cases[i].cell);
                if (strcmp(format_rfc3339(t, buf), cases[i].want) != 0)
                        fail_msg("\"%s\" (end %d): %s, want %s", cases[i].cell, cases[i].end, buf,
                                 cases[i].want);
        }
}

static void test_times(void **state)
{
        static const struct {
                const char *cell;
                bool allow_24;
                int want; /* -1: refused */
        } cases[] = {
                { "8:00", false, 480 },    { "08:00", false, 480 },    { "8点", false, 480 },
                { "8点30", false, 510 },   { "8点30分", false, 510 },  { "20：00", false, 1200 },
                { "24:00", true, 1440 },   { "24:00", false, -1 },     { "8:60", false, -1 },
                { "08:00:30", false, -1 }, { "08:00:00", false, 480 }, { "8", false, -1 },
                { "", false, -1 },
        };
        int t[4];
        size_t n;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                int m = -1;
                int r = sheet_parse_time(cases[i].cell, cases[i].allow_24, &m);
                if ((cases[i].want < 0) != (r < 0) || (r == 0 && m != cases[i].want))
                        fail_msg("\"%s\": r=%d m=%d", cases[i].cell, r, m);
        }
        assert_int_equal(sheet_parse_times("09:00、15:00", t, 4, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(t[0], 540);
        assert_int_equal(t[1], 900);
        assert_int_equal(sheet_parse_times(" 15:00, 9:00；18:00 ", t, 4, &n), 0);
        assert_int_equal(n, 3);
        assert_int_equal(t[2], 1080);
        assert_int_equal(sheet_parse_times("", t, 4, &n), 0);
        assert_int_equal(n, 0);
        assert_int_equal(sheet_parse_times("9:00 x", t, 4, &n), -EINVAL);
        assert_int_equal(sheet_parse_times("1:00 2:00 3:00 4:00 5:00", t, 4, &n), -EINVAL);
}

static void test_days(void **state)
{
        static const struct {
                const char *cell;
                int want; /* mask, -1: refused */
                const char *label;
        } cases[] = {
                { "*", 0x7f, "每天" },
                { "每天", 0x7f, "每天" },
                { "工作日", 0x1f, "周一至周五" },
                { "周末", 0x60, "周六、周日" },
                { "周一至周五", 0x1f, "周一至周五" },
                { "周一到周三", 0x07, "周一至周三" },
                { "周一至五", 0x1f, "周一至周五" },
                { "星期六、星期日", 0x60, "周六、周日" },
                { "周六 周天", 0x60, "周六、周日" },
                { "周五至周一", 0x71, "周一、周五至周日" },
                { "mon-fri", 0x1f, "周一至周五" },
                { "Mon, Wed", 0x05, "周一、周三" },
                { "saturday", 0x20, "周六" },
                { "周一、周三至周五", 0x1d, "周一、周三至周五" },
                { "", -1, NULL },
                { "周八", -1, NULL },
                { "周一至", -1, NULL },
                { "someday", -1, NULL },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                uint8_t m = 0;
                char buf[64];
                int r = sheet_parse_days(cases[i].cell, &m);

                if ((cases[i].want < 0) != (r < 0) || (r == 0 && m != cases[i].want))
                        fail_msg("\"%s\": r=%d mask=%#x", cases[i].cell, r, m);
                if (cases[i].label && strcmp(sheet_format_days(m, buf), cases[i].label) != 0)
                        fail_msg("\"%s\": label %s, want %s", cases[i].cell, buf, cases[i].label);
        }
}

static void test_roles(void **state)
{
        static const struct {
                const char *cell;
                enum role role;
                enum sheet_duty duty;
                bool known;
        } cases[] = {
                { "community", ROLE_COMMUNITY, SHEET_DUTY_NONE, true },
                { "Medical", ROLE_MEDICAL, SHEET_DUTY_NONE, true },
                { "网格员", ROLE_COMMUNITY, SHEET_DUTY_NONE, true },
                { "社工", ROLE_COMMUNITY, SHEET_DUTY_NONE, true },
                { "社区医生", ROLE_MEDICAL, SHEET_DUTY_NONE, true },
                { "护士", ROLE_MEDICAL, SHEET_DUTY_NONE, true },
                { "社区民警", ROLE_POLICE, SHEET_DUTY_NONE, true },
                { "安装员", ROLE_INSTALLER, SHEET_DUTY_NONE, true },
                { "值班领导", ROLE_STAFF, SHEET_DUTY_LEADER, true },
                { "指挥中心", ROLE_STAFF, SHEET_DUTY_COMMAND, true },
                { "工作人员", ROLE_STAFF, SHEET_DUTY_NONE, true },
                { "志愿者", ROLE_STAFF, SHEET_DUTY_NONE, false },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                enum role r;
                enum sheet_duty d;
                bool known = sheet_parse_role(cases[i].cell, &r, &d);
                if (known != cases[i].known || r != cases[i].role || d != cases[i].duty)
                        fail_msg("\"%s\": %d %d %d", cases[i].cell, known, r, d);
        }
        assert_string_equal(sheet_role_label(ROLE_MEDICAL, SHEET_DUTY_NONE), "社区医生");
        assert_string_equal(sheet_role_label(ROLE_STAFF, SHEET_DUTY_LEADER), "值班领导");
        assert_string_equal(sheet_role_label(ROLE_STAFF, SHEET_DUTY_COMMAND), "指挥中心");
        assert_string_equal(sheet_role_label(ROLE_STAFF, SHEET_DUTY_NONE), "工作人员");
}

static void test_phones(void **state)
{
        char buf[32];

        assert_string_equal(sheet_phone_normalize("138 0000 0001", buf), "13800000001");
        assert_string_equal(sheet_phone_normalize("+86 138-0000-0001", buf), "+8613800000001");
        assert_string_equal(sheet_phone_normalize("(025) 8888.1234", buf), "02588881234");
        assert_true(sheet_phone_equal("+8613800000001", "138 0000 0001"));
        assert_true(sheet_phone_equal("008613800000001", "8613800000001"));
        assert_false(sheet_phone_equal("13800000001", "13800000002"));
        assert_false(sheet_phone_equal(NULL, "13800000002"));
        assert_false(sheet_phone_equal("", ""));
        assert_true(sheet_is_phone("139-0000-1002"));
        assert_true(sheet_is_phone("+86 139 0000 1002"));
        assert_false(sheet_is_phone("王芳"));
        assert_false(sheet_is_phone("w-yjl-01"));
        assert_false(sheet_is_phone("12345"));
}

static void test_kinds_and_letters(void **state)
{
        char buf[8];

        assert_int_equal(sheet_kind_from_string("workers"), SHEET_WORKERS);
        assert_int_equal(sheet_kind_from_string("rota"), SHEET_KIND_INVALID);
        assert_string_equal(sheet_kind_to_string(SHEET_SHIFTS), "shifts");
        assert_string_equal(sheet_column_letter(0, buf), "A");
        assert_string_equal(sheet_column_letter(25, buf), "Z");
        assert_string_equal(sheet_column_letter(26, buf), "AA");
        assert_string_equal(sheet_column_letter(27, buf), "AB");
}

/* The README lists every column a sheet may have, by both its names. */
static void test_readme_lists_columns(void **state)
{
        _cleanup_free_ char *readme = NULL;
        size_t len;

        assert_int_equal(read_file("README.md", 1 << 22, &readme, &len), 0);
        for (int k = 0; k < _SHEET_KIND_MAX; k++) {
                size_t n;
                const struct sheet_column *cols = sheet_columns((enum sheet_kind)k, &n);
                for (size_t i = 0; i < n; i++) {
                        char want[256];
                        snprintf(want, sizeof(want), "| `%s` / `%s`", cols[i].zh, cols[i].en);
                        if (!strstr(readme, want))
                                fail_msg("README.md lacks the %s column \"%s\"",
                                         sheet_kind_to_string((enum sheet_kind)k), want);
                        for (const char *const *a = cols[i].aliases; a && *a; a++) {
                                snprintf(want, sizeof(want), "`%s`", *a);
                                if (!strstr(readme, want))
                                        fail_msg("README.md lacks %s", want);
                        }
                }
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_header),
                cmocka_unit_test(test_header_refused),
                cmocka_unit_test(test_names_as_workers),
                cmocka_unit_test(test_instants),
                cmocka_unit_test(test_times),
                cmocka_unit_test(test_days),
                cmocka_unit_test(test_roles),
                cmocka_unit_test(test_phones),
                cmocka_unit_test(test_kinds_and_letters),
                cmocka_unit_test(test_readme_lists_columns),
        };
        return cmocka_run_group_tests(tests, setup, NULL);
}

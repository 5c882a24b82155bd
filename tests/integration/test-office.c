/* test-office.c: the office's spreadsheets through the real doorwatchctl against a copy of
 * the shipped conf/: the example CSVs of tests/fixtures/import/ (Chinese headers below a
 * title, UTF-8 with and without a byte order mark, GBK with tabs, three bad rows, an
 * unclosed quote) give the exact lines and exit status an office sees, the registry
 * written is what the daemon's loader reads, files keep their mode, a refused or dry run
 * writes nothing, and import(export(x)) leaves every file as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "harness.h"
#include "util.h"

#define FIXTURES "tests/fixtures/import/"

static int setup(void **state)
{
        struct harness *h = calloc(1, sizeof(*h));
        char *out = NULL;

        h_init(h);
        const char *const rm[] = { "/bin/rm", "-rf", h->confdir, NULL };
        const char *const cp[] = { "/bin/cp", "-r", "conf", h->confdir, NULL };
        assert_int_equal(h_run(NULL, rm), 0);
        assert_int_equal(h_run(&out, cp), 0);
        free(out);
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

/* Runs doorwatchctl -c CONFDIR args...; output (stdout and stderr) in *out. */
static int ctl(struct harness *h, char **out, ...)
{
        const char *argv[16];
        char bin[512];
        size_t n = 0;
        va_list ap;

        snprintf(bin, sizeof(bin), "%s/doorwatchctl", h_build_dir());
        argv[n++] = bin;
        argv[n++] = "-c";
        argv[n++] = h->confdir;
        va_start(ap, out);
        for (const char *a; n < 15 && (a = va_arg(ap, const char *));)
                argv[n++] = a;
        va_end(ap);
        argv[n] = NULL;
        return h_run(out, argv);
}

/* The text of every registry file, to compare before and after. */
static char *snapshot(struct harness *h)
{
        static const char *const files[] = { "workers.json", "rosters.json", "households.json",
                                             "households.d/liuyingli.json",
                                             "households.d/taohuawu.json" };
        struct sbuf b;

        sbuf_init(&b, NULL, 0);
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *path = path_join(h->confdir, files[i]), *text = NULL;
                size_t len;
                assert_int_equal(read_file(path, 1 << 24, &text, &len), 0);
                sbuf_printf(&b, "== %s\n%s", files[i], text);
        }
        return sbuf_finish(&b);
}

static bool contains(const char *out, const char *line)
{
        if (strstr(out, line))
                return true;
        fprintf(stderr, "missing \"%s\" in:\n%s\n", line, out);
        return false;
}

static struct config *load(struct harness *h)
{
        struct config_diag diag = { 0 };
        struct config *cfg = NULL;

        if (config_load(h->confdir, &cfg, &diag) < 0)
                for (size_t i = 0; i < diag.n_errors; i++)
                        fprintf(stderr, "%s\n", diag.errors[i]);
        config_diag_done(&diag);
        assert_non_null(cfg);
        return cfg;
}

static void test_bad_rows_write_nothing(void **state)
{
        struct harness *h = *state;
        _cleanup_free_ char *before = snapshot(h), *after = NULL, *out = NULL;

        assert_int_equal(ctl(h, &out, "import", "households", FIXTURES "households-bad.csv", NULL),
                         1);
        assert_string_equal(out, FIXTURES
                            "households-bad.csv:2:D: 观察开始 \"2026/13/01\" is not a date "
                            "(2026-12-01, 2026/12/01 or 2026年12月1日, optionally with a time such "
                            "as 08:00)\n" FIXTURES
                            "households-bad.csv:3:F: no worker with id, phone number or name "
                            "\"张三\" in workers.json\n" FIXTURES
                            "households-bad.csv:4:H: worker \"w-yjl-08\" has role medical, not "
                            "police\n"
                            "doorwatchctl: nothing written: 3 problem(s)\n");
        after = snapshot(h);
        assert_string_equal(before, after);
}

static void test_broken_csv(void **state)
{
        struct harness *h = *state;
        _cleanup_free_ char *out = NULL, *path = NULL;
        FILE *f;

        assert_int_equal(
            ctl(h, &out, "import", "households", FIXTURES "households-broken.csv", NULL), 1);
        assert_string_equal(out, FIXTURES "households-broken.csv:2: a quoted cell is never closed "
                                          "(a \" without its partner)\n"
                                          "doorwatchctl: nothing imported\n");
        free(out);
        /* Neither UTF-8 nor GBK: refused with the row and what to do. */
        assert_true(asprintf(&path, "%s/latin.csv", h->dir) > 0);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs("户号,社区\nYJL-0001,\xff\xfe\n", f);
        fclose(f);
        assert_int_equal(ctl(h, &out, "import", "households", path, NULL), 1);
        assert_non_null(strstr(out, "latin.csv:2: neither UTF-8 nor GBK/GB18030 (byte 0xff); save "
                                    "the sheet as \"CSV UTF-8\" in Excel or WPS\n"));
        free(out);
        /* No header. */
        f = fopen(path, "w");
        assert_non_null(f);
        fputs("a,b\n1,2\n", f);
        fclose(f);
        assert_int_equal(ctl(h, &out, "import", "households", path, NULL), 1);
        assert_non_null(strstr(out, "latin.csv: no header row"));
}

static void test_households_zh(void **state)
{
        struct harness *h = *state;
        _cleanup_free_ char *out = NULL, *path = path_join(h->confdir, "households.json"),
                            *before = NULL, *after = NULL;
        struct config *cfg;
        struct household *hh;
        struct stat st;

        /* The dry run says what would change and writes nothing. */
        before = snapshot(h);
        assert_int_equal(
            ctl(h, &out, "import", "households", FIXTURES "households-zh.csv", "--dry-run", NULL),
            0);
        assert_true(contains(out, "ignored (no place in the registry): 序号, 姓名, 备注\n"));
        assert_true(
            contains(out, "changed  YJL-0001 (row 3): end open-ended -> 2026-12-14 00:00\n"));
        assert_true(contains(out, "added    YJL-0101 (row 4)\n"));
        assert_true(contains(out, "added    THW-0101 (row 5)\n"));
        assert_true(contains(out, "2 added, 1 changed, 0 ended, 0 unchanged households\n"));
        assert_true(contains(out, "dry run: nothing written\n"));
        after = snapshot(h);
        assert_string_equal(before, after);
        free(out);

        /* For real: the files keep their mode; the daemon's loader reads the result. */
        assert_int_equal(chmod(path, 0640), 0);
        assert_int_equal(ctl(h, &out, "import", "households", FIXTURES "households-zh.csv", NULL),
                         0);
        assert_true(contains(out, "households.json, "));
        assert_true(contains(out, "households.d/taohuawu.json\n"));
        assert_true(contains(out, "systemctl reload doorwatchd"));
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
        cfg = load(h);
        hh = config_household(cfg, "YJL-0101");
        assert_non_null(hh);
        assert_string_equal(hh->team[ROLE_MEDICAL]->id, "w-yjl-07");
        assert_int_equal(hh->n_devices, 0);
        hh = config_household(cfg, "YJL-0001");
        assert_int_equal(hh->n_devices, 2);
        assert_int_equal(hh->n_schedule, 1);
        config_free(cfg);
        free(out);

        /* Again: nothing to do. */
        assert_int_equal(ctl(h, &out, "import", "households", FIXTURES "households-zh.csv", NULL),
                         0);
        assert_true(contains(out, "nothing to write: the registry says this already\n"));
}

static void test_encodings(void **state)
{
        struct harness *h = *state;
        _cleanup_free_ char *out = NULL;
        struct config *cfg;

        assert_int_equal(ctl(h, &out, "import", "households", FIXTURES "households-gbk.csv", NULL),
                         0);
        assert_true(contains(out, "households-gbk.csv: read as GBK/GB18030\n"));
        assert_true(contains(out, "added    THW-0202 (row 3)\n"));
        free(out);
        assert_int_equal(ctl(h, &out, "import", "households", FIXTURES "households-bom.csv", NULL),
                         0);
        assert_true(contains(out, "2 added, 0 changed"));
        cfg = load(h);
        /* GBK, a quoted address with a line break (joined), a name beside a phone. */
        assert_string_equal(config_household(cfg, "THW-0202")->address, "桃花坞巷 51号 2栋 202");
        assert_string_equal(config_household(cfg, "THW-0202")->team[ROLE_COMMUNITY]->id,
                            "w-thw-02");
        assert_string_equal(config_household(cfg, "THW-0201")->team[ROLE_COMMUNITY]->id,
                            "w-thw-01");
        /* BOM, English headers, a quoted comma, RFC 3339 and local times. */
        assert_string_equal(config_household(cfg, "LYL-0101")->address, "柳营里 8号, 3栋 201");
        assert_string_equal(config_household(cfg, "LYL-0102")->team[ROLE_POLICE]->id, "w-lyl-12");
        config_free(cfg);
}

static void test_workers_and_shifts(void **state)
{
        struct harness *h = *state;
        _cleanup_free_ char *out = NULL;
        struct config *cfg;

        assert_int_equal(ctl(h, &out, "import", "workers", FIXTURES "workers-zh.csv", NULL), 0);
        assert_true(contains(out, "4 added, 2 changed, 0 ended, 1 unchanged workers\n"));
        free(out);
        assert_int_equal(ctl(h, &out, "import", "shifts", FIXTURES "shifts-zh.csv", NULL), 0);
        assert_true(contains(out, "changed  yunjinlu (row 3): 8 shift(s), 1 dated cover(s)\n"));
        cfg = load(h);
        assert_string_equal(config_community(cfg, "liuyingli")->leader->name, "孙立");
        assert_int_equal(cfg->n_command, 3);
        assert_string_equal(cfg->command[2]->name, "钱国强");
        assert_int_equal(config_community(cfg, "yunjinlu")->n_shifts, 8);
        assert_int_equal(config_community(cfg, "yunjinlu")->n_overrides, 1);
        config_free(cfg);
}

static void test_round_trip(void **state)
{
        static const char *const kinds[] = { "households", "workers", "shifts" };
        struct harness *h = *state;
        _cleanup_free_ char *before = snapshot(h), *after = NULL;

        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                _cleanup_free_ char *out = NULL, *csv = NULL, *text = NULL;
                size_t len;

                assert_true(asprintf(&csv, "%s/%s.csv", h->dir, kinds[i]) > 0);
                assert_int_equal(ctl(h, &out, "export", kinds[i], "-o", csv, NULL), 0);
                assert_int_equal(read_file(csv, 1 << 20, &text, &len), 0);
                assert_true(str_startswith(text, "\xef\xbb\xbf")); /* Excel reads UTF-8 */
                free(out);
                assert_int_equal(ctl(h, &out, "import", kinds[i], csv, NULL), 0);
                assert_true(contains(out, "nothing to write: the registry says this already\n"));
        }
        after = snapshot(h);
        assert_string_equal(before, after);
}

static void test_json_and_usage(void **state)
{
        struct harness *h = *state;
        _cleanup_free_ char *out = NULL;
        _cleanup_json_ cJSON *j = NULL;
        const cJSON *p;

        assert_int_equal(
            ctl(h, &out, "--json", "import", "households", FIXTURES "households-bad.csv", NULL), 1);
        j = cJSON_Parse(out);
        assert_non_null(j);
        assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "ok")));
        p = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "problems"), 2);
        assert_int_equal(cJSON_GetObjectItem(p, "row")->valueint, 4);
        assert_string_equal(cJSON_GetObjectItem(p, "column")->valuestring, "H");
        assert_string_equal(cJSON_GetObjectItem(p, "severity")->valuestring, "error");
        free(out);
        assert_int_equal(ctl(h, &out, "import", "rota", "x.csv", NULL), 2);
        free(out);
        assert_int_equal(ctl(h, &out, "import", "households", NULL), 2);
        free(out);
        assert_int_equal(ctl(h, &out, "import", "workers", "x.csv", "--end-missing", NULL), 2);
        free(out);
        assert_int_equal(ctl(h, &out, "export", "households", "--bogus", NULL), 2);
        free(out);
        assert_int_equal(ctl(h, &out, "import", "households", "/nonexistent.csv", NULL), 1);
        assert_true(contains(out, "/nonexistent.csv: cannot read: No such file or directory\n"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_bad_rows_write_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_broken_csv, setup, teardown),
                cmocka_unit_test_setup_teardown(test_households_zh, setup, teardown),
                cmocka_unit_test_setup_teardown(test_encodings, setup, teardown),
                cmocka_unit_test_setup_teardown(test_workers_and_shifts, setup, teardown),
                cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_json_and_usage, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

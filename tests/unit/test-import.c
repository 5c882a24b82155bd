/* test-import.c: spreadsheets merged into the registry documents of conf/ (in memory;
 * nothing is written), with the current time injected: what changes and what stays
 * (devices, schedules, comments), where new households go, --end-missing, worker ids
 * made the same on every import, leaders and the command centre, shifts replacing a
 * community's rota, every problem with its row and column (also the loader's, brought back
 * to the row by import_locate()), and export followed by import changing nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "csv.h"
#include "export.h"
#include "import.h"
#include "regdocs.h"
#include "sheet.h"
#include "util.h"

static int setup(void **state)
{
        return timezone_set("Asia/Shanghai");
}

static int64_t at(const char *rfc3339)
{
        int64_t t;
        assert_int_equal(parse_rfc3339(rfc3339, &t), 0);
        return t;
}

/* A sheet, its documents and the result of merging it. */
struct run {
        struct csv *csv;
        struct sheet sheet;
        struct regdocs docs;
        struct import_result res;
};

static void run_text(struct run *t, const char *dir, enum sheet_kind kind, const char *text,
                     size_t len, bool end_missing, int64_t now)
{
        char *msg = NULL;
        unsigned row;

        *t = (struct run){ 0 };
        if (csv_parse(text, len, &t->csv, &row, &msg) != 0 ||
            sheet_open(t->csv, kind, &t->sheet, &row, &msg) != 0)
                fail_msg("row %u: %s", row, msg);
        if (regdocs_read(dir, &t->docs, &msg) != 0)
                fail_msg("%s", msg);
        import_apply(&t->docs, &t->sheet, &(struct import_options){ end_missing, now }, &t->res);
}

static void run_fixture(struct run *t, enum sheet_kind kind, const char *name, bool end_missing,
                        int64_t now)
{
        _cleanup_free_ char *path = NULL, *data = NULL;
        size_t len;

        assert_true(asprintf(&path, "tests/fixtures/import/%s", name) > 0);
        assert_int_equal(read_file(path, 1 << 20, &data, &len), 0);
        run_text(t, "conf", kind, data, len, end_missing, now);
}

#define RUN_TEXT(t, kind, text, end_missing, now)                                                  \
        run_text(t, "conf", kind, text, strlen(text), end_missing, now)

static void run_done(struct run *t)
{
        import_result_done(&t->res);
        regdocs_done(&t->docs);
        sheet_done(&t->sheet);
        csv_free(t->csv);
}

static void print_problems(const struct import_result *res)
{
        for (size_t i = 0; i < res->n_problems; i++)
                fprintf(stderr, "  %u:%d: %s%s\n", res->problems[i].row, res->problems[i].col,
                        res->problems[i].warning ? "warning: " : "", res->problems[i].message);
}

static const struct import_change *find_change(const struct import_result *res, const char *id,
                                               enum import_change_kind kind)
{
        for (size_t i = 0; i < res->n_changes; i++)
                if (strcmp(res->changes[i].id, id) == 0 && res->changes[i].kind == kind)
                        return &res->changes[i];
        return NULL;
}

static size_t count_changes(const struct import_result *res, enum import_change_kind kind)
{
        size_t n = 0;
        for (size_t i = 0; i < res->n_changes; i++)
                n += res->changes[i].kind == kind;
        return n;
}

static bool has_problem(const struct import_result *res, unsigned row, int col, bool warning,
                        const char *message)
{
        for (size_t i = 0; i < res->n_problems; i++)
                if (res->problems[i].row == row && res->problems[i].col == col &&
                    res->problems[i].warning == warning &&
                    strcmp(res->problems[i].message, message) == 0)
                        return true;
        print_problems(res);
        return false;
}

static const cJSON *household(const struct regdocs *d, const char *id, size_t *ret_doc)
{
        for (size_t k = 0; k < d->n_households; k++) {
                const cJSON *h;
                cJSON_ArrayForEach(h, d->households[k].root)
                {
                        const cJSON *v = cJSON_GetObjectItem(h, "id");
                        if (cJSON_IsString(v) && strcmp(v->valuestring, id) == 0) {
                                if (ret_doc)
                                        *ret_doc = k;
                                return h;
                        }
                }
        }
        return NULL;
}

static const char *str_at(const cJSON *o, const char *a, const char *b)
{
        const cJSON *v = cJSON_GetObjectItem(o, a);
        if (b)
                v = cJSON_GetObjectItem(v, b);
        return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The merged documents pass the daemon's loader; its problems come back to rows. */
static size_t validate(struct run *t)
{
        _cleanup_free_ char *dir = NULL;
        struct config_diag diag = { 0 };
        struct config *cfg = NULL;
        size_t errors;

        assert_int_equal(regdocs_write_candidate(&t->docs, &dir), 0);
        config_load(dir, &cfg, &diag);
        for (size_t i = 0; i < diag.n_errors; i++) {
                _cleanup_free_ char *msg = NULL;
                unsigned row;
                int col;
                if (import_locate(&t->res, &t->sheet, diag.errors[i], &row, &col, &msg))
                        import_problem(&t->res, false, row, col, "%s", msg);
                else
                        import_problem(&t->res, false, 0, -1, "%s", diag.errors[i]);
        }
        errors = diag.n_errors;
        config_diag_done(&diag);
        config_free(cfg);
        regdocs_remove_tree(dir);
        return errors;
}

/* ---- households ---- */

static void test_households_zh(void **state)
{
        struct run t;
        const struct import_change *c;
        const cJSON *h;
        size_t doc;

        run_fixture(&t, SHEET_HOUSEHOLDS, "households-zh.csv", false,
                    at("2026-11-25T12:00:00+08:00"));
        if (t.res.n_errors)
                print_problems(&t.res);
        assert_int_equal(t.res.n_errors, 0);
        assert_int_equal(t.sheet.n_ignored, 3); /* 序号, 姓名, 备注 */

        /* YJL-0001: only the end changes; devices, schedule and comment stay. */
        c = find_change(&t.res, "YJL-0001", IMPORT_CHANGED);
        assert_non_null(c);
        assert_int_equal(c->row, 3);
        assert_string_equal(c->detail, "end open-ended -> 2026-12-14 00:00");
        h = household(&t.docs, "YJL-0001", &doc);
        assert_int_equal(doc, 0);
        assert_string_equal(str_at(h, "observation", "end"), "2026-12-14T00:00:00+08:00");
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(h, "devices")), 2);
        assert_non_null(cJSON_GetObjectItem(h, "//"));
        assert_string_equal(str_at(h, "team", "community"), "w-yjl-01"); /* by name + phone */

        /* YJL-0101: new, by names and a community name without 社区; a date-only end is
         * the end of that day. */
        assert_non_null(find_change(&t.res, "YJL-0101", IMPORT_ADDED));
        h = household(&t.docs, "YJL-0101", &doc);
        assert_string_equal(t.docs.households[doc].name, "households.json");
        assert_string_equal(str_at(h, "community", NULL), "yunjinlu");
        assert_string_equal(str_at(h, "observation", "start"), "2026-12-01T00:00:00+08:00");
        assert_string_equal(str_at(h, "observation", "end"), "2026-12-15T00:00:00+08:00");
        assert_string_equal(str_at(h, "team", "community"), "w-yjl-03");
        assert_string_equal(str_at(h, "team", "medical"), "w-yjl-07");
        assert_string_equal(str_at(h, "team", "police"), "w-yjl-13");
        {
                _cleanup_free_ char *s = cJSON_PrintUnformatted(cJSON_GetObjectItem(h, "schedule"));
                assert_string_equal(
                    s, "[{\"role\":\"medical\",\"at\":[\"09:00\",\"15:00\"],\"window\":\"30m\"}]");
        }
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(h, "devices")), 0);

        /* THW-0101 goes where taohuawu's households are; the doctor found by phone. */
        h = household(&t.docs, "THW-0101", &doc);
        assert_string_equal(t.docs.households[doc].name, "households.d/taohuawu.json");
        assert_string_equal(str_at(h, "observation", "start"), "2026-12-01T14:30:00+08:00");
        assert_string_equal(str_at(h, "team", "medical"), "w-thw-07");
        assert_null(cJSON_GetObjectItem(h, "schedule"));
        assert_int_equal(t.res.n_without_devices, 2);

        /* Households of yunjinlu and taohuawu under observation but not in the sheet. */
        assert_non_null(find_change(&t.res, "YJL-0002", IMPORT_NOT_LISTED));
        assert_non_null(find_change(&t.res, "THW-0002", IMPORT_NOT_LISTED));
        assert_null(find_change(&t.res, "LYL-0001", IMPORT_NOT_LISTED)); /* not covered */
        assert_false(regdoc_changed(&t.docs.households[1]) &&
                     strcmp(t.docs.households[1].name, "households.d/liuyingli.json") == 0);
        assert_int_equal(validate(&t), 0);
        run_done(&t);
}

static void test_end_missing(void **state)
{
        static const char sheet[] = "户号,观察结束\nYJL-0001,2026/12/14\n";
        struct run t;
        const struct import_change *c;

        RUN_TEXT(&t, SHEET_HOUSEHOLDS, sheet, true, at("2026-11-25T12:00:30+08:00"));
        assert_int_equal(t.res.n_errors, 0);
        assert_int_equal(count_changes(&t.res, IMPORT_ENDED), 4); /* YJL-0002 .. 0005 */
        c = find_change(&t.res, "YJL-0003", IMPORT_ENDED);
        assert_non_null(c);
        assert_string_equal(c->detail, "end open-ended -> 2026-11-25 12:00:30 (now)");
        assert_string_equal(str_at(household(&t.docs, "YJL-0003", NULL), "observation", "end"),
                            "2026-11-25T12:00:30+08:00");
        /* Other communities are not the sheet's business: THW-0001 stays open-ended. */
        assert_null(str_at(household(&t.docs, "THW-0001", NULL), "observation", "end"));
        assert_true(cJSON_IsNull(cJSON_GetObjectItem(
            cJSON_GetObjectItem(household(&t.docs, "THW-0001", NULL), "observation"), "end")));
        assert_int_equal(validate(&t), 0);
        run_done(&t);

        /* Before they started: listed, not ended, with a warning each. */
        RUN_TEXT(&t, SHEET_HOUSEHOLDS, sheet, true, at("2026-11-19T12:00:00+08:00"));
        assert_int_equal(count_changes(&t.res, IMPORT_ENDED), 0);
        assert_int_equal(count_changes(&t.res, IMPORT_NOT_LISTED), 4);
        assert_true(has_problem(&t.res, 0, -1, true,
                                "YJL-0002 is not in the sheet but its observation starts on "
                                "2026-11-20 00:00: not ended (edit or remove it by hand)"));
        run_done(&t);

        /* Open-ended observations (the example's) never end by themselves: still ended
         * later, as at any time. */
        RUN_TEXT(&t, SHEET_HOUSEHOLDS, sheet, true, at("2026-12-25T00:00:00+08:00"));
        assert_int_equal(count_changes(&t.res, IMPORT_ENDED), 4);
        run_done(&t);
}

static void test_bad_rows(void **state)
{
        struct run t;

        run_fixture(&t, SHEET_HOUSEHOLDS, "households-bad.csv", false,
                    at("2026-11-25T12:00:00+08:00"));
        /* The merge's own checks ... */
        assert_int_equal(t.res.n_errors, 2);
        assert_true(has_problem(&t.res, 2, 3, false,
                                "观察开始 \"2026/13/01\" is not a date (2026-12-01, 2026/12/01 or "
                                "2026年12月1日, optionally with a time such as 08:00)"));
        assert_true(
            has_problem(&t.res, 3, 5, false,
                        "no worker with id, phone number or name \"张三\" in workers.json"));
        /* ... and the loader's, at the row and column they came from. */
        assert_int_equal(validate(&t), 1);
        assert_true(
            has_problem(&t.res, 4, 7, false, "worker \"w-yjl-08\" has role medical, not police"));
        /* The rows with problems changed nothing; the good one was merged (the caller
         * writes nothing while there are problems). */
        assert_null(household(&t.docs, "YJL-0201", NULL));
        assert_null(household(&t.docs, "YJL-0202", NULL));
        assert_non_null(household(&t.docs, "YJL-0204", NULL));
        run_done(&t);
}

static void test_more_problems(void **state)
{
        static const char sheet[] =
            "户号,社区,地址,观察开始,观察结束,网格员,医生,民警\n"
            "YJL-0401,云锦陆社区,a,2026/12/1,2026/12/14,w-yjl-01,w-yjl-07,w-yjl-12\n"
            "YJL-0402,云锦路社区,b,2026/12/1,,w-yjl-01,w-yjl-07,w-yjl-12\n"
            "YJL-0402,云锦路社区,c,2026/12/1,2026/12/14,w-yjl-01,w-yjl-07,w-yjl-12\n"
            ",云锦路社区,d,2026/12/1,2026/12/14,w-yjl-01,w-yjl-07,w-yjl-12\n"
            "YJL 0403,newcomm,e,2026/12/14,2026/12/1,13800000099,w-yjl-07,w-yjl-12\n";
        struct run t;

        RUN_TEXT(&t, SHEET_HOUSEHOLDS, sheet, false, at("2026-11-25T12:00:00+08:00"));
        assert_true(has_problem(&t.res, 2, 1, false,
                                "unknown community \"云锦陆社区\" (known: yunjinlu (云锦路社区), "
                                "taohuawu (桃花坞社区), liuyingli (柳营里社区)); a new one needs "
                                "its id and \"name\" in rosters.json first"));
        /* An empty end is an open-ended observation ("end": null), no problem. */
        assert_false(has_problem(&t.res, 3, 4, false, "观察结束 is empty"));
        assert_true(has_problem(&t.res, 4, 0, false, "household YJL-0402 is on row 3 already"));
        assert_true(has_problem(&t.res, 5, 0, false, "户号 is empty"));
        assert_true(has_problem(&t.res, 6, 1, true,
                                "new community \"newcomm\" (not in rosters.json: it has no leader "
                                "or shifts yet)"));
        assert_true(has_problem(&t.res, 6, 5, false,
                                "\"(phone)\": no worker in workers.json has this phone number"));
        run_done(&t);

        /* The loader's checks: an id with a space, end before start. */
        RUN_TEXT(&t, SHEET_HOUSEHOLDS,
                 "户号,社区,地址,观察开始,观察结束,网格员,医生,民警\n"
                 "YJL 0403,云锦路社区,e,2026/12/14,2026/12/1,w-yjl-01,w-yjl-07,w-yjl-12\n",
                 false, at("2026-11-25T12:00:00+08:00"));
        assert_int_equal(t.res.n_errors, 0);
        assert_int_equal(validate(&t), 2);
        assert_true(has_problem(&t.res, 2, 0, false,
                                "invalid id \"YJL 0403\" (1..128 bytes, no whitespace, control "
                                "characters, '/', '+' or '#')"));
        assert_true(has_problem(&t.res, 2, 4, false, "start must be before end"));
        run_done(&t);
}

/* ---- workers ---- */

static const char *worker_id_named(const struct regdocs *d, const char *name)
{
        const cJSON *w;
        for (w = d->workers.root->child; w; w = w->next)
                if (str_eq(str_at(w, "name", NULL), name))
                        return str_at(w, "id", NULL);
        return NULL;
}

static void test_workers_zh(void **state)
{
        struct run t, again;
        const char *sun, *qian;
        const cJSON *cmd, *lyl;

        run_fixture(&t, SHEET_WORKERS, "workers-zh.csv", false, 0);
        if (t.res.n_errors)
                print_problems(&t.res);
        assert_int_equal(t.res.n_errors, 0);
        /* 刘建国 is found by his phone and unchanged. */
        assert_non_null(find_change(&t.res, "w-yjl-02", IMPORT_UNCHANGED));
        assert_int_equal(count_changes(&t.res, IMPORT_ADDED), 4);
        sun = worker_id_named(&t.docs, "孙立");
        qian = worker_id_named(&t.docs, "钱国强");
        assert_non_null(sun);
        assert_true(strncmp(sun, "w-", 2) == 0 && strlen(sun) == 10);
        /* 值班领导: staff and liuyingli's leader; 指挥中心: staff and in the command centre. */
        lyl = cJSON_GetObjectItem(cJSON_GetObjectItem(t.docs.rosters.root, "communities"),
                                  "liuyingli");
        assert_string_equal(str_at(lyl, "leader", NULL), sun);
        cmd = cJSON_GetObjectItem(t.docs.rosters.root, "command");
        assert_int_equal(cJSON_GetArraySize(cmd), 3);
        assert_string_equal(cJSON_GetArrayItem(cmd, 2)->valuestring, qian);
        assert_int_equal(validate(&t), 0);

        /* The same sheet again on the same registry: the same ids. */
        run_fixture(&again, SHEET_WORKERS, "workers-zh.csv", false, 0);
        assert_string_equal(worker_id_named(&again.docs, "孙立"), sun);
        assert_string_equal(worker_id_named(&again.docs, "钱国强"), qian);
        run_done(&again);
        run_done(&t);
}

static void test_workers_problems(void **state)
{
        struct run t;

        RUN_TEXT(&t, SHEET_WORKERS,
                 "工号,姓名,角色,社区,电话\n"
                 ",甲,志愿者,云锦路社区,13900002001\n"
                 "w-yjl-01,陈晓燕,网格员,云锦路社区,13800000002\n"
                 "w-yjl-01,陈晓燕,网格员,云锦路社区,13800000002\n"
                 ",乙,,云锦路社区,\n"
                 ",,网格员,云锦路社区,\n"
                 ",丙,值班领导,,\n"
                 ",丁,网格员,云锦路社区,12\n",
                 false, 0);
        assert_true(has_problem(&t.res, 2, 2, true,
                                "角色 \"志愿者\" is none of the roles doorwatch knows: read as "
                                "staff (工作人员)"));
        assert_true(has_problem(&t.res, 4, 0, false, "worker w-yjl-01 is on row 3 already"));
        /* The id made for 乙 (community and name hashed) names the row's worker. */
        assert_true(has_problem(&t.res, 5, 2, false,
                                "w-0660f881 is a new worker: the role is needed (网格员, 社区医生, "
                                "社区民警, 安装员, 工作人员 ...)"));
        assert_true(has_problem(&t.res, 6, 1, false, "姓名 is empty"));
        assert_true(has_problem(&t.res, 7, 3, false,
                                "a duty leader (值班领导) leads a community: 社区 is empty"));
        /* The loader's phone rule, at the phone cell. */
        assert_int_equal(validate(&t), 1);
        assert_true(has_problem(&t.res, 8, 4, false,
                                "invalid phone number (expected 3-20 digits with an optional "
                                "leading +)"));
        run_done(&t);
}

/* ---- shifts ---- */

static void test_shifts_zh(void **state)
{
        struct run t;
        const cJSON *c, *o;

        run_fixture(&t, SHEET_SHIFTS, "shifts-zh.csv", false, 0);
        if (t.res.n_errors)
                print_problems(&t.res);
        assert_int_equal(t.res.n_errors, 0);
        c = cJSON_GetObjectItem(cJSON_GetObjectItem(t.docs.rosters.root, "communities"),
                                "yunjinlu");
        /* The weekly shifts say what rosters.json says: kept as they were. */
        assert_false(cJSON_GetObjectItem(c, "shifts")->type & (1 << 12));
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c, "shifts")), 8);
        /* The cover of 27 November is replaced by the sheet's of 11 December. */
        o = cJSON_GetArrayItem(cJSON_GetObjectItem(c, "overrides"), 0);
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c, "overrides")), 1);
        assert_string_equal(str_at(o, "worker", NULL), "w-yjl-03");
        assert_string_equal(str_at(o, "from", NULL), "2026-12-11T20:00:00+08:00");
        assert_string_equal(str_at(o, "to", NULL), "2026-12-12T08:00:00+08:00");
        assert_non_null(find_change(&t.res, "yunjinlu", IMPORT_CHANGED));
        assert_int_equal(validate(&t), 0);
        run_done(&t);

        /* Problems: days, times, a worker's role that is not the shift's (the loader's). */
        RUN_TEXT(&t, SHEET_SHIFTS,
                 "社区,值班人员,角色,星期,开始,结束\n"
                 "云锦路社区,陈晓燕,网格员,周八,8:00,20:00\n"
                 "云锦路社区,陈晓燕,网格员,,8:00,20:00\n"
                 "云锦路社区,陈晓燕,网格员,每天,8:70,20:00\n"
                 "云锦路社区,陈晓燕,社区医生,每天,8:00,20:00\n",
                 false, 0);
        assert_true(has_problem(&t.res, 2, 3, false,
                                "星期 \"周八\" is not a list of days (每天, 工作日, 周末, "
                                "周一至周五, 周六、周日, mon-fri)"));
        assert_true(has_problem(&t.res, 3, 3, false,
                                "星期 is empty: which days does the shift start on (每天, 工作日, "
                                "周一至周五 ...), or a 日期 for one day"));
        assert_true(has_problem(&t.res, 4, 4, false, "开始 \"8:70\" is not a time such as 08:00"));
        assert_int_equal(t.res.n_errors, 3);
        run_done(&t);
}

/* ---- import(export(x)) ---- */

static void test_round_trip(void **state)
{
        struct config_diag diag = { 0 };
        struct config *cfg = NULL;

        assert_int_equal(config_load("conf", &cfg, &diag), 0);
        for (int k = 0; k < _SHEET_KIND_MAX; k++) {
                _cleanup_free_ char *text = export_sheet(cfg, (enum sheet_kind)k);
                struct run t;

                run_text(&t, "conf", (enum sheet_kind)k, text, strlen(text), false,
                         at("2026-11-25T12:00:00+08:00"));
                if (t.res.n_problems)
                        print_problems(&t.res);
                assert_int_equal(t.res.n_problems, 0);
                assert_int_equal(count_changes(&t.res, IMPORT_ADDED), 0);
                assert_int_equal(count_changes(&t.res, IMPORT_CHANGED), 0);
                assert_false(regdoc_changed(&t.docs.workers));
                assert_false(regdoc_changed(&t.docs.rosters));
                for (size_t i = 0; i < t.docs.n_households; i++)
                        assert_false(regdoc_changed(&t.docs.households[i]));
                run_done(&t);
        }
        config_free(cfg);
        config_diag_done(&diag);
}

/* ---- import_locate() ---- */

static void test_locate(void **state)
{
        static const char sheet[] = "户号,社区,地址,观察开始,观察结束,网格员,医生,民警\n"
                                    "YJL-0501,云锦路社区,a,2026/12/1,2026/12/14,w-yjl-01,w-yjl-07,"
                                    "w-yjl-12\n";
        struct run t;
        char *msg = NULL;
        unsigned row = 0;
        int col = 0;

        RUN_TEXT(&t, SHEET_HOUSEHOLDS, sheet, false, at("2026-11-25T12:00:00+08:00"));
        assert_true(import_locate(&t.res, &t.sheet, "households.json: [5].team.police: nope", &row,
                                  &col, &msg));
        assert_int_equal(row, 2);
        assert_int_equal(col, 7);
        assert_string_equal(msg, "nope");
        free(msg);
        /* A path with no column: the row, and the path for the reader. */
        assert_true(import_locate(&t.res, &t.sheet, "households.json: [5].devices[0].id: x", &row,
                                  &col, &msg));
        assert_int_equal(row, 2);
        assert_int_equal(col, -1);
        assert_string_equal(msg, "x (households.json: [5].devices[0].id)");
        free(msg);
        /* Not from the sheet. */
        assert_false(
            import_locate(&t.res, &t.sheet, "households.json: [0].id: x", &row, &col, &msg));
        assert_false(
            import_locate(&t.res, &t.sheet, "households.json: [55].id: x", &row, &col, &msg));
        assert_false(
            import_locate(&t.res, &t.sheet, "doorwatch.json: mqtt.port: x", &row, &col, &msg));
        assert_false(import_locate(&t.res, &t.sheet, "households.json: syntax error near line 3",
                                   &row, &col, &msg));
        run_done(&t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_households_zh), cmocka_unit_test(test_end_missing),
                cmocka_unit_test(test_bad_rows),      cmocka_unit_test(test_more_problems),
                cmocka_unit_test(test_workers_zh),    cmocka_unit_test(test_workers_problems),
                cmocka_unit_test(test_shifts_zh),     cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_locate),
        };
        return cmocka_run_group_tests(tests, setup, NULL);
}

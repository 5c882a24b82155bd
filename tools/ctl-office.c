/* ctl-office.c: `doorwatchctl import` and `export`, the office's spreadsheets in and out
 * of the registry (see ctl-office.h).
 *
 * import: the CSV is read (csv.h) and its columns mapped (sheet.h); the registry files are
 * read as documents (regdocs.h) and the rows merged into them (import.h); the result is
 * written to a candidate directory beside nothing real and loaded with config_load(), the
 * daemon's own loader, whose messages about imported rows come back as FILE:ROW:COLUMN.
 * Every problem is printed at once; the registry files are written (atomically, keeping
 * mode, owner and group) only when there is none and not with --dry-run, which prints the
 * changes only. The daemon reads the files on reload: the command says how to ask it.
 *
 * export: the loaded configuration as a sheet (export.h) on standard output or -o FILE.
 *
 * report: the daily report (report.h) from the database, opened read-only like every query
 * of doorwatchctl, as text, CSV or the self-contained HTML page. */
#include "ctl-office.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "csv.h"
#include "export.h"
#include "import.h"
#include "regdocs.h"
#include "report.h"
#include "secret.h"
#include "sheet.h"
#include "store.h"
#include "util.h"

#define EXIT_USAGE    2
#define MAX_CSV_BYTES (64u * 1024 * 1024)

/* The campaign time zone of dir's doorwatch.json (dates in sheets are local), without
 * loading the whole configuration: the import may be what makes it valid. */
static void set_campaign_timezone(const char *dir)
{
        _cleanup_free_ char *path = path_join(dir, "doorwatch.json"), *text = NULL;
        _cleanup_json_ cJSON *root = NULL;
        const cJSON *tz;
        size_t len;

        if (path && read_file(path, 1u << 20, &text, &len) == 0)
                root =
                    cJSON_Parse(len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0 ? text + 3 : text);
        tz = cJSON_GetObjectItemCaseSensitive(root, "timezone");
        if (timezone_set(cJSON_IsString(tz) ? tz->valuestring : "Asia/Shanghai") < 0)
                timezone_set("Asia/Shanghai");
}

static void print_problem(const char *file, const struct import_problem *p)
{
        char col[8];

        if (p->row && p->col >= 0)
                fprintf(stderr, "%s:%u:%s: %s%s\n", file, p->row, sheet_column_letter(p->col, col),
                        p->warning ? "warning: " : "", p->message);
        else if (p->row)
                fprintf(stderr, "%s:%u: %s%s\n", file, p->row, p->warning ? "warning: " : "",
                        p->message);
        else
                fprintf(stderr, "%s: %s%s\n", file, p->warning ? "warning: " : "", p->message);
}

/* Validates the merged registry with the daemon's loader; its messages about imported
 * rows become problems of the sheet, the others problems of the registry. */
static int validate(const struct regdocs *docs, const struct sheet *sheet,
                    struct import_result *res, size_t *ret_other_warnings)
{
        _cleanup_free_ char *dir = NULL;
        struct config_diag diag = { 0 };
        struct config *cfg = NULL;
        int r;

        r = regdocs_write_candidate(docs, &dir);
        if (r < 0) {
                import_problem(res, false, 0, -1,
                               "cannot write the merged registry for checking: %s", strerror(-r));
                return r;
        }
        config_load(dir, &cfg, &diag);
        config_free(cfg);
        regdocs_remove_tree(dir);
        for (int w = 0; w < 2; w++) {
                char **lines = w ? diag.warnings : diag.errors;
                size_t n = w ? diag.n_warnings : diag.n_errors;

                for (size_t i = 0; i < n; i++) {
                        _cleanup_free_ char *msg = NULL;
                        unsigned row;
                        int col;

                        if (import_locate(res, sheet, lines[i], &row, &col, &msg))
                                import_problem(res, w, row, col, "%s", msg);
                        else if (!w)
                                import_problem(res, false, 0, -1, "%s", lines[i]);
                        else
                                (*ret_other_warnings)++;
                }
        }
        config_diag_done(&diag);
        return 0;
}

static const char *const change_names[] = {
        [IMPORT_ADDED] = "added",           [IMPORT_CHANGED] = "changed",
        [IMPORT_UNCHANGED] = "unchanged",   [IMPORT_ENDED] = "ended",
        [IMPORT_NOT_LISTED] = "not_listed",
};

static void print_changes_text(const struct import_result *res, enum sheet_kind kind)
{
        size_t count[IMPORT_NOT_LISTED + 1] = { 0 };
        size_t shown = 0;

        for (size_t i = 0; i < res->n_changes; i++) {
                const struct import_change *c = &res->changes[i];
                count[c->kind]++;
                if (c->kind == IMPORT_UNCHANGED || c->kind == IMPORT_NOT_LISTED)
                        continue;
                if (c->row)
                        printf("%-8s %s (row %u)%s%s\n", change_names[c->kind], c->id, c->row,
                               c->detail ? ": " : "", c->detail ? c->detail : "");
                else
                        printf("%-8s %s%s%s\n", change_names[c->kind], c->id, c->detail ? ": " : "",
                               c->detail ? c->detail : "");
        }
        if (count[IMPORT_NOT_LISTED]) {
                printf("not in the sheet, left as they are (--end-missing ends them):");
                for (size_t i = 0; i < res->n_changes; i++)
                        if (res->changes[i].kind == IMPORT_NOT_LISTED)
                                printf("%s %s", shown++ ? "," : "", res->changes[i].id);
                printf("\n");
        }
        printf("%zu added, %zu changed, %zu ended, %zu unchanged %s\n", count[IMPORT_ADDED],
               count[IMPORT_CHANGED], count[IMPORT_ENDED], count[IMPORT_UNCHANGED],
               kind == SHEET_SHIFTS ? "communities" : sheet_kind_to_string(kind));
}

static cJSON *result_json(const char *file, const struct csv *csv, const struct sheet *sheet,
                          const struct import_result *res, bool dry_run, char **written,
                          size_t n_written)
{
        cJSON *o = cJSON_CreateObject(), *a;
        char col[8];

        cJSON_AddStringToObject(o, "file", file);
        cJSON_AddStringToObject(o, "encoding", csv ? csv->encoding : "");
        cJSON_AddBoolToObject(o, "ok", res->n_errors == 0);
        cJSON_AddBoolToObject(o, "dry_run", dry_run);
        a = cJSON_AddArrayToObject(o, "problems");
        for (size_t i = 0; i < res->n_problems; i++) {
                const struct import_problem *p = &res->problems[i];
                cJSON *e = cJSON_CreateObject();
                cJSON_AddNumberToObject(e, "row", p->row);
                if (p->col >= 0)
                        cJSON_AddStringToObject(e, "column", sheet_column_letter(p->col, col));
                else
                        cJSON_AddNullToObject(e, "column");
                cJSON_AddStringToObject(e, "severity", p->warning ? "warning" : "error");
                cJSON_AddStringToObject(e, "message", p->message);
                cJSON_AddItemToArray(a, e);
        }
        a = cJSON_AddArrayToObject(o, "ignored_columns");
        for (size_t i = 0; sheet && i < sheet->n_ignored; i++)
                cJSON_AddItemToArray(a, cJSON_CreateString(sheet->ignored[i]));
        a = cJSON_AddArrayToObject(o, "changes");
        for (size_t i = 0; i < res->n_changes; i++) {
                const struct import_change *c = &res->changes[i];
                cJSON *e = cJSON_CreateObject();
                cJSON_AddStringToObject(e, "change", change_names[c->kind]);
                cJSON_AddStringToObject(e, "id", c->id);
                if (c->row)
                        cJSON_AddNumberToObject(e, "row", c->row);
                else
                        cJSON_AddNullToObject(e, "row");
                if (c->detail)
                        cJSON_AddStringToObject(e, "detail", c->detail);
                cJSON_AddItemToArray(a, e);
        }
        a = cJSON_AddArrayToObject(o, "written");
        for (size_t i = 0; i < n_written; i++)
                cJSON_AddItemToArray(a, cJSON_CreateString(written[i]));
        return o;
}

static int import_usage(void)
{
        fprintf(stderr, "Usage: doorwatchctl [-c DIR] import households|workers|shifts FILE.csv "
                        "[--dry-run] [--end-missing]\n");
        return EXIT_USAGE;
}

int office_import(const char *config_dir, bool json, int argc, char **argv)
{
        const char *file = NULL;
        enum sheet_kind kind;
        bool dry_run = false, end_missing = false;
        _cleanup_free_ char *data = NULL, *msg = NULL;
        struct import_result res = { 0 };
        struct regdocs docs = { 0 };
        struct sheet sheet = { 0 };
        struct csv *csv = NULL;
        char **written = NULL;
        size_t len, n_written = 0, other_warnings = 0;
        unsigned row = 0;
        bool have_sheet = false;
        int r, ret = 1;

        if (argc < 1 || (kind = sheet_kind_from_string(argv[0])) == SHEET_KIND_INVALID)
                return import_usage();
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--dry-run") == 0)
                        dry_run = true;
                else if (strcmp(argv[i], "--end-missing") == 0 && kind == SHEET_HOUSEHOLDS)
                        end_missing = true;
                else if (argv[i][0] != '-' && !file)
                        file = argv[i];
                else
                        return import_usage();
        }
        if (!file)
                return import_usage();
        set_campaign_timezone(config_dir);

        r = read_file(file, MAX_CSV_BYTES, &data, &len);
        if (r < 0) {
                fprintf(stderr, "%s: cannot read: %s\n", file, strerror(-r));
                return 1;
        }
        if (csv_parse(data, len, &csv, &row, &msg) != 0 ||
            sheet_open(csv, kind, &sheet, &row, &msg) != 0) {
                if (row)
                        fprintf(stderr, "%s:%u: %s\n", file, row, msg);
                else
                        fprintf(stderr, "%s: %s\n", file, msg);
                fprintf(stderr, "doorwatchctl: nothing imported\n");
                csv_free(csv);
                return 1;
        }
        have_sheet = true;
        free(msg);
        msg = NULL;
        if (regdocs_read(config_dir, &docs, &msg) != 0) {
                fprintf(stderr, "%s/%s\ndoorwatchctl: nothing imported\n", config_dir, msg);
                goto done;
        }

        import_apply(&docs, &sheet, &(struct import_options){ end_missing, now_realtime_usec() },
                     &res);
        validate(&docs, &sheet, &res, &other_warnings);
        import_sort_problems(&res);

        if (res.n_errors == 0 && !dry_run) {
                free(msg);
                msg = NULL;
                if (regdocs_commit(&docs, &written, &n_written, &msg) != 0)
                        import_problem(&res, false, 0, -1, "%s", msg);
        }

        if (json) {
                _cleanup_json_ cJSON *o =
                    result_json(file, csv, &sheet, &res, dry_run, written, n_written);
                char *s = cJSON_Print(o);
                printf("%s\n", s);
                free(s);
        } else {
                if (strcmp(csv->encoding, "GB18030") == 0 || strcmp(csv->encoding, "UTF-16") == 0)
                        fprintf(stderr, "%s: read as %s\n", file,
                                strcmp(csv->encoding, "GB18030") == 0 ? "GBK/GB18030"
                                                                      : csv->encoding);
                if (sheet.n_ignored) {
                        fprintf(stderr, "%s: ignored (no place in the registry):", file);
                        for (size_t i = 0; i < sheet.n_ignored; i++)
                                fprintf(stderr, "%s %s", i ? "," : "", sheet.ignored[i]);
                        fprintf(stderr, "\n");
                }
                for (size_t i = 0; i < res.n_problems; i++)
                        print_problem(file, &res.problems[i]);
                if (res.n_errors == 0)
                        print_changes_text(&res, kind);
        }
        if (res.n_errors > 0) {
                if (!json)
                        fprintf(stderr, "doorwatchctl: nothing written: %zu problem(s)\n",
                                res.n_errors);
                goto done;
        }
        ret = 0;
        if (json)
                goto done;
        if (res.n_without_devices > 0)
                printf("%zu new household(s) without devices: the installers register them "
                       "(\"devices\" in the households file, then doorwatchctl device verify)\n",
                       res.n_without_devices);
        if (other_warnings > 0)
                printf("%zu other warning(s) about the configuration: doorwatchd --check-config "
                       "-c %s\n",
                       other_warnings, config_dir);
        if (dry_run)
                printf("dry run: nothing written\n");
        else if (n_written == 0)
                printf("nothing to write: the registry says this already\n");
        else {
                printf("wrote");
                for (size_t i = 0; i < n_written; i++)
                        printf("%s %s/%s", i ? "," : "", config_dir, written[i]);
                printf("\ndoorwatchd reads it when told to reload: systemctl reload doorwatchd "
                       "(or kill -HUP the doorwatchd process)\n");
        }
done:
        free_strv(written, n_written);
        import_result_done(&res);
        regdocs_done(&docs);
        if (have_sheet)
                sheet_done(&sheet);
        csv_free(csv);
        return ret;
}

int office_export(const char *config_dir, bool json, int argc, char **argv)
{
        struct config_diag diag = { 0 };
        struct config *cfg = NULL;
        const char *out = NULL;
        enum sheet_kind kind;
        _cleanup_free_ char *text = NULL;
        int r;

        if (argc < 1 || (kind = sheet_kind_from_string(argv[0])) == SHEET_KIND_INVALID) {
                fprintf(stderr, "Usage: doorwatchctl [-c DIR] export households|workers|shifts "
                                "[-o FILE]\n");
                return EXIT_USAGE;
        }
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
                        out = argv[++i];
                else {
                        fprintf(stderr, "Usage: doorwatchctl [-c DIR] export "
                                        "households|workers|shifts [-o FILE]\n");
                        return EXIT_USAGE;
                }
        }
        r = config_load(config_dir, &cfg, &diag);
        for (size_t i = 0; i < diag.n_errors; i++)
                fprintf(stderr, "error: %s\n", diag.errors[i]);
        config_diag_done(&diag);
        if (r < 0) {
                fprintf(stderr, "doorwatchctl: configuration in %s is invalid\n", config_dir);
                return 1;
        }
        timezone_set(cfg->timezone);
        text = export_sheet(cfg, kind);
        config_free(cfg);
        if (!out || strcmp(out, "-") == 0) {
                fputs(text, stdout);
                return fflush(stdout) == 0 ? 0 : 1;
        }
        /* Phone numbers and addresses: not for everyone to read. */
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
        size_t len = strlen(text), done = 0;
        if (fd < 0) {
                fprintf(stderr, "doorwatchctl: cannot write %s: %s\n", out, strerror(errno));
                return 1;
        }
        while (done < len) {
                ssize_t k = write(fd, text + done, len - done);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        fprintf(stderr, "doorwatchctl: cannot write %s: %s\n", out,
                                strerror(errno));
                        close(fd);
                        return 1;
                }
                done += (size_t)k;
        }
        if (close(fd) < 0) {
                fprintf(stderr, "doorwatchctl: cannot write %s: %s\n", out, strerror(errno));
                return 1;
        }
        if (!json)
                fprintf(stderr, "wrote %s\n", out);
        return 0;
}

/* Writes text to path (mode 0640: it names people) or standard output ("-" or NULL). */
static int write_out(const char *path, const char *text)
{
        size_t len = strlen(text), done = 0;
        int fd;

        if (!path || strcmp(path, "-") == 0) {
                fputs(text, stdout);
                return fflush(stdout) == 0 ? 0 : -EIO;
        }
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
        if (fd < 0)
                return -errno;
        while (done < len) {
                ssize_t k = write(fd, text + done, len - done);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        int r = -errno;
                        close(fd);
                        return r;
                }
                done += (size_t)k;
        }
        return close(fd) < 0 ? -errno : 0;
}

static int report_usage(void)
{
        fprintf(stderr, "Usage: doorwatchctl [-c DIR] report daily [--date DATE|today|yesterday] "
                        "[--community C] [--format text|csv|html] [-o FILE]\n");
        return EXIT_USAGE;
}

/* The store of cfg->database, read-only, with the database password of
 * database_password_file or the pg.password credential when either is there. */
static int open_store(const struct config *cfg, struct store **ret)
{
        _cleanup_secret_ char *password = NULL;
        int r = secret_read(cfg, SECRET_DATABASE_PASSWORD, cfg->database_password_file, &password);

        if (r < 0)
                return r; /* logged with the path */
        return store_open_with_password(cfg->database, password, false, true, ret);
}

int office_report(const char *config_dir, bool json, int argc, char **argv)
{
        const char *date = NULL, *community = NULL, *out = NULL, *format = "text";
        const struct community *cm = NULL;
        struct config_diag diag = { 0 };
        struct config *cfg = NULL;
        struct store *store = NULL;
        _cleanup_free_ char *text = NULL;
        enum report_format f;
        struct report rep;
        char day[16];
        int r, ret = 1;

        if (argc < 1 || strcmp(argv[0], "daily") != 0)
                return report_usage();
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--date") == 0 && i + 1 < argc)
                        date = argv[++i];
                else if (strcmp(argv[i], "--community") == 0 && i + 1 < argc)
                        community = argv[++i];
                else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc)
                        format = argv[++i];
                else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
                        out = argv[++i];
                else
                        return report_usage();
        }
        f = report_format_from_string(format);
        if (f == REPORT_FORMAT_INVALID) {
                fprintf(stderr, "doorwatchctl: unknown format \"%s\" (text, csv or html)\n",
                        format);
                return EXIT_USAGE;
        }
        r = config_load(config_dir, &cfg, &diag);
        for (size_t i = 0; i < diag.n_errors; i++)
                fprintf(stderr, "error: %s\n", diag.errors[i]);
        config_diag_done(&diag);
        if (r < 0) {
                fprintf(stderr, "doorwatchctl: configuration in %s is invalid\n", config_dir);
                return 1;
        }
        timezone_set(cfg->timezone);
        if (community && !(cm = config_community_named(cfg, community))) {
                fprintf(stderr, "doorwatchctl: no community \"%s\" (its id or name)\n", community);
                ret = EXIT_USAGE;
                goto done;
        }
        if (local_calendar_day(date ? date : "today", now_realtime_usec(), &(int64_t){ 0 },
                               &(int64_t){ 0 }, day) < 0 ||
            report_init(&rep, cfg, day, cm ? cm->id : NULL, now_realtime_usec()) < 0) {
                fprintf(stderr,
                        "doorwatchctl: \"%s\" is not a date (2026-12-01, today, "
                        "yesterday)\n",
                        date);
                ret = EXIT_USAGE;
                goto done;
        }
        r = open_store(cfg, &store);
        if (r < 0) {
                _cleanup_free_ char *shown = store_database_shown(cfg->database);
                fprintf(stderr, "doorwatchctl: cannot open the database %s\n", shown);
        } else if ((r = report_load(&rep, store)) < 0)
                fprintf(stderr, "doorwatchctl: cannot read the report from the database: %s\n",
                        strerror(-r));
        else {
                text = report_render(&rep, f);
                r = write_out(out, text);
                if (r < 0)
                        fprintf(stderr, "doorwatchctl: cannot write %s: %s\n", out ? out : "-",
                                strerror(-r));
                else {
                        ret = 0;
                        if (out && strcmp(out, "-") != 0 && !json)
                                fprintf(stderr, "wrote %s\n", out);
                }
        }
        report_done(&rep);
done:
        store_close(store);
        config_free(cfg);
        return ret;
}

/* sheet.c: the spreadsheets' columns and cells (see sheet.h).
 *
 * Header names are compared after folding: ASCII letters lowercased, spaces (ASCII and
 * U+3000), '_' and '-' removed, a trailing "*" or parenthesised note ("观察结束（日期）",
 * "id (required)") dropped. The column tables below are the one list of what import
 * accepts and export writes; the README's tables are made from them. */
#include "sheet.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

#define A(...) ((const char *const[]){ __VA_ARGS__, NULL })

static const struct sheet_column households_columns[] = {
        { SF_HH_ID, "户号", "id", A("户编号", "编号", "household", "household_id"), true, false,
          "the household's id (used in MQTT topics: no spaces, '/', '+' or '#')" },
        { SF_HH_COMMUNITY, "社区", "community", A("所属社区", "社区名称"), false, false,
          "the community's id or its name in rosters.json" },
        { SF_HH_ADDRESS, "地址", "address", A("住址", "家庭住址", "居住地址", "详细地址"), false,
          false, "the address workers read in alerts" },
        { SF_HH_START, "观察开始", "start",
          A("观察开始日期", "开始日期", "开始时间", "隔离开始", "隔离开始日期",
            "observation_start"),
          false, false, "first day (or instant) of the observation" },
        { SF_HH_END, "观察结束", "end",
          A("观察结束日期", "结束日期", "结束时间", "隔离结束", "隔离结束日期", "解除观察日期",
            "observation_end"),
          false, false,
          "last day of the observation (a date alone: until 24:00 of that day; empty: "
          "open-ended)" },
        { SF_HH_TEAM_COMMUNITY, "网格员", "community_worker",
          A("社区工作者", "社工", "包保网格员", "team_community"), false, false,
          "the team's community worker: worker id, phone, or a name that is unique" },
        { SF_HH_NAME_COMMUNITY, "网格员姓名", "community_worker_name", A("社工姓名"), false, true,
          "display only (export); read as the worker when there is no 网格员 column" },
        { SF_HH_PHONE_COMMUNITY, "网格员电话", "community_worker_phone",
          A("网格员手机", "网格员联系电话", "社工电话"), false, false,
          "the community worker's phone: decides when the 网格员 cell holds a name" },
        { SF_HH_TEAM_MEDICAL, "医生", "medical",
          A("社区医生", "医护人员", "医务人员", "护士", "team_medical", "doctor"), false, false,
          "the team's doctor or nurse (as 网格员)" },
        { SF_HH_NAME_MEDICAL, "医生姓名", "medical_name", A("医护姓名"), false, true,
          "display only" },
        { SF_HH_PHONE_MEDICAL, "医生电话", "medical_phone", A("医生手机", "医护电话"), false, false,
          "the doctor's phone" },
        { SF_HH_TEAM_POLICE, "民警", "police", A("社区民警", "片区民警", "team_police"), false,
          false, "the team's police officer (as 网格员)" },
        { SF_HH_NAME_POLICE, "民警姓名", "police_name", NULL, false, true, "display only" },
        { SF_HH_PHONE_POLICE, "民警电话", "police_phone", A("民警手机"), false, false,
          "the police officer's phone" },
        { SF_HH_VISITS_MEDICAL, "医生上门", "medical_visits",
          A("医生上门时间", "测温时间", "随访时间"), false, false,
          "scheduled visits of the doctor, e.g. \"09:00 15:00\" (window 30m, or the one the "
          "household has)" },
        { SF_HH_VISITS_COMMUNITY, "网格员上门", "community_visits", A("网格员上门时间"), false,
          false, "scheduled visits of the community worker" },
        { SF_HH_VISITS_POLICE, "民警上门", "police_visits", A("民警上门时间"), false, false,
          "scheduled visits of the police officer" },
};

static const struct sheet_column workers_columns[] = {
        { SF_W_ID, "工号", "id", A("编号", "人员编号", "worker", "worker_id"), false, false,
          "the worker's id; made from the community and name when the sheet has none" },
        { SF_W_NAME, "姓名", "name", A("名字", "人员姓名"), true, false, "the worker's name" },
        { SF_W_ROLE, "角色", "role", A("岗位", "职务", "身份", "人员类别"), false, false,
          "网格员/社工, 社区医生/护士, 社区民警, 安装员, 值班领导, 指挥中心, or the registry's "
          "role names" },
        { SF_W_COMMUNITY, "社区", "community", A("所属社区"), false, false,
          "the community's id or name (empty: subdistrict staff)" },
        { SF_W_PHONE, "电话", "phone", A("手机", "手机号", "手机号码", "联系电话", "mobile"), false,
          false, "mobile number (3-20 digits, optional +)" },
        { SF_W_CHANNELS, "通知渠道", "channels", A("渠道", "通知方式"), false, false,
          "notifier names from doorwatch.json, e.g. \"mqtt sms\" (default mqtt)" },
};

static const struct sheet_column shifts_columns[] = {
        { SF_S_COMMUNITY, "社区", "community", A("所属社区"), false, false,
          "the community (default: the worker's)" },
        { SF_S_ROLE, "角色", "role", A("岗位"), false, false,
          "the role on duty (default: the worker's)" },
        { SF_S_WORKER, "值班人员", "worker", A("人员", "工号", "worker_id"), true, false,
          "worker id, phone, or a unique name" },
        { SF_S_WORKER_NAME, "姓名", "worker_name", NULL, false, true,
          "display only; read as the worker when there is no 值班人员 column" },
        { SF_S_WORKER_PHONE, "电话", "worker_phone", A("手机", "联系电话"), false, false,
          "the worker's phone: decides when the worker cell holds a name" },
        { SF_S_DAYS, "星期", "days", A("值班日", "值班星期"), false, false,
          "days the shift starts on: 每天, 工作日, 周末, 周一至周五, 周六、周日, mon-fri" },
        { SF_S_DATE, "日期", "date", A("值班日期"), false, false,
          "a dated cover (override) instead of weekly days" },
        { SF_S_FROM, "开始", "from", A("开始时间", "上班时间", "班次开始"), true, false,
          "08:00 (or a date and time: a dated cover)" },
        { SF_S_TO, "结束", "to", A("结束时间", "下班时间", "班次结束"), true, false,
          "20:00; not after the start: the next day" },
};

#undef A

static const struct {
        const struct sheet_column *cols;
        size_t n;
        const char *name;
} kinds[_SHEET_KIND_MAX] = {
        [SHEET_HOUSEHOLDS] = { households_columns, ELEMENTSOF(households_columns), "households" },
        [SHEET_WORKERS] = { workers_columns, ELEMENTSOF(workers_columns), "workers" },
        [SHEET_SHIFTS] = { shifts_columns, ELEMENTSOF(shifts_columns), "shifts" },
};

const char *sheet_kind_to_string(enum sheet_kind k)
{
        return k >= 0 && k < _SHEET_KIND_MAX ? kinds[k].name : NULL;
}

enum sheet_kind sheet_kind_from_string(const char *s)
{
        for (int k = 0; k < _SHEET_KIND_MAX; k++)
                if (str_eq(s, kinds[k].name))
                        return (enum sheet_kind)k;
        return SHEET_KIND_INVALID;
}

const struct sheet_column *sheet_columns(enum sheet_kind k, size_t *ret_n)
{
        *ret_n = kinds[k].n;
        return kinds[k].cols;
}

/* ---- trimming and folding ---- */

/* Length of a space at s: ASCII white space, U+3000 (ideographic space), U+00A0. */
static size_t space_len(const char *s)
{
        if (*s && strchr(" \t\r\n\v\f", *s))
                return 1;
        if (strncmp(s, "\xe3\x80\x80", 3) == 0)
                return 3;
        if (strncmp(s, "\xc2\xa0", 2) == 0)
                return 2;
        return 0;
}

/* Trims the cell and joins its lines (a line break typed inside a cell) with a space:
 * every cell the registry keeps is one line. */
static void trim(char *s)
{
        size_t n, len, k;
        char *p = s;

        for (char *q = s; *q; q++)
                if (*q == '\n')
                        *q = ' ';
        while ((n = space_len(p)) > 0)
                p += n;
        len = strlen(p);
        memmove(s, p, len + 1);
        for (;;) {
                if (len >= 1 && (k = space_len(s + len - 1)) == 1) {
                        s[--len] = 0;
                } else if (len >= 2 && space_len(s + len - 2) == 2) {
                        len -= 2;
                        s[len] = 0;
                } else if (len >= 3 && space_len(s + len - 3) == 3) {
                        len -= 3;
                        s[len] = 0;
                } else
                        break;
        }
}

/* The folded form of a header into buf (see the top of this file). */
static const char *fold(const char *s, char *buf, size_t size)
{
        size_t o = 0, n;
        char *paren;

        for (const char *p = s; *p && o + 1 < size;) {
                if ((n = space_len(p)) > 0 || *p == '_' || *p == '-') {
                        p += n ? n : 1;
                        continue;
                }
                buf[o++] = (char)tolower((unsigned char)*p++);
        }
        buf[o] = 0;
        while (o > 0 && buf[o - 1] == '*')
                buf[--o] = 0;
        if (o >= 3 && strcmp(buf + o - 3, "\xef\xbc\x8a") == 0) /* ＊ */
                buf[o -= 3] = 0;
        /* A note in parentheses at the end: "(...)" or "（...）". */
        if (o > 0 && buf[o - 1] == ')' && (paren = strrchr(buf, '(')) && paren > buf)
                *paren = 0;
        else if (o >= 3 && strcmp(buf + o - 3, "\xef\xbc\x89") == 0 &&
                 (paren = strstr(buf, "\xef\xbc\x88")) && paren > buf)
                *paren = 0;
        return buf;
}

static bool header_matches(const struct sheet_column *c, const char *folded)
{
        char buf[128];

        if (strcmp(fold(c->zh, buf, sizeof(buf)), folded) == 0 ||
            strcmp(fold(c->en, buf, sizeof(buf)), folded) == 0)
                return true;
        for (const char *const *a = c->aliases; a && *a; a++)
                if (strcmp(fold(*a, buf, sizeof(buf)), folded) == 0)
                        return true;
        return false;
}

static const struct sheet_column *find_column(enum sheet_kind k, const char *header)
{
        char folded[256];

        fold(header, folded, sizeof(folded));
        if (!*folded)
                return NULL;
        for (size_t i = 0; i < kinds[k].n; i++)
                if (header_matches(&kinds[k].cols[i], folded))
                        return &kinds[k].cols[i];
        return NULL;
}

/* ---- the header ---- */

bool sheet_row_blank(const struct csv_row *r)
{
        for (size_t i = 0; i < r->n_cells; i++)
                if (r->cells[i][0])
                        return false;
        return true;
}

static size_t known_columns(enum sheet_kind k, const struct csv_row *r)
{
        size_t n = 0;

        for (size_t i = 0; i < r->n_cells; i++)
                if (find_column(k, r->cells[i]))
                        n++;
        return n;
}

const char *sheet_column_letter(int col, char buf[static 8])
{
        char tmp[8];
        size_t n = 0;

        col++;
        while (col > 0 && n < 7) {
                tmp[n++] = (char)('A' + (col - 1) % 26);
                col = (col - 1) / 26;
        }
        for (size_t i = 0; i < n; i++)
                buf[i] = tmp[n - 1 - i];
        buf[n] = 0;
        return buf;
}

static int failf(char **ret_message, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int failf(char **ret_message, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(ret_message, fmt, ap) < 0)
                abort();
        va_end(ap);
        return 1;
}

static const struct sheet_column *column_of(enum sheet_kind k, enum sheet_field f)
{
        for (size_t i = 0; i < kinds[k].n; i++)
                if (kinds[k].cols[i].field == f)
                        return &kinds[k].cols[i];
        return NULL;
}

int sheet_open(struct csv *csv, enum sheet_kind kind, struct sheet *ret, unsigned *ret_row,
               char **ret_message)
{
        struct sheet s = { .csv = csv, .kind = kind };
        const struct csv_row *h = NULL;
        size_t seen = 0, cap_ignored = 0;
        char letter[8];
        struct sbuf missing;

        *ret_message = NULL;
        *ret_row = 0;
        for (int f = 0; f < _SF_MAX; f++)
                s.col[f] = -1;
        for (size_t i = 0; i < csv->n_rows; i++)
                for (size_t c = 0; c < csv->rows[i].n_cells; c++)
                        trim(csv->rows[i].cells[c]);
        for (size_t i = 0; i < csv->n_rows && seen < 10; i++) {
                if (sheet_row_blank(&csv->rows[i]))
                        continue;
                seen++;
                if (known_columns(kind, &csv->rows[i]) >= 2) {
                        s.header = i;
                        h = &csv->rows[i];
                        break;
                }
        }
        if (!h)
                return failf(ret_message,
                             "no header row: none of the first rows names two or more %s columns "
                             "(e.g. %s, %s)",
                             kinds[kind].name, kinds[kind].cols[0].zh, kinds[kind].cols[1].zh);
        for (size_t c = 0; c < h->n_cells; c++) {
                const struct sheet_column *col = find_column(kind, h->cells[c]);

                if (!col) {
                        if (h->cells[c][0]) {
                                GROW(s.ignored, s.n_ignored, cap_ignored);
                                s.ignored[s.n_ignored++] = xstrdup(h->cells[c]);
                        }
                        continue;
                }
                if (s.col[col->field] >= 0) {
                        char other[8];
                        sheet_done(&s);
                        *ret_row = h->row;
                        return failf(ret_message, "columns %s (%s) and %s (%s) both mean %s",
                                     sheet_column_letter(s.col[col->field], other),
                                     h->cells[s.col[col->field]],
                                     sheet_column_letter((int)c, letter), h->cells[c], col->en);
                }
                s.col[col->field] = (int)c;
        }
        /* A sheet of names: the name column is the worker column. */
        static const enum sheet_field name_for[][2] = {
                { SF_HH_TEAM_COMMUNITY, SF_HH_NAME_COMMUNITY },
                { SF_HH_TEAM_MEDICAL, SF_HH_NAME_MEDICAL },
                { SF_HH_TEAM_POLICE, SF_HH_NAME_POLICE },
                { SF_S_WORKER, SF_S_WORKER_NAME },
        };
        for (size_t i = 0; i < ELEMENTSOF(name_for); i++)
                if (s.col[name_for[i][0]] < 0 && s.col[name_for[i][1]] >= 0) {
                        s.col[name_for[i][0]] = s.col[name_for[i][1]];
                        s.col[name_for[i][1]] = -1;
                }
        sbuf_init(&missing, NULL, 0);
        for (size_t i = 0; i < kinds[kind].n; i++)
                if (kinds[kind].cols[i].required && s.col[kinds[kind].cols[i].field] < 0)
                        sbuf_printf(&missing, "%s%s/%s", missing.len ? ", " : "",
                                    kinds[kind].cols[i].zh, kinds[kind].cols[i].en);
        if (missing.len) {
                int r = failf(ret_message, "no %s column", sbuf_text(&missing));

                *ret_row = h->row;
                sbuf_done(&missing);
                sheet_done(&s);
                return r;
        }
        sbuf_done(&missing);
        *ret = s;
        return 0;
}

void sheet_done(struct sheet *s)
{
        free_strv(s->ignored, s->n_ignored);
        s->ignored = NULL;
        s->n_ignored = 0;
}

const char *sheet_cell(const struct sheet *s, const struct csv_row *r, enum sheet_field f)
{
        int c = s->col[f];
        return c >= 0 && (size_t)c < r->n_cells ? r->cells[c] : "";
}

const char *sheet_header(const struct sheet *s, enum sheet_field f)
{
        const struct csv_row *h = &s->csv->rows[s->header];
        const struct sheet_column *col;

        if (s->col[f] >= 0 && (size_t)s->col[f] < h->n_cells)
                return h->cells[s->col[f]];
        col = column_of(s->kind, f);
        return col ? col->zh : "?";
}

/* ---- dates and times ---- */

/* Reads 1..max digits; returns false without one. */
static bool read_num(const char **p, int max, int *ret)
{
        int v = 0, n = 0;

        while (n < max && isdigit((unsigned char)**p)) {
                v = v * 10 + (**p - '0');
                (*p)++;
                n++;
        }
        *ret = v;
        return n > 0;
}

static bool skip(const char **p, const char *s)
{
        size_t n = strlen(s);
        if (strncmp(*p, s, n) != 0)
                return false;
        *p += n;
        return true;
}

static bool skip_spaces(const char **p)
{
        size_t n;
        bool any = false;

        while ((n = space_len(*p)) > 0) {
                *p += n;
                any = true;
        }
        return any;
}

/* "8:00", "08:00:30", "8点", "8点30分", "8时30分"; full-width colons too. Seconds in
 * *ret_sec. */
static bool read_time(const char **p, int *h, int *m, int *sec)
{
        *m = *sec = 0;
        if (!read_num(p, 2, h))
                return false;
        if (skip(p, ":") || skip(p, "\xef\xbc\x9a")) {
                if (!read_num(p, 2, m))
                        return false;
                if ((skip(p, ":") || skip(p, "\xef\xbc\x9a")) && !read_num(p, 2, sec))
                        return false;
                return true;
        }
        if (skip(p, "点") || skip(p, "时")) {
                if (read_num(p, 2, m))
                        skip(p, "分");
                else
                        skip(p, "整");
                return true;
        }
        return false;
}

static bool valid_date(int y, int mo, int d)
{
        static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

        if (y < 1970 || y > 2999 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1])
                return false;
        return !(mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
}

int sheet_parse_instant(const char *s, bool end, int64_t *ret_usec, bool *ret_has_time)
{
        struct tm tm = { 0 };
        const char *p = s;
        int y, mo, d, h = 0, mi = 0, sec = 0;
        bool has_time = false;
        time_t t;

        if (parse_rfc3339(s, ret_usec) == 0) {
                if (ret_has_time)
                        *ret_has_time = true;
                return 0;
        }
        if (!read_num(&p, 4, &y) || p - s != 4)
                return -EINVAL;
        if (!(skip(&p, "-") || skip(&p, "/") || skip(&p, ".") || skip(&p, "年")))
                return -EINVAL;
        if (!read_num(&p, 2, &mo) ||
            !(skip(&p, "-") || skip(&p, "/") || skip(&p, ".") || skip(&p, "月")))
                return -EINVAL;
        if (!read_num(&p, 2, &d))
                return -EINVAL;
        if (!skip(&p, "日"))
                skip(&p, "号");
        if (*p == 'T' || skip_spaces(&p)) {
                if (*p == 'T')
                        p++;
                skip_spaces(&p);
                if (*p) {
                        if (!read_time(&p, &h, &mi, &sec))
                                return -EINVAL;
                        has_time = true;
                }
        }
        skip_spaces(&p);
        if (*p || !valid_date(y, mo, d) || h > 24 || mi > 59 || sec > 59 ||
            (h == 24 && (mi || sec)))
                return -EINVAL;
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d + (end && !has_time ? 1 : 0);
        tm.tm_hour = h;
        tm.tm_min = mi;
        tm.tm_sec = sec;
        tm.tm_isdst = -1;
        t = mktime(&tm);
        if (t == (time_t)-1)
                return -EINVAL;
        *ret_usec = (int64_t)t * USEC_PER_SEC;
        if (ret_has_time)
                *ret_has_time = has_time;
        return 0;
}

int sheet_parse_time(const char *s, bool allow_24, int *ret_min)
{
        const char *p = s;
        int h, m, sec;

        if (!read_time(&p, &h, &m, &sec))
                return -EINVAL;
        skip_spaces(&p);
        if (*p || m > 59 || sec != 0 || h > 24 || (h == 24 && (!allow_24 || m != 0)))
                return -EINVAL;
        *ret_min = h * 60 + m;
        return 0;
}

/* Skips one list separator: spaces, ',', '，', '、', ';', '；', '/'. */
static bool skip_separators(const char **p)
{
        bool any = false;

        for (;;) {
                if (skip_spaces(p) || skip(p, ",") || skip(p, "，") || skip(p, "、") ||
                    skip(p, ";") || skip(p, "；") || skip(p, "/"))
                        any = true;
                else
                        return any;
        }
}

int sheet_parse_times(const char *s, int *ret_min, size_t max, size_t *ret_n)
{
        const char *p = s;
        size_t n = 0;

        skip_separators(&p);
        while (*p) {
                char buf[32];
                size_t k = 0;

                while (*p && k + 1 < sizeof(buf)) {
                        const char *q = p;
                        if (skip_separators(&q))
                                break;
                        buf[k++] = *p++;
                }
                buf[k] = 0;
                if (n >= max || sheet_parse_time(buf, false, &ret_min[n]) < 0)
                        return -EINVAL;
                n++;
                skip_separators(&p);
        }
        *ret_n = n;
        return 0;
}

/* ---- days ---- */

static const char *const day_en[7] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };
static const char *const day_en_long[7] = { "monday", "tuesday",  "wednesday", "thursday",
                                            "friday", "saturday", "sunday" };
static const char *const day_zh[7] = { "一", "二", "三", "四", "五", "六", "日" };

/* A day at *p: 周一, 星期一, 礼拜一, 一 (bare, in a range), mon, monday. -1 when none. */
static int read_day(const char **p, bool bare_ok)
{
        const char *q = *p;
        bool prefix = skip(&q, "周") || skip(&q, "星期") || skip(&q, "礼拜");

        if (prefix || bare_ok) {
                if (skip(&q, "天")) {
                        *p = q;
                        return 6;
                }
                for (int i = 0; i < 7; i++)
                        if (skip(&q, day_zh[i])) {
                                *p = q;
                                return i;
                        }
                if (prefix)
                        return -1;
        }
        for (int i = 0; i < 7; i++) {
                size_t n = strlen(day_en_long[i]);
                if (strncasecmp(q, day_en_long[i], n) == 0) {
                        *p = q + n;
                        return i;
                }
        }
        for (int i = 0; i < 7; i++)
                if (strncasecmp(q, day_en[i], 3) == 0) {
                        *p = q + 3;
                        return i;
                }
        return -1;
}

int sheet_parse_days(const char *s, uint8_t *ret_mask)
{
        static const struct {
                const char *word;
                uint8_t mask;
        } words[] = {
                { "*", 0x7f },    { "每天", 0x7f },   { "每日", 0x7f },    { "天天", 0x7f },
                { "全周", 0x7f }, { "daily", 0x7f },  { "工作日", 0x1f },  { "weekdays", 0x1f },
                { "周末", 0x60 }, { "双休日", 0x60 }, { "weekend", 0x60 },
        };
        const char *p = s;
        uint8_t mask = 0;

        skip_separators(&p);
        if (!*p)
                return -EINVAL;
        while (*p) {
                bool word = false;
                int a, b;

                for (size_t i = 0; i < ELEMENTSOF(words) && !word; i++)
                        if (strncasecmp(p, words[i].word, strlen(words[i].word)) == 0) {
                                p += strlen(words[i].word);
                                mask |= words[i].mask;
                                word = true;
                        }
                if (!word) {
                        if ((a = read_day(&p, false)) < 0)
                                return -EINVAL;
                        b = a;
                        if (skip(&p, "至") || skip(&p, "到") || skip(&p, "-") || skip(&p, "~") ||
                            skip(&p, "～") || skip(&p, "—") || skip(&p, "–")) {
                                if ((b = read_day(&p, true)) < 0)
                                        return -EINVAL;
                        }
                        for (int d = a;; d = (d + 1) % 7) {
                                mask |= (uint8_t)(1u << d);
                                if (d == b)
                                        break;
                        }
                }
                if (*p && !skip_separators(&p))
                        return -EINVAL;
        }
        *ret_mask = mask;
        return 0;
}

const char *sheet_format_days(uint8_t mask, char buf[static 64])
{
        size_t o = 0;

        buf[0] = 0;
        if ((mask & 0x7f) == 0x7f) {
                snprintf(buf, 64, "每天");
                return buf;
        }
        for (int d = 0; d < 7;) {
                int e = d;

                if (!(mask & (1u << d))) {
                        d++;
                        continue;
                }
                while (e + 1 < 7 && (mask & (1u << (e + 1))))
                        e++;
                if (o)
                        o += (size_t)snprintf(buf + o, 64 - o, "、");
                if (e - d >= 2)
                        o += (size_t)snprintf(buf + o, 64 - o, "周%s至周%s", day_zh[d], day_zh[e]);
                else
                        for (int k = d; k <= e; k++)
                                o += (size_t)snprintf(buf + o, 64 - o, "%s周%s", k > d ? "、" : "",
                                                      day_zh[k]);
                d = e + 1;
        }
        return buf;
}

/* ---- roles ---- */

static const struct {
        const char *word;
        enum role role;
        enum sheet_duty duty;
} role_words[] = {
        { "网格员", ROLE_COMMUNITY, SHEET_DUTY_NONE },
        { "社工", ROLE_COMMUNITY, SHEET_DUTY_NONE },
        { "社区工作者", ROLE_COMMUNITY, SHEET_DUTY_NONE },
        { "网格长", ROLE_COMMUNITY, SHEET_DUTY_NONE },
        { "社区干部", ROLE_COMMUNITY, SHEET_DUTY_NONE },
        { "社区医生", ROLE_MEDICAL, SHEET_DUTY_NONE },
        { "医生", ROLE_MEDICAL, SHEET_DUTY_NONE },
        { "家庭医生", ROLE_MEDICAL, SHEET_DUTY_NONE },
        { "护士", ROLE_MEDICAL, SHEET_DUTY_NONE },
        { "医护", ROLE_MEDICAL, SHEET_DUTY_NONE },
        { "医护人员", ROLE_MEDICAL, SHEET_DUTY_NONE },
        { "社区民警", ROLE_POLICE, SHEET_DUTY_NONE },
        { "民警", ROLE_POLICE, SHEET_DUTY_NONE },
        { "片警", ROLE_POLICE, SHEET_DUTY_NONE },
        { "警察", ROLE_POLICE, SHEET_DUTY_NONE },
        { "安装员", ROLE_INSTALLER, SHEET_DUTY_NONE },
        { "安装人员", ROLE_INSTALLER, SHEET_DUTY_NONE },
        { "工作人员", ROLE_STAFF, SHEET_DUTY_NONE },
        { "值班领导", ROLE_STAFF, SHEET_DUTY_LEADER },
        { "带班领导", ROLE_STAFF, SHEET_DUTY_LEADER },
        { "leader", ROLE_STAFF, SHEET_DUTY_LEADER },
        { "指挥中心", ROLE_STAFF, SHEET_DUTY_COMMAND },
        { "指挥部", ROLE_STAFF, SHEET_DUTY_COMMAND },
        { "command", ROLE_STAFF, SHEET_DUTY_COMMAND },
};

bool sheet_parse_role(const char *s, enum role *ret_role, enum sheet_duty *ret_duty)
{
        char folded[128], buf[128];
        enum role r;

        fold(s, folded, sizeof(folded));
        *ret_duty = SHEET_DUTY_NONE;
        r = role_from_string(folded);
        if (r != ROLE_INVALID) {
                *ret_role = r;
                return true;
        }
        for (size_t i = 0; i < ELEMENTSOF(role_words); i++)
                if (strcmp(fold(role_words[i].word, buf, sizeof(buf)), folded) == 0) {
                        *ret_role = role_words[i].role;
                        *ret_duty = role_words[i].duty;
                        return true;
                }
        *ret_role = ROLE_STAFF;
        return false;
}

const char *sheet_role_label(enum role r, enum sheet_duty duty)
{
        if (duty == SHEET_DUTY_LEADER)
                return "值班领导";
        if (duty == SHEET_DUTY_COMMAND)
                return "指挥中心";
        switch (r) {
        case ROLE_COMMUNITY:
                return "网格员";
        case ROLE_MEDICAL:
                return "社区医生";
        case ROLE_POLICE:
                return "社区民警";
        case ROLE_INSTALLER:
                return "安装员";
        default:
                return "工作人员";
        }
}

/* ---- phones ---- */

const char *sheet_phone_normalize(const char *s, char buf[static 32])
{
        size_t o = 0;

        for (const char *p = s; *p && o < 31;) {
                size_t n = space_len(p);
                if (n) {
                        p += n;
                        continue;
                }
                if (strchr("-.()", *p)) {
                        p++;
                        continue;
                }
                if (skip(&p, "＋")) {
                        buf[o++] = '+';
                        continue;
                }
                buf[o++] = *p++;
        }
        buf[o] = 0;
        return buf;
}

static bool all_digits(const char *s, size_t *ret_n)
{
        size_t n = 0;

        for (; *s; s++, n++)
                if (!isdigit((unsigned char)*s))
                        return false;
        *ret_n = n;
        return true;
}

/* The national number of a Chinese mobile with its country prefix, else s itself. */
static const char *national(const char *s)
{
        static const char *const prefixes[] = { "+86", "0086", "86" };
        size_t n;

        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++)
                if (str_startswith(s, prefixes[i]) && all_digits(s + strlen(prefixes[i]), &n) &&
                    n == 11 && s[strlen(prefixes[i])] == '1')
                        return s + strlen(prefixes[i]);
        return s;
}

bool sheet_phone_equal(const char *a, const char *b)
{
        char ba[32], bb[32];

        if (!a || !b || !*a || !*b)
                return false;
        return strcmp(national(sheet_phone_normalize(a, ba)),
                      national(sheet_phone_normalize(b, bb))) == 0;
}

bool sheet_is_phone(const char *s)
{
        char buf[32];
        const char *p = sheet_phone_normalize(s, buf);
        size_t n;

        if (*p == '+')
                p++;
        return all_digits(p, &n) && n >= 7 && n <= 20;
}

/* report.c: the daily report's figures from rows, and its text and CSV forms (see
 * report.h; the HTML page is report_html.c).
 *
 * Sections: [0] is the total, then one per community of the configuration in its order;
 * a community that rows name but the configuration no longer has gets a section of its
 * own, labelled with its id. Rows of alerts without a community (the system's own) count
 * in the total only. A section owns its ackers and the durations it collects; the report
 * owns its sections. */
#include "report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csv.h"
#include "hashmap.h"
#include "report-internal.h"

static const struct {
        const char *code;
        enum report_rule rule;
} rule_codes[] = {
        { "schedule", REPORT_RULE_SCHEDULE },
        { "checkin", REPORT_RULE_CHECKIN },
        { "pass", REPORT_RULE_PASS },
        { "pass_return", REPORT_RULE_PASS },
        { "report", REPORT_RULE_REPORT },
        { "handoff", REPORT_RULE_HANDOFF },
        { "unexpected", REPORT_RULE_UNEXPECTED },
        { "found_open", REPORT_RULE_UNEXPECTED },
        { "handoff_expired", REPORT_RULE_UNEXPECTED },
        { "too_many", REPORT_RULE_TOO_MANY },
        { "outside_window", REPORT_RULE_OUTSIDE_WINDOW },
};

static const char *const rule_labels[_REPORT_RULE_MAX] = {
        [REPORT_RULE_SCHEDULE] = "预约上门",
        [REPORT_RULE_CHECKIN] = "工作人员登记",
        [REPORT_RULE_PASS] = "通行证（外出及返回）",
        [REPORT_RULE_REPORT] = "居民预报",
        [REPORT_RULE_HANDOFF] = "门铃交接",
        [REPORT_RULE_UNEXPECTED] = "无法解释",
        [REPORT_RULE_TOO_MANY] = "超出预报次数",
        [REPORT_RULE_OUTSIDE_WINDOW] = "观察期外",
        [REPORT_RULE_OTHER] = "其他",
};

/* The same as rows of the table, where they follow the verdicts. */
static const char *const rule_row_labels[_REPORT_RULE_MAX] = {
        [REPORT_RULE_SCHEDULE] = "规则：预约上门",
        [REPORT_RULE_CHECKIN] = "规则：工作人员登记",
        [REPORT_RULE_PASS] = "规则：通行证（外出及返回）",
        [REPORT_RULE_REPORT] = "规则：居民预报",
        [REPORT_RULE_HANDOFF] = "规则：门铃交接",
        [REPORT_RULE_UNEXPECTED] = "规则：无法解释",
        [REPORT_RULE_TOO_MANY] = "规则：超出预报次数",
        [REPORT_RULE_OUTSIDE_WINDOW] = "规则：观察期外",
        [REPORT_RULE_OTHER] = "规则：其他",
};

static const char *const kind_labels[_ALERT_KIND_MAX] = {
        [ALERT_DOOR_OPEN_UNEXPECTED] = "门异常打开",
        [ALERT_PERSON_LEFT] = "有人离开",
        [ALERT_DOOR_HELD_OPEN] = "门长时间未关",
        [ALERT_TOO_MANY_OPENINGS] = "开门次数过多",
        [ALERT_PASS_OVERDUE] = "外出逾期未归",
        [ALERT_TAMPER] = "设备被拆动",
        [ALERT_DEVICE_OFFLINE] = "设备离线",
        [ALERT_BATTERY_LOW] = "电量低",
        [ALERT_MONITORING_GAP] = "监控中断",
        [ALERT_NOTIFICATION_FAILED] = "通知失败",
        [ALERT_STORAGE_FAILED] = "存储故障",
        [ALERT_OBSERVATION_ENDED] = "观察结束（回收设备）",
        [ALERT_ROUND_MISSED] = "健康巡查未完成",
        [ALERT_FEVER] = "发热或可疑症状",
};

enum report_rule report_rule_from_code(const char *code)
{
        for (size_t i = 0; code && i < ELEMENTSOF(rule_codes); i++)
                if (strcmp(rule_codes[i].code, code) == 0)
                        return rule_codes[i].rule;
        return REPORT_RULE_OTHER;
}

const char *report_rule_label(enum report_rule r)
{
        return r >= 0 && r < _REPORT_RULE_MAX ? rule_labels[r] : "?";
}

const char *report_alert_kind_label(enum alert_kind k)
{
        return k >= 0 && k < _ALERT_KIND_MAX && kind_labels[k] ? kind_labels[k] : "?";
}

/* ---- building ---- */

static int64_t local_midnight(int y, int m, int d)
{
        struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_isdst = -1 };
        return (int64_t)mktime(&tm) * USEC_PER_SEC;
}

static struct report_section *add_section(struct report *r, const char *id, const char *label)
{
        struct report_section *s;

        GROW(r->sections, r->n_sections, r->cap_sections);
        s = &r->sections[r->n_sections++];
        *s = (struct report_section){ .community = id, .label = label };
        s->ack_median_usec = s->ack_p90_usec = s->ack_worst_usec = -1;
        if (id)
                hashmap_replace(r->section_by_id, id, (void *)(uintptr_t)r->n_sections);
        return s;
}

int report_init(struct report *r, const struct config *cfg, const char *date, const char *community,
                int64_t now_usec)
{
        int y, m, d, n = 0;
        struct tm tm;
        time_t t;

        *r = (struct report){ .config = cfg, .generated_usec = now_usec, .only = community };
        if (!date || sscanf(date, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || date[n] || m < 1 ||
            m > 12 || d < 1 || d > 31)
                return -EINVAL;
        /* mktime() normalises 2026-02-30 to March: a date that is none comes back changed. */
        t = (time_t)(local_midnight(y, m, d) / USEC_PER_SEC);
        if (!localtime_r(&t, &tm) || tm.tm_year != y - 1900 || tm.tm_mon != m - 1 ||
            tm.tm_mday != d)
                return -EINVAL;
        for (int i = 0; i <= REPORT_DAYS; i++)
                r->day_start[i] = local_midnight(y, m, d - (REPORT_DAYS - 1) + i);
        for (int i = 0; i < REPORT_DAYS; i++) {
                t = (time_t)(r->day_start[i] / USEC_PER_SEC);
                localtime_r(&t, &tm);
                strftime(r->days[i], sizeof(r->days[i]), "%Y-%m-%d", &tm);
        }
        snprintf(r->date, sizeof(r->date), "%s", r->days[REPORT_DAYS - 1]);
        r->day_start_usec = r->day_start[REPORT_DAYS - 1];
        r->day_end_usec = r->day_start[REPORT_DAYS];
        r->first_start_usec = r->day_start[0];
        r->timezone = cfg ? cfg->timezone : NULL;
        r->section_by_id = hashmap_new(16);
        add_section(r, NULL, "合计");
        for (size_t i = 0; cfg && i < cfg->n_communities; i++)
                if (!community || strcmp(community, cfg->communities[i].id) == 0)
                        add_section(r, cfg->communities[i].id,
                                    community_label(&cfg->communities[i]));
        return 0;
}

void report_done(struct report *r)
{
        for (size_t i = 0; i < r->n_sections; i++) {
                struct report_section *s = &r->sections[i];
                for (size_t k = 0; k < s->n_ackers; k++)
                        free(s->ackers[k].worker);
                free(s->ackers);
                for (int d = 0; d < REPORT_DAYS; d++)
                        free(s->ack_usec[d]);
                /* A section made for a community the configuration lacks owns its id. */
                if (s->community && !config_community(r->config, s->community))
                        free((char *)s->community);
        }
        free(r->sections);
        hashmap_free(r->section_by_id);
        *r = (struct report){ 0 };
}

bool report_wants(const struct report *r, const char *community)
{
        return !r->only || str_eq(r->only, community);
}

/* The community's section (created for one the configuration lacks), NULL when the
 * report leaves it out or there is no community. */
static struct report_section *section(struct report *r, const char *community)
{
        void *v;

        if (!community || !report_wants(r, community))
                return NULL;
        v = hashmap_get(r->section_by_id, community);
        if (v)
                return &r->sections[(uintptr_t)v - 1];
        {
                char *id = xstrdup(community);
                return add_section(r, id, id);
        }
}

/* The index of the day holding usec among the REPORT_DAYS days, -1 when none. */
static int day_of(const struct report *r, int64_t usec)
{
        if (usec < r->day_start[0] || usec >= r->day_start[REPORT_DAYS])
                return -1;
        for (int d = REPORT_DAYS - 1; d >= 0; d--)
                if (usec >= r->day_start[d])
                        return d;
        return -1;
}

void report_add_household(struct report *r, const char *community, int64_t start_usec,
                          int64_t end_usec)
{
        int64_t s = r->day_start_usec, e = r->day_end_usec;
        struct report_section *both[2] = { NULL, section(r, community) };

        if (!report_wants(r, community))
                return;
        both[0] = &r->sections[0];
        for (int i = 0; i < 2; i++) {
                struct report_section *x = both[i];
                if (!x)
                        continue;
                x->households_start += start_usec < s && end_usec >= s;
                x->households_end += start_usec < e && end_usec >= e;
                x->households_new += start_usec >= s && start_usec < e;
                x->households_released += end_usec >= s && end_usec < e;
        }
}

void report_add_openings(struct report *r, const char *community, int64_t usec,
                         enum report_verdict verdict, const char *rule, int64_t n)
{
        struct report_section *both[2] = { NULL, section(r, community) };
        enum report_rule ru = report_rule_from_code(rule);
        struct tm tm;

        if (usec < r->day_start_usec || usec >= r->day_end_usec || !report_wants(r, community) ||
            verdict < 0 || verdict >= _REPORT_VERDICT_MAX)
                return;
        both[0] = &r->sections[0];
        if (!local_time(usec / USEC_PER_SEC, &tm))
                return;
        for (int i = 0; i < 2; i++) {
                if (!both[i])
                        continue;
                both[i]->openings += n;
                both[i]->openings_by_verdict[verdict] += n;
                both[i]->openings_by_rule[ru] += n;
                both[i]->openings_by_hour[tm.tm_hour] += n;
                if (verdict == REPORT_ALERT)
                        both[i]->alert_openings_by_hour[tm.tm_hour] += n;
        }
}

static void add_acker(struct report *r, struct report_section *x, const char *worker)
{
        const struct worker *w;

        for (size_t i = 0; i < x->n_ackers; i++)
                if (str_eq(x->ackers[i].worker, worker)) {
                        x->ackers[i].n++;
                        return;
                }
        GROW(x->ackers, x->n_ackers, x->cap_ackers);
        w = worker ? config_worker(r->config, worker) : NULL;
        x->ackers[x->n_ackers++] = (struct report_acker){
                .worker = xstrdup(worker ? worker : "?"),
                .name = w && w->name ? w->name : NULL,
                .n = 1,
        };
}

void report_add_alert(struct report *r, const struct report_alert *a)
{
        struct report_section *both[2] = { NULL, section(r, a->community) };
        int64_t e = r->day_end_usec;
        int d = day_of(r, a->raised_usec);
        bool today = d == REPORT_DAYS - 1;

        if (a->community && !report_wants(r, a->community))
                return;
        if (!a->community && r->only)
                return; /* the system's alerts belong to no community's report */
        both[0] = &r->sections[0];
        for (int i = 0; i < 2; i++) {
                struct report_section *x = both[i];
                if (!x)
                        continue;
                if (a->raised_usec < e && (!a->resolved_usec || a->resolved_usec >= e)) {
                        x->devices_offline += a->kind == ALERT_DEVICE_OFFLINE;
                        x->batteries_low += a->kind == ALERT_BATTERY_LOW;
                }
                if (d < 0)
                        continue;
                if (a->kind != ALERT_OBSERVATION_ENDED)
                        x->alerts_by_day[d]++;
                if (today) {
                        x->alerts++;
                        if (a->kind >= 0 && a->kind < _ALERT_KIND_MAX)
                                x->alerts_by_kind[a->kind]++;
                }
                if (!alert_kind_escalates(a->kind))
                        continue;
                if (a->acked_usec && a->acked_usec < r->day_start[d + 1]) {
                        GROW(x->ack_usec[d], x->n_ack[d], x->cap_ack[d]);
                        x->ack_usec[d][x->n_ack[d]++] = MAX(a->acked_usec - a->raised_usec, 0);
                        if (today) {
                                x->acked++;
                                add_acker(r, x, a->acked_by);
                        }
                } else if (today)
                        x->unacked++;
        }
}

void report_add_failed_notification(struct report *r, const char *community, int64_t usec)
{
        struct report_section *x = section(r, community);

        if (usec < r->day_start_usec || usec >= r->day_end_usec)
                return;
        if (community ? !report_wants(r, community) : r->only != NULL)
                return;
        r->sections[0].notifications_failed++;
        if (x)
                x->notifications_failed++;
}

/* Rows of one community's section (and the total's), for a time in the day. */
static bool in_day_for(struct report *r, const char *community, int64_t usec,
                       struct report_section **x)
{
        if (usec < r->day_start_usec || usec >= r->day_end_usec)
                return false;
        if (community ? !report_wants(r, community) : r->only != NULL)
                return false;
        *x = section(r, community);
        return true;
}

void report_add_round(struct report *r, const char *community, int64_t end_usec,
                      const char *outcome)
{
        struct report_section *x, *t = &r->sections[0];

        if (!in_day_for(r, community, end_usec, &x))
                return;
        for (int k = 0; k < 2; k++) {
                struct report_section *y = k ? x : t;
                if (!y)
                        continue;
                y->rounds_due++;
                y->rounds_done += str_eq(outcome, "done");
                y->rounds_excused += str_eq(outcome, "excused");
                y->rounds_missed += str_eq(outcome, "missed");
        }
}

void report_add_fever(struct report *r, const char *community, int64_t usec)
{
        struct report_section *x;

        if (!in_day_for(r, community, usec, &x))
                return;
        r->sections[0].fevers++;
        if (x)
                x->fevers++;
}

static int cmp_i64(const void *a, const void *b)
{
        int64_t p = *(const int64_t *)a, q = *(const int64_t *)b;
        return p < q ? -1 : p > q;
}

static int cmp_acker(const void *a, const void *b)
{
        const struct report_acker *p = a, *q = b;
        if (p->n != q->n)
                return p->n > q->n ? -1 : 1;
        return strcmp(p->worker, q->worker);
}

/* Nearest rank: the smallest value with at least pct % of them at or below it. */
static int64_t rank(const int64_t *v, size_t n, int pct)
{
        size_t k = (n * (size_t)pct + 99) / 100;
        return v[k > 0 ? k - 1 : 0];
}

void report_finish(struct report *r)
{
        for (size_t i = 0; i < r->n_sections; i++) {
                struct report_section *x = &r->sections[i];
                for (int d = 0; d < REPORT_DAYS; d++) {
                        size_t n = x->n_ack[d];
                        x->ack_median_by_day[d] = x->ack_p90_by_day[d] = -1;
                        if (n == 0)
                                continue;
                        qsort(x->ack_usec[d], n, sizeof(int64_t), cmp_i64);
                        x->ack_median_by_day[d] = rank(x->ack_usec[d], n, 50);
                        x->ack_p90_by_day[d] = rank(x->ack_usec[d], n, 90);
                        if (d == REPORT_DAYS - 1) {
                                x->ack_median_usec = x->ack_median_by_day[d];
                                x->ack_p90_usec = x->ack_p90_by_day[d];
                                x->ack_worst_usec = x->ack_usec[d][n - 1];
                        }
                }
                if (x->n_ackers > 1)
                        qsort(x->ackers, x->n_ackers, sizeof(*x->ackers), cmp_acker);
        }
}

/* ---- text and CSV ---- */

const char *report_format_duration(int64_t usec, char buf[static 32])
{
        int64_t s = usec / USEC_PER_SEC;

        if (usec < 0)
                snprintf(buf, 32, "-");
        else if (s < 60)
                snprintf(buf, 32, "%llds", (long long)s);
        else if (s < 3600)
                snprintf(buf, 32, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
        else
                snprintf(buf, 32, "%lldh%02lldm", (long long)(s / 3600),
                         (long long)(s % 3600 / 60));
        return buf;
}

enum report_format report_format_from_string(const char *s)
{
        static const char *const names[] = { "text", "csv", "html" };
        int i = name_index(names, ELEMENTSOF(names), s);
        return i < 0 ? REPORT_FORMAT_INVALID : (enum report_format)i;
}

static void cell_int(int64_t v, char buf[static 32])
{
        snprintf(buf, 32, "%lld", (long long)v);
}

#define FIELD_FN(name, expr)                                                                       \
        static void name(const struct report_section *x, int arg, char buf[static 32])             \
        {                                                                                          \
                (void)arg;                                                                         \
                cell_int(expr, buf);                                                               \
        }
FIELD_FN(f_hh_start, x->households_start)
FIELD_FN(f_hh_end, x->households_end)
FIELD_FN(f_hh_new, x->households_new)
FIELD_FN(f_hh_released, x->households_released)
FIELD_FN(f_openings, x->openings)
FIELD_FN(f_verdict, x->openings_by_verdict[arg])
FIELD_FN(f_rule, x->openings_by_rule[arg])
FIELD_FN(f_alerts, x->alerts)
FIELD_FN(f_kind, x->alerts_by_kind[arg])
FIELD_FN(f_acked, x->acked)
FIELD_FN(f_unacked, x->unacked)
FIELD_FN(f_offline, x->devices_offline)
FIELD_FN(f_battery, x->batteries_low)
FIELD_FN(f_failed, x->notifications_failed)
FIELD_FN(f_rounds_due, x->rounds_due)
FIELD_FN(f_rounds_done, x->rounds_done)
FIELD_FN(f_rounds_excused, x->rounds_excused)
FIELD_FN(f_rounds_missed, x->rounds_missed)
FIELD_FN(f_fevers, x->fevers)
FIELD_FN(f_alerts_day, x->alerts_by_day[arg])
#undef FIELD_FN

static void f_ack_median(const struct report_section *x, int arg, char buf[static 32])
{
        report_format_duration(x->ack_median_usec, buf);
}

static void f_ack_p90(const struct report_section *x, int arg, char buf[static 32])
{
        report_format_duration(x->ack_p90_usec, buf);
}

static void f_ack_worst(const struct report_section *x, int arg, char buf[static 32])
{
        report_format_duration(x->ack_worst_usec, buf);
}

static const char *const verdict_labels[_REPORT_VERDICT_MAX] = {
        [REPORT_EXPECTED] = "预期",
        [REPORT_ALERT] = "触发告警",
        [REPORT_IGNORED] = "忽略（观察期外、重复）",
};

size_t report_table_rows(const struct report *r, bool all, struct report_row *rows, size_t max)
{
        const struct report_section *t = &r->sections[0];
        size_t n = 0;

#define ROWH(l, f, a, in, h)                                                                       \
        do {                                                                                       \
                if (n < max)                                                                       \
                        rows[n++] = (struct report_row){ (l), (f), (a), (in), (h) };               \
        } while (0)
#define ROW(l, f, a, in) ROWH(l, f, a, in, false)
        ROW("在观察户数（日初）", f_hh_start, 0, 0);
        ROW("在观察户数（日末）", f_hh_end, 0, 0);
        ROW("新增观察", f_hh_new, 0, 0);
        ROW("解除观察", f_hh_released, 0, 0);
        ROW("开门次数", f_openings, 0, 0);
        for (int v = 0; v < _REPORT_VERDICT_MAX; v++)
                ROW(verdict_labels[v], f_verdict, v, 1);
        for (int ru = 0; ru < _REPORT_RULE_MAX; ru++)
                if (all || t->openings_by_rule[ru])
                        ROW(rule_row_labels[ru], f_rule, ru, 1);
        ROW("告警", f_alerts, 0, 0);
        for (int k = 0; k < _ALERT_KIND_MAX; k++)
                if (all || t->alerts_by_kind[k])
                        ROW(kind_labels[k], f_kind, k, 1);
        ROW("需确认告警已确认", f_acked, 0, 0);
        ROW("确认用时中位数", f_ack_median, 0, 1);
        ROW("确认用时90%", f_ack_p90, 0, 1);
        ROW("确认用时最长", f_ack_worst, 0, 1);
        ROWH("当日未确认告警", f_unacked, 0, 0, true);
        ROW("设备离线（日末）", f_offline, 0, 0);
        ROW("电量低（日末）", f_battery, 0, 0);
        ROWH("放弃投递的通知", f_failed, 0, 0, true);
        ROW("健康巡查应做（时段已结束）", f_rounds_due, 0, 0);
        ROW("已完成（有测温记录）", f_rounds_done, 0, 1);
        ROW("外出免做（通行证）", f_rounds_excused, 0, 1);
        ROWH("未完成", f_rounds_missed, 0, 1, true);
        ROWH("发热或可疑症状（测温记录）", f_fevers, 0, 0, true);
        if (all)
                for (int d = 0; d < REPORT_DAYS; d++)
                        ROW(r->days[d], f_alerts_day, d, 0);
#undef ROW
#undef ROWH
        return n;
}

static size_t width(const char *s)
{
        size_t w = 0;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if ((*p & 0xc0) != 0x80)
                        w += *p >= 0xe2 ? 2 : 1;
        return w;
}

static void pad(struct sbuf *b, const char *s, size_t w, bool right)
{
        size_t have = width(s);
        if (right)
                for (size_t i = have; i < w; i++)
                        sbuf_putc(b, ' ');
        sbuf_puts(b, s);
        if (!right)
                for (size_t i = have; i < w; i++)
                        sbuf_putc(b, ' ');
}

const char *report_weekday(const struct report *r)
{
        static const char *const names[] = { "星期日", "星期一", "星期二", "星期三",
                                             "星期四", "星期五", "星期六" };
        struct tm tm;
        return local_time(r->day_start_usec / USEC_PER_SEC, &tm) ? names[tm.tm_wday] : "";
}

void report_render_text(const struct report *r, struct sbuf *b)
{
        struct report_row rows[64];
        size_t n = report_table_rows(r, false, rows, ELEMENTSOF(rows)), w0 = 0, wc = 8;
        char now[32], cell[32];

        sbuf_printf(b, "居家观察日报 %s（%s）%s%s\n", r->date, report_weekday(r),
                    r->only ? " " : "",
                    r->only ? r->sections[r->n_sections > 1 ? 1 : 0].label : "");
        sbuf_printf(b, "生成于 %s（%s）\n\n", format_local_time(r->generated_usec, now),
                    r->timezone ? r->timezone : "");
        for (size_t i = 0; i < n; i++)
                w0 = MAX(w0, width(rows[i].label) + 2 * (size_t)rows[i].indent);
        for (size_t s = 0; s < r->n_sections; s++)
                wc = MAX(wc, width(r->sections[s].label));
        pad(b, "", w0, false);
        for (size_t s = 0; s < r->n_sections; s++) {
                sbuf_puts(b, "  ");
                pad(b, r->sections[s].label, wc, true);
        }
        sbuf_putc(b, '\n');
        for (size_t i = 0; i < n; i++) {
                for (int k = 0; k < rows[i].indent; k++)
                        sbuf_puts(b, "  ");
                pad(b, rows[i].label, w0 - 2 * (size_t)rows[i].indent, false);
                for (size_t s = 0; s < r->n_sections; s++) {
                        rows[i].fn(&r->sections[s], rows[i].arg, cell);
                        sbuf_puts(b, "  ");
                        pad(b, cell, wc, true);
                }
                sbuf_putc(b, '\n');
        }
        sbuf_puts(b, "\n确认人（当日需确认告警）\n");
        for (size_t s = 0; s < r->n_sections; s++) {
                const struct report_section *x = &r->sections[s];
                if (!x->community && r->n_sections > 1 && r->only)
                        continue;
                sbuf_printf(b, "  %s：", x->label);
                if (!x->n_ackers)
                        sbuf_puts(b, "-");
                for (size_t k = 0; k < x->n_ackers; k++)
                        sbuf_printf(b, "%s%s %lld", k ? "，" : "",
                                    x->ackers[k].name ? x->ackers[k].name : x->ackers[k].worker,
                                    (long long)x->ackers[k].n);
                sbuf_putc(b, '\n');
        }
}

void report_render_csv(const struct report *r, struct sbuf *b)
{
        struct report_row rows[96];
        size_t n = report_table_rows(r, true, rows, ELEMENTSOF(rows));
        char cell[32];

        sbuf_puts(b, "\xef\xbb\xbf日期,项目");
        for (size_t s = 0; s < r->n_sections; s++) {
                sbuf_putc(b, ',');
                csv_put_cell(b, r->sections[s].label);
        }
        sbuf_puts(b, "\r\n");
        for (size_t i = 0; i < n; i++) {
                bool day_row = rows[i].fn == f_alerts_day;
                sbuf_printf(b, "%s,", r->date);
                if (day_row)
                        sbuf_printf(b, "告警 %s", rows[i].label);
                else
                        csv_put_cell(b, rows[i].label);
                for (size_t s = 0; s < r->n_sections; s++) {
                        rows[i].fn(&r->sections[s], rows[i].arg, cell);
                        sbuf_putc(b, ',');
                        csv_put_cell(b, cell);
                }
                sbuf_puts(b, "\r\n");
        }
        /* Who acknowledged: one row per worker. */
        for (size_t s = 0; s < r->n_sections; s++)
                for (size_t k = 0; k < r->sections[s].n_ackers; k++) {
                        const struct report_acker *a = &r->sections[s].ackers[k];
                        bool seen = false;
                        for (size_t p = 0; p < s && !seen; p++)
                                for (size_t q = 0; q < r->sections[p].n_ackers; q++)
                                        seen = seen ||
                                               str_eq(r->sections[p].ackers[q].worker, a->worker);
                        if (seen)
                                continue;
                        sbuf_printf(b, "%s,", r->date);
                        {
                                char label[300];
                                snprintf(label, sizeof(label), "确认人 %s (%s)",
                                         a->name ? a->name : "", a->worker);
                                csv_put_cell(b, label);
                        }
                        for (size_t t = 0; t < r->n_sections; t++) {
                                int64_t v = 0;
                                for (size_t q = 0; q < r->sections[t].n_ackers; q++)
                                        if (str_eq(r->sections[t].ackers[q].worker, a->worker))
                                                v = r->sections[t].ackers[q].n;
                                sbuf_printf(b, ",%lld", (long long)v);
                        }
                        sbuf_puts(b, "\r\n");
                }
}

/* report_html.c: the daily report as one self-contained HTML page (see report.h): inline
 * CSS, the summary table, three inline SVG charts and who acknowledged; no script, no
 * external asset (fonts, images, styles), so it can be mailed, archived and printed as it
 * is. The layout fits A4 portrait (@page, 180 mm of content) and the charts scale with
 * their box (viewBox). Text from the configuration (community and worker names) is
 * escaped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report-internal.h"
#include "report.h"

#define CHART_W 680
#define CHART_H 220
#define PAD_L   44
#define PAD_R   12
#define PAD_T   14
#define PAD_B   34

static const char *const palette[] = { "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b",
                                       "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#d62728" };

static void esc(struct sbuf *b, const char *s)
{
        for (; s && *s; s++) {
                switch (*s) {
                case '<':
                        sbuf_puts(b, "&lt;");
                        break;
                case '>':
                        sbuf_puts(b, "&gt;");
                        break;
                case '&':
                        sbuf_puts(b, "&amp;");
                        break;
                case '"':
                        sbuf_puts(b, "&quot;");
                        break;
                default:
                        sbuf_putc(b, *s);
                }
        }
}

/* The smallest of 1, 2, 5 x 10^k at or above v (at least 1). */
static double nice(double v)
{
        double m = 1;

        while (m < v) {
                if (m * 2 >= v)
                        return m * 2;
                if (m * 5 >= v)
                        return m * 5;
                m *= 10;
        }
        return m;
}

/* The top of a chart's axis for values up to v: four steps of a nice size. */
static double nice_max(double v)
{
        return 4 * nice(v / 4);
}

static void axes(struct sbuf *b, double ymax, const char *unit)
{
        double h = CHART_H - PAD_T - PAD_B;

        for (int i = 0; i <= 4; i++) {
                double y = PAD_T + h - h * i / 4;
                double v = ymax * i / 4;
                sbuf_printf(b,
                            "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"grid\"/>"
                            "<text x=\"%d\" y=\"%.1f\" class=\"yl\">%g</text>\n",
                            PAD_L, y, CHART_W - PAD_R, y, PAD_L - 4, y + 4, v);
        }
        if (unit)
                sbuf_printf(b, "<text x=\"4\" y=\"%d\" class=\"unit\">%s</text>\n", PAD_T - 2,
                            unit);
}

static void svg_begin(struct sbuf *b, const char *title, const char *id)
{
        sbuf_printf(b,
                    "<figure id=\"%s\"><figcaption>%s</figcaption>\n"
                    "<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\" "
                    "xmlns=\"http://www.w3.org/2000/svg\">\n",
                    id, title, CHART_W, CHART_H, title);
}

static void svg_end(struct sbuf *b)
{
        sbuf_puts(b, "</svg></figure>\n");
}

/* Openings of the day by hour: all of them, and the alerted ones over them. */
static void chart_hours(struct sbuf *b, const struct report_section *x)
{
        double w = (double)(CHART_W - PAD_L - PAD_R) / 24, h = CHART_H - PAD_T - PAD_B;
        int64_t max = 0;
        double ymax;

        for (int i = 0; i < 24; i++)
                max = MAX(max, x->openings_by_hour[i]);
        ymax = nice_max((double)max);
        svg_begin(b, "当日开门次数（按小时）", "chart-hours");
        axes(b, ymax, "次");
        for (int i = 0; i < 24; i++) {
                double bh = h * (double)x->openings_by_hour[i] / ymax;
                double ah = h * (double)x->alert_openings_by_hour[i] / ymax;
                double bx = PAD_L + w * i + 2;
                if (x->openings_by_hour[i])
                        sbuf_printf(b,
                                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                                    "class=\"bar\"><title>%02d:00 %lld</title></rect>\n",
                                    bx, PAD_T + h - bh, w - 4, bh, i,
                                    (long long)x->openings_by_hour[i]);
                if (x->alert_openings_by_hour[i])
                        sbuf_printf(b,
                                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                                    "class=\"alertbar\"><title>%02d:00 告警 %lld</title></rect>\n",
                                    bx, PAD_T + h - ah, w - 4, ah, i,
                                    (long long)x->alert_openings_by_hour[i]);
                if (i % 3 == 0)
                        sbuf_printf(b, "<text x=\"%.1f\" y=\"%d\" class=\"xl\">%02d</text>\n",
                                    bx + (w - 4) / 2, CHART_H - PAD_B + 14, i);
        }
        sbuf_printf(b,
                    "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" class=\"bar\"/>"
                    "<text x=\"%d\" y=\"%d\" class=\"legend\">开门</text>"
                    "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" class=\"alertbar\"/>"
                    "<text x=\"%d\" y=\"%d\" class=\"legend\">其中告警</text>\n",
                    PAD_L, CHART_H - 14, PAD_L + 14, CHART_H - 5, PAD_L + 60, CHART_H - 14,
                    PAD_L + 74, CHART_H - 5);
        svg_end(b);
}

/* Alerts per day over the 14 days, stacked by community. */
static void chart_alerts(struct sbuf *b, const struct report *r)
{
        double w = (double)(CHART_W - PAD_L - PAD_R) / REPORT_DAYS, h = CHART_H - PAD_T - PAD_B;
        size_t first = r->n_sections > 1 ? 1 : 0;
        int64_t max = 0;
        double ymax, lx = PAD_L;

        for (int d = 0; d < REPORT_DAYS; d++)
                max = MAX(max, r->sections[0].alerts_by_day[d]);
        ymax = nice_max((double)max);
        svg_begin(b, "近14天告警（按社区）", "chart-alerts");
        axes(b, ymax, "条");
        for (int d = 0; d < REPORT_DAYS; d++) {
                double y = PAD_T + h, bx = PAD_L + w * d + 3;
                for (size_t s = first; s < r->n_sections; s++) {
                        const struct report_section *x = &r->sections[s];
                        double bh = h * (double)x->alerts_by_day[d] / ymax;
                        if (!x->alerts_by_day[d])
                                continue;
                        y -= bh;
                        sbuf_printf(b,
                                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                                    "fill=\"%s\"><title>%s ",
                                    bx, y, w - 6, bh, palette[(s - first) % ELEMENTSOF(palette)],
                                    r->days[d]);
                        esc(b, x->label);
                        sbuf_printf(b, " %lld</title></rect>\n", (long long)x->alerts_by_day[d]);
                }
                if (d % 2 == 1 || d == REPORT_DAYS - 1)
                        sbuf_printf(b, "<text x=\"%.1f\" y=\"%d\" class=\"xl\">%s</text>\n",
                                    bx + (w - 6) / 2, CHART_H - PAD_B + 14, r->days[d] + 5);
        }
        for (size_t s = first; s < r->n_sections; s++) {
                sbuf_printf(b,
                            "<rect x=\"%.1f\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                            "<text x=\"%.1f\" y=\"%d\" class=\"legend\">",
                            lx, CHART_H - 14, palette[(s - first) % ELEMENTSOF(palette)], lx + 14,
                            CHART_H - 5);
                esc(b, r->sections[s].label);
                sbuf_puts(b, "</text>\n");
                lx += 24 + 13.0 * (double)strlen(r->sections[s].label) / 3 * 2;
        }
        svg_end(b);
}

/* Median and p90 time to acknowledge per day over the 14 days (minutes), total. */
static void chart_ack(struct sbuf *b, const struct report_section *x, const struct report *r)
{
        double w = (double)(CHART_W - PAD_L - PAD_R) / REPORT_DAYS, h = CHART_H - PAD_T - PAD_B;
        const int64_t *series[2] = { x->ack_median_by_day, x->ack_p90_by_day };
        static const char *const cls[2] = { "median", "p90" };
        int64_t max = 0;
        double ymax;

        for (int d = 0; d < REPORT_DAYS; d++)
                max = MAX(max, x->ack_p90_by_day[d]);
        ymax = nice_max((double)max / USEC_PER_MIN);
        svg_begin(b, "近14天确认用时（分钟，中位数与90%）", "chart-ack");
        axes(b, ymax, "分钟");
        for (int k = 0; k < 2; k++) {
                bool open = false;
                for (int d = 0; d < REPORT_DAYS; d++) {
                        double px = PAD_L + w * d + w / 2;
                        double py = PAD_T + h - h * ((double)series[k][d] / USEC_PER_MIN) / ymax;
                        if (series[k][d] < 0) {
                                if (open)
                                        sbuf_puts(b, "\"/>\n");
                                open = false;
                                continue;
                        }
                        if (!open)
                                sbuf_printf(b, "<polyline class=\"%s\" points=\"", cls[k]);
                        sbuf_printf(b, "%s%.1f,%.1f", open ? " " : "", px, py);
                        open = true;
                }
                if (open)
                        sbuf_puts(b, "\"/>\n");
                for (int d = 0; d < REPORT_DAYS; d++) {
                        char dur[32];
                        if (series[k][d] < 0)
                                continue;
                        sbuf_printf(b,
                                    "<circle class=\"%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\">"
                                    "<title>%s %s</title></circle>\n",
                                    cls[k], PAD_L + w * d + w / 2,
                                    PAD_T + h - h * ((double)series[k][d] / USEC_PER_MIN) / ymax,
                                    r->days[d], report_format_duration(series[k][d], dur));
                }
        }
        for (int d = 0; d < REPORT_DAYS; d += 2)
                sbuf_printf(b, "<text x=\"%.1f\" y=\"%d\" class=\"xl\">%s</text>\n",
                            PAD_L + w * d + w / 2, CHART_H - PAD_B + 14, r->days[d] + 5);
        sbuf_printf(b,
                    "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"median\"/>"
                    "<text x=\"%d\" y=\"%d\" class=\"legend\">中位数</text>"
                    "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"p90\"/>"
                    "<text x=\"%d\" y=\"%d\" class=\"legend\">90%%</text>\n",
                    PAD_L, CHART_H - 9, PAD_L + 16, CHART_H - 9, PAD_L + 20, CHART_H - 5,
                    PAD_L + 80, CHART_H - 9, PAD_L + 96, CHART_H - 9, PAD_L + 100, CHART_H - 5);
        svg_end(b);
}

static const char css[] =
    "@page{size:A4 portrait;margin:12mm}"
    "body{font-family:\"Noto Sans CJK SC\",\"Source Han Sans SC\",\"Microsoft YaHei\","
    "\"PingFang SC\",sans-serif;color:#222;margin:0 auto;max-width:186mm;padding:8px;"
    "font-size:10.5pt}"
    "h1{font-size:16pt;margin:0 0 2px}h2{font-size:12pt;margin:14px 0 6px}"
    ".meta{color:#666;font-size:9pt;margin:0 0 10px}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{border:1px solid #bbb;padding:2px 6px}th{background:#f0f0f0;font-weight:600}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}"
    "td.l1{padding-left:18px}td.l2{padding-left:32px;color:#555}"
    "td.hot{color:#b00;font-weight:600}"
    "figure{margin:10px 0;break-inside:avoid;page-break-inside:avoid}"
    "figcaption{font-weight:600;margin-bottom:2px}"
    "svg{width:100%;height:auto;display:block}"
    "svg text{font-family:inherit;font-size:11px;fill:#444}"
    "svg .yl{text-anchor:end}svg .xl{text-anchor:middle}svg .unit{font-size:10px}"
    "svg .grid{stroke:#ddd;stroke-width:1}"
    "svg .bar{fill:#7fa7d6}svg .alertbar{fill:#d62728}"
    "svg polyline{fill:none;stroke-width:2}"
    "svg .median{stroke:#1f77b4;fill:#1f77b4}svg .p90{stroke:#ff7f0e;fill:#ff7f0e}"
    "svg polyline.median,svg polyline.p90{fill:none}"
    "svg line.median,svg line.p90{stroke-width:2}"
    ".notes{color:#666;font-size:8.5pt}"
    "@media print{body{padding:0}h2{break-after:avoid}}";

const char *report_html_css(void)
{
        return css;
}

char *report_render_html(const struct report *r)
{
        struct report_row rows[64];
        size_t n = report_table_rows(r, false, rows, ELEMENTSOF(rows));
        const struct report_section *focus = &r->sections[r->only && r->n_sections > 1 ? 1 : 0];
        char now[32], cell[32];
        struct sbuf b;
        char *s;

        sbuf_init(&b, NULL, 0);
        sbuf_printf(&b,
                    "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                    "<title>居家观察日报 %s</title><style>%s</style></head><body>\n",
                    r->date, css);
        sbuf_printf(&b, "<h1>居家观察日报 %s（%s）", r->date, report_weekday(r));
        if (r->only) {
                sbuf_puts(&b, " ");
                esc(&b, focus->label);
        }
        sbuf_printf(&b, "</h1>\n<p class=\"meta\">生成于 %s（",
                    format_local_time(r->generated_usec, now));
        esc(&b, r->timezone);
        sbuf_puts(&b, "）；数据来自 doorwatch 数据库，过去日期的报表不会改变。</p>\n");

        sbuf_puts(&b, "<h2>汇总</h2>\n<table id=\"summary\"><thead><tr><th>项目</th>");
        for (size_t i = 0; i < r->n_sections; i++) {
                sbuf_puts(&b, "<th>");
                esc(&b, r->sections[i].label);
                sbuf_puts(&b, "</th>");
        }
        sbuf_puts(&b, "</tr></thead><tbody>\n");
        for (size_t i = 0; i < n; i++) {
                sbuf_printf(&b, "<tr><td class=\"l%d\">", rows[i].indent);
                esc(&b, rows[i].label);
                sbuf_puts(&b, "</td>");
                for (size_t k = 0; k < r->n_sections; k++) {
                        rows[i].fn(&r->sections[k], rows[i].arg, cell);
                        sbuf_printf(&b, "<td class=\"n%s\">%s</td>",
                                    rows[i].hot && strcmp(cell, "0") != 0 ? " hot" : "", cell);
                }
                sbuf_puts(&b, "</tr>\n");
        }
        sbuf_puts(&b, "</tbody></table>\n<h2>图表</h2>\n");
        chart_hours(&b, focus);
        chart_alerts(&b, r);
        chart_ack(&b, focus, r);

        sbuf_puts(&b, "<h2>确认人（当日需确认告警）</h2>\n<table id=\"ackers\"><thead><tr>"
                      "<th>社区</th><th>确认人</th><th>条数</th></tr></thead><tbody>\n");
        for (size_t i = r->n_sections > 1 ? 1 : 0; i < r->n_sections; i++)
                for (size_t k = 0; k < r->sections[i].n_ackers; k++) {
                        const struct report_acker *a = &r->sections[i].ackers[k];
                        sbuf_puts(&b, "<tr><td>");
                        esc(&b, r->sections[i].label);
                        sbuf_puts(&b, "</td><td>");
                        esc(&b, a->name ? a->name : a->worker);
                        sbuf_puts(&b, " (");
                        esc(&b, a->worker);
                        sbuf_printf(&b, ")</td><td class=\"n\">%lld</td></tr>\n", (long long)a->n);
                }
        sbuf_puts(
            &b,
            "</tbody></table>\n<p class=\"notes\">日初：当日零点前开始、零点或以后结束的观察户；"
            "日末：次日零点仍在观察的户；新增、解除：当日（含零点）开始、结束的观察。"
            "开门次数按事件时间计。确认用时：当日产生、需要确认的告警（门、人员、外出、"
            "拆动等）从产生到当日结束前确认的时间（中位数、90%按最近秩）；其余计为当日未确认。"
            "设备离线、电量低：当日结束时尚未解除的告警。放弃投递的通知：当日重试用尽而放弃的通知。"
            "</p>\n"
            "</body></html>\n");
        s = sbuf_finish(&b);
        if (!s)
                abort();
        return s;
}

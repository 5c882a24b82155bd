/* http_report.c: GET /api/v1/reports/daily?date=&community=&format=, the daily report
 * (report.h) from the daemon's own store, behind the office's API token like the rest of
 * the API. date: "2026-12-01", "today" (default) or "yesterday", in the campaign time zone;
 * community: an id or a name (default: all, each with its column); format: html (default:
 * the page the status page opens), csv or text. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http-internal.h"
#include "report.h"

void http_report_daily(struct http_request *rq, struct http_response *rs)
{
        const struct config *cfg = rq->http->deps.config;
        const char *date = http_query(rq, "date"), *community = http_query(rq, "community");
        const char *format = http_query(rq, "format");
        enum report_format f = format ? report_format_from_string(format) : REPORT_HTML;
        int64_t now = now_realtime_usec();
        const char *id = NULL;
        struct report r;
        char day[16];
        char *body;
        int ret;

        if (f == REPORT_FORMAT_INVALID) {
                http_json_error(rs, 400, "\"format\" must be html, csv or text");
                return;
        }
        if (community && *community) {
                for (size_t i = 0; i < cfg->n_communities && !id; i++)
                        if (str_eq(cfg->communities[i].id, community) ||
                            str_eq(cfg->communities[i].name, community))
                                id = cfg->communities[i].id;
                if (!id) {
                        http_json_error(rs, 404, "no community \"%s\"", community);
                        return;
                }
        }
        if (local_calendar_day(date && *date ? date : "today", now, &(int64_t){ 0 },
                               &(int64_t){ 0 }, day) < 0 ||
            report_init(&r, cfg, day, id, now) < 0) {
                http_json_error(rs, 400,
                                "\"date\" must be a date such as 2026-12-01, today or "
                                "yesterday");
                return;
        }
        ret = report_load(&r, rq->http->deps.store);
        if (ret < 0) {
                report_done(&r);
                http_json_error(rs, 500, "database error");
                return;
        }
        body = report_render(&r, f);
        report_done(&r);
        http_set_body(rs, 200,
                      f == REPORT_HTML  ? "text/html"
                      : f == REPORT_CSV ? "text/csv"
                                        : "text/plain",
                      body, strlen(body));
}

/* test-report.c: the daily report against the real doorwatchd and broker. A scripted
 * scenario over the two days before today (event times and command times injected with
 * "ts", max_clock_skew large: nothing waits for a clock) covers every figure: households
 * starting, ending, starting and ending within a day, at midnight; openings decided by a
 * schedule, a check-in, a doorbell hand-off, nothing (alerts), outside the window; acks
 * within and after the day; a battery low; and, today, a device offline and notifications
 * that fail. Every figure of both days and of today is checked exactly, per community and
 * in total, in the CSV that `doorwatchctl report daily` prints; the API answers the same;
 * the HTML is one page; after the registry changes and the daemon restarts, the past days
 * report the same. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "harness.h"
#include "util.h"

#define API_TOKEN "report-test-api-token-0123456789abcdef"

struct scenario {
        struct harness h;
        int64_t day0; /* today's local midnight, Unix seconds */
        char d1[16], d2[16], today[16];
};

static int64_t midnight(int days_from_today)
{
        time_t now = time(NULL);
        struct tm tm;

        localtime_r(&now, &tm);
        tm.tm_mday += days_from_today;
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        tm.tm_isdst = -1;
        return (int64_t)mktime(&tm);
}

static void date_of(int64_t t, char buf[static 16])
{
        time_t tt = (time_t)t;
        struct tm tm;

        localtime_r(&tt, &tm);
        strftime(buf, 16, "%Y-%m-%d", &tm);
}

/* RFC 3339 of t (seconds), local. */
static const char *rfc(int64_t t, char buf[static 40])
{
        time_t tt = (time_t)t;
        struct tm tm;

        localtime_r(&tt, &tm);
        strftime(buf, 40, "%Y-%m-%dT%H:%M:%S+08:00", &tm);
        return buf;
}

#define HOUR 3600
#define DAY  86400

static void write_config(struct scenario *s, int64_t h1_end)
{
        struct harness *h = &s->h;
        int64_t s1 = s->day0 - 2 * DAY, s2 = s->day0 - DAY, s3 = s->day0;
        char buf[8192], a[40], b[40], c[40], d[40], e[40], f[40], g[40], i[40];

        mkdir(h->confdir, 0700);
        snprintf(buf, sizeof(buf), "%s/secrets", h->confdir);
        mkdir(buf, 0700);
        h_write_conf(h, "secrets/api.token", API_TOKEN "\n");
        snprintf(buf, sizeof(buf),
                 "{\"timezone\": \"Asia/Shanghai\", \"database\": \"%s\",\n"
                 " \"mqtt\": {\"host\": \"127.0.0.1\", \"port\": %d, \"client_id\": "
                 "\"doorwatchd-test\", \"keepalive\": \"5s\"},\n"
                 " \"policy\": {\"max_clock_skew\": \"100000d\"},\n"
                 " \"escalation\": {\"ack_timeout\": \"10h\"},\n"
                 " \"notifiers\": {\"mqtt\": {\"type\": \"mqtt\"},"
                 " \"broken\": {\"type\": \"exec\", \"argv\": [\"/bin/false\"]}},\n"
                 " \"outbox\": {\"max_attempts\": 1},\n"
                 " \"http\": {\"listen\": \"127.0.0.1:%d\", \"token_file\": "
                 "\"secrets/api.token\"}}\n",
                 h->dbpath, h->port, h->http_port);
        h_write_conf(h, "doorwatch.json", buf);
        h_write_conf(
            h, "workers.json",
            "[{\"id\": \"wc1\", \"name\": \"一网格\", \"role\": \"community\", \"community\": "
            "\"c1\"},"
            " {\"id\": \"wm1\", \"name\": \"一医生\", \"role\": \"medical\", \"community\": "
            "\"c1\"},"
            " {\"id\": \"wp1\", \"name\": \"一民警\", \"role\": \"police\", \"community\": \"c1\"},"
            " {\"id\": \"wc2\", \"name\": \"二网格\", \"role\": \"community\", \"community\": "
            "\"c2\","
            "  \"channels\": [\"broken\"]},"
            " {\"id\": \"wm2\", \"name\": \"二医生\", \"role\": \"medical\", \"community\": "
            "\"c2\"},"
            " {\"id\": \"wp2\", \"name\": \"二民警\", \"role\": \"police\", \"community\": \"c2\"},"
            " {\"id\": \"l1\", \"name\": \"一领导\", \"role\": \"staff\", \"community\": \"c1\"},"
            " {\"id\": \"l2\", \"name\": \"二领导\", \"role\": \"staff\", \"community\": \"c2\"},"
            " {\"id\": \"cmd\", \"name\": \"指挥\", \"role\": \"staff\"}]");
        snprintf(
            buf, sizeof(buf),
            "[{\"id\": \"H1\", \"community\": \"c1\", \"address\": \"测试路 1号\","
            "  \"observation\": {\"start\": \"%s\", \"end\": \"%s\"},"
            "  \"team\": {\"community\": \"wc1\", \"medical\": \"wm1\", \"police\": \"wp1\"},"
            "  \"schedule\": [{\"role\": \"medical\", \"at\": [\"09:00\"], \"window\": \"30m\"}],"
            "  \"devices\": [{\"id\": \"d-H1\", \"kind\": \"door_contact\", \"source\": "
            "\"native\"},"
            "               {\"id\": \"d-H1-bell\", \"kind\": \"doorbell\", \"source\": "
            "\"native\"}]},"
            " {\"id\": \"H2\", \"community\": \"c1\", \"address\": \"测试路 2号\","
            "  \"observation\": {\"start\": \"%s\", \"end\": \"%s\"},"
            "  \"team\": {\"community\": \"wc1\", \"medical\": \"wm1\", \"police\": \"wp1\"},"
            "  \"devices\": [{\"id\": \"d-H2\", \"kind\": \"door_contact\", \"source\": "
            "\"native\"}]},"
            " {\"id\": \"H3\", \"community\": \"c2\", \"address\": \"测试路 3号\","
            "  \"observation\": {\"start\": \"%s\", \"end\": \"%s\"},"
            "  \"team\": {\"community\": \"wc2\", \"medical\": \"wm2\", \"police\": \"wp2\"},"
            "  \"devices\": [{\"id\": \"d-H3\", \"kind\": \"door_contact\", \"source\": "
            "\"native\"}]},"
            " {\"id\": \"H4\", \"community\": \"c2\", \"address\": \"测试路 4号\","
            "  \"observation\": {\"start\": \"%s\", \"end\": \"%s\"},"
            "  \"team\": {\"community\": \"wc2\", \"medical\": \"wm2\", \"police\": \"wp2\"},"
            "  \"devices\": [{\"id\": \"d-H4\", \"kind\": \"door_contact\", \"source\": "
            "\"native\"}]}]",
            rfc(s1 - 5 * DAY, a), rfc(h1_end, b), rfc(s1 + 9 * HOUR, c), rfc(s3 + 14 * DAY, d),
            rfc(s1 - 5 * DAY, e), rfc(s2, f), rfc(s2 + 8 * HOUR, g), rfc(s2 + 20 * HOUR, i));
        h_write_conf(h, "households.json", buf);
        h_write_conf(h, "rosters.json",
                     "{\"communities\": {\"c1\": {\"name\": \"一社区\", \"leader\": \"l1\"},"
                     " \"c2\": {\"name\": \"二社区\", \"leader\": \"l2\"}},"
                     " \"command\": [\"cmd\"], \"admins\": [\"cmd\"]}");
}

static int setup(void **state)
{
        struct scenario *s = calloc(1, sizeof(*s));

        setenv("TZ", "Asia/Shanghai", 1);
        tzset();
        h_init(&s->h);
        s->day0 = midnight(0);
        date_of(s->day0 - 2 * DAY + 12 * HOUR, s->d1);
        date_of(s->day0 - DAY + 12 * HOUR, s->d2);
        date_of(s->day0 + 12 * HOUR, s->today);
        write_config(s, s->day0 + 10 * DAY);
        h_start_broker(&s->h);
        h_start_daemon(&s->h); /* connects the recording client too */
        *state = s;
        return 0;
}

static int teardown(void **state)
{
        struct scenario *s = *state;
        h_cleanup(&s->h);
        free(s);
        return 0;
}

/* ---- the scenario ---- */

static void event(struct scenario *s, const char *device, const char *id, int64_t t,
                  const char *fields)
{
        char topic[128], payload[256];

        snprintf(topic, sizeof(topic), "doorwatch/v1/devices/%s/events", device);
        snprintf(payload, sizeof(payload), "{\"id\": \"%s\", \"ts\": %lld, %s}", id, (long long)t,
                 fields);
        h_publish(&s->h, topic, payload, false);
        assert_int_equal(
            h_db_wait_int(&s->h, 1, 10000, "SELECT count(*) FROM event WHERE uid = '%s'", id), 1);
}

#define OPEN   "\"type\": \"door\", \"state\": \"open\""
#define CLOSED "\"type\": \"door\", \"state\": \"closed\""

/* The id of the unexpected-opening alert of household at event time t. */
static const char *alert_at(struct scenario *s, const char *household, int64_t t)
{
        static char id[64];
        snprintf(id, sizeof(id), "%s",
                 h_db_text(&s->h,
                           "SELECT id FROM alert WHERE household = '%s' AND event_usec = %lld",
                           household, (long long)t * 1000000));
        assert_true(id[0]);
        return id;
}

static void command(struct scenario *s, const char *worker, const char *verb, const char *body)
{
        char topic[128];

        snprintf(topic, sizeof(topic), "doorwatch/v1/workers/%s/%s", worker, verb);
        h_clear_messages(&s->h);
        h_publish(&s->h, topic, body, false);
        snprintf(topic, sizeof(topic), "doorwatch/v1/workers/%s/result", worker);
        assert_int_equal(h_wait_messages(&s->h, topic, 1, 10000), 1);
        if (!strstr(h_message(&s->h, topic, 0)->payload, "\"ok\":true"))
                fail_msg("%s %s: %s", worker, verb, h_message(&s->h, topic, 0)->payload);
}

static void ack(struct scenario *s, const char *worker, const char *alert, int64_t t)
{
        char body[160];
        snprintf(body, sizeof(body), "{\"alert_id\": \"%s\", \"ts\": %lld}", alert, (long long)t);
        command(s, worker, "ack", body);
}

static void play(struct scenario *s)
{
        int64_t s1 = s->day0 - 2 * DAY, s2 = s->day0 - DAY;
        char body[160];

        /* Day 1. */
        event(s, "d-H2", "h2-0800", s1 + 8 * HOUR, OPEN); /* before H2's window */
        event(s, "d-H2", "h2-0801", s1 + 8 * HOUR + 60, CLOSED);
        event(s, "d-H1", "h1-0905", s1 + 9 * HOUR + 300, OPEN); /* scheduled visit */
        event(s, "d-H1", "h1-0906", s1 + 9 * HOUR + 360, CLOSED);
        event(s, "d-H1", "h1-1300", s1 + 13 * HOUR, OPEN); /* unexpected */
        event(s, "d-H1", "h1-1301", s1 + 13 * HOUR + 60, CLOSED);
        event(s, "d-H2", "h2-1400", s1 + 14 * HOUR, OPEN); /* unexpected */
        event(s, "d-H2", "h2-1402", s1 + 14 * HOUR + 120, CLOSED);
        event(s, "d-H3", "h3-2000", s1 + 20 * HOUR, OPEN); /* unexpected */
        event(s, "d-H3", "h3-2001", s1 + 20 * HOUR + 60, CLOSED);
        ack(s, "wc1", alert_at(s, "H1", s1 + 13 * HOUR), s1 + 13 * HOUR + 240);  /* 4m */
        ack(s, "wm1", alert_at(s, "H2", s1 + 14 * HOUR), s1 + 14 * HOUR + 1200); /* 20m */
        ack(s, "wc2", alert_at(s, "H3", s1 + 20 * HOUR), s2 + 30 * 60);          /* the next day */

        /* Day 2. */
        event(s, "d-H3", "h3-0900", s2 + 9 * HOUR, OPEN); /* after H3's window */
        event(s, "d-H3", "h3-0901", s2 + 9 * HOUR + 60, CLOSED);
        event(s, "d-H1", "h1-0910", s2 + 9 * HOUR + 600, OPEN); /* scheduled visit */
        event(s, "d-H1", "h1-0911", s2 + 9 * HOUR + 660, CLOSED);
        event(s, "d-H4", "h4-1000", s2 + 10 * HOUR, OPEN); /* unexpected */
        event(s, "d-H4", "h4-1002", s2 + 10 * HOUR + 120, CLOSED);
        ack(s, "wp2", alert_at(s, "H4", s2 + 10 * HOUR), s2 + 10 * HOUR + 60); /* 1m */
        snprintf(body, sizeof(body), "{\"household\": \"H1\", \"ts\": %lld}",
                 (long long)(s2 + 11 * HOUR));
        command(s, "wc1", "checkin", body);
        event(s, "d-H1", "h1-1105", s2 + 11 * HOUR + 300, OPEN); /* after the check-in */
        event(s, "d-H1", "h1-1106", s2 + 11 * HOUR + 360, CLOSED);
        event(s, "d-H1", "h1-bat", s2 + 12 * HOUR, "\"type\": \"battery\", \"level\": 5");
        event(s, "d-H1-bell", "h1-ring", s2 + 15 * HOUR, "\"type\": \"ring\"");
        event(s, "d-H1", "h1-1500", s2 + 15 * HOUR + 20, OPEN); /* doorbell hand-off */
        event(s, "d-H1", "h1-1501", s2 + 15 * HOUR + 40, CLOSED);
        event(s, "d-H1", "h1-2100", s2 + 21 * HOUR, OPEN); /* unexpected, never acked */
        event(s, "d-H1", "h1-2101", s2 + 21 * HOUR + 60, CLOSED);

        /* Today: a device goes offline; every notification to wc2 fails (three: H3's and
         * H4's alerts, and the notice of H4's ack), each household's failures one alert. */
        h_publish(&s->h, "doorwatch/v1/devices/d-H2/status", "offline", true);
        assert_int_equal(h_db_wait_int(&s->h, 1, 10000,
                                       "SELECT count(*) FROM alert WHERE kind = 'device_offline'"),
                         1);
        assert_int_equal(h_db_wait_int(&s->h, 3, 15000,
                                       "SELECT count(*) FROM notification WHERE state = 'dead'"),
                         3);
        /* One notification_failed alert per household whose notifications failed. */
        assert_int_equal(h_db_wait_int(&s->h, 2, 10000,
                                       "SELECT count(*) FROM alert WHERE kind = "
                                       "'notification_failed'"),
                         2);
}

/* ---- reading the report ---- */

static char *ctl_report(struct scenario *s, const char *date, const char *format)
{
        char bin[512];
        char *out = NULL;
        const char *argv[] = { bin,      "-c", s->h.confdir, "report", "daily",
                               "--date", date, "--format",   format,   NULL };

        snprintf(bin, sizeof(bin), "%s/doorwatchctl", h_build_dir());
        if (h_run(&out, argv) != 0)
                fail_msg("doorwatchctl report daily --date %s: %s", date, out);
        return out;
}

static bool has_row(const char *csv, const char *date, const char *row)
{
        char line[512];

        snprintf(line, sizeof(line), "\r\n%s,%s\r\n", date, row);
        if (strstr(csv, line))
                return true;
        fprintf(stderr, "missing row \"%s,%s\" in:\n%s\n", date, row, csv);
        return false;
}

/* Rows: label, total, 一社区, 二社区. */
#define ROW(csv, date, r) assert_true(has_row(csv, date, r))

static void check_day1(struct scenario *s, const char *csv)
{
        const char *d = s->d1;

        assert_non_null(strstr(csv, "日期,项目,合计,一社区,二社区\r\n"));
        ROW(csv, d, "在观察户数（日初）,2,1,1");
        ROW(csv, d, "在观察户数（日末）,3,2,1");
        ROW(csv, d, "新增观察,1,1,0");
        ROW(csv, d, "解除观察,0,0,0");
        ROW(csv, d, "开门次数,5,4,1");
        ROW(csv, d, "预期,1,1,0");
        ROW(csv, d, "触发告警,3,2,1");
        ROW(csv, d, "告警,3,2,1");
        ROW(csv, d, "忽略（观察期外、重复）,1,1,0");
        ROW(csv, d, "规则：预约上门,1,1,0");
        ROW(csv, d, "规则：无法解释,3,2,1");
        ROW(csv, d, "规则：观察期外,1,1,0");
        ROW(csv, d, "规则：工作人员登记,0,0,0");
        ROW(csv, d, "门异常打开,3,2,1");
        ROW(csv, d, "需确认告警已确认,2,2,0");
        ROW(csv, d, "确认用时中位数,4m00s,4m00s,-");
        ROW(csv, d, "确认用时90%,20m00s,20m00s,-");
        ROW(csv, d, "确认用时最长,20m00s,20m00s,-");
        ROW(csv, d, "当日未确认告警,1,0,1");
        ROW(csv, d, "设备离线（日末）,0,0,0");
        ROW(csv, d, "电量低（日末）,0,0,0");
        ROW(csv, d, "放弃投递的通知,0,0,0");
        ROW(csv, d, "确认人 一网格 (wc1),1,1,0");
        ROW(csv, d, "确认人 一医生 (wm1),1,1,0");
}

static void check_day2(struct scenario *s, const char *csv)
{
        const char *d = s->d2;
        char row[64];

        ROW(csv, d, "在观察户数（日初）,3,2,1");
        ROW(csv, d, "在观察户数（日末）,2,2,0");
        ROW(csv, d, "新增观察,1,0,1");
        ROW(csv, d, "解除观察,2,0,2");
        ROW(csv, d, "开门次数,6,4,2");
        ROW(csv, d, "预期,3,3,0");
        ROW(csv, d, "触发告警,2,1,1");
        ROW(csv, d, "忽略（观察期外、重复）,1,0,1");
        ROW(csv, d, "规则：预约上门,1,1,0");
        ROW(csv, d, "规则：工作人员登记,1,1,0");
        ROW(csv, d, "规则：门铃交接,1,1,0");
        ROW(csv, d, "规则：无法解释,2,1,1");
        ROW(csv, d, "规则：观察期外,1,0,1");
        ROW(csv, d, "告警,3,2,1");
        ROW(csv, d, "门异常打开,2,1,1");
        ROW(csv, d, "电量低,1,1,0"); /* the alert of the day */
        ROW(csv, d, "需确认告警已确认,1,0,1");
        ROW(csv, d, "确认用时中位数,1m00s,-,1m00s");
        ROW(csv, d, "确认用时最长,1m00s,-,1m00s");
        ROW(csv, d, "当日未确认告警,1,1,0");
        ROW(csv, d, "设备离线（日末）,0,0,0");
        ROW(csv, d, "电量低（日末）,1,1,0");
        ROW(csv, d, "放弃投递的通知,0,0,0");
        ROW(csv, d, "确认人 二民警 (wp2),1,0,1");
        /* The 14 days: day 1 and day 2. */
        snprintf(row, sizeof(row), "告警 %s,3,2,1", s->d1);
        ROW(csv, d, row);
        snprintf(row, sizeof(row), "告警 %s,3,2,1", s->d2);
        ROW(csv, d, row);
}

static void check_today(struct scenario *s, const char *csv)
{
        const char *d = s->today;

        ROW(csv, d, "在观察户数（日初）,2,2,0");
        ROW(csv, d, "在观察户数（日末）,2,2,0");
        ROW(csv, d, "开门次数,0,0,0");
        ROW(csv, d, "告警,3,1,2");
        ROW(csv, d, "设备离线,1,1,0");
        ROW(csv, d, "通知失败,2,0,2");
        ROW(csv, d, "设备离线（日末）,1,1,0");
        ROW(csv, d, "电量低（日末）,1,1,0");
        ROW(csv, d, "放弃投递的通知,3,0,3");
}

/* GET on the API, with the token; the body in *ret, the content type in *ret_type. */
static size_t collect(char *data, size_t size, size_t n, void *userdata)
{
        char **b = userdata;
        size_t old = *b ? strlen(*b) : 0;
        char *p = realloc(*b, old + size * n + 1);
        assert_non_null(p);
        memcpy(p + old, data, size * n);
        p[old + size * n] = 0;
        *b = p;
        return size * n;
}

static long api_get(struct scenario *s, const char *path, char **ret, char **ret_type)
{
        CURL *c = curl_easy_init();
        struct curl_slist *hdrs = curl_slist_append(NULL, "Authorization: Bearer " API_TOKEN);
        char url[512], *type = NULL;
        long status = 0;

        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->h.http_port, path);
        *ret = NULL;
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, ret);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
        assert_int_equal(curl_easy_perform(c), CURLE_OK);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
        if (ret_type)
                *ret_type = strdup(type ? type : "");
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(c);
        if (!*ret)
                *ret = strdup("");
        return status;
}

static void test_two_days(void **state)
{
        struct scenario *s = *state;
        char *d1, *d2, *today, *api = NULL, *type = NULL, *html, *again, path[256];

        play(s);
        d1 = ctl_report(s, s->d1, "csv");
        d2 = ctl_report(s, s->d2, "csv");
        today = ctl_report(s, s->today, "csv");
        check_day1(s, d1);
        check_day2(s, d2);
        check_today(s, today);

        /* The API answers what the command line prints. */
        snprintf(path, sizeof(path), "/api/v1/reports/daily?date=%s&format=csv", s->d2);
        assert_int_equal(api_get(s, path, &api, &type), 200);
        assert_string_equal(api, d2);
        assert_non_null(strstr(type, "text/csv"));
        free(api);
        free(type);
        snprintf(path, sizeof(path), "/api/v1/reports/daily?date=%s&community=%s", s->d1,
                 "%E4%BA%8C%E7%A4%BE%E5%8C%BA"); /* 二社区, by its name */
        assert_int_equal(api_get(s, path, &api, &type), 200);
        assert_non_null(strstr(type, "text/html"));
        assert_non_null(strstr(api, "<svg"));
        assert_non_null(strstr(api, "<th>二社区</th>"));
        assert_null(strstr(api, "<th>一社区</th>"));
        free(api);
        free(type);
        assert_int_equal(api_get(s, "/api/v1/reports/daily?date=2026-02-30", &api, NULL), 400);
        free(api);
        assert_int_equal(api_get(s, "/api/v1/reports/daily?community=nowhere", &api, NULL), 404);
        free(api);
        assert_int_equal(api_get(s, "/api/v1/reports/daily?format=pdf", &api, NULL), 400);
        free(api);
        html = ctl_report(s, s->d2, "html");
        assert_true(strncmp(html, "<!DOCTYPE html>", 15) == 0);
        free(html);

        /* The registry changes (H1's observation ends today), the daemon restarts: the
         * past days report what they reported. */
        assert_int_equal(h_stop_daemon(&s->h, SIGTERM), 0);
        write_config(s, s->day0 + 12 * HOUR);
        h_start_daemon(&s->h);
        again = ctl_report(s, s->d1, "csv");
        assert_string_equal(again, d1);
        free(again);
        again = ctl_report(s, s->d2, "csv");
        assert_string_equal(again, d2);
        free(again);
        again = ctl_report(s, s->today, "csv");
        assert_true(has_row(again, s->today, "解除观察,1,1,0"));
        free(again);
        free(d1);
        free(d2);
        free(today);
}

/* ---- the command centre's view of the same scenario ---- */

/* The ids of a JSON answer's alerts, in order, comma-separated; *ret_json keeps it. */
static char *alert_ids(const char *json, const char *array_key, cJSON **ret_json)
{
        cJSON *j = cJSON_Parse(json), *arr = array_key ? cJSON_GetObjectItem(j, array_key) : j, *a;
        struct sbuf b;

        assert_non_null(arr);
        sbuf_init(&b, NULL, 0);
        cJSON_ArrayForEach(a, arr)
        {
                sbuf_printf(&b, "%s%s", b.len ? "," : "",
                            cJSON_GetObjectItem(a, "id")->valuestring);
        }
        if (ret_json)
                *ret_json = j;
        else
                cJSON_Delete(j);
        return sbuf_finish(&b);
}

static char *api_ids(struct scenario *s, const char *query)
{
        char path[512], *body = NULL, *ids;

        snprintf(path, sizeof(path), "/api/v1/alerts?%s", query);
        if (api_get(s, path, &body, NULL) != 200)
                fail_msg("%s: %s", path, body);
        ids = alert_ids(body, "alerts", NULL);
        free(body);
        return ids;
}

static char *ctl_ids(struct scenario *s, const char *const *args)
{
        char bin[512], *out = NULL, *ids;
        const char *argv[16] = { bin, "-c", s->h.confdir, "--json", "alerts", "list" };
        size_t n = 6;

        snprintf(bin, sizeof(bin), "%s/doorwatchctl", h_build_dir());
        for (; *args && n < 15; args++)
                argv[n++] = *args;
        argv[n] = NULL;
        if (h_run(&out, argv) != 0)
                fail_msg("doorwatchctl alerts list: %s", out);
        ids = alert_ids(out, NULL, NULL);
        free(out);
        return ids;
}

static void test_command_centre(void **state)
{
        struct scenario *s = *state;
        int64_t s1 = s->day0 - 2 * DAY, s2 = s->day0 - DAY;
        char a1[64], a2[64], a3[64], a4[64], a5[64], bat[64], off[64], nf3[64], nf4[64];
        char want[512], q[128], *ids, *body = NULL;
        cJSON *j = NULL;

        play(s);
        snprintf(a1, sizeof(a1), "%s", alert_at(s, "H1", s1 + 13 * HOUR));
        snprintf(a2, sizeof(a2), "%s", alert_at(s, "H2", s1 + 14 * HOUR));
        snprintf(a3, sizeof(a3), "%s", alert_at(s, "H3", s1 + 20 * HOUR));
        snprintf(a4, sizeof(a4), "%s", alert_at(s, "H4", s2 + 10 * HOUR));
        snprintf(a5, sizeof(a5), "%s", alert_at(s, "H1", s2 + 21 * HOUR));
        snprintf(bat, sizeof(bat), "%s",
                 h_db_text(&s->h, "SELECT id FROM alert WHERE kind = 'battery_low'"));
        snprintf(off, sizeof(off), "%s",
                 h_db_text(&s->h, "SELECT id FROM alert WHERE kind = 'device_offline'"));
        snprintf(nf3, sizeof(nf3), "%s",
                 h_db_text(&s->h, "SELECT id FROM alert WHERE kind = 'notification_failed'"
                                  " AND household = 'H3'"));
        snprintf(nf4, sizeof(nf4), "%s",
                 h_db_text(&s->h, "SELECT id FROM alert WHERE kind = 'notification_failed'"
                                  " AND household = 'H4'"));

        /* "open": raised, not yet acknowledged; a worklist, oldest first (as raised). */
        ids = api_ids(s, "state=open");
        snprintf(want, sizeof(want), "%s,%s,%s,%s,%s", nf3, nf4, bat, a5, off);
        assert_string_equal(ids, want);
        free(ids);
        /* "acked": acknowledged, not resolved. */
        ids = api_ids(s, "state=acked");
        snprintf(want, sizeof(want), "%s,%s,%s,%s", a1, a2, a3, a4);
        assert_string_equal(ids, want);
        free(ids);
        /* "unresolved" of one community, named by its name. */
        ids = api_ids(s, "state=unresolved&community=%E4%B8%80%E7%A4%BE%E5%8C%BA");
        snprintf(want, sizeof(want), "%s,%s,%s,%s,%s", a1, a2, bat, a5, off);
        assert_string_equal(ids, want);
        free(ids);
        /* A kind, and the day of the raising event (all states: newest first). */
        ids = api_ids(s, "state=open&kind=door_open_unexpected");
        assert_string_equal(ids, a5);
        free(ids);
        snprintf(q, sizeof(q), "state=all&date=%s", s->d1);
        ids = api_ids(s, q);
        snprintf(want, sizeof(want), "%s,%s,%s", a3, a2, a1);
        assert_string_equal(ids, want);
        free(ids);
        ids = api_ids(s, "state=resolved");
        assert_string_equal(ids, "");
        free(ids);
        /* Names for people. */
        assert_int_equal(api_get(s, "/api/v1/alerts?state=acked&community=c1", &body, NULL), 200);
        free(alert_ids(body, "alerts", &j));
        assert_string_equal(
            cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "alerts"), 0),
                                "community_name")
                ->valuestring,
            "一社区");
        assert_string_equal(
            cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "alerts"), 0),
                                "acked_by_name")
                ->valuestring,
            "一网格");
        cJSON_Delete(j);
        free(body);
        /* Refused filters. */
        assert_int_equal(api_get(s, "/api/v1/alerts?state=live", &body, NULL), 400);
        free(body);
        assert_int_equal(api_get(s, "/api/v1/alerts?community=nowhere", &body, NULL), 404);
        free(body);
        assert_int_equal(api_get(s, "/api/v1/alerts?kind=fire", &body, NULL), 400);
        free(body);
        assert_int_equal(api_get(s, "/api/v1/alerts?date=2026-13-01", &body, NULL), 400);
        free(body);

        /* doorwatchctl: the same words and filters (newest first). */
        ids = ctl_ids(s, (const char *const[]){ "--open", NULL });
        snprintf(want, sizeof(want), "%s,%s,%s,%s,%s", off, a5, bat, nf4, nf3);
        assert_string_equal(ids, want);
        free(ids);
        ids = ctl_ids(s, (const char *const[]){ "--unresolved", "--community", "二社区", NULL });
        snprintf(want, sizeof(want), "%s,%s,%s,%s", nf4, a4, nf3, a3);
        assert_string_equal(ids, want);
        free(ids);
        ids = ctl_ids(s, (const char *const[]){ "--state", "all", "--kind", "door_open_unexpected",
                                                "--date", s->d2, NULL });
        snprintf(want, sizeof(want), "%s,%s", a5, a4);
        assert_string_equal(ids, want);
        free(ids);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_two_days, setup, teardown),
                cmocka_unit_test_setup_teardown(test_command_centre, setup, teardown),
        };
        curl_global_init(CURL_GLOBAL_DEFAULT);
        return cmocka_run_group_tests(tests, NULL, NULL);
}

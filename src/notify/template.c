/* template.c: default texts, override validation and bounded rendering.
 *
 * A template is kept as its source string; templates_new() checks every placeholder
 * once, so template_render() can substitute without failing on syntax. struct
 * templates owns one string per kind (defaults are copied too, so freeing is uniform).
 * Labels for {kind}, {severity} and {step} are fixed Chinese words for people; raw
 * identifiers stay available in the JSON payloads for machines. */
#include "notify/template.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Reports a problem of the "templates" object; diag may be NULL (defaults only). */
static void template_error(struct config_diag *diag, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void template_error(struct config_diag *diag, const char *path, const char *fmt, ...)
{
        char msg[256];
        va_list ap;

        if (!diag)
                return;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        config_diag_error(diag, "doorwatch.json", path, "%s", msg);
}

struct kind_info {
        const char *kind;
        const char *label;
        const char *text;
};

static const struct kind_info kinds[] = {
        { "door_open_unexpected", "门异常打开",
          "【居家观察告警】{address} 门被打开（无预约、登记或通行证）。时间 "
          "{time}。请确认：{ack}" },
        { "person_left", "人员外出",
          "【居家观察紧急告警】{address} 有人出门离开（门被打开且摄像头检测到外出）。时间 {time}"
          "。请立即核实：{ack}" },
        { "door_held_open", "门长时间未关",
          "【居家观察告警】{address} 门长时间未关闭。时间 {time}。请确认：{ack}" },
        { "too_many_openings", "开门次数过多",
          "【居家观察告警】{address} 今日报备开门次数已超过限制，门又被打开。时间 "
          "{time}。请确认：{ack}" },
        { "pass_overdue", "通行证逾期未归",
          "【居家观察告警】{address} 外出通行证已到期，未见返回。时间 {time}。请确认：{ack}" },
        { "tamper", "设备被拆动",
          "【居家观察告警】{address} 门磁/门铃设备被拆动。时间 {time}。请确认：{ack}" },
        { "device_offline", "设备离线",
          "【设备提醒】{address} 的门磁/门铃设备已离线，请上门检查。时间 {time}。" },
        { "battery_low", "设备电量低",
          "【设备提醒】{address} 的门磁/门铃设备电量低，请更换电池。时间 {time}。" },
        { "monitoring_gap", "监测中断",
          "【系统告警】门磁监测中断：消息服务器无法连接，自 {time} "
          "起收不到设备消息。请立即处理。" },
        { "monitoring_restored", "监测恢复",
          "【系统通知】门磁监测已恢复：消息服务器重新连接。时间 {time}。" },
        { "notification_failed", "通知发送失败",
          "【系统告警】通知发送失败：{household} {address} 的告警未能送达。时间 "
          "{time}。请检查通知渠道。" },
        { "storage_failed", "数据存储失败",
          "【系统告警】数据库无法写入（磁盘满或故障），门磁消息暂存于内存和消息服务器，"
          "尚未保存。时间 {time}。请立即处理。" },
        { "storage_restored", "存储恢复",
          "【系统通知】数据库已恢复写入，暂存的门磁消息已保存。时间 {time}。" },
        { "observation_ended", "观察期结束",
          "【居家观察通知】{address} 观察期已结束，请回收门磁/门铃设备。时间 {time}。" },
        { "round_missed", "健康巡查未完成",
          "【居家观察提醒】{address} 本次健康巡查（测温、问症状）未见记录，请尽快上门测温并记录。"
          "时间 {time}。请确认：{ack}" },
        { "fever", "发热或可疑症状",
          "【居家观察紧急告警】{address} 测温发现发热或可疑症状，请立即安排就诊并上报。时间 "
          "{time}。请确认：{ack}" },
        { "ack_notice", "已确认",
          "【居家观察】{address} 的告警已由 {acked_by} 确认（{channel}）。时间 {time}。" },
        { "resolved_notice", "已自动解除",
          "【居家观察】{address} 的“{alert_kind}”告警已由系统解除：{note}。时间 {time}。" },
        { "test", "测试", "【居家观察】测试消息：通知渠道工作正常。时间 {time}。" },
};

struct label {
        const char *key, *label;
};

static const struct label severities[] = {
        { "critical", "紧急" }, { "high", "高" },   { "medium", "中" },
        { "low", "低" },        { "info", "提示" },
};

static const struct label steps[] = {
        { "team", "责任团队" },
        { "leader", "社区值班领导" },
        { "command", "街道指挥中心" },
};

enum placeholder {
        PH_HOUSEHOLD,
        PH_ADDRESS,
        PH_TIME,
        PH_KIND,
        PH_SEVERITY,
        PH_STEP,
        PH_ROUND,
        PH_COUNT,
        PH_WORKER,
        PH_NAME,
        PH_ACK,
        PH_ACK_URL,
        PH_ACKED_BY,
        PH_CHANNEL,
        PH_PAGE_URL,
        PH_ALERT_KIND,
        PH_NOTE,
        _PH_MAX,
};

static const char *const placeholders[_PH_MAX] = {
        [PH_HOUSEHOLD] = "household",
        [PH_ADDRESS] = "address",
        [PH_TIME] = "time",
        [PH_KIND] = "kind",
        [PH_SEVERITY] = "severity",
        [PH_STEP] = "step",
        [PH_ROUND] = "round",
        [PH_COUNT] = "count",
        [PH_WORKER] = "worker",
        [PH_NAME] = "name",
        [PH_ACK] = "ack",
        [PH_ACK_URL] = "ack_url",
        [PH_ACKED_BY] = "acked_by",
        [PH_CHANNEL] = "channel",
        [PH_PAGE_URL] = "page_url",
        [PH_ALERT_KIND] = "alert_kind",
        [PH_NOTE] = "note",
};

struct templates {
        char *text[ELEMENTSOF(kinds)];
};

static int kind_index(const char *kind)
{
        for (size_t i = 0; kind && i < ELEMENTSOF(kinds); i++)
                if (strcmp(kinds[i].kind, kind) == 0)
                        return (int)i;
        return -1;
}

bool template_kind_known(const char *kind)
{
        return kind_index(kind) >= 0;
}

static int placeholder_lookup(const char *name, size_t len)
{
        for (int i = 0; i < _PH_MAX; i++)
                if (strlen(placeholders[i]) == len && memcmp(placeholders[i], name, len) == 0)
                        return i;
        return -1;
}

static bool utf8_valid(const char *s)
{
        const unsigned char *p = (const unsigned char *)s;

        while (*p) {
                int n;
                if (*p < 0x80)
                        n = 0;
                else if ((*p & 0xe0) == 0xc0 && *p >= 0xc2)
                        n = 1;
                else if ((*p & 0xf0) == 0xe0)
                        n = 2;
                else if ((*p & 0xf8) == 0xf0 && *p <= 0xf4)
                        n = 3;
                else
                        return false;
                p++;
                for (int i = 0; i < n; i++, p++)
                        if ((*p & 0xc0) != 0x80)
                                return false;
        }
        return true;
}

/* Checks one template's syntax; reports into diag under `path`. */
static bool template_check(const char *src, const char *path, struct config_diag *diag)
{
        if (strlen(src) > TEMPLATE_MAX_SOURCE) {
                template_error(diag, path, "template longer than %d bytes", TEMPLATE_MAX_SOURCE);
                return false;
        }
        if (!utf8_valid(src)) {
                template_error(diag, path, "template is not valid UTF-8");
                return false;
        }
        for (const char *p = src; *p; p++) {
                const char *end;

                if (*p != '{')
                        continue;
                if (p[1] == '{') {
                        p++;
                        continue;
                }
                end = strchr(p, '}');
                if (!end) {
                        template_error(diag, path,
                                       "unterminated placeholder (write {{ for a literal brace)");
                        return false;
                }
                if (placeholder_lookup(p + 1, (size_t)(end - p - 1)) < 0) {
                        template_error(diag, path, "unknown placeholder {%.*s}",
                                       (int)MIN(end - p - 1, 64), p + 1);
                        return false;
                }
                p = end;
        }
        return true;
}

bool templates_check(const cJSON *overrides, struct config_diag *diag)
{
        const cJSON *e;
        bool ok = true;

        if (!overrides || cJSON_IsNull(overrides))
                return true;
        if (!cJSON_IsObject(overrides)) {
                template_error(diag, "templates", "must be an object");
                return false;
        }
        cJSON_ArrayForEach(e, overrides)
        {
                char path[128];

                snprintf(path, sizeof(path), "templates.%.64s", e->string);
                if (kind_index(e->string) < 0) {
                        template_error(diag, path, "unknown kind");
                        ok = false;
                } else if (!cJSON_IsString(e)) {
                        template_error(diag, path, "must be a string");
                        ok = false;
                } else if (!template_check(e->valuestring, path, diag)) {
                        ok = false;
                }
        }
        return ok;
}

int templates_new(const cJSON *overrides, struct config_diag *diag, struct templates **ret)
{
        struct templates *t;
        const cJSON *e;

        if (!templates_check(overrides, diag))
                return -EINVAL;
        t = xcalloc(1, sizeof(*t));
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
                t->text[i] = xstrdup(kinds[i].text);
        if (cJSON_IsObject(overrides))
                cJSON_ArrayForEach(e, overrides)
                {
                        int k = kind_index(e->string);

                        free(t->text[k]);
                        t->text[k] = xstrdup(e->valuestring);
                }
        *ret = t;
        return 0;
}

struct templates *templates_free(struct templates *t)
{
        if (!t)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
                free(t->text[i]);
        free(t);
        return NULL;
}

size_t template_truncate(char *s, size_t max_bytes)
{
        static const char ellipsis[] = "\xe2\x80\xa6"; /* … */
        size_t n = strlen(s), cut;

        if (n <= max_bytes)
                return n;
        cut = max_bytes >= 4 ? max_bytes - (sizeof(ellipsis) - 1) : max_bytes;
        /* Never end inside a multi-byte sequence: back up over continuation bytes. */
        while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
                cut--;
        if (max_bytes >= 4) {
                memcpy(s + cut, ellipsis, sizeof(ellipsis));
                return cut + sizeof(ellipsis) - 1;
        }
        s[cut] = 0;
        return cut;
}

static const char *label_of(const struct label *table, size_t n, const char *key)
{
        for (size_t i = 0; key && i < n; i++)
                if (strcmp(table[i].key, key) == 0)
                        return table[i].label;
        return key; /* unknown values are shown as they are */
}

static void put(struct sbuf *f, const char *s)
{
        sbuf_puts(f, s);
}

static void put_placeholder(struct sbuf *f, int ph, const struct template_vars *v)
{
        char buf[32];
        int k;

        switch (ph) {
        case PH_HOUSEHOLD:
                put(f, v->household);
                break;
        case PH_ADDRESS:
                put(f, v->address);
                break;
        case PH_TIME:
                if (v->time_usec > 0)
                        put(f, format_local_time(v->time_usec, buf));
                break;
        case PH_KIND:
                k = kind_index(v->kind);
                put(f, k >= 0 ? kinds[k].label : v->kind);
                break;
        case PH_SEVERITY:
                put(f, label_of(severities, ELEMENTSOF(severities), v->severity));
                break;
        case PH_STEP:
                put(f, label_of(steps, ELEMENTSOF(steps), v->step));
                break;
        case PH_ROUND:
                sbuf_printf(f, "%d", v->round);
                break;
        case PH_COUNT:
                sbuf_printf(f, "%u", v->count);
                break;
        case PH_WORKER:
                put(f, v->worker);
                break;
        case PH_NAME:
                put(f, v->name);
                break;
        case PH_ACK:
                /* What this recipient can actually do (a group robot reaches no one person). */
                if (v->ack_url && *v->ack_url)
                        sbuf_printf(f, "点击 %s 确认", v->ack_url);
                else if (v->page_url && *v->page_url)
                        sbuf_printf(f, "打开个人页面 %s 确认", v->page_url);
                else if (v->ack_topic && *v->ack_topic)
                        sbuf_printf(f, "回复告警编号 %s 至确认主题 %s",
                                    v->alert_id ? v->alert_id : "", v->ack_topic);
                else
                        sbuf_printf(f, "请被通知人在各自的通知中确认（告警编号 %s）",
                                    v->alert_id ? v->alert_id : "");
                break;
        case PH_PAGE_URL:
                put(f, v->page_url);
                break;
        case PH_ALERT_KIND:
                k = kind_index(v->alert_kind);
                put(f, k >= 0 ? kinds[k].label : v->alert_kind);
                break;
        case PH_NOTE:
                put(f, v->note);
                break;
        case PH_ACK_URL:
                put(f, v->ack_url);
                break;
        case PH_ACKED_BY:
                put(f, v->acked_by);
                break;
        case PH_CHANNEL:
                put(f, v->channel);
                break;
        default:
                break;
        }
}

int template_render(const struct templates *t, const char *kind, const struct template_vars *v,
                    size_t max_bytes, char **ret)
{
        int k = kind_index(kind);
        struct sbuf f = { 0 };
        char *out;

        if (k < 0)
                return TEMPLATE_E_UNKNOWN_KIND;
        for (const char *p = t->text[k]; *p; p++) {
                if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
                        sbuf_putc(&f, *p++);
                        continue;
                }
                if (*p == '{') {
                        const char *end = strchr(p, '}'); /* checked in templates_new() */
                        put_placeholder(&f, placeholder_lookup(p + 1, (size_t)(end - p - 1)), v);
                        p = end;
                        continue;
                }
                /* Literal text up to the next brace in one piece. */
                size_t n = strcspn(p, "{}");
                if (n == 0)
                        n = 1; /* a lone '}' */
                sbuf_add(&f, p, n);
                p += n - 1;
        }
        out = sbuf_finish(&f);
        if (!out) /* a formatting error (sbuf) */
                return -EINVAL;
        if (max_bytes > 0)
                template_truncate(out, max_bytes);
        *ret = out;
        return 0;
}

/* http_pages.c: the pages people open from a phone: one-tap acknowledge links (/ack/<token>),
 * resident pre-report links (/r/<token>), and the static files of the status page.
 *
 * Acknowledge links: GET only shows the alert and a confirm button (chat apps fetch links
 * for previews, so a GET must never act); the button POSTs to the same URL, which
 * acknowledges as the worker named in the token, through the channel "http-link" (the
 * command path of command.h, like every other front door). Every
 * refusal is a page that says why, with the matching status: 400 not a link of ours,
 * 403 tampered or not allowed, 404 unknown alert, 409 already acknowledged, 410 expired
 * or already resolved. Pages are server-rendered, work without JavaScript and load one
 * stylesheet (relative URL, so a reverse proxy may mount us under a path). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "engine.h"
#include "http-internal.h"
#include "log.h"
#include "store.h"
#include "util.h"
#include "www.h"

/* Lines logged per request (refusals, bad signatures, failures): a flood of requests
 * is a count in the log, not a flood of lines. */
static struct ratelimit rl_log = RATELIMIT_INIT(10 * USEC_PER_SEC, 10);

static const struct {
        const char *kind, *zh;
} kind_names[] = {
        { "door_open_unexpected", "异常开门" }, { "person_left", "有人外出" },
        { "door_held_open", "门长时间未关" },   { "too_many_openings", "开门次数超限" },
        { "pass_overdue", "通行证到期未返回" }, { "tamper", "设备被拆动" },
        { "device_offline", "设备离线" },       { "battery_low", "设备电量低" },
        { "monitoring_gap", "监控中断" },       { "notification_failed", "通知发送失败" },
        { "storage_failed", "存储故障" },       { "observation_ended", "居家观察已结束" },
        { "round_missed", "健康巡查未完成" },   { "fever", "发热或可疑症状" },
};

const char *http_kind_zh(const char *kind)
{
        for (size_t i = 0; kind && i < ELEMENTSOF(kind_names); i++)
                if (strcmp(kind_names[i].kind, kind) == 0)
                        return kind_names[i].zh;
        return "告警";
}

const char *http_state_zh(const char *state)
{
        if (str_eq(state, "open"))
                return "待确认";
        if (str_eq(state, "acked"))
                return "已确认，处理中";
        if (str_eq(state, "resolved"))
                return "已处理完毕";
        return "未知";
}

static const char *reason_zh(const char *reason)
{
        if (str_eq(reason, "garbage"))
                return "倒垃圾";
        if (str_eq(reason, "delivery"))
                return "取快递/外卖";
        if (str_eq(reason, "other"))
                return "其他";
        return NULL;
}

/* ---- page frame ---- */

void http_page_begin(struct http_page *p, const char *title)
{
        p->buf = NULL;
        p->len = 0;
        p->f = open_memstream(&p->buf, &p->len);
        if (!p->f) /* only out of memory */
                abort();
        fputs("<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\n"
              "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
              "<meta name=\"robots\" content=\"noindex, nofollow\">\n<title>",
              p->f);
        html_puts(p->f, title);
        fputs("</title>\n<link rel=\"icon\" href=\"data:,\">\n"
              "<link rel=\"stylesheet\" href=\"../style.css\">\n</head>\n"
              "<body><main class=\"card\">\n",
              p->f);
}

void http_page_end(struct http_page *p, struct http_response *rs, unsigned status)
{
        fputs("</main></body></html>\n", p->f);
        if (fclose(p->f) != 0) /* a memory stream: only out of memory */
                abort();
        http_set_body(rs, status, "text/html", p->buf, p->len);
}

/* A page that only says what happened. */
void http_message_page(struct http_response *rs, unsigned status, const char *cls,
                       const char *title, const char *text)
{
        struct http_page p;

        http_page_begin(&p, title);
        fprintf(p.f, "<h1 class=\"%s\">", cls);
        html_puts(p.f, title);
        fputs("</h1>\n<p>", p.f);
        html_puts(p.f, text);
        fputs("</p>\n", p.f);
        http_page_end(&p, rs, status);
}

void http_dl_item(FILE *f, const char *term, const char *value)
{
        fputs("<dt>", f);
        html_puts(f, term);
        fputs("</dt><dd>", f);
        html_puts(f, value);
        fputs("</dd>\n", f);
}

/* ---- acknowledge links ---- */

struct alert_row {
        char id[64], household[128], kind[64], state[16], severity[16], acked_by[128];
        int64_t raised_usec, acked_usec;
        int count, round;
};

static void copy_text(char *dst, size_t size, const char *v)
{
        snprintf(dst, size, "%s", v ? v : "");
}

static int alert_row_cb(const struct store_alert_row *row, void *userdata)
{
        struct alert_row *a = userdata;

        copy_text(a->id, sizeof(a->id), row->id);
        copy_text(a->household, sizeof(a->household), row->household);
        copy_text(a->kind, sizeof(a->kind), row->kind);
        copy_text(a->state, sizeof(a->state), row->state);
        copy_text(a->severity, sizeof(a->severity), row->severity);
        copy_text(a->acked_by, sizeof(a->acked_by), row->acked_by);
        a->raised_usec = row->raised_usec;
        a->acked_usec = row->acked_usec;
        a->count = row->count;
        a->round = row->round;
        return 0;
}

/* 1 found, 0 not found, negative on database errors. */
static int load_alert_row(struct http *h, const char *id, struct alert_row *a)
{
        int r = store_get_alert(h->deps.store, id, alert_row_cb, a);
        return r < 0 ? r : r == STORE_E_NOT_FOUND ? 0 : 1;
}

static const char *worker_name(const struct config *c, const char *id)
{
        const struct worker *w = config_worker(c, id);
        return w && w->name ? w->name : id;
}

static void alert_page(struct http *h, struct http_response *rs, unsigned status,
                       const struct alert_row *a, const struct worker *w, const char *headline,
                       const char *headline_class, bool confirm_button)
{
        const struct config *c = h->deps.config;
        const struct household *hh = config_household(c, a->household);
        char t[32], line[256];
        struct http_page p;

        http_page_begin(&p, "居家观察告警");
        fprintf(p.f, "<h1 class=\"%s\">", headline_class);
        html_puts(p.f, headline);
        fputs("</h1>\n", p.f);
        fprintf(p.f, "<p class=\"kind sev-%s\">", a->severity);
        html_puts(p.f, http_kind_zh(a->kind));
        fputs("</p>\n<dl>\n", p.f);
        http_dl_item(p.f, "地址", hh ? hh->address : a->household);
        http_dl_item(p.f, "时间", format_local_time(a->raised_usec, t));
        if (a->count > 1) {
                snprintf(line, sizeof(line), "%d 次", a->count);
                http_dl_item(p.f, "次数", line);
        }
        http_dl_item(p.f, "状态", http_state_zh(a->state));
        if (a->acked_by[0]) {
                snprintf(line, sizeof(line), "%s（%s）", worker_name(c, a->acked_by),
                         a->acked_usec ? format_local_time(a->acked_usec, t) : "");
                http_dl_item(p.f, "确认人", line);
        }
        http_dl_item(p.f, "告警编号", a->id);
        if (w) {
                snprintf(line, sizeof(line), "%s（%s）", w->name ? w->name : w->id, w->id);
                http_dl_item(p.f, "您的身份", line);
        }
        fputs("</dl>\n", p.f);
        if (confirm_button)
                fputs("<form method=\"post\">\n"
                      "<input type=\"hidden\" name=\"confirm\" value=\"1\">\n"
                      "<button type=\"submit\" id=\"confirm\">确认收到，我来处理</button>\n"
                      "</form>\n<p class=\"hint\">确认后，其他收到通知的人员会得知由您处理，"
                      "告警不再升级。</p>\n",
                      p.f);
        http_page_end(&p, rs, status);
}

void http_ack_page(struct http_request *rq, struct http_response *rs, const char *token)
{
        struct http *h = rq->http;
        struct token_ack claim;
        struct alert_row a = { 0 };
        struct command cmd;
        const struct worker *w;
        const char *error = NULL;
        int r;

        if (rq->method == HTTP_OTHER) {
                http_method_not_allowed(rs, "GET, HEAD, POST");
                return;
        }
        if (!h->have_link_key) {
                http_message_page(rs, 503, "bad", "链接暂不可用",
                                  "服务器未配置链接密钥，请联系管理员。");
                return;
        }
        r = token_ack_decode(&h->link_key, token, now_realtime_usec(), &claim);
        switch (r) {
        case TOKEN_OK:
                break;
        case TOKEN_E_SIGNATURE:
                if (ratelimit_below(&rl_log))
                        log_warn("http: ack link with a bad signature from %s", rq->ip);
                http_message_page(rs, 403, "bad", "链接无效",
                                  "此确认链接无效或已被修改。请使用通知中的原始链接。");
                return;
        case TOKEN_E_EXPIRED:
                http_message_page(rs, 410, "bad", "链接已过期",
                                  "此确认链接已过期。如告警仍未处理，请使用最新通知中的链接，"
                                  "或联系社区值班人员。");
                return;
        default:
                http_message_page(rs, 400, "bad", "链接无效", "这不是一个有效的告警确认链接。");
                return;
        }
        w = config_worker(h->deps.config, claim.worker);
        if (!w) {
                http_message_page(rs, 403, "bad", "无法确认", "此链接对应的工作人员已不在名单中。");
                return;
        }
        r = load_alert_row(h, claim.alert_id, &a);
        if (r < 0) {
                http_message_page(rs, 500, "bad", "服务器错误", "暂时无法读取告警，请稍后再试。");
                return;
        }
        if (r == 0) {
                http_message_page(rs, 404, "bad", "告警不存在", "找不到此链接对应的告警。");
                return;
        }
        if (strcmp(a.state, "resolved") == 0) {
                alert_page(h, rs, 410, &a, NULL, "此告警已处理完毕", "done", false);
                return;
        }
        if (strcmp(a.state, "acked") == 0) {
                /* Seeing it again is fine; confirming twice is a conflict. */
                alert_page(h, rs, rq->method == HTTP_POST ? 409 : 200, &a, NULL, "此告警已有人确认",
                           "done", false);
                return;
        }
        if (rq->method == HTTP_GET) {
                alert_page(h, rs, 200, &a, w, "请确认此告警", "alert", true);
                return;
        }

        /* The link's token names the worker and the alert; the form says nothing more. */
        r = command_parse_payload(h->deps.config, COMMAND_ACK,
                                  &(struct command_origin){ .channel = CHANNEL_HTTP_LINK,
                                                            .worker = claim.worker,
                                                            .alert_id = claim.alert_id },
                                  NULL, 0, now_realtime_usec(), &cmd);
        if (r != 0) {
                if (ratelimit_below(&rl_log))
                        log_warn("http: ack link of %s for %s refused: %s", claim.alert_id, w->id,
                                 cmd.error);
                http_message_page(rs, 400, "bad", "无法确认", "这不是一个有效的告警确认链接。");
                return;
        }
        r = engine_command(h->deps.engine, &cmd, &error);
        if (r == ENGINE_OK)
                r = h->deps.commit(h->deps.userdata);
        if (r < 0) {
                if (ratelimit_below(&rl_log))
                        log_err_errno(r, "http: ack of %s by %s failed", claim.alert_id, w->id);
                http_message_page(rs, 500, "bad", "确认失败", "服务器暂时无法保存，请稍后重试。");
                return;
        }
        if (r > 0) {
                if (ratelimit_below(&rl_log))
                        log_warn("http: ack link of %s for %s refused: %s", claim.alert_id, w->id,
                                 error);
                http_message_page(rs, r == ENGINE_E_FORBIDDEN ? 403 : 409, "bad", "无法确认",
                                  r == ENGINE_E_FORBIDDEN ? "您无权确认此告警。"
                                                          : "此告警已被确认或已处理完毕。");
                return;
        }
        load_alert_row(h, claim.alert_id, &a);
        alert_page(h, rs, 200, &a, w, "已确认，谢谢！", "ok", false);
}

/* ---- resident pre-report links ---- */

int http_resident_generation(struct http *h, const char *household, uint64_t *ret)
{
        char name[TOKEN_ID_MAX + sizeof(RESIDENT_SEQ_PREFIX)];
        int64_t v = 0;
        int r;

        snprintf(name, sizeof(name), RESIDENT_SEQ_PREFIX "%s", household);
        r = store_seq_get(h->deps.store, name, &v);
        *ret = v > 0 ? (uint64_t)v : 0;
        return r;
}

/* The resident form's fields (command_field_fn): only the reason, one of the buttons'. */
static bool resident_field(void *userdata, const char *key, char *buf, size_t size)
{
        const struct http_request *rq = userdata;
        return strcmp(key, "reason") == 0 && http_form_value(rq, key, buf, size) && reason_zh(buf);
}

static void resident_form(struct http_response *rs, const struct household *hh)
{
        static const char *const reasons[] = { "garbage", "delivery", "other" };
        struct http_page p;

        http_page_begin(&p, "开门报备");
        fputs("<h1 class=\"alert\">开门报备</h1>\n<p class=\"address\">", p.f);
        html_puts(p.f, hh->address);
        fputs("</p>\n<p>需要开门时，请先选择原因并提交，再开门。报备后的开门不会惊动值班人员"
              "（每天次数有限）。</p>\n<form method=\"post\" class=\"reasons\">\n",
              p.f);
        for (size_t i = 0; i < ELEMENTSOF(reasons); i++)
                fprintf(p.f, "<button type=\"submit\" name=\"reason\" value=\"%s\">%s</button>\n",
                        reasons[i], reason_zh(reasons[i]));
        fputs("</form>\n<p class=\"hint\">如有身体不适或紧急情况，请直接拨打社区电话。</p>\n", p.f);
        http_page_end(&p, rs, 200);
}

void http_resident_page(struct http_request *rq, struct http_response *rs, const char *token)
{
        struct http *h = rq->http;
        struct token_resident claim;
        const struct household *hh;
        struct command cmd;
        int64_t now = now_realtime_usec();
        uint64_t gen = 0;
        const char *error = NULL;
        char reason[32], text[256];
        int r;

        if (rq->method == HTTP_OTHER) {
                http_method_not_allowed(rs, "GET, HEAD, POST");
                return;
        }
        if (!h->have_link_key) {
                http_message_page(rs, 503, "bad", "暂不可用", "服务器未配置链接密钥，请联系社区。");
                return;
        }
        r = token_resident_decode(&h->link_key, token, &claim);
        if (r == TOKEN_E_SIGNATURE) {
                if (ratelimit_below(&rl_log))
                        log_warn("http: resident link with a bad signature from %s", rq->ip);
                http_message_page(rs, 403, "bad", "二维码无效",
                                  "此链接无效或已被修改，请扫描门内张贴的二维码。");
                return;
        }
        if (r != TOKEN_OK) {
                http_message_page(rs, 400, "bad", "二维码无效", "这不是一个有效的报备链接。");
                return;
        }
        hh = config_household(h->deps.config, claim.household);
        if (!hh) {
                http_message_page(rs, 404, "bad", "二维码无效", "找不到此链接对应的住户。");
                return;
        }
        if (http_resident_generation(h, hh->id, &gen) < 0) {
                http_message_page(rs, 500, "bad", "服务器错误", "暂时无法处理，请稍后再试。");
                return;
        }
        if (claim.generation != gen) {
                http_message_page(rs, 410, "bad", "二维码已失效",
                                  "此二维码已被社区停用，请使用社区新张贴的二维码。");
                return;
        }
        if (now >= hh->obs_end_usec) {
                http_message_page(rs, 410, "done", "居家观察已结束",
                                  "您的居家观察已结束，无需再报备。");
                return;
        }
        if (now < hh->obs_start_usec) {
                http_message_page(rs, 403, "bad", "尚未开始",
                                  "您的居家观察尚未开始，暂不需要报备。");
                return;
        }
        if (rq->method == HTTP_GET) {
                resident_form(rs, hh);
                return;
        }
        if (!resident_field(rq, "reason", reason, sizeof(reason))) {
                http_message_page(rs, 400, "bad", "请选择原因", "请返回并选择一个开门原因。");
                return;
        }
        r = command_parse_fields(
            h->deps.config, COMMAND_REPORT,
            &(struct command_origin){ .channel = CHANNEL_HTTP_LINK, .household = hh->id },
            resident_field, rq, now, &cmd);
        if (r > 0) {
                if (ratelimit_below(&rl_log))
                        log_warn("http: resident report of %s refused: %s", hh->id, cmd.error);
                http_message_page(rs, 400, "bad", "报备未被接受", "请联系社区工作人员。");
                return;
        }
        if (r == 0)
                r = engine_command(h->deps.engine, &cmd, &error);
        /* A report beyond the daily limit is refused but recorded all the same: commit before
         * answering in both cases, so the page never claims more than is stored. */
        if (r >= 0) {
                int k = h->deps.commit(h->deps.userdata);
                if (k < 0)
                        r = k;
        }
        if (r < 0) {
                if (ratelimit_below(&rl_log))
                        log_err_errno(r, "http: resident report of %s failed", hh->id);
                http_message_page(rs, 500, "bad", "报备失败", "服务器暂时无法保存，请稍后再试。");
                return;
        }
        if (r == ENGINE_E_OVER_LIMIT) {
                /* Recorded all the same; the opening that follows will alert. */
                http_message_page(rs, 429, "bad", "今日报备次数已达上限",
                                  "已记录本次报备，但今天的报备次数已用完：接下来的开门会通知社区"
                                  "工作人员。如确需外出，请先电话联系社区。");
                return;
        }
        if (r > 0) {
                http_message_page(rs, 409, "bad", "报备未被接受", "请联系社区工作人员。");
                return;
        }
        if (ratelimit_below(&rl_log))
                log_info("household %s: resident pre-report (%s) via %s", hh->id, reason,
                         channel_code(cmd.channel));
        snprintf(text, sizeof(text), "已报备：%s。请尽快办完并随手关门。", reason_zh(reason));
        http_message_page(rs, 200, "ok", "报备成功", text);
}

/* ---- static files of the status page ---- */

bool http_static(struct http_request *rq, struct http_response *rs)
{
        static const struct {
                const char *path, *type;
                const char *data;
                const size_t *len;
        } files[] = {
                { "/", "text/html", www_status_html, &www_status_html_len },
                { "/status.js", "text/javascript", www_status_js, &www_status_js_len },
                { "/style.css", "text/css", www_style_css, &www_style_css_len },
        };

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                if (strcmp(rq->path, files[i].path) != 0)
                        continue;
                if (rq->method != HTTP_GET) {
                        http_method_not_allowed(rs, "GET, HEAD");
                        return true;
                }
                http_set_body(rs, 200, files[i].type, NULL, *files[i].len);
                rs->static_body = files[i].data;
                rs->cacheable = true;
                return true;
        }
        return false;
}

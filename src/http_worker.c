/* http_worker.c: a worker's own page (/w/<token>, issue 18), and the operator API's route
 * that makes its links (POST /api/v1/workers/{id}/page-link).
 *
 * The link is the login: a token signed with the link key naming the worker, the
 * generation of their links (revoking bumps it: every earlier link says so plainly) and an
 * expiry (http.worker_link_ttl). Notifications to per-person channels carry a fresh one
 * ({page_url}); doorwatchctl worker link prints one with a QR code.
 *
 * The page is for a phone in WeChat's or WeCom's in-app browser: server-rendered HTML,
 * plain forms, no script, the one stylesheet of the other pages (relative URL). It shows the
 * worker's open alerts (acknowledge, resolve with a note), today's medical rounds of the
 * households whose doctor they are, and their households (address, observation days left,
 * the last opening and its verdict) with a check-in button and a reading form.
 *
 * GET never changes anything, and stores nothing: each form carries a one-time nonce signed
 * at GET (token_form). Every action is a POST to the page's own URL carrying the form's
 * nonce, validated by command.h like every other front door and recorded with channel
 * "worker-page"; the nonce is stored with the answer in the action's transaction, so a
 * replayed POST (a double tap, a resent form) gets the first answer again and acts once. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "command.h"
#include "engine.h"
#include "http-internal.h"
#include "log.h"
#include "roster.h"
#include "rules.h"
#include "store.h"
#include "util.h"

/* Lines logged per request (refusals, bad signatures, failures): a flood of requests
 * is a count in the log, not a flood of lines. */
static struct ratelimit rl_log = RATELIMIT_INIT(10 * USEC_PER_SEC, 10);

#define WORKER_SEQ_PREFIX   "worker-link:"
#define FORM_TTL_USEC       (12 * USEC_PER_HOUR) /* a page's forms work this long */
#define PAGE_ALERTS_MAX     50
#define PAGE_HOUSEHOLDS_MAX 100
#define RESULT_MAX          512

/* ---- links ---- */

int http_worker_generation(struct http *h, const char *worker, uint64_t *ret)
{
        char name[TOKEN_ID_MAX + sizeof(WORKER_SEQ_PREFIX)];
        int64_t v = 0;
        int r;

        snprintf(name, sizeof(name), WORKER_SEQ_PREFIX "%s", worker);
        r = store_seq_get(h->deps.store, name, &v);
        *ret = v > 0 ? (uint64_t)v : 0;
        return r;
}

/* public_url + "/w/" + a link of worker w valid until expires_usec, into buf. */
static bool page_url(struct http *h, const char *worker, uint64_t generation, int64_t expires_usec,
                     char *buf, size_t size)
{
        const char *base = h->deps.config->http.public_url;
        struct token_worker claim = { .generation = generation, .expires_usec = expires_usec };
        char tok[TOKEN_MAX];
        size_t bl;

        if (!base || !h->have_link_key ||
            snprintf(claim.worker, sizeof(claim.worker), "%s", worker) >=
                (int)sizeof(claim.worker) ||
            token_worker_encode(&h->link_key, &claim, tok, sizeof(tok)) < 0)
                return false;
        bl = strlen(base);
        while (bl > 0 && base[bl - 1] == '/')
                bl--;
        return snprintf(buf, size, "%.*s/w/%s", (int)bl, base, tok) < (int)size;
}

bool http_worker_page_url(void *userdata, const char *worker_id, int64_t now_usec, char *buf,
                          size_t size)
{
        struct http *h = userdata;
        uint64_t gen = 0;

        if (!h || !h->have_link_key || !h->deps.config->http.public_url ||
            http_worker_generation(h, worker_id, &gen) < 0)
                return false;
        return page_url(h, worker_id, gen, now_usec + h->deps.config->http.worker_link_ttl_usec,
                        buf, size);
}

/* POST /api/v1/workers/{id}/page-link {"revoke": bool}: a link to the worker's own page,
 * after revoking every earlier one when asked (recorded as an action). */
void http_worker_link(struct http_request *rq, struct http_response *rs, const struct worker *w,
                      enum channel channel)
{
        struct http *h = rq->http;
        _cleanup_json_ cJSON *body = NULL;
        int64_t now = now_realtime_usec(),
                expires = now + h->deps.config->http.worker_link_ttl_usec;
        char name[TOKEN_ID_MAX + sizeof(WORKER_SEQ_PREFIX)], url[1024];
        uint64_t gen = 0;
        bool revoke;
        int64_t v;
        int r;

        if (rq->body_len > 0) {
                body = cJSON_ParseWithLength(rq->body, rq->body_len);
                if (!cJSON_IsObject(body)) {
                        http_json_error(rs, 400, "malformed JSON (one object expected)");
                        return;
                }
        }
        revoke = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "revoke"));
        if (!h->have_link_key) {
                http_json_error(rs, 503, "no link key (http.ack_secret_file): links are off");
                return;
        }
        if (!h->deps.config->http.public_url) {
                http_json_error(rs, 503,
                                "http.public_url is not set: a link needs the address under "
                                "which workers' phones reach this server (set http.public_url "
                                "in doorwatch.json)");
                return;
        }
        if (revoke) {
                snprintf(name, sizeof(name), WORKER_SEQ_PREFIX "%s", w->id);
                r = store_begin(h->deps.store);
                if (r == 0)
                        r = store_seq_bump(h->deps.store, name, &v);
                if (r == 0)
                        r = store_insert_action(h->deps.store, "revoke-worker-links", NULL,
                                                channel_code(channel), w->id, now, NULL);
                if (r == 0)
                        r = h->deps.commit(h->deps.userdata);
                if (r < 0) {
                        http_json_error(rs, 500, "database error");
                        return;
                }
                log_notice("worker %s: page links revoked (generation %" PRId64 ")", w->id, v);
        }
        if (http_worker_generation(h, w->id, &gen) < 0) {
                http_json_error(rs, 500, "database error");
                return;
        }
        if (!page_url(h, w->id, gen, expires, url, sizeof(url))) {
                http_json_error(rs, 500, "cannot sign the link");
                return;
        }
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "worker", w->id);
        cJSON_AddStringToObject(j, "url", url);
        cJSON_AddNumberToObject(j, "generation", (double)gen);
        cJSON_AddNumberToObject(j, "expires_at", (double)(expires / USEC_PER_SEC));
        cJSON_AddBoolToObject(j, "revoked_earlier", revoke);
        http_json(rs, 200, j);
}

/* ---- who is concerned ---- */

/* Whether the worker may act on household hh's alerts (as the engine decides: team,
 * community, its leader, the command centre, the admins). */
static bool concerned(const struct config *c, const struct worker *w, const struct household *hh)
{
        for (size_t i = 0; i < c->n_command; i++)
                if (c->command[i] == w)
                        return true;
        for (size_t i = 0; i < c->n_admins; i++)
                if (c->admins[i] == w)
                        return true;
        return hh && rules_worker_may_act(c, hh, w);
}

/* The worker's households: those whose team they are in; for a worker in no team, those of
 * their community (covering colleagues, installers, a leader). */
static bool in_team(const struct household *hh, const struct worker *w)
{
        for (int r = 0; r < TEAM_ROLES; r++)
                if (hh->team[r] == w)
                        return true;
        return false;
}

static bool mine(const struct config *c, const struct worker *w, const struct household *hh,
                 bool any_team)
{
        return any_team ? in_team(hh, w) : w->community && hh->community == w->community;
}

static bool in_any_team(const struct config *c, const struct worker *w)
{
        for (size_t i = 0; i < c->n_households; i++)
                if (in_team(&c->households[i], w))
                        return true;
        return false;
}

/* ---- the page ---- */

static const char *role_zh(enum role r)
{
        switch (r) {
        case ROLE_COMMUNITY:
                return "社区工作者";
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

static const struct {
        const char *code, *zh;
} symptom_names[] = {
        { "fever", "发热" },
        { "cough", "咳嗽" },
        { "sore_throat", "咽痛" },
        { "shortness_of_breath", "气促" },
        { "loss_of_smell_or_taste", "嗅觉味觉减退" },
        { "fatigue", "乏力" },
        { "diarrhea", "腹泻" },
};

static const char *symptom_zh(const char *code)
{
        for (size_t i = 0; i < ELEMENTSOF(symptom_names); i++)
                if (strcasecmp(symptom_names[i].code, code) == 0)
                        return symptom_names[i].zh;
        return code;
}

static const char *verdict_zh(const char *verdict)
{
        if (str_eq(verdict, "alert"))
                return "已告警";
        if (str_eq(verdict, "expected"))
                return "正常（有预约、登记或报备）";
        return "未判定（观察期外等）";
}

/* The local midnight that begins usec's day. */
static int64_t local_midnight(int64_t usec)
{
        struct tm tm;

        local_time(usec / USEC_PER_SEC, &tm);
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        tm.tm_isdst = -1;
        return (int64_t)mktime(&tm) * USEC_PER_SEC;
}

/* "14:05" of usec, local. */
static const char *hhmm(int64_t usec, char buf[static 32])
{
        format_local_time(usec, buf);
        memmove(buf, buf + 11, 6);
        buf[5] = 0;
        return buf;
}

/* A fresh one-time nonce of the worker's forms (stored nowhere until it is used). */
static bool form_nonce(struct http *h, const struct worker *w, int64_t now, char buf[TOKEN_MAX])
{
        struct token_form f = { .issued_usec = now };

        snprintf(f.worker, sizeof(f.worker), "%s", w->id);
        if (getrandom(f.random, sizeof(f.random), 0) != (ssize_t)sizeof(f.random))
                return false;
        return token_form_encode(&h->link_key, &f, buf, TOKEN_MAX) == 0;
}

/* Opens a form with its action and nonce. */
static bool form_begin(struct http *h, FILE *f, const struct worker *w, int64_t now,
                       const char *action, const char *cls)
{
        char nonce[TOKEN_MAX];

        if (!form_nonce(h, w, now, nonce))
                return false;
        fprintf(f, "<form method=\"post\" class=\"%s\">\n", cls);
        fprintf(f, "<input type=\"hidden\" name=\"nonce\" value=\"%s\">\n", nonce);
        fprintf(f, "<input type=\"hidden\" name=\"action\" value=\"%s\">\n", action);
        return true;
}

static void hidden(FILE *f, const char *name, const char *value)
{
        fprintf(f, "<input type=\"hidden\" name=\"%s\" value=\"", name);
        html_puts(f, value);
        fputs("\">\n", f);
}

struct alerts_out {
        struct http *h;
        const struct worker *w;
        FILE *f;
        int64_t now;
        size_t n, more;
        bool failed;
};

static int alert_card(const struct store_alert_row *a, void *userdata)
{
        struct alerts_out *o = userdata;
        const struct config *c = o->h->deps.config;
        const struct household *hh = a->household ? config_household(c, a->household) : NULL;
        FILE *f = o->f;
        char t[32];

        if (!concerned(c, o->w, hh))
                return 0;
        if (o->n >= PAGE_ALERTS_MAX) {
                o->more++;
                return 0;
        }
        o->n++;
        fprintf(f, "<div class=\"item alert-item\" data-alert=\"");
        html_puts(f, a->id);
        fprintf(f, "\">\n<p class=\"kind sev-%s\">", a->severity ? a->severity : "high");
        html_puts(f, http_kind_zh(a->kind));
        fputs("</p>\n<dl>\n", f);
        http_dl_item(f, "地址", hh ? hh->address : a->household ? a->household : "-");
        http_dl_item(f, "时间", format_local_time(a->raised_usec, t));
        http_dl_item(f, "状态", http_state_zh(a->state));
        http_dl_item(f, "编号", a->id);
        fputs("</dl>\n", f);
        if (str_eq(a->state, "open")) {
                if (!form_begin(o->h, f, o->w, o->now, "ack", "ack")) {
                        o->failed = true; /* no nonce: no random bytes, or no key */
                        return -EIO;
                }
                hidden(f, "alert_id", a->id);
                fputs("<button type=\"submit\">确认收到，我来处理</button>\n</form>\n", f);
        }
        if (!form_begin(o->h, f, o->w, o->now, "resolve", "resolve")) {
                o->failed = true;
                return -EIO;
        }
        hidden(f, "alert_id", a->id);
        fputs("<label>处理情况（必填）<textarea name=\"note\" rows=\"2\" maxlength=\"1000\" "
              "required></textarea></label>\n"
              "<button type=\"submit\" class=\"secondary\">处理完毕</button>\n</form>\n</div>\n",
              f);
        return 0;
}

/* Today's medical rounds of household hh (whose doctor w is): time, and what became of it. */
struct rounds_out {
        const struct config *config;
        const struct household *hh;
        int64_t readings[16]; /* counting readings today */
        size_t n_readings;
};

static int reading_cb(const struct store_reading *r, void *userdata)
{
        struct rounds_out *o = userdata;

        if (r->counts && o->n_readings < ELEMENTSOF(o->readings))
                o->readings[o->n_readings++] = r->usec;
        return 0;
}

static void rounds_rows(struct http *h, FILE *f, const struct household *hh, int64_t now,
                        size_t *n_rows)
{
        struct rounds_out o = { .config = h->deps.config, .hh = hh };
        int64_t day = local_midnight(now), next = local_midnight(day + 36 * USEC_PER_HOUR);
        char a[32], b[32];

        if (now < hh->obs_start_usec || now >= hh->obs_end_usec)
                return;
        store_list_readings(h->deps.store,
                            &(struct store_reading_filter){ .household = hh->id,
                                                            .since_usec = day - USEC_PER_DAY,
                                                            .until_usec = next + USEC_PER_DAY },
                            reading_cb, &o);
        for (size_t i = 0; i < hh->n_schedule; i++) {
                const struct schedule_entry *s = &hh->schedule[i];
                if (s->role != ROLE_MEDICAL)
                        continue;
                for (size_t k = 0; k < s->n_at; k++) {
                        struct rules_round r;
                        const char *state, *cls;
                        int64_t done = 0;

                        if (!rules_round_at(hh, day + (int64_t)s->at_min[k] * USEC_PER_MIN, &r))
                                continue;
                        for (size_t j = 0; j < o.n_readings; j++)
                                if (o.readings[j] >= r.from_usec && o.readings[j] <= r.to_usec)
                                        done = o.readings[j];
                        if (done) {
                                state = "已完成";
                                cls = "green";
                        } else if (now > r.to_usec) {
                                state = "已错过";
                                cls = "red";
                        } else if (now >= r.from_usec) {
                                state = "进行中";
                                cls = "amber";
                        } else {
                                state = "待进行";
                                cls = "";
                        }
                        fprintf(f, "<tr><td>%s</td><td>", hhmm(r.at_usec, a));
                        html_puts(f, hh->address);
                        fprintf(f, "</td><td><span class=\"tag %s\">%s</span>", cls, state);
                        if (done)
                                fprintf(f, " %s", hhmm(done, b));
                        else
                                fprintf(f, " <span class=\"muted\">%s–%s</span>",
                                        hhmm(r.from_usec, a), hhmm(r.to_usec, b));
                        fputs("</td></tr>\n", f);
                        (*n_rows)++;
                }
        }
}

struct last_opening {
        bool found;
        int64_t usec;
        char verdict[16];
};

static int last_opening_cb(const struct store_event *ev, void *userdata)
{
        struct last_opening *lo = userdata;

        lo->found = true;
        lo->usec = ev->event_usec;
        snprintf(lo->verdict, sizeof(lo->verdict), "%s", ev->verdict ? ev->verdict : "");
        return 0;
}

static bool household_card(struct http *h, FILE *f, const struct worker *w,
                           const struct household *hh, int64_t now)
{
        const struct policy *p = rules_policy(h->deps.config, hh);
        struct last_opening lo = { 0 };
        char t[32], line[128];

        fprintf(f, "<div class=\"item household\" data-household=\"");
        html_puts(f, hh->id);
        fputs("\">\n<p class=\"address\">", f);
        html_puts(f, hh->address);
        fputs("</p>\n<dl>\n", f);
        http_dl_item(f, "户号", hh->id);
        if (hh->obs_end_usec == OBSERVATION_OPEN_END)
                snprintf(line, sizeof(line), "长期观察（未定结束日期）");
        else
                snprintf(line, sizeof(line), "还剩 %lld 天（至 %.16s）",
                         (long long)((hh->obs_end_usec - now + USEC_PER_DAY - 1) / USEC_PER_DAY),
                         format_local_time(hh->obs_end_usec, t));
        http_dl_item(f, "观察期", line);
        if (store_last_opening(h->deps.store, hh->id, last_opening_cb, &lo) == 0 && lo.found) {
                snprintf(line, sizeof(line), "%s，%s", format_local_time(lo.usec, t),
                         verdict_zh(lo.verdict));
                http_dl_item(f, "最近开门", line);
        } else
                http_dl_item(f, "最近开门", "无记录");
        fputs("</dl>\n", f);
        if (!form_begin(h, f, w, now, "checkin", "checkin"))
                return false;
        hidden(f, "household", hh->id);
        fputs("<button type=\"submit\" class=\"secondary\">我已到门口（登记到访）</button>\n"
              "</form>\n<details><summary>记录体温和症状</summary>\n",
              f);
        if (!form_begin(h, f, w, now, "reading", "reading"))
                return false;
        hidden(f, "household", hh->id);
        fputs("<label>体温（℃）<input name=\"temperature\" type=\"number\" inputmode=\"decimal\" "
              "step=\"0.1\" min=\"34\" max=\"43\" required></label>\n<fieldset><legend>症状"
              "</legend>\n",
              f);
        for (size_t i = 0; i < p->n_fever_symptoms; i++) {
                fputs("<label class=\"check\"><input type=\"checkbox\" name=\"symptom\" value=\"",
                      f);
                html_puts(f, p->fever_symptoms[i]);
                fputs("\"> ", f);
                html_puts(f, symptom_zh(p->fever_symptoms[i]));
                fputs("</label>\n", f);
        }
        fputs("<label>其他症状（逗号分隔）<input name=\"other_symptoms\" maxlength=\"200\">"
              "</label>\n</fieldset>\n<label>备注<textarea name=\"note\" rows=\"2\" "
              "maxlength=\"1000\"></textarea></label>\n"
              "<button type=\"submit\">记录</button>\n</form>\n</details>\n</div>\n",
              f);
        return true;
}

static void worker_page(struct http *h, struct http_response *rs, const struct worker *w,
                        int64_t now)
{
        const struct config *c = h->deps.config;
        struct alerts_out ao = { .h = h, .w = w, .now = now };
        bool any_team = in_any_team(c, w), ok = true;
        size_t n_house = 0, more_house = 0, n_rounds = 0;
        struct http_page p;
        char *rounds = NULL;
        size_t rounds_len = 0;
        FILE *rf;

        http_page_begin(&p, "我的工作页面");
        ao.f = p.f;
        fputs("<h1 class=\"done\">我的工作页面</h1>\n<p class=\"who\">", p.f);
        html_puts(p.f, w->name ? w->name : w->id);
        fprintf(p.f, "（%s", role_zh(w->role));
        if (w->community) {
                fputs(" · ", p.f);
                html_puts(p.f, w->community->id);
        }
        fputs("）</p>\n<h2>待处理告警</h2>\n<div id=\"alerts\">\n", p.f);
        store_list_alerts(h->deps.store,
                          &(struct store_alert_filter){
                              .states = STORE_ALERTS_LIVE, .newest_first = true, .limit = 1000 },
                          alert_card, &ao);
        if (ao.n == 0)
                fputs("<p class=\"empty\">没有待处理的告警。</p>\n", p.f);
        if (ao.more)
                fprintf(p.f, "<p class=\"muted\">另有 %zu 条未列出，请联系值班室。</p>\n", ao.more);
        fputs("</div>\n", p.f);

        /* Today's rounds of the households whose doctor the worker is. */
        rf = open_memstream(&rounds, &rounds_len);
        for (size_t i = 0; rf && i < c->n_households; i++)
                if (c->households[i].team[ROLE_MEDICAL] == w)
                        rounds_rows(h, rf, &c->households[i], now, &n_rounds);
        if (rf && fclose(rf) == 0 && n_rounds > 0) {
                fputs("<h2>今日巡查</h2>\n<table id=\"rounds\"><tr><th>时间</th><th>住户</th>"
                      "<th>状态</th></tr>\n",
                      p.f);
                fputs(rounds, p.f);
                fputs("</table>\n", p.f);
        }
        free(rounds);

        fputs("<h2>我负责的住户</h2>\n<div id=\"households\">\n", p.f);
        for (size_t i = 0; ok && i < c->n_households; i++) {
                const struct household *hh = &c->households[i];
                if (!mine(c, w, hh, any_team) || now < hh->obs_start_usec ||
                    now >= hh->obs_end_usec)
                        continue;
                if (n_house >= PAGE_HOUSEHOLDS_MAX) {
                        more_house++;
                        continue;
                }
                n_house++;
                ok = household_card(h, p.f, w, hh, now);
        }
        if (n_house == 0)
                fputs("<p class=\"empty\">当前没有您负责的观察中住户。</p>\n", p.f);
        if (more_house)
                fprintf(p.f, "<p class=\"muted\">另有 %zu 户未列出。</p>\n", more_house);
        fputs("</div>\n<p class=\"hint\">此页面为您的个人链接，请勿转发。所有操作都会记录为"
              "“工作人员页面”。</p>\n",
              p.f);
        if (!ok || ao.failed) {
                fclose(p.f);
                free(p.buf);
                http_message_page(rs, 500, "bad", "页面暂不可用",
                                  "服务器暂时无法生成页面，请稍后再试。");
                return;
        }
        http_page_end(&p, rs, 200);
}

/* ---- actions ---- */

/* The form's fields as command.h reads them: "symptoms" is every ticked "symptom" and the
 * "other_symptoms" text, comma-separated. */
static bool form_field(void *userdata, const char *key, char *buf, size_t size)
{
        const struct http_request *rq = userdata;
        const char *p = rq->body, *end = rq->body + rq->body_len;
        size_t o = 0;
        char one[COMMAND_SYMPTOM_MAX * 4];

        if (strcmp(key, "symptoms") != 0)
                return http_form_value(rq, key, buf, size);
        /* Each "symptom=..." of the body, then "other_symptoms". */
        buf[0] = 0;
        while (p && p < end) {
                const char *amp = memchr(p, '&', (size_t)(end - p));
                struct http_request one_rq = *rq;

                one_rq.body = (char *)p;
                one_rq.body_len = (size_t)((amp ? amp : end) - p);
                if (http_form_value(&one_rq, "symptom", one, sizeof(one)) && one[0]) {
                        if (o + strlen(one) + 2 >= size)
                                return false;
                        o += (size_t)snprintf(buf + o, size - o, "%s%s", o ? "," : "", one);
                }
                p = amp ? amp + 1 : NULL;
        }
        if (http_form_value(rq, "other_symptoms", one, sizeof(one)) && one[0]) {
                if (o + strlen(one) + 2 >= size)
                        return false;
                o += (size_t)snprintf(buf + o, size - o, "%s%s", o ? "," : "", one);
        }
        return o > 0;
}

static const struct {
        const char *action;
        enum command_verb verb;
        const char *done;
} actions[] = {
        { "ack", COMMAND_ACK, "已确认，其他收到通知的人员会得知由您处理。" },
        { "resolve", COMMAND_RESOLVE, "已记录处理完毕。" },
        { "checkin", COMMAND_CHECKIN, "已登记到访：接下来的开门不会告警。" },
        { "reading", COMMAND_READING, "已记录体温和症状。" },
};

/* What the worker reads about a refusal (the English reason of the one command path
 * after it, for the office). */
static void refusal_text(const struct command *cmd, int r, const char *error, char *buf,
                         size_t size)
{
        if (cmd->verb == COMMAND_READING && error && strstr(error, "temperature") &&
            strstr(error, "outside"))
                snprintf(buf, size,
                         "体温 %.1f℃ 超出 34–43℃，可能输入有误，请复测后重新填写。（%s）",
                         cmd->temperature, error);
        else if (r == ENGINE_E_FORBIDDEN)
                snprintf(buf, size, "您无权为此住户或告警操作：不在您的负责范围内。（%s）",
                         error ? error : "");
        else if (error && strstr(error, "already"))
                snprintf(buf, size, "此告警已被确认或已处理完毕。（%s）", error);
        else
                snprintf(buf, size, "未能完成。（%s）", error ? error : "");
}

/* The answer to a POST, as stored with its nonce (a replay shows it again). */
static void result_page(struct http_response *rs, int status, const char *text)
{
        struct http_page p;
        bool ok = status == 200;

        http_page_begin(&p, ok ? "已完成" : "未完成");
        fprintf(p.f, "<h1 class=\"%s\">%s</h1>\n<p id=\"result\">", ok ? "ok" : "bad",
                ok ? "已完成" : "未完成");
        html_puts(p.f, text);
        fputs("</p>\n<p><a class=\"button\" href=\"\">返回我的页面</a></p>\n", p.f);
        http_page_end(&p, rs, (unsigned)status);
}

static void worker_action(struct http_request *rq, struct http_response *rs, const struct worker *w,
                          int64_t now)
{
        struct http *h = rq->http;
        char nonce[TOKEN_MAX], action[16], text[RESULT_MAX];
        struct token_form form;
        struct command cmd;
        const char *error = NULL;
        int status, r;
        size_t k;

        if (!http_form_value(rq, "nonce", nonce, sizeof(nonce)) ||
            !http_form_value(rq, "action", action, sizeof(action))) {
                http_message_page(rs, 400, "bad", "表单无效", "请返回页面后重新操作。");
                return;
        }
        r = token_form_decode(&h->link_key, nonce, now, FORM_TTL_USEC, &form);
        if (r == TOKEN_E_EXPIRED) {
                http_message_page(rs, 410, "bad", "表单已过期",
                                  "此表单已过期，请返回页面刷新后重新操作。");
                return;
        }
        if (r != TOKEN_OK || strcmp(form.worker, w->id) != 0) {
                if (ratelimit_below(&rl_log))
                        log_warn("http: worker page of %s: a form that is not theirs from %s",
                                 w->id, rq->ip);
                http_message_page(rs, 403, "bad", "表单无效", "请返回页面后重新操作。");
                return;
        }
        /* A replay: the first answer, nothing done again. */
        r = store_form_result(h->deps.store, nonce, &status, text, sizeof(text));
        if (r < 0) {
                http_message_page(rs, 500, "bad", "服务器错误", "暂时无法处理，请稍后再试。");
                return;
        }
        if (r == 0) {
                if (ratelimit_below(&rl_log))
                        log_info("http: worker page of %s: a form sent again, answered as the "
                                 "first time",
                                 w->id);
                result_page(rs, status, text);
                return;
        }
        for (k = 0; k < ELEMENTSOF(actions) && strcmp(actions[k].action, action) != 0; k++)
                ;
        if (k == ELEMENTSOF(actions)) {
                http_message_page(rs, 400, "bad", "表单无效", "请返回页面后重新操作。");
                return;
        }
        r = command_parse_fields(
            h->deps.config, actions[k].verb,
            &(struct command_origin){ .channel = CHANNEL_WORKER_PAGE, .worker = w->id }, form_field,
            rq, now, &cmd);
        if (r < 0) {
                http_message_page(rs, 500, "bad", "服务器错误", "暂时无法处理，请稍后再试。");
                return;
        }
        if (r > 0) {
                error = cmd.error;
                status = 400;
        } else {
                r = engine_command(h->deps.engine, &cmd, &error);
                if (r < 0) {
                        if (ratelimit_below(&rl_log))
                                log_err_errno(r, "http: worker page of %s: %s failed", w->id,
                                              action);
                        http_message_page(rs, 500, "bad", "操作失败",
                                          "服务器暂时无法保存，请稍后重试。");
                        return;
                }
                status = r == ENGINE_OK ? 200 : r == ENGINE_E_FORBIDDEN ? 403 : 409;
        }
        if (status == 200)
                snprintf(text, sizeof(text), "%s", actions[k].done);
        else {
                refusal_text(&cmd, r, error, text, sizeof(text));
                if (ratelimit_below(&rl_log))
                        log_warn("http: worker page of %s: %s refused: %s", w->id, action, error);
        }
        /* The nonce and its answer with what it did, in one commit. */
        r = store_begin(h->deps.store);
        if (r == 0)
                r = store_form_record(h->deps.store, nonce, w->id, now, status, text);
        if (r == 0)
                r = h->deps.commit(h->deps.userdata);
        if (r < 0) {
                if (ratelimit_below(&rl_log))
                        log_err_errno(r, "http: worker page of %s: storing the answer failed",
                                      w->id);
                http_message_page(rs, 500, "bad", "操作失败", "服务器暂时无法保存，请稍后重试。");
                return;
        }
        result_page(rs, status, text);
}

/* ---- /w/<token> ---- */

void http_worker_page(struct http_request *rq, struct http_response *rs, const char *token)
{
        struct http *h = rq->http;
        int64_t now = now_realtime_usec();
        struct token_worker claim;
        const struct worker *w;
        uint64_t gen = 0;
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
        r = token_worker_decode(&h->link_key, token, now, &claim);
        switch (r) {
        case TOKEN_OK:
                break;
        case TOKEN_E_EXPIRED:
                http_message_page(rs, 410, "bad", "链接已过期",
                                  "此个人页面链接已过期。请使用最新通知中的链接，或向社区值班室"
                                  "索取新链接。");
                return;
        case TOKEN_E_SIGNATURE:
                if (ratelimit_below(&rl_log))
                        log_warn("http: worker page link with a bad signature from %s", rq->ip);
                http_message_page(rs, 403, "bad", "链接无效",
                                  "此链接无效或已被修改。请使用通知中的原始链接。");
                return;
        default:
                http_message_page(rs, 400, "bad", "链接无效", "这不是一个有效的个人页面链接。");
                return;
        }
        w = config_worker(h->deps.config, claim.worker);
        if (!w) {
                http_message_page(rs, 403, "bad", "链接无效", "此链接对应的工作人员已不在名单中。");
                return;
        }
        if (http_worker_generation(h, w->id, &gen) < 0) {
                http_message_page(rs, 500, "bad", "服务器错误", "暂时无法读取，请稍后再试。");
                return;
        }
        if (claim.generation != gen) {
                http_message_page(rs, 410, "bad", "链接已停用",
                                  "此个人页面链接已被停用（例如手机丢失后）。请向社区值班室"
                                  "索取新链接。");
                return;
        }
        if (rq->method == HTTP_GET)
                worker_page(h, rs, w, now);
        else
                worker_action(rq, rs, w, now);
}

/* notify.c: the notifier framework: type registry, context, configuration parsing,
 * rate limits, sends in flight, and the notification message (parse/format/render).
 *
 * Ownership: the context owns its notifiers (a list and a by-name map whose keys are
 * the notifiers' own names), the HTTP client and the templates. A notifier owns its
 * type data and its sends in flight (struct notify_op), each of which holds the
 * dispatcher's callback until it has run. Invariant: an op is on its notifier's list
 * exactly until its callback is invoked, so freeing a notifier can always run the
 * callbacks still owed.
 *
 * Rate limits are sliding windows: a ring of the last N send instants per window
 * (minute, second). The next slot is when the oldest of a full ring leaves the window,
 * or later when the far end said "too fast". */
#include "notify/notify.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "command.h"
#include "hashmap.h"
#include "http_client.h"
#include "jsonw.h"
#include "notify/channel.h"
#include "secret.h"
#include "util.h"

#define NOTIFY_MAX_MESSAGE (64 * 1024)
#define NOTIFY_MAX_DEPTH   8
#define NOTIFY_MAX_RATE    100000u
#define NOTIFY_DETAIL_MAX  256

/* ---- type registry ---- */

static int placeholder_send(struct notifier *n, const struct notify_message *m,
                            struct notify_op *op)
{
        notify_op_complete(op, NOTIFY_FAILED, 0, "type %s is not provided by this program",
                           notifier_type(n));
        return 0;
}

/* Accepts the configuration of the daemon's mqtt type until the daemon registers it. */
static const struct notify_type mqtt_placeholder = {
        .name = "mqtt",
        .send = placeholder_send,
};

static const struct notify_type *types[16] = {
        &mqtt_placeholder,     &notify_type_exec,   &notify_type_wecom,
        &notify_type_dingtalk, &notify_type_feishu, &notify_type_webhook,
};

const struct notify_type *notify_type_find(const char *name)
{
        for (size_t i = 0; name && i < ELEMENTSOF(types) && types[i]; i++)
                if (strcmp(types[i]->name, name) == 0)
                        return types[i];
        return NULL;
}

int notify_register_type(const struct notify_type *t)
{
        size_t i;

        for (i = 0; i < ELEMENTSOF(types) && types[i]; i++)
                if (strcmp(types[i]->name, t->name) == 0)
                        break;
        if (i == ELEMENTSOF(types))
                return -ENOSPC;
        types[i] = t;
        return 0;
}

const char *notify_outcome_to_string(enum notify_outcome o)
{
        switch (o) {
        case NOTIFY_DELIVERED:
                return "delivered";
        case NOTIFY_RETRY:
                return "retry";
        case NOTIFY_RATE_LIMITED:
                return "rate-limited";
        case NOTIFY_FAILED:
                return "failed";
        }
        return "invalid";
}

/* ---- context, notifier, op ---- */

struct rate_window {
        int64_t window_usec;
        unsigned cap; /* sends allowed per window; 0 = unlimited */
        unsigned n, head;
        int64_t *stamps;
};

struct notify_op {
        struct notifier *notifier;
        notify_done_fn done;
        void *userdata;
        void *data;
        bool in_send, completed;
        enum notify_outcome outcome;
        int64_t retry_after_usec;
        char detail[NOTIFY_DETAIL_MAX];
        sd_event_source *defer;
        struct notify_op *prev, *next;
};

struct notifier {
        struct notify_context *ctx;
        char *name;
        const struct notify_type *type;
        void *data;
        char **communities; /* NULL = all */
        size_t n_communities;
        char **kinds; /* NULL = all */
        size_t n_kinds;
        struct rate_window per_minute, per_second;
        int64_t blocked_until_usec;
        struct notify_op *ops;
        size_t n_ops;
        struct notifier *prev, *next;
};

struct notify_context {
        sd_event *event;
        struct http_client *http;
        struct templates *templates;
        notify_clock_fn clock;
        void *clock_userdata;
        struct hashmap *by_name;
        struct notifier *notifiers;
};

static int64_t default_clock(void *userdata)
{
        return now_realtime_usec();
}

int notify_context_new(sd_event *event, struct notify_context **ret)
{
        struct notify_context *ctx = xcalloc(1, sizeof(*ctx));
        int r;

        ctx->clock = default_clock;
        ctx->by_name = hashmap_new(16);
        r = templates_new(NULL, NULL, &ctx->templates);
        if (r >= 0 && event) {
                ctx->event = sd_event_ref(event);
                r = http_client_new(event, &ctx->http);
        }
        if (r < 0) {
                notify_context_free(ctx);
                return r;
        }
        *ret = ctx;
        return 0;
}

struct notify_context *notify_context_free(struct notify_context *ctx)
{
        if (!ctx)
                return NULL;
        while (ctx->notifiers)
                notifier_free(ctx->notifiers);
        http_client_free(ctx->http);
        templates_free(ctx->templates);
        hashmap_free(ctx->by_name);
        sd_event_unref(ctx->event);
        free(ctx);
        return NULL;
}

void notify_context_set_templates(struct notify_context *ctx, struct templates *t)
{
        templates_free(ctx->templates);
        ctx->templates = t;
}

const struct templates *notify_context_templates(const struct notify_context *ctx)
{
        return ctx->templates;
}

void notify_context_set_clock(struct notify_context *ctx, notify_clock_fn now, void *userdata)
{
        ctx->clock = now ? now : default_clock;
        ctx->clock_userdata = userdata;
}

struct notifier *notify_context_find(const struct notify_context *ctx, const char *name)
{
        return name ? hashmap_get(ctx->by_name, name) : NULL;
}

static void strv_free(char **v)
{
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

/* Removes op from its notifier and runs the callback with the stored outcome. */
static void op_finish(struct notify_op *op)
{
        struct notifier *n = op->notifier;
        struct notify_result res = {
                .outcome = op->outcome,
                .retry_after_usec = op->retry_after_usec,
                .detail = op->detail,
        };

        if (op->prev)
                op->prev->next = op->next;
        else
                n->ops = op->next;
        if (op->next)
                op->next->prev = op->prev;
        n->n_ops--;
        sd_event_source_disable_unref(op->defer);
        op->done(n, &res, op->userdata);
        free(op);
}

struct notifier *notifier_free(struct notifier *n)
{
        if (!n)
                return NULL;
        while (n->ops) {
                struct notify_op *op = n->ops;
                if (!op->completed) {
                        if (n->type->cancel)
                                n->type->cancel(n, op);
                        op->completed = true;
                        op->outcome = NOTIFY_RETRY;
                        op->retry_after_usec = 0;
                        snprintf(op->detail, sizeof(op->detail), "cancelled");
                }
                op_finish(op);
        }
        if (n->ctx) {
                hashmap_remove(n->ctx->by_name, n->name);
                if (n->prev)
                        n->prev->next = n->next;
                else if (n->ctx->notifiers == n)
                        n->ctx->notifiers = n->next;
                if (n->next)
                        n->next->prev = n->prev;
        }
        if (n->type && n->type->free_data)
                n->type->free_data(n->data);
        strv_free(n->communities);
        strv_free(n->kinds);
        free(n->per_minute.stamps);
        free(n->per_second.stamps);
        free(n->name);
        free(n);
        return NULL;
}

/* ---- configuration helpers ---- */

void notify_parse_error(const struct notify_parse *p, const char *key, const char *fmt, ...)
{
        char path[256], msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (key)
                snprintf(path, sizeof(path), "notifiers.%s.%s", p->name, key);
        else
                snprintf(path, sizeof(path), "notifiers.%s", p->name);
        if (p->diag)
                config_diag_error(p->diag, "doorwatch.json", path, "%s", msg);
}

static const cJSON *item(const struct notify_parse *p, const char *key)
{
        const cJSON *j = cJSON_GetObjectItemCaseSensitive(p->json, key);
        return cJSON_IsNull(j) ? NULL : j;
}

int notify_parse_string(const struct notify_parse *p, const char *key, bool required,
                        const char **ret)
{
        const cJSON *j = item(p, key);

        if (!j) {
                if (!required)
                        return 0;
                notify_parse_error(p, key, "missing");
                return -EINVAL;
        }
        if (!cJSON_IsString(j) || !j->valuestring[0]) {
                notify_parse_error(p, key, "must be a non-empty string");
                return -EINVAL;
        }
        *ret = j->valuestring;
        return 0;
}

int notify_parse_strv(const struct notify_parse *p, const char *key, char ***ret, size_t *ret_n)
{
        const cJSON *j = item(p, key), *e;
        char **v;
        size_t n = 0;

        if (!j)
                return 0;
        if (!cJSON_IsArray(j)) {
                notify_parse_error(p, key, "must be a list of strings");
                return -EINVAL;
        }
        cJSON_ArrayForEach(e, j)
        {
                if (!cJSON_IsString(e) || !e->valuestring[0]) {
                        notify_parse_error(p, key, "must be a list of non-empty strings");
                        return -EINVAL;
                }
        }
        v = xcalloc((size_t)cJSON_GetArraySize(j) + 1, sizeof(char *));
        cJSON_ArrayForEach(e, j)
        {
                v[n++] = xstrdup(e->valuestring);
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int notify_parse_duration(const struct notify_parse *p, const char *key, int64_t *ret_usec)
{
        const cJSON *j = item(p, key);
        int64_t v;

        if (!j)
                return 0;
        if (!cJSON_IsString(j) || parse_duration(j->valuestring, &v) < 0 || v <= 0) {
                notify_parse_error(p, key, "must be a positive duration like \"10s\"");
                return -EINVAL;
        }
        *ret_usec = v;
        return 0;
}

int notify_parse_uint(const struct notify_parse *p, const char *key, unsigned max, unsigned *ret)
{
        const cJSON *j = item(p, key);

        if (!j)
                return 0;
        if (!cJSON_IsNumber(j) || j->valuedouble < 0 || j->valuedouble > max ||
            j->valuedouble != floor(j->valuedouble)) {
                notify_parse_error(p, key, "must be an integer from 0 to %u", max);
                return -EINVAL;
        }
        *ret = (unsigned)j->valuedouble;
        return 0;
}

int notify_parse_secret(const struct notify_parse *p, const char *key, bool required, char **ret)
{
        const char *path = NULL;
        char *secret = NULL;
        int r;

        r = notify_parse_string(p, key, required, &path);
        if (r < 0 || !path)
                return r;
        r = secret_read_at(p->config_dir, secret_credential_of(path), path, &secret);
        if (r != 0) {
                notify_parse_error(p, key, "cannot read %s: %s", path,
                                   strerror(r == SECRET_E_MISSING ? ENOENT : -r));
                return -EINVAL;
        }
        if (!secret || !secret[0]) {
                secret_free(secret);
                notify_parse_error(p, key, "%s is empty", path);
                return -EINVAL;
        }
        *ret = secret;
        return 0;
}

static bool key_in(const char *key, const char *const *keys)
{
        for (size_t i = 0; keys && keys[i]; i++)
                if (strcmp(keys[i], key) == 0)
                        return true;
        return false;
}

static void rate_init(struct rate_window *w, unsigned cap, int64_t window_usec)
{
        w->window_usec = window_usec;
        w->cap = cap;
        w->stamps = xcalloc(cap, sizeof(int64_t)); /* NULL for 0: no limit */
}

static int parse_common(const struct notify_parse *p, struct notifier *n)
{
        static const char *const common[] = { "type", "rate_per_minute", "rate_per_second", NULL };
        static const char *const group[] = { "communities", "kinds", NULL };
        unsigned per_min = n->type->default_rate_per_minute;
        unsigned per_sec = n->type->default_rate_per_second;
        const cJSON *e;
        int r = 0;

        cJSON_ArrayForEach(e, p->json)
        {
                if (key_in(e->string, common) || key_in(e->string, n->type->keys) ||
                    (n->type->group && key_in(e->string, group)))
                        continue;
                notify_parse_error(p, e->string, "unknown key for type %s", n->type->name);
                r = -EINVAL;
        }
        if (notify_parse_uint(p, "rate_per_minute", NOTIFY_MAX_RATE, &per_min) < 0 ||
            notify_parse_uint(p, "rate_per_second", NOTIFY_MAX_RATE, &per_sec) < 0)
                r = -EINVAL;
        rate_init(&n->per_minute, per_min, USEC_PER_MIN);
        rate_init(&n->per_second, per_sec, USEC_PER_SEC);
        if (!n->type->group)
                return r;
        if (notify_parse_strv(p, "communities", &n->communities, &n->n_communities) < 0)
                r = -EINVAL;
        if (notify_parse_strv(p, "kinds", &n->kinds, &n->n_kinds) < 0)
                r = -EINVAL;
        for (size_t i = 0; i < n->n_kinds; i++) {
                if (strcmp(n->kinds[i], "*") == 0) {
                        strv_free(n->kinds); /* all kinds */
                        n->kinds = NULL;
                        n->n_kinds = 0;
                        break;
                }
                if (!template_kind_known(n->kinds[i])) {
                        notify_parse_error(p, "kinds", "unknown kind \"%.64s\"", n->kinds[i]);
                        r = -EINVAL;
                }
        }
        return r;
}

int notifier_new(struct notify_context *ctx, const struct notifier_config *nc,
                 const char *config_dir, struct config_diag *diag, struct notifier **ret)
{
        struct notify_parse p = {
                .name = nc->name, .json = nc->json, .config_dir = config_dir, .diag = diag
        };
        struct notifier *n;
        int r;

        if (!nc->name || !cJSON_IsObject(nc->json)) {
                notify_parse_error(&p, NULL, "must be an object");
                return -EINVAL;
        }
        if (notify_context_find(ctx, nc->name)) {
                notify_parse_error(&p, NULL, "defined twice");
                return -EEXIST;
        }
        n = xcalloc(1, sizeof(*n));
        n->type = notify_type_find(nc->type);
        if (!nc->type) {
                notify_parse_error(&p, "type", "missing");
                free(n);
                return -EINVAL;
        }
        if (!n->type) {
                notify_parse_error(&p, "type",
                                   "unknown type \"%.32s\" (mqtt, exec, wecom, dingtalk, "
                                   "feishu, webhook)",
                                   nc->type);
                free(n);
                return -EINVAL;
        }
        n->name = xstrdup(nc->name);
        r = parse_common(&p, n);
        if (n->type->parse) {
                int k = n->type->parse(&p, &n->data);
                if (k < 0 && r >= 0)
                        r = k;
        }
        if (r < 0) {
                notifier_free(n);
                return r;
        }
        n->ctx = ctx;
        n->next = ctx->notifiers;
        if (ctx->notifiers)
                ctx->notifiers->prev = n;
        ctx->notifiers = n;
        hashmap_put(ctx->by_name, n->name, n);
        if (ret)
                *ret = n;
        return 0;
}

int notify_check_config(const struct notifier_config *nc, const char *config_dir,
                        struct config_diag *diag)
{
        _cleanup_(notify_context_freep) struct notify_context *ctx = NULL;
        int r = notify_context_new(NULL, &ctx);

        if (r < 0)
                return r;
        return notifier_new(ctx, nc, config_dir, diag, NULL);
}

const char *notifier_name(const struct notifier *n)
{
        return n->name;
}

const char *notifier_type(const struct notifier *n)
{
        return n->type->name;
}

bool notifier_is_group(const struct notifier *n)
{
        return n->type->group;
}

static bool strv_contains(char *const *v, size_t n, const char *s)
{
        for (size_t i = 0; s && i < n; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

bool notifier_wants(const struct notifier *n, const char *kind, const char *community)
{
        if (!n->type->group)
                return true;
        if (n->kinds && !strv_contains(n->kinds, n->n_kinds, kind))
                return false;
        if (n->communities && !strv_contains(n->communities, n->n_communities, community))
                return false;
        return true;
}

static int64_t rate_next(const struct rate_window *w, int64_t now_usec)
{
        if (w->cap == 0 || w->n < w->cap)
                return now_usec;
        return MAX(now_usec, w->stamps[w->head] + w->window_usec);
}

static void rate_record(struct rate_window *w, int64_t now_usec)
{
        if (w->cap == 0)
                return;
        if (w->n < w->cap) {
                w->stamps[(w->head + w->n) % w->cap] = now_usec;
                w->n++;
        } else {
                w->stamps[w->head] = now_usec;
                w->head = (w->head + 1) % w->cap;
        }
}

int64_t notifier_next_slot_usec(const struct notifier *n, int64_t now_usec)
{
        int64_t t = MAX(now_usec, n->blocked_until_usec);
        t = MAX(t, rate_next(&n->per_minute, now_usec));
        return MAX(t, rate_next(&n->per_second, now_usec));
}

void notifier_record_send(struct notifier *n, int64_t now_usec)
{
        rate_record(&n->per_minute, now_usec);
        rate_record(&n->per_second, now_usec);
}

size_t notifier_n_pending(const struct notifier *n)
{
        return n->n_ops;
}

void *notifier_data(const struct notifier *n)
{
        return n->data;
}

const struct notify_type *notifier_get_type(const struct notifier *n)
{
        return n->type;
}

sd_event *notifier_event(const struct notifier *n)
{
        return n->ctx->event;
}

struct http_client *notifier_http(const struct notifier *n)
{
        return n->ctx->http;
}

int64_t notifier_now_usec(const struct notifier *n)
{
        return n->ctx->clock(n->ctx->clock_userdata);
}

int notifier_text(const struct notifier *n, const struct notify_message *m, size_t max_bytes,
                  char **ret)
{
        if (m->text) {
                char *s = xstrdup(m->text);
                if (max_bytes > 0)
                        template_truncate(s, max_bytes);
                *ret = s;
                return 0;
        }
        return notify_render_text(n->ctx->templates, m, max_bytes, ret);
}

static int on_defer(sd_event_source *s, void *userdata)
{
        op_finish(userdata);
        return 0;
}

int notifier_send(struct notifier *n, const struct notify_message *m, notify_done_fn done,
                  void *userdata)
{
        struct notify_op *op;
        int r;

        if (!n || !m || !done)
                return -EINVAL;
        if (!n->ctx->event)
                return -ENOTCONN;
        op = xcalloc(1, sizeof(*op));
        /* Armed now, enabled only if the type completes inside send(). */
        r = sd_event_add_defer(n->ctx->event, &op->defer, on_defer, op);
        if (r >= 0)
                r = sd_event_source_set_enabled(op->defer, SD_EVENT_OFF);
        if (r < 0) {
                sd_event_source_disable_unref(op->defer);
                free(op);
                return r;
        }
        op->notifier = n;
        op->done = done;
        op->userdata = userdata;
        op->next = n->ops;
        if (n->ops)
                n->ops->prev = op;
        n->ops = op;
        n->n_ops++;
        notifier_record_send(n, notifier_now_usec(n));

        op->in_send = true;
        if (!m->notification_id || !m->kind)
                notify_op_complete(op, NOTIFY_FAILED, 0, "message without notification_id or kind");
        else {
                r = n->type->send(n, m, op);
                if (r < 0 && !op->completed)
                        notify_op_complete(op, NOTIFY_RETRY, 0, "cannot start: %s", strerror(-r));
        }
        op->in_send = false;
        if (op->completed)
                sd_event_source_set_enabled(op->defer, SD_EVENT_ONESHOT);
        return 0;
}

void notify_op_set_data(struct notify_op *op, void *data)
{
        op->data = data;
}

void *notify_op_get_data(const struct notify_op *op)
{
        return op->data;
}

struct notifier *notify_op_notifier(const struct notify_op *op)
{
        return op->notifier;
}

/* Control characters become spaces; in digit runs long enough to be phone numbers the
 * four digits before the last four are masked, as log_mask_phone() does
 * ("13800000001" -> "138****0001"). */
static void detail_sanitize(char *s)
{
        for (char *p = s; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        *p = ' ';
        for (char *p = s; *p;) {
                size_t run = strspn(p, "0123456789");
                if (run >= 8)
                        memset(p + run - 8, '*', 4);
                p += run ? run : 1;
        }
}

void notify_op_complete(struct notify_op *op, enum notify_outcome outcome, int64_t retry_after_usec,
                        const char *fmt, ...)
{
        char buf[1024];
        va_list ap;

        if (op->completed)
                return;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        detail_sanitize(buf);
        template_truncate(buf, sizeof(op->detail) - 1);
        memcpy(op->detail, buf, strlen(buf) + 1);
        if (outcome == NOTIFY_RATE_LIMITED) {
                struct notifier *n = op->notifier;
                if (retry_after_usec <= 0)
                        retry_after_usec = CHANNEL_RATE_LIMIT_BACKOFF_USEC;
                n->blocked_until_usec =
                    MAX(n->blocked_until_usec, notifier_now_usec(n) + retry_after_usec);
        }
        op->outcome = outcome;
        op->retry_after_usec = retry_after_usec;
        op->completed = true;
        op->data = NULL;
        if (!op->in_send)
                op_finish(op);
}

/* ---- messages ---- */

struct message_owned {
        struct notify_message m; /* first: notify_message_free() casts back */
        cJSON *root;
        struct notify_recipient *recipients;
        char *json;
};

static int get_str(const cJSON *o, const char *key, const char **ret)
{
        const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

        *ret = NULL;
        if (!j || cJSON_IsNull(j))
                return 0;
        if (!cJSON_IsString(j))
                return -EBADMSG;
        *ret = j->valuestring;
        return 0;
}

static int get_usec(const cJSON *o, const char *key, int64_t *ret)
{
        const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

        *ret = 0;
        if (!j || cJSON_IsNull(j))
                return 0;
        if (!cJSON_IsNumber(j) || j->valuedouble < 0 || j->valuedouble > 1e11)
                return -EBADMSG;
        *ret = llround(j->valuedouble * 1e6);
        return 0;
}

static int get_uint(const cJSON *o, const char *key, unsigned *ret)
{
        const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

        *ret = 0;
        if (!j || cJSON_IsNull(j))
                return 0;
        if (!cJSON_IsNumber(j) || j->valuedouble < 0 || j->valuedouble > 1e9)
                return -EBADMSG;
        *ret = (unsigned)j->valuedouble;
        return 0;
}

static int parse_recipients(struct message_owned *o)
{
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(o->root, "recipients"), *e;
        size_t n = 0;

        if (!list || cJSON_IsNull(list)) {
                if (!o->m.worker)
                        return 0;
                o->recipients = xcalloc(1, sizeof(*o->recipients));
                o->recipients[0] =
                    (struct notify_recipient){ .worker = o->m.worker, .role = o->m.role };
                o->m.recipients = o->recipients;
                o->m.n_recipients = 1;
                return 0;
        }
        if (!cJSON_IsArray(list))
                return -EBADMSG;
        o->recipients = xcalloc((size_t)cJSON_GetArraySize(list) + 1, sizeof(*o->recipients));
        cJSON_ArrayForEach(e, list)
        {
                struct notify_recipient *r = &o->recipients[n++];
                if (!cJSON_IsObject(e) || get_str(e, "worker", &r->worker) < 0 ||
                    get_str(e, "name", &r->name) < 0 || get_str(e, "phone", &r->phone) < 0 ||
                    get_str(e, "role", &r->role) < 0)
                        return -EBADMSG;
        }
        o->m.recipients = o->recipients;
        o->m.n_recipients = n;
        return 0;
}

int notify_message_parse(const char *json, struct notify_message **ret)
{
        struct message_owned *o;
        struct notify_message *m;
        const cJSON *round;
        size_t len = json ? strlen(json) : 0;
        int r = 0;

        if (!json || len > NOTIFY_MAX_MESSAGE)
                return -EBADMSG;
        o = xcalloc(1, sizeof(*o));
        m = &o->m;
        o->root = cJSON_ParseWithLength(json, len);
        if (!cJSON_IsObject(o->root) || json_depth(o->root) > NOTIFY_MAX_DEPTH) {
                notify_message_free(m);
                return -EBADMSG;
        }
        static const struct {
                const char *key;
                size_t off;
        } strings[] = {
#define S(f) { #f, offsetof(struct notify_message, f) }
                S(notification_id),
                S(alert_id),
                S(household),
                S(community),
                S(address),
                S(kind),
                S(severity),
                S(reason),
                S(text),
                S(event_id),
                S(step),
                S(role),
                S(worker),
                S(ack_topic),
                S(ack_url),
                S(page_url),
                S(note),
                S(acked_by),
                S(acked_by_name),
                S(alert_kind),
                { "channel", offsetof(struct notify_message, ack_channel) },
#undef S
        };
        for (size_t i = 0; i < ELEMENTSOF(strings) && r >= 0; i++)
                r = get_str(o->root, strings[i].key,
                            (const char **)(void *)((char *)m + strings[i].off));
        round = cJSON_GetObjectItemCaseSensitive(o->root, "round");
        if (round && !cJSON_IsNull(round)) {
                if (!cJSON_IsNumber(round) || round->valuedouble < 0 || round->valuedouble > 1e6)
                        r = -EBADMSG;
                else
                        m->round = (int)round->valuedouble;
        }
        if (r >= 0)
                r = get_usec(o->root, "event_ts", &m->event_ts_usec);
        if (r >= 0)
                r = get_usec(o->root, "raised_at", &m->raised_at_usec);
        if (r >= 0)
                r = get_uint(o->root, "count", &m->count);
        if (r >= 0)
                r = get_usec(o->root, "acked_at", &m->acked_at_usec);
        if (r >= 0) {
                unsigned reminder;
                r = get_uint(o->root, "reminder", &reminder);
                m->reminder = (int)MIN(reminder, 1000000u);
        }
        if (r >= 0)
                r = parse_recipients(o);
        if (r >= 0 && (!m->notification_id || !m->kind))
                r = -EBADMSG;
        if (r >= 0) {
                o->json = xstrdup(json);
                m->json = o->json;
        }
        if (r < 0) {
                notify_message_free(m);
                return r;
        }
        *ret = m;
        return 0;
}

struct notify_message *notify_message_free(struct notify_message *m)
{
        struct message_owned *o = (struct message_owned *)m;

        if (!o)
                return NULL;
        cJSON_Delete(o->root);
        free(o->recipients);
        free(o->json);
        free(o);
        return NULL;
}

static void add_time(struct jsonw *w, const char *key, int64_t usec)
{
        if (usec > 0)
                jsonw_seconds(w, key, usec);
        else
                jsonw_null(w, key);
}

/* Written with jsonw (byte for byte what cJSON printed before, see test-jsonw.c): every
 * notification is formatted twice (outbox row, then per channel), and building a cJSON
 * tree for it was a tenth of the daemon's time under load. */
char *notify_message_format(const struct notify_message *m, enum notify_format f)
{
        char buf[2048];
        struct jsonw w;

        jsonw_init(&w, buf, sizeof(buf));
        jsonw_object_begin(&w, NULL);
        jsonw_string(&w, "notification_id", m->notification_id);
        jsonw_string(&w, "alert_id", m->alert_id);
        jsonw_number(&w, "round", m->round);
        jsonw_string(&w, "household", m->household);
        jsonw_string(&w, "community", m->community);
        jsonw_string(&w, "address", m->address);
        jsonw_string(&w, "kind", m->kind);
        jsonw_string(&w, "severity", m->severity);
        jsonw_string(&w, "reason", m->reason);
        jsonw_string(&w, "text", m->text);
        jsonw_string(&w, "event_id", m->event_id);
        add_time(&w, "event_ts", m->event_ts_usec);
        add_time(&w, "raised_at", m->raised_at_usec);
        jsonw_string(&w, "step", m->step);
        if (f != NOTIFY_FORMAT_ROUND) {
                jsonw_string(&w, "role", m->role);
                jsonw_string(&w, "worker", m->worker);
                jsonw_string(&w, "ack_topic", m->ack_topic);
        }
        jsonw_string(&w, "ack_url", m->ack_url);
        if (f == NOTIFY_FORMAT_OUTBOX) {
                jsonw_string(&w, "acked_by", m->acked_by);
                jsonw_number(&w, "count", m->count);
        } else if (m->acked_by)
                jsonw_string(&w, "acked_by", m->acked_by);
        if (m->reminder > 0)
                jsonw_number(&w, "reminder", m->reminder);
        if (m->acked_by_name)
                jsonw_string(&w, "acked_by_name", m->acked_by_name);
        if (m->acked_at_usec > 0)
                add_time(&w, "acked_at", m->acked_at_usec);
        if (m->ack_channel)
                jsonw_string(&w, "channel", m->ack_channel);
        if (m->alert_kind)
                jsonw_string(&w, "alert_kind", m->alert_kind);
        if (m->note)
                jsonw_string(&w, "note", m->note);
        if (m->page_url && f != NOTIFY_FORMAT_ROUND)
                jsonw_string(&w, "page_url", m->page_url);
        if (f != NOTIFY_FORMAT_PERSON) {
                jsonw_array_begin(&w, "recipients");
                for (size_t i = 0; i < m->n_recipients; i++) {
                        const struct notify_recipient *r = &m->recipients[i];
                        jsonw_object_begin(&w, NULL);
                        jsonw_string(&w, "worker", r->worker);
                        jsonw_string(&w, "name", r->name);
                        jsonw_string(&w, "phone", r->phone);
                        jsonw_string(&w, "role", r->role);
                        jsonw_object_end(&w);
                }
                jsonw_array_end(&w);
        }
        jsonw_object_end(&w);
        return jsonw_finish(&w);
}

/* Recipients' field joined with sep; falls back to `single` without recipients. */
static char *join_recipients(const struct notify_message *m, size_t field_off, const char *sep,
                             const char *single)
{
        struct sbuf f = { 0 };
        size_t k = 0;

        if (m->n_recipients == 0)
                return xstrdup(single ? single : "");
        for (size_t i = 0; i < m->n_recipients; i++) {
                const char *v = *(
                    const char *const *)(const void *)((const char *)&m->recipients[i] + field_off);
                if (!v)
                        continue;
                if (k++)
                        sbuf_puts(&f, sep);
                sbuf_puts(&f, v);
        }
        return sbuf_finish(&f);
}

/* The Chinese label of a channel code (command.h); an unknown code as it is. */
static const char *channel_label_of(const char *code)
{
        enum channel ch;
        return channel_from_code(code, &ch) == 0 ? channel_label(ch) : code;
}

int notify_render_text(const struct templates *t, const struct notify_message *m, size_t max_bytes,
                       char **ret)
{
        _cleanup_free_ char *workers =
            join_recipients(m, offsetof(struct notify_recipient, worker), ",", m->worker);
        _cleanup_free_ char *names =
            join_recipients(m, offsetof(struct notify_recipient, name), "、", NULL);
        struct template_vars v = {
                .household = m->household,
                .address = m->address,
                .kind = m->kind,
                .severity = m->severity,
                .step = m->step,
                .worker = workers,
                .name = names,
                .ack_url = m->ack_url,
                .page_url = m->worker ? m->page_url : NULL,
                .ack_topic = m->worker ? m->ack_topic : NULL,
                .alert_id = m->alert_id,
                .alert_kind = m->alert_kind,
                .note = m->note,
                .acked_by = m->acked_by_name ? m->acked_by_name : m->acked_by,
                .channel = channel_label_of(m->ack_channel),
                .time_usec = m->event_ts_usec > 0 ? m->event_ts_usec : m->raised_at_usec,
                .round = m->round,
                .count = m->count,
        };
        int r = template_render(t, m->kind, &v, max_bytes, ret);

        return r == TEMPLATE_E_UNKNOWN_KIND ? NOTIFY_E_NO_TEMPLATE : r;
}

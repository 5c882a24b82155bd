/* wecom.c: WeCom (企业微信) group robot webhook.
 *
 * POST <url from url_file> with {"msgtype":"text","text":{"content":…,
 * "mentioned_mobile_list":[…]}} (or "markdown", which cannot mention anyone). The
 * answer {"errcode":0,"errmsg":"ok"} means delivered; 45009 (api freq out of limit)
 * means too fast; -1 (system busy) is transient; every other code is permanent
 * (e.g. 93000: invalid webhook URL). The robot allows 20 messages per minute. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "notify/channel.h"
#include "secret.h"

struct wecom {
        char *url;
        bool markdown;
        int64_t timeout_usec;
};

static const char *const wecom_keys[] = { "url_file", "msgtype", "timeout", NULL };

static void wecom_free(void *data)
{
        struct wecom *w = data;
        if (!w)
                return;
        secret_free(w->url);
        free(w);
}

static int wecom_parse(const struct notify_parse *p, void **ret)
{
        struct wecom *w = xcalloc(1, sizeof(*w));
        const char *msgtype = "text";
        int r = 0;

        if (channel_parse_url(p, false, &w->url) < 0)
                r = -EINVAL;
        if (notify_parse_string(p, "msgtype", false, &msgtype) < 0)
                r = -EINVAL;
        else if (strcmp(msgtype, "markdown") == 0)
                w->markdown = true;
        else if (strcmp(msgtype, "text") != 0) {
                notify_parse_error(p, "msgtype", "must be \"text\" or \"markdown\"");
                r = -EINVAL;
        }
        if (channel_parse_timeout(p, &w->timeout_usec) < 0)
                r = -EINVAL;
        if (r < 0) {
                wecom_free(w);
                return r;
        }
        *ret = w;
        return 0;
}

static const int wecom_rate_limited[] = { 45009 };
static const int wecom_transient[] = { -1 };
static const struct channel_robot wecom_robot = {
        .code_key = "errcode",
        .msg_key = "errmsg",
        .rate_limited = wecom_rate_limited,
        .n_rate_limited = ELEMENTSOF(wecom_rate_limited),
        .transient = wecom_transient,
        .n_transient = ELEMENTSOF(wecom_transient),
};

static int wecom_send(struct notifier *n, const struct notify_message *m, struct notify_op *op)
{
        static const char *const headers[] = { "Content-Type: application/json", NULL };
        const struct wecom *w = notifier_data(n);
        _cleanup_json_ cJSON *body = cJSON_CreateObject();
        _cleanup_free_ char *text = NULL, *json = NULL;
        cJSON *inner;
        int r;

        r = notifier_text(n, m, w->markdown ? TEMPLATE_MAX_WECOM_MARKDOWN : TEMPLATE_MAX_WECOM_TEXT,
                          &text);
        if (r == NOTIFY_E_NO_TEMPLATE) {
                notify_op_complete(op, NOTIFY_FAILED, 0, "no text and no template for kind");
                return 0;
        }
        if (r < 0)
                return r;
        cJSON_AddStringToObject(body, "msgtype", w->markdown ? "markdown" : "text");
        inner = cJSON_AddObjectToObject(body, w->markdown ? "markdown" : "text");
        cJSON_AddStringToObject(inner, "content", text);
        if (!w->markdown) {
                cJSON *list = cJSON_AddArrayToObject(inner, "mentioned_mobile_list");
                for (size_t i = 0; i < m->n_recipients; i++) {
                        char phone[32];
                        if (channel_mention_phone(m->recipients[i].phone, phone))
                                cJSON_AddItemToArray(list, cJSON_CreateString(phone));
                }
        }
        json = cJSON_PrintUnformatted(body);
        return channel_post(n, op,
                            &(struct channel_post){
                                .url = w->url,
                                .headers = headers,
                                .body = json,
                                .body_len = strlen(json),
                                .timeout_usec = w->timeout_usec,
                                .robot = &wecom_robot,
                            });
}

const struct notify_type notify_type_wecom = {
        .name = "wecom",
        .group = true,
        .keys = wecom_keys,
        .default_rate_per_minute = 20,
        .parse = wecom_parse,
        .free_data = wecom_free,
        .send = wecom_send,
        .cancel = channel_post_cancel,
};

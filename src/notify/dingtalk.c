/* dingtalk.c: DingTalk (钉钉) custom robot webhook.
 *
 * POST <url from url_file>[&timestamp=<ms>&sign=<s>] with {"msgtype":"text",
 * "text":{"content":…},"at":{"atMobiles":[…],"isAtAll":false}}. With a secret_file
 * (the robot's "加签" security setting) the URL is signed:
 * s = urlencode(base64(HMAC-SHA256(key = secret, msg = "<ms>\n<secret>"))), ms from
 * the context clock. Answer {"errcode":0} = delivered; 130101 (send too fast, 20 per
 * minute) = too fast; -1 = transient; others permanent (310000: keyword/sign/IP check
 * failed). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/channel.h"
#include "secret.h"

struct dingtalk {
        char *url;
        char *secret; /* NULL: robot without signing */
        int64_t timeout_usec;
};

static const char *const dingtalk_keys[] = { "url_file", "secret_file", "timeout", NULL };

static void dingtalk_free(void *data)
{
        struct dingtalk *d = data;
        if (!d)
                return;
        secret_free(d->url);
        secret_free(d->secret);
        free(d);
}

static int dingtalk_parse(const struct notify_parse *p, void **ret)
{
        struct dingtalk *d = xcalloc(1, sizeof(*d));
        int r = 0;

        if (channel_parse_url(p, false, &d->url) < 0)
                r = -EINVAL;
        if (notify_parse_secret(p, "secret_file", false, &d->secret) < 0)
                r = -EINVAL;
        if (channel_parse_timeout(p, &d->timeout_usec) < 0)
                r = -EINVAL;
        if (r < 0) {
                dingtalk_free(d);
                return r;
        }
        *ret = d;
        return 0;
}

static const int dingtalk_rate_limited[] = { 130101 };
static const int dingtalk_transient[] = { -1 };
static const struct channel_robot dingtalk_robot = {
        .code_key = "errcode",
        .msg_key = "errmsg",
        .rate_limited = dingtalk_rate_limited,
        .n_rate_limited = ELEMENTSOF(dingtalk_rate_limited),
        .transient = dingtalk_transient,
        .n_transient = ELEMENTSOF(dingtalk_transient),
};

/* The robot URL with timestamp and signature appended. */
static char *signed_url(const struct dingtalk *d, int64_t now_usec)
{
        _cleanup_free_ char *to_sign = NULL, *b64 = NULL, *sign = NULL;
        int64_t ms = now_usec / USEC_PER_MSEC;
        unsigned char mac[32];

        to_sign = xasprintf("%" PRId64 "\n%s", ms, d->secret);
        channel_hmac_sha256(d->secret, strlen(d->secret), to_sign, strlen(to_sign), mac);
        b64 = channel_base64(mac, sizeof(mac));
        sign = channel_urlencode(b64);
        return xasprintf("%s%ctimestamp=%" PRId64 "&sign=%s", d->url,
                         strchr(d->url, '?') ? '&' : '?', ms, sign);
}

static int dingtalk_send(struct notifier *n, const struct notify_message *m, struct notify_op *op)
{
        static const char *const headers[] = { "Content-Type: application/json", NULL };
        const struct dingtalk *d = notifier_data(n);
        _cleanup_json_ cJSON *body = cJSON_CreateObject();
        _cleanup_free_ char *text = NULL, *json = NULL, *url = NULL;
        cJSON *at, *list;
        int r;

        r = notifier_text(n, m, TEMPLATE_MAX_DINGTALK, &text);
        if (r == NOTIFY_E_NO_TEMPLATE) {
                notify_op_complete(op, NOTIFY_FAILED, 0, "no text and no template for kind");
                return 0;
        }
        if (r < 0)
                return r;
        cJSON_AddStringToObject(body, "msgtype", "text");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(body, "text"), "content", text);
        at = cJSON_AddObjectToObject(body, "at");
        list = cJSON_AddArrayToObject(at, "atMobiles");
        for (size_t i = 0; i < m->n_recipients; i++) {
                char phone[32];
                if (channel_mention_phone(m->recipients[i].phone, phone))
                        cJSON_AddItemToArray(list, cJSON_CreateString(phone));
        }
        cJSON_AddFalseToObject(at, "isAtAll");
        json = cJSON_PrintUnformatted(body);
        url = d->secret ? signed_url(d, notifier_now_usec(n)) : xstrdup(d->url);
        return channel_post(n, op,
                            &(struct channel_post){
                                .url = url,
                                .headers = headers,
                                .body = json,
                                .body_len = strlen(json),
                                .timeout_usec = d->timeout_usec,
                                .robot = &dingtalk_robot,
                            });
}

const struct notify_type notify_type_dingtalk = {
        .name = "dingtalk",
        .group = true,
        .keys = dingtalk_keys,
        .default_rate_per_minute = 20,
        .parse = dingtalk_parse,
        .free_data = dingtalk_free,
        .send = dingtalk_send,
        .cancel = channel_post_cancel,
};

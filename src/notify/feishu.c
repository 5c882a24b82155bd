/* feishu.c: Feishu / Lark (飞书) custom bot webhook.
 *
 * POST <url from url_file> with {"msg_type":"text","content":{"text":…}}, preceded by
 * "timestamp" (Unix seconds, as a string) and "sign" when a secret_file is set (the
 * bot's signature check): sign = base64(HMAC-SHA256(key = "<timestamp>\n<secret>",
 * msg = "")). Answer {"code":0} (older bots: {"StatusCode":0}) = delivered; 11232
 * (frequency limited) or HTTP 429 = too fast; others permanent (19021: bad signature).
 * Bots allow 100 messages per minute and 5 per second. Mentions need Feishu user ids,
 * which doorwatch does not know, so recipients appear by name in the text only. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/channel.h"
#include "secret.h"

struct feishu {
        char *url;
        char *secret;
        int64_t timeout_usec;
};

static const char *const feishu_keys[] = { "url_file", "secret_file", "timeout", NULL };

static void feishu_free(void *data)
{
        struct feishu *f = data;
        if (!f)
                return;
        secret_free(f->url);
        secret_free(f->secret);
        free(f);
}

static int feishu_parse(const struct notify_parse *p, void **ret)
{
        struct feishu *f = xcalloc(1, sizeof(*f));
        int r = 0;

        if (channel_parse_url(p, false, &f->url) < 0)
                r = -EINVAL;
        if (notify_parse_secret(p, "secret_file", false, &f->secret) < 0)
                r = -EINVAL;
        if (channel_parse_timeout(p, &f->timeout_usec) < 0)
                r = -EINVAL;
        if (r < 0) {
                feishu_free(f);
                return r;
        }
        *ret = f;
        return 0;
}

static const int feishu_rate_limited[] = { 11232 };
static const struct channel_robot feishu_robot = {
        .code_key = "code",
        .msg_key = "msg",
        .alt_code_key = "StatusCode",
        .alt_msg_key = "StatusMessage",
        .rate_limited = feishu_rate_limited,
        .n_rate_limited = ELEMENTSOF(feishu_rate_limited),
};

static int feishu_send(struct notifier *n, const struct notify_message *m, struct notify_op *op)
{
        static const char *const headers[] = { "Content-Type: application/json", NULL };
        const struct feishu *f = notifier_data(n);
        _cleanup_json_ cJSON *body = cJSON_CreateObject();
        _cleanup_free_ char *text = NULL, *json = NULL;
        int r;

        r = notifier_text(n, m, TEMPLATE_MAX_FEISHU, &text);
        if (r == NOTIFY_E_NO_TEMPLATE) {
                notify_op_complete(op, NOTIFY_FAILED, 0, "no text and no template for kind");
                return 0;
        }
        if (r < 0)
                return r;
        if (f->secret) {
                _cleanup_free_ char *key = NULL, *sign = NULL;
                int64_t ts = notifier_now_usec(n) / USEC_PER_SEC;
                unsigned char mac[32];
                char tsbuf[24];

                snprintf(tsbuf, sizeof(tsbuf), "%" PRId64, ts);
                key = xasprintf("%s\n%s", tsbuf, f->secret);
                channel_hmac_sha256(key, strlen(key), "", 0, mac);
                sign = channel_base64(mac, sizeof(mac));
                cJSON_AddStringToObject(body, "timestamp", tsbuf);
                cJSON_AddStringToObject(body, "sign", sign);
        }
        cJSON_AddStringToObject(body, "msg_type", "text");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(body, "content"), "text", text);
        json = cJSON_PrintUnformatted(body);
        return channel_post(n, op,
                            &(struct channel_post){
                                .url = f->url,
                                .headers = headers,
                                .body = json,
                                .body_len = strlen(json),
                                .timeout_usec = f->timeout_usec,
                                .robot = &feishu_robot,
                            });
}

const struct notify_type notify_type_feishu = {
        .name = "feishu",
        .group = true,
        .keys = feishu_keys,
        .default_rate_per_minute = 100,
        .default_rate_per_second = 5,
        .parse = feishu_parse,
        .free_data = feishu_free,
        .send = feishu_send,
        .cancel = channel_post_cancel,
};

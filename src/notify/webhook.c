/* webhook.c: generic JSON webhook, one POST per notification round.
 *
 * The body is the round in NOTIFY_FORMAT_ROUND (DESIGN.md §4 fields, step and round,
 * and the recipients with worker id, name, phone and role), sent to "url" or the URL
 * in "url_file". With "secret_file" the body is signed: header
 * X-Doorwatch-Signature: sha256=<hex HMAC-SHA256(key = secret, msg = body)>, so the
 * receiver can check it before trusting anything. Any 2xx answer means delivered;
 * receivers de-duplicate by notification_id (delivery is at least once). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/channel.h"
#include "secret.h"

struct webhook {
        char *url;
        char *secret;
        int64_t timeout_usec;
};

static const char *const webhook_keys[] = { "url", "url_file", "secret_file", "timeout", NULL };

static void webhook_free(void *data)
{
        struct webhook *w = data;
        if (!w)
                return;
        secret_free(w->url);
        secret_free(w->secret);
        free(w);
}

static int webhook_parse(const struct notify_parse *p, void **ret)
{
        struct webhook *w = xcalloc(1, sizeof(*w));
        int r = 0;

        if (channel_parse_url(p, true, &w->url) < 0)
                r = -EINVAL;
        if (notify_parse_secret(p, "secret_file", false, &w->secret) < 0)
                r = -EINVAL;
        if (channel_parse_timeout(p, &w->timeout_usec) < 0)
                r = -EINVAL;
        if (r < 0) {
                webhook_free(w);
                return r;
        }
        *ret = w;
        return 0;
}

static int webhook_send(struct notifier *n, const struct notify_message *m, struct notify_op *op)
{
        const struct webhook *w = notifier_data(n);
        _cleanup_free_ char *text = NULL, *json = NULL, *hex = NULL, *sig = NULL;
        struct notify_message round = *m;
        const char *headers[3] = { "Content-Type: application/json", NULL, NULL };
        int r;

        r = notifier_text(n, m, 0, &text);
        if (r < 0)
                return r;
        round.text = text; /* null for a kind without template: machines have "kind" */
        json = notify_message_format(&round, NOTIFY_FORMAT_ROUND);
        if (w->secret) {
                unsigned char mac[32];
                channel_hmac_sha256(w->secret, strlen(w->secret), json, strlen(json), mac);
                hex = channel_hex(mac, sizeof(mac));
                sig = xasprintf("X-Doorwatch-Signature: sha256=%s", hex);
                headers[1] = sig;
        }
        return channel_post(n, op,
                            &(struct channel_post){
                                .url = w->url,
                                .headers = headers,
                                .body = json,
                                .body_len = strlen(json),
                                .timeout_usec = w->timeout_usec,
                            });
}

const struct notify_type notify_type_webhook = {
        .name = "webhook",
        .group = true,
        .keys = webhook_keys,
        .parse = webhook_parse,
        .free_data = webhook_free,
        .send = webhook_send,
        .cancel = channel_post_cancel,
};

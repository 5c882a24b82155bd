/* channel.h: private helpers shared by the built-in channels in src/notify/ (not for
 * the rest of the daemon: it uses notify.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_client.h"
#include "notify/notify.h"
#include "util.h"

extern const struct notify_type notify_type_exec;
extern const struct notify_type notify_type_wecom;
extern const struct notify_type notify_type_dingtalk;
extern const struct notify_type notify_type_feishu;
extern const struct notify_type notify_type_webhook;

/* How long to stay away after "too fast" when the far end gives no Retry-After. */
#define CHANNEL_RATE_LIMIT_BACKOFF_USEC (60 * USEC_PER_SEC)
#define CHANNEL_DEFAULT_TIMEOUT_USEC    (10 * USEC_PER_SEC)

/* HMAC-SHA256 (hmac.h). */
void channel_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                         unsigned char out[32]);
char *channel_base64(const unsigned char *data, size_t len);
char *channel_hex(const unsigned char *data, size_t len);
/* Percent-encodes everything but RFC 3986 unreserved characters. */
char *channel_urlencode(const char *s);
/* The form robots expect in mention lists: national digits ("+8613800000001" ->
 * "13800000001"). False when phone is NULL or not a phone number. */
bool channel_mention_phone(const char *phone, char buf[static 32]);
/* Accepts http:// and https:// URLs only. */
bool channel_url_valid(const char *url);

/* Reads "url_file" (or, when allow_plain, "url" instead) and "timeout". */
int channel_parse_url(const struct notify_parse *p, bool allow_plain, char **ret_url);
int channel_parse_timeout(const struct notify_parse *p, int64_t *ret_usec);

/* Decides the outcome from a robot's JSON answer after a 2xx response. */
struct channel_robot {
        const char *code_key, *msg_key;         /* "errcode", "errmsg" */
        const char *alt_code_key, *alt_msg_key; /* older answer shape, may be NULL */
        const int *rate_limited;                /* codes meaning "too fast" */
        size_t n_rate_limited;
        const int *transient; /* codes meaning "try again" (system busy) */
        size_t n_transient;
};

/* A POST whose answer completes op: transport errors and non-2xx statuses are mapped
 * in one place (see channel.c); 2xx answers go to robot (NULL = any 2xx delivers). */
struct channel_post {
        const char *url;
        const char *const *headers;
        const char *body;
        size_t body_len;
        int64_t timeout_usec;
        const struct channel_robot *robot;
};
/* Starts the POST and attaches it to op; a negative errno when it could not start. */
int channel_post(struct notifier *n, struct notify_op *op, const struct channel_post *p);
/* The types' cancel(): aborts the POST attached to op. */
void channel_post_cancel(struct notifier *n, struct notify_op *op);

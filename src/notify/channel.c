/* channel.c: what the HTTP channels share: signing primitives (OpenSSL), URL and
 * timeout keys, and one POST-and-classify flow, so that every channel maps transport
 * errors and HTTP statuses to outcomes the same way:
 *
 *   connection refused, reset, DNS, TLS, timeout   RETRY   (transient, maybe a fix away)
 *   malformed URL, protocol other than http(s)     FAILED  (configuration)
 *   HTTP 429                                       RATE_LIMITED (Retry-After honoured)
 *   HTTP 408, 5xx                                  RETRY
 *   other non-2xx (3xx: redirects are not followed, 4xx)   FAILED
 *   2xx                                            DELIVERED, or the robot's result code
 *
 * The in-flight state of a POST (struct channel_call) is the op's data; whichever of
 * completion and cancellation comes first frees it. */
#include "notify/channel.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hmac.h"
#include "secret.h"

void channel_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                         unsigned char out[32])
{
        hmac_sha256(key, key_len, msg, msg_len, out);
}

char *channel_base64(const unsigned char *data, size_t len)
{
        char *out = xmalloc(4 * ((len + 2) / 3) + 1);

        EVP_EncodeBlock((unsigned char *)out, data, (int)len);
        return out;
}

char *channel_hex(const unsigned char *data, size_t len)
{
        static const char digits[] = "0123456789abcdef";
        char *out = xmalloc(2 * len + 1);

        for (size_t i = 0; i < len; i++) {
                out[2 * i] = digits[data[i] >> 4];
                out[2 * i + 1] = digits[data[i] & 15];
        }
        out[2 * len] = 0;
        return out;
}

char *channel_urlencode(const char *s)
{
        static const char digits[] = "0123456789ABCDEF";
        char *out = xmalloc(3 * strlen(s) + 1), *o = out;

        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                    (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
                        *o++ = (char)*p;
                } else {
                        *o++ = '%';
                        *o++ = digits[*p >> 4];
                        *o++ = digits[*p & 15];
                }
        }
        *o = 0;
        return out;
}

bool channel_mention_phone(const char *phone, char buf[static 32])
{
        size_t n;

        if (!phone)
                return false;
        /* Robots know members by the number they registered, national for China. */
        if (str_startswith(phone, "+86"))
                phone += 3;
        else if (str_startswith(phone, "0086"))
                phone += 4;
        n = strlen(phone);
        if (n < 5 || n > 20 ||
            strspn(phone + (phone[0] == '+'), "0123456789") != n - (phone[0] == '+'))
                return false;
        memcpy(buf, phone, n + 1);
        return true;
}

bool channel_url_valid(const char *url)
{
        return url && ((strncasecmp(url, "https://", 8) == 0 && url[8]) ||
                       (strncasecmp(url, "http://", 7) == 0 && url[7]));
}

int channel_parse_url(const struct notify_parse *p, bool allow_plain, char **ret_url)
{
        const char *plain = NULL;
        char *url = NULL;
        const char *key = "url_file";
        int r;

        if (allow_plain) {
                r = notify_parse_string(p, "url", false, &plain);
                if (r < 0)
                        return r;
        }
        if (plain) {
                if (cJSON_GetObjectItemCaseSensitive(p->json, "url_file") &&
                    !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(p->json, "url_file"))) {
                        notify_parse_error(p, "url", "give either url or url_file, not both");
                        return -EINVAL;
                }
                key = "url";
                url = xstrdup(plain);
        } else {
                r = notify_parse_secret(p, "url_file", !allow_plain, &url);
                if (r < 0)
                        return r;
                if (!url) {
                        notify_parse_error(p, NULL, "needs url or url_file");
                        return -EINVAL;
                }
        }
        if (!channel_url_valid(url)) {
                /* The URL may hold a key: do not quote it. */
                notify_parse_error(p, key, "must be an http:// or https:// URL");
                secret_free(url);
                return -EINVAL;
        }
        *ret_url = url;
        return 0;
}

int channel_parse_timeout(const struct notify_parse *p, int64_t *ret_usec)
{
        *ret_usec = CHANNEL_DEFAULT_TIMEOUT_USEC;
        return notify_parse_duration(p, "timeout", ret_usec);
}

struct channel_call {
        struct notify_op *op;
        struct http_call *call;
        const struct channel_robot *robot;
};

/* The start of a response body for details, cut on a character boundary. */
static const char *snippet(const struct http_response *resp, char buf[static 101])
{
        snprintf(buf, 101, "%s", resp->body);
        template_truncate(buf, 100);
        return buf;
}

static bool code_in(int code, const int *codes, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (codes[i] == code)
                        return true;
        return false;
}

static void robot_result(struct notify_op *op, const struct channel_robot *robot,
                         const struct http_response *resp)
{
        _cleanup_json_ cJSON *j = cJSON_ParseWithLength(resp->body, resp->body_len);
        const char *code_key = robot->code_key, *msg_key = robot->msg_key;
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, code_key), *msg;
        char buf[101];
        int c;

        if (!cJSON_IsNumber(code) && robot->alt_code_key) {
                code_key = robot->alt_code_key;
                msg_key = robot->alt_msg_key;
                code = cJSON_GetObjectItemCaseSensitive(j, code_key);
        }
        if (!cJSON_IsNumber(code)) {
                notify_op_complete(op, NOTIFY_RETRY, 0, "HTTP %ld without a result code: %s",
                                   resp->status, snippet(resp, buf));
                return;
        }
        c = (int)code->valuedouble;
        msg = cJSON_GetObjectItemCaseSensitive(j, msg_key);
        snprintf(buf, sizeof(buf), "%s", cJSON_IsString(msg) ? msg->valuestring : "");
        template_truncate(buf, 100);
        if (c == 0)
                notify_op_complete(op, NOTIFY_DELIVERED, 0, "%s 0: %s", code_key, buf);
        else if (code_in(c, robot->rate_limited, robot->n_rate_limited))
                notify_op_complete(op, NOTIFY_RATE_LIMITED, resp->retry_after_usec, "%s %d: %s",
                                   code_key, c, buf);
        else if (code_in(c, robot->transient, robot->n_transient))
                notify_op_complete(op, NOTIFY_RETRY, 0, "%s %d: %s", code_key, c, buf);
        else
                notify_op_complete(op, NOTIFY_FAILED, 0, "%s %d: %s", code_key, c, buf);
}

static void on_http_done(const struct http_response *resp, void *userdata)
{
        struct channel_call *cc = userdata;
        struct notify_op *op = cc->op;
        const struct channel_robot *robot = cc->robot;
        char buf[101];

        free(cc);
        if (resp->result != CURLE_OK) {
                bool config = resp->result == CURLE_URL_MALFORMAT ||
                              resp->result == CURLE_UNSUPPORTED_PROTOCOL;
                if (resp->result == CURLE_OPERATION_TIMEDOUT)
                        notify_op_complete(op, NOTIFY_RETRY, 0, "timed out");
                else
                        notify_op_complete(op, config ? NOTIFY_FAILED : NOTIFY_RETRY, 0, "%s",
                                           resp->error);
        } else if (resp->status == 429)
                notify_op_complete(op, NOTIFY_RATE_LIMITED, resp->retry_after_usec, "HTTP 429: %s",
                                   snippet(resp, buf));
        else if (resp->status == 408 || resp->status >= 500)
                notify_op_complete(op, NOTIFY_RETRY, resp->retry_after_usec, "HTTP %ld: %s",
                                   resp->status, snippet(resp, buf));
        else if (resp->status < 200 || resp->status >= 300)
                notify_op_complete(op, NOTIFY_FAILED, 0, "HTTP %ld: %s", resp->status,
                                   snippet(resp, buf));
        else if (robot)
                robot_result(op, robot, resp);
        else
                notify_op_complete(op, NOTIFY_DELIVERED, 0, "HTTP %ld", resp->status);
}

int channel_post(struct notifier *n, struct notify_op *op, const struct channel_post *p)
{
        struct channel_call *cc = xcalloc(1, sizeof(*cc));
        struct http_request req = {
                .url = p->url,
                .headers = p->headers,
                .body = p->body,
                .body_len = p->body_len,
                .timeout_usec = p->timeout_usec,
        };
        int r;

        cc->op = op;
        cc->robot = p->robot;
        r = http_client_post(notifier_http(n), &req, on_http_done, cc, &cc->call);
        if (r < 0) {
                free(cc);
                return r;
        }
        notify_op_set_data(op, cc);
        return 0;
}

void channel_post_cancel(struct notifier *n, struct notify_op *op)
{
        struct channel_call *cc = notify_op_get_data(op);

        if (!cc)
                return;
        http_call_cancel(cc->call);
        free(cc);
        notify_op_set_data(op, NULL);
}

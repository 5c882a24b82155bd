/* http_message.c: what a handler reads from a request and writes into a response: the
 * query, headers, a form field, the bearer token; a body, JSON, a JSON error, 405; HTML
 * escaping. Shared by the server core (http.c) and its handlers (http_api.c, http_pages.c),
 * which all sit on it.
 *
 * Ownership: a response owns its body; http_json() takes the cJSON it is given. */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http-internal.h"
#include "token.h"

const char *http_query(const struct http_request *rq, const char *key)
{
        return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *http_header(const struct http_request *rq, const char *key)
{
        return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, key);
}

void http_set_body(struct http_response *rs, unsigned status, const char *type, char *body,
                   size_t len)
{
        free(rs->body);
        rs->status = status;
        rs->content_type = type;
        rs->body = body;
        rs->len = len;
        rs->static_body = NULL;
}

void http_json(struct http_response *rs, unsigned status, cJSON *j)
{
        char *s = j ? cJSON_PrintUnformatted(j) : NULL;

        cJSON_Delete(j);
        if (!s) {
                /* Only for a NULL j: a handler's bug (cJSON aborts on OOM, util.h). */
                static const char oom[] = "{\"error\":\"internal error\"}";
                http_set_body(rs, 500, "application/json", NULL, sizeof(oom) - 1);
                rs->static_body = oom;
                return;
        }
        http_set_body(rs, status, "application/json", s, strlen(s));
}

void http_json_error(struct http_response *rs, unsigned status, const char *fmt, ...)
{
        char msg[512];
        va_list ap;
        cJSON *j = cJSON_CreateObject();

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        cJSON_AddStringToObject(j, "error", msg);
        http_json(rs, status, j);
}

void http_method_not_allowed(struct http_response *rs, const char *allow)
{
        http_json_error(rs, 405, "method not allowed (allowed: %s)", allow);
        rs->allow = allow;
}

bool http_authorized(struct http_request *rq, struct http_response *rs)
{
        const char *auth = http_header(rq, MHD_HTTP_HEADER_AUTHORIZATION);
        const char *tok = rq->http->api_token;

        if (!tok) {
                http_json_error(rs, 503, "the API token is not configured (http.token_file)");
                return false;
        }
        if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) {
                http_json_error(rs, 401, "authorization required (Authorization: Bearer TOKEN)");
                rs->auth_challenge = true;
                return false;
        }
        auth += 7;
        while (*auth == ' ')
                auth++;
        if (!token_secret_equal(auth, strlen(auth), tok, strlen(tok))) {
                http_json_error(rs, 401, "invalid token");
                rs->auth_challenge = true;
                return false;
        }
        return true;
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

bool http_form_value(const struct http_request *rq, const char *key, char *buf, size_t size)
{
        const char *p = rq->body, *end = rq->body + rq->body_len;
        size_t kl = strlen(key);

        while (p && p < end) {
                const char *amp = memchr(p, '&', (size_t)(end - p));
                const char *stop = amp ? amp : end;
                if ((size_t)(stop - p) > kl && memcmp(p, key, kl) == 0 && p[kl] == '=') {
                        size_t o = 0;
                        for (const char *q = p + kl + 1; q < stop; q++) {
                                int c = (unsigned char)*q;
                                if (c == '+')
                                        c = ' ';
                                else if (c == '%' && stop - q > 2 && hexval(q[1]) >= 0 &&
                                         hexval(q[2]) >= 0) {
                                        c = hexval(q[1]) * 16 + hexval(q[2]);
                                        q += 2;
                                }
                                if (o + 1 >= size)
                                        return false;
                                buf[o++] = (char)c;
                        }
                        buf[o] = 0;
                        return true;
                }
                p = amp ? amp + 1 : NULL;
        }
        return false;
}

void html_puts(FILE *f, const char *s)
{
        for (; s && *s; s++) {
                switch (*s) {
                case '&':
                        fputs("&amp;", f);
                        break;
                case '<':
                        fputs("&lt;", f);
                        break;
                case '>':
                        fputs("&gt;", f);
                        break;
                case '"':
                        fputs("&quot;", f);
                        break;
                case '\'':
                        fputs("&#39;", f);
                        break;
                default:
                        fputc(*s, f);
                }
        }
}

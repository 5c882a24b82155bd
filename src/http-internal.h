/* http-internal.h: what the HTTP server core (http.c) shares with its handlers
 * (http_api.c: JSON API, health, metrics; http_pages.c: ack, resident and status pages).
 *
 * A handler gets a complete request (headers, query, a body of at most HTTP_BODY_MAX
 * bytes) and fills a response; the core adds the security headers, counts it and hands
 * it to libmicrohttpd. Handlers never block. */
#pragma once

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "command.h"
#include "http.h"
#include "token.h"

#define HTTP_BODY_MAX (16 * 1024)

enum http_method {
        HTTP_GET, /* and HEAD: libmicrohttpd drops the body */
        HTTP_POST,
        HTTP_OTHER,
};

struct http {
        struct http_deps deps;
        sd_event *event;
        struct MHD_Daemon *mhd;
        sd_event_source *io, *timer;
        int port;
        char *api_token; /* NULL: API disabled (401 for everyone, with a reason) */
        struct token_key link_key;
        bool have_link_key;
        struct rate_bucket *buckets;
        bool running; /* re-entrancy guard for MHD_run */
};

struct http_request {
        struct http *http;
        struct MHD_Connection *conn;
        enum http_method method;
        const char *path;
        char ip[64];
        char *body;
        size_t body_len;
        bool too_large;
        bool done;         /* a response was queued */
        const char *route; /* for metrics, set by the router */
};

struct http_response {
        unsigned status;
        const char *content_type;
        char *body; /* owned */
        size_t len;
        const void *static_body; /* not owned; used when body is NULL */
        bool cacheable;          /* static assets: no-cache instead of no-store */
        const char *allow;       /* for 405 */
        bool auth_challenge;     /* 401: WWW-Authenticate: Bearer */
        int retry_after_sec;
};

/* ---- reading requests, writing responses (http_message.c) ---- */

const char *http_query(const struct http_request *rq, const char *key);
const char *http_header(const struct http_request *rq, const char *key);
/* Checks the bearer token; on failure fills a 401 (or 503 when no token is configured)
 * and returns false. */
bool http_authorized(struct http_request *rq, struct http_response *rs);
/* Value of `key` in an application/x-www-form-urlencoded body, percent-decoded into buf.
 * Returns false when absent or too long. */
bool http_form_value(const struct http_request *rq, const char *key, char *buf, size_t size);

void http_set_body(struct http_response *rs, unsigned status, const char *type, char *body,
                   size_t len);
/* JSON responses: takes ownership of j. */
void http_json(struct http_response *rs, unsigned status, cJSON *j);
void http_json_error(struct http_response *rs, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void http_method_not_allowed(struct http_response *rs, const char *allow);

/* HTML escaping for pages built with stdio. */
void html_puts(FILE *f, const char *s);

/* Pages people open from a phone (http_pages.c): server-rendered, one stylesheet. */
struct http_page {
        FILE *f;
        char *buf;
        size_t len;
};
/* Starts a page titled title (escaped). */
void http_page_begin(struct http_page *p, const char *title);
/* Ends it into rs with the status. */
void http_page_end(struct http_page *p, struct http_response *rs, unsigned status);
/* A page that only says what happened: a headline of class cls ("ok", "bad", "done"). */
void http_message_page(struct http_response *rs, unsigned status, const char *cls,
                       const char *title, const char *text);
/* A <dt>term</dt><dd>value</dd> pair, escaped. */
void http_dl_item(FILE *f, const char *term, const char *value);

/* ---- handlers ---- */

/* http_api.c */
void http_api_handle(struct http_request *rq, struct http_response *rs);
/* GET /api/v1/reports/daily (http_report.c), routed by http_api_handle(). */
void http_report_daily(struct http_request *rq, struct http_response *rs);
void http_health_handle(struct http_request *rq, struct http_response *rs);
void http_ready_handle(struct http_request *rq, struct http_response *rs);
void http_metrics_handle(struct http_request *rq, struct http_response *rs);
/* http_pages.c */
void http_ack_page(struct http_request *rq, struct http_response *rs, const char *token);
void http_resident_page(struct http_request *rq, struct http_response *rs, const char *token);
/* Static assets: "/", "/status.js", "/style.css". Returns false when path is none. */
bool http_static(struct http_request *rq, struct http_response *rs);
/* Chinese names shared by pages. */
const char *http_kind_zh(const char *kind);
const char *http_state_zh(const char *state);

/* The current generation of a household's resident links (0 when never revoked): the
 * store's counter RESIDENT_SEQ_PREFIX + the household's id (the API's revoke bumps it). */
#define RESIDENT_SEQ_PREFIX "resident-link:"
int http_resident_generation(struct http *h, const char *household, uint64_t *ret);

/* http_worker.c: a worker's own page (/w/<token>: GET shows, POST acts) and the API route
 * POST /api/v1/workers/{id}/page-link {"revoke": bool} (the office's token). */
void http_worker_page(struct http_request *rq, struct http_response *rs, const char *token);
void http_worker_link(struct http_request *rq, struct http_response *rs, const struct worker *w,
                      enum channel channel);
/* The current generation of a worker's page links (0 when never revoked). */
int http_worker_generation(struct http *h, const char *worker, uint64_t *ret);

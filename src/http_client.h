/* http_client.h: asynchronous HTTP POST on the daemon's sd-event loop (libcurl multi).
 *
 * One struct http_client per event loop drives any number of concurrent requests
 * through curl's socket and timer callbacks: no threads of our own, no blocking calls
 * (libcurl's threaded resolver does name lookups off the loop). Every request has a
 * total timeout and a connect timeout, verifies TLS peers and host names, speaks only
 * http and https and never follows redirects.
 *
 * http_client_post() copies the URL, headers and body, so the caller's buffers may go
 * away when it returns. The completion callback runs exactly once from the event loop
 * (never from inside http_client_post()), unless the call is cancelled first with
 * http_call_cancel() or the client is freed: then it never runs.
 *
 * URLs may carry secrets (robot keys, access tokens): this module never logs them, and
 * neither should callers. */
#pragma once

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

/* Responses longer than this are cut (http_response.truncated). */
#define HTTP_CLIENT_MAX_RESPONSE (64 * 1024)
/* Used when a request leaves its timeouts at 0. */
#define HTTP_CLIENT_DEFAULT_TIMEOUT_USEC         (10 * 1000000LL)
#define HTTP_CLIENT_DEFAULT_CONNECT_TIMEOUT_USEC (5 * 1000000LL)

struct http_client;
struct http_call;

struct http_request {
        const char *url;
        const char *const *headers; /* "Name: value", NULL-terminated; may be NULL */
        const char *body;
        size_t body_len;
        int64_t timeout_usec;         /* whole transfer; 0 = default */
        int64_t connect_timeout_usec; /* 0 = min(default, timeout_usec) */
};

struct http_response {
        CURLcode result;  /* CURLE_OK when an HTTP response arrived */
        long status;      /* HTTP status, 0 when none */
        const char *body; /* NUL-terminated, at most HTTP_CLIENT_MAX_RESPONSE bytes */
        size_t body_len;
        bool truncated;           /* the server sent more than HTTP_CLIENT_MAX_RESPONSE */
        int64_t retry_after_usec; /* from a Retry-After header, 0 when absent */
        const char *error;        /* curl's error text for result != CURLE_OK ("" otherwise) */
};

/* The response and its strings are valid only during the callback. */
typedef void (*http_done_fn)(const struct http_response *resp, void *userdata);

/* libcurl (and with it OpenSSL) is initialised on the first http_client_post(), so a
 * daemon without HTTP channels never pays for it; http_client_started() tells whether it
 * has been. */
int http_client_new(sd_event *event, struct http_client **ret);
bool http_client_started(const struct http_client *c);
/* Cancels every request still running (no callbacks) and frees all handles. NULL-safe.
 * Must not be called from inside a completion callback. */
struct http_client *http_client_free(struct http_client *c);
static inline void http_client_freep(struct http_client **c)
{
        http_client_free(*c);
}

/* Starts a POST. Returns 0 and, when ret_call is not NULL, a handle valid until the
 * callback has run or the call was cancelled; -EINVAL for a missing URL, or -EIO when
 * curl refuses the request. */
int http_client_post(struct http_client *c, const struct http_request *req, http_done_fn done,
                     void *userdata, struct http_call **ret_call);
/* Aborts a request that has not completed; its callback will not run. NULL-safe. */
void http_call_cancel(struct http_call *call);

/* Number of requests in flight (for tests and shutdown). */
size_t http_client_n_calls(const struct http_client *c);

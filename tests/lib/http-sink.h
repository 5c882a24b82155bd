/* http-sink.h: a real HTTP/1.1 server on 127.0.0.1 for tests (libmicrohttpd, own threads).
 *
 * It listens on a free port, records every request (method, raw target with query
 * string, headers, body) and answers from a queue of programmed responses (status,
 * body, extra headers, delay, or no answer at all), falling back to a default
 * (200, "{}"). Self-contained: link tests/lib/http-sink.c and libmicrohttpd.
 *
 * Threads: the sink runs in libmicrohttpd's threads, which are started with every
 * signal blocked, so a test may block SIGCHLD/SIGTERM before or after starting it and
 * sd-event signal sources keep working. Recorded requests are immutable once visible:
 * pointers from http_sink_request() stay valid until http_sink_reset() or
 * http_sink_free(). A request is recorded before its response is sent. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_sink;

struct http_sink_request {
        char *method;
        char *target;   /* as sent: "/robot/send?access_token=x&sign=..." */
        char *path;     /* target without the query string */
        char **headers; /* "Name: value" in arrival order */
        size_t n_headers;
        char *body; /* NUL-terminated (a body with NULs is cut in C string use) */
        size_t body_len;
        int64_t time_usec; /* when it was recorded (CLOCK_REALTIME, microseconds) */
};

struct http_sink_response {
        const char *path;           /* only for requests to this path (no query); NULL = any */
        unsigned status;            /* 0 = never answer: hold the connection until the sink stops */
        const char *body;           /* NULL = "" */
        const char *content_type;   /* NULL = "application/json" */
        const char *const *headers; /* extra "Name: value", NULL-terminated, may be NULL */
        unsigned delay_ms;          /* wait this long before answering */
};

int http_sink_start(struct http_sink **ret);
/* The same on a given port (0 = any free one), e.g. to bring a stopped sink back where a
 * daemon under test expects it. */
int http_sink_start_port(uint16_t port, struct http_sink **ret);
/* Stops the server (releasing connections that wait) and frees everything. NULL-safe. */
struct http_sink *http_sink_free(struct http_sink *s);

uint16_t http_sink_port(const struct http_sink *s);
/* "http://127.0.0.1:<port>" */
const char *http_sink_url(const struct http_sink *s);

/* Queues one response, used by the first matching request (FIFO). Strings are copied. */
void http_sink_push(struct http_sink *s, const struct http_sink_response *r);
/* Replaces the answer used when no queued response matches. */
void http_sink_set_default(struct http_sink *s, const struct http_sink_response *r);

size_t http_sink_n_requests(struct http_sink *s);
/* The i-th recorded request, or NULL. */
const struct http_sink_request *http_sink_request(struct http_sink *s, size_t i);
/* Case-insensitive header lookup; NULL when absent. */
const char *http_sink_header(const struct http_sink_request *r, const char *name);
/* Blocks until at least n requests were recorded or timeout_ms passed; returns whether
 * they were. For tests whose client runs in another process or thread. */
bool http_sink_wait(struct http_sink *s, size_t n, unsigned timeout_ms);
/* Forgets recorded requests and queued responses; restores the default answer. */
void http_sink_reset(struct http_sink *s);

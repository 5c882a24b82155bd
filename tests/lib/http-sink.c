/* http-sink.c: see http-sink.h.
 *
 * libmicrohttpd runs with one thread per connection, so a delayed or never-answered
 * request only holds its own thread; it waits on a condition variable that
 * http_sink_free() signals before stopping the daemon. All shared state (recorded
 * requests, queued responses, the stop flag) is guarded by one mutex. */
#include "http-sink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct answer {
        char *path;
        unsigned status;
        char *body;
        char *content_type;
        char **headers;
        size_t n_headers;
        unsigned delay_ms;
};

struct http_sink {
        struct MHD_Daemon *daemon;
        uint16_t port;
        char url[64];
        pthread_mutex_t lock;
        pthread_cond_t cond; /* signalled on every new request and on stop */
        bool stopping;
        struct http_sink_request **requests;
        size_t n_requests, cap_requests;
        struct answer *queue;
        size_t n_queue, cap_queue;
        struct answer fallback;
};

/* Per-connection state, created by the URI log callback with the raw target. */
struct pending {
        char *target;
        bool started;
        char *body;
        size_t body_len;
};

static void *xmalloc(size_t n)
{
        void *p = malloc(n ? n : 1);
        if (!p)
                abort();
        return p;
}

static char *xstrdup0(const char *s)
{
        char *r;
        if (!s)
                return NULL;
        r = strdup(s);
        if (!r)
                abort();
        return r;
}

static void answer_clear(struct answer *a)
{
        free(a->path);
        free(a->body);
        free(a->content_type);
        for (size_t i = 0; i < a->n_headers; i++)
                free(a->headers[i]);
        free(a->headers);
        memset(a, 0, sizeof(*a));
}

static void answer_set(struct answer *a, const struct http_sink_response *r)
{
        memset(a, 0, sizeof(*a));
        a->path = xstrdup0(r->path);
        a->status = r->status;
        a->body = xstrdup0(r->body ? r->body : "");
        a->content_type = xstrdup0(r->content_type ? r->content_type : "application/json");
        a->delay_ms = r->delay_ms;
        for (size_t i = 0; r->headers && r->headers[i]; i++)
                a->n_headers++;
        a->headers = xmalloc(sizeof(char *) * (a->n_headers + 1));
        for (size_t i = 0; i < a->n_headers; i++)
                a->headers[i] = xstrdup0(r->headers[i]);
        a->headers[a->n_headers] = NULL;
}

static void request_free(struct http_sink_request *r)
{
        if (!r)
                return;
        free(r->method);
        free(r->target);
        free(r->path);
        for (size_t i = 0; i < r->n_headers; i++)
                free(r->headers[i]);
        free(r->headers);
        free(r->body);
        free(r);
}

static enum MHD_Result on_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
        struct http_sink_request *r = cls;
        char *line;

        if (asprintf(&line, "%s: %s", key, value ? value : "") < 0)
                abort();
        r->headers = realloc(r->headers, sizeof(char *) * (r->n_headers + 1));
        if (!r->headers)
                abort();
        r->headers[r->n_headers++] = line;
        return MHD_YES;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *con)
{
        struct pending *p = calloc(1, sizeof(*p));
        if (!p)
                abort();
        p->target = xstrdup0(uri);
        return p;
}

static void on_completed(void *cls, struct MHD_Connection *con, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
        struct pending *p = *con_cls;
        if (!p)
                return;
        free(p->target);
        free(p->body);
        free(p);
        *con_cls = NULL;
}

/* Takes the first queued answer for this path, or a copy of the default. */
static void pick_answer(struct http_sink *s, const char *path, struct answer *out)
{
        for (size_t i = 0; i < s->n_queue; i++) {
                if (s->queue[i].path && strcmp(s->queue[i].path, path) != 0)
                        continue;
                *out = s->queue[i];
                memmove(s->queue + i, s->queue + i + 1, (s->n_queue - i - 1) * sizeof(*s->queue));
                s->n_queue--;
                return;
        }
        struct http_sink_response r = {
                .status = s->fallback.status,
                .body = s->fallback.body,
                .content_type = s->fallback.content_type,
                .headers = (const char *const *)s->fallback.headers,
                .delay_ms = s->fallback.delay_ms,
        };
        answer_set(out, &r);
}

/* Waits until the deadline (forever when wait_forever) or until the sink stops. */
static void wait_for(struct http_sink *s, unsigned delay_ms, bool wait_forever)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += delay_ms / 1000;
        ts.tv_nsec += (long)(delay_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&s->lock);
        while (!s->stopping) {
                int r = wait_forever ? pthread_cond_wait(&s->cond, &s->lock)
                                     : pthread_cond_timedwait(&s->cond, &s->lock, &ts);
                if (r == ETIMEDOUT)
                        break;
        }
        pthread_mutex_unlock(&s->lock);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
        struct http_sink *s = cls;
        struct pending *p = *con_cls;
        struct http_sink_request *r;
        struct MHD_Response *resp;
        struct answer a;
        enum MHD_Result ret;

        if (!p->started) {
                p->started = true;
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                p->body = realloc(p->body, p->body_len + *upload_data_size + 1);
                if (!p->body)
                        abort();
                memcpy(p->body + p->body_len, upload_data, *upload_data_size);
                p->body_len += *upload_data_size;
                p->body[p->body_len] = 0;
                *upload_data_size = 0;
                return MHD_YES;
        }

        r = calloc(1, sizeof(*r));
        if (!r)
                abort();
        r->method = xstrdup0(method);
        r->target = xstrdup0(p->target);
        r->path = xstrdup0(p->target);
        r->path[strcspn(r->path, "?")] = 0;
        MHD_get_connection_values(con, MHD_HEADER_KIND, on_header, r);
        r->body = p->body ? p->body : xstrdup0("");
        r->body_len = p->body_len;
        p->body = NULL;
        {
                struct timespec now;
                clock_gettime(CLOCK_REALTIME, &now);
                r->time_usec = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
        }

        pthread_mutex_lock(&s->lock);
        if (s->n_requests == s->cap_requests) {
                s->cap_requests = s->cap_requests ? 2 * s->cap_requests : 16;
                s->requests = realloc(s->requests, sizeof(*s->requests) * s->cap_requests);
                if (!s->requests)
                        abort();
        }
        s->requests[s->n_requests++] = r;
        pick_answer(s, r->path, &a);
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);

        if (a.status == 0 || a.delay_ms > 0)
                wait_for(s, a.delay_ms, a.status == 0);
        if (a.status == 0) {
                answer_clear(&a);
                return MHD_NO; /* the sink is stopping: drop the connection */
        }
        resp = MHD_create_response_from_buffer(strlen(a.body), a.body, MHD_RESPMEM_MUST_COPY);
        MHD_add_response_header(resp, "Content-Type", a.content_type);
        for (size_t i = 0; i < a.n_headers; i++) {
                char *name = xstrdup0(a.headers[i]), *colon = strchr(name, ':');
                if (colon) {
                        *colon = 0;
                        MHD_add_response_header(resp, name, colon + 1 + strspn(colon + 1, " "));
                }
                free(name);
        }
        ret = MHD_queue_response(con, a.status, resp);
        MHD_destroy_response(resp);
        answer_clear(&a);
        return ret;
}

int http_sink_start(struct http_sink **ret)
{
        return http_sink_start_port(0, ret);
}

int http_sink_start_port(uint16_t port, struct http_sink **ret)
{
        struct sockaddr_in sa = { .sin_family = AF_INET,
                                  .sin_port = htons(port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        const union MHD_DaemonInfo *info;
        struct http_sink *s = calloc(1, sizeof(*s));
        sigset_t all, old;

        if (!s)
                return -ENOMEM;
        pthread_mutex_init(&s->lock, NULL);
        pthread_cond_init(&s->cond, NULL);
        answer_set(&s->fallback, &(struct http_sink_response){ .status = 200, .body = "{}" });

        /* The server's threads inherit this mask: they never take a signal. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        s->daemon = MHD_start_daemon(
            MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
            on_request, s, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (!s->daemon) {
                http_sink_free(s);
                return -EADDRNOTAVAIL;
        }
        info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
        if (!info || info->port == 0) {
                http_sink_free(s);
                return -EADDRNOTAVAIL;
        }
        s->port = info->port;
        snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%u", (unsigned)s->port);
        *ret = s;
        return 0;
}

static void clear_locked(struct http_sink *s)
{
        for (size_t i = 0; i < s->n_requests; i++)
                request_free(s->requests[i]);
        s->n_requests = 0;
        for (size_t i = 0; i < s->n_queue; i++)
                answer_clear(&s->queue[i]);
        s->n_queue = 0;
}

struct http_sink *http_sink_free(struct http_sink *s)
{
        if (!s)
                return NULL;
        pthread_mutex_lock(&s->lock);
        s->stopping = true;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
        if (s->daemon)
                MHD_stop_daemon(s->daemon);
        clear_locked(s);
        free(s->requests);
        free(s->queue);
        answer_clear(&s->fallback);
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
}

uint16_t http_sink_port(const struct http_sink *s)
{
        return s->port;
}

const char *http_sink_url(const struct http_sink *s)
{
        return s->url;
}

void http_sink_push(struct http_sink *s, const struct http_sink_response *r)
{
        pthread_mutex_lock(&s->lock);
        if (s->n_queue == s->cap_queue) {
                s->cap_queue = s->cap_queue ? 2 * s->cap_queue : 8;
                s->queue = realloc(s->queue, sizeof(*s->queue) * s->cap_queue);
                if (!s->queue)
                        abort();
        }
        answer_set(&s->queue[s->n_queue++], r);
        pthread_mutex_unlock(&s->lock);
}

void http_sink_set_default(struct http_sink *s, const struct http_sink_response *r)
{
        pthread_mutex_lock(&s->lock);
        answer_clear(&s->fallback);
        answer_set(&s->fallback, r);
        pthread_mutex_unlock(&s->lock);
}

size_t http_sink_n_requests(struct http_sink *s)
{
        size_t n;
        pthread_mutex_lock(&s->lock);
        n = s->n_requests;
        pthread_mutex_unlock(&s->lock);
        return n;
}

const struct http_sink_request *http_sink_request(struct http_sink *s, size_t i)
{
        const struct http_sink_request *r = NULL;
        pthread_mutex_lock(&s->lock);
        if (i < s->n_requests)
                r = s->requests[i];
        pthread_mutex_unlock(&s->lock);
        return r;
}

const char *http_sink_header(const struct http_sink_request *r, const char *name)
{
        size_t n = strlen(name);
        for (size_t i = 0; r && i < r->n_headers; i++)
                if (strncasecmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':')
                        return r->headers[i] + n + 1 + strspn(r->headers[i] + n + 1, " ");
        return NULL;
}

bool http_sink_wait(struct http_sink *s, size_t n, unsigned timeout_ms)
{
        struct timespec ts;
        bool ok;

        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += timeout_ms / 1000;
        ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&s->lock);
        while (s->n_requests < n && !s->stopping)
                if (pthread_cond_timedwait(&s->cond, &s->lock, &ts) == ETIMEDOUT)
                        break;
        ok = s->n_requests >= n;
        pthread_mutex_unlock(&s->lock);
        return ok;
}

void http_sink_reset(struct http_sink *s)
{
        pthread_mutex_lock(&s->lock);
        clear_locked(s);
        answer_clear(&s->fallback);
        answer_set(&s->fallback, &(struct http_sink_response){ .status = 200, .body = "{}" });
        pthread_mutex_unlock(&s->lock);
}

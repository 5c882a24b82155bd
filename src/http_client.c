/* http_client.c: libcurl's multi_socket interface driven by sd-event.
 *
 * curl tells us which sockets to watch (socket_cb) and when to call it back (timer_cb);
 * we turn those into one sd-event io source per socket and one monotonic timer for the
 * whole multi handle, and call curl_multi_socket_action() when either fires. Finished
 * transfers are collected with curl_multi_info_read() after every socket_action.
 *
 * Ownership: the client owns every struct http_call (one easy handle, its header list,
 * a copy of the body and the response buffer) from http_client_post() until the
 * completion callback has returned or the call is cancelled, and every struct
 * http_socket (one io source) from curl's first interest in a socket until
 * CURL_POLL_REMOVE. Sockets curl forgets to remove (connections closed inside
 * curl_multi_cleanup()) are released when the client is freed.
 *
 * curl functions are never called from inside curl's own callbacks: socket_cb and
 * timer_cb only touch sd-event sources. */
#include "http_client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

struct http_socket {
        struct http_client *client;
        curl_socket_t fd;
        sd_event_source *source;
        struct http_socket *prev, *next;
};

struct http_call {
        struct http_client *client;
        CURL *easy;
        struct curl_slist *headers;
        char *body;
        char *resp;
        size_t resp_len, resp_cap;
        bool truncated;
        char error[CURL_ERROR_SIZE];
        http_done_fn done;
        void *userdata;
        struct http_call *prev, *next;
};

struct http_client {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;
        struct http_call *calls;
        struct http_socket *sockets;
        size_t n_calls;
};

#define LIST_PREPEND(head, item)                                                                   \
        do {                                                                                       \
                (item)->prev = NULL;                                                               \
                (item)->next = (head);                                                             \
                if (head)                                                                          \
                        (head)->prev = (item);                                                     \
                (head) = (item);                                                                   \
        } while (0)
#define LIST_REMOVE(head, item)                                                                    \
        do {                                                                                       \
                if ((item)->prev)                                                                  \
                        (item)->prev->next = (item)->next;                                         \
                else                                                                               \
                        (head) = (item)->next;                                                     \
                if ((item)->next)                                                                  \
                        (item)->next->prev = (item)->prev;                                         \
                (item)->prev = (item)->next = NULL;                                                \
        } while (0)

static void socket_free(struct http_socket *s)
{
        if (!s)
                return;
        LIST_REMOVE(s->client->sockets, s);
        sd_event_source_disable_unref(s->source);
        free(s);
}

static void check_done(struct http_client *c);

static int on_io(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
        /* socket_action() may remove (and free) this very socket: keep only the client. */
        struct http_client *c = ((struct http_socket *)userdata)->client;
        int flags = 0, running;

        if (revents & EPOLLIN)
                flags |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                flags |= CURL_CSELECT_OUT;
        if (revents & (EPOLLERR | EPOLLHUP))
                flags |= CURL_CSELECT_ERR;
        curl_multi_socket_action(c->multi, fd, flags, &running);
        check_done(c);
        return 0;
}

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
        struct http_client *c = userdata;
        int running;

        curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        check_done(c);
        return 0;
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *clientp, void *socketp)
{
        struct http_client *c = clientp;
        struct http_socket *s = socketp;
        uint32_t events = 0;
        int r;

        if (what == CURL_POLL_REMOVE) {
                socket_free(s);
                curl_multi_assign(c->multi, fd, NULL);
                return 0;
        }
        if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
                events |= EPOLLIN;
        if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
                events |= EPOLLOUT;
        if (s) {
                r = sd_event_source_set_io_events(s->source, events);
                if (r < 0)
                        log_warn_errno(r, "http: cannot update socket interest");
                return r < 0 ? -1 : 0;
        }

        /* curl may reuse a number it closed without telling us: drop the stale watch. */
        for (struct http_socket *old = c->sockets; old; old = old->next)
                if (old->fd == fd) {
                        socket_free(old);
                        break;
                }
        s = calloc(1, sizeof(*s));
        if (!s)
                return -1;
        s->client = c;
        s->fd = fd;
        r = sd_event_add_io(c->event, &s->source, fd, events, on_io, s);
        if (r < 0) {
                log_warn_errno(r, "http: cannot watch socket");
                free(s);
                return -1;
        }
        LIST_PREPEND(c->sockets, s);
        curl_multi_assign(c->multi, fd, s);
        return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *clientp)
{
        struct http_client *c = clientp;
        int r;

        if (timeout_ms < 0)
                return sd_event_source_set_enabled(c->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        r = sd_event_source_set_time_relative(c->timer, (uint64_t)timeout_ms * USEC_PER_MSEC);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
        if (r < 0) {
                log_warn_errno(r, "http: cannot arm timer");
                return -1;
        }
        return 0;
}

int http_client_new(sd_event *event, struct http_client **ret)
{
        struct http_client *c;
        int r;

        if (!event)
                return -EINVAL;
        c = xcalloc(1, sizeof(*c));
        c->event = sd_event_ref(event);
        /* Disabled until curl asks; 1 ms accuracy, as curl's own timeouts are in ms. */
        r = sd_event_add_time_relative(event, &c->timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC,
                                       on_timer, c);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->timer, SD_EVENT_OFF);
        if (r < 0) {
                http_client_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

/* libcurl starts on the first request, not with the client: curl_global_init() initialises
 * OpenSSL (configuration, providers), which leaves a few MB resident in a daemon whose
 * notifiers may never speak HTTP (MQTT and exec channels only). */
static int client_start(struct http_client *c)
{
        if (c->multi)
                return 0;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -EIO;
        c->multi = curl_multi_init();
        if (!c->multi) /* only out of memory */
                abort();
        curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
        curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
        curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
        curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
        return 0;
}

bool http_client_started(const struct http_client *c)
{
        return c && c->multi;
}

static void call_free(struct http_call *call)
{
        curl_easy_cleanup(call->easy);
        curl_slist_free_all(call->headers);
        free(call->body);
        free(call->resp);
        free(call);
}

/* Detaches a call from curl and from the client; the caller frees it. */
static void call_detach(struct http_call *call)
{
        struct http_client *c = call->client;

        curl_multi_remove_handle(c->multi, call->easy);
        LIST_REMOVE(c->calls, call);
        c->n_calls--;
}

struct http_client *http_client_free(struct http_client *c)
{
        bool started = http_client_started(c);

        if (!c)
                return NULL;
        while (c->calls) {
                struct http_call *call = c->calls;
                call_detach(call);
                call_free(call);
        }
        if (started)
                curl_multi_cleanup(c->multi);
        while (c->sockets)
                socket_free(c->sockets);
        sd_event_source_disable_unref(c->timer);
        sd_event_unref(c->event);
        if (started) /* undo client_start()'s curl_global_init() */
                curl_global_cleanup();
        free(c);
        return NULL;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata)
{
        struct http_call *call = userdata;
        size_t n = size * nmemb, room = HTTP_CLIENT_MAX_RESPONSE - call->resp_len;

        if (n > room) {
                call->truncated = true;
                n = room;
        }
        if (n > 0) {
                if (call->resp_len + n + 1 > call->resp_cap) {
                        size_t cap = MAX(call->resp_cap * 2, call->resp_len + n + 1);
                        char *p =
                            realloc(call->resp, MIN(cap, (size_t)HTTP_CLIENT_MAX_RESPONSE + 1));
                        if (!p)
                                return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
                        call->resp = p;
                        call->resp_cap = MIN(cap, (size_t)HTTP_CLIENT_MAX_RESPONSE + 1);
                }
                memcpy(call->resp + call->resp_len, data, n);
                call->resp_len += n;
                call->resp[call->resp_len] = 0;
        }
        /* Swallow the rest of an oversized answer: the status still counts. */
        return size * nmemb;
}

static void finish(struct http_call *call, CURLcode result)
{
        struct http_response resp = { .result = result };
        curl_off_t retry_after = 0;

        curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &resp.status);
        if (curl_easy_getinfo(call->easy, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
            retry_after > 0)
                resp.retry_after_usec = (int64_t)MIN(retry_after, (curl_off_t)86400) * USEC_PER_SEC;
        resp.body = call->resp ? call->resp : "";
        resp.body_len = call->resp_len;
        resp.truncated = call->truncated;
        if (result != CURLE_OK)
                resp.error = call->error[0] ? call->error : curl_easy_strerror(result);
        else
                resp.error = "";
        call_detach(call);
        call->done(&resp, call->userdata);
        call_free(call);
}

static void check_done(struct http_client *c)
{
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(c->multi, &left))) {
                char *call = NULL;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &call);
                if (call)
                        finish((struct http_call *)(void *)call, msg->data.result);
        }
}

static int call_setup(struct http_call *call, const struct http_request *req)
{
        int64_t timeout =
            req->timeout_usec > 0 ? req->timeout_usec : HTTP_CLIENT_DEFAULT_TIMEOUT_USEC;
        int64_t connect = req->connect_timeout_usec > 0
                              ? req->connect_timeout_usec
                              : MIN(timeout, HTTP_CLIENT_DEFAULT_CONNECT_TIMEOUT_USEC);
        CURL *e = call->easy;
        CURLcode rc = CURLE_OK;

        /* curl would add "Expect: 100-continue" to larger bodies and wait for it. */
        call->headers = curl_slist_append(NULL, "Expect:");
        if (!call->headers) /* curl_slist_append() fails only for lack of memory */
                abort();
        for (size_t i = 0; req->headers && req->headers[i]; i++) {
                struct curl_slist *l = curl_slist_append(call->headers, req->headers[i]);
                if (!l)
                        abort();
                call->headers = l;
        }
        call->body = xmalloc(req->body_len + 1);
        if (req->body_len > 0)
                memcpy(call->body, req->body, req->body_len);
        call->body[req->body_len] = 0;

#define SET(opt, val)                                                                              \
        do {                                                                                       \
                if (rc == CURLE_OK)                                                                \
                        rc = curl_easy_setopt(e, opt, val);                                        \
        } while (0)
        SET(CURLOPT_URL, req->url);
        SET(CURLOPT_PROTOCOLS_STR, "http,https");
        SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        SET(CURLOPT_FOLLOWLOCATION, 0L);
        SET(CURLOPT_SSL_VERIFYPEER, 1L);
        SET(CURLOPT_SSL_VERIFYHOST, 2L);
        SET(CURLOPT_NOSIGNAL, 1L);
        SET(CURLOPT_TIMEOUT_MS, (long)(timeout / USEC_PER_MSEC));
        SET(CURLOPT_CONNECTTIMEOUT_MS, (long)MAX(connect / USEC_PER_MSEC, 1));
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        SET(CURLOPT_POSTFIELDS, call->body);
        SET(CURLOPT_HTTPHEADER, call->headers);
        SET(CURLOPT_USERAGENT, "doorwatchd");
        SET(CURLOPT_WRITEFUNCTION, on_write);
        SET(CURLOPT_WRITEDATA, call);
        SET(CURLOPT_ERRORBUFFER, call->error);
        SET(CURLOPT_PRIVATE, call);
#undef SET
        return rc == CURLE_OK ? 0 : -EIO;
}

int http_client_post(struct http_client *c, const struct http_request *req, http_done_fn done,
                     void *userdata, struct http_call **ret_call)
{
        struct http_call *call;
        int r;

        if (!c || !req || !req->url || !done)
                return -EINVAL;
        r = client_start(c);
        if (r < 0)
                return r;
        call = xcalloc(1, sizeof(*call));
        call->client = c;
        call->done = done;
        call->userdata = userdata;
        call->easy = curl_easy_init();
        if (!call->easy) /* after curl_global_init(): only out of memory */
                abort();
        r = call_setup(call, req);
        if (r < 0) {
                call_free(call);
                return r;
        }
        /* add_handle() arms the timer; the transfer starts on the next loop iteration. */
        if (curl_multi_add_handle(c->multi, call->easy) != CURLM_OK) {
                call_free(call);
                return -EIO;
        }
        LIST_PREPEND(c->calls, call);
        c->n_calls++;
        if (ret_call)
                *ret_call = call;
        return 0;
}

void http_call_cancel(struct http_call *call)
{
        if (!call)
                return;
        call_detach(call);
        call_free(call);
}

size_t http_client_n_calls(const struct http_client *c)
{
        return c ? c->n_calls : 0;
}

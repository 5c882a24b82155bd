/* http.c: libmicrohttpd on the daemon's sd-event loop, request limits and routing.
 *
 * libmicrohttpd is started without a thread of its own (MHD_USE_EPOLL, no internal
 * polling thread): its epoll fd is watched by one sd-event io source and MHD_get_timeout()
 * arms one CLOCK_MONOTONIC timer; both call MHD_run(), which calls our handler for each
 * complete request in this thread. So handlers may use the engine and the store like the
 * MQTT path does, and must not block.
 *
 * Limits: request bodies of at most HTTP_BODY_MAX bytes (413), a token bucket per client
 * address (429), connection count and idle timeouts, header memory, no file serving at all
 * (every path is an exact route). Every response carries the security headers; personal
 * data is never cacheable.
 *
 * Ownership: struct http owns the MHD daemon, its event sources, the API token and the
 * link key; everything in deps belongs to the daemon. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hmac.h"
#include "http-internal.h"
#include "log.h"
#include "metrics.h"
#include "report.h"
#include "secret.h"
#include "util.h"

#define CONNECTIONS_MAX        256
#define CONNECTIONS_PER_IP_MAX 32
#define IDLE_TIMEOUT_SEC       30
#define CONNECTION_MEMORY      (64 * 1024)
#define API_TOKEN_MIN          16

/* Per-address token buckets in a fixed table: an address shares its slot with whoever
 * hashes there, which only makes the limit stricter. Bounded memory whatever the traffic. */
#define RATE_SLOTS   4096
#define RATE_BURST   200.0
#define RATE_PER_SEC 50.0

struct rate_bucket {
        uint64_t key; /* 0 = empty */
        double tokens;
        int64_t last_usec;
};

/* RFC 4648 base64 (with padding) of n bytes into out (4 * ceil(n / 3) + 1 bytes). */
static void base64(const uint8_t *in, size_t n, char *out)
{
        static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        size_t o = 0;

        for (size_t i = 0; i < n; i += 3) {
                uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                             (i + 2 < n ? in[i + 2] : 0);
                out[o++] = a[v >> 18 & 63];
                out[o++] = a[v >> 12 & 63];
                out[o++] = i + 1 < n ? a[v >> 6 & 63] : '=';
                out[o++] = i + 2 < n ? a[v & 63] : '=';
        }
        out[o] = 0;
}

/* The Content-Security-Policy of every response: nothing from elsewhere, scripts and styles
 * from the server's own files; the one inline style allowed is the daily report's, by its
 * hash (the report page is self-contained, and the status page opens it). Built once. */
static const char *csp(void)
{
        static char buf[512];

        if (!buf[0]) {
                const char *css = report_html_css();
                uint8_t h[HMAC_SHA256_BYTES];
                char b64[64];

                sha256(css, strlen(css), h);
                base64(h, sizeof(h), b64);
                snprintf(buf, sizeof(buf),
                         "default-src 'none'; script-src 'self'; style-src 'self' 'sha256-%s'; "
                         "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
                         "frame-ancestors 'none'; base-uri 'none'",
                         b64);
        }
        return buf;
}

static struct ratelimit rl_mhd = RATELIMIT_INIT(10 * USEC_PER_SEC, 10);

/* ---- rate limit ---- */

static bool rate_allow(struct http *h, const char *ip, int64_t now)
{
        uint64_t key = hash_str(ip) | 1;
        struct rate_bucket *b = &h->buckets[key % RATE_SLOTS];

        if (b->key != key)
                *b = (struct rate_bucket){ .key = key, .tokens = RATE_BURST, .last_usec = now };
        b->tokens = MIN(RATE_BURST, b->tokens + (double)(now - b->last_usec) / 1e6 * RATE_PER_SEC);
        b->last_usec = now;
        if (b->tokens < 1.0)
                return false;
        b->tokens -= 1.0;
        return true;
}

/* ---- routing ---- */

static void route(struct http_request *rq, struct http_response *rs)
{
        const char *p = rq->path;

        if (strcmp(p, "/healthz") == 0 || strcmp(p, "/readyz") == 0 || strcmp(p, "/metrics") == 0) {
                rq->route = p + 1;
                if (rq->method != HTTP_GET)
                        http_method_not_allowed(rs, "GET, HEAD");
                else if (p[1] == 'h')
                        http_health_handle(rq, rs);
                else if (p[1] == 'r')
                        http_ready_handle(rq, rs);
                else if (rq->http->deps.config->http.metrics_public || http_authorized(rq, rs))
                        /* The counts say how many households are watched and when doors
                         * open: the API token unless http.metrics_public says otherwise. */
                        http_metrics_handle(rq, rs);
        } else if (str_startswith(p, "/ack/")) {
                rq->route = "ack";
                http_ack_page(rq, rs, p + 5);
        } else if (str_startswith(p, "/r/")) {
                rq->route = "resident";
                http_resident_page(rq, rs, p + 3);
        } else if (str_startswith(p, "/w/")) {
                rq->route = "worker";
                http_worker_page(rq, rs, p + 3);
        } else if (str_startswith(p, "/api/")) {
                rq->route = "api";
                http_api_handle(rq, rs);
        } else if (http_static(rq, rs)) {
                rq->route = "static";
        } else {
                rq->route = "other";
                http_json_error(rs, 404, "not found");
        }
}

static void add_header(struct MHD_Response *r, const char *k, const char *v)
{
        if (MHD_add_response_header(r, k, v) != MHD_YES && ratelimit_below(&rl_mhd))
                log_warn("http: cannot add header %s", k);
}

static enum MHD_Result send_response(struct http_request *rq, struct http_response *rs)
{
        struct MHD_Response *r;
        enum MHD_Result ret;
        char type[96], code[8];

        if (rs->body)
                r = MHD_create_response_from_buffer(rs->len, rs->body, MHD_RESPMEM_MUST_FREE);
        else
                r = MHD_create_response_from_buffer(rs->len, (void *)rs->static_body,
                                                    MHD_RESPMEM_PERSISTENT);
        if (!r) {
                free(rs->body);
                return MHD_NO;
        }
        rs->body = NULL; /* owned by the response now */
        snprintf(type, sizeof(type), "%s%s", rs->content_type ? rs->content_type : "text/plain",
                 rs->content_type && strstr(rs->content_type, "image/") ? "" : "; charset=utf-8");
        add_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        add_header(r, "Content-Security-Policy", csp());
        add_header(r, "X-Content-Type-Options", "nosniff");
        add_header(r, "X-Frame-Options", "DENY");
        add_header(r, "Referrer-Policy", "no-referrer");
        add_header(r, "Cross-Origin-Opener-Policy", "same-origin");
        add_header(r, "Cross-Origin-Resource-Policy", "same-origin");
        add_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, rs->cacheable ? "no-cache" : "no-store");
        if (rs->allow)
                add_header(r, MHD_HTTP_HEADER_ALLOW, rs->allow);
        if (rs->auth_challenge)
                add_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"doorwatch\"");
        if (rs->retry_after_sec > 0) {
                char v[16];
                snprintf(v, sizeof(v), "%d", rs->retry_after_sec);
                add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, v);
        }
        ret = MHD_queue_response(rq->conn, rs->status, r);
        MHD_destroy_response(r);
        rq->done = true;
        snprintf(code, sizeof(code), "%u", rs->status);
        metrics_count(rq->http->deps.metrics, METRICS_HTTP_REQUESTS,
                      rq->route ? rq->route : "other", code);
        return ret;
}

static enum MHD_Result respond_early(struct http_request *rq, unsigned status, const char *msg)
{
        struct http_response rs = { 0 };
        http_json_error(&rs, status, "%s", msg);
        if (status == 429)
                rs.retry_after_sec = 1;
        return send_response(rq, &rs);
}

static void client_ip(struct MHD_Connection *c, char *buf, size_t size)
{
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr *sa = ci ? ci->client_addr : NULL;

        snprintf(buf, size, "?");
        if (sa && sa->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
                          (socklen_t)size);
        else if (sa && sa->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                          buf, (socklen_t)size);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
        struct http *h = cls;
        struct http_request *rq = *con_cls;

        if (!rq) {
                const char *cl;
                rq = calloc(1, sizeof(*rq));
                if (!rq)
                        return MHD_NO;
                *con_cls = rq;
                rq->http = h;
                rq->conn = conn;
                rq->path = url;
                rq->method = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ? HTTP_GET
                             : strcmp(method, "POST") == 0                             ? HTTP_POST
                                                                                       : HTTP_OTHER;
                client_ip(conn, rq->ip, sizeof(rq->ip));
                if (!rate_allow(h, rq->ip, now_monotonic_usec())) {
                        rq->route = "ratelimit";
                        return respond_early(rq, 429, "too many requests");
                }
                cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
                if (cl && strtoull(cl, NULL, 10) > HTTP_BODY_MAX)
                        return respond_early(rq, 413, "request body too large");
                return MHD_YES;
        }
        if (rq->done) {
                *upload_data_size = 0; /* an early answer was queued; drop the rest */
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                size_t n = *upload_data_size;
                if (!rq->too_large && rq->body_len + n <= HTTP_BODY_MAX) {
                        char *b = realloc(rq->body, rq->body_len + n + 1);
                        if (!b)
                                return MHD_NO;
                        memcpy(b + rq->body_len, upload_data, n);
                        rq->body = b;
                        rq->body_len += n;
                        rq->body[rq->body_len] = 0;
                } else
                        rq->too_large = true;
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (rq->too_large)
                return respond_early(rq, 413, "request body too large");

        struct http_response rs = { .status = 500 };
        route(rq, &rs);
        return send_response(rq, &rs);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
        struct http_request *rq = *con_cls;

        if (!rq)
                return;
        free(rq->body);
        free(rq);
        *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
        char buf[512];

        if (!ratelimit_below(&rl_mhd))
                return;
        vsnprintf(buf, sizeof(buf), fmt, ap);
        buf[strcspn(buf, "\n")] = 0;
        log_warn("http: %s", buf);
}

/* ---- the loop ---- */

static void rearm(struct http *h)
{
        MHD_UNSIGNED_LONG_LONG ms = 0;

        if (MHD_get_timeout(h->mhd, &ms) != MHD_YES) {
                sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
                return;
        }
        sd_event_source_set_time_relative(h->timer, (uint64_t)MIN(ms, 3600000ull) * 1000);
        sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT);
}

static void run(struct http *h)
{
        if (h->running)
                return;
        h->running = true;
        if (MHD_run(h->mhd) != MHD_YES && ratelimit_below(&rl_mhd))
                log_warn("http: MHD_run failed");
        h->running = false;
        rearm(h);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        run(userdata);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        run(userdata);
        return 0;
}

/* ---- setup ---- */

/* Whether a secret is there to read: the credential, or the configured file. A missing one
 * turns its feature off (with a warning) rather than stopping the daemon. */
/* Reads the API token and the link key into h; on failure h keeps what it had. */
static int load_secrets(struct http *h, const struct config *c)
{
        const struct http_config *hc = &c->http;
        _cleanup_secret_ char *token = NULL, *key = NULL;
        struct token_key link_key = { 0 };
        bool have_key = false;
        int r;

        r = secret_read_at(c->dir, "api.token", hc->token_file, &token);
        if (r < 0) {
                log_err_errno(r, "http: cannot read the API token %s", hc->token_file);
                return r;
        }
        if (!token)
                log_warn("http: no API token (%s): the API and the status page are disabled",
                         hc->token_file ? hc->token_file : "http.token_file is null");
        else if (strlen(token) < API_TOKEN_MIN) {
                log_err("http: the API token must be at least %d characters", API_TOKEN_MIN);
                return -EINVAL;
        }
        r = secret_read_at(c->dir, "ack.key", hc->ack_secret_file, &key);
        if (r < 0) {
                log_err_errno(r, "http: cannot read the link key %s", hc->ack_secret_file);
                return r;
        }
        if (!key) {
                if (hc->public_url)
                        log_warn("http: no link key (%s): notifications carry no ack_url and "
                                 "resident links are disabled",
                                 hc->ack_secret_file ? hc->ack_secret_file : "null");
        } else {
                if (token_key_set(&link_key, key, strlen(key)) < 0) {
                        log_err("http: the link key must be %d to %zu bytes", TOKEN_KEY_MIN,
                                sizeof(link_key.bytes));
                        return -EINVAL;
                }
                have_key = true;
                if (!hc->public_url)
                        log_info("http: http.public_url is null: notifications carry no ack_url");
        }
        secret_free(h->api_token);
        h->api_token = token;
        token = NULL;
        h->link_key = link_key;
        h->have_link_key = have_key;
        OPENSSL_cleanse(&link_key, sizeof(link_key));
        return 0;
}

/* Opens the listening socket for "HOST:PORT" or "[V6]:PORT". */
static int open_listener(const char *listen_addr, int *ret_fd, int *ret_port)
{
        _cleanup_free_ char *host = xstrdup(listen_addr);
        char *colon = strrchr(host, ':'), *h = host;
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                                  .ai_flags = AI_PASSIVE | AI_NUMERICSERV },
                        *ai = NULL;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd, one = 1, r;

        if (!colon)
                return -EINVAL;
        *colon = 0;
        if (h[0] == '[') {
                h++;
                h[strlen(h) - 1] = 0;
        }
        r = getaddrinfo(*h ? h : NULL, colon + 1, &hints, &ai);
        if (r != 0) {
                log_err("http: cannot resolve listen address %s: %s", listen_addr, gai_strerror(r));
                return -EADDRNOTAVAIL;
        }
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                r = -errno;
                freeaddrinfo(ai);
                return r;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (ai->ai_family == AF_INET6)
                setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0 ||
            getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
                r = -errno;
                freeaddrinfo(ai);
                close(fd);
                log_err_errno(r, "http: cannot listen on %s", listen_addr);
                return r;
        }
        freeaddrinfo(ai);
        *ret_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
        *ret_fd = fd;
        return 0;
}

int http_new(sd_event *e, const struct http_deps *deps, struct http **ret)
{
        const struct http_config *c = &deps->config->http;
        const union MHD_DaemonInfo *info;
        struct http *h;
        int fd = -1, r;

        *ret = NULL;
        if (!c->listen) {
                log_info("http: disabled (http.listen is null)");
                return 0;
        }
        h = xcalloc(1, sizeof(*h));
        h->deps = *deps;
        h->event = sd_event_ref(e);
        h->buckets = xcalloc(RATE_SLOTS, sizeof(*h->buckets));
        r = load_secrets(h, deps->config);
        if (r == 0)
                r = open_listener(c->listen, &fd, &h->port);
        if (r < 0) {
                http_free(h);
                return r;
        }
        h->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, h,
                                  MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
                                  MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED,
                                  on_completed, h, MHD_OPTION_CONNECTION_LIMIT,
                                  (unsigned)CONNECTIONS_MAX, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                  (unsigned)CONNECTIONS_PER_IP_MAX, MHD_OPTION_CONNECTION_TIMEOUT,
                                  (unsigned)IDLE_TIMEOUT_SEC, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                  (size_t)CONNECTION_MEMORY, MHD_OPTION_END);
        if (!h->mhd) {
                close(fd);
                log_err("http: cannot start the HTTP server on %s", c->listen);
                http_free(h);
                return -EIO;
        }
        info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        r = info ? sd_event_add_io(e, &h->io, info->epoll_fd, EPOLLIN, on_io, h) : -EIO;
        if (r >= 0)
                r = sd_event_add_time_relative(e, &h->timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC,
                                               on_timer, h);
        if (r < 0) {
                http_free(h);
                return r;
        }
        sd_event_source_set_description(h->io, "http-io");
        sd_event_source_set_description(h->timer, "http-timer");
        rearm(h);
        log_info("http: listening on %s (port %d)%s%s", c->listen, h->port,
                 c->public_url ? ", public URL " : "", c->public_url ? c->public_url : "");
        *ret = h;
        return 0;
}

struct http *http_free(struct http *h)
{
        if (!h)
                return NULL;
        h->io = sd_event_source_disable_unref(h->io);
        h->timer = sd_event_source_disable_unref(h->timer);
        if (h->mhd)
                MHD_stop_daemon(h->mhd);
        secret_free(h->api_token);
        OPENSSL_cleanse(&h->link_key, sizeof(h->link_key));
        free(h->buckets);
        sd_event_unref(h->event);
        free(h);
        return NULL;
}

int http_set_config(struct http *h, const struct config *c)
{
        int r;

        if (!h)
                return 0;
        r = load_secrets(h, c);
        if (r < 0)
                log_warn("http: keeping the previous API token and link key");
        h->deps.config = c;
        return r;
}

int http_port(const struct http *h)
{
        return h ? h->port : 0;
}

bool http_ack_url(void *userdata, const char *alert_id, const char *worker_id, int64_t now_usec,
                  char *buf, size_t size)
{
        struct http *h = userdata;
        const struct http_config *c;
        char tok[TOKEN_MAX];
        size_t base;

        if (!h || !h->have_link_key || !h->deps.config->http.public_url)
                return false;
        c = &h->deps.config->http;
        struct token_ack claim = { .expires_usec = now_usec + c->ack_link_ttl_usec };
        if (snprintf(claim.alert_id, sizeof(claim.alert_id), "%s", alert_id) >=
                (int)sizeof(claim.alert_id) ||
            snprintf(claim.worker, sizeof(claim.worker), "%s", worker_id) >=
                (int)sizeof(claim.worker))
                return false;
        if (token_ack_encode(&h->link_key, &claim, tok, sizeof(tok)) < 0)
                return false;
        base = strlen(c->public_url);
        while (base > 0 && c->public_url[base - 1] == '/')
                base--;
        return snprintf(buf, size, "%.*s/ack/%s", (int)base, c->public_url, tok) < (int)size;
}

/* http.h: the HTTP server of doorwatchd (DESIGN.md §3 "http"): one-tap acknowledge
 * links, resident pre-report links, a worker's own page, the JSON API, health, metrics and
 * the status page.
 *
 * libmicrohttpd runs inside the daemon's sd-event loop (its epoll fd is one io source,
 * its timeout one timer; no thread), so handlers call the engine and read the store
 * directly, like the MQTT path does. Disabled (http_new() returns 0 and *ret = NULL)
 * when the configuration has no `http` block or `http.listen` is null. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"

struct store;
struct engine;
struct outbox;
struct mqtt;
struct metrics;

/* What the server works with; all owned by the daemon and outliving the server. */
struct http_deps {
        const struct config *config;
        struct store *store;
        struct engine *engine;
        struct outbox *outbox;
        struct mqtt *mqtt;
        struct metrics *metrics; /* may be NULL */
        void *userdata;          /* passed to the hooks */
        /* Commits the open transaction now, as the daemon's commit step does (kicks the
         * outbox, re-arms timers). Returns 0 or a negative errno. Required. */
        int (*commit)(void *userdata);
        /* Why the daemon is not healthy (a failed commit), or NULL. Optional. */
        const char *(*health_problem)(void *userdata);
};

struct http;

/* Reads the API token and the link key ($CREDENTIALS_DIRECTORY/api.token and ack.key
 * first, then http.token_file / http.ack_secret_file), opens the listening socket and
 * hooks into the loop. A missing secret file disables what needs it (with a warning);
 * an unreadable or too short one, or a socket that cannot be bound, is an error. */
int http_new(sd_event *e, const struct http_deps *deps, struct http **ret);
struct http *http_free(struct http *h);

/* After a reload: the configuration to use from now on; the API token and link key are
 * read again (kept when that fails, which is returned). http.listen needs a restart. */
int http_set_config(struct http *h, const struct config *c);

/* The bound port (tests listen on port 0). */
int http_port(const struct http *h);

/* Writes public_url + "/ack/" + a token for (alert, worker) valid for http.ack_link_ttl
 * into buf. Returns false when links are off (no public_url, no key, no server) or the
 * buffer is too small. Matches engine_ack_url_fn. */
bool http_ack_url(void *http, const char *alert_id, const char *worker_id, int64_t now_usec,
                  char *buf, size_t size);
/* Writes public_url + "/w/" + a link to the worker's own page (their current generation,
 * valid for http.worker_link_ttl) into buf. Returns false when links are off or the buffer
 * is too small. Matches engine_page_url_fn. */
bool http_worker_page_url(void *http, const char *worker_id, int64_t now_usec, char *buf,
                          size_t size);

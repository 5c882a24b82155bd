/* daemon.c: wiring of the event loop.
 *
 * Message path: libmosquitto's on_message -> route by exact topic (hash map built from
 * every device's adapter topics) -> adapter decode -> engine (verdict, alert, outbox rows
 * in the open transaction). The transaction is opened lazily by the first write of a loop
 * iteration and committed by a high-priority defer source (`commit`) before the loop
 * handles anything else, so one MQTT read burst costs one commit; after the commit the
 * outbox sends what was queued. Worker and household commands arrive on their own topics
 * and are answered on <prefix>/workers/<id>/result. */
#include "daemon.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "adapter.h"
#include "engine.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "mqtt.h"
#include "outbox.h"
#include "store.h"
#include "util.h"

#define COMMAND_MAX_PAYLOAD 4096
#define COMMAND_MAX_DEPTH   4

struct route {
        const struct device **devices;
        size_t n, cap;
};

struct daemon {
        sd_event *event;
        struct config *config;
        struct store *store;
        struct engine *engine;
        struct outbox *outbox;
        struct mqtt *mqtt;
        struct metrics *metrics;
        struct http *http; /* NULL when http.listen is null */

        struct hashmap *routes; /* exact topic -> struct route (keys owned by route_keys) */
        char **route_keys;
        size_t n_route_keys, cap_route_keys;
        char **filters;
        size_t n_filters, cap_filters;

        sd_event_source *commit;
        sd_event_source *tick; /* CLOCK_REALTIME, at the engine's earliest deadline */
        sd_event_source *sig_term, *sig_int;

        uint64_t n_invalid, n_unknown, n_oversize, n_commands;
        struct ratelimit rl_invalid;
        struct ratelimit rl_unknown;
        bool storage_failed;
};

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata);

/* Arms the tick timer at the engine's earliest deadline (deadlines are wall-clock
 * instants, so the timer uses CLOCK_REALTIME). */
static void rearm_tick(struct daemon *d)
{
        int64_t next = engine_next_deadline(d->engine);

        if (next == INT64_MAX) {
                sd_event_source_set_enabled(d->tick, SD_EVENT_OFF);
                return;
        }
        sd_event_source_set_time(d->tick, next > 0 ? (uint64_t)next : 1);
        sd_event_source_set_enabled(d->tick, SD_EVENT_ONESHOT);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct daemon *d = userdata;
        int r = engine_tick(d->engine, now_realtime_usec());
        if (r < 0)
                log_err_errno(r, "timers: handling a deadline failed");
        rearm_tick(d);
        return 0;
}

/* Commits the loop iteration's transaction, then sends what it queued. Also called by the
 * HTTP server, which answers only once an action is durable. */
static int daemon_commit(struct daemon *d)
{
        bool in_txn = store_in_transaction(d->store);
        int64_t t0 = now_monotonic_usec();
        int r = store_commit(d->store);

        if (in_txn)
                metrics_observe_usec(d->metrics, METRICS_COMMIT, now_monotonic_usec() - t0);
        if (r < 0) {
                if (!d->storage_failed)
                        log_err_errno(r, "database: commit failed; events of this batch are lost "
                                         "unless redelivered");
                d->storage_failed = true;
                return r;
        }
        d->storage_failed = false;
        if (engine_take_outbox_dirty(d->engine))
                outbox_dispatch(d->outbox);
        rearm_tick(d);
        return 0;
}

static int on_commit(sd_event_source *s, void *userdata)
{
        daemon_commit(userdata);
        return 0;
}

static void on_store_begin(void *userdata)
{
        struct daemon *d = userdata;
        sd_event_source_set_enabled(d->commit, SD_EVENT_ONESHOT);
}

/* ---- routing table ---- */

static void add_route(const char *filter, const char *route, void *userdata)
{
        void **ctx = userdata;
        struct daemon *d = ctx[0];
        const struct device *dev = ctx[1];
        struct route *rt = hashmap_get(d->routes, route);
        bool known = false;

        if (!rt) {
                char *key = xstrdup(route);
                rt = calloc(1, sizeof(*rt));
                if (!rt)
                        abort();
                GROW(d->route_keys, d->n_route_keys, d->cap_route_keys);
                d->route_keys[d->n_route_keys++] = key;
                hashmap_put(d->routes, key, rt);
        }
        GROW(rt->devices, rt->n, rt->cap);
        rt->devices[rt->n++] = dev;
        for (size_t i = 0; i < d->n_filters && !known; i++)
                known = strcmp(d->filters[i], filter) == 0;
        if (!known) {
                GROW(d->filters, d->n_filters, d->cap_filters);
                d->filters[d->n_filters++] = xstrdup(filter);
        }
}

static void add_filter(struct daemon *d, const char *fmt, const char *prefix)
{
        char buf[256];
        snprintf(buf, sizeof(buf), fmt, prefix);
        GROW(d->filters, d->n_filters, d->cap_filters);
        d->filters[d->n_filters++] = xstrdup(buf);
}

static void build_routes(struct daemon *d)
{
        const struct config *c = d->config;
        const char *prefix = c->mqtt.topic_prefix;

        d->routes = hashmap_new(c->n_devices * 2 + 16);
        for (size_t i = 0; i < c->n_devices; i++) {
                const struct device *dev = &c->devices[i];
                void *ctx[2] = { d, (void *)dev };
                dev->adapter->topics(dev, prefix, add_route, ctx);
        }
        add_filter(d, "%s/workers/+/ack", prefix);
        add_filter(d, "%s/workers/+/resolve", prefix);
        add_filter(d, "%s/workers/+/checkin", prefix);
        add_filter(d, "%s/workers/+/pass", prefix);
        add_filter(d, "%s/households/+/report", prefix);
        log_info("routing: %zu device topics, %zu subscriptions", hashmap_size(d->routes),
                 d->n_filters);
}

static void free_routes(struct daemon *d)
{
        for (size_t i = 0; i < d->n_route_keys; i++) {
                struct route *rt = hashmap_get(d->routes, d->route_keys[i]);
                if (rt) {
                        free(rt->devices);
                        free(rt);
                }
                free(d->route_keys[i]);
        }
        free(d->route_keys);
        hashmap_free(d->routes);
        for (size_t i = 0; i < d->n_filters; i++)
                free(d->filters[i]);
        free(d->filters);
}

/* ---- device messages ---- */

static void handle_device_message(struct daemon *d, const struct route *rt,
                                  const struct mosquitto_message *msg, int64_t now)
{
        struct adapter_msg am = {
                .topic = msg->topic,
                .payload = msg->payload ? msg->payload : "",
                .len = (size_t)msg->payloadlen,
                .retained = msg->retain,
                .recv_usec = now,
                .topic_prefix = d->config->mqtt.topic_prefix,
        };

        for (size_t i = 0; i < rt->n; i++) {
                const struct device *dev = rt->devices[i];
                struct device_state *st = engine_device_state(d->engine, dev);
                struct adapter_decode_result res;
                int r = dev->adapter->decode(dev, &am, st, &res);

                if (r == ADAPTER_E_INVALID) {
                        d->n_invalid++;
                        if (ratelimit_below(&d->rl_invalid))
                                log_warn("device %s: dropping malformed message on %s: %s", dev->id,
                                         msg->topic, res.error ? res.error : "invalid");
                        continue;
                }
                if (r != ADAPTER_OK)
                        continue;
                st->seen = true;
                st->last_seen_usec = now;
                for (size_t k = 0; k < res.n_events; k++) {
                        struct verdict v;
                        r = engine_handle_event(d->engine, dev, &res.events[k], now, am.payload,
                                                am.len, &v);
                        if (r == ENGINE_OK)
                                metrics_count(d->metrics, METRICS_EVENTS, dev->source,
                                              verdict_kind_to_string(v.kind));
                        if (r < 0)
                                log_err_errno(r, "device %s: event not stored", dev->id);
                        else if (r == ENGINE_E_DUPLICATE)
                                log_debug("device %s: duplicate event %s ignored", dev->id,
                                          res.events[k].id);
                        else
                                log_debug("device %s: %s -> %s (%s)", dev->id,
                                          event_type_to_string(res.events[k].type),
                                          verdict_kind_to_string(v.kind), v.reason);
                }
        }
}

/* ---- worker commands ---- */

int daemon_parse_actor_topic(const char *prefix, const char *topic, const char *kind, char *id,
                             size_t id_size, const char **verb)
{
        size_t pl = strlen(prefix), kl = strlen(kind);
        const char *p, *slash;

        if (strncmp(topic, prefix, pl) != 0 || topic[pl] != '/' ||
            strncmp(topic + pl + 1, kind, kl) != 0 || topic[pl + 1 + kl] != '/')
                return -EINVAL;
        p = topic + pl + 1 + kl + 1;
        slash = strchr(p, '/');
        if (!slash || slash == p || (size_t)(slash - p) >= id_size || strchr(slash + 1, '/'))
                return -EINVAL;
        memcpy(id, p, (size_t)(slash - p));
        id[slash - p] = 0;
        *verb = slash + 1;
        return 0;
}

static void reply(struct daemon *d, const char *worker_id, const char *request_id, bool ok,
                  const char *error)
{
        _cleanup_json_ cJSON *j = cJSON_CreateObject();
        _cleanup_free_ char *payload = NULL;
        char topic[256];

        if (request_id)
                cJSON_AddStringToObject(j, "request_id", request_id);
        else
                cJSON_AddNullToObject(j, "request_id");
        cJSON_AddBoolToObject(j, "ok", ok);
        if (error)
                cJSON_AddStringToObject(j, "error", error);
        else
                cJSON_AddNullToObject(j, "error");
        payload = cJSON_PrintUnformatted(j);
        snprintf(topic, sizeof(topic), "%s/workers/%s/result", d->config->mqtt.topic_prefix,
                 worker_id);
        if (payload)
                mqtt_publish(d->mqtt, topic, payload, strlen(payload), 1, false, NULL);
}

static const char *json_string(const cJSON *j, const char *key)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
        return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void handle_worker_command(struct daemon *d, const char *worker_id, const char *verb,
                                  const struct mosquitto_message *msg, int64_t now)
{
        const struct worker *w = config_worker(d->config, worker_id);
        _cleanup_json_ cJSON *j = NULL;
        const char *request_id = NULL, *alert_id, *error = NULL;
        int r;

        d->n_commands++;
        if (msg->retain)
                return; /* a retained command is stale by definition */
        if (msg->payloadlen > COMMAND_MAX_PAYLOAD) {
                d->n_oversize++;
                reply(d, worker_id, NULL, false, "payload too large");
                return;
        }
        j = cJSON_ParseWithLength(msg->payload ? msg->payload : "", (size_t)msg->payloadlen);
        if (!cJSON_IsObject(j) || json_depth(j) > COMMAND_MAX_DEPTH) {
                d->n_invalid++;
                if (ratelimit_below(&d->rl_invalid))
                        log_warn("worker %s: malformed %s command dropped", worker_id, verb);
                reply(d, worker_id, NULL, false, "malformed JSON");
                return;
        }
        request_id = json_string(j, "request_id");
        if (!w) {
                if (ratelimit_below(&d->rl_unknown))
                        log_warn("command %s from unknown worker %s rejected", verb, worker_id);
                reply(d, worker_id, request_id, false, "unknown worker");
                return;
        }
        alert_id = json_string(j, "alert_id");
        if (strcmp(verb, "ack") == 0 || strcmp(verb, "resolve") == 0) {
                if (!alert_id) {
                        reply(d, worker_id, request_id, false, "\"alert_id\" missing");
                        return;
                }
                if (strcmp(verb, "ack") == 0)
                        r = engine_ack(d->engine, w, alert_id, "mqtt", now, &error);
                else
                        r = engine_resolve(d->engine, w, alert_id, json_string(j, "note"), "mqtt",
                                           now, &error);
        } else {
                r = ENGINE_E_REFUSED;
                error = "unsupported command";
        }
        if (r < 0)
                error = "internal error";
        if (error)
                log_warn("worker %s: %s %s refused: %s", worker_id, verb, alert_id ? alert_id : "",
                         error);
        reply(d, worker_id, request_id, r == ENGINE_OK, error);
}

static void on_message(struct mqtt *m, const struct mosquitto_message *msg, void *userdata)
{
        struct daemon *d = userdata;
        const char *prefix = d->config->mqtt.topic_prefix;
        const struct route *rt = hashmap_get(d->routes, msg->topic);
        int64_t now = now_realtime_usec();
        char id[128];
        const char *verb;

        if (rt) {
                if (msg->payloadlen > ADAPTER_MAX_PAYLOAD) {
                        d->n_oversize++;
                        if (ratelimit_below(&d->rl_invalid))
                                log_warn("dropping %d-byte message on %s (limit %d)",
                                         msg->payloadlen, msg->topic, ADAPTER_MAX_PAYLOAD);
                        return;
                }
                int64_t t0 = now_monotonic_usec();
                handle_device_message(d, rt, msg, now);
                metrics_observe_usec(d->metrics, METRICS_EVENT_PROCESSING,
                                     now_monotonic_usec() - t0);
                return;
        }
        if (daemon_parse_actor_topic(prefix, msg->topic, "workers", id, sizeof(id), &verb) == 0) {
                handle_worker_command(d, id, verb, msg, now);
                return;
        }
        d->n_unknown++;
        if (ratelimit_below(&d->rl_unknown))
                log_warn("message on %s: no registered device or command; dropped", msg->topic);
}

static void on_connect(struct mqtt *m, bool session_present, void *userdata)
{
        struct daemon *d = userdata;
        outbox_dispatch(d->outbox);
}

static void on_disconnect(struct mqtt *m, void *userdata)
{
        struct daemon *d = userdata;
        outbox_on_disconnect(d->outbox);
}

static void on_publish(struct mqtt *m, int mid, void *userdata)
{
        struct daemon *d = userdata;
        outbox_on_publish(d->outbox, mid);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        struct daemon *d = userdata;
        log_info("received %s, stopping", strsignal((int)si->ssi_signo));
        sd_notify(0, "STOPPING=1");
        sd_event_exit(d->event, 0);
        return 0;
}

static int http_commit(void *userdata)
{
        return daemon_commit(userdata);
}

static const char *http_health_problem(void *userdata)
{
        struct daemon *d = userdata;
        return d->storage_failed ? "the last database commit failed" : NULL;
}

static void register_metrics(struct daemon *d)
{
        static const char dropped[] = "doorwatch_mqtt_messages_dropped_total";
        static const char dropped_help[] = "MQTT messages dropped: malformed, too large, or on "
                                           "a topic of no configured device or command.";

        metrics_add_external(d->metrics, dropped, dropped_help, "reason=\"invalid\"",
                             &d->n_invalid);
        metrics_add_external(d->metrics, dropped, dropped_help, "reason=\"oversize\"",
                             &d->n_oversize);
        metrics_add_external(d->metrics, dropped, dropped_help, "reason=\"unknown_topic\"",
                             &d->n_unknown);
        metrics_add_external(d->metrics, "doorwatch_worker_commands_total",
                             "Worker commands received over MQTT.", NULL, &d->n_commands);
}

static int read_password(const struct config *c, char **ret)
{
        const char *creds = getenv("CREDENTIALS_DIRECTORY");
        _cleanup_free_ char *path = NULL;

        *ret = NULL;
        if (creds) {
                path = path_join(creds, "mqtt.password");
                if (path && access(path, R_OK) == 0)
                        return read_secret_file(path, ret);
        }
        if (!c->mqtt.password_file)
                return 0;
        return read_secret_file(c->mqtt.password_file, ret);
}

int daemon_new(struct config *cfg, struct daemon **ret)
{
        struct daemon *d;
        _cleanup_free_ char *password = NULL;
        int r;

        d = calloc(1, sizeof(*d));
        if (!d) {
                config_free(cfg);
                return -ENOMEM;
        }
        d->config = cfg;
        d->rl_invalid = (struct ratelimit)RATELIMIT_INIT(10 * USEC_PER_SEC, 10);
        d->rl_unknown = (struct ratelimit)RATELIMIT_INIT(10 * USEC_PER_SEC, 10);

        r = timezone_set(cfg->timezone);
        if (r < 0) {
                log_err("unknown time zone %s", cfg->timezone);
                goto fail;
        }
        r = sd_event_default(&d->event);
        if (r < 0)
                goto fail;
        r = metrics_new(&d->metrics);
        if (r < 0)
                goto fail;
        register_metrics(d);
        r = store_open(cfg->database, cfg->database_sync_full, false, &d->store);
        if (r < 0)
                goto fail;
        r = sd_event_add_defer(d->event, &d->commit, on_commit, d);
        if (r < 0)
                goto fail;
        sd_event_source_set_priority(d->commit, SD_EVENT_PRIORITY_IMPORTANT);
        sd_event_source_set_enabled(d->commit, SD_EVENT_OFF);
        sd_event_source_set_description(d->commit, "commit");
        store_set_begin_hook(d->store, on_store_begin, d);

        r = sd_event_add_time(d->event, &d->tick, CLOCK_REALTIME, UINT64_MAX, 10 * USEC_PER_MSEC,
                              on_tick, d);
        if (r < 0)
                goto fail;
        sd_event_source_set_enabled(d->tick, SD_EVENT_OFF);
        sd_event_source_set_description(d->tick, "engine-timers");

        r = engine_new(cfg, d->store, &d->engine);
        if (r == 0)
                r = engine_load(d->engine);
        if (r == 0)
                r = outbox_new(d->event, cfg, d->store, &d->outbox);
        if (r < 0)
                goto fail;
        build_routes(d);

        r = read_password(cfg, &password);
        if (r < 0) {
                log_err_errno(r, "cannot read the MQTT password");
                goto fail;
        }
        r = mqtt_new(d->event, &cfg->mqtt, password,
                     &(struct mqtt_callbacks){ .on_connect = on_connect,
                                               .on_disconnect = on_disconnect,
                                               .on_message = on_message,
                                               .on_publish = on_publish },
                     d, &d->mqtt);
        if (r < 0)
                goto fail;
        outbox_set_mqtt(d->outbox, d->mqtt);
        outbox_set_metrics(d->outbox, d->metrics);
        r = mqtt_set_subscriptions(d->mqtt, d->filters, d->n_filters);
        if (r < 0)
                goto fail;

        r = http_new(d->event,
                     &(struct http_deps){ .config = cfg,
                                          .store = d->store,
                                          .engine = d->engine,
                                          .outbox = d->outbox,
                                          .mqtt = d->mqtt,
                                          .metrics = d->metrics,
                                          .userdata = d,
                                          .commit = http_commit,
                                          .health_problem = http_health_problem },
                     &d->http);
        if (r < 0)
                goto fail;
        if (d->http)
                engine_set_ack_url(d->engine, http_ack_url, d->http);

        r = sd_event_add_signal(d->event, &d->sig_term, SIGTERM, on_signal, d);
        if (r >= 0)
                r = sd_event_add_signal(d->event, &d->sig_int, SIGINT, on_signal, d);
        if (r < 0)
                goto fail;
        *ret = d;
        return 0;
fail:
        daemon_free(d);
        return r;
}

struct daemon *daemon_free(struct daemon *d)
{
        if (!d)
                return NULL;
        if (d->store)
                store_commit(d->store);
        d->http = http_free(d->http);
        d->mqtt = mqtt_free(d->mqtt);
        d->outbox = outbox_free(d->outbox);
        d->engine = engine_free(d->engine);
        d->commit = sd_event_source_disable_unref(d->commit);
        d->tick = sd_event_source_disable_unref(d->tick);
        d->sig_term = sd_event_source_disable_unref(d->sig_term);
        d->sig_int = sd_event_source_disable_unref(d->sig_int);
        d->store = store_close(d->store);
        if (d->routes)
                free_routes(d);
        sd_event_unref(d->event);
        config_free(d->config);
        metrics_free(d->metrics);
        free(d);
        return NULL;
}

int daemon_run(struct daemon *d)
{
        int r;

        mqtt_start(d->mqtt);
        outbox_dispatch(d->outbox);
        rearm_tick(d);
        sd_notifyf(0, "READY=1\nSTATUS=%zu households, %zu devices", d->config->n_households,
                   d->config->n_devices);
        log_info("doorwatchd ready: %zu households, %zu devices, %zu workers",
                 d->config->n_households, d->config->n_devices, d->config->n_workers);
        r = sd_event_loop(d->event);
        store_commit(d->store);
        mqtt_stop(d->mqtt);
        return r;
}

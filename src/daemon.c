/* daemon.c: wiring of the event loop.
 *
 * Message path: libmosquitto's on_message -> route by exact topic (hash map built from
 * every device's adapter topics) -> adapter decode -> engine (verdict, alert, outbox rows
 * in the open transaction). The transaction is opened lazily by the first write of a loop
 * iteration and committed before the loop handles anything else: at the end of an MQTT
 * read burst (on_read_done, same iteration), else by a high-priority defer source
 * (`commit`), so one MQTT read burst costs one commit; after the commit the outbox sends
 * what was queued and the replies to commands go out. Worker and household commands
 * arrive on their own topics, are validated by command.h like those of every other front
 * door and answered on <prefix>/workers/<id>/result (<prefix>/households/<id>/result for a
 * resident's pre-report); they are recorded with channel "mqtt", whatever the payload says.
 *
 * A copy of every message handled in the open transaction is kept until it commits, and
 * the replies to commands wait for the commit too: when the database refuses the
 * transaction or loses it (a failed BEGIN, write or COMMIT of any backend: disk full,
 * read-only, I/O error, a lost connection), the messages are held again unacknowledged,
 * memory is rebuilt from the database and writes are retried with backoff (see "messages
 * held" and "storage failures" below).
 *
 * Notifications: the daemon registers the mqtt notifier type on its own connection
 * (PUBACKs complete its sends), builds the notify context from doorwatch.json (again on
 * reload) and hands it to the engine (rows) and the outbox (sends); a dead letter comes
 * back through on_dead() as notification_failed. The `gap` timer fires when the broker
 * has been away for monitoring_gap_after; the next connect sends monitoring_restored. */
#include "daemon.h"
#include "daemon_config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "adapter.h"
#include "command.h"
#include "config_diag.h"
#include "devhealth.h"
#include "engine.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "mqtt.h"
#include "notify/mqtt_notifier.h"
#include "notify/notify.h"
#include "observation.h"
#include "outbox.h"
#include "reload.h"
#include "report.h"
#include "retention.h"
#include "routing.h"
#include "secret.h"
#include "service.h"
#include "store.h"
#include "store/checkpoint.h"
#include "sysalarm.h"
#include "topic.h"
#include "util.h"

struct daemon {
        sd_event *event;
        struct config *config;
        struct store *store;
        struct checkpointer *checkpointer; /* WAL checkpoints, on a thread of their own */
        struct checkpoint_stats checkpoint_stats;
        struct engine *engine;
        struct outbox *outbox;
        struct mqtt *mqtt;
        struct metrics *metrics;
        struct http *http; /* NULL when http.listen is null */
        struct notify_context *notify;
        struct notify_mqtt *notify_mqtt;
        struct service *service; /* sd_notify: READY, STATUS, WATCHDOG, RELOADING, STOPPING */

        struct routing routing; /* device topics and subscriptions of `config` */

        sd_event_source *commit;
        sd_event_source *tick;      /* CLOCK_REALTIME, at the engine's earliest deadline */
        sd_event_source *retention; /* hourly purge of households past their retention */
        sd_event_source *sig_term, *sig_int;
        sd_event_source *gap;     /* CLOCK_MONOTONIC: the broker away for monitoring_gap_after */
        sd_event_source *sig_hup; /* reload */
        sd_event_source *reload_timeout; /* READY=1 at the latest this long after a reload */
        bool reload_ready_pending;       /* READY=1 waits for the SUBACK of new devices */

        uint64_t n_invalid, n_unknown, n_oversize, n_commands;
        struct ratelimit rl_invalid;
        struct ratelimit rl_unknown;
        struct ratelimit rl_not_stored;
        struct ratelimit rl_refused; /* commands refused by the engine */

        /* Messages waiting for the database (see hold_message()). */
        struct held_msg *held_head, *held_tail;
        size_t n_held, held_bytes;
        int64_t held_since_usec; /* CLOCK_MONOTONIC; 0 = nothing held */
        uint64_t held_retry_usec;
        sd_event_source *held_retry;
        struct ratelimit rl_held;
        bool input_paused; /* the hold is full: the broker keeps the rest */

        /* The messages handled in the open transaction, kept until it commits (see
         * storage_failure()), and the replies to its commands, sent after it commits. */
        struct held_msg *burst_head, *burst_tail;
        size_t n_burst, burst_bytes;
        struct reply *replies_head, *replies_tail;

        /* The database takes no writes (a BEGIN or COMMIT failed): see storage_failure(). */
        bool storage_failed;
        bool rebuild_needed; /* memory is not the database's yet */
        int storage_error;
        int64_t storage_since_usec; /* CLOCK_REALTIME */
        uint64_t n_storage_failures;
        char *password;           /* the broker's, for the alarm connection (secret) */
        struct mqtt *alarm;       /* storage_failed over MQTT while our own output waits */
        struct alarm_msg *alarms; /* what the alarm connection publishes once connected */
};

/* Messages received while the database refuses a transaction (another connection holds
 * its write lock) wait here in arrival order and are handled, with their receive time, as
 * soon as a transaction opens again. Meanwhile output to the broker is paused, PUBACKs
 * included (mqtt_pause_output()), so the broker stops at its in-flight window and
 * delivers them again if the daemon dies first. Bounded; while writes fail the watchdog
 * gets no pings (systemd restarts a daemon whose database stays unavailable for
 * WatchdogSec). */
struct held_msg {
        struct held_msg *next;
        char *topic;
        int64_t recv_usec;
        int payloadlen;
        int mid; /* the broker's packet id (QoS 1), 0 for QoS 0 */
        bool retain;
        bool redelivery; /* the broker will deliver it again (its connection was lost) */
        char payload[];
};

/* A reply to a command, published once the transaction that carried the command out
 * commits (dropped with it when it fails: the command is handled again). */
struct reply {
        struct reply *next;
        char *payload;
        char topic[];
};

struct alarm_msg {
        struct alarm_msg *next;
        char *payload;
        char topic[];
};

/* Beyond these the daemon stops reading from the broker, which keeps the rest. */
#define HELD_MAX_MESSAGES   100000
#define HELD_MAX_BYTES      (64u << 20)
#define HELD_RETRY_MIN_USEC (10 * USEC_PER_MSEC)
#define HELD_RETRY_MAX_USEC (200 * USEC_PER_MSEC)
/* Retries after a failed BEGIN or COMMIT (disk full, read-only, I/O error): a probe write,
 * then the held messages. */
#define STORAGE_RETRY_MIN_USEC (100 * USEC_PER_MSEC)
#define STORAGE_RETRY_MAX_USEC (2 * USEC_PER_SEC)

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata);
static void storage_failure(struct daemon *d, int error);
static void storage_recovered(struct daemon *d);
static void burst_done(struct daemon *d);
static void replies_send(struct daemon *d);
static void replies_drop(struct daemon *d);
static void daemon_status(char *buf, size_t size, void *userdata);
static bool daemon_healthy(void *userdata);
static void on_subscribed(struct mqtt *m, void *userdata);
static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata);

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
        int r;

        /* Deadlines wait while the database takes no writes (they would be lost with the
         * transaction); the timer is armed again when it does. */
        if (d->storage_failed)
                return 0;
        r = engine_tick(d->engine, now_realtime_usec());
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
        int r;

        sd_event_source_set_enabled(d->commit, SD_EVENT_OFF); /* done: no iteration for it */
        r = store_commit(d->store);

        if (in_txn)
                metrics_observe_usec(d->metrics, METRICS_COMMIT, now_monotonic_usec() - t0);
        service_status_changed(d->service);
        if (r < 0) {
                storage_failure(d, r);
                return r;
        }
        burst_done(d);
        replies_send(d);
        if (d->storage_failed)
                storage_recovered(d);
        if (d->n_held == 0)
                mqtt_pause_output(d->mqtt, false); /* held messages stored: acks may go */
        if (engine_take_outbox_dirty(d->engine))
                outbox_rows_added(d->outbox);
        rearm_tick(d);
        checkpointer_committed(d->checkpointer);
        return 0;
}

#define RETENTION_FIRST_USEC (60 * USEC_PER_SEC)
#define RETENTION_EVERY_USEC USEC_PER_HOUR

/* Hourly: households whose observation ended `retention` ago lose their events and
 * personal data (DESIGN.md §8). The first run waits a minute after start. */
static int on_retention(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct daemon *d = userdata;
        int r = retention_purge_expired(d->engine, now_realtime_usec());

        if (r < 0)
                log_err_errno(r, "retention: purging ended households failed, retrying in an hour");
        sd_event_source_set_time_relative(s, RETENTION_EVERY_USEC);
        sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

static int on_commit(sd_event_source *s, void *userdata)
{
        daemon_commit(userdata);
        return 0;
}

/* The end of an MQTT read burst: its messages are committed right away, in the same loop
 * iteration, rather than by the commit source in the next one. */
static void on_read_done(struct mqtt *m, void *userdata)
{
        struct daemon *d = userdata;

        if (store_in_transaction(d->store))
                daemon_commit(d);
}

static void on_store_begin(void *userdata)
{
        struct daemon *d = userdata;
        sd_event_source_set_enabled(d->commit, SD_EVENT_ONESHOT);
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
                .debounce_usec = d->config->policy.debounce_usec,
        };

        for (size_t i = 0; i < rt->n; i++) {
                const struct device *dev = rt->devices[i];
                struct device_state *st = engine_device_state(d->engine, dev);
                struct adapter_decode_result res;
                int r = dev->adapter->decode(dev, &am, st, &res);

                if (r == ADAPTER_E_INVALID) {
                        d->n_invalid++;
                        if (ratelimit_below(&d->rl_invalid))
                                log_about(LOG_WARNING, NULL, dev->household->id, dev->id,
                                          "device %s: dropping malformed message on %s: %s",
                                          dev->id, msg->topic, res.error ? res.error : "invalid");
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
                                metrics_count(d->metrics, METRICS_EVENTS, device_source(dev),
                                              verdict_kind_to_string(v.kind));
                        if (r < 0 && ratelimit_below(&d->rl_not_stored))
                                log_about(LOG_ERR, NULL, dev->household->id, dev->id,
                                          "device %s: event not stored (the transaction is held "
                                          "again): %s",
                                          dev->id, strerror(-r));
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

/* Publishes *payload (taken) on topic after the open transaction commits, or now when none
 * is open. */
static void reply_after_commit(struct daemon *d, const char *topic, char **payload)
{
        size_t n = strlen(topic) + 1;
        struct reply *r;

        if (!store_in_transaction(d->store)) {
                mqtt_publish(d->mqtt, topic, *payload, strlen(*payload), 1, false, NULL);
                return;
        }
        r = xmalloc(sizeof(*r) + n);
        r->next = NULL;
        r->payload = *payload;
        *payload = NULL;
        memcpy(r->topic, topic, n);
        if (d->replies_tail)
                d->replies_tail->next = r;
        else
                d->replies_head = r;
        d->replies_tail = r;
}

static void replies_send(struct daemon *d)
{
        while (d->replies_head) {
                struct reply *r = d->replies_head;
                d->replies_head = r->next;
                mqtt_publish(d->mqtt, r->topic, r->payload, strlen(r->payload), 1, false, NULL);
                free(r->payload);
                free(r);
        }
        d->replies_tail = NULL;
}

static void replies_drop(struct daemon *d)
{
        while (d->replies_head) {
                struct reply *r = d->replies_head;
                d->replies_head = r->next;
                free(r->payload);
                free(r);
        }
        d->replies_tail = NULL;
}

/* Answers a command on <prefix>/<family>/<id>/result (workers or households). */
static void reply_on(struct daemon *d, enum topic_family kind, const char *id,
                     const char *request_id, bool ok, const char *error)
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
        topic_format(topic, sizeof(topic), d->config->mqtt.topic_prefix, kind, id, TOPIC_RESULT);
        if (payload)
                reply_after_commit(d, topic, &payload);
}

/* ---- commands (command.h) ----
 *
 * <prefix>/workers/<id>/<verb> and <prefix>/households/<id>/report: the actor is the one
 * the topic names (the broker's ACLs decide who may publish there), the channel is "mqtt"
 * whatever the payload says. Validated by command.h like every other front door, carried
 * out by the engine, answered on <prefix>/<kind>/<id>/result. */
static void handle_command(struct daemon *d, enum topic_family kind, const char *id,
                           const char *verb_name, const struct mosquitto_message *msg, int64_t now)
{
        bool by_household = kind == TOPIC_HOUSEHOLDS;
        struct command_origin o = { .channel = CHANNEL_MQTT };
        struct command cmd;
        enum command_verb verb;
        const char *error = NULL, *request_id;
        int r;

        d->n_commands++;
        if (msg->retain)
                return; /* a retained command is stale by definition */
        if (command_verb_from_string(verb_name, &verb) < 0 ||
            command_verb_by_household(verb) != by_household) {
                if (!by_household)
                        reply_on(d, kind, id, NULL, false, "unsupported command");
                return; /* (households: not a command, e.g. our own result) */
        }
        if (by_household)
                o.household = id;
        else
                o.worker = id;
        r = command_parse_payload(d->config, verb, &o, msg->payload,
                                  msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0, now, &cmd);
        request_id = cmd.request_id[0] ? cmd.request_id : NULL;
        if (r != 0) {
                if (r == COMMAND_E_TOO_LARGE)
                        d->n_oversize++;
                else if (r == COMMAND_E_MALFORMED)
                        d->n_invalid++;
                if (ratelimit_below(r == COMMAND_E_INVALID ? &d->rl_unknown : &d->rl_invalid))
                        log_warn("%s %s: %s refused: %s", by_household ? "household" : "worker", id,
                                 verb_name, cmd.error);
                reply_on(d, kind, id, request_id, false, cmd.error);
                return;
        }
        r = engine_command(d->engine, &cmd, &error);
        if (r < 0) {
                if (ratelimit_below(&d->rl_not_stored))
                        log_err_errno(r, "%s %s: %s failed", by_household ? "household" : "worker",
                                      id, verb_name);
                error = "internal error";
        }
        if (r > 0 && ratelimit_below(&d->rl_refused))
                log_about(
                    by_household ? LOG_INFO : LOG_WARNING, cmd.alert_id[0] ? cmd.alert_id : NULL,
                    cmd.household ? cmd.household->id : NULL, NULL, "%s %s: %s %s refused: %s",
                    by_household ? "household" : "worker", id, verb_name, cmd.alert_id, error);
        reply_on(d, kind, id, request_id, r == ENGINE_OK, error);
}

static void dispatch_message(struct daemon *d, const struct mosquitto_message *msg, int64_t now)
{
        const char *prefix = d->config->mqtt.topic_prefix;
        const struct device *one;
        struct route tmp;
        const struct route *rt = route_lookup(&d->routing, d->config, msg->topic, &tmp, &one);
        char id[128];
        const char *verb;

        /* One gate for every adapter and command: a NUL (raw or "\u0000") or invalid
         * UTF-8 in a payload is never cut or guessed at ("open\u0000evil" is not "open"). */
        if (msg->payloadlen > 0 && !payload_text_valid(msg->payload, (size_t)msg->payloadlen)) {
                d->n_invalid++;
                if (ratelimit_below(&d->rl_invalid))
                        log_warn("message on %s: NUL or invalid UTF-8 in the payload; dropped",
                                 msg->topic);
                return;
        }
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
        if (topic_parse(prefix, msg->topic, TOPIC_WORKERS, id, sizeof(id), &verb) == 0) {
                handle_command(d, TOPIC_WORKERS, id, verb, msg, now);
                return;
        }
        if (topic_parse(prefix, msg->topic, TOPIC_HOUSEHOLDS, id, sizeof(id), &verb) == 0) {
                handle_command(d, TOPIC_HOUSEHOLDS, id, verb, msg, now);
                return;
        }
        d->n_unknown++;
        if (ratelimit_below(&d->rl_unknown))
                log_warn("message on %s: no registered device or command; dropped", msg->topic);
}

/* ---- messages held while the database takes no transaction ----
 *
 * Every message is handled inside the loop iteration's transaction, and a copy of it is
 * kept (the burst list) until that transaction commits. When the database refuses a
 * transaction (another connection's write lock, or a storage failure: disk full, a
 * read-only file system, I/O errors), messages wait in the held list in arrival order;
 * when a transaction fails (a failed write or COMMIT loses all of it), the burst's copies
 * go back to the front of the held list, the replies to its commands are dropped, and the
 * engine's memory is rebuilt from the database. Meanwhile nothing is written to the broker
 * (mqtt_pause_output(): the PUBACKs of every held message wait in libmosquitto's queue), so
 * it stops at its in-flight window and delivers them again if the daemon dies first; when
 * the hold is full, the socket is not read either. A retry timer (backoff) tries again: for
 * a storage failure a probe write first, so that the daemon notices within seconds that
 * space came back, without waiting for the next event.
 *
 * The broker delivers again what it had sent on a connection that was lost before the
 * PUBACK; a held copy is marked (redelivery) when the connection goes, and the copy the
 * broker sends again on a resumed session (same packet id, topic and payload) is dropped
 * in favour of the held one. A broker that lost the session sends nothing again. */

static struct held_msg *msg_copy(const struct mosquitto_message *msg, int64_t now)
{
        size_t len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
        struct held_msg *h = xmalloc(sizeof(*h) + len + 1);

        *h = (struct held_msg){ .recv_usec = now,
                                .payloadlen = (int)len,
                                .mid = msg->qos > 0 ? msg->mid : 0,
                                .retain = msg->retain };
        if (len)
                memcpy(h->payload, msg->payload, len);
        h->payload[len] = 0;
        h->topic = xstrdup(msg->topic);
        return h;
}

static void msg_free_list(struct held_msg *h)
{
        while (h) {
                struct held_msg *next = h->next;
                free(h->topic);
                free(h);
                h = next;
        }
}

/* The open transaction's messages are stored: their copies go. */
static void burst_done(struct daemon *d)
{
        msg_free_list(d->burst_head);
        d->burst_head = d->burst_tail = NULL;
        d->n_burst = d->burst_bytes = 0;
}

static void burst_add(struct daemon *d, struct held_msg *h)
{
        h->next = NULL;
        if (d->burst_tail)
                d->burst_tail->next = h;
        else
                d->burst_head = h;
        d->burst_tail = h;
        d->n_burst++;
        d->burst_bytes += (size_t)h->payloadlen;
}

/* Without the hold's memory bound, the daemon stops reading: the broker keeps the rest. */
static void check_hold_bound(struct daemon *d)
{
        bool full = d->n_held >= HELD_MAX_MESSAGES || d->held_bytes >= HELD_MAX_BYTES;

        if (full == d->input_paused)
                return;
        d->input_paused = full;
        mqtt_pause_input(d->mqtt, full);
        if (full)
                log_warn("database: %zu messages (%zu bytes) held; not reading from the broker "
                         "until they are stored (it keeps the rest)",
                         d->n_held, d->held_bytes);
}

static void arm_retry(struct daemon *d)
{
        sd_event_source_set_time_relative(d->held_retry, d->held_retry_usec);
        sd_event_source_set_enabled(d->held_retry, SD_EVENT_ONESHOT);
}

/* From now on messages are held and nothing goes to the broker. */
static void start_holding(struct daemon *d)
{
        if (d->held_since_usec != 0)
                return;
        mqtt_pause_output(d->mqtt, true);
        d->held_since_usec = now_monotonic_usec();
        if (!d->storage_failed) {
                d->held_retry_usec = HELD_RETRY_MIN_USEC;
                log_warn("database: another connection holds the write lock; holding messages "
                         "until it is released");
        }
        arm_retry(d);
}

static void hold(struct daemon *d, struct held_msg *h)
{
        if (d->held_tail)
                d->held_tail->next = h;
        else
                d->held_head = h;
        d->held_tail = h;
        d->n_held++;
        d->held_bytes += (size_t)h->payloadlen;
        start_holding(d);
        check_hold_bound(d);
}

/* Whether msg is the broker's second delivery of a held message (see above): then the
 * held copy stands for it. */
static bool held_redelivery(struct daemon *d, const struct mosquitto_message *msg)
{
        size_t len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;

        if (msg->qos == 0)
                return false;
        for (struct held_msg *h = d->held_head; h; h = h->next)
                if (h->redelivery && h->mid == msg->mid && (size_t)h->payloadlen == len &&
                    strcmp(h->topic, msg->topic) == 0 &&
                    memcmp(h->payload, msg->payload, len) == 0) {
                        h->redelivery = false;
                        return true;
                }
        return false;
}

static void hold_message(struct daemon *d, const struct mosquitto_message *msg, int64_t now)
{
        if (held_redelivery(d, msg))
                return;
        hold(d, msg_copy(msg, now));
}

/* Handles held messages, oldest first, in the transaction now open, until they are done or
 * the transaction is lost (the rest stay held). */
static void drain_held(struct daemon *d)
{
        while (d->held_head && !store_transaction_failed(d->store)) {
                struct held_msg *h = d->held_head;
                struct mosquitto_message mm = {
                        .mid = h->mid,
                        .topic = h->topic,
                        .payload = h->payload,
                        .payloadlen = h->payloadlen,
                        .qos = h->mid ? 1 : 0,
                        .retain = h->retain,
                };

                d->held_head = h->next;
                if (!d->held_head)
                        d->held_tail = NULL;
                d->n_held--;
                d->held_bytes -= (size_t)h->payloadlen;
                burst_add(d, h);
                dispatch_message(d, &mm, h->recv_usec);
        }
        if (d->n_held == 0) {
                if (!d->storage_failed && d->n_burst > 0)
                        log_info("database: takes writes again after %.1f s; %zu held messages "
                                 "handled",
                                 (double)(now_monotonic_usec() - d->held_since_usec) / USEC_PER_SEC,
                                 d->n_burst);
                d->held_since_usec = 0;
        }
        check_hold_bound(d);
}

/* ---- storage failures: a BEGIN or COMMIT failed ---- */

static void alarm_on_connect(struct mqtt *m, bool session_present, void *userdata)
{
        struct daemon *d = userdata;

        while (d->alarms) {
                struct alarm_msg *a = d->alarms;
                d->alarms = a->next;
                mqtt_publish(m, a->topic, a->payload, strlen(a->payload), 1, false, NULL);
                free(a->payload);
                free(a);
        }
}

static void alarm_drop(struct daemon *d)
{
        while (d->alarms) {
                struct alarm_msg *a = d->alarms;
                d->alarms = a->next;
                free(a->payload);
                free(a);
        }
        if (d->alarm) {
                mqtt_stop(d->alarm);
                d->alarm = mqtt_free(d->alarm);
        }
}

/* storage_failed over MQTT: the daemon's own connection waits with the PUBACKs of the held
 * messages in front, so a second connection (client id "<client_id>-alarm", the same user)
 * publishes it. */
static int alarm_publish(struct daemon *d, const char *topic, char *payload)
{
        size_t n = strlen(topic) + 1;
        struct alarm_msg *a = xmalloc(sizeof(*a) + n);
        int r;

        a->payload = payload;
        memcpy(a->topic, topic, n);
        a->next = d->alarms;
        d->alarms = a;
        if (d->alarm)
                return 0;
        struct mqtt_config cfg = d->config->mqtt;
        _cleanup_free_ char *id = xasprintf("%s-alarm", cfg.client_id);
        cfg.client_id = id;
        r = mqtt_new(d->event, &cfg, d->password,
                     &(struct mqtt_callbacks){ .on_connect = alarm_on_connect }, d, &d->alarm);
        if (r < 0)
                return r;
        return mqtt_start(d->alarm);
}

static void on_direct_done(struct notifier *n, const struct notify_result *res, void *userdata)
{
        if (res->outcome == NOTIFY_DELIVERED)
                log_info("storage_failed: delivered via %s", notifier_name(n));
        else
                log_warn("storage_failed: not delivered via %s: %s (%s)", notifier_name(n),
                         notify_outcome_to_string(res->outcome), res->detail ? res->detail : "");
}

/* A storage_failed notification (fanout_send_direct()): straight to its notifier, or for
 * MQTT to the alarm connection. */
static int send_direct(void *userdata, const struct notify_message *m, const char *channel)
{
        struct daemon *d = userdata;
        struct notifier *n = d->notify ? notify_context_find(d->notify, channel) : NULL;
        char topic[256];
        char *payload;

        if (!n)
                return 0;
        if (strcmp(notifier_type(n), "mqtt") != 0)
                return notifier_send(n, m, on_direct_done, d);
        if (!m->worker)
                return 0;
        payload = notify_message_format(m, NOTIFY_FORMAT_PERSON);
        if (topic_format(topic, sizeof(topic), d->config->mqtt.topic_prefix, TOPIC_WORKERS,
                         m->worker, TOPIC_NOTIFY) < 0) {
                free(payload);
                return -EINVAL;
        }
        return alarm_publish(d, topic, payload);
}

static bool rebuild_memory(struct daemon *d)
{
        if (d->rebuild_needed && engine_rebuild(d->engine, now_realtime_usec()) == 0)
                d->rebuild_needed = false;
        return !d->rebuild_needed;
}

/* A BEGIN or COMMIT failed, or a write lost the transaction (error: a negative errno): the
 * transaction is gone. Its messages are held again, in front, with their PUBACKs; the
 * replies to its commands are dropped; memory is rebuilt from the database; the command
 * centre and the admins are told (from memory: the outbox is in the database) once per
 * episode; writes are retried with backoff. */
static void storage_failure(struct daemon *d, int error)
{
        size_t requeued = d->n_burst;
        char reason[256];

        store_rollback(d->store);
        replies_drop(d);
        if (d->burst_head) {
                d->burst_tail->next = d->held_head;
                if (!d->held_tail)
                        d->held_tail = d->burst_tail;
                d->held_head = d->burst_head;
                d->n_held += d->n_burst;
                d->held_bytes += d->burst_bytes;
                d->burst_head = d->burst_tail = NULL;
                d->n_burst = d->burst_bytes = 0;
        }
        d->n_storage_failures++;
        d->rebuild_needed = true;
        if (!d->storage_failed) {
                int64_t now = now_realtime_usec();
                int k;

                d->storage_failed = true;
                d->storage_error = error;
                d->storage_since_usec = now;
                d->held_retry_usec = STORAGE_RETRY_MIN_USEC;
                log_err("database: writing failed: %s; %zu messages of the lost transaction are "
                        "held with the rest, nothing is acknowledged to the broker (it keeps "
                        "what it has not delivered), memory is rebuilt from the database and "
                        "writes are retried",
                        strerror(-error), requeued);
                _cleanup_free_ char *shown = store_database_shown(d->config->database);

                snprintf(reason, sizeof(reason),
                         "the database %s takes no writes: %s; door events are held, not "
                         "acknowledged",
                         shown, strerror(-error));
                k = sysalarm_storage_failed(d->engine, reason, now, send_direct, d);
                if (k < 0)
                        log_err_errno(k, "storage_failed: cannot tell the command centre");
        } else {
                d->storage_error = error;
                if (ratelimit_below(&d->rl_held))
                        log_warn("database: still takes no writes after %.1f s: %s; %zu "
                                 "messages held",
                                 (double)(now_realtime_usec() - d->storage_since_usec) /
                                     USEC_PER_SEC,
                                 strerror(-error), d->n_held);
                d->held_retry_usec = MIN(d->held_retry_usec * 2, STORAGE_RETRY_MAX_USEC);
        }
        rebuild_memory(d);
        if (d->held_since_usec == 0)
                start_holding(d);
        else {
                mqtt_pause_output(d->mqtt, true);
                arm_retry(d);
        }
        check_hold_bound(d);
        service_status_changed(d->service);
}

/* The first commit after a storage failure: everything held is stored. */
static void storage_recovered(struct daemon *d)
{
        _cleanup_free_ char *shown = store_database_shown(d->config->database);
        int64_t now = now_realtime_usec();
        char reason[256];
        int r;

        d->storage_failed = false;
        log_notice("database: takes writes again after %.1f s (it failed with: %s); the held "
                   "messages are stored, none lost",
                   (double)(now - d->storage_since_usec) / USEC_PER_SEC,
                   strerror(-d->storage_error));
        alarm_drop(d);
        snprintf(reason, sizeof(reason), "the database %s took no writes for %.0f s: %s", shown,
                 (double)(now - d->storage_since_usec) / USEC_PER_SEC, strerror(-d->storage_error));
        r = sysalarm_storage_restored(d->engine, reason, d->storage_since_usec, now);
        if (r < 0)
                log_err_errno(r, "storage_failed: cannot record the alert");
        rearm_tick(d);
}

static int on_held_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct daemon *d = userdata;
        int r;

        if (d->storage_failed) {
                /* A small write of its own first: a full disk fails it as cheaply as the
                 * held messages would. */
                if (!rebuild_memory(d) || store_probe_write(d->store, now_realtime_usec()) < 0) {
                        d->held_retry_usec = MIN(d->held_retry_usec * 2, STORAGE_RETRY_MAX_USEC);
                        if (ratelimit_below(&d->rl_held))
                                log_warn("database: still takes no writes after %.1f s; %zu "
                                         "messages held",
                                         (double)(now_realtime_usec() - d->storage_since_usec) /
                                             USEC_PER_SEC,
                                         d->n_held);
                        arm_retry(d);
                        return 0;
                }
        }
        r = store_try_begin(d->store);
        if (r == -EBUSY && !d->storage_failed) {
                if (ratelimit_below(&d->rl_held))
                        log_warn("database: write lock still held by another connection after "
                                 "%.1f s; %zu messages held",
                                 (double)(now_monotonic_usec() - d->held_since_usec) / USEC_PER_SEC,
                                 d->n_held);
                d->held_retry_usec = MIN(d->held_retry_usec * 2, HELD_RETRY_MAX_USEC);
                arm_retry(d);
                return 0;
        }
        if (r < 0) {
                storage_failure(d, r);
                return 0;
        }
        drain_held(d);
        daemon_commit(d);
        return 0;
}

/* Every message needs the transaction of this loop iteration (device events are stored,
 * commands write actions): without one, it is held rather than lost. */
static void on_message(struct mqtt *m, const struct mosquitto_message *msg, void *userdata)
{
        struct daemon *d = userdata;
        int64_t now = now_realtime_usec();
        int r;

        if (d->n_held > 0 || d->storage_failed) {
                hold_message(d, msg, now);
                return;
        }
        r = store_try_begin(d->store);
        if (r < 0) {
                /* Another connection's lock: held until it is released. Anything else (the
                 * BEGIN failed, or a write lost the open transaction): a storage failure,
                 * the transaction's messages held in front of this one. */
                if (r != -EBUSY || store_in_transaction(d->store))
                        storage_failure(d, r);
                hold_message(d, msg, now);
                return;
        }
        burst_add(d, msg_copy(msg, now));
        dispatch_message(d, msg, now);
}

/* ---- monitoring gap: the broker unreachable for monitoring_gap_after ---- */

static void arm_gap(struct daemon *d)
{
        int64_t since = mqtt_disconnected_since_usec(d->mqtt);

        if (mqtt_connected(d->mqtt) || since == 0) {
                sd_event_source_set_enabled(d->gap, SD_EVENT_OFF);
                return;
        }
        sd_event_source_set_time(d->gap, (uint64_t)(since + d->config->monitoring_gap_after_usec));
        sd_event_source_set_enabled(d->gap, SD_EVENT_ONESHOT);
}

static int on_gap(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct daemon *d = userdata;
        int64_t since = mqtt_disconnected_since_usec(d->mqtt);
        int64_t mono = now_monotonic_usec(), now = now_realtime_usec();
        char reason[512];
        int r;

        if (mqtt_connected(d->mqtt) || since == 0)
                return 0;
        if (mono - since < d->config->monitoring_gap_after_usec) {
                arm_gap(d);
                return 0;
        }
        snprintf(reason, sizeof(reason), "MQTT broker %s:%d unreachable for %.0f s",
                 d->config->mqtt.host, d->config->mqtt.port, (double)(mono - since) / 1e6);
        log_err("monitoring gap: %s; telling the command centre and admins", reason);
        r = sysalarm_monitoring_gap(d->engine, reason, now - (mono - since), now);
        if (r < 0)
                log_err_errno(r, "monitoring gap: cannot queue the notice");
        return 0;
}

static void on_connect(struct mqtt *m, bool session_present, void *userdata)
{
        struct daemon *d = userdata;

        arm_gap(d);
        if (sysalarm_monitoring_gap_open(d->engine)) {
                int r = sysalarm_monitoring_restored(d->engine, now_realtime_usec());
                if (r < 0)
                        log_err_errno(r, "monitoring restored: cannot queue the notice");
        }
        if (!session_present) {
                /* Nothing comes again: the held copies are the only ones. */
                for (struct held_msg *h = d->held_head; h; h = h->next)
                        h->redelivery = false;
                if (mqtt_reconnects(m) > 0) {
                        char reason[512];
                        int r;

                        snprintf(reason, sizeof(reason),
                                 "the MQTT broker %s:%d lost the daemon's session (session "
                                 "present: no): the events it had queued for the daemon are lost",
                                 d->config->mqtt.host, d->config->mqtt.port);
                        r = sysalarm_session_lost(d->engine, reason, now_realtime_usec());
                        if (r < 0)
                                log_err_errno(r, "monitoring gap: cannot raise the alert");
                }
        }
        outbox_on_connect(d->outbox);
        service_status_changed(d->service);
}

static void on_disconnect(struct mqtt *m, void *userdata)
{
        struct daemon *d = userdata;

        /* The broker delivers again what it sent over this connection without a PUBACK. */
        for (struct held_msg *h = d->held_head; h; h = h->next)
                h->redelivery = h->mid != 0;
        outbox_on_disconnect(d->outbox);
        arm_gap(d);
        service_status_changed(d->service);
}

static void on_publish(struct mqtt *m, int mid, void *userdata)
{
        struct daemon *d = userdata;
        notify_mqtt_on_publish(d->notify_mqtt, mid);
}

/* A notification was given up: the admins hear of it (notification_failed). */
static void on_dead(const struct outbox_dead *dead, void *userdata)
{
        struct daemon *d = userdata;
        int r = sysalarm_notification_failed(d->engine, dead->id, dead->alert_id, dead->channel,
                                             dead->worker, dead->kind, dead->error,
                                             now_realtime_usec());
        if (r < 0)
                log_err_errno(r, "notification %s: cannot raise notification_failed", dead->id);
}

/* A notify context with the templates and every notifier of cfg (the mqtt type must be
 * registered). A notifier that cannot be built (unreadable secret file, ...) fails it. */
static int build_notify(sd_event *event, const struct config *cfg, const char *log_prefix,
                        struct notify_context **ret)
{
        _cleanup_(notify_context_freep) struct notify_context *ctx = NULL;
        struct config_diag diag = { 0 };
        struct templates *t = NULL;
        int r;

        r = notify_context_new(event, &ctx);
        if (r < 0)
                return r;
        r = templates_new(cfg->templates, &diag, &t);
        if (r >= 0)
                notify_context_set_templates(ctx, t);
        for (size_t i = 0; i < cfg->n_notifiers; i++) {
                int k = notifier_new(ctx, &cfg->notifiers[i], cfg->dir, &diag, NULL);
                if (k < 0 && r >= 0)
                        r = k;
        }
        for (size_t i = 0; i < diag.n_errors; i++)
                log_err("%s%s", log_prefix, diag.errors[i]);
        config_diag_done(&diag);
        if (r < 0)
                return r;
        *ret = ctx;
        ctx = NULL;
        return 0;
}

/* The mqtt type on our connection, then the notifiers. */
static int setup_notify(struct daemon *d)
{
        int r = notify_mqtt_new(d->mqtt, d->config->mqtt.topic_prefix, &d->notify_mqtt);
        if (r >= 0)
                r = build_notify(d->event, d->config, "", &d->notify);
        if (r < 0)
                return r;
        log_info("notify: %zu notifiers", d->config->n_notifiers);
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        struct daemon *d = userdata;
        log_info("received %s, stopping", strsignal((int)si->ssi_signo));
        service_stopping(d->service);
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

        if (d->storage_failed || store_write_failed(d->store))
                return "the database does not take writes (the last commit failed)";
        if (checkpointer_failing(d->checkpointer))
                return "the database's WAL checkpoints keep failing (the WAL file grows)";
        return NULL;
}

static void register_checkpoint_metrics(struct daemon *d)
{
        static const char runs[] = "doorwatch_checkpoints_total";
        static const char runs_help[] = "WAL checkpoints done, by the checkpoint thread or, so "
                                        "that the WAL can start over, by the event loop.";
        struct checkpoint_stats *st = &d->checkpoint_stats;

        metrics_add_external(d->metrics, runs, runs_help, "on=\"thread\"", &st->thread_runs);
        metrics_add_external(d->metrics, runs, runs_help, "on=\"loop\"", &st->loop_runs);
        metrics_add_external(d->metrics, "doorwatch_checkpoint_failures_total",
                             "WAL checkpoints that failed (the WAL grows meanwhile).", NULL,
                             &st->failures);
        metrics_add_external(d->metrics, "doorwatch_wal_restarts_total",
                             "Commits that started the WAL over after a complete checkpoint.", NULL,
                             &st->wal_restarts);
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
        register_checkpoint_metrics(d);
}

static int read_password(const struct config *c, char **ret)
{
        return secret_read(c, "mqtt.password", c->mqtt.password_file, ret);
}

/* The store of c->database, with the database password of database_password_file or the
 * pg.password credential when either is there (otherwise libpq finds its own). */
static int open_store(const struct config *c, bool readonly, struct store **ret)
{
        _cleanup_secret_ char *password = NULL;
        int r = secret_read(c, SECRET_DATABASE_PASSWORD, c->database_password_file, &password);

        if (r < 0)
                return r; /* logged with the path */
        return store_open_with_password(c->database, password, c->database_sync_full, readonly,
                                        ret);
}

/* Every load of the configuration is recorded (the households' communities and windows):
 * the daily report counts households from this history, so a past day reports the same
 * after the registry changed. A failure is not fatal: the report then falls back to the
 * configuration it is run with. */
static void record_config(struct daemon *d, const struct config *cfg)
{
        int r = report_record_config(d->store, cfg, now_realtime_usec());
        if (r < 0)
                log_warn_errno(r, "cannot record the households' windows for the daily report");
}

int daemon_new(struct config *cfg, struct daemon **ret)
{
        struct daemon *d;
        _cleanup_secret_ char *password = NULL;
        int r;

        d = xcalloc(1, sizeof(*d));
        d->config = cfg;
        d->rl_invalid = (struct ratelimit)RATELIMIT_INIT(10 * USEC_PER_SEC, 10);
        d->rl_unknown = (struct ratelimit)RATELIMIT_INIT(10 * USEC_PER_SEC, 10);
        d->rl_not_stored = (struct ratelimit)RATELIMIT_INIT(10 * USEC_PER_SEC, 3);
        d->rl_refused = (struct ratelimit)RATELIMIT_INIT(10 * USEC_PER_SEC, 10);

        r = timezone_set(cfg->timezone);
        if (r < 0) {
                log_err("unknown time zone %s", cfg->timezone);
                goto fail;
        }
        /* Every secret and TLS file first: a daemon that cannot read one stops before it
         * creates or changes anything (the database, its directory). */
        {
                struct config_diag diag = { 0 };

                r = daemon_check_files(cfg, &diag);
                for (size_t i = 0; i < diag.n_errors; i++)
                        log_err("%s", diag.errors[i]);
                config_diag_done(&diag);
                if (r < 0)
                        goto fail;
        }
        /* A loop of our own, not the thread's default one: sd-event checks that the default
         * loop runs in its thread with a gettid() system call on every iteration. */
        r = sd_event_new(&d->event);
        if (r < 0)
                goto fail;
        r = metrics_new(&d->metrics);
        if (r < 0)
                goto fail;
        register_metrics(d);
        r = open_store(cfg, false, &d->store);
        if (r < 0)
                goto fail;
        r = service_new(
            d->event,
            &(struct service_callbacks){ .status = daemon_status, .healthy = daemon_healthy }, d,
            &d->service);
        if (r < 0)
                goto fail;
        r = sd_event_add_defer(d->event, &d->commit, on_commit, d);
        if (r < 0)
                goto fail;
        sd_event_source_set_priority(d->commit, SD_EVENT_PRIORITY_IMPORTANT);
        sd_event_source_set_enabled(d->commit, SD_EVENT_OFF);
        sd_event_source_set_description(d->commit, "commit");
        store_set_begin_hook(d->store, on_store_begin, d);
        r = checkpointer_new(d->event, d->store, cfg->database_sync_full, &d->checkpoint_stats,
                             d->metrics, &d->checkpointer);
        if (r < 0)
                goto fail;

        r = sd_event_add_time_relative(d->event, &d->held_retry, CLOCK_MONOTONIC,
                                       HELD_RETRY_MIN_USEC, USEC_PER_MSEC, on_held_retry, d);
        if (r < 0)
                goto fail;
        sd_event_source_set_enabled(d->held_retry, SD_EVENT_OFF);
        sd_event_source_set_description(d->held_retry, "held-messages");
        d->rl_held = (struct ratelimit)RATELIMIT_INIT(10 * USEC_PER_SEC, 1);

        r = sd_event_add_time(d->event, &d->tick, CLOCK_REALTIME, UINT64_MAX, 10 * USEC_PER_MSEC,
                              on_tick, d);
        if (r < 0)
                goto fail;
        sd_event_source_set_enabled(d->tick, SD_EVENT_OFF);
        sd_event_source_set_description(d->tick, "engine-timers");
        r = sd_event_add_time_relative(d->event, &d->retention, CLOCK_MONOTONIC,
                                       RETENTION_FIRST_USEC, USEC_PER_SEC, on_retention, d);
        if (r < 0)
                goto fail;
        sd_event_source_set_description(d->retention, "retention");

        r = engine_new(cfg, d->store, &d->engine);
        if (r == 0)
                r = engine_load(d->engine);
        if (r == 0)
                record_config(d, cfg);
        if (r == 0)
                r = devhealth_start(d->engine, now_realtime_usec());
        if (r < 0)
                goto fail;
        build_routes(&d->routing, cfg);

        r = read_password(cfg, &password);
        if (r < 0) {
                log_err_errno(r, "cannot read the MQTT password");
                goto fail;
        }
        if (password)
                d->password = xstrdup(password);
        r = mqtt_new(d->event, &cfg->mqtt, password,
                     &(struct mqtt_callbacks){ .on_connect = on_connect,
                                               .on_disconnect = on_disconnect,
                                               .on_message = on_message,
                                               .on_publish = on_publish,
                                               .on_subscribed = on_subscribed,
                                               .on_read_done = on_read_done },
                     d, &d->mqtt);
        if (r < 0)
                goto fail;
        r = setup_notify(d);
        if (r < 0) {
                log_err_errno(r, "cannot set up the notifiers");
                goto fail;
        }
        engine_set_notify(d->engine, d->notify);
        r = outbox_new(d->event, cfg, d->store, d->notify, &d->outbox);
        if (r < 0)
                goto fail;
        outbox_set_mqtt(d->outbox, d->mqtt);
        outbox_set_metrics(d->outbox, d->metrics);
        outbox_set_dead_handler(d->outbox, on_dead, d);
        r = sd_event_add_time(d->event, &d->gap, CLOCK_MONOTONIC, UINT64_MAX, 100 * USEC_PER_MSEC,
                              on_gap, d);
        if (r < 0)
                goto fail;
        sd_event_source_set_enabled(d->gap, SD_EVENT_OFF);
        sd_event_source_set_description(d->gap, "monitoring-gap");
        r = mqtt_set_subscriptions(d->mqtt, d->routing.filters, d->routing.n_filters);
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
        if (d->http) {
                engine_set_ack_url(d->engine, http_ack_url, d->http);
                engine_set_page_url(d->engine, http_worker_page_url, d->http);
        }

        r = sd_event_add_signal(d->event, &d->sig_term, SIGTERM, on_signal, d);
        if (r >= 0)
                r = sd_event_add_signal(d->event, &d->sig_int, SIGINT, on_signal, d);
        if (r >= 0)
                r = sd_event_add_signal(d->event, &d->sig_hup, SIGHUP, on_sighup, d);
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
        /* Sends still in flight are cancelled; their rows stay for the next start. */
        d->outbox = outbox_free(d->outbox);
        d->notify = notify_context_free(d->notify);
        d->notify_mqtt = notify_mqtt_free(d->notify_mqtt);
        d->gap = sd_event_source_disable_unref(d->gap);
        d->mqtt = mqtt_free(d->mqtt);
        d->engine = engine_free(d->engine);
        d->commit = sd_event_source_disable_unref(d->commit);
        d->tick = sd_event_source_disable_unref(d->tick);
        d->held_retry = sd_event_source_disable_unref(d->held_retry);
        msg_free_list(d->held_head);
        burst_done(d);
        replies_drop(d);
        alarm_drop(d);
        secret_free(d->password);
        d->retention = sd_event_source_disable_unref(d->retention);
        d->sig_term = sd_event_source_disable_unref(d->sig_term);
        d->sig_int = sd_event_source_disable_unref(d->sig_int);
        d->sig_hup = sd_event_source_disable_unref(d->sig_hup);
        d->reload_timeout = sd_event_source_disable_unref(d->reload_timeout);
        d->service = service_free(d->service);
        /* The thread first: closing the store's connection, the last one, checkpoints. */
        d->checkpointer = checkpointer_free(d->checkpointer);
        d->store = store_close(d->store);
        free_routes(&d->routing);
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
        arm_gap(d);
        outbox_dispatch(d->outbox);
        rearm_tick(d);
        service_ready(d->service);
        log_info("doorwatchd ready: %zu households, %zu devices, %zu workers",
                 d->config->n_households, d->config->n_devices, d->config->n_workers);
        r = sd_event_loop(d->event);
        if (d->n_held > 0 && !d->storage_failed) {
                /* A last wait for the lock (busy timeout), then they are handled or left to
                 * the broker. */
                if (store_begin(d->store) == 0)
                        drain_held(d);
        }
        if (store_commit(d->store) == 0) {
                burst_done(d);
                replies_send(d);
        }
        if (d->n_held > 0 || d->n_burst > 0)
                log_err("database: %s at exit; the broker keeps the %zu held messages (not "
                        "acknowledged) for the next start",
                        d->storage_failed ? "still takes no writes" : "still locked",
                        d->n_held + d->n_burst);
        else
                mqtt_pause_output(d->mqtt, false);
        mqtt_stop(d->mqtt);
        return r;
}

/* ---- systemd status and health ---- */

static void daemon_status(char *buf, size_t size, void *userdata)
{
        struct daemon *d = userdata;
        const struct config *c = d->config;
        int64_t now = now_realtime_usec();
        int64_t depth = store_outbox_depth(d->store);
        size_t observed = 0;

        for (size_t i = 0; i < c->n_households; i++)
                observed +=
                    c->households[i].obs_start_usec <= now && now < c->households[i].obs_end_usec;
        char held[64] = "";

        if (d->n_held > 0)
                snprintf(held, sizeof(held), "%zu messages held; ", d->n_held);
        snprintf(buf, size,
                 "%s%s%sbroker %s; %zu of %zu households under observation; %zu open alerts; "
                 "outbox %lld",
                 d->storage_failed || store_write_failed(d->store) ? "DATABASE NOT WRITABLE; " : "",
                 held,
                 checkpointer_failing(d->checkpointer) ? "DATABASE CHECKPOINTS FAILING; " : "",
                 mqtt_connected(d->mqtt) ? "connected" : "not connected", observed, c->n_households,
                 engine_open_alerts(d->engine), (long long)MAX(depth, 0));
}

/* The watchdog's health check (service.c says why): the database takes writes. After a
 * failed BEGIN/COMMIT, each check probes with a small write, so a recovered database is
 * noticed even when no event arrives. */
static bool daemon_healthy(void *userdata)
{
        struct daemon *d = userdata;

        if (store_write_failed(d->store))
                store_probe_write(d->store, now_realtime_usec());
        return !store_write_failed(d->store);
}

/* ---- reload (SIGHUP) ----
 *
 * The new configuration is loaded and validated aside while the old one keeps serving;
 * nothing changes unless all of it is valid and none of the settings that need a restart
 * differ. The swap runs inside the signal handler, i.e. between two MQTT messages of the
 * single thread: the open transaction is committed first, then the new routing table is
 * built, the engine re-maps its state onto the new records, and the subscriptions are
 * updated. A message still in flight for a device that stays is routed through the new
 * configuration; one for a removed device is dropped as unknown. READY=1 follows once the
 * broker has confirmed the subscriptions of new devices (bounded), so when `systemctl
 * reload` returns, their events are received. */

#define RELOAD_SUBACK_TIMEOUT_USEC (5 * USEC_PER_SEC)

static void swap_routing(struct daemon *d, struct routing *r)
{
        struct routing t = d->routing;
        d->routing = *r;
        *r = t;
}

static void reload_finish(struct daemon *d)
{
        d->reload_ready_pending = false;
        if (d->reload_timeout)
                sd_event_source_set_enabled(d->reload_timeout, SD_EVENT_OFF);
        service_ready(d->service);
}

static void on_subscribed(struct mqtt *m, void *userdata)
{
        struct daemon *d = userdata;
        if (d->reload_ready_pending)
                reload_finish(d);
}

static int on_reload_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct daemon *d = userdata;

        if (d->reload_ready_pending) {
                log_warn("reload: the broker has not confirmed the new subscriptions within %llds",
                         (long long)(RELOAD_SUBACK_TIMEOUT_USEC / USEC_PER_SEC));
                reload_finish(d);
        }
        return 0;
}

/* Waits (bounded) for the SUBACK before READY=1. */
static void reload_wait_suback(struct daemon *d)
{
        int r;

        d->reload_ready_pending = true;
        if (!d->reload_timeout) {
                r = sd_event_add_time_relative(d->event, &d->reload_timeout, CLOCK_MONOTONIC,
                                               RELOAD_SUBACK_TIMEOUT_USEC, 10 * USEC_PER_MSEC,
                                               on_reload_timeout, d);
                if (r < 0) {
                        reload_finish(d);
                        return;
                }
                sd_event_source_set_description(d->reload_timeout, "reload-suback");
        } else
                sd_event_source_set_time_relative(d->reload_timeout, RELOAD_SUBACK_TIMEOUT_USEC);
        sd_event_source_set_enabled(d->reload_timeout, SD_EVENT_ONESHOT);
}

/* Returns 0 when the new configuration is in force, negative errno when the old one was
 * kept (the reason is logged). */
int daemon_reload(struct daemon *d)
{
        struct config *old = d->config, *cfg = NULL;
        struct notify_context *nctx = NULL;
        struct config_diag diag = { 0 };
        struct routing saved = { 0 };
        size_t h_add, h_del, d_add, d_del;
        int r;

        service_reloading(d->service);
        log_info("reload: reading the configuration in %s", old->dir);
        r = config_load(old->dir, &cfg, &diag);
        for (size_t i = 0; i < diag.n_errors; i++)
                log_err("reload: %s", diag.errors[i]);
        for (size_t i = 0; i < diag.n_warnings; i++)
                log_warn("reload: %s", diag.warnings[i]);
        config_diag_done(&diag);
        if (r < 0) {
                log_err("reload: the configuration in %s is invalid; still running on the "
                        "previous one",
                        old->dir);
                goto keep;
        }
        if (!restart_settings_equal(old, cfg)) {
                log_err("reload: refused; still running on the previous configuration");
                r = -EINVAL;
                goto keep;
        }
        /* The notifiers of the new configuration, secrets read again (a robot's key may have
         * been rotated). */
        r = build_notify(d->event, cfg, "reload: ", &nctx);
        if (r < 0) {
                log_err_errno(r, "reload: the notifiers cannot be set up; still running on the "
                                 "previous configuration");
                goto keep;
        }
        /* Whatever the previous messages wrote goes to disk under the configuration it was
         * judged by. */
        r = store_commit(d->store);
        if (r < 0) {
                log_err_errno(r, "reload: committing the open transaction failed; still running "
                                 "on the previous configuration");
                goto keep;
        }

        /* The new routing table first (it cannot fail short of aborting on OOM), then the
         * engine (the only step that can fail), then nothing can fail. */
        swap_routing(d, &saved); /* d's routing is empty, saved holds the old one */
        d->config = cfg;
        build_routes(&d->routing, cfg);
        r = reload_config(d->engine, cfg);
        if (r < 0) {
                free_routes(&d->routing);
                swap_routing(d, &saved);
                d->config = old;
                log_err_errno(r, "reload: still running on the previous configuration");
                goto keep;
        }
        outbox_set_config(d->outbox, cfg);
        record_config(d, cfg);
        devhealth_rearm(d->engine, now_realtime_usec());
        observation_watch_rounds(d->engine, now_realtime_usec()); /* new households' rounds */
        /* Sends in flight through the old notifiers are cancelled: their rows go back to
         * pending and are sent again through the new ones (at least once). */
        engine_set_notify(d->engine, nctx);
        outbox_set_notify(d->outbox, nctx);
        notify_context_free(d->notify);
        d->notify = nctx;
        nctx = NULL;
        http_set_config(d->http, cfg);
        count_changes(old, cfg, &h_add, &h_del, &d_add, &d_del);
        free_routes(&saved); /* the old routing table */
        config_free(old);

        r = mqtt_set_subscriptions(d->mqtt, d->routing.filters, d->routing.n_filters);
        if (r < 0)
                log_err_errno(r, "reload: updating the subscriptions failed; they are made again "
                                 "on the next connect");
        log_notice("reload: configuration in force: %zu households (+%zu -%zu), %zu devices "
                   "(+%zu -%zu), %zu workers",
                   cfg->n_households, h_add, h_del, cfg->n_devices, d_add, d_del, cfg->n_workers);
        rearm_tick(d);
        service_status_changed(d->service);
        if (r > 0)
                reload_wait_suback(d);
        else
                reload_finish(d);
        return 0;
keep:
        notify_context_free(nctx);
        config_free(cfg);
        /* A refused reload still ends the reload for systemd. */
        if (!d->reload_ready_pending)
                service_ready(d->service);
        return r < 0 ? r : -EINVAL;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        daemon_reload(userdata);
        return 0;
}

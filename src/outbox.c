/* outbox.c: the notification dispatcher (see outbox.h).
 *
 * MQTT deliveries are tracked by message id: libmosquitto message ids are 16-bit, so a
 * direct table of 65536 slots maps a mid to the notification id awaiting its PUBACK.
 * Rows are updated inside the daemon's current transaction. */
#include "outbox.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "util.h"

#define DISPATCH_BATCH  512
#define RETRY_BASE_USEC (2 * USEC_PER_SEC)
#define RETRY_MAX_USEC  (10 * USEC_PER_MIN)

struct outbox {
        sd_event *event;
        const struct config *config;
        struct store *store;
        struct mqtt *mqtt;
        sd_event_source *timer;
        char *inflight[65536]; /* mid -> notification id (owned), NUL, channel name */
        struct outbox_counters counters;
        struct metrics *metrics;
};

int outbox_new(sd_event *ev, const struct config *c, struct store *s, struct outbox **ret)
{
        struct outbox *o = calloc(1, sizeof(*o));
        int r;

        if (!o)
                return -ENOMEM;
        o->event = sd_event_ref(ev);
        o->config = c;
        o->store = s;
        r = store_requeue_sending(s);
        if (r < 0) {
                outbox_free(o);
                return r;
        }
        *ret = o;
        return 0;
}

struct outbox *outbox_free(struct outbox *o)
{
        if (!o)
                return NULL;
        o->timer = sd_event_source_disable_unref(o->timer);
        for (size_t i = 0; i < ELEMENTSOF(o->inflight); i++)
                free(o->inflight[i]);
        sd_event_unref(o->event);
        free(o);
        return NULL;
}

void outbox_set_mqtt(struct outbox *o, struct mqtt *m)
{
        o->mqtt = m;
}

void outbox_set_metrics(struct outbox *o, struct metrics *m)
{
        o->metrics = m;
}

/* "id\0channel" in one allocation, so the PUBACK handler knows both. */
static char *inflight_entry(const char *id, const char *channel)
{
        size_t a = strlen(id) + 1, b = strlen(channel) + 1;
        char *e = malloc(a + b);
        if (!e)
                abort();
        memcpy(e, id, a);
        memcpy(e + a, channel, b);
        return e;
}

void outbox_set_config(struct outbox *o, const struct config *c)
{
        o->config = c;
}

const struct outbox_counters *outbox_counters(const struct outbox *o)
{
        return &o->counters;
}

static int64_t retry_delay(int attempts)
{
        int64_t d = RETRY_BASE_USEC;
        for (int i = 1; i < attempts && d < RETRY_MAX_USEC; i++)
                d *= 2;
        d = MIN(d, RETRY_MAX_USEC);
        return d / 2 + (int64_t)(random() % (d / 2 + 1));
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct outbox *o = userdata;
        outbox_dispatch(o);
        /* The dispatch opened a transaction; the daemon's commit source ends it. */
        return 0;
}

static void arm_timer(struct outbox *o)
{
        int64_t next = store_next_notification_usec(o->store);
        int64_t now = now_realtime_usec();
        uint64_t delay;

        if (next == INT64_MAX) {
                if (o->timer)
                        sd_event_source_set_enabled(o->timer, SD_EVENT_OFF);
                return;
        }
        delay = next > now ? (uint64_t)(next - now) : 0;
        if (delay < 10 * USEC_PER_MSEC)
                delay = 10 * USEC_PER_MSEC;
        if (!o->timer) {
                if (sd_event_add_time_relative(o->event, &o->timer, CLOCK_MONOTONIC, delay,
                                               10 * USEC_PER_MSEC, on_timer, o) < 0)
                        return;
                sd_event_source_set_description(o->timer, "outbox-retry");
        } else
                sd_event_source_set_time_relative(o->timer, delay);
        sd_event_source_set_enabled(o->timer, SD_EVENT_ONESHOT);
}

static const char *channel_type(struct outbox *o, const char *channel)
{
        const struct notifier_config *nc = config_notifier(o->config, channel);
        if (nc)
                return nc->type;
        return strcmp(channel, "mqtt") == 0 ? "mqtt" : NULL;
}

static int send_mqtt(struct outbox *o, const struct store_notification *n, int64_t now)
{
        char topic[256];
        int mid = 0, r;

        if (!o->mqtt || !mqtt_connected(o->mqtt))
                return -ENOTCONN;
        snprintf(topic, sizeof(topic), "%s/workers/%s/notify", o->config->mqtt.topic_prefix,
                 n->worker);
        r = mqtt_publish(o->mqtt, topic, n->payload, strlen(n->payload), 1, false, &mid);
        if (r < 0)
                return r;
        free(o->inflight[mid & 0xffff]);
        o->inflight[mid & 0xffff] = inflight_entry(n->id, n->channel);
        return 0;
}

static int dispatch_one(const struct store_notification *n, void *userdata)
{
        struct outbox *o = userdata;
        int64_t now = now_realtime_usec();
        const char *type = channel_type(o, n->channel);
        int r;

        if (type && strcmp(type, "mqtt") == 0)
                r = send_mqtt(o, n, now);
        else
                r = -EOPNOTSUPP;

        if (r == -ENOTCONN) {
                /* Not an attempt: wait for the broker without counting it against the row;
                 * outbox_on_connect() makes it due again at once. */
                return store_set_notification_state(o->store, n->id, NOTIFICATION_PENDING,
                                                    n->attempts, now + USEC_PER_SEC,
                                                    STORE_NOT_CONNECTED, now);
        }
        if (r < 0) {
                int attempts = n->attempts + 1;
                o->counters.retried++;
                metrics_count(o->metrics, METRICS_NOTIFICATIONS, n->channel, "failed");
                log_warn("notification %s via %s failed: %s", n->id, n->channel, strerror(-r));
                return store_set_notification_state(o->store, n->id, NOTIFICATION_PENDING, attempts,
                                                    now + retry_delay(attempts), strerror(-r), now);
        }
        o->counters.sent++;
        metrics_count(o->metrics, METRICS_NOTIFICATIONS, n->channel, "sent");
        return store_set_notification_state(o->store, n->id, NOTIFICATION_SENDING, n->attempts + 1,
                                            n->next_usec, NULL, now);
}

void outbox_dispatch(struct outbox *o)
{
        int r = store_begin(o->store);
        if (r == 0)
                r = store_foreach_due_notification(o->store, now_realtime_usec(), DISPATCH_BATCH,
                                                   dispatch_one, o);
        if (r < 0)
                log_err_errno(r, "outbox: dispatch failed");
        arm_timer(o);
}

void outbox_on_connect(struct outbox *o)
{
        /* Rows that found the broker away (e.g. an escalation step that fired while the
         * daemon was still connecting after a restart) go now, not after their wait. */
        if (store_begin(o->store) == 0)
                store_wake_not_connected(o->store, now_realtime_usec());
        outbox_dispatch(o);
}

void outbox_on_publish(struct outbox *o, int mid)
{
        char *id = o->inflight[mid & 0xffff];
        int64_t now = now_realtime_usec();

        if (!id)
                return; /* the daemon's own status message */
        o->inflight[mid & 0xffff] = NULL;
        if (store_begin(o->store) == 0 &&
            store_set_notification_state(o->store, id, NOTIFICATION_DELIVERED, -1, now, NULL,
                                         now) == 0) {
                o->counters.delivered++;
                metrics_count(o->metrics, METRICS_NOTIFICATIONS, id + strlen(id) + 1, "delivered");
        }
        free(id);
}

void outbox_on_disconnect(struct outbox *o)
{
        /* libmosquitto keeps in-flight QoS 1 messages and resends them with the same mid on
         * reconnect, so the mid table stays valid. Nothing to do. */
}

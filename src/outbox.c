/* outbox.c: the notification dispatcher (see outbox.h).
 *
 * One pass (outbox_dispatch) reads the due rows, most urgent first, and for each one
 * either hands it to its notifier (row -> `sending`, attempts + 1), moves its next
 * attempt to when it can go (rate-limit slot, broker connection) or, when the notifier's
 * send window is full, leaves it due for a later pass. The notifier's callback decides the
 * row's fate and asks for another pass through the `kick` defer source, never by
 * dispatching from inside the callback; while rows wait for a full window, only once half
 * of the window is free again.
 *
 * Ownership: every send in flight is a struct outbox_send on the outbox's list; it
 * carries copies of what the callback needs (the row is gone from memory by then).
 * When the outbox is freed first, the sends still owed a callback are detached
 * (send->outbox = NULL) and freed by that callback when the notify context cancels them;
 * their rows stay `sending` and go back to pending at the next start. */
#include "outbox.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "notify/mqtt_notifier.h"
#include "util.h"

#define DISPATCH_BATCH 512
/* Concurrent sends per notifier (HTTP requests, child processes); MQTT publishes awaiting
 * their PUBACK. Each of those holds its payload in libmosquitto, an op and a deferred
 * completion (about 1 KB): 256 is over 100,000 notifications a second at a local broker's
 * round trip, where 1000 took a megabyte more at the peak of a burst. */
#define MAX_INFLIGHT      16
#define MAX_INFLIGHT_MQTT 256
/* A row that found its notifier saturated or the broker away looks again after this
 * (the broker's connect callback and every completed send make it sooner). */
#define SATURATED_WAIT_USEC (1 * USEC_PER_SEC)
#define BROKER_WAIT_USEC    (60 * USEC_PER_SEC)

struct outbox_send {
        struct outbox *outbox; /* NULL once the outbox is gone */
        char *id, *alert_id, *channel, *worker, *kind;
        int attempts; /* including this one */
        int64_t created_usec;
        struct outbox_send *prev, *next;
};

struct outbox {
        sd_event *event;
        const struct config *config;
        struct store *store;
        struct notify_context *notify;
        struct mqtt *mqtt;
        sd_event_source *timer;
        sd_event_source *kick;
        outbox_dead_fn dead_fn;
        void *dead_userdata;
        struct outbox_send *sends;
        size_t n_sends;
        struct outbox_counters counters;
        struct metrics *metrics; /* doorwatch_notifications_total{channel, outcome}; may be NULL */
        struct ratelimit rl_retry;
        bool saturated; /* the last pass left due rows for a full send window */
};

static void kick(struct outbox *o)
{
        if (o->kick)
                sd_event_source_set_enabled(o->kick, SD_EVENT_ONESHOT);
}

static int on_kick(sd_event_source *s, void *userdata)
{
        outbox_dispatch(userdata);
        return 0;
}

int outbox_new(sd_event *ev, const struct config *c, struct store *s, struct notify_context *notify,
               struct outbox **ret)
{
        struct outbox *o = xcalloc(1, sizeof(*o));
        int r;

        o->event = sd_event_ref(ev);
        o->config = c;
        o->store = s;
        o->notify = notify;
        o->rl_retry = (struct ratelimit)RATELIMIT_INIT(10 * USEC_PER_SEC, 20);
        r = sd_event_add_defer(ev, &o->kick, on_kick, o);
        if (r >= 0)
                r = sd_event_source_set_enabled(o->kick, SD_EVENT_OFF);
        if (r >= 0) {
                sd_event_source_set_description(o->kick, "outbox-kick");
                r = store_requeue_sending(s);
        }
        if (r < 0) {
                outbox_free(o);
                return r;
        }
        *ret = o;
        return 0;
}

static struct outbox_send *send_free(struct outbox_send *snd)
{
        free(snd->id);
        free(snd->alert_id);
        free(snd->channel);
        free(snd->worker);
        free(snd->kind);
        free(snd);
        return NULL;
}

static void send_unlink(struct outbox *o, struct outbox_send *snd)
{
        if (snd->prev)
                snd->prev->next = snd->next;
        else
                o->sends = snd->next;
        if (snd->next)
                snd->next->prev = snd->prev;
        snd->prev = snd->next = NULL;
        o->n_sends--;
}

struct outbox *outbox_free(struct outbox *o)
{
        if (!o)
                return NULL;
        while (o->sends) {
                struct outbox_send *snd = o->sends;
                send_unlink(o, snd);
                snd->outbox = NULL; /* its callback frees it */
        }
        o->timer = sd_event_source_disable_unref(o->timer);
        o->kick = sd_event_source_disable_unref(o->kick);
        sd_event_unref(o->event);
        free(o);
        return NULL;
}

void outbox_set_notify(struct outbox *o, struct notify_context *notify)
{
        o->notify = notify;
        kick(o);
}

void outbox_set_metrics(struct outbox *o, struct metrics *m)
{
        o->metrics = m;
}

void outbox_set_config(struct outbox *o, const struct config *c)
{
        o->config = c;
}

void outbox_set_mqtt(struct outbox *o, struct mqtt *m)
{
        o->mqtt = m;
}

void outbox_set_dead_handler(struct outbox *o, outbox_dead_fn fn, void *userdata)
{
        o->dead_fn = fn;
        o->dead_userdata = userdata;
}

const struct outbox_counters *outbox_counters(const struct outbox *o)
{
        return &o->counters;
}

size_t outbox_n_inflight(const struct outbox *o)
{
        return o->n_sends;
}

/* retry_base * 2^(attempts - 1), capped at retry_max, then a random point in its upper
 * half, so that rows that failed together do not retry together. */
static int64_t retry_delay(const struct outbox_config *c, int attempts)
{
        int64_t d = c->retry_base_usec;

        for (int i = 1; i < attempts && d < c->retry_max_usec; i++)
                d *= 2;
        d = MIN(d, c->retry_max_usec);
        return d / 2 + (int64_t)(random() % (d / 2 + 1));
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        /* The dispatch opens a transaction; the daemon's commit source ends it. */
        outbox_dispatch(userdata);
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
        /* Due rows that found their notifier's window full: completions kick the next pass,
         * the timer only backs them up. */
        if (o->saturated && delay < (uint64_t)SATURATED_WAIT_USEC)
                delay = SATURATED_WAIT_USEC;
        if (!o->timer) {
                if (sd_event_add_time_relative(o->event, &o->timer, CLOCK_MONOTONIC, delay,
                                               5 * USEC_PER_MSEC, on_timer, o) < 0)
                        return;
                sd_event_source_set_description(o->timer, "outbox-retry");
        } else
                sd_event_source_set_time_relative(o->timer, delay);
        sd_event_source_set_enabled(o->timer, SD_EVENT_ONESHOT);
}

static void dead_letter(struct outbox *o, const struct outbox_dead *d, int64_t now)
{
        int r = store_set_notification_state(o->store, d->id, NOTIFICATION_DEAD, d->attempts, now,
                                             d->error, now);
        if (r < 0) {
                log_err_errno(r, "notification %s: cannot record the dead letter", d->id);
                return;
        }
        o->counters.dead++;
        metrics_count(o->metrics, METRICS_NOTIFICATIONS, d->channel, "dead");
        log_err("notification %s (alert %s, %s) via %s given up after %d attempts: %s", d->id,
                d->alert_id, d->kind ? d->kind : "?", d->channel, d->attempts, d->error);
        if (o->dead_fn)
                o->dead_fn(d, o->dead_userdata);
}

static bool is_mqtt(const struct notifier *n)
{
        return strcmp(notifier_type(n), "mqtt") == 0;
}

static size_t max_inflight(const struct notifier *n)
{
        return is_mqtt(n) ? MAX_INFLIGHT_MQTT : MAX_INFLIGHT;
}

static void on_sent(struct notifier *n, const struct notify_result *res, void *userdata)
{
        struct outbox_send *snd = userdata;
        struct outbox *o = snd->outbox;
        int64_t now = now_realtime_usec();
        const char *detail = res->detail ? res->detail : "";
        const struct outbox_config *oc;
        int r;

        if (!o) {
                send_free(snd);
                return;
        }
        oc = &o->config->outbox;
        send_unlink(o, snd);
        r = store_begin(o->store);
        if (r < 0)
                goto done; /* the row stays `sending` and is sent again after a restart */

        if (res->outcome == NOTIFY_RETRY && strcmp(detail, "cancelled") == 0) {
                /* The notifier went away (reload, shutdown): not an attempt. */
                store_set_notification_state(o->store, snd->id, NOTIFICATION_PENDING,
                                             snd->attempts - 1, now, NULL, now);
                goto done;
        }
        switch (res->outcome) {
        case NOTIFY_DELIVERED:
                r = store_set_notification_state(o->store, snd->id, NOTIFICATION_DELIVERED, -1, now,
                                                 NULL, now);
                if (r == 0) {
                        o->counters.delivered++;
                        metrics_count(o->metrics, METRICS_NOTIFICATIONS, snd->channel, "delivered");
                }
                log_debug("notification %s via %s delivered (%s)", snd->id, snd->channel, detail);
                break;
        case NOTIFY_RATE_LIMITED: {
                int64_t next = MAX(now + res->retry_after_usec, notifier_next_slot_usec(n, now));

                if (strcmp(detail, NOTIFY_MQTT_NOT_CONNECTED) == 0)
                        next = now + BROKER_WAIT_USEC; /* outbox_on_connect() wakes it */
                o->counters.rate_limited++;
                metrics_count(o->metrics, METRICS_NOTIFICATIONS, snd->channel, "rate_limited");
                store_set_notification_state(o->store, snd->id, NOTIFICATION_PENDING,
                                             snd->attempts - 1, next, detail, now);
                log_debug("notification %s via %s: too fast (%s), next try in %.1f s", snd->id,
                          snd->channel, detail, (double)(next - now) / 1e6);
                break;
        }
        case NOTIFY_RETRY:
                if ((oc->max_attempts == 0 || snd->attempts < oc->max_attempts) &&
                    now - snd->created_usec < oc->dead_after_usec) {
                        int64_t next =
                            now + MAX(retry_delay(oc, snd->attempts), res->retry_after_usec);

                        o->counters.retried++;
                        metrics_count(o->metrics, METRICS_NOTIFICATIONS, snd->channel, "failed");
                        store_set_notification_state(o->store, snd->id, NOTIFICATION_PENDING,
                                                     snd->attempts, next, detail, now);
                        if (ratelimit_below(&o->rl_retry))
                                log_warn("notification %s via %s failed (attempt %d): %s; "
                                         "retrying in %.1f s",
                                         snd->id, snd->channel, snd->attempts, detail,
                                         (double)(next - now) / 1e6);
                        break;
                }
                __attribute__((fallthrough));
        case NOTIFY_FAILED:
        default:
                dead_letter(o,
                            &(struct outbox_dead){
                                .id = snd->id,
                                .alert_id = snd->alert_id,
                                .channel = snd->channel,
                                .worker = snd->worker,
                                .kind = snd->kind,
                                .attempts = snd->attempts,
                                .created_usec = snd->created_usec,
                                .error = detail,
                            },
                            now);
                break;
        }
done:
        send_free(snd);
        /* While rows wait for a full window, one pass per completed send would read and sort
         * them all again each time (quadratic in a burst): refill when half of it is free. */
        if (!o->saturated || res->outcome != NOTIFY_DELIVERED ||
            notifier_n_pending(n) <= max_inflight(n) / 2)
                kick(o);
}

static int dispatch_one(const struct store_notification *row, void *userdata)
{
        struct outbox *o = userdata;
        int64_t now = now_realtime_usec(), slot;
        struct notifier *n = o->notify ? notify_context_find(o->notify, row->channel) : NULL;
        _cleanup_(notify_message_freep) struct notify_message *m = NULL;
        struct outbox_send *snd;
        char error[256];
        int r;

        if (!n) {
                snprintf(error, sizeof(error), "no notifier \"%.64s\" in doorwatch.json",
                         row->channel);
                dead_letter(o,
                            &(struct outbox_dead){ .id = row->id,
                                                   .alert_id = row->alert_id,
                                                   .channel = row->channel,
                                                   .worker = row->worker,
                                                   .attempts = row->attempts,
                                                   .created_usec = row->created_usec,
                                                   .error = error },
                            now);
                return 0;
        }
        if (is_mqtt(n) && !mqtt_connected(o->mqtt)) {
                /* Not an attempt: wait for the broker without counting it against the row. */
                return store_set_notification_state(o->store, row->id, NOTIFICATION_PENDING,
                                                    row->attempts, now + BROKER_WAIT_USEC,
                                                    NOTIFY_MQTT_NOT_CONNECTED, now);
        }
        slot = notifier_next_slot_usec(n, now);
        if (slot > now)
                return store_defer_notification(o->store, row->id, slot);
        if (notifier_n_pending(n) >= max_inflight(n)) {
                /* Left as it is: the row is taken again when sends of this notifier complete
                 * (on_sent kicks once the window is half free), not rewritten now. */
                o->saturated = true;
                return 0;
        }

        r = notify_message_parse(row->payload, &m);
        if (r < 0) {
                dead_letter(o,
                            &(struct outbox_dead){ .id = row->id,
                                                   .alert_id = row->alert_id,
                                                   .channel = row->channel,
                                                   .worker = row->worker,
                                                   .attempts = row->attempts,
                                                   .created_usec = row->created_usec,
                                                   .error = "malformed notification" },
                            now);
                return 0;
        }
        snd = xcalloc(1, sizeof(*snd));
        *snd = (struct outbox_send){
                .outbox = o,
                .id = xstrdup(row->id),
                .alert_id = xstrdup(row->alert_id),
                .channel = xstrdup(row->channel),
                .worker = xstrdup(row->worker),
                .kind = xstrdup(m->kind),
                .attempts = row->attempts + 1,
                .created_usec = row->created_usec,
        };
        r = store_set_notification_state(o->store, row->id, NOTIFICATION_SENDING, snd->attempts,
                                         row->next_usec, NULL, now);
        if (r < 0) {
                send_free(snd);
                return r;
        }
        snd->next = o->sends;
        if (o->sends)
                o->sends->prev = snd;
        o->sends = snd;
        o->n_sends++;
        r = notifier_send(n, m, on_sent, snd);
        if (r < 0) {
                /* Never started, so no callback: record it as a failed attempt. */
                send_unlink(o, snd);
                store_set_notification_state(o->store, row->id, NOTIFICATION_PENDING, snd->attempts,
                                             now + retry_delay(&o->config->outbox, snd->attempts),
                                             strerror(-r), now);
                send_free(snd);
                o->counters.retried++;
                metrics_count(o->metrics, METRICS_NOTIFICATIONS, row->channel, "failed");
                return 0;
        }
        o->counters.sent++;
        metrics_count(o->metrics, METRICS_NOTIFICATIONS, row->channel, "sent");
        log_debug("notification %s (%s) handed to %s, attempt %d", row->id, m->kind, row->channel,
                  row->attempts + 1);
        return 0;
}

void outbox_dispatch(struct outbox *o)
{
        int r = store_begin(o->store);

        o->saturated = false;
        if (r == 0)
                r = store_foreach_due_notification(o->store, now_realtime_usec(), DISPATCH_BATCH,
                                                   dispatch_one, o);
        if (r < 0)
                log_err_errno(r, "outbox: dispatch failed");
        arm_timer(o);
}

void outbox_rows_added(struct outbox *o)
{
        if (!o->saturated)
                outbox_dispatch(o);
}

void outbox_on_connect(struct outbox *o)
{
        /* Rows that found the broker away go now, not after their wait. */
        if (store_begin(o->store) == 0)
                store_wake_notifications(o->store, NOTIFY_MQTT_NOT_CONNECTED, now_realtime_usec());
        outbox_dispatch(o);
}

void outbox_on_disconnect(struct outbox *o)
{
        /* libmosquitto keeps in-flight QoS 1 messages and resends them with the same mid on
         * reconnect, so sends waiting for a PUBACK stay valid. Nothing to do. */
}

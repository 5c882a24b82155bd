/* outbox.h: sends the notifications queued in the database's outbox table.
 *
 * A notification row is written (and committed) before anything is sent; the outbox
 * hands it to the notifier its `channel` names (notify.h), marks it `sending`, and marks
 * it `delivered` when the notifier confirms (MQTT: the broker's PUBACK; HTTP robots: a
 * 2xx answer with a zero result code; exec: exit status 0). Nothing is ever dropped:
 *
 *   - rate limits: a row whose notifier has no free slot stays pending until the slot
 *     (notifier_next_slot_usec()); the most urgent rows (priority, then age) take the
 *     slots first, so door alerts pass device-health notices in a backlog;
 *   - RETRY (5xx, timeouts, exit status != 0): pending again after retry_base * 2^n
 *     (capped at retry_max, jittered, at least the far end's Retry-After);
 *   - RATE_LIMITED ("too fast"): pending again after the far end's hint, not counted as
 *     an attempt; rows for an MQTT notifier wait for the broker the same way;
 *   - FAILED (4xx, bad configuration), or RETRY once the row is older than
 *     outbox.dead_after or has failed outbox.max_attempts times: `dead`, and the dead
 *     handler is told (the daemon raises notification_failed).
 *
 * On start, rows a previous process left `sending` go back to `pending`: at least once,
 * never lost. Rows are updated inside the store's current transaction (store_begin();
 * the daemon commits at the end of the loop iteration). */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "mqtt.h"
#include "notify/notify.h"
#include "store.h"

struct outbox;

/* What the dead handler learns about a dead-lettered row (strings valid during the call). */
struct outbox_dead {
        const char *id;
        const char *alert_id;
        const char *channel;
        const char *worker; /* NULL for group channels */
        const char *kind;   /* the message's kind ("door_open_unexpected", "ack_notice", ...) */
        int attempts;
        int64_t created_usec;
        const char *error;
};
typedef void (*outbox_dead_fn)(const struct outbox_dead *d, void *userdata);

/* notify is borrowed and must outlive the outbox's sends (free it before or after the
 * outbox; sends cancelled by freeing it stay in the outbox). */
int outbox_new(sd_event *ev, const struct config *c, struct store *s, struct notify_context *notify,
               struct outbox **ret);
struct outbox *outbox_free(struct outbox *o);
/* After a reload: the new notifiers (sends of the old context, cancelled when it is freed,
 * go back to pending). */
void outbox_set_notify(struct outbox *o, struct notify_context *notify);
/* Rows for notifiers of type mqtt wait while m is not connected. */
void outbox_set_mqtt(struct outbox *o, struct mqtt *m);
/* Counts outcomes per channel in m (doorwatch_notifications_total); m may be NULL. */
struct metrics;
void outbox_set_metrics(struct outbox *o, struct metrics *m);
/* After a reload: the configuration to use from now on (the old one is freed next). */
void outbox_set_config(struct outbox *o, const struct config *c);
void outbox_set_dead_handler(struct outbox *o, outbox_dead_fn fn, void *userdata);

/* Sends what is due now (call after a commit) and arms the retry timer. */
void outbox_dispatch(struct outbox *o);
/* The broker (re)connected: rows that waited for it are sent now. */
void outbox_on_connect(struct outbox *o);
void outbox_on_disconnect(struct outbox *o);

struct outbox_counters {
        uint64_t sent, delivered, retried, rate_limited, dead;
};
const struct outbox_counters *outbox_counters(const struct outbox *o);
/* Sends handed to notifiers and not completed yet. */
size_t outbox_n_inflight(const struct outbox *o);

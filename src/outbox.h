/* outbox.h: sends the notifications queued in the database's outbox table.
 *
 * A notification row is written (and committed) before anything is sent; the outbox
 * marks it `sending`, hands it to its channel and marks it `delivered` when the channel
 * confirms (for MQTT: the broker's PUBACK). Failures are retried with backoff. On start,
 * rows a previous process left `sending` go back to `pending`: at least once, never lost. */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "mqtt.h"
#include "store.h"

struct outbox;

int outbox_new(sd_event *ev, const struct config *c, struct store *s, struct outbox **ret);
struct outbox *outbox_free(struct outbox *o);
void outbox_set_mqtt(struct outbox *o, struct mqtt *m);
/* Counts outcomes per channel in m (doorwatch_notifications_total); m may be NULL. */
struct metrics;
void outbox_set_metrics(struct outbox *o, struct metrics *m);
/* After a reload: the configuration to use from now on (the old one is freed next). */
void outbox_set_config(struct outbox *o, const struct config *c);

/* Sends what is due now (call after a commit) and arms the retry timer. */
void outbox_dispatch(struct outbox *o);
/* The broker (re)connected: sends what waited for it. */
void outbox_on_connect(struct outbox *o);
void outbox_on_publish(struct outbox *o, int mid);
void outbox_on_disconnect(struct outbox *o);

struct outbox_counters {
        uint64_t sent, delivered, retried, dead;
};
const struct outbox_counters *outbox_counters(const struct outbox *o);

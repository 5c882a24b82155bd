/* mqtt_notifier.h: the daemon's "mqtt" notifier type (DESIGN.md §4): one notification per
 * recipient on <prefix>/workers/<worker>/notify, QoS 1, in NOTIFY_FORMAT_PERSON.
 *
 * The type publishes on the daemon's MQTT connection, so it exists only where there is
 * one: notify_mqtt_new() registers it (replacing the placeholder that notify.c keeps
 * for configuration checks) and notify_mqtt_free() puts the placeholder back. A send
 * completes when the broker's PUBACK for its message id arrives: the daemon's publish
 * callback hands every mid to notify_mqtt_on_publish(). libmosquitto keeps QoS 1
 * messages across reconnects (persistent session) and resends them with the same mid,
 * so a send in flight survives a lost connection. A send attempted while the broker is
 * unreachable completes at once as RATE_LIMITED "broker not connected" (not an attempt
 * that counts against the notification; the outbox waits for the connection). */
#pragma once

#include <stdbool.h>

#include "mqtt.h"
#include "notify/notify.h"

#define NOTIFY_MQTT_NOT_CONNECTED "broker not connected"
/* Sends awaiting a PUBACK are found by message id modulo this (see mqtt.c). */
#define NOTIFY_MQTT_MID_SLOTS 4096

struct notify_mqtt;

/* Registers the mqtt type publishing on m (borrowed) under topic_prefix (copied).
 * Create notifiers of type mqtt afterwards. Returns 0 or -ENOSPC. */
int notify_mqtt_new(struct mqtt *m, const char *topic_prefix, struct notify_mqtt **ret);
/* Restores the previous mqtt type. Free the notifiers of this type (the notify
 * context) first. NULL-safe. */
struct notify_mqtt *notify_mqtt_free(struct notify_mqtt *nm);
/* The broker acknowledged message mid: completes the send waiting for it (DELIVERED).
 * Returns false when mid was not a notification (status, command results). */
bool notify_mqtt_on_publish(struct notify_mqtt *nm, int mid);
/* Sends waiting for a PUBACK. */
size_t notify_mqtt_n_inflight(const struct notify_mqtt *nm);

/* mqtt.h: one MQTT client connection driven by the sd-event loop.
 *
 * libmosquitto is used through its external-loop API only (mosquitto_socket,
 * mosquitto_loop_read/write/misc, mosquitto_want_write): no thread. The session is
 * persistent (fixed client id, clean session off), subscriptions are QoS 1 and are made
 * again on every connect, and a lost connection is retried with exponential backoff and
 * jitter. A retained "online" is published on <prefix>/daemon/<client_id>/status on
 * every connect, with "offline" as the last will. */
#pragma once

#include <mosquitto.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"

struct mqtt;

enum {
        MQTT_E_NOT_CONNECTED = 1, /* mqtt_publish(): no connection to the broker now */
};

struct mqtt_callbacks {
        void (*on_connect)(struct mqtt *m, bool session_present, void *userdata);
        void (*on_disconnect)(struct mqtt *m, void *userdata);
        void (*on_message)(struct mqtt *m, const struct mosquitto_message *msg, void *userdata);
        void (*on_publish)(struct mqtt *m, int mid, void *userdata);
        /* The subscriptions added by the last mqtt_set_subscriptions() that returned 1 are
         * confirmed by the broker (SUBACK), or the connection was lost meanwhile (they are
         * made again on the next connect). May be NULL. */
        void (*on_subscribed)(struct mqtt *m, void *userdata);
        /* A read burst is over: every message read since the socket became readable went
         * through on_message (libmosquitto has already acknowledged them). Replies queued
         * from on_message are written only after this returns. May be NULL. */
        void (*on_read_done)(struct mqtt *m, void *userdata);
};

/* password may be NULL. The config is copied. */
int mqtt_new(sd_event *e, const struct mqtt_config *cfg, const char *password,
             const struct mqtt_callbacks *cb, void *userdata, struct mqtt **ret);
struct mqtt *mqtt_free(struct mqtt *m);

/* Starts connecting (and keeps retrying). */
int mqtt_start(struct mqtt *m);
/* Publishes "offline" on the status topic and disconnects cleanly. */
void mqtt_stop(struct mqtt *m);

/* Replaces the subscription set: new filters are subscribed now when connected, removed
 * ones unsubscribed; the whole set is subscribed again on every connect. Returns 1 when
 * new filters were sent to the broker and on_subscribed will follow, 0 when there is
 * nothing to wait for, negative errno on failure. */
int mqtt_set_subscriptions(struct mqtt *m, char *const *filters, size_t n);

/* While paused, nothing is written to the broker (PUBACKs included, so it keeps the
 * messages unacknowledged and redelivers them after a crash); output resumes in order. */
void mqtt_pause_output(struct mqtt *m, bool pause);
/* While paused, nothing is read from the broker once connected (the kernel's socket buffer
 * and then the broker keep what it sends; a keepalive may expire meanwhile). */
void mqtt_pause_input(struct mqtt *m, bool pause);
/* Queues a message. Returns 0, MQTT_E_NOT_CONNECTED (nothing queued: a QoS 1 message
 * waits for the connection only once it was queued), or -EIO (logged). */
int mqtt_publish(struct mqtt *m, const char *topic, const void *payload, size_t len, int qos,
                 bool retain, int *ret_mid);
bool mqtt_connected(const struct mqtt *m);
uint64_t mqtt_reconnects(const struct mqtt *m);
/* Monotonic time the connection was lost, 0 while connected. */
int64_t mqtt_disconnected_since_usec(const struct mqtt *m);

/* Why connecting to the broker of cfg failed, in words for whoever configures it: the
 * broker's refusal of the login (its CONNACK reason, when refusal is not empty), a TLS
 * problem from libmosquitto's last error line (unknown CA or host name, client certificate,
 * no TLS on the port), else rc (MOSQ_ERR_*, errno for MOSQ_ERR_ERRNO). The daemon and
 * doorwatchctl say the same. */
void mqtt_describe_failure(const struct mqtt_config *cfg, int rc, const char *refusal,
                           const char *lib_error, char *buf, size_t size);

/* Backoff for attempt n (0-based): base * 2^n capped, times a jitter factor in [0.5, 1]. */
int64_t mqtt_backoff_usec(unsigned attempt, double jitter01);

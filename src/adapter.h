/* adapter.h: the device-ecosystem decoders (src/adapters/), a plug-in family.
 *
 * An adapter is pure: it parses its addressing keys from a device entry at config load,
 * names the MQTT topics a device needs, and decodes (topic, payload, retained) into
 * normalized events against the device's previous state. It does no I/O and keeps no
 * globals; time comes in the message. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "event.h"

/* Payloads larger than this are dropped before any adapter sees them. */
#define ADAPTER_MAX_PAYLOAD (64 * 1024)
#define ADAPTER_MAX_DEPTH   16
#define ADAPTER_MAX_EVENTS  8
/* A live message that carries nothing new is reported as EVENT_HEARTBEAT, at most this often. */
#define ADAPTER_HEARTBEAT_INTERVAL_USEC (60 * INT64_C(1000000))

/* Positive outcomes of decode(): expected, not errors. */
enum {
        ADAPTER_OK = 0,
        ADAPTER_E_IGNORED = 1,  /* well-formed but nothing for us (e.g. empty z2m action) */
        ADAPTER_E_INVALID = 2,  /* malformed payload or wrong types: counted and logged */
        ADAPTER_E_NOT_MINE = 3, /* addressed to another device on a shared topic */
};

struct adapter_msg {
        const char *topic;
        const char *payload; /* not NUL-terminated in general; len bytes */
        size_t len;
        bool retained;
        int64_t recv_usec;
        const char *topic_prefix; /* mqtt.topic_prefix, for native */
        /* Repeats of the same RF code, or rings, within this are dropped; 0 = off. */
        int64_t debounce_usec;
};

/* Callback for topics(): `filter` is what to subscribe to (may contain + wildcards),
 * `route` is the exact topic that is routed to this device (no wildcards). */
typedef void (*adapter_topic_cb)(const char *filter, const char *route, void *userdata);

struct adapter_decode_result {
        struct event events[ADAPTER_MAX_EVENTS];
        size_t n_events;
        const char *error; /* static text for ADAPTER_E_INVALID */
};

struct adapter {
        const char *name;
        /* Device keys this adapter accepts besides the common ones; NULL-terminated. */
        const char *const *keys;
        /* Parses the adapter's keys of one device entry (path is the entry's JSON path).
         * Reports problems through config_diag_error(); returns 0 or -EINVAL. */
        int (*parse_device)(struct device *d, const cJSON *entry, const char *file,
                            const char *path, struct config_diag *diag);
        void (*free_config)(void *adapter_config);
        void (*topics)(const struct device *d, const char *topic_prefix, adapter_topic_cb cb,
                       void *userdata);
        int (*decode)(const struct device *d, const struct adapter_msg *m, struct device_state *st,
                      struct adapter_decode_result *out);
};

const struct adapter *adapter_find(const char *name);
extern const struct adapter adapter_native;
extern const struct adapter adapter_zigbee2mqtt;
extern const struct adapter adapter_shelly;
extern const struct adapter adapter_frigate;
extern const struct adapter adapter_ring;
extern const struct adapter adapter_tasmota;
extern const struct adapter adapter_esphome;

/* event.h: normalized device events, as every adapter produces them and the rules
 * consume them, plus the per-device state adapters use to detect edges. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

enum event_type {
        EVENT_DOOR,
        EVENT_RING,
        EVENT_PERSON,
        EVENT_TAMPER,
        EVENT_BATTERY,
        EVENT_HEARTBEAT,
        EVENT_AVAILABILITY, /* online/offline of the device or its bridge */
        _EVENT_TYPE_MAX,
        EVENT_TYPE_INVALID = -1,
};

enum door_state {
        DOOR_UNKNOWN,
        DOOR_OPEN,
        DOOR_CLOSED,
};

enum person_direction {
        DIRECTION_NONE,
        DIRECTION_OUT,
        DIRECTION_IN,
};

#define EVENT_ID_MAX        64
#define EVENT_BRIDGE_ID_MAX 128

struct event {
        char id[EVENT_ID_MAX]; /* device-assigned id; empty when the source has none */
        enum event_type type;
        enum door_state door;            /* EVENT_DOOR */
        enum person_direction direction; /* EVENT_PERSON */
        int battery_percent;             /* EVENT_BATTERY: 0..100, -1 unknown */
        bool battery_low;                /* EVENT_BATTERY: the device says low */
        int battery_mv;                  /* EVENT_BATTERY: millivolts, 0 unknown */
        bool tampered;                   /* EVENT_TAMPER: true = tampered, false = cleared */
        bool online;                     /* EVENT_AVAILABILITY */
        bool bridge;                     /* EVENT_AVAILABILITY of a whole bridge */
        /* EVENT_AVAILABILITY with bridge: names the bridge (its status topic), the same for
         * every device behind it, so health raises one alert per bridge. */
        char bridge_id[EVENT_BRIDGE_ID_MAX];
        bool has_ts;
        double ts;     /* device clock, Unix seconds */
        bool retained; /* a retained replay, not a live event */
};

/* Which clock an event's time is (DESIGN.md §4): the device's `ts` when it lies within
 * policy.max_clock_skew of the receive time, else the receive time. Stored with the event. */
enum time_basis {
        TIME_BASIS_RECEIVE,
        TIME_BASIS_DEVICE,
};

const char *event_type_to_string(enum event_type t);
enum event_type event_type_from_string(const char *s);
const char *door_state_to_string(enum door_state s);
const char *time_basis_to_string(enum time_basis b); /* "device", "receive" */

#define DEVICE_STATE_RECENT_IDS 8

/* Camera detections already counted (Frigate): hashes of event ids (32 bits suffice to tell
 * eight recent ids apart) and the direction reported. */
struct device_recent {
        uint32_t ids[DEVICE_STATE_RECENT_IDS];
        uint8_t dirs[DEVICE_STATE_RECENT_IDS];
        uint8_t next;
};

/* Per-device memory that adapters read and update to turn full-state messages into
 * edges and to debounce repeats. Owned by the daemon, one per configured device, and
 * zero-initialised: zero means "unknown / never seen" for every field. Release it with
 * device_state_done(). */
struct device_state {
        /* Ordered by size, small types and bit-fields: one per configured device (200,000 in
         * a city). */
        int64_t door_changed_usec;
        int64_t last_seen_usec;
        int64_t last_event_usec;     /* when the last event was decoded (Tasmota) */
        int64_t last_ring_usec;      /* ring debounce */
        int64_t last_heartbeat_usec; /* heartbeats are emitted at most once a minute */
        /* Device health (src/health.h), kept by the engine; adapters do not touch these. */
        int64_t health_seen_usec;          /* last live sign of life (not a retained replay) */
        int64_t health_since_usec;         /* silence counts from here at the earliest */
        int64_t health_timer_usec;         /* deadline of the armed staleness timer, 0 = none */
        int64_t health_battery_alert_usec; /* last battery_low alert raised, 0 = none */
        /* Allocated on a camera's first counted detection (adapter_recent_put()): 41 bytes
         * that a door contact or doorbell never needs. */
        struct device_recent *recent;
        int battery_mv;
        uint32_t last_code;     /* RF code, for RF bridges */
        int8_t battery_percent; /* 0..100, -1 unknown */
        enum door_state door : 8;
        bool tampered : 1;
        bool online : 1;
        bool seen : 1;
        /* Added for the ecosystem adapters (src/adapters/). */
        bool tamper_known : 1;
        bool battery_known : 1;
        bool battery_low : 1;
        bool input_known : 1; /* a binary input (reed switch, button) before polarity */
        bool input_on : 1;
        bool health_offline : 1;        /* device_offline raised, no sign of life since */
        bool health_bridge_offline : 1; /* the bridge it sits behind reported offline */
        bool health_battery_low : 1;    /* the last battery report was low */
};

/* Frees what st allocated; st stays usable (as if it had seen no camera detection). */
void device_state_done(struct device_state *st);

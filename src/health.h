/* health.h: device health decisions (DESIGN.md §6): availability and LWT, staleness and
 * battery, turned into device_offline and battery_low alerts. (tamper is judged by
 * rules.c; all three go to the community worker and installers, see engine.c.)
 *
 * Pure: the engine passes the configuration, the device, what it knows of the device's
 * health (struct health_view, struct device_state's health_* fields) and the time; the
 * answer says what to do and why (English, for the event record). No I/O, no clock.
 *
 * Policy, in one place:
 *   - silence: a device that gives no sign of life (any live message; a retained replay is
 *     none) for its offline_after (the device entry's, else policy.offline_after of its
 *     kind) is offline. Silence counts from the latest of the last sign of life, the
 *     daemon's start or its bridge's return, and the observation start;
 *   - an explicit offline (LWT, availability) of the device raises at once; of a bridge
 *     (zigbee2mqtt bridge/state, Frigate available, a Tasmota RF/Zigbee bridge's LWT, a
 *     Shelly BLU relay) it raises one alert for the bridge, and the devices behind it are
 *     not judged stale while it is offline;
 *   - a battery is low when the device says so, when its percentage is at or below
 *     policy.battery_low_percent, or, for devices that report only a voltage, when that is
 *     at or below the device's battery_low_mv; at most one battery_low alert a day;
 *   - nothing is raised outside the household's observation window. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "config.h"
#include "event.h"
#include "rules.h"

/* At most one battery_low alert per device within this. */
#define HEALTH_BATTERY_ALERT_EVERY_USEC (24 * 3600 * INT64_C(1000000))
/* Open device_offline and battery_low alerts are reminded this often (no escalation). */
#define HEALTH_REMIND_EVERY_USEC (24 * 3600 * INT64_C(1000000))

/* The staleness limit of d: its own offline_after, else policy.offline_after[kind]. */
int64_t health_offline_after_usec(const struct config *c, const struct device *d);

/* The instant d counts as offline if nothing more is heard from it, from the health_*
 * fields of st; INT64_MAX when that is at or after the end of its household's
 * observation. */
int64_t health_stale_at(const struct config *c, const struct device *d,
                        const struct device_state *st);

/* The staleness check of d at now_usec. Returns true when a device_offline is due (reason
 * set). Otherwise *ret_next_usec is when to check again: the stale instant, or INT64_MAX
 * when only a new sign of life (or the bridge's return) can make it due again. */
bool health_stale(const struct config *c, const struct device *d, const struct device_state *st,
                  int64_t now_usec, int64_t *ret_next_usec, char *reason, size_t reason_size);

/* Whether an event proves the device alive when it was received: any live message, and a
 * retained "online" of the device itself (its LWT says it is connected now). */
bool health_event_alive(const struct event *ev);

/* Whether a battery report is low; why says by which measure ("12% (limit 15%)"). */
bool health_battery_is_low(const struct config *c, const struct device *d, const struct event *ev,
                           char *why, size_t why_size);

/* What the engine knows when an availability, battery, tamper or heartbeat event arrives. */
struct health_view {
        bool observed;       /* the household is under observation at the event time */
        bool offline;        /* the device is offline and alerted (health_offline) */
        bool bridge_alerted; /* bridge events: the bridge's offline is alerted, not recovered */
        bool live_battery;   /* a live battery_low alert of the device that would absorb this */
        bool battery_low;    /* the previous battery report was low (health_battery_low) */
        int64_t battery_alert_usec; /* the last battery_low alert of the device, 0 = none */
};

enum health_action {
        HEALTH_RECORD,  /* stored with verdict ignored and the reason */
        HEALTH_RAISE,   /* raise (or join) an alert of `kind`, for the device or its bridge */
        HEALTH_RECOVER, /* record on the `kind` alert (of the device or the bridge) that it
                         * recovered; the alert stays open until a worker resolves it */
};

struct health_decision {
        enum health_action action;
        enum alert_kind kind;
        bool bridge;    /* the action is about the bridge (ev->bridge_id), not the device */
        bool recovered; /* besides: the device was offline and this proves it alive */
        char reason[VERDICT_REASON_MAX];
};

/* Judges an EVENT_AVAILABILITY, EVENT_BATTERY or EVENT_HEARTBEAT of d at event_usec.
 * Other event types are recorded (recovered set when alive and offline). */
void health_judge(const struct config *c, const struct device *d, const struct event *ev,
                  const struct health_view *hv, int64_t event_usec, struct health_decision *ret);

/* How a device is doing at now_usec, in one word for status pages and the API, by the same
 * measures as the alerts: "tampered"; "offline" (alerted offline, its bridge down, or
 * silent past its offline_after); "battery_low"; "unknown" (nothing decoded from it since
 * the daemon started); "ok". */
const char *health_condition(const struct config *c, const struct device *d,
                             const struct device_state *st, int64_t now_usec);

/* "3h12m", "2d04h", "45s": a duration for people, in at most two units. */
const char *health_format_duration(int64_t usec, char buf[static 32]);

/* devhealth.h: device health as the engine runs it: health.c's decisions applied to the
 * devices' state and alerts, staleness timers, daily reminders. See devhealth.c. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "event.h"
#include "rules.h"
#include "timerq.h"

struct alert;
struct engine;
struct engine_change;

/* Reads each device's last sign of life and its last battery_low alert from the database
 * and arms the staleness checks; until it is called, silence is not watched (availability,
 * battery and tamper events are judged all the same). Call it after engine_load(), and
 * devhealth_rearm() after reload_config() (new devices, new limits). */
int devhealth_start(struct engine *e, int64_t now_usec);
void devhealth_rearm(struct engine *e, int64_t now_usec);
void devhealth_free_bridges(struct engine *e);

/* What an event changes in device health, decided before it is written (engine.c). */
struct devhealth_change {
        const struct device *d;           /* whose health it changes, NULL: none */
        struct device_state st;           /* d's state as the change leaves it (health_* fields) */
        const char *bridge_id;            /* a bridge whose offline episode changes, NULL: none */
        const struct alert *bridge_alert; /* its alert (in the change), NULL: it recovered */
};

/* Starts hc with a copy of d's state (d may be NULL). */
void devhealth_begin(struct engine *e, struct devhealth_change *hc, const struct device *d);
/* Decides what an availability, battery, tamper or heartbeat event of d means for its
 * health, in ch (after the rules judged it into *v; debounced: a repeat within debounce):
 * the device's health state, recoveries recorded, device_offline and battery_low raised
 * or joined (*ret: the alert the event is linked to). Memory is not touched. */
int devhealth_decide(struct engine *e, struct engine_change *ch, const struct device *d,
                     const struct event *ev, int64_t event_usec, int64_t now_usec, bool debounced,
                     struct verdict *v, const struct alert **ret);
/* Applies hc (after it was written): the device's state, its staleness check, the bridge's
 * episode. Cannot fail. */
void devhealth_apply(struct engine *e, struct devhealth_change *hc);
/* Forgets the devices' health state and the bridges' episodes (engine_rebuild(); then
 * devhealth_start() again). */
void devhealth_reset(struct engine *e);
/* A TIMER_HEALTH entry came due. */
int devhealth_fire(struct engine *e, const struct timerq_entry *t, int64_t now_usec);
/* The daily reminder of an open device_offline or battery_low alert (TIMER_ESCALATION). */
int devhealth_remind(struct engine *e, struct alert *a, int64_t now_usec);

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

/* Reads each device's last sign of life and its last battery_low alert from the database
 * and arms the staleness checks; until it is called, silence is not watched (availability,
 * battery and tamper events are judged all the same). Call it after engine_load(), and
 * devhealth_rearm() after reload_config() (new devices, new limits). */
int devhealth_start(struct engine *e, int64_t now_usec);
void devhealth_rearm(struct engine *e, int64_t now_usec);
void devhealth_free_bridges(struct engine *e);

/* An availability, battery, tamper or heartbeat event of d (after the rules judged it into
 * *v; debounced: a repeat within debounce). May raise or join a health alert (*ret). */
int devhealth_on_event(struct engine *e, const struct device *d, const struct event *ev,
                       int64_t event_usec, int64_t now_usec, bool debounced, struct verdict *v,
                       struct alert **ret);
/* A TIMER_HEALTH entry came due. */
int devhealth_fire(struct engine *e, const struct timerq_entry *t, int64_t now_usec);
/* The daily reminder of an open device_offline or battery_low alert (TIMER_ESCALATION). */
int devhealth_remind(struct engine *e, struct alert *a, int64_t now_usec);

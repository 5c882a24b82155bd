/* observation.h: the observation rules as the engine runs them: rules.c's verdicts
 * applied, rule deadlines settled and timed, the rule state stored and rebuilt, the end of
 * observation. See observation.c. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "event.h"
#include "rules.h"

struct alert;
struct engine;

/* Acts on an alert verdict of household h: raises (or joins) its alert, or upgrades the
 * opening's alert to person_left. d may be NULL for alerts raised by a deadline or the end
 * of observation (never device-scoped kinds). */
int observation_act(struct engine *e, const struct household *h, const struct device *d,
                    const struct event *ev, const struct verdict *v, int64_t event_usec,
                    int64_t now_usec, struct alert **ret);
/* Handles every rule deadline of h at or before until_usec (event time), in order. */
int observation_settle(struct engine *e, const struct household *h, int64_t until_usec,
                       int64_t now_usec);
/* Before judging an event: the household's clock offset, debounce, due deadlines.
 * Returns 1 (and *ret) when the event is a debounced repeat, 0 to judge it. */
int observation_before_event(struct engine *e, const struct device *d, const struct event *ev,
                             int64_t event_usec, int64_t recv_usec, struct verdict *ret);
/* Stores what changed in h's rule state (passes, the JSON state) and re-arms its timer. */
int observation_persist(struct engine *e, const struct household *h, int64_t event_usec,
                        int64_t now_usec);
/* A TIMER_RULES entry of h came due (token: the entry's). */
int observation_timer(struct engine *e, const struct household *h, uint32_t token,
                      int64_t now_usec);
/* A TIMER_OBSERVATION_END entry of h came due. */
int observation_end(struct engine *e, const struct household *h, int64_t now_usec);
/* Rebuilds the rule state and passes from the database and arms the households' timers. */
int observation_load(struct engine *e);
/* After a reload (the new config is e->config, the old one oc still valid). */
void observation_reloaded(struct engine *e, const struct config *oc);

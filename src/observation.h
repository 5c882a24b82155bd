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
struct alerts_change;
struct engine;
struct engine_change;

/* ---- an event, in three steps (engine_handle_event()) ---- */

/* Starts ch with a copy of h's rule state and d's debounce memory (either may be NULL).
 * Returns 0. */
int observation_begin(struct engine *e, struct engine_change *ch, const struct household *h,
                      const struct device *d);
/* Decides the rule side of event ev of device d on ch's copies: the household's clock
 * offset, debounce, the deadlines due before it (their alerts raised in ch), then its
 * verdict *ret (rules_judge(), rules_apply()). Returns 1 when it is a debounced repeat (not
 * judged), 0, or a negative errno. */
int observation_decide(struct engine *e, struct engine_change *ch, const struct device *d,
                       const struct event *ev, int64_t event_usec, int64_t recv_usec,
                       struct verdict *ret);
/* Acts on an alert verdict v of household h in c: raises (or joins) its alert, or upgrades
 * the opening's alert to person_left. d may be NULL for alerts raised by a deadline or the
 * end of observation (never device-scoped kinds). *ret: the alert. */
int observation_act(struct engine *e, struct alerts_change *c, const struct household *h,
                    const struct device *d, const struct event *ev, const struct verdict *v,
                    int64_t event_usec, int64_t now_usec, const struct alert **ret);
/* Writes what changed in ch's copy of the rule state (passes, the JSON state). */
int observation_write(struct engine *e, struct engine_change *ch, int64_t event_usec,
                      int64_t now_usec);
/* ch's copy becomes the household's state (its timer re-armed), the debounce memory the
 * device's. Cannot fail. */
void observation_apply(struct engine *e, struct engine_change *ch);

/* ---- for the commands, which change the live state ---- */

/* Handles every rule deadline of h at or before until_usec (event time), in order: decided,
 * written and applied (the rule state is not written: observation_persist() does). */
int observation_settle(struct engine *e, const struct household *h, int64_t until_usec,
                       int64_t now_usec);
/* Stores what changed in h's rule state (passes, the JSON state) and re-arms its timer. */
int observation_persist(struct engine *e, const struct household *h, int64_t event_usec,
                        int64_t now_usec);

/* ---- timers, start, reload ---- */

/* A TIMER_RULES entry of h came due (token: the entry's). */
int observation_timer(struct engine *e, const struct household *h, uint32_t token,
                      int64_t now_usec);
/* A TIMER_OBSERVATION_END entry of h came due. */
int observation_end(struct engine *e, const struct household *h, int64_t now_usec);
/* Rebuilds the rule state and passes from the database and arms the households' timers. */
int observation_load(struct engine *e);
/* After a reload (the new config is e->config, the old one oc still valid). */
void observation_reloaded(struct engine *e, const struct config *oc);
/* Households whose medical rounds are not judged yet (added by a reload) are from now on
 * (or from their observation's start); stored at once. */
int observation_watch_rounds(struct engine *e, int64_t now_usec);

/* ---- medical rounds (issue 18) ---- */

/* A reading (command.h, validated): refused when the worker may not act for the household
 * (ENGINE_E_FORBIDDEN) or outside its observation (ENGINE_E_REFUSED), recorded either way;
 * otherwise stored with who, when and the channel, counted for the round its window holds
 * when the worker's readings count (resolving a live round_missed, everyone notified told),
 * and a fever raises (or joins) the fever alert. Decided, written, applied like an event. */
struct command;
int observation_reading(struct engine *e, const struct command *cmd, const char **error);

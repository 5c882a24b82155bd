/* engine-private.h: the engine's state, shared by the modules that make up the engine
 * (engine.c, the alert core alerts.c, and the modules on it). Not for other callers: they
 * use engine.h.
 *
 * Ownership of the fields: the engine (engine.c) creates and frees everything; within it,
 * alerts_by_id, next_serial and the household lists of alerts belong to the alert core;
 * health_bridges and health_gen to device health (devhealth.c); the rule state in
 * households[] and debounce[] to the rule application (observation.c); `timers` is shared,
 * each module pushes entries of its own types and engine_tick() dispatches them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alerts.h"
#include "devhealth.h"
#include "engine.h"
#include "fanout.h"
#include "rules.h"
#include "timerq.h"
#include "util.h"

struct hashmap;

/* Timer types in `timers`. Entries name a household by its index in the config (re-mapped
 * by reload_config()) and carry a token naming what they are for; handlers ignore stale
 * entries. */
enum {
        TIMER_ESCALATION,      /* token = alert serial (its low 32 bits) */
        TIMER_RULES,           /* token = household_state.timer_token: next rule deadline */
        TIMER_OBSERVATION_END, /* at the household's observation end */
        /* Device health (health.c): a device's staleness check; index = the device's, token
         * = health generation (a new generation after each start or reload makes older
         * entries stale). */
        TIMER_HEALTH,
};

/* Rounds one change may judge (a month of two rounds a day; beyond, the settle loop stops
 * and the rest come with the next change). */
#define ENGINE_CHANGE_ROUNDS 64

/* A deadline whose work the database refused (busy, full) is tried again this much later. */
#define ESCALATION_RETRY_USEC (5 * USEC_PER_SEC)

/* A held opening (policy.chatter_settle) that settled in a change: the event row that
 * started it is given the verdict it settled with when the change is written. */
struct engine_settled {
        bool pending;
        int64_t event_usec; /* the opening's start */
        enum verdict_kind kind;
        enum rules_basis basis;
        const struct alert *alert; /* raised or joined; its id is known once written */
        char reason[VERDICT_REASON_MAX];
};

/* What one change decides (an event, a deadline, a system alarm), before it is written and
 * applied (engine.c: decide, persist, apply). The engine has one, reused: the arrays and
 * the scratch state keep their memory from change to change. */
struct engine_change {
        struct alerts_change alerts;
        /* The rule state of household h as the change leaves it (a copy: rules_state_copy()),
         * and the debounce memory of device `device`. */
        const struct household *h;
        struct household_state st;
        const struct device *device;
        struct rules_debounce debounce;
        struct devhealth_change health;
        struct engine_settled settled;
        /* The medical rounds of h judged by the change (observation.c), written with it. */
        struct {
                int64_t at_usec, end_usec;
                enum rules_round_outcome outcome;
        } rounds[ENGINE_CHANGE_ROUNDS];
        size_t n_rounds;
};

struct engine {
        const struct config *config;
        struct store *store;
        struct household_state *households;
        struct device_state *devices;
        struct hashmap *alerts_by_id;
        struct engine_counters counters;
        struct timerq timers;
        size_t timers_compacted; /* entries after the last compaction */
        uint32_t next_serial;    /* wraps after 4 billion alerts; only live ones are compared */
        bool outbox_dirty;
        /* device health: bridges by id (devhealth.c), timer generation (0: the staleness
         * checks are off until devhealth_start()) */
        struct hashmap *health_bridges;
        uint32_t health_gen;
        struct rules_debounce *debounce; /* per device */
        int64_t db_created_usec;         /* observations that ended before get no notice */
        struct fanout fanout;            /* how notifications are written */
        struct engine_change change;
};

/* fanout_queue() for writes that change memory as they go (the commands): the rows are
 * counted and the outbox marked at once. */
int engine_fanout(struct engine *e, const struct outgoing *o, const struct recipient *rcpt,
                  size_t n_rcpt, int64_t now_usec);

/* Starts e->change for household h and device d (either may be NULL): copies of their
 * state to decide on. Returns 0. */
int engine_change_begin(struct engine *e, const struct household *h, const struct device *d);
/* Drops e->change after a failed write (the savepoint is the caller's). */
void engine_change_drop(struct engine *e);
/* Applies e->change: rule state, device health, alerts. Cannot fail. */
void engine_change_apply(struct engine *e);

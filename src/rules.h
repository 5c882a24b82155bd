/* rules.h: the observation rules, a pure function of (household, its state, event,
 * event time, policy) returning a verdict with its reason. No I/O, no clock. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "alert.h"
#include "config.h"
#include "event.h"

enum verdict_kind {
        VERDICT_IGNORED,
        VERDICT_EXPECTED,
        VERDICT_ALERT,
};

#define VERDICT_REASON_MAX 192

struct verdict {
        enum verdict_kind kind;
        enum alert_kind alert; /* VERDICT_ALERT */
        enum severity severity;
        char reason[VERDICT_REASON_MAX]; /* English, for logs and the audit trail */
};

/* Runtime state of one household, owned by the engine (one per configured household). */
struct household_state {
        struct alert *alerts; /* live alerts (open, or acked within ack_absorb) */
        enum door_state door;
        int64_t door_changed_usec;
        int64_t last_ring_usec;
};

const char *verdict_kind_to_string(enum verdict_kind k);

void rules_judge(const struct config *c, const struct household *h,
                 const struct household_state *st, const struct device *d, const struct event *e,
                 int64_t event_usec, struct verdict *ret);

/* The time rules judge an event by: the device's ts when within max_clock_skew of the
 * receive time, else the receive time. */
int64_t rules_event_time(const struct event *e, int64_t recv_usec, int64_t max_clock_skew_usec);

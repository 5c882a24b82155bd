/* fanout.h: the outbox rows of an alert's notification (DESIGN.md §4): a step, a round,
 * a reminder, a notice. See fanout.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "config.h"

struct engine;

struct recipient {
        const struct worker *worker;
        const char *role; /* what they are notified as */
};

/* What one notification says, beyond the alert itself. */
struct outgoing {
        const struct alert *a;
        const char *kind; /* the alert's kind, or a notice's ("monitoring_restored") */
        const char *reason;
        const char *step;
        enum escalation_step step_value; /* for the "escalated" mark of later steps */
        int reminder;                    /* > 0: the n-th reminder after the last round */
        const char *row_kind;            /* notification.kind: NULL ("alert"), "reminder", ... */
        int64_t event_ts_usec;           /* 0: the alert's event time */
        bool skip_mqtt;                  /* the broker is the problem: MQTT is pointless */
        const struct worker *acked_by;   /* ack notices */
        const char *ack_channel;
};

/* One per-person notification to rc through channel. */
int fanout_person(struct engine *e, const struct outgoing *o, const struct recipient *rc,
                  const char *channel, int64_t now_usec);
/* One row per group notifier that wants this round, listing every recipient once. */
int fanout_rounds(struct engine *e, const struct outgoing *o, const struct recipient *rcpt,
                  size_t n_rcpt, int64_t now_usec);

/* escalation.h: what an unacknowledged alert does next, and when (DESIGN.md §6).
 *
 * Pure: a function of the escalation config, the alert's position (the last step
 * notified, its round, reminders sent) and two instants, the deadline the alert was
 * waiting for and now. No clock, no I/O. The engine stores the position and the next
 * deadline with the notifications of a step in one transaction, so after a restart the
 * same inputs give the same next action.
 *
 * The schedule, with steps [s0 .. sk], repeat R, ack_timeout T, remind_every M:
 *   raise:           s0 of round 1, next deadline raise + T
 *   each deadline:   the next step (s0 of the next round after sk), next deadline + T
 *   after sk of round R: next deadline + M, then a reminder to the command centre every
 *                    M until someone acknowledges.
 * Deadlines stay on the original schedule (deadline + interval). Only when the daemon
 * was down for longer than an interval does the next deadline move to now + interval:
 * an overdue step fires once, promptly, and the people it reaches get a full interval
 * to answer before the following one. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

/* Where an alert stands: what was notified last. Stored with the alert. */
struct escalation_pos {
        int step_index; /* index into escalation.steps of the last step notified */
        int round;      /* 1-based */
        int reminders;  /* reminders sent after the last step of the last round */
};

enum escalation_fire {
        ESCALATION_FIRE_NONE,     /* not due yet: nothing to do */
        ESCALATION_FIRE_STEP,     /* notify `step` of `pos.round` */
        ESCALATION_FIRE_REMINDER, /* remind the command centre (reminder pos.reminders) */
};

struct escalation_plan {
        enum escalation_fire fire;
        enum escalation_step step; /* the step notified (STEP_COMMAND for a reminder) */
        struct escalation_pos pos; /* the position after firing: store it */
        int64_t next_usec;         /* the following deadline (never 0 when escalating) */
};

/* The first step, notified when the alert is raised at now_usec. cfg->n_steps >= 1. */
void escalation_start(const struct escalation *cfg, int64_t now_usec, struct escalation_plan *ret);

/* At deadline_usec (the stored next deadline), seen at now_usec: what fires now and the
 * following deadline. Positions written by a config with more steps or rounds are clamped
 * to the current config (the last step of the last round at most). */
void escalation_next(const struct escalation *cfg, const struct escalation_pos *cur,
                     int64_t deadline_usec, int64_t now_usec, struct escalation_plan *ret);

/* True when pos is the last step of the last round (or a reminder after it). */
bool escalation_pos_final(const struct escalation *cfg, const struct escalation_pos *pos);

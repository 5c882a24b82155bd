/* alerts.h: the alert core: the lifecycle of live alerts (joining, counting, escalation
 * steps and their timers, who is told). See alerts.c. Part of the engine: the functions
 * take the engine (engine-private.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "config.h"
#include "event.h"
#include "rules.h"

struct engine;

/* What a new alert starts with. */
struct alert_init {
        enum alert_kind kind;
        enum severity severity;
        const struct household *h; /* NULL for system alerts without a household */
        const char *device_id;     /* device-scoped kinds */
        const char *event_uid;
        double event_ts;
        int64_t event_usec;
        int64_t next_usec; /* first escalation deadline, 0 = none */
        const char *reason;
};

void alerts_free_alert(struct alert *a);
/* Rebuilds the live alerts from the database. */
int alerts_load(struct engine *e);
/* The reason stored with an alert ("" when none or unknown). */
int alerts_stored_reason(struct engine *e, const char *alert_id, char *buf, size_t size);

/* An alert of household index hi by the token of its timer entry. */
struct alert *alerts_by_serial(struct engine *e, size_t hi, uint32_t serial);
/* Arms a's next escalation step or reminder (a has a household). */
void alerts_push_timer(struct engine *e, const struct alert *a, int64_t at_usec);
void alerts_link(struct engine *e, struct alert *a);
void alerts_unlink(struct engine *e, struct alert *a);
/* An alert of this kind that a new occurrence joins (DESIGN.md §6): an open one, or
 * an acked one within ack_absorb of its ack. Expired acked alerts are dropped. */
struct alert *alerts_find_joinable(struct engine *e, const struct household *h,
                                   enum alert_kind kind, const char *device_id, int64_t at_usec);

/* Queues one step (or reminder) of alert a. */
int alerts_notify(struct engine *e, const struct alert *a, enum escalation_step step, int reminder,
                  const char *reason, int64_t now_usec);
int alerts_notify_step(struct engine *e, const struct alert *a, enum escalation_step step,
                       const char *reason, int64_t now_usec);
/* A further occurrence joins a live alert: one episode, a count. */
int alerts_join(struct engine *e, struct alert *a, int64_t event_usec, struct alert **ret);
/* Creates, stores and links a new open alert. */
int alerts_create(struct engine *e, const struct alert_init *init, int64_t now_usec,
                  struct alert **ret);
/* Raises the alert of verdict v (or joins the live one) and notifies its first step. */
int alerts_raise(struct engine *e, const struct household *h, const struct device *d,
                 const struct event *ev, const struct verdict *v, int64_t event_usec,
                 int64_t now_usec, struct alert **ret);
/* The next escalation step, or a reminder, at the alert's deadline. */
int alerts_escalate(struct engine *e, struct alert *a, int64_t now_usec);

/* alerts.h: the alert core: the lifecycle of live alerts (joining, counting, escalation
 * steps and their timers, who is told). See alerts.c. Part of the engine: the functions
 * take the engine (engine-private.h).
 *
 * Every change to alerts goes through a struct alerts_change in three phases:
 *   decide   alerts_find_joinable(), alerts_raise(), alerts_edit(), alerts_tell*() ... record
 *            what is to happen; memory is not touched (alerts_edit() hands out a copy);
 *   persist  alerts_persist() writes it in the store's current transaction;
 *   apply    alerts_apply() changes memory (links, copies back, arms timers), and cannot
 *            fail; or alerts_change_drop() forgets it, when a write failed.
 * alerts_change_finish() does the last two under a savepoint for changes that write
 * nothing else. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "command.h"
#include "config.h"
#include "event.h"
#include "fanout.h"
#include "rules.h"

struct engine;
struct alerts_slot;
struct alerts_op;

/* What a new alert starts with. */
struct alert_init {
        enum alert_kind kind;
        enum severity severity;
        const struct household *h; /* NULL for system alerts without a household */
        const char *device_id;     /* device-scoped kinds */
        const char *event_uid;
        double event_ts;
        int64_t event_usec; /* its last event, and the day its id is dated by */
        int64_t next_usec;  /* first escalation deadline, 0 = none */
        const char *reason;
        const char *log_device; /* named in the log line of the raise, may be NULL */
};

/* Who a notification goes to. */
enum alerts_to {
        ALERTS_TO_STEP,     /* the recipients of the step (or reminder) by the roster, at now */
        ALERTS_TO_SYSTEM,   /* the command centre and the admins */
        ALERTS_TO_NOTIFIED, /* everyone who was notified of the alert (a notice about it) */
};

/* The alert side of one change. Its arrays are kept from change to change (the engine has
 * one): a change allocates only when it needs more room than any before it. */
struct alerts_change {
        struct alerts_slot **slots; /* the alerts it touches or raises, each allocated once */
        size_t n_slots, cap_slots;
        struct alerts_op *ops; /* writes besides the alerts' own rows, in order */
        size_t n_ops, cap_ops;
        struct alert **expired; /* acked alerts past ack_absorb met on the way: dropped */
        size_t n_expired, cap_expired;
        size_t rows; /* notifications written by alerts_persist() */
        bool active;
};

void alerts_free_alert(struct alert *a);
/* Rebuilds the live alerts from the database. */
int alerts_load(struct engine *e);
/* Frees every live alert, with or without household (the lists and the index are
 * emptied). */
void alerts_clear(struct engine *e);
/* The reason stored with an alert ("" when none or unknown). */
int alerts_stored_reason(struct engine *e, const char *alert_id, char *buf, size_t size);

/* A live alert by its id, NULL when there is none. */
struct alert *alerts_find(struct engine *e, const char *alert_id);
/* An alert of household index hi by the token of its timer entry. */
struct alert *alerts_by_serial(struct engine *e, size_t hi, uint32_t serial);
/* Arms a's next escalation step or reminder (a has a household). */
void alerts_push_timer(struct engine *e, const struct alert *a, int64_t at_usec);
void alerts_unlink(struct engine *e, struct alert *a);

/* ---- deciding ---- */

/* Starts a change (c empty); alerts_change_done() frees its arrays at the end. */
void alerts_change_begin(struct alerts_change *c);
void alerts_change_done(struct alerts_change *c);
/* Forgets a change that will not be applied (its writes were rolled back). */
void alerts_change_drop(struct alerts_change *c);

/* The alert of this kind that a new occurrence joins (DESIGN.md §6), as c leaves it: an
 * open one, or an acked one within ack_absorb of its ack; of household h, or among the
 * alerts without household when h is NULL. device_id: device-scoped kinds. */
const struct alert *alerts_find_joinable(struct engine *e, struct alerts_change *c,
                                         const struct household *h, enum alert_kind kind,
                                         const char *device_id, int64_t at_usec);
/* Iterates over the live alerts as c (may be NULL) leaves them, the ones it raises first;
 * *i starts at 0. */
bool alerts_next(struct engine *e, const struct alerts_change *c, size_t *i,
                 const struct alert **ret);
/* Whether c raises a (rather than changing a live alert). */
bool alerts_is_new(const struct alerts_change *c, const struct alert *a);
/* a as c leaves it, to be changed: c's copy of a live alert. */
struct alert *alerts_edit(struct alerts_change *c, const struct alert *a);

/* A new open alert, stored and linked when c is written and applied. */
int alerts_new(struct engine *e, struct alerts_change *c, const struct alert_init *init,
               int64_t now_usec, struct alert **ret);
/* Raises the alert of verdict v on household h (device_id: the device or bridge it is
 * about; kept for device-scoped kinds), or joins the live one (a count); a new one is
 * told its first step. */
int alerts_raise(struct engine *e, struct alerts_change *c, const struct household *h,
                 const char *device_id, const struct event *ev, const struct verdict *v,
                 int64_t event_usec, int64_t now_usec, struct alert **ret);
/* Tells o about a (a as it is now, e.g. its round) to `to`. o->a and o->reason are set
 * when written; reason is copied. */
int alerts_tell(struct alerts_change *c, const struct alert *a, enum alerts_to to,
                const struct outgoing *o, const char *reason);
/* An escalation step (reminder 0) or the n-th reminder of a, to the step's recipients. */
int alerts_tell_step(struct alerts_change *c, const struct alert *a, enum escalation_step step,
                     int reminder, const char *reason);
/* a (a working copy from c) becomes kind, severe, with a new reason (logged). */
int alerts_upgrade(struct alerts_change *c, struct alert *a, enum alert_kind kind,
                   enum severity severity, const char *reason);
/* Records on a that its device (or bridge) `who` recovered (logged; who outlives c). */
int alerts_recovered(struct alerts_change *c, const struct alert *a, const char *who,
                     const char *detail);
/* Resolves a (actor may be NULL: the system), which then leaves memory. */
int alerts_resolve(struct alerts_change *c, const struct alert *a, const char *actor,
                   enum channel channel, const char *note);
/* The system resolves a because what it waited for came (a pass's return, a round's
 * reading): note (English) is stored as the resolution, and everyone who was notified of
 * it is told (kind resolved_notice, note_zh for people, at at_usec). */
int alerts_resolve_by_system(struct alerts_change *c, const struct alert *a, const char *note,
                             const char *note_zh, int64_t at_usec);
/* alerts_resolve_by_system() for every alert of kind of household h that c leaves live,
 * those c raises included. */
int alerts_resolve_kind_by_system(struct engine *e, struct alerts_change *c,
                                  const struct household *h, enum alert_kind kind, const char *note,
                                  const char *note_zh, int64_t at_usec);

/* ---- writing and applying ---- */

/* Writes c in the store's current transaction: new alerts, notifications, records, the
 * new rows of changed alerts. Memory is not touched (but the ids of new alerts). */
int alerts_persist(struct engine *e, struct alerts_change *c, int64_t now_usec);
/* Makes c's alerts live: cannot fail. c is empty afterwards. */
void alerts_apply(struct engine *e, struct alerts_change *c);
/* alerts_persist() and alerts_apply() under a savepoint; on failure the savepoint is
 * rolled back and c dropped: nothing of it in the database or in memory. */
int alerts_change_finish(struct engine *e, struct alerts_change *c, int64_t now_usec);

/* ---- timers ---- */

/* The next escalation step, or a reminder, at the alert's deadline. */
int alerts_escalate(struct engine *e, struct alert *a, int64_t now_usec);

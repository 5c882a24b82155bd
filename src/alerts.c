/* alerts.c: the alert core: live alerts from raise to resolve.
 *
 * Ownership: every struct alert lives in its household's list (household_state.alerts)
 * and in `alerts_by_id` until it is resolved or, once acked, its absorb window has passed;
 * alerts_unlink() frees it. The database is the source of truth: alerts_load() rebuilds
 * the lists at start.
 *
 * Escalation: an open alert's position (step_index, round, reminders) and its next
 * deadline are stored with it; escalation.c decides what comes next. A step's
 * notifications and the alert's new position are written under one savepoint, so a
 * step is in the database whole or not at all and fires once across crashes; timer
 * entries are invalidated lazily (an ack or resolve just clears next_usec or unlinks).
 * Recipients are resolved by the roster at the instant of each step. */
#include "alerts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine-private.h"
#include "escalation.h"
#include "fanout.h"
#include "hashmap.h"
#include "log.h"
#include "roster.h"
#include "store.h"
#include "util.h"

void alerts_free_alert(struct alert *a)
{
        if (!a)
                return;
        free(a->device_id);
        free(a->event_uid);
        free(a);
}

static void count_raised(struct engine *e, const struct alert *a)
{
        e->counters.alerts_raised++;
        if (a->kind >= 0 && a->kind < _ALERT_KIND_MAX)
                e->counters.alerts_by_kind[a->kind]++;
}

/* An alert of household index hi by the token of its timer entry. */
struct alert *alerts_by_serial(struct engine *e, size_t hi, uint32_t serial)
{
        for (struct alert *a = e->households[hi].alerts; a; a = a->next)
                if (a->serial == serial)
                        return a;
        return NULL;
}

/* Arms a's next escalation step or reminder (a has a household). */
void alerts_push_timer(struct engine *e, const struct alert *a, int64_t at_usec)
{
        timerq_push(&e->timers, at_usec, TIMER_ESCALATION, a->household->index, a->serial);
}

void alerts_link(struct engine *e, struct alert *a)
{
        a->serial = ++e->next_serial;
        if (a->next_usec && a->household)
                alerts_push_timer(e, a, a->next_usec);
        if (a->household) {
                struct household_state *st = &e->households[a->household->index];
                a->next = st->alerts;
                st->alerts = a;
        }
        hashmap_replace(e->alerts_by_id, a->id, a);
}

void alerts_unlink(struct engine *e, struct alert *a)
{
        hashmap_remove(e->alerts_by_id, a->id);
        if (a->household) {
                struct alert **p = &e->households[a->household->index].alerts;
                for (; *p; p = &(*p)->next)
                        if (*p == a) {
                                *p = a->next;
                                break;
                        }
        }
        alerts_free_alert(a);
}

static int load_one(const struct store_alert_row *row, void *userdata)
{
        struct engine *e = userdata;
        struct alert *a;

        if (hashmap_get(e->alerts_by_id, row->id))
                return 0;
        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        snprintf(a->id, sizeof(a->id), "%s", row->id);
        a->kind = alert_kind_from_string(row->kind);
        a->severity = alert_kind_default_severity(a->kind);
        if (row->severity && strcmp(row->severity, "critical") == 0)
                a->severity = SEVERITY_CRITICAL;
        a->state = alert_state_from_string(row->state);
        a->household = row->household ? config_household(e->config, row->household) : NULL;
        a->device_id = xstrdup(row->device);
        a->count = row->count;
        a->raised_usec = row->raised_usec;
        a->last_event_usec = row->last_event_usec;
        a->acked_usec = row->acked_usec;
        a->step_index = row->step;
        a->round = row->round;
        a->next_usec = row->next_usec;
        a->reminders = row->reminders;
        a->event_ts = row->event_ts;
        a->event_uid = xstrdup(row->event_uid ? row->event_uid : "");
        if (row->household && !a->household)
                log_about(LOG_WARNING, a->id, row->household, NULL,
                          "alert %s: household %s is no longer configured", a->id, row->household);
        alerts_link(e, a);
        return 0;
}

int alerts_load(struct engine *e)
{
        int r = store_foreach_live_alert(e->store, load_one, e);
        if (r < 0)
                return r;
        log_info("engine: %zu live alerts loaded", hashmap_size(e->alerts_by_id));
        return 0;
}

struct reason_buf {
        char *buf;
        size_t size;
};

static int reason_cb(const struct store_alert_row *row, void *userdata)
{
        struct reason_buf *out = userdata;

        snprintf(out->buf, out->size, "%s", row->reason ? row->reason : "");
        return 0;
}

int alerts_stored_reason(struct engine *e, const char *alert_id, char *buf, size_t size)
{
        struct reason_buf out = { buf, size };
        int r;

        buf[0] = 0;
        r = store_get_alert(e->store, alert_id, reason_cb, &out);
        return r < 0 ? r : 0;
}

/* An alert of this kind that a new occurrence joins (DESIGN.md §6): an open one, or
 * an acked one within ack_absorb of its ack. Expired acked alerts are dropped. */
struct alert *alerts_find_joinable(struct engine *e, const struct household *h,
                                   enum alert_kind kind, const char *device_id, int64_t at_usec)
{
        struct alert *a = e->households[h->index].alerts, *n;

        for (; a; a = n) {
                n = a->next;
                if (a->kind != kind &&
                    !(kind == ALERT_DOOR_OPEN_UNEXPECTED && a->kind == ALERT_PERSON_LEFT))
                        continue;
                if (device_id && !str_eq(a->device_id, device_id))
                        continue;
                if (a->state == ALERT_OPEN)
                        return a;
                if (a->state == ALERT_ACKED) {
                        if (at_usec < a->acked_usec + e->config->policy.ack_absorb_usec)
                                return a;
                        alerts_unlink(e, a); /* stays acked in the database */
                }
        }
        return NULL;
}

/* A de-duplicated list: the first reason a worker is added for is the one they see. */
struct recipients {
        struct recipient *v;
        size_t n, cap;
};

static bool alert_goes_to_installers(enum alert_kind k);
static void add_installers(struct engine *e, const struct alert *a, int64_t now_usec,
                           struct recipients *rs);

static void recipients_add(struct recipients *rs, const struct worker *w, const char *role)
{
        if (!w)
                return;
        for (size_t i = 0; i < rs->n; i++)
                if (rs->v[i].worker == w)
                        return;
        GROW(rs->v, rs->n, rs->cap);
        rs->v[rs->n++] = (struct recipient){ w, role };
}

/* The household's three roles as the roster resolves them at now_usec: the team member
 * on duty, else the role's cover, else the leader, else the command centre. */
static void add_team(struct engine *e, const struct alert *a, int64_t now_usec,
                     struct recipients *rs)
{
        for (int r = 0; r < TEAM_ROLES; r++) {
                const char *role = role_to_string((enum role)r);
                struct roster_answer ans;

                if (roster_resolve(e->config, a->household, (enum role)r, now_usec, &ans) < 0)
                        continue;
                log_debug("alert %s: %s -> %s: %s", a->id, role,
                          roster_reason_to_string(ans.reason), ans.text);
                if (ans.reason == ROSTER_LEADER)
                        role = "leader";
                else if (ans.reason == ROSTER_COMMAND)
                        role = "command";
                for (size_t i = 0; i < ans.n; i++)
                        recipients_add(rs, ans.workers[i], role);
        }
}

static void add_command(struct engine *e, struct recipients *rs)
{
        size_t n;
        struct worker *const *command = roster_command(e->config, &n);

        for (size_t i = 0; i < n; i++)
                recipients_add(rs, command[i], "command");
}

/* Who gets the given step (or reminder, when reminder > 0), in the order they are told:
 *   team:    the three roles by roster (the community worker and installers for tamper and
 *            device health)
 *   leader:  the community leader, and the team again
 *   command: the command centre, the leader and the team
 *   reminder after the last round: the command centre (else the leader, else the team). */
static void step_recipients(struct engine *e, const struct alert *a, enum escalation_step step,
                            int reminder, int64_t now_usec, struct recipients *rs)
{
        const struct worker *leader = roster_leader(a->household ? a->household->community : NULL);

        if (!a->household)
                return;
        /* device_offline, battery_low: no escalation; the daily reminders (health_remind)
         * go to the same people as the alert. */
        if (alert_goes_to_installers(a->kind) && !alert_kind_escalates(a->kind)) {
                add_installers(e, a, now_usec, rs);
                return;
        }
        if (reminder > 0) {
                add_command(e, rs);
                if (rs->n == 0)
                        recipients_add(rs, leader, "leader");
                if (rs->n == 0)
                        add_team(e, a, now_usec, rs);
                return;
        }
        if (step == STEP_COMMAND)
                add_command(e, rs);
        if (step >= STEP_LEADER)
                recipients_add(rs, leader, "leader");
        if (alert_goes_to_installers(a->kind))
                add_installers(e, a, now_usec, rs);
        else
                add_team(e, a, now_usec, rs);
}

/* Queues one step (or reminder) of alert a: one notification per recipient and per-person
 * channel, one per group notifier that wants it, recipients resolved by the roster at
 * now_usec. */
int alerts_notify(struct engine *e, const struct alert *a, enum escalation_step step, int reminder,
                  const char *reason, int64_t now_usec)
{
        struct recipients rs = { 0 };
        int r;

        step_recipients(e, a, step, reminder, now_usec, &rs);
        if (rs.n == 0)
                log_warn("alert %s: nobody to notify for step %s", a->id,
                         escalation_step_to_string(step));
        for (size_t i = 0; i < rs.n; i++)
                if (rs.v[i].worker->n_channels == 0)
                        log_warn("alert %s: worker %s has no notification channel", a->id,
                                 rs.v[i].worker->id);
        r = engine_fanout(e,
                          &(struct outgoing){
                              .a = a,
                              .kind = alert_kind_to_string(a->kind),
                              .reason = reason,
                              .step = escalation_step_to_string(step),
                              .step_value = step,
                              .reminder = reminder,
                              .row_kind = reminder > 0 ? "reminder" : "alert",
                          },
                          rs.v, rs.n, now_usec);
        free(rs.v);
        return r;
}

/* Queues the notifications of one escalation step. */
int alerts_notify_step(struct engine *e, const struct alert *a, enum escalation_step step,
                       const char *reason, int64_t now_usec)
{
        return alerts_notify(e, a, step, 0, reason, now_usec);
}

/* The deadline of the step after the first, for an alert raised at now_usec. */
static int64_t escalation_first_deadline(struct engine *e, int64_t now_usec)
{
        struct escalation_plan p;

        escalation_start(&e->config->escalation, now_usec, &p);
        return p.next_usec;
}

/* A further occurrence joins a live alert: one episode, a count. */
int alerts_join(struct engine *e, struct alert *a, int64_t event_usec, struct alert **ret)
{
        a->count++;
        a->last_event_usec = event_usec;
        *ret = a;
        return store_update_alert(e->store, a);
}

/* Creates, stores and links a new open alert. */
int alerts_create(struct engine *e, const struct alert_init *init, int64_t now_usec,
                  struct alert **ret)
{
        struct alert *a = calloc(1, sizeof(*a));
        int r;

        if (!a)
                return -ENOMEM;
        r = store_next_id(e->store, 'a', init->event_usec, a->id, sizeof(a->id));
        if (r < 0) {
                free(a);
                return r;
        }
        a->kind = init->kind;
        a->severity = init->severity;
        a->state = ALERT_OPEN;
        a->household = (struct household *)init->h;
        a->device_id = xstrdup(init->device_id);
        a->count = 1;
        a->raised_usec = now_usec;
        a->last_event_usec = init->event_usec;
        a->round = 1;
        a->step_index = 0;
        a->next_usec = init->next_usec;
        a->event_uid = xstrdup(init->event_uid ? init->event_uid : "");
        a->event_ts = init->event_ts;
        r = store_insert_alert(e->store, a, init->h ? init->h->community_id : NULL, init->reason);
        if (r < 0) {
                alerts_free_alert(a);
                return r;
        }
        alerts_link(e, a);
        count_raised(e, a);
        *ret = a;
        return 0;
}

int alerts_raise(struct engine *e, const struct household *h, const struct device *d,
                 const struct event *ev, const struct verdict *v, int64_t event_usec,
                 int64_t now_usec, struct alert **ret)
{
        bool device_scoped = v->alert == ALERT_TAMPER || v->alert == ALERT_DEVICE_OFFLINE ||
                             v->alert == ALERT_BATTERY_LOW;
        struct alert *a =
            alerts_find_joinable(e, h, v->alert, device_scoped ? d->id : NULL, event_usec);
        int r;

        if (a)
                return alerts_join(e, a, event_usec, ret);
        r = alerts_create(
            e,
            &(struct alert_init){
                .kind = v->alert,
                .severity = v->severity,
                .h = h,
                .device_id = device_scoped ? d->id : NULL,
                .event_uid = ev->id,
                .event_ts = ev->has_ts ? ev->ts : (double)event_usec / 1e6,
                .event_usec = event_usec,
                .next_usec = alert_kind_escalates(v->alert) && e->config->escalation.n_steps > 0
                                 ? escalation_first_deadline(e, now_usec)
                                 : 0,
                .reason = v->reason,
            },
            now_usec, &a);
        if (r < 0)
                return r;
        log_about(LOG_NOTICE, a->id, h->id, d ? d->id : NULL, "alert %s: %s at household %s (%s)",
                  a->id, alert_kind_to_string(a->kind), h->id, v->reason);
        r = alerts_notify_step(
            e, a, e->config->escalation.n_steps ? e->config->escalation.steps[0] : STEP_TEAM,
            v->reason, now_usec);
        *ret = a;
        return r;
}

/* Escalation (DESIGN.md §6): the next step, or a reminder, at the alert's deadline. The
 * notifications and the alert's new position (step, round, reminders, next deadline) are
 * written under one savepoint of the loop's transaction: after a crash either both are in
 * the database or neither is, so each step fires once. */
int alerts_escalate(struct engine *e, struct alert *a, int64_t now_usec)
{
        const struct escalation_pos cur = { a->step_index, a->round, a->reminders };
        const int64_t deadline = a->next_usec;
        struct escalation_plan p;
        char reason[VERDICT_REASON_MAX];
        int r;

        escalation_next(&e->config->escalation, &cur, deadline, now_usec, &p);
        if (p.fire == ESCALATION_FIRE_NONE)
                return 0;
        r = store_savepoint(e->store);
        if (r < 0)
                goto retry;
        a->step_index = p.pos.step_index;
        a->round = p.pos.round;
        a->reminders = p.pos.reminders;
        a->next_usec = p.next_usec;
        r = alerts_stored_reason(e, a->id, reason, sizeof(reason));
        if (r == 0)
                r = alerts_notify(e, a, p.step,
                                  p.fire == ESCALATION_FIRE_REMINDER ? p.pos.reminders : 0, reason,
                                  now_usec);
        if (r == 0)
                r = store_update_alert(e->store, a);
        if (r < 0) {
                store_rollback_to(e->store);
                a->step_index = cur.step_index;
                a->round = cur.round;
                a->reminders = cur.reminders;
                a->next_usec = deadline;
                goto retry;
        }
        r = store_release(e->store);
        if (r < 0)
                goto retry;
        alerts_push_timer(e, a, a->next_usec);
        if (p.fire == ESCALATION_FIRE_REMINDER)
                log_notice("alert %s: still not acknowledged, reminder %d to the command centre",
                           a->id, a->reminders);
        else
                log_notice("alert %s: not acknowledged, escalated to step %s of round %d "
                           "(due %.3f s ago)",
                           a->id, escalation_step_to_string(p.step), a->round,
                           (double)(now_usec - deadline) / 1e6);
        return 0;
retry:
        log_err_errno(r, "alert %s: escalation failed, retrying", a->id);
        alerts_push_timer(e, a, now_usec + ESCALATION_RETRY_USEC);
        return r;
}

/* tamper, device health and the end-of-observation notice go to the community worker and
 * the community's installers (DESIGN.md §6). */
static bool alert_goes_to_installers(enum alert_kind k)
{
        return k == ALERT_TAMPER || k == ALERT_OBSERVATION_ENDED || k == ALERT_DEVICE_OFFLINE ||
               k == ALERT_BATTERY_LOW;
}

/* The household's community worker as the roster resolves the role now (on duty, else
 * cover, leader, command), and every installer of its community. */
static void add_installers(struct engine *e, const struct alert *a, int64_t now_usec,
                           struct recipients *rs)
{
        const struct household *h = a->household;
        struct roster_answer ans;

        if (roster_resolve(e->config, h, ROLE_COMMUNITY, now_usec, &ans) == 0)
                for (size_t i = 0; i < ans.n; i++)
                        recipients_add(rs, ans.workers[i],
                                       ans.reason == ROSTER_LEADER    ? "leader"
                                       : ans.reason == ROSTER_COMMAND ? "command"
                                                                      : "community");
        for (size_t i = 0; i < e->config->n_workers; i++) {
                const struct worker *w = &e->config->workers[i];
                if (w->role == ROLE_INSTALLER && w->community && w->community == h->community)
                        recipients_add(rs, w, "installer");
        }
}
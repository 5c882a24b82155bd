/* alerts.c: the alert core: live alerts from raise to resolve.
 *
 * Ownership: every struct alert lives in its household's list (household_state.alerts)
 * and in `alerts_by_id` until it is resolved or, once acked, its absorb window has passed;
 * alerts_unlink() frees it. The database is the source of truth: alerts_load() rebuilds
 * the lists at start.
 *
 * Changes (alerts.h): deciding works on copies and new, unlinked alerts in a struct
 * alerts_change; only alerts_apply(), after everything was written, changes the lists.
 * So a change whose writes fail leaves memory as it was, and the modules on the core
 * (rule application, device health, system alarms) decide, write, then apply.
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

struct alert *alerts_find(struct engine *e, const char *alert_id)
{
        return hashmap_get(e->alerts_by_id, alert_id);
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

static void alerts_link(struct engine *e, struct alert *a)
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
        /* As after a reload: the alerts of a household no longer configured stay in the
         * database (until its retention purge) but not in memory. */
        if (row->household && !config_household(e->config, row->household)) {
                log_about(LOG_WARNING, row->id, row->household, NULL,
                          "alert %s: household %s is no longer configured; the alert stays %s in "
                          "the database but is not escalated",
                          row->id, row->household, row->state);
                return 0;
        }
        a = xcalloc(1, sizeof(*a));
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

void alerts_clear(struct engine *e)
{
        const char *key;
        void *value;
        size_t i = 0;

        while (hashmap_iterate(e->alerts_by_id, &i, &key, &value))
                alerts_free_alert(value);
        hashmap_free(e->alerts_by_id);
        e->alerts_by_id = hashmap_new(64);
        for (size_t k = 0; e->households && k < e->config->n_households; k++)
                e->households[k].alerts = NULL;
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

/* One of the household's roles as the roster resolves it at now_usec: the team member on
 * duty, else the role's cover, else the leader, else the command centre. */
static void add_role(struct engine *e, const struct alert *a, enum role r, int64_t now_usec,
                     struct recipients *rs)
{
        const char *role = role_to_string(r);
        struct roster_answer ans;

        if (roster_resolve(e->config, a->household, r, now_usec, &ans) < 0)
                return;
        log_debug("alert %s: %s -> %s: %s", a->id, role, roster_reason_to_string(ans.reason),
                  ans.text);
        if (ans.reason == ROSTER_LEADER)
                role = "leader";
        else if (ans.reason == ROSTER_COMMAND)
                role = "command";
        for (size_t i = 0; i < ans.n; i++)
                recipients_add(rs, ans.workers[i], role);
}

/* The household's three roles as the roster resolves them at now_usec. */
static void add_team(struct engine *e, const struct alert *a, int64_t now_usec,
                     struct recipients *rs)
{
        for (int r = 0; r < TEAM_ROLES; r++)
                add_role(e, a, (enum role)r, now_usec, rs);
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
        /* device_offline, battery_low: no escalation; the daily reminders (devhealth_remind())
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
        /* A fever goes to the duty leader at once, with the team (DESIGN.md §6). */
        if (step >= STEP_LEADER || a->kind == ALERT_FEVER)
                recipients_add(rs, leader, "leader");
        if (alert_goes_to_installers(a->kind))
                add_installers(e, a, now_usec, rs);
        else if (a->kind == ALERT_ROUND_MISSED)
                add_role(e, a, ROLE_MEDICAL, now_usec, rs); /* the medical worker on duty */
        else
                add_team(e, a, now_usec, rs);
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

/* The deadline of the step after the first, for an alert raised at now_usec. */
static int64_t escalation_first_deadline(struct engine *e, int64_t now_usec)
{
        struct escalation_plan p;

        escalation_start(&e->config->escalation, now_usec, &p);
        return p.next_usec;
}

/* ---- changes ----
 *
 * A slot is one alert a change touches: a copy of a live alert (live set), or a new alert
 * (live NULL, owned by the slot until applied). An op is a write besides the alerts' own
 * rows, kept in the order it was decided, so that ids and notifications come out in the
 * same order as when everything was written at once. */

struct alerts_slot {
        struct alert *live; /* NULL: raised by this change */
        struct alert *a;    /* the alert as the change leaves it: &copy, or the new one */
        struct alert copy;
        const char *log_device; /* new alerts: named in the log line */
        int64_t id_usec;        /* new alerts: the day their id is dated by */
        bool changed;           /* live alerts: their row is written anew */
        bool resolved;
};

/* Reasons and notes kept for writing (a notification_failed reason names a notification,
 * an alert, a channel and the error). */
#define ALERTS_TEXT_MAX 512
/* A notice's note for people (resolved_notice: why). */
#define ALERTS_NOTE_MAX 256

enum alerts_op_kind {
        OP_INSERT,    /* store the new alert (its id is taken then) */
        OP_TELL,      /* queue a notification about the alert as it was then */
        OP_UPGRADE,   /* store its new reason (kind and severity go with its row) */
        OP_RECOVERED, /* record that its device recovered */
        OP_RESOLVE,   /* resolve it */
};

struct alerts_op {
        enum alerts_op_kind kind;
        struct alerts_slot *slot;
        enum alerts_to to;          /* OP_TELL */
        struct outgoing o;          /* OP_TELL */
        struct alert then;          /* OP_TELL: the alert when it was told */
        const char *who;            /* OP_RECOVERED: the device or bridge; OP_RESOLVE: the actor */
        const char *channel;        /* OP_RESOLVE */
        char text[ALERTS_TEXT_MAX]; /* the reason, detail or note */
        char note[ALERTS_NOTE_MAX]; /* OP_TELL: o.note's text (notices) */
};

void alerts_change_begin(struct alerts_change *c)
{
        if (c->active) {
                log_err("alerts: a change was left neither applied nor dropped");
                alerts_change_drop(c);
        }
        c->n_slots = c->n_ops = c->n_expired = c->rows = 0;
        c->active = true;
}

void alerts_change_drop(struct alerts_change *c)
{
        for (size_t i = 0; i < c->n_slots; i++)
                if (!c->slots[i]->live) {
                        alerts_free_alert(c->slots[i]->a);
                        c->slots[i]->a = NULL;
                }
        c->n_slots = c->n_ops = c->n_expired = c->rows = 0;
        c->active = false;
}

void alerts_change_done(struct alerts_change *c)
{
        alerts_change_drop(c);
        for (size_t i = 0; i < c->cap_slots; i++)
                free(c->slots[i]);
        free(c->slots);
        free(c->ops);
        free(c->expired);
        *c = (struct alerts_change){ 0 };
}

static struct alerts_slot *slot_of(const struct alerts_change *c, const struct alert *a)
{
        for (size_t i = 0; c && i < c->n_slots; i++)
                if (c->slots[i]->a == a || c->slots[i]->live == a)
                        return c->slots[i];
        return NULL;
}

static struct alerts_slot *slot_add(struct alerts_change *c)
{
        struct alerts_slot *s;

        if (c->n_slots == c->cap_slots) {
                size_t cap = c->cap_slots;
                GROW(c->slots, c->n_slots, cap);
                for (size_t i = c->cap_slots; i < cap; i++)
                        c->slots[i] = NULL;
                c->cap_slots = cap;
        }
        if (!c->slots[c->n_slots])
                c->slots[c->n_slots] = xcalloc(1, sizeof(*s));
        s = c->slots[c->n_slots++];
        *s = (struct alerts_slot){ 0 };
        return s;
}

static struct alerts_op *op_add(struct alerts_change *c, enum alerts_op_kind kind,
                                struct alerts_slot *s, const char *text)
{
        struct alerts_op *op;

        GROW(c->ops, c->n_ops, c->cap_ops);
        op = &c->ops[c->n_ops++];
        op->kind = kind;
        op->slot = s;
        op->who = op->channel = NULL;
        snprintf(op->text, sizeof(op->text), "%s", text ? text : "");
        return op;
}

/* The alert as c leaves it (NULL: c resolves it). */
static const struct alert *view(const struct alerts_change *c, const struct alert *a)
{
        const struct alerts_slot *s = slot_of(c, a);

        return !s ? a : s->resolved ? NULL : s->a;
}

static void note_expired(struct alerts_change *c, struct alert *a)
{
        for (size_t i = 0; i < c->n_expired; i++)
                if (c->expired[i] == a)
                        return;
        GROW(c->expired, c->n_expired, c->cap_expired);
        c->expired[c->n_expired++] = a;
}

static bool kind_joins(enum alert_kind kind, const struct alert *a, const char *device_id)
{
        if (a->kind != kind &&
            !(kind == ALERT_DOOR_OPEN_UNEXPECTED && a->kind == ALERT_PERSON_LEFT))
                return false;
        return !device_id || str_eq(a->device_id, device_id);
}

const struct alert *alerts_find_joinable(struct engine *e, struct alerts_change *c,
                                         const struct household *h, enum alert_kind kind,
                                         const char *device_id, int64_t at_usec)
{
        const int64_t absorb = e->config->policy.ack_absorb_usec;
        const char *key;
        void *value;
        size_t i = 0;

        /* What this change raises heads the household's list once applied. */
        for (size_t k = c->n_slots; k-- > 0;) {
                const struct alerts_slot *s = c->slots[k];
                if (!s->live && s->a->household == h && kind_joins(kind, s->a, device_id))
                        return s->a;
        }
        if (h) {
                for (struct alert *l = e->households[h->index].alerts; l; l = l->next) {
                        const struct alert *a = view(c, l);

                        if (!a || !kind_joins(kind, a, device_id))
                                continue;
                        if (a->state == ALERT_OPEN)
                                return a;
                        if (a->state != ALERT_ACKED)
                                continue;
                        if (at_usec < a->acked_usec + absorb)
                                return a;
                        if (!slot_of(c, l))
                                note_expired(c, l); /* stays acked in the database */
                }
                return NULL;
        }
        while (hashmap_iterate(e->alerts_by_id, &i, &key, &value)) {
                const struct alert *a = view(c, value);

                if (!a || a->household || a->kind != kind)
                        continue;
                if (a->state == ALERT_OPEN ||
                    (a->state == ALERT_ACKED && at_usec < a->acked_usec + absorb))
                        return a;
        }
        return NULL;
}

bool alerts_next(struct engine *e, const struct alerts_change *c, size_t *i,
                 const struct alert **ret)
{
        size_t n_new = 0;
        const char *key;
        void *value;

        for (size_t k = 0; c && k < c->n_slots; k++)
                if (!c->slots[k]->live) {
                        if (n_new++ == *i) {
                                (*i)++;
                                *ret = c->slots[k]->a;
                                return true;
                        }
                }
        for (;;) {
                size_t hi = *i - n_new;
                bool more = hashmap_iterate(e->alerts_by_id, &hi, &key, &value);

                *i = hi + n_new;
                if (!more)
                        return false;
                *ret = view(c, value);
                if (*ret)
                        return true;
        }
}

bool alerts_is_new(const struct alerts_change *c, const struct alert *a)
{
        const struct alerts_slot *s = slot_of(c, a);

        return s && !s->live;
}

/* a's slot in c, added (a copy of the live alert) when it has none. */
static struct alerts_slot *slot_for(struct alerts_change *c, const struct alert *a)
{
        struct alerts_slot *s = slot_of(c, a);

        if (s)
                return s;
        s = slot_add(c);
        s->live = (struct alert *)a;
        s->copy = *a;
        s->a = &s->copy;
        return s;
}

struct alert *alerts_edit(struct alerts_change *c, const struct alert *a)
{
        struct alerts_slot *s = slot_for(c, a);

        s->changed = true;
        return s->a;
}

int alerts_new(struct engine *e, struct alerts_change *c, const struct alert_init *init,
               int64_t now_usec, struct alert **ret)
{
        struct alerts_slot *s = slot_add(c);
        struct alert *a = xcalloc(1, sizeof(*a));

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
        s->a = a;
        s->log_device = init->log_device;
        s->id_usec = init->event_usec;
        op_add(c, OP_INSERT, s, init->reason);
        *ret = a;
        return 0;
}

int alerts_tell(struct alerts_change *c, const struct alert *a, enum alerts_to to,
                const struct outgoing *o, const char *reason)
{
        struct alerts_slot *s = slot_for(c, a);
        struct alerts_op *op = op_add(c, OP_TELL, s, reason);

        op->to = to;
        op->o = *o;
        op->then = *s->a;
        if (o->note) {
                rules_copy_text(op->note, sizeof(op->note), o->note);
                op->o.note = op->note;
        }
        return 0;
}

int alerts_tell_step(struct alerts_change *c, const struct alert *a, enum escalation_step step,
                     int reminder, const char *reason)
{
        return alerts_tell(c, a, ALERTS_TO_STEP,
                           &(struct outgoing){
                               .kind = alert_kind_to_string(a->kind),
                               .step = escalation_step_to_string(step),
                               .step_value = step,
                               .reminder = reminder,
                               .row_kind = reminder > 0 ? "reminder" : "alert",
                           },
                           reason);
}

int alerts_upgrade(struct alerts_change *c, struct alert *a, enum alert_kind kind,
                   enum severity severity, const char *reason)
{
        a = alerts_edit(c, a);
        a->kind = kind;
        a->severity = severity;
        op_add(c, OP_UPGRADE, slot_of(c, a), reason);
        return 0;
}

int alerts_recovered(struct alerts_change *c, const struct alert *a, const char *who,
                     const char *detail)
{
        struct alerts_slot *s = slot_for(c, a);

        op_add(c, OP_RECOVERED, s, detail)->who = who;
        return 0;
}

int alerts_resolve(struct alerts_change *c, const struct alert *a, const char *actor,
                   enum channel channel, const char *note)
{
        struct alerts_slot *s = slot_for(c, a);
        struct alerts_op *op;

        s->resolved = true;
        op = op_add(c, OP_RESOLVE, s, note);
        op->who = actor;
        op->channel = channel_code(channel);
        return 0;
}

int alerts_resolve_by_system(struct alerts_change *c, const struct alert *a, const char *note,
                             const char *note_zh, int64_t at_usec)
{
        int r = alerts_tell(c, a, ALERTS_TO_NOTIFIED,
                            &(struct outgoing){
                                .kind = "resolved_notice",
                                .row_kind = "resolved_notice",
                                .event_ts_usec = at_usec,
                                .alert_kind = alert_kind_to_string(a->kind),
                                .note = note_zh,
                            },
                            note);
        return r < 0 ? r : alerts_resolve(c, a, "system", CHANNEL_SYSTEM, note);
}

int alerts_resolve_kind_by_system(struct engine *e, struct alerts_change *c,
                                  const struct household *h, enum alert_kind kind, const char *note,
                                  const char *note_zh, int64_t at_usec)
{
        size_t n_slots = c->n_slots;
        int r = 0;

        /* Raised by this change (a deadline settled just before), then the live ones. */
        for (size_t k = 0; k < n_slots && r == 0; k++) {
                const struct alerts_slot *s = c->slots[k];
                if (!s->live && !s->resolved && s->a->household == h && s->a->kind == kind)
                        r = alerts_resolve_by_system(c, s->a, note, note_zh, at_usec);
        }
        for (struct alert *l = e->households[h->index].alerts; l && r == 0; l = l->next) {
                const struct alert *a = view(c, l);
                if (a && a->kind == kind && a->state != ALERT_RESOLVED)
                        r = alerts_resolve_by_system(c, a, note, note_zh, at_usec);
        }
        return r;
}

int alerts_raise(struct engine *e, struct alerts_change *c, const struct household *h,
                 const char *device_id, const struct event *ev, const struct verdict *v,
                 int64_t event_usec, int64_t now_usec, struct alert **ret)
{
        bool device_scoped = v->alert == ALERT_TAMPER || v->alert == ALERT_DEVICE_OFFLINE ||
                             v->alert == ALERT_BATTERY_LOW;
        const struct alert *found =
            alerts_find_joinable(e, c, h, v->alert, device_scoped ? device_id : NULL, event_usec);
        struct alert *a;
        int r;

        if (found) {
                /* A further occurrence joins a live alert: one episode, a count. */
                a = alerts_edit(c, found);
                a->count++;
                a->last_event_usec = event_usec;
                *ret = a;
                return 0;
        }
        r = alerts_new(
            e, c,
            &(struct alert_init){
                .kind = v->alert,
                .severity = v->severity,
                .h = h,
                .device_id = device_scoped ? device_id : NULL,
                .event_uid = ev->id,
                .event_ts = ev->has_ts ? ev->ts : (double)event_usec / 1e6,
                .event_usec = event_usec,
                .next_usec = alert_kind_escalates(v->alert) && e->config->escalation.n_steps > 0
                                 ? escalation_first_deadline(e, now_usec)
                                 : 0,
                .reason = v->reason,
                .log_device = device_id,
            },
            now_usec, &a);
        if (r < 0)
                return r;
        *ret = a;
        return alerts_tell_step(
            c, a, e->config->escalation.n_steps ? e->config->escalation.steps[0] : STEP_TEAM, 0,
            v->reason);
}

/* ---- writing and applying ---- */

struct notified {
        const struct config *config;
        struct recipients *rs;
};

static int notified_cb(const char *worker_id, void *userdata)
{
        struct notified *nt = userdata;
        const struct worker *w = config_worker(nt->config, worker_id);

        if (w)
                recipients_add(nt->rs, w, role_to_string(w->role));
        return 0;
}

/* The recipients of op, resolved now. Returns 0 or a negative errno (the store's). */
static int op_recipients(struct engine *e, const struct alerts_op *op, int64_t now_usec,
                         struct recipients *rs)
{
        const struct config *c = e->config;

        if (op->to == ALERTS_TO_SYSTEM) {
                for (size_t i = 0; i < c->n_command; i++)
                        recipients_add(rs, c->command[i], "command");
                for (size_t i = 0; i < c->n_admins; i++)
                        recipients_add(rs, c->admins[i], "admin");
                return 0;
        }
        if (op->to == ALERTS_TO_NOTIFIED) {
                struct notified nt = { .config = c, .rs = rs };
                int r = store_foreach_notified_worker(e->store, op->then.id, notified_cb, &nt);
                return r < 0 ? r : 0;
        }
        step_recipients(e, &op->then, op->o.step_value, op->o.reminder, now_usec, rs);
        if (rs->n == 0)
                log_warn("alert %s: nobody to notify for step %s", op->then.id,
                         escalation_step_to_string(op->o.step_value));
        for (size_t i = 0; i < rs->n; i++)
                if (rs->v[i].worker->n_channels == 0)
                        log_warn("alert %s: worker %s has no notification channel", op->then.id,
                                 rs->v[i].worker->id);
        return 0;
}

static int write_tell(struct engine *e, struct alerts_change *c, struct alerts_op *op,
                      int64_t now_usec)
{
        struct recipients rs = { 0 };
        size_t rows = 0;
        int r;

        memcpy(op->then.id, op->slot->a->id, sizeof(op->then.id)); /* new alerts: taken since */
        op->o.a = &op->then;
        op->o.reason = op->text;
        r = op_recipients(e, op, now_usec, &rs);
        if (r == 0)
                r = fanout_queue(&e->fanout, &op->o, rs.v, rs.n, now_usec, &rows);
        free(rs.v);
        c->rows += rows;
        if (r >= 0 && rows == 0 && op->to == ALERTS_TO_SYSTEM)
                log_warn("%s (alert %s): no channel reaches the command centre or the admins%s",
                         op->o.kind, op->then.id,
                         op->o.skip_mqtt
                             ? " without MQTT (configure an exec, webhook or robot channel)"
                             : "");
        return r;
}

static int write_op(struct engine *e, struct alerts_change *c, struct alerts_op *op,
                    int64_t now_usec)
{
        struct alerts_slot *s = op->slot;
        struct alert *a = s->a;
        const struct household *h = a->household;
        int r;

        switch (op->kind) {
        case OP_INSERT:
                r = store_next_id(e->store, 'a', s->id_usec, a->id, sizeof(a->id));
                if (r == 0)
                        r = store_insert_alert(e->store, a, h ? h->community_id : NULL, op->text);
                if (r < 0)
                        return r;
                if (h)
                        log_about(LOG_NOTICE, a->id, h->id, s->log_device,
                                  "alert %s: %s at household %s (%s)", a->id,
                                  alert_kind_to_string(a->kind), h->id, op->text);
                else
                        log_notice("alert %s: %s (%s)", a->id, alert_kind_to_string(a->kind),
                                   op->text);
                return 0;
        case OP_TELL:
                return write_tell(e, c, op, now_usec);
        case OP_UPGRADE:
                r = store_set_alert_reason(e->store, a->id, op->text);
                if (r < 0)
                        return r;
                log_notice("alert %s: upgraded to %s at household %s (%s)", a->id,
                           alert_kind_to_string(a->kind), h ? h->id : "-", op->text);
                return 0;
        case OP_RECOVERED:
                r = store_insert_action(e->store, "recovered", op->who, "device", a->id, now_usec,
                                        op->text);
                if (r < 0)
                        return r;
                log_about(LOG_NOTICE, a->id, h ? h->id : NULL, op->who,
                          "alert %s: %s recovered (%s); it stays %s until resolved", a->id, op->who,
                          op->text, alert_state_to_string(a->state));
                return 0;
        case OP_RESOLVE:
                r = store_set_alert_resolved(e->store, a->id, op->who, op->channel, now_usec,
                                             op->text);
                if (r == 0)
                        r = store_insert_action(e->store, "resolve", op->who, op->channel, a->id,
                                                now_usec, op->text);
                return r;
        }
        return -EINVAL;
}

int alerts_persist(struct engine *e, struct alerts_change *c, int64_t now_usec)
{
        int r;

        c->rows = 0;
        for (size_t i = 0; i < c->n_ops; i++) {
                r = write_op(e, c, &c->ops[i], now_usec);
                if (r < 0)
                        return r;
        }
        /* New alerts were inserted as the change leaves them. */
        for (size_t i = 0; i < c->n_slots; i++) {
                const struct alerts_slot *s = c->slots[i];
                if (s->live && s->changed && !s->resolved) {
                        r = store_update_alert(e->store, s->a);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

void alerts_apply(struct engine *e, struct alerts_change *c)
{
        for (size_t i = 0; i < c->n_expired; i++)
                if (!slot_of(c, c->expired[i]))
                        alerts_unlink(e, c->expired[i]);
        for (size_t i = 0; i < c->n_slots; i++) {
                struct alerts_slot *s = c->slots[i];
                struct alert *l = s->live;

                if (!l) {
                        count_raised(e, s->a);
                        if (s->resolved) { /* raised and resolved in one change */
                                alerts_free_alert(s->a);
                                s->a = NULL;
                                continue;
                        }
                        alerts_link(e, s->a); /* arms its timer */
                        continue;
                }
                if (s->resolved) {
                        alerts_unlink(e, l); /* its timer entries go stale */
                        continue;
                }
                struct alert *next = l->next;
                uint32_t serial = l->serial;
                int64_t armed = l->next_usec;

                *l = *s->a;
                l->next = next;
                l->serial = serial;
                if (l->next_usec && l->next_usec != armed && l->household)
                        alerts_push_timer(e, l, l->next_usec);
        }
        e->counters.notifications += c->rows;
        if (c->rows)
                e->outbox_dirty = true;
        /* Empty again; what it handed out stays readable until the next change begins. */
        c->n_slots = c->n_ops = c->n_expired = c->rows = 0;
        c->active = false;
}

int alerts_change_finish(struct engine *e, struct alerts_change *c, int64_t now_usec)
{
        int r = store_savepoint(e->store);

        if (r == 0) {
                r = alerts_persist(e, c, now_usec);
                if (r == 0)
                        r = store_release(e->store);
                if (r < 0)
                        store_rollback_to(e->store);
        }
        if (r < 0) {
                alerts_change_drop(c);
                return r;
        }
        alerts_apply(e, c);
        return 0;
}

/* ---- timers ---- */

/* Escalation (DESIGN.md §6): the next step, or a reminder, at the alert's deadline. The
 * notifications and the alert's new position (step, round, reminders, next deadline) are
 * written under one savepoint of the loop's transaction: after a crash either both are in
 * the database or neither is, so each step fires once. */
int alerts_escalate(struct engine *e, struct alert *live, int64_t now_usec)
{
        struct alerts_change *c = &e->change.alerts;
        const struct escalation_pos cur = { live->step_index, live->round, live->reminders };
        const int64_t deadline = live->next_usec;
        struct escalation_plan p;
        char reason[VERDICT_REASON_MAX];
        struct alert *a;
        int r;

        escalation_next(&e->config->escalation, &cur, deadline, now_usec, &p);
        if (p.fire == ESCALATION_FIRE_NONE)
                return 0;
        r = alerts_stored_reason(e, live->id, reason, sizeof(reason));
        if (r < 0)
                goto retry;
        alerts_change_begin(c);
        a = alerts_edit(c, live);
        a->step_index = p.pos.step_index;
        a->round = p.pos.round;
        a->reminders = p.pos.reminders;
        a->next_usec = p.next_usec;
        r = alerts_tell_step(c, a, p.step, p.fire == ESCALATION_FIRE_REMINDER ? p.pos.reminders : 0,
                             reason);
        if (r == 0)
                r = alerts_change_finish(e, c, now_usec);
        else
                alerts_change_drop(c);
        if (r < 0)
                goto retry;
        if (p.fire == ESCALATION_FIRE_REMINDER)
                log_notice("alert %s: still not acknowledged, reminder %d to the command centre",
                           live->id, live->reminders);
        else
                log_notice("alert %s: not acknowledged, escalated to step %s of round %d "
                           "(due %.3f s ago)",
                           live->id, escalation_step_to_string(p.step), live->round,
                           (double)(now_usec - deadline) / 1e6);
        return 0;
retry:
        log_err_errno(r, "alert %s: escalation failed, retrying", live->id);
        alerts_push_timer(e, live, now_usec + ESCALATION_RETRY_USEC);
        return r;
}

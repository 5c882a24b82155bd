/* engine.c: event -> verdict -> alert -> notifications.
 *
 * Ownership: the engine owns household_state[] and device_state[] (indexed like the
 * config's arrays) and every struct alert, which lives in its household's list and in
 * `alerts_by_id` until it is resolved or, once acked, its absorb window has passed.
 * The database is the source of truth: engine_load() rebuilds the lists at start.
 * All writes go through the store's current transaction (store_begin is idempotent).
 *
 * Escalation: an open alert's position (step_index, round, reminders) and its next
 * deadline are stored with it; escalation.c decides what comes next. A step's
 * notifications and the alert's new position are written under one savepoint, so a
 * step is in the database whole or not at all and fires once across crashes; timer
 * entries are invalidated lazily (an ack or resolve just clears next_usec or unlinks).
 * Recipients are resolved by the roster at the instant of each step.
 *
 * Notifications are outbox rows in NOTIFY_FORMAT_OUTBOX with their text rendered from the
 * templates at queueing time: per recipient for per-person channels, per round for group
 * notifiers (see "notifications" below). The system's own alarms (monitoring_gap,
 * notification_failed) go to the command centre and the admins. */
#include "engine.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "escalation.h"
#include "health.h"
#include "jsonw.h"
#include "log.h"
#include "notify/notify.h"
#include "roster.h"
#include "timerq.h"
#include "util.h"

/* Timer types in `timers`. Entries name a household by its index in the config (re-mapped
 * by engine_reload()) and carry a token naming what they are for; handlers ignore stale
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
        /* device health: bridges by id (struct health_bridge), timer generation (0: the
         * staleness checks are off until engine_health_start()) */
        struct hashmap *health_bridges;
        uint32_t health_gen;
        engine_ack_url_fn ack_url;
        void *ack_url_userdata;
        struct rules_debounce *debounce;     /* per device */
        int64_t db_created_usec;             /* observations that ended before get no notice */
        struct notify_context *notify;       /* borrowed; NULL: every channel per person */
        struct templates *default_templates; /* owned, made when there is no context */
};

static void health_free_bridges(struct engine *e);

int engine_new(const struct config *c, struct store *s, struct engine **ret)
{
        struct engine *e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->config = c;
        e->store = s;
        e->households = calloc(c->n_households ? c->n_households : 1, sizeof(*e->households));
        e->devices = calloc(c->n_devices ? c->n_devices : 1, sizeof(*e->devices));
        e->debounce = calloc(c->n_devices ? c->n_devices : 1, sizeof(*e->debounce));
        if (!e->households || !e->devices || !e->debounce) {
                engine_free(e);
                return -ENOMEM;
        }
        for (size_t i = 0; i < c->n_devices; i++)
                e->devices[i].battery_percent = -1;
        e->alerts_by_id = hashmap_new(64);
        e->health_bridges = hashmap_new(16);
        *ret = e;
        return 0;
}

static void alert_free(struct alert *a)
{
        if (!a)
                return;
        free(a->device_id);
        free(a->event_uid);
        free(a);
}

struct engine *engine_free(struct engine *e)
{
        if (!e)
                return NULL;
        for (size_t i = 0; e->households && i < e->config->n_households; i++) {
                struct alert *a = e->households[i].alerts, *n;
                rules_state_done(&e->households[i]);
                for (; a; a = n) {
                        n = a->next;
                        alert_free(a);
                }
        }
        for (size_t i = 0; e->devices && i < e->config->n_devices; i++)
                device_state_done(&e->devices[i]);
        hashmap_free(e->alerts_by_id);
        health_free_bridges(e);
        templates_free(e->default_templates);
        timerq_done(&e->timers);
        free(e->households);
        free(e->devices);
        free(e->debounce);
        free(e);
        return NULL;
}

struct device_state *engine_device_state(struct engine *e, const struct device *d)
{
        return &e->devices[d->index];
}

struct household_state *engine_household_state(struct engine *e, const struct household *h)
{
        return &e->households[h->index];
}

const struct engine_counters *engine_counters(const struct engine *e)
{
        return &e->counters;
}

size_t engine_live_alerts(const struct engine *e)
{
        return hashmap_size(e->alerts_by_id);
}

bool engine_take_outbox_dirty(struct engine *e)
{
        bool d = e->outbox_dirty;
        e->outbox_dirty = false;
        return d;
}

struct alert *engine_find_alert(struct engine *e, const char *alert_id)
{
        return hashmap_get(e->alerts_by_id, alert_id);
}

static void count_raised(struct engine *e, const struct alert *a)
{
        e->counters.alerts_raised++;
        if (a->kind >= 0 && a->kind < _ALERT_KIND_MAX)
                e->counters.alerts_by_kind[a->kind]++;
}

void engine_set_ack_url(struct engine *e, engine_ack_url_fn fn, void *userdata)
{
        e->ack_url = fn;
        e->ack_url_userdata = userdata;
}

/* An alert of household index hi by the token of its timer entry. */
static struct alert *find_by_serial(struct engine *e, size_t hi, uint32_t serial)
{
        for (struct alert *a = e->households[hi].alerts; a; a = a->next)
                if (a->serial == serial)
                        return a;
        return NULL;
}

int64_t engine_next_deadline(const struct engine *e)
{
        return timerq_next(&e->timers);
}

static int fire_escalation(struct engine *e, struct alert *a, int64_t now_usec);
static int health_remind(struct engine *e, struct alert *a, int64_t now_usec);
static int health_fire(struct engine *e, const struct timerq_entry *t, int64_t now_usec);
static int rules_timer(struct engine *e, const struct household *h, uint32_t token,
                       int64_t now_usec);
static int end_observation(struct engine *e, const struct household *h, int64_t now_usec);
static int rules_load(struct engine *e);
static void rules_reloaded(struct engine *e, const struct config *oc);

int engine_tick(struct engine *e, int64_t now_usec)
{
        struct timerq_entry t;
        int r = 0;

        while (r >= 0 && timerq_pop_due(&e->timers, now_usec, &t)) {
                switch (t.type) {
                case TIMER_ESCALATION: {
                        struct alert *a = find_by_serial(e, t.index, t.token);
                        if (a && a->state == ALERT_OPEN && a->next_usec && a->next_usec <= now_usec)
                                r = alert_kind_escalates(a->kind) ? fire_escalation(e, a, now_usec)
                                                                  : health_remind(e, a, now_usec);
                        break;
                }
                case TIMER_HEALTH:
                        r = health_fire(e, &t, now_usec);
                        break;
                case TIMER_RULES:
                        r = rules_timer(e, &e->config->households[t.index], t.token, now_usec);
                        break;
                case TIMER_OBSERVATION_END:
                        r = end_observation(e, &e->config->households[t.index], now_usec);
                        break;
                default:
                        break;
                }
        }
        return r;
}

/* Arms a's next escalation step or reminder (a has a household). */
static void push_escalation(struct engine *e, const struct alert *a, int64_t at_usec)
{
        timerq_push(&e->timers, at_usec, TIMER_ESCALATION, a->household->index, a->serial);
}

static void link_alert(struct engine *e, struct alert *a)
{
        a->serial = ++e->next_serial;
        if (a->next_usec && a->household)
                push_escalation(e, a, a->next_usec);
        if (a->household) {
                struct household_state *st = &e->households[a->household->index];
                a->next = st->alerts;
                st->alerts = a;
        }
        hashmap_replace(e->alerts_by_id, a->id, a);
}

static void unlink_alert(struct engine *e, struct alert *a)
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
        alert_free(a);
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
        link_alert(e, a);
        return 0;
}

int engine_load(struct engine *e)
{
        int r = store_foreach_live_alert(e->store, load_one, e);
        if (r < 0)
                return r;
        log_info("engine: %zu live alerts loaded", hashmap_size(e->alerts_by_id));
        return rules_load(e);
}

/* An alert of this kind that a new occurrence joins (DESIGN.md §6): an open one, or
 * an acked one within ack_absorb of its ack. Expired acked alerts are dropped. */
static struct alert *find_joinable(struct engine *e, const struct household *h,
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
                        unlink_alert(e, a); /* stays acked in the database */
                }
        }
        return NULL;
}

struct recipient {
        const struct worker *worker;
        const char *role; /* what they are notified as */
};

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

static const char *step_label(enum escalation_step step)
{
        switch (step) {
        case STEP_LEADER:
                return "社区值班领导";
        case STEP_COMMAND:
                return "街道指挥中心";
        default:
                return "包保小组";
        }
}

/* ---- notifications (DESIGN.md §4): the outbox rows of a step, a round, a notice ----
 *
 * Every row holds the notification in NOTIFY_FORMAT_OUTBOX with its text rendered from
 * the templates (unbounded: each channel cuts it to its own limit). Per-person notifiers
 * (mqtt, exec) get one row per recipient, for the channels the worker lists; group
 * notifiers (wecom, dingtalk, feishu, webhook) get one row per round listing every
 * recipient, when notifier_wants() the kind and community. */

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

static const struct templates *engine_templates(struct engine *e)
{
        if (e->notify)
                return notify_context_templates(e->notify);
        if (!e->default_templates && templates_new(NULL, NULL, &e->default_templates) < 0)
                return NULL;
        return e->default_templates;
}

static bool kind_is_system(enum alert_kind k)
{
        return k == ALERT_MONITORING_GAP || k == ALERT_NOTIFICATION_FAILED ||
               k == ALERT_STORAGE_FAILED;
}

/* Door alerts and the system's own alarms go first in a backlog; device health after. */
static int notification_priority(const struct alert *a)
{
        return alert_kind_escalates(a->kind) || kind_is_system(a->kind) ? 0 : 1;
}

static void message_init(struct engine *e, const struct outgoing *o, struct notify_message *m)
{
        const struct alert *a = o->a;
        const struct household *h = a->household;

        *m = (struct notify_message){
                .alert_id = a->id,
                .round = a->round,
                .household = h ? h->id : NULL,
                .community = h ? h->community_id : NULL,
                .address = h ? h->address : NULL,
                .kind = o->kind,
                .severity = severity_to_string(a->severity),
                .reason = o->reason,
                .event_id = a->event_uid[0] ? a->event_uid : NULL,
                .event_ts_usec = o->event_ts_usec  ? o->event_ts_usec
                                 : a->event_ts > 0 ? llround(a->event_ts * 1e6)
                                                   : 0,
                .raised_at_usec = a->raised_usec,
                .step = o->step,
                .count = (unsigned)MAX(a->count, 0),
                .reminder = o->reminder,
        };
        if (o->acked_by) {
                m->acked_by = o->acked_by->id;
                m->acked_by_name = o->acked_by->name ? o->acked_by->name : o->acked_by->id;
                m->acked_at_usec = o->event_ts_usec;
                m->ack_channel = o->ack_channel;
                m->alert_kind = alert_kind_to_string(a->kind);
        }
}

/* Later steps and reminders say so before the kind's text: people must see that nobody
 * has acknowledged yet. */
static int mark_escalation(const struct outgoing *o, char **text)
{
        const struct alert *a = o->a;
        char *marked;
        int r;

        if (o->reminder > 0)
                r = asprintf(&marked, "【第%d次提醒·仍无人确认】%s", o->reminder,
                             *text ? *text : "");
        else if (str_eq(o->row_kind, "alert") && (a->round > 1 || a->step_index > 0))
                r = asprintf(&marked, "【无人确认，已升级·第%d轮·%s】%s", a->round,
                             step_label(o->step_value), *text ? *text : "");
        else
                return 0;
        if (r < 0)
                return -ENOMEM;
        free(*text);
        *text = marked;
        return 0;
}

static struct notify_recipient recipient_of(const struct recipient *rc)
{
        return (struct notify_recipient){
                .worker = rc->worker->id,
                .name = rc->worker->name,
                .phone = rc->worker->phone,
                .role = rc->role,
        };
}

/* Renders m's text, stores m for channel (worker NULL for a round) and marks the outbox. */
static int insert_message(struct engine *e, const struct outgoing *o, struct notify_message *m,
                          const char *channel, const char *worker, int64_t now_usec)
{
        const struct templates *t = engine_templates(e);
        _cleanup_free_ char *text = NULL, *payload = NULL;
        char id[ALERT_ID_MAX];
        int r;

        r = store_next_id(e->store, 'n', now_usec, id, sizeof(id));
        if (r < 0)
                return r;
        m->notification_id = id;
        if (!t)
                return -ENOMEM;
        r = notify_render_text(t, m, 0, &text);
        if (r < 0 && r != -ENOENT)
                return r;
        if (r >= 0 && mark_escalation(o, &text) < 0)
                return -ENOMEM;
        m->text = text; /* a kind without template: machines still have kind and reason */
        payload = notify_message_format(m, NOTIFY_FORMAT_OUTBOX);
        if (!payload)
                return -ENOMEM;
        r = store_insert_notification(e->store, &(struct store_notification){
                                                    .id = id,
                                                    .alert_id = o->a->id,
                                                    .worker = worker,
                                                    .channel = channel,
                                                    .step = o->step,
                                                    .round = o->a->round,
                                                    .kind = o->row_kind,
                                                    .priority = notification_priority(o->a),
                                                    .payload = payload,
                                                    .created_usec = now_usec,
                                                    .next_usec = now_usec,
                                                });
        if (r < 0)
                return r;
        e->counters.notifications++;
        e->outbox_dirty = true;
        return 0;
}

static bool channel_is_mqtt(struct engine *e, const struct notifier *n, const char *channel)
{
        const struct notifier_config *nc = config_notifier(e->config, channel);

        if (n)
                return strcmp(notifier_type(n), "mqtt") == 0;
        return str_eq(nc ? nc->type : channel, "mqtt");
}

/* One per-person notification to rc through channel. A group notifier named in a
 * worker's channels is skipped here (config warns about it): it gets the round. */
static int queue_person(struct engine *e, const struct outgoing *o, const struct recipient *rc,
                        const char *channel, int64_t now_usec)
{
        struct notifier *n = e->notify ? notify_context_find(e->notify, channel) : NULL;
        struct notify_recipient r = recipient_of(rc);
        struct notify_message m;
        char topic[256], url[1024];

        if (n && notifier_is_group(n))
                return 0;
        if (o->skip_mqtt && channel_is_mqtt(e, n, channel))
                return 0;
        snprintf(topic, sizeof(topic), "%s/workers/%s/ack", e->config->mqtt.topic_prefix,
                 rc->worker->id);
        message_init(e, o, &m);
        m.role = rc->role;
        m.worker = rc->worker->id;
        m.ack_topic = topic;
        /* A one-tap link acknowledges as this worker: for alerts and reminders, not notices. */
        if (!o->acked_by && e->ack_url &&
            e->ack_url(e->ack_url_userdata, o->a->id, rc->worker->id, now_usec, url, sizeof(url)))
                m.ack_url = url;
        m.recipients = &r;
        m.n_recipients = 1;
        return insert_message(e, o, &m, channel, rc->worker->id, now_usec);
}

/* One row per group notifier that wants this round, listing every recipient once. */
static int queue_rounds(struct engine *e, const struct outgoing *o, const struct recipient *rcpt,
                        size_t n_rcpt, int64_t now_usec)
{
        const struct config *c = e->config;
        const struct household *h = o->a->household;
        _cleanup_free_ struct notify_recipient *list = NULL;
        size_t n_list = 0;
        int r;

        if (!e->notify)
                return 0;
        list = calloc(n_rcpt ? n_rcpt : 1, sizeof(*list));
        if (!list)
                return -ENOMEM;
        for (size_t i = 0; i < n_rcpt; i++) {
                bool dup = false;
                for (size_t k = 0; k < i && !dup; k++)
                        dup = rcpt[k].worker == rcpt[i].worker;
                if (!dup)
                        list[n_list++] = recipient_of(&rcpt[i]);
        }
        for (size_t i = 0; i < c->n_notifiers; i++) {
                struct notifier *n = notify_context_find(e->notify, c->notifiers[i].name);
                struct notify_message m;

                if (!n || !notifier_is_group(n) ||
                    !notifier_wants(n, o->kind, h ? h->community_id : NULL))
                        continue;
                message_init(e, o, &m);
                m.recipients = list;
                m.n_recipients = n_list;
                r = insert_message(e, o, &m, notifier_name(n), NULL, now_usec);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* One notification of a step (reminder == 0) or a reminder (its number) to one recipient
 * through one channel. */
static int queue_notification(struct engine *e, const struct alert *a, const struct recipient *rc,
                              const char *channel, enum escalation_step step, int reminder,
                              const char *reason, int64_t now_usec)
{
        return queue_person(e,
                            &(struct outgoing){
                                .a = a,
                                .kind = alert_kind_to_string(a->kind),
                                .reason = reason,
                                .step = escalation_step_to_string(step),
                                .step_value = step,
                                .reminder = reminder,
                                .row_kind = reminder > 0 ? "reminder" : "alert",
                            },
                            rc, channel, now_usec);
}

/* Queues one step (or reminder) of alert a: one notification per recipient and per-person
 * channel, one per group notifier that wants it, recipients resolved by the roster at
 * now_usec. */
static int notify(struct engine *e, const struct alert *a, enum escalation_step step, int reminder,
                  const char *reason, int64_t now_usec)
{
        struct recipients rs = { 0 };
        int r = 0;

        step_recipients(e, a, step, reminder, now_usec, &rs);
        if (rs.n == 0)
                log_warn("alert %s: nobody to notify for step %s", a->id,
                         escalation_step_to_string(step));
        for (size_t i = 0; i < rs.n && r >= 0; i++) {
                const struct worker *w = rs.v[i].worker;
                if (w->n_channels == 0)
                        log_warn("alert %s: worker %s has no notification channel", a->id, w->id);
                for (size_t ch = 0; ch < w->n_channels && r >= 0; ch++)
                        r = queue_notification(e, a, &rs.v[i], w->channels[ch], step, reminder,
                                               reason, now_usec);
        }
        if (r >= 0)
                r = queue_rounds(e,
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
static int notify_step(struct engine *e, const struct alert *a, enum escalation_step step,
                       const char *reason, int64_t now_usec)
{
        return notify(e, a, step, 0, reason, now_usec);
}

/* The deadline of the step after the first, for an alert raised at now_usec. */
static int64_t escalation_first_deadline(struct engine *e, int64_t now_usec)
{
        struct escalation_plan p;

        escalation_start(&e->config->escalation, now_usec, &p);
        return p.next_usec;
}

/* A further occurrence joins a live alert: one episode, a count. */
static int join_alert(struct engine *e, struct alert *a, int64_t event_usec, struct alert **ret)
{
        a->count++;
        a->last_event_usec = event_usec;
        *ret = a;
        return store_update_alert(e->store, a);
}

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

/* Creates, stores and links a new open alert. */
static int create_alert(struct engine *e, const struct alert_init *init, int64_t now_usec,
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
                alert_free(a);
                return r;
        }
        link_alert(e, a);
        count_raised(e, a);
        *ret = a;
        return 0;
}

static int raise_alert(struct engine *e, const struct household *h, const struct device *d,
                       const struct event *ev, const struct verdict *v, int64_t event_usec,
                       int64_t now_usec, struct alert **ret)
{
        bool device_scoped = v->alert == ALERT_TAMPER || v->alert == ALERT_DEVICE_OFFLINE ||
                             v->alert == ALERT_BATTERY_LOW;
        struct alert *a = find_joinable(e, h, v->alert, device_scoped ? d->id : NULL, event_usec);
        int r;

        if (a)
                return join_alert(e, a, event_usec, ret);
        r = create_alert(
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
        r = notify_step(e, a,
                        e->config->escalation.n_steps ? e->config->escalation.steps[0] : STEP_TEAM,
                        v->reason, now_usec);
        *ret = a;
        return r;
}

static const char *event_state_string(const struct event *ev)
{
        switch (ev->type) {
        case EVENT_DOOR:
                return door_state_to_string(ev->door);
        case EVENT_PERSON:
                return ev->direction == DIRECTION_OUT  ? "out"
                       : ev->direction == DIRECTION_IN ? "in"
                                                       : NULL;
        case EVENT_AVAILABILITY:
                return ev->online ? "online" : "offline";
        case EVENT_TAMPER:
                return ev->tampered ? "tampered" : "cleared";
        default:
                return NULL;
        }
}

static int rules_before_event(struct engine *e, const struct device *d, const struct event *ev,
                              int64_t event_usec, int64_t recv_usec, struct verdict *ret);
static int act_on_verdict(struct engine *e, const struct household *h, const struct device *d,
                          const struct event *ev, const struct verdict *v, int64_t event_usec,
                          int64_t now_usec, struct alert **ret);
static int rules_persist(struct engine *e, const struct household *h, int64_t event_usec,
                         int64_t now_usec);
static int health_on_event(struct engine *e, const struct device *d, const struct event *ev,
                           int64_t event_usec, int64_t now_usec, bool debounced, struct verdict *v,
                           struct alert **ret);

int engine_handle_event(struct engine *e, const struct device *d, const struct event *ev,
                        int64_t recv_usec, const char *payload, size_t payload_len,
                        struct verdict *ret_verdict)
{
        const struct household *h = d->household;
        struct household_state *st = &e->households[h->index];
        struct verdict v;
        struct alert *a = NULL;
        int64_t event_usec;
        char battery[16];
        int r;

        r = store_begin(e->store);
        if (r < 0)
                return r;
        if (ev->id[0]) {
                r = store_event_exists(e->store, d->id, ev->id);
                if (r < 0)
                        return r;
                if (r > 0) {
                        e->counters.duplicates++;
                        return ENGINE_E_DUPLICATE;
                }
        }
        event_usec = rules_event_time(ev, recv_usec, e->config->policy.max_clock_skew_usec);
        r = rules_before_event(e, d, ev, event_usec, recv_usec, &v);
        if (r < 0)
                return r;
        if (r == 0) {
                rules_judge(e->config, h, st, d, ev, event_usec, &v);
                rules_apply(e->config, h, st, d, ev, event_usec, &v);
        }
        r = health_on_event(e, d, ev, event_usec, recv_usec, r > 0, &v, &a); /* device health */
        if (r < 0)
                return r;
        if (v.kind == VERDICT_ALERT && !a) {
                r = act_on_verdict(e, h, d, ev, &v, event_usec, recv_usec, &a);
                if (r < 0)
                        return r;
        }
        const char *state = event_state_string(ev);
        if (ev->type == EVENT_BATTERY && ev->battery_percent >= 0) {
                snprintf(battery, sizeof(battery), "%d", ev->battery_percent);
                state = battery;
        }
        r = store_insert_event(e->store,
                               &(struct store_event){
                                   .device = d->id,
                                   .household = h->id,
                                   .source = device_source(d),
                                   .uid = ev->id[0] ? ev->id : NULL,
                                   .type = event_type_to_string(ev->type),
                                   .state = state,
                                   .has_ts = ev->has_ts,
                                   .ts = ev->ts,
                                   .recv_usec = recv_usec,
                                   .event_usec = event_usec,
                                   .retained = ev->retained,
                                   .verdict = verdict_kind_to_string(v.kind),
                                   .reason = v.reason,
                                   .alert_id = a ? a->id : NULL,
                                   .payload = payload,
                                   .payload_len = payload_len,
                               },
                               NULL);
        if (r < 0)
                return r;
        r = rules_persist(e, h, event_usec, recv_usec);
        if (r < 0)
                return r;
        e->counters.events[v.kind]++;
        if (ret_verdict)
                *ret_verdict = v;
        return ENGINE_OK;
}

/* What the database knows of an alert that is not live in memory (never raised, resolved,
 * or acked with its absorb window over). */
struct stored_alert {
        bool found;
        enum alert_state state;
        char household[64];
        char acked_by[64];
        char reason[VERDICT_REASON_MAX];
};

static int stored_alert_cb(const struct store_alert_row *row, void *userdata)
{
        struct stored_alert *sa = userdata;

        sa->found = true;
        sa->state = alert_state_from_string(row->state);
        snprintf(sa->household, sizeof(sa->household), "%s", row->household ? row->household : "");
        snprintf(sa->acked_by, sizeof(sa->acked_by), "%s", row->acked_by ? row->acked_by : "");
        snprintf(sa->reason, sizeof(sa->reason), "%s", row->reason ? row->reason : "");
        return 0;
}

static int stored_alert(struct engine *e, const char *alert_id, struct stored_alert *ret)
{
        int r;

        *ret = (struct stored_alert){ 0 };
        r = store_get_alert(e->store, alert_id, stored_alert_cb, ret);
        return r < 0 ? r : 0;
}

/* The refusal for an alert that is not live, or a negative errno. */
static int refuse_stored(struct engine *e, const char *alert_id, const char **error)
{
        struct stored_alert sa;
        int r = stored_alert(e, alert_id, &sa);

        if (r < 0)
                return r;
        if (!sa.found) {
                *error = "unknown alert";
                return ENGINE_E_UNKNOWN;
        }
        if (sa.state == ALERT_RESOLVED)
                *error = "alert already resolved";
        else if (sa.state == ALERT_OPEN)
                /* open in the database but not live: its household left the configuration */
                *error = "alert belongs to a household that is no longer configured";
        else
                *error = "alert already acknowledged";
        return ENGINE_E_REFUSED;
}

/* May worker w act on alert a? Notified workers, the community's leader, the command
 * centre and the admins may. */
static bool may_act(struct engine *e, const struct worker *w, const struct alert *a)
{
        const struct config *c = e->config;
        const struct household *h = a->household;

        for (size_t i = 0; i < c->n_command; i++)
                if (c->command[i] == w)
                        return true;
        for (size_t i = 0; i < c->n_admins; i++)
                if (c->admins[i] == w)
                        return true;
        if (!h)
                return false;
        if (h->community && h->community->leader == w)
                return true;
        for (int r = 0; r < TEAM_ROLES; r++)
                if (h->team[r] == w)
                        return true;
        /* Anyone of the household's community who was notified (a covering colleague). */
        return w->community == h->community;
}

struct notified {
        const struct config *config;
        const struct worker *except;
        const struct worker **v;
        size_t n, cap;
};

static int notified_cb(const char *worker_id, void *userdata)
{
        struct notified *nt = userdata;
        const struct worker *w = config_worker(nt->config, worker_id);

        if (w && w != nt->except) {
                GROW(nt->v, nt->n, nt->cap);
                nt->v[nt->n++] = w;
        }
        return 0;
}

/* Tells everyone else who was notified of a that w acknowledged it (kind ack_notice), and
 * through which channel (its code; the texts' {channel} is its Chinese label): per person
 * through their channels, and one round to each group notifier that wants it. */
static int queue_ack_notices(struct engine *e, const struct alert *a, const struct worker *w,
                             enum channel channel, int64_t now_usec)
{
        struct notified nt = { .config = e->config, .except = w };
        const struct outgoing o = {
                .a = a,
                .kind = "ack_notice",
                .reason = "alert acknowledged",
                .row_kind = "ack_notice",
                .event_ts_usec = now_usec,
                .acked_by = w,
                .ack_channel = channel_code(channel),
        };
        struct recipient *rcpt = NULL;
        int r;

        r = store_foreach_notified_worker(e->store, a->id, notified_cb, &nt);
        if (r >= 0 && nt.n > 0) {
                rcpt = calloc(nt.n, sizeof(*rcpt));
                if (!rcpt)
                        r = -ENOMEM;
        }
        for (size_t i = 0; i < nt.n && r >= 0; i++) {
                const struct worker *to = nt.v[i];
                rcpt[i] = (struct recipient){ to, role_to_string(to->role) };
                for (size_t ch = 0; ch < to->n_channels && r >= 0; ch++)
                        r = queue_person(e, &o, &rcpt[i], to->channels[ch], now_usec);
        }
        if (r >= 0 && nt.n > 0)
                r = queue_rounds(e, &o, rcpt, nt.n, now_usec);
        if (r >= 0)
                log_debug("alert %s: %zu other recipients told that %s acknowledged", a->id, nt.n,
                          w->id);
        free(rcpt);
        free(nt.v);
        return r;
}

int engine_ack(struct engine *e, const struct worker *w, const char *alert_id, enum channel channel,
               int64_t now_usec, const char **error)
{
        const char *code = channel_code(channel);
        struct alert *a = engine_find_alert(e, alert_id);
        int r;

        if (!a)
                return refuse_stored(e, alert_id, error);
        if (!may_act(e, w, a)) {
                *error = "worker may not act on this alert";
                return ENGINE_E_FORBIDDEN;
        }
        if (a->state != ALERT_OPEN) {
                *error = "alert already acknowledged";
                return ENGINE_E_REFUSED;
        }
        /* The ack, its audit record and the notices to the others: all or nothing. */
        r = store_savepoint(e->store);
        if (r < 0)
                return r;
        r = store_set_alert_acked(e->store, a->id, w->id, code, now_usec);
        if (r == 0)
                r = store_insert_action(e->store, "ack", w->id, code, a->id, now_usec, NULL);
        if (r == 0)
                r = queue_ack_notices(e, a, w, channel, now_usec);
        if (r != 0) {
                store_rollback_to(e->store);
                return r < 0 ? r : refuse_stored(e, alert_id, error);
        }
        r = store_release(e->store);
        if (r < 0)
                return r;
        a->state = ALERT_ACKED;
        a->acked_usec = now_usec;
        a->next_usec = 0; /* its timer entry goes stale */
        log_about(LOG_NOTICE, a->id, a->household ? a->household->id : NULL, a->device_id,
                  "alert %s acknowledged by %s via %s", a->id, w->id, code);
        return ENGINE_OK;
}

int engine_resolve(struct engine *e, const struct worker *w, const char *alert_id, const char *note,
                   enum channel channel, int64_t now_usec, const char **error)
{
        const char *code = channel_code(channel);
        struct alert *a = engine_find_alert(e, alert_id);
        struct alert stale = { 0 };
        int r;

        if (!note || !*note) {
                *error = "\"note\" missing or empty";
                return ENGINE_E_REFUSED;
        }
        if (!a) {
                /* An acked alert whose absorb window is over is no longer in memory, but it
                 * still waits to be resolved. */
                struct stored_alert sa;

                r = stored_alert(e, alert_id, &sa);
                if (r < 0)
                        return r;
                if (!sa.found || sa.state != ALERT_ACKED)
                        return refuse_stored(e, alert_id, error);
                snprintf(stale.id, sizeof(stale.id), "%s", alert_id);
                stale.state = ALERT_ACKED;
                stale.household = config_household(e->config, sa.household);
        }
        if (!may_act(e, w, a ? a : &stale)) {
                *error = "worker may not act on this alert";
                return ENGINE_E_FORBIDDEN;
        }
        r = store_begin(e->store);
        if (r == 0)
                r = store_set_alert_resolved(e->store, alert_id, w->id, code, now_usec, note);
        if (r == 0)
                r = store_insert_action(e->store, "resolve", w->id, code, alert_id, now_usec, note);
        if (r == STORE_E_NOT_FOUND)
                return refuse_stored(e, alert_id, error);
        if (r < 0)
                return r;
        log_about(LOG_NOTICE, alert_id, a && a->household ? a->household->id : NULL,
                  a ? a->device_id : NULL, "alert %s resolved by %s via %s", alert_id, w->id, code);
        if (a)
                unlink_alert(e, a); /* its timer entries go stale */
        return ENGINE_OK;
}

#define ESCALATION_RETRY_USEC (5 * USEC_PER_SEC)

/* Escalation (DESIGN.md §6): the next step, or a reminder, at the alert's deadline. The
 * notifications and the alert's new position (step, round, reminders, next deadline) are
 * written under one savepoint of the loop's transaction: after a crash either both are in
 * the database or neither is, so each step fires once. */
static int fire_escalation(struct engine *e, struct alert *a, int64_t now_usec)
{
        const struct escalation_pos cur = { a->step_index, a->round, a->reminders };
        const int64_t deadline = a->next_usec;
        struct escalation_plan p;
        struct stored_alert sa;
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
        r = stored_alert(e, a->id, &sa);
        if (r == 0)
                r = notify(e, a, p.step, p.fire == ESCALATION_FIRE_REMINDER ? p.pos.reminders : 0,
                           sa.reason, now_usec);
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
        push_escalation(e, a, a->next_usec);
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
        push_escalation(e, a, now_usec + ESCALATION_RETRY_USEC);
        return r;
}

size_t engine_open_alerts(const struct engine *e)
{
        const char *key;
        void *value;
        size_t i = 0, n = 0;

        while (hashmap_iterate(e->alerts_by_id, &i, &key, &value))
                n += ((const struct alert *)value)->state == ALERT_OPEN;
        return n;
}

/* ---- device health ----
 *
 * health.c decides; this section applies its decisions. Every availability, battery,
 * tamper and heartbeat event goes through health_on_event() (after rules_judge(), which
 * may already have judged a tamper): it keeps the device's health_* state, records
 * recoveries, and raises device_offline, battery_low and tamper (to the community worker
 * and installers, see add_installers()). A bridge's offline is one alert keyed by the
 * bridge's id (its status topic) on the household of the first device that reported it;
 * the bridges are kept in e->health_bridges. Staleness: one TIMER_HEALTH entry per device
 * at its stale instant, re-armed lazily when it fires early (health_timer_usec names the
 * armed one). device_offline and battery_low do not escalate: an open one is reminded
 * every HEALTH_REMIND_EVERY_USEC (next_usec, TIMER_ESCALATION, health_remind()) until it
 * is acknowledged or its device recovers. */

struct health_bridge {
        char *id;
        char alert_id[ALERT_ID_MAX]; /* the offline episode's alert, "" when none */
};

static void health_free_bridges(struct engine *e)
{
        const char *key;
        void *value;
        size_t i = 0;

        while (hashmap_iterate(e->health_bridges, &i, &key, &value)) {
                struct health_bridge *b = value;
                free(b->id);
                free(b);
        }
        hashmap_free(e->health_bridges);
        e->health_bridges = NULL;
}

static struct health_bridge *health_bridge(struct engine *e, const char *id)
{
        struct health_bridge *b = hashmap_get(e->health_bridges, id);

        if (b)
                return b;
        b = calloc(1, sizeof(*b));
        if (!b)
                abort();
        b->id = xstrdup(id);
        hashmap_put(e->health_bridges, b->id, b);
        return b;
}

/* The live alert of a bridge's offline episode, found by its id in any household. */
static struct alert *health_bridge_alert(struct engine *e, const char *bridge_id)
{
        const char *key;
        void *value;
        size_t i = 0;

        while (hashmap_iterate(e->alerts_by_id, &i, &key, &value)) {
                struct alert *a = value;
                if (a->kind == ALERT_DEVICE_OFFLINE && str_eq(a->device_id, bridge_id))
                        return a;
        }
        return NULL;
}

/* Arms d's staleness check unless an earlier one is armed (that one re-arms when it
 * fires) or nothing can make it due. */
static void health_arm(struct engine *e, const struct device *d)
{
        struct device_state *st = &e->devices[d->index];
        int64_t at;

        if (!e->health_gen || st->health_offline || st->health_bridge_offline)
                return;
        at = health_stale_at(e->config, d, st);
        if (at == INT64_MAX || (st->health_timer_usec && st->health_timer_usec <= at))
                return;
        st->health_timer_usec = at;
        timerq_push(&e->timers, at, TIMER_HEALTH, d->index, e->health_gen);
}

/* Open device_offline and battery_low alerts are reminded daily; an acked or recovered one
 * is not (next_usec 0). */
static int health_schedule_reminder(struct engine *e, struct alert *a, int64_t now_usec)
{
        if (alert_kind_escalates(a->kind) || a->state != ALERT_OPEN || a->next_usec)
                return 0;
        a->next_usec = now_usec + HEALTH_REMIND_EVERY_USEC;
        if (a->household)
                push_escalation(e, a, a->next_usec);
        return store_update_alert(e->store, a);
}

/* Records on alert a that its device (or bridge) `who` recovered; reminders stop, the
 * alert stays open until a worker resolves it. */
static int health_record_recovery(struct engine *e, struct alert *a, const char *who,
                                  const char *detail, int64_t now_usec)
{
        int r = store_insert_action(e->store, "recovered", who, "device", a->id, now_usec, detail);

        if (r < 0)
                return r;
        log_about(LOG_NOTICE, a->id, a->household ? a->household->id : NULL, who,
                  "alert %s: %s recovered (%s); it stays %s until resolved", a->id, who, detail,
                  alert_state_to_string(a->state));
        if (a->next_usec && !alert_kind_escalates(a->kind)) {
                a->next_usec = 0; /* its reminder entry goes stale */
                r = store_update_alert(e->store, a);
        }
        return r;
}

/* Raises (or joins) a health alert of kind for device d, or for the bridge d sits behind
 * (key = bridge id) on household h. */
static int health_raise(struct engine *e, const struct household *h, const struct device *d,
                        const char *key, const struct event *ev, enum alert_kind kind,
                        const char *reason, int64_t event_usec, int64_t now_usec,
                        struct alert **ret)
{
        struct verdict v = { .kind = VERDICT_ALERT, .alert = kind };
        /* raise_alert() keys device-scoped alerts by d->id: a bridge's alert by its id. */
        struct device keyed = *d;
        int r;

        v.severity = alert_kind_default_severity(kind);
        snprintf(v.reason, sizeof(v.reason), "%s", reason);
        keyed.id = (char *)key;
        r = raise_alert(e, h, &keyed, ev, &v, event_usec, now_usec, ret);
        if (r < 0)
                return r;
        return health_schedule_reminder(e, *ret, now_usec);
}

static void set_ignored(struct verdict *v, const char *reason)
{
        v->kind = VERDICT_IGNORED;
        snprintf(v->reason, sizeof(v->reason), "%s", reason);
}

static void set_alert(struct verdict *v, enum alert_kind kind, const char *reason)
{
        v->kind = VERDICT_ALERT;
        v->alert = kind;
        v->severity = alert_kind_default_severity(kind);
        snprintf(v->reason, sizeof(v->reason), "%s", reason);
}

/* The verdict of an event that showed a recovery: the alert stays until resolved. */
static void set_recovered(struct verdict *v, const char *reason, const struct alert *a)
{
        v->kind = VERDICT_IGNORED;
        if (snprintf(v->reason, sizeof(v->reason), "%s; alert %s stays %s until resolved", reason,
                     a->id, alert_state_to_string(a->state)) >= (int)sizeof(v->reason))
                log_debug("alert %s: recovery reason shortened", a->id);
}

static int health_on_bridge(struct engine *e, const struct device *d, const struct event *ev,
                            const struct health_decision *dec, int64_t event_usec, int64_t now_usec,
                            struct verdict *v, struct alert **ret)
{
        struct health_bridge *b = health_bridge(e, ev->bridge_id[0] ? ev->bridge_id : "?");
        struct alert *a = b->alert_id[0] ? engine_find_alert(e, b->alert_id) : NULL;
        int r;

        switch (dec->action) {
        case HEALTH_RAISE:
                /* An acked alert of the bridge within ack_absorb may live in another household. */
                a = health_bridge_alert(e, b->id);
                r = health_raise(e, a && a->household ? a->household : d->household, d, b->id, ev,
                                 ALERT_DEVICE_OFFLINE, dec->reason, event_usec, now_usec, ret);
                if (r < 0)
                        return r;
                snprintf(b->alert_id, sizeof(b->alert_id), "%s", (*ret)->id);
                set_alert(v, ALERT_DEVICE_OFFLINE, dec->reason);
                return 0;
        case HEALTH_RECOVER:
                b->alert_id[0] = 0;
                set_ignored(v, dec->reason);
                if (!a)
                        return 0;
                *ret = a;
                set_recovered(v, dec->reason, a);
                return health_record_recovery(e, a, b->id, dec->reason, now_usec);
        default:
                set_ignored(v, dec->reason);
                return 0;
        }
}

static int health_on_event(struct engine *e, const struct device *d, const struct event *ev,
                           int64_t event_usec, int64_t now_usec, bool debounced, struct verdict *v,
                           struct alert **ret)
{
        const struct household *h = d->household;
        struct device_state *st = &e->devices[d->index];
        /* Tamper is judged by rules.c (it escalates like a door alert). */
        const bool health_type = ev->type == EVENT_AVAILABILITY || ev->type == EVENT_BATTERY ||
                                 ev->type == EVENT_HEARTBEAT;
        const bool bridge = ev->type == EVENT_AVAILABILITY && ev->bridge;
        struct health_view hv = {
                .observed = event_usec >= h->obs_start_usec && event_usec < h->obs_end_usec,
                .offline = st->health_offline,
                .battery_low = st->health_battery_low,
                .battery_alert_usec = st->health_battery_alert_usec,
        };
        struct health_decision dec;
        struct alert *a;
        char why[96];
        uint64_t raised;
        int r;

        if (bridge) {
                struct health_bridge *b = health_bridge(e, ev->bridge_id[0] ? ev->bridge_id : "?");
                hv.bridge_alerted = b->alert_id[0] && engine_find_alert(e, b->alert_id);
        }
        if (ev->type == EVENT_BATTERY)
                hv.live_battery = find_joinable(e, h, ALERT_BATTERY_LOW, d->id, event_usec) != NULL;
        health_judge(e->config, d, ev, &hv, event_usec, &dec);

        /* The device's health state, whatever the verdict. */
        if (health_event_alive(ev))
                st->health_seen_usec = MAX(st->health_seen_usec, now_usec);
        if (dec.recovered) {
                st->health_offline = false;
                a = find_joinable(e, h, ALERT_DEVICE_OFFLINE, d->id, event_usec);
                if (a) {
                        snprintf(why, sizeof(why), "device %s: %s after being offline", d->id,
                                 event_type_to_string(ev->type));
                        r = health_record_recovery(e, a, d->id, why, now_usec);
                        if (r < 0)
                                return r;
                        if (health_type && v->kind != VERDICT_ALERT)
                                *ret = a; /* the event that showed it is linked to the alert */
                }
        }
        if (ev->type == EVENT_BATTERY && !debounced &&
            (ev->battery_low || ev->battery_percent >= 0 || ev->battery_mv > 0))
                st->health_battery_low = health_battery_is_low(e->config, d, ev, why, sizeof(why));
        if (bridge) {
                if (st->health_bridge_offline && ev->online)
                        st->health_since_usec = MAX(st->health_since_usec, now_usec);
                st->health_bridge_offline = !ev->online;
        }
        health_arm(e, d);

        /* Doors, rings, persons and tamper are the rules'; a repeat within debounce keeps the
         * rules' verdict. */
        if (!health_type || debounced || v->kind == VERDICT_ALERT)
                return 0;
        if (bridge)
                return health_on_bridge(e, d, ev, &dec, event_usec, now_usec, v, ret);
        switch (dec.action) {
        case HEALTH_RAISE:
                raised = e->counters.alerts_raised;
                r = health_raise(e, h, d, d->id, ev, dec.kind, dec.reason, event_usec, now_usec,
                                 ret);
                if (r < 0)
                        return r;
                if (dec.kind == ALERT_DEVICE_OFFLINE)
                        st->health_offline = true;
                if (dec.kind == ALERT_BATTERY_LOW && e->counters.alerts_raised > raised)
                        st->health_battery_alert_usec = event_usec;
                set_alert(v, dec.kind, dec.reason);
                return 0;
        case HEALTH_RECOVER:
                set_ignored(v, dec.reason);
                a = find_joinable(e, h, dec.kind, d->id, event_usec);
                if (!a)
                        return 0;
                *ret = a;
                set_recovered(v, dec.reason, a);
                return health_record_recovery(e, a, d->id, dec.reason, now_usec);
        default:
                set_ignored(v, dec.reason);
                return 0;
        }
}

/* A staleness check came due: device_offline when the device is still silent, else the
 * check moves to the new stale instant. */
static int health_fire(struct engine *e, const struct timerq_entry *t, int64_t now_usec)
{
        const uint32_t gen = t->token;
        const size_t index = t->index;
        const struct event ev = { .type = EVENT_AVAILABILITY, .battery_percent = -1 };
        struct device_state *st;
        const struct device *d;
        struct alert *a = NULL;
        char reason[VERDICT_REASON_MAX];
        int64_t next;
        int r;

        if (gen != e->health_gen || index >= e->config->n_devices)
                return 0;
        d = &e->config->devices[index];
        st = &e->devices[index];
        if (st->health_timer_usec != t->usec)
                return 0; /* stale entry */
        st->health_timer_usec = 0;
        if (!health_stale(e->config, d, st, now_usec, &next, reason, sizeof(reason))) {
                health_arm(e, d);
                return 0;
        }
        r = store_savepoint(e->store);
        if (r == 0) {
                r = health_raise(e, d->household, d, d->id, &ev, ALERT_DEVICE_OFFLINE, reason,
                                 now_usec, now_usec, &a);
                if (r < 0)
                        store_rollback_to(e->store);
        }
        if (r < 0) {
                log_err_errno(r, "device %s: raising device_offline failed, retrying", d->id);
                st->health_timer_usec = now_usec + ESCALATION_RETRY_USEC;
                timerq_push(&e->timers, st->health_timer_usec, TIMER_HEALTH, d->index,
                            e->health_gen);
                return r;
        }
        st->health_offline = true;
        return store_release(e->store);
}

/* The daily reminder of an open device_offline or battery_low alert. */
static int health_remind(struct engine *e, struct alert *a, int64_t now_usec)
{
        const int64_t deadline = a->next_usec;
        struct stored_alert sa;
        int r;

        r = store_savepoint(e->store);
        if (r < 0)
                goto retry;
        a->reminders++;
        while (a->next_usec <= now_usec)
                a->next_usec += HEALTH_REMIND_EVERY_USEC;
        r = stored_alert(e, a->id, &sa);
        if (r == 0)
                r = notify(e, a, STEP_TEAM, a->reminders, sa.reason, now_usec);
        if (r == 0)
                r = store_update_alert(e->store, a);
        if (r < 0) {
                store_rollback_to(e->store);
                a->reminders--;
                a->next_usec = deadline;
                goto retry;
        }
        r = store_release(e->store);
        if (r < 0)
                goto retry;
        push_escalation(e, a, a->next_usec);
        log_notice("alert %s: %s still open, reminder %d", a->id, alert_kind_to_string(a->kind),
                   a->reminders);
        return 0;
retry:
        log_err_errno(r, "alert %s: reminder failed, retrying", a->id);
        push_escalation(e, a, now_usec + ESCALATION_RETRY_USEC);
        return r;
}

/* The state of a configured device by id, or NULL (a device no longer configured). */
static struct device_state *device_state_by_id(struct engine *e, const char *device_id)
{
        const struct device *d = config_device(e->config, device_id);
        return d ? &e->devices[d->index] : NULL;
}

static int health_seen_cb(const char *device_id, int64_t usec, void *userdata)
{
        struct device_state *st = device_state_by_id(userdata, device_id);

        if (st)
                st->health_seen_usec = MAX(st->health_seen_usec, usec);
        return 0;
}

static int health_battery_cb(const char *device_id, int64_t usec, void *userdata)
{
        struct device_state *st = device_state_by_id(userdata, device_id);

        if (st)
                st->health_battery_alert_usec = MAX(st->health_battery_alert_usec, usec);
        return 0;
}

/* Arms every device's check under a new generation (older entries go stale). Devices
 * without a fresh sign of life count as seen at now: a restart or a new device gets its
 * full offline_after. */
static void health_arm_all(struct engine *e, int64_t now_usec)
{
        e->health_gen++;
        if (e->health_gen == 0)
                e->health_gen = 1;
        for (size_t i = 0; i < e->config->n_devices; i++) {
                const struct device *d = &e->config->devices[i];
                struct device_state *st = &e->devices[i];

                if (st->health_seen_usec + health_offline_after_usec(e->config, d) <= now_usec)
                        st->health_seen_usec = now_usec;
                st->health_timer_usec = 0;
                health_arm(e, d);
        }
}

int engine_health_start(struct engine *e, int64_t now_usec)
{
        const struct config *c = e->config;
        int64_t horizon = 0;
        const char *key;
        void *value;
        size_t i = 0;
        int r = 0;

        /* The last sign of life of each device, as far back as any limit reaches. */
        for (size_t k = 0; k < c->n_devices; k++)
                horizon = MAX(horizon, health_offline_after_usec(c, &c->devices[k]));
        for (size_t k = 0; k < c->n_households && r >= 0; k++)
                r = store_foreach_device_seen(e->store, c->households[k].id, now_usec - horizon,
                                              health_seen_cb, e);
        if (r >= 0)
                r = store_foreach_alert_raised(e->store, alert_kind_to_string(ALERT_BATTERY_LOW),
                                               now_usec - HEALTH_BATTERY_ALERT_EVERY_USEC,
                                               health_battery_cb, e);
        if (r < 0)
                log_warn("device health: the last signs of life could not be read; counting "
                         "silence from now");
        /* Live alerts say what is known to be offline or low. */
        while (hashmap_iterate(e->alerts_by_id, &i, &key, &value)) {
                const struct alert *a = value;
                const struct device *d = a->device_id ? config_device(c, a->device_id) : NULL;

                if (a->kind == ALERT_DEVICE_OFFLINE && d)
                        e->devices[d->index].health_offline = true;
                else if (a->kind == ALERT_DEVICE_OFFLINE && a->device_id)
                        snprintf(health_bridge(e, a->device_id)->alert_id, ALERT_ID_MAX, "%s",
                                 a->id);
                else if (a->kind == ALERT_BATTERY_LOW && d)
                        e->devices[d->index].health_battery_low = true;
        }
        health_arm_all(e, now_usec);
        log_info("device health: %zu devices watched for silence", c->n_devices);
        return 0;
}

void engine_health_rearm(struct engine *e, int64_t now_usec)
{
        if (e->health_gen)
                health_arm_all(e, now_usec);
}

/* ---- reload ---- */

#define RELOAD_LOG_DROPPED_MAX 20

/* Every pointer and index into the configuration that the engine holds is re-pointed here:
 * engine->config, alert->household, timer entries' index (a device's for TIMER_HEALTH, a
 * household's for the others).
 * household_state and device_state are carried over by value: a field added to them that
 * points into the configuration must be re-pointed here too. */
int engine_reload(struct engine *e, const struct config *nc)
{
        const struct config *oc = e->config;
        struct household_state *hs;
        struct device_state *ds;
        struct household **moved; /* old household index -> its new record, or NULL */
        struct rules_debounce *db;
        struct timerq timers = { 0 };
        size_t n_dropped = 0;

        hs = calloc(nc->n_households ? nc->n_households : 1, sizeof(*hs));
        ds = calloc(nc->n_devices ? nc->n_devices : 1, sizeof(*ds));
        db = calloc(nc->n_devices ? nc->n_devices : 1, sizeof(*db));
        moved = calloc(oc->n_households ? oc->n_households : 1, sizeof(*moved));
        if (!hs || !ds || !db || !moved) {
                free(hs);
                free(ds);
                free(db);
                free(moved);
                return -ENOMEM;
        }
        /* From here on nothing fails. */
        for (size_t i = 0; i < nc->n_devices; i++) {
                const struct device *od = config_device(oc, nc->devices[i].id);
                if (od) {
                        ds[i] = e->devices[od->index];
                        db[i] = e->debounce[od->index];
                } else
                        ds[i].battery_percent = -1;
        }
        for (size_t i = 0; i < oc->n_devices; i++)
                if (!config_device(nc, oc->devices[i].id))
                        device_state_done(&e->devices[i]); /* removed: nothing carries it */
        for (size_t i = 0; i < oc->n_households; i++) {
                const struct household *oh = &oc->households[i];
                struct household *nh = config_household(nc, oh->id);
                struct alert *a, *next;

                moved[i] = nh;
                if (nh) {
                        hs[nh->index] = e->households[i];
                        for (a = hs[nh->index].alerts; a; a = a->next)
                                a->household = nh;
                        continue;
                }
                rules_state_done(&e->households[i]);
                for (a = e->households[i].alerts; a; a = next) {
                        next = a->next;
                        if (n_dropped++ < RELOAD_LOG_DROPPED_MAX)
                                log_about(LOG_WARNING, a->id, oh->id, a->device_id,
                                          "reload: household %s was removed; its %s alert %s "
                                          "stays %s in the database but is no longer escalated",
                                          oh->id, alert_kind_to_string(a->kind), a->id,
                                          alert_state_to_string(a->state));
                        hashmap_remove(e->alerts_by_id, a->id);
                        alert_free(a);
                }
        }
        if (n_dropped > RELOAD_LOG_DROPPED_MAX)
                log_warn("reload: %zu alerts of removed households left memory in all", n_dropped);
        for (size_t i = 0; i < e->timers.n; i++) {
                const struct timerq_entry *t = &e->timers.heap[i];

                if (t->type == TIMER_HEALTH) {
                        const struct device *nd = config_device(nc, oc->devices[t->index].id);
                        if (nd)
                                timerq_push(&timers, t->usec, t->type, nd->index, t->token);
                } else if (moved[t->index]) {
                        timerq_push(&timers, t->usec, t->type, moved[t->index]->index, t->token);
                }
        }
        free(moved);
        free(e->households);
        free(e->devices);
        free(e->debounce);
        timerq_done(&e->timers);
        e->households = hs;
        e->devices = ds;
        e->debounce = db;
        e->timers = timers;
        e->config = nc;
        rules_reloaded(e, oc);
        return 0;
}

/* ---- observation rules (issue 4) ----
 *
 * rules.c decides; this section applies its verdicts: person_left upgrades the opening's
 * alert, deadlines (hand-off expired, held open, pass overdue) are settled in event time
 * before each event of the household and by a realtime timer (TIMER_RULES) when no event
 * comes, observations end (TIMER_OBSERVATION_END), and the household's rule state is
 * stored after every change so it survives a restart. */

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

/* A camera saw a person leave near an unexpected opening: its alert (open, or acked within
 * ack_absorb) becomes person_left, critical, and its recipients get an updated notification;
 * without one a person_left alert is raised. */
static int upgrade_to_person_left(struct engine *e, const struct household *h,
                                  const struct device *d, const struct event *ev,
                                  const struct verdict *v, int64_t event_usec, int64_t now_usec,
                                  struct alert **ret)
{
        const struct escalation *esc = &e->config->escalation;
        struct alert *a = find_joinable(e, h, ALERT_DOOR_OPEN_UNEXPECTED, NULL, event_usec);
        enum escalation_step step;
        int r;

        if (!a)
                return raise_alert(e, h, d, ev, v, event_usec, now_usec, ret);
        *ret = a;
        a->count++;
        if (event_usec > a->last_event_usec)
                a->last_event_usec = event_usec;
        if (a->kind == ALERT_PERSON_LEFT)
                return store_update_alert(e->store, a);
        a->kind = ALERT_PERSON_LEFT;
        a->severity = SEVERITY_CRITICAL;
        r = store_update_alert(e->store, a);
        if (r == 0)
                r = store_set_alert_reason(e->store, a->id, v->reason);
        if (r < 0)
                return r;
        log_notice("alert %s: upgraded to person_left at household %s (%s)", a->id, h->id,
                   v->reason);
        step = STEP_TEAM;
        if (esc->n_steps > 0)
                step = esc->steps[a->step_index >= 0 && (size_t)a->step_index < esc->n_steps
                                      ? (size_t)a->step_index
                                      : 0];
        return notify_step(e, a, step, v->reason, now_usec);
}

/* d may be NULL for alerts raised by a deadline or the end of observation (never
 * device-scoped kinds). */
static int act_on_verdict(struct engine *e, const struct household *h, const struct device *d,
                          const struct event *ev, const struct verdict *v, int64_t event_usec,
                          int64_t now_usec, struct alert **ret)
{
        if (v->alert == ALERT_PERSON_LEFT)
                return upgrade_to_person_left(e, h, d, ev, v, event_usec, now_usec, ret);
        return raise_alert(e, h, d, ev, v, event_usec, now_usec, ret);
}

/* Handles every rule deadline of h at or before until_usec (event time), in order. */
static int settle_deadlines(struct engine *e, const struct household *h, int64_t until_usec,
                            int64_t now_usec)
{
        struct household_state *st = &e->households[h->index];

        /* Each round marks its deadline done; the bound only guards against a rules bug. */
        for (int round = 0; round < 4 * RULES_PASSES_MAX + 8; round++) {
                struct rules_due due;
                struct verdict v;
                struct alert *a = NULL;
                struct event ev = { .type = EVENT_DOOR, .door = DOOR_OPEN, .has_ts = true };
                int64_t at = rules_next_deadline(e->config, h, st, &due);
                int r;

                if (at > until_usec)
                        return 0;
                if (due.kind != RULES_DUE_PASS_OVERDUE) {
                        rules_copy_text(ev.id, sizeof(ev.id), rules_open_event(st));
                        ev.ts = (double)st->door_changed_usec / 1e6;
                } else
                        ev.ts = (double)at / 1e6;
                rules_fire(e->config, h, st, &due, &v);
                if (v.kind != VERDICT_ALERT)
                        continue;
                r = act_on_verdict(e, h, NULL, &ev, &v, at, now_usec, &a);
                if (r < 0)
                        return r;
        }
        log_warn("household %s: rule deadlines did not settle", h->id);
        return 0;
}

/* Before judging an event: the household's clock offset, debounce, due deadlines.
 * Returns 1 (and *ret) when the event is a debounced repeat, 0 to judge it. */
static int rules_before_event(struct engine *e, const struct device *d, const struct event *ev,
                              int64_t event_usec, int64_t recv_usec, struct verdict *ret)
{
        const struct household *h = d->household;
        struct household_state *st = &e->households[h->index];
        const struct policy *p = rules_policy(e->config, h);
        char w[32];

        if (!ev->retained) {
                int64_t off = recv_usec - event_usec;
                /* Jitter below a second is not worth a write of the state. */
                if (off - st->clock_offset_usec > USEC_PER_SEC ||
                    st->clock_offset_usec - off > USEC_PER_SEC)
                        st->clock_offset_usec = off;
        }
        if (rules_debounce(p, &e->debounce[d->index], ev, event_usec)) {
                *ret = (struct verdict){ .kind = VERDICT_IGNORED,
                                         .basis = BASIS_DEBOUNCED,
                                         .pass = -1 };
                snprintf(ret->reason, sizeof(ret->reason),
                         "repeat of the device's previous %s event within debounce (%s)",
                         event_type_to_string(ev->type), format_duration(p->debounce_usec, w));
                return 1;
        }
        return settle_deadlines(e, h, event_usec, recv_usec);
}

/* Arms TIMER_RULES for the household's next deadline, mapped onto the realtime clock. */
/* Whether a timer entry can still fire (see engine_tick): a rules entry whose token is
 * current, an escalation entry whose alert is live, every observation end. */
static bool timer_live(const struct timerq_entry *t, void *userdata)
{
        struct engine *e = userdata;

        switch (t->type) {
        case TIMER_RULES:
                return e->households[t->index].timer_token == t->token;
        case TIMER_ESCALATION:
                return find_by_serial(e, t->index, t->token);
        default:
                return true;
        }
}

/* Lazy deletion leaves a stale entry each time a household's deadline moves (every
 * opening arms held_open): drop them whenever the heap has grown by a quarter since the
 * last time, so it stays within 125% of what is armed (memory flat under constant load).
 * A city arms 300,000 entries and more (a staleness check per device), so doubling first
 * would hold as many stale ones; a pass is O(n), once per n/4 pushes. */
static void compact_timers(struct engine *e)
{
        if (e->timers.n < 1024 || e->timers.n < e->timers_compacted + e->timers_compacted / 4)
                return;
        timerq_compact(&e->timers, timer_live, e);
        e->timers_compacted = e->timers.n;
}

static void schedule_household(struct engine *e, const struct household *h)
{
        struct household_state *st = &e->households[h->index];
        int64_t at = rules_next_deadline(e->config, h, st, NULL), wall;

        if (at == INT64_MAX) {
                if (st->timer_usec) {
                        st->timer_usec = 0;
                        st->timer_token++;
                }
                return;
        }
        wall = st->clock_offset_usec > 0 && at > INT64_MAX - st->clock_offset_usec
                   ? INT64_MAX - 1
                   : at + st->clock_offset_usec;
        if (wall == st->timer_usec)
                return;
        st->timer_usec = wall;
        st->timer_token++;
        timerq_push(&e->timers, wall, TIMER_RULES, h->index, st->timer_token);
        compact_timers(e);
}

/* Stores what changed in h's rule state (passes, the JSON state) and re-arms its timer. */
static int rules_persist(struct engine *e, const struct household *h, int64_t event_usec,
                         int64_t now_usec)
{
        struct household_state *st = &e->households[h->index];
        char buf[1024];
        struct jsonw w;
        const char *json;
        uint64_t hash;
        int r;

        for (size_t i = 0; i < st->n_passes; i++) {
                struct rules_pass *ps = &st->passes[i];
                bool done = rules_pass_done(ps, event_usec);
                if (!ps->dirty && !done)
                        continue;
                r = store_update_pass(e->store, &(struct store_pass){
                                                    .id = ps->id,
                                                    .exit_usec = ps->exit_usec,
                                                    .return_usec = ps->return_usec,
                                                    .overdue = ps->overdue,
                                                    .done = done,
                                                });
                if (r < 0)
                        return r;
                ps->dirty = false;
        }
        rules_prune_passes(st, event_usec);
        jsonw_init(&w, buf, sizeof(buf));
        rules_state_format(st, &w);
        json = jsonw_text(&w);
        if (!json) {
                jsonw_done(&w);
                return -ENOMEM;
        }
        hash = hash_str(json);
        if (hash != st->saved_hash) {
                r = store_save_household_state(e->store, h->id, json, now_usec);
                if (r < 0) {
                        jsonw_done(&w);
                        return r;
                }
                st->saved_hash = hash;
        }
        jsonw_done(&w);
        schedule_household(e, h);
        return 0;
}

static int rules_timer(struct engine *e, const struct household *h, uint32_t token,
                       int64_t now_usec)
{
        struct household_state *st = &e->households[h->index];
        int64_t until = now_usec - st->clock_offset_usec;
        int r;

        if (token != st->timer_token)
                return 0; /* stale: the state changed since it was armed */
        st->timer_usec = 0;
        r = store_begin(e->store);
        if (r == 0)
                r = settle_deadlines(e, h, until, now_usec);
        if (r == 0)
                r = rules_persist(e, h, until, now_usec);
        if (r < 0) {
                /* The database refused (busy, full): try again rather than lose the deadline. */
                log_err_errno(r, "household %s: rule deadline failed, retrying", h->id);
                st->timer_usec = now_usec + ESCALATION_RETRY_USEC;
                timerq_push(&e->timers, st->timer_usec, TIMER_RULES, h->index, ++st->timer_token);
        }
        return r;
}

/* The observation of h ended: its live alerts are resolved by the system and, unless the
 * observation ended before this database existed, its community worker and installers
 * are told to collect the devices (once, also across restarts). */
static int end_observation_once(struct engine *e, const struct household *h, int64_t now_usec)
{
        struct household_state *st = &e->households[h->index];
        struct alert *a, *next;
        struct verdict v = { .kind = VERDICT_ALERT,
                             .alert = ALERT_OBSERVATION_ENDED,
                             .severity = SEVERITY_INFO,
                             .basis = BASIS_OUTSIDE_WINDOW,
                             .pass = -1 };
        struct event ev = { .type = EVENT_HEARTBEAT };
        char when[32];
        size_t resolved = 0;
        int r;

        if (st->observation_noticed || now_usec < h->obs_end_usec)
                return 0;
        r = store_begin(e->store);
        if (r < 0)
                return r;
        for (a = st->alerts; a; a = next) {
                next = a->next;
                r = store_set_alert_resolved(e->store, a->id, "system", "system", now_usec,
                                             "observation ended");
                if (r == 0)
                        r = store_insert_action(e->store, "resolve", "system", "system", a->id,
                                                now_usec, "observation ended");
                if (r < 0)
                        return r;
                unlink_alert(e, a);
                resolved++;
        }
        st->observation_noticed = true;
        if (h->obs_end_usec < e->db_created_usec) {
                if (resolved)
                        log_info("household %s: observation ended; %zu alerts resolved", h->id,
                                 resolved);
                return 0;
        }
        snprintf(v.reason, sizeof(v.reason),
                 "observation ended at %s (%zu open alerts resolved); collect the devices",
                 format_local_time(h->obs_end_usec, when), resolved);
        return act_on_verdict(e, h, NULL, &ev, &v, h->obs_end_usec, now_usec, &a);
}

static int end_observation(struct engine *e, const struct household *h, int64_t now_usec)
{
        int r = end_observation_once(e, h, now_usec);

        if (r < 0) {
                /* The database refused (busy, full): try again rather than never end it. */
                log_err_errno(r, "household %s: end of observation failed, retrying", h->id);
                timerq_push(&e->timers, now_usec + ESCALATION_RETRY_USEC, TIMER_OBSERVATION_END,
                            h->index, 0);
        }
        return r;
}

/* ---- rebuilding the rule state at start ---- */

static int load_household_state(const char *household, const char *json, void *userdata)
{
        struct engine *e = userdata;
        const struct household *h = config_household(e->config, household);
        _cleanup_json_ cJSON *j = NULL;

        if (!h || !json)
                return 0;
        j = cJSON_Parse(json);
        if (!j) {
                log_warn("household %s: stored rule state is not JSON; starting afresh", h->id);
                return 0;
        }
        rules_state_from_json(&e->households[h->index], j);
        e->households[h->index].saved_hash = hash_str(json);
        return 0;
}

static int load_pass(const struct store_pass *p, void *userdata)
{
        struct engine *e = userdata;
        const struct household *h = config_household(e->config, p->household);
        struct household_state *st;
        struct rules_pass rp = {
                .id = p->id,
                .from_usec = p->from_usec,
                .to_usec = p->to_usec,
                .exit_usec = p->exit_usec,
                .return_usec = p->return_usec,
                .overdue = p->overdue,
        };

        if (!h)
                return 0;
        st = &e->households[h->index];
        if (st->n_passes >= RULES_PASSES_MAX) {
                log_warn("household %s: more than %d pending passes; pass %" PRId64 " ignored",
                         h->id, RULES_PASSES_MAX, p->id);
                return 0;
        }
        rules_copy_text(rp.reason, sizeof(rp.reason), p->reason);
        return rules_add_pass(st, &rp) == -ENOMEM ? -ENOMEM : 0;
}

static int mark_noticed(const char *household, void *userdata)
{
        struct engine *e = userdata;
        const struct household *h = config_household(e->config, household);

        if (h)
                e->households[h->index].observation_noticed = true;
        return 0;
}

static int rules_load(struct engine *e)
{
        const struct config *c = e->config;
        size_t passes = 0;
        int r;

        e->db_created_usec = store_created_usec(e->store);
        r = store_foreach_household_state(e->store, load_household_state, e);
        if (r == 0)
                r = store_foreach_pending_pass(e->store, load_pass, e);
        if (r == 0)
                r = store_foreach_household_with_alert(
                    e->store, alert_kind_to_string(ALERT_OBSERVATION_ENDED), mark_noticed, e);
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_households; i++) {
                const struct household *h = &c->households[i];
                struct household_state *st = &e->households[i];

                passes += st->n_passes;
                if (!st->observation_noticed)
                        timerq_push(&e->timers, h->obs_end_usec, TIMER_OBSERVATION_END, h->index,
                                    0);
                schedule_household(e, h);
        }
        log_info("engine: rule state of %zu households loaded, %zu pending passes", c->n_households,
                 passes);
        return 0;
}

/* After a reload (the new config is e->config, the old one oc still valid): new households
 * and moved observation ends get their end timer; every household's rule deadline is
 * re-armed (its policy may have changed). */
static void rules_reloaded(struct engine *e, const struct config *oc)
{
        for (size_t i = 0; i < e->config->n_households; i++) {
                const struct household *h = &e->config->households[i];
                const struct household *oh = config_household(oc, h->id);

                if (!e->households[i].observation_noticed &&
                    (!oh || oh->obs_end_usec != h->obs_end_usec))
                        timerq_push(&e->timers, h->obs_end_usec, TIMER_OBSERVATION_END, h->index,
                                    0);
                e->households[i].timer_usec = 0; /* re-push at the new policy's deadline */
                schedule_household(e, h);
        }
}

/* ---- commands ---- */

/* Records a refused command of actor about h (kind: "checkin", "pass", "report") and
 * returns `refusal`, or a negative errno. */
static int record_refusal(struct engine *e, const char *kind, const char *actor,
                          enum channel channel, const struct household *h, int64_t at_usec,
                          const char *error, int refusal)
{
        char detail[400];
        int r;

        snprintf(detail, sizeof(detail), "refused: %s", error);
        r = store_insert_action(e->store, kind, actor, channel_code(channel), h->id, at_usec,
                                detail);
        return r < 0 ? r : refusal;
}

int engine_checkin(struct engine *e, const struct worker *w, const struct household *h,
                   enum channel channel, int64_t at_usec, int64_t now_usec, const char **error)
{
        struct household_state *st = &e->households[h->index];
        const char *code = channel_code(channel);
        int r;

        r = store_begin(e->store);
        if (r == 0)
                r = settle_deadlines(e, h, at_usec, now_usec);
        if (r < 0)
                return r;
        if (!rules_worker_may_act(e->config, h, w)) {
                *error = "worker is not of the household's community or team";
                return record_refusal(e, "checkin", w->id, channel, h, at_usec, *error,
                                      ENGINE_E_FORBIDDEN);
        }
        r = rules_checkin(e->config, h, st, w, at_usec, error);
        if (r == RULES_E_REFUSED)
                return record_refusal(e, "checkin", w->id, channel, h, at_usec, *error,
                                      ENGINE_E_REFUSED);
        r = store_insert_checkin(e->store, h->id, w->id, code, at_usec, now_usec);
        if (r == 0)
                r = store_insert_action(e->store, "checkin", w->id, code, h->id, at_usec,
                                        "at the door");
        if (r == 0)
                r = rules_persist(e, h, at_usec, now_usec);
        if (r < 0)
                return r;
        log_info("household %s: check-in by %s via %s", h->id, w->id, code);
        return ENGINE_OK;
}

int engine_add_pass(struct engine *e, const struct worker *w, const struct household *h,
                    int64_t from_usec, int64_t to_usec, const char *reason, enum channel channel,
                    int64_t at_usec, int64_t now_usec, int64_t *ret_id, const char **error)
{
        struct household_state *st = &e->households[h->index];
        struct rules_pass p = { .from_usec = from_usec, .to_usec = to_usec };
        const char *code = channel_code(channel);
        char detail[400], a[40], b[40];
        int r;

        r = store_begin(e->store);
        if (r == 0)
                r = settle_deadlines(e, h, at_usec, now_usec);
        if (r < 0)
                return r;
        if (!rules_worker_may_act(e->config, h, w)) {
                *error = "worker is not of the household's community or team";
                return record_refusal(e, "pass", w->id, channel, h, at_usec, *error,
                                      ENGINE_E_FORBIDDEN);
        }
        r = rules_check_pass(e->config, h, st, from_usec, to_usec, reason, error);
        if (r == RULES_E_REFUSED)
                return record_refusal(e, "pass", w->id, channel, h, at_usec, *error,
                                      ENGINE_E_REFUSED);
        r = store_insert_pass(e->store,
                              &(struct store_pass){ .household = h->id,
                                                    .worker = w->id,
                                                    .channel = code,
                                                    .reason = reason,
                                                    .from_usec = from_usec,
                                                    .to_usec = to_usec,
                                                    .created_usec = at_usec },
                              &p.id);
        if (r < 0)
                return r;
        rules_copy_text(p.reason, sizeof(p.reason), reason);
        r = rules_add_pass(st, &p); /* rules_check_pass() made sure there is room */
        if (r < 0)
                return r;
        snprintf(detail, sizeof(detail), "pass %" PRId64 " %s to %s: %.200s", p.id,
                 format_rfc3339(from_usec, a), format_rfc3339(to_usec, b), reason);
        r = store_insert_action(e->store, "pass", w->id, code, h->id, at_usec, detail);
        if (r == 0)
                r = rules_persist(e, h, at_usec, now_usec);
        if (r < 0)
                return r;
        if (ret_id)
                *ret_id = p.id;
        log_info("household %s: %s by %s via %s", h->id, detail, w->id, code);
        return ENGINE_OK;
}

int engine_report(struct engine *e, const struct household *h, const char *reason,
                  enum channel channel, int64_t at_usec, int64_t now_usec, const char **error)
{
        struct household_state *st = &e->households[h->index];
        const char *code = channel_code(channel);
        char detail[400];
        bool over = false;
        int number = 0, r;

        r = store_begin(e->store);
        if (r == 0)
                r = settle_deadlines(e, h, at_usec, now_usec);
        if (r < 0)
                return r;
        r = rules_report(e->config, h, st, at_usec, reason, &number, &over, error);
        if (r == RULES_E_REFUSED)
                return record_refusal(e, "report", h->id, channel, h, at_usec, *error,
                                      ENGINE_E_REFUSED);
        snprintf(detail, sizeof(detail), "%.200s (report %d of the day, %s %d)",
                 reason && *reason ? reason : "no reason given", number,
                 over ? "beyond the limit of" : "limit",
                 rules_policy(e->config, h)->resident_reports_per_day);
        r = store_insert_report(e->store, h->id, code, reason, at_usec, now_usec, number, over);
        if (r == 0)
                r = store_insert_action(e->store, "report", h->id, code, h->id, at_usec, detail);
        if (r == 0)
                r = rules_persist(e, h, at_usec, now_usec);
        if (r < 0)
                return r;
        log_info("household %s: pre-report %s via %s", h->id, detail, code);
        if (over) {
                *error = "daily pre-report limit reached: the next opening will alert the team";
                return ENGINE_E_OVER_LIMIT;
        }
        return ENGINE_OK;
}

int engine_command(struct engine *e, const struct command *cmd, const char **error)
{
        switch (cmd->verb) {
        case COMMAND_ACK:
                return engine_ack(e, cmd->worker, cmd->alert_id, cmd->channel, cmd->now_usec,
                                  error);
        case COMMAND_RESOLVE:
                return engine_resolve(e, cmd->worker, cmd->alert_id, cmd->note, cmd->channel,
                                      cmd->now_usec, error);
        case COMMAND_CHECKIN:
                return engine_checkin(e, cmd->worker, cmd->household, cmd->channel, cmd->at_usec,
                                      cmd->now_usec, error);
        case COMMAND_PASS:
                return engine_add_pass(e, cmd->worker, cmd->household, cmd->from_usec, cmd->to_usec,
                                       cmd->reason, cmd->channel, cmd->at_usec, cmd->now_usec, NULL,
                                       error);
        case COMMAND_REPORT:
                return engine_report(e, cmd->household, cmd->reason[0] ? cmd->reason : NULL,
                                     cmd->channel, cmd->at_usec, cmd->now_usec, error);
        case _COMMAND_VERB_MAX:
                break;
        }
        return -EINVAL;
}

/* ---- the system's own alarms (DESIGN.md §6): monitoring_gap, notification_failed ----
 *
 * They go to the command centre and the admins, through every channel those workers list
 * (but MQTT for monitoring_gap: the broker is what is missing) and through the group
 * notifiers that want the kind (system notices have no community unless they concern a
 * household's alert). They do not escalate. Like any alert, an open one absorbs further
 * occurrences (a count) instead of notifying again. */

void engine_set_notify(struct engine *e, struct notify_context *ctx)
{
        e->notify = ctx;
}

/* The live alert of this kind a new occurrence joins: per household like find_joinable(),
 * or among the alerts without household. */
static struct alert *find_system_alert(struct engine *e, const struct household *h,
                                       enum alert_kind kind, int64_t now_usec)
{
        const char *key;
        void *value;
        size_t i = 0;

        if (h)
                return find_joinable(e, h, kind, NULL, now_usec);
        while (hashmap_iterate(e->alerts_by_id, &i, &key, &value)) {
                struct alert *a = value;
                if (a->household || a->kind != kind)
                        continue;
                if (a->state == ALERT_OPEN ||
                    (a->state == ALERT_ACKED &&
                     now_usec < a->acked_usec + e->config->policy.ack_absorb_usec))
                        return a;
        }
        return NULL;
}

static int notify_system(struct engine *e, const struct outgoing *o, int64_t now_usec)
{
        const struct config *c = e->config;
        _cleanup_free_ struct recipient *rcpt = NULL;
        uint64_t before = e->counters.notifications;
        size_t n = 0;
        int r = 0;

        rcpt = calloc(c->n_command + c->n_admins + 1, sizeof(*rcpt));
        if (!rcpt)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_command + c->n_admins; i++) {
                bool command = i < c->n_command;
                const struct worker *w = command ? c->command[i] : c->admins[i - c->n_command];
                bool dup = false;

                for (size_t k = 0; k < n && !dup; k++)
                        dup = rcpt[k].worker == w;
                if (!dup)
                        rcpt[n++] = (struct recipient){ w, command ? "command" : "admin" };
        }
        for (size_t i = 0; i < n && r >= 0; i++)
                for (size_t ch = 0; ch < rcpt[i].worker->n_channels && r >= 0; ch++)
                        r = queue_person(e, o, &rcpt[i], rcpt[i].worker->channels[ch], now_usec);
        if (r >= 0)
                r = queue_rounds(e, o, rcpt, n, now_usec);
        if (r >= 0 && e->counters.notifications == before)
                log_warn("%s (alert %s): no channel reaches the command centre or the admins%s",
                         o->kind, o->a->id,
                         o->skip_mqtt
                             ? " without MQTT (configure an exec, webhook or robot channel)"
                             : "");
        return r;
}

/* Raises a system alert, or joins the live one. *ret_new tells which. */
static int raise_system_alert(struct engine *e, enum alert_kind kind, const struct household *h,
                              const char *reason, int64_t event_usec, int64_t now_usec,
                              struct alert **ret, bool *ret_new)
{
        struct alert *a = find_system_alert(e, h, kind, now_usec);
        int r;

        *ret_new = false;
        r = store_begin(e->store);
        if (r < 0)
                return r;
        if (a)
                return join_alert(e, a, now_usec, ret);
        r = create_alert(e,
                         &(struct alert_init){
                             .kind = kind,
                             .severity = alert_kind_default_severity(kind),
                             .h = h,
                             .event_ts = (double)event_usec / 1e6,
                             .event_usec = now_usec,
                             .reason = reason,
                         },
                         now_usec, &a);
        if (r < 0)
                return r;
        log_notice("alert %s: %s%s%s (%s)", a->id, alert_kind_to_string(kind),
                   h ? " at household " : "", h ? h->id : "", reason);
        *ret = a;
        *ret_new = true;
        return 0;
}

/* Raises a system alert and, when it is new (not joined), tells the command centre and the
 * admins; skip_mqtt when the broker itself is what failed. */
static int raise_and_notify_system(struct engine *e, enum alert_kind kind,
                                   const struct household *h, const char *reason,
                                   int64_t event_usec, int64_t now_usec, bool skip_mqtt)
{
        struct alert *a;
        bool is_new;
        int r = raise_system_alert(e, kind, h, reason, event_usec, now_usec, &a, &is_new);

        if (r < 0 || !is_new)
                return r;
        return notify_system(e,
                             &(struct outgoing){
                                 .a = a,
                                 .kind = alert_kind_to_string(a->kind),
                                 .reason = reason,
                                 .step = escalation_step_to_string(STEP_COMMAND),
                                 .skip_mqtt = skip_mqtt,
                             },
                             now_usec);
}

int engine_notification_failed(struct engine *e, const char *notification_id, const char *alert_id,
                               const char *channel, const char *worker_id, const char *kind,
                               const char *error, int64_t now_usec)
{
        const struct worker *w = worker_id ? config_worker(e->config, worker_id) : NULL;
        const struct alert *failed = alert_id ? engine_find_alert(e, alert_id) : NULL;
        const struct household *h = failed ? failed->household : NULL;
        char reason[512], household_id[160];

        if (w) {
                char masked[32];
                log_warn("notification %s: worker %s (%s, phone %s) was not reached via %s",
                         notification_id, w->id, w->name ? w->name : "-",
                         w->phone ? log_mask_phone(w->phone, masked) : "-", channel);
        }
        if (str_eq(kind, "notification_failed")) {
                /* Telling the admins that telling the admins failed would never end. */
                log_err("notification %s to the admins about a failed notification was not "
                        "delivered either (via %s): %s",
                        notification_id, channel, error);
                return 0;
        }
        if (!failed && alert_id &&
            store_alert_household(e->store, alert_id, household_id, sizeof(household_id)) == 0)
                h = config_household(e->config, household_id);
        snprintf(reason, sizeof(reason), "notification %s (%s, alert %s) via %s not delivered: %s",
                 notification_id, kind ? kind : "?", alert_id ? alert_id : "-", channel,
                 error ? error : "unknown error");
        return raise_and_notify_system(e, ALERT_NOTIFICATION_FAILED, h, reason, now_usec, now_usec,
                                       false);
}

static struct alert *live_gap(struct engine *e)
{
        const char *key;
        void *value;
        size_t i = 0;

        while (hashmap_iterate(e->alerts_by_id, &i, &key, &value)) {
                struct alert *a = value;
                if (!a->household && a->kind == ALERT_MONITORING_GAP && a->state != ALERT_RESOLVED)
                        return a;
        }
        return NULL;
}

bool engine_monitoring_gap_open(struct engine *e)
{
        return live_gap(e) != NULL;
}

int engine_monitoring_gap(struct engine *e, const char *reason, int64_t since_usec,
                          int64_t now_usec)
{
        if (live_gap(e))
                return 0;
        return raise_and_notify_system(e, ALERT_MONITORING_GAP, NULL, reason, since_usec, now_usec,
                                       true);
}

int engine_monitoring_restored(struct engine *e, int64_t now_usec)
{
        static const char note[] = "the MQTT broker is reachable again";
        struct alert *a = live_gap(e);
        int r;

        if (!a)
                return 0;
        r = store_begin(e->store);
        if (r == 0)
                r = notify_system(e,
                                  &(struct outgoing){
                                      .a = a,
                                      .kind = "monitoring_restored",
                                      .row_kind = "notice",
                                      .reason = note,
                                      .step = escalation_step_to_string(STEP_COMMAND),
                                      .event_ts_usec = now_usec,
                                      .skip_mqtt = true,
                                  },
                                  now_usec);
        if (r == 0)
                r = store_set_alert_resolved(e->store, a->id, NULL, "system", now_usec, note);
        if (r == 0)
                r = store_insert_action(e->store, "resolve", NULL, "system", a->id, now_usec, note);
        if (r < 0)
                return r;
        log_notice("alert %s: monitoring restored after %.0f s", a->id,
                   (double)(now_usec - llround(a->event_ts * 1e6)) / 1e6);
        unlink_alert(e, a);
        return 0;
}

/* ---- retention (DESIGN.md §8) ---- */

int engine_purge_expired(struct engine *e, int64_t now_usec)
{
        const struct config *c = e->config;
        int n = 0;

        for (size_t i = 0; i < c->n_households; i++) {
                const struct household *h = &c->households[i];
                char end[32];
                int64_t events = 0;
                int r;

                if (h->obs_end_usec > now_usec - c->retention_usec || e->households[i].alerts)
                        continue;
                r = store_household_purged(e->store, h->id);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                r = store_purge_household(e->store, h->id, now_usec, &events);
                if (r < 0)
                        return r;
                log_about(LOG_NOTICE, NULL, h->id, NULL,
                          "household %s: observation ended %s, retention passed: %lld events and "
                          "personal data purged",
                          h->id, format_local_time(h->obs_end_usec, end), (long long)events);
                n++;
        }
        return n;
}

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
 * Recipients are resolved by the roster at the instant of each step. */
#include "engine.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "escalation.h"
#include "health.h"
#include "log.h"
#include "roster.h"
#include "timerq.h"
#include "util.h"

/* Timer types in `timers`. Entries point at a household (stable for the config's life)
 * and carry a token naming what they are for; handlers ignore stale entries. */
enum {
        TIMER_ESCALATION, /* token = alert serial */
};

/* Device health (health.c): a device's staleness check; ptr = its household, token =
 * health generation << 32 | device index (a new generation after each start or reload
 * makes older entries stale). */
enum {
        TIMER_HEALTH = 100,
};

struct engine {
        const struct config *config;
        struct store *store;
        struct household_state *households;
        struct device_state *devices;
        struct hashmap *alerts_by_id;
        struct engine_counters counters;
        struct timerq timers;
        uint64_t next_serial;
        bool outbox_dirty;
        /* device health: bridges by id (struct health_bridge), timer generation (0: the
         * staleness checks are off until engine_health_start()) */
        struct hashmap *health_bridges;
        uint32_t health_gen;
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
        if (!e->households || !e->devices) {
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
        free(a);
}

struct engine *engine_free(struct engine *e)
{
        if (!e)
                return NULL;
        for (size_t i = 0; e->households && i < e->config->n_households; i++) {
                struct alert *a = e->households[i].alerts, *n;
                for (; a; a = n) {
                        n = a->next;
                        alert_free(a);
                }
        }
        hashmap_free(e->alerts_by_id);
        health_free_bridges(e);
        timerq_done(&e->timers);
        free(e->households);
        free(e->devices);
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

static struct alert *find_by_serial(struct engine *e, const struct household *h, uint64_t serial)
{
        for (struct alert *a = e->households[h->index].alerts; a; a = a->next)
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

int engine_tick(struct engine *e, int64_t now_usec)
{
        struct timerq_entry t;
        int r = 0;

        while (r >= 0 && timerq_pop_due(&e->timers, now_usec, &t)) {
                switch (t.type) {
                case TIMER_ESCALATION: {
                        struct alert *a = find_by_serial(e, t.ptr, t.token);
                        if (a && a->state == ALERT_OPEN && a->next_usec && a->next_usec <= now_usec)
                                r = alert_kind_escalates(a->kind) ? fire_escalation(e, a, now_usec)
                                                                  : health_remind(e, a, now_usec);
                        break;
                }
                case TIMER_HEALTH:
                        r = health_fire(e, &t, now_usec);
                        break;
                default:
                        break;
                }
        }
        return r;
}

static void link_alert(struct engine *e, struct alert *a)
{
        a->serial = ++e->next_serial;
        if (a->next_usec && a->household)
                timerq_push(&e->timers, a->next_usec, TIMER_ESCALATION, a->household, a->serial);
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
        snprintf(a->event_uid, sizeof(a->event_uid), "%s", row->event_uid ? row->event_uid : "");
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
        return 0;
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

static const char *default_text(enum alert_kind k)
{
        switch (k) {
        case ALERT_DOOR_OPEN_UNEXPECTED:
                return "门被打开（无预约、登记或通行证）";
        case ALERT_PERSON_LEFT:
                return "门口摄像头发现有人外出";
        case ALERT_DOOR_HELD_OPEN:
                return "门长时间未关";
        case ALERT_TOO_MANY_OPENINGS:
                return "今日开门报备次数超过上限";
        case ALERT_PASS_OVERDUE:
                return "外出通行证已到期，尚未返回";
        case ALERT_TAMPER:
                return "门磁/门铃设备被拆动";
        case ALERT_DEVICE_OFFLINE:
                return "设备离线";
        case ALERT_BATTERY_LOW:
                return "设备电量低";
        case ALERT_OBSERVATION_ENDED:
                return "居家观察已结束，请回收设备";
        default:
                return "系统告警";
        }
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

static int insert_notification(struct engine *e, const struct alert *a, const char *notification_id,
                               const struct worker *w, const char *channel, const char *step,
                               const char *kind, const char *payload, int64_t now_usec)
{
        int r = store_insert_notification(e->store,
                                          &(struct store_notification){
                                              .id = notification_id,
                                              .alert_id = a->id,
                                              .worker = w->id,
                                              .channel = channel,
                                              .step = step,
                                              .round = a->round,
                                              .kind = kind,
                                              .priority = alert_kind_escalates(a->kind) ? 0 : 1,
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

/* One notification of a step (reminder == 0) or a reminder (its number) to one recipient
 * through one channel, in the DESIGN.md §4 format. */
static int queue_notification(struct engine *e, const struct alert *a, const struct recipient *rc,
                              const char *channel, enum escalation_step step, int reminder,
                              const char *reason, int64_t now_usec)
{
        const struct household *h = a->household;
        const struct config *c = e->config;
        const char *address = h ? h->address : "";
        char id[ALERT_ID_MAX], topic[256], text[512];
        _cleanup_json_ cJSON *j = cJSON_CreateObject();
        _cleanup_free_ char *payload = NULL;
        int r;

        r = store_next_id(e->store, 'n', now_usec, id, sizeof(id));
        if (r < 0)
                return r;
        if (reminder > 0)
                snprintf(text, sizeof(text),
                         "【居家观察告警·第%d次提醒】%s %s，仍无人确认。请确认。", reminder,
                         address, default_text(a->kind));
        else if (a->round > 1 || a->step_index > 0)
                snprintf(text, sizeof(text),
                         "【居家观察告警】%s %s。无人确认，已升级（第%d轮·%s）。请确认。", address,
                         default_text(a->kind), a->round, step_label(step));
        else
                snprintf(text, sizeof(text), "【居家观察告警】%s %s。请确认。", address,
                         default_text(a->kind));
        snprintf(topic, sizeof(topic), "%s/workers/%s/ack", c->mqtt.topic_prefix, rc->worker->id);
        cJSON_AddStringToObject(j, "notification_id", id);
        cJSON_AddStringToObject(j, "alert_id", a->id);
        cJSON_AddNumberToObject(j, "round", a->round);
        cJSON_AddStringToObject(j, "household", h ? h->id : "");
        cJSON_AddStringToObject(j, "community", h ? h->community_id : "");
        cJSON_AddStringToObject(j, "address", address);
        cJSON_AddStringToObject(j, "kind", alert_kind_to_string(a->kind));
        cJSON_AddStringToObject(j, "severity", severity_to_string(a->severity));
        cJSON_AddStringToObject(j, "reason", reason ? reason : "");
        cJSON_AddStringToObject(j, "text", text);
        if (a->event_uid[0])
                cJSON_AddStringToObject(j, "event_id", a->event_uid);
        else
                cJSON_AddNullToObject(j, "event_id");
        if (a->event_ts > 0)
                cJSON_AddNumberToObject(j, "event_ts", a->event_ts);
        else
                cJSON_AddNullToObject(j, "event_ts");
        cJSON_AddNumberToObject(j, "raised_at", (double)a->raised_usec / 1e6);
        cJSON_AddStringToObject(j, "step", escalation_step_to_string(step));
        if (reminder > 0)
                cJSON_AddNumberToObject(j, "reminder", reminder);
        cJSON_AddStringToObject(j, "role", rc->role);
        cJSON_AddStringToObject(j, "worker", rc->worker->id);
        cJSON_AddStringToObject(j, "ack_topic", topic);
        cJSON_AddNullToObject(j, "ack_url");
        payload = cJSON_PrintUnformatted(j);
        if (!payload)
                return -ENOMEM;
        return insert_notification(e, a, id, rc->worker, channel, escalation_step_to_string(step),
                                   reminder > 0 ? "reminder" : "alert", payload, now_usec);
}

/* Queues one step (or reminder) of alert a: one notification per recipient and channel,
 * recipients resolved by the roster at now_usec. */
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
        free(rs.v);
        return r;
}

/* Queues the notifications of one escalation step: one per recipient and channel. */
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

static int raise_alert(struct engine *e, const struct household *h, const struct device *d,
                       const struct event *ev, const struct verdict *v, int64_t event_usec,
                       int64_t now_usec, struct alert **ret)
{
        bool device_scoped = v->alert == ALERT_TAMPER || v->alert == ALERT_DEVICE_OFFLINE ||
                             v->alert == ALERT_BATTERY_LOW;
        struct alert *a = find_joinable(e, h, v->alert, device_scoped ? d->id : NULL, event_usec);
        int r;

        if (a) {
                a->count++;
                a->last_event_usec = event_usec;
                *ret = a;
                return store_update_alert(e->store, a);
        }
        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        r = store_next_id(e->store, 'a', event_usec, a->id, sizeof(a->id));
        if (r < 0) {
                free(a);
                return r;
        }
        a->kind = v->alert;
        a->severity = v->severity;
        a->state = ALERT_OPEN;
        a->household = (struct household *)h;
        a->device_id = device_scoped ? xstrdup(d->id) : NULL;
        a->count = 1;
        a->raised_usec = now_usec;
        a->last_event_usec = event_usec;
        a->round = 1;
        a->step_index = 0;
        if (alert_kind_escalates(a->kind) && e->config->escalation.n_steps > 0)
                a->next_usec = escalation_first_deadline(e, now_usec);
        snprintf(a->event_uid, sizeof(a->event_uid), "%s", ev->id);
        a->event_ts = ev->has_ts ? ev->ts : (double)event_usec / 1e6;
        r = store_insert_alert(e->store, a, h->community_id, v->reason);
        if (r < 0) {
                alert_free(a);
                return r;
        }
        link_alert(e, a);
        e->counters.alerts_raised++;
        log_about(LOG_NOTICE, a->id, h->id, d->id, "alert %s: %s at household %s (%s)", a->id,
                  alert_kind_to_string(a->kind), h->id, v->reason);
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

static int health_on_event(struct engine *e, const struct device *d, const struct event *ev,
                           int64_t event_usec, int64_t now_usec, struct verdict *v,
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
        rules_judge(e->config, h, st, d, ev, event_usec, &v);
        r = health_on_event(e, d, ev, event_usec, recv_usec, &v, &a); /* device health */
        if (r < 0)
                return r;

        if (ev->type == EVENT_DOOR && ev->door != DOOR_UNKNOWN && ev->door != st->door) {
                st->door = ev->door;
                st->door_changed_usec = event_usec;
        } else if (ev->type == EVENT_RING && !ev->retained)
                st->last_ring_usec = event_usec;

        if (v.kind == VERDICT_ALERT && !a) {
                r = raise_alert(e, h, d, ev, &v, event_usec, recv_usec, &a);
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
                                   .source = d->source,
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
        if (!sa.found)
                *error = "unknown alert";
        else if (sa.state == ALERT_RESOLVED)
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

static const char *channel_label(const char *channel)
{
        if (str_eq(channel, "cli"))
                return "operator CLI";
        if (str_eq(channel, "http"))
                return "HTTP link";
        if (str_eq(channel, "api"))
                return "operator API";
        return "worker topic";
}

/* Tells everyone else who was notified of a that w acknowledged it (kind ack_notice). */
static int queue_ack_notices(struct engine *e, const struct alert *a, const struct worker *w,
                             const char *channel, int64_t now_usec)
{
        const struct household *h = a->household;
        struct notified nt = { .config = e->config, .except = w };
        char text[512];
        int r;

        r = store_foreach_notified_worker(e->store, a->id, notified_cb, &nt);
        snprintf(text, sizeof(text), "【居家观察】%s 已确认告警 %s（%s）",
                 w->name ? w->name : w->id, a->id, h ? h->address : "");
        for (size_t i = 0; i < nt.n && r >= 0; i++) {
                const struct worker *to = nt.v[i];
                for (size_t ch = 0; ch < to->n_channels && r >= 0; ch++) {
                        _cleanup_json_ cJSON *j = cJSON_CreateObject();
                        _cleanup_free_ char *payload = NULL;
                        char id[ALERT_ID_MAX];

                        r = store_next_id(e->store, 'n', now_usec, id, sizeof(id));
                        if (r < 0)
                                break;
                        cJSON_AddStringToObject(j, "notification_id", id);
                        cJSON_AddStringToObject(j, "kind", "ack_notice");
                        cJSON_AddStringToObject(j, "alert_id", a->id);
                        cJSON_AddStringToObject(j, "alert_kind", alert_kind_to_string(a->kind));
                        cJSON_AddStringToObject(j, "household", h ? h->id : "");
                        cJSON_AddStringToObject(j, "community", h ? h->community_id : "");
                        cJSON_AddStringToObject(j, "address", h ? h->address : "");
                        cJSON_AddStringToObject(j, "acked_by", w->id);
                        cJSON_AddStringToObject(j, "acked_by_name", w->name ? w->name : w->id);
                        cJSON_AddNumberToObject(j, "acked_at", (double)now_usec / 1e6);
                        cJSON_AddStringToObject(j, "channel", channel_label(channel));
                        cJSON_AddStringToObject(j, "text", text);
                        cJSON_AddStringToObject(j, "worker", to->id);
                        payload = cJSON_PrintUnformatted(j);
                        if (!payload) {
                                r = -ENOMEM;
                                break;
                        }
                        r = insert_notification(e, a, id, to, to->channels[ch], NULL, "ack_notice",
                                                payload, now_usec);
                }
        }
        if (r >= 0)
                log_debug("alert %s: %zu other recipients told that %s acknowledged", a->id, nt.n,
                          w->id);
        free(nt.v);
        return r;
}

int engine_ack(struct engine *e, const struct worker *w, const char *alert_id, const char *channel,
               int64_t now_usec, const char **error)
{
        struct alert *a = engine_find_alert(e, alert_id);
        int r;

        if (!a)
                return refuse_stored(e, alert_id, error);
        if (!may_act(e, w, a)) {
                *error = "worker may not act on this alert";
                return ENGINE_E_REFUSED;
        }
        if (a->state != ALERT_OPEN) {
                *error = "alert already acknowledged";
                return ENGINE_E_REFUSED;
        }
        /* The ack, its audit record and the notices to the others: all or nothing. */
        r = store_savepoint(e->store);
        if (r < 0)
                return r;
        r = store_set_alert_acked(e->store, a->id, w->id, channel, now_usec);
        if (r == 0)
                r = store_insert_action(e->store, "ack", w->id, channel, a->id, now_usec, NULL);
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
                  "alert %s acknowledged by %s via %s", a->id, w->id, channel);
        return ENGINE_OK;
}

int engine_resolve(struct engine *e, const struct worker *w, const char *alert_id, const char *note,
                   const char *channel, int64_t now_usec, const char **error)
{
        struct alert *a = engine_find_alert(e, alert_id);
        struct alert stale = { 0 };
        int r;

        if (!note || !*note) {
                *error = "\"note\" missing";
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
                return ENGINE_E_REFUSED;
        }
        r = store_begin(e->store);
        if (r == 0)
                r = store_set_alert_resolved(e->store, alert_id, w->id, channel, now_usec, note);
        if (r == 0)
                r = store_insert_action(e->store, "resolve", w->id, channel, alert_id, now_usec,
                                        note);
        if (r == STORE_E_NOT_FOUND)
                return refuse_stored(e, alert_id, error);
        if (r < 0)
                return r;
        log_about(LOG_NOTICE, alert_id, a && a->household ? a->household->id : NULL,
                  a ? a->device_id : NULL, "alert %s resolved by %s via %s", alert_id, w->id,
                  channel);
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
        timerq_push(&e->timers, a->next_usec, TIMER_ESCALATION, a->household, a->serial);
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
        timerq_push(&e->timers, now_usec + ESCALATION_RETRY_USEC, TIMER_ESCALATION, a->household,
                    a->serial);
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

static uint64_t health_token(const struct engine *e, const struct device *d)
{
        return (uint64_t)e->health_gen << 32 | (uint64_t)(d->index & 0xffffffffu);
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
        timerq_push(&e->timers, at, TIMER_HEALTH, d->household, health_token(e, d));
}

/* Open device_offline and battery_low alerts are reminded daily; an acked or recovered one
 * is not (next_usec 0). */
static int health_schedule_reminder(struct engine *e, struct alert *a, int64_t now_usec)
{
        if (alert_kind_escalates(a->kind) || a->state != ALERT_OPEN || a->next_usec)
                return 0;
        a->next_usec = now_usec + HEALTH_REMIND_EVERY_USEC;
        if (a->household)
                timerq_push(&e->timers, a->next_usec, TIMER_ESCALATION, a->household, a->serial);
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
                           int64_t event_usec, int64_t now_usec, struct verdict *v,
                           struct alert **ret)
{
        const struct household *h = d->household;
        struct device_state *st = &e->devices[d->index];
        const bool health_type = ev->type == EVENT_AVAILABILITY || ev->type == EVENT_BATTERY ||
                                 ev->type == EVENT_TAMPER || ev->type == EVENT_HEARTBEAT;
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
        if (health_type && !bridge) {
                hv.live_tamper = find_joinable(e, h, ALERT_TAMPER, d->id, event_usec) != NULL;
                hv.live_battery = find_joinable(e, h, ALERT_BATTERY_LOW, d->id, event_usec) != NULL;
        }
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
        if (ev->type == EVENT_BATTERY &&
            (ev->battery_low || ev->battery_percent >= 0 || ev->battery_mv > 0))
                st->health_battery_low = health_battery_is_low(e->config, d, ev, why, sizeof(why));
        if (bridge) {
                if (st->health_bridge_offline && ev->online)
                        st->health_since_usec = MAX(st->health_since_usec, now_usec);
                st->health_bridge_offline = !ev->online;
        }
        health_arm(e, d);

        /* Doors, rings and persons are the rules' (and so is a tamper rules.c alerted). */
        if (!health_type || v->kind == VERDICT_ALERT)
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
        const uint32_t gen = (uint32_t)(t->token >> 32);
        const size_t index = (size_t)(t->token & 0xffffffffu);
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
        if (d->household != t->ptr || st->health_timer_usec != t->usec)
                return 0; /* stale entry */
        st->health_timer_usec = 0;
        if (!health_stale(e->config, d, st, now_usec, &next, reason, sizeof(reason))) {
                health_arm(e, d);
                return 0;
        }
        r = store_savepoint(e->store);
        if (r == 0)
                r = health_raise(e, d->household, d, d->id, &ev, ALERT_DEVICE_OFFLINE, reason,
                                 now_usec, now_usec, &a);
        if (r < 0) {
                store_rollback_to(e->store);
                log_err_errno(r, "device %s: raising device_offline failed, retrying", d->id);
                st->health_timer_usec = now_usec + ESCALATION_RETRY_USEC;
                timerq_push(&e->timers, st->health_timer_usec, TIMER_HEALTH, d->household,
                            health_token(e, d));
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
        timerq_push(&e->timers, a->next_usec, TIMER_ESCALATION, a->household, a->serial);
        log_notice("alert %s: %s still open, reminder %d", a->id, alert_kind_to_string(a->kind),
                   a->reminders);
        return 0;
retry:
        log_err_errno(r, "alert %s: reminder failed, retrying", a->id);
        timerq_push(&e->timers, now_usec + ESCALATION_RETRY_USEC, TIMER_ESCALATION, a->household,
                    a->serial);
        return r;
}

static int health_seen_cb(const char *device_id, int64_t usec, void *userdata)
{
        struct engine *e = userdata;
        const struct device *d = config_device(e->config, device_id);

        if (d)
                e->devices[d->index].health_seen_usec =
                    MAX(e->devices[d->index].health_seen_usec, usec);
        return 0;
}

static int health_battery_cb(const char *device_id, int64_t usec, void *userdata)
{
        struct engine *e = userdata;
        const struct device *d = config_device(e->config, device_id);

        if (d)
                e->devices[d->index].health_battery_alert_usec =
                    MAX(e->devices[d->index].health_battery_alert_usec, usec);
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

/* Every pointer into the configuration that the engine holds is re-pointed here:
 * engine->config, alert->household, timer entries' ptr (always a household or NULL).
 * household_state and device_state are carried over by value: a field added to them that
 * points into the configuration must be re-pointed here too. */
int engine_reload(struct engine *e, const struct config *nc)
{
        const struct config *oc = e->config;
        struct household_state *hs;
        struct device_state *ds;
        struct household **moved; /* old household index -> its new record, or NULL */
        struct timerq timers = { 0 };
        size_t n_dropped = 0;

        hs = calloc(nc->n_households ? nc->n_households : 1, sizeof(*hs));
        ds = calloc(nc->n_devices ? nc->n_devices : 1, sizeof(*ds));
        moved = calloc(oc->n_households ? oc->n_households : 1, sizeof(*moved));
        if (!hs || !ds || !moved) {
                free(hs);
                free(ds);
                free(moved);
                return -ENOMEM;
        }
        /* From here on nothing fails. */
        for (size_t i = 0; i < nc->n_devices; i++) {
                const struct device *od = config_device(oc, nc->devices[i].id);
                if (od)
                        ds[i] = e->devices[od->index];
                else
                        ds[i].battery_percent = -1;
        }
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
                const struct household *oh = t->ptr;

                if (!oh)
                        timerq_push(&timers, t->usec, t->type, NULL, t->token);
                else if (moved[oh->index])
                        timerq_push(&timers, t->usec, t->type, moved[oh->index], t->token);
        }
        free(moved);
        free(e->households);
        free(e->devices);
        timerq_done(&e->timers);
        e->households = hs;
        e->devices = ds;
        e->timers = timers;
        e->config = nc;
        return 0;
}

/* engine.c: event -> verdict -> alert -> notifications.
 *
 * Ownership: the engine owns household_state[] and device_state[] (indexed like the
 * config's arrays) and every struct alert, which lives in its household's list and in
 * `alerts_by_id` until it is resolved or, once acked, its absorb window has passed.
 * The database is the source of truth: engine_load() rebuilds the lists at start.
 * All writes go through the store's current transaction (store_begin is idempotent). */
#include "engine.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "log.h"
#include "timerq.h"
#include "util.h"

/* Timer types in `timers`. Entries point at a household (stable for the config's life)
 * and carry a token naming what they are for; handlers ignore stale entries. */
enum {
        TIMER_ESCALATION, /* token = alert serial */
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
        engine_ack_url_fn ack_url;
        void *ack_url_userdata;
};

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

void engine_set_ack_url(struct engine *e, engine_ack_url_fn fn, void *userdata)
{
        e->ack_url = fn;
        e->ack_url_userdata = userdata;
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

int engine_tick(struct engine *e, int64_t now_usec)
{
        struct timerq_entry t;
        int r = 0;

        while (r >= 0 && timerq_pop_due(&e->timers, now_usec, &t)) {
                switch (t.type) {
                case TIMER_ESCALATION: {
                        struct alert *a = find_by_serial(e, t.ptr, t.token);
                        if (a && a->state == ALERT_OPEN && a->next_usec && a->next_usec <= now_usec)
                                r = fire_escalation(e, a, now_usec);
                        break;
                }
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
        a->event_ts = row->event_ts;
        snprintf(a->event_uid, sizeof(a->event_uid), "%s", row->event_uid ? row->event_uid : "");
        if (row->household && !a->household)
                log_warn("alert %s: household %s is no longer configured", a->id, row->household);
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

/* Who gets the given step. The roster decides who is on duty for each team role. */
static size_t step_recipients(struct engine *e, const struct alert *a, enum escalation_step step,
                              struct recipient *out, size_t max)
{
        const struct household *h = a->household;
        size_t n = 0;

        if (!h)
                return 0;
        for (int r = 0; r < TEAM_ROLES && n < max; r++)
                if (h->team[r])
                        out[n++] = (struct recipient){ h->team[r], role_to_string((enum role)r) };
        if (step >= STEP_LEADER && h->community && h->community->leader && n < max)
                out[n++] = (struct recipient){ h->community->leader, "leader" };
        if (step >= STEP_COMMAND)
                for (size_t i = 0; i < e->config->n_command && n < max; i++)
                        out[n++] = (struct recipient){ e->config->command[i], "command" };
        return n;
}

static int queue_notification(struct engine *e, const struct alert *a, const struct recipient *rc,
                              const char *channel, enum escalation_step step, const char *reason,
                              int64_t now_usec)
{
        const struct household *h = a->household;
        const struct config *c = e->config;
        char id[ALERT_ID_MAX], topic[256], text[512], url[1024];
        _cleanup_json_ cJSON *j = cJSON_CreateObject();
        _cleanup_free_ char *payload = NULL;
        int r;

        r = store_next_id(e->store, 'n', now_usec, id, sizeof(id));
        if (r < 0)
                return r;
        snprintf(text, sizeof(text), "【居家观察告警】%s %s。请确认。", h ? h->address : "",
                 default_text(a->kind));
        snprintf(topic, sizeof(topic), "%s/workers/%s/ack", c->mqtt.topic_prefix, rc->worker->id);
        cJSON_AddStringToObject(j, "notification_id", id);
        cJSON_AddStringToObject(j, "alert_id", a->id);
        cJSON_AddNumberToObject(j, "round", a->round);
        cJSON_AddStringToObject(j, "household", h ? h->id : "");
        cJSON_AddStringToObject(j, "community", h ? h->community_id : "");
        cJSON_AddStringToObject(j, "address", h ? h->address : "");
        cJSON_AddStringToObject(j, "kind", alert_kind_to_string(a->kind));
        cJSON_AddStringToObject(j, "severity", severity_to_string(a->severity));
        cJSON_AddStringToObject(j, "reason", reason);
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
        cJSON_AddStringToObject(j, "role", rc->role);
        cJSON_AddStringToObject(j, "worker", rc->worker->id);
        cJSON_AddStringToObject(j, "ack_topic", topic);
        if (e->ack_url &&
            e->ack_url(e->ack_url_userdata, a->id, rc->worker->id, now_usec, url, sizeof(url)))
                cJSON_AddStringToObject(j, "ack_url", url);
        else
                cJSON_AddNullToObject(j, "ack_url");
        payload = cJSON_PrintUnformatted(j);
        if (!payload)
                return -ENOMEM;
        r = store_insert_notification(e->store,
                                      &(struct store_notification){
                                          .id = id,
                                          .alert_id = a->id,
                                          .worker = rc->worker->id,
                                          .channel = channel,
                                          .step = escalation_step_to_string(step),
                                          .round = a->round,
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

/* Queues the notifications of one escalation step: one per recipient and channel. */
static int notify_step(struct engine *e, const struct alert *a, enum escalation_step step,
                       const char *reason, int64_t now_usec)
{
        struct recipient rcpt[64];
        size_t n = step_recipients(e, a, step, rcpt, ELEMENTSOF(rcpt));

        for (size_t i = 0; i < n; i++) {
                const struct worker *w = rcpt[i].worker;
                bool dup = false;
                for (size_t k = 0; k < i; k++)
                        dup = dup || rcpt[k].worker == w;
                if (dup)
                        continue;
                for (size_t ch = 0; ch < w->n_channels; ch++) {
                        int r = queue_notification(e, a, &rcpt[i], w->channels[ch], step, reason,
                                                   now_usec);
                        if (r < 0)
                                return r;
                }
        }
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
                a->next_usec = now_usec + e->config->escalation.ack_timeout_usec;
        snprintf(a->event_uid, sizeof(a->event_uid), "%s", ev->id);
        a->event_ts = ev->has_ts ? ev->ts : (double)event_usec / 1e6;
        r = store_insert_alert(e->store, a, h->community_id, v->reason);
        if (r < 0) {
                alert_free(a);
                return r;
        }
        link_alert(e, a);
        e->counters.alerts_raised++;
        if (a->kind >= 0 && a->kind < _ALERT_KIND_MAX)
                e->counters.alerts_by_kind[a->kind]++;
        log_notice("alert %s: %s at household %s (%s)", a->id, alert_kind_to_string(a->kind), h->id,
                   v->reason);
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

        if (ev->type == EVENT_DOOR && ev->door != DOOR_UNKNOWN && ev->door != st->door) {
                st->door = ev->door;
                st->door_changed_usec = event_usec;
        } else if (ev->type == EVENT_RING && !ev->retained)
                st->last_ring_usec = event_usec;

        if (v.kind == VERDICT_ALERT) {
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

int engine_ack(struct engine *e, const struct worker *w, const char *alert_id, const char *channel,
               int64_t now_usec, const char **error)
{
        struct alert *a = engine_find_alert(e, alert_id);
        int r;

        if (!a) {
                *error = "unknown or resolved alert";
                return ENGINE_E_REFUSED;
        }
        if (!may_act(e, w, a)) {
                *error = "worker may not act on this alert";
                return ENGINE_E_REFUSED;
        }
        if (a->state != ALERT_OPEN) {
                *error = "alert already acknowledged";
                return ENGINE_E_REFUSED;
        }
        r = store_begin(e->store);
        if (r == 0)
                r = store_set_alert_acked(e->store, a->id, w->id, channel, now_usec);
        if (r == 0)
                r = store_insert_action(e->store, "ack", w->id, channel, a->id, now_usec, NULL);
        if (r < 0)
                return r;
        a->state = ALERT_ACKED;
        a->acked_usec = now_usec;
        a->next_usec = 0;
        log_notice("alert %s acknowledged by %s via %s", a->id, w->id, channel);
        return ENGINE_OK;
}

int engine_resolve(struct engine *e, const struct worker *w, const char *alert_id, const char *note,
                   const char *channel, int64_t now_usec, const char **error)
{
        struct alert *a = engine_find_alert(e, alert_id);
        int r;

        if (!a) {
                *error = "unknown or resolved alert";
                return ENGINE_E_REFUSED;
        }
        if (!may_act(e, w, a)) {
                *error = "worker may not act on this alert";
                return ENGINE_E_REFUSED;
        }
        r = store_begin(e->store);
        if (r == 0)
                r = store_set_alert_resolved(e->store, a->id, w->id, channel, now_usec, note);
        if (r == 0)
                r = store_insert_action(e->store, "resolve", w->id, channel, a->id, now_usec, note);
        if (r < 0)
                return r;
        log_notice("alert %s resolved by %s via %s", a->id, w->id, channel);
        unlink_alert(e, a);
        return ENGINE_OK;
}

/* Escalation (DESIGN.md §6): the next step after ack_timeout without an ack. */
static int fire_escalation(struct engine *e, struct alert *a, int64_t now_usec)
{
        log_debug("alert %s: escalation deadline reached (step %d, round %d)", a->id, a->step_index,
                  a->round);
        a->next_usec = 0;
        int r = store_begin(e->store);
        return r < 0 ? r : store_update_alert(e->store, a);
}

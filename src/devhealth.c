/* devhealth.c: device health (DESIGN.md §6) as the engine runs it.
 *
 * health.c decides; this module applies its decisions. Every availability, battery,
 * tamper and heartbeat event goes through devhealth_on_event() (after rules_judge(), which
 * may already have judged a tamper): it keeps the device's health_* state, records
 * recoveries, and raises device_offline, battery_low and tamper (to the community worker
 * and installers, see alerts.c). A bridge's offline is one alert keyed by the
 * bridge's id (its status topic) on the household of the first device that reported it;
 * the bridges are kept in e->health_bridges. Staleness: one TIMER_HEALTH entry per device
 * at its stale instant, re-armed lazily when it fires early (health_timer_usec names the
 * armed one). device_offline and battery_low do not escalate: an open one is reminded
 * every HEALTH_REMIND_EVERY_USEC (next_usec, TIMER_ESCALATION, devhealth_remind()) until it
 * is acknowledged or its device recovers. */
#include "devhealth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "engine-private.h"
#include "hashmap.h"
#include "health.h"
#include "log.h"
#include "store.h"
#include "util.h"

struct bridge {
        char *id;
        char alert_id[ALERT_ID_MAX]; /* the offline episode's alert, "" when none */
};

void devhealth_free_bridges(struct engine *e)
{
        const char *key;
        void *value;
        size_t i = 0;

        while (hashmap_iterate(e->health_bridges, &i, &key, &value)) {
                struct bridge *b = value;
                free(b->id);
                free(b);
        }
        hashmap_free(e->health_bridges);
        e->health_bridges = NULL;
}

static struct bridge *bridge_get(struct engine *e, const char *id)
{
        struct bridge *b = hashmap_get(e->health_bridges, id);

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
static struct alert *bridge_alert(struct engine *e, const char *bridge_id)
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
static void arm_check(struct engine *e, const struct device *d)
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
static int schedule_reminder(struct engine *e, struct alert *a, int64_t now_usec)
{
        if (alert_kind_escalates(a->kind) || a->state != ALERT_OPEN || a->next_usec)
                return 0;
        a->next_usec = now_usec + HEALTH_REMIND_EVERY_USEC;
        if (a->household)
                alerts_push_timer(e, a, a->next_usec);
        return store_update_alert(e->store, a);
}

/* Records on alert a that its device (or bridge) `who` recovered; reminders stop, the
 * alert stays open until a worker resolves it. */
static int record_recovery(struct engine *e, struct alert *a, const char *who, const char *detail,
                           int64_t now_usec)
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
static int raise_health_alert(struct engine *e, const struct household *h, const struct device *d,
                              const char *key, const struct event *ev, enum alert_kind kind,
                              const char *reason, int64_t event_usec, int64_t now_usec,
                              struct alert **ret)
{
        struct verdict v = { .kind = VERDICT_ALERT, .alert = kind };
        /* alerts_raise() keys device-scoped alerts by d->id: a bridge's alert by its id. */
        struct device keyed = *d;
        int r;

        v.severity = alert_kind_default_severity(kind);
        snprintf(v.reason, sizeof(v.reason), "%s", reason);
        keyed.id = (char *)key;
        r = alerts_raise(e, h, &keyed, ev, &v, event_usec, now_usec, ret);
        if (r < 0)
                return r;
        return schedule_reminder(e, *ret, now_usec);
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

static int on_bridge(struct engine *e, const struct device *d, const struct event *ev,
                     const struct health_decision *dec, int64_t event_usec, int64_t now_usec,
                     struct verdict *v, struct alert **ret)
{
        struct bridge *b = bridge_get(e, ev->bridge_id[0] ? ev->bridge_id : "?");
        struct alert *a = b->alert_id[0] ? engine_find_alert(e, b->alert_id) : NULL;
        int r;

        switch (dec->action) {
        case HEALTH_RAISE:
                /* An acked alert of the bridge within ack_absorb may live in another household. */
                a = bridge_alert(e, b->id);
                r = raise_health_alert(e, a && a->household ? a->household : d->household, d, b->id,
                                       ev, ALERT_DEVICE_OFFLINE, dec->reason, event_usec, now_usec,
                                       ret);
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
                return record_recovery(e, a, b->id, dec->reason, now_usec);
        default:
                set_ignored(v, dec->reason);
                return 0;
        }
}

int devhealth_on_event(struct engine *e, const struct device *d, const struct event *ev,
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
                struct bridge *b = bridge_get(e, ev->bridge_id[0] ? ev->bridge_id : "?");
                hv.bridge_alerted = b->alert_id[0] && engine_find_alert(e, b->alert_id);
        }
        if (ev->type == EVENT_BATTERY)
                hv.live_battery =
                    alerts_find_joinable(e, h, ALERT_BATTERY_LOW, d->id, event_usec) != NULL;
        health_judge(e->config, d, ev, &hv, event_usec, &dec);

        /* The device's health state, whatever the verdict. */
        if (health_event_alive(ev))
                st->health_seen_usec = MAX(st->health_seen_usec, now_usec);
        if (dec.recovered) {
                st->health_offline = false;
                a = alerts_find_joinable(e, h, ALERT_DEVICE_OFFLINE, d->id, event_usec);
                if (a) {
                        snprintf(why, sizeof(why), "device %s: %s after being offline", d->id,
                                 event_type_to_string(ev->type));
                        r = record_recovery(e, a, d->id, why, now_usec);
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
        arm_check(e, d);

        /* Doors, rings, persons and tamper are the rules'; a repeat within debounce keeps the
         * rules' verdict. */
        if (!health_type || debounced || v->kind == VERDICT_ALERT)
                return 0;
        if (bridge)
                return on_bridge(e, d, ev, &dec, event_usec, now_usec, v, ret);
        switch (dec.action) {
        case HEALTH_RAISE:
                raised = e->counters.alerts_raised;
                r = raise_health_alert(e, h, d, d->id, ev, dec.kind, dec.reason, event_usec,
                                       now_usec, ret);
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
                a = alerts_find_joinable(e, h, dec.kind, d->id, event_usec);
                if (!a)
                        return 0;
                *ret = a;
                set_recovered(v, dec.reason, a);
                return record_recovery(e, a, d->id, dec.reason, now_usec);
        default:
                set_ignored(v, dec.reason);
                return 0;
        }
}

/* A staleness check came due: device_offline when the device is still silent, else the
 * check moves to the new stale instant. */
int devhealth_fire(struct engine *e, const struct timerq_entry *t, int64_t now_usec)
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
                arm_check(e, d);
                return 0;
        }
        r = store_savepoint(e->store);
        if (r == 0) {
                r = raise_health_alert(e, d->household, d, d->id, &ev, ALERT_DEVICE_OFFLINE, reason,
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
int devhealth_remind(struct engine *e, struct alert *a, int64_t now_usec)
{
        const int64_t deadline = a->next_usec;
        char reason[VERDICT_REASON_MAX];
        int r;

        r = store_savepoint(e->store);
        if (r < 0)
                goto retry;
        a->reminders++;
        while (a->next_usec <= now_usec)
                a->next_usec += HEALTH_REMIND_EVERY_USEC;
        r = alerts_stored_reason(e, a->id, reason, sizeof(reason));
        if (r == 0)
                r = alerts_notify(e, a, STEP_TEAM, a->reminders, reason, now_usec);
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
        alerts_push_timer(e, a, a->next_usec);
        log_notice("alert %s: %s still open, reminder %d", a->id, alert_kind_to_string(a->kind),
                   a->reminders);
        return 0;
retry:
        log_err_errno(r, "alert %s: reminder failed, retrying", a->id);
        alerts_push_timer(e, a, now_usec + ESCALATION_RETRY_USEC);
        return r;
}

/* The state of a configured device by id, or NULL (a device no longer configured). */
static struct device_state *device_state_by_id(struct engine *e, const char *device_id)
{
        const struct device *d = config_device(e->config, device_id);
        return d ? &e->devices[d->index] : NULL;
}

static int seen_cb(const char *device_id, int64_t usec, void *userdata)
{
        struct device_state *st = device_state_by_id(userdata, device_id);

        if (st)
                st->health_seen_usec = MAX(st->health_seen_usec, usec);
        return 0;
}

static int battery_cb(const char *device_id, int64_t usec, void *userdata)
{
        struct device_state *st = device_state_by_id(userdata, device_id);

        if (st)
                st->health_battery_alert_usec = MAX(st->health_battery_alert_usec, usec);
        return 0;
}

/* Arms every device's check under a new generation (older entries go stale). Devices
 * without a fresh sign of life count as seen at now: a restart or a new device gets its
 * full offline_after. */
static void arm_all(struct engine *e, int64_t now_usec)
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
                arm_check(e, d);
        }
}

int devhealth_start(struct engine *e, int64_t now_usec)
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
                                              seen_cb, e);
        if (r >= 0)
                r = store_foreach_alert_raised(e->store, alert_kind_to_string(ALERT_BATTERY_LOW),
                                               now_usec - HEALTH_BATTERY_ALERT_EVERY_USEC,
                                               battery_cb, e);
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
                        snprintf(bridge_get(e, a->device_id)->alert_id, ALERT_ID_MAX, "%s", a->id);
                else if (a->kind == ALERT_BATTERY_LOW && d)
                        e->devices[d->index].health_battery_low = true;
        }
        arm_all(e, now_usec);
        log_info("device health: %zu devices watched for silence", c->n_devices);
        return 0;
}

void devhealth_rearm(struct engine *e, int64_t now_usec)
{
        if (e->health_gen)
                arm_all(e, now_usec);
}

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

#include <errno.h>
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

/* The live alert of a bridge's offline episode (as c leaves it), found by its id in any
 * household. */
static const struct alert *bridge_alert(struct engine *e, const struct alerts_change *c,
                                        const char *bridge_id)
{
        const struct alert *a;
        size_t i = 0;

        while (alerts_next(e, c, &i, &a))
                if (a->kind == ALERT_DEVICE_OFFLINE && str_eq(a->device_id, bridge_id))
                        return a;
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
static int schedule_reminder(struct alerts_change *c, struct alert *a, int64_t now_usec)
{
        if (alert_kind_escalates(a->kind) || a->state != ALERT_OPEN || a->next_usec)
                return 0;
        a = alerts_edit(c, a);
        a->next_usec = now_usec + HEALTH_REMIND_EVERY_USEC;
        return 0;
}

/* Records on alert a that its device (or bridge) `who` recovered; reminders stop, the
 * alert stays open until a worker resolves it. */
static int record_recovery(struct alerts_change *c, const struct alert *a, const char *who,
                           const char *detail)
{
        struct alert *w;
        int r = alerts_recovered(c, a, who, detail);

        if (r < 0 || !a->next_usec || alert_kind_escalates(a->kind))
                return r;
        w = alerts_edit(c, a);
        w->next_usec = 0; /* its reminder entry goes stale */
        return 0;
}

/* Raises (or joins) a health alert of kind for device or bridge `key` on household h. */
static int raise_health_alert(struct engine *e, struct alerts_change *c, const struct household *h,
                              const char *key, const struct event *ev, enum alert_kind kind,
                              const char *reason, int64_t event_usec, int64_t now_usec,
                              struct alert **ret)
{
        struct verdict v = { .kind = VERDICT_ALERT, .alert = kind };
        int r;

        v.severity = alert_kind_default_severity(kind);
        snprintf(v.reason, sizeof(v.reason), "%s", reason);
        r = alerts_raise(e, c, h, key, ev, &v, event_usec, now_usec, ret);
        if (r < 0)
                return r;
        return schedule_reminder(c, *ret, now_usec);
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

static const char *bridge_key(const struct event *ev)
{
        return ev->bridge_id[0] ? ev->bridge_id : "?";
}

/* The live alert of a bridge's episode as memory has it, or NULL. */
static const struct alert *bridge_episode(struct engine *e, const char *key)
{
        const struct bridge *b = hashmap_get(e->health_bridges, key);

        return b && b->alert_id[0] ? alerts_find(e, b->alert_id) : NULL;
}

static int on_bridge(struct engine *e, struct engine_change *ch, const struct device *d,
                     const struct event *ev, const struct health_decision *dec, int64_t event_usec,
                     int64_t now_usec, struct verdict *v, const struct alert **ret)
{
        struct alerts_change *c = &ch->alerts;
        const char *key = bridge_key(ev);
        const struct alert *a = bridge_episode(e, key), *other;
        struct alert *raised;
        int r;

        switch (dec->action) {
        case HEALTH_RAISE:
                /* An acked alert of the bridge within ack_absorb may live in another household. */
                other = bridge_alert(e, c, key);
                r = raise_health_alert(
                    e, c, other && other->household ? other->household : d->household, key, ev,
                    ALERT_DEVICE_OFFLINE, dec->reason, event_usec, now_usec, &raised);
                if (r < 0)
                        return r;
                *ret = raised;
                ch->health.bridge_id = key;
                ch->health.bridge_alert = raised;
                set_alert(v, ALERT_DEVICE_OFFLINE, dec->reason);
                return 0;
        case HEALTH_RECOVER:
                ch->health.bridge_id = key;
                ch->health.bridge_alert = NULL;
                set_ignored(v, dec->reason);
                if (!a)
                        return 0;
                *ret = a;
                set_recovered(v, dec->reason, a);
                return record_recovery(c, a, key, dec->reason);
        default:
                set_ignored(v, dec->reason);
                return 0;
        }
}

int devhealth_decide(struct engine *e, struct engine_change *ch, const struct device *d,
                     const struct event *ev, int64_t event_usec, int64_t now_usec, bool debounced,
                     struct verdict *v, const struct alert **ret)
{
        struct alerts_change *c = &ch->alerts;
        const struct household *h = d->household;
        struct device_state *st = &ch->health.st;
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
        const struct alert *a;
        struct alert *raised;
        char why[96];
        int r;

        if (bridge)
                hv.bridge_alerted = bridge_episode(e, bridge_key(ev)) != NULL;
        if (ev->type == EVENT_BATTERY)
                hv.live_battery =
                    alerts_find_joinable(e, c, h, ALERT_BATTERY_LOW, d->id, event_usec) != NULL;
        health_judge(e->config, d, ev, &hv, event_usec, &dec);

        /* The device's health state, whatever the verdict. */
        if (health_event_alive(ev))
                st->health_seen_usec = MAX(st->health_seen_usec, now_usec);
        if (dec.recovered) {
                st->health_offline = false;
                a = alerts_find_joinable(e, c, h, ALERT_DEVICE_OFFLINE, d->id, event_usec);
                if (a) {
                        snprintf(why, sizeof(why), "device %s: %s after being offline", d->id,
                                 event_type_to_string(ev->type));
                        r = record_recovery(c, a, d->id, why);
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

        /* Doors, rings, persons and tamper are the rules'; a repeat within debounce keeps the
         * rules' verdict. */
        if (!health_type || debounced || v->kind == VERDICT_ALERT)
                return 0;
        if (bridge)
                return on_bridge(e, ch, d, ev, &dec, event_usec, now_usec, v, ret);
        switch (dec.action) {
        case HEALTH_RAISE:
                r = raise_health_alert(e, c, h, d->id, ev, dec.kind, dec.reason, event_usec,
                                       now_usec, &raised);
                if (r < 0)
                        return r;
                *ret = raised;
                if (dec.kind == ALERT_DEVICE_OFFLINE)
                        st->health_offline = true;
                if (dec.kind == ALERT_BATTERY_LOW && alerts_is_new(c, raised))
                        st->health_battery_alert_usec = event_usec;
                set_alert(v, dec.kind, dec.reason);
                return 0;
        case HEALTH_RECOVER:
                set_ignored(v, dec.reason);
                a = alerts_find_joinable(e, c, h, dec.kind, d->id, event_usec);
                if (!a)
                        return 0;
                *ret = a;
                set_recovered(v, dec.reason, a);
                return record_recovery(c, a, d->id, dec.reason);
        default:
                set_ignored(v, dec.reason);
                return 0;
        }
}

void devhealth_begin(struct engine *e, struct devhealth_change *hc, const struct device *d)
{
        hc->d = d;
        if (d)
                hc->st = e->devices[d->index];
        hc->bridge_id = NULL;
        hc->bridge_alert = NULL;
}

void devhealth_apply(struct engine *e, struct devhealth_change *hc)
{
        const struct device *d = hc->d;

        if (d) {
                struct device_state *st = &e->devices[d->index];

                st->health_seen_usec = hc->st.health_seen_usec;
                st->health_since_usec = hc->st.health_since_usec;
                st->health_battery_alert_usec = hc->st.health_battery_alert_usec;
                st->health_offline = hc->st.health_offline;
                st->health_bridge_offline = hc->st.health_bridge_offline;
                st->health_battery_low = hc->st.health_battery_low;
                arm_check(e, d);
        }
        if (hc->bridge_id)
                snprintf(bridge_get(e, hc->bridge_id)->alert_id, ALERT_ID_MAX, "%s",
                         hc->bridge_alert ? hc->bridge_alert->id : "");
        hc->d = NULL;
        hc->bridge_id = NULL;
}

/* A staleness check came due: device_offline when the device is still silent, else the
 * check moves to the new stale instant. */
int devhealth_fire(struct engine *e, const struct timerq_entry *t, int64_t now_usec)
{
        const uint32_t gen = t->token;
        const size_t index = t->index;
        const struct event ev = { .type = EVENT_AVAILABILITY, .battery_percent = -1 };
        struct alerts_change *c = &e->change.alerts;
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
        alerts_change_begin(c);
        r = raise_health_alert(e, c, d->household, d->id, &ev, ALERT_DEVICE_OFFLINE, reason,
                               now_usec, now_usec, &a);
        if (r == 0)
                r = alerts_change_finish(e, c, now_usec);
        else
                alerts_change_drop(c);
        if (r < 0) {
                log_err_errno(r, "device %s: raising device_offline failed, retrying", d->id);
                st->health_timer_usec = now_usec + ESCALATION_RETRY_USEC;
                timerq_push(&e->timers, st->health_timer_usec, TIMER_HEALTH, d->index,
                            e->health_gen);
                return r;
        }
        st->health_offline = true;
        return 0;
}

/* The daily reminder of an open device_offline or battery_low alert. */
int devhealth_remind(struct engine *e, struct alert *live, int64_t now_usec)
{
        struct alerts_change *c = &e->change.alerts;
        char reason[VERDICT_REASON_MAX];
        struct alert *a;
        int r;

        r = alerts_stored_reason(e, live->id, reason, sizeof(reason));
        if (r < 0)
                goto retry;
        alerts_change_begin(c);
        a = alerts_edit(c, live);
        a->reminders++;
        while (a->next_usec <= now_usec)
                a->next_usec += HEALTH_REMIND_EVERY_USEC;
        r = alerts_tell_step(c, a, STEP_TEAM, a->reminders, reason);
        if (r == 0)
                r = alerts_change_finish(e, c, now_usec);
        else
                alerts_change_drop(c);
        if (r < 0)
                goto retry;
        log_notice("alert %s: %s still open, reminder %d", live->id,
                   alert_kind_to_string(live->kind), live->reminders);
        return 0;
retry:
        log_err_errno(r, "alert %s: reminder failed, retrying", live->id);
        alerts_push_timer(e, live, now_usec + ESCALATION_RETRY_USEC);
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
        const struct alert *a;
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
        while (alerts_next(e, NULL, &i, &a)) {
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

void devhealth_reset(struct engine *e)
{
        const char *key;
        void *value;
        size_t i = 0;

        for (size_t k = 0; k < e->config->n_devices; k++) {
                struct device_state *st = &e->devices[k];

                st->health_seen_usec = st->health_since_usec = 0;
                st->health_timer_usec = st->health_battery_alert_usec = 0;
                st->health_offline = st->health_bridge_offline = st->health_battery_low = false;
        }
        while (hashmap_iterate(e->health_bridges, &i, &key, &value))
                ((struct bridge *)value)->alert_id[0] = 0;
}

void devhealth_rearm(struct engine *e, int64_t now_usec)
{
        if (e->health_gen)
                arm_all(e, now_usec);
}

/* observation.c: the observation rules (issue 4) as the engine runs them.
 *
 * rules.c decides; this module applies its verdicts: person_left upgrades the opening's
 * alert, deadlines (hand-off expired, held open, pass overdue) are settled in event time
 * before each event of the household and by a realtime timer (TIMER_RULES) when no event
 * comes, observations end (TIMER_OBSERVATION_END), and the household's rule state is
 * stored after every change so it survives a restart. */
#include "observation.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "engine-private.h"
#include "escalation.h"
#include "jsonw.h"
#include "log.h"
#include "store.h"
#include "util.h"

/* A camera saw a person leave near an unexpected opening: its alert (open, or acked within
 * ack_absorb) becomes person_left, critical, and its recipients get an updated notification;
 * without one a person_left alert is raised. */
static int upgrade_to_person_left(struct engine *e, const struct household *h,
                                  const struct device *d, const struct event *ev,
                                  const struct verdict *v, int64_t event_usec, int64_t now_usec,
                                  struct alert **ret)
{
        const struct escalation *esc = &e->config->escalation;
        struct alert *a = alerts_find_joinable(e, h, ALERT_DOOR_OPEN_UNEXPECTED, NULL, event_usec);
        enum escalation_step step;
        int r;

        if (!a)
                return alerts_raise(e, h, d, ev, v, event_usec, now_usec, ret);
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
        return alerts_notify_step(e, a, step, v->reason, now_usec);
}

/* d may be NULL for alerts raised by a deadline or the end of observation (never
 * device-scoped kinds). */
int observation_act(struct engine *e, const struct household *h, const struct device *d,
                    const struct event *ev, const struct verdict *v, int64_t event_usec,
                    int64_t now_usec, struct alert **ret)
{
        if (v->alert == ALERT_PERSON_LEFT)
                return upgrade_to_person_left(e, h, d, ev, v, event_usec, now_usec, ret);
        return alerts_raise(e, h, d, ev, v, event_usec, now_usec, ret);
}

/* Handles every rule deadline of h at or before until_usec (event time), in order. */
int observation_settle(struct engine *e, const struct household *h, int64_t until_usec,
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
                r = observation_act(e, h, NULL, &ev, &v, at, now_usec, &a);
                if (r < 0)
                        return r;
        }
        log_warn("household %s: rule deadlines did not settle", h->id);
        return 0;
}

/* Before judging an event: the household's clock offset, debounce, due deadlines.
 * Returns 1 (and *ret) when the event is a debounced repeat, 0 to judge it. */
int observation_before_event(struct engine *e, const struct device *d, const struct event *ev,
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
        return observation_settle(e, h, event_usec, recv_usec);
}

/* Arms TIMER_RULES for the household's next deadline, mapped onto the realtime clock. */
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
        engine_compact_timers(e);
}

/* Stores what changed in h's rule state (passes, the JSON state) and re-arms its timer. */
int observation_persist(struct engine *e, const struct household *h, int64_t event_usec,
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

int observation_timer(struct engine *e, const struct household *h, uint32_t token, int64_t now_usec)
{
        struct household_state *st = &e->households[h->index];
        int64_t until = now_usec - st->clock_offset_usec;
        int r;

        if (token != st->timer_token)
                return 0; /* stale: the state changed since it was armed */
        st->timer_usec = 0;
        r = store_begin(e->store);
        if (r == 0)
                r = observation_settle(e, h, until, now_usec);
        if (r == 0)
                r = observation_persist(e, h, until, now_usec);
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
static int end_once(struct engine *e, const struct household *h, int64_t now_usec)
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
                alerts_unlink(e, a);
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
        return observation_act(e, h, NULL, &ev, &v, h->obs_end_usec, now_usec, &a);
}

int observation_end(struct engine *e, const struct household *h, int64_t now_usec)
{
        int r = end_once(e, h, now_usec);

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

int observation_load(struct engine *e)
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
void observation_reloaded(struct engine *e, const struct config *oc)
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

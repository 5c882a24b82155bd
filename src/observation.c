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
static int upgrade_to_person_left(struct engine *e, struct alerts_change *c,
                                  const struct household *h, const struct device *d,
                                  const struct event *ev, const struct verdict *v,
                                  int64_t event_usec, int64_t now_usec, const struct alert **ret)
{
        const struct escalation *esc = &e->config->escalation;
        const struct alert *found =
            alerts_find_joinable(e, c, h, ALERT_DOOR_OPEN_UNEXPECTED, NULL, event_usec);
        enum escalation_step step;
        struct alert *a;
        int r;

        if (!found) {
                r = alerts_raise(e, c, h, d ? d->id : NULL, ev, v, event_usec, now_usec, &a);
                *ret = a;
                return r;
        }
        a = alerts_edit(c, found);
        if (!a)
                return -ENOMEM;
        *ret = a;
        a->count++;
        if (event_usec > a->last_event_usec)
                a->last_event_usec = event_usec;
        if (a->kind == ALERT_PERSON_LEFT)
                return 0;
        r = alerts_upgrade(c, a, ALERT_PERSON_LEFT, SEVERITY_CRITICAL, v->reason);
        if (r < 0)
                return r;
        step = STEP_TEAM;
        if (esc->n_steps > 0)
                step = esc->steps[a->step_index >= 0 && (size_t)a->step_index < esc->n_steps
                                      ? (size_t)a->step_index
                                      : 0];
        return alerts_tell_step(c, a, step, 0, v->reason);
}

int observation_act(struct engine *e, struct alerts_change *c, const struct household *h,
                    const struct device *d, const struct event *ev, const struct verdict *v,
                    int64_t event_usec, int64_t now_usec, const struct alert **ret)
{
        struct alert *a = NULL;
        int r;

        if (v->alert == ALERT_PERSON_LEFT)
                return upgrade_to_person_left(e, c, h, d, ev, v, event_usec, now_usec, ret);
        r = alerts_raise(e, c, h, d ? d->id : NULL, ev, v, event_usec, now_usec, &a);
        *ret = a;
        return r;
}

/* Handles every rule deadline of ch's household at or before until_usec (event time), in
 * order, on ch's copy of its state. */
static int settle(struct engine *e, struct engine_change *ch, int64_t until_usec, int64_t now_usec)
{
        const struct household *h = ch->h;
        struct household_state *st = &ch->st;

        /* Each round marks its deadline done; the bound only guards against a rules bug. */
        for (int round = 0; round < 4 * RULES_PASSES_MAX + 8; round++) {
                struct rules_due due;
                struct verdict v;
                const struct alert *a = NULL;
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
                r = observation_act(e, &ch->alerts, h, NULL, &ev, &v, at, now_usec, &a);
                if (r < 0)
                        return r;
        }
        log_warn("household %s: rule deadlines did not settle", h->id);
        return 0;
}

int observation_decide(struct engine *e, struct engine_change *ch, const struct device *d,
                       const struct event *ev, int64_t event_usec, int64_t recv_usec,
                       struct verdict *ret)
{
        const struct household *h = ch->h;
        struct household_state *st = &ch->st;
        const struct policy *p = rules_policy(e->config, h);
        char w[32];
        int r;

        if (!ev->retained) {
                int64_t off = recv_usec - event_usec;
                /* Jitter below a second is not worth a write of the state. */
                if (off - st->clock_offset_usec > USEC_PER_SEC ||
                    st->clock_offset_usec - off > USEC_PER_SEC)
                        st->clock_offset_usec = off;
        }
        if (rules_debounce(p, &ch->debounce, ev, event_usec)) {
                *ret = (struct verdict){ .kind = VERDICT_IGNORED,
                                         .basis = BASIS_DEBOUNCED,
                                         .pass = -1 };
                snprintf(ret->reason, sizeof(ret->reason),
                         "repeat of the device's previous %s event within debounce (%s)",
                         event_type_to_string(ev->type), format_duration(p->debounce_usec, w));
                return 1;
        }
        r = settle(e, ch, event_usec, recv_usec);
        if (r < 0)
                return r;
        rules_judge(e->config, h, st, d, ev, event_usec, ret);
        rules_apply(e->config, h, st, d, ev, event_usec, ret);
        return 0;
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

/* Stores what changed in st, h's rule state (passes, the JSON state), and notes in st what
 * was stored. */
static int write_state(struct engine *e, const struct household *h, struct household_state *st,
                       int64_t event_usec, int64_t now_usec)
{
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
        return 0;
}

int observation_write(struct engine *e, struct engine_change *ch, int64_t event_usec,
                      int64_t now_usec)
{
        return write_state(e, ch->h, &ch->st, event_usec, now_usec);
}

int observation_begin(struct engine *e, struct engine_change *ch, const struct household *h,
                      const struct device *d)
{
        ch->h = h;
        ch->device = d;
        if (d)
                ch->debounce = e->debounce[d->index];
        return h ? rules_state_copy(&ch->st, &e->households[h->index]) : 0;
}

void observation_apply(struct engine *e, struct engine_change *ch)
{
        const struct household *h = ch->h;

        if (ch->device)
                e->debounce[ch->device->index] = ch->debounce;
        if (h) {
                struct household_state *st = &e->households[h->index], old = *st;

                /* The copy becomes the state; the old one's memory is the next copy's. */
                *st = ch->st;
                ch->st = old;
                schedule_household(e, h);
        }
        ch->h = NULL;
        ch->device = NULL;
}

int observation_persist(struct engine *e, const struct household *h, int64_t event_usec,
                        int64_t now_usec)
{
        int r = write_state(e, h, &e->households[h->index], event_usec, now_usec);

        if (r < 0)
                return r;
        schedule_household(e, h);
        return 0;
}

/* Decides ch (set up for h), writes it under a savepoint (with the rule state when
 * write_rules) and applies it; on failure nothing of it is in the database or memory. */
static int finish(struct engine *e, int64_t event_usec, int64_t now_usec, bool write_rules)
{
        struct engine_change *ch = &e->change;
        int r = store_savepoint(e->store);

        if (r == 0) {
                r = alerts_persist(e, &ch->alerts, now_usec);
                if (r == 0 && write_rules)
                        r = observation_write(e, ch, event_usec, now_usec);
                if (r == 0)
                        r = store_release(e->store);
                if (r < 0)
                        store_rollback_to(e->store);
        }
        if (r < 0) {
                engine_change_drop(e);
                return r;
        }
        engine_change_apply(e);
        return 0;
}

int observation_settle(struct engine *e, const struct household *h, int64_t until_usec,
                       int64_t now_usec)
{
        int r = engine_change_begin(e, h, NULL);

        if (r == 0)
                r = settle(e, &e->change, until_usec, now_usec);
        if (r < 0) {
                engine_change_drop(e);
                return r;
        }
        return finish(e, until_usec, now_usec, false);
}

int observation_timer(struct engine *e, const struct household *h, uint32_t token, int64_t now_usec)
{
        struct household_state *st = &e->households[h->index];
        int64_t until = now_usec - st->clock_offset_usec;
        int r;

        if (token != st->timer_token)
                return 0; /* stale: the state changed since it was armed */
        st->timer_usec = 0;
        r = engine_change_begin(e, h, NULL);
        if (r == 0)
                r = settle(e, &e->change, until, now_usec);
        if (r < 0)
                engine_change_drop(e);
        else
                r = finish(e, until, now_usec, true);
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
        struct engine_change *ch = &e->change;
        const struct alert *a;
        struct verdict v = { .kind = VERDICT_ALERT,
                             .alert = ALERT_OBSERVATION_ENDED,
                             .severity = SEVERITY_INFO,
                             .basis = BASIS_OUTSIDE_WINDOW,
                             .pass = -1 };
        struct event ev = { .type = EVENT_HEARTBEAT };
        char when[32];
        size_t resolved = 0;
        bool notice = h->obs_end_usec >= e->db_created_usec;
        int r;

        if (e->households[h->index].observation_noticed || now_usec < h->obs_end_usec)
                return 0;
        r = engine_change_begin(e, h, NULL);
        for (a = e->households[h->index].alerts; a && r == 0; a = a->next, resolved++)
                r = alerts_resolve(&ch->alerts, a, "system", CHANNEL_SYSTEM, "observation ended");
        ch->st.observation_noticed = true;
        if (r == 0 && notice) {
                snprintf(v.reason, sizeof(v.reason),
                         "observation ended at %s (%zu open alerts resolved); collect the devices",
                         format_local_time(h->obs_end_usec, when), resolved);
                r = observation_act(e, &ch->alerts, h, NULL, &ev, &v, h->obs_end_usec, now_usec,
                                    &a);
        }
        if (r < 0) {
                engine_change_drop(e);
                return r;
        }
        r = finish(e, h->obs_end_usec, now_usec, false);
        if (r == 0 && !notice && resolved)
                log_info("household %s: observation ended; %zu alerts resolved", h->id, resolved);
        return r;
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
        return rules_add_pass(st, &rp); /* room was checked: only -ENOMEM */
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

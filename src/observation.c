/* observation.c: the observation rules (issue 4) as the engine runs them.
 *
 * rules.c decides; this module applies its verdicts: person_left upgrades the opening's
 * alert, deadlines (an opening settled after chatter_settle, hand-off expired, held open,
 * pass overdue) are settled in event time
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
#include "command.h"
#include "engine-private.h"
#include "escalation.h"
#include "jsonw.h"
#include "log.h"
#include "store.h"
#include "timers.h"
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

/* A held opening settled with verdict v: its event row is to say so. */
static void note_settled(struct engine *e, struct engine_change *ch, const struct verdict *v)
{
        const struct policy *p = rules_policy(e->config, ch->h);
        struct engine_settled *s = &ch->settled;
        char w[32];
        size_t n;

        *s = (struct engine_settled){
                .pending = true,
                .event_usec = ch->st.opening_usec,
                .kind = v->kind,
                .basis = v->basis,
        };
        rules_copy_text(s->reason, sizeof(s->reason), v->reason);
        n = strlen(s->reason);
        snprintf(s->reason + n, sizeof(s->reason) - n, "; still open after chatter_settle (%s)",
                 format_duration(p->chatter_settle_usec, w));
}

/* Handles every rule deadline of ch's household at or before until_usec (event time), in
 * order, on ch's copy of its state. */
static int settle(struct engine *e, struct engine_change *ch, int64_t until_usec, int64_t now_usec)
{
        const struct household *h = ch->h;
        struct household_state *st = &ch->st;

        /* Each round marks its deadline done; the bound only guards against a rules bug. */
        for (int round = 0; round < 4 * RULES_PASSES_MAX + 8 + ENGINE_CHANGE_ROUNDS; round++) {
                struct rules_due due;
                struct verdict v;
                const struct alert *a = NULL;
                struct event ev = { .type = EVENT_DOOR, .door = DOOR_OPEN, .has_ts = true };
                int64_t at = rules_next_deadline(e->config, h, st, &due);
                bool held;
                int r;

                if (at > until_usec)
                        return 0;
                if (due.kind == RULES_DUE_ROUND && ch->n_rounds == ENGINE_CHANGE_ROUNDS)
                        return 0; /* the next change judges the rest */
                if (due.kind != RULES_DUE_PASS_OVERDUE) {
                        rules_copy_text(ev.id, sizeof(ev.id), rules_open_event(st));
                        ev.ts = (double)st->opening_usec / 1e6;
                } else
                        ev.ts = (double)at / 1e6;
                held = due.kind == RULES_DUE_SETTLE && st->opening == OPENING_HELD;
                rules_fire(e->config, h, st, &due, &v);
                if (held)
                        note_settled(e, ch, &v);
                if (v.basis == BASIS_ROUND && v.round != ROUND_NONE) {
                        ch->rounds[ch->n_rounds].at_usec = v.round_at_usec;
                        ch->rounds[ch->n_rounds].end_usec = at - 1;
                        ch->rounds[ch->n_rounds++].outcome = v.round;
                }
                if (v.kind != VERDICT_ALERT)
                        continue;
                /* A held opening's alert is its event's: it has the opening's time. */
                r = observation_act(e, &ch->alerts, h, NULL, &ev, &v,
                                    held ? ch->settled.event_usec : at, now_usec, &a);
                if (r < 0)
                        return r;
                if (held)
                        ch->settled.alert = a;
        }
        log_warn("household %s: rule deadlines did not settle", h->id);
        return 0;
}

/* The return from an overdue pass was seen at t: its live pass_overdue alert is resolved by
 * the system, and everyone notified of it is told why. */
static int resolve_overdue(struct engine *e, struct engine_change *ch, int64_t t)
{
        char clock[32], note[96], note_zh[96];

        format_local_time(t, clock);
        snprintf(note, sizeof(note), "the return was seen: the door opened at %s", clock + 11);
        snprintf(note_zh, sizeof(note_zh), "%s 已见返回开门", clock + 11);
        return alerts_resolve_kind_by_system(e, &ch->alerts, ch->h, ALERT_PASS_OVERDUE, note,
                                             note_zh, t);
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

        /* The rule deadlines are the door's (its opening settles, is held open, a hand-off
         * expires): their timer follows the door contact's clock, exactly, since an opening
         * settles chatter_settle after it (a door event changes the state it is written
         * with anyway). A doorbell's or camera's clock may differ from the door's. */
        if (!ev->retained && ev->type == EVENT_DOOR)
                st->clock_offset_usec = recv_usec - event_usec;
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
        if (ret->basis == BASIS_PASS_RETURN && ret->pass >= 0 && (size_t)ret->pass < st->n_passes &&
            st->passes[ret->pass].overdue)
                return resolve_overdue(e, ch, event_usec);
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
        timers_compact(e);
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
        if (!json) { /* nested beyond JSONW_MAX_DEPTH: a bug */
                jsonw_done(&w);
                return -EINVAL;
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

/* The event row of a held opening that settled in ch (after the alerts: its alert's id). */
static int write_settled(struct engine *e, struct engine_change *ch)
{
        const struct engine_settled *s = &ch->settled;

        if (!s->pending)
                return 0;
        return store_settle_opening(
            e->store, ch->h->id, s->event_usec, verdict_kind_to_string(s->kind),
            rules_basis_to_string(s->basis), s->reason, s->alert ? s->alert->id : NULL);
}

/* The rounds ch judged, for the daily report. */
static int write_rounds(struct engine *e, struct engine_change *ch)
{
        int r = 0;

        for (size_t i = 0; i < ch->n_rounds && r == 0; i++)
                r = store_insert_round(
                    e->store, &(struct store_round){
                                  .household = ch->h->id,
                                  .community = ch->h->community_id,
                                  .at_usec = ch->rounds[i].at_usec,
                                  .end_usec = ch->rounds[i].end_usec,
                                  .outcome = rules_round_outcome_to_string(ch->rounds[i].outcome),
                              });
        if (r == 0)
                ch->n_rounds = 0;
        return r;
}

int observation_write(struct engine *e, struct engine_change *ch, int64_t event_usec,
                      int64_t now_usec)
{
        int r = write_settled(e, ch);

        if (r == 0)
                r = write_rounds(e, ch);
        return r < 0 ? r : write_state(e, ch->h, &ch->st, event_usec, now_usec);
}

int observation_begin(struct engine *e, struct engine_change *ch, const struct household *h,
                      const struct device *d)
{
        ch->h = h;
        ch->device = d;
        ch->settled.pending = false;
        ch->n_rounds = 0;
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

/* A change of h's rule state and its alerts, without a device: a deadline, a reading (the
 * event path, engine_change_begin(), adds the device's debounce memory and health). */
static int change_begin(struct engine *e, const struct household *h)
{
        alerts_change_begin(&e->change.alerts);
        return observation_begin(e, &e->change, h, NULL);
}

static void change_drop(struct engine *e)
{
        alerts_change_drop(&e->change.alerts);
        e->change.h = NULL;
}

static void change_apply(struct engine *e)
{
        /* The rule state first: its swap carries the household's list of alerts, which
         * alerts_apply() then changes. */
        observation_apply(e, &e->change);
        alerts_apply(e, &e->change.alerts);
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
                else if (r == 0) {
                        r = write_settled(e, ch);
                        if (r == 0)
                                r = write_rounds(e, ch);
                }
                if (r == 0)
                        r = store_release(e->store);
                if (r < 0)
                        store_rollback_to(e->store);
        }
        if (r < 0) {
                change_drop(e);
                return r;
        }
        change_apply(e);
        return 0;
}

int observation_settle(struct engine *e, const struct household *h, int64_t until_usec,
                       int64_t now_usec)
{
        int r = change_begin(e, h);

        if (r == 0)
                r = settle(e, &e->change, until_usec, now_usec);
        if (r < 0) {
                change_drop(e);
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
        r = change_begin(e, h);
        if (r == 0)
                r = settle(e, &e->change, until, now_usec);
        if (r < 0)
                change_drop(e);
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
        r = change_begin(e, h);
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
                change_drop(e);
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
        return rules_add_pass(st, &rp); /* room was checked: cannot fail */
}

static int mark_noticed(const char *household, void *userdata)
{
        struct engine *e = userdata;
        const struct household *h = config_household(e->config, household);

        if (h)
                e->households[h->index].observation_noticed = true;
        return 0;
}

/* Where h's medical rounds begin to be judged when nothing is stored about them. */
static void watch_rounds_from(struct household_state *st, const struct household *h,
                              int64_t since_usec)
{
        if (!st->rounds_usec)
                st->rounds_usec = MAX(since_usec, h->obs_start_usec);
}

int observation_load(struct engine *e)
{
        const struct config *c = e->config;
        size_t passes = 0;
        int64_t rounds_since;
        int r;

        e->db_created_usec = store_created_usec(e->store);
        rounds_since = store_rounds_since_usec(e->store);
        r = store_foreach_household_state(e->store, load_household_state, e);
        if (r == 0)
                r = store_foreach_pending_pass(e->store, load_pass, e);
        if (r == 0)
                r = store_foreach_household_with_alert(
                    e->store, alert_kind_to_string(ALERT_OBSERVATION_ENDED), mark_noticed, e);
        /* A purged household's notice went with its data: it was given all the same. */
        if (r == 0)
                r = store_foreach_purged_household(e->store, mark_noticed, e);
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_households; i++) {
                const struct household *h = &c->households[i];
                struct household_state *st = &e->households[i];

                passes += st->n_passes;
                /* Households without stored rounds: from when this database judges rounds
                 * (the same instant at every start: nothing before it is ever missed). */
                if (rounds_since)
                        watch_rounds_from(st, h, rounds_since);
                if (!st->observation_noticed && h->obs_end_usec != OBSERVATION_OPEN_END)
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
                    h->obs_end_usec != OBSERVATION_OPEN_END &&
                    (!oh || oh->obs_end_usec != h->obs_end_usec))
                        timerq_push(&e->timers, h->obs_end_usec, TIMER_OBSERVATION_END, h->index,
                                    0);
                e->households[i].timer_usec = 0; /* re-push at the new policy's deadline */
                schedule_household(e, h);
        }
}

int observation_watch_rounds(struct engine *e, int64_t now_usec)
{
        size_t n = 0;
        int r = 0;

        for (size_t i = 0; i < e->config->n_households && r >= 0; i++) {
                const struct household *h = &e->config->households[i];
                struct household_state *st = &e->households[i];

                if (st->rounds_usec)
                        continue;
                watch_rounds_from(st, h, now_usec);
                /* Stored at once: a restart must not judge the rounds before now. */
                r = store_begin(e->store);
                if (r == 0)
                        r = observation_persist(e, h, now_usec, now_usec);
                n++;
        }
        if (r < 0)
                log_err_errno(r, "rounds: storing where new households' rounds begin failed");
        else if (n)
                log_info("rounds: %zu new households' medical rounds are judged from now", n);
        return r;
}

/* ---- medical rounds: readings (issue 18) ---- */

/* Records a refused reading (the audit trail) and returns refusal, or a negative errno. */
static int refuse_reading(struct engine *e, const struct command *cmd, const char *error,
                          int refusal)
{
        char detail[400];
        int r;

        snprintf(detail, sizeof(detail), "refused: %s", error);
        r = store_insert_action(e->store, "reading", cmd->worker->id, channel_code(cmd->channel),
                                cmd->household->id, cmd->at_usec, detail);
        return r < 0 ? r : refusal;
}

/* The audit trail's words for a reading: "36.6 °C; symptoms cough, fatigue; counts for the
 * round at 09:00; fever; note: ...". */
static void reading_detail(const struct command *cmd, const struct rules_reading_outcome *o,
                           char *buf, size_t size)
{
        struct sbuf f;

        sbuf_init(&f, buf, size);
        sbuf_printf(&f, "%.1f °C", cmd->temperature);
        for (size_t i = 0; i < cmd->n_symptoms; i++)
                sbuf_printf(&f, "%s%s", i ? ", " : "; symptoms ", cmd->symptoms[i]);
        if (o->counts && o->in_round)
                sbuf_printf(&f, "; counts for the round at %02d:%02d", o->round.minute / 60,
                            o->round.minute % 60);
        else if (!o->counts)
                sbuf_puts(&f, "; counts for no round");
        if (o->fever)
                sbuf_puts(&f, "; fever");
        if (cmd->note[0])
                sbuf_printf(&f, "; note: %.200s", cmd->note);
        if (!sbuf_text(&f))
                snprintf(buf, size, "%.1f °C", cmd->temperature);
        else if (sbuf_text(&f) != buf)
                snprintf(buf, size, "%s", sbuf_text(&f));
        sbuf_done(&f);
}

int observation_reading(struct engine *e, const struct command *cmd, const char **error)
{
        const struct household *h = cmd->household;
        const struct worker *w = cmd->worker;
        const int64_t at = cmd->at_usec, now = cmd->now_usec;
        struct engine_change *ch = &e->change;
        const char *symptoms[COMMAND_SYMPTOMS_MAX];
        struct rules_reading rd = { .temperature = cmd->temperature,
                                    .symptoms = symptoms,
                                    .n_symptoms = cmd->n_symptoms };
        struct rules_reading_outcome o;
        const struct alert *fever = NULL;
        _cleanup_json_ cJSON *sym = cJSON_CreateArray();
        _cleanup_free_ char *sym_text = NULL;
        char detail[600], note[160], note_zh[160], clock[32];
        int r;

        for (size_t i = 0; i < cmd->n_symptoms; i++) {
                symptoms[i] = cmd->symptoms[i];
                cJSON_AddItemToArray(sym, cJSON_CreateString(cmd->symptoms[i]));
        }
        sym_text = cJSON_PrintUnformatted(sym);
        r = store_begin(e->store);
        if (r == 0)
                r = observation_settle(e, h, at, now);
        if (r < 0)
                return r;
        if (!rules_worker_may_act(e->config, h, w)) {
                *error = "household is not in the worker's care (not of the worker's community "
                         "or team)";
                return refuse_reading(e, cmd, *error, ENGINE_E_FORBIDDEN);
        }
        r = change_begin(e, h);
        if (r == 0 && rules_reading(e->config, h, &ch->st, w, at, &rd, &o, error) != 0) {
                change_drop(e);
                return refuse_reading(e, cmd, *error, ENGINE_E_REFUSED);
        }
        /* A later reading of the household's doctor resolves its missed round. */
        format_local_time(at, clock);
        memmove(clock, clock + 11, strlen(clock + 11) + 1); /* "14:05:00" */
        snprintf(note, sizeof(note), "a reading of %.1f °C by %s at %s", cmd->temperature, w->id,
                 clock);
        snprintf(note_zh, sizeof(note_zh), "%s 已于 %s 记录体温 %.1f℃", w->name ? w->name : w->id,
                 clock, cmd->temperature);
        if (r == 0 && o.counts)
                r = alerts_resolve_kind_by_system(e, &ch->alerts, h, ALERT_ROUND_MISSED, note,
                                                  note_zh, at);
        if (r == 0 && o.fever) {
                struct event ev = { .type = EVENT_HEARTBEAT,
                                    .has_ts = true,
                                    .ts = (double)at / 1e6 };
                r = observation_act(e, &ch->alerts, h, NULL, &ev, &o.verdict, at, now, &fever);
        }
        if (r == 0)
                r = store_savepoint(e->store);
        if (r < 0) {
                change_drop(e);
                return r;
        }
        reading_detail(cmd, &o, detail, sizeof(detail));
        r = alerts_persist(e, &ch->alerts, now);
        if (r == 0)
                r = store_insert_reading(
                    e->store,
                    &(struct store_reading){
                        .household = h->id,
                        .community = h->community_id,
                        .worker = w->id,
                        .channel = channel_code(cmd->channel),
                        .usec = at,
                        .recv_usec = now,
                        .temperature = cmd->temperature,
                        .symptoms = sym_text,
                        .note = cmd->note[0] ? cmd->note : NULL,
                        .counts = o.counts,
                        .round_usec = o.counts && o.in_round ? o.round.at_usec : 0,
                        .fever = o.fever,
                        .alert_id = fever ? fever->id : NULL,
                    },
                    NULL);
        if (r == 0)
                r = store_insert_action(e->store, "reading", w->id, channel_code(cmd->channel),
                                        h->id, at, detail);
        if (r == 0)
                r = observation_write(e, ch, at, now);
        if (r == 0)
                r = store_release(e->store);
        if (r < 0) {
                store_rollback_to(e->store);
                change_drop(e);
                return r;
        }
        change_apply(e);
        log_about(o.fever ? LOG_NOTICE : LOG_INFO, NULL, h->id, NULL,
                  "household %s: reading by %s via %s: %s", h->id, w->id,
                  channel_code(cmd->channel), detail);
        return ENGINE_OK;
}

/* engine.c: event -> verdict -> alert -> notifications: the engine's state, the event
 * path, the timers, and the commands.
 *
 * Ownership: the engine owns household_state[] and device_state[] (indexed like the
 * config's arrays), the live alerts (alerts.c) and one struct engine_change. The database
 * is the source of truth: engine_load() builds memory from it at start, engine_rebuild()
 * again after a transaction was lost. All writes go through the store's current
 * transaction (store_begin is idempotent).
 *
 * An event, a deadline and a system alarm each go through three steps:
 *   decide   on copies in e->change: the rule state of the household (observation.c),
 *            the device's health (devhealth.c), the alerts raised, joined, upgraded or
 *            told (alerts.c); memory is not touched;
 *   persist  everything written: alerts, notifications, the event, the rule state;
 *   apply    the copies become memory, new alerts are linked, timers armed.
 * A failed write drops the change: memory is as it was before it. Deadlines and system
 * alarms write under a savepoint, so the database is too; an event does not (too dear on
 * the hot path): what it wrote before the failure stays in the transaction until the
 * daemon rolls it back. The commands (below) still change memory as they write. After a
 * failed or rolled back transaction, engine_rebuild() makes memory the database's again.
 *
 * The modules: alerts.c (the alert core), fanout.c (notification rows), observation.c
 * (the rules' verdicts and deadlines), devhealth.c (device health), sysalarm.c (the
 * system's own alarms), reload.c (SIGHUP), retention.c (purging ended households), timers.c
 * (the timer heap kept small). */
#include "engine.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "alerts.h"
#include "devhealth.h"
#include "engine-private.h"
#include "escalation.h"
#include "fanout.h"
#include "hashmap.h"
#include "log.h"
#include "observation.h"
#include "roster.h"
#include "timerq.h"
#include "util.h"

int engine_new(const struct config *c, struct store *s, struct engine **ret)
{
        struct engine *e = xcalloc(1, sizeof(*e));
        e->config = c;
        e->store = s;
        e->fanout = (struct fanout){ .config = c, .store = s };
        e->households = xcalloc(c->n_households ? c->n_households : 1, sizeof(*e->households));
        e->devices = xcalloc(c->n_devices ? c->n_devices : 1, sizeof(*e->devices));
        e->debounce = xcalloc(c->n_devices ? c->n_devices : 1, sizeof(*e->debounce));
        for (size_t i = 0; i < c->n_devices; i++)
                e->devices[i].battery_percent = -1;
        e->alerts_by_id = hashmap_new(64);
        e->health_bridges = hashmap_new(16);
        *ret = e;
        return 0;
}

struct engine *engine_free(struct engine *e)
{
        if (!e)
                return NULL;
        alerts_change_done(&e->change.alerts);
        rules_state_done(&e->change.st);
        if (e->alerts_by_id)
                alerts_clear(e); /* also the system's alarms, which have no household */
        for (size_t i = 0; e->households && i < e->config->n_households; i++)
                rules_state_done(&e->households[i]);
        for (size_t i = 0; e->devices && i < e->config->n_devices; i++)
                device_state_done(&e->devices[i]);
        hashmap_free(e->alerts_by_id);
        devhealth_free_bridges(e);
        fanout_done(&e->fanout);
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
        return alerts_find(e, alert_id);
}

void engine_set_ack_url(struct engine *e, engine_ack_url_fn fn, void *userdata)
{
        e->fanout.ack_url = fn;
        e->fanout.ack_url_userdata = userdata;
}

void engine_set_page_url(struct engine *e, engine_page_url_fn fn, void *userdata)
{
        e->fanout.page_url = fn;
        e->fanout.page_url_userdata = userdata;
}

int64_t engine_next_deadline(const struct engine *e)
{
        return timerq_next(&e->timers);
}

int engine_tick(struct engine *e, int64_t now_usec)
{
        struct timerq_entry t;
        int r = 0;

        while (r >= 0 && timerq_pop_due(&e->timers, now_usec, &t)) {
                switch (t.type) {
                case TIMER_ESCALATION: {
                        struct alert *a = alerts_by_serial(e, t.index, t.token);
                        if (a && a->state == ALERT_OPEN && a->next_usec && a->next_usec <= now_usec)
                                r = alert_kind_escalates(a->kind)
                                        ? alerts_escalate(e, a, now_usec)
                                        : devhealth_remind(e, a, now_usec);
                        break;
                }
                case TIMER_HEALTH:
                        r = devhealth_fire(e, &t, now_usec);
                        break;
                case TIMER_RULES:
                        r = observation_timer(e, &e->config->households[t.index], t.token,
                                              now_usec);
                        break;
                case TIMER_OBSERVATION_END:
                        r = observation_end(e, &e->config->households[t.index], now_usec);
                        break;
                default:
                        break;
                }
        }
        return r;
}

int engine_load(struct engine *e)
{
        int r = alerts_load(e);
        if (r < 0)
                return r;
        return observation_load(e);
}

int engine_rebuild(struct engine *e, int64_t now_usec)
{
        bool watched = e->health_gen != 0;
        int r;

        if (e->change.alerts.active)
                engine_change_drop(e);
        alerts_clear(e);
        for (size_t i = 0; i < e->config->n_households; i++) {
                rules_state_done(&e->households[i]);
                e->households[i] = (struct household_state){ 0 };
        }
        memset(e->debounce, 0,
               (e->config->n_devices ? e->config->n_devices : 1) * sizeof(*e->debounce));
        devhealth_reset(e);
        /* The rules' door states are the database's again: the next state report of each
         * door is an event again, whatever the adapter decoded before. */
        for (size_t i = 0; i < e->config->n_devices; i++)
                e->devices[i].door = DOOR_UNKNOWN;
        timerq_done(&e->timers);
        e->timers = (struct timerq){ 0 };
        e->timers_compacted = 0;
        r = engine_load(e);
        if (r == 0 && watched)
                r = devhealth_start(e, now_usec);
        if (r < 0)
                log_err_errno(r, "engine: rebuilding memory from the database failed");
        else
                log_notice("engine: memory rebuilt from the database: %zu live alerts",
                           hashmap_size(e->alerts_by_id));
        return r;
}

/* ---- decide, persist, apply ---- */

int engine_change_begin(struct engine *e, const struct household *h, const struct device *d)
{
        alerts_change_begin(&e->change.alerts);
        devhealth_begin(e, &e->change.health, d);
        return observation_begin(e, &e->change, h, d);
}

void engine_change_drop(struct engine *e)
{
        alerts_change_drop(&e->change.alerts);
        e->change.h = NULL;
        e->change.device = NULL;
        e->change.health.d = NULL;
        e->change.health.bridge_id = NULL;
}

void engine_change_apply(struct engine *e)
{
        /* The rule state first: its swap carries the household's list of alerts, which
         * alerts_apply() then changes. */
        observation_apply(e, &e->change);
        devhealth_apply(e, &e->change.health);
        alerts_apply(e, &e->change.alerts);
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

/* Decides event ev in e->change: its verdict *v and the alert it is linked to (*ret). */
static int decide_event(struct engine *e, const struct device *d, const struct event *ev,
                        int64_t event_usec, int64_t recv_usec, struct verdict *v,
                        const struct alert **ret)
{
        struct engine_change *ch = &e->change;
        int r = observation_decide(e, ch, d, ev, event_usec, recv_usec, v);

        if (r < 0)
                return r;
        r = devhealth_decide(e, ch, d, ev, event_usec, recv_usec, r > 0, v, ret);
        if (r < 0 || v->kind != VERDICT_ALERT || *ret)
                return r;
        return observation_act(e, &ch->alerts, d->household, d, ev, v, event_usec, recv_usec, ret);
}

/* Writes the decided e->change and the event. No savepoint: on this path one costs about a
 * tenth more CPU per event (SQLite copies every page it touches into its sub-journal); a
 * failed write leaves the rows written before it in the transaction, which the daemon
 * rolls back (memory was not touched). */
static int persist_event(struct engine *e, const struct device *d, const struct event *ev,
                         int64_t event_usec, int64_t recv_usec, const char *payload,
                         size_t payload_len, const struct verdict *v, const struct alert *a)
{
        const char *state = event_state_string(ev);
        char battery[16];
        int r;

        if (ev->type == EVENT_BATTERY && ev->battery_percent >= 0) {
                snprintf(battery, sizeof(battery), "%d", ev->battery_percent);
                state = battery;
        }
        r = alerts_persist(e, &e->change.alerts, recv_usec);
        if (r == 0)
                r = store_insert_event(
                    e->store,
                    &(struct store_event){
                        .device = d->id,
                        .household = d->household->id,
                        .source = device_source(d),
                        .uid = ev->id[0] ? ev->id : NULL,
                        .type = event_type_to_string(ev->type),
                        .state = state,
                        .has_ts = ev->has_ts,
                        .ts = ev->ts,
                        .recv_usec = recv_usec,
                        .event_usec = event_usec,
                        .time_basis = time_basis_to_string(
                            rules_time_basis(ev, recv_usec, e->config->policy.max_clock_skew_usec)),
                        .retained = ev->retained,
                        .verdict = verdict_kind_to_string(v->kind),
                        .rule = rules_basis_to_string(v->basis),
                        .reason = v->reason,
                        .alert_id = a ? a->id : NULL,
                        .payload = payload,
                        .payload_len = payload_len,
                    },
                    NULL);
        if (r == 0)
                r = observation_write(e, &e->change, event_usec, recv_usec);
        return r;
}

int engine_handle_event(struct engine *e, const struct device *d, const struct event *ev,
                        int64_t recv_usec, const char *payload, size_t payload_len,
                        struct verdict *ret_verdict)
{
        const struct alert *a = NULL;
        struct verdict v;
        int64_t event_usec;
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
        r = engine_change_begin(e, d->household, d);
        if (r == 0)
                r = decide_event(e, d, ev, event_usec, recv_usec, &v, &a);
        if (r == 0)
                r = persist_event(e, d, ev, event_usec, recv_usec, payload, payload_len, &v, a);
        if (r < 0) {
                engine_change_drop(e);
                /* The rules did not take the door state the adapter decoded: its edge
                 * memory forgets it, so the device's next report, which repeats its state
                 * (zigbee2mqtt, Shelly), is an event again. */
                if (ev->type == EVENT_DOOR)
                        e->devices[d->index].door = DOOR_UNKNOWN;
                return r;
        }
        engine_change_apply(e);
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
        if (r >= 0 && nt.n > 0)
                rcpt = xcalloc(nt.n, sizeof(*rcpt));
        for (size_t i = 0; i < nt.n && r >= 0; i++) {
                const struct worker *to = nt.v[i];
                rcpt[i] = (struct recipient){ to, role_to_string(to->role) };
        }
        if (r >= 0 && nt.n > 0)
                r = engine_fanout(e, &o, rcpt, nt.n, now_usec);
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
                alerts_unlink(e, a); /* its timer entries go stale */
        return ENGINE_OK;
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
                r = observation_settle(e, h, at_usec, now_usec);
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
                r = observation_persist(e, h, at_usec, now_usec);
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
                r = observation_settle(e, h, at_usec, now_usec);
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
                r = observation_persist(e, h, at_usec, now_usec);
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
                r = observation_settle(e, h, at_usec, now_usec);
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
                r = observation_persist(e, h, at_usec, now_usec);
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
        /* An ack or resolve is recorded when its "ts" says it was done (an app that was
         * offline syncs later), never later than it arrived: the record and the daily
         * report's time to acknowledge go by it; the notices it sends are due at once. */
        case COMMAND_ACK:
                return engine_ack(e, cmd->worker, cmd->alert_id, cmd->channel,
                                  MIN(cmd->at_usec, cmd->now_usec), error);
        case COMMAND_RESOLVE:
                return engine_resolve(e, cmd->worker, cmd->alert_id, cmd->note, cmd->channel,
                                      MIN(cmd->at_usec, cmd->now_usec), error);
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
        case COMMAND_READING:
                return observation_reading(e, cmd, error);
        case _COMMAND_VERB_MAX:
                break;
        }
        return -EINVAL;
}

int engine_fanout(struct engine *e, const struct outgoing *o, const struct recipient *rcpt,
                  size_t n_rcpt, int64_t now_usec)
{
        size_t rows = 0;
        int r = fanout_queue(&e->fanout, o, rcpt, n_rcpt, now_usec, &rows);

        e->counters.notifications += rows;
        if (rows)
                e->outbox_dirty = true;
        return r;
}

void engine_set_notify(struct engine *e, struct notify_context *ctx)
{
        e->fanout.notify = ctx;
}

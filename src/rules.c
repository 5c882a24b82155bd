/* rules.c: decides for each event whether it is expected, ignored or alert-worthy, and
 * says why. Pure: everything it needs is passed in, so tests replay days with injected
 * time. The only process state it reads is the time zone (calendar rules).
 *
 * An opening (door open -> closed is one) is judged when it starts, by the first rule
 * that explains it, in this order: a pass (or the return after one), a worker's check-in,
 * a scheduled visit, a resident's pre-report within the daily limit, a doorbell ring just
 * before (a hand-off, provisionally: it must close within handoff_max_open). Otherwise it
 * is too_many_openings (a pre-report beyond the limit), person_left (a camera saw someone
 * leave within person_window) or door_open_unexpected. Later facts come as deadlines
 * (hand-off expired, held open, pass overdue) or as a camera event that upgrades the
 * opening's alert. Windows are closed intervals ("within"), except where a deadline is
 * reached: a deadline is due at its instant ("still open at handoff_max_open"). With
 * policy.chatter_settle an opening counts only once it has stayed open that long, and a
 * contact's chatter joins it (see "chatter" below).
 *
 * Medical rounds (rules.h) are deadlines too: each round is judged when its window ends;
 * a reading is a command that records what it measured, counts for rounds when its worker
 * is the household's doctor or one on duty, and raises fever by policy.fever_at and
 * policy.fever_symptoms. */
#include "rules.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonw.h"
#include "roster.h"
#include "util.h"

static const char UNEXPLAINED[] = "no scheduled visit, check-in, pass or doorbell hand-off";

const char *verdict_kind_to_string(enum verdict_kind k)
{
        switch (k) {
        case VERDICT_EXPECTED:
                return "expected";
        case VERDICT_ALERT:
                return "alert";
        default:
                return "ignored";
        }
}

const char *rules_basis_to_string(enum rules_basis b)
{
        static const char *const names[] = {
                [BASIS_OTHER] = "other",
                [BASIS_OUTSIDE_WINDOW] = "outside_window",
                [BASIS_PASS] = "pass",
                [BASIS_PASS_RETURN] = "pass_return",
                [BASIS_CHECKIN] = "checkin",
                [BASIS_SCHEDULE] = "schedule",
                [BASIS_REPORT] = "report",
                [BASIS_HANDOFF] = "handoff",
                [BASIS_TOO_MANY] = "too_many",
                [BASIS_UNEXPECTED] = "unexpected",
                [BASIS_FOUND_OPEN] = "found_open",
                [BASIS_HELD_OPEN] = "held_open",
                [BASIS_HANDOFF_EXPIRED] = "handoff_expired",
                [BASIS_PERSON_LEFT] = "person_left",
                [BASIS_PASS_OVERDUE] = "pass_overdue",
                [BASIS_TAMPER] = "tamper",
                [BASIS_DEBOUNCED] = "debounced",
                [BASIS_RETAINED] = "retained",
                [BASIS_HELD] = "held",
                [BASIS_CHATTER] = "chatter",
                [BASIS_SETTLED] = "settled",
                [BASIS_ROUND] = "round",
                [BASIS_FEVER] = "fever",
        };
        return b >= 0 && (size_t)b < ELEMENTSOF(names) && names[b] ? names[b] : "other";
}

const struct policy *rules_policy(const struct config *c, const struct household *h)
{
        return h && h->policy ? h->policy : &c->policy;
}

/* The device's time, when it lies within max_clock_skew of the receive time. */
static bool device_time(bool has_ts, double ts, int64_t recv_usec, int64_t max_clock_skew_usec,
                        int64_t *ret)
{
        if (has_ts && ts > 0 && ts < 1e11) {
                int64_t t = (int64_t)(ts * 1e6);
                int64_t skew = t > recv_usec ? t - recv_usec : recv_usec - t;
                if (skew <= max_clock_skew_usec) {
                        *ret = t;
                        return true;
                }
        }
        return false;
}

int64_t rules_command_time(bool has_ts, double ts, int64_t recv_usec, int64_t max_clock_skew_usec)
{
        int64_t t;

        return device_time(has_ts, ts, recv_usec, max_clock_skew_usec, &t) ? t : recv_usec;
}

int64_t rules_event_time(const struct event *e, int64_t recv_usec, int64_t max_clock_skew_usec)
{
        return rules_command_time(e->has_ts, e->ts, recv_usec, max_clock_skew_usec);
}

enum time_basis rules_time_basis(const struct event *e, int64_t recv_usec,
                                 int64_t max_clock_skew_usec)
{
        int64_t t;

        return device_time(e->has_ts, e->ts, recv_usec, max_clock_skew_usec, &t)
                   ? TIME_BASIS_DEVICE
                   : TIME_BASIS_RECEIVE;
}

void rules_copy_text(char *dst, size_t size, const char *src)
{
        size_t n = src ? strlen(src) : 0;

        if (size == 0)
                return;
        if (n >= size) {
                n = size - 1;
                /* Back up over continuation bytes to the start of the cut sequence. */
                while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
                        n--;
        }
        if (n)
                memcpy(dst, src, n);
        dst[n] = 0;
}

/* ---- formatting ---- */

static const char *fmt_clock(int64_t usec, char buf[static 32])
{
        time_t t = (time_t)(usec / USEC_PER_SEC);
        struct tm tm;

        if (usec < 0 && usec % USEC_PER_SEC)
                t--;
        local_time(t, &tm);
        strftime(buf, 32, "%H:%M:%S", &tm);
        return buf;
}

static const char *fmt_instant(int64_t usec, char buf[static 32])
{
        struct tm tm;

        local_time(usec / USEC_PER_SEC, &tm);
        strftime(buf, 32, "%Y-%m-%d %H:%M", &tm);
        return buf;
}

/* "0.4s", "45s", "3m12s", "5m", "1h05m", "2d3h"; rounded down (to tenths below 10s). */
static const char *fmt_dur(int64_t usec, char buf[static 32])
{
        int64_t abs_usec = usec < 0 ? -usec : usec;
        long long s = (long long)(abs_usec / USEC_PER_SEC);

        if (s < 10 && abs_usec % USEC_PER_SEC >= USEC_PER_SEC / 10)
                snprintf(buf, 32, "%lld.%llds", s,
                         (long long)(abs_usec % USEC_PER_SEC / (USEC_PER_SEC / 10)));
        else if (s < 60)
                snprintf(buf, 32, "%llds", s);
        else if (s < 3600 && s % 60)
                snprintf(buf, 32, "%lldm%02llds", s / 60, s % 60);
        else if (s < 3600)
                snprintf(buf, 32, "%lldm", s / 60);
        else if (s < 86400)
                snprintf(buf, 32, "%lldh%02lldm", s / 3600, s % 3600 / 60);
        else
                snprintf(buf, 32, "%lldd%lldh", s / 86400, s % 86400 / 3600);
        return buf;
}

static void set(struct verdict *v, enum verdict_kind k, enum rules_basis basis, const char *fmt,
                ...) __attribute__((format(printf, 4, 5)));
static void set(struct verdict *v, enum verdict_kind k, enum rules_basis basis, const char *fmt,
                ...)
{
        va_list ap;

        v->kind = k;
        v->basis = basis;
        va_start(ap, fmt);
        vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
        va_end(ap);
}

static void alert(struct verdict *v, enum alert_kind kind, enum rules_basis basis, const char *fmt,
                  ...) __attribute__((format(printf, 4, 5)));
static void alert(struct verdict *v, enum alert_kind kind, enum rules_basis basis, const char *fmt,
                  ...)
{
        va_list ap;

        v->kind = VERDICT_ALERT;
        v->alert = kind;
        v->severity = alert_kind_default_severity(kind);
        v->basis = basis;
        va_start(ap, fmt);
        vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
        va_end(ap);
}

/* ---- calendar ---- */

/* Local date of t as yyyymmdd. */
static int local_day(int64_t usec)
{
        struct tm tm;

        local_time(usec / USEC_PER_SEC, &tm);
        return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

/* The instant the local clock reads `minute` on the day `day_offset` days from t's day. */
static int64_t local_at(int64_t usec, int day_offset, int minute)
{
        return local_day_minute(usec, day_offset, minute);
}

bool rules_schedule_match(const struct household *h, int64_t at_usec, char *buf, size_t size)
{
        for (size_t i = 0; i < h->n_schedule; i++) {
                const struct schedule_entry *s = &h->schedule[i];
                for (size_t k = 0; k < s->n_at; k++)
                        for (int off = -1; off <= 1; off++) {
                                int64_t when = local_at(at_usec, off, s->at_min[k]);
                                int64_t d = at_usec - when;
                                char w[32];

                                if (d < -s->window_usec || d > s->window_usec)
                                        continue;
                                snprintf(buf, size, "scheduled %s visit at %02d:%02d (window %s)",
                                         role_to_string(s->role), s->at_min[k] / 60,
                                         s->at_min[k] % 60, fmt_dur(s->window_usec, w));
                                return true;
                        }
        }
        return false;
}

static bool in_observation(const struct household *h, int64_t t)
{
        return t >= h->obs_start_usec && t < h->obs_end_usec;
}

/* ---- medical rounds ---- */

/* Calls fn for every medical round of h scheduled on the local days around t that its
 * windows can reach; fn returns false to stop. */
static void foreach_round(const struct household *h, int64_t t,
                          bool (*fn)(const struct rules_round *r, void *userdata), void *userdata)
{
        for (size_t i = 0; i < h->n_schedule; i++) {
                const struct schedule_entry *s = &h->schedule[i];
                int days = (int)(s->window_usec / (24 * USEC_PER_HOUR)) + 2;

                if (s->role != ROLE_MEDICAL)
                        continue;
                for (size_t k = 0; k < s->n_at; k++)
                        for (int off = -days; off <= days; off++) {
                                struct rules_round r = { .minute = s->at_min[k] };
                                r.at_usec = local_at(t, off, s->at_min[k]);
                                r.from_usec = r.at_usec - s->window_usec;
                                r.to_usec = r.at_usec + s->window_usec;
                                if (!fn(&r, userdata))
                                        return;
                        }
        }
}

struct round_search {
        int64_t t;
        bool found;
        struct rules_round best;
};

static bool round_holding(const struct rules_round *r, void *userdata)
{
        struct round_search *q = userdata;
        int64_t d = q->t > r->at_usec ? q->t - r->at_usec : r->at_usec - q->t;
        int64_t bd = q->t > q->best.at_usec ? q->t - q->best.at_usec : q->best.at_usec - q->t;

        if (q->t >= r->from_usec && q->t <= r->to_usec && (!q->found || d < bd)) {
                q->best = *r;
                q->found = true;
        }
        return true;
}

bool rules_round_at(const struct household *h, int64_t t, struct rules_round *ret)
{
        struct round_search q = { .t = t };

        foreach_round(h, t, round_holding, &q);
        if (q.found && ret)
                *ret = q.best;
        return q.found;
}

static bool round_ending_after(const struct rules_round *r, void *userdata)
{
        struct round_search *q = userdata;

        if (r->to_usec > q->t && (!q->found || r->to_usec < q->best.to_usec)) {
                q->best = *r;
                q->found = true;
        }
        return true;
}

bool rules_round_after(const struct household *h, int64_t after_usec, struct rules_round *ret)
{
        struct round_search q = { .t = after_usec };

        foreach_round(h, after_usec, round_ending_after, &q);
        if (q.found && ret)
                *ret = q.best;
        return q.found;
}

bool rules_reading_counts(const struct config *c, const struct household *h, const struct worker *w,
                          int64_t at_usec)
{
        if (!w || !h)
                return false;
        if (h->team[ROLE_MEDICAL] == w)
                return true;
        return w->role == ROLE_MEDICAL && w->community && w->community == h->community &&
               roster_worker_on_duty(c, w, at_usec);
}

static bool within(int64_t t, int64_t since, int64_t window)
{
        return since != 0 && t >= since && t - since <= window;
}

static bool near(int64_t a, int64_t b, int64_t window)
{
        return b != 0 && (a > b ? a - b : b - a) <= window;
}

/* ---- debounce ---- */

static int event_state(const struct event *e)
{
        switch (e->type) {
        case EVENT_DOOR:
                return e->door;
        case EVENT_PERSON:
                return e->direction;
        case EVENT_TAMPER:
                return e->tampered;
        case EVENT_BATTERY:
                return e->battery_percent;
        case EVENT_AVAILABILITY:
                return e->online;
        default:
                return 0;
        }
}

bool rules_debounce(const struct policy *p, struct rules_debounce *m, const struct event *e,
                    int64_t event_usec)
{
        int state = event_state(e);

        if (m->valid && m->type == e->type && m->state == state && event_usec >= m->usec &&
            event_usec - m->usec <= p->debounce_usec && p->debounce_usec > 0)
                return true;
        *m = (struct rules_debounce){
                .valid = true, .type = e->type, .state = state, .usec = event_usec
        };
        return false;
}

/* ---- openings ---- */

/* Judges an opening at t. use_ring: a ring may make it a hand-off. found: a retained state
 * that says open (the reason says so). */
static void judge_opening(const struct config *c, const struct household *h,
                          const struct household_state *st, int64_t t, bool use_ring, bool found,
                          struct verdict *v)
{
        const struct policy *p = rules_policy(c, h);
        const char *what = found ? "door found open (retained state)" : "door opened";
        char a[32], b[32], d[32], sched[128];

        for (size_t i = 0; i < st->n_passes; i++) {
                const struct rules_pass *ps = &st->passes[i];
                if (t >= ps->from_usec && t < ps->to_usec) {
                        char out[64] = "leaving";
                        if (ps->exit_usec && t > ps->exit_usec)
                                snprintf(out, sizeof(out), "return (out since %s)",
                                         fmt_clock(ps->exit_usec, d));
                        set(v, VERDICT_EXPECTED, BASIS_PASS, "during a pass (%s) %s to %s: %s",
                            ps->reason, fmt_instant(ps->from_usec, a), fmt_instant(ps->to_usec, b),
                            out);
                        v->pass = (int)i;
                        return;
                }
        }
        for (size_t i = 0; i < st->n_passes; i++) {
                const struct rules_pass *ps = &st->passes[i];
                if (t >= ps->to_usec && ps->exit_usec && !ps->return_usec) {
                        set(v, VERDICT_EXPECTED, BASIS_PASS_RETURN,
                            "return from a pass (%s) that ended at %s, %s ago%s", ps->reason,
                            fmt_instant(ps->to_usec, a), fmt_dur(t - ps->to_usec, d),
                            ps->overdue ? " (pass_overdue was raised)" : "");
                        v->pass = (int)i;
                        return;
                }
        }
        if (within(t, st->checkin_usec, p->checkin_grace_usec)) {
                set(v, VERDICT_EXPECTED, BASIS_CHECKIN,
                    "worker %s checked in at %s (checkin_grace %s)", rules_checkin_worker(st),
                    fmt_clock(st->checkin_usec, a), fmt_dur(p->checkin_grace_usec, d));
                return;
        }
        if (rules_schedule_match(h, t, sched, sizeof(sched))) {
                set(v, VERDICT_EXPECTED, BASIS_SCHEDULE, "%s", sched);
                return;
        }
        bool reported = within(t, st->report_usec, RULES_REPORT_WINDOW_USEC);
        bool over_limit = reported && st->report_number > p->resident_reports_per_day;
        if (reported && !over_limit) {
                set(v, VERDICT_EXPECTED, BASIS_REPORT,
                    "pre-reported by the resident at %s (%s), report %d of %d today",
                    fmt_clock(st->report_usec, a), rules_report_reason(st), st->report_number,
                    p->resident_reports_per_day);
                return;
        }
        if (use_ring && !found && within(t, st->last_ring_usec, p->handoff_ring_window_usec)) {
                set(v, VERDICT_EXPECTED, BASIS_HANDOFF,
                    "doorbell hand-off: ring %s before; the door must close within %s",
                    fmt_dur(t - st->last_ring_usec, d), fmt_dur(p->handoff_max_open_usec, b));
                return;
        }
        if (over_limit) {
                alert(v, ALERT_TOO_MANY_OPENINGS, BASIS_TOO_MANY,
                      "%s after pre-report %d of the day; the limit is %d a day", what,
                      st->report_number, p->resident_reports_per_day);
                return;
        }
        if (near(t, st->person_out_usec, p->person_window_usec)) {
                alert(v, ALERT_PERSON_LEFT, BASIS_PERSON_LEFT,
                      "%s with %s, and the camera saw a person leave at %s", what, UNEXPLAINED,
                      fmt_clock(st->person_out_usec, a));
                return;
        }
        alert(v, ALERT_DOOR_OPEN_UNEXPECTED, found ? BASIS_FOUND_OPEN : BASIS_UNEXPECTED,
              "%s with %s", what, UNEXPLAINED);
}

/* ---- chatter (policy.chatter_settle) ----
 *
 * A reed switch that chatters reports open/close blips of a tenth of a second around a
 * real opening. An opening therefore counts once it has stayed open chatter_settle (it
 * "settles"): it is judged when it starts, as always, but its one-shot explanation (a
 * ring's hand-off, a pre-report, a pass's exit or return) is used up and its alert raised
 * only when it settles (RULES_DUE_SETTLE, rules_fire()). A reopen within chatter_settle of
 * the close joins the opening (same start, id and explanation); an opening that closed
 * before it settled and is not rejoined was a blip: nothing used, nothing raised. With
 * chatter_settle 0 every opening settles when it starts and nothing joins. */

/* Whether an opening at t joins the door's last opening: the door closed at most
 * chatter_settle before. */
static bool chatter_joins(const struct policy *p, const struct household_state *st, int64_t t)
{
        return p->chatter_settle_usec > 0 && st->door == DOOR_CLOSED &&
               st->opening != OPENING_NONE && st->opening != OPENING_IGNORED &&
               t >= st->door_changed_usec && t - st->door_changed_usec <= p->chatter_settle_usec;
}

static const char *opening_description(const struct household_state *st)
{
        switch (st->opening) {
        case OPENING_HELD:
                return "unexplained, alerted once it stays open";
        case OPENING_ALERTED:
                return "already alerted";
        case OPENING_HANDOFF:
                return "a doorbell hand-off";
        default:
                return "expected";
        }
}

static void judge_rejoin(const struct policy *p, const struct household_state *st, int64_t t,
                         struct verdict *v)
{
        char a[32], d[32], s[32];

        set(v, VERDICT_IGNORED, BASIS_CHATTER,
            "door reopened %s after it closed, within chatter_settle (%s): joins the opening at "
            "%s (%s)",
            fmt_dur(t - st->door_changed_usec, d), fmt_dur(p->chatter_settle_usec, s),
            fmt_clock(st->opening_usec, a), opening_description(st));
}

/* An opening that no rule explains is held until it settles. */
static void hold(const struct policy *p, struct verdict *v)
{
        char s[32];
        size_t n = strlen(v->reason);

        v->kind = VERDICT_IGNORED;
        v->basis = BASIS_HELD;
        snprintf(v->reason + n, sizeof(v->reason) - n,
                 "; held for chatter_settle (%s): alerted if it stays open",
                 fmt_dur(p->chatter_settle_usec, s));
}

static void judge_early_close(const struct policy *p, const struct household_state *st, int64_t t,
                              struct verdict *v)
{
        char d[32], s[32];

        set(v, VERDICT_IGNORED, BASIS_HELD,
            "door closed after %s, before chatter_settle (%s): a reopen within %s joins the "
            "opening, else it was a blip that counts for nothing",
            fmt_dur(t - st->opening_usec, d), fmt_dur(p->chatter_settle_usec, s), s);
}

/* ---- doors ---- */

static void judge_door(const struct config *c, const struct household *h,
                       const struct household_state *st, const struct event *e, int64_t t,
                       struct verdict *v)
{
        const struct policy *p = rules_policy(c, h);
        char a[32], d[32];

        if (e->door == DOOR_OPEN) {
                if (st->door == DOOR_OPEN && st->opening != OPENING_NONE) {
                        if (e->retained)
                                set(v, VERDICT_IGNORED, BASIS_RETAINED,
                                    "retained replay of a known open door (open since %s)",
                                    fmt_clock(st->opening_usec, a));
                        else
                                set(v, VERDICT_IGNORED, BASIS_OTHER, "door already open since %s",
                                    fmt_clock(st->opening_usec, a));
                        return;
                }
                if (e->retained && e->has_ts && st->door == DOOR_CLOSED &&
                    (int64_t)(e->ts * 1e6) <= st->door_changed_usec) {
                        set(v, VERDICT_IGNORED, BASIS_RETAINED,
                            "retained open state is older than the door's last close at %s",
                            fmt_clock(st->door_changed_usec, a));
                        return;
                }
                if (!e->retained && chatter_joins(p, st, t)) {
                        judge_rejoin(p, st, t, v);
                        return;
                }
                judge_opening(c, h, st, t, !e->retained, e->retained, v);
                if (!e->retained && p->chatter_settle_usec > 0 && v->kind == VERDICT_ALERT)
                        hold(p, v);
                return;
        }
        if (e->door != DOOR_CLOSED) {
                set(v, VERDICT_IGNORED, BASIS_OTHER, "door state unknown");
                return;
        }
        if (st->door != DOOR_OPEN) {
                set(v, VERDICT_IGNORED, BASIS_OTHER, "%s",
                    st->door == DOOR_CLOSED ? "door already closed" : "door closed");
                return;
        }
        if (st->settling) {
                judge_early_close(p, st, t, v);
                return;
        }
        if (st->opening == OPENING_HANDOFF && t - st->opening_usec < p->handoff_max_open_usec) {
                set(v, VERDICT_EXPECTED, BASIS_HANDOFF,
                    "delivery hand-off complete: door closed after %s",
                    fmt_dur(t - st->opening_usec, d));
                return;
        }
        set(v, VERDICT_IGNORED, BASIS_OTHER, "door closed after %s",
            fmt_dur(t - st->opening_usec, d));
}

static bool live_tamper_alert(const struct household_state *st, const struct device *d)
{
        for (const struct alert *a = st->alerts; a; a = a->next)
                if (a->kind == ALERT_TAMPER && str_eq(a->device_id, d->id) &&
                    a->state != ALERT_RESOLVED)
                        return true;
        return false;
}

void rules_judge(const struct config *c, const struct household *h,
                 const struct household_state *st, const struct device *d, const struct event *e,
                 int64_t event_usec, struct verdict *v)
{
        const struct policy *p = rules_policy(c, h);
        int64_t t = event_usec;
        char a[32], w[32];

        *v = (struct verdict){ .kind = VERDICT_IGNORED, .pass = -1 };

        if (t < h->obs_start_usec) {
                set(v, VERDICT_IGNORED, BASIS_OUTSIDE_WINDOW, "before the observation window");
                return;
        }
        if (t >= h->obs_end_usec) {
                set(v, VERDICT_IGNORED, BASIS_OUTSIDE_WINDOW, "after the observation window");
                return;
        }
        switch (e->type) {
        case EVENT_DOOR:
                judge_door(c, h, st, e, t, v);
                return;
        case EVENT_RING:
                if (e->retained)
                        set(v, VERDICT_IGNORED, BASIS_RETAINED,
                            "retained replay of a ring (not a new ring)");
                else
                        set(v, VERDICT_IGNORED, BASIS_OTHER,
                            "doorbell ring: an opening within %s is a hand-off",
                            fmt_dur(p->handoff_ring_window_usec, w));
                return;
        case EVENT_PERSON:
                if (e->retained) {
                        set(v, VERDICT_IGNORED, BASIS_RETAINED,
                            "retained replay of a camera detection");
                        return;
                }
                if (e->direction != DIRECTION_OUT) {
                        set(v, VERDICT_IGNORED, BASIS_OTHER, "person detected%s",
                            e->direction == DIRECTION_IN ? " coming in" : "");
                        return;
                }
                if (st->opening == OPENING_HELD &&
                    near(t, st->opening_usec, p->person_window_usec)) {
                        set(v, VERDICT_IGNORED, BASIS_HELD,
                            "person leaving near the opening at %s, which is held for "
                            "chatter_settle: judged when it settles",
                            fmt_clock(st->opening_usec, a));
                        return;
                }
                if (near(t, st->unexpected_open_usec, p->person_window_usec)) {
                        alert(v, ALERT_PERSON_LEFT, BASIS_PERSON_LEFT,
                              "the camera saw a person leave %s %s the unexpected opening at %s",
                              fmt_dur(t - st->unexpected_open_usec, w),
                              t >= st->unexpected_open_usec ? "after" : "before",
                              fmt_clock(st->unexpected_open_usec, a));
                        return;
                }
                set(v, VERDICT_IGNORED, BASIS_OTHER,
                    "person leaving, with no unexpected opening within %s",
                    fmt_dur(p->person_window_usec, w));
                return;
        case EVENT_TAMPER:
                if (!e->tampered) {
                        set(v, VERDICT_IGNORED, BASIS_OTHER, "tamper cleared");
                        return;
                }
                if (e->retained && live_tamper_alert(st, d)) {
                        set(v, VERDICT_IGNORED, BASIS_RETAINED,
                            "retained replay of a tamper state already alerted");
                        return;
                }
                alert(v, ALERT_TAMPER, BASIS_TAMPER, "device %s reports tampering%s", d->id,
                      e->retained ? " (retained state)" : "");
                return;
        default:
                set(v, VERDICT_IGNORED, BASIS_OTHER, "%s recorded", event_type_to_string(e->type));
                return;
        }
}

/* ---- state changes ---- */

/* What the opening at t would be without a ring (for a hand-off that fails). */
static void handoff_fallback(const struct config *c, const struct household *h,
                             struct household_state *st, int64_t t)
{
        struct verdict v;

        judge_opening(c, h, st, t, false, false, &v);
        st->handoff_fallback = v.kind == VERDICT_ALERT ? v.alert : ALERT_DOOR_OPEN_UNEXPECTED;
        st->handoff_report = v.basis == BASIS_TOO_MANY ? st->report_number : 0;
}

static void note_opening_in_passes(struct household_state *st, int64_t t)
{
        for (size_t i = 0; i < st->n_passes; i++) {
                struct rules_pass *ps = &st->passes[i];
                if (t < ps->from_usec)
                        continue;
                if (t < ps->to_usec && !ps->exit_usec) {
                        ps->exit_usec = t;
                        ps->dirty = true;
                } else if (ps->exit_usec && !ps->return_usec && t > ps->exit_usec) {
                        ps->return_usec = t;
                        ps->dirty = true;
                }
        }
}

void rules_set_open_event(struct household_state *st, const char *id)
{
        char buf[EVENT_ID_MAX];

        free(st->open_event);
        st->open_event = NULL;
        if (!id || !*id)
                return;
        rules_copy_text(buf, sizeof(buf), id);
        st->open_event = strdup(buf);
        if (!st->open_event)
                abort();
}

/* The opening has settled (stayed open chatter_settle, or needs no settling): what
 * explained it is used up. basis: the rule that judged it. live: not a retained state. */
static void settle_opening(const struct config *c, const struct household *h,
                           struct household_state *st, enum rules_basis basis, bool live)
{
        int64_t t = st->opening_usec;

        st->settling = false;
        if (st->opening == OPENING_HANDOFF) {
                handoff_fallback(c, h, st, t);
                st->last_ring_usec = 0; /* one ring, one hand-off */
        }
        if (basis == BASIS_UNEXPECTED || basis == BASIS_FOUND_OPEN || basis == BASIS_PERSON_LEFT)
                st->unexpected_open_usec = t;
        /* A pre-report covers the next opening only; an old one lapses. */
        if (st->report_usec && t >= st->report_usec)
                st->report_usec = 0;
        if (live)
                note_opening_in_passes(st, t);
}

static enum rules_opening opening_of(enum rules_basis basis)
{
        switch (basis) {
        case BASIS_OUTSIDE_WINDOW:
                return OPENING_IGNORED;
        case BASIS_HELD:
                return OPENING_HELD;
        case BASIS_HANDOFF:
                return OPENING_HANDOFF;
        case BASIS_UNEXPECTED:
        case BASIS_FOUND_OPEN:
        case BASIS_PERSON_LEFT:
        case BASIS_TOO_MANY:
                return OPENING_ALERTED;
        default:
                return OPENING_EXPECTED;
        }
}

static void apply_door_open(const struct config *c, const struct household *h,
                            struct household_state *st, const struct event *e, int64_t t,
                            const struct verdict *v)
{
        if (st->door == DOOR_OPEN && st->opening != OPENING_NONE)
                return; /* not a new opening */
        if (v->basis == BASIS_RETAINED)
                return; /* an outdated retained state */
        st->door = DOOR_OPEN;
        st->door_changed_usec = t;
        if (v->basis == BASIS_CHATTER)
                return; /* the last opening goes on: its start, id and explanation */
        st->opening_usec = t;
        st->held_alerted = false;
        rules_set_open_event(st, e->id);
        st->opening = opening_of(v->basis);
        st->settling = false;
        if (st->opening == OPENING_IGNORED)
                return;
        /* A retained state was open for a while, and its alert (found open) is raised now:
         * it counts at once, as every opening does without chatter_settle. */
        if (e->retained || rules_policy(c, h)->chatter_settle_usec == 0 ||
            st->opening == OPENING_ALERTED)
                settle_opening(c, h, st, v->basis, !e->retained);
        else
                st->settling = true;
}

void rules_apply(const struct config *c, const struct household *h, struct household_state *st,
                 const struct device *d, const struct event *e, int64_t event_usec,
                 const struct verdict *v)
{
        int64_t t = event_usec;

        switch (e->type) {
        case EVENT_DOOR:
                if (e->door == DOOR_OPEN) {
                        apply_door_open(c, h, st, e, t, v);
                } else if (e->door == DOOR_CLOSED && v->basis != BASIS_RETAINED) {
                        if (st->door != DOOR_CLOSED)
                                st->door_changed_usec = t;
                        st->door = DOOR_CLOSED;
                        /* With chatter_settle the opening stays: a reopen may join it. */
                        if (rules_policy(c, h)->chatter_settle_usec == 0) {
                                st->opening = OPENING_NONE;
                                st->held_alerted = false;
                                rules_set_open_event(st, NULL); /* no opening, no id to keep */
                        }
                }
                break;
        case EVENT_RING:
                if (!e->retained && v->basis != BASIS_OUTSIDE_WINDOW)
                        st->last_ring_usec = t;
                break;
        case EVENT_PERSON:
                if (!e->retained && e->direction == DIRECTION_OUT &&
                    v->basis != BASIS_OUTSIDE_WINDOW)
                        st->person_out_usec = t;
                break;
        default:
                break;
        }
}

/* ---- deadlines ---- */

int64_t rules_next_deadline(const struct config *c, const struct household *h,
                            const struct household_state *st, struct rules_due *ret)
{
        const struct policy *p = rules_policy(c, h);
        struct rules_due best = { .kind = RULES_DUE_NONE, .at_usec = INT64_MAX };

        if (st->door == DOOR_OPEN && st->settling &&
            (st->opening == OPENING_HANDOFF || st->opening == OPENING_EXPECTED ||
             st->opening == OPENING_HELD)) {
                /* The opening's other deadlines wait until it counts. */
                best = (struct rules_due){ RULES_DUE_SETTLE,
                                           st->door_changed_usec + p->chatter_settle_usec, 0 };
        } else if (st->door == DOOR_OPEN &&
                   (st->opening == OPENING_HANDOFF || st->opening == OPENING_EXPECTED ||
                    st->opening == OPENING_ALERTED)) {
                if (st->opening == OPENING_HANDOFF)
                        best = (struct rules_due){ RULES_DUE_HANDOFF,
                                                   st->opening_usec + p->handoff_max_open_usec, 0 };
                int64_t held = st->opening_usec + p->held_open_after_usec;
                if (!st->held_alerted && held < best.at_usec)
                        best = (struct rules_due){ RULES_DUE_HELD_OPEN, held, 0 };
        }
        for (size_t i = 0; i < st->n_passes; i++) {
                const struct rules_pass *ps = &st->passes[i];
                int64_t at = ps->to_usec + p->pass_overdue_after_usec;
                if (ps->exit_usec && !ps->return_usec && !ps->overdue && at < best.at_usec)
                        best = (struct rules_due){ RULES_DUE_PASS_OVERDUE, at, i };
        }
        if (st->rounds_usec) {
                struct rules_round r;
                /* Due just after the window: a reading at its last instant still counts. */
                if (rules_round_after(h, st->rounds_usec, &r) && r.to_usec + 1 < best.at_usec)
                        best = (struct rules_due){ RULES_DUE_ROUND, r.to_usec + 1, 0 };
        }
        if (best.kind != RULES_DUE_NONE && !in_observation(h, best.at_usec))
                best = (struct rules_due){ .kind = RULES_DUE_NONE, .at_usec = INT64_MAX };
        if (ret)
                *ret = best;
        return best.at_usec;
}

/* The opening has stayed open chatter_settle: an expected one uses up its explanation; a
 * held one is judged again (a ring or a camera detection that arrived after the door
 * opened, with an earlier time, now counts) and alerted unless that explains it. */
static void fire_settle(const struct config *c, const struct household *h,
                        struct household_state *st, struct verdict *v)
{
        const struct policy *p = rules_policy(c, h);
        char a[32], s[32];

        if (st->opening != OPENING_HELD) {
                settle_opening(c, h, st, BASIS_OTHER, true);
                set(v, VERDICT_IGNORED, BASIS_SETTLED,
                    "the opening at %s stayed open chatter_settle (%s): %s",
                    fmt_clock(st->opening_usec, a), fmt_dur(p->chatter_settle_usec, s),
                    st->opening == OPENING_HANDOFF ? "the ring's hand-off is used" : "it counts");
                return;
        }
        judge_opening(c, h, st, st->opening_usec, true, false, v);
        st->opening = opening_of(v->basis);
        settle_opening(c, h, st, v->basis, true);
}

/* The round whose window ended at `end`: done, excused by a pass, or missed. */
static void fire_round(const struct household *h, struct household_state *st, int64_t end,
                       struct verdict *v)
{
        struct rules_round r;
        char a[32], b[32], w[32];

        st->rounds_usec = end;
        if (!rules_round_after(h, end - 1, &r) || r.to_usec != end) {
                set(v, VERDICT_IGNORED, BASIS_ROUND, "no medical round ends at %s",
                    fmt_clock(end, a));
                return;
        }
        v->round_at_usec = r.at_usec;
        if (st->reading_usec >= r.from_usec && st->reading_usec <= r.to_usec) {
                set(v, VERDICT_IGNORED, BASIS_ROUND,
                    "medical round at %02d:%02d done: reading at %s", r.minute / 60, r.minute % 60,
                    fmt_clock(st->reading_usec, a));
                v->round = ROUND_DONE;
                return;
        }
        for (size_t i = 0; i < st->n_passes; i++) {
                const struct rules_pass *ps = &st->passes[i];
                if (ps->from_usec <= r.to_usec && ps->to_usec > r.from_usec) {
                        set(v, VERDICT_IGNORED, BASIS_ROUND,
                            "medical round at %02d:%02d excused: a pass (%s) %s to %s",
                            r.minute / 60, r.minute % 60, ps->reason, fmt_instant(ps->from_usec, a),
                            fmt_instant(ps->to_usec, b));
                        v->round = ROUND_EXCUSED;
                        return;
                }
        }
        alert(v, ALERT_ROUND_MISSED, BASIS_ROUND,
              "no reading for the medical round at %02d:%02d (window %s to %s, %s each side)",
              r.minute / 60, r.minute % 60, fmt_clock(r.from_usec, a), fmt_clock(r.to_usec, b),
              fmt_dur((r.to_usec - r.from_usec) / 2, w));
        v->round = ROUND_MISSED;
}

const char *rules_round_outcome_to_string(enum rules_round_outcome o)
{
        switch (o) {
        case ROUND_DONE:
                return "done";
        case ROUND_EXCUSED:
                return "excused";
        case ROUND_MISSED:
                return "missed";
        default:
                return "none";
        }
}

void rules_fire(const struct config *c, const struct household *h, struct household_state *st,
                const struct rules_due *due, struct verdict *v)
{
        const struct policy *p = rules_policy(c, h);
        char a[32], b[32], d[32];

        *v = (struct verdict){ .kind = VERDICT_IGNORED, .pass = -1 };
        switch (due->kind) {
        case RULES_DUE_HANDOFF: {
                int64_t opened = st->opening_usec;
                const char *tail = "";

                st->opening = OPENING_ALERTED;
                if (st->handoff_fallback == ALERT_TOO_MANY_OPENINGS) {
                        alert(v, ALERT_TOO_MANY_OPENINGS, BASIS_HANDOFF_EXPIRED,
                              "door still open %s after a doorbell hand-off opening at %s; judged "
                              "as if there had been no ring: opened after pre-report %d of the "
                              "day, the limit is %d a day",
                              fmt_dur(p->handoff_max_open_usec, d), fmt_clock(opened, a),
                              st->handoff_report, p->resident_reports_per_day);
                        return;
                }
                st->unexpected_open_usec = opened;
                if (near(opened, st->person_out_usec, p->person_window_usec)) {
                        tail = ", and the camera saw a person leave";
                        alert(v, ALERT_PERSON_LEFT, BASIS_HANDOFF_EXPIRED, "%s", "");
                } else
                        alert(v, ALERT_DOOR_OPEN_UNEXPECTED, BASIS_HANDOFF_EXPIRED, "%s", "");
                snprintf(v->reason, sizeof(v->reason),
                         "door still open %s after a doorbell hand-off opening at %s; judged as "
                         "if there had been no ring: door opened with %s%s",
                         fmt_dur(p->handoff_max_open_usec, d), fmt_clock(opened, a), UNEXPLAINED,
                         tail);
                return;
        }
        case RULES_DUE_HELD_OPEN:
                st->held_alerted = true;
                alert(v, ALERT_DOOR_HELD_OPEN, BASIS_HELD_OPEN,
                      "door open since %s, for held_open_after (%s)%s",
                      fmt_clock(st->opening_usec, a), fmt_dur(p->held_open_after_usec, d),
                      st->opening == OPENING_EXPECTED || st->opening == OPENING_HANDOFF
                          ? "; the opening itself was expected"
                          : "");
                return;
        case RULES_DUE_PASS_OVERDUE: {
                struct rules_pass *ps = &st->passes[due->pass];
                ps->overdue = true;
                ps->dirty = true;
                alert(v, ALERT_PASS_OVERDUE, BASIS_PASS_OVERDUE,
                      "pass (%s) ended at %s; no return (door opening) seen since the exit at %s",
                      ps->reason, fmt_instant(ps->to_usec, a), fmt_clock(ps->exit_usec, b));
                v->pass = (int)due->pass;
                return;
        }
        case RULES_DUE_SETTLE:
                fire_settle(c, h, st, v);
                return;
        case RULES_DUE_ROUND:
                fire_round(h, st, due->at_usec - 1, v);
                return;
        default:
                set(v, VERDICT_IGNORED, BASIS_OTHER, "nothing due");
                return;
        }
}

/* ---- commands ---- */

bool rules_worker_may_act(const struct config *c, const struct household *h, const struct worker *w)
{
        if (!w || !h)
                return false;
        if (w->community && w->community == h->community)
                return true;
        for (int r = 0; r < TEAM_ROLES; r++)
                if (h->team[r] == w)
                        return true;
        if (h->community && h->community->leader == w)
                return true;
        for (size_t i = 0; i < c->n_command; i++)
                if (c->command[i] == w)
                        return true;
        return false;
}

int rules_checkin(const struct config *c, const struct household *h, struct household_state *st,
                  const struct worker *w, int64_t at_usec, const char **error)
{
        if (!rules_worker_may_act(c, h, w)) {
                *error = "worker is not of the household's community or team";
                return RULES_E_REFUSED;
        }
        if (!in_observation(h, at_usec)) {
                *error = "household is not under observation at that time";
                return RULES_E_REFUSED;
        }
        if (at_usec >= st->checkin_usec) {
                st->checkin_usec = at_usec;
                rules_set_checkin_worker(st, w->id);
        }
        return 0;
}

int rules_report(const struct config *c, const struct household *h, struct household_state *st,
                 int64_t at_usec, const char *reason, int *ret_number, bool *ret_over_limit,
                 const char **error)
{
        const struct policy *p = rules_policy(c, h);
        int day = local_day(at_usec);

        if (!in_observation(h, at_usec)) {
                *error = "household is not under observation at that time";
                return RULES_E_REFUSED;
        }
        if (day != st->report_day) {
                st->report_day = day;
                st->reports_today = 0;
        }
        st->reports_today++;
        st->report_usec = at_usec;
        st->report_number = st->reports_today;
        rules_set_report_reason(st, reason && *reason ? reason : "no reason given");
        *ret_number = st->report_number;
        *ret_over_limit = st->report_number > p->resident_reports_per_day;
        return 0;
}

/* Whether symptom s is one of the policy's, compared without case. */
static bool fever_symptom(const struct policy *p, const char *s)
{
        for (size_t i = 0; i < p->n_fever_symptoms; i++)
                if (strcasecmp(p->fever_symptoms[i], s) == 0)
                        return true;
        return false;
}

int rules_reading(const struct config *c, const struct household *h, struct household_state *st,
                  const struct worker *w, int64_t at_usec, const struct rules_reading *rd,
                  struct rules_reading_outcome *ret, const char **error)
{
        const struct policy *p = rules_policy(c, h);
        char listed[256] = "", a[32];
        size_t n = 0;

        *ret = (struct rules_reading_outcome){ .verdict = { .kind = VERDICT_IGNORED, .pass = -1 } };
        if (!in_observation(h, at_usec)) {
                *error = "household is not under observation at that time";
                return RULES_E_REFUSED;
        }
        ret->counts = rules_reading_counts(c, h, w, at_usec);
        ret->in_round = rules_round_at(h, at_usec, &ret->round);
        if (ret->counts && at_usec > st->reading_usec)
                st->reading_usec = at_usec;
        for (size_t i = 0; i < rd->n_symptoms; i++)
                if (fever_symptom(p, rd->symptoms[i]))
                        n += (size_t)snprintf(listed + n,
                                              n < sizeof(listed) ? sizeof(listed) - n : 0, "%s%s",
                                              n ? ", " : "", rd->symptoms[i]);
        ret->fever = rd->temperature >= p->fever_at || listed[0];
        if (ret->fever) {
                char t[64] = "";
                if (rd->temperature >= p->fever_at)
                        snprintf(t, sizeof(t), "temperature %.1f °C at or above fever_at %.1f °C",
                                 rd->temperature, p->fever_at);
                alert(&ret->verdict, ALERT_FEVER, BASIS_FEVER, "%s%s%s%s (reading by %s at %s)", t,
                      t[0] && listed[0] ? "; " : "", listed[0] ? "fever symptoms: " : "", listed,
                      w->id, fmt_clock(at_usec, a));
                return 0;
        }
        if (ret->counts && ret->in_round)
                set(&ret->verdict, VERDICT_IGNORED, BASIS_ROUND,
                    "temperature %.1f °C: the reading of the medical round at %02d:%02d",
                    rd->temperature, ret->round.minute / 60, ret->round.minute % 60);
        else
                set(&ret->verdict, VERDICT_IGNORED, BASIS_OTHER, "temperature %.1f °C%s",
                    rd->temperature,
                    !ret->counts    ? " (recorded; counts for no round: not the household's "
                                      "medical worker nor one on duty)"
                    : ret->in_round ? ""
                                    : " (outside a round's window)");
        return 0;
}

int rules_check_pass(const struct config *c, const struct household *h,
                     const struct household_state *st, int64_t from_usec, int64_t to_usec,
                     const char *reason, const char **error)
{
        if (!reason || !*reason) {
                *error = "\"reason\" missing or empty";
                return RULES_E_REFUSED;
        }
        if (from_usec >= to_usec) {
                *error = "\"from\" must be before \"to\"";
                return RULES_E_REFUSED;
        }
        if (to_usec <= h->obs_start_usec || from_usec >= h->obs_end_usec) {
                *error = "the pass lies outside the household's observation";
                return RULES_E_REFUSED;
        }
        if (st->n_passes >= RULES_PASSES_MAX) {
                *error = "too many pending passes for this household";
                return RULES_E_REFUSED;
        }
        return 0;
}

int rules_add_pass(struct household_state *st, const struct rules_pass *p)
{
        if (st->n_passes >= RULES_PASSES_MAX)
                return -ENOSPC;
        if (st->n_passes == st->cap_passes) {
                /* Most households never get a pass: no memory until the first. */
                size_t cap = st->cap_passes ? st->cap_passes * 2 : 2;
                struct rules_pass *n = xrealloc(st->passes, cap * sizeof(*n));
                st->passes = n;
                st->cap_passes = cap;
        }
        st->passes[st->n_passes] = *p;
        st->passes[st->n_passes].dirty = false;
        st->n_passes++;
        return 0;
}

void rules_state_done(struct household_state *st)
{
        free(st->open_event);
        st->open_event = NULL;
        free(st->passes);
        st->passes = NULL;
        st->n_passes = st->cap_passes = 0;
        free(st->texts);
        st->texts = NULL;
}

struct rules_texts {
        char checkin_worker[RULES_TEXT_MAX];
        char report_reason[RULES_TEXT_MAX];
};

int rules_state_copy(struct household_state *dst, const struct household_state *src)
{
        char *open_event = dst->open_event;
        struct rules_texts *texts = dst->texts;
        struct rules_pass *passes;
        unsigned cap;

        /* More room for passes first: it leaves dst's state as it is. */
        if (src->passes && dst->cap_passes < src->cap_passes) {
                struct rules_pass *n = xrealloc(dst->passes, src->cap_passes * sizeof(*n));
                dst->passes = n;
                dst->cap_passes = src->cap_passes;
        }
        /* dst's id is reused when the new one fits (its buffer holds at least its own). */
        if (src->open_event && (!open_event || strlen(open_event) < strlen(src->open_event))) {
                open_event = xstrdup(src->open_event);
        }
        if (src->texts && !texts)
                texts = xmalloc(sizeof(*texts));
        /* Nothing fails from here on. */
        if (open_event != dst->open_event || !src->open_event)
                free(dst->open_event);
        if (!src->open_event)
                open_event = NULL;
        else if (open_event == dst->open_event)
                strcpy(open_event, src->open_event);
        if (src->texts)
                *texts = *src->texts;
        else {
                free(texts);
                texts = NULL;
        }
        if (src->passes)
                memcpy(dst->passes, src->passes, src->n_passes * sizeof(*src->passes));
        else {
                free(dst->passes);
                dst->passes = NULL;
                dst->cap_passes = 0;
        }
        passes = dst->passes;
        cap = dst->cap_passes;
        *dst = *src;
        dst->open_event = open_event;
        dst->texts = texts;
        dst->passes = passes;
        dst->cap_passes = cap;
        return 0;
}

const char *rules_open_event(const struct household_state *st)
{
        return st->open_event ? st->open_event : "";
}

const char *rules_checkin_worker(const struct household_state *st)
{
        return st->texts ? st->texts->checkin_worker : "";
}

const char *rules_report_reason(const struct household_state *st)
{
        return st->texts ? st->texts->report_reason : "";
}

/* The texts, allocated when a non-empty one is set; NULL when there is nothing to set. */
static struct rules_texts *texts_for(struct household_state *st, const char *value)
{
        if (!st->texts && value && *value) {
                st->texts = calloc(1, sizeof(*st->texts));
                if (!st->texts)
                        abort();
        }
        return st->texts;
}

void rules_set_checkin_worker(struct household_state *st, const char *worker)
{
        struct rules_texts *t = texts_for(st, worker);
        if (t)
                rules_copy_text(t->checkin_worker, sizeof(t->checkin_worker), worker);
}

void rules_set_report_reason(struct household_state *st, const char *reason)
{
        struct rules_texts *t = texts_for(st, reason);
        if (t)
                rules_copy_text(t->report_reason, sizeof(t->report_reason), reason);
}

bool rules_pass_done(const struct rules_pass *p, int64_t at_usec)
{
        if (p->exit_usec && p->return_usec)
                return true;
        if (!p->exit_usec)
                return at_usec >= p->to_usec;
        return at_usec >= p->to_usec + 24 * USEC_PER_HOUR;
}

size_t rules_prune_passes(struct household_state *st, int64_t at_usec)
{
        size_t k = 0, dropped = 0;

        for (size_t i = 0; i < st->n_passes; i++) {
                if (rules_pass_done(&st->passes[i], at_usec)) {
                        dropped++;
                        continue;
                }
                st->passes[k++] = st->passes[i];
        }
        st->n_passes = k;
        return dropped;
}

/* ---- persistence ---- */

static const char *const opening_names[] = { "none",    "ignored", "expected",
                                             "handoff", "alerted", "held" };

/* Written without a tree: this runs for every event. Integers as exact digits. */
void rules_state_format(const struct household_state *st, struct jsonw *w)
{
        jsonw_object_begin(w, NULL);
        jsonw_string(w, "door", door_state_to_string(st->door));
        jsonw_int(w, "door_changed_usec", st->door_changed_usec);
        jsonw_string(w, "opening", opening_names[st->opening]);
        jsonw_int(w, "opening_usec", st->opening_usec);
        jsonw_bool(w, "settling", st->settling);
        jsonw_string(w, "open_event", rules_open_event(st));
        jsonw_string(w, "handoff_fallback", alert_kind_to_string(st->handoff_fallback));
        jsonw_int(w, "handoff_report", st->handoff_report);
        jsonw_bool(w, "held_alerted", st->held_alerted);
        jsonw_int(w, "last_ring_usec", st->last_ring_usec);
        jsonw_int(w, "unexpected_open_usec", st->unexpected_open_usec);
        jsonw_int(w, "person_out_usec", st->person_out_usec);
        jsonw_int(w, "checkin_usec", st->checkin_usec);
        jsonw_string(w, "checkin_worker", rules_checkin_worker(st));
        jsonw_int(w, "report_usec", st->report_usec);
        jsonw_string(w, "report_reason", rules_report_reason(st));
        jsonw_int(w, "report_number", st->report_number);
        jsonw_int(w, "report_day", st->report_day);
        jsonw_int(w, "reports_today", st->reports_today);
        jsonw_int(w, "clock_offset_usec", st->clock_offset_usec);
        jsonw_int(w, "rounds_usec", st->rounds_usec);
        jsonw_int(w, "reading_usec", st->reading_usec);
        jsonw_object_end(w);
}

cJSON *rules_state_to_json(const struct household_state *st)
{
        char buf[1024];
        struct jsonw w;
        cJSON *j;

        jsonw_init(&w, buf, sizeof(buf));
        rules_state_format(st, &w);
        j = jsonw_text(&w) ? cJSON_Parse(jsonw_text(&w)) : NULL;
        jsonw_done(&w);
        return j;
}

static void get_usec(const cJSON *j, const char *key, int64_t *out)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
        if (cJSON_IsNumber(v) && v->valuedouble > -9e18 && v->valuedouble < 9e18)
                *out = (int64_t)v->valuedouble;
}

static void get_int_member(const cJSON *j, const char *key, int *out)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
        if (cJSON_IsNumber(v) && v->valuedouble > -2e9 && v->valuedouble < 2e9)
                *out = (int)v->valuedouble;
}

void rules_state_from_json(struct household_state *st, const cJSON *j)
{
        const cJSON *v;

        if (!cJSON_IsObject(j))
                return;
        v = cJSON_GetObjectItemCaseSensitive(j, "door");
        if (cJSON_IsString(v))
                st->door = strcmp(v->valuestring, "open") == 0     ? DOOR_OPEN
                           : strcmp(v->valuestring, "closed") == 0 ? DOOR_CLOSED
                                                                   : DOOR_UNKNOWN;
        get_usec(j, "door_changed_usec", &st->door_changed_usec);
        v = cJSON_GetObjectItemCaseSensitive(j, "opening");
        for (size_t i = 0; cJSON_IsString(v) && i < ELEMENTSOF(opening_names); i++)
                if (strcmp(v->valuestring, opening_names[i]) == 0)
                        st->opening = (enum rules_opening)i;
        /* A state stored before chatter_settle: its opening started at the door's change. */
        st->opening_usec = st->door_changed_usec;
        get_usec(j, "opening_usec", &st->opening_usec);
        st->settling = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "settling"));
        v = cJSON_GetObjectItemCaseSensitive(j, "open_event");
        if (cJSON_IsString(v))
                rules_set_open_event(st, v->valuestring);
        v = cJSON_GetObjectItemCaseSensitive(j, "handoff_fallback");
        if (cJSON_IsString(v) && alert_kind_from_string(v->valuestring) != ALERT_KIND_INVALID)
                st->handoff_fallback = alert_kind_from_string(v->valuestring);
        get_int_member(j, "handoff_report", &st->handoff_report);
        st->held_alerted = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "held_alerted"));
        get_usec(j, "last_ring_usec", &st->last_ring_usec);
        get_usec(j, "unexpected_open_usec", &st->unexpected_open_usec);
        get_usec(j, "person_out_usec", &st->person_out_usec);
        get_usec(j, "checkin_usec", &st->checkin_usec);
        v = cJSON_GetObjectItemCaseSensitive(j, "checkin_worker");
        if (cJSON_IsString(v))
                rules_set_checkin_worker(st, v->valuestring);
        get_usec(j, "report_usec", &st->report_usec);
        v = cJSON_GetObjectItemCaseSensitive(j, "report_reason");
        if (cJSON_IsString(v))
                rules_set_report_reason(st, v->valuestring);
        get_int_member(j, "report_number", &st->report_number);
        get_int_member(j, "report_day", &st->report_day);
        get_int_member(j, "reports_today", &st->reports_today);
        get_usec(j, "clock_offset_usec", &st->clock_offset_usec);
        get_usec(j, "rounds_usec", &st->rounds_usec);
        get_usec(j, "reading_usec", &st->reading_usec);
        /* A closed door keeps its last opening (a reopen within chatter_settle joins it). */
        if (st->door == DOOR_UNKNOWN || (st->door == DOOR_CLOSED && st->opening == OPENING_NONE)) {
                st->opening = OPENING_NONE;
                rules_set_open_event(st, NULL);
        }
}

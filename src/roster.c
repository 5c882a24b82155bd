/* roster.c: duty resolution over rosters.json (see roster.h for the definitions).
 *
 * Time zone handling: instead of calling mktime() per shift (whose treatment of
 * nonexistent and ambiguous local times is unspecified), a query first samples the
 * UTC offset with localtime_r() around the instant (every 6 h, bisecting to the second
 * where it changes) into a struct tzwin: a few segments of constant offset. Wall-clock
 * <-> instant conversions are then exact integer arithmetic, and the DST rules of
 * roster.h ("first instant the clock reads W or later") fall out of the segment list.
 * Wall-clock times are "local seconds": instant + UTC offset, so local day d starts at
 * local second d * 86400 and 1970-01-01 (d = 0) was a Thursday.
 *
 * Everything here reads the config and writes only into caller-provided answers; the
 * only state kept between calls is a memo of time zone windows (tzwin_for_days()). Costs:
 * roster_resolve() is O(shifts + overrides of the config + workers + households of the community),
 * ~20 localtime_r() calls the first time its days are asked (one after that), no allocation;
 * roster_gaps() sorts one array of the role's shift occurrences. */
#include "roster.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util.h"

#define SEC_PER_DAY     INT64_C(86400)
#define TZ_SAMPLE_SEC   (6 * INT64_C(3600))
#define TZ_MARGIN_SEC   (16 * INT64_C(3600)) /* > any UTC offset in tzdata */
#define TZ_SEGMENTS_MAX 64
#define ROSTER_SEEN_MAX 16
#define TZ_MEMO_SLOTS   4

static const char *const team_role_names[TEAM_ROLES] = {
        [ROLE_COMMUNITY] = "community",
        [ROLE_MEDICAL] = "medical",
        [ROLE_POLICE] = "police",
};

static const char *const reason_names[] = {
        [ROSTER_TEAM] = "team",       [ROSTER_COVER] = "cover",   [ROSTER_LEADER] = "leader",
        [ROSTER_COMMAND] = "command", [ROSTER_NOBODY] = "nobody",
};

const char *roster_reason_to_string(enum roster_reason r)
{
        if ((size_t)r >= ELEMENTSOF(reason_names))
                return NULL;
        return reason_names[r];
}

/* ---- time zone window ---- */

/* Segment i has UTC offset off[i] from from[i] (inclusive; segment 0 from -inf) to
 * from[i+1] (exclusive; the last one to +inf). */
struct tzwin {
        size_t n;
        int64_t from[TZ_SEGMENTS_MAX];
        int64_t off[TZ_SEGMENTS_MAX];
};

static int64_t floordiv(int64_t a, int64_t b)
{
        int64_t q = a / b;
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Monday = 0 ... Sunday = 6, matching shift.days_mask. */
static unsigned weekday(int64_t day)
{
        return (unsigned)(((day + 3) % 7 + 7) % 7);
}

static int64_t gmtoff_at(int64_t t)
{
        struct tm tm;

        /* Only fails for years beyond int: treat as UTC rather than fail a bool API. */
        if (!local_time(t, &tm))
                return 0;
        return tm.tm_gmtoff;
}

static int tzwin_append(struct tzwin *z, int64_t from, int64_t off)
{
        if (z->n >= TZ_SEGMENTS_MAX)
                return -ERANGE;
        z->from[z->n] = from;
        z->off[z->n] = off;
        z->n++;
        return 0;
}

/* Samples the offsets between instants a and b (seconds). */
static int tzwin_init(struct tzwin *z, int64_t a, int64_t b)
{
        z->n = 0;
        (void)tzwin_append(z, INT64_MIN, gmtoff_at(a));
        for (int64_t t = a; t < b;) {
                int64_t next = MIN(t + TZ_SAMPLE_SEC, b), o = gmtoff_at(next), lo = t;

                /* Bisect to the first second of each change; loops when two changes
                 * fall between samples. */
                while (z->off[z->n - 1] != o) {
                        int64_t cur = z->off[z->n - 1], hi = next;
                        while (hi - lo > 1) {
                                int64_t mid = lo + (hi - lo) / 2;
                                if (gmtoff_at(mid) == cur)
                                        lo = mid;
                                else
                                        hi = mid;
                        }
                        if (tzwin_append(z, hi, gmtoff_at(hi)) < 0)
                                return -ERANGE;
                        lo = hi;
                }
                t = next;
        }
        return 0;
}

/* The first instant at which the local clock reads `wall` or later. */
static int64_t tzwin_instant(const struct tzwin *z, int64_t wall)
{
        for (size_t i = 0; i < z->n; i++) {
                int64_t cand = wall - z->off[i];
                if (i > 0 && cand < z->from[i])
                        return z->from[i]; /* skipped over by a forward jump */
                if (i + 1 == z->n || cand < z->from[i + 1])
                        return cand;
        }
        return wall; /* not reached: z->n >= 1 */
}

/* The window for shifts starting on local days day_lo..day_hi (ending by day_hi + 2).
 * Sampling costs ~25 localtime_r() calls; alerts ask for the same few days over and
 * over, so the last windows are remembered until the time zone changes. */
static int tzwin_for_days(struct tzwin *z, int64_t day_lo, int64_t day_hi)
{
        static struct {
                bool valid;
                unsigned generation;
                int64_t day_lo, day_hi;
                struct tzwin z;
        } memo[TZ_MEMO_SLOTS];
        static unsigned next;
        unsigned gen = timezone_generation();
        int r;

        for (size_t i = 0; i < TZ_MEMO_SLOTS; i++)
                if (memo[i].valid && memo[i].generation == gen && memo[i].day_lo == day_lo &&
                    memo[i].day_hi == day_hi) {
                        *z = memo[i].z;
                        return 0;
                }
        r = tzwin_init(z, day_lo * SEC_PER_DAY - TZ_MARGIN_SEC,
                       (day_hi + 2) * SEC_PER_DAY + TZ_MARGIN_SEC);
        if (r < 0)
                return r;
        memo[next].valid = true;
        memo[next].generation = gen;
        memo[next].day_lo = day_lo;
        memo[next].day_hi = day_hi;
        memo[next].z = *z;
        next = (next + 1) % TZ_MEMO_SLOTS;
        return 0;
}

/* ---- one query instant ---- */

struct query {
        const struct config *c;
        int64_t at_usec;
        int64_t day; /* local day of at_usec */
        struct tzwin z;
};

static void query_init(struct query *q, const struct config *c, int64_t at_usec)
{
        int64_t t = floordiv(at_usec, USEC_PER_SEC);

        q->c = c;
        q->at_usec = at_usec;
        q->day = floordiv(t + gmtoff_at(t), SEC_PER_DAY);
        /* Five days hold a handful of transitions at most, far below TZ_SEGMENTS_MAX. */
        (void)tzwin_for_days(&q->z, q->day - 1, q->day + 1);
}

static void shift_occurrence(const struct tzwin *z, const struct shift *s, int64_t day,
                             int64_t *ret_from_usec, int64_t *ret_to_usec)
{
        int64_t end_day = s->to_min <= s->from_min ? day + 1 : day;

        *ret_from_usec = tzwin_instant(z, day * SEC_PER_DAY + s->from_min * 60) * USEC_PER_SEC;
        *ret_to_usec = tzwin_instant(z, end_day * SEC_PER_DAY + s->to_min * 60) * USEC_PER_SEC;
}

static bool shift_covers(const struct query *q, const struct shift *s)
{
        /* A shift is at most 24 h of wall clock, so only shifts starting the day before,
         * the day of, or (should the clock fall back across midnight) the day after can
         * cover. */
        for (int64_t d = q->day - 1; d <= q->day + 1; d++) {
                int64_t from, to;
                if (!(s->days_mask & (1u << weekday(d))))
                        continue;
                shift_occurrence(&q->z, s, d, &from, &to);
                if (from <= q->at_usec && q->at_usec < to)
                        return true;
        }
        return false;
}

static bool override_in_force(const struct roster_override *o, int64_t at_usec)
{
        return o->from_usec <= at_usec && at_usec < o->to_usec;
}

static bool role_overridden(const struct community *cm, enum role role, int64_t at_usec)
{
        for (size_t i = 0; i < cm->n_overrides; i++)
                if (cm->overrides[i].role == role && override_in_force(&cm->overrides[i], at_usec))
                        return true;
        return false;
}

static bool community_lists(const struct community *cm, const struct worker *w)
{
        for (size_t i = 0; i < cm->n_overrides; i++)
                if (cm->overrides[i].worker == w)
                        return true;
        for (size_t i = 0; i < cm->n_shifts; i++)
                if (cm->shifts[i].worker == w)
                        return true;
        return false;
}

bool roster_worker_keeps_roster(const struct config *c, const struct worker *w)
{
        if (!c || !w)
                return false;
        /* The worker's own community first: that is where nearly everyone is listed. */
        if (w->community && community_lists(w->community, w))
                return true;
        for (size_t i = 0; i < c->n_communities; i++)
                if (&c->communities[i] != w->community && community_lists(&c->communities[i], w))
                        return true;
        return false;
}

/* Checks w's entries in one community; returns true when one covers the instant. */
static bool community_duty(const struct query *q, const struct community *cm,
                           const struct worker *w, bool *listed, struct roster_duty *ret)
{
        for (size_t i = 0; i < cm->n_overrides; i++) {
                const struct roster_override *o = &cm->overrides[i];
                if (o->worker != w)
                        continue;
                *listed = true;
                if (override_in_force(o, q->at_usec)) {
                        *ret = (struct roster_duty){ ROSTER_DUTY_OVERRIDE, cm, NULL, o };
                        return true;
                }
        }
        for (size_t i = 0; i < cm->n_shifts; i++) {
                const struct shift *s = &cm->shifts[i];
                if (s->worker != w)
                        continue;
                *listed = true;
                if (shift_covers(q, s) && !role_overridden(cm, s->role, q->at_usec)) {
                        *ret = (struct roster_duty){ ROSTER_DUTY_SHIFT, cm, s, NULL };
                        return true;
                }
        }
        return false;
}

static void worker_duty(const struct query *q, const struct worker *w, struct roster_duty *ret)
{
        const struct config *c = q->c;
        bool listed = false;

        *ret = (struct roster_duty){ ROSTER_DUTY_OFF, NULL, NULL, NULL };
        if (w->community && community_duty(q, w->community, w, &listed, ret))
                return;
        for (size_t i = 0; i < c->n_communities; i++)
                if (&c->communities[i] != w->community &&
                    community_duty(q, &c->communities[i], w, &listed, ret))
                        return;
        if (!listed)
                ret->kind = ROSTER_DUTY_NO_ROSTER;
}

int roster_worker_duty(const struct config *c, const struct worker *w, int64_t at_usec,
                       struct roster_duty *ret)
{
        struct query q;

        if (!c || !w || !ret)
                return -EINVAL;
        query_init(&q, c, at_usec);
        worker_duty(&q, w, ret);
        return 0;
}

bool roster_worker_on_duty(const struct config *c, const struct worker *w, int64_t at_usec)
{
        struct roster_duty d;

        return roster_worker_duty(c, w, at_usec, &d) == 0 && d.kind != ROSTER_DUTY_OFF;
}

/* ---- answers ---- */

static void answer_reset(struct roster_answer *a)
{
        a->reason = ROSTER_NOBODY;
        a->n = 0;
        a->truncated = false;
        a->text[0] = 0;
}

static bool answer_has(const struct roster_answer *a, const struct worker *w)
{
        for (size_t i = 0; i < a->n; i++)
                if (a->workers[i] == w)
                        return true;
        return false;
}

static void answer_add(struct roster_answer *a, const struct worker *w, const struct roster_duty *d)
{
        if (answer_has(a, w))
                return;
        if (a->n >= ROSTER_MAX) {
                a->truncated = true;
                return;
        }
        a->workers[a->n] = w;
        a->duty[a->n] = *d;
        a->n++;
}

static void text_add(struct roster_answer *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void text_add(struct roster_answer *a, const char *fmt, ...)
{
        size_t len = strlen(a->text);
        va_list ap;
        int k;

        if (len + 1 >= sizeof(a->text))
                return;
        va_start(ap, fmt);
        k = vsnprintf(a->text + len, sizeof(a->text) - len, fmt, ap);
        va_end(ap);
        if (k >= 0 && (size_t)k >= sizeof(a->text) - len) {
                size_t end = sizeof(a->text) - 4;
                /* Do not leave half a UTF-8 character (the en dash) before the "...". */
                while (end > 0 && ((unsigned char)a->text[end] & 0xc0) == 0x80)
                        end--;
                memcpy(a->text + end, "...", 4);
        }
}

static const char *format_minute(int64_t usec, char buf[static 32])
{
        time_t t = (time_t)floordiv(usec, USEC_PER_SEC);
        struct tm tm;

        if (!localtime_r(&t, &tm) || strftime(buf, 32, "%Y-%m-%d %H:%M", &tm) == 0)
                snprintf(buf, 32, "@%lld", (long long)t);
        return buf;
}

/* "on shift", "on override 2020-02-06 20:00 – 2020-02-07 08:00", ... */
static void text_add_duty(struct roster_answer *a, const struct roster_duty *d, bool team)
{
        char b1[32], b2[32];

        switch (d->kind) {
        case ROSTER_DUTY_SHIFT:
                text_add(a, " on shift");
                break;
        case ROSTER_DUTY_OVERRIDE:
                text_add(a, " on override %s – %s", format_minute(d->override->from_usec, b1),
                         format_minute(d->override->to_usec, b2));
                break;
        case ROSTER_DUTY_NO_ROSTER:
                text_add(a, team ? " keeps no roster: always on duty"
                                 : " (keeps no roster: always on duty)");
                break;
        case ROSTER_DUTY_OFF:
        case ROSTER_DUTY_FALLBACK:
                break;
        }
}

static void text_add_list(struct roster_answer *a)
{
        for (size_t i = 0; i < a->n; i++) {
                text_add(a, "%s%s", i > 0 ? ", " : "", a->workers[i]->id);
                text_add_duty(a, &a->duty[i], false);
        }
        if (a->truncated)
                text_add(a, ", and more");
}

/* Adds the workers of R who keep no roster and belong to cm (roster.h). */
static void add_rosterless(const struct query *q, const struct community *cm, enum role role,
                           struct roster_answer *a)
{
        static const struct roster_duty no_roster = { ROSTER_DUTY_NO_ROSTER, NULL, NULL, NULL };
        const struct config *c = q->c;
        const struct worker *seen[ROSTER_SEEN_MAX];
        size_t n_seen = 0, k = 0;

        for (size_t i = 0; i < c->n_workers; i++) {
                const struct worker *w = &c->workers[i];
                if (w->role == role && w->community == cm && !answer_has(a, w) &&
                    !roster_worker_keeps_roster(c, w))
                        answer_add(a, w, &no_roster);
        }
        /* Team members from elsewhere (e.g. an officer serving two communities). */
        for (size_t i = 0; i < cm->n_households; i++) {
                const struct worker *w = cm->households[i]->team[role];
                bool dup = false;

                if (!w || (w->role == role && w->community == cm) || answer_has(a, w))
                        continue;
                for (size_t j = 0; j < n_seen && !dup; j++)
                        dup = seen[j] == w;
                if (dup)
                        continue;
                /* A small ring: households share a handful of members. */
                seen[k++ % ROSTER_SEEN_MAX] = w;
                n_seen = MIN(k, (size_t)ROSTER_SEEN_MAX);
                if (!roster_worker_keeps_roster(c, w))
                        answer_add(a, w, &no_roster);
        }
}

static void role_on_duty(const struct query *q, const struct community *cm, enum role role,
                         struct roster_answer *a)
{
        if (role_overridden(cm, role, q->at_usec)) {
                for (size_t i = 0; i < cm->n_overrides; i++) {
                        const struct roster_override *o = &cm->overrides[i];
                        if (o->role == role && override_in_force(o, q->at_usec))
                                answer_add(
                                    a, o->worker,
                                    &(struct roster_duty){ ROSTER_DUTY_OVERRIDE, cm, NULL, o });
                }
        } else {
                for (size_t i = 0; i < cm->n_shifts; i++) {
                        const struct shift *s = &cm->shifts[i];
                        if (s->role == role && shift_covers(q, s))
                                answer_add(a, s->worker,
                                           &(struct roster_duty){ ROSTER_DUTY_SHIFT, cm, s, NULL });
                }
        }
        add_rosterless(q, cm, role, a);
}

int roster_on_duty(const struct config *c, const struct community *cm, enum role role,
                   int64_t at_usec, struct roster_answer *ret)
{
        struct query q;

        if (!c || !cm || !ret || role < 0 || role >= TEAM_ROLES)
                return -EINVAL;
        answer_reset(ret);
        query_init(&q, c, at_usec);
        role_on_duty(&q, cm, role, ret);
        if (ret->n == 0) {
                text_add(ret, "nobody on duty for %s in %s", team_role_names[role], cm->id);
                return 0;
        }
        ret->reason = ROSTER_COVER;
        text_add(ret, "on duty for %s in %s: ", team_role_names[role], cm->id);
        text_add_list(ret);
        return 0;
}

const struct worker *roster_leader(const struct community *cm)
{
        return cm ? cm->leader : NULL;
}

struct worker *const *roster_command(const struct config *c, size_t *ret_n)
{
        *ret_n = c ? c->n_command : 0;
        return c ? c->command : NULL;
}

int roster_resolve(const struct config *c, const struct household *h, enum role role,
                   int64_t at_usec, struct roster_answer *ret)
{
        static const struct roster_duty fallback = { ROSTER_DUTY_FALLBACK, NULL, NULL, NULL };
        const struct worker *member, *leader;
        const char *rn;
        struct worker *const *command;
        size_t n_command;
        struct query q;

        if (!c || !h || !ret || role < 0 || role >= TEAM_ROLES)
                return -EINVAL;
        rn = team_role_names[role];
        answer_reset(ret);
        query_init(&q, c, at_usec);

        member = h->team[role];
        if (member) {
                struct roster_duty d;
                worker_duty(&q, member, &d);
                if (d.kind != ROSTER_DUTY_OFF) {
                        answer_add(ret, member, &d);
                        ret->reason = ROSTER_TEAM;
                        text_add(ret, "team member %s", member->id);
                        text_add_duty(ret, &d, true);
                        return 0;
                }
        }

        if (h->community)
                role_on_duty(&q, h->community, role, ret);
        if (ret->n > 0) {
                ret->reason = ROSTER_COVER;
                if (member)
                        text_add(ret, "team member %s off duty; covered by ", member->id);
                else
                        text_add(ret, "no %s team member; covered by ", rn);
                text_add_list(ret);
                return 0;
        }

        leader = roster_leader(h->community);
        if (leader) {
                answer_add(ret, leader, &fallback);
                ret->reason = ROSTER_LEADER;
                text_add(ret, "nobody on duty for %s; community leader %s", rn, leader->id);
                return 0;
        }

        command = roster_command(c, &n_command);
        for (size_t i = 0; i < n_command; i++)
                answer_add(ret, command[i], &fallback);
        if (ret->n == 0) {
                text_add(ret, "nobody on duty for %s, no community leader, no command", rn);
                return 0;
        }
        ret->reason = ROSTER_COMMAND;
        text_add(ret, "nobody on duty for %s, no community leader; command ", rn);
        text_add_list(ret);
        return 0;
}

/* ---- gaps ---- */

struct span {
        int64_t from_usec, to_usec;
};

static int span_compare(const void *a, const void *b)
{
        const struct span *x = a, *y = b;

        if (x->from_usec != y->from_usec)
                return x->from_usec < y->from_usec ? -1 : 1;
        return (x->to_usec > y->to_usec) - (x->to_usec < y->to_usec);
}

static bool role_always_covered(const struct config *c, const struct community *cm, enum role role)
{
        struct query q = { .c = c };
        struct roster_answer a;

        /* Only the rosterless part of "on duty" is time independent. */
        answer_reset(&a);
        add_rosterless(&q, cm, role, &a);
        return a.n > 0;
}

/* Collects every occurrence of the role's shifts and overrides touching the window,
 * sorts them and reports the holes. */
static int role_gaps(const struct community *cm, enum role role, const struct tzwin *z,
                     int64_t day_lo, int64_t day_hi, int64_t from_usec, int64_t to_usec,
                     struct span *spans, roster_gap_cb cb, void *userdata)
{
        size_t n = 0;
        int64_t covered = from_usec;

        for (size_t i = 0; i < cm->n_shifts; i++) {
                const struct shift *s = &cm->shifts[i];
                if (s->role != role)
                        continue;
                for (int64_t d = day_lo; d <= day_hi; d++)
                        if (s->days_mask & (1u << weekday(d))) {
                                shift_occurrence(z, s, d, &spans[n].from_usec, &spans[n].to_usec);
                                n++;
                        }
        }
        /* An override replaces shifts, but its own worker is on duty: the role is covered
         * exactly by the union of both. */
        for (size_t i = 0; i < cm->n_overrides; i++)
                if (cm->overrides[i].role == role)
                        spans[n++] =
                            (struct span){ cm->overrides[i].from_usec, cm->overrides[i].to_usec };
        qsort(spans, n, sizeof(*spans), span_compare);

        for (size_t i = 0; i < n && covered < to_usec; i++) {
                if (spans[i].to_usec <= spans[i].from_usec || spans[i].to_usec <= covered)
                        continue;
                if (spans[i].from_usec > covered) {
                        int r = cb(cm, role, covered, MIN(spans[i].from_usec, to_usec), userdata);
                        if (r < 0)
                                return r;
                }
                covered = spans[i].to_usec;
        }
        if (covered < to_usec)
                return cb(cm, role, covered, to_usec, userdata);
        return 0;
}

int roster_gaps(const struct config *c, const struct community *cm, int64_t from_usec, int days,
                roster_gap_cb cb, void *userdata)
{
        int64_t to_usec, day_lo, day_hi, t;
        size_t max_spans = 0;
        _cleanup_free_ struct span *spans = NULL;
        struct tzwin z;
        int r;

        if (!c || !cm || !cb || days < 1 || days > ROSTER_GAPS_DAYS_MAX)
                return -EINVAL;
        to_usec = from_usec + days * USEC_PER_DAY;

        /* Shifts that start the local day before the window can reach into it. */
        t = floordiv(from_usec, USEC_PER_SEC);
        day_lo = floordiv(t + gmtoff_at(t), SEC_PER_DAY) - 1;
        t = floordiv(to_usec, USEC_PER_SEC);
        day_hi = floordiv(t + gmtoff_at(t), SEC_PER_DAY);
        r = tzwin_for_days(&z, day_lo, day_hi);
        if (r < 0)
                return r;

        max_spans = cm->n_shifts * (size_t)(day_hi - day_lo + 1) + cm->n_overrides;
        spans = xmalloc(MAX(max_spans, (size_t)1) * sizeof(*spans));

        for (int role = 0; role < TEAM_ROLES; role++) {
                if (role_always_covered(c, cm, (enum role)role))
                        continue;
                r = role_gaps(cm, (enum role)role, &z, day_lo, day_hi, from_usec, to_usec, spans,
                              cb, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

struct check_gaps {
        struct config_diag *diag;
        int n;
};

static int check_gap_cb(const struct community *cm, enum role role, int64_t from_usec,
                        int64_t to_usec, void *userdata)
{
        struct check_gaps *cg = userdata;
        char path[160], b1[32], b2[32];

        snprintf(path, sizeof(path), "communities.%s", cm->id);
        config_diag_warn(cg->diag, "rosters.json", path, "no %s on duty %s – %s",
                         team_role_names[role], format_minute(from_usec, b1),
                         format_minute(to_usec, b2));
        cg->n++;
        return 0;
}

int roster_check_gaps(const struct config *c, int64_t from_usec, int days, struct config_diag *diag)
{
        struct check_gaps cg = { diag, 0 };

        if (!c || !diag)
                return -EINVAL;
        for (size_t i = 0; i < c->n_communities; i++) {
                int r = roster_gaps(c, &c->communities[i], from_usec, days, check_gap_cb, &cg);
                if (r < 0)
                        return r;
        }
        return cg.n;
}

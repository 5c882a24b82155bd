/* roster.h: who is on duty, and who gets an alert (DESIGN.md §3 "rosters.json", §6).
 *
 * Pure functions over an immutable struct config: no I/O, no allocation on the alert
 * path, the instant is always an argument. Shifts are wall-clock intervals in the
 * process time zone (the daemon calls timezone_set() with the campaign's zone first).
 *
 * Definitions used throughout:
 *  - A shift listed for day D runs from D `from` to `to` (on D+1 when to <= from).
 *    A wall-clock time maps to the first instant at which the clock reads that time or
 *    later: an ambiguous time (autumn) is its first occurrence, a time that does not
 *    exist (spring) is the instant the clock jumps past it. Adjacent shifts therefore
 *    never overlap nor leave a hole across a DST change.
 *  - Overrides and shifts cover [from, to): start inclusive, end exclusive.
 *  - While an override of role R is in force in community C, every shift of role R in
 *    C is ignored; the override's worker(s) are on duty instead.
 *  - A worker with no shift and no override anywhere in rosters.json "keeps no roster"
 *    and is always on duty. (An office that wants a worker never on duty gives them a
 *    shift with empty days.)
 *  - "On duty for R in C" means: the workers of the shifts/overrides of role R listed
 *    in C that cover the instant, plus the workers of R who keep no roster and belong
 *    to C (worker.role == R and worker.community == C, or team member for R of one of
 *    C's households). roster_resolve() and roster_gaps() use this same definition, so
 *    a gap is exactly when an alert of a household whose team member is off duty falls
 *    to the leader. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define ROSTER_MAX           16  /* workers returned per answer; more sets `truncated` */
#define ROSTER_TEXT_MAX      512 /* reason text, truncated with "..." */
#define ROSTER_GAPS_DAYS_MAX 366

/* Why one worker is on duty. */
enum roster_duty_kind {
        ROSTER_DUTY_OFF,       /* keeps a roster, nothing of theirs covers the instant */
        ROSTER_DUTY_SHIFT,     /* duty.shift covers the instant */
        ROSTER_DUTY_OVERRIDE,  /* duty.override is in force */
        ROSTER_DUTY_NO_ROSTER, /* no shift and no override at all: always on duty */
        ROSTER_DUTY_FALLBACK,  /* not by roster: community leader or command centre */
};

struct roster_duty {
        enum roster_duty_kind kind;
        const struct community *community; /* where shift/override is listed, else NULL */
        const struct shift *shift;
        const struct roster_override *override;
};

enum roster_reason {
        ROSTER_TEAM,    /* the household's team member is on duty: workers[0] */
        ROSTER_COVER,   /* team member off duty (or none): everyone on duty for the role */
        ROSTER_LEADER,  /* nobody on duty for the role: the community leader */
        ROSTER_COMMAND, /* ... and no leader: the command list */
        ROSTER_NOBODY,  /* ... and an empty command list: n == 0 */
};

struct roster_answer {
        enum roster_reason reason;
        size_t n;
        const struct worker *workers[ROSTER_MAX]; /* in roster order, no duplicates */
        struct roster_duty duty[ROSTER_MAX];      /* duty[i] explains workers[i] */
        bool truncated;                           /* more than ROSTER_MAX qualified */
        char text[ROSTER_TEXT_MAX];               /* English, for logs and `roster who` */
};

const char *roster_reason_to_string(enum roster_reason r); /* "team", "cover", ... */

/* True when w is listed in any shift or override of any community. O(shifts). */
bool roster_worker_keeps_roster(const struct config *c, const struct worker *w);

/* Why w is (or is not) on duty at at_usec. Returns 0, or -EINVAL. */
int roster_worker_duty(const struct config *c, const struct worker *w, int64_t at_usec,
                       struct roster_duty *ret);
bool roster_worker_on_duty(const struct config *c, const struct worker *w, int64_t at_usec);

/* Everyone on duty for team role `role` in cm at at_usec (see the definition above),
 * ignoring leader and command. ret->reason is ROSTER_COVER, or ROSTER_NOBODY when
 * n == 0. Returns 0, or -EINVAL. */
int roster_on_duty(const struct config *c, const struct community *cm, enum role role,
                   int64_t at_usec, struct roster_answer *ret);

/* Who is alerted for team role `role` of household h at at_usec: the team member if on
 * duty; otherwise everyone on duty for the role in h's community; otherwise the
 * community leader; otherwise the command list. Returns 0 (ret filled; n may be 0 with
 * ROSTER_NOBODY), or -EINVAL for a NULL argument or a role that is not a team role. */
int roster_resolve(const struct config *c, const struct household *h, enum role role,
                   int64_t at_usec, struct roster_answer *ret);

/* The community's duty leader (NULL when rosters.json names none, or cm is NULL). */
const struct worker *roster_leader(const struct community *cm);
/* The subdistrict command list; *ret_n receives its length (may be 0). */
struct worker *const *roster_command(const struct config *c, size_t *ret_n);

/* Called for each gap, per role in the order community, medical, police, and within a
 * role in time order. A negative return stops roster_gaps(), which returns it. */
typedef int (*roster_gap_cb)(const struct community *cm, enum role role, int64_t from_usec,
                             int64_t to_usec, void *userdata);

/* Reports, for each team role, the maximal intervals within [from_usec, from_usec +
 * days * 24h) in which nobody is on duty for the role in cm (leader and command are not
 * counted). Computed from shift boundaries; allocates one temporary array. Returns 0,
 * a callback's negative value, -EINVAL (days outside 1..ROSTER_GAPS_DAYS_MAX), or -ERANGE
 * (implausibly many time-zone transitions in the window). */
int roster_gaps(const struct config *c, const struct community *cm, int64_t from_usec, int days,
                roster_gap_cb cb, void *userdata);

#define ROSTER_CHECK_DAYS 7

/* For `doorwatchd --check-config`: adds one warning to diag per gap of every community in
 * [from_usec, from_usec + days), e.g. "rosters.json: communities.yunjinlu: no police on
 * duty 2026-11-30 20:00 – 2026-12-01 08:00". Returns the number of gaps, or a negative
 * errno. */
int roster_check_gaps(const struct config *c, int64_t from_usec, int days,
                      struct config_diag *diag);

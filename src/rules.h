/* rules.h: the observation rules (DESIGN.md §6, issue 4), pure functions of (household,
 * its state, event or command, event time, policy) returning a verdict with its reason.
 * No I/O and no clock: the caller passes every instant in, so a recorded day replays to
 * the same verdicts. Calendar rules (schedules, reports per day) use the process time
 * zone, which the daemon sets to the campaign's (timezone_set()).
 *
 * Division of work with the engine: rules_judge() decides, rules_apply() records what the
 * event changed in struct household_state (door, the current opening, rings, reports,
 * passes ...). Deadlines ("still open at ...", "no return by ...") are event-time instants
 * from rules_next_deadline(); the engine settles every deadline that lies before an
 * event's time before judging the event (replays), and arms a realtime timer for the
 * next one (live operation, "no event has arrived yet"). rules_fire() turns a due
 * deadline into its verdict and marks it done. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "config.h"
#include "event.h"

enum verdict_kind {
        VERDICT_IGNORED,
        VERDICT_EXPECTED,
        VERDICT_ALERT,
};

/* Which rule decided: lets rules_apply() and the engine act without parsing reasons. */
enum rules_basis {
        BASIS_OTHER,           /* not an opening, or nothing to remember */
        BASIS_OUTSIDE_WINDOW,  /* before or after the observation window */
        BASIS_PASS,            /* opening during a pass */
        BASIS_PASS_RETURN,     /* first opening after a pass ended, the exit seen */
        BASIS_CHECKIN,         /* within checkin_grace of a worker's check-in */
        BASIS_SCHEDULE,        /* within a scheduled visit's window */
        BASIS_REPORT,          /* the resident pre-reported it (within the daily limit) */
        BASIS_HANDOFF,         /* a doorbell ring just before: hand-off, if it closes soon */
        BASIS_TOO_MANY,        /* pre-reported beyond the daily limit */
        BASIS_UNEXPECTED,      /* nothing explains the opening */
        BASIS_FOUND_OPEN,      /* a retained "open" that nothing explains */
        BASIS_HELD_OPEN,       /* open for held_open_after */
        BASIS_HANDOFF_EXPIRED, /* a hand-off opening still open at handoff_max_open */
        BASIS_PERSON_LEFT,     /* a camera saw a person leave near an unexpected opening */
        BASIS_PASS_OVERDUE,    /* a pass ended pass_overdue_after ago without a return */
        BASIS_TAMPER,
        BASIS_DEBOUNCED, /* identical to the device's previous event, within debounce */
        BASIS_RETAINED,  /* a retained replay that changes nothing */
};

#define VERDICT_REASON_MAX 256

struct verdict {
        enum verdict_kind kind;
        enum alert_kind alert; /* VERDICT_ALERT */
        enum severity severity;
        enum rules_basis basis;
        int pass;                        /* BASIS_PASS*: index into household_state.passes */
        char reason[VERDICT_REASON_MAX]; /* English, for logs and the audit trail */
};

/* A resident's pre-report makes the next opening within this time expected. */
#define RULES_REPORT_WINDOW_USEC (INT64_C(10) * 60 * 1000000)
/* Passes a household may have pending at once (current, future, or awaiting a return). */
#define RULES_PASSES_MAX 8
/* Text kept in memory (pass and report reasons, worker ids); the database keeps it all. */
#define RULES_TEXT_MAX 64

struct rules_pass {
        int64_t id; /* database row id */
        int64_t from_usec, to_usec;
        char reason[RULES_TEXT_MAX];
        int64_t exit_usec;   /* first opening during the pass, 0 = none yet */
        int64_t return_usec; /* first opening after the exit, 0 = none yet */
        bool overdue;        /* pass_overdue was raised */
        bool dirty;          /* changed since the engine last stored it */
};

/* What explains the door's current opening. */
enum rules_opening {
        OPENING_NONE,     /* door closed or unknown */
        OPENING_IGNORED,  /* opened outside the observation window */
        OPENING_EXPECTED, /* explained by a rule */
        OPENING_HANDOFF,  /* a hand-off until handoff_max_open; then judged without the ring */
        OPENING_ALERTED,  /* an alert was raised for it (or it was found open and alerted) */
};

/* Runtime state of one household, owned by the engine (one per configured household:
 * 100,000 in a city, so ordered by size, with small types and bit-fields; 128 bytes).
 * Every instant is event time (rules_event_time()). */
struct household_state {
        struct alert *alerts;      /* live alerts (open, or acked within ack_absorb) */
        int64_t door_changed_usec; /* the current opening's start while door == DOOR_OPEN */

        int64_t last_ring_usec;       /* a ring not yet used by a hand-off, 0 = none */
        int64_t unexpected_open_usec; /* last opening judged door_open_unexpected */
        int64_t person_out_usec;      /* last camera detection of a person leaving */

        int64_t checkin_usec; /* latest worker check-in, 0 = none */
        int64_t report_usec;  /* pending pre-report, 0 = none */
        /* The current opening's event id, for alerts raised later (held open, hand-off
         * expired): allocated while the door is open, NULL otherwise. Read it with
         * rules_open_event(); rules_state_done() frees it. */
        char *open_event;
        /* Who checked in and the pre-report's reason: allocated on the first check-in or
         * report (most households never have one; inline they were a third of this
         * struct, of which a city has 100,000). Read them with rules_checkin_worker() and
         * rules_report_reason(); rules_state_done() frees them. */
        struct rules_texts *texts;
        struct rules_pass *passes; /* allocated on the first pass; rules_state_done() */

        /* Engine bookkeeping: receive time minus event time of the household's last live
         * event (maps event-time deadlines onto the realtime timer), the armed timer. */
        int64_t clock_offset_usec;
        int64_t timer_usec;
        uint64_t saved_hash; /* of the JSON last stored, to skip unchanged writes */

        int handoff_report; /* OPENING_HANDOFF: the pre-report it consumed, if any */
        int report_number;  /* the pending report is the n-th of its local day */
        int report_day;     /* local date (yyyymmdd) that reports_today counts */
        int reports_today;
        uint32_t timer_token;

        enum door_state door : 4;
        enum rules_opening opening : 4;
        enum alert_kind handoff_fallback : 8;  /* OPENING_HANDOFF: the verdict without the ring */
        bool held_alerted : 1;                 /* door_held_open raised for this opening */
        bool observation_noticed : 1;          /* observation_ended handled (resolve + notice) */
        unsigned n_passes : 4, cap_passes : 4; /* <= RULES_PASSES_MAX */
};

/* Per-device memory for debouncing identical repeats (16 bytes: one per device). */
struct rules_debounce {
        int64_t usec;
        int state;
        enum event_type type : 8;
        bool valid;
};

/* Deadlines. */
enum rules_due_kind {
        RULES_DUE_NONE,
        RULES_DUE_HANDOFF,      /* hand-off opening still open at handoff_max_open */
        RULES_DUE_HELD_OPEN,    /* door open for held_open_after */
        RULES_DUE_PASS_OVERDUE, /* pass ended pass_overdue_after ago, exit seen, no return */
};

struct rules_due {
        enum rules_due_kind kind;
        int64_t at_usec;
        size_t pass; /* RULES_DUE_PASS_OVERDUE */
};

/* Positive outcome of the command rules: refused, *error says why (static English). */
enum {
        RULES_E_REFUSED = 1,
};

const char *verdict_kind_to_string(enum verdict_kind k);
/* The rule as stored with each event ("schedule", "checkin", "pass_return" ...): the daily
 * report counts openings by it. */
const char *rules_basis_to_string(enum rules_basis b);

/* The household's policy: its own "policy" overrides, else the daemon's. */
const struct policy *rules_policy(const struct config *c, const struct household *h);

/* The time rules judge an event by: the device's ts when within max_clock_skew of the
 * receive time, else the receive time. Commands use rules_command_time() alike. */
int64_t rules_event_time(const struct event *e, int64_t recv_usec, int64_t max_clock_skew_usec);
int64_t rules_command_time(bool has_ts, double ts, int64_t recv_usec, int64_t max_clock_skew_usec);

/* True (and m unchanged) when e repeats the device's last counted event (same type and
 * state) within policy.debounce; otherwise remembers e and returns false. */
bool rules_debounce(const struct policy *p, struct rules_debounce *m, const struct event *e,
                    int64_t event_usec);

void rules_judge(const struct config *c, const struct household *h,
                 const struct household_state *st, const struct device *d, const struct event *e,
                 int64_t event_usec, struct verdict *ret);
/* Records in st what event e (judged v) changed. */
void rules_apply(const struct config *c, const struct household *h, struct household_state *st,
                 const struct device *d, const struct event *e, int64_t event_usec,
                 const struct verdict *v);

/* The earliest pending deadline of st (event time), INT64_MAX when none; *ret (may be
 * NULL) says what it is. Deadlines outside the observation window are not reported. */
int64_t rules_next_deadline(const struct config *c, const struct household *h,
                            const struct household_state *st, struct rules_due *ret);
/* The verdict of a due deadline; marks it done in st. */
void rules_fire(const struct config *c, const struct household *h, struct household_state *st,
                const struct rules_due *due, struct verdict *ret);

/* Whether worker w may act for household h (check-in, pass): a worker of h's community, a
 * member of its team, its community's leader or the command centre. */
bool rules_worker_may_act(const struct config *c, const struct household *h,
                          const struct worker *w);

/* A worker's check-in at at_usec. Returns 0 or RULES_E_REFUSED with *error. */
int rules_checkin(const struct config *c, const struct household *h, struct household_state *st,
                  const struct worker *w, int64_t at_usec, const char **error);

/* A resident's pre-report at at_usec; *ret_number is its number that local day and
 * *ret_over_limit whether it exceeds resident_reports_per_day. Returns 0 or
 * RULES_E_REFUSED (outside the observation window). */
int rules_report(const struct config *c, const struct household *h, struct household_state *st,
                 int64_t at_usec, const char *reason, int *ret_number, bool *ret_over_limit,
                 const char **error);

/* Validates a pass (from < to, overlapping the observation window, room left). Returns 0
 * or RULES_E_REFUSED with *error. */
int rules_check_pass(const struct config *c, const struct household *h,
                     const struct household_state *st, int64_t from_usec, int64_t to_usec,
                     const char *reason, const char **error);
/* Adds a validated pass (p->id set by the caller). Returns 0, or -ENOMEM. */
int rules_add_pass(struct household_state *st, const struct rules_pass *p);
/* Frees what st allocated (its passes); st stays usable. */
void rules_state_done(struct household_state *st);
/* Makes dst (a usable state: zeroed, or one that was copied or used before) a copy of src
 * that shares no memory with it, reusing what dst allocated before where it fits, so that
 * a scratch state copied into again and again soon allocates nothing. Returns 0, or
 * -ENOMEM with dst unchanged. */
int rules_state_copy(struct household_state *dst, const struct household_state *src);
/* The latest check-in's worker id and the pending pre-report's reason, "" when none; and
 * setting them (cut to RULES_TEXT_MAX - 1 bytes). */
const char *rules_checkin_worker(const struct household_state *st);
/* The current opening's event id, "" when none; and setting it (cut to EVENT_ID_MAX - 1
 * bytes; NULL or "" forgets it). A closing door forgets it. */
const char *rules_open_event(const struct household_state *st);
void rules_set_open_event(struct household_state *st, const char *id);
const char *rules_report_reason(const struct household_state *st);
void rules_set_checkin_worker(struct household_state *st, const char *worker);
void rules_set_report_reason(struct household_state *st, const char *reason);
/* Whether nothing can happen to pass p any more at at_usec: the return was seen, it ended
 * without an exit, or it ended a day ago with no return. */
bool rules_pass_done(const struct rules_pass *p, int64_t at_usec);
/* Drops the passes that are done (the engine stores them first). Returns the number. */
size_t rules_prune_passes(struct household_state *st, int64_t at_usec);

/* A scheduled visit whose window contains at_usec: writes its description and returns
 * true. */
bool rules_schedule_match(const struct household *h, int64_t at_usec, char *buf, size_t size);

/* The persistent part of st (door, opening, rings, check-in, reports; not passes, alerts
 * or timers) as a JSON object, and back. from_json leaves missing members unchanged. */
cJSON *rules_state_to_json(const struct household_state *st);
void rules_state_from_json(struct household_state *st, const cJSON *j);
/* The rule state as JSON (what household_state stores), written into w. */
struct jsonw;
void rules_state_format(const struct household_state *st, struct jsonw *w);

/* Copies at most size - 1 bytes of src without cutting a UTF-8 sequence. */
void rules_copy_text(char *dst, size_t size, const char *src);

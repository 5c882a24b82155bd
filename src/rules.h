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
 * deadline into its verdict and marks it done.
 *
 * Chatter (issue 16, policy.chatter_settle): an opening counts once it has stayed open
 * chatter_settle. Until it settles (RULES_DUE_SETTLE) its explanation is not used up and
 * its alert is held; a reopen within chatter_settle of its close joins it; one that closes
 * sooner and is not rejoined was a blip and leaves nothing behind. */
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
        /* Chatter (policy.chatter_settle): */
        BASIS_HELD,    /* an unexplained opening, or a close before its opening settled */
        BASIS_CHATTER, /* a reopen within chatter_settle of the close: joins that opening */
        BASIS_SETTLED, /* an expected opening settled: its explanation is used up */
        /* Medical rounds and readings: */
        BASIS_ROUND, /* a medical round's window ended: done, excused or missed */
        BASIS_FEVER, /* a reading at or above fever_at, or with a listed symptom */
};

#define VERDICT_REASON_MAX 256

/* What became of a medical round (a verdict of basis BASIS_ROUND). */
enum rules_round_outcome {
        ROUND_NONE,
        ROUND_DONE,    /* a reading that counts lies in its window */
        ROUND_EXCUSED, /* a pass overlaps its window */
        ROUND_MISSED,  /* neither: round_missed */
};

struct verdict {
        enum verdict_kind kind;
        enum alert_kind alert; /* VERDICT_ALERT */
        enum severity severity;
        enum rules_basis basis;
        int pass;                        /* BASIS_PASS*: index into household_state.passes */
        enum rules_round_outcome round;  /* BASIS_ROUND of a deadline: the round's outcome, */
        int64_t round_at_usec;           /* and its scheduled time */
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
        OPENING_HELD,     /* unexplained: alerted when it settles (chatter_settle) */
};

/* Runtime state of one household, owned by the engine (one per configured household:
 * 100,000 in a city, so ordered by size, with small types and bit-fields; 152 bytes).
 * Every instant is event time (rules_event_time()). */
struct household_state {
        struct alert *alerts;      /* live alerts (open, or acked within ack_absorb) */
        int64_t door_changed_usec; /* the door's last change (open or close) */
        /* The current opening's start (its first open, when chatter joined it). While the
         * door is closed, `opening` is the last opening, which a reopen within
         * chatter_settle of door_changed_usec joins. */
        int64_t opening_usec;

        /* Medical rounds: rounds whose window ended at or before rounds_usec are judged (0:
         * not watched yet, the engine sets it); the latest reading that counts for rounds. */
        int64_t rounds_usec;
        int64_t reading_usec;

        int64_t last_ring_usec;       /* a ring not yet used by a hand-off, 0 = none */
        int64_t unexpected_open_usec; /* last opening judged door_open_unexpected */
        int64_t person_out_usec;      /* last camera detection of a person leaving */

        int64_t checkin_usec; /* latest worker check-in, 0 = none */
        int64_t report_usec;  /* pending pre-report, 0 = none */
        /* The current opening's event id, for alerts raised later (held open, hand-off
         * expired, settled): allocated while there is an opening (also a closed one that a
         * reopen may join), NULL otherwise. Read it with rules_open_event();
         * rules_state_done() frees it. */
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
        bool settling : 1;                     /* not open chatter_settle yet: see rules.c */
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
        RULES_DUE_SETTLE,       /* the opening has stayed open chatter_settle */
        RULES_DUE_ROUND,        /* a medical round's window ended (due 1 µs after it) */
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
/* Which of the two rules_event_time() took. */
enum time_basis rules_time_basis(const struct event *e, int64_t recv_usec,
                                 int64_t max_clock_skew_usec);

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
/* Adds a validated pass (p->id set by the caller). Returns 0, or -ENOSPC beyond
 * RULES_PASSES_MAX. */
int rules_add_pass(struct household_state *st, const struct rules_pass *p);
/* Frees what st allocated (its passes); st stays usable. */
void rules_state_done(struct household_state *st);
/* Makes dst (a usable state: zeroed, or one that was copied or used before) a copy of src
 * that shares no memory with it, reusing what dst allocated before where it fits, so that
 * a scratch state copied into again and again soon allocates nothing. Returns 0. */
int rules_state_copy(struct household_state *dst, const struct household_state *src);
/* The latest check-in's worker id and the pending pre-report's reason, "" when none; and
 * setting them (cut to RULES_TEXT_MAX - 1 bytes). */
const char *rules_checkin_worker(const struct household_state *st);
/* The current opening's event id, "" when none; and setting it (cut to EVENT_ID_MAX - 1
 * bytes; NULL or "" forgets it). A closing door forgets it unless chatter_settle keeps
 * the opening for a reopen to join. */
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

/* ---- medical rounds and readings (issue 18) ----
 *
 * A household's rounds are its schedule entries of role medical: each `at` time, every
 * local day, with the window [at - window, at + window] (closed). A round is judged when
 * its window ends (RULES_DUE_ROUND), in event time like every deadline: done when a reading
 * that counts lies in its window, excused when a pass overlaps it, otherwise round_missed.
 * A reading counts when it comes from the household's medical team member or a medical
 * worker of its community on duty at its time; any worker who may act for the household
 * may record one, and a fever is a fever whoever measured it. Rounds are judged from
 * st->rounds_usec on (the engine starts it where the household began to be watched), and
 * only those whose window ends within the observation. */
struct rules_round {
        int64_t at_usec;            /* the scheduled time */
        int64_t from_usec, to_usec; /* its window */
        int minute;                 /* of the local day */
};

/* The round whose window holds t (the one scheduled nearest to t), false when none. */
bool rules_round_at(const struct household *h, int64_t t, struct rules_round *ret);
/* The first round whose window ends after after_usec, false when the household has no
 * medical round. */
bool rules_round_after(const struct household *h, int64_t after_usec, struct rules_round *ret);

#define RULES_SYMPTOMS_MAX    8    /* symptoms of one reading */
#define RULES_SYMPTOM_MAX     64   /* bytes of one, with the NUL */
#define RULES_TEMPERATURE_MIN 34.0 /* °C: a reading outside [MIN, MAX] is a typing error */
#define RULES_TEMPERATURE_MAX 43.0

struct rules_reading {
        double temperature; /* °C */
        const char *const *symptoms;
        size_t n_symptoms;
};

/* What a reading decided. */
struct rules_reading_outcome {
        bool counts;   /* from the household's medical worker, or one on duty */
        bool in_round; /* in a round's window: `round` is it */
        struct rules_round round;
        bool fever;             /* `verdict` is the fever alert */
        struct verdict verdict; /* fever: the alert; otherwise ignored, with the reason */
};

/* A reading by worker w at at_usec (the worker may act for h: checked by the caller).
 * Records in st a reading that counts. Returns 0 with *ret, or RULES_E_REFUSED (outside
 * the observation) with *error. */
int rules_reading(const struct config *c, const struct household *h, struct household_state *st,
                  const struct worker *w, int64_t at_usec, const struct rules_reading *rd,
                  struct rules_reading_outcome *ret, const char **error);
/* "done", "excused", "missed" (as the store records them). */
const char *rules_round_outcome_to_string(enum rules_round_outcome o);
/* Whether w's readings count for h's rounds at at_usec (see above). */
bool rules_reading_counts(const struct config *c, const struct household *h, const struct worker *w,
                          int64_t at_usec);

/* The persistent part of st (door, opening, rings, check-in, reports; not passes, alerts
 * or timers) as a JSON object, and back. from_json leaves missing members unchanged, but
 * for a state stored before chatter_settle: its opening started at door_changed_usec. */
cJSON *rules_state_to_json(const struct household_state *st);
void rules_state_from_json(struct household_state *st, const cJSON *j);
/* The rule state as JSON (what household_state stores), written into w. */
struct jsonw;
void rules_state_format(const struct household_state *st, struct jsonw *w);

/* Copies at most size - 1 bytes of src without cutting a UTF-8 sequence. */
void rules_copy_text(char *dst, size_t size, const char *src);

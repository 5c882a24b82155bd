/* test-rules.c: the observation rules, table-driven with injected time (no sleeps).
 *
 * Each case is a short script of events and commands for one household on one day
 * (2020-02-06, Asia/Shanghai) played through a miniature engine: debounce, settle the
 * deadlines due by the step's time, judge, apply. The script's transcript (one token per
 * step, plus one per deadline that fired) must equal the expected one, so a case fails on
 * a missing verdict as well as on an extra alert. Tokens:
 *   -              ignored
 *   ok:BASIS       expected, by that rule (pass, return, checkin, schedule, report, handoff)
 *   KIND           an alert (door_open_unexpected, person_left, too_many_openings, tamper)
 *   @KIND          an alert raised by a deadline (door_held_open, pass_overdue, ...)
 *   @ok:BASIS      a held opening found expected when it settled (a late ring)
 *   ~              a debounced repeat
 *   held           chatter_settle: an unexplained opening (or a close, or a camera near
 *                  it) held until the opening settles
 *   join           chatter_settle: a reopen that joins the last opening
 * A deadline that only settles an expected opening (its explanation used up) leaves no
 * token.
 *   ci ci! rp rp! pass pass!   a command accepted / refused (rp!: beyond the daily limit)
 * The optional `reason` must occur in the reason of the script's last verdict. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "rules.h"
#include "util.h"

/* The case table leaves optional members (a step's arg, a case's reason) out. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* ---- fixture: one community, two households ---- */

enum {
        W_COMMUNITY,
        W_MEDICAL,
        W_POLICE,
        W_INSTALLER,
        W_OTHER,
        W_LEADER,
        W_COMMAND,
        W_MEDICAL2, /* a doctor of the community, not of the team */
        N_WORKERS
};
enum { D_DOOR, D_BELL, D_CAM, D2_DOOR, N_DEVICES };

static struct config cfg;
static struct worker workers[N_WORKERS];
static struct community communities[2];
static struct household households[2];
static struct device devices[N_DEVICES];
static struct worker *command_list[1];
static struct schedule_entry sched_h1[1], sched_h2[1];
static int at_h1[2] = { 9 * 60, 15 * 60 }, at_h2[1] = { 23 * 60 + 50 };
static struct policy policy_h2;
static const char *const fever_symptoms[] = { "cough", "发热" };

static int64_t instant(const char *s)
{
        int64_t v;
        assert_int_equal(parse_rfc3339(s, &v), 0);
        return v;
}

static int setup(void **state)
{
        static const struct {
                const char *id;
                enum role role;
                int community;
        } wdefs[N_WORKERS] = {
                [W_COMMUNITY] = { "w-c", ROLE_COMMUNITY, 0 },
                [W_MEDICAL] = { "w-m", ROLE_MEDICAL, 0 },
                [W_POLICE] = { "w-p", ROLE_POLICE, 0 },
                [W_INSTALLER] = { "w-i", ROLE_INSTALLER, 0 },
                [W_OTHER] = { "w-x", ROLE_COMMUNITY, 1 },
                [W_LEADER] = { "w-l", ROLE_STAFF, 1 },
                [W_COMMAND] = { "w-cmd", ROLE_STAFF, -1 },
                [W_MEDICAL2] = { "w-m2", ROLE_MEDICAL, 0 },
        };

        assert_int_equal(timezone_set("Asia/Shanghai"), 0);
        communities[0] = (struct community){ .id = "alpha", .index = 0 };
        communities[1] = (struct community){ .id = "beta", .index = 1 };
        for (int i = 0; i < N_WORKERS; i++) {
                workers[i] = (struct worker){ .id = (char *)wdefs[i].id,
                                              .role = wdefs[i].role,
                                              .index = (size_t)i };
                if (wdefs[i].community >= 0)
                        workers[i].community = &communities[wdefs[i].community];
        }
        communities[0].leader = &workers[W_LEADER]; /* a leader from elsewhere may act */
        command_list[0] = &workers[W_COMMAND];

        cfg = (struct config){ 0 };
        cfg.policy = (struct policy){
                .handoff_ring_window_usec = 60 * USEC_PER_SEC,
                .handoff_max_open_usec = 120 * USEC_PER_SEC,
                .held_open_after_usec = 5 * USEC_PER_MIN,
                .checkin_grace_usec = 30 * USEC_PER_MIN,
                .resident_reports_per_day = 3,
                .ack_absorb_usec = 30 * USEC_PER_MIN,
                .pass_overdue_after_usec = 15 * USEC_PER_MIN,
                .max_clock_skew_usec = 5 * USEC_PER_MIN,
                .battery_low_percent = 15,
                .debounce_usec = 2 * USEC_PER_SEC,
                .person_window_usec = 2 * USEC_PER_MIN,
                .fever_at = 37.3,
                .fever_symptoms = (char **)fever_symptoms,
                .n_fever_symptoms = ELEMENTSOF(fever_symptoms),
        };
        policy_h2 = cfg.policy;
        policy_h2.held_open_after_usec = 1 * USEC_PER_MIN;
        policy_h2.resident_reports_per_day = 0;

        sched_h1[0] = (struct schedule_entry){
                .role = ROLE_MEDICAL, .at_min = at_h1, .n_at = 2, .window_usec = 30 * USEC_PER_MIN
        };
        sched_h2[0] = (struct schedule_entry){
                .role = ROLE_COMMUNITY, .at_min = at_h2, .n_at = 1, .window_usec = 30 * USEC_PER_MIN
        };
        for (int i = 0; i < 2; i++) {
                households[i] = (struct household){
                        .id = i ? "H-2" : "H-1",
                        .community_id = "alpha",
                        .community = &communities[0],
                        .address = "测试路",
                        .obs_start_usec = instant("2020-02-05T00:00:00+08:00"),
                        .obs_end_usec = instant("2020-02-19T00:00:00+08:00"),
                        .team = { &workers[W_COMMUNITY], &workers[W_MEDICAL], &workers[W_POLICE] },
                        .schedule = i ? sched_h2 : sched_h1,
                        .n_schedule = 1,
                        .policy = i ? &policy_h2 : NULL,
                        .index = (size_t)i,
                };
        }
        devices[D_DOOR] = (struct device){ .id = "d-door", .kind = DEVICE_DOOR_CONTACT };
        devices[D_BELL] = (struct device){ .id = "d-bell", .kind = DEVICE_DOORBELL };
        devices[D_CAM] = (struct device){ .id = "d-cam", .kind = DEVICE_CAMERA };
        devices[D2_DOOR] = (struct device){ .id = "d2-door", .kind = DEVICE_DOOR_CONTACT };
        for (int i = 0; i < N_DEVICES; i++) {
                devices[i].index = (size_t)i;
                devices[i].household = &households[i == D2_DOOR];
        }
        cfg.workers = workers;
        cfg.n_workers = N_WORKERS;
        cfg.households = households;
        cfg.n_households = 2;
        cfg.devices = devices;
        cfg.n_devices = N_DEVICES;
        cfg.communities = communities;
        cfg.n_communities = 2;
        cfg.command = command_list;
        cfg.n_command = 1;
        return 0;
}

/* ---- the script player ---- */

enum op {
        END,
        OPEN,    /* door open (d-door, or d2-door for H-2) */
        CLOSE,   /* door closed */
        RING,    /* doorbell ring */
        OUT,     /* camera person, direction out */
        IN,      /* camera person, direction in */
        TAMPER,  /* tamper (arg "cleared" clears) */
        R_OPEN,  /* retained door open */
        R_RING,  /* retained ring */
        CHECKIN, /* arg: worker index as a string ("0" = w-c) */
        REPORT,  /* arg: reason */
        PASS,    /* at: from, arg: to ("HH:MM:SS"), reason "hospital" */
        TICK,    /* no event: only the deadlines due by `at` (the realtime timer) */
        ROUNDS,  /* the engine starts watching the medical rounds at `at` */
        READING, /* arg "WORKER:TEMPERATURE[:SYMPTOM]" (worker index): rd, rd- (counts for no
                  * round), rd! (refused) or fever */
};

struct step {
        enum op op;
        const char *at; /* "HH:MM:SS[.ffffff]" on 2020-02-06, or a full RFC 3339 instant */
        const char *arg;
};

struct rcase {
        const char *name;
        int household; /* 0 = H-1, 1 = H-2 */
        struct step steps[16];
        const char *expect;
        const char *reason; /* substring of the last verdict's reason, or NULL */
};

static int64_t step_time(const char *at)
{
        char buf[64];
        if (strchr(at, 'T'))
                return instant(at);
        snprintf(buf, sizeof(buf), "2020-02-06T%s+08:00", at);
        return instant(buf);
}

static const char *const basis_names[] = {
        [BASIS_PASS] = "pass",         [BASIS_PASS_RETURN] = "return", [BASIS_CHECKIN] = "checkin",
        [BASIS_SCHEDULE] = "schedule", [BASIS_REPORT] = "report",      [BASIS_HANDOFF] = "handoff",
};

static void token(char *out, size_t size, const struct verdict *v, bool due)
{
        char t[64];

        switch (v->kind) {
        case VERDICT_IGNORED:
                /* A deadline that changes nothing is not shown, but for a medical round's
                 * outcome (done or excused: "-"). */
                if (due && v->basis != BASIS_ROUND)
                        return;
                snprintf(t, sizeof(t), "%s",
                         v->basis == BASIS_DEBOUNCED ? "~"
                         : v->basis == BASIS_HELD    ? "held"
                         : v->basis == BASIS_CHATTER ? "join"
                                                     : "-");
                break;
        case VERDICT_EXPECTED:
                snprintf(t, sizeof(t), "%sok:%s", due ? "@" : "",
                         v->basis < ELEMENTSOF(basis_names) && basis_names[v->basis]
                             ? basis_names[v->basis]
                             : "?");
                break;
        case VERDICT_ALERT:
                snprintf(t, sizeof(t), "%s%s", due ? "@" : "", alert_kind_to_string(v->alert));
                break;
        }
        if (*out)
                strncat(out, " ", size - strlen(out) - 1);
        strncat(out, t, size - strlen(out) - 1);
}

static void word(char *out, size_t size, const char *w)
{
        if (*out)
                strncat(out, " ", size - strlen(out) - 1);
        strncat(out, w, size - strlen(out) - 1);
}

struct player {
        const struct household *h;
        struct household_state st;
        struct rules_debounce debounce[N_DEVICES];
        struct verdict last;
        char out[512];
        int64_t next_pass_id;
        char last_id[64]; /* the id of the last event played */
};

static void settle(struct player *p, int64_t until)
{
        struct rules_due due;

        for (int guard = 0; guard < 32; guard++) {
                if (rules_next_deadline(&cfg, p->h, &p->st, &due) > until)
                        return;
                rules_fire(&cfg, p->h, &p->st, &due, &p->last);
                token(p->out, sizeof(p->out), &p->last, true);
        }
        fail_msg("deadlines do not settle");
}

static void play_event(struct player *p, int dev, struct event *ev, int64_t t)
{
        const struct device *d = &devices[dev];

        if (rules_debounce(rules_policy(&cfg, p->h), &p->debounce[dev], ev, t)) {
                word(p->out, sizeof(p->out), "~");
                return;
        }
        settle(p, t);
        rules_judge(&cfg, p->h, &p->st, d, ev, t, &p->last);
        rules_apply(&cfg, p->h, &p->st, d, ev, t, &p->last);
        token(p->out, sizeof(p->out), &p->last, false);
}

static void play(struct player *p, const struct step *s)
{
        int door = p->h->index ? D2_DOOR : D_DOOR;
        int64_t t = step_time(s->at);
        struct event ev = { .battery_percent = -1, .has_ts = true, .ts = (double)t / 1e6 };
        const char *error = NULL;
        static unsigned long seq;

        snprintf(ev.id, sizeof(ev.id), "e-%lu", ++seq);
        snprintf(p->last_id, sizeof(p->last_id), "%s", ev.id);
        switch (s->op) {
        case OPEN:
        case R_OPEN:
                ev.type = EVENT_DOOR;
                ev.door = DOOR_OPEN;
                ev.retained = s->op == R_OPEN;
                play_event(p, door, &ev, t);
                break;
        case CLOSE:
                ev.type = EVENT_DOOR;
                ev.door = DOOR_CLOSED;
                play_event(p, door, &ev, t);
                break;
        case RING:
        case R_RING:
                ev.type = EVENT_RING;
                ev.retained = s->op == R_RING;
                play_event(p, D_BELL, &ev, t);
                break;
        case OUT:
        case IN:
                ev.type = EVENT_PERSON;
                ev.direction = s->op == OUT ? DIRECTION_OUT : DIRECTION_IN;
                play_event(p, D_CAM, &ev, t);
                break;
        case TAMPER:
                ev.type = EVENT_TAMPER;
                ev.tampered = !(s->arg && strcmp(s->arg, "cleared") == 0);
                play_event(p, door, &ev, t);
                break;
        case CHECKIN: {
                const struct worker *w = &workers[s->arg ? atoi(s->arg) : W_COMMUNITY];
                settle(p, t);
                word(p->out, sizeof(p->out),
                     rules_checkin(&cfg, p->h, &p->st, w, t, &error) == 0 ? "ci" : "ci!");
                break;
        }
        case REPORT: {
                int number = 0;
                bool over = false;
                settle(p, t);
                if (rules_report(&cfg, p->h, &p->st, t, s->arg, &number, &over, &error) != 0)
                        word(p->out, sizeof(p->out), "rp?");
                else
                        word(p->out, sizeof(p->out), over ? "rp!" : "rp");
                break;
        }
        case PASS: {
                struct rules_pass ps = { .id = ++p->next_pass_id,
                                         .from_usec = t,
                                         .to_usec = step_time(s->arg) };
                settle(p, t);
                if (rules_check_pass(&cfg, p->h, &p->st, ps.from_usec, ps.to_usec, "hospital",
                                     &error) != 0) {
                        word(p->out, sizeof(p->out), "pass!");
                        break;
                }
                rules_copy_text(ps.reason, sizeof(ps.reason), "hospital");
                assert_int_equal(rules_add_pass(&p->st, &ps), 0);
                word(p->out, sizeof(p->out), "pass");
                break;
        }
        case TICK:
                settle(p, t);
                break;
        case ROUNDS:
                p->st.rounds_usec = t;
                break;
        case READING: {
                char buf[128], *sym;
                const char *symptoms[1];
                struct rules_reading rd = { .symptoms = symptoms };
                struct rules_reading_outcome o;

                snprintf(buf, sizeof(buf), "%s", s->arg);
                rd.temperature = strtod(strchr(buf, ':') + 1, NULL);
                sym = strchr(strchr(buf, ':') + 1, ':');
                if (sym)
                        symptoms[rd.n_symptoms++] = sym + 1;
                settle(p, t);
                if (rules_reading(&cfg, p->h, &p->st, &workers[atoi(buf)], t, &rd, &o, &error) !=
                    0) {
                        word(p->out, sizeof(p->out), "rd!");
                        break;
                }
                p->last = o.verdict;
                if (o.fever)
                        token(p->out, sizeof(p->out), &o.verdict, false);
                else
                        word(p->out, sizeof(p->out), o.counts ? "rd" : "rd-");
                break;
        }
        case END:
                break;
        }
}

/* Plays one case; prints what differs and returns false on a mismatch. */
static bool run_case(const struct rcase *c)
{
        struct player p = { .h = &households[c->household] };
        bool ok = true;

        for (const struct step *s = c->steps; s->op != END; s++)
                play(&p, s);
        if (strcmp(p.out, c->expect) != 0) {
                print_error("case \"%s\": got \"%s\", expected \"%s\"\n", c->name, p.out,
                            c->expect);
                ok = false;
        } else if (c->reason && !strstr(p.last.reason, c->reason)) {
                print_error("case \"%s\": reason \"%s\" lacks \"%s\"\n", c->name, p.last.reason,
                            c->reason);
                ok = false;
        }
        rules_state_done(&p.st);
        return ok;
}

/* ---- the table ---- */

static const struct rcase cases[] = {
        /* Observation window: [start, end). */
        { "before the window",
          0,
          { { OPEN, "2020-02-04T23:59:59+08:00" } },
          "-",
          "before the observation window" },
        { "window start", 0, { { OPEN, "2020-02-05T00:00:00+08:00" } }, "door_open_unexpected" },
        { "just before the end",
          0,
          { { OPEN, "2020-02-18T23:59:59+08:00" } },
          "door_open_unexpected" },
        { "window end",
          0,
          { { OPEN, "2020-02-19T00:00:00+08:00" } },
          "-",
          "after the observation window" },
        { "no deadline after the end",
          0,
          { { OPEN, "2020-02-18T23:58:00+08:00" }, { TICK, "2020-02-19T01:00:00+08:00" } },
          "door_open_unexpected" },

        /* Unexplained openings; repeats; closes. */
        { "unexpected opening",
          0,
          { { OPEN, "10:00:00" } },
          "door_open_unexpected",
          "no scheduled visit, check-in, pass or doorbell hand-off" },
        { "already open",
          0,
          { { OPEN, "10:00:00" }, { OPEN, "10:01:00" } },
          "door_open_unexpected -",
          "already open" },
        { "close after an opening",
          0,
          { { OPEN, "10:00:00" }, { CLOSE, "10:01:12" } },
          "door_open_unexpected -",
          "door closed after 1m12s" },
        { "reopening is a new opening",
          0,
          { { OPEN, "10:00:00" }, { CLOSE, "10:00:10" }, { OPEN, "10:00:20" } },
          "door_open_unexpected - door_open_unexpected" },

        /* Scheduled visits: 09:00 and 15:00 +-30m, closed window. */
        { "visit: window start",
          0,
          { { OPEN, "08:30:00" } },
          "ok:schedule",
          "scheduled medical visit at 09:00 (window 30m)" },
        { "visit: just before", 0, { { OPEN, "08:29:59" } }, "door_open_unexpected" },
        { "visit: window end", 0, { { OPEN, "09:30:00" } }, "ok:schedule" },
        { "visit: just after", 0, { { OPEN, "09:30:01" } }, "door_open_unexpected" },
        { "visit: second time", 0, { { OPEN, "15:10:00" } }, "ok:schedule" },
        { "visit: window across midnight",
          1,
          { { OPEN, "2020-02-07T00:19:59+08:00" } },
          "ok:schedule",
          "scheduled community visit at 23:50" },
        { "visit: across midnight, after",
          1,
          { { OPEN, "2020-02-07T00:20:01+08:00" } },
          "door_open_unexpected" },

        /* Check-in: openings within checkin_grace (30m), by a worker who may act. */
        { "check-in: inside",
          0,
          { { CHECKIN, "10:00:00" }, { OPEN, "10:30:00" } },
          "ci ok:checkin",
          "worker w-c checked in at 10:00:00" },
        { "check-in: just outside",
          0,
          { { CHECKIN, "10:00:00" }, { OPEN, "10:30:01" } },
          "ci door_open_unexpected" },
        { "check-in: before it",
          0,
          { { CHECKIN, "10:00:00" }, { OPEN, "09:59:59" } },
          "ci door_open_unexpected" },
        { "check-in: other community refused",
          0,
          { { CHECKIN, "10:00:00", "4" }, { OPEN, "10:01:00" } },
          "ci! door_open_unexpected" },
        { "check-in: team police",
          0,
          { { CHECKIN, "10:00:00", "2" }, { OPEN, "10:01:00" } },
          "ci ok:checkin" },
        { "check-in: leader of the community",
          0,
          { { CHECKIN, "10:00:00", "5" }, { OPEN, "10:01:00" } },
          "ci ok:checkin" },
        { "check-in: command centre",
          0,
          { { CHECKIN, "10:00:00", "6" }, { OPEN, "10:01:00" } },
          "ci ok:checkin" },
        { "check-in: outside observation", 0, { { CHECKIN, "2020-02-19T10:00:00+08:00" } }, "ci!" },

        /* Pre-reports: the next opening within 10 minutes, 3 a day. */
        { "report: inside",
          0,
          { { REPORT, "10:00:00", "garbage" }, { OPEN, "10:10:00" } },
          "rp ok:report",
          "(garbage), report 1 of 3 today" },
        { "report: just outside",
          0,
          { { REPORT, "10:00:00", "garbage" }, { OPEN, "10:10:01" } },
          "rp door_open_unexpected" },
        { "report: only the next opening",
          0,
          { { REPORT, "10:00:00", "garbage" },
            { OPEN, "10:01:00" },
            { CLOSE, "10:02:00" },
            { OPEN, "10:03:00" } },
          "rp ok:report - door_open_unexpected" },
        { "report: limit reached",
          0,
          { { REPORT, "10:00:00", "a" },
            { OPEN, "10:01:00" },
            { CLOSE, "10:02:00" },
            { REPORT, "11:00:00", "b" },
            { OPEN, "11:01:00" },
            { CLOSE, "11:02:00" },
            { REPORT, "12:00:00", "c" },
            { OPEN, "12:01:00" } },
          "rp ok:report - rp ok:report - rp ok:report",
          "report 3 of 3 today" },
        { "report: limit exceeded",
          0,
          { { REPORT, "10:00:00", "a" },
            { REPORT, "10:20:00", "b" },
            { REPORT, "10:40:00", "c" },
            { REPORT, "11:00:00", "d" },
            { OPEN, "11:05:00" } },
          "rp rp rp rp! too_many_openings",
          "after pre-report 4 of the day; the limit is 3" },
        { "report: beyond the limit, too late",
          0,
          { { REPORT, "10:00:00", "a" },
            { REPORT, "10:20:00", "b" },
            { REPORT, "10:40:00", "c" },
            { REPORT, "11:00:00", "d" },
            { OPEN, "11:10:01" } },
          "rp rp rp rp! door_open_unexpected" },
        { "report: a new local day",
          0,
          { { REPORT, "21:00:00", "a" },
            { REPORT, "22:00:00", "b" },
            { REPORT, "23:00:00", "c" },
            { REPORT, "2020-02-07T00:00:01+08:00", "d" },
            { OPEN, "2020-02-07T00:01:00+08:00" } },
          "rp rp rp rp ok:report",
          "report 1 of 3 today" },
        { "report: household limit 0",
          1,
          { { REPORT, "10:00:00", "a" }, { OPEN, "10:01:00" } },
          "rp! too_many_openings" },
        { "report: outside observation",
          0,
          { { REPORT, "2020-02-04T10:00:00+08:00", "a" } },
          "rp?" },
        { "report: a scheduled visit explains it first",
          0,
          { { REPORT, "08:00:00", "a" },
            { REPORT, "08:10:00", "b" },
            { REPORT, "08:20:00", "c" },
            { REPORT, "08:40:00", "d" },
            { OPEN, "08:45:00" } },
          "rp rp rp rp! ok:schedule" },

        /* Doorbell hand-off: ring then opening within 60s, closed within 120s. */
        { "hand-off: ring window end",
          0,
          { { RING, "10:00:00" }, { OPEN, "10:01:00" }, { CLOSE, "10:02:59.999999" } },
          "- ok:handoff ok:handoff",
          "delivery hand-off complete: door closed after 1m59s" },
        { "hand-off: ring too early",
          0,
          { { RING, "10:00:00" }, { OPEN, "10:01:00.000001" } },
          "- door_open_unexpected" },
        { "hand-off: opening before the ring",
          0,
          { { OPEN, "10:00:00" }, { RING, "10:00:01" } },
          "door_open_unexpected -" },
        { "hand-off: still open at max_open (replayed close)",
          0,
          { { RING, "10:00:00" }, { OPEN, "10:00:10" }, { CLOSE, "10:02:10" } },
          "- ok:handoff @door_open_unexpected -",
          "door closed after 2m" },
        { "hand-off: still open at max_open (timer)",
          0,
          { { RING, "10:00:00" }, { OPEN, "10:00:10" }, { TICK, "10:02:10" } },
          "- ok:handoff @door_open_unexpected",
          "judged as if there had been no ring" },
        { "hand-off: timer just before max_open",
          0,
          { { RING, "10:00:00" }, { OPEN, "10:00:10" }, { TICK, "10:02:09.999999" } },
          "- ok:handoff" },
        { "hand-off: one ring, one hand-off",
          0,
          { { RING, "10:00:00" },
            { OPEN, "10:00:10" },
            { CLOSE, "10:00:20" },
            { OPEN, "10:00:30" } },
          "- ok:handoff ok:handoff door_open_unexpected" },
        { "hand-off: expired after a report beyond the limit",
          0,
          { { REPORT, "10:00:00", "a" },
            { REPORT, "10:20:00", "b" },
            { REPORT, "10:40:00", "c" },
            { REPORT, "11:00:00", "d" },
            { RING, "11:01:00" },
            { OPEN, "11:01:30" },
            { TICK, "11:04:00" } },
          "rp rp rp rp! - ok:handoff @too_many_openings",
          "pre-report 4 of the day" },
        { "hand-off: expired, a person left",
          0,
          { { RING, "10:00:00" }, { OPEN, "10:00:10" }, { OUT, "10:00:40" }, { TICK, "10:02:10" } },
          "- ok:handoff - @person_left",
          "the camera saw a person leave" },

        /* Held open: at held_open_after, also when the opening was expected. */
        { "held open: unexpected opening",
          0,
          { { OPEN, "10:00:00" }, { CLOSE, "10:05:00" } },
          "door_open_unexpected @door_held_open -" },
        { "held open: closed just in time",
          0,
          { { OPEN, "10:00:00" }, { CLOSE, "10:04:59.999999" } },
          "door_open_unexpected -" },
        { "held open: expected but held open",
          0,
          { { CHECKIN, "10:00:00" }, { OPEN, "10:01:00" }, { TICK, "10:06:00" } },
          "ci ok:checkin @door_held_open",
          "the opening itself was expected" },
        { "held open: once per opening",
          0,
          { { OPEN, "10:00:00" }, { TICK, "10:06:00" }, { TICK, "11:00:00" } },
          "door_open_unexpected @door_held_open" },
        { "held open: household override (1m)",
          1,
          { { OPEN, "10:00:00" }, { CLOSE, "10:01:00" } },
          "door_open_unexpected @door_held_open -" },
        { "held open: hand-off expires first",
          0,
          { { RING, "10:00:00" }, { OPEN, "10:00:10" }, { TICK, "10:06:00" } },
          "- ok:handoff @door_open_unexpected @door_held_open" },

        /* Camera: a person leaving within 2m of an unexpected opening. */
        { "person left: after the opening",
          0,
          { { OPEN, "10:00:00" }, { OUT, "10:02:00" } },
          "door_open_unexpected person_left",
          "person leave 2m after the unexpected opening" },
        { "person left: too late",
          0,
          { { OPEN, "10:00:00" }, { OUT, "10:02:00.000001" } },
          "door_open_unexpected -" },
        { "person left: seen before the opening",
          0,
          { { OUT, "09:58:00" }, { OPEN, "10:00:00" } },
          "- person_left",
          "the camera saw a person leave at 09:58:00" },
        { "person left: expected opening",
          0,
          { { CHECKIN, "10:00:00" }, { OPEN, "10:01:00" }, { OUT, "10:01:30" } },
          "ci ok:checkin -",
          "no unexpected opening within 2m" },
        { "person coming in",
          0,
          { { OPEN, "10:00:00" }, { IN, "10:00:30" } },
          "door_open_unexpected -" },

        /* Passes: openings during [from, to) expected; overdue without a return. */
        { "pass: exit and return",
          0,
          { { PASS, "10:00:00", "12:00:00" },
            { OPEN, "10:30:00" },
            { CLOSE, "10:31:00" },
            { OPEN, "11:30:00" },
            { CLOSE, "11:31:00" },
            { TICK, "13:00:00" } },
          "pass ok:pass - ok:pass -",
          NULL },
        { "pass: the return during it",
          0,
          { { PASS, "10:00:00", "12:00:00" },
            { OPEN, "10:30:00" },
            { CLOSE, "10:31:00" },
            { OPEN, "11:30:00" } },
          "pass ok:pass - ok:pass",
          "return (out since 10:30:00)" },
        { "pass: opening at its start",
          0,
          { { PASS, "10:00:00", "12:00:00" }, { OPEN, "10:00:00" } },
          "pass ok:pass",
          "during a pass (hospital) 2020-02-06 10:00 to 2020-02-06 12:00: leaving" },
        { "pass: opening just before",
          0,
          { { PASS, "10:00:00", "12:00:00" }, { OPEN, "09:59:59" } },
          "pass door_open_unexpected" },
        { "pass: overdue, just before",
          0,
          { { PASS, "10:00:00", "12:00:00" },
            { OPEN, "10:30:00" },
            { CLOSE, "10:31:00" },
            { TICK, "12:14:59.999999" } },
          "pass ok:pass -" },
        { "pass: overdue",
          0,
          { { PASS, "10:00:00", "12:00:00" },
            { OPEN, "10:30:00" },
            { CLOSE, "10:31:00" },
            { TICK, "12:15:00" } },
          "pass ok:pass - @pass_overdue",
          "no return (door opening) seen since the exit" },
        { "pass: late return after overdue",
          0,
          { { PASS, "10:00:00", "12:00:00" },
            { OPEN, "10:30:00" },
            { CLOSE, "10:31:00" },
            { OPEN, "12:40:00" } },
          "pass ok:pass - @pass_overdue ok:return",
          "(pass_overdue was raised)" },
        { "pass: return after the end, in time",
          0,
          { { PASS, "10:00:00", "12:00:00" },
            { OPEN, "10:30:00" },
            { CLOSE, "10:31:00" },
            { OPEN, "12:10:00" },
            { CLOSE, "12:11:00" },
            { TICK, "13:00:00" } },
          "pass ok:pass - ok:return -",
          NULL },
        { "pass: never left, never overdue",
          0,
          { { PASS, "10:00:00", "12:00:00" }, { TICK, "14:00:00" }, { OPEN, "14:01:00" } },
          "pass door_open_unexpected" },
        { "pass: from after to refused", 0, { { PASS, "12:00:00", "10:00:00" } }, "pass!" },
        { "pass: outside observation refused",
          0,
          { { PASS, "2020-02-20T10:00:00+08:00", "2020-02-20T12:00:00+08:00" } },
          "pass!" },

        /* Tamper; debounce of identical repeats within 2s. */
        { "tamper", 0, { { TAMPER, "10:00:00" } }, "tamper", "device d-door reports tampering" },
        { "tamper cleared", 0, { { TAMPER, "10:00:00", "cleared" } }, "-" },
        { "debounce: within", 0, { { TAMPER, "10:00:00" }, { TAMPER, "10:00:02" } }, "tamper ~" },
        { "debounce: outside",
          0,
          { { TAMPER, "10:00:00" }, { TAMPER, "10:00:02.000001" } },
          "tamper tamper" },
        { "debounce: rings",
          0,
          { { RING, "10:00:00" }, { RING, "10:00:01" }, { RING, "10:00:05" } },
          "- ~ -" },
        { "debounce: a different state counts",
          0,
          { { OPEN, "10:00:00" }, { CLOSE, "10:00:00.5" }, { OPEN, "10:00:01" } },
          "door_open_unexpected - door_open_unexpected" },

        /* Retained replays. */
        { "retained: found open",
          0,
          { { R_OPEN, "10:00:00" } },
          "door_open_unexpected",
          "door found open (retained state) with no scheduled visit" },
        { "retained: a known open door",
          0,
          { { OPEN, "10:00:00" }, { R_OPEN, "10:00:05" } },
          "door_open_unexpected -",
          "retained replay of a known open door" },
        { "retained: found open during a visit", 0, { { R_OPEN, "09:10:00" } }, "ok:schedule" },
        { "retained: an old open state after a close",
          0,
          { { OPEN, "10:00:00" }, { CLOSE, "10:01:00" }, { R_OPEN, "10:00:00" } },
          "door_open_unexpected - -",
          "older than the door's last close" },
        { "retained: a ring is no ring",
          0,
          { { R_RING, "10:00:00" }, { OPEN, "10:00:05" } },
          "- door_open_unexpected" },
};

/* Medical rounds (H-1: 09:00 and 15:00, 30 minutes each side) and readings. */
static const struct rcase round_cases[] = {
        { "round missed",
          0,
          { { ROUNDS, "08:00:00" }, { TICK, "09:31:00" } },
          "@round_missed",
          "no reading for the medical round at 09:00 (window 08:30:00 to 09:30:00, 30m each "
          "side)" },
        { "not yet missed at the window's last instant",
          0,
          { { ROUNDS, "08:00:00" }, { TICK, "09:30:00" } },
          "" },
        { "round done by the team's doctor",
          0,
          { { ROUNDS, "08:00:00" }, { READING, "09:10:00", "1:36.6" }, { TICK, "09:31:00" } },
          "rd -",
          "medical round at 09:00 done: reading at 09:10:00" },
        { "a reading at the window's first instant",
          0,
          { { ROUNDS, "08:00:00" }, { READING, "08:30:00", "1:36.6" }, { TICK, "09:31:00" } },
          "rd -" },
        { "a reading at the window's last instant",
          0,
          { { ROUNDS, "08:00:00" }, { READING, "09:30:00", "1:36.6" }, { TICK, "09:31:00" } },
          "rd -" },
        { "a reading just before the window",
          0,
          { { ROUNDS, "08:00:00" }, { READING, "08:29:59", "1:36.6" }, { TICK, "09:31:00" } },
          "rd @round_missed" },
        { "a doctor of the community on duty counts",
          0,
          { { ROUNDS, "08:00:00" }, { READING, "09:10:00", "7:36.6" }, { TICK, "09:31:00" } },
          "rd -" },
        { "the community worker's reading is recorded, the round still missed",
          0,
          { { ROUNDS, "08:00:00" }, { READING, "09:10:00", "0:36.6" }, { TICK, "09:31:00" } },
          "rd- @round_missed",
          "no reading for the medical round at 09:00" },
        { "two rounds a day",
          0,
          { { ROUNDS, "08:00:00" }, { TICK, "16:00:00" } },
          "@round_missed @round_missed",
          "medical round at 15:00" },
        { "rounds are judged from where watching began",
          0,
          { { ROUNDS, "09:31:00" }, { TICK, "16:00:00" } },
          "@round_missed",
          "round at 15:00" },
        { "not watched: nothing", 0, { { TICK, "16:00:00" } }, "" },
        { "a household without medical rounds",
          1,
          { { ROUNDS, "08:00:00" }, { TICK, "2020-02-07T08:00:00+08:00" } },
          "" },
        { "a pass excuses the round",
          0,
          { { ROUNDS, "08:00:00" }, { PASS, "08:00:00", "09:00:00" }, { TICK, "09:31:00" } },
          "pass -",
          "medical round at 09:00 excused: a pass (hospital)" },
        { "a pass after the window excuses nothing",
          0,
          { { ROUNDS, "08:00:00" }, { PASS, "09:30:01", "11:00:00" }, { TICK, "09:31:00" } },
          "@round_missed pass" },
        { "no round_missed after the observation ended",
          0,
          { { ROUNDS, "2020-02-18T20:00:00+08:00" }, { TICK, "2020-02-19T16:00:00+08:00" } },
          "" },
        { "the last round of the observation",
          0,
          { { ROUNDS, "2020-02-18T14:00:00+08:00" }, { TICK, "2020-02-19T16:00:00+08:00" } },
          "@round_missed",
          "round at 15:00" },
        { "a reading outside the observation is refused",
          0,
          { { READING, "2020-02-19T09:00:00+08:00", "1:36.6" } },
          "rd!" },
        { "fever at fever_at",
          0,
          { { READING, "10:00:00", "1:37.3" } },
          "fever",
          "temperature 37.3 °C at or above fever_at 37.3 °C (reading by w-m at 10:00:00)" },
        { "no fever below fever_at", 0, { { READING, "10:00:00", "1:37.2" } }, "rd" },
        { "fever by a listed symptom, any case",
          0,
          { { READING, "10:00:00", "1:36.5:Cough" } },
          "fever",
          "fever symptoms: Cough" },
        { "fever by a symptom in Chinese",
          0,
          { { READING, "10:00:00", "0:36.5:发热" } },
          "fever",
          "fever symptoms: 发热 (reading by w-c" },
        { "a symptom not listed", 0, { { READING, "10:00:00", "1:36.5:itch" } }, "rd" },
        { "a fever reading does the round",
          0,
          { { ROUNDS, "08:00:00" }, { READING, "09:00:00", "1:38.5" }, { TICK, "09:31:00" } },
          "fever -" },
};

static void test_rounds_table(void **state)
{
        size_t failed = 0;

        for (size_t i = 0; i < ELEMENTSOF(round_cases); i++)
                failed += !run_case(&round_cases[i]);
        if (failed)
                fail_msg("%zu of %zu cases failed", failed, ELEMENTSOF(round_cases));
}

static void test_rules_table(void **state)
{
        size_t failed = 0;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                failed += !run_case(&cases[i]);
        if (failed)
                fail_msg("%zu of %zu cases failed", failed, ELEMENTSOF(cases));
}

/* Noisy sensors (issue 16), with policy.chatter_settle 300ms (H-2's policy keeps 0):
 * chatter before an opening that a one-shot explanation covers, before a check-in opening,
 * before a real exit seen by the camera, at the close; late rings and camera detections;
 * repeated and missing state reports. */
static const struct rcase chatter_cases[] = {
        { "blip: a lone blip raises nothing",
          0,
          { { OPEN, "10:00:00" }, { CLOSE, "10:00:00.1" }, { TICK, "11:00:00" } },
          "held held",
          "door closed after 0.1s, before chatter_settle (0.3s)" },
        { "blip: several blips are still nothing",
          0,
          { { OPEN, "10:00:00" },
            { CLOSE, "10:00:00.1" },
            { OPEN, "10:00:00.2" },
            { CLOSE, "10:00:00.4" },
            { TICK, "11:00:00" } },
          "held held join held" },
        { "settle: unexplained, alerted once open 300ms",
          0,
          { { OPEN, "10:00:00" }, { TICK, "10:00:00.3" } },
          "held @door_open_unexpected",
          "door opened with no scheduled visit, check-in, pass or doorbell hand-off" },
        { "settle: not before",
          0,
          { { OPEN, "10:00:00" }, { TICK, "10:00:00.299999" } },
          "held",
          "held for chatter_settle (0.3s): alerted if it stays open" },
        { "settle: a close at 300ms comes after it",
          0,
          { { OPEN, "10:00:00" }, { CLOSE, "10:00:00.3" } },
          "held @door_open_unexpected -",
          "door closed after 0.3s" },
        { "settle: a close just before it",
          0,
          { { OPEN, "10:00:00" }, { CLOSE, "10:00:00.299999" }, { TICK, "11:00:00" } },
          "held held" },
        { "settle: alerted once for chatter and opening",
          0,
          { { OPEN, "10:00:00" },
            { CLOSE, "10:00:00.1" },
            { OPEN, "10:00:00.4" },
            { CLOSE, "10:01:00" } },
          "held held join @door_open_unexpected -",
          "door closed after 1m" },
        { "join: a reopen 300ms after the close joins",
          0,
          { { OPEN, "10:00:00" }, { CLOSE, "10:00:00.1" }, { OPEN, "10:00:00.4" } },
          "held held join",
          "door reopened 0.3s after it closed, within chatter_settle (0.3s): joins the opening "
          "at 10:00:00 (unexplained, alerted once it stays open)" },
        { "join: a reopen later is an opening of its own",
          0,
          { { OPEN, "10:00:00" }, { CLOSE, "10:00:00.1" }, { OPEN, "10:00:00.400001" } },
          "held held held" },
        { "household override: chatter_settle 0",
          1,
          { { OPEN, "10:00:00" }, { CLOSE, "10:00:00.1" }, { OPEN, "10:00:00.2" } },
          "door_open_unexpected - door_open_unexpected" },
        { "retained: found open is alerted at once",
          0,
          { { R_OPEN, "10:00:00" } },
          "door_open_unexpected",
          "door found open (retained state)" },

        /* Chatter before an opening with a one-shot explanation: the blip does not use it up. */
        { "hand-off: chatter joins the opening",
          0,
          { { RING, "08:00:00" },
            { OPEN, "08:00:20" },
            { CLOSE, "08:00:20.1" },
            { OPEN, "08:00:20.25" },
            { CLOSE, "08:00:50" } },
          "- ok:handoff held join ok:handoff",
          "delivery hand-off complete: door closed after 30s" },
        { "hand-off: a blip seconds before leaves the ring",
          0,
          { { RING, "08:00:00" },
            { OPEN, "08:00:18" },
            { CLOSE, "08:00:18.1" },
            { OPEN, "08:00:20" },
            { CLOSE, "08:00:50" } },
          "- ok:handoff held ok:handoff ok:handoff",
          "delivery hand-off complete: door closed after 30s" },
        { "hand-off: a bounce at the close joins",
          0,
          { { RING, "08:00:00" },
            { OPEN, "08:00:20" },
            { CLOSE, "08:00:50" },
            { OPEN, "08:00:50.1" },
            { CLOSE, "08:00:50.2" } },
          "- ok:handoff ok:handoff join ok:handoff",
          "delivery hand-off complete: door closed after 30s" },
        { "hand-off: max_open counts from the first open",
          0,
          { { RING, "08:00:00" },
            { OPEN, "08:00:10" },
            { CLOSE, "08:00:10.1" },
            { OPEN, "08:00:10.2" },
            { TICK, "08:02:10" } },
          "- ok:handoff held join @door_open_unexpected",
          "door still open 2m after a doorbell hand-off opening at 08:00:10" },
        { "hand-off: still one ring, one hand-off",
          0,
          { { RING, "08:00:00" },
            { OPEN, "08:00:10" },
            { CLOSE, "08:00:20" },
            { OPEN, "08:00:30" },
            { CLOSE, "08:00:40" } },
          "- ok:handoff ok:handoff held @door_open_unexpected -" },
        { "report: chatter joins the pre-reported opening",
          0,
          { { REPORT, "07:30:00", "garbage" },
            { OPEN, "07:32:00" },
            { CLOSE, "07:32:00.1" },
            { OPEN, "07:32:00.2" },
            { CLOSE, "07:33:00" },
            { OPEN, "07:40:00" },
            { TICK, "07:41:00" } },
          "rp ok:report held join - held @door_open_unexpected" },
        { "report: a blip before leaves the pre-report",
          0,
          { { REPORT, "07:30:00", "garbage" },
            { OPEN, "07:31:00" },
            { CLOSE, "07:31:00.1" },
            { OPEN, "07:32:00" },
            { CLOSE, "07:33:00" } },
          "rp ok:report held ok:report -",
          "door closed after 1m" },
        { "report: beyond the limit, chatter alerts once",
          0,
          { { REPORT, "10:00:00", "a" },
            { REPORT, "10:20:00", "b" },
            { REPORT, "10:40:00", "c" },
            { REPORT, "11:00:00", "d" },
            { OPEN, "11:05:00" },
            { CLOSE, "11:05:00.1" },
            { OPEN, "11:05:00.2" },
            { CLOSE, "11:06:00" } },
          "rp rp rp rp! held held join @too_many_openings -" },
        { "check-in: chatter joins the opening",
          0,
          { { CHECKIN, "10:00:00" },
            { OPEN, "10:02:00" },
            { CLOSE, "10:02:00.1" },
            { OPEN, "10:02:00.15" },
            { CLOSE, "10:04:00" } },
          "ci ok:checkin held join -",
          "door closed after 2m" },
        { "visit: chatter joins the opening",
          0,
          { { OPEN, "09:05:00" },
            { CLOSE, "09:05:00.1" },
            { OPEN, "09:05:00.2" },
            { CLOSE, "09:08:00" } },
          "ok:schedule held join -" },
        { "pass: a blip is no exit",
          0,
          { { PASS, "10:00:00", "12:00:00" },
            { OPEN, "10:30:00" },
            { CLOSE, "10:30:00.1" },
            { OPEN, "10:35:00" },
            { CLOSE, "10:36:00" },
            { OPEN, "11:30:00" } },
          "pass ok:pass held ok:pass - ok:pass",
          "return (out since 10:35:00)" },

        /* A real exit with chatter, seen by the camera. */
        { "exit: chatter, then the camera after the alert",
          0,
          { { OPEN, "20:00:00" },
            { CLOSE, "20:00:00.1" },
            { OPEN, "20:00:00.2" },
            { OUT, "20:00:40" },
            { CLOSE, "20:01:00" } },
          "held held join @door_open_unexpected person_left -",
          "door closed after 1m" },
        { "exit: the camera while the opening is held",
          0,
          { { OPEN, "20:00:00" }, { OUT, "20:00:00.1" }, { TICK, "20:00:01" } },
          "held held @person_left",
          "the camera saw a person leave at 20:00:00" },
        { "exit: the camera before the chatter",
          0,
          { { OUT, "19:59:50" },
            { OPEN, "20:00:00" },
            { CLOSE, "20:00:00.1" },
            { OPEN, "20:00:00.2" },
            { TICK, "20:00:01" } },
          "- held held join @person_left" },
        { "exit: held open counts from the first open",
          0,
          { { OPEN, "10:00:00" },
            { CLOSE, "10:00:00.1" },
            { OPEN, "10:00:00.2" },
            { TICK, "10:05:00" } },
          "held held join @door_open_unexpected @door_held_open",
          "door open since 10:00:00" },

        /* Late messages: the device's time is earlier than the opening they explain. */
        { "late ring: arrives while the opening is held",
          0,
          { { OPEN, "08:00:20" }, { RING, "08:00:00" }, { CLOSE, "08:00:50" } },
          "held - @ok:handoff ok:handoff",
          "delivery hand-off complete: door closed after 30s" },
        { "late camera: after the alert",
          0,
          { { OPEN, "20:00:10" }, { TICK, "20:00:11" }, { OUT, "20:00:05" } },
          "held @door_open_unexpected person_left",
          "the camera saw a person leave 5s before the unexpected opening at 20:00:10" },

        /* Repeated and missing state reports (zigbee2mqtt, Shelly repeat their state). */
        { "repeat: the same open state again",
          0,
          { { OPEN, "10:00:00" }, { OPEN, "10:00:01" }, { OPEN, "10:00:30" } },
          "held ~ @door_open_unexpected -",
          "door already open since 10:00:00" },
        { "repeat: closed again changes nothing, no held open",
          0,
          { { OPEN, "10:00:00" },
            { CLOSE, "10:01:00" },
            { CLOSE, "10:01:30" },
            { CLOSE, "10:03:00" },
            { TICK, "10:30:00" } },
          "held @door_open_unexpected - - -",
          "door already closed" },
        { "missing close: the next report closes the door",
          0,
          { { CHECKIN, "10:00:00" },
            { OPEN, "10:01:00" },
            { CLOSE, "10:04:00" }, /* the close was lost; a battery report repeats "closed" */
            { TICK, "10:30:00" } },
          "ci ok:checkin -",
          "door closed after 3m" },
};

static void test_chatter_table(void **state)
{
        size_t failed = 0;

        cfg.policy.chatter_settle_usec = 300 * USEC_PER_MSEC;
        policy_h2 = cfg.policy;
        policy_h2.chatter_settle_usec = 0;
        for (size_t i = 0; i < ELEMENTSOF(chatter_cases); i++)
                failed += !run_case(&chatter_cases[i]);
        cfg.policy.chatter_settle_usec = 0;
        policy_h2.chatter_settle_usec = 0;
        if (failed)
                fail_msg("%zu of %zu cases failed", failed, ELEMENTSOF(chatter_cases));
}

/* A retained tamper state is alerted once: not again while its alert is live. */
static void test_retained_tamper_with_live_alert(void **state)
{
        struct household_state st = { 0 };
        struct alert a = { .kind = ALERT_TAMPER, .state = ALERT_OPEN, .device_id = "d-door" };
        struct event ev = { .type = EVENT_TAMPER, .tampered = true, .retained = true };
        struct verdict v;
        int64_t t = step_time("10:00:00");

        rules_judge(&cfg, &households[0], &st, &devices[D_DOOR], &ev, t, &v);
        assert_int_equal(v.kind, VERDICT_ALERT);
        st.alerts = &a;
        rules_judge(&cfg, &households[0], &st, &devices[D_DOOR], &ev, t, &v);
        assert_int_equal(v.kind, VERDICT_IGNORED);
        ev.retained = false;
        rules_judge(&cfg, &households[0], &st, &devices[D_DOOR], &ev, t, &v);
        assert_int_equal(v.kind, VERDICT_ALERT);
}

static void test_event_time_and_clock_skew(void **state)
{
        int64_t recv = step_time("10:00:00");
        struct event ev = { .has_ts = true };

        ev.ts = (double)(recv - 5 * USEC_PER_MIN) / 1e6;
        assert_true(rules_event_time(&ev, recv, 5 * USEC_PER_MIN) == recv - 5 * USEC_PER_MIN);
        assert_int_equal(rules_time_basis(&ev, recv, 5 * USEC_PER_MIN), TIME_BASIS_DEVICE);
        ev.ts = (double)(recv + 5 * USEC_PER_MIN + USEC_PER_SEC) / 1e6;
        assert_true(rules_event_time(&ev, recv, 5 * USEC_PER_MIN) == recv);
        assert_int_equal(rules_time_basis(&ev, recv, 5 * USEC_PER_MIN), TIME_BASIS_RECEIVE);
        ev.ts = (double)recv / 1e6; /* the device's clock, even when it reads the same */
        assert_int_equal(rules_time_basis(&ev, recv, 0), TIME_BASIS_DEVICE);
        ev.has_ts = false;
        assert_true(rules_event_time(&ev, recv, 5 * USEC_PER_MIN) == recv);
        assert_int_equal(rules_time_basis(&ev, recv, 5 * USEC_PER_MIN), TIME_BASIS_RECEIVE);
        assert_string_equal(time_basis_to_string(TIME_BASIS_DEVICE), "device");
        assert_string_equal(time_basis_to_string(TIME_BASIS_RECEIVE), "receive");
        assert_true(rules_command_time(true, 1580954400.0, recv, 100000 * USEC_PER_DAY) ==
                    INT64_C(1580954400) * USEC_PER_SEC);
        assert_true(rules_command_time(true, -1, recv, 100000 * USEC_PER_DAY) == recv);
}

static void test_next_deadline_order(void **state)
{
        struct household_state st = { 0 };
        struct rules_due due;
        int64_t t = step_time("10:00:00");

        assert_true(rules_next_deadline(&cfg, &households[0], &st, &due) == INT64_MAX);
        assert_int_equal(due.kind, RULES_DUE_NONE);
        st.door = DOOR_OPEN;
        st.opening = OPENING_HANDOFF;
        st.door_changed_usec = st.opening_usec = t;
        assert_true(rules_next_deadline(&cfg, &households[0], &st, &due) == t + 120 * USEC_PER_SEC);
        assert_int_equal(due.kind, RULES_DUE_HANDOFF);
        st.opening = OPENING_IGNORED; /* opened outside the window: no deadlines */
        assert_true(rules_next_deadline(&cfg, &households[0], &st, &due) == INT64_MAX);
}

static void test_state_json_round_trip(void **state)
{
        struct household_state a = { 0 }, b = { 0 };
        cJSON *j;
        char *s1, *s2;

        a.door = DOOR_OPEN;
        a.door_changed_usec = step_time("10:00:00");
        a.opening = OPENING_HANDOFF;
        rules_set_open_event(&a, "e-77");
        a.handoff_fallback = ALERT_TOO_MANY_OPENINGS;
        a.handoff_report = 4;
        a.held_alerted = true;
        a.last_ring_usec = 1;
        a.unexpected_open_usec = 2;
        a.person_out_usec = 3;
        a.checkin_usec = step_time("09:00:00");
        rules_set_checkin_worker(&a, "w-c");
        a.report_usec = 5;
        rules_set_report_reason(&a, "倒垃圾");
        a.report_number = 4;
        a.report_day = 20200206;
        a.reports_today = 4;
        a.clock_offset_usec = -7 * USEC_PER_SEC;
        a.rounds_usec = step_time("09:30:00");
        a.reading_usec = step_time("09:12:00");
        j = rules_state_to_json(&a);
        s1 = cJSON_PrintUnformatted(j);
        rules_state_from_json(&b, j);
        cJSON_Delete(j);
        j = rules_state_to_json(&b);
        s2 = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        assert_string_equal(s1, s2);
        assert_int_equal(b.opening, OPENING_HANDOFF);
        assert_true(b.door_changed_usec == a.door_changed_usec);
        assert_true(b.clock_offset_usec == a.clock_offset_usec);
        assert_string_equal(rules_report_reason(&b), "倒垃圾");
        assert_string_equal(rules_checkin_worker(&b), "w-c");
        free(s1);
        free(s2);
        /* Garbage does not crash and leaves the state alone. */
        j = cJSON_Parse("{\"door\": 5, \"opening\": \"sideways\", \"report_day\": 1e300}");
        rules_state_from_json(&b, j);
        cJSON_Delete(j);
        assert_int_equal(b.report_day, 20200206);
        assert_int_equal(b.rounds_usec, step_time("09:30:00"));
        assert_int_equal(b.reading_usec, step_time("09:12:00"));
        rules_state_done(&a);
        rules_state_done(&b);
}

/* The opening's event id is kept while the door is open (alerts raised later carry it) and
 * forgotten when it closes, in memory and in the stored state. */
static void test_open_event_while_open(void **state)
{
        struct player p = { .h = &households[0] };
        struct household_state b = { 0 };
        cJSON *j;

        char opened[64];

        play(&p, &(struct step){ OPEN, "10:00:00" });
        snprintf(opened, sizeof(opened), "%s", p.last_id);
        /* The id of the event that opened the door (comparing it with the field it returns
         * proved nothing). */
        assert_string_equal(rules_open_event(&p.st), opened);
        j = rules_state_to_json(&p.st);
        rules_state_from_json(&b, j);
        cJSON_Delete(j);
        assert_string_equal(rules_open_event(&b), rules_open_event(&p.st));
        play(&p, &(struct step){ TICK, "10:10:00" }); /* held open: still the same opening */
        assert_string_equal(rules_open_event(&p.st), opened);
        play(&p, &(struct step){ CLOSE, "10:11:00" });
        assert_string_equal(rules_open_event(&p.st), "");
        assert_null(p.st.open_event);
        j = rules_state_to_json(&p.st);
        rules_state_from_json(&b, j);
        cJSON_Delete(j);
        assert_string_equal(rules_open_event(&b), "");
        /* A stored closed state with an id (as older versions wrote it) loads without it. */
        j = cJSON_Parse("{\"door\": \"closed\", \"open_event\": \"e-1\"}");
        rules_state_from_json(&b, j);
        cJSON_Delete(j);
        assert_null(b.open_event);
        rules_state_done(&p.st);
        rules_state_done(&b);
}

static void test_copy_text_keeps_utf8_whole(void **state)
{
        char buf[5];

        rules_copy_text(buf, sizeof(buf), "ab倒垃圾"); /* 2 + 3-byte characters */
        assert_string_equal(buf, "ab");
        rules_copy_text(buf, sizeof(buf), "abcd");
        assert_string_equal(buf, "abcd");
        rules_copy_text(buf, sizeof(buf), NULL);
        assert_string_equal(buf, "");
}

static void test_pass_limit_and_prune(void **state)
{
        struct household_state st = { 0 };
        const char *error = NULL;
        int64_t t = step_time("10:00:00");

        for (int i = 0; i < RULES_PASSES_MAX; i++) {
                struct rules_pass p = { .id = i + 1,
                                        .from_usec = t + i * USEC_PER_HOUR,
                                        .to_usec = t + i * USEC_PER_HOUR + USEC_PER_MIN };
                assert_int_equal(rules_check_pass(&cfg, &households[0], &st, p.from_usec, p.to_usec,
                                                  "x", &error),
                                 0);
                assert_int_equal(rules_add_pass(&st, &p), 0);
        }
        assert_int_equal(rules_check_pass(&cfg, &households[0], &st, t, t + 1, "x", &error),
                         RULES_E_REFUSED);
        assert_string_equal(error, "too many pending passes for this household");
        assert_int_equal(rules_check_pass(&cfg, &households[0], &st, t, t + 1, "", &error),
                         RULES_E_REFUSED);
        /* Three hours on, the first three passes ended without an exit. */
        assert_int_equal(rules_prune_passes(&st, t + 3 * USEC_PER_HOUR), 3);
        assert_int_equal(st.n_passes, RULES_PASSES_MAX - 3);
        assert_true(st.passes[0].id == 4);
        rules_state_done(&st);
}

/* rules_state_copy(): an independent copy, whatever shape the source and the target have
 * (no id, texts or passes; some of them; target buffers smaller, bigger or absent), and a
 * scratch state copied into again and again keeps no memory of an earlier copy. */
static void fill_state(struct household_state *st, int shape)
{
        rules_state_done(st);
        *st = (struct household_state){ .door = DOOR_CLOSED, .report_day = 20200206 + shape };
        if (shape & 1) {
                st->door = DOOR_OPEN;
                st->opening = OPENING_ALERTED;
                rules_set_open_event(st,
                                     shape & 8 ? "e-a-much-longer-event-id-of-the-opening" : "e-7");
        }
        if (shape & 2) {
                rules_set_checkin_worker(st, "w-c");
                rules_set_report_reason(st, "倒垃圾");
        }
        if (shape & 4)
                for (int i = 0; i < 1 + (shape >> 3) * 4; i++) {
                        struct rules_pass p = { .id = 10 + i, .from_usec = i, .to_usec = i + 5 };
                        rules_copy_text(p.reason, sizeof(p.reason), "就医");
                        assert_int_equal(rules_add_pass(st, &p), 0);
                }
}

static char *state_text(const struct household_state *st)
{
        cJSON *j = rules_state_to_json(st);
        char *s = cJSON_PrintUnformatted(j);

        cJSON_Delete(j);
        return s;
}

static void test_state_copy(void **state)
{
        struct household_state scratch = { 0 };

        for (int from = 0; from < 16; from++)
                for (int before = 0; before < 16; before++) {
                        struct household_state src = { 0 };
                        char *want, *got;

                        fill_state(&scratch, before);
                        fill_state(&src, from);
                        assert_int_equal(rules_state_copy(&scratch, &src), 0);
                        want = state_text(&src);
                        got = state_text(&scratch);
                        assert_string_equal(got, want);
                        assert_int_equal(scratch.n_passes, src.n_passes);
                        for (size_t i = 0; i < src.n_passes; i++) {
                                assert_true(scratch.passes[i].id == src.passes[i].id);
                                assert_string_equal(scratch.passes[i].reason, src.passes[i].reason);
                        }
                        /* No memory shared, the shape kept (NULL where src has nothing). */
                        assert_true(!src.open_event == !scratch.open_event);
                        assert_true(!src.texts == !scratch.texts);
                        assert_true(!src.passes == !scratch.passes);
                        assert_true(!src.open_event || scratch.open_event != src.open_event);
                        assert_true(!src.texts || scratch.texts != src.texts);
                        assert_true(!src.passes || scratch.passes != src.passes);
                        /* Changing the copy leaves the source alone. */
                        rules_set_open_event(&scratch, NULL);
                        rules_set_checkin_worker(&scratch, "w-other");
                        if (scratch.n_passes)
                                scratch.passes[0].exit_usec = 99;
                        free(got);
                        got = state_text(&src);
                        assert_string_equal(got, want);
                        assert_true(!src.n_passes || src.passes[0].exit_usec == 0);
                        free(got);
                        free(want);
                        rules_state_done(&src);
                }
        rules_state_done(&scratch);
}

/* local_day_minute() answers what mktime() answers, also across a daylight saving change
 * and after the zone changes (its memo must not outlive the zone). */
static void test_local_day_minute_is_mktime(void **state)
{
        const char *zones[] = { "Europe/Berlin", "Asia/Shanghai", "America/New_York" };

        for (size_t z = 0; z < 3; z++) {
                assert_int_equal(timezone_set(zones[z]), 0);
                /* 2026-03-27 .. 2026-04-02 (Europe's change on 03-29) and the New Year. */
                const int64_t starts[] = { 1774569600, 1798675200 };
                for (size_t i = 0; i < 2; i++)
                        for (int64_t t = starts[i]; t < starts[i] + 6 * 86400; t += 7200)
                                for (int off = -2; off <= 2; off++)
                                        for (int minute = 0; minute < 1440; minute += 150) {
                                                struct tm tm;
                                                int64_t usec = t * USEC_PER_SEC;

                                                local_time(t, &tm);
                                                tm.tm_mday += off;
                                                tm.tm_hour = minute / 60;
                                                tm.tm_min = minute % 60;
                                                tm.tm_sec = 0;
                                                tm.tm_isdst = -1;
                                                assert_int_equal(
                                                    local_day_minute(usec, off, minute),
                                                    (int64_t)mktime(&tm) * USEC_PER_SEC);
                                        }
        }
        /* The same question in another zone right after: not the first zone's answer. */
        assert_int_equal(timezone_set("Europe/Berlin"), 0);
        int64_t berlin = local_day_minute(1774569600 * USEC_PER_SEC, 0, 600);
        assert_int_equal(timezone_set("Asia/Shanghai"), 0);
        assert_int_equal(local_day_minute(1774569600 * USEC_PER_SEC, 0, 600),
                         berlin - 7 * USEC_PER_HOUR);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rules_table),
                cmocka_unit_test(test_chatter_table),
                cmocka_unit_test(test_rounds_table),
                cmocka_unit_test(test_retained_tamper_with_live_alert),
                cmocka_unit_test(test_event_time_and_clock_skew),
                cmocka_unit_test(test_next_deadline_order),
                cmocka_unit_test(test_state_json_round_trip),
                cmocka_unit_test(test_open_event_while_open),
                cmocka_unit_test(test_copy_text_keeps_utf8_whole),
                cmocka_unit_test(test_pass_limit_and_prune),
                cmocka_unit_test(test_state_copy),
                cmocka_unit_test(test_local_day_minute_is_mktime),
        };
        return cmocka_run_group_tests(tests, setup, NULL);
}

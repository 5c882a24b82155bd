/* test-roster.c: roster resolution and coverage gaps, table-driven with injected instants.
 *
 * Fixtures are built in C from small tables shaped like rosters.json (the config
 * loader is not needed), under Asia/Shanghai and Europe/Berlin. Each case names the
 * household, role and instant, and the exact workers, reason and reason text expected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "roster.h"
#include "util.h"

/* ---- fixture tables ---- */

struct cdef {
        const char *id, *leader;
};
struct wdef {
        const char *id;
        enum role role;
        const char *community;
};
struct sdef {
        const char *community;
        enum role role;
        const char *worker, *days, *from, *to;
};
struct odef {
        const char *community;
        enum role role;
        const char *worker, *from, *to;
};
struct hdef {
        const char *id, *community;
        const char *team[TEAM_ROLES];
};
struct fixture_def {
        const struct cdef *communities;
        const struct wdef *workers;
        const struct sdef *shifts;
        const struct odef *overrides;
        const struct hdef *households;
        const char *const *command;
};

static const char *const role_names[] = { "community", "medical", "police", "installer", "staff" };

static struct worker *fx_worker(struct config *c, const char *id)
{
        for (size_t i = 0; i < c->n_workers; i++)
                if (strcmp(c->workers[i].id, id) == 0)
                        return &c->workers[i];
        fail_msg("fixture: unknown worker %s", id);
        return NULL;
}

static struct community *fx_community(struct config *c, const char *id)
{
        for (size_t i = 0; i < c->n_communities; i++)
                if (strcmp(c->communities[i].id, id) == 0)
                        return &c->communities[i];
        fail_msg("fixture: unknown community %s", id);
        return NULL;
}

static struct household *fx_household(struct config *c, const char *id)
{
        for (size_t i = 0; i < c->n_households; i++)
                if (strcmp(c->households[i].id, id) == 0)
                        return &c->households[i];
        fail_msg("fixture: unknown household %s", id);
        return NULL;
}

static uint8_t fx_days(const char *days)
{
        static const char *const names[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };
        uint8_t mask = 0;

        if (strcmp(days, "*") == 0)
                return 0x7f;
        for (const char *p = days; *p;) {
                size_t k;
                for (k = 0; k < 7; k++)
                        if (strncmp(p, names[k], 3) == 0)
                                break;
                assert_true(k < 7);
                mask |= (uint8_t)(1u << k);
                p += 3;
                if (*p == ',')
                        p++;
        }
        return mask;
}

static int64_t t_(const char *rfc3339)
{
        int64_t usec;
        assert_int_equal(parse_rfc3339(rfc3339, &usec), 0);
        return usec;
}

static int fx_min(const char *hhmm)
{
        int m;
        assert_int_equal(parse_time_of_day(hhmm, true, &m), 0);
        return m;
}

static struct config *fx_build(const struct fixture_def *def)
{
        struct config *c = calloc(1, sizeof(*c));
        size_t n;

        assert_non_null(c);
        for (n = 0; def->communities[n].id; n++)
                ;
        c->n_communities = n;
        c->communities = calloc(n, sizeof(*c->communities));
        for (n = 0; def->workers[n].id; n++)
                ;
        c->n_workers = n;
        c->workers = calloc(n, sizeof(*c->workers));
        for (n = 0; def->households && def->households[n].id; n++)
                ;
        c->n_households = n;
        c->households = calloc(n ? n : 1, sizeof(*c->households));

        for (size_t i = 0; i < c->n_communities; i++) {
                c->communities[i].id = (char *)def->communities[i].id;
                c->communities[i].index = i;
        }
        for (size_t i = 0; i < c->n_workers; i++) {
                struct worker *w = &c->workers[i];
                w->id = (char *)def->workers[i].id;
                w->role = def->workers[i].role;
                w->community_id = (char *)def->workers[i].community;
                w->community = w->community_id ? fx_community(c, w->community_id) : NULL;
                w->index = i;
        }
        for (size_t i = 0; i < c->n_communities; i++) {
                struct community *cm = &c->communities[i];
                if (def->communities[i].leader)
                        cm->leader = fx_worker(c, def->communities[i].leader);
                for (const struct sdef *s = def->shifts; s && s->community; s++)
                        if (strcmp(s->community, cm->id) == 0)
                                cm->n_shifts++;
                for (const struct odef *o = def->overrides; o && o->community; o++)
                        if (strcmp(o->community, cm->id) == 0)
                                cm->n_overrides++;
                for (const struct hdef *h = def->households; h && h->id; h++)
                        if (strcmp(h->community, cm->id) == 0)
                                cm->n_households++;
                cm->shifts = calloc(cm->n_shifts + 1, sizeof(*cm->shifts));
                cm->overrides = calloc(cm->n_overrides + 1, sizeof(*cm->overrides));
                cm->households = calloc(cm->n_households + 1, sizeof(*cm->households));
                cm->n_shifts = cm->n_overrides = cm->n_households = 0;
                for (const struct sdef *s = def->shifts; s && s->community; s++)
                        if (strcmp(s->community, cm->id) == 0)
                                cm->shifts[cm->n_shifts++] = (struct shift){
                                        .role = s->role,
                                        .worker = fx_worker(c, s->worker),
                                        .days_mask = fx_days(s->days),
                                        .from_min = fx_min(s->from),
                                        .to_min = fx_min(s->to),
                                };
                for (const struct odef *o = def->overrides; o && o->community; o++)
                        if (strcmp(o->community, cm->id) == 0)
                                cm->overrides[cm->n_overrides++] = (struct roster_override){
                                        .role = o->role,
                                        .worker = fx_worker(c, o->worker),
                                        .from_usec = t_(o->from),
                                        .to_usec = t_(o->to),
                                };
        }
        for (size_t i = 0; i < c->n_households; i++) {
                struct household *h = &c->households[i];
                h->id = (char *)def->households[i].id;
                h->community_id = (char *)def->households[i].community;
                h->community = fx_community(c, h->community_id);
                for (int r = 0; r < TEAM_ROLES; r++)
                        h->team[r] = def->households[i].team[r]
                                         ? fx_worker(c, def->households[i].team[r])
                                         : NULL;
                h->index = i;
                h->community->households[h->community->n_households++] = h;
        }
        for (n = 0; def->command && def->command[n]; n++)
                ;
        c->n_command = n;
        c->command = calloc(n + 1, sizeof(*c->command));
        for (size_t i = 0; i < n; i++)
                c->command[i] = fx_worker(c, def->command[i]);
        return c;
}

static void fx_free(struct config *c)
{
        if (!c)
                return;
        for (size_t i = 0; i < c->n_communities; i++) {
                free(c->communities[i].shifts);
                free(c->communities[i].overrides);
                free(c->communities[i].households);
        }
        free(c->communities);
        free(c->workers);
        free(c->households);
        free(c->command);
        free(c);
}

/* ---- Shanghai: changhonglu (with a leader) and xinyuanli (no leader) ---- */

#define WEEKDAYS "mon,tue,wed,thu,fri"

static const struct cdef sh_communities[] = {
        { "changhonglu", "w-chl-00" },
        { "xinyuanli", NULL },
        { 0 },
};
static const struct wdef sh_workers[] = {
        { "w-chl-00", ROLE_STAFF, "changhonglu" },
        { "w-chl-01", ROLE_COMMUNITY, "changhonglu" },
        { "w-chl-02", ROLE_COMMUNITY, "changhonglu" },
        { "w-chl-03", ROLE_COMMUNITY, "changhonglu" },
        { "w-chl-04", ROLE_COMMUNITY, "changhonglu" },
        { "w-chl-07", ROLE_MEDICAL, "changhonglu" },
        { "w-chl-08", ROLE_MEDICAL, "changhonglu" },
        { "w-chl-09", ROLE_MEDICAL, "changhonglu" },
        { "w-chl-12", ROLE_POLICE, "changhonglu" },
        { "w-chl-13", ROLE_POLICE, "changhonglu" },
        { "w-xyl-01", ROLE_COMMUNITY, "xinyuanli" },
        { "w-xyl-07", ROLE_MEDICAL, "xinyuanli" },
        { "w-xyl-12", ROLE_POLICE, "xinyuanli" },
        { "w-xyl-13", ROLE_POLICE, "xinyuanli" },
        { "w-shq-cmd", ROLE_STAFF, NULL },
        { "w-shq-cmd2", ROLE_STAFF, NULL },
        { "w-shq-it", ROLE_STAFF, NULL },
        { 0 },
};
static const struct sdef sh_shifts[] = {
        { "changhonglu", ROLE_COMMUNITY, "w-chl-01", WEEKDAYS, "08:00", "20:00" },
        { "changhonglu", ROLE_COMMUNITY, "w-chl-02", "*", "20:00", "08:00" },
        { "changhonglu", ROLE_COMMUNITY, "w-chl-04", "sat,sun", "08:00", "20:00" },
        { "changhonglu", ROLE_MEDICAL, "w-chl-07", WEEKDAYS, "08:00", "17:00" },
        { "changhonglu", ROLE_MEDICAL, "w-chl-08", WEEKDAYS, "08:00", "12:00" },
        { "changhonglu", ROLE_MEDICAL, "w-chl-09", "*", "17:00", "08:00" },
        { "changhonglu", ROLE_POLICE, "w-chl-13", WEEKDAYS, "08:00", "20:00" },
        { "changhonglu", ROLE_POLICE, "w-chl-12", "fri", "20:00", "08:00" },
        { "xinyuanli", ROLE_COMMUNITY, "w-xyl-01", WEEKDAYS, "08:00", "20:00" },
        { "xinyuanli", ROLE_POLICE, "w-xyl-12", "sat", "08:00", "20:00" },
        { 0 },
};
static const struct odef sh_overrides[] = {
        { "changhonglu", ROLE_COMMUNITY, "w-chl-03", "2020-02-06T20:00:00+08:00",
          "2020-02-07T02:00:00+08:00" },
        { 0 },
};
static const struct hdef sh_households[] = {
        { "CHL-0001", "changhonglu", { "w-chl-01", "w-chl-07", "w-chl-12" } },
        { "CHL-0002", "changhonglu", { "w-chl-02", "w-chl-09", "w-chl-13" } },
        { "XYL-0001", "xinyuanli", { "w-xyl-01", "w-xyl-07", "w-xyl-12" } },
        { 0 },
};
static const char *const sh_command[] = { "w-shq-cmd", "w-shq-cmd2", NULL };
static const struct fixture_def shanghai = {
        sh_communities, sh_workers, sh_shifts, sh_overrides, sh_households, sh_command,
};

/* ---- Berlin: three 8-hour shifts a day, a shift in the DST hour, a 24-hour shift ---- */

static const struct cdef be_communities[] = { { "mitte", "w-b-00" }, { 0 } };
static const struct wdef be_workers[] = {
        { "w-b-00", ROLE_STAFF, "mitte" },     { "w-b-01", ROLE_COMMUNITY, "mitte" },
        { "w-b-02", ROLE_COMMUNITY, "mitte" }, { "w-b-03", ROLE_COMMUNITY, "mitte" },
        { "w-b-04", ROLE_POLICE, "mitte" },    { "w-b-05", ROLE_MEDICAL, "mitte" },
        { "w-b-cmd", ROLE_STAFF, NULL },       { 0 },
};
static const struct sdef be_shifts[] = {
        { "mitte", ROLE_COMMUNITY, "w-b-01", "*", "22:00", "06:00" },
        { "mitte", ROLE_COMMUNITY, "w-b-02", "*", "06:00", "14:00" },
        { "mitte", ROLE_COMMUNITY, "w-b-03", "*", "14:00", "22:00" },
        { "mitte", ROLE_POLICE, "w-b-04", "sun", "02:30", "05:00" },
        { "mitte", ROLE_MEDICAL, "w-b-05", "sat", "12:00", "12:00" },
        { 0 },
};
static const struct hdef be_households[] = {
        { "BER-0001", "mitte", { "w-b-01", "w-b-05", "w-b-04" } },
        { 0 },
};
static const char *const be_command[] = { "w-b-cmd", NULL };
static const struct fixture_def berlin = {
        be_communities, be_workers, be_shifts, NULL, be_households, be_command,
};

/* ---- resolution cases ---- */

struct resolve_case {
        const char *name;
        const char *at;
        const char *household;
        enum role role;
        enum roster_reason reason;
        const char *workers; /* comma-separated, in answer order */
        const char *text;
};

static void check_resolve(struct config *c, const struct resolve_case *tc)
{
        struct roster_answer a;
        char ids[512] = "";

        assert_int_equal(
            roster_resolve(c, fx_household(c, tc->household), tc->role, t_(tc->at), &a), 0);
        for (size_t i = 0; i < a.n; i++) {
                strcat(ids, i ? "," : "");
                strcat(ids, a.workers[i]->id);
        }
        if (a.reason != tc->reason || strcmp(ids, tc->workers) != 0 ||
            strcmp(a.text, tc->text) != 0)
                fail_msg("%s (%s %s %s):\n  got      %s [%s] \"%s\"\n  expected %s [%s] \"%s\"",
                         tc->name, tc->household, role_names[tc->role], tc->at,
                         roster_reason_to_string(a.reason), ids, a.text,
                         roster_reason_to_string(tc->reason), tc->workers, tc->text);
        assert_false(a.truncated);
}

static void run_resolve_cases(const struct fixture_def *def, const char *tz,
                              const struct resolve_case *cases, size_t n)
{
        struct config *c;

        assert_int_equal(timezone_set(tz), 0);
        c = fx_build(def);
        for (size_t i = 0; i < n; i++)
                check_resolve(c, &cases[i]);
        fx_free(c);
}

#define OVR "on override 2020-02-06 20:00 – 2020-02-07 02:00"

static const struct resolve_case shanghai_cases[] = {
        { "day shift", "2020-02-05T10:00:00+08:00", "CHL-0001", ROLE_COMMUNITY, ROSTER_TEAM,
          "w-chl-01", "team member w-chl-01 on shift" },
        { "day shift, last second", "2020-02-06T19:59:59+08:00", "CHL-0001", ROLE_COMMUNITY,
          ROSTER_TEAM, "w-chl-01", "team member w-chl-01 on shift" },
        { "day shift ended: covered by the night shift", "2020-02-05T20:00:00+08:00", "CHL-0001",
          ROLE_COMMUNITY, ROSTER_COVER, "w-chl-02",
          "team member w-chl-01 off duty; covered by w-chl-02 on shift" },
        { "weekday-only shift on Saturday", "2020-02-08T10:00:00+08:00", "CHL-0001", ROLE_COMMUNITY,
          ROSTER_COVER, "w-chl-04", "team member w-chl-01 off duty; covered by w-chl-04 on shift" },
        { "\"*\" night shift, evening", "2020-02-08T23:00:00+08:00", "CHL-0002", ROLE_COMMUNITY,
          ROSTER_TEAM, "w-chl-02", "team member w-chl-02 on shift" },
        { "\"*\" night shift, morning after", "2020-02-09T07:59:59+08:00", "CHL-0002",
          ROLE_COMMUNITY, ROSTER_TEAM, "w-chl-02", "team member w-chl-02 on shift" },
        { "\"*\" night shift ended", "2020-02-09T08:00:00+08:00", "CHL-0002", ROLE_COMMUNITY,
          ROSTER_COVER, "w-chl-04", "team member w-chl-02 off duty; covered by w-chl-04 on shift" },
        { "override begins (inclusive)", "2020-02-06T20:00:00+08:00", "CHL-0001", ROLE_COMMUNITY,
          ROSTER_COVER, "w-chl-03", "team member w-chl-01 off duty; covered by w-chl-03 " OVR },
        { "override replaces the role's shifts", "2020-02-06T23:00:00+08:00", "CHL-0002",
          ROLE_COMMUNITY, ROSTER_COVER, "w-chl-03",
          "team member w-chl-02 off duty; covered by w-chl-03 " OVR },
        { "override, last second", "2020-02-07T01:59:59+08:00", "CHL-0002", ROLE_COMMUNITY,
          ROSTER_COVER, "w-chl-03", "team member w-chl-02 off duty; covered by w-chl-03 " OVR },
        { "override ends (exclusive): the shift is back", "2020-02-07T02:00:00+08:00", "CHL-0002",
          ROLE_COMMUNITY, ROSTER_TEAM, "w-chl-02", "team member w-chl-02 on shift" },
        { "override replaces that role only", "2020-02-06T21:00:00+08:00", "CHL-0001", ROLE_MEDICAL,
          ROSTER_COVER, "w-chl-09", "team member w-chl-07 off duty; covered by w-chl-09 on shift" },
        { "several on duty at once", "2020-02-05T10:00:00+08:00", "CHL-0002", ROLE_MEDICAL,
          ROSTER_COVER, "w-chl-07,w-chl-08",
          "team member w-chl-09 off duty; covered by w-chl-07 on shift, w-chl-08 on shift" },
        { "overnight shift, evening of the start day", "2020-02-07T20:00:00+08:00", "CHL-0001",
          ROLE_POLICE, ROSTER_TEAM, "w-chl-12", "team member w-chl-12 on shift" },
        { "overnight shift, morning after", "2020-02-08T07:59:59+08:00", "CHL-0001", ROLE_POLICE,
          ROSTER_TEAM, "w-chl-12", "team member w-chl-12 on shift" },
        { "overnight shift ended: nobody, leader", "2020-02-08T08:00:00+08:00", "CHL-0001",
          ROLE_POLICE, ROSTER_LEADER, "w-chl-00",
          "nobody on duty for police; community leader w-chl-00" },
        { "morning after a day not in days (thu)", "2020-02-07T07:00:00+08:00", "CHL-0001",
          ROLE_POLICE, ROSTER_LEADER, "w-chl-00",
          "nobody on duty for police; community leader w-chl-00" },
        { "morning after a day not in days (sat)", "2020-02-09T07:00:00+08:00", "CHL-0001",
          ROLE_POLICE, ROSTER_LEADER, "w-chl-00",
          "nobody on duty for police; community leader w-chl-00" },
        { "evening before the start day", "2020-02-06T21:00:00+08:00", "CHL-0001", ROLE_POLICE,
          ROSTER_LEADER, "w-chl-00", "nobody on duty for police; community leader w-chl-00" },
        { "off-duty team member covered by the roster", "2020-02-07T12:00:00+08:00", "CHL-0001",
          ROLE_POLICE, ROSTER_COVER, "w-chl-13",
          "team member w-chl-12 off duty; covered by w-chl-13 on shift" },
        { "no leader: command", "2020-02-05T22:00:00+08:00", "XYL-0001", ROLE_COMMUNITY,
          ROSTER_COMMAND, "w-shq-cmd,w-shq-cmd2",
          "nobody on duty for community, no community leader; command w-shq-cmd, w-shq-cmd2" },
        { "team member keeps no roster", "2020-02-05T03:00:00+08:00", "XYL-0001", ROLE_MEDICAL,
          ROSTER_TEAM, "w-xyl-07", "team member w-xyl-07 keeps no roster: always on duty" },
        { "covered by a worker who keeps no roster", "2020-02-05T10:00:00+08:00", "XYL-0001",
          ROLE_POLICE, ROSTER_COVER, "w-xyl-13",
          "team member w-xyl-12 off duty; covered by w-xyl-13 (keeps no roster: always on duty)" },
        { "saturday-only shift on saturday", "2020-02-08T10:00:00+08:00", "XYL-0001", ROLE_POLICE,
          ROSTER_TEAM, "w-xyl-12", "team member w-xyl-12 on shift" },
};

static void test_resolve_shanghai(void **state)
{
        run_resolve_cases(&shanghai, "Asia/Shanghai", shanghai_cases, ELEMENTSOF(shanghai_cases));
}

/* 2020-03-29: 02:00 CET -> 03:00 CEST at 01:00Z. 2020-10-25: 03:00 CEST -> 02:00 CET at
 * 01:00Z. Instants in UTC so that the expected real durations are visible. */
static const struct resolve_case berlin_cases[] = {
        { "spring: before the night shift", "2020-03-28T20:59:59Z", "BER-0001", ROLE_COMMUNITY,
          ROSTER_COVER, "w-b-03", "team member w-b-01 off duty; covered by w-b-03 on shift" },
        { "spring: night shift starts 22:00 CET", "2020-03-28T21:00:00Z", "BER-0001",
          ROLE_COMMUNITY, ROSTER_TEAM, "w-b-01", "team member w-b-01 on shift" },
        { "spring: 22:00-06:00 is 7 h, last second", "2020-03-29T03:59:59Z", "BER-0001",
          ROLE_COMMUNITY, ROSTER_TEAM, "w-b-01", "team member w-b-01 on shift" },
        { "spring: 06:00 CEST", "2020-03-29T04:00:00Z", "BER-0001", ROLE_COMMUNITY, ROSTER_COVER,
          "w-b-02", "team member w-b-01 off duty; covered by w-b-02 on shift" },
        { "spring: 01:59:59 CET, before 02:30", "2020-03-29T00:59:59Z", "BER-0001", ROLE_POLICE,
          ROSTER_LEADER, "w-b-00", "nobody on duty for police; community leader w-b-00" },
        { "spring: 02:30 does not exist, starts at 03:00 CEST", "2020-03-29T01:00:00Z", "BER-0001",
          ROLE_POLICE, ROSTER_TEAM, "w-b-04", "team member w-b-04 on shift" },
        { "spring: until 05:00 CEST", "2020-03-29T02:59:59Z", "BER-0001", ROLE_POLICE, ROSTER_TEAM,
          "w-b-04", "team member w-b-04 on shift" },
        { "spring: 05:00 CEST", "2020-03-29T03:00:00Z", "BER-0001", ROLE_POLICE, ROSTER_LEADER,
          "w-b-00", "nobody on duty for police; community leader w-b-00" },
        { "spring: 24 h shift is 23 h, last second", "2020-03-29T09:59:59Z", "BER-0001",
          ROLE_MEDICAL, ROSTER_TEAM, "w-b-05", "team member w-b-05 on shift" },
        { "spring: 24 h shift ends 12:00 CEST", "2020-03-29T10:00:00Z", "BER-0001", ROLE_MEDICAL,
          ROSTER_LEADER, "w-b-00", "nobody on duty for medical; community leader w-b-00" },
        { "autumn: night shift starts 22:00 CEST", "2020-10-24T20:00:00Z", "BER-0001",
          ROLE_COMMUNITY, ROSTER_TEAM, "w-b-01", "team member w-b-01 on shift" },
        { "autumn: 22:00-06:00 is 9 h, last second", "2020-10-25T04:59:59Z", "BER-0001",
          ROLE_COMMUNITY, ROSTER_TEAM, "w-b-01", "team member w-b-01 on shift" },
        { "autumn: 06:00 CET", "2020-10-25T05:00:00Z", "BER-0001", ROLE_COMMUNITY, ROSTER_COVER,
          "w-b-02", "team member w-b-01 off duty; covered by w-b-02 on shift" },
        { "autumn: 02:29:59 CEST", "2020-10-25T00:29:59Z", "BER-0001", ROLE_POLICE, ROSTER_LEADER,
          "w-b-00", "nobody on duty for police; community leader w-b-00" },
        { "autumn: 02:30 CEST, first occurrence", "2020-10-25T00:30:00Z", "BER-0001", ROLE_POLICE,
          ROSTER_TEAM, "w-b-04", "team member w-b-04 on shift" },
        { "autumn: 02:15 CET, the repeated hour", "2020-10-25T01:15:00Z", "BER-0001", ROLE_POLICE,
          ROSTER_TEAM, "w-b-04", "team member w-b-04 on shift" },
        { "autumn: until 05:00 CET", "2020-10-25T03:59:59Z", "BER-0001", ROLE_POLICE, ROSTER_TEAM,
          "w-b-04", "team member w-b-04 on shift" },
        { "autumn: 05:00 CET", "2020-10-25T04:00:00Z", "BER-0001", ROLE_POLICE, ROSTER_LEADER,
          "w-b-00", "nobody on duty for police; community leader w-b-00" },
        { "autumn: 24 h shift starts 12:00 CEST", "2020-10-24T10:00:00Z", "BER-0001", ROLE_MEDICAL,
          ROSTER_TEAM, "w-b-05", "team member w-b-05 on shift" },
        { "autumn: before 12:00 CEST", "2020-10-24T09:59:59Z", "BER-0001", ROLE_MEDICAL,
          ROSTER_LEADER, "w-b-00", "nobody on duty for medical; community leader w-b-00" },
        { "autumn: 24 h shift is 25 h, last second", "2020-10-25T10:59:59Z", "BER-0001",
          ROLE_MEDICAL, ROSTER_TEAM, "w-b-05", "team member w-b-05 on shift" },
        { "autumn: 24 h shift ends 12:00 CET", "2020-10-25T11:00:00Z", "BER-0001", ROLE_MEDICAL,
          ROSTER_LEADER, "w-b-00", "nobody on duty for medical; community leader w-b-00" },
};

static void test_resolve_berlin(void **state)
{
        run_resolve_cases(&berlin, "Europe/Berlin", berlin_cases, ELEMENTSOF(berlin_cases));
}

/* The same rosters read in another zone are other instants: wall clock, not UTC. */
static void test_resolve_zone_is_process_tz(void **state)
{
        static const struct resolve_case utc_cases[] = {
                /* 10:00 UTC = 18:00 Shanghai, but in UTC it is 10:00: the day shift. */
                { "UTC day shift", "2020-02-05T10:00:00Z", "CHL-0001", ROLE_COMMUNITY, ROSTER_TEAM,
                  "w-chl-01", "team member w-chl-01 on shift" },
                { "UTC: 21:00 in Shanghai is 13:00", "2020-02-05T21:00:00+08:00", "CHL-0001",
                  ROLE_COMMUNITY, ROSTER_TEAM, "w-chl-01", "team member w-chl-01 on shift" },
        };
        static const struct resolve_case sh_cases[] = {
                { "Shanghai evening", "2020-02-05T21:00:00+08:00", "CHL-0001", ROLE_COMMUNITY,
                  ROSTER_COVER, "w-chl-02",
                  "team member w-chl-01 off duty; covered by w-chl-02 on shift" },
        };
        run_resolve_cases(&shanghai, "UTC", utc_cases, ELEMENTSOF(utc_cases));
        run_resolve_cases(&shanghai, "Asia/Shanghai", sh_cases, ELEMENTSOF(sh_cases));
}

static void test_resolve_nobody(void **state)
{
        static const struct resolve_case no_command[] = {
                { "no leader, no command", "2020-02-05T22:00:00+08:00", "XYL-0001", ROLE_COMMUNITY,
                  ROSTER_NOBODY, "",
                  "nobody on duty for community, no community leader, no command" },
        };
        struct config *c;

        assert_int_equal(timezone_set("Asia/Shanghai"), 0);
        c = fx_build(&shanghai);
        c->n_command = 0;
        check_resolve(c, &no_command[0]);
        fx_free(c);
}

static void test_resolve_no_team_member(void **state)
{
        struct roster_answer a;
        struct config *c;
        struct household *h;

        assert_int_equal(timezone_set("Asia/Shanghai"), 0);
        c = fx_build(&shanghai);
        h = fx_household(c, "CHL-0001");
        h->team[ROLE_MEDICAL] = NULL;
        assert_int_equal(roster_resolve(c, h, ROLE_MEDICAL, t_("2020-02-05T09:00:00+08:00"), &a),
                         0);
        assert_int_equal(a.reason, ROSTER_COVER);
        assert_int_equal(a.n, 2);
        assert_string_equal(
            a.text, "no medical team member; covered by w-chl-07 on shift, w-chl-08 on shift");
        fx_free(c);
}

static void test_resolve_invalid(void **state)
{
        struct roster_answer a;
        struct config *c = fx_build(&shanghai);
        struct household *h = fx_household(c, "CHL-0001");

        assert_int_equal(roster_resolve(c, h, ROLE_INSTALLER, 0, &a), -EINVAL);
        assert_int_equal(roster_resolve(c, h, ROLE_INVALID, 0, &a), -EINVAL);
        assert_int_equal(roster_resolve(c, NULL, ROLE_POLICE, 0, &a), -EINVAL);
        assert_int_equal(roster_resolve(NULL, h, ROLE_POLICE, 0, &a), -EINVAL);
        assert_int_equal(roster_on_duty(c, NULL, ROLE_POLICE, 0, &a), -EINVAL);
        fx_free(c);
}

static void test_worker_on_duty(void **state)
{
        static const struct {
                const char *worker, *at;
                enum roster_duty_kind kind;
        } cases[] = {
                { "w-chl-01", "2020-02-05T10:00:00+08:00", ROSTER_DUTY_SHIFT },
                { "w-chl-01", "2020-02-05T07:59:59+08:00", ROSTER_DUTY_OFF },
                { "w-chl-03", "2020-02-05T10:00:00+08:00", ROSTER_DUTY_OFF }, /* override only */
                { "w-chl-03", "2020-02-06T21:00:00+08:00", ROSTER_DUTY_OVERRIDE },
                { "w-chl-02", "2020-02-06T21:00:00+08:00", ROSTER_DUTY_OFF }, /* replaced */
                { "w-chl-02", "2020-02-05T21:00:00+08:00", ROSTER_DUTY_SHIFT },
                { "w-shq-it", "2020-02-05T03:00:00+08:00", ROSTER_DUTY_NO_ROSTER },
                { "w-chl-00", "2020-02-05T03:00:00+08:00", ROSTER_DUTY_NO_ROSTER },
        };
        struct config *c;

        assert_int_equal(timezone_set("Asia/Shanghai"), 0);
        c = fx_build(&shanghai);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct worker *w = fx_worker(c, cases[i].worker);
                struct roster_duty d;
                int64_t at = t_(cases[i].at);

                assert_int_equal(roster_worker_duty(c, w, at, &d), 0);
                if (d.kind != cases[i].kind)
                        fail_msg("%s at %s: kind %d, expected %d", cases[i].worker, cases[i].at,
                                 (int)d.kind, (int)cases[i].kind);
                assert_int_equal(roster_worker_on_duty(c, w, at), d.kind != ROSTER_DUTY_OFF);
                assert_int_equal(roster_worker_keeps_roster(c, w), d.kind != ROSTER_DUTY_NO_ROSTER);
                if (d.kind == ROSTER_DUTY_SHIFT)
                        assert_ptr_equal(d.shift->worker, w);
                if (d.kind == ROSTER_DUTY_OVERRIDE)
                        assert_ptr_equal(d.override->worker, w);
        }
        fx_free(c);
}

static void test_on_duty_and_helpers(void **state)
{
        struct roster_answer a;
        struct config *c;
        size_t n;
        struct worker *const *cmd;

        assert_int_equal(timezone_set("Asia/Shanghai"), 0);
        c = fx_build(&shanghai);
        assert_int_equal(roster_on_duty(c, fx_community(c, "changhonglu"), ROLE_POLICE,
                                        t_("2020-02-07T12:00:00+08:00"), &a),
                         0);
        assert_int_equal(a.reason, ROSTER_COVER);
        assert_int_equal(a.n, 1);
        assert_string_equal(a.workers[0]->id, "w-chl-13");
        assert_string_equal(a.text, "on duty for police in changhonglu: w-chl-13 on shift");
        assert_int_equal(roster_on_duty(c, fx_community(c, "changhonglu"), ROLE_POLICE,
                                        t_("2020-02-09T12:00:00+08:00"), &a),
                         0);
        assert_int_equal(a.reason, ROSTER_NOBODY);
        assert_int_equal(a.n, 0);
        assert_string_equal(a.text, "nobody on duty for police in changhonglu");

        assert_string_equal(roster_leader(fx_community(c, "changhonglu"))->id, "w-chl-00");
        assert_null(roster_leader(fx_community(c, "xinyuanli")));
        assert_null(roster_leader(NULL));
        cmd = roster_command(c, &n);
        assert_int_equal(n, 2);
        assert_string_equal(cmd[0]->id, "w-shq-cmd");
        assert_string_equal(cmd[1]->id, "w-shq-cmd2");
        assert_string_equal(roster_reason_to_string(ROSTER_LEADER), "leader");
        fx_free(c);
}

/* More qualified workers than ROSTER_MAX: the answer is cut and says so. */
static void test_truncated(void **state)
{
        struct config *c;
        struct community *cm;
        struct roster_answer a;

        assert_int_equal(timezone_set("Asia/Shanghai"), 0);
        c = fx_build(&shanghai);
        cm = fx_community(c, "changhonglu");
        /* Every worker of the fixture on one "*" 00:00-00:00 police shift. */
        cm->shifts = realloc(cm->shifts, (cm->n_shifts + c->n_workers) * sizeof(*cm->shifts));
        for (size_t i = 0; i < c->n_workers; i++)
                cm->shifts[cm->n_shifts++] =
                    (struct shift){ ROLE_POLICE, &c->workers[i], 0x7f, 0, 0 };
        assert_true(c->n_workers > ROSTER_MAX);
        assert_int_equal(roster_on_duty(c, cm, ROLE_POLICE, t_("2020-02-09T03:00:00+08:00"), &a),
                         0);
        assert_int_equal(a.n, ROSTER_MAX);
        assert_true(a.truncated);
        assert_non_null(strstr(a.text, ", and more"));
        fx_free(c);
}

/* ---- brute-force reference for the DST rule ---- */

static int64_t ref_wall(int64_t t)
{
        time_t tt = (time_t)t;
        struct tm tm;

        assert_non_null(localtime_r(&tt, &tm));
        return t + tm.tm_gmtoff;
}

/* "The first instant at which the local clock reads `wall` or later", by scanning in
 * 15-minute steps: exact when walls and transitions are on quarter hours (as here). */
static int64_t ref_first_reading(int64_t wall)
{
        for (int64_t t = wall - 15 * 3600;; t += 900)
                if (ref_wall(t) >= wall)
                        return t;
}

static bool ref_covers(const struct shift *s, int64_t at_usec)
{
        int64_t at = at_usec / USEC_PER_SEC, day = ref_wall(at) / 86400;

        for (int64_t d = day - 2; d <= day + 1; d++) {
                int64_t from, to;
                if (!(s->days_mask & (1u << ((d + 3) % 7))))
                        continue;
                from = ref_first_reading(d * 86400 + s->from_min * 60) * USEC_PER_SEC;
                to = ref_first_reading((d + (s->to_min <= s->from_min)) * 86400 + s->to_min * 60) *
                     USEC_PER_SEC;
                if (from <= at_usec && at_usec < to)
                        return true;
        }
        return false;
}

/* Random shifts and instants around every 2020 transition of zones with a one-hour DST at
 * 02:00 (Berlin), at midnight (Santiago), of 30 minutes (Lord Howe), and none (Shanghai). */
static void test_against_reference(void **state)
{
        static const char *const zones[] = { "Europe/Berlin", "America/Santiago",
                                             "Australia/Lord_Howe", "Asia/Shanghai" };
        static const struct cdef communities[] = { { "c", NULL }, { 0 } };
        static const struct wdef workers[] = { { "w", ROLE_POLICE, "c" }, { 0 } };
        static const struct sdef shifts[] = { { "c", ROLE_POLICE, "w", "*", "00:00", "00:00" },
                                              { 0 } };
        static const struct fixture_def def = { communities, workers, shifts, NULL, NULL, NULL };
        unsigned seed = 20200206;
        int checked = 0, on = 0;

        for (size_t z = 0; z < ELEMENTSOF(zones); z++) {
                int64_t transitions[16], year = t_("2020-01-01T00:00:00Z") / USEC_PER_SEC;
                size_t n_transitions = 0;
                struct config *c;
                struct shift *s;

                assert_int_equal(timezone_set(zones[z]), 0);
                for (int64_t t = year; t < year + 366 * 86400; t += 3600)
                        if (ref_wall(t + 3600) - (t + 3600) != ref_wall(t) - t &&
                            n_transitions < ELEMENTSOF(transitions))
                                transitions[n_transitions++] = t;
                if (n_transitions == 0)
                        transitions[n_transitions++] = year + 40 * 86400;
                c = fx_build(&def);
                s = &c->communities[0].shifts[0];
                for (int i = 0; i < 150; i++) {
                        int64_t base = transitions[(size_t)rand_r(&seed) % n_transitions];
                        int64_t at_usec = (base - 36 * 3600 + (rand_r(&seed) % (72 * 60)) * 60 +
                                           rand_r(&seed) % 60) *
                                          USEC_PER_SEC;
                        bool got, want;

                        s->days_mask = (uint8_t)(rand_r(&seed) % 128);
                        s->from_min = (rand_r(&seed) % 96) * 15;
                        s->to_min = (rand_r(&seed) % 97) * 15;
                        got = roster_worker_on_duty(c, fx_worker(c, "w"), at_usec);
                        want = ref_covers(s, at_usec);
                        if (got != want) {
                                char buf[40];
                                fail_msg("%s: days %#x %d-%d at %s: got %d, want %d", zones[z],
                                         s->days_mask, s->from_min, s->to_min,
                                         format_rfc3339(at_usec, buf), got, want);
                        }
                        checked++;
                        on += got;
                }
                fx_free(c);
        }
        assert_int_equal(checked, 600);
        assert_true(on > 100 && on < 500); /* both outcomes exercised */
}

/* ---- gaps ---- */

struct gap_buf {
        char text[2048];
        int calls, stop_after;
};

static int gap_collect(const struct community *cm, enum role role, int64_t from_usec,
                       int64_t to_usec, void *userdata)
{
        struct gap_buf *b = userdata;
        char f[40], t[40];
        size_t len = strlen(b->text);

        assert_true(from_usec < to_usec);
        snprintf(b->text + len, sizeof(b->text) - len, "%s %s %s %s\n", cm->id, role_names[role],
                 format_rfc3339(from_usec, f), format_rfc3339(to_usec, t));
        if (b->stop_after && ++b->calls >= b->stop_after)
                return -ECANCELED;
        return 0;
}

static int gap_count(const struct community *cm, enum role role, int64_t from_usec, int64_t to_usec,
                     void *userdata)
{
        struct gap_buf *b = userdata;

        assert_int_equal(role, ROLE_COMMUNITY);
        assert_true(from_usec < to_usec);
        b->calls++;
        return 0;
}

struct gap_case {
        const char *name, *tz, *community, *from;
        int days;
        const char *expected;
};

static const struct gap_case gap_cases[] = {
        { "week: police merged across midnight and over the weekend, clipped at the edges",
          "Asia/Shanghai", "changhonglu", "2020-02-05T00:00:00+08:00", 7,
          "changhonglu medical 2020-02-08T08:00:00+08:00 2020-02-08T17:00:00+08:00\n"
          "changhonglu medical 2020-02-09T08:00:00+08:00 2020-02-09T17:00:00+08:00\n"
          "changhonglu police 2020-02-05T00:00:00+08:00 2020-02-05T08:00:00+08:00\n"
          "changhonglu police 2020-02-05T20:00:00+08:00 2020-02-06T08:00:00+08:00\n"
          "changhonglu police 2020-02-06T20:00:00+08:00 2020-02-07T08:00:00+08:00\n"
          "changhonglu police 2020-02-08T08:00:00+08:00 2020-02-10T08:00:00+08:00\n"
          "changhonglu police 2020-02-10T20:00:00+08:00 2020-02-11T08:00:00+08:00\n"
          "changhonglu police 2020-02-11T20:00:00+08:00 2020-02-12T00:00:00+08:00\n" },
        { "window starting and ending inside gaps", "Asia/Shanghai", "changhonglu",
          "2020-02-05T03:00:00+08:00", 1,
          "changhonglu police 2020-02-05T03:00:00+08:00 2020-02-05T08:00:00+08:00\n"
          "changhonglu police 2020-02-05T20:00:00+08:00 2020-02-06T03:00:00+08:00\n" },
        { "window inside a covered stretch", "Asia/Shanghai", "changhonglu",
          "2020-02-07T20:30:00+08:00", 1,
          "changhonglu medical 2020-02-08T08:00:00+08:00 2020-02-08T17:00:00+08:00\n"
          "changhonglu police 2020-02-08T08:00:00+08:00 2020-02-08T20:30:00+08:00\n" },
        { "no-roster team members and workers cover their roles", "Asia/Shanghai", "xinyuanli",
          "2020-02-05T00:00:00+08:00", 7,
          "xinyuanli community 2020-02-05T00:00:00+08:00 2020-02-05T08:00:00+08:00\n"
          "xinyuanli community 2020-02-05T20:00:00+08:00 2020-02-06T08:00:00+08:00\n"
          "xinyuanli community 2020-02-06T20:00:00+08:00 2020-02-07T08:00:00+08:00\n"
          "xinyuanli community 2020-02-07T20:00:00+08:00 2020-02-10T08:00:00+08:00\n"
          "xinyuanli community 2020-02-10T20:00:00+08:00 2020-02-11T08:00:00+08:00\n"
          "xinyuanli community 2020-02-11T20:00:00+08:00 2020-02-12T00:00:00+08:00\n" },
        { "Berlin spring: three shifts still tile the 23 h day", "Europe/Berlin", "mitte",
          "2020-03-28T00:00:00+01:00", 2,
          "mitte medical 2020-03-28T00:00:00+01:00 2020-03-28T12:00:00+01:00\n"
          "mitte medical 2020-03-29T12:00:00+02:00 2020-03-30T01:00:00+02:00\n"
          "mitte police 2020-03-28T00:00:00+01:00 2020-03-29T03:00:00+02:00\n"
          "mitte police 2020-03-29T05:00:00+02:00 2020-03-30T01:00:00+02:00\n" },
        { "Berlin autumn: three shifts still tile the 25 h day", "Europe/Berlin", "mitte",
          "2020-10-24T00:00:00+02:00", 2,
          "mitte medical 2020-10-24T00:00:00+02:00 2020-10-24T12:00:00+02:00\n"
          "mitte medical 2020-10-25T12:00:00+01:00 2020-10-25T23:00:00+01:00\n"
          "mitte police 2020-10-24T00:00:00+02:00 2020-10-25T02:30:00+02:00\n"
          "mitte police 2020-10-25T05:00:00+01:00 2020-10-25T23:00:00+01:00\n" },
};

static void test_gaps(void **state)
{
        for (size_t i = 0; i < ELEMENTSOF(gap_cases); i++) {
                const struct gap_case *tc = &gap_cases[i];
                const struct fixture_def *def =
                    strcmp(tc->tz, "Europe/Berlin") == 0 ? &berlin : &shanghai;
                struct gap_buf b = { .text = "" };
                struct config *c;

                assert_int_equal(timezone_set(tc->tz), 0);
                c = fx_build(def);
                assert_int_equal(roster_gaps(c, fx_community(c, tc->community), t_(tc->from),
                                             tc->days, gap_collect, &b),
                                 0);
                if (strcmp(b.text, tc->expected) != 0)
                        fail_msg("%s:\ngot:\n%sexpected:\n%s", tc->name, b.text, tc->expected);
                fx_free(c);
        }
}

static void test_gaps_errors(void **state)
{
        struct gap_buf b = { .text = "", .stop_after = 2 };
        struct config *c;
        struct community *cm;

        assert_int_equal(timezone_set("Asia/Shanghai"), 0);
        c = fx_build(&shanghai);
        cm = fx_community(c, "changhonglu");
        assert_int_equal(roster_gaps(c, cm, t_("2020-02-05T00:00:00+08:00"), 7, gap_collect, &b),
                         -ECANCELED);
        assert_int_equal(b.calls, 2);
        assert_int_equal(roster_gaps(c, cm, 0, 0, gap_collect, &b), -EINVAL);
        assert_int_equal(roster_gaps(c, cm, 0, ROSTER_GAPS_DAYS_MAX + 1, gap_collect, &b), -EINVAL);
        assert_int_equal(roster_gaps(c, cm, 0, 1, NULL, &b), -EINVAL);
        /* 52 weeks of a weekday-only roster: four nights and one weekend a week, plus the
         * Monday morning clipped at the window start. */
        b = (struct gap_buf){ .text = "" };
        assert_int_equal(roster_gaps(c, fx_community(c, "xinyuanli"),
                                     t_("2020-02-03T00:00:00+08:00"), 364, gap_count, &b),
                         0);
        assert_int_equal(b.calls, 52 * 5 + 1);
        fx_free(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_resolve_shanghai),
                cmocka_unit_test(test_resolve_berlin),
                cmocka_unit_test(test_resolve_zone_is_process_tz),
                cmocka_unit_test(test_resolve_nobody),
                cmocka_unit_test(test_resolve_no_team_member),
                cmocka_unit_test(test_resolve_invalid),
                cmocka_unit_test(test_worker_on_duty),
                cmocka_unit_test(test_on_duty_and_helpers),
                cmocka_unit_test(test_truncated),
                cmocka_unit_test(test_against_reference),
                cmocka_unit_test(test_gaps),
                cmocka_unit_test(test_gaps_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* sim-day.c: a simulated day of a district (issue 16): N households in communities of 30,
 * each with a door contact, a doorbell and a door camera (native devices), a team of three
 * and a medical visit at 09:00 and 15:00 (+-30m). Their day, per household, in slots that
 * never overlap (times are drawn from the household's own seeded stream):
 *   07:00  a pre-reported garbage run (70 %)         08:00  a courier: ring, hand-off (50 %)
 *   09:00  the medical visit (all)                   10:00  a worker's check-in, opening (40 %)
 *   11:00  a second pre-report (40 %)                12:00  a third (30 %)
 *   14:00  a second courier (30 %)                   15:00  the second visit (all)
 *   16:00  a hospital pass 16:00-18:00, out and back (10 %)
 * and the openings that must alert: 5 % report four times (the fourth opening, at 13:00,
 * is too_many_openings), 3 % open the door at 19:00 with nothing to explain it
 * (door_open_unexpected), 2 % leave at 20:00 and the camera sees them go (person_left).
 * That list is the clean day's alerts; a day with noise must end with exactly the same.
 *
 * Noise: a chattering contact (o->chatter of the openings) reports a 0.1 s blip just before
 * the opening (half of them within 0.25 s of it, half 0.5 s to 3 s before) or bounces open
 * for a tenth of a second right after the close; o->repeat of the device messages are
 * delivered twice (a few messages later, the same id), and as many closes are reported
 * again a minute or two later (a sensor repeating its state, with a new id).
 *
 * Every message carries its device or command time (`ts`); they are published in time
 * order, a redelivery after its original. Pure: no I/O, no clock. */
#include "sim-day.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "topic.h"
#include "util.h"

#define PREFIX        "doorwatch/v1"
#define PER_COMMUNITY 30
#define H(hh, mm)     ((hh)*3600.0 + (mm)*60.0)

/* One message before sorting: its time, then the order it was made in. */
struct pending {
        double t;
        size_t seq;
        char *topic;
        char *payload;
};

struct gen {
        const struct sim_day_opts *o;
        struct sim_day *d;
        struct pending *p;
        size_t n, cap;
        uint64_t rng;   /* the household's day */
        uint64_t noise; /* its noise: the same day with or without it */
        const char *hid;
        int hindex;
        unsigned next_event;
        unsigned next_command;
};

/* splitmix64: a small, well-mixed stream. */
static uint64_t next_u64(uint64_t *state)
{
        uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        return z ^ (z >> 31);
}

static double draw(uint64_t *state, double lo, double hi)
{
        return lo + (hi - lo) * (double)(next_u64(state) >> 11) / (double)(UINT64_C(1) << 53);
}

/* The day's draws. */
static double uniform(struct gen *g, double lo, double hi)
{
        return draw(&g->rng, lo, hi);
}

static bool chance(struct gen *g, double p)
{
        return uniform(g, 0, 1) < p;
}

/* The noise's draws. */
static double noise_uniform(struct gen *g, double lo, double hi)
{
        return draw(&g->noise, lo, hi);
}

static bool noise_chance(struct gen *g, double p)
{
        return noise_uniform(g, 0, 1) < p;
}

static void add(struct gen *g, double t, char *topic, char *payload)
{
        GROW(g->p, g->n, g->cap);
        g->p[g->n] = (struct pending){ .t = t, .seq = g->n, .topic = topic, .payload = payload };
        g->n++;
}

/* A device event at day second t; returns its payload's index, for a redelivery. */
static size_t device_event(struct gen *g, const char *device, double t, const char *fields)
{
        char id[64], *topic;

        snprintf(id, sizeof(id), "%s-%s", g->hid, device);
        topic = topic_new(PREFIX, TOPIC_DEVICES, id, TOPIC_EVENTS);
        char *payload = xasprintf("{\"id\": \"e-%s-%u\", \"ts\": %.3f, %s}", g->hid,
                                  ++g->next_event, SIM_DAY_START + t, fields);

        add(g, t, topic, payload);
        g->d->n_events++;
        if (noise_chance(g, g->o->repeat))
                /* Redelivered a little later: after the messages of the next tenth of a
                 * second (the sort keeps it behind its original). */
                add(g, t + 0.1, xstrdup(topic), xstrdup(payload));
        return g->n - 1;
}

static void door(struct gen *g, double t, const char *state)
{
        char fields[64];

        snprintf(fields, sizeof(fields), "\"type\": \"door\", \"state\": \"%s\"", state);
        device_event(g, "door", t, fields);
}

/* A real opening at t, open for `open_s` seconds, with chatter and repeats as drawn. */
static void opening(struct gen *g, double t, double open_s)
{
        double close = t + open_s;

        g->d->n_openings++;
        if (noise_chance(g, g->o->chatter)) {
                double kind = noise_uniform(g, 0, 1), gap;

                g->d->n_chattering++;
                if (kind < 0.6) { /* a blip before: joins the opening, or one of its own */
                        gap = kind < 0.3 ? noise_uniform(g, 0.05, 0.25) : noise_uniform(g, 0.5, 3);
                        door(g, t - gap - 0.1, "open");
                        door(g, t - gap, "closed");
                }
                door(g, t, "open");
                door(g, close, "closed");
                if (kind >= 0.6) { /* a bounce after the close */
                        gap = noise_uniform(g, 0.03, 0.2);
                        door(g, close + gap, "open");
                        door(g, close + gap + noise_uniform(g, 0.05, 0.15), "closed");
                }
        } else {
                door(g, t, "open");
                door(g, close, "closed");
        }
        if (noise_chance(g, g->o->repeat))
                door(g, close + noise_uniform(g, 60, 120), "closed"); /* the state again */
}

static void command(struct gen *g, double t, char *topic, const char *fields)
{
        add(g, t, topic,
            xasprintf("{\"request_id\": \"c-%s-%u\", \"ts\": %.3f%s%s}", g->hid, ++g->next_command,
                      SIM_DAY_START + t, *fields ? ", " : "", fields));
        g->d->n_commands++;
}

static void report(struct gen *g, double t)
{
        command(g, t,
                topic_new(PREFIX, TOPIC_HOUSEHOLDS, g->hid, command_verb_to_string(COMMAND_REPORT)),
                "\"reason\": \"garbage\"");
}

static void worker_command(struct gen *g, double t, const char *role, const char *verb,
                           const char *extra)
{
        char fields[256], worker[64];

        snprintf(fields, sizeof(fields), "\"household\": \"%s\"%s", g->hid, extra);
        snprintf(worker, sizeof(worker), "w-c%02d-%s", g->hindex / PER_COMMUNITY, role);
        command(g, t, topic_new(PREFIX, TOPIC_WORKERS, worker, verb), fields);
}

static void expect_alert(struct gen *g, const char *kind, double t)
{
        struct sim_day *d = g->d;

        GROW(d->alerts, d->n_alerts, d->cap_alerts);
        snprintf(d->alerts[d->n_alerts].household, sizeof(d->alerts[0].household), "%s", g->hid);
        d->alerts[d->n_alerts].kind = kind;
        d->alerts[d->n_alerts].ts = SIM_DAY_START + t;
        d->n_alerts++;
}

/* A pre-report at a random time in the half hour from `hour`, then its opening (returned). */
static double reported_opening(struct gen *g, int hour)
{
        double t = H(hour, 0) + uniform(g, 0, 1800), open = t + uniform(g, 60, 300);

        report(g, t);
        opening(g, open, uniform(g, 30, 120));
        return open;
}

static void courier(struct gen *g, int hour)
{
        double t = H(hour, 0) + uniform(g, 0, 2700);

        device_event(g, "bell", t, "\"type\": \"ring\"");
        opening(g, t + uniform(g, 5, 40), uniform(g, 10, 60));
}

static void household_day(struct gen *g)
{
        bool over_limit = chance(g, 0.05);
        double t;
        char extra[128];

        if (over_limit || chance(g, 0.7))
                reported_opening(g, 7);
        if (chance(g, 0.5))
                courier(g, 8);
        opening(g, H(9, 0) + uniform(g, -600, 1200), uniform(g, 60, 240));
        if (chance(g, 0.4)) {
                t = H(10, 0) + uniform(g, 0, 1800);
                worker_command(g, t, "c", "checkin", "");
                opening(g, t + uniform(g, 60, 600), uniform(g, 60, 240));
        }
        if (over_limit || chance(g, 0.4))
                reported_opening(g, 11);
        if (over_limit || chance(g, 0.3))
                reported_opening(g, 12);
        if (over_limit)
                expect_alert(g, "too_many_openings", reported_opening(g, 13));
        if (chance(g, 0.3))
                courier(g, 14);
        opening(g, H(15, 0) + uniform(g, -600, 900), uniform(g, 60, 240));
        if (chance(g, 0.1)) {
                snprintf(extra, sizeof(extra),
                         ", \"from\": %.0f, \"to\": %.0f, \"reason\": \"hospital\"",
                         SIM_DAY_START + H(16, 0), SIM_DAY_START + H(18, 0));
                worker_command(g, H(15, 40), "p", "pass", extra);
                opening(g, H(16, 5) + uniform(g, 0, 1500), 60);
                opening(g, H(17, 0) + uniform(g, 0, 3000), 60);
        }
        if (chance(g, 0.03)) {
                t = H(19, 0) + uniform(g, 0, 3000);
                opening(g, t, uniform(g, 30, 90));
                expect_alert(g, "door_open_unexpected", t);
        }
        if (chance(g, 0.02)) {
                t = H(20, 0) + uniform(g, 0, 3000);
                opening(g, t, uniform(g, 60, 90));
                device_event(g, "cam", t + uniform(g, 10, 50),
                             "\"type\": \"person\", \"direction\": \"out\"");
                expect_alert(g, "person_left", t);
        }
}

/* ---- the registry ---- */

static void add_worker(cJSON *workers, const char *id, const char *name, const char *role,
                       const char *community)
{
        cJSON *w = cJSON_CreateObject();

        cJSON_AddStringToObject(w, "id", id);
        cJSON_AddStringToObject(w, "name", name);
        cJSON_AddStringToObject(w, "role", role);
        if (community)
                cJSON_AddStringToObject(w, "community", community);
        cJSON_AddItemToArray(workers, w);
}

static void registry(const struct sim_day_opts *o, struct sim_day *d)
{
        static const struct {
                const char *suffix, *name, *role;
        } roles[] = {
                { "c", "社区", "community" }, { "m", "医生", "medical" },
                { "p", "民警", "police" },    { "l", "组长", "staff" },
                { "i", "安装", "installer" },
        };
        size_t n_communities = (o->households + PER_COMMUNITY - 1) / PER_COMMUNITY;
        cJSON *workers = cJSON_CreateArray(), *households = cJSON_CreateArray();
        cJSON *rosters = cJSON_CreateObject(), *communities, *list;
        char id[32], name[32], community[16];

        communities = cJSON_AddObjectToObject(rosters, "communities");
        for (size_t c = 0; c < n_communities; c++) {
                snprintf(community, sizeof(community), "c%02u", (unsigned)c);
                for (size_t r = 0; r < ELEMENTSOF(roles); r++) {
                        snprintf(id, sizeof(id), "w-%s-%s", community, roles[r].suffix);
                        snprintf(name, sizeof(name), "%s%u", roles[r].name, (unsigned)c);
                        add_worker(workers, id, name, roles[r].role, community);
                }
                snprintf(id, sizeof(id), "w-%s-l", community);
                cJSON_AddStringToObject(cJSON_AddObjectToObject(communities, community), "leader",
                                        id);
        }
        add_worker(workers, "w-cmd", "指挥中心", "staff", NULL);
        list = cJSON_AddArrayToObject(rosters, "command");
        cJSON_AddItemToArray(list, cJSON_CreateString("w-cmd"));
        list = cJSON_AddArrayToObject(rosters, "admins");
        cJSON_AddItemToArray(list, cJSON_CreateString("w-cmd"));

        for (size_t i = 0; i < o->households; i++) {
                cJSON *h = cJSON_CreateObject(), *obs, *team, *sched, *devs, *at;
                static const char *const kinds[][2] = { { "door", "door_contact" },
                                                        { "bell", "doorbell" },
                                                        { "cam", "camera" } };

                snprintf(community, sizeof(community), "c%02u", (unsigned)(i / PER_COMMUNITY));
                snprintf(id, sizeof(id), "D-%04u", (unsigned)i);
                cJSON_AddStringToObject(h, "id", id);
                cJSON_AddStringToObject(h, "community", community);
                snprintf(name, sizeof(name), "模拟路 %u号", (unsigned)(i + 1));
                cJSON_AddStringToObject(h, "address", name);
                obs = cJSON_AddObjectToObject(h, "observation");
                cJSON_AddStringToObject(obs, "start", "2020-02-05T00:00:00+08:00");
                cJSON_AddStringToObject(obs, "end", "2099-01-01T00:00:00+08:00");
                team = cJSON_AddObjectToObject(h, "team");
                for (size_t r = 0; r < 3; r++) {
                        char w[32];
                        snprintf(w, sizeof(w), "w-%s-%s", community, roles[r].suffix);
                        cJSON_AddStringToObject(team, roles[r].role, w);
                }
                sched = cJSON_CreateObject();
                cJSON_AddStringToObject(sched, "role", "medical");
                at = cJSON_AddArrayToObject(sched, "at");
                cJSON_AddItemToArray(at, cJSON_CreateString("09:00"));
                cJSON_AddItemToArray(at, cJSON_CreateString("15:00"));
                cJSON_AddStringToObject(sched, "window", "30m");
                cJSON_AddItemToArray(cJSON_AddArrayToObject(h, "schedule"), sched);
                devs = cJSON_AddArrayToObject(h, "devices");
                for (size_t k = 0; k < ELEMENTSOF(kinds); k++) {
                        cJSON *dv = cJSON_CreateObject();
                        char did[48];
                        snprintf(did, sizeof(did), "%s-%s", id, kinds[k][0]);
                        cJSON_AddStringToObject(dv, "id", did);
                        cJSON_AddStringToObject(dv, "kind", kinds[k][1]);
                        cJSON_AddStringToObject(dv, "source", "native");
                        cJSON_AddItemToArray(devs, dv);
                }
                cJSON_AddItemToArray(households, h);
        }
        d->workers_json = cJSON_Print(workers);
        d->households_json = cJSON_Print(households);
        d->rosters_json = cJSON_Print(rosters);
        cJSON_Delete(workers);
        cJSON_Delete(households);
        cJSON_Delete(rosters);
        if (!d->workers_json || !d->households_json || !d->rosters_json)
                abort();
}

/* ---- the day ---- */

static int cmp_pending(const void *a, const void *b)
{
        const struct pending *x = a, *y = b;

        if (x->t != y->t)
                return x->t < y->t ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_alert(const void *a, const void *b)
{
        const struct sim_day_alert *x = a, *y = b;
        int c = strcmp(x->household, y->household);

        if (c == 0)
                c = strcmp(x->kind, y->kind);
        return c ? c : (x->ts > y->ts) - (x->ts < y->ts);
}

void sim_day_generate(const struct sim_day_opts *o, struct sim_day *ret)
{
        struct sim_day d = { 0 };
        struct gen g = { .o = o, .d = &d };
        char hid[16];

        registry(o, &d);
        for (size_t i = 0; i < o->households; i++) {
                snprintf(hid, sizeof(hid), "D-%04u", (unsigned)i);
                /* The household's own streams: its day does not depend on the others', nor
                 * on its noise (the same seed gives the same day with or without noise). */
                g.rng = o->seed * UINT64_C(1000003) + i;
                g.noise = ~g.rng;
                g.hid = hid;
                g.hindex = (int)i;
                g.next_event = g.next_command = 0;
                household_day(&g);
        }
        qsort(g.p, g.n, sizeof(*g.p), cmp_pending);
        d.msgs = xcalloc(g.n ? g.n : 1, sizeof(*d.msgs));
        for (size_t i = 0; i < g.n; i++)
                d.msgs[i] = (struct sim_day_msg){ g.p[i].topic, g.p[i].payload };
        d.n_msgs = d.cap_msgs = g.n;
        free(g.p);
        qsort(d.alerts, d.n_alerts, sizeof(*d.alerts), cmp_alert);
        *ret = d;
}

void sim_day_free(struct sim_day *d)
{
        for (size_t i = 0; i < d->n_msgs; i++) {
                free(d->msgs[i].topic);
                free(d->msgs[i].payload);
        }
        free(d->msgs);
        free(d->alerts);
        free(d->workers_json);
        free(d->households_json);
        free(d->rosters_json);
        *d = (struct sim_day){ 0 };
}

char *sim_day_alerts_text(const struct sim_day *d)
{
        struct sbuf b = { 0 };
        char *s;

        for (size_t i = 0; i < d->n_alerts; i++)
                sbuf_printf(&b, "%s %s %.3f\n", d->alerts[i].household, d->alerts[i].kind,
                            d->alerts[i].ts);
        sbuf_puts(&b, "");
        s = sbuf_finish(&b);
        if (!s)
                abort();
        return s;
}

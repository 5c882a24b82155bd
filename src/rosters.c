/* rosters.c: rosters.json (see rosters.h). */
#include "rosters.h"

#include <string.h>

#include "util.h"

static const char *const day_names[7] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

static void parse_shift(struct loader *L, struct community *c, const cJSON *o,
                        const struct jp *path)
{
        static const char *const keys[] = { "role", "worker", "days", "from", "to", NULL };
        struct shift *s;
        struct worker *w = NULL;
        struct jp p[1], dp[1];
        const cJSON *v, *day;
        size_t k = 0;

        if (!expect_object(L, o, path))
                return;
        check_keys(L, o, path, keys, NULL, true);
        s = &c->shifts[c->n_shifts++];
        s->role = ROLE_INVALID;
        if ((v = field(L, o, path, "role", true, p)))
                get_role(L, v, p, &s->role);
        if ((v = field(L, o, path, "worker", true, p)) && (w = get_worker_ref(L, v, p)) &&
            check_worker_role(L, w, s->role, p)) {
                s->worker = w;
                warn_other_community(L, w, c->id, p);
        }
        if ((v = field(L, o, path, "days", true, p)) && expect_array(L, v, p)) {
                if (cJSON_GetArraySize(v) == 0)
                        ERR(L, p, "must not be empty");
                for (day = v->child; day; day = day->next) {
                        const char *str = get_str(L, day, jp_index(dp, p, k++));
                        int di;

                        if (!str)
                                continue;
                        if (strcmp(str, "*") == 0) {
                                s->days_mask = 0x7f;
                                continue;
                        }
                        di = name_index(day_names, 7, str);
                        if (di < 0)
                                ERR(L, dp, "unknown day \"%s\" (expected mon..sun or \"*\")", str);
                        else
                                s->days_mask |= (uint8_t)(1u << di);
                }
        }
        if ((v = field(L, o, path, "from", true, p)))
                get_time_of_day(L, v, p, false, &s->from_min);
        if ((v = field(L, o, path, "to", true, p)) && get_time_of_day(L, v, p, true, &s->to_min) &&
            s->to_min == 24 * 60)
                s->to_min = 0; /* midnight of the next day: to <= from means "next day" */
}

static void parse_override(struct loader *L, struct community *c, const cJSON *o,
                           const struct jp *path)
{
        static const char *const keys[] = { "role", "worker", "from", "to", NULL };
        struct roster_override *r;
        struct worker *w;
        struct jp p[1];
        const cJSON *v;
        bool from_ok = false, to_ok = false;

        if (!expect_object(L, o, path))
                return;
        check_keys(L, o, path, keys, NULL, true);
        r = &c->overrides[c->n_overrides++];
        r->role = ROLE_INVALID;
        if ((v = field(L, o, path, "role", true, p)))
                get_role(L, v, p, &r->role);
        if ((v = field(L, o, path, "worker", true, p)) && (w = get_worker_ref(L, v, p)) &&
            check_worker_role(L, w, r->role, p)) {
                r->worker = w;
                warn_other_community(L, w, c->id, p);
        }
        if ((v = field(L, o, path, "from", true, p)))
                from_ok = get_instant(L, v, p, &r->from_usec);
        if ((v = field(L, o, path, "to", true, p)))
                to_ok = get_instant(L, v, p, &r->to_usec);
        if (from_ok && to_ok && r->from_usec >= r->to_usec)
                ERR(L, path, "from must be before to");
}

static void parse_roster_community(struct loader *L, const cJSON *o, const struct jp *path)
{
        static const char *const keys[] = { "leader", "shifts", "overrides", NULL };
        struct community *c;
        struct jp p[1], ep[1];
        const cJSON *v, *e;
        size_t ci, k;

        if (!id_valid(o->string)) {
                ERR(L, path,
                    "invalid id \"%s\" (1..%d bytes, no whitespace, control characters, '/', "
                    "'+' or '#')",
                    o->string, ID_MAX);
                return;
        }
        ci = community_intern(L, o->string);
        if (L->community_rosters_pos[ci] >= 0)
                return; /* a duplicate key, reported by check_keys() */
        L->community_rosters_pos[ci] = (long)L->n_rosters_communities++;
        if (!expect_object(L, o, path))
                return;
        check_keys(L, o, path, keys, NULL, true);
        c = &L->cfg->communities[ci];
        if ((v = field(L, o, path, "leader", false, p)))
                c->leader = get_worker_ref(L, v, p);
        if ((v = field(L, o, path, "shifts", false, p)) && expect_array(L, v, p)) {
                c->shifts = xcalloc((size_t)cJSON_GetArraySize(v), sizeof(struct shift));
                k = 0;
                for (e = v->child; e; e = e->next)
                        parse_shift(L, c, e, jp_index(ep, p, k++));
        }
        if ((v = field(L, o, path, "overrides", false, p)) && expect_array(L, v, p)) {
                c->overrides =
                    xcalloc((size_t)cJSON_GetArraySize(v), sizeof(struct roster_override));
                k = 0;
                for (e = v->child; e; e = e->next)
                        parse_override(L, c, e, jp_index(ep, p, k++));
        }
}

static void parse_worker_list(struct loader *L, const cJSON *v, const struct jp *path,
                              struct worker ***out, size_t *n_out)
{
        struct jp p[1];
        const cJSON *e;
        size_t k = 0;

        if (!expect_array(L, v, path))
                return;
        *out = xcalloc((size_t)cJSON_GetArraySize(v), sizeof(struct worker *));
        for (e = v->child; e; e = e->next) {
                struct worker *w = get_worker_ref(L, e, jp_index(p, path, k++));
                bool dup = false;

                if (!w)
                        continue;
                for (size_t j = 0; j < *n_out; j++)
                        dup = dup || (*out)[j] == w;
                if (dup)
                        ERR(L, p, "duplicate worker \"%s\"", w->id);
                else
                        (*out)[(*n_out)++] = w;
        }
}

void load_rosters(struct loader *L)
{
        static const char *const keys[] = { "communities", "command", "admins", NULL };
        _cleanup_doc_ struct doc doc = { L, read_json(L, "rosters.json") };
        const cJSON *root = doc.root;
        struct config *cfg = L->cfg;
        struct jp p[1], cp[1];
        const cJSON *v, *c;

        if (!root)
                return;
        if (!cJSON_IsObject(root)) {
                ERR(L, NULL, "expected an object");
                return;
        }
        check_keys(L, root, NULL, keys, NULL, true);
        if ((v = field(L, root, NULL, "communities", false, p)) && expect_object(L, v, p)) {
                check_keys(L, v, p, NULL, NULL, false);
                for (c = v->child; c; c = c->next)
                        if (!is_comment(c->string))
                                parse_roster_community(L, c, jp_key(cp, p, c->string));
        }
        if ((v = field(L, root, NULL, "command", false, p)))
                parse_worker_list(L, v, p, &cfg->command, &cfg->n_command);
        if ((v = field(L, root, NULL, "admins", false, p)))
                parse_worker_list(L, v, p, &cfg->admins, &cfg->n_admins);
        for (size_t i = 0; i < cfg->escalation.n_steps && L->workers_ok; i++)
                if (cfg->escalation.steps[i] == STEP_COMMAND && cfg->n_command == 0)
                        WARN(L, jp_key(p, NULL, "command"),
                             "no command centre: the escalation step \"command\" notifies nobody");
}

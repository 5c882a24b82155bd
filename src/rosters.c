/* rosters.c: rosters.json (see rosters.h).
 *
 * A community named here is created when no worker or household named it first; its
 * position in the file orders cfg->communities (config_load.c); its optional "name" is
 * what people read ("云锦路社区": status page, reports, spreadsheets). A shift's "to" may be
 * "24:00" (midnight at the end of the day it starts); days are "mon".."sun" or "*". */
#include "rosters.h"

#include <string.h>

#include "util.h"

static const char *const day_names[7] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

static void parse_shift(struct loader *L, struct community *c, const cJSON *o,
                        const struct loader_path *path)
{
        static const char *const keys[] = { "role", "worker", "days", "from", "to", NULL };
        struct shift *s;
        struct worker *w = NULL;
        struct loader_path p[1], dp[1];
        const cJSON *v, *day;
        size_t k = 0;

        if (!loader_expect_object(L, o, path))
                return;
        loader_check_keys(L, o, path, keys, NULL, true);
        s = &c->shifts[c->n_shifts++];
        s->role = ROLE_INVALID;
        if ((v = loader_field(L, o, path, "role", true, p)))
                loader_get_role(L, v, p, &s->role);
        if ((v = loader_field(L, o, path, "worker", true, p)) &&
            (w = loader_get_worker_ref(L, v, p)) && loader_check_worker_role(L, w, s->role, p)) {
                s->worker = w;
                loader_warn_other_community(L, w, c->id, p);
        }
        if ((v = loader_field(L, o, path, "days", true, p)) && loader_expect_array(L, v, p)) {
                if (cJSON_GetArraySize(v) == 0)
                        loader_error(L, p, "must not be empty");
                for (day = v->child; day; day = day->next) {
                        const char *str = loader_get_str(L, day, loader_path_index(dp, p, k++));
                        int di;

                        if (!str)
                                continue;
                        if (strcmp(str, "*") == 0) {
                                s->days_mask = 0x7f;
                                continue;
                        }
                        di = name_index(day_names, 7, str);
                        if (di < 0)
                                loader_error(
                                    L, dp, "unknown day \"%s\" (expected mon..sun or \"*\")", str);
                        else
                                s->days_mask |= (uint8_t)(1u << di);
                }
        }
        if ((v = loader_field(L, o, path, "from", true, p)))
                loader_get_time_of_day(L, v, p, false, &s->from_min);
        if ((v = loader_field(L, o, path, "to", true, p)) &&
            loader_get_time_of_day(L, v, p, true, &s->to_min) && s->to_min == 24 * 60)
                s->to_min = 0; /* midnight of the next day: to <= from means "next day" */
}

static void parse_override(struct loader *L, struct community *c, const cJSON *o,
                           const struct loader_path *path)
{
        static const char *const keys[] = { "role", "worker", "from", "to", NULL };
        struct roster_override *r;
        struct worker *w;
        struct loader_path p[1];
        const cJSON *v;
        bool from_ok = false, to_ok = false;

        if (!loader_expect_object(L, o, path))
                return;
        loader_check_keys(L, o, path, keys, NULL, true);
        r = &c->overrides[c->n_overrides++];
        r->role = ROLE_INVALID;
        if ((v = loader_field(L, o, path, "role", true, p)))
                loader_get_role(L, v, p, &r->role);
        if ((v = loader_field(L, o, path, "worker", true, p)) &&
            (w = loader_get_worker_ref(L, v, p)) && loader_check_worker_role(L, w, r->role, p)) {
                r->worker = w;
                loader_warn_other_community(L, w, c->id, p);
        }
        if ((v = loader_field(L, o, path, "from", true, p)))
                from_ok = loader_get_instant(L, v, p, &r->from_usec);
        if ((v = loader_field(L, o, path, "to", true, p)))
                to_ok = loader_get_instant(L, v, p, &r->to_usec);
        if (from_ok && to_ok && r->from_usec >= r->to_usec)
                loader_error(L, path, "from must be before to");
}

static void parse_roster_community(struct loader *L, const cJSON *o, const struct loader_path *path)
{
        static const char *const keys[] = { "name", "leader", "shifts", "overrides", NULL };
        struct community *c;
        struct loader_path p[1], ep[1];
        const cJSON *v, *e;
        size_t ci, k;

        if (!loader_id_valid(o->string)) {
                loader_error(
                    L, path,
                    "invalid id \"%s\" (1..%d bytes, no whitespace, control characters, '/', "
                    "'+' or '#')",
                    o->string, LOADER_ID_MAX);
                return;
        }
        ci = loader_community_intern(L, o->string);
        if (L->community_rosters_pos[ci] >= 0)
                return; /* a duplicate key, reported by loader_check_keys() */
        L->community_rosters_pos[ci] = (long)L->n_rosters_communities++;
        if (!loader_expect_object(L, o, path))
                return;
        loader_check_keys(L, o, path, keys, NULL, true);
        c = &L->cfg->communities[ci];
        if ((v = loader_field(L, o, path, "name", false, p)))
                loader_get_string(L, v, p, 0, &c->name);
        if ((v = loader_field(L, o, path, "leader", false, p)))
                c->leader = loader_get_worker_ref(L, v, p);
        if ((v = loader_field(L, o, path, "shifts", false, p)) && loader_expect_array(L, v, p)) {
                c->shifts = xcalloc((size_t)cJSON_GetArraySize(v), sizeof(struct shift));
                k = 0;
                for (e = v->child; e; e = e->next)
                        parse_shift(L, c, e, loader_path_index(ep, p, k++));
        }
        if ((v = loader_field(L, o, path, "overrides", false, p)) && loader_expect_array(L, v, p)) {
                c->overrides =
                    xcalloc((size_t)cJSON_GetArraySize(v), sizeof(struct roster_override));
                k = 0;
                for (e = v->child; e; e = e->next)
                        parse_override(L, c, e, loader_path_index(ep, p, k++));
        }
}

static void parse_worker_list(struct loader *L, const cJSON *v, const struct loader_path *path,
                              struct worker ***out, size_t *n_out)
{
        struct loader_path p[1];
        const cJSON *e;
        size_t k = 0;

        if (!loader_expect_array(L, v, path))
                return;
        *out = xcalloc((size_t)cJSON_GetArraySize(v), sizeof(struct worker *));
        for (e = v->child; e; e = e->next) {
                struct worker *w = loader_get_worker_ref(L, e, loader_path_index(p, path, k++));
                bool dup = false;

                if (!w)
                        continue;
                for (size_t j = 0; j < *n_out; j++)
                        dup = dup || (*out)[j] == w;
                if (dup)
                        loader_error(L, p, "duplicate worker \"%s\"", w->id);
                else
                        (*out)[(*n_out)++] = w;
        }
}

void rosters_load(struct loader *L)
{
        static const char *const keys[] = { "communities", "command", "admins", NULL };
        _cleanup_loader_doc_ struct loader_doc doc = { L, loader_read_json(L, "rosters.json") };
        const cJSON *root = doc.root;
        struct config *cfg = L->cfg;
        struct loader_path p[1], cp[1];
        const cJSON *v, *c;

        if (!root)
                return;
        if (!cJSON_IsObject(root)) {
                loader_error(L, NULL, "expected an object");
                return;
        }
        loader_check_keys(L, root, NULL, keys, NULL, true);
        if ((v = loader_field(L, root, NULL, "communities", false, p)) &&
            loader_expect_object(L, v, p)) {
                loader_check_keys(L, v, p, NULL, NULL, false);
                for (c = v->child; c; c = c->next)
                        if (!loader_is_comment(c->string))
                                parse_roster_community(L, c, loader_path_key(cp, p, c->string));
        }
        for (size_t i = 0; i < cfg->n_communities; i++)
                for (size_t k = 0; k < i && cfg->communities[i].name; k++)
                        if (str_eq(cfg->communities[i].name, cfg->communities[k].name))
                                loader_error(
                                    L,
                                    loader_path_key(p, loader_path_key(cp, NULL, "communities"),
                                                    cfg->communities[i].id),
                                    "name \"%s\" is community \"%s\"'s already",
                                    cfg->communities[i].name, cfg->communities[k].id);
        if ((v = loader_field(L, root, NULL, "command", false, p)))
                parse_worker_list(L, v, p, &cfg->command, &cfg->n_command);
        if ((v = loader_field(L, root, NULL, "admins", false, p)))
                parse_worker_list(L, v, p, &cfg->admins, &cfg->n_admins);
        for (size_t i = 0; i < cfg->escalation.n_steps && L->workers_ok; i++)
                if (cfg->escalation.steps[i] == STEP_COMMAND && cfg->n_command == 0)
                        loader_warn(
                            L, loader_path_key(p, NULL, "command"),
                            "no command centre: the escalation step \"command\" notifies nobody");
}

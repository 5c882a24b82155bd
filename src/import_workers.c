/* import_workers.c: a workers sheet merged into workers.json, and its 值班领导 /
 * 指挥中心 cells into rosters.json (see import.h). Ids the sheet lacks are found (phone,
 * then name in the community) or made from a hash, the same on every import. */
#include "import-internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- workers ---- */

/* "w-" and 8 hex digits of a hash of community and name (and phone), stable across
 * imports. */
static void make_worker_id(const char *community, const char *name, const char *phone,
                           char buf[static 16])
{
        _cleanup_free_ char *key = NULL;
        uint64_t h;

        if (asprintf(&key, "%s\x1f%s%s%s", community ? community : "", name, phone ? "\x1f" : "",
                     phone ? phone : "") < 0)
                abort();
        h = hash_str(key);
        snprintf(buf, 16, "w-%08" PRIx32, (uint32_t)(h ^ (h >> 32)));
}

/* The existing worker a row without an id stands for: same phone, else same name in the
 * same community (when only one). */
static const struct import_worker *match_worker(struct import_ctx *x, const char *name,
                                                const char *phone, const char *community,
                                                bool has_community)
{
        const struct import_worker *hit = NULL;
        size_t n = 0;

        if (phone && *phone) {
                for (size_t i = 0; i < x->n_workers; i++)
                        if (sheet_phone_equal(x->workers[i].phone, phone)) {
                                hit = &x->workers[i];
                                n++;
                        }
                if (n == 1)
                        return hit;
        }
        n = 0;
        for (size_t i = 0; i < x->n_workers; i++)
                if (str_eq(x->workers[i].name, name) &&
                    (!has_community || str_eq(x->workers[i].community, community))) {
                        hit = &x->workers[i];
                        n++;
                }
        return n == 1 ? hit : NULL;
}

static cJSON *channels_json(const char *cell)
{
        cJSON *a = cJSON_CreateArray();
        _cleanup_free_ char *copy = xstrdup(cell);
        char *save = NULL;

        for (char *t = strtok_r(copy, " ,;/\t", &save); t; t = strtok_r(NULL, " ,;/\t", &save))
                cJSON_AddItemToArray(a, cJSON_CreateString(t));
        return a;
}

static bool same_strings(const cJSON *a, const cJSON *b)
{
        const cJSON *p = a ? a->child : NULL, *q = b ? b->child : NULL;

        for (; p && q; p = p->next, q = q->next)
                if (!cJSON_IsString(p) || !cJSON_IsString(q) ||
                    strcmp(p->valuestring, q->valuestring) != 0)
                        return false;
        return !p && !q;
}

struct leader {
        const char *community, *worker;
        unsigned row;
};

static void set_leaders(struct import_ctx *x, const struct leader *l, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                cJSON *c = import_rosters_community(x, l[i].community), *v;
                char path[LOADER_PATH_MAX];
                char *detail = NULL;

                import_community_path(l[i].community, "leader", path);
                import_record_origin(x, "rosters.json", path, l[i].row, SHEET_WORKERS, SF_W_ROLE);
                if (str_eq(import_jstr(c, "leader"), l[i].worker))
                        continue;
                if (asprintf(&detail, "leader of %s: %s -> %s", l[i].community,
                             import_or(import_jstr(c, "leader"), "-"), l[i].worker) < 0)
                        abort();
                import_record_change(x, IMPORT_CHANGED, l[i].worker, detail, l[i].row);
                v = cJSON_CreateString(l[i].worker);
                import_set_member(c, "leader", v);
                regdocs_touch(v);
        }
}

static void add_command(struct import_ctx *x, const char *worker, unsigned row)
{
        cJSON *root = x->docs->rosters.root,
              *cmd = cJSON_GetObjectItemCaseSensitive(root, "command");
        const cJSON *e;
        char path[32];
        size_t k = 0;
        char *detail = NULL;

        if (!cJSON_IsArray(cmd)) {
                cmd = cJSON_CreateArray();
                import_set_member(root, "command", cmd);
                regdocs_touch(cmd);
        }
        cJSON_ArrayForEach(e, cmd)
        {
                if (cJSON_IsString(e) && strcmp(e->valuestring, worker) == 0) {
                        snprintf(path, sizeof(path), "command[%zu]", k);
                        import_record_origin(x, "rosters.json", path, row, SHEET_WORKERS,
                                             SF_W_ROLE);
                        return;
                }
                k++;
        }
        cJSON_AddItemToArray(cmd, cJSON_CreateString(worker));
        regdocs_touch(cJSON_GetArrayItem(cmd, (int)k));
        snprintf(path, sizeof(path), "command[%zu]", k);
        import_record_origin(x, "rosters.json", path, row, SHEET_WORKERS, SF_W_ROLE);
        if (asprintf(&detail, "added to the command centre") < 0)
                abort();
        import_record_change(x, IMPORT_CHANGED, worker, detail, row);
}

struct wvals {
        bool has[_SF_MAX];
        const char *name, *community, *phone, *channels;
        enum role role;
        enum sheet_duty duty;
        bool has_role;
        char phone_buf[32];
};

static bool read_worker(struct import_ctx *x, const struct csv_row *r, struct wvals *v)
{
        const struct sheet *s = x->sheet;
        size_t errors = x->res->n_errors;
        const char *cell;

        for (int f = 0; f < _SF_MAX; f++)
                v->has[f] = s->col[f] >= 0;
        v->name = sheet_cell(s, r, SF_W_NAME);
        if (!*v->name)
                import_row_problem(x, false, r, SF_W_NAME, "%s is empty",
                                   sheet_header(s, SF_W_NAME));
        cell = sheet_cell(s, r, SF_W_ROLE);
        if (*cell) {
                v->has_role = true;
                if (!sheet_parse_role(cell, &v->role, &v->duty))
                        import_row_problem(
                            x, true, r, SF_W_ROLE,
                            "%s \"%s\" is none of the roles doorwatch knows: read as staff "
                            "(工作人员)",
                            sheet_header(s, SF_W_ROLE), cell);
        }
        cell = sheet_cell(s, r, SF_W_COMMUNITY);
        if (*cell)
                v->community = import_find_community(x, r, SF_W_COMMUNITY, cell);
        if (v->duty == SHEET_DUTY_LEADER && !*cell)
                import_row_problem(x, false, r, SF_W_COMMUNITY,
                                   "a duty leader (值班领导) leads a community: %s is empty",
                                   sheet_header(s, SF_W_COMMUNITY));
        cell = sheet_cell(s, r, SF_W_PHONE);
        if (*cell)
                v->phone = sheet_phone_normalize(cell, v->phone_buf);
        v->channels = sheet_cell(s, r, SF_W_CHANNELS);
        return x->res->n_errors == errors;
}

/* Applies the row to an existing worker; true when anything changed. */
static bool update_worker(struct import_ctx *x, struct import_worker *w, const struct wvals *v,
                          struct sbuf *d)
{
        cJSON *o = w->node;

        if (!str_eq(import_jstr(o, "name"), v->name)) {
                import_detail_add(d, "name \"%s\" -> \"%s\"", import_or(import_jstr(o, "name"), ""),
                                  v->name);
                import_set_member(o, "name", cJSON_CreateString(v->name));
        }
        if (v->has_role && role_from_string(import_jstr(o, "role")) != v->role) {
                import_detail_add(d, "role %s -> %s", import_or(import_jstr(o, "role"), "-"),
                                  role_to_string(v->role));
                import_set_member(o, "role", cJSON_CreateString(role_to_string(v->role)));
        }
        if (v->has[SF_W_COMMUNITY] && !str_eq(import_jstr(o, "community"), v->community)) {
                import_detail_add(d, "community %s -> %s",
                                  import_or(import_jstr(o, "community"), "-"),
                                  import_or(v->community, "-"));
                import_set_member(o, "community",
                                  v->community ? cJSON_CreateString(v->community)
                                               : cJSON_CreateNull());
        }
        if (v->has[SF_W_PHONE] && !(v->phone ? sheet_phone_equal(import_jstr(o, "phone"), v->phone)
                                             : !import_jstr(o, "phone"))) {
                import_detail_add(d, "phone");
                import_set_member(o, "phone",
                                  v->phone ? cJSON_CreateString(v->phone) : cJSON_CreateNull());
        }
        if (v->has[SF_W_CHANNELS] && *v->channels) {
                cJSON *want = channels_json(v->channels);
                if (same_strings(cJSON_GetObjectItemCaseSensitive(o, "channels"), want))
                        cJSON_Delete(want);
                else {
                        import_detail_add(d, "channels");
                        import_set_member(o, "channels", want);
                }
        }
        if (d->len == 0)
                return false;
        regdocs_touch(o);
        /* The index follows the node (strings may have been replaced). */
        w->name = import_jstr(o, "name");
        w->community = import_jstr(o, "community");
        w->phone = import_jstr(o, "phone");
        w->role = role_from_string(import_jstr(o, "role"));
        return true;
}

void import_workers_apply(struct import_ctx *x)
{
        const struct sheet *s = x->sheet;
        cJSON *root = x->docs->workers.root;
        struct hashmap *seen = hashmap_new(256);
        struct leader *leaders = NULL;
        size_t n_leaders = 0, cap_leaders = 0;
        char **ids = NULL;
        size_t n_ids = 0, cap_ids = 0;

        if (!cJSON_IsArray(root)) {
                import_problem(x->res, false, 0, -1, "workers.json: not an array of workers");
                hashmap_free(seen);
                return;
        }
        for (size_t i = s->header + 1; i < s->csv->n_rows; i++) {
                const struct csv_row *r = &s->csv->rows[i];
                struct wvals v = { .role = ROLE_STAFF };
                const struct import_worker *found = NULL;
                char gen[16], path[32];
                const char *id;
                void *p;

                if (sheet_row_blank(r))
                        continue;
                if (!read_worker(x, r, &v))
                        continue;
                id = sheet_cell(s, r, SF_W_ID);
                if (*id)
                        found = import_worker_by_id(x, id);
                else {
                        found =
                            match_worker(x, v.name, v.phone, v.community, v.has[SF_W_COMMUNITY]);
                        if (found)
                                id = found->id;
                        else {
                                make_worker_id(v.community, v.name, NULL, gen);
                                if (import_worker_by_id(x, gen) || hashmap_get(seen, gen))
                                        make_worker_id(v.community, v.name, v.phone ? v.phone : "",
                                                       gen);
                                if (import_worker_by_id(x, gen) || hashmap_get(seen, gen)) {
                                        import_row_problem(
                                            x, false, r, SF_W_NAME,
                                            "\"%s\" is in the sheet twice (same community, "
                                            "name and phone): give the rows ids",
                                            v.name);
                                        continue;
                                }
                                id = gen;
                        }
                }
                if ((p = hashmap_get(seen, id))) {
                        import_row_problem(
                            x, false, r, *sheet_cell(s, r, SF_W_ID) ? SF_W_ID : SF_W_NAME,
                            "worker %s is on row %u already", id, (unsigned)(uintptr_t)p);
                        continue;
                }
                GROW(ids, n_ids, cap_ids);
                ids[n_ids] = xstrdup(id);
                hashmap_put(seen, ids[n_ids++], (void *)(uintptr_t)r->row);
                id = ids[n_ids - 1];
                if (found) {
                        struct sbuf d;
                        size_t k = (size_t)(found - x->workers);
                        size_t index = 0;

                        for (const cJSON *e = root->child; e && e != found->node; e = e->next)
                                index++;
                        snprintf(path, sizeof(path), "[%zu]", index);
                        import_record_origin(x, "workers.json", path, r->row, SHEET_WORKERS, -1);
                        sbuf_init(&d, NULL, 0);
                        if (update_worker(x, &x->workers[k], &v, &d))
                                import_record_change(x, IMPORT_CHANGED, id, sbuf_finish(&d),
                                                     r->row);
                        else {
                                import_record_change(x, IMPORT_UNCHANGED, id, NULL, r->row);
                                sbuf_done(&d);
                        }
                } else if (!v.has_role) {
                        import_row_problem(
                            x, false, r, SF_W_ROLE,
                            "%s is a new worker: the role is needed (网格员, 社区医生, 社区民警, "
                            "安装员, 工作人员 ...)",
                            id);
                        continue;
                } else {
                        cJSON *o = cJSON_CreateObject();
                        size_t index = (size_t)cJSON_GetArraySize(root);

                        cJSON_AddStringToObject(o, "id", id);
                        cJSON_AddStringToObject(o, "name", v.name);
                        cJSON_AddStringToObject(o, "role", role_to_string(v.role));
                        if (v.community)
                                cJSON_AddStringToObject(o, "community", v.community);
                        if (v.phone)
                                cJSON_AddStringToObject(o, "phone", v.phone);
                        if (*v.channels)
                                cJSON_AddItemToObject(o, "channels", channels_json(v.channels));
                        cJSON_AddItemToArray(root, o);
                        regdocs_touch(o);
                        GROW(x->workers, x->n_workers, x->cap_workers);
                        x->workers[x->n_workers++] =
                            (struct import_worker){ .id = import_jstr(o, "id"),
                                                    .name = import_jstr(o, "name"),
                                                    .phone = import_jstr(o, "phone"),
                                                    .community = import_jstr(o, "community"),
                                                    .role = v.role,
                                                    .node = o };
                        snprintf(path, sizeof(path), "[%zu]", index);
                        import_record_origin(x, "workers.json", path, r->row, SHEET_WORKERS, -1);
                        import_record_change(x, IMPORT_ADDED, id, NULL, r->row);
                }
                if (v.duty == SHEET_DUTY_LEADER && v.community) {
                        for (size_t k = 0; k < n_leaders; k++)
                                if (strcmp(leaders[k].community, v.community) == 0) {
                                        import_row_problem(
                                            x, false, r, SF_W_ROLE,
                                            "%s has a duty leader (值班领导) on row %u already",
                                            v.community, leaders[k].row);
                                        v.duty = SHEET_DUTY_NONE;
                                }
                        if (v.duty == SHEET_DUTY_LEADER) {
                                GROW(leaders, n_leaders, cap_leaders);
                                leaders[n_leaders++] = (struct leader){ v.community, id, r->row };
                        }
                } else if (v.duty == SHEET_DUTY_COMMAND)
                        add_command(x, id, r->row);
        }
        if (x->res->n_errors == 0)
                set_leaders(x, leaders, n_leaders);
        free(leaders);
        hashmap_free(seen);
        /* The ids stay referenced by the changes and hashmap keys only until here. */
        free_strv(ids, n_ids);
}

/* import.c: a sheet merged into the registry documents (see import.h).
 *
 * The documents are indexed first (households by id with their file and position,
 * workers with the fields a cell may name them by, communities with their rosters.json
 * name); then each row is read into values, every cell checked, and only a row without
 * problems edits the tree. Edits replace a record (a household, a worker) or a list (a
 * community's shifts) as a whole and touch it, so regdocs prints it anew and leaves the
 * rest of the file's text alone. The indexes point into the trees and the sheet; they
 * live for one import_apply() call. Checks the loader makes anyway (ids, roles of team
 * members, phone formats, start before end) are left to it: the caller runs config_load()
 * on the result and import_locate() brings its messages back to the rows. */
#include "import-internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- results ---- */

void import_problem(struct import_result *res, bool warning, unsigned row, int col, const char *fmt,
                    ...)
{
        struct import_problem *p;
        va_list ap;

        GROW(res->problems, res->n_problems, res->cap_problems);
        p = &res->problems[res->n_problems++];
        *p = (struct import_problem){ .row = row, .col = col, .warning = warning };
        va_start(ap, fmt);
        if (vasprintf(&p->message, fmt, ap) < 0)
                abort();
        va_end(ap);
        if (!warning)
                res->n_errors++;
}

void import_row_problem(struct import_ctx *x, bool warning, const struct csv_row *r, int field,
                        const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        va_end(ap);
        import_problem(x->res, warning, r ? r->row : 0, field >= 0 ? x->sheet->col[field] : -1,
                       "%s", msg);
}

void import_record_change(struct import_ctx *x, enum import_change_kind kind, const char *id,
                          char *detail, unsigned row)
{
        struct import_result *res = x->res;

        GROW(res->changes, res->n_changes, res->cap_changes);
        res->changes[res->n_changes++] =
            (struct import_change){ .kind = kind, .id = xstrdup(id), .detail = detail, .row = row };
}

void import_record_origin(struct import_ctx *x, const char *file, const char *path, unsigned row,
                          enum sheet_kind kind, int field)
{
        struct import_result *res = x->res;
        struct import_origin *o;

        GROW(res->origins, res->n_origins, res->cap_origins);
        o = &res->origins[res->n_origins++];
        *o = (struct import_origin){ .file = xstrdup(file),
                                     .path = xstrdup(path),
                                     .row = row,
                                     .kind = kind,
                                     .field = field };
        if (asprintf(&o->key, "%s\x1f%s", file, path) < 0)
                abort();
}

void import_result_done(struct import_result *res)
{
        for (size_t i = 0; i < res->n_problems; i++)
                free(res->problems[i].message);
        for (size_t i = 0; i < res->n_changes; i++) {
                free(res->changes[i].id);
                free(res->changes[i].detail);
        }
        for (size_t i = 0; i < res->n_origins; i++) {
                free(res->origins[i].file);
                free(res->origins[i].path);
                free(res->origins[i].key);
        }
        free(res->problems);
        free(res->changes);
        free(res->origins);
        hashmap_free(res->origin_by_key);
        *res = (struct import_result){ 0 };
}

void import_sort_problems(struct import_result *res)
{
        /* Insertion sort: stable, and a sheet's problems are few. */
        for (size_t i = 1; i < res->n_problems; i++) {
                struct import_problem t = res->problems[i];
                size_t k = i;

                while (k > 0 &&
                       (res->problems[k - 1].row > t.row ||
                        (res->problems[k - 1].row == t.row && res->problems[k - 1].col > t.col))) {
                        res->problems[k] = res->problems[k - 1];
                        k--;
                }
                res->problems[k] = t;
        }
}

/* ---- the documents ---- */

const char *import_or(const char *s, const char *otherwise)
{
        return s ? s : otherwise;
}

const char *import_jstr(const cJSON *o, const char *key)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
        return cJSON_IsString(v) ? v->valuestring : NULL;
}

void import_set_member(cJSON *o, const char *key, cJSON *v)
{
        if (cJSON_GetObjectItemCaseSensitive(o, key))
                cJSON_ReplaceItemInObjectCaseSensitive(o, key, v);
        else
                cJSON_AddItemToObject(o, key, v);
}

static void index_workers(struct import_ctx *x)
{
        const cJSON *root = x->docs->workers.root;
        cJSON *e;

        if (!cJSON_IsArray(root))
                return;
        cJSON_ArrayForEach(e, root)
        {
                struct import_worker *w;

                if (!cJSON_IsObject(e) || !import_jstr(e, "id"))
                        continue;
                GROW(x->workers, x->n_workers, x->cap_workers);
                w = &x->workers[x->n_workers++];
                *w = (struct import_worker){ .id = import_jstr(e, "id"),
                                             .name = import_jstr(e, "name"),
                                             .phone = import_jstr(e, "phone"),
                                             .community = import_jstr(e, "community"),
                                             .role = role_from_string(import_jstr(e, "role")),
                                             .node = e };
        }
}

static void add_community(struct import_ctx *x, const char *id, const char *name)
{
        if (!id)
                return;
        for (size_t i = 0; i < x->n_communities; i++)
                if (strcmp(x->communities[i].id, id) == 0) {
                        if (name && !x->communities[i].name)
                                x->communities[i].name = name;
                        return;
                }
        GROW(x->communities, x->n_communities, x->cap_communities);
        x->communities[x->n_communities++] = (struct import_community){ .id = id, .name = name };
}

static void index_households(struct import_ctx *x)
{
        x->hh_by_id = hashmap_new(256);
        for (size_t d = 0; d < x->docs->n_households; d++) {
                cJSON *root = x->docs->households[d].root, *e;
                size_t k = 0;

                if (!cJSON_IsArray(root)) {
                        import_problem(x->res, false, 0, -1, "%s: not an array of households",
                                       x->docs->households[d].name);
                        continue;
                }
                for (e = root->child; e; e = e->next, k++) {
                        const char *id = cJSON_IsObject(e) ? import_jstr(e, "id") : NULL;
                        if (!id || hashmap_get(x->hh_by_id, id))
                                continue; /* the loader reports these */
                        GROW(x->households, x->n_households, x->cap_households);
                        x->households[x->n_households] =
                            (struct import_household){ .id = id,
                                                       .community = import_jstr(e, "community"),
                                                       .doc = d,
                                                       .index = k,
                                                       .node = e };
                        hashmap_put(x->hh_by_id, id, loader_idx_ptr(x->n_households));
                        x->n_households++;
                }
        }
}

static void index_communities(struct import_ctx *x)
{
        const cJSON *cs = cJSON_GetObjectItemCaseSensitive(x->docs->rosters.root, "communities");
        const cJSON *c;

        if (cJSON_IsObject(cs))
                for (c = cs->child; c; c = c->next)
                        if (!loader_is_comment(c->string))
                                add_community(x, c->string,
                                              cJSON_IsObject(c) ? import_jstr(c, "name") : NULL);
        for (size_t i = 0; i < x->n_workers; i++)
                add_community(x, x->workers[i].community, NULL);
        for (size_t i = 0; i < x->n_households; i++)
                add_community(x, x->households[i].community, NULL);
}

void import_index(struct import_ctx *x)
{
        index_workers(x);
        index_households(x);
        index_communities(x);
}

void import_ctx_done(struct import_ctx *x)
{
        free(x->workers);
        free(x->households);
        free(x->communities);
        hashmap_free(x->hh_by_id);
}

static bool ascii_id(const char *s)
{
        for (const char *p = s; *p; p++)
                if ((unsigned char)*p >= 0x80)
                        return false;
        return loader_id_valid(s);
}

/* The community a cell names (its id, its name, the name without or with "社区"); NULL
 * after reporting why not. A new community is accepted (with a warning) when the cell is
 * a plain ASCII id. */
const char *import_find_community(struct import_ctx *x, const struct csv_row *r, int field,
                                  const char *cell)
{
        struct sbuf known;
        const char *found = NULL;

        for (size_t i = 0; i < x->n_communities; i++)
                if (strcmp(x->communities[i].id, cell) == 0)
                        return x->communities[i].id;
        for (size_t i = 0; i < x->n_communities && !found; i++) {
                const char *name = x->communities[i].name;
                size_t n = name ? strlen(name) : 0, c = strlen(cell);
                if (!name)
                        continue;
                if (strcmp(name, cell) == 0 ||
                    (n == c + strlen("社区") && strncmp(name, cell, c) == 0 &&
                     strcmp(name + c, "社区") == 0) ||
                    (c == n + strlen("社区") && strncmp(cell, name, n) == 0 &&
                     strcmp(cell + n, "社区") == 0))
                        found = x->communities[i].id;
        }
        if (found)
                return found;
        if (ascii_id(cell)) {
                import_row_problem(
                    x, true, r, field,
                    "new community \"%s\" (not in rosters.json: it has no leader or shifts yet)",
                    cell);
                add_community(x, cell, NULL);
                return cell;
        }
        sbuf_init(&known, NULL, 0);
        for (size_t i = 0; i < x->n_communities; i++) {
                sbuf_printf(&known, "%s%s", i ? ", " : "", x->communities[i].id);
                if (x->communities[i].name)
                        sbuf_printf(&known, " (%s)", x->communities[i].name);
        }
        import_row_problem(
            x, false, r, field,
            "unknown community \"%s\" (known: %s); a new one needs its id and \"name\" in "
            "rosters.json first",
            cell, known.len ? sbuf_text(&known) : "none");
        sbuf_done(&known);
        return NULL;
}

/* The worker a cell names: its id; a phone number; a name with a phone in the cell or in
 * the column beside it; a name alone when it is unique (among several, the one of `role`,
 * then of `community`). NULL after reporting why not. */
const struct import_worker *import_find_worker(struct import_ctx *x, const struct csv_row *r,
                                               int field, const char *cell, int phone_field,
                                               enum role role, const char *community)
{
        const char *phone = phone_field >= 0 ? sheet_cell(x->sheet, r, phone_field) : "";
        const struct import_worker *hit = NULL;
        char name[256];
        size_t n = 0;

        for (size_t i = 0; i < x->n_workers; i++)
                if (strcmp(x->workers[i].id, cell) == 0)
                        return &x->workers[i];
        snprintf(name, sizeof(name), "%s", cell);
        if (sheet_is_phone(cell)) {
                phone = cell;
                name[0] = 0;
        } else {
                /* "王芳 13800000002": a name and a phone in one cell. */
                char *sp = strrchr(name, ' ');
                if (sp && sheet_is_phone(sp + 1)) {
                        phone = cell + (sp + 1 - name);
                        *sp = 0;
                }
        }
        if (*phone) {
                for (size_t i = 0; i < x->n_workers; i++)
                        if (sheet_phone_equal(x->workers[i].phone, phone)) {
                                hit = &x->workers[i];
                                n++;
                        }
                if (n == 1) {
                        if (*name && !str_eq(hit->name, name))
                                import_row_problem(
                                    x, true, r, field,
                                    "\"%s\": the phone number is %s's (%s), whose name in "
                                    "workers.json is \"%s\"",
                                    name, hit->id, hit->id, hit->name ? hit->name : "");
                        return hit;
                }
                if (n == 0)
                        import_row_problem(
                            x, false, r, field,
                            "\"%s\": no worker in workers.json has this phone number",
                            *name ? name : "(phone)");
                else
                        import_row_problem(
                            x, false, r, field,
                            "\"%s\": %zu workers share this phone number: use the worker id",
                            *name ? name : "(phone)", n);
                return NULL;
        }
        for (int pass = 0; pass < 3; pass++) {
                n = 0;
                for (size_t i = 0; i < x->n_workers; i++) {
                        const struct import_worker *w = &x->workers[i];
                        if (!str_eq(w->name, name) || (pass >= 1 && w->role != role) ||
                            (pass >= 2 && !str_eq(w->community, community)))
                                continue;
                        hit = w;
                        n++;
                }
                if (n == 1)
                        return hit;
                if (n == 0 && pass == 0) {
                        import_row_problem(
                            x, false, r, field,
                            "no worker with id, phone number or name \"%s\" in workers.json", cell);
                        return NULL;
                }
        }
        import_row_problem(
            x, false, r, field,
            "name \"%s\" is not unique in workers.json: use the worker id or phone number", name);
        return NULL;
}

/* ---- values ---- */

const char *import_format_instant(int64_t usec, char buf[static 40])
{
        return format_rfc3339(usec, buf);
}

/* "2026-12-04 00:00" for people. */
const char *import_format_short(int64_t usec, char buf[static 32])
{
        if (usec == OBSERVATION_OPEN_END)
                return strcpy(buf, "open-ended");
        format_local_time(usec, buf);
        if (strcmp(buf + 16, ":00") == 0)
                buf[16] = 0;
        return buf;
}

bool import_parse_instant_cell(struct import_ctx *x, const struct csv_row *r, int field, bool end,
                               int64_t *ret)
{
        const char *cell = sheet_cell(x->sheet, r, field);

        if (!*cell && end) { /* no end (yet): an open-ended observation */
                *ret = OBSERVATION_OPEN_END;
                return true;
        }
        if (!*cell) {
                import_row_problem(x, false, r, field, "%s is empty",
                                   sheet_header(x->sheet, field));
                return false;
        }
        if (sheet_parse_instant(cell, end, ret, NULL) < 0) {
                import_row_problem(x, false, r, field, "%s \"%s\" is not a date (%s)",
                                   sheet_header(x->sheet, field), cell, IMPORT_HINT_DATE);
                return false;
        }
        return true;
}

static int cmp_int(const void *a, const void *b)
{
        int p = *(const int *)a, q = *(const int *)b;
        return p < q ? -1 : p > q;
}

/* Sorted, without duplicates. */
size_t import_normalize_times(int *t, size_t n)
{
        size_t o = 0;

        qsort(t, n, sizeof(int), cmp_int);
        for (size_t i = 0; i < n; i++)
                if (o == 0 || t[o - 1] != t[i])
                        t[o++] = t[i];
        return o;
}

cJSON *import_times_json(const int *t, size_t n)
{
        cJSON *a = cJSON_CreateArray();

        for (size_t i = 0; i < n; i++) {
                char buf[16];
                snprintf(buf, sizeof(buf), "%02d:%02d", t[i] / 60 % 100, t[i] % 60);
                cJSON_AddItemToArray(a, cJSON_CreateString(buf));
        }
        return a;
}

void import_detail_add(struct sbuf *d, const char *fmt, ...)
{
        _cleanup_free_ char *s = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                abort();
        va_end(ap);
        sbuf_printf(d, "%s%s", d->len ? "; " : "", s);
}

const struct import_worker *import_worker_by_id(struct import_ctx *x, const char *id)
{
        for (size_t i = 0; i < x->n_workers; i++)
                if (strcmp(x->workers[i].id, id) == 0)
                        return &x->workers[i];
        return NULL;
}

cJSON *import_rosters_community(struct import_ctx *x, const char *community)
{
        cJSON *root = x->docs->rosters.root, *cs, *c;

        cs = cJSON_GetObjectItemCaseSensitive(root, "communities");
        if (!cJSON_IsObject(cs)) {
                cs = cJSON_CreateObject();
                import_set_member(root, "communities", cs);
                regdocs_touch(cs);
        }
        c = cJSON_GetObjectItemCaseSensitive(cs, community);
        if (!cJSON_IsObject(c)) {
                c = cJSON_CreateObject();
                import_set_member(cs, community, c);
                regdocs_touch(c);
        }
        return c;
}

void import_community_path(const char *community, const char *key, char buf[static LOADER_PATH_MAX])
{
        struct loader_path p[3];

        loader_path_key(&p[0], NULL, "communities");
        loader_path_key(&p[1], &p[0], community);
        loader_path_key(&p[2], &p[1], key);
        loader_path_format(&p[2], buf);
}

/* ---- entry points ---- */

/* The column a path below a record stands for, -1 when none. */
static int field_of_rest(enum sheet_kind kind, const char *rest)
{
        static const struct {
                enum sheet_kind kind;
                const char *rest;
                int field;
        } map[] = {
                { SHEET_HOUSEHOLDS, ".id", SF_HH_ID },
                { SHEET_HOUSEHOLDS, ".community", SF_HH_COMMUNITY },
                { SHEET_HOUSEHOLDS, ".address", SF_HH_ADDRESS },
                { SHEET_HOUSEHOLDS, ".observation.start", SF_HH_START },
                { SHEET_HOUSEHOLDS, ".observation.end", SF_HH_END },
                { SHEET_HOUSEHOLDS, ".observation", SF_HH_END },
                { SHEET_HOUSEHOLDS, ".team.community", SF_HH_TEAM_COMMUNITY },
                { SHEET_HOUSEHOLDS, ".team.medical", SF_HH_TEAM_MEDICAL },
                { SHEET_HOUSEHOLDS, ".team.police", SF_HH_TEAM_POLICE },
                { SHEET_WORKERS, ".id", SF_W_ID },
                { SHEET_WORKERS, ".name", SF_W_NAME },
                { SHEET_WORKERS, ".role", SF_W_ROLE },
                { SHEET_WORKERS, ".community", SF_W_COMMUNITY },
                { SHEET_WORKERS, ".phone", SF_W_PHONE },
                { SHEET_WORKERS, ".channels", SF_W_CHANNELS },
                { SHEET_SHIFTS, ".worker", SF_S_WORKER },
                { SHEET_SHIFTS, ".role", SF_S_ROLE },
                { SHEET_SHIFTS, ".days", SF_S_DAYS },
                { SHEET_SHIFTS, ".from", SF_S_FROM },
                { SHEET_SHIFTS, ".to", SF_S_TO },
                { SHEET_SHIFTS, "", SF_S_TO },
        };

        for (size_t i = 0; i < ELEMENTSOF(map); i++) {
                size_t n = strlen(map[i].rest);
                if (map[i].kind == kind && strncmp(rest, map[i].rest, n) == 0 &&
                    (rest[n] == 0 || rest[n] == '[' || (n > 0 && rest[n] == '.')))
                        return map[i].field;
        }
        return -1;
}

bool import_locate(const struct import_result *res, const struct sheet *sheet, const char *line,
                   unsigned *ret_row, int *ret_col, char **ret_message)
{
        const char *sep = strstr(line, ": "), *path, *msg, *end;
        _cleanup_free_ char *file = NULL, *p = NULL;
        const struct import_origin *o = NULL;
        size_t cut;
        int field;

        if (!sep || !res->origin_by_key)
                return false;
        file = xstrndup(line, (size_t)(sep - line));
        path = sep + 2;
        end = strstr(path, ": ");
        if (!end || memchr(path, ' ', (size_t)(end - path)))
                return false;
        p = xstrndup(path, (size_t)(end - path));
        msg = end + 2;
        /* The longest prefix of the path that came from a row. */
        for (cut = strlen(p);; cut--) {
                if (cut == strlen(p) || p[cut] == '.' || p[cut] == '[') {
                        _cleanup_free_ char *key = NULL;
                        void *v;
                        if (asprintf(&key, "%s\x1f%.*s", file, (int)cut, p) < 0)
                                abort();
                        if ((v = hashmap_get(res->origin_by_key, key))) {
                                o = &res->origins[loader_ptr_idx(v)];
                                break;
                        }
                }
                if (cut == 0)
                        return false;
        }
        field = p[cut] == 0 && o->field >= 0 ? o->field : field_of_rest(o->kind, p + cut);
        *ret_row = o->row;
        *ret_col = field >= 0 ? sheet->col[field] : -1;
        if (*ret_col >= 0) {
                *ret_message = xstrdup(msg);
        } else if (asprintf(ret_message, "%s (%s: %s)", msg, file, p) < 0)
                abort();
        return true;
}

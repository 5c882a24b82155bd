/* import_households.c: a households sheet merged into the households files (see
 * import.h): a row updates the household of its id, column by column (what the sheet does
 * not have stays: devices, policy, comments, schedules of roles without a column), or adds
 * one where its community's households are; households of the covered communities that
 * the sheet does not list are listed, or ended now with end_missing. */
#include "import-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- households ---- */

struct hvals {
        bool has[_SF_MAX]; /* the column is there */
        const char *community;
        const char *address;
        int64_t start, end;
        const struct import_worker *team[TEAM_ROLES];
        int visits[TEAM_ROLES][IMPORT_MAX_VISITS];
        size_t n_visits[TEAM_ROLES];
};

static bool read_household(struct import_ctx *x, const struct csv_row *r,
                           const struct import_household *old, struct hvals *v)
{
        const struct sheet *s = x->sheet;
        size_t errors = x->res->n_errors;
        const char *cell;

        for (int f = 0; f < _SF_MAX; f++)
                v->has[f] = s->col[f] >= 0;
        if (v->has[SF_HH_COMMUNITY]) {
                cell = sheet_cell(s, r, SF_HH_COMMUNITY);
                if (!*cell)
                        import_row_problem(x, false, r, SF_HH_COMMUNITY, "%s is empty",
                                           sheet_header(s, SF_HH_COMMUNITY));
                else
                        v->community = import_find_community(x, r, SF_HH_COMMUNITY, cell);
        }
        if (v->has[SF_HH_ADDRESS]) {
                v->address = sheet_cell(s, r, SF_HH_ADDRESS);
                if (!*v->address)
                        import_row_problem(x, false, r, SF_HH_ADDRESS, "%s is empty",
                                           sheet_header(s, SF_HH_ADDRESS));
        }
        if (v->has[SF_HH_START])
                import_parse_instant_cell(x, r, SF_HH_START, false, &v->start);
        if (v->has[SF_HH_END])
                import_parse_instant_cell(x, r, SF_HH_END, true, &v->end);
        for (int role = 0; role < TEAM_ROLES; role++) {
                int f = SF_HH_TEAM_COMMUNITY + role;
                if (!v->has[f])
                        continue;
                cell = sheet_cell(s, r, f);
                if (!*cell)
                        import_row_problem(x, false, r, f, "%s is empty", sheet_header(s, f));
                else
                        v->team[role] = import_find_worker(
                            x, r, f, cell, SF_HH_PHONE_COMMUNITY + role, (enum role)role,
                            v->community ? v->community
                            : old        ? old->community
                                         : NULL);
        }
        for (int role = 0; role < TEAM_ROLES; role++) {
                int f = SF_HH_VISITS_COMMUNITY + role;
                if (!v->has[f])
                        continue;
                cell = sheet_cell(s, r, f);
                if (sheet_parse_times(cell, v->visits[role], IMPORT_MAX_VISITS,
                                      &v->n_visits[role]) < 0)
                        import_row_problem(
                            x, false, r, f,
                            "%s \"%s\" is not a list of times such as \"09:00 15:00\" (at "
                            "most %d)",
                            sheet_header(s, f), cell, IMPORT_MAX_VISITS);
                else
                        v->n_visits[role] =
                            import_normalize_times(v->visits[role], v->n_visits[role]);
        }
        return x->res->n_errors == errors;
}

static cJSON *schedule_entry(enum role role, const int *t, size_t n, const char *window)
{
        cJSON *e = cJSON_CreateObject();

        cJSON_AddStringToObject(e, "role", role_to_string(role));
        cJSON_AddItemToObject(e, "at", import_times_json(t, n));
        cJSON_AddStringToObject(e, "window", window);
        return e;
}

/* The times of a role's schedule entries in a household object, sorted; the first
 * entry's window in *ret_window. */
static size_t old_visits(const cJSON *h, enum role role, int *t, size_t max,
                         const char **ret_window)
{
        const cJSON *sched = cJSON_GetObjectItemCaseSensitive(h, "schedule"), *e, *a;
        size_t n = 0;

        *ret_window = NULL;
        cJSON_ArrayForEach(e, sched)
        {
                if (role_from_string(import_jstr(e, "role")) != role)
                        continue;
                if (!*ret_window)
                        *ret_window = import_jstr(e, "window");
                cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(e, "at"))
                {
                        int m;
                        if (n < max && cJSON_IsString(a) &&
                            parse_time_of_day(a->valuestring, false, &m) == 0)
                                t[n++] = m;
                }
        }
        return import_normalize_times(t, n);
}

/* Replaces the entries of `role` in h's schedule with one entry at the times (none: the
 * role's entries go), at the place of the first. */
static void set_visits(cJSON *h, enum role role, const int *t, size_t n, const char *window)
{
        const cJSON *old = cJSON_GetObjectItemCaseSensitive(h, "schedule"), *e;
        cJSON *sched = cJSON_CreateArray();
        bool placed = false;

        cJSON_ArrayForEach(e, old)
        {
                if (role_from_string(import_jstr(e, "role")) != role) {
                        cJSON_AddItemToArray(sched, cJSON_Duplicate(e, true));
                        continue;
                }
                if (!placed && n > 0)
                        cJSON_AddItemToArray(sched, schedule_entry(role, t, n, window));
                placed = true;
        }
        if (!placed && n > 0)
                cJSON_AddItemToArray(sched, schedule_entry(role, t, n, window));
        import_set_member(h, "schedule", sched);
}

static int64_t old_instant(const cJSON *h, const char *key, bool *ok)
{
        const cJSON *obs = cJSON_GetObjectItemCaseSensitive(h, "observation");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obs, key);
        int64_t t = 0;

        if (strcmp(key, "end") == 0 && cJSON_IsNull(v)) { /* "end": null, open-ended */
                *ok = true;
                return OBSERVATION_OPEN_END;
        }
        *ok = parse_rfc3339(import_jstr(obs, key), &t) == 0;
        return t;
}

/* Applies the row's values to an existing household; true when anything changed. */
static bool update_household(struct import_ctx *x, struct import_household *hr,
                             const struct hvals *v, struct sbuf *d)
{
        cJSON *h = hr->node, *obs, *team;
        char a[40], b[32], c[32];
        bool ok;

        if (v->has[SF_HH_COMMUNITY] && !str_eq(import_jstr(h, "community"), v->community)) {
                import_detail_add(d, "community %s -> %s",
                                  import_or(import_jstr(h, "community"), "-"), v->community);
                import_set_member(h, "community", cJSON_CreateString(v->community));
                hr->community = v->community;
        }
        if (v->has[SF_HH_ADDRESS] && !str_eq(import_jstr(h, "address"), v->address)) {
                import_detail_add(d, "address \"%s\" -> \"%s\"",
                                  import_or(import_jstr(h, "address"), ""), v->address);
                import_set_member(h, "address", cJSON_CreateString(v->address));
        }
        obs = cJSON_GetObjectItemCaseSensitive(h, "observation");
        if (!cJSON_IsObject(obs) && (v->has[SF_HH_START] || v->has[SF_HH_END])) {
                import_set_member(h, "observation", cJSON_CreateObject());
                obs = cJSON_GetObjectItemCaseSensitive(h, "observation");
        }
        for (int i = 0; i < 2; i++) {
                const char *key = i ? "end" : "start";
                int64_t want = i ? v->end : v->start, have = old_instant(h, key, &ok);
                if (!v->has[i ? SF_HH_END : SF_HH_START] || (ok && have == want))
                        continue;
                import_detail_add(d, "%s %s -> %s", key, ok ? import_format_short(have, b) : "-",
                                  import_format_short(want, c));
                import_set_member(obs, key,
                                  want == OBSERVATION_OPEN_END
                                      ? cJSON_CreateNull()
                                      : cJSON_CreateString(import_format_instant(want, a)));
        }
        team = cJSON_GetObjectItemCaseSensitive(h, "team");
        for (int role = 0; role < TEAM_ROLES; role++) {
                const char *key = role_to_string((enum role)role);
                if (!v->has[SF_HH_TEAM_COMMUNITY + role] ||
                    str_eq(import_jstr(team, key), v->team[role]->id))
                        continue;
                if (!cJSON_IsObject(team)) {
                        import_set_member(h, "team", cJSON_CreateObject());
                        team = cJSON_GetObjectItemCaseSensitive(h, "team");
                }
                import_detail_add(d, "%s %s -> %s", key, import_or(import_jstr(team, key), "-"),
                                  v->team[role]->id);
                import_set_member(team, key, cJSON_CreateString(v->team[role]->id));
        }
        for (int role = 0; role < TEAM_ROLES; role++) {
                int have[IMPORT_MAX_VISITS * 4];
                const char *window;
                size_t n;

                if (!v->has[SF_HH_VISITS_COMMUNITY + role])
                        continue;
                n = old_visits(h, (enum role)role, have, ELEMENTSOF(have), &window);
                if (n == v->n_visits[role] && memcmp(have, v->visits[role], n * sizeof(int)) == 0)
                        continue;
                import_detail_add(d, "%s visits", role_to_string((enum role)role));
                set_visits(h, (enum role)role, v->visits[role], v->n_visits[role],
                           window ? window : IMPORT_VISIT_WINDOW);
        }
        if (d->len == 0)
                return false;
        regdocs_touch(h);
        return true;
}

/* The households file that holds most of the community's households (households.json
 * when none does). */
static size_t file_for(struct import_ctx *x, const char *community)
{
        size_t best = 0, best_n = 0;
        size_t *count = xcalloc(x->docs->n_households, sizeof(size_t));

        for (size_t i = 0; i < x->n_households; i++)
                if (str_eq(x->households[i].community, community))
                        count[x->households[i].doc]++;
        for (size_t d = 0; d < x->docs->n_households; d++)
                if (count[d] > best_n) {
                        best = d;
                        best_n = count[d];
                }
        free(count);
        return best;
}

static void add_household(struct import_ctx *x, const struct csv_row *r, const char *id,
                          const struct hvals *v)
{
        static const int needed[] = { SF_HH_COMMUNITY,  SF_HH_ADDRESS,        SF_HH_START,
                                      SF_HH_END,        SF_HH_TEAM_COMMUNITY, SF_HH_TEAM_MEDICAL,
                                      SF_HH_TEAM_POLICE };
        const struct sheet_column *cols;
        struct regdoc *doc;
        cJSON *h, *o, *root;
        char a[40], path[32];
        size_t n_cols, d, index;
        bool missing = false;

        cols = sheet_columns(SHEET_HOUSEHOLDS, &n_cols);
        for (size_t i = 0; i < ELEMENTSOF(needed); i++)
                if (!v->has[needed[i]]) {
                        for (size_t k = 0; k < n_cols; k++)
                                if ((int)cols[k].field == needed[i])
                                        import_row_problem(
                                            x, false, r, -1,
                                            "%s is a new household: the sheet needs a %s/%s "
                                            "column",
                                            id, cols[k].zh, cols[k].en);
                        missing = true;
                }
        if (missing)
                return;
        h = cJSON_CreateObject();
        cJSON_AddStringToObject(h, "id", id);
        cJSON_AddStringToObject(h, "community", v->community);
        cJSON_AddStringToObject(h, "address", v->address);
        o = cJSON_AddObjectToObject(h, "observation");
        cJSON_AddStringToObject(o, "start", import_format_instant(v->start, a));
        if (v->end == OBSERVATION_OPEN_END)
                cJSON_AddNullToObject(o, "end");
        else
                cJSON_AddStringToObject(o, "end", import_format_instant(v->end, a));
        o = cJSON_AddObjectToObject(h, "team");
        for (int role = 0; role < TEAM_ROLES; role++)
                cJSON_AddStringToObject(o, role_to_string((enum role)role), v->team[role]->id);
        for (int role = 0; role < TEAM_ROLES; role++)
                if (v->has[SF_HH_VISITS_COMMUNITY + role] && v->n_visits[role] > 0)
                        set_visits(h, (enum role)role, v->visits[role], v->n_visits[role],
                                   IMPORT_VISIT_WINDOW);
        cJSON_AddArrayToObject(h, "devices");

        d = file_for(x, v->community);
        doc = &x->docs->households[d];
        root = doc->root;
        index = (size_t)cJSON_GetArraySize(root);
        cJSON_AddItemToArray(root, h);
        regdocs_touch(h);
        GROW(x->households, x->n_households, x->cap_households);
        x->households[x->n_households] =
            (struct import_household){ .id = import_jstr(h, "id"),
                                       .community = import_jstr(h, "community"),
                                       .doc = d,
                                       .index = index,
                                       .node = h,
                                       .row = r->row };
        hashmap_put(x->hh_by_id, x->households[x->n_households].id,
                    loader_idx_ptr(x->n_households));
        x->n_households++;
        snprintf(path, sizeof(path), "[%zu]", index);
        import_record_origin(x, doc->name, path, r->row, SHEET_HOUSEHOLDS, -1);
        import_record_change(x, IMPORT_ADDED, id, NULL, r->row);
        x->res->n_without_devices++;
}

static void households_not_listed(struct import_ctx *x, struct hashmap *covered)
{
        for (size_t i = 0; i < x->n_households; i++) {
                struct import_household *hr = &x->households[i];
                char a[40], b[32], c[32];
                int64_t start, end;
                bool start_ok, end_ok;

                if (hr->row || !hr->community || !hashmap_get(covered, hr->community))
                        continue;
                start = old_instant(hr->node, "start", &start_ok);
                end = old_instant(hr->node, "end", &end_ok);
                if (end_ok && end <= x->opt->now_usec)
                        continue; /* over: history, not news */
                if (!x->opt->end_missing || !start_ok || !end_ok) {
                        import_record_change(x, IMPORT_NOT_LISTED, hr->id, NULL, 0);
                        continue;
                }
                if (start > x->opt->now_usec) {
                        import_problem(x->res, true, 0, -1,
                                       "%s is not in the sheet but its observation starts on %s: "
                                       "not ended (edit or remove it by hand)",
                                       hr->id, import_format_short(start, b));
                        import_record_change(x, IMPORT_NOT_LISTED, hr->id, NULL, 0);
                        continue;
                }
                {
                        cJSON *obs = cJSON_GetObjectItemCaseSensitive(hr->node, "observation");
                        char *detail = NULL;
                        char path[32];

                        import_set_member(obs, "end",
                                          cJSON_CreateString(import_format_instant(
                                              x->opt->now_usec / USEC_PER_SEC * USEC_PER_SEC, a)));
                        regdocs_touch(hr->node);
                        if (asprintf(&detail, "end %s -> %s (now)", import_format_short(end, b),
                                     import_format_short(x->opt->now_usec, c)) < 0)
                                abort();
                        import_record_change(x, IMPORT_ENDED, hr->id, detail, 0);
                        snprintf(path, sizeof(path), "[%zu]", hr->index);
                        import_record_origin(x, x->docs->households[hr->doc].name, path, 0,
                                             SHEET_HOUSEHOLDS, -1);
                }
        }
}

void import_households_apply(struct import_ctx *x)
{
        const struct sheet *s = x->sheet;
        struct hashmap *seen = hashmap_new(256), *covered = hashmap_new(16);

        for (size_t i = s->header + 1; i < s->csv->n_rows; i++) {
                const struct csv_row *r = &s->csv->rows[i];
                const char *id = sheet_cell(s, r, SF_HH_ID);
                struct hvals v = { 0 };
                struct import_household *hr = NULL;
                void *p;

                if (sheet_row_blank(r))
                        continue;
                if (!*id) {
                        import_row_problem(x, false, r, SF_HH_ID, "%s is empty",
                                           sheet_header(s, SF_HH_ID));
                        continue;
                }
                if ((p = hashmap_get(seen, id))) {
                        import_row_problem(x, false, r, SF_HH_ID,
                                           "household %s is on row %u already", id,
                                           (unsigned)(uintptr_t)p);
                        continue;
                }
                hashmap_put(seen, id, (void *)(uintptr_t)r->row);
                if ((p = hashmap_get(x->hh_by_id, id)))
                        hr = &x->households[loader_ptr_idx(p)];
                if (!read_household(x, r, hr, &v)) {
                        if (hr)
                                hr->row = r->row; /* listed, even if not usable */
                        continue;
                }
                if (v.community || (hr && hr->community))
                        hashmap_replace(covered, v.community ? v.community : hr->community,
                                        (void *)1);
                if (hr) {
                        struct sbuf d;
                        char path[32];

                        hr->row = r->row;
                        sbuf_init(&d, NULL, 0);
                        snprintf(path, sizeof(path), "[%zu]", hr->index);
                        import_record_origin(x, x->docs->households[hr->doc].name, path, r->row,
                                             SHEET_HOUSEHOLDS, -1);
                        if (update_household(x, hr, &v, &d))
                                import_record_change(x, IMPORT_CHANGED, id, sbuf_finish(&d),
                                                     r->row);
                        else {
                                import_record_change(x, IMPORT_UNCHANGED, id, NULL, r->row);
                                sbuf_done(&d);
                        }
                } else
                        add_household(x, r, id, &v);
        }
        households_not_listed(x, covered);
        hashmap_free(seen);
        hashmap_free(covered);
}

/* import_shifts.c: a shifts sheet as the rota of the communities it names: their shifts
 * and dated covers in rosters.json are replaced by the rows (an entry that says the same
 * as an existing one keeps that one, with its comments); other communities keep theirs. */
#include "import-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- shifts ---- */

struct shift_row {
        cJSON *json;
        bool cover; /* an override */
        unsigned row;
};

struct community_rows {
        const char *community;
        struct shift_row *rows;
        size_t n, cap;
};

/* The days mask of a shift object ("*" or day names), 0 when unreadable. */
static uint8_t days_of(const cJSON *days)
{
        static const char *const names[7] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };
        const cJSON *e;
        uint8_t m = 0;

        cJSON_ArrayForEach(e, days)
        {
                int i;
                if (!cJSON_IsString(e))
                        return 0;
                if (strcmp(e->valuestring, "*") == 0) {
                        m = 0x7f;
                        continue;
                }
                i = name_index(names, 7, e->valuestring);
                if (i < 0)
                        return 0;
                m |= (uint8_t)(1u << i);
        }
        return m;
}

static cJSON *days_json(uint8_t mask)
{
        static const char *const names[7] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };
        cJSON *a = cJSON_CreateArray();

        if ((mask & 0x7f) == 0x7f) {
                cJSON_AddItemToArray(a, cJSON_CreateString("*"));
                return a;
        }
        for (int i = 0; i < 7; i++)
                if (mask & (1u << i))
                        cJSON_AddItemToArray(a, cJSON_CreateString(names[i]));
        return a;
}

/* Whether two shifts (or two overrides) say the same. */
static bool same_shift(const cJSON *a, const cJSON *b, bool cover)
{
        int fa, fb, ta, tb;
        int64_t ia, ib, ja, jb;

        if (role_from_string(import_jstr(a, "role")) != role_from_string(import_jstr(b, "role")) ||
            !str_eq(import_jstr(a, "worker"), import_jstr(b, "worker")))
                return false;
        if (cover)
                return parse_rfc3339(import_jstr(a, "from"), &ia) == 0 &&
                       parse_rfc3339(import_jstr(b, "from"), &ib) == 0 &&
                       parse_rfc3339(import_jstr(a, "to"), &ja) == 0 &&
                       parse_rfc3339(import_jstr(b, "to"), &jb) == 0 && ia == ib && ja == jb;
        if (parse_time_of_day(import_jstr(a, "from"), false, &fa) < 0 ||
            parse_time_of_day(import_jstr(b, "from"), false, &fb) < 0 ||
            parse_time_of_day(import_jstr(a, "to"), true, &ta) < 0 ||
            parse_time_of_day(import_jstr(b, "to"), true, &tb) < 0)
                return false;
        uint8_t da = days_of(cJSON_GetObjectItemCaseSensitive(a, "days"));
        return da && da == days_of(cJSON_GetObjectItemCaseSensitive(b, "days")) && fa == fb &&
               ta % 1440 == tb % 1440;
}

static cJSON *read_shift(struct import_ctx *x, const struct csv_row *r,
                         const struct import_worker *w, enum role role, bool *ret_cover)
{
        const struct sheet *s = x->sheet;
        const char *date = sheet_cell(s, r, SF_S_DATE), *from = sheet_cell(s, r, SF_S_FROM),
                   *to = sheet_cell(s, r, SF_S_TO), *days = sheet_cell(s, r, SF_S_DAYS);
        int64_t day = 0, f_usec = 0, t_usec = 0;
        int f_min = -1, t_min = -1;
        bool has_time = false, ok = true;
        char a[40];
        cJSON *o;

        if (*date) {
                if (sheet_parse_instant(date, false, &day, &has_time) < 0 || has_time) {
                        import_row_problem(x, false, r, SF_S_DATE, "%s \"%s\" is not a date (%s)",
                                           sheet_header(s, SF_S_DATE), date, IMPORT_HINT_DATE);
                        ok = false;
                }
        } else if (*from && sheet_parse_instant(from, false, &f_usec, &has_time) == 0 && has_time)
                day = -1; /* a dated cover given as from/to instants */
        if (!*from)
                import_row_problem(x, false, r, SF_S_FROM, "%s is empty",
                                   sheet_header(s, SF_S_FROM)),
                    ok = false;
        if (!*to)
                import_row_problem(x, false, r, SF_S_TO, "%s is empty", sheet_header(s, SF_S_TO)),
                    ok = false;
        if (!ok)
                return NULL;
        if (day == 0) {
                uint8_t mask = 0;
                if (sheet_parse_time(from, false, &f_min) < 0)
                        import_row_problem(x, false, r, SF_S_FROM,
                                           "%s \"%s\" is not a time such as 08:00",
                                           sheet_header(s, SF_S_FROM), from),
                            ok = false;
                if (sheet_parse_time(to, true, &t_min) < 0)
                        import_row_problem(x, false, r, SF_S_TO,
                                           "%s \"%s\" is not a time such as 20:00",
                                           sheet_header(s, SF_S_TO), to),
                            ok = false;
                if (!*days)
                        import_row_problem(
                            x, false, r, SF_S_DAYS,
                            "%s is empty: which days does the shift start on (每天, 工作日, "
                            "周一至周五 ...), or a 日期 for one day",
                            sheet_header(s, SF_S_DAYS)),
                            ok = false;
                else if (sheet_parse_days(days, &mask) < 0)
                        import_row_problem(
                            x, false, r, SF_S_DAYS,
                            "%s \"%s\" is not a list of days (每天, 工作日, 周末, 周一至周五, "
                            "周六、周日, mon-fri)",
                            sheet_header(s, SF_S_DAYS), days),
                            ok = false;
                if (!ok)
                        return NULL;
                o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "role", role_to_string(role));
                cJSON_AddStringToObject(o, "worker", w->id);
                cJSON_AddItemToObject(o, "days", days_json(mask));
                snprintf(a, sizeof(a), "%02d:%02d", f_min / 60, f_min % 60);
                cJSON_AddStringToObject(o, "from", a);
                snprintf(a, sizeof(a), "%02d:%02d", t_min / 60 % 24, t_min % 60);
                if (t_min == 24 * 60)
                        snprintf(a, sizeof(a), "24:00");
                cJSON_AddStringToObject(o, "to", a);
                *ret_cover = false;
                return o;
        }
        /* A dated cover: date + times, or instants (a time alone in `to`: the same day, or
         * the next when it is not after `from`). */
        if (day > 0) {
                if (sheet_parse_time(from, false, &f_min) < 0) {
                        import_row_problem(x, false, r, SF_S_FROM,
                                           "%s \"%s\" is not a time such as 08:00",
                                           sheet_header(s, SF_S_FROM), from);
                        return NULL;
                }
                f_usec = day + (int64_t)f_min * USEC_PER_MIN;
        }
        if (sheet_parse_instant(to, false, &t_usec, &has_time) == 0 && has_time) {
                /* an instant */
        } else if (sheet_parse_time(to, true, &t_min) == 0) {
                struct tm tm;
                time_t t = (time_t)(f_usec / USEC_PER_SEC);
                localtime_r(&t, &tm);
                tm.tm_hour = t_min / 60;
                tm.tm_min = t_min % 60;
                tm.tm_sec = 0;
                tm.tm_isdst = -1;
                t_usec = (int64_t)mktime(&tm) * USEC_PER_SEC;
                if (t_usec <= f_usec) {
                        tm.tm_mday++;
                        tm.tm_hour = t_min / 60;
                        tm.tm_min = t_min % 60;
                        tm.tm_isdst = -1;
                        t_usec = (int64_t)mktime(&tm) * USEC_PER_SEC;
                }
        } else {
                import_row_problem(x, false, r, SF_S_TO,
                                   "%s \"%s\" is neither a time nor a date and time",
                                   sheet_header(s, SF_S_TO), to);
                return NULL;
        }
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "role", role_to_string(role));
        cJSON_AddStringToObject(o, "worker", w->id);
        cJSON_AddStringToObject(o, "from", import_format_instant(f_usec, a));
        cJSON_AddStringToObject(o, "to", import_format_instant(t_usec, a));
        *ret_cover = true;
        return o;
}

/* Replaces the community's list `key` with the rows' (reusing equal existing entries
 * with their comments); true when it changed. */
static bool replace_list(struct import_ctx *x, cJSON *c, const char *community, const char *key,
                         const struct community_rows *cr, bool cover)
{
        const cJSON *old = cJSON_GetObjectItemCaseSensitive(c, key), *e;
        cJSON *list = cJSON_CreateArray();
        bool same = true, *used;
        size_t n_old = (size_t)cJSON_GetArraySize(old), k = 0, n_new = 0;
        char base[LOADER_PATH_MAX], path[LOADER_PATH_MAX + 32];

        used = xcalloc(n_old + 1, sizeof(bool));
        import_community_path(community, key, base);
        for (size_t i = 0; i < cr->n; i++) {
                const cJSON *reuse = NULL;

                if (cr->rows[i].cover != cover)
                        continue;
                k = 0;
                cJSON_ArrayForEach(e, old)
                {
                        if (!used[k] && same_shift(e, cr->rows[i].json, cover)) {
                                reuse = e;
                                used[k] = true;
                                break;
                        }
                        k++;
                }
                same = same && reuse && k == n_new;
                cJSON_AddItemToArray(list, reuse ? cJSON_Duplicate(reuse, true)
                                                 : cJSON_Duplicate(cr->rows[i].json, true));
                snprintf(path, sizeof(path), "%s[%zu]", base, n_new);
                import_record_origin(x, "rosters.json", path, cr->rows[i].row, SHEET_SHIFTS, -1);
                n_new++;
        }
        free(used);
        if (same && n_new == n_old && (old || n_new == 0)) {
                cJSON_Delete(list);
                return false;
        }
        import_set_member(c, key, list);
        regdocs_touch(list);
        return true;
}

void import_shifts_apply(struct import_ctx *x)
{
        const struct sheet *s = x->sheet;
        struct community_rows *cs = NULL;
        size_t n_cs = 0, cap_cs = 0;

        if (!cJSON_IsObject(x->docs->rosters.root)) {
                import_problem(x->res, false, 0, -1, "rosters.json: not an object");
                return;
        }
        for (size_t i = s->header + 1; i < s->csv->n_rows; i++) {
                const struct csv_row *r = &s->csv->rows[i];
                const char *cell = sheet_cell(s, r, SF_S_WORKER), *community = NULL;
                const struct import_worker *w;
                enum role role;
                enum sheet_duty duty;
                size_t errors = x->res->n_errors, k;
                bool cover = false;
                cJSON *o;

                if (sheet_row_blank(r))
                        continue;
                if (*sheet_cell(s, r, SF_S_COMMUNITY))
                        community = import_find_community(x, r, SF_S_COMMUNITY,
                                                          sheet_cell(s, r, SF_S_COMMUNITY));
                if (!*cell) {
                        import_row_problem(x, false, r, SF_S_WORKER, "%s is empty",
                                           sheet_header(s, SF_S_WORKER));
                        continue;
                }
                role = ROLE_INVALID;
                if (*sheet_cell(s, r, SF_S_ROLE) &&
                    !sheet_parse_role(sheet_cell(s, r, SF_S_ROLE), &role, &duty)) {
                        import_row_problem(x, false, r, SF_S_ROLE, "%s \"%s\" is not a role",
                                           sheet_header(s, SF_S_ROLE), sheet_cell(s, r, SF_S_ROLE));
                        continue;
                }
                w = import_find_worker(x, r, SF_S_WORKER, cell, SF_S_WORKER_PHONE, role, community);
                if (!w)
                        continue;
                if (role == ROLE_INVALID)
                        role = w->role;
                if (!community && !*sheet_cell(s, r, SF_S_COMMUNITY))
                        community = w->community;
                if (!community) {
                        if (x->res->n_errors == errors)
                                import_row_problem(x, false, r, SF_S_COMMUNITY,
                                                   "%s has no community: fill in %s", w->id,
                                                   sheet_header(s, SF_S_COMMUNITY));
                        continue;
                }
                o = read_shift(x, r, w, role, &cover);
                if (!o || x->res->n_errors != errors) {
                        cJSON_Delete(o);
                        continue;
                }
                for (k = 0; k < n_cs && strcmp(cs[k].community, community) != 0; k++)
                        ;
                if (k == n_cs) {
                        GROW(cs, n_cs, cap_cs);
                        cs[n_cs++] = (struct community_rows){ .community = community };
                }
                GROW(cs[k].rows, cs[k].n, cs[k].cap);
                cs[k].rows[cs[k].n++] = (struct shift_row){ o, cover, r->row };
        }
        for (size_t k = 0; k < n_cs && x->res->n_errors == 0; k++) {
                cJSON *c = import_rosters_community(x, cs[k].community);
                size_t shifts = 0, covers = 0;
                bool changed;
                char *detail = NULL;

                for (size_t i = 0; i < cs[k].n; i++) {
                        if (cs[k].rows[i].cover)
                                covers++;
                        else
                                shifts++;
                }
                changed = replace_list(x, c, cs[k].community, "shifts", &cs[k], false);
                changed = replace_list(x, c, cs[k].community, "overrides", &cs[k], true) || changed;
                if (asprintf(&detail, "%zu shift(s), %zu dated cover(s)", shifts, covers) < 0)
                        abort();
                import_record_change(x, changed ? IMPORT_CHANGED : IMPORT_UNCHANGED,
                                     cs[k].community, detail, cs[k].rows[0].row);
        }
        for (size_t k = 0; k < n_cs; k++) {
                for (size_t i = 0; i < cs[k].n; i++)
                        cJSON_Delete(cs[k].rows[i].json);
                free(cs[k].rows);
        }
        free(cs);
}

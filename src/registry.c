/* registry.c: workers.json, households.json and households.d/ (see registry.h).
 *
 * Keys and rules beyond the DESIGN.md §3 example (document them in doorwatch.json(5)):
 *   - A worker without "channels" gets ["mqtt"]. A worker naming a group notifier (wecom,
 *     dingtalk, feishu, webhook) in "channels" gets a warning: group notifiers choose by
 *     community.
 *   - A household's "policy" overrides the rule keys of doorwatch.json's policy
 *     (handoff_ring_window, handoff_max_open, held_open_after, checkin_grace,
 *     resident_reports_per_day, pass_overdue_after, person_window, debounce,
 *     chatter_settle) for it.
 *   - A device's "source" names its adapter, which checks the adapter's own keys
 *     (struct adapter.parse_device) once the common ones are valid.
 *   - Duplicate household and device ids name the file that had them first.
 *   - "observation": {"end": null} is an open-ended observation (OBSERVATION_OPEN_END): it
 *     runs until an end is written, as when a campaign extends an observation.
 *
 * Households and devices are appended to cfg's arrays (devices in registry order, each
 * household's a run of them); config_load.c links them once every file is read. */
#include "registry.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "adapter.h"
#include "settings.h"
#include "util.h"

/* ---- workers.json ---- */

static bool phone_valid(const char *s)
{
        size_t n = 0;

        if (*s == '+')
                s++;
        for (; *s; s++, n++)
                if (*s < '0' || *s > '9')
                        return false;
        return n >= 3 && n <= 20;
}

static void parse_channels(struct loader *L, struct worker *w, const cJSON *v,
                           const struct loader_path *path)
{
        struct loader_path p[1];
        const cJSON *c;
        size_t i = 0;

        if (!loader_expect_array(L, v, path))
                return;
        w->channels = xcalloc((size_t)cJSON_GetArraySize(v), sizeof(char *));
        for (c = v->child; c; c = c->next) {
                const char *s = loader_get_str(L, c, loader_path_index(p, path, i++));
                bool dup = false;

                if (!s)
                        continue;
                for (size_t j = 0; j < w->n_channels; j++)
                        dup = dup || strcmp(w->channels[j], s) == 0;
                if (dup)
                        loader_error(L, p, "duplicate channel \"%s\"", s);
                else if (L->notifiers_ok && !hashmap_get(L->notifier_by_name, s))
                        loader_error(L, p, "unknown notifier \"%s\"", s);
                else {
                        void *idx = hashmap_get(L->notifier_by_name, s);
                        const char *type = idx ? L->cfg->notifiers[loader_ptr_idx(idx)].type : NULL;
                        if (type && strcmp(type, "mqtt") != 0 && strcmp(type, "exec") != 0)
                                loader_warn(
                                    L, p,
                                    "notifier \"%s\" is a group channel (type %s): it receives "
                                    "its communities' notifications without being listed here",
                                    s, type);
                        w->channels[w->n_channels++] = xstrdup(s);
                }
        }
        if (i == 0)
                loader_warn(L, path, "worker has no channels and will not be notified");
}

static void parse_worker(struct loader *L, const cJSON *o, const struct loader_path *path)
{
        static const char *const keys[] = { "id",    "name",     "role", "community",
                                            "phone", "channels", NULL };
        struct config *cfg = L->cfg;
        struct worker *w;
        struct loader_path p[1];
        const cJSON *v;

        if (!loader_expect_object(L, o, path))
                return;
        loader_check_keys(L, o, path, keys, NULL, true);
        w = &cfg->workers[cfg->n_workers];
        *w = (struct worker){ .role = ROLE_INVALID, .index = cfg->n_workers };
        cfg->n_workers++;
        if ((v = loader_field(L, o, path, "id", true, p)) &&
            loader_get_string(L, v, p, LOADER_STR_ID, &w->id) &&
            hashmap_put(cfg->worker_by_id, w->id, w) == HASHMAP_E_EXISTS)
                loader_error(L, p, "duplicate worker id \"%s\"", w->id);
        if ((v = loader_field(L, o, path, "name", true, p)))
                loader_get_string(L, v, p, 0, &w->name);
        if ((v = loader_field(L, o, path, "role", true, p)))
                loader_get_role(L, v, p, &w->role);
        if ((v = loader_field(L, o, path, "community", false, p)) &&
            loader_get_string(L, v, p, LOADER_STR_NULLABLE | LOADER_STR_ID, &w->community_id) &&
            w->community_id)
                loader_community_intern(L, w->community_id);
        if ((v = loader_field(L, o, path, "phone", false, p)) &&
            loader_get_string(L, v, p, LOADER_STR_NULLABLE, &w->phone) && w->phone &&
            !phone_valid(w->phone))
                /* The number itself is not repeated: messages may end up in logs. */
                loader_error(
                    L, p, "invalid phone number (expected 3-20 digits with an optional leading +)");
        if ((v = loader_field(L, o, path, "channels", false, p))) {
                parse_channels(L, w, v, p);
        } else {
                w->channels = xcalloc(1, sizeof(char *));
                w->channels[w->n_channels++] = xstrdup("mqtt");
        }
}

void registry_load_workers(struct loader *L)
{
        _cleanup_loader_doc_ struct loader_doc doc = { L, loader_read_json(L, "workers.json") };
        const cJSON *root = doc.root;
        struct loader_path p[1];
        const cJSON *e;
        size_t i = 0;

        if (!root || !loader_expect_array(L, root, NULL))
                return;
        L->workers_ok = true;
        /* Allocated once: worker pointers stay valid while the rest loads. */
        L->cfg->workers = xcalloc((size_t)cJSON_GetArraySize(root), sizeof(struct worker));
        for (e = root->child; e; e = e->next)
                parse_worker(L, e, loader_path_index(p, NULL, i++));
}

/* ---- households.json, households.d/ ---- */

/* Replaces h's freshly parsed schedule (n entries, owned) with the shared copy.
 *
 * Most households of a campaign share a handful of schedules ("medical at 09:00 and
 * 15:00"), so each distinct one is stored once, in cfg->arena, found by its text form
 * (kept there too while loading, a few bytes per distinct schedule). A per-household copy
 * took two allocations, 80 bytes a household in a city of 100,000. */
static void intern_schedule(struct loader *L, struct household *h, struct schedule_entry *parsed,
                            size_t n)
{
        struct arena *arena = &L->cfg->arena;
        struct schedule_entry *shared;
        struct sbuf f;
        char buf[256];
        const char *key;

        sbuf_init(&f, buf, sizeof(buf));
        for (size_t i = 0; i < n; i++) {
                sbuf_printf(&f, "%d/%" PRId64 "/", (int)parsed[i].role, parsed[i].window_usec);
                for (size_t k = 0; k < parsed[i].n_at; k++)
                        sbuf_printf(&f, "%d,", parsed[i].at_min[k]);
                sbuf_putc(&f, ';');
        }
        key = sbuf_text(&f);
        if (!key)
                abort();
        shared = hashmap_get(L->schedules, key);
        if (!shared) {
                shared = arena_alloc(arena, n * sizeof(*shared), _Alignof(struct schedule_entry));
                for (size_t i = 0; i < n; i++) {
                        shared[i] = parsed[i];
                        shared[i].at_min =
                            arena_alloc(arena, parsed[i].n_at * sizeof(int), _Alignof(int));
                        if (parsed[i].n_at > 0)
                                memcpy(shared[i].at_min, parsed[i].at_min,
                                       parsed[i].n_at * sizeof(int));
                }
                hashmap_put(L->schedules, arena_strdup(arena, key), shared);
        }
        sbuf_done(&f);
        for (size_t i = 0; i < n; i++)
                free(parsed[i].at_min);
        free(parsed);
        h->schedule = shared;
}

static void parse_schedule(struct loader *L, struct household *h, const cJSON *v,
                           const struct loader_path *path)
{
        static const char *const keys[] = { "role", "at", "window", NULL };
        struct loader_path ep[1], p[1], ap[1];
        const cJSON *e, *f, *a;
        size_t i = 0;

        if (!loader_expect_array(L, v, path))
                return;
        if (cJSON_GetArraySize(v) == 0)
                return;
        h->schedule = xcalloc((size_t)cJSON_GetArraySize(v), sizeof(struct schedule_entry));
        for (e = v->child; e; e = e->next) {
                struct schedule_entry *s;
                size_t k = 0;

                loader_path_index(ep, path, i++);
                if (!loader_expect_object(L, e, ep))
                        continue;
                loader_check_keys(L, e, ep, keys, NULL, true);
                s = &h->schedule[h->n_schedule++];
                s->role = ROLE_INVALID;
                if ((f = loader_field(L, e, ep, "role", true, p)) &&
                    loader_get_role(L, f, p, &s->role) && s->role >= TEAM_ROLES)
                        loader_error(L, p,
                                     "role \"%s\" is not a team role (community, medical, police)",
                                     role_to_string(s->role));
                if ((f = loader_field(L, e, ep, "window", true, p)))
                        loader_get_duration(L, f, p, true, &s->window_usec);
                if (!(f = loader_field(L, e, ep, "at", true, p)) || !loader_expect_array(L, f, p))
                        continue;
                if (cJSON_GetArraySize(f) == 0) {
                        loader_error(L, p, "must not be empty");
                        continue;
                }
                s->at_min = xcalloc((size_t)cJSON_GetArraySize(f), sizeof(int));
                for (a = f->child; a; a = a->next) {
                        if (loader_get_time_of_day(L, a, loader_path_index(ap, p, k++), false,
                                                   &s->at_min[s->n_at]))
                                s->n_at++;
                }
        }
        intern_schedule(L, h, h->schedule, h->n_schedule);
}

static void parse_team(struct loader *L, struct household *h, const cJSON *v,
                       const struct loader_path *path)
{
        static const char *const keys[] = { "community", "medical", "police", NULL };
        struct loader_path p[1];

        if (!loader_expect_object(L, v, path))
                return;
        loader_check_keys(L, v, path, keys, NULL, true);
        for (int r = 0; r < TEAM_ROLES; r++) {
                const cJSON *f = loader_field(L, v, path, role_to_string((enum role)r), true, p);
                struct worker *w = f ? loader_get_worker_ref(L, f, p) : NULL;

                if (!w || !loader_check_worker_role(L, w, (enum role)r, p))
                        continue;
                h->team[r] = w;
                loader_warn_other_community(L, w, h->community_id, p);
        }
}

static void parse_device(struct loader *L, const cJSON *o, const struct loader_path *path,
                         size_t hh)
{
        static const char *const keys[] = { "id",     "kind",          "source",
                                            "invert", "offline_after", "battery_low_mv",
                                            NULL };
        struct config *cfg = L->cfg;
        const struct adapter *a = NULL;
        struct device *d;
        struct loader_path p[1];
        const cJSON *v;
        size_t i, first;
        const char *s;

        if (!loader_expect_object(L, o, path))
                return;
        i = cfg->n_devices;
        GROW(cfg->devices, i, L->cap_devices);
        GROW(L->device_household, i, L->cap_device_household);
        d = &cfg->devices[i];
        *d = (struct device){ .kind = DEVICE_KIND_INVALID,
                              .battery_low_mv = CONFIG_BATTERY_LOW_MV_DEFAULT,
                              .index = i };
        L->device_household[i] = (uint32_t)hh;
        cfg->n_devices++;
        cfg->households[hh].n_devices++;

        if ((v = loader_field(L, o, path, "source", true, p)) && (s = loader_get_str(L, v, p))) {
                a = adapter_find(s);
                if (!a)
                        loader_error(L, p, "unknown source \"%s\"", s);
        }
        /* Without a known adapter, its addressing keys cannot be judged. */
        loader_check_keys(L, o, path, keys, a ? a->keys : NULL, a != NULL);
        if ((v = loader_field(L, o, path, "id", true, p)) &&
            loader_get_string(L, v, p, LOADER_STR_ID | LOADER_STR_SHARED, &d->id) &&
            idmap_put(cfg->device_by_id, i, &first) == HASHMAP_E_EXISTS) {
                loader_error(L, p, "duplicate device id \"%s\" (first in %s)", d->id,
                             L->hh_files[L->household_file[L->device_household[first]]]);
        }
        if ((v = loader_field(L, o, path, "kind", true, p)) && (s = loader_get_str(L, v, p))) {
                d->kind = device_kind_from_string(s);
                if (d->kind == DEVICE_KIND_INVALID)
                        loader_error(
                            L, p,
                            "unknown device kind \"%s\" (expected door_contact, doorbell or "
                            "camera)",
                            s);
        }
        if ((v = loader_field(L, o, path, "invert", false, p)))
                loader_get_bool(L, v, p, &d->invert);
        if ((v = loader_field(L, o, path, "offline_after", false, p)))
                loader_get_duration(L, v, p, true, &d->offline_after_usec);
        if ((v = loader_field(L, o, path, "battery_low_mv", false, p)))
                loader_get_int(L, v, p, 0, 60000, &d->battery_low_mv);
        d->adapter = a;
        /* Adapters may rely on the common fields, so they only see entries that have them. */
        if (a && a->parse_device && d->id && d->kind != DEVICE_KIND_INVALID) {
                size_t before = L->diag->n_errors;
                char buf[LOADER_PATH_MAX];

                if (a->parse_device(d, o, L->file, loader_path_format(path, buf), L->diag) < 0 &&
                    L->diag->n_errors == before)
                        loader_error(L, path, "rejected by the %s adapter", a->name);
        }
}

static void parse_household(struct loader *L, const cJSON *o, const struct loader_path *path,
                            size_t file)
{
        static const char *const keys[] = { "id",          "community", "address",
                                            "observation", "team",      "schedule",
                                            "devices",     "policy",    NULL };
        static const char *const obs_keys[] = { "start", "end", NULL };
        struct config *cfg = L->cfg;
        struct household *h;
        struct loader_path p[1], op[1];
        const cJSON *v, *f;
        size_t i, k = 0, first;
        bool start_ok = false, end_ok = false;

        if (!loader_expect_object(L, o, path))
                return;
        loader_check_keys(L, o, path, keys, NULL, true);
        i = cfg->n_households;
        GROW(cfg->households, i, L->cap_households);
        GROW(L->household_file, i, L->cap_household_file);
        h = &cfg->households[i];
        *h = (struct household){ .index = i };
        L->household_file[i] = (uint32_t)file;
        cfg->n_households++;

        if ((v = loader_field(L, o, path, "id", true, p)) &&
            loader_get_string(L, v, p, LOADER_STR_ID | LOADER_STR_SHARED, &h->id) &&
            idmap_put(cfg->household_by_id, i, &first) == HASHMAP_E_EXISTS)
                loader_error(L, p, "duplicate household id \"%s\" (first in %s)", h->id,
                             L->hh_files[L->household_file[first]]);
        if ((v = loader_field(L, o, path, "community", true, p)) &&
            loader_get_string(L, v, p, LOADER_STR_ID | LOADER_STR_SHARED, &h->community_id)) {
                /* The community's own copy, not one per household (interning may move the
                 * communities array: index it afterwards). */
                size_t ci = loader_community_intern(L, h->community_id);
                h->community_id = cfg->communities[ci].id;
        }
        if ((v = loader_field(L, o, path, "address", true, p)))
                loader_get_string(L, v, p, LOADER_STR_SHARED, &h->address);
        if ((v = loader_field(L, o, path, "observation", true, p)) &&
            loader_expect_object(L, v, p)) {
                loader_check_keys(L, v, p, obs_keys, NULL, true);
                if ((f = loader_field(L, v, p, "start", true, op)))
                        start_ok = loader_get_instant(L, f, op, &h->obs_start_usec);
                /* "end": null: open-ended, until an end is set (an extended observation). */
                if ((f = loader_field(L, v, p, "end", true, op)) && cJSON_IsNull(f)) {
                        h->obs_end_usec = OBSERVATION_OPEN_END;
                        end_ok = true;
                } else if (f)
                        end_ok = loader_get_instant(L, f, op, &h->obs_end_usec);
                if (start_ok && end_ok && h->obs_start_usec >= h->obs_end_usec)
                        loader_error(L, p, "start must be before end");
        }
        if ((v = loader_field(L, o, path, "team", true, p)))
                parse_team(L, h, v, p);
        if ((v = loader_field(L, o, path, "schedule", false, p)))
                parse_schedule(L, h, v, p);
        if ((v = loader_field(L, o, path, "policy", false, p))) {
                h->policy = xcalloc(1, sizeof(*h->policy));
                *h->policy = cfg->policy;
                settings_parse_policy(L, v, p, h->policy, true);
        }
        if ((v = loader_field(L, o, path, "devices", false, p)) && loader_expect_array(L, v, p)) {
                for (f = v->child; f; f = f->next)
                        parse_device(L, f, loader_path_index(op, p, k++), i);
        }
        /* A household without devices is fine here (an import adds households before the
         * installers come): --check-config lists those under observation, in one line. */
}

static void load_households_file(struct loader *L, const char *name)
{
        _cleanup_loader_doc_ struct loader_doc doc = { L, NULL };
        const cJSON *root;
        struct loader_path p[1];
        const cJSON *e;
        size_t i = 0, file = L->n_hh_files;

        GROW(L->hh_files, L->n_hh_files, L->cap_hh_files);
        L->hh_files[L->n_hh_files++] = xstrdup(name);
        root = doc.root = loader_read_json(L, L->hh_files[file]);
        if (!root || !loader_expect_array(L, root, NULL))
                return;
        for (e = root->child; e; e = e->next)
                parse_household(L, e, loader_path_index(p, NULL, i++), file);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

void registry_load_households(struct loader *L)
{
        _cleanup_free_ char *dpath = path_join(L->cfg->dir, "households.d");
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        DIR *d;

        load_households_file(L, "households.json");
        if (!dpath)
                abort();
        d = opendir(dpath);
        if (!d) {
                if (errno != ENOENT) {
                        L->file = "households.d";
                        loader_error(L, NULL, "cannot read: %s", strerror(errno));
                }
                return;
        }
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);
                if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
                        continue;
                GROW(names, n, cap);
                if (asprintf(&names[n], "households.d/%s", de->d_name) < 0)
                        abort();
                n++;
        }
        closedir(d);
        if (n > 0)
                qsort(names, n, sizeof(char *), cmp_str);
        for (size_t i = 0; i < n; i++)
                load_households_file(L, names[i]);
        free_strv(names, n);
}

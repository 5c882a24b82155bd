/* config_load.c: config_load() (declared in config.h): reads and validates the
 * configuration directory (DESIGN.md §3) and links its records.
 *
 * Files are read in a fixed order through one struct loader (loader.h): doorwatch.json
 * (settings.c), workers.json, households.json, households.d/ *.json in name order,
 * byte-wise, optional (registry.c) and rosters.json (rosters.c). Each document is parsed,
 * validated and copied into struct config, then dropped before the next one is read, so
 * peak memory is the config plus the largest single file (a city-sized registry should be
 * split into households.d/ files, e.g. one per community). Validation never stops at the
 * first problem: every error is one line "file: json.path: message" in the caller's
 * struct config_diag, and config_load() returns -EINVAL when there was any. Workers are
 * loaded before households and rosters so team, shift and list references are checked as
 * they are read; when a file could not be read at all, references into it are not checked
 * (no cascade of "unknown worker" lines).
 *
 * Records are appended to growable arrays while loading, so pointers between records that
 * may move (households, devices, communities) are only set by link_config() at the end;
 * until then the id maps hold index + 1 instead of pointers. Workers are allocated once
 * (the size of workers.json's array), so team/shift/list pointers to workers are set
 * directly. Every household's per-record arrays are owned by that record; there are no
 * per-household maps. Lookups are hash maps keyed by the records' own id strings.
 * cfg->communities lists rosters.json's communities in file order, then those only named
 * by workers or households, in order of first use.
 *
 * config_load(NULL, ...) reads /etc/doorwatch; a relative dir is made absolute (against the
 * working directory) so resolved paths survive a chdir().
 *
 * Memory at city size (100,000 households, 200,000 devices): the strings of households and
 * devices (ids, addresses) and the schedules they share live in cfg->arena (freed whole), a
 * household's community_id is its community's own id string, a device's source the
 * adapter's name, every household's device list is a slice of one array, and the record
 * arrays are trimmed to their length before link_config() points into them. Allocation
 * failure aborts (loader.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "loader.h"
#include "registry.h"
#include "rosters.h"
#include "settings.h"
#include "util.h"

#define CONFIG_DEFAULT_DIR "/etc/doorwatch"

/* Ids and addresses of a city-sized registry are hundreds of thousands of short strings;
 * a malloc'd copy of each costs its length rounded up plus a header (a 13-byte id takes
 * 32 bytes). They are never freed one by one, so they go to cfg->arena, packed, in blocks
 * of this size. */
#define CONFIG_ARENA_BLOCK ((size_t)64 << 10)

static void config_freep(struct config **c)
{
        config_free(*c);
}

/* The keys of the id maps, read from the arrays as they are now (they grow while loading). */
static const char *household_key(const void *userdata, size_t i)
{
        return ((const struct config *)userdata)->households[i].id;
}

static const char *device_key(const void *userdata, size_t i)
{
        return ((const struct config *)userdata)->devices[i].id;
}

/* ---- linking ---- */

/* Sets the pointers between records once no array moves any more. Communities are put in
 * rosters.json order, then the others in order of first use (workers, households). */
/* Shrinks a grown array to n elements (it may stay as it is). */
static void *trim_array(void *p, size_t n, size_t elem)
{
        void *q = n ? realloc(p, n * elem) : NULL;
        return q ? q : p;
}

static void link_config(struct loader *L)
{
        struct config *cfg = L->cfg;
        struct community *cs = xcalloc(cfg->n_communities, sizeof(struct community));
        size_t k = L->n_rosters_communities;
        struct loader_path p[1], cp[1];

        /* Nothing points into the record arrays yet: give back what growing them left over. */
        cfg->households = trim_array(cfg->households, cfg->n_households, sizeof(struct household));
        cfg->devices = trim_array(cfg->devices, cfg->n_devices, sizeof(struct device));

        for (size_t i = 0; i < cfg->n_communities; i++) {
                long pos = L->community_rosters_pos[i];
                cs[pos >= 0 ? (size_t)pos : k++] = cfg->communities[i];
        }
        free(cfg->communities);
        cfg->communities = cs;
        hashmap_free(cfg->community_by_id);
        cfg->community_by_id = hashmap_new(cfg->n_communities);
        for (size_t i = 0; i < cfg->n_communities; i++) {
                cs[i].index = i;
                hashmap_put(cfg->community_by_id, cs[i].id, &cs[i]);
        }

        for (size_t i = 0; i < cfg->n_workers; i++) {
                struct worker *w = &cfg->workers[i];
                w->community = config_community(cfg, w->community_id);
        }

        for (size_t i = 0; i < cfg->n_households; i++) {
                struct household *h = &cfg->households[i];
                h->community = config_community(cfg, h->community_id);
                if (h->community)
                        h->community->n_households++;
                h->n_devices = 0;
        }
        for (size_t i = 0; i < cfg->n_communities; i++) {
                cs[i].households = xcalloc(cs[i].n_households, sizeof(struct household *));
                cs[i].n_households = 0;
        }
        for (size_t i = 0; i < cfg->n_households; i++) {
                struct household *h = &cfg->households[i];
                if (h->community)
                        h->community->households[h->community->n_households++] = h;
        }

        for (size_t i = 0; i < cfg->n_devices; i++) {
                struct device *d = &cfg->devices[i];
                struct household *h = &cfg->households[L->device_household[i]];
                d->household = h;
                /* A household's devices are read one after the other (parse_household()), so
                 * each household's list is a slice of the array in registry order. */
                if (h->n_devices++ == 0)
                        h->devices = d;
        }

        /* One id, one principal: the broker's ACLs use these ids as user names, so a device
         * named like a worker would carry the worker's rights (and a worker like a
         * household, the household's). */
        for (size_t i = 0; i < cfg->n_devices; i++) {
                const struct device *d = &cfg->devices[i];
                L->file = "households.json";
                if (config_worker(cfg, d->id))
                        loader_error(L, NULL,
                                     "device id \"%s\" is also a worker's id (ids must "
                                     "be unique across devices, workers and households)",
                                     d->id);
                if (config_household(cfg, d->id))
                        loader_error(L, NULL,
                                     "device id \"%s\" is also a household's id (ids must "
                                     "be unique across devices, workers and households)",
                                     d->id);
        }
        for (size_t i = 0; i < cfg->n_workers; i++) {
                const struct worker *w = &cfg->workers[i];
                L->file = "workers.json";
                if (config_household(cfg, w->id))
                        loader_error(L, NULL,
                                     "worker id \"%s\" is also a household's id (ids must "
                                     "be unique across devices, workers and households)",
                                     w->id);
        }

        L->file = "rosters.json";
        for (size_t i = 0; i < cfg->n_communities; i++)
                if (cs[i].n_households > 0 && !cs[i].leader && L->workers_ok)
                        loader_warn(
                            L,
                            loader_path_key(p, loader_path_key(cp, NULL, "communities"), cs[i].id),
                            "community has %zu household(s) but no leader", cs[i].n_households);
}

static char *absolute_dir(const char *dir)
{
        char *r, cwd[4096];
        size_t n;

        if (dir[0] == '/' || !getcwd(cwd, sizeof(cwd)))
                r = xstrdup(dir);
        else if (strcmp(dir, ".") == 0)
                r = xstrdup(cwd);
        else if (asprintf(&r, "%s/%s", cwd, dir) < 0)
                abort();
        n = strlen(r);
        while (n > 1 && r[n - 1] == '/')
                r[--n] = 0;
        return r;
}

static int load(const char *dir, bool settings_only, struct config **ret, struct config_diag *diag)
{
        _cleanup_(config_freep) struct config *cfg = NULL;
        struct config_diag local = { 0 };
        struct loader L = { 0 };
        size_t errors_before;

        if (!diag)
                diag = &local;
        errors_before = diag->n_errors;
        cfg = xcalloc(1, sizeof(*cfg));
        cfg->arena = ARENA_INIT(CONFIG_ARENA_BLOCK, CONFIG_ARENA_BLOCK);
        cfg->dir = absolute_dir(dir ? dir : CONFIG_DEFAULT_DIR);
        cfg->worker_by_id = hashmap_new(64);
        cfg->household_by_id = idmap_new(256, household_key, cfg);
        cfg->device_by_id = idmap_new(512, device_key, cfg);
        cfg->community_by_id = hashmap_new(16);
        settings_defaults(cfg);
        L = (struct loader){
                .cfg = cfg,
                .diag = diag,
                .notifier_by_name = hashmap_new(16),
                .schedules = hashmap_new(16),
                .arena = LOADER_DOC_ARENA,
        };

        settings_load(&L);
        if (!settings_only) {
                registry_load_workers(&L);
                registry_load_households(&L);
                rosters_load(&L);
        }
        link_config(&L);
        idmap_shrink(cfg->household_by_id);
        idmap_shrink(cfg->device_by_id);
        hashmap_shrink(cfg->worker_by_id);

        hashmap_free(L.notifier_by_name);
        hashmap_free(L.schedules);
        free_strv(L.hh_files, L.n_hh_files);
        free(L.household_file);
        free(L.device_household);
        free(L.community_rosters_pos);
        arena_done(&L.arena);

        bool failed = diag->n_errors > errors_before;
        config_diag_done(&local);
        if (failed)
                return -EINVAL;
        *ret = cfg;
        cfg = NULL;
        return 0;
}

int config_load(const char *dir, struct config **ret, struct config_diag *diag)
{
        return load(dir, false, ret, diag);
}

int config_load_settings(const char *dir, struct config **ret, struct config_diag *diag)
{
        return load(dir, true, ret, diag);
}

/* config_load.c: loads and validates the configuration directory (DESIGN.md §3).
 *
 * Files are read in a fixed order: doorwatch.json, workers.json, households.json,
 * households.d/ *.json (name order, byte-wise; optional directory) and rosters.json.
 * Each document is parsed with cJSON, validated and copied into struct config, then freed
 * before the next one is read, so peak memory is the config plus the largest single file.
 * Validation never stops at the first problem: every error is one line
 * "file: json.path: message" in the caller's struct config_diag, and config_load() returns
 * -EINVAL when there was any. Workers are loaded before households and rosters so team,
 * shift and list references are checked as they are read; when a file could not be read at
 * all, references into it are not checked (no cascade of "unknown worker" lines).
 *
 * Records are appended to growable arrays while loading, so pointers between records that
 * may move (households, devices, communities) are only set by link_config() at the end;
 * until then the id maps hold index + 1 instead of pointers. Workers are allocated once
 * (the size of workers.json's array), so team/shift/list pointers to workers are set
 * directly. Every household's per-record arrays are owned by that record; there are no
 * per-household maps. Lookups are hash maps keyed by the records' own id strings.
 *
 * Keys and rules beyond the DESIGN.md §3 example (document them in doorwatch.json(5)):
 *   - Any object key starting with "//" is a comment and is ignored, in every file
 *     (also stripped from the notifier JSON kept for src/notify/).
 *   - doorwatch.json "retention" (default "30d"): purge a household's events and personal
 *     data this long after its observation ends.
 *   - doorwatch.json "policy.debounce" (default "2s"): repeats of the same door state from
 *     one device within this interval are treated as one event ("0s" disables).
 *   - doorwatch.json "policy.person_window" (default "2m"): a camera person leaving this
 *     close to an unexpected opening upgrades its alert to person_left.
 *   - households.json "policy" per household: overrides the rule keys of doorwatch.json's
 *     policy (handoff_ring_window, handoff_max_open, held_open_after, checkin_grace,
 *     resident_reports_per_day, pass_overdue_after, person_window, debounce) for it.
 *   - A notifier named "mqtt" of type "mqtt" exists implicitly when not configured; a worker
 *     without "channels" gets ["mqtt"]. A worker naming a group notifier (wecom, dingtalk,
 *     feishu, webhook) in "channels" gets a warning: group notifiers choose by community.
 *   - doorwatch.json "outbox": {"dead_after": "1h", "max_attempts": 20, "retry_base": "2s",
 *     "retry_max": "10m"}: a notification whose sends keep failing is dead-lettered once it
 *     is older than dead_after or failed max_attempts times (0 = no limit on attempts);
 *     retries wait retry_base * 2^n, capped at retry_max, with jitter.
 *   - doorwatch.json "monitoring_gap_after" (default "2m"): broker unreachable this long ->
 *     monitoring_gap to the command centre and admins over non-MQTT channels.
 *   - doorwatch.json "templates": per-kind text overrides, checked by notify/template.c and
 *     kept (comments stripped) as cfg->templates. Notifier entries themselves are checked
 *     by notify_check_config() (doorwatchd --check-config, daemon start), not here: that
 *     reads secret files, which doorwatchctl's users may not be allowed to read.
 *   - Ids (workers, households, devices, communities) are 1..128 bytes without whitespace,
 *     control characters, '/', '+' or '#' (they are used in MQTT topics).
 *   - A shift's "to" may be "24:00" (midnight at the end of the day it starts).
 *   - mqtt.keepalive is 5s..65535s; mqtt.tls.cert_file and key_file are set together.
 *   - A UTF-8 byte order mark at the start of a file is skipped (spreadsheet exports).
 *   - "0s" is accepted for policy.checkin_grace, ack_absorb, pass_overdue_after,
 *     max_clock_skew and debounce; every other duration must be greater than 0.
 *   - config_load(NULL, ...) reads /etc/doorwatch; a relative dir is made absolute (against
 *     the working directory) so resolved paths survive a chdir().
 *   - cfg->communities lists rosters.json's communities in file order, then those only
 *     named by workers or households, in order of first use.
 *   - One document is held in memory at a time: a city-sized registry should be split into
 *     households.d/ files (e.g. one per community) rather than one huge households.json.
 *
 * Memory at city size (100,000 households, 200,000 devices): the strings of households and
 * devices (ids, addresses) live in one bump allocator (`arena`, freed whole), a household's
 * community_id is its community's own id string, a device's source the adapter's name,
 * every household's device list is a slice of one array, and the record arrays are trimmed
 * to their length before link_config() points into them. */
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

int config_load(const char *dir, struct config **ret, struct config_diag *diag)
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
        registry_load_workers(&L);
        registry_load_households(&L);
        rosters_load(&L);
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

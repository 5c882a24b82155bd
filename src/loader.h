/* loader.h: what the readers of the configuration files (settings.c, registry.c,
 * rosters.c, driven by config_load.c) share: struct loader, the state of one config_load()
 * run; JSON paths, built on the stack and formatted only when a message needs one; reading
 * a file into a parsed document; typed getters that report every problem as
 * "file: json.path: message" and return whether the value was good, so a reader goes on
 * after an error and one run lists them all.
 *
 * Rules shared by every file (document them in doorwatch.json(5)):
 *   - Any object key starting with "//" is a comment and is ignored.
 *   - Unknown keys and duplicate keys are errors.
 *   - Ids (workers, households, devices, communities) are 1..128 bytes without whitespace,
 *     control characters, '/', '+' or '#' (they are used in MQTT topics).
 *   - A UTF-8 byte order mark at the start of a file is skipped (spreadsheet exports).
 *
 * Errors: an invalid configuration is reported, never returned; allocation failure aborts
 * everywhere in the loader (xstrdup(), xcalloc(), GROW(), arena_alloc(), the hash maps),
 * so no reader has a failure path of its own. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "config.h"
#include "hashmap.h"
#include "util.h"

#define LOADER_PATH_MAX 256 /* longest JSON path in a message; longer ones are cut */
#define LOADER_ID_MAX   128

/* The state of one config_load() run. config_load.c creates and frees it; the readers
 * fill in what later files and the linking need. */
struct loader {
        struct config *cfg;
        struct config_diag *diag;
        const char *file;                 /* name used in messages, relative to the config dir */
        bool workers_ok;                  /* workers.json was read: worker references are checked */
        bool notifiers_ok;                /* doorwatch.json was read (settings.c) */
        struct hashmap *notifier_by_name; /* name -> index + 1 (settings.c) */
        size_t cap_notifiers, cap_households, cap_devices, cap_communities;
        /* Names of household files, for "first in ..." in duplicate messages (registry.c). */
        char **hh_files;
        size_t n_hh_files, cap_hh_files;
        uint32_t *household_file; /* per household: index into hh_files */
        size_t cap_household_file;
        uint32_t *device_household; /* per device: index of its household */
        size_t cap_device_household;
        long *community_rosters_pos; /* per community: position in rosters.json or -1 */
        size_t cap_community_rosters_pos;
        size_t n_rosters_communities;
        struct hashmap *schedules; /* a schedule's text form -> its shared entries */
        struct arena arena;        /* the document being read (LOADER_DOC_ARENA) */
};

/* The arena of struct loader: documents are parsed into blocks of 1 MiB, doubling up to
 * 64 MiB, reused from one file to the next (see loader.c). */
#define LOADER_DOC_ARENA ARENA_INIT((size_t)1 << 20, (size_t)64 << 20)

/* ---- documents ---- */

/* A parsed document; dropping it resets the arena. */
struct loader_doc {
        struct loader *L;
        cJSON *root;
};

void loader_doc_done(struct loader_doc *d);
#define _cleanup_loader_doc_ _cleanup_(loader_doc_done)

/* Reads and parses `name` (relative to the config dir; it becomes L->file for messages)
 * into L->arena. NULL after reporting why not (unreadable, a directory, a syntax error
 * with its line, a NUL byte). Hand the result to a struct loader_doc. */
cJSON *loader_read_json(struct loader *L, const char *name);

/* ---- JSON paths and messages ---- */

/* A JSON path as a chain of stack frames: formatted only when a message needs it. */
struct loader_path {
        const struct loader_path *up; /* NULL: the document root */
        const char *key;              /* NULL: an array element */
        size_t index;
};

/* Fill out[0] as base.key or base[i] and return it, for use as an argument. */
struct loader_path *loader_path_key(struct loader_path out[static 1],
                                    const struct loader_path *base, const char *key);
struct loader_path *loader_path_index(struct loader_path out[static 1],
                                      const struct loader_path *base, size_t i);
/* `mqtt.port`, `[3].team.police`, `notifiers["a.b"].type`; an over-long path is cut
 * with "...". */
const char *loader_path_format(const struct loader_path *p, char buf[static LOADER_PATH_MAX]);

/* "L->file: path: message" into L->diag (path NULL: the whole file). */
void loader_error(struct loader *L, const struct loader_path *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void loader_warn(struct loader *L, const struct loader_path *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- objects and keys ---- */

bool loader_is_comment(const char *key); /* "//..." */
/* Whether key is in the NULL-terminated list. */
bool loader_key_in(const char *const *list, const char *key);
/* Reports duplicate keys of obj, and keys in neither list unless check_unknown is false. */
void loader_check_keys(struct loader *L, const cJSON *obj, const struct loader_path *path,
                       const char *const *allowed, const char *const *extra, bool check_unknown);
/* Member `key` of obj (NULL when absent, reported when required); writes its path to p. */
const cJSON *loader_field(struct loader *L, const cJSON *obj, const struct loader_path *path,
                          const char *key, bool required, struct loader_path p[static 1]);
bool loader_expect_object(struct loader *L, const cJSON *v, const struct loader_path *path);
bool loader_expect_array(struct loader *L, const cJSON *v, const struct loader_path *path);

/* ---- values: each reports what is wrong with v and returns false (NULL) ---- */

enum {
        LOADER_STR_NULLABLE = 1 << 0, /* null is accepted and stored as NULL */
        LOADER_STR_ID = 1 << 1,       /* must be a valid id */
        LOADER_STR_SHARED = 1 << 2,   /* the copy goes to cfg->arena (*out must be NULL) */
};

/* v's string, valid as long as the document. */
const char *loader_get_str(struct loader *L, const cJSON *v, const struct loader_path *path);
/* Replaces *out with a copy of the string v, which must not be empty (flags above). */
bool loader_get_string(struct loader *L, const cJSON *v, const struct loader_path *path,
                       unsigned flags, char **out);
bool loader_id_valid(const char *s); /* see the rules above; reports nothing */
/* A duration with a unit ("90s"); positive: "0s" is refused. */
bool loader_get_duration(struct loader *L, const cJSON *v, const struct loader_path *path,
                         bool positive, int64_t *out);
bool loader_get_int(struct loader *L, const cJSON *v, const struct loader_path *path, int min,
                    int max, int *out);
bool loader_get_bool(struct loader *L, const cJSON *v, const struct loader_path *path, bool *out);
/* "HH:MM" as minutes after midnight; allow_24: "24:00" too. */
bool loader_get_time_of_day(struct loader *L, const cJSON *v, const struct loader_path *path,
                            bool allow_24, int *out);
/* An RFC 3339 instant. */
bool loader_get_instant(struct loader *L, const cJSON *v, const struct loader_path *path,
                        int64_t *out);
bool loader_get_role(struct loader *L, const cJSON *v, const struct loader_path *path,
                     enum role *out);

/* ---- references between records ---- */

/* The worker v names: NULL when v is not a string or names nobody (reported), or when
 * workers.json could not be read (not reported: no cascade). */
struct worker *loader_get_worker_ref(struct loader *L, const cJSON *v,
                                     const struct loader_path *path);
/* Reports a worker whose role differs from the one the reference needs. */
bool loader_check_worker_role(struct loader *L, const struct worker *w, enum role role,
                              const struct loader_path *path);
/* Warns when w is not of `community` (NULL: no check). */
void loader_warn_other_community(struct loader *L, const struct worker *w, const char *community,
                                 const struct loader_path *path);
/* Index of community `id` in cfg->communities, created on first use. */
size_t loader_community_intern(struct loader *L, const char *id);

/* The id maps of the loader hold index + 1 (never NULL) until config_load.c links. */
static inline void *loader_idx_ptr(size_t i)
{
        return (void *)(uintptr_t)(i + 1);
}

static inline size_t loader_ptr_idx(const void *p)
{
        return (size_t)(uintptr_t)p - 1;
}

/* loader.h: what the readers of the configuration files share: the state of one
 * config_load() run, JSON paths for messages, reading a file into a parsed document, and
 * typed getters that report every problem as "file: json.path: message". */
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

struct loader {
        struct config *cfg;
        struct config_diag *diag;
        const char *file; /* name used in messages, relative to the config dir */
        bool workers_ok;  /* workers.json was read: worker references are checked */
        bool notifiers_ok;
        struct hashmap *notifier_by_name; /* name -> index + 1 */
        size_t cap_notifiers, cap_households, cap_devices, cap_communities;
        /* Names of household files, for "first in ..." in duplicate messages. */
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

/* A parsed document; dropping it resets the arena. */
struct loader_doc {
        struct loader *L;
        cJSON *root;
};

void loader_doc_done(struct loader_doc *d);
#define _cleanup_loader_doc_ _cleanup_(loader_doc_done)

/* A JSON path as a chain of stack frames: formatted only when a message needs it. */
struct loader_path {
        const struct loader_path *up; /* NULL: the document root */
        const char *key;              /* NULL: an array element */
        size_t index;
};

static inline void *loader_idx_ptr(size_t i)
{
        return (void *)(uintptr_t)(i + 1);
}

static inline size_t loader_ptr_idx(const void *p)
{
        return (size_t)(uintptr_t)p - 1;
}

enum {
        LOADER_STR_NULLABLE = 1 << 0, /* null is accepted and stored as NULL */
        LOADER_STR_ID = 1 << 1,       /* must be a valid id */
        LOADER_STR_SHARED = 1 << 2,   /* the copy goes to cfg->arena (*out must be NULL) */
};

bool loader_is_comment(const char *key);
struct loader_path *loader_path_key(struct loader_path out[static 1],
                                    const struct loader_path *base, const char *key);
struct loader_path *loader_path_index(struct loader_path out[static 1],
                                      const struct loader_path *base, size_t i);
const char *loader_path_format(const struct loader_path *p, char buf[static LOADER_PATH_MAX]);
void loader_error(struct loader *L, const struct loader_path *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void loader_warn(struct loader *L, const struct loader_path *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool loader_key_in(const char *const *list, const char *key);
void loader_check_keys(struct loader *L, const cJSON *obj, const struct loader_path *path,
                       const char *const *allowed, const char *const *extra, bool check_unknown);
const cJSON *loader_field(struct loader *L, const cJSON *obj, const struct loader_path *path,
                          const char *key, bool required, struct loader_path p[static 1]);
bool loader_expect_object(struct loader *L, const cJSON *v, const struct loader_path *path);
bool loader_expect_array(struct loader *L, const cJSON *v, const struct loader_path *path);
const char *loader_get_str(struct loader *L, const cJSON *v, const struct loader_path *path);
bool loader_id_valid(const char *s);
bool loader_get_string(struct loader *L, const cJSON *v, const struct loader_path *path,
                       unsigned flags, char **out);
bool loader_get_duration(struct loader *L, const cJSON *v, const struct loader_path *path,
                         bool positive, int64_t *out);
bool loader_get_int(struct loader *L, const cJSON *v, const struct loader_path *path, int min,
                    int max, int *out);
bool loader_get_bool(struct loader *L, const cJSON *v, const struct loader_path *path, bool *out);
bool loader_get_time_of_day(struct loader *L, const cJSON *v, const struct loader_path *path,
                            bool allow_24, int *out);
bool loader_get_instant(struct loader *L, const cJSON *v, const struct loader_path *path,
                        int64_t *out);
bool loader_get_role(struct loader *L, const cJSON *v, const struct loader_path *path,
                     enum role *out);
struct worker *loader_get_worker_ref(struct loader *L, const cJSON *v,
                                     const struct loader_path *path);
bool loader_check_worker_role(struct loader *L, const struct worker *w, enum role role,
                              const struct loader_path *path);
void loader_warn_other_community(struct loader *L, const struct worker *w, const char *community,
                                 const struct loader_path *path);
size_t loader_community_intern(struct loader *L, const char *id);
cJSON *loader_read_json(struct loader *L, const char *name);

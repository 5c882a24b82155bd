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

#define JP_MAX 256 /* longest JSON path in a message; longer ones are cut */
#define ID_MAX 128

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
struct doc {
        struct loader *L;
        cJSON *root;
};

void doc_done(struct doc *d);
#define _cleanup_doc_ _cleanup_(doc_done)

/* A JSON path as a chain of stack frames: formatted only when a message needs it. */
struct jp {
        const struct jp *up; /* NULL: the document root */
        const char *key;     /* NULL: an array element */
        size_t index;
};

#define ERR(L, path, ...)  loader_msg((L), false, (path), __VA_ARGS__)
#define WARN(L, path, ...) loader_msg((L), true, (path), __VA_ARGS__)

static inline void *idx_ptr(size_t i)
{
        return (void *)(uintptr_t)(i + 1);
}

static inline size_t ptr_idx(const void *p)
{
        return (size_t)(uintptr_t)p - 1;
}

enum {
        STR_NULLABLE = 1 << 0, /* null is accepted and stored as NULL */
        STR_ID = 1 << 1,       /* must be a valid id */
        STR_SHARED = 1 << 2,   /* the copy goes to cfg->arena (*out must be NULL) */
};

bool is_comment(const char *key);
struct jp *jp_key(struct jp out[static 1], const struct jp *base, const char *key);
struct jp *jp_index(struct jp out[static 1], const struct jp *base, size_t i);
const char *jp_format(const struct jp *p, char buf[static JP_MAX]);
void loader_msg(struct loader *L, bool warning, const struct jp *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
bool key_in(const char *const *list, const char *key);
void check_keys(struct loader *L, const cJSON *obj, const struct jp *path,
                const char *const *allowed, const char *const *extra, bool check_unknown);
const cJSON *field(struct loader *L, const cJSON *obj, const struct jp *path, const char *key,
                   bool required, struct jp p[static 1]);
bool expect_object(struct loader *L, const cJSON *v, const struct jp *path);
bool expect_array(struct loader *L, const cJSON *v, const struct jp *path);
const char *get_str(struct loader *L, const cJSON *v, const struct jp *path);
bool id_valid(const char *s);
bool get_string(struct loader *L, const cJSON *v, const struct jp *path, unsigned flags,
                char **out);
bool get_duration(struct loader *L, const cJSON *v, const struct jp *path, bool positive,
                  int64_t *out);
bool get_int(struct loader *L, const cJSON *v, const struct jp *path, int min, int max, int *out);
bool get_bool(struct loader *L, const cJSON *v, const struct jp *path, bool *out);
bool get_time_of_day(struct loader *L, const cJSON *v, const struct jp *path, bool allow_24,
                     int *out);
bool get_instant(struct loader *L, const cJSON *v, const struct jp *path, int64_t *out);
bool get_role(struct loader *L, const cJSON *v, const struct jp *path, enum role *out);
struct worker *get_worker_ref(struct loader *L, const cJSON *v, const struct jp *path);
bool check_worker_role(struct loader *L, const struct worker *w, enum role role,
                       const struct jp *path);
void warn_other_community(struct loader *L, const struct worker *w, const char *community,
                          const struct jp *path);
size_t community_intern(struct loader *L, const char *id);
cJSON *read_json(struct loader *L, const char *name);

/* import-internal.h: what the parts of the import share (import.c: results, the indexes
 * of the documents, finding communities and workers, cell values; import_households.c,
 * import_workers.c, import_shifts.c: one kind of sheet each). Not for other modules. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "import.h"
#include "loader.h"
#include "util.h"

#define IMPORT_MAX_VISITS   16
#define IMPORT_VISIT_WINDOW "30m"
#define IMPORT_HINT_DATE                                                                           \
        "2026-12-01, 2026/12/01 or 2026年12月1日, optionally with a time such as 08:00"

struct import_worker {
        const char *id, *name, *phone, *community;
        enum role role;
        cJSON *node;
};

struct import_household {
        const char *id, *community;
        size_t doc, index;
        cJSON *node;
        unsigned row; /* the row that listed it, 0: none */
};

struct import_community {
        const char *id, *name;
};

struct import_ctx {
        struct regdocs *docs;
        const struct sheet *sheet;
        const struct import_options *opt;
        struct import_result *res;
        struct import_worker *workers;
        size_t n_workers, cap_workers;
        struct import_household *households;
        size_t n_households, cap_households;
        struct import_community *communities;
        size_t n_communities, cap_communities;
        struct hashmap *hh_by_id; /* id -> index + 1 */
};

/* Indexes the documents' workers, households and communities into x; import_ctx_done()
 * frees the indexes. */
void import_index(struct import_ctx *x);
void import_ctx_done(struct import_ctx *x);

/* ---- results ---- */

/* A problem at the row's cell of `field` (-1: the whole row; r NULL: no row). */
void import_row_problem(struct import_ctx *x, bool warning, const struct csv_row *r, int field,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Records a change of record `id` (detail is taken over, may be NULL). */
void import_record_change(struct import_ctx *x, enum import_change_kind kind, const char *id,
                          char *detail, unsigned row);
/* Records that `path` of `file` came from `row` (see struct import_origin). */
void import_record_origin(struct import_ctx *x, const char *file, const char *path, unsigned row,
                          enum sheet_kind kind, int field);
/* Appends "; " and the text to a change's detail. */
void import_detail_add(struct sbuf *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- documents ---- */

const char *import_or(const char *s, const char *otherwise); /* s, or otherwise when NULL */
const char *import_jstr(const cJSON *o, const char *key);    /* a string member or NULL */
/* Replaces member `key` in place, or appends it. */
void import_set_member(cJSON *o, const char *key, cJSON *v);
/* rosters.json's object of the community, created (and touched) when missing. */
cJSON *import_rosters_community(struct import_ctx *x, const char *community);
/* "communities.<id>.<key>" as the loader writes it. */
void import_community_path(const char *community, const char *key,
                           char buf[static LOADER_PATH_MAX]);

/* ---- finding what cells name ---- */

/* The community a cell names: its id, its name, the name without or with "社区". A new
 * plain ASCII id is accepted with a warning. NULL after reporting why not. */
const char *import_find_community(struct import_ctx *x, const struct csv_row *r, int field,
                                  const char *cell);
/* The worker a cell names: its id; a phone number; a name with a phone in the cell or in
 * the column phone_field beside it; a name alone when it is unique (among several, the
 * one of `role`, then of `community`). NULL after reporting why not. */
const struct import_worker *import_find_worker(struct import_ctx *x, const struct csv_row *r,
                                               int field, const char *cell, int phone_field,
                                               enum role role, const char *community);
const struct import_worker *import_worker_by_id(struct import_ctx *x, const char *id);

/* ---- values ---- */

const char *import_format_instant(int64_t usec, char buf[static 40]); /* RFC 3339, local */
const char *import_format_short(int64_t usec, char buf[static 32]);   /* "2026-12-04 00:00" */
/* The row's cell of `field` as an instant (a date alone: its start, or for `end` the end
 * of the day); false after reporting an empty or unreadable cell. */
bool import_parse_instant_cell(struct import_ctx *x, const struct csv_row *r, int field, bool end,
                               int64_t *ret);
/* Sorts times (minutes) and drops duplicates; returns how many are left. */
size_t import_normalize_times(int *t, size_t n);
cJSON *import_times_json(const int *t, size_t n); /* ["09:00", "15:00"] */

/* ---- the kinds of sheet ---- */

void import_households_apply(struct import_ctx *x);
void import_workers_apply(struct import_ctx *x);
void import_shifts_apply(struct import_ctx *x);

/* import.h: a spreadsheet (struct sheet) merged into the registry documents (struct
 * regdocs): what `doorwatchctl import households|workers|shifts` does before it validates
 * the result with config_load() and writes it.
 *
 * households: a row updates the household with its id (only the columns the sheet has;
 *   devices, schedules of roles without a column, policy and comments are kept) or adds
 *   one (in the households file that holds most of its community, else households.json).
 *   Households of the communities the sheet covers that it does not list are left as
 *   they are and listed; with end_missing, those under observation now are ended now.
 * workers: a row updates the worker with its id or adds one. Without an id the worker is
 *   matched by phone, then by name in the community; a new one gets "w-" and 8 hex digits
 *   of a hash of community and name (of phone too when that collides), the same on every
 *   import. A role cell 值班领导 makes the worker the community's leader in rosters.json,
 *   指挥中心 adds them to the command centre (entries are added, never removed).
 * shifts: the rows of a community replace its shifts and dated covers (overrides) in
 *   rosters.json; communities the sheet does not name keep theirs.
 *
 * Team and shift cells name a worker by id, phone, or name (a name only when unique, or
 * matched by the phone column beside it). Every problem is collected, none stops the
 * merge; a row with a problem changes nothing. Pure: no I/O; the current time is an
 * argument; dates are read in the process time zone. Allocation failure aborts. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hashmap.h"
#include "regdocs.h"
#include "sheet.h"

struct import_problem {
        unsigned row; /* spreadsheet row; 0: the sheet or the registry as a whole */
        int col;      /* csv column, -1: the whole row */
        bool warning;
        char *message;
};

enum import_change_kind {
        IMPORT_ADDED,
        IMPORT_CHANGED,
        IMPORT_UNCHANGED,
        IMPORT_ENDED,      /* end_missing: not in the sheet, observation ended now */
        IMPORT_NOT_LISTED, /* not in the sheet, left as it is */
};

struct import_change {
        enum import_change_kind kind;
        char *id;     /* household or worker id, community for shifts */
        char *detail; /* what changed, for people; may be NULL */
        unsigned row;
};

/* A path of the candidate registry that came from a row: loader messages about it or
 * below it are reported at that row. */
struct import_origin {
        char *file;
        char *path; /* "[3]", "communities.yunjinlu.shifts[2]", "command[1]" */
        unsigned row;
        enum sheet_kind kind; /* how the rest of a path maps to columns */
        int field;            /* the cell the path itself is, or -1 (by the rest of the path) */
        char *key;            /* file "\x1f" path, the key of origin_by_key */
};

struct import_options {
        bool end_missing;
        int64_t now_usec;
};

struct import_result {
        struct import_problem *problems;
        size_t n_problems, cap_problems;
        size_t n_errors;
        struct import_change *changes;
        size_t n_changes, cap_changes;
        struct import_origin *origins;
        size_t n_origins, cap_origins;
        struct hashmap *origin_by_key; /* "file\x1fpath" -> index + 1 */
        size_t n_without_devices;      /* added households (they have no devices yet) */
};

/* Merges the sheet's rows into docs (touching what changes; see regdocs.h). Problems,
 * changes and origins go to *res (initialised here; free with import_result_done()).
 * Returns the number of errors. */
size_t import_apply(struct regdocs *docs, const struct sheet *sheet,
                    const struct import_options *opt, struct import_result *res);
void import_result_done(struct import_result *res);

/* A diagnostic line of config_load() ("file: path: message") about a path that came from
 * a row: true with the row, column (-1: none) and the message to show (owned by the
 * caller; the loader's path is added when no column stands for it). False when the line
 * concerns no row of the sheet. */
bool import_locate(const struct import_result *res, const struct sheet *sheet, const char *line,
                   unsigned *ret_row, int *ret_col, char **ret_message);

/* Sorts the problems by row and column, keeping the order of each cell's. */
void import_sort_problems(struct import_result *res);
/* Records a problem (printf-style message). */
void import_problem(struct import_result *res, bool warning, unsigned row, int col, const char *fmt,
                    ...) __attribute__((format(printf, 5, 6)));

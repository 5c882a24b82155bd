/* sheet.h: the office's spreadsheets (households, workers, shifts) as columns with a
 * meaning, and their cells as values: what `doorwatchctl import` reads and `export`
 * writes.
 *
 * A sheet is a struct csv whose header row (the first row, among the first ten that are
 * not blank, where two or more cells name known columns) names its columns in Chinese or
 * English (sheet_columns(), listed in the README); rows above it (a title) and blank rows
 * anywhere are skipped; columns with no place in the registry (the resident's name,
 * remarks) are ignored and listed once. Cells are trimmed (ASCII white space, U+3000, NBSP)
 * and a line break inside one becomes a space.
 *
 * Pure: no I/O; dates are read in the process time zone (timezone_set()). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "csv.h"

enum sheet_kind {
        SHEET_HOUSEHOLDS,
        SHEET_WORKERS,
        SHEET_SHIFTS,
        _SHEET_KIND_MAX,
        SHEET_KIND_INVALID = -1,
};

const char *sheet_kind_to_string(enum sheet_kind k); /* "households", "workers", "shifts" */
enum sheet_kind sheet_kind_from_string(const char *s);

/* The columns of each kind. Display columns (a team member's name beside their id) are
 * written by export for people and recognised, but not read, by import. */
enum sheet_field {
        /* households */
        SF_HH_ID,
        SF_HH_COMMUNITY,
        SF_HH_ADDRESS,
        SF_HH_START,
        SF_HH_END,
        SF_HH_TEAM_COMMUNITY, /* the team's three members: SF_HH_TEAM_COMMUNITY + role */
        SF_HH_TEAM_MEDICAL,
        SF_HH_TEAM_POLICE,
        SF_HH_PHONE_COMMUNITY, /* a phone beside a team member's name: SF_HH_PHONE_... + role */
        SF_HH_PHONE_MEDICAL,
        SF_HH_PHONE_POLICE,
        SF_HH_NAME_COMMUNITY, /* display only */
        SF_HH_NAME_MEDICAL,
        SF_HH_NAME_POLICE,
        SF_HH_VISITS_COMMUNITY, /* scheduled visits of a role: "09:00 15:00" */
        SF_HH_VISITS_MEDICAL,
        SF_HH_VISITS_POLICE,
        /* workers */
        SF_W_ID,
        SF_W_NAME,
        SF_W_ROLE,
        SF_W_COMMUNITY,
        SF_W_PHONE,
        SF_W_CHANNELS,
        /* shifts */
        SF_S_COMMUNITY,
        SF_S_ROLE,
        SF_S_WORKER,
        SF_S_WORKER_PHONE,
        SF_S_WORKER_NAME, /* display only */
        SF_S_DAYS,
        SF_S_DATE,
        SF_S_FROM,
        SF_S_TO,
        _SF_MAX,
};

struct sheet_column {
        enum sheet_field field;
        const char *zh;             /* the header export writes */
        const char *en;             /* the English header */
        const char *const *aliases; /* more names import accepts (NULL-terminated) */
        bool required;              /* import refuses a sheet without it */
        bool display;               /* recognised, never read */
        const char *help;           /* what it holds, for the README and messages */
};

/* The columns of kind k, in export order. */
const struct sheet_column *sheet_columns(enum sheet_kind k, size_t *ret_n);

struct sheet {
        struct csv *csv; /* not owned */
        enum sheet_kind kind;
        size_t header;    /* index of the header row in csv->rows */
        int col[_SF_MAX]; /* csv column of each field, -1 when absent */
        char **ignored;   /* headers of ignored columns */
        size_t n_ignored;
};

/* Trims every cell of csv, finds the header row and maps the columns. Returns 0, or 1
 * with a message (owned by the caller) and the row it concerns (0: none) when no header
 * row is found, a required column is missing or two columns mean the same. */
int sheet_open(struct csv *csv, enum sheet_kind kind, struct sheet *ret, unsigned *ret_row,
               char **ret_message);
void sheet_done(struct sheet *s);

/* Whether every cell of the row is empty. */
bool sheet_row_blank(const struct csv_row *r);
/* The row's cell of the field: "" when the column is absent or the row shorter. */
const char *sheet_cell(const struct sheet *s, const struct csv_row *r, enum sheet_field f);
/* The header text of field f in this sheet (its column's header), or the field's English
 * name when the column is absent. */
const char *sheet_header(const struct sheet *s, enum sheet_field f);
/* "A".."Z", "AA".. for a 0-based column. */
const char *sheet_column_letter(int col, char buf[static 8]);

/* ---- cells ---- */

/* A date with an optional time: 2026-12-01, 2026/12/1, 2026.12.01, 2026年12月1日, each
 * optionally followed by " 8:00", " 08:00:30" or "T08:00"; or RFC 3339. A date without a
 * time is the local midnight at its start, or for `end` at the end of that day (00:00
 * of the next). Returns 0, or -EINVAL. *ret_has_time (may be NULL) says whether a time
 * was given. */
int sheet_parse_instant(const char *s, bool end, int64_t *ret_usec, bool *ret_has_time);
/* "8:00", "08:00", "08:00:00", "24:00" (allow_24), "8点", "8点30" as minutes after
 * midnight. */
int sheet_parse_time(const char *s, bool allow_24, int *ret_min);
/* Times separated by spaces, commas, "、" or ";" ("09:00 15:00"); at most max. */
int sheet_parse_times(const char *s, int *ret_min, size_t max, size_t *ret_n);
/* Days a shift starts on: "*", "每天", "工作日", "周末", "周一至周五", "周六、周日",
 * "mon-fri", "mon,wed" (bit 0 = Monday). */
int sheet_parse_days(const char *s, uint8_t *ret_mask);
/* "每天", "周一至周五", "周六、周日", "周一、周三至周五" */
const char *sheet_format_days(uint8_t mask, char buf[static 64]);

/* What a role cell says besides the role: the duty leader or the command centre. */
enum sheet_duty {
        SHEET_DUTY_NONE,
        SHEET_DUTY_LEADER,
        SHEET_DUTY_COMMAND,
};

/* A role cell: the registry's names (community, medical ...) or the office's
 * (网格员/社工 -> community, 社区医生/护士 -> medical, 社区民警 -> police, 安装员 ->
 * installer, 值班领导 -> staff + leader, 指挥中心 -> staff + command; anything else ->
 * staff). Returns whether the text was recognised (false: staff by default). */
bool sheet_parse_role(const char *s, enum role *ret_role, enum sheet_duty *ret_duty);
/* The office's name of a role (and duty), what export writes. */
const char *sheet_role_label(enum role r, enum sheet_duty duty);

/* A phone number as the registry keeps it: spaces, dashes, dots and parentheses removed
 * ("138 0000 0001" -> "13800000001", "+86 138-0000-0001" -> "+8613800000001"). */
const char *sheet_phone_normalize(const char *s, char buf[static 32]);
/* Whether two numbers are the same line: equal once normalised, with +86 / 0086 / 86
 * prefixes of 13-digit mobile numbers ignored. */
bool sheet_phone_equal(const char *a, const char *b);
/* Whether the cell looks like a phone number (7-20 digits after normalising). */
bool sheet_is_phone(const char *s);

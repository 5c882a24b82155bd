/* ctl-list.h: doorwatchctl's listings (alerts list, events, pass list, notify list): a table
 * (a header line, then one line a row, tab-separated, "-" for none) or, with --json, an array
 * of objects. The cells of a row are given in the order of the column names. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct out {
        const char *const *names; /* NULL-terminated */
        size_t col;               /* of the row being written */
        cJSON *arr, *obj;         /* --json */
};

/* Prints the header of a table (nothing for JSON). */
void out_begin(struct out *t, bool json, const char *const *names);
void out_text(struct out *t, const char *v);
void out_int(struct out *t, int64_t v);
/* A number in JSON only (the tables show times and ages as text instead); has: or null. */
void out_number(struct out *t, bool has, double v);
/* A local time, or none for 0 unless always. */
void out_time(struct out *t, int64_t usec, bool always);
void out_end_row(struct out *t);
/* Prints the JSON array; r is what the store said. Returns the exit status: 0, or 1 when
 * r < 0 (said on stderr). */
int out_end(struct out *t, int r);

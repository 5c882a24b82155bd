/* jsonw.h: a JSON writer for the hot paths (notification messages, rule state).
 *
 * It prints exactly what cJSON_PrintUnformatted() prints for the same tree built with
 * cJSON_Add*ToObject() (key order as written, the same string escapes, numbers by
 * cJSON's rule: "%1.15g" unless that does not read back, then "%1.17g"), without building the tree:
 * no allocation per member, no printf for integers. Text goes to a caller's buffer first and moves
 * to the heap when it outgrows it; on allocation failure the writer stops and jsonw_finish()
 * returns NULL. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define JSONW_MAX_DEPTH 16

struct jsonw {
        struct sbuf out;
        int depth;
        bool first[JSONW_MAX_DEPTH + 1]; /* no member written yet at this depth */
};

/* Starts writing into buf (size bytes, may be NULL/0: the heap from the start). */
void jsonw_init(struct jsonw *w, char *buf, size_t size);
/* Frees what the writer allocated (after jsonw_finish() returned its own buffer, or to
 * drop the text). */
void jsonw_done(struct jsonw *w);

/* Members: `key` names the member inside an object and must be NULL inside an array or
 * for the top-level value. */
void jsonw_object_begin(struct jsonw *w, const char *key);
void jsonw_object_end(struct jsonw *w);
void jsonw_array_begin(struct jsonw *w, const char *key);
void jsonw_array_end(struct jsonw *w);
/* A NULL string is written as null here (cJSON_AddStringToObject() would drop the
 * member; callers that want null for NULL, as most do, get it without a branch). */
void jsonw_string(struct jsonw *w, const char *key, const char *v);
void jsonw_null(struct jsonw *w, const char *key);
void jsonw_bool(struct jsonw *w, const char *key, bool v);
void jsonw_number(struct jsonw *w, const char *key, double v);
/* An integer as its exact digits (cJSON would print "1.73286720000001e+15" for a
 * microsecond instant; both read back as the same number below 2^53). */
void jsonw_int(struct jsonw *w, const char *key, int64_t v);
/* Microseconds as seconds with up to six decimals, trailing zeros dropped
 * ("1580860800.25"): exact, where "%1.15g" keeps 10 us and costs a printf. */
void jsonw_seconds(struct jsonw *w, const char *key, int64_t usec);

/* The NUL-terminated text (in the caller's buffer or on the heap), or NULL when a write
 * failed. */
const char *jsonw_text(struct jsonw *w);
/* The text as a malloc'd string the caller owns (NULL on failure); the writer is done. */
char *jsonw_finish(struct jsonw *w);

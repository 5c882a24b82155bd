/* util.h: small helpers shared by every module: cleanup attributes, time units,
 * duration / time-of-day / RFC 3339 parsing, and a growable array macro.
 *
 * Out of memory: every allocation of ours aborts when it fails (the x*() helpers, GROW,
 * sbuf), and so do cJSON's: util.c gives cJSON an aborting allocator before main() runs.
 * A cJSON constructor or printer returns NULL only for what it was given (NULL, invalid
 * input), never for lack of memory. No function of ours returns -ENOMEM.
 *
 * Time convention: instants are int64_t microseconds since the Unix epoch (wall
 * clock, `_usec` suffix); durations are int64_t microseconds too. Pure code takes
 * "now" as an argument; only the daemon and tools read clocks. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define USEC_PER_MSEC INT64_C(1000)
#define USEC_PER_SEC  INT64_C(1000000)
#define USEC_PER_MIN  (60 * USEC_PER_SEC)
#define USEC_PER_HOUR (60 * USEC_PER_MIN)
#define USEC_PER_DAY  (24 * USEC_PER_HOUR)

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
#define _cleanup_(f)  __attribute__((cleanup(f)))
#define MIN(a, b)     ((a) < (b) ? (a) : (b))
#define MAX(a, b)     ((a) > (b) ? (a) : (b))

static inline void freep(void *p)
{
        free(*(void **)p);
}
static inline void fclosep(FILE **f)
{
        if (*f)
                fclose(*f);
}
static inline void cjson_deletep(cJSON **j)
{
        cJSON_Delete(*j);
}
#define _cleanup_free_   _cleanup_(freep)
#define _cleanup_json_   _cleanup_(cjson_deletep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Clocks. */
int64_t now_realtime_usec(void);
int64_t now_monotonic_usec(void);

/* "90s", "5m", "25h", "30d", "250ms" -> usec. Returns 0 or -EINVAL. */
int parse_duration(const char *s, int64_t *ret_usec);
/* Formats a duration back in the largest exact unit ("90s", "5m"). */
const char *format_duration(int64_t usec, char buf[static 32]);
/* "HH:MM" -> minutes since midnight (0..1439); "24:00" is accepted as 1440 when allow_24. */
int parse_time_of_day(const char *s, bool allow_24, int *ret_min);
/* RFC 3339 with an explicit offset or Z ("2020-02-05T08:00:00+08:00", fractional seconds ok). */
int parse_rfc3339(const char *s, int64_t *ret_usec);
/* Formats an instant in the process time zone (TZ) as "2020-02-05 08:00:00". */
const char *format_local_time(int64_t usec, char buf[static 32]);
/* Formats an instant as RFC 3339 in the process time zone, e.g. "2020-02-05T08:00:00+08:00". */
const char *format_rfc3339(int64_t usec, char buf[static 40]);

/* A local calendar day (the process time zone) named "2026-12-01", "today" or "yesterday"
 * (as of now_usec): its first instant in *ret_from and the next day's in *ret_to, the date
 * in buf. Returns 0, or -EINVAL for a day that is none ("2026-02-30"). */
int local_calendar_day(const char *name, int64_t now_usec, int64_t *ret_from, int64_t *ret_to,
                       char buf[static 16]);
/* Sets the process time zone (TZ=name, tzset). Returns -ENOENT when no zoneinfo file exists. */
int timezone_set(const char *name);
/* How many times timezone_set() changed the zone: memos of local times compare it. */
unsigned timezone_generation(void);
/* localtime_r() for instant t (seconds), remembered for the last second asked: glibc
 * re-parses the zone's POSIX rule on every call for instants after its last transition
 * (~2,000 instructions), and events arrive many per second. The zone must be changed
 * through timezone_set(). */
struct tm *local_time(int64_t t, struct tm *ret);
/* The instant (µs) the local clock reads `minute` (0..1439) on the local day `day_offset`
 * days from the day of usec: mktime()'s answer, remembered per day and minute (mktime()
 * re-reads the zone's rule each call; the rules ask for the same few instants for every
 * event). Forgotten when timezone_set() changes the zone. */
int64_t local_day_minute(int64_t usec, int day_offset, int minute);

/* A growable string for text assembled piece by piece (open_memstream() costs a calloc of
 * a stdio buffer and locking per call). It may start in a caller's buffer and moves to the
 * heap when it outgrows it; { 0 } starts on the heap. Growing aborts on OOM. After a
 * failure (`failed`: a formatting error, or set by its user, as jsonw does past its depth)
 * further appends are ignored and sbuf_text()/sbuf_finish() return NULL. */
struct sbuf {
        char *p;
        size_t len, cap;
        bool heap; /* p was allocated here */
        bool failed;
};
void sbuf_init(struct sbuf *b, char *buf, size_t size);
/* Room for n more bytes and the NUL after len; false once b failed. */
bool sbuf_reserve(struct sbuf *b, size_t n);
void sbuf_add(struct sbuf *b, const char *s, size_t n);
void sbuf_puts(struct sbuf *b, const char *s); /* NULL adds nothing */
void sbuf_putc(struct sbuf *b, char c);
void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The NUL-terminated text, still b's (NULL once b failed). */
const char *sbuf_text(struct sbuf *b);
/* The NUL-terminated text, which the caller owns (NULL once b failed); b is empty again. */
char *sbuf_finish(struct sbuf *b);
/* Frees what b allocated; b is empty again. */
void sbuf_done(struct sbuf *b);

/* Reads a whole file (NUL-terminated); refuses files larger than max_bytes with -EFBIG. */
int read_file(const char *path, size_t max_bytes, char **ret, size_t *ret_len);
/* Reads a secret file: first line, trailing whitespace stripped. */
int read_secret_file(const char *path, char **ret);
/* The length of the scheme of a URI "scheme://..." ("postgresql"), 0 when s is not one. */
size_t uri_scheme_len(const char *s);
/* dir + "/" + path, unless path is absolute or a URI (NULL for a NULL path). */
char *path_join(const char *dir, const char *path);

/* JSON nesting depth of a document (used to bound untrusted input). */
int json_depth(const cJSON *j);
/* Whether p holds text a payload may carry: valid UTF-8 (no overlong forms, surrogates or
 * code points past U+10FFFF) without NUL bytes. */
bool text_valid(const char *p, size_t len);
/* text_valid(), and no JSON escape that decodes to NUL ("\u0000"): cJSON would cut the
 * string there ("open\u0000evil" read as "open"). For every payload that may be JSON. */
bool payload_text_valid(const char *p, size_t len);

bool str_eq(const char *a, const char *b);
bool str_startswith(const char *s, const char *prefix);
/* Index of s in names[0..n-1], -1 when absent (or s is NULL). */
int name_index(const char *const *names, size_t n, const char *s);
/* Frees v[0..n-1] and v. */
void free_strv(char **v, size_t n);
void *xmalloc(size_t size);              /* malloc that aborts on OOM (size 0: 1 byte) */
void *xrealloc(void *p, size_t size);    /* realloc that aborts on OOM (size 0: 1 byte) */
char *xstrdup(const char *s);            /* strdup that aborts on OOM; NULL in -> NULL out */
char *xstrndup(const char *s, size_t n); /* strndup that aborts on OOM */
void *xcalloc(size_t n, size_t size);    /* calloc that aborts on OOM; NULL for n == 0 */
/* asprintf that aborts on OOM. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Growable array: GROW(arr, n, cap) makes room for one more element. Aborts on OOM. */
void *grow_array(void *p, size_t *cap, size_t need, size_t elem);
#define GROW(arr, n, cap) ((arr) = grow_array((arr), &(cap), (n) + 1, sizeof(*(arr))))

/* 64-bit FNV-1a, for hash maps. */
uint64_t hash_str(const char *s);

/* jsonw.c: see jsonw.h. The escapes and the number format follow cJSON 1.7
 * (print_string_ptr(), print_number() as in Debian 12's 1.7.15, which has no "%d" path);
 * tests/unit/test-jsonw.c compares the output with
 * cJSON_PrintUnformatted() byte for byte. */
#include "jsonw.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jsonw_init(struct jsonw *w, char *buf, size_t size)
{
        *w = (struct jsonw){ .first[0] = true };
        sbuf_init(&w->out, buf, size);
}

void jsonw_done(struct jsonw *w)
{
        sbuf_done(&w->out);
}

static void put(struct jsonw *w, const char *s, size_t n)
{
        sbuf_add(&w->out, s, n);
}

static void put_char(struct jsonw *w, char c)
{
        put(w, &c, 1);
}

/* cJSON's print_string_ptr(): '"', '\\' and control characters escaped, the rest as is. */
static void put_string(struct jsonw *w, const char *s)
{
        static const char hex[] = "0123456789abcdef";
        const unsigned char *p = (const unsigned char *)s;
        size_t extra = 0, n;
        char *o;

        for (n = 0; p[n]; n++)
                if (p[n] < 32 || p[n] == '"' || p[n] == '\\')
                        extra += (p[n] == '"' || p[n] == '\\' || p[n] == '\b' || p[n] == '\f' ||
                                  p[n] == '\n' || p[n] == '\r' || p[n] == '\t')
                                     ? 1
                                     : 5;
        if (!sbuf_reserve(&w->out, n + extra + 2))
                return;
        o = w->out.p + w->out.len;
        *o++ = '"';
        if (extra == 0) {
                memcpy(o, s, n);
                o += n;
        } else
                for (; *p; p++) {
                        if (*p >= 32 && *p != '"' && *p != '\\') {
                                *o++ = (char)*p;
                                continue;
                        }
                        *o++ = '\\';
                        switch (*p) {
                        case '"':
                        case '\\':
                                *o++ = (char)*p;
                                break;
                        case '\b':
                                *o++ = 'b';
                                break;
                        case '\f':
                                *o++ = 'f';
                                break;
                        case '\n':
                                *o++ = 'n';
                                break;
                        case '\r':
                                *o++ = 'r';
                                break;
                        case '\t':
                                *o++ = 't';
                                break;
                        default:
                                *o++ = 'u';
                                *o++ = '0';
                                *o++ = '0';
                                *o++ = hex[*p >> 4];
                                *o++ = hex[*p & 15];
                                break;
                        }
                }
        *o++ = '"';
        w->out.len = (size_t)(o - w->out.p);
        w->out.p[w->out.len] = 0;
}

/* The separator and the key of the next member. */
static void member(struct jsonw *w, const char *key)
{
        if (!w->first[w->depth])
                put_char(w, ',');
        w->first[w->depth] = false;
        if (key) {
                put_string(w, key);
                put_char(w, ':');
        }
}

static void nest(struct jsonw *w, const char *key, char c)
{
        member(w, key);
        put_char(w, c);
        if (w->depth == JSONW_MAX_DEPTH) {
                w->out.failed = true;
                return;
        }
        w->first[++w->depth] = true;
}

static void unnest(struct jsonw *w, char c)
{
        if (w->depth > 0)
                w->depth--;
        put_char(w, c);
}

void jsonw_object_begin(struct jsonw *w, const char *key)
{
        nest(w, key, '{');
}

void jsonw_object_end(struct jsonw *w)
{
        unnest(w, '}');
}

void jsonw_array_begin(struct jsonw *w, const char *key)
{
        nest(w, key, '[');
}

void jsonw_array_end(struct jsonw *w)
{
        unnest(w, ']');
}

void jsonw_string(struct jsonw *w, const char *key, const char *v)
{
        member(w, key);
        if (v)
                put_string(w, v);
        else
                put(w, "null", 4);
}

void jsonw_null(struct jsonw *w, const char *key)
{
        member(w, key);
        put(w, "null", 4);
}

void jsonw_bool(struct jsonw *w, const char *key, bool v)
{
        member(w, key);
        if (v)
                put(w, "true", 4);
        else
                put(w, "false", 5);
}

static void put_int(struct jsonw *w, long long v)
{
        char tmp[24], *p = tmp + sizeof(tmp);
        unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

        do {
                *--p = (char)('0' + u % 10);
                u /= 10;
        } while (u);
        if (v < 0)
                *--p = '-';
        put(w, p, (size_t)(tmp + sizeof(tmp) - p));
}

void jsonw_int(struct jsonw *w, const char *key, int64_t v)
{
        member(w, key);
        put_int(w, (long long)v);
}

void jsonw_seconds(struct jsonw *w, const char *key, int64_t usec)
{
        uint64_t u = usec < 0 ? 0ULL - (uint64_t)usec : (uint64_t)usec;
        uint64_t frac = u % 1000000;
        char tmp[32], *p = tmp + sizeof(tmp);
        int digits = 6;

        member(w, key);
        if (frac) {
                while (frac % 10 == 0) {
                        frac /= 10;
                        digits--;
                }
                for (int i = 0; i < digits; i++, frac /= 10)
                        *--p = (char)('0' + frac % 10);
                *--p = '.';
        }
        u /= 1000000;
        do {
                *--p = (char)('0' + u % 10);
                u /= 10;
        } while (u);
        if (usec < 0)
                *--p = '-';
        put(w, p, (size_t)(tmp + sizeof(tmp) - p));
}

void jsonw_number(struct jsonw *w, const char *key, double d)
{
        char tmp[32];
        int n;

        member(w, key);
        if (isnan(d) || isinf(d)) {
                put(w, "null", 4);
                return;
        }
        /* "%1.15g" prints an integer below 1e15 as its digits: do that without printf
         * (not -0, which it prints as "-0"). */
        if (fabs(d) < 1e15 && d == (double)(long long)d && !(d == 0 && signbit(d))) {
                put_int(w, (long long)d);
                return;
        }
        /* 16-digit integers (instants in microseconds until 2096): "%1.15g" rounds to a
         * multiple of 10, and below 4e15 cJSON's read-back tolerance (DBL_EPSILON relative)
         * is under 1, so it is kept only for multiples of 10; otherwise "%1.17g" prints the
         * digits. */
        if (fabs(d) < 4e15 && d == (double)(long long)d && (long long)d % 10 != 0) {
                put_int(w, (long long)d);
                return;
        }
        n = snprintf(tmp, sizeof(tmp), "%1.15g", d);
        double back = strtod(tmp, NULL);
        double max = fabs(back) > fabs(d) ? fabs(back) : fabs(d);
        if (!(fabs(back - d) <= max * DBL_EPSILON))
                n = snprintf(tmp, sizeof(tmp), "%1.17g", d);
        if (n > 0)
                put(w, tmp, (size_t)n);
}

const char *jsonw_text(struct jsonw *w)
{
        return sbuf_text(&w->out);
}

char *jsonw_finish(struct jsonw *w)
{
        return sbuf_finish(&w->out);
}

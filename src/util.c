/* util.c: see util.h. */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int64_t now_realtime_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000;
}

int64_t now_monotonic_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000;
}

int parse_duration(const char *s, int64_t *ret_usec)
{
        static const struct {
                const char *suffix;
                int64_t usec;
        } units[] = {
                { "ms", USEC_PER_MSEC }, { "s", USEC_PER_SEC }, { "m", USEC_PER_MIN },
                { "h", USEC_PER_HOUR },  { "d", USEC_PER_DAY },
        };
        char *end;
        long long v;

        if (!s || !isdigit((unsigned char)s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || end == s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (strcmp(end, units[i].suffix) == 0) {
                        if (v > INT64_MAX / units[i].usec)
                                return -ERANGE;
                        *ret_usec = (int64_t)v * units[i].usec;
                        return 0;
                }
        return -EINVAL;
}

const char *format_duration(int64_t usec, char buf[static 32])
{
        if (usec != 0 && usec % USEC_PER_DAY == 0)
                snprintf(buf, 32, "%lldd", (long long)(usec / USEC_PER_DAY));
        else if (usec != 0 && usec % USEC_PER_HOUR == 0)
                snprintf(buf, 32, "%lldh", (long long)(usec / USEC_PER_HOUR));
        else if (usec != 0 && usec % USEC_PER_MIN == 0)
                snprintf(buf, 32, "%lldm", (long long)(usec / USEC_PER_MIN));
        else if (usec % USEC_PER_SEC == 0)
                snprintf(buf, 32, "%llds", (long long)(usec / USEC_PER_SEC));
        else
                snprintf(buf, 32, "%lldms", (long long)(usec / USEC_PER_MSEC));
        return buf;
}

int parse_time_of_day(const char *s, bool allow_24, int *ret_min)
{
        if (!s || strlen(s) != 5 || !isdigit((unsigned char)s[0]) ||
            !isdigit((unsigned char)s[1]) || s[2] != ':' || !isdigit((unsigned char)s[3]) ||
            !isdigit((unsigned char)s[4]))
                return -EINVAL;
        int h = (s[0] - '0') * 10 + (s[1] - '0');
        int m = (s[3] - '0') * 10 + (s[4] - '0');
        if (m > 59 || h > 24 || (h == 24 && (m != 0 || !allow_24)))
                return -EINVAL;
        *ret_min = h * 60 + m;
        return 0;
}

static int digits(const char **p, int n, int *ret)
{
        int v = 0;
        for (int i = 0; i < n; i++) {
                if (!isdigit((unsigned char)(*p)[i]))
                        return -EINVAL;
                v = v * 10 + ((*p)[i] - '0');
        }
        *p += n;
        *ret = v;
        return 0;
}

int parse_rfc3339(const char *s, int64_t *ret_usec)
{
        static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        struct tm tm = { 0 };
        int y, mo, d, h, mi, sec, frac_usec = 0, off_min = 0;
        const char *p = s;

        if (!s)
                return -EINVAL;
        if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 || *p++ != '-' ||
            digits(&p, 2, &d) < 0 || (*p != 'T' && *p != 't' && *p != ' '))
                return -EINVAL;
        p++;
        if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0 || *p++ != ':' ||
            digits(&p, 2, &sec) < 0)
                return -EINVAL;
        if (*p == '.') {
                int scale = 100000;
                p++;
                if (!isdigit((unsigned char)*p))
                        return -EINVAL;
                for (; isdigit((unsigned char)*p); p++) {
                        frac_usec += (*p - '0') * scale;
                        scale /= 10;
                }
        }
        if (*p == 'Z' || *p == 'z') {
                p++;
        } else if (*p == '+' || *p == '-') {
                int sign = *p == '-' ? -1 : 1, oh, om;
                p++;
                if (digits(&p, 2, &oh) < 0 || *p++ != ':' || digits(&p, 2, &om) < 0 || oh > 23 ||
                    om > 59)
                        return -EINVAL;
                off_min = sign * (oh * 60 + om);
        } else
                return -EINVAL;
        if (*p != 0 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
            sec > 60)
                return -EINVAL;
        if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
                return -EINVAL;
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        tm.tm_hour = h;
        tm.tm_min = mi;
        tm.tm_sec = sec;
        time_t t = timegm(&tm);
        *ret_usec = ((int64_t)t - (int64_t)off_min * 60) * USEC_PER_SEC + frac_usec;
        return 0;
}

const char *format_local_time(int64_t usec, char buf[static 32])
{
        struct tm tm;
        local_time(usec / USEC_PER_SEC, &tm);
        strftime(buf, 32, "%Y-%m-%d %H:%M:%S", &tm);
        return buf;
}

const char *format_rfc3339(int64_t usec, char buf[static 40])
{
        struct tm tm;
        char z[8];
        local_time(usec / USEC_PER_SEC, &tm);
        size_t n = strftime(buf, 40, "%Y-%m-%dT%H:%M:%S", &tm);
        strftime(z, sizeof(z), "%z", &tm); /* +0800 */
        snprintf(buf + n, 40 - n, "%.3s:%.2s", z, z + 3);
        return buf;
}

int local_calendar_day(const char *name, int64_t now_usec, int64_t *ret_from, int64_t *ret_to,
                       char buf[static 16])
{
        struct tm tm = { 0 };
        int y, m, d, n = 0;
        time_t t;

        if (!name)
                return -EINVAL;
        if (strcmp(name, "today") == 0 || strcmp(name, "yesterday") == 0) {
                t = (time_t)(now_usec / USEC_PER_SEC);
                if (!localtime_r(&t, &tm))
                        return -EINVAL;
                y = tm.tm_year + 1900;
                m = tm.tm_mon + 1;
                d = tm.tm_mday - (name[0] == 'y');
        } else if (sscanf(name, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || name[n] || m < 1 ||
                   m > 12 || d < 1 || d > 31)
                return -EINVAL;
        tm = (struct tm){ .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_isdst = -1 };
        t = mktime(&tm);
        /* mktime() normalises 2026-02-30 to March: a named day that is none comes back
         * changed ("yesterday" of the 1st is meant to). */
        if (t == (time_t)-1 || (n && (tm.tm_mon != m - 1 || tm.tm_mday != d)))
                return -EINVAL;
        strftime(buf, 16, "%Y-%m-%d", &tm);
        *ret_from = (int64_t)t * USEC_PER_SEC;
        tm = (struct tm){ .tm_year = tm.tm_year,
                          .tm_mon = tm.tm_mon,
                          .tm_mday = tm.tm_mday + 1,
                          .tm_isdst = -1 };
        *ret_to = (int64_t)mktime(&tm) * USEC_PER_SEC;
        return 0;
}

static unsigned tz_generation;

unsigned timezone_generation(void)
{
        return tz_generation;
}

struct tm *local_time(int64_t t, struct tm *ret)
{
        static struct {
                bool valid;
                unsigned generation;
                int64_t t;
                struct tm tm;
        } memo;
        time_t tt = (time_t)t;

        if (memo.valid && memo.t == t && memo.generation == tz_generation) {
                *ret = memo.tm;
                return ret;
        }
        if (!localtime_r(&tt, ret))
                return NULL;
        memo.valid = true;
        memo.generation = tz_generation;
        memo.t = t;
        memo.tm = *ret;
        return ret;
}

int64_t local_day_minute(int64_t usec, int day_offset, int minute)
{
        static struct day_minute {
                bool valid;
                unsigned generation;
                int64_t day; /* year * 1000 + day of the year, after day_offset */
                int minute;
                int64_t usec;
        } memo[64];
        /* A year * 1000 + yday key is one day only for offsets within the year's slack. */
        bool memo_ok = day_offset > -300 && day_offset < 300;
        struct tm tm;
        int64_t day, r;
        size_t slot;

        local_time(usec / USEC_PER_SEC, &tm);
        day = (int64_t)(tm.tm_year + 1900) * 1000 + tm.tm_yday + day_offset;
        slot = (size_t)((uint64_t)(day * 1440 + minute) * 0x9E3779B97F4A7C15ull >> 58);
        if (memo_ok && memo[slot].valid && memo[slot].generation == tz_generation &&
            memo[slot].day == day && memo[slot].minute == minute)
                return memo[slot].usec;
        tm.tm_mday += day_offset;
        tm.tm_hour = minute / 60;
        tm.tm_min = minute % 60;
        tm.tm_sec = 0;
        tm.tm_isdst = -1;
        r = (int64_t)mktime(&tm) * USEC_PER_SEC;
        if (memo_ok)
                memo[slot] = (struct day_minute){ .valid = true,
                                                  .generation = tz_generation,
                                                  .day = day,
                                                  .minute = minute,
                                                  .usec = r };
        return r;
}

int timezone_set(const char *name)
{
        char path[512];

        if (!name || !*name || strstr(name, "..") || name[0] == '/')
                return -EINVAL;
        snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
        if (access(path, R_OK) < 0)
                return -ENOENT;
        if (setenv("TZ", name, 1) < 0)
                return -errno;
        tzset();
        tz_generation++;
        return 0;
}

void sbuf_init(struct sbuf *b, char *buf, size_t size)
{
        *b = (struct sbuf){ .p = buf, .cap = buf ? size : 0 };
        if (b->p && b->cap)
                b->p[0] = '\0';
}

bool sbuf_reserve(struct sbuf *b, size_t n)
{
        size_t cap;
        char *p;

        if (b->failed)
                return false;
        if (b->len + n + 1 <= b->cap)
                return true;
        cap = MAX(b->cap * 2, (size_t)256);
        while (cap < b->len + n + 1)
                cap *= 2;
        p = b->heap ? realloc(b->p, cap) : malloc(cap);
        if (!p)
                abort();
        if (!b->heap && b->len)
                memcpy(p, b->p, b->len);
        b->p = p;
        b->cap = cap;
        b->heap = true;
        return true;
}

void sbuf_add(struct sbuf *b, const char *s, size_t n)
{
        if (!sbuf_reserve(b, n))
                return;
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = '\0';
}

void sbuf_puts(struct sbuf *b, const char *s)
{
        if (s)
                sbuf_add(b, s, strlen(s));
}

void sbuf_putc(struct sbuf *b, char c)
{
        sbuf_add(b, &c, 1);
}

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
                b->failed = true;
                return;
        }
        if (!sbuf_reserve(b, (size_t)n))
                return;
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t)n;
}

const char *sbuf_text(struct sbuf *b)
{
        if (b->failed || (!b->p && !sbuf_reserve(b, 0)))
                return NULL;
        return b->p;
}

char *sbuf_finish(struct sbuf *b)
{
        char *p = NULL;

        if (!b->failed) {
                if (b->heap) {
                        p = b->p;
                        b->heap = false;
                } else {
                        p = xstrndup(b->p ? b->p : "", b->len);
                }
        }
        sbuf_done(b);
        return p;
}

void sbuf_done(struct sbuf *b)
{
        if (b->heap)
                free(b->p);
        *b = (struct sbuf){ 0 };
}

int read_file(const char *path, size_t max_bytes, char **ret, size_t *ret_len)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        char *buf;
        size_t len = 0;

        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        if (S_ISDIR(st.st_mode)) {
                close(fd);
                return -EISDIR;
        }
        if ((size_t)st.st_size > max_bytes) {
                close(fd);
                return -EFBIG;
        }
        buf = xmalloc((size_t)st.st_size + 1);
        while (len < (size_t)st.st_size) {
                ssize_t k = read(fd, buf + len, (size_t)st.st_size - len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        int r = -errno;
                        free(buf);
                        close(fd);
                        return r;
                }
                if (k == 0)
                        break;
                len += (size_t)k;
        }
        close(fd);
        buf[len] = 0;
        *ret = buf;
        if (ret_len)
                *ret_len = len;
        return 0;
}

int read_secret_file(const char *path, char **ret)
{
        char *buf;
        int r = read_file(path, 64 * 1024, &buf, NULL);
        if (r < 0)
                return r;
        buf[strcspn(buf, "\r\n")] = 0;
        size_t n = strlen(buf);
        while (n > 0 && isspace((unsigned char)buf[n - 1]))
                buf[--n] = 0;
        *ret = buf;
        return 0;
}

size_t uri_scheme_len(const char *s)
{
        size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");
        return n > 0 && str_startswith(s + n, "://") ? n : 0;
}

char *path_join(const char *dir, const char *path)
{
        if (!path)
                return NULL;
        if (path[0] == '/' || !dir || uri_scheme_len(path) > 0)
                return xstrdup(path);
        return xasprintf("%s/%s", dir, path);
}

int json_depth(const cJSON *j)
{
        int max = 0;
        if (!j)
                return 0;
        for (const cJSON *c = j->child; c; c = c->next) {
                int d = json_depth(c);
                if (d > max)
                        max = d;
        }
        return max + 1;
}

bool str_eq(const char *a, const char *b)
{
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}

bool str_startswith(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

int name_index(const char *const *names, size_t n, const char *s)
{
        for (size_t i = 0; s && i < n; i++)
                if (strcmp(names[i], s) == 0)
                        return (int)i;
        return -1;
}

void free_strv(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

void *xmalloc(size_t size)
{
        void *p = malloc(size ? size : 1);

        if (!p)
                abort();
        return p;
}

void *xrealloc(void *p, size_t size)
{
        p = realloc(p, size ? size : 1);
        if (!p)
                abort();
        return p;
}

char *xstrndup(const char *s, size_t n)
{
        char *r = strndup(s, n);

        if (!r)
                abort();
        return r;
}

/* cJSON's allocator: OOM aborts, as every allocation of ours (util.h). */
static void *json_malloc(size_t size)
{
        return xmalloc(size);
}

__attribute__((constructor)) static void json_hooks(void)
{
        cJSON_InitHooks(&(cJSON_Hooks){ .malloc_fn = json_malloc, .free_fn = free });
}

char *xstrdup(const char *s)
{
        char *r;
        if (!s)
                return NULL;
        r = strdup(s);
        if (!r)
                abort();
        return r;
}

void *xcalloc(size_t n, size_t size)
{
        void *p;

        if (n == 0)
                return NULL;
        p = calloc(n, size);
        if (!p)
                abort();
        return p;
}

char *xasprintf(const char *fmt, ...)
{
        va_list ap;
        char *r;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&r, fmt, ap);
        va_end(ap);
        if (n < 0)
                abort();
        return r;
}

void *grow_array(void *p, size_t *cap, size_t need, size_t elem)
{
        size_t n;
        if (need <= *cap)
                return p;
        n = *cap ? *cap * 2 : 8;
        while (n < need)
                n *= 2;
        p = realloc(p, n * elem);
        if (!p)
                abort();
        *cap = n;
        return p;
}

uint64_t hash_str(const char *s)
{
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        for (; *s; s++) {
                h ^= (unsigned char)*s;
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}

bool text_valid(const char *p, size_t len)
{
        const unsigned char *s = (const unsigned char *)p, *end = s + len;

        while (s < end) {
                unsigned c = *s;
                size_t n;
                uint32_t cp;

                if (c < 0x80) {
                        if (c == 0)
                                return false;
                        s++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf)
                        n = 1, cp = c & 0x1f;
                else if (c >= 0xe0 && c <= 0xef)
                        n = 2, cp = c & 0x0f;
                else if (c >= 0xf0 && c <= 0xf4)
                        n = 3, cp = c & 0x07;
                else
                        return false; /* continuation byte, overlong lead, past U+10FFFF */
                if ((size_t)(end - s) <= n)
                        return false;
                for (size_t i = 1; i <= n; i++) {
                        if ((s[i] & 0xc0) != 0x80)
                                return false;
                        cp = cp << 6 | (s[i] & 0x3f);
                }
                if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
                    (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
                s += n + 1;
        }
        return true;
}

bool payload_text_valid(const char *p, size_t len)
{
        if (!text_valid(p, len))
                return false;
        for (size_t i = 0; i + 1 < len; i++) {
                if (p[i] != '\\')
                        continue;
                if (p[i + 1] == 'u' && i + 5 < len && p[i + 2] == '0' && p[i + 3] == '0' &&
                    p[i + 4] == '0' && p[i + 5] == '0')
                        return false;
                i++; /* the escaped character, a backslash included */
        }
        return true;
}

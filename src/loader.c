/* loader.c: what the readers of the configuration files share (see loader.h).
 *
 * A document lives in L->arena from loader_read_json() until its struct loader_doc goes
 * out of scope (loader_doc_done() resets the arena); nothing read from it may be kept
 * without a copy: strings go through loader_get_string() (heap, or cfg->arena with
 * LOADER_STR_SHARED), JSON through cJSON_Duplicate(). */
#include "loader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

#define CONFIG_MAX_FILE_BYTES (256u * 1024 * 1024)

void loader_doc_done(struct loader_doc *d)
{
        arena_reset(&d->L->arena);
}

bool loader_is_comment(const char *key)
{
        return key && key[0] == '/' && key[1] == '/';
}

static bool key_is_plain(const char *k)
{
        if (!*k)
                return false;
        for (const unsigned char *p = (const unsigned char *)k; *p; p++)
                if (!(*p >= 0x80 || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
                        return false;
        return true;
}

/* JSON paths in messages: `mqtt.port`, `[3].team.police`, `notifiers["a.b"].type`. */
struct loader_path *loader_path_key(struct loader_path out[static 1],
                                    const struct loader_path *base, const char *key)
{
        *out = (struct loader_path){ .up = base, .key = key };
        return out;
}

struct loader_path *loader_path_index(struct loader_path out[static 1],
                                      const struct loader_path *base, size_t i)
{
        *out = (struct loader_path){ .up = base, .index = i };
        return out;
}

/* Formats a path only when a message needs it: `mqtt.port`, `[3].team.police`,
 * `notifiers["a.b"].type`; an over-long path is cut with "...". */
const char *loader_path_format(const struct loader_path *p, char buf[static LOADER_PATH_MAX])
{
        const struct loader_path *chain[64];
        size_t n = 0, len = 0;
        int r;

        buf[0] = 0;
        for (; p && n < ELEMENTSOF(chain); p = p->up)
                chain[n++] = p;
        while (n > 0 && len < LOADER_PATH_MAX) {
                p = chain[--n];
                if (!p->key)
                        r = snprintf(buf + len, LOADER_PATH_MAX - len, "[%zu]", p->index);
                else if (key_is_plain(p->key))
                        r = snprintf(buf + len, LOADER_PATH_MAX - len, "%s%s", len ? "." : "",
                                     p->key);
                else
                        r = snprintf(buf + len, LOADER_PATH_MAX - len, "[\"%s\"]", p->key);
                len += r > 0 ? (size_t)r : 0;
        }
        if (len >= LOADER_PATH_MAX)
                memcpy(buf + LOADER_PATH_MAX - 4, "...", 4);
        return buf;
}

static void loader_msg(struct loader *L, bool warning, const struct loader_path *path,
                       const char *fmt, va_list ap)
{
        char buf[LOADER_PATH_MAX];
        char *msg;

        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        if (warning)
                config_diag_warn(L->diag, L->file, loader_path_format(path, buf), "%s", msg);
        else
                config_diag_error(L->diag, L->file, loader_path_format(path, buf), "%s", msg);
        free(msg);
}

void loader_error(struct loader *L, const struct loader_path *path, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        loader_msg(L, false, path, fmt, ap);
        va_end(ap);
}

void loader_warn(struct loader *L, const struct loader_path *path, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        loader_msg(L, true, path, fmt, ap);
        va_end(ap);
}

bool loader_key_in(const char *const *list, const char *key)
{
        for (; list && *list; list++)
                if (strcmp(*list, key) == 0)
                        return true;
        return false;
}

/* Reports duplicate keys, and keys in neither list unless check_unknown is false. */
void loader_check_keys(struct loader *L, const cJSON *obj, const struct loader_path *path,
                       const char *const *allowed, const char *const *extra, bool check_unknown)
{
        struct hashmap *seen = NULL;
        struct loader_path p[1];
        size_t n = 0;

        for (const cJSON *c = obj->child; c; c = c->next)
                n++;
        if (n > 16)
                seen = hashmap_new(n);
        for (const cJSON *c = obj->child; c; c = c->next) {
                if (loader_is_comment(c->string))
                        continue;
                loader_path_key(p, path, c->string);
                if (check_unknown && !loader_key_in(allowed, c->string) &&
                    !loader_key_in(extra, c->string))
                        loader_error(L, p, "unknown key");
                if (seen) {
                        if (hashmap_put(seen, c->string, (void *)c) == HASHMAP_E_EXISTS)
                                loader_error(L, p, "duplicate key");
                        continue;
                }
                for (const cJSON *d = obj->child; d != c; d = d->next)
                        if (strcmp(d->string, c->string) == 0) {
                                loader_error(L, p, "duplicate key");
                                break;
                        }
        }
        hashmap_free(seen);
}

/* Member `key` of obj (NULL when absent); writes its path to p. */
const cJSON *loader_field(struct loader *L, const cJSON *obj, const struct loader_path *path,
                          const char *key, bool required, struct loader_path p[static 1])
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

        loader_path_key(p, path, key);
        if (!v && required)
                loader_error(L, p, "missing required key");
        return v;
}

bool loader_expect_object(struct loader *L, const cJSON *v, const struct loader_path *path)
{
        if (cJSON_IsObject(v))
                return true;
        loader_error(L, path, "expected an object");
        return false;
}

bool loader_expect_array(struct loader *L, const cJSON *v, const struct loader_path *path)
{
        if (cJSON_IsArray(v))
                return true;
        loader_error(L, path, "expected an array");
        return false;
}

/* The string value of v, or NULL after reporting it is not a string. */
const char *loader_get_str(struct loader *L, const cJSON *v, const struct loader_path *path)
{
        if (cJSON_IsString(v))
                return v->valuestring;
        loader_error(L, path, "expected a string");
        return NULL;
}

bool loader_id_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > LOADER_ID_MAX)
                return false;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (*p <= ' ' || *p == 0x7f || *p == '/' || *p == '+' || *p == '#')
                        return false;
        return true;
}

/* Replaces *out with a copy of the string v (which must not be empty). */
bool loader_get_string(struct loader *L, const cJSON *v, const struct loader_path *path,
                       unsigned flags, char **out)
{
        if ((flags & LOADER_STR_NULLABLE) && cJSON_IsNull(v)) {
                free(*out);
                *out = NULL;
                return true;
        }
        if (!cJSON_IsString(v)) {
                loader_error(L, path,
                             (flags & LOADER_STR_NULLABLE) ? "expected a string or null"
                                                           : "expected a string");
                return false;
        }
        if (!v->valuestring[0]) {
                loader_error(L, path, "must not be empty");
                return false;
        }
        if ((flags & LOADER_STR_ID) && !loader_id_valid(v->valuestring)) {
                loader_error(
                    L, path,
                    "invalid id \"%s\" (1..%d bytes, no whitespace, control characters, '/', "
                    "'+' or '#')",
                    v->valuestring, LOADER_ID_MAX);
                return false;
        }
        if (flags & LOADER_STR_SHARED) {
                *out = arena_strdup(&L->cfg->arena, v->valuestring);
                return true;
        }
        free(*out);
        *out = xstrdup(v->valuestring);
        return true;
}

bool loader_get_duration(struct loader *L, const cJSON *v, const struct loader_path *path,
                         bool positive, int64_t *out)
{
        const char *s = loader_get_str(L, v, path);
        int64_t usec;

        if (!s)
                return false;
        if (parse_duration(s, &usec) < 0) {
                loader_error(L, path, "invalid duration \"%s\"", s);
                return false;
        }
        if (positive && usec == 0) {
                loader_error(L, path, "must be greater than 0");
                return false;
        }
        *out = usec;
        return true;
}

bool loader_get_int(struct loader *L, const cJSON *v, const struct loader_path *path, int min,
                    int max, int *out)
{
        double d;

        if (!cJSON_IsNumber(v) || !(v->valuedouble > -1e15 && v->valuedouble < 1e15) ||
            v->valuedouble != (double)(long long)v->valuedouble) {
                loader_error(L, path, "expected an integer");
                return false;
        }
        d = v->valuedouble;
        if (d < min || d > max) {
                loader_error(L, path, "must be between %d and %d", min, max);
                return false;
        }
        *out = (int)d;
        return true;
}

bool loader_get_bool(struct loader *L, const cJSON *v, const struct loader_path *path, bool *out)
{
        if (!cJSON_IsBool(v)) {
                loader_error(L, path, "expected true or false");
                return false;
        }
        *out = cJSON_IsTrue(v);
        return true;
}

bool loader_get_time_of_day(struct loader *L, const cJSON *v, const struct loader_path *path,
                            bool allow_24, int *out)
{
        const char *s = loader_get_str(L, v, path);

        if (!s)
                return false;
        if (parse_time_of_day(s, allow_24, out) < 0) {
                loader_error(L, path, "invalid time of day \"%s\" (expected HH:MM)", s);
                return false;
        }
        return true;
}

bool loader_get_instant(struct loader *L, const cJSON *v, const struct loader_path *path,
                        int64_t *out)
{
        const char *s = loader_get_str(L, v, path);

        if (!s)
                return false;
        if (parse_rfc3339(s, out) < 0) {
                loader_error(L, path,
                             "invalid RFC 3339 time \"%s\" (e.g. \"2020-02-05T08:00:00+08:00\")",
                             s);
                return false;
        }
        return true;
}

bool loader_get_role(struct loader *L, const cJSON *v, const struct loader_path *path,
                     enum role *out)
{
        const char *s = loader_get_str(L, v, path);

        if (!s)
                return false;
        *out = role_from_string(s);
        if (*out == ROLE_INVALID) {
                loader_error(L, path, "unknown role \"%s\"", s);
                return false;
        }
        return true;
}

/* A reference to a worker: NULL when it is not a string or names nobody (reported). */
struct worker *loader_get_worker_ref(struct loader *L, const cJSON *v,
                                     const struct loader_path *path)
{
        const char *s = loader_get_str(L, v, path);
        struct worker *w;

        if (!s || !L->workers_ok)
                return NULL;
        w = hashmap_get(L->cfg->worker_by_id, s);
        if (!w)
                loader_error(L, path, "unknown worker \"%s\"", s);
        return w;
}

/* Reports a worker whose role differs from the one the reference needs. */
bool loader_check_worker_role(struct loader *L, const struct worker *w, enum role role,
                              const struct loader_path *path)
{
        if (w->role == ROLE_INVALID || role == ROLE_INVALID || w->role == role)
                return true;
        loader_error(L, path, "worker \"%s\" has role %s, not %s", w->id, role_to_string(w->role),
                     role_to_string(role));
        return false;
}

void loader_warn_other_community(struct loader *L, const struct worker *w, const char *community,
                                 const struct loader_path *path)
{
        if (!community || str_eq(w->community_id, community))
                return;
        if (w->community_id)
                loader_warn(L, path, "worker \"%s\" is in community \"%s\", not \"%s\"", w->id,
                            w->community_id, community);
        else
                loader_warn(L, path, "worker \"%s\" is in no community, not \"%s\"", w->id,
                            community);
}

/* Index of community `id`, created on first use. */
size_t loader_community_intern(struct loader *L, const char *id)
{
        struct config *cfg = L->cfg;
        void *v = hashmap_get(cfg->community_by_id, id);
        struct community *c;
        size_t i;

        if (v)
                return loader_ptr_idx(v);
        i = cfg->n_communities;
        GROW(cfg->communities, i, L->cap_communities);
        GROW(L->community_rosters_pos, i, L->cap_community_rosters_pos);
        c = &cfg->communities[i];
        *c = (struct community){ .id = xstrdup(id), .index = i };
        L->community_rosters_pos[i] = -1;
        cfg->n_communities++;
        hashmap_put(cfg->community_by_id, c->id, loader_idx_ptr(i));
        return i;
}

/* ---- reading files ----
 *
 * cJSON allocates every node, key and string separately; a city-sized registry is millions
 * of them, and malloc()/free() of those dominated load time (and fragmented the heap). So
 * cJSON_Parse() runs with hooks that allocate from the loader's arena, and a document is
 * dropped by resetting the arena instead of cJSON_Delete(); the blocks are reused by the
 * next file. cJSON's hooks are process-global, so they are installed only for the duration
 * of one cJSON_ParseWithOpts() call and nothing else allocates JSON meanwhile
 * (single-threaded); anything kept beyond a document (notifier JSON) is copied with the
 * default allocator. */

static struct arena *parse_arena; /* only set while cJSON_ParseWithOpts() runs */

static void *parse_alloc(size_t n)
{
        return arena_alloc(parse_arena, n, _Alignof(max_align_t));
}

static void parse_free_noop(void *p)
{
}

static cJSON *parse_in_arena(struct arena *a, const char *text)
{
        cJSON_Hooks hooks = { .malloc_fn = parse_alloc, .free_fn = parse_free_noop };
        cJSON *root;

        parse_arena = a;
        cJSON_InitHooks(&hooks);
        root = cJSON_ParseWithOpts(text, NULL, true);
        cJSON_InitHooks(NULL);
        parse_arena = NULL;
        return root;
}

cJSON *loader_read_json(struct loader *L, const char *name)
{
        _cleanup_free_ char *path = path_join(L->cfg->dir, name);
        _cleanup_free_ char *buf = NULL;
        const char *start, *err;
        size_t len;
        cJSON *root;
        int r, line = 1;

        L->file = name;
        if (!path)
                abort();
        r = read_file(path, CONFIG_MAX_FILE_BYTES, &buf, &len);
        if (r < 0) {
                loader_error(L, NULL, "cannot read: %s", strerror(-r));
                return NULL;
        }
        start = buf;
        if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
                start += 3;
        err = memchr(buf, 0, len);
        root = err ? NULL : parse_in_arena(&L->arena, start);
        if (!root) {
                if (!err)
                        err = cJSON_GetErrorPtr();
                if (!err || err < buf || err > buf + len)
                        err = buf;
                for (const char *p = buf; p < err; p++)
                        line += *p == '\n';
                loader_error(L, NULL, "syntax error near line %d", line);
        }
        return root;
}

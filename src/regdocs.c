/* regdocs.c: the registry files as editable documents (see regdocs.h).
 *
 * A touched node carries REGDOC_TOUCHED in its cJSON type: cJSON reads only the low byte
 * of the type and two flags (IsReference, StringIsConst) below this bit, so the mark
 * travels with the node without a side table (a city's import touches 100,000 of them).
 *
 * Rendering walks the original text and the tree together: the tree's children are the
 * text's children in order (edits replace nodes in place or append, never remove), so a
 * container's text is copied up to each original child, an untouched child is walked in
 * turn, a touched one printed anew, and children the text does not have are appended
 * after the last one with its indentation. */
#include "regdocs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define REGDOC_TOUCHED    (1 << 12)
#define REGDOCS_MAX_BYTES (256u * 1024 * 1024)

void regdocs_touch(cJSON *node)
{
        node->type |= REGDOC_TOUCHED;
}

static bool touched(const cJSON *node)
{
        return node->type & REGDOC_TOUCHED;
}

static bool any_touched(const cJSON *node)
{
        if (touched(node))
                return true;
        for (const cJSON *c = node->child; c; c = c->next)
                if (any_touched(c))
                        return true;
        return false;
}

bool regdoc_changed(const struct regdoc *doc)
{
        return doc->root && any_touched(doc->root);
}

/* ---- reading ---- */

static int read_doc(const char *dir, const char *name, struct regdoc *doc, char **ret_message)
{
        _cleanup_free_ char *path = path_join(dir, name);
        char *buf = NULL;
        const char *start, *err;
        size_t len;
        int r, line = 1;

        if (!path)
                abort();
        *doc = (struct regdoc){ .name = xstrdup(name) };
        r = read_file(path, REGDOCS_MAX_BYTES, &buf, &len);
        if (r < 0) {
                if (asprintf(ret_message, "%s: cannot read: %s", name, strerror(-r)) < 0)
                        abort();
                return 1;
        }
        start = buf;
        if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
                start += 3;
                doc->bom = true;
        }
        doc->text = xstrdup(start);
        free(buf);
        if (memchr(doc->text, 0, len - (doc->bom ? 3 : 0)) ||
            !(doc->root = cJSON_ParseWithOpts(doc->text, &err, true))) {
                err = cJSON_GetErrorPtr();
                for (const char *p = doc->text; err && p < err && *p; p++)
                        line += *p == '\n';
                if (asprintf(ret_message, "%s: syntax error near line %d", name, line) < 0)
                        abort();
                return 1;
        }
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int regdocs_read(const char *dir, struct regdocs *ret, char **ret_message)
{
        /* Absolute: the candidate directory links to the files from elsewhere. */
        char *abs = realpath(dir, NULL);
        struct regdocs d = { .dir = abs ? abs : xstrdup(dir) };
        _cleanup_free_ char *dpath = path_join(dir, "households.d");
        char **names = NULL;
        size_t n = 0, cap = 0, cap_hh = 0;
        struct dirent *de;
        DIR *dd;
        int r;

        *ret_message = NULL;
        if (!dpath)
                abort();
        GROW(names, n, cap);
        names[n++] = xstrdup("households.json");
        dd = opendir(dpath);
        if (dd) {
                size_t first = n;
                while ((de = readdir(dd))) {
                        size_t len = strlen(de->d_name);
                        if (de->d_name[0] == '.' || len <= 5 ||
                            strcmp(de->d_name + len - 5, ".json") != 0)
                                continue;
                        GROW(names, n, cap);
                        if (asprintf(&names[n], "households.d/%s", de->d_name) < 0)
                                abort();
                        n++;
                }
                closedir(dd);
                qsort(names + first, n - first, sizeof(char *), cmp_str);
        }
        r = read_doc(dir, "workers.json", &d.workers, ret_message);
        if (r == 0)
                r = read_doc(dir, "rosters.json", &d.rosters, ret_message);
        for (size_t i = 0; i < n && r == 0; i++) {
                GROW(d.households, d.n_households, cap_hh);
                r = read_doc(dir, names[i], &d.households[d.n_households++], ret_message);
        }
        free_strv(names, n);
        if (r != 0) {
                regdocs_done(&d);
                return r;
        }
        *ret = d;
        return 0;
}

static void doc_done(struct regdoc *doc)
{
        free(doc->name);
        free(doc->text);
        cJSON_Delete(doc->root);
        *doc = (struct regdoc){ 0 };
}

void regdocs_done(struct regdocs *d)
{
        doc_done(&d->workers);
        doc_done(&d->rosters);
        for (size_t i = 0; i < d->n_households; i++)
                doc_done(&d->households[i]);
        free(d->households);
        free(d->dir);
        *d = (struct regdocs){ 0 };
}

/* ---- printing ---- */

/* Display columns of UTF-8 text: East Asian characters count two. */
static size_t display_width(const char *s)
{
        size_t w = 0;

        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if ((*p & 0xc0) == 0x80)
                        continue;
                w += *p >= 0xe2 ? 2 : 1; /* U+2000 and up: CJK, full-width punctuation */
        }
        return w;
}

static void put_string(struct sbuf *b, const char *s)
{
        sbuf_putc(b, '"');
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                switch (*p) {
                case '"':
                        sbuf_puts(b, "\\\"");
                        break;
                case '\\':
                        sbuf_puts(b, "\\\\");
                        break;
                case '\n':
                        sbuf_puts(b, "\\n");
                        break;
                case '\t':
                        sbuf_puts(b, "\\t");
                        break;
                case '\r':
                        sbuf_puts(b, "\\r");
                        break;
                default:
                        if (*p < 0x20)
                                sbuf_printf(b, "\\u%04x", *p);
                        else
                                sbuf_putc(b, (char)*p);
                }
        }
        sbuf_putc(b, '"');
}

static void put_number(struct sbuf *b, double d)
{
        char buf[32];

        if (!isfinite(d)) {
                sbuf_puts(b, "null");
                return;
        }
        if (d == floor(d) && fabs(d) < 1e15) {
                sbuf_printf(b, "%.0f", d);
                return;
        }
        snprintf(buf, sizeof(buf), "%.15g", d);
        if (strtod(buf, NULL) != d)
                snprintf(buf, sizeof(buf), "%.17g", d);
        sbuf_puts(b, buf);
}

static void put_compact(struct sbuf *b, const cJSON *v)
{
        const cJSON *c;

        if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
                bool obj = cJSON_IsObject(v);
                sbuf_putc(b, obj ? '{' : '[');
                for (c = v->child; c; c = c->next) {
                        if (obj) {
                                put_string(b, c->string ? c->string : "");
                                sbuf_puts(b, ": ");
                        }
                        put_compact(b, c);
                        if (c->next)
                                sbuf_puts(b, ", ");
                }
                sbuf_putc(b, obj ? '}' : ']');
        } else if (cJSON_IsString(v))
                put_string(b, v->valuestring);
        else if (cJSON_IsNumber(v))
                put_number(b, v->valuedouble);
        else if (cJSON_IsTrue(v))
                sbuf_puts(b, "true");
        else if (cJSON_IsFalse(v))
                sbuf_puts(b, "false");
        else
                sbuf_puts(b, "null");
}

static void put_spaces(struct sbuf *b, int n)
{
        for (int i = 0; i < n; i++)
                sbuf_putc(b, ' ');
}

/* v at column `indent`; `extra` columns follow it on its last line (a comma). */
static void put_value(struct sbuf *b, const cJSON *v, int indent, int depth, size_t used)
{
        struct sbuf compact;
        bool obj = cJSON_IsObject(v);
        const char *text;

        if ((!obj && !cJSON_IsArray(v)) || !v->child) {
                put_compact(b, v);
                return;
        }
        sbuf_init(&compact, NULL, 0);
        put_compact(&compact, v);
        text = sbuf_text(&compact);
        if (!text)
                abort();
        if (depth >= 2 && used + display_width(text) + 1 <= REGDOCS_WIDTH) {
                sbuf_puts(b, text);
                sbuf_done(&compact);
                return;
        }
        sbuf_done(&compact);
        sbuf_puts(b, obj ? "{\n" : "[\n");
        for (const cJSON *c = v->child; c; c = c->next) {
                size_t at = (size_t)indent + 2;
                put_spaces(b, indent + 2);
                if (obj) {
                        size_t before = b->len;
                        put_string(b, c->string ? c->string : "");
                        sbuf_puts(b, ": ");
                        at += display_width(b->p + before);
                }
                put_value(b, c, indent + 2, depth + 1, at);
                sbuf_puts(b, c->next ? ",\n" : "\n");
        }
        put_spaces(b, indent);
        sbuf_putc(b, obj ? '}' : ']');
}

char *regdocs_print(const cJSON *v, int indent, int depth)
{
        struct sbuf b;
        char *s;

        sbuf_init(&b, NULL, 0);
        put_value(&b, v, indent, depth, (size_t)indent);
        s = sbuf_finish(&b);
        if (!s)
                abort();
        return s;
}

/* ---- rendering over the original text ---- */

static size_t skip_ws(const char *s, size_t i)
{
        while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
                i++;
        return i;
}

static size_t scan_string(const char *s, size_t i)
{
        for (i++; s[i] && s[i] != '"'; i++)
                if (s[i] == '\\' && s[i + 1])
                        i++;
        return s[i] ? i + 1 : i;
}

/* The end of the value starting at s[i] (the text was parsed by cJSON: well formed). */
static size_t scan_value(const char *s, size_t i)
{
        int level = 0;

        if (s[i] == '"')
                return scan_string(s, i);
        if (s[i] != '{' && s[i] != '[') {
                while (s[i] && !strchr(",]} \t\r\n", s[i]))
                        i++;
                return i;
        }
        while (s[i]) {
                if (s[i] == '"') {
                        i = scan_string(s, i);
                        continue;
                }
                if (s[i] == '{' || s[i] == '[')
                        level++;
                else if ((s[i] == '}' || s[i] == ']') && --level == 0)
                        return i + 1;
                i++;
        }
        return i;
}

/* The indentation of the line holding s[i]. */
static int line_indent(const char *s, size_t i)
{
        size_t b = i;
        int n = 0;

        while (b > 0 && s[b - 1] != '\n')
                b--;
        while (s[b + (size_t)n] == ' ')
                n++;
        return n;
}

static int count_children(const cJSON *v)
{
        int n = 0;
        for (const cJSON *c = v->child; c; c = c->next)
                n++;
        return n;
}

/* The children of the container at s[start] in the text: their value spans. */
struct span {
        size_t start, end;
};

static size_t text_children(const char *s, size_t start, bool obj, struct span **ret,
                            size_t *ret_close)
{
        struct span *v = NULL;
        size_t n = 0, cap = 0, i = skip_ws(s, start + 1);

        while (s[i] && s[i] != (obj ? '}' : ']')) {
                if (obj) {
                        i = skip_ws(s, scan_string(s, i));
                        i = skip_ws(s, i + 1); /* ':' */
                }
                GROW(v, n, cap);
                v[n].start = i;
                v[n].end = scan_value(s, i);
                i = skip_ws(s, v[n++].end);
                if (s[i] == ',')
                        i = skip_ws(s, i + 1);
        }
        *ret = v;
        *ret_close = i;
        return n;
}

static void render(struct sbuf *b, const char *s, size_t start, size_t end, const cJSON *v,
                   int depth)
{
        bool obj = cJSON_IsObject(v), container = obj || cJSON_IsArray(v);
        _cleanup_free_ struct span *kids = NULL;
        size_t n_kids = 0, close = 0, pos = start, k = 0;
        const cJSON *c;

        if (!touched(v) && !any_touched(v)) {
                sbuf_add(b, s + start, end - start);
                return;
        }
        if (container && !touched(v) && s[start] == (obj ? '{' : '['))
                n_kids = text_children(s, start, obj, &kids, &close);
        if (touched(v) || !container || s[start] != (obj ? '{' : '[') ||
            (int)n_kids > count_children(v)) {
                char *p = regdocs_print(v, line_indent(s, start), depth);
                sbuf_puts(b, p);
                free(p);
                return;
        }
        for (c = v->child; c && k < n_kids; c = c->next, k++) {
                sbuf_add(b, s + pos, kids[k].start - pos);
                render(b, s, kids[k].start, kids[k].end, c, depth + 1);
                pos = kids[k].end;
        }
        if (c) {
                int indent =
                    n_kids ? line_indent(s, kids[n_kids - 1].start) : line_indent(s, start) + 2;
                if (!n_kids) {
                        sbuf_add(b, s + pos, start + 1 - pos); /* the bracket */
                        pos = start + 1;
                }
                for (; c; c = c->next) {
                        size_t at = (size_t)indent;
                        sbuf_puts(b, n_kids || c != v->child ? ",\n" : "\n");
                        put_spaces(b, indent);
                        if (obj) {
                                size_t before = b->len;
                                put_string(b, c->string ? c->string : "");
                                sbuf_puts(b, ": ");
                                at += display_width(b->p + before);
                        }
                        put_value(b, c, indent, depth + 1, at);
                }
                if (!n_kids) {
                        sbuf_putc(b, '\n');
                        put_spaces(b, line_indent(s, start));
                        pos = close;
                }
        }
        sbuf_add(b, s + pos, end - pos);
}

char *regdoc_render(const struct regdoc *doc)
{
        struct sbuf b;
        char *s;

        sbuf_init(&b, NULL, 0);
        if (doc->bom)
                sbuf_puts(&b, "\xef\xbb\xbf");
        if (!doc->text) {
                char *p = regdocs_print(doc->root, 0, 0);
                sbuf_puts(&b, p);
                sbuf_putc(&b, '\n');
                free(p);
        } else {
                size_t start = skip_ws(doc->text, 0), end = scan_value(doc->text, start);
                sbuf_add(&b, doc->text, start);
                render(&b, doc->text, start, end, doc->root, 0);
                sbuf_puts(&b, doc->text + end);
        }
        s = sbuf_finish(&b);
        if (!s)
                abort();
        return s;
}

/* ---- the candidate directory ---- */

static bool doc_in(const struct regdocs *d, const char *name, bool changed_only)
{
        if (str_eq(d->workers.name, name))
                return !changed_only || regdoc_changed(&d->workers);
        if (str_eq(d->rosters.name, name))
                return !changed_only || regdoc_changed(&d->rosters);
        for (size_t i = 0; i < d->n_households; i++)
                if (str_eq(d->households[i].name, name))
                        return !changed_only || regdoc_changed(&d->households[i]);
        return false;
}

static int write_text(const char *path, const char *text, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        size_t len = strlen(text), done = 0;
        int r = 0;

        if (fd < 0)
                return -errno;
        while (done < len) {
                ssize_t k = write(fd, text + done, len - done);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = -errno;
                        break;
                }
                done += (size_t)k;
        }
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        return r;
}

/* Links every entry of src into dst except the changed documents, which are written;
 * `sub` is the name prefix of the entries ("" or "households.d/"). */
static int fill_dir(const struct regdocs *d, const char *src, const char *dst, const char *sub)
{
        DIR *dd = opendir(src);
        struct dirent *de;
        int r = 0;

        if (!dd)
                return -errno;
        while (r == 0 && (de = readdir(dd))) {
                _cleanup_free_ char *name = NULL, *from = NULL, *to = NULL;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (asprintf(&name, "%s%s", sub, de->d_name) < 0)
                        abort();
                from = path_join(src, de->d_name);
                to = path_join(dst, de->d_name);
                if (!from || !to)
                        abort();
                if (strcmp(name, "households.d") == 0) {
                        if (mkdir(to, 0700) < 0)
                                r = -errno;
                        else
                                r = fill_dir(d, from, to, "households.d/");
                } else if (!doc_in(d, name, true) && symlink(from, to) < 0)
                        r = -errno;
        }
        closedir(dd);
        return r;
}

int regdocs_write_candidate(const struct regdocs *d, char **ret_dir)
{
        const char *tmp = getenv("TMPDIR");
        _cleanup_free_ char *dir = NULL;
        const struct regdoc *all[3 + d->n_households];
        size_t n = 0;
        int r;

        if (asprintf(&dir, "%s/doorwatch-import-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
                abort();
        if (!mkdtemp(dir))
                return -errno;
        r = fill_dir(d, d->dir, dir, "");
        all[n++] = &d->workers;
        all[n++] = &d->rosters;
        for (size_t i = 0; i < d->n_households; i++)
                all[n++] = &d->households[i];
        for (size_t i = 0; i < n && r == 0; i++) {
                _cleanup_free_ char *path = NULL, *text = NULL;
                if (!regdoc_changed(all[i]))
                        continue;
                path = path_join(dir, all[i]->name);
                text = regdoc_render(all[i]);
                if (!path)
                        abort();
                r = write_text(path, text, 0600);
        }
        if (r < 0) {
                regdocs_remove_tree(dir);
                return r;
        }
        *ret_dir = dir;
        dir = NULL;
        return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path);
}

int regdocs_remove_tree(const char *dir)
{
        return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0 ? -errno : 0;
}

/* ---- committing ---- */

struct prepared {
        char *tmp;
        char *path;
};

/* Writes doc's text to a temporary file beside its file with the file's mode, owner and
 * group. */
static int prepare(const struct regdocs *d, const struct regdoc *doc, struct prepared *p,
                   char **ret_message)
{
        _cleanup_free_ char *text = regdoc_render(doc);
        struct stat st, dst;
        char *slash;
        int fd, r = 0;

        p->path = path_join(d->dir, doc->name);
        if (!p->path)
                abort();
        slash = strrchr(p->path, '/');
        if (asprintf(&p->tmp, "%.*s/.%s.XXXXXX", (int)(slash - p->path), p->path, slash + 1) < 0)
                abort();
        if (stat(p->path, &st) < 0) {
                /* A new file: private to the directory's group, like the others. */
                _cleanup_free_ char *dir = strndup(p->path, (size_t)(slash - p->path));
                if (!dir)
                        abort();
                if (stat(dir, &dst) < 0) {
                        r = -errno;
                        goto fail;
                }
                st = dst;
                st.st_mode = 0640;
        }
        fd = mkstemp(p->tmp);
        if (fd < 0) {
                r = -errno;
                free(p->tmp);
                p->tmp = NULL;
                goto fail;
        }
        if (fchmod(fd, st.st_mode & 07777) < 0 ||
            ((st.st_uid != geteuid() || st.st_gid != getegid()) &&
             fchown(fd, st.st_uid, st.st_gid) < 0))
                r = -errno;
        close(fd);
        if (r == 0)
                r = write_text(p->tmp, text, 0);
        if (r == 0)
                return 0;
fail:
        if (asprintf(ret_message,
                     "%s: cannot write a new copy with the file's mode, owner and group (%s)%s",
                     doc->name, strerror(-r),
                     r == -EPERM ? ": run as root or as the owner of the configuration" : "") < 0)
                abort();
        return 1;
}

int regdocs_commit(const struct regdocs *d, char ***ret_names, size_t *ret_n, char **ret_message)
{
        const struct regdoc *all[3 + d->n_households];
        struct prepared prep[3 + d->n_households];
        size_t n = 0, m = 0;
        char **names;
        int r = 0;

        *ret_message = NULL;
        all[n++] = &d->workers;
        all[n++] = &d->rosters;
        for (size_t i = 0; i < d->n_households; i++)
                all[n++] = &d->households[i];
        for (size_t i = 0; i < n && r == 0; i++) {
                if (!regdoc_changed(all[i]))
                        continue;
                prep[m] = (struct prepared){ 0 };
                r = prepare(d, all[i], &prep[m], ret_message);
                m++;
        }
        if (r != 0) {
                for (size_t i = 0; i < m; i++) {
                        if (prep[i].tmp)
                                unlink(prep[i].tmp);
                        free(prep[i].tmp);
                        free(prep[i].path);
                }
                return 1;
        }
        names = xcalloc(m + 1, sizeof(char *));
        for (size_t i = 0, k = 0; i < n; i++) {
                if (!regdoc_changed(all[i]))
                        continue;
                if (rename(prep[k].tmp, prep[k].path) < 0 && !*ret_message &&
                    asprintf(ret_message, "%s: cannot rename the new copy into place: %s",
                             all[i]->name, strerror(errno)) < 0)
                        abort();
                names[k] = xstrdup(all[i]->name);
                free(prep[k].tmp);
                free(prep[k].path);
                k++;
        }
        /* The renames reach the disk with their directories. */
        for (const char *sub = ""; sub; sub = *sub ? NULL : "households.d") {
                _cleanup_free_ char *dir = path_join(d->dir, sub);
                int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
                if (fd >= 0) {
                        (void)fsync(fd);
                        close(fd);
                }
        }
        *ret_names = names;
        *ret_n = m;
        return *ret_message ? 1 : 0;
}

/* csv.c: the spreadsheet reader (see csv.h).
 *
 * Two passes: the bytes are first made UTF-8 (a copy, owned here until the cells are cut
 * out of it), then split into rows and cells. Every cell is its own allocation, owned by
 * its row; csv_free() frees them all. */
#include "csv.h"

#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

bool csv_utf8_valid(const char *str, size_t len, size_t *ret_bad)
{
        const unsigned char *s = (const unsigned char *)str;
        size_t i = 0;

        while (i < len) {
                unsigned c = s[i];
                size_t n;
                unsigned cp;

                if (c < 0x80) {
                        i++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf)
                        n = 1, cp = c & 0x1f;
                else if (c >= 0xe0 && c <= 0xef)
                        n = 2, cp = c & 0x0f;
                else if (c >= 0xf0 && c <= 0xf4)
                        n = 3, cp = c & 0x07;
                else
                        goto bad;
                for (size_t k = 1; k <= n; k++) {
                        if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
                                goto bad;
                        cp = cp << 6 | (s[i + k] & 0x3f);
                }
                if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
                    (cp >= 0xd800 && cp <= 0xdfff))
                        goto bad;
                i += n + 1;
        }
        return true;
bad:
        if (ret_bad)
                *ret_bad = i;
        return false;
}

/* The spreadsheet row of byte offset `off` of the raw file (quotes are not followed:
 * good enough to point at a bad byte). */
static unsigned row_of_offset(const char *data, size_t off)
{
        unsigned row = 1;

        for (size_t i = 0; i < off; i++)
                if (data[i] == '\n' || (data[i] == '\r' && (i + 1 >= off || data[i + 1] != '\n')))
                        row++;
        return row;
}

/* Converts with iconv; 0 on success, -EILSEQ/-EINVAL with the input offset of the
 * problem in *ret_bad. */
static int convert(const char *from, const char *data, size_t len, char **ret, size_t *ret_len,
                   size_t *ret_bad)
{
        iconv_t cd = iconv_open("UTF-8", from);
        size_t cap = len * 2 + 16, in_left = len, out_left;
        char *out, *in = (char *)data, *o;
        int r = 0;

        if (cd == (iconv_t)-1)
                return -errno;
        out = malloc(cap);
        if (!out)
                abort();
        o = out;
        out_left = cap - 1;
        while (in_left > 0) {
                if (iconv(cd, &in, &in_left, &o, &out_left) != (size_t)-1)
                        continue;
                if (errno == E2BIG) {
                        size_t used = (size_t)(o - out);
                        cap *= 2;
                        out = realloc(out, cap);
                        if (!out)
                                abort();
                        o = out + used;
                        out_left = cap - 1 - used;
                        continue;
                }
                r = errno == EINVAL ? -EINVAL : -EILSEQ;
                *ret_bad = (size_t)(in - data);
                break;
        }
        iconv_close(cd);
        if (r < 0) {
                free(out);
                return r;
        }
        *o = 0;
        *ret = out;
        *ret_len = (size_t)(o - out);
        return 0;
}

/* What went wrong, for people: the row (0: none) and a message. */
struct csv_failure {
        unsigned *row;
        char **message;
};

static int fail(const struct csv_failure *f, int code, unsigned row, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(const struct csv_failure *f, int code, unsigned row, const char *fmt, ...)
{
        char **ret_message = f->message;
        va_list ap;

        *f->row = row;
        va_start(ap, fmt);
        if (vasprintf(ret_message, fmt, ap) < 0)
                abort();
        va_end(ap);
        return code;
}

/* Makes data UTF-8 (a copy in *ret) and says which encoding it was. */
static int to_utf8(const char *data, size_t len, char **ret, size_t *ret_len,
                   const char **ret_encoding, const struct csv_failure *f)
{
        size_t bad = 0;
        int r;

        if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
                if (!csv_utf8_valid(data + 3, len - 3, &bad))
                        return fail(f, CSV_E_ENCODING, row_of_offset(data, bad + 3),
                                    "starts with a UTF-8 byte order mark but is not UTF-8 (byte "
                                    "0x%02x)",
                                    (unsigned char)data[bad + 3]);
                *ret = malloc(len - 2);
                if (!*ret)
                        abort();
                memcpy(*ret, data + 3, len - 3);
                (*ret)[len - 3] = 0;
                *ret_len = len - 3;
                *ret_encoding = "UTF-8 with BOM";
                return 0;
        }
        if (len >= 2 && (memcmp(data, "\xff\xfe", 2) == 0 || memcmp(data, "\xfe\xff", 2) == 0)) {
                r = convert("UTF-16", data, len, ret, ret_len, &bad);
                if (r < 0)
                        return fail(f, CSV_E_ENCODING, 0,
                                    "starts with a UTF-16 byte order mark but is not UTF-16 "
                                    "(at byte %zu)",
                                    bad);
                *ret_encoding = "UTF-16";
                return 0;
        }
        if (memchr(data, 0, len))
                return fail(
                    f, CSV_E_SYNTAX,
                    row_of_offset(data, (size_t)((const char *)memchr(data, 0, len) - data)),
                    "contains a NUL byte (UTF-16 without a byte order mark? save it as "
                    "\"CSV UTF-8\")");
        if (csv_utf8_valid(data, len, NULL)) {
                *ret = malloc(len + 1);
                if (!*ret)
                        abort();
                memcpy(*ret, data, len);
                (*ret)[len] = 0;
                *ret_len = len;
                *ret_encoding = "UTF-8";
                return 0;
        }
        r = convert("GB18030", data, len, ret, ret_len, &bad);
        if (r < 0)
                return fail(f, CSV_E_ENCODING, row_of_offset(data, bad),
                            "neither UTF-8 nor GBK/GB18030 (byte 0x%02x); save the sheet as "
                            "\"CSV UTF-8\" in Excel or WPS",
                            (unsigned char)data[bad]);
        *ret_encoding = "GB18030";
        return 0;
}

/* ',' or '\t': whichever is more frequent outside quotes (a comma when neither occurs). */
static char detect_delimiter(const char *s, size_t len)
{
        size_t commas = 0, tabs = 0;
        bool quoted = false;

        for (size_t i = 0; i < len; i++) {
                if (s[i] == '"')
                        quoted = !quoted;
                else if (!quoted && s[i] == ',')
                        commas++;
                else if (!quoted && s[i] == '\t')
                        tabs++;
        }
        return tabs > commas ? '\t' : ',';
}

struct builder {
        struct csv *csv;
        size_t cap_rows, cap_cells;
        struct sbuf cell;
};

static void end_cell(struct builder *b)
{
        struct csv_row *r = &b->csv->rows[b->csv->n_rows - 1];
        const char *t = sbuf_text(&b->cell);
        char *text = t ? strndup(t, b->cell.len) : NULL;

        if (!text)
                abort();
        /* The scratch buffer is reused for the next cell; cells are copied to their size. */
        b->cell.len = 0;
        GROW(r->cells, r->n_cells, b->cap_cells);
        r->cells[r->n_cells++] = text;
}

static void begin_row(struct builder *b, unsigned row)
{
        struct csv *c = b->csv;

        GROW(c->rows, c->n_rows, b->cap_rows);
        c->rows[c->n_rows++] = (struct csv_row){ .row = row };
        b->cap_cells = 0;
}

int csv_parse(const char *data, size_t len, struct csv **ret, unsigned *ret_row, char **ret_message)
{
        _cleanup_free_ char *text = NULL;
        struct builder b = { 0 };
        const char *encoding = NULL;
        size_t n = 0, i = 0;
        unsigned row = 1, quote_row = 0;
        bool quoted = false, at_start = true;
        char delim;
        int r;

        const struct csv_failure f = { ret_row, ret_message };

        *ret_message = NULL;
        *ret_row = 0;
        r = to_utf8(data, len, &text, &n, &encoding, &f);
        if (r != 0)
                return r;
        delim = detect_delimiter(text, n);
        b.csv = xcalloc(1, sizeof(struct csv));
        b.csv->delimiter = delim;
        b.csv->encoding = encoding;
        sbuf_init(&b.cell, NULL, 0);
        if (n == 0) {
                *ret = b.csv;
                return 0;
        }
        begin_row(&b, row);
        while (i < n) {
                char c = text[i];

                if (quoted) {
                        if (c == '"' && i + 1 < n && text[i + 1] == '"') {
                                sbuf_putc(&b.cell, '"');
                                i += 2;
                        } else if (c == '"') {
                                quoted = false;
                                i++;
                        } else if (c == '\r') {
                                /* A line break inside a cell stays one, as "\n". */
                                sbuf_putc(&b.cell, '\n');
                                i += i + 1 < n && text[i + 1] == '\n' ? 2 : 1;
                        } else {
                                sbuf_putc(&b.cell, c);
                                i++;
                        }
                        continue;
                }
                if (c == '"' && at_start) {
                        quoted = true;
                        quote_row = row;
                        at_start = false;
                        i++;
                } else if (c == delim) {
                        end_cell(&b);
                        at_start = true;
                        i++;
                } else if (c == '\n' || c == '\r') {
                        i += c == '\r' && i + 1 < n && text[i + 1] == '\n' ? 2 : 1;
                        end_cell(&b);
                        at_start = true;
                        row++;
                        if (i < n)
                                begin_row(&b, row);
                } else {
                        sbuf_putc(&b.cell, c);
                        at_start = false;
                        i++;
                }
        }
        if (quoted) {
                sbuf_done(&b.cell);
                csv_free(b.csv);
                return fail(&f, CSV_E_SYNTAX, quote_row,
                            "a quoted cell is never closed (a \" without its partner)");
        }
        if (!(n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r')))
                end_cell(&b);
        sbuf_done(&b.cell);
        *ret = b.csv;
        return 0;
}

struct csv *csv_free(struct csv *c)
{
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_rows; i++)
                free_strv(c->rows[i].cells, c->rows[i].n_cells);
        free(c->rows);
        free(c);
        return NULL;
}

void csv_put_cell(struct sbuf *b, const char *cell)
{
        size_t len = cell ? strlen(cell) : 0;
        bool quote =
            len > 0 && (strpbrk(cell, ",\"\r\n\t") || cell[0] == ' ' || cell[len - 1] == ' ');

        if (!quote) {
                sbuf_add(b, cell ? cell : "", len);
                return;
        }
        sbuf_putc(b, '"');
        for (const char *p = cell; *p; p++) {
                if (*p == '"')
                        sbuf_putc(b, '"');
                sbuf_putc(b, *p);
        }
        sbuf_putc(b, '"');
}

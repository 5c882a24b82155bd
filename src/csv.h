/* csv.h: spreadsheets as Excel and WPS export them, read into rows of UTF-8 cells.
 *
 * The encoding is detected: UTF-8 with or without a byte order mark, UTF-16 with one
 * (Excel's "Unicode text"), otherwise GB18030 (a superset of GBK and GB2312, what Chinese
 * Windows saves as "CSV") converted with iconv; anything else is refused with the row of
 * the first byte that is neither. The delimiter is a comma or a tab (whichever appears
 * more often outside quotes). Quoted fields may hold delimiters, doubled quotes and line
 * breaks; line ends are CRLF, LF or CR.
 *
 * Rows are numbered as the spreadsheet shows them (1-based; a line break inside a quoted
 * cell stays in its row). Blank lines are kept as rows of one empty cell so the numbers
 * stay right; cells are not trimmed. Pure: no I/O. Allocation failure aborts. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Positive outcomes of csv_parse(): the file is not a spreadsheet we can read. */
enum {
        CSV_E_ENCODING = 1, /* neither UTF-8, UTF-16 with a BOM nor GB18030 */
        CSV_E_SYNTAX,       /* a quote that never closes, a NUL byte */
};

struct csv_row {
        char **cells;
        size_t n_cells;
        unsigned row; /* the spreadsheet's row number, 1-based */
};

struct csv {
        struct csv_row *rows;
        size_t n_rows;
        char delimiter;       /* ',' or '\t' */
        const char *encoding; /* "UTF-8", "UTF-8 with BOM", "UTF-16", "GB18030" */
};

/* Parses data[0..len). Returns 0 and *ret, or a CSV_E_* code with a message for people in
 * *ret_message (owned by the caller) and the row it concerns in *ret_row (0: none). */
int csv_parse(const char *data, size_t len, struct csv **ret, unsigned *ret_row,
              char **ret_message);
struct csv *csv_free(struct csv *c);

/* Whether s[0..len) is valid UTF-8 (no overlong forms, no surrogates); *ret_bad (may be
 * NULL) gets the offset of the first bad byte. */
bool csv_utf8_valid(const char *s, size_t len, size_t *ret_bad);

/* Appends one cell to b for a CSV file, quoted when it holds a comma, a quote, a line
 * break or leading/trailing spaces. */
struct sbuf;
void csv_put_cell(struct sbuf *b, const char *cell);

/* report-internal.h: what report.c (figures, text, CSV) and report_html.c (the page)
 * share: the rows of the summary table. Not for other modules. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "report.h"

/* A row of the summary table: its label and how to write a section's value. */
typedef void (*report_cell_fn)(const struct report_section *x, int arg, char buf[static 32]);
struct report_row {
        const char *label;
        report_cell_fn fn;
        int arg;
        int indent; /* 0: a figure, 1: part of the one above */
        bool hot;   /* something to act on when not zero (shown in red) */
};

/* The rows, in order: with `all` every one (CSV: stable rows for spreadsheets, and the 14
 * days' alerts), otherwise rules and kinds that are all zero are left out. Returns how many
 * were written (at most max). */
size_t report_table_rows(const struct report *r, bool all, struct report_row *rows, size_t max);
/* The text and the CSV forms, appended to b. */
void report_render_text(const struct report *r, struct sbuf *b);
void report_render_csv(const struct report *r, struct sbuf *b);
/* "星期二" */
const char *report_weekday(const struct report *r);

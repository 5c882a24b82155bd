/* config_diag.c: the configuration's diagnostics, one ready-to-print line per problem.
 *
 * A line is "file: json.path: message" (or "file: message" without a path); control
 * characters from the file's content are replaced by '?', so a line is always one line.
 * struct config_diag owns its lines; config_diag_done() frees them. Allocation failure
 * aborts. */
#include "config_diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

static void diag_add(char ***lines, size_t *n, size_t *cap, const char *file, const char *path,
                     const char *fmt, va_list ap)
{
        char *msg, *line;
        int r;

        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        if (path && *path)
                r = asprintf(&line, "%s: %s: %s", file ? file : "", path, msg);
        else
                r = asprintf(&line, "%s: %s", file ? file : "", msg);
        free(msg);
        if (r < 0)
                abort();
        /* One line per problem, whatever the file contained. */
        for (char *p = line; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        *p = '?';
        GROW(*lines, *n, *cap);
        (*lines)[(*n)++] = line;
}

void config_diag_error(struct config_diag *d, const char *file, const char *path, const char *fmt,
                       ...)
{
        va_list ap;

        va_start(ap, fmt);
        diag_add(&d->errors, &d->n_errors, &d->cap_errors, file, path, fmt, ap);
        va_end(ap);
}

void config_diag_warn(struct config_diag *d, const char *file, const char *path, const char *fmt,
                      ...)
{
        va_list ap;

        va_start(ap, fmt);
        diag_add(&d->warnings, &d->n_warnings, &d->cap_warnings, file, path, fmt, ap);
        va_end(ap);
}

void config_diag_done(struct config_diag *d)
{
        if (!d)
                return;
        for (size_t i = 0; i < d->n_errors; i++)
                free(d->errors[i]);
        for (size_t i = 0; i < d->n_warnings; i++)
                free(d->warnings[i]);
        free(d->errors);
        free(d->warnings);
        *d = (struct config_diag){ 0 };
}

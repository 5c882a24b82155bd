/* diag.c: see diag.h. */
#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

__attribute__((weak)) void config_diag_error(struct config_diag *d, const char *file,
                                             const char *path, const char *fmt, ...)
{
        char msg[512], *line;
        va_list ap;

        if (!d)
                return;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (asprintf(&line, "%s: %s: %s", file, path, msg) < 0)
                abort();
        GROW(d->errors, d->n_errors, d->cap_errors);
        d->errors[d->n_errors++] = line;
}

bool test_diag_has(const struct config_diag *d, const char *needle)
{
        for (size_t i = 0; i < d->n_errors; i++)
                if (strstr(d->errors[i], needle))
                        return true;
        return false;
}

void test_diag_clear(struct config_diag *d)
{
        for (size_t i = 0; i < d->n_errors; i++)
                free(d->errors[i]);
        free(d->errors);
        for (size_t i = 0; i < d->n_warnings; i++)
                free(d->warnings[i]);
        free(d->warnings);
        *d = (struct config_diag){ 0 };
}

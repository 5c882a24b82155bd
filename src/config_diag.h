/* config_diag.h: errors and warnings about the configuration, as "file: json.path: message"
 * lines (DESIGN.md §3). The loader, the adapters' and notifiers' key checks and the
 * template check all report through these; the daemon and doorwatchctl print them. */
#pragma once

#include <stddef.h>

/* Collected errors and warnings, each a ready-to-print line. */
struct config_diag {
        char **errors;
        size_t n_errors, cap_errors;
        char **warnings;
        size_t n_warnings, cap_warnings;
};
void config_diag_error(struct config_diag *d, const char *file, const char *path, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));
void config_diag_warn(struct config_diag *d, const char *file, const char *path, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));
void config_diag_done(struct config_diag *d);

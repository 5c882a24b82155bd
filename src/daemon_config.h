/* daemon_config.h: a reload's comparison of two configurations (daemon_check_files(), the
 * files check, is declared in daemon.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* Logs every setting that differs and cannot change without a restart; true if none. */
bool restart_settings_equal(const struct config *o, const struct config *n);
/* Households and devices added and removed from o to n. */
void count_changes(const struct config *o, const struct config *n, size_t *h_add, size_t *h_del,
                   size_t *d_add, size_t *d_del);

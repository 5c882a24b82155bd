/* diag.h: struct config_diag helpers for tests.
 *
 * diag.c also carries a weak config_diag_error() with the documented
 * "file: path: message" format, for test binaries that do not link src/config_diag.c
 * (not on every branch yet). The real one wins wherever config_diag.o is linked. */
#pragma once

#include <stdbool.h>

#include "config.h"

/* Whether some error line contains needle. */
bool test_diag_has(const struct config_diag *d, const char *needle);
/* Frees the collected lines and resets d. */
void test_diag_clear(struct config_diag *d);

/* retention.h: purging ended households. See retention.c. */
#pragma once

#include <stdint.h>

struct engine;

/* Purges the events and personal data of every household whose observation ended
 * `retention` ago (and has no live alert left). Returns the number purged. */
int retention_purge_expired(struct engine *e, int64_t now_usec);

/* retention.h: purging ended households. See retention.c. */
#pragma once

#include <stdint.h>

struct engine;

/* Purges the events and personal data of every household whose observation ended
 * `retention` ago, and of every household no longer configured that was last recorded
 * `retention` ago (their alerts, whatever their state, go with them). Returns the number
 * purged, or a negative errno. */
int retention_purge_expired(struct engine *e, int64_t now_usec);

/* reload.h: switching the engine to a new configuration. See reload.c. */
#pragma once

#include "config.h"

struct engine;

/* Switches to a new configuration (SIGHUP), between two messages, with the previous
 * transaction committed. State arrays are rebuilt by id: the state of households and
 * devices that stay is carried over, new ones start fresh; live alerts and their pending
 * timers follow their household to its new record; the alerts of removed households stay
 * in the database but leave memory (logged). Cannot fail (returns 0).
 * The caller frees the old configuration afterwards. */
int reload_config(struct engine *e, const struct config *new_config);

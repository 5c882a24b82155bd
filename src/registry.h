/* registry.h: workers.json, households.json and households.d/: who can be notified and
 * the households under observation with their teams, schedules and devices. */
#pragma once

#include "config.h"
#include "loader.h"

void registry_load_workers(struct loader *L);
void registry_load_households(struct loader *L);

/* registry.h: workers.json (everyone who can be notified), households.json and
 * households.d/ *.json (the households under observation with their teams, schedules,
 * devices and policy overrides). Workers must be read before households: teams refer to
 * them. */
#pragma once

#include "config.h"
#include "loader.h"

void registry_load_workers(struct loader *L);
void registry_load_households(struct loader *L);

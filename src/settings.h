/* settings.h: doorwatch.json, the daemon's settings: time zone, database, broker, rule
 * policy, escalation, notifiers, HTTP, outbox, monitoring gap, templates. */
#pragma once

#include <stdbool.h>

#include "config.h"
#include "loader.h"

void settings_defaults(struct config *c);
void settings_parse_policy(struct loader *L, const cJSON *o, const struct loader_path *path,
                           struct policy *pol, bool household);
void settings_load(struct loader *L);

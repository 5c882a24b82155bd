/* settings.h: doorwatch.json: time zone, database, broker, rule policy, escalation,
 * notifiers, HTTP, outbox, templates. */
#pragma once

#include <stdbool.h>

#include "config.h"
#include "loader.h"

void set_defaults(struct config *c);
void parse_policy_into(struct loader *L, const cJSON *o, const struct jp *path, struct policy *pol,
                       bool household);
void load_daemon(struct loader *L);

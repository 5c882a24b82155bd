/* rosters.h: rosters.json: per community the duty leader, shifts and dated overrides;
 * the subdistrict command centre and the admins. Read after workers.json; roster.c answers
 * who is on duty from what this reads. */
#pragma once

#include "config.h"
#include "loader.h"

void rosters_load(struct loader *L);

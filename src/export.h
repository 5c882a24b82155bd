/* export.h: the registry as the office's spreadsheets, what `doorwatchctl export` writes
 * and `import` reads back unchanged.
 *
 * CSV, UTF-8 with a byte order mark (so Excel and WPS open it as UTF-8), CRLF line ends,
 * the Chinese headers of sheet.h. households: id, community (its name when rosters.json
 * has one), address, observation start and end in local time, the team's worker ids with
 * their names beside them (display columns), the times of each role's scheduled visits.
 * workers: id, name, role (值班领导 for a staff member who leads their own community,
 * 指挥中心 for one in the command centre), community, phone, channels. shifts: one row
 * per shift and per dated cover (its start and end as dates and times, no days).
 *
 * Pure: instants are formatted in the process time zone. Allocation failure aborts. */
#pragma once

#include "config.h"
#include "sheet.h"

/* The sheet's text (owned by the caller). */
char *export_sheet(const struct config *cfg, enum sheet_kind kind);

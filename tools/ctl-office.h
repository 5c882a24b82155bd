/* ctl-office.h: doorwatchctl's commands for the community office (import, export, report),
 * called from doorwatchctl.c's dispatch with the arguments after the command word. Exit
 * status as doorwatchctl's: 0 success, 1 failed check or refused action, 2 usage error. */
#pragma once

#include <stdbool.h>

int office_import(const char *config_dir, bool json, int argc, char **argv);
int office_export(const char *config_dir, bool json, int argc, char **argv);
/* report daily [--date D] [--community C] [--format text|csv|html] [-o FILE] */
int office_report(const char *config_dir, bool json, int argc, char **argv);

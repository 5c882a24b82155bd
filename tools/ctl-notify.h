/* ctl-notify.h: doorwatchctl's notify commands (see ctl-notify.c), called with the
 * arguments after "notify list" or "notify test". Exit status as doorwatchctl's. */
#pragma once

struct ctl;

int cmd_notify_list(struct ctl *ctl, int argc, char **argv);
int cmd_notify_test(struct ctl *ctl, int argc, char **argv);

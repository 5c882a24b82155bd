/* ctl.h: what doorwatchctl.c and its command files (ctl-notify.c, ctl.c) share: the command
 * line's state, loading the configuration and opening the database once. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#define EXIT_USAGE 2

struct ctl {
        const char *config_dir;
        bool json;
        struct config *config;
        struct store *store;
        /* The registry had errors: a read-only query goes on with doorwatch.json alone (no
         * households, workers or rosters to check names against). */
        bool partial;
};

/* Prints the usage on f; returns status. */
int usage_to(FILE *f, int status);
/* Prints the usage on stderr; returns EXIT_USAGE. */
int usage(void);
/* Loads ctl->config once (errors on stderr). Returns 0 or -EINVAL. */
int load_config(struct ctl *ctl);
/* Loads ctl->config for a read-only query: a configuration with errors is reported as
 * warnings and doorwatch.json alone is used (ctl->partial). Returns 0 or -EINVAL. */
int load_config_lenient(struct ctl *ctl);
/* ctl->store, read-only, after a lenient load_config(). Returns 0 or a negative errno. */
int open_db(struct ctl *ctl);

/* daemon.h: the doorwatchd process: one sd-event loop owning the MQTT connection,
 * the store, the engine and the outbox, routing messages between them. */
#pragma once

#include "config.h"

struct daemon;

struct config_diag;

/* Reads, as the daemon does at start and discarding them, every secret (systemd credential
 * or file: the broker password, the API token and link key when HTTP is on, every
 * notifier's) and opens every TLS file of c. `doorwatchd --check-config` and daemon_new()
 * (before it creates anything) call it. Returns 0, or -EINVAL with the problems in diag. */
int daemon_check_files(const struct config *c, struct config_diag *diag);

/* Takes ownership of cfg; reads every secret before it creates anything. */
int daemon_new(struct config *cfg, struct daemon **ret);
struct daemon *daemon_free(struct daemon *d);
/* Runs until SIGTERM/SIGINT; returns 0 on a clean stop, negative errno on failure. */
int daemon_run(struct daemon *d);
/* Re-reads the configuration directory and switches to it if it is valid (SIGHUP does
 * this). Returns 0 when switched, negative errno when the old configuration was kept. */
int daemon_reload(struct daemon *d);

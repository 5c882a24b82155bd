/* daemon.h: the doorwatchd process: one sd-event loop owning the MQTT connection,
 * the store, the engine and the outbox, routing messages between them. */
#pragma once

#include "config.h"

struct daemon;

/* Takes ownership of cfg. */
int daemon_new(struct config *cfg, struct daemon **ret);
struct daemon *daemon_free(struct daemon *d);
/* Runs until SIGTERM/SIGINT; returns 0 on a clean stop, negative errno on failure. */
int daemon_run(struct daemon *d);
/* Re-reads the configuration directory and switches to it if it is valid (SIGHUP does
 * this). Returns 0 when switched, negative errno when the old configuration was kept. */
int daemon_reload(struct daemon *d);

/* mqtt_session.h: the command-line tools' one way to connect to the broker (doorwatchctl's
 * notify test, device verify and discover; doorwatch-sim). Blocking, with a bounded wait:
 * the daemon's own connection is mqtt.h, on the event loop.
 *
 * The tool gets a connected libmosquitto client and drives it with mosquitto_loop() itself;
 * it sets its callbacks after the connect (userdata is already the client's). */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct mosquitto;
struct mqtt_config;

/* Why a connect failed: expected outcomes, each with a sentence in the caller's buffer. */
enum {
        MQTT_SESSION_E_PASSWORD = 1, /* mqtt.username is set but its password cannot be read */
        MQTT_SESSION_E_TLS,          /* the TLS setup (mqtt.tls files) or handshake failed */
        MQTT_SESSION_E_REFUSED,      /* the broker answered and refused the login */
        MQTT_SESSION_E_UNREACHABLE,  /* no broker there, or no answer within the wait */
};

/* Connects a clean-session client named client_id (NULL: the library picks one) to mc's
 * broker: its username with the password read through secret.c (config_dir for relative
 * paths, may be NULL), its TLS files when mc->ca_file is set. Waits at most timeout_usec for
 * the broker's answer. Returns 0 with *ret connected (close it with mqtt_session_close()),
 * or one of MQTT_SESSION_E_* with the cause in why (why_size bytes: what failed, the
 * broker's host and port, the library's own words). Aborts on OOM. */
int mqtt_session_connect(const struct mqtt_config *mc, const char *config_dir,
                         const char *client_id, void *userdata, int64_t timeout_usec,
                         struct mosquitto **ret, char *why, size_t why_size);
/* Disconnects, frees the client and returns NULL. NULL-safe. */
struct mosquitto *mqtt_session_close(struct mosquitto *m);

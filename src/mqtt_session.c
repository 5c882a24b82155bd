/* mqtt_session.c: the tools' blocking connect (see mqtt_session.h).
 *
 * The connect is asynchronous underneath (mosquitto_connect_async(): a non-blocking TCP
 * connect; only the name lookup blocks), pumped by mosquitto_loop() until the CONNACK or
 * the deadline, so an unreachable broker costs the wait and no more. Each step that can
 * fail is checked and named: the password (never carried on without it), the TLS setup, the
 * broker's answer. The password is wiped as soon as libmosquitto has its copy.
 *
 * Ownership: the caller owns the client it gets and frees it with mqtt_session_close();
 * each connect pairs mosquitto_lib_init() with the close's mosquitto_lib_cleanup(). */
#include "mqtt_session.h"

#include <errno.h>
#include <mosquitto.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "secret.h"
#include "util.h"

#define KEEPALIVE_SEC 30

struct connecting {
        bool answered;
        int connack; /* the broker's answer: 0 accepted, else the refusal */
};

static void on_connect(struct mosquitto *m, void *userdata, int rc)
{
        struct connecting *c = userdata;

        c->answered = true;
        c->connack = rc;
}

static int fail(struct mosquitto *m, int code, char *why, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail(struct mosquitto *m, int code, char *why, size_t size, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(why, size, fmt, ap);
        va_end(ap);
        mqtt_session_close(m);
        return code;
}

/* libmosquitto's words for rc (MOSQ_ERR_ERRNO: errno's). */
static const char *mosq_reason(int rc)
{
        return rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc);
}

/* The first of the TLS files that cannot be read (errno says why), or NULL:
 * mosquitto_tls_set() only says "invalid arguments". */
static const char *unreadable(const struct mqtt_config *mc)
{
        const char *files[] = { mc->ca_file, mc->cert_file, mc->key_file };

        for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++)
                if (files[i] && access(files[i], R_OK) < 0)
                        return files[i];
        return NULL;
}

int mqtt_session_connect(const struct mqtt_config *mc, const char *config_dir,
                         const char *client_id, void *userdata, int64_t timeout_usec,
                         struct mosquitto **ret, char *why, size_t why_size)
{
        struct connecting c = { 0 };
        struct mosquitto *m;
        int64_t deadline;
        int rc;

        *ret = NULL;
        mosquitto_lib_init();
        m = mosquitto_new(client_id, true, &c);
        if (!m)
                abort(); /* with a clean session, only out of memory */
        mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
        if (mc->username) {
                _cleanup_secret_ char *password = NULL;
                int r = secret_read_at(config_dir, "mqtt.password", mc->password_file, &password);

                if (r != 0)
                        return fail(m, MQTT_SESSION_E_PASSWORD, why, why_size,
                                    "cannot read the MQTT password (%s): %s",
                                    mc->password_file ? mc->password_file : "credential",
                                    r > 0 ? "no such file" : strerror(-r));
                rc = mosquitto_username_pw_set(m, mc->username, password);
                if (rc == MOSQ_ERR_NOMEM)
                        abort();
                if (rc != MOSQ_ERR_SUCCESS)
                        return fail(m, MQTT_SESSION_E_PASSWORD, why, why_size, "MQTT user name: %s",
                                    mosq_reason(rc));
        }
        if (mc->ca_file) {
                rc = mosquitto_tls_set(m, mc->ca_file, NULL, mc->cert_file, mc->key_file, NULL);
                if (rc == MOSQ_ERR_NOMEM)
                        abort();
                if (rc != MOSQ_ERR_SUCCESS) {
                        const char *bad = unreadable(mc);
                        if (bad)
                                return fail(m, MQTT_SESSION_E_TLS, why, why_size,
                                            "TLS setup: cannot read %s: %s", bad, strerror(errno));
                        return fail(m, MQTT_SESSION_E_TLS, why, why_size, "TLS setup: %s",
                                    mosq_reason(rc));
                }
        }
        mosquitto_connect_callback_set(m, on_connect);
        rc = mosquitto_connect_async(m, mc->host, mc->port, KEEPALIVE_SEC);
        deadline = now_monotonic_usec() + timeout_usec;
        while (rc == MOSQ_ERR_SUCCESS && !c.answered && now_monotonic_usec() < deadline)
                rc = mosquitto_loop(m, 100, 1);
        if (c.answered && c.connack != 0)
                return fail(m, MQTT_SESSION_E_REFUSED, why, why_size,
                            "the broker %s:%d refused the login: %s", mc->host, mc->port,
                            mosquitto_connack_string(c.connack));
        if (rc == MOSQ_ERR_TLS)
                return fail(m, MQTT_SESSION_E_TLS, why, why_size, "TLS with the broker %s:%d: %s",
                            mc->host, mc->port, mosq_reason(rc));
        if (rc != MOSQ_ERR_SUCCESS)
                return fail(m, MQTT_SESSION_E_UNREACHABLE, why, why_size,
                            "cannot reach the broker %s:%d: %s", mc->host, mc->port,
                            mosq_reason(rc));
        if (!c.answered)
                return fail(m, MQTT_SESSION_E_UNREACHABLE, why, why_size,
                            "no answer from the broker %s:%d within %lld s", mc->host, mc->port,
                            (long long)(timeout_usec / USEC_PER_SEC));
        mosquitto_connect_callback_set(m, NULL);
        mosquitto_user_data_set(m, userdata);
        *ret = m;
        return 0;
}

struct mosquitto *mqtt_session_close(struct mosquitto *m)
{
        if (!m)
                return NULL;
        mosquitto_disconnect(m);
        mosquitto_destroy(m);
        mosquitto_lib_cleanup();
        return NULL;
}

/* daemon_config.c: what the daemon checks of a configuration beyond its syntax: the files
 * it will read (secrets, with systemd credentials first, and the TLS files) opened as the
 * daemon would, before it creates anything (also for --check-config), and, at a reload,
 * which settings cannot change without a restart and what changed in the registry. Moved
 * unchanged from daemon.c. */
#include "daemon_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_diag.h"
#include "daemon.h"
#include "log.h"
#include "notify/notify.h"
#include "secret.h"
#include "store.h"
#include "util.h"

/* One secret read as the daemon reads it (its systemd credential first): a configured
 * source that exists but cannot be read is an error, and so is a missing one when
 * `required`; a missing optional one turns its feature off (the daemon warns). */
static void check_secret(const struct config *c, struct config_diag *diag, const char *key,
                         const char *credential, const char *file, bool required)
{
        _cleanup_secret_ char *v = NULL;
        const char *creds = getenv("CREDENTIALS_DIRECTORY");
        int r;

        if (!file && !(creds && credential))
                return;
        r = secret_read_at(c->dir, credential, file, &v);
        if (r < 0) {
                _cleanup_free_ char *cred = NULL;

                /* The credential, when there is one, is what was read. */
                if (creds && credential &&
                    access(cred = xasprintf("%s/%s", creds, credential), F_OK) == 0)
                        config_diag_error(diag, "doorwatch.json", key,
                                          "cannot read the systemd credential %s: %s", cred,
                                          strerror(-r));
                else
                        config_diag_error(diag, "doorwatch.json", key, "cannot read %s: %s",
                                          file ? file : "?", strerror(-r));
        } else if (r == SECRET_E_MISSING && required)
                config_diag_error(diag, "doorwatch.json", key, "%s does not exist", file);
}

/* A file libmosquitto reads at connect time (TLS): opened as the daemon would. */
static void check_readable(struct config_diag *diag, const char *key, const char *file)
{
        FILE *f;

        if (!file)
                return;
        f = fopen(file, "re");
        if (!f)
                config_diag_error(diag, "doorwatch.json", key, "cannot read %s: %s", file,
                                  strerror(errno));
        else
                fclose(f);
}

int daemon_check_files(const struct config *c, struct config_diag *diag)
{
        size_t errors = diag->n_errors;
        int r = 0;

        check_secret(c, diag, "mqtt.password_file", "mqtt.password", c->mqtt.password_file, true);
        check_secret(c, diag, "database_password_file", SECRET_DATABASE_PASSWORD,
                     c->database_password_file, true);
        check_readable(diag, "mqtt.tls.ca_file", c->mqtt.ca_file);
        check_readable(diag, "mqtt.tls.cert_file", c->mqtt.cert_file);
        check_readable(diag, "mqtt.tls.key_file", c->mqtt.key_file);
        if (c->http.listen) {
                check_secret(c, diag, "http.token_file", "api.token", c->http.token_file, false);
                check_secret(c, diag, "http.ack_secret_file", "ack.key", c->http.ack_secret_file,
                             false);
        }
        for (size_t i = 0; i < c->n_notifiers; i++)
                if (notify_check_config(&c->notifiers[i], c->dir, diag) < 0)
                        r = -EINVAL;
        return r < 0 || diag->n_errors > errors ? -EINVAL : 0;
}

static bool str_eq_null(const char *a, const char *b)
{
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Logs every setting that differs and cannot change without a restart; true if none. */
bool restart_settings_equal(const struct config *o, const struct config *n)
{
        bool same = true;
#define CHECK_STR(field, name)                                                                     \
        do {                                                                                       \
                if (!str_eq_null(o->field, n->field)) {                                            \
                        log_err("reload: %s changed from \"%s\" to \"%s\"; that needs a restart "  \
                                "(systemctl restart doorwatchd)",                                  \
                                name, o->field ? o->field : "null", n->field ? n->field : "null"); \
                        same = false;                                                              \
                }                                                                                  \
        } while (0)
#define CHECK_INT(field, name)                                                                     \
        do {                                                                                       \
                if (o->field != n->field) {                                                        \
                        log_err("reload: %s changed; that needs a restart (systemctl restart "     \
                                "doorwatchd)",                                                     \
                                name);                                                             \
                        same = false;                                                              \
                }                                                                                  \
        } while (0)
        if (!str_eq_null(o->database, n->database)) {
                _cleanup_free_ char *was = store_database_shown(o->database);
                _cleanup_free_ char *now = store_database_shown(n->database);
                log_err("reload: database changed from \"%s\" to \"%s\"; that needs a restart "
                        "(systemctl restart doorwatchd)",
                        was, now);
                same = false;
        }
        CHECK_STR(database_password_file, "database_password_file");
        CHECK_INT(database_sync_full, "database_sync");
        CHECK_STR(timezone, "timezone");
        CHECK_STR(mqtt.host, "mqtt.host");
        CHECK_INT(mqtt.port, "mqtt.port");
        CHECK_STR(mqtt.client_id, "mqtt.client_id");
        CHECK_STR(mqtt.username, "mqtt.username");
        CHECK_STR(mqtt.password_file, "mqtt.password_file");
        CHECK_STR(mqtt.ca_file, "mqtt.tls.ca_file");
        CHECK_STR(mqtt.cert_file, "mqtt.tls.cert_file");
        CHECK_STR(mqtt.key_file, "mqtt.tls.key_file");
        CHECK_INT(mqtt.keepalive_sec, "mqtt.keepalive");
        CHECK_STR(mqtt.topic_prefix, "mqtt.topic_prefix");
        CHECK_STR(http.listen, "http.listen");
#undef CHECK_STR
#undef CHECK_INT
        return same;
}

void count_changes(const struct config *o, const struct config *n, size_t *h_add, size_t *h_del,
                   size_t *d_add, size_t *d_del)
{
        *h_add = *h_del = *d_add = *d_del = 0;
        for (size_t i = 0; i < n->n_households; i++)
                *h_add += !config_household(o, n->households[i].id);
        for (size_t i = 0; i < o->n_households; i++)
                *h_del += !config_household(n, o->households[i].id);
        for (size_t i = 0; i < n->n_devices; i++)
                *d_add += !config_device(o, n->devices[i].id);
        for (size_t i = 0; i < o->n_devices; i++)
                *d_del += !config_device(n, o->devices[i].id);
}

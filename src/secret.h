/* secret.h: reading secrets (broker password, API token, webhook keys) from systemd
 * credentials or from the files the configuration names.
 *
 * Under systemd, `LoadCredential=NAME:...` puts the secret in $CREDENTIALS_DIRECTORY/NAME,
 * readable only by the service; that copy wins over the configuration's *_file key, so an
 * admin can keep secrets out of /etc/doorwatch entirely. Secrets are never logged: callers
 * log the source (credential or path) at most. */
#pragma once

struct config;

enum {
        SECRET_E_MISSING = 1, /* the configured file does not exist (and no credential) */
};

/* Reads one secret: $CREDENTIALS_DIRECTORY/credential_name when that directory is set and
 * holds the credential, else configured_path (relative paths are taken from config_dir, which
 * may be NULL). The value is the first line with trailing whitespace stripped.
 *
 * Returns 0 with *ret set (malloc'd; free it with secret_free(), which wipes it), 0 with *ret
 * NULL when nothing is configured (no credential and configured_path NULL), SECRET_E_MISSING
 * with *ret NULL when configured_path does not exist (and no credential), or a negative
 * errno when a source that exists cannot be read (a credential that is present but
 * unreadable does not fall back: the admin meant it). Logs nothing but the source at debug
 * level. credential_name may be NULL (no credential lookup). */
int secret_read_at(const char *config_dir, const char *credential_name, const char *configured_path,
                   char **ret);
/* secret_read_at() in the configuration directory of c (c may be NULL), for secrets that
 * must be there when configured: a missing file is -ENOENT. A failure is logged with the
 * path (never the value). */
int secret_read(const struct config *c, const char *credential_name, const char *configured_path,
                char **ret);
/* The credential name of a secret file that has no fixed one (notifier URLs and keys): the
 * file's last path component, so `LoadCredential=wecom-chl.url:...` replaces
 * "url_file": "secrets/wecom-chl.url". */
const char *secret_credential_of(const char *configured_path);

/* The credential of the database password (PostgreSQL), read instead of
 * database_password_file when present. */
#define SECRET_DATABASE_PASSWORD "pg.password"

/* Wipes and frees a secret; returns NULL. */
char *secret_free(char *s);
static inline void secret_freep(char **s)
{
        secret_free(*s);
}
#define _cleanup_secret_ __attribute__((cleanup(secret_freep)))

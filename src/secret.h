/* secret.h: reading secrets (broker password, API token, webhook keys) from systemd
 * credentials or from the files the configuration names.
 *
 * Under systemd, `LoadCredential=NAME:...` puts the secret in $CREDENTIALS_DIRECTORY/NAME,
 * readable only by the service; that copy wins over the configuration's *_file key, so an
 * admin can keep secrets out of /etc/doorwatch entirely. Secrets are never logged: callers
 * log the source (credential or path) at most. */
#pragma once

#include "config.h"

/* Reads one secret: $CREDENTIALS_DIRECTORY/credential_name when that directory is set and
 * holds the credential, else configured_path (relative paths are taken from the
 * configuration directory of c; c may be NULL). The value is the first line with trailing
 * whitespace stripped.
 *
 * Returns 0 with *ret set (malloc'd), 0 with *ret NULL when neither source exists (no
 * credential and configured_path NULL), or a negative errno when a source that exists
 * cannot be read (a credential that is present but unreadable does not fall back: the
 * admin meant it). credential_name may be NULL (no credential lookup). */
int secret_read(const struct config *c, const char *credential_name, const char *configured_path,
                char **ret);

/* Wipes and frees a secret; returns NULL. */
char *secret_free(char *s);
static inline void secret_freep(char **s)
{
        secret_free(*s);
}
#define _cleanup_secret_ __attribute__((cleanup(secret_freep)))

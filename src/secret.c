/* secret.c: systemd credentials first, then the configured file (see secret.h). The one
 * reader of secrets: the broker password, the API token, the link key and every notifier's
 * URL or key file go through secret_read_at(). Values are wiped when freed. */
#include "secret.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "util.h"

/* A credential name is one path component (systemd.exec(5) refuses others too). */
static bool credential_name_valid(const char *name)
{
        return name && *name && !strchr(name, '/') && strcmp(name, ".") != 0 &&
               strcmp(name, "..") != 0;
}

/* The file the secret is read from: the credential when it exists, else the configured
 * path. Returns 0 with *ret malloc'd, 0 with *ret NULL when there is neither, or -errno. */
static int source_path(const char *config_dir, const char *credential_name,
                       const char *configured_path, char **ret)
{
        const char *creds = getenv("CREDENTIALS_DIRECTORY");
        char *path;

        *ret = NULL;
        if (credential_name && !credential_name_valid(credential_name))
                return -EINVAL;
        if (credential_name && creds && *creds) {
                path = path_join(creds, credential_name);
                if (access(path, F_OK) == 0) {
                        *ret = path;
                        return 0;
                }
                free(path);
        }
        if (!configured_path)
                return 0;
        *ret = path_join(config_dir, configured_path);
        return 0;
}

int secret_read_at(const char *config_dir, const char *credential_name, const char *configured_path,
                   char **ret)
{
        _cleanup_free_ char *path = NULL;
        int r;

        *ret = NULL;
        r = source_path(config_dir, credential_name, configured_path, &path);
        if (r < 0 || !path)
                return r;
        /* Only a configured file can be missing: the credential was seen a moment ago. */
        if (access(path, F_OK) < 0 && errno == ENOENT)
                return SECRET_E_MISSING;
        r = read_secret_file(path, ret);
        if (r < 0)
                return r;
        log_debug("secret %s: read from %s", credential_name ? credential_name : "-", path);
        return 0;
}

int secret_read(const struct config *c, const char *credential_name, const char *configured_path,
                char **ret)
{
        const char *dir = c ? c->dir : NULL;
        _cleanup_free_ char *path = NULL;
        int r = secret_read_at(dir, credential_name, configured_path, ret);

        if (r == SECRET_E_MISSING)
                r = -ENOENT;
        if (r < 0 && source_path(dir, credential_name, configured_path, &path) == 0 && path)
                log_err_errno(r, "cannot read the secret file %s", path);
        else if (r < 0)
                log_err_errno(r, "cannot read the secret %s",
                              credential_name ? credential_name : configured_path);
        return r;
}

const char *secret_credential_of(const char *configured_path)
{
        const char *base = configured_path ? strrchr(configured_path, '/') : NULL;
        return base ? base + 1 : configured_path;
}

char *secret_free(char *s)
{
        if (s) {
                explicit_bzero(s, strlen(s));
                free(s);
        }
        return NULL;
}

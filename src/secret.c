/* secret.c: systemd credentials first, then the configured file (see secret.h). */
#include "secret.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* A credential name is one path component (systemd.exec(5) refuses others too). */
static bool credential_name_valid(const char *name)
{
        return name && *name && !strchr(name, '/') && strcmp(name, ".") != 0 &&
               strcmp(name, "..") != 0;
}

int secret_read(const struct config *c, const char *credential_name, const char *configured_path,
                char **ret)
{
        const char *creds = getenv("CREDENTIALS_DIRECTORY");
        _cleanup_free_ char *path = NULL;
        int r;

        *ret = NULL;
        if (credential_name && !credential_name_valid(credential_name))
                return -EINVAL;
        if (credential_name && creds && *creds) {
                path = path_join(creds, credential_name);
                if (!path)
                        return -ENOMEM;
                r = read_secret_file(path, ret);
                if (r == 0) {
                        log_debug("secret %s: read from the systemd credential", credential_name);
                        return 0;
                }
                if (r != -ENOENT) {
                        log_err_errno(r, "cannot read the credential %s", path);
                        return r;
                }
                free(path);
                path = NULL;
        }
        if (!configured_path)
                return 0;
        path = path_join(c ? c->dir : NULL, configured_path);
        if (!path)
                return -ENOMEM;
        r = read_secret_file(path, ret);
        if (r < 0) {
                log_err_errno(r, "cannot read the secret file %s", path);
                return r;
        }
        log_debug("secret %s: read from %s", credential_name ? credential_name : "-", path);
        return 0;
}

char *secret_free(char *s)
{
        if (s) {
                explicit_bzero(s, strlen(s));
                free(s);
        }
        return NULL;
}

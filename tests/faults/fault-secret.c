/* fault-secret.c: a secret the daemon's user cannot read (the broker password, mode 0600
 * and root's; then a systemd credential likewise). Run as an unprivileged user (nobody,
 * through runuser: root reads any file whatever its mode), `doorwatchd --check-config`
 * must fail and name the file, and the daemon itself must stop before it creates
 * anything (no database, no state directory content). Readable again, both go on. */
#include <pwd.h>
#include <sys/stat.h>

#include "faults.h"

#define NAME "secret"

/* Runs doorwatchd as nobody with args; *out gets its output. */
static int run_as_nobody(struct harness *h, const char *creds, const char *arg, char **out)
{
        char bin[512], env[600];
        const char *argv[12];
        size_t n = 0;

        snprintf(bin, sizeof(bin), "%s/doorwatchd", h_build_dir());
        snprintf(env, sizeof(env), "CREDENTIALS_DIRECTORY=%s", creds ? creds : "");
        argv[n++] = "/usr/sbin/runuser";
        argv[n++] = "-u";
        argv[n++] = "nobody";
        argv[n++] = "--";
        argv[n++] = "/usr/bin/env";
        argv[n++] = creds ? env : "-u";
        if (!creds)
                argv[n++] = "CREDENTIALS_DIRECTORY";
        argv[n++] = bin;
        argv[n++] = "-c";
        argv[n++] = h->confdir;
        if (arg)
                argv[n++] = arg;
        argv[n] = NULL;
        return h_run(out, argv);
}

static void put(const char *path, const char *content, mode_t mode)
{
        FILE *f = fopen(path, "w");
        if (!f || fputs(content, f) < 0)
                abort();
        fclose(f);
        chmod(path, mode);
}

int main(void)
{
        struct harness h;
        struct figures f = { 0 };
        struct passwd *nobody = getpwnam("nobody");
        char secrets[400], secret[500], creds[400], cred[500], state[400];
        char *out = NULL;
        struct stat st;
        int status;

        if (!nobody)
                return fault_fail(NAME, "no user nobody");
        fault_seed(NAME, 1);
        h_init(&h);
        fault_start(NAME, &h);
        {
                char conf[1024];
                snprintf(conf, sizeof(conf),
                         "{\"timezone\": \"Asia/Shanghai\", \"database\": \"%s\",\n"
                         " \"mqtt\": {\"host\": \"127.0.0.1\", \"port\": %d, \"client_id\": "
                         "\"doorwatchd-test\", \"username\": \"doorwatchd\", \"password_file\": "
                         "\"secrets/mqtt.pass\"},\n \"http\": null,\n"
                         " \"notifiers\": {\"mqtt\": {\"type\": \"mqtt\"}}}\n",
                         h.dbpath, h.port);
                h_write_conf(&h, "doorwatch.json", conf);
        }
        /* nobody may read the configuration, and owns the state directory. */
        chmod(h.dir, 0755);
        chmod(h.confdir, 0755);
        for (const char *const *n =
                 (const char *const[]){ "doorwatch.json", "workers.json", "households.json",
                                        "rosters.json", NULL };
             *n; n++) {
                char p[600];
                snprintf(p, sizeof(p), "%s/%s", h.confdir, *n);
                chmod(p, 0644);
        }
        snprintf(state, sizeof(state), "%s/state", h.dir);
        mkdir(state, 0750);
        if (chown(state, nobody->pw_uid, nobody->pw_gid) < 0)
                return fault_fail(NAME, "chown: %s", strerror(errno));
        snprintf(secrets, sizeof(secrets), "%s/secrets", h.confdir);
        mkdir(secrets, 0755);
        snprintf(secret, sizeof(secret), "%s/mqtt.pass", secrets);
        put(secret, "s3cret\n", 0600);

        status = run_as_nobody(&h, NULL, "--check-config", &out);
        printf("fault %s: --check-config as nobody, secret 0600 root: exit %d: %s", NAME, status,
               out);
        if (status == 0 || !strstr(out, "mqtt.pass") || !strstr(out, "Permission denied"))
                return fault_fail(NAME, "--check-config did not fail naming the secret");
        free(out);
        status = run_as_nobody(&h, NULL, NULL, &out);
        if (status == 0 || stat(h.dbpath, &st) == 0)
                return fault_fail(NAME, "the daemon started, or created %s, without its secret",
                                  h.dbpath);
        printf("fault %s: the daemon as nobody: exit %d, %s not created\n", NAME, status, h.dbpath);
        free(out);

        /* A systemd credential that its user cannot read wins over the file, and fails. */
        put(secret, "s3cret\n", 0644);
        snprintf(creds, sizeof(creds), "%s/creds", h.dir);
        mkdir(creds, 0755);
        snprintf(cred, sizeof(cred), "%s/mqtt.password", creds);
        put(cred, "s3cret\n", 0600);
        status = run_as_nobody(&h, creds, "--check-config", &out);
        printf("fault %s: --check-config as nobody, credential 0600 root: exit %d: %s", NAME,
               status, out);
        if (status == 0 || !strstr(out, "mqtt.password"))
                return fault_fail(NAME, "--check-config did not fail naming the credential");
        free(out);

        /* Readable: both go on (the check passes; the daemon gets past its secrets). */
        chmod(cred, 0644);
        status = run_as_nobody(&h, creds, "--check-config", &out);
        if (status != 0)
                return fault_fail(NAME, "--check-config fails with readable secrets: %s", out);
        free(out);
        fault_print(NAME, &f,
                    "no events: an unreadable secret or credential is named by --check-config "
                    "and stops the daemon before it creates anything");
        h_cleanup(&h);
        return 0;
}

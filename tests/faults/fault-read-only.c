/* fault-read-only.c: the daemon's user may not write its database (root's file, mode 0644;
 * the daemon run as nobody through runuser, since root ignores file modes). It must refuse
 * to start with one line naming the file and leave the file as it was; the events that
 * arrive meanwhile wait in the broker for the daemon's session and are all stored once
 * the database is writable again. (A file system remounted read-only under a running
 * daemon cannot be had on a tmpfs: Linux refuses while files are open for writing; a
 * failed write of any kind takes the path that fault-disk-full exercises.) */
#include <pwd.h>
#include <sys/stat.h>

#include "faults.h"

#define NAME "read-only"
#define EACH 2000

static void burst(struct pub *p, int from)
{
        char id[32];

        for (int i = from; i < from + EACH; i++) {
                snprintf(id, sizeof(id), "R-%05d", i);
                door(p, i % 2 ? "d-1-door" : "d-2-door", id, (i / 2) % 2 == 0);
        }
        pub_flush(p, 30000);
}

int main(void)
{
        struct harness h;
        struct pub p = { 0 };
        struct figures f;
        struct passwd *nobody = getpwnam("nobody");
        char state[512], bin[512], cmd[700], *out = NULL, *line;
        int sent = 0, status, lines = 0;
        struct stat before, after;

        if (!nobody)
                return fault_fail(NAME, "no user nobody");
        fault_seed(NAME, 2);
        h_init(&h);
        fault_start(NAME, &h);
        h_start_broker(&h);
        h_start_daemon(&h);
        pub_start(&p, &h);
        burst(&p, sent);
        sent += EACH;
        h_db_wait_int(&h, sent, 30000, "SELECT count(*) FROM event WHERE uid LIKE 'R-%%'");
        h_stop_daemon(&h, SIGTERM);

        /* Root's file, readable by all, writable by root only; nobody may read the rest. */
        snprintf(state, sizeof(state), "%s/state", h.dir);
        chmod(h.dir, 0755);
        chmod(h.confdir, 0755);
        chmod(state, 0755);
        chmod(h.dbpath, 0644);
        snprintf(cmd, sizeof(cmd), "chmod 0644 %s/*.json", h.confdir);
        if (system(cmd) != 0)
                return fault_fail(NAME, "chmod of the configuration failed");
        burst(&p, sent); /* the broker keeps them for the daemon's session */
        sent += EACH;
        stat(h.dbpath, &before);
        snprintf(bin, sizeof(bin), "%s/doorwatchd", h_build_dir());
        const char *argv[] = {
                "/usr/sbin/runuser", "-u", "nobody", "--", bin, "-c", h.confdir, NULL
        };
        status = h_run(&out, argv);
        stat(h.dbpath, &after);
        for (line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
                if (strstr(line, h.dbpath)) {
                        lines++;
                        printf("fault %s: as nobody: \"%s\"\n", NAME, line);
                }
        free(out);
        if (status == 0 || lines != 1 || before.st_mtime != after.st_mtime ||
            before.st_size != after.st_size || (after.st_mode & 07777) != 0644)
                return fault_fail(NAME, "as nobody: exit %d, %d lines naming the file, file %s",
                                  status, lines,
                                  before.st_size == after.st_size ? "unchanged" : "CHANGED");

        /* Writable again (the daemon as root here): what waited in the broker is stored;
         * the directory others may read (0755 above) is warned about. */
        h_start_daemon(&h);
        if (!daemon_log_has(&h, "is open to other users (mode 0755)"))
                return fault_fail(NAME, "no warning about the state directory's mode 0755");
        h_db_wait_int(&h, sent, 30000, "SELECT count(*) FROM event WHERE uid LIKE 'R-%%'");
        f = fault_figures(&h, p.acked, "R-");
        fault_print(NAME, &f,
                    "refused as nobody with one line, file unchanged; %d events "
                    "waited in the broker meanwhile",
                    EACH);
        if (f.lost != 0 || f.duplicated != 0 || f.sent != (uint64_t)sent)
                return fault_fail(NAME, "events lost or duplicated");
        pub_stop(&p);
        h_stop_daemon(&h, SIGTERM);
        h_stop_broker(&h);
        h_cleanup(&h);
        return 0;
}

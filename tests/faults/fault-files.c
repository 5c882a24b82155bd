/* fault-files.c: the daemon pointed at files that are not its database: someone's SQLite
 * database (a customers table), random bytes, and a database of an earlier doorwatchd
 * (no application id). The first two are refused with one line naming the path and left
 * byte for byte as they were, and the broker keeps the events that arrive meanwhile for
 * the daemon's session: once the right file is back, every one is stored. The earlier
 * database is adopted and stamped. */
#include <sqlite3.h>
#include <sys/stat.h>

#include "faults.h"

#define NAME "files"
#define EACH 500

static char *slurp(const char *path, size_t *len)
{
        FILE *f = fopen(path, "rb");
        char *buf;
        long n;

        if (!f)
                return NULL;
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        rewind(f);
        buf = malloc((size_t)n + 1);
        if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
                abort();
        fclose(f);
        *len = (size_t)n;
        return buf;
}

static void burst(struct pub *p, int from)
{
        char id[32];

        for (int i = from; i < from + EACH; i++) {
                snprintf(id, sizeof(id), "X-%05d", i);
                door(p, i % 2 ? "d-1-door" : "d-2-door", id, (i / 2) % 2 == 0);
        }
        pub_flush(p, 30000);
}

/* Runs the daemon on the file now at the database's path: it must refuse with one line
 * that names the path, and leave the file as it was. */
static int refused(struct harness *h, const char *what)
{
        char bin[512], *out = NULL, *line;
        size_t n_before, n_after;
        char *before = slurp(h->dbpath, &n_before), *after;
        int status, lines = 0;

        snprintf(bin, sizeof(bin), "%s/doorwatchd", h_build_dir());
        const char *argv[] = { bin, "-c", h->confdir, NULL };
        status = h_run(&out, argv);
        after = slurp(h->dbpath, &n_after);
        for (line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
                if (strstr(line, h->dbpath) && strstr(line, "untouched")) {
                        lines++;
                        printf("fault %s: %s: \"%s\"\n", NAME, what, line);
                }
        free(out);
        if (status == 0 || lines != 1)
                return fault_fail(NAME, "%s: exit status %d, %d lines naming the file", what,
                                  status, lines);
        if (!after || n_before != n_after || memcmp(before, after, n_before) != 0)
                return fault_fail(NAME, "%s: the file was changed", what);
        free(before);
        free(after);
        return 0;
}

int main(void)
{
        struct harness h;
        struct pub p = { 0 };
        struct figures f;
        char aside[600], sql[600];
        static unsigned char noise[65536];
        sqlite3 *db;
        FILE *file;
        int sent = 0;

        fault_seed(NAME, 7);
        for (size_t i = 0; i < sizeof(noise); i++)
                noise[i] = (unsigned char)fault_rand(256);
        h_init(&h);
        fault_start(NAME, &h);
        h_start_broker(&h);
        h_start_daemon(&h);
        pub_start(&p, &h);
        burst(&p, sent);
        sent += EACH;
        h_db_wait_int(&h, sent, 30000, "SELECT count(*) FROM event WHERE uid LIKE 'X-%%'");
        h_stop_daemon(&h, SIGTERM);
        snprintf(aside, sizeof(aside), "%s.aside", h.dbpath);
        rename(h.dbpath, aside);

        /* Someone's database where ours was; events meanwhile wait in the broker. */
        if (sqlite3_open(h.dbpath, &db) != SQLITE_OK ||
            sqlite3_exec(db,
                         "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);"
                         "INSERT INTO customers (name) VALUES ('张三'), ('李四');",
                         NULL, NULL, NULL) != SQLITE_OK)
                return fault_fail(NAME, "cannot write the foreign database");
        sqlite3_close(db);
        burst(&p, sent);
        sent += EACH;
        if (refused(&h, "foreign SQLite database"))
                return 1;

        /* Random bytes. */
        file = fopen(h.dbpath, "wb");
        if (!file || fwrite(noise, 1, sizeof(noise), file) != sizeof(noise))
                return fault_fail(NAME, "cannot write the random file");
        fclose(file);
        burst(&p, sent);
        sent += EACH;
        if (refused(&h, "random bytes"))
                return 1;

        /* Ours again, made to look like an earlier doorwatchd's: adopted and stamped. */
        rename(aside, h.dbpath);
        if (sqlite3_open(h.dbpath, &db) != SQLITE_OK ||
            sqlite3_exec(db, "PRAGMA application_id = 0", NULL, NULL, NULL) != SQLITE_OK)
                return fault_fail(NAME, "cannot clear the application id");
        sqlite3_close(db);
        h_start_daemon(&h);
        h_db_wait_int(&h, sent, 30000, "SELECT count(*) FROM event WHERE uid LIKE 'X-%%'");
        f = fault_figures(&h, p.acked, "X-");
        snprintf(sql, sizeof(sql), "%s", h_db_text(&h, "PRAGMA application_id"));
        fault_print(NAME, &f,
                    "2 foreign files refused and left as they were; the earlier database "
                    "adopted: %s, application id %s",
                    daemon_log_has(&h, "adopted") ? "yes" : "NO", sql);
        if (f.lost != 0 || f.duplicated != 0 || f.sent != (uint64_t)sent)
                return fault_fail(NAME, "events lost or duplicated");
        if (!daemon_log_has(&h, "adopted") || strcmp(sql, "1148153714") != 0)
                return fault_fail(NAME, "the earlier database was not adopted and stamped");
        pub_stop(&p);
        h_stop_daemon(&h, SIGTERM);
        h_stop_broker(&h);
        h_cleanup(&h);
        return 0;
}

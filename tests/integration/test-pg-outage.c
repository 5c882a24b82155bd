/* test-pg-outage.c: PostgreSQL as the database, where it differs from a file.
 *
 * On either pass: a server that cannot be reached at start stops the daemon with a clear
 * line naming the URI with its password masked, never the password itself.
 *
 * In the PostgreSQL pass (DOORWATCH_TEST_PG set), on a private server of the test's own
 * (tools/pg-server, so it can be killed without disturbing the other tests):
 * - the password comes from database_password_file (the role needs one: scram-sha-256)
 *   and appears in no log;
 * - the server killed (immediate stop, as a crash or the old primary of a failover) while
 *   events stream in, then started again: the daemon holds what arrives meanwhile
 *   (nothing acknowledged), reconnects by itself, and every event is stored exactly once;
 * - the same, and the daemon killed (SIGKILL) while it holds: since nothing held was
 *   acknowledged, the broker delivers it all again to the next daemon: nothing lost,
 *   nothing twice. The figures (events held, seconds to catch up) are printed. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "../lib/pgtest.h"
#include "harness.h"

struct fixture {
        struct harness h;
        char pgdir[64];      /* the test's own server, or "" */
        char saved_env[256]; /* DOORWATCH_TEST_PG of the run */
};

static double mono(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pg_server(struct fixture *f, const char *cmd)
{
        char line[256];
        snprintf(line, sizeof(line), "tools/pg-server %s '%s'", cmd, f->pgdir);
        assert_int_equal(system(line), 0);
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        if (!f)
                return -1;
        if (pgtest_dir()) {
                snprintf(f->saved_env, sizeof(f->saved_env), "%s", pgtest_dir());
                snprintf(f->pgdir, sizeof(f->pgdir), "/tmp/doorwatch-pgout-XXXXXX");
                if (!mkdtemp(f->pgdir)) {
                        free(f);
                        return -1;
                }
                pg_server(f, "start");
                setenv("DOORWATCH_TEST_PG", f->pgdir, 1);
        }
        h_init(&f->h);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        h_cleanup(&f->h);
        if (f->pgdir[0]) {
                pg_server(f, "stop");
                setenv("DOORWATCH_TEST_PG", f->saved_env, 1);
        }
        free(f);
        return 0;
}

/* The daemon's log so far (malloc'd). */
static char *read_log(struct harness *h)
{
        char path[512], *buf = NULL;
        size_t len = 0;
        FILE *f, *out = open_memstream(&buf, &len);

        snprintf(path, sizeof(path), "%s/doorwatchd.log", h->dir);
        f = fopen(path, "r");
        if (f) {
                char chunk[65536];
                size_t n;
                while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
                        fwrite(chunk, 1, n, out);
                fclose(f);
        }
        fclose(out);
        return buf;
}

/* Waits until the daemon's log has text at least n times. */
static bool wait_log_n(struct harness *h, const char *text, int n, int timeout_ms)
{
        for (double end = mono() + timeout_ms / 1000.0; mono() < end;) {
                char *log = read_log(h);
                int found = 0;

                for (const char *p = log; (p = strstr(p, text)); p++)
                        found++;
                free(log);
                if (found >= n)
                        return true;
                h_pump(h, 50);
        }
        return false;
}

static bool wait_log(struct harness *h, const char *text, int timeout_ms)
{
        return wait_log_n(h, text, 1, timeout_ms);
}

static void door_event_fast(struct harness *h, const char *device, const char *id,
                            const char *state)
{
        char topic[256], payload[256];
        snprintf(topic, sizeof(topic), "doorwatch/v1/devices/%s/events", device);
        snprintf(payload, sizeof(payload),
                 "{\"id\": \"%s\", \"ts\": %.3f, \"type\": \"door\", \"state\": \"%s\"}", id,
                 h_now(), state);
        assert_int_equal(
            mosquitto_publish(h->client, NULL, topic, (int)strlen(payload), payload, 1, false),
            MOSQ_ERR_SUCCESS);
        mosquitto_loop(h->client, 0, 1);
}

/* Publishes events prefix-0 .. prefix-(n-1) over three devices, pacing the client. */
static void publish(struct harness *h, const char *prefix, int from, int to)
{
        static const char *const devices[] = { "d-1-door", "d-1-bell", "d-2-door" };

        for (int i = from; i < to; i++) {
                char id[64];
                snprintf(id, sizeof(id), "%s-%05d", prefix, i);
                door_event_fast(h, devices[i % 3], id, i % 2 ? "closed" : "open");
                if (i % 10 == 0)
                        mosquitto_loop(h->client, 1, 10);
        }
        h_pump(h, 20);
}

static int64_t stored(struct harness *h, const char *prefix)
{
        return h_db_int(h, "SELECT count(*) FROM event WHERE uid LIKE '%q-%%'", prefix);
}

/* ---- on either pass ---- */

static void test_unreachable_at_start_fails_with_password_masked(void **state)
{
        struct fixture *f = *state;
        struct harness *h = &f->h;
        char bin[512], *out = NULL;

        /* Port 1 of the loopback: refused at once. */
        if (h_pg())
                pgtest_drop_db(h->dbpath);
        snprintf(h->dbpath, sizeof(h->dbpath), "%s",
                 "postgresql://doorwatch:s3cret-pw@127.0.0.1:1/doorwatch");
        h_write_default_config(h, "");
        snprintf(bin, sizeof(bin), "%s/doorwatchd", h_build_dir());
        {
                const char *argv[] = { bin, "-c", h->confdir, NULL };
                assert_int_not_equal(h_run(&out, argv), 0);
        }
        printf("# %s", out);
        assert_non_null(strstr(out, "postgresql://doorwatch:***@127.0.0.1:1/doorwatch"));
        assert_non_null(strstr(out, "cannot connect"));
        assert_null(strstr(out, "s3cret-pw"));
        free(out);
}

/* ---- PostgreSQL pass ---- */

static void test_password_file(void **state)
{
        struct fixture *f = *state;
        struct harness *h = &f->h;
        char extra[600], sql[512], db[128], saved[sizeof(h->dbpath)];
        const char *slash = strstr(h->dbpath, "@/"), *q;
        char *log;

        if (!h_pg())
                skip();
        /* The same database, through a role that must give its password. */
        q = strchr(slash, '?');
        snprintf(db, sizeof(db), "%.*s", (int)(q - slash - 2), slash + 2);
        snprintf(sql, sizeof(sql), "ALTER DATABASE %s OWNER TO doorwatch_pw", db);
        assert_int_equal(pgtest_admin("", sql), 0);
        {
                char dir[400];
                snprintf(dir, sizeof(dir), "%s/secrets", h->confdir);
                mkdir(dir, 0700);
        }
        h_write_conf(h, "secrets/pg", "pw-of-the-tests\n");
        snprintf(saved, sizeof(saved), "%s", h->dbpath);
        snprintf(h->dbpath, sizeof(h->dbpath), "postgresql://doorwatch_pw@/%s?host=%s", db,
                 f->pgdir);
        snprintf(extra, sizeof(extra), "\"database_password_file\": \"secrets/pg\"");
        h_write_default_config(h, extra);
        snprintf(h->dbpath, sizeof(h->dbpath), "%s", saved); /* the tests' own queries */
        h_start_broker(h);
        h_start_daemon(h);
        publish(h, "pw", 0, 10);
        assert_int_equal(
            h_db_wait_int(h, 10, 10000, "SELECT count(*) FROM event WHERE uid LIKE 'pw-%%'"), 10);
        assert_int_equal(h_stop_daemon(h, SIGTERM), 0);
        log = read_log(h);
        assert_null(strstr(log, "pw-of-the-tests"));
        free(log);

        /* Without the file's password the server refuses the role. */
        h_write_conf(h, "secrets/pg", "not-the-password\n");
        {
                char bin[512], *out = NULL;
                const char *argv[] = { bin, "-c", h->confdir, NULL };
                snprintf(bin, sizeof(bin), "%s/doorwatchd", h_build_dir());
                assert_int_not_equal(h_run(&out, argv), 0);
                assert_non_null(strstr(out, "password authentication failed"));
                assert_null(strstr(out, "not-the-password"));
                free(out);
        }
}

#define LOAD 3000

static void test_server_killed_under_load(void **state)
{
        struct fixture *f = *state;
        struct harness *h = &f->h;
        double t_kill, t_resume, t_done;
        int64_t at_kill, during;

        if (!h_pg())
                skip();
        h_start_broker(h);
        h_start_daemon(h);
        publish(h, "A", 0, LOAD / 3);
        assert_int_equal(
            h_db_wait_int(h, 1, 10000, "SELECT count(*) > 0 FROM event WHERE uid LIKE 'A-%%'"), 1);
        /* Killed while events stream in: a commit may be cut off mid-way. */
        publish(h, "A", LOAD / 3, LOAD / 2);
        t_kill = mono();
        pg_server(f, "kill");
        publish(h, "A", LOAD / 2, 2 * LOAD / 3);
        /* The lost connection is a failed BEGIN/COMMIT like a full disk (daemon.c's
         * storage_failure()): held, unacknowledged, memory rebuilt, retried. */
        assert_true(wait_log(h, "database: writing failed", 10000));
        h_pump(h, 1500); /* down for a while: the daemon retries with backoff */
        assert_true(h_daemon_alive(h));
        publish(h, "A", 2 * LOAD / 3, 5 * LOAD / 6);
        pg_server(f, "resume");
        t_resume = mono();
        at_kill = stored(h, "A");
        publish(h, "A", 5 * LOAD / 6, LOAD);
        assert_int_equal(
            h_db_wait_int(h, LOAD, 60000, "SELECT count(*) FROM event WHERE uid LIKE 'A-%%'"),
            LOAD);
        t_done = mono();
        assert_int_equal(h_db_int(h, "SELECT count(DISTINCT uid) FROM event WHERE uid LIKE 'A-%%'"),
                         LOAD);
        assert_true(wait_log(h, "connected again", 1000));
        assert_true(wait_log(h, "takes writes again after", 5000));
        assert_true(h_daemon_alive(h));
        /* The outage is on record, resolved once writes came back. */
        assert_int_equal(h_db_wait_int(h, 1, 10000,
                                       "SELECT count(*) FROM alert WHERE kind = 'storage_failed'"
                                       " AND state = 'resolved'"),
                         1);
        fprintf(stderr,
                "figure: server down %.1f s; %lld of %d events stored right after the restart; "
                "all %d stored %.2f s after it, each once\n",
                t_resume - t_kill, (long long)at_kill, LOAD, LOAD, t_done - t_resume);

        /* Killed again, and the daemon killed while it holds events. */
        pg_server(f, "kill");
        publish(h, "B", 0, LOAD / 2);
        assert_true(wait_log_n(h, "database: writing failed", 2, 10000));
        h_pump(h, 500);
        assert_int_equal(h_stop_daemon(h, SIGKILL), 128 + SIGKILL);
        pg_server(f, "resume");
        during = stored(h, "B");
        h_start_daemon(h);
        publish(h, "B", LOAD / 2, LOAD);
        assert_int_equal(
            h_db_wait_int(h, LOAD, 60000, "SELECT count(*) FROM event WHERE uid LIKE 'B-%%'"),
            LOAD);
        assert_int_equal(h_db_int(h, "SELECT count(DISTINCT uid) FROM event WHERE uid LIKE 'B-%%'"),
                         LOAD);
        fprintf(stderr,
                "figure: daemon killed while holding: %lld of %d stored before it, all %d after "
                "the next start (the broker delivered the unacknowledged ones again)\n",
                (long long)during, LOAD / 2, LOAD);
        assert_int_equal(h_stop_daemon(h, SIGTERM), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(
                    test_unreachable_at_start_fails_with_password_masked, setup, teardown),
                cmocka_unit_test_setup_teardown(test_password_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_server_killed_under_load, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test-store.c: id allocation (store_next_id) with counters cached between commits: ids
 * go on across commits and reopenings, a ROLLBACK TO a savepoint hands out again exactly
 * the ids it rolled back and never one from before the savepoint, a failed transaction
 * loses nothing committed, prefixes and days count separately. The backend is chosen from
 * the database string: a path is SQLite, a PostgreSQL URI is refused (not yet supported)
 * and so is any other URI, without creating a file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "store.h"
#include "util.h"

/* 2020-02-06 12:00 and the next day, UTC+8 (TZ set in main). */
#define DAY1 (INT64_C(1580961600) * USEC_PER_SEC)
#define DAY2 (DAY1 + USEC_PER_DAY)

static char dir[64], path[128];

static int setup(void **state)
{
        snprintf(dir, sizeof(dir), "/tmp/doorwatch-test-store-XXXXXX");
        if (!mkdtemp(dir))
                return -1;
        snprintf(path, sizeof(path), "%s/db.sqlite", dir);
        return 0;
}

static int teardown(void **state)
{
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        return system(cmd);
}

static void expect_id(struct store *s, char prefix, int64_t now, const char *want)
{
        char id[64];

        assert_int_equal(store_next_id(s, prefix, now, id, sizeof(id)), 0);
        assert_string_equal(id, want);
}

static void test_ids(void **state)
{
        struct store *s;

        assert_int_equal(store_open(path, false, false, &s), 0);
        expect_id(s, 'a', DAY1, "a-20200206-0001");
        expect_id(s, 'a', DAY1, "a-20200206-0002");
        expect_id(s, 'n', DAY1, "n-20200206-0001");
        expect_id(s, 'a', DAY2, "a-20200207-0001");
        assert_true(store_in_transaction(s));
        assert_int_equal(store_commit(s), 0);
        expect_id(s, 'a', DAY1, "a-20200206-0003");

        /* A savepoint rolled back: its ids come again, those before it do not. */
        assert_int_equal(store_savepoint(s), 0);
        expect_id(s, 'a', DAY1, "a-20200206-0004");
        expect_id(s, 'n', DAY1, "n-20200206-0002");
        assert_int_equal(store_rollback_to(s), 0);
        expect_id(s, 'a', DAY1, "a-20200206-0004");
        expect_id(s, 'n', DAY1, "n-20200206-0002");
        assert_int_equal(store_savepoint(s), 0);
        expect_id(s, 'a', DAY1, "a-20200206-0005");
        assert_int_equal(store_release(s), 0);
        expect_id(s, 'a', DAY1, "a-20200206-0006");
        assert_int_equal(store_commit(s), 0);

        /* More days than cached counters. */
        for (int d = 2; d < 8; d++) {
                char want[32];
                snprintf(want, sizeof(want), "n-202002%02d-0001", 6 + d);
                expect_id(s, 'n', DAY1 + d * USEC_PER_DAY, want);
        }
        assert_int_equal(store_commit(s), 0);
        store_close(s);

        assert_int_equal(store_open(path, false, false, &s), 0);
        expect_id(s, 'a', DAY1, "a-20200206-0007");
        expect_id(s, 'n', DAY1, "n-20200206-0003");
        expect_id(s, 'a', DAY2, "a-20200207-0002");
        expect_id(s, 'n', DAY1 + 3 * USEC_PER_DAY, "n-20200209-0002");
        store_close(s); /* commits */

        assert_int_equal(store_open(path, false, false, &s), 0);
        expect_id(s, 'a', DAY1, "a-20200206-0008");
        store_close(s);
}

static void test_backend_choice(void **state)
{
        static const char *const uris[] = {
                "postgresql://doorwatch@127.0.0.1:5432/doorwatch?sslmode=disable",
                "postgres://doorwatch@localhost/doorwatch",
                "mysql://doorwatch@localhost/doorwatch",
        };
        struct store *s = NULL;
        struct stat st;
        char file[160];
        _cleanup_free_ char *joined = NULL;

        for (size_t i = 0; i < ELEMENTSOF(uris); i++) {
                assert_int_equal(store_open(uris[i], false, false, &s), -EPROTONOSUPPORT);
                assert_null(s);
                assert_int_equal(store_backup(uris[i], path, NULL), -EPROTONOSUPPORT);
        }
        assert_int_equal(stat("postgresql:", &st), -1);
        assert_int_equal(stat(path, &st), -1);

        /* The configuration joins relative paths to its directory, but not a URI. */
        joined = path_join("/etc/doorwatch", uris[0]);
        assert_string_equal(joined, uris[0]);

        /* A path with a colon in it is still a path. */
        snprintf(file, sizeof(file), "%s/a:b.db", dir);
        assert_int_equal(store_open(file, false, false, &s), 0);
        store_close(s);
        assert_int_equal(stat(file, &st), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_ids, setup, teardown),
                cmocka_unit_test_setup_teardown(test_backend_choice, setup, teardown),
        };
        setenv("TZ", "Asia/Shanghai", 1);
        return cmocka_run_group_tests(tests, NULL, NULL);
}

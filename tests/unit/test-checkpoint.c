/* test-checkpoint.c: WAL checkpoints beside the loop (checkpoint.c). The thread exists
 * while the checkpointer does and really copies the WAL, so that the next commit starts
 * it over; under writes that never pause the WAL still starts over (the loop finishes
 * the thread's work); freeing the checkpointer in the middle of a checkpoint loses
 * nothing and the store's close still removes the WAL; failing checkpoints are counted
 * and reported until one succeeds. Waits are on the loop (the thread's eventfd), bounded,
 * never a sleep. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <systemd/sd-event.h>
#include <unistd.h>
#include <cmocka.h>

#include "store.h"
#include "store/checkpoint.h"
#include "store/sqlite.h"
#include "util.h"

#define NEVER 1000000000

struct fixture {
        char dir[64], path[128];
        sd_event *e;
        struct store *s;
        struct checkpointer *c;
        struct checkpoint_stats st;
};

static int setup(void **state)
{
        struct fixture *fx = calloc(1, sizeof(*fx));

        snprintf(fx->dir, sizeof(fx->dir), "/tmp/doorwatch-test-checkpoint-XXXXXX");
        if (!fx || !mkdtemp(fx->dir))
                return -1;
        snprintf(fx->path, sizeof(fx->path), "%s/db.sqlite", fx->dir);
        if (sd_event_new(&fx->e) < 0 || store_open(fx->path, false, false, &fx->s) < 0)
                return -1;
        if (sqlite3_exec(store_sqlite_db(fx->s),
                         "CREATE TABLE scratch (k INTEGER PRIMARY KEY, v BLOB)", NULL, NULL,
                         NULL) != SQLITE_OK)
                return -1;
        *state = fx;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *fx = *state;
        char cmd[128];

        checkpointer_free(fx->c);
        store_close(fx->s);
        sd_event_unref(fx->e);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
        free(fx);
        return system(cmd);
}

static void start(struct fixture *fx, int pages, int force_pages, int wal_max_pages)
{
        assert_int_equal(checkpointer_new(fx->e, fx->s, false, &fx->st, NULL, &fx->c), 0);
        checkpointer_set_limits(fx->c, pages, force_pages, wal_max_pages);
}

/* One transaction as the daemon commits it; sql_fmt may use the counter n. */
static void commit_sql(struct fixture *fx, const char *sql)
{
        assert_int_equal(store_begin(fx->s), 0);
        assert_int_equal(sqlite3_exec(store_sqlite_db(fx->s), sql, NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(store_commit(fx->s), 0);
        if (fx->c)
                checkpointer_committed(fx->c);
}

/* A new row of about one page: one or two WAL frames a commit. */
static void commit_row(struct fixture *fx)
{
        commit_sql(fx, "INSERT INTO scratch (v) VALUES (randomblob(3000))");
}

/* Commits rows, running the loop after each as the daemon would, until the thread has
 * been asked for a checkpoint (it has not answered yet: nothing runs after the ask). */
static void commit_until_asked(struct fixture *fx)
{
        for (int i = 0; i < 1000 && !checkpointer_busy(fx->c); i++) {
                commit_row(fx);
                while (!checkpointer_busy(fx->c) && sd_event_run(fx->e, 0) > 0)
                        ;
        }
        assert_true(checkpointer_busy(fx->c));
}

/* Runs the loop until the thread's checkpoint is accounted and nothing else is due. */
static void settle(struct fixture *fx)
{
        for (int i = 0; i < 600 && checkpointer_busy(fx->c); i++)
                assert_true(sd_event_run(fx->e, 100 * USEC_PER_MSEC) >= 0);
        assert_false(checkpointer_busy(fx->c));
        while (sd_event_run(fx->e, 0) > 0)
                ;
}

static int count_threads(void)
{
        DIR *d = opendir("/proc/self/task");
        struct dirent *de;
        int n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                n += de->d_name[0] != '.';
        closedir(d);
        return n;
}

static int64_t db_int(const char *path, const char *sql)
{
        sqlite3 *db;
        sqlite3_stmt *st;
        int64_t v = -1;

        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        if (sqlite3_step(st) == SQLITE_ROW)
                v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        sqlite3_close(db);
        return v;
}

static void test_thread_checkpoints_and_wal_starts_over(void **state)
{
        struct fixture *fx = *state;
        int threads = count_threads();

        start(fx, 8, NEVER, NEVER);
        assert_int_equal(count_threads(), threads + 1);

        /* Up to the request, then nothing until the thread is done: it copies it all. */
        commit_until_asked(fx);
        settle(fx);
        assert_int_equal(fx->st.thread_runs, 1);
        assert_int_equal(fx->st.failures, 0);
        assert_int_equal(fx->st.wal_restarts, 0);
        assert_true(sqlite_wal_frames(fx->s) >= 8);

        /* So the next commit writes at the start of the WAL again. */
        commit_row(fx);
        assert_int_equal(fx->st.wal_restarts, 1);
        assert_true(sqlite_wal_frames(fx->s) <= 4);
        assert_false(checkpointer_failing(fx->c));

        fx->c = checkpointer_free(fx->c);
        assert_int_equal(count_threads(), threads);
}

/* Frames the commit added to the WAL (all of them when it started the WAL over). */
static int commit_row_frames(struct fixture *fx)
{
        int before = sqlite_wal_frames(fx->s), after;

        commit_row(fx);
        after = sqlite_wal_frames(fx->s);
        return after >= before ? after - before : after;
}

/* The thread is asked when the loop is idle once `pages` frames are committed, and at a
 * commit past `force_pages` when the loop never is. */
static void test_asked_when_idle_or_past_force_pages(void **state)
{
        struct fixture *fx = *state;
        int frames = 0;

        /* What setting up the database wrote goes first. */
        start(fx, 1, NEVER, NEVER);
        commit_until_asked(fx);
        settle(fx);
        checkpointer_set_limits(fx->c, 8, 32, NEVER);

        while (frames < 8) {
                frames += commit_row_frames(fx);
                assert_false(checkpointer_busy(fx->c));
        }
        /* Idle: the loop has nothing else to do. */
        assert_true(sd_event_run(fx->e, 0) > 0);
        assert_true(checkpointer_busy(fx->c));
        settle(fx);
        assert_int_equal(fx->st.thread_runs, 2);

        /* Never idle: commits only, and the ask comes with the commit past 32 frames. */
        frames = 0;
        while (!checkpointer_busy(fx->c)) {
                frames += commit_row_frames(fx);
                assert_true(frames < 32 + 8);
        }
        assert_true(frames >= 32);
        settle(fx);
        assert_int_equal(fx->st.thread_runs, 3);
}

/* Commits that never wait for the thread land while it copies, so none of its checkpoints
 * is complete by the time of the next commit: only the loop's finishing one lets the WAL
 * start over. */
static void test_wal_starts_over_under_continuous_writes(void **state)
{
        struct fixture *fx = *state;
        int max_frames = 0, i;

        start(fx, 8, NEVER, 32);
        for (i = 0; i < 20000 && fx->st.wal_restarts < 5; i++) {
                commit_row(fx);
                max_frames = MAX(max_frames, sqlite_wal_frames(fx->s));
                while (sd_event_run(fx->e, 0) > 0)
                        ;
        }
        assert_true(fx->st.wal_restarts >= 5);
        assert_true(fx->st.thread_runs >= 1);
        assert_int_equal(fx->st.failures, 0);
        print_message("%d commits, %llu checkpoints on the thread, %llu on the loop, WAL at most "
                      "%d frames\n",
                      i, (unsigned long long)fx->st.thread_runs,
                      (unsigned long long)fx->st.loop_runs, max_frames);

        /* Once the writes pause, the thread alone catches up. */
        settle(fx);
        commit_until_asked(fx);
        settle(fx);
        commit_row(fx);
        assert_true(sqlite_wal_frames(fx->s) <= 4);
}

static int on_busy(sd_event_source *s, void *userdata)
{
        return 0;
}

/* The same when the loop is never idle (a source always has work; below the normal
 * priority, or it would starve the thread's answer as well): the thread is asked past
 * force_pages, and the loop finishes at a commit. */
static void test_wal_starts_over_when_the_loop_is_never_idle(void **state)
{
        struct fixture *fx = *state;
        sd_event_source *busy;
        int i;

        start(fx, 8, 16, 32);
        assert_int_equal(sd_event_add_defer(fx->e, &busy, on_busy, NULL), 0);
        assert_int_equal(sd_event_source_set_priority(busy, SD_EVENT_PRIORITY_NORMAL + 1), 0);
        assert_int_equal(sd_event_source_set_enabled(busy, SD_EVENT_ON), 0);
        for (i = 0; i < 20000 && fx->st.wal_restarts < 5; i++) {
                commit_row(fx);
                for (int k = 0; k < 3; k++)
                        assert_true(sd_event_run(fx->e, 0) > 0);
        }
        assert_true(fx->st.wal_restarts >= 5);
        assert_true(fx->st.loop_runs >= 1);
        assert_int_equal(fx->st.failures, 0);
        sd_event_source_disable_unref(busy);
}

static void test_free_during_checkpoint_loses_nothing(void **state)
{
        struct fixture *fx = *state;
        char wal[160];
        struct stat sb;
        int n = 0;

        start(fx, 8, NEVER, NEVER);
        commit_until_asked(fx);
        n = (int)db_int(fx->path, "SELECT count(*) FROM scratch");
        /* Joins the thread in the middle of (or right after) its checkpoint. */
        fx->c = checkpointer_free(fx->c);
        for (int i = 0; i < 5; i++, n++)
                commit_row(fx);
        fx->s = store_close(fx->s);

        /* The store's close, the last connection's, checkpointed and removed the WAL. */
        snprintf(wal, sizeof(wal), "%s-wal", fx->path);
        assert_int_equal(stat(wal, &sb), -1);
        assert_int_equal(errno, ENOENT);
        assert_int_equal(db_int(fx->path, "SELECT count(*) FROM scratch"), n);
        assert_int_equal(db_int(fx->path, "SELECT count(*) FROM pragma_integrity_check"
                                          " WHERE integrity_check = 'ok'"),
                         1);
}

/* A checkpoint that cannot extend the database file (RLIMIT_FSIZE at its size; the WAL
 * starts over at offset 0, below it) fails; after CHECKPOINT_FAILING_AFTER in a row the
 * checkpointer says so, until one succeeds. */
static void test_failures_are_counted_until_one_succeeds(void **state)
{
        struct fixture *fx = *state;
        struct rlimit old, lim;
        struct stat sb;
        int log, ckpt;

        /* A database file long enough for the WAL written below. */
        start(fx, NEVER, NEVER, NEVER);
        for (int i = 0; i < 300; i++)
                commit_row(fx);
        assert_int_equal(sqlite_checkpoint(store_sqlite_db(fx->s), &log, &ckpt), 0);
        assert_int_equal(log, ckpt);
        commit_sql(fx, "UPDATE scratch SET v = randomblob(3000) WHERE k = 1");
        assert_true(sqlite_wal_frames(fx->s) <= 4);

        assert_int_equal(stat(fx->path, &sb), 0);
        signal(SIGXFSZ, SIG_IGN);
        assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
        lim = old;
        lim.rlim_cur = (rlim_t)sb.st_size;
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);

        /* New rows: new pages the checkpoint would append to the database file. */
        checkpointer_set_limits(fx->c, 4, NEVER, NEVER);
        for (unsigned want = 1; want <= CHECKPOINT_FAILING_AFTER; want++) {
                assert_false(checkpointer_failing(fx->c));
                commit_until_asked(fx);
                settle(fx);
                assert_int_equal(fx->st.failures, want);
        }
        assert_true(checkpointer_failing(fx->c));

        assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
        commit_until_asked(fx);
        settle(fx);
        assert_false(checkpointer_failing(fx->c));
        assert_int_equal(fx->st.failures, CHECKPOINT_FAILING_AFTER);
        assert_true(fx->st.thread_runs >= 1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_thread_checkpoints_and_wal_starts_over, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_asked_when_idle_or_past_force_pages, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_wal_starts_over_under_continuous_writes, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_wal_starts_over_when_the_loop_is_never_idle,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_free_during_checkpoint_loses_nothing, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_failures_are_counted_until_one_succeeds, setup,
                                                teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* checkpoint.c: WAL checkpoints on a helper thread (see checkpoint.h for why and when).
 *
 * Threads: the checkpointer is created, driven and freed on the loop thread. The helper
 * thread owns `db` (its own connection, opened before the thread starts and closed after
 * it is joined) and touches nothing else but the fields under `lock`: a request flag, the
 * quit flag and the outcome of its last checkpoint. It waits on `cond` for a request and
 * answers through `efd`, which the loop watches; everything else (counting, logging,
 * deciding) is the loop's. SQLite is used in multi-thread mode (each connection opened
 * with SQLITE_OPEN_NOMUTEX and used by one thread only). */
#include "checkpoint.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "sqlite.h"
#include "util.h"

struct checkpoint_result {
        int r;         /* sqlite_checkpoint(): 0, STORE_E_BUSY or negative errno */
        int log, ckpt; /* frames in the WAL, and of them copied */
        int64_t usec;  /* how long it took */
        char error[160];
};

struct checkpointer {
        /* The loop's. */
        struct store *store;
        struct checkpoint_stats *stats;
        struct metrics *metrics;
        sd_event_source *done;  /* efd readable: the thread finished a checkpoint */
        sd_event_source *idle;  /* idle priority: ask the thread, or finish on the loop */
        sd_event_source *retry; /* after a failed checkpoint: again, without new commits */
        int pages, force_pages, wal_max_pages;
        int wal_frames;     /* in the WAL after the last commit */
        int added;          /* frames committed since the last request */
        bool in_flight;     /* asked of the thread, outcome not yet seen */
        bool finish_wanted; /* the thread's last checkpoint was complete and the WAL is long */
        int finish_commits; /* commits since, without an idle moment */
        unsigned n_failing; /* failed in a row */
        struct ratelimit rl;

        /* Shared with the thread, under lock. */
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool requested, quit;
        struct checkpoint_result result;

        /* The thread's. */
        pthread_t thread;
        bool thread_started;
        sqlite3 *db;
        int efd;
};

/* A failed checkpoint is tried again after this, commits or not. */
#define CHECKPOINT_RETRY_USEC (1 * USEC_PER_SEC)

static void run_checkpoint(sqlite3 *db, struct checkpoint_result *ret)
{
        int64_t t0 = now_monotonic_usec();

        *ret = (struct checkpoint_result){ 0 };
        ret->r = sqlite_checkpoint(db, &ret->log, &ret->ckpt);
        ret->usec = now_monotonic_usec() - t0;
        if (ret->r < 0)
                snprintf(ret->error, sizeof(ret->error), "%s", sqlite3_errmsg(db));
}

static void *checkpoint_thread(void *userdata)
{
        struct checkpointer *c = userdata;
        const uint64_t one = 1;

        /* For top, perf and the like. */
        pthread_setname_np(pthread_self(), "dw-checkpoint");
        pthread_mutex_lock(&c->lock);
        for (;;) {
                struct checkpoint_result r;

                while (!c->requested && !c->quit)
                        pthread_cond_wait(&c->cond, &c->lock);
                /* A request left at quit is moot: closing the store checkpoints. */
                if (c->quit)
                        break;
                c->requested = false;
                pthread_mutex_unlock(&c->lock);

                run_checkpoint(c->db, &r);

                pthread_mutex_lock(&c->lock);
                c->result = r;
                /* Cannot fail: signals are blocked here and the counter is read back to
                 * zero long before it could reach 2^64 - 1. */
                (void)!write(c->efd, &one, sizeof(one));
        }
        pthread_mutex_unlock(&c->lock);
        return NULL;
}

static void request(struct checkpointer *c)
{
        pthread_mutex_lock(&c->lock);
        c->requested = true;
        pthread_cond_signal(&c->cond);
        pthread_mutex_unlock(&c->lock);
        c->in_flight = true;
        c->added = 0;
}

/* Counts and logs an outcome, on the loop. */
static void account(struct checkpointer *c, const struct checkpoint_result *r, bool on_loop)
{
        if (r->r == STORE_E_BUSY)
                return; /* another checkpoint ran (a recovery, another process): not ours */
        if (r->r < 0) {
                c->stats->failures++;
                c->n_failing++;
                if (ratelimit_below(&c->rl))
                        log_warn("database: checkpoint failed (%u in a row; the WAL grows until "
                                 "one succeeds): %s",
                                 c->n_failing, r->error);
                /* Tried again by itself: checkpointer_failing() (the daemon's health) must
                 * not wait for the next commits once the disk has room again. */
                sd_event_source_set_time_relative(c->retry, CHECKPOINT_RETRY_USEC);
                sd_event_source_set_enabled(c->retry, SD_EVENT_ONESHOT);
                return;
        }
        if (c->n_failing >= CHECKPOINT_FAILING_AFTER)
                log_info("database: checkpoints work again after %u failures", c->n_failing);
        c->n_failing = 0;
        if (on_loop)
                c->stats->loop_runs++;
        else
                c->stats->thread_runs++;
        metrics_observe_usec(c->metrics, METRICS_CHECKPOINT, r->usec);
}

static void finish_on_loop(struct checkpointer *c)
{
        struct checkpoint_result r;

        c->finish_wanted = false;
        c->finish_commits = 0;
        run_checkpoint(store_sqlite_db(c->store), &r);
        account(c, &r, true);
}

enum step_after {
        AFTER_COMMIT,
        AFTER_ANSWER, /* of the thread */
        AFTER_IDLE,   /* the loop has nothing else to do */
};

/* What next. The thread is asked once `pages` frames were committed, when the loop is
 * idle, i.e. after the notifications of the batch went out, or at once past `force_pages`
 * (a loop that is never idle): the cadence the loop's own checkpoints had, so the commits
 * a power cut can lose with database_sync "normal" (those after the last checkpoint's WAL
 * sync) are what they were. */
static void next_step(struct checkpointer *c, enum step_after after)
{
        if (c->in_flight)
                return; /* its answer decides */
        if (c->finish_wanted) {
                /* When idle; a loop that never is finishes at its second commit, before
                 * the WAL grows much longer. */
                if (after == AFTER_COMMIT)
                        c->finish_commits++;
                if ((after == AFTER_IDLE || c->finish_commits >= 2) &&
                    !store_in_transaction(c->store))
                        finish_on_loop(c);
                else
                        sd_event_source_set_enabled(c->idle, SD_EVENT_ONESHOT);
                return;
        }
        if (c->added >= c->force_pages || (after == AFTER_IDLE && c->added >= c->pages))
                request(c);
        else if (c->added >= c->pages)
                sd_event_source_set_enabled(c->idle, SD_EVENT_ONESHOT);
}

static int on_idle(sd_event_source *s, void *userdata)
{
        next_step(userdata, AFTER_IDLE);
        return 0;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct checkpointer *c = userdata;

        if (!c->in_flight && !c->finish_wanted)
                request(c);
        return 0;
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct checkpointer *c = userdata;
        struct checkpoint_result r;
        uint64_t n;

        /* Only resets the counter: the outcome is read below whatever it says. */
        (void)!read(fd, &n, sizeof(n));
        pthread_mutex_lock(&c->lock);
        r = c->result;
        pthread_mutex_unlock(&c->lock);
        if (!c->in_flight)
                return 0;
        c->in_flight = false;
        account(c, &r, false);
        /* Complete up to where it started (no reader held it back) and the WAL is long: the
         * rest is what was committed meanwhile, and copying that between two commits lets
         * the next one start the WAL over. */
        if (r.r == 0 && r.ckpt == r.log && c->wal_frames >= c->wal_max_pages)
                c->finish_wanted = true;
        next_step(c, AFTER_ANSWER);
        return 0;
}

void checkpointer_committed(struct checkpointer *c)
{
        int frames;

        if (!c)
                return;
        frames = sqlite_wal_frames(c->store);
        if (frames < c->wal_frames) {
                c->stats->wal_restarts++;
                c->added += frames;
        } else
                c->added += frames - c->wal_frames;
        c->wal_frames = frames;
        next_step(c, AFTER_COMMIT);
}

bool checkpointer_failing(const struct checkpointer *c)
{
        return c && c->n_failing >= CHECKPOINT_FAILING_AFTER;
}

bool checkpointer_busy(const struct checkpointer *c)
{
        return c && c->in_flight;
}

void checkpointer_set_limits(struct checkpointer *c, int pages, int force_pages, int wal_max_pages)
{
        c->pages = pages;
        c->force_pages = force_pages;
        c->wal_max_pages = wal_max_pages;
}

/* The thread takes no signals: the loop's signalfd and the default actions stay with the
 * main thread whatever the caller's mask. */
static int start_thread(struct checkpointer *c)
{
        sigset_t all, old;
        int r;

        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        r = pthread_create(&c->thread, NULL, checkpoint_thread, c);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r != 0)
                return -r;
        c->thread_started = true;
        return 0;
}

int checkpointer_new(sd_event *e, struct store *s, bool sync_full, struct checkpoint_stats *stats,
                     struct metrics *m, struct checkpointer **ret)
{
        struct checkpointer *c;
        int r;

        if (!store_sqlite(s)) {
                *ret = NULL; /* no WAL to look after */
                return 0;
        }
        c = xcalloc(1, sizeof(*c));
        if (!sqlite3_threadsafe()) {
                log_err("database: SQLite is built without thread support; checkpoints need it");
                free(c);
                return -EOPNOTSUPP;
        }
        c->store = s;
        c->stats = stats;
        c->metrics = m;
        c->pages = CHECKPOINT_PAGES;
        c->force_pages = CHECKPOINT_FORCE_PAGES;
        c->wal_max_pages = CHECKPOINT_WAL_MAX_PAGES;
        c->rl = (struct ratelimit)RATELIMIT_INIT(60 * USEC_PER_SEC, 3);
        c->efd = -1;
        pthread_mutex_init(&c->lock, NULL);
        pthread_cond_init(&c->cond, NULL);

        r = sqlite_checkpoint_connection(sqlite_path(s), sync_full, &c->db);
        if (r < 0)
                goto fail;
        c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (c->efd < 0) {
                r = -errno;
                goto fail;
        }
        r = sd_event_add_io(e, &c->done, c->efd, EPOLLIN, on_done, c);
        if (r < 0)
                goto fail;
        sd_event_source_set_description(c->done, "checkpoint-done");
        r = sd_event_add_defer(e, &c->idle, on_idle, c);
        if (r < 0)
                goto fail;
        sd_event_source_set_priority(c->idle, SD_EVENT_PRIORITY_IDLE);
        sd_event_source_set_enabled(c->idle, SD_EVENT_OFF);
        sd_event_source_set_description(c->idle, "checkpoint-idle");
        r = sd_event_add_time_relative(e, &c->retry, CLOCK_MONOTONIC, CHECKPOINT_RETRY_USEC,
                                       100 * USEC_PER_MSEC, on_retry, c);
        if (r < 0)
                goto fail;
        sd_event_source_set_enabled(c->retry, SD_EVENT_OFF);
        sd_event_source_set_description(c->retry, "checkpoint-retry");
        sqlite_manual_checkpoints(s, CHECKPOINT_WAL_LIMIT_BYTES);
        c->wal_frames = sqlite_wal_frames(s);
        r = start_thread(c);
        if (r < 0)
                goto fail;
        *ret = c;
        return 0;
fail:
        log_err_errno(r, "database: cannot start the checkpoint thread");
        checkpointer_free(c);
        return r;
}

struct checkpointer *checkpointer_free(struct checkpointer *c)
{
        if (!c)
                return NULL;
        if (c->thread_started) {
                pthread_mutex_lock(&c->lock);
                c->quit = true;
                pthread_cond_signal(&c->cond);
                pthread_mutex_unlock(&c->lock);
                pthread_join(c->thread, NULL);
        }
        sqlite3_close(c->db);
        c->done = sd_event_source_disable_unref(c->done);
        c->idle = sd_event_source_disable_unref(c->idle);
        c->retry = sd_event_source_disable_unref(c->retry);
        if (c->efd >= 0)
                close(c->efd);
        pthread_cond_destroy(&c->cond);
        pthread_mutex_destroy(&c->lock);
        free(c);
        return NULL;
}

/* checkpoint.h: WAL checkpoints beside the event loop.
 *
 * Commits only append to the WAL; a checkpoint copies it back into the database file and
 * fsyncs both (milliseconds each on a slow disk). Run on the loop, it held up every message
 * that arrived meanwhile. So a helper thread with a connection of its own runs the
 * checkpoints (PASSIVE: WAL allows one beside the single writer and never waits for
 * readers). The thread does nothing else and touches no application state: the loop
 * decides when to checkpoint (when it is idle after commits, as it used to run them
 * itself), learns the outcome through an eventfd, and logs, counts and reports it.
 *
 * WAL growth: SQLite starts the WAL over at a commit only when a checkpoint has copied
 * all of it and no reader still uses it. Beside a steady stream of commits the thread's
 * checkpoints never find it so (each commit lands while the thread copies), so once the
 * WAL holds wal_max_pages frames, the loop finishes the job itself after the thread's next
 * checkpoint: when it is idle (or at its second commit if it never is), a checkpoint of
 * the few frames committed meanwhile, so the next commit starts the WAL over. A reader holding an
 * old snapshot (a long `doorwatchctl backup` step) stops both until it finishes; the WAL file is
 * cut back to CHECKPOINT_WAL_LIMIT_BYTES once it starts over. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "store.h"

/* Frames committed before the thread is asked for a checkpoint: once the loop is idle,
 * or at once past the second number (checkpoint.c says why these). */
#define CHECKPOINT_PAGES       256
#define CHECKPOINT_FORCE_PAGES 4096
/* WAL frames after which the loop finishes a checkpoint so the WAL starts over. */
#define CHECKPOINT_WAL_MAX_PAGES 16384
/* journal_size_limit: what the WAL file keeps of its size when it starts over. */
#define CHECKPOINT_WAL_LIMIT_BYTES (INT64_C(128) << 20)
/* Failed checkpoints in a row after which checkpointer_failing() is true. */
#define CHECKPOINT_FAILING_AFTER 3

/* Counters the daemon owns (they are registered as metrics, which outlive the
 * checkpointer); updated on the loop thread only. */
struct checkpoint_stats {
        uint64_t thread_runs; /* checkpoints done by the thread */
        uint64_t loop_runs;   /* checkpoints finished on the loop so the WAL starts over */
        uint64_t failures;
        uint64_t wal_restarts; /* commits that found the WAL started over */
};

struct metrics;
struct checkpointer;

/* Opens the thread's connection to the store's database, takes over the store's
 * checkpoints (sqlite_manual_checkpoints()) and starts the thread. stats must outlive the
 * checkpointer; m may be NULL. A store of another backend than SQLite needs none: *ret is
 * NULL then, and the functions below take NULL (committed does nothing, failing and busy
 * are false). */
int checkpointer_new(sd_event *e, struct store *s, bool sync_full, struct checkpoint_stats *stats,
                     struct metrics *m, struct checkpointer **ret);
/* Stops the thread (a checkpoint under way is finished first) and closes its connection;
 * call before store_close(), whose close runs the last checkpoint. NULL-safe. */
struct checkpointer *checkpointer_free(struct checkpointer *c);
/* The thresholds above, for tests. */
void checkpointer_set_limits(struct checkpointer *c, int pages, int force_pages, int wal_max_pages);

/* Call after every COMMIT of the store (outside a transaction). */
void checkpointer_committed(struct checkpointer *c);
/* True after CHECKPOINT_FAILING_AFTER failed checkpoints in a row (the WAL grows). */
bool checkpointer_failing(const struct checkpointer *c);
/* Whether a checkpoint was asked of the thread and its outcome not yet seen (tests wait
 * on the loop until this turns false). */
bool checkpointer_busy(const struct checkpointer *c);

/* timerq.h: a binary min-heap of deadlines (instants in usec) with opaque payloads.
 *
 * The engine keeps every future deadline here (escalation steps, doors held open,
 * hand-off windows, passes ending ...) and the daemon arms one sd-event timer at the
 * earliest. Entries are never removed early: handlers check that what they fire for is
 * still current (lazy deletion), which keeps the heap simple and O(log n). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct timerq_entry {
        int64_t usec;
        int type;       /* what fires: defined by the user */
        void *ptr;      /* e.g. the household or alert */
        uint64_t token; /* e.g. a generation counter for lazy invalidation */
};

struct timerq {
        struct timerq_entry *heap;
        size_t n, cap;
};

void timerq_push(struct timerq *q, int64_t usec, int type, void *ptr, uint64_t token);
/* Earliest deadline, or INT64_MAX when empty. */
int64_t timerq_next(const struct timerq *q);
/* Pops the earliest entry if it is due at now_usec. */
bool timerq_pop_due(struct timerq *q, int64_t now_usec, struct timerq_entry *ret);
void timerq_done(struct timerq *q);
/* Drops the entries keep() rejects (stale ones: lazy deletion leaves one behind each time
 * a deadline moves, e.g. every door opening) and restores the heap; O(n). */
void timerq_compact(struct timerq *q, bool (*keep)(const struct timerq_entry *t, void *userdata),
                    void *userdata);

/* timerq.h: a binary min-heap of deadlines (instants in usec) with small payloads.
 *
 * The engine keeps every future deadline here (escalation steps, doors held open,
 * hand-off windows, passes ending, device staleness ...) and the daemon arms one sd-event
 * timer at the earliest. Entries are never removed early: handlers check that what they
 * fire for is still current (lazy deletion), which keeps the heap simple and O(log n).
 *
 * A city holds several entries per household (300,000 and more), so an entry is 16 bytes:
 * the instant, a type, the index of what it is for in the user's array and a 32-bit
 * token (a pointer and a 64-bit token took 32). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIMERQ_TYPE_MAX  15u
#define TIMERQ_INDEX_MAX ((1u << 28) - 1)

struct timerq_entry {
        int64_t usec;
        unsigned type : 4;   /* what fires: defined by the user, <= TIMERQ_TYPE_MAX */
        unsigned index : 28; /* e.g. a household's index, <= TIMERQ_INDEX_MAX */
        uint32_t token;      /* e.g. a generation counter for lazy invalidation */
};

struct timerq {
        struct timerq_entry *heap;
        size_t n, cap;
};

/* type and index beyond their maximum abort (a programming error). */
void timerq_push(struct timerq *q, int64_t usec, unsigned type, size_t index, uint32_t token);
/* Earliest deadline, or INT64_MAX when empty. */
int64_t timerq_next(const struct timerq *q);
/* Pops the earliest entry if it is due at now_usec. */
bool timerq_pop_due(struct timerq *q, int64_t now_usec, struct timerq_entry *ret);
void timerq_done(struct timerq *q);
/* Drops the entries keep() rejects (stale ones: lazy deletion leaves one behind each time
 * a deadline moves, e.g. every door opening) and restores the heap; O(n). */
void timerq_compact(struct timerq *q, bool (*keep)(const struct timerq_entry *t, void *userdata),
                    void *userdata);

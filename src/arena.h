/* arena.h: a bump allocator for memory that is freed all at once.
 *
 * Allocations are carved from malloc'd blocks in order; nothing is freed one by one.
 * arena_reset() keeps the blocks and reuses them from the first; arena_done() frees them.
 * The first block has first_block bytes, each further one twice the last, up to max_block;
 * a request larger than that gets a block of its own size. Allocation failure aborts,
 * like xstrdup() and GROW() (util.h).
 *
 * The configuration keeps the strings of households and devices (and the schedules they
 * share) in one; the loader parses each document into another, reset between files. */
#pragma once

#include <stddef.h>

struct arena_block {
        struct arena_block *next;
        size_t size, used;
        max_align_t data[];
};

struct arena {
        struct arena_block *head, *cur, *tail; /* cur: the block allocations come from */
        size_t first_block, max_block;
};

#define ARENA_INIT(first, max) ((struct arena){ .first_block = (first), .max_block = (max) })

/* n bytes aligned to align (a power of two, at most alignof(max_align_t)); never NULL. */
void *arena_alloc(struct arena *a, size_t n, size_t align);
/* A copy of s, packed without alignment. */
char *arena_strdup(struct arena *a, const char *s);
/* Forgets every allocation; the blocks are kept for the next ones. */
void arena_reset(struct arena *a);
/* Frees the blocks; a stays usable (empty, same block sizes). */
void arena_done(struct arena *a);

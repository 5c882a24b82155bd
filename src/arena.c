/* arena.c: a bump allocator for memory that is freed all at once (see arena.h).
 *
 * Blocks form a list in allocation order; `cur` is the first block that may still have
 * room, so after arena_reset() the blocks are reused in order before any new one is made.
 * A request that does not fit in cur moves on to the next block with room (a big one may
 * skip a nearly full block; the skipped space is lost until the next reset). */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static size_t align_up(size_t n, size_t align)
{
        return (n + align - 1) & ~(align - 1);
}

void *arena_alloc(struct arena *a, size_t n, size_t align)
{
        struct arena_block *b;
        size_t offset = 0;

        for (b = a->cur; b; b = b->next) {
                offset = align_up(b->used, align);
                if (offset <= b->size && b->size - offset >= n)
                        break;
        }
        if (!b) {
                size_t size = a->tail ? MIN(a->tail->size * 2, a->max_block) : a->first_block;

                size = MAX(size, n);
                b = malloc(sizeof(*b) + size);
                if (!b)
                        abort();
                *b = (struct arena_block){ .size = size };
                if (a->tail)
                        a->tail->next = b;
                else
                        a->head = b;
                a->tail = b;
                offset = 0;
        }
        a->cur = b;
        b->used = offset + n;
        return (unsigned char *)b->data + offset;
}

char *arena_strdup(struct arena *a, const char *s)
{
        size_t n = strlen(s) + 1;

        return memcpy(arena_alloc(a, n, 1), s, n);
}

void arena_reset(struct arena *a)
{
        for (struct arena_block *b = a->head; b; b = b->next)
                b->used = 0;
        a->cur = a->head;
}

void arena_done(struct arena *a)
{
        while (a->head) {
                struct arena_block *b = a->head;
                a->head = b->next;
                free(b);
        }
        a->cur = a->tail = NULL;
}

/* arena.c: the configuration loader's two bump allocators (see arena.h). */
#include "arena.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- strings of households and devices ----
 *
 * Ids and addresses of a city-sized registry are hundreds of thousands of short strings;
 * a malloc'd copy of each costs its length rounded up plus a header (a 13-byte id takes
 * 32 bytes). They are never freed one by one, so they are bump-allocated in blocks. */

#define STRINGS_BLOCK ((size_t)64 << 10)

struct config_strings {
        struct config_strings *next;
        size_t size, used;
        char data[];
};

char *strings_dup(struct config_strings **head, const char *s)
{
        size_t n = strlen(s) + 1;
        struct config_strings *b = *head;

        if (!b || b->size - b->used < n) {
                size_t size = MAX(STRINGS_BLOCK, n);
                b = malloc(sizeof(*b) + size);
                if (!b)
                        abort();
                *b = (struct config_strings){ .next = *head, .size = size };
                *head = b;
        }
        memcpy(b->data + b->used, s, n);
        b->used += n;
        return b->data + b->used - n;
}

void strings_free(struct config_strings *b)
{
        while (b) {
                struct config_strings *next = b->next;
                free(b);
                b = next;
        }
}

/* ---- a bump arena for parsed documents ----
 *
 * cJSON allocates every node, key and string separately; a city-sized registry is millions
 * of them, and malloc()/free() of those dominated load time (and fragmented the heap). So
 * cJSON_Parse() runs with hooks that allocate from this arena, and a document is dropped by
 * resetting the arena instead of cJSON_Delete(); the blocks are reused by the next file.
 * cJSON's hooks are process-global, so they are installed only for the duration of one
 * cJSON_ParseWithOpts() call and nothing else allocates JSON meanwhile (single-threaded);
 * anything kept beyond a document (notifier JSON) is copied with the default allocator. */

#define ARENA_ALIGN     ((size_t)16)
#define ARENA_MIN_BLOCK ((size_t)1 << 20)
#define ARENA_MAX_BLOCK ((size_t)64 << 20)

static struct arena *parse_arena; /* only set while cJSON_ParseWithOpts() runs */

static void *arena_alloc(size_t n)
{
        struct arena *a = parse_arena;
        struct arena_block *b;
        void *p;

        n = (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
        for (b = a->cur; b && b->size - b->used < n; b = b->next)
                ;
        if (!b) {
                size_t size = a->tail ? MIN(a->tail->size * 2, ARENA_MAX_BLOCK) : ARENA_MIN_BLOCK;
                b = malloc(sizeof(*b) + MAX(size, n));
                if (!b)
                        return NULL; /* cJSON reports a failed parse */
                *b = (struct arena_block){ .size = MAX(size, n) };
                if (a->tail)
                        a->tail->next = b;
                else
                        a->head = b;
                a->tail = b;
        }
        a->cur = b;
        p = (unsigned char *)b->data + b->used;
        b->used += n;
        return p;
}

static void arena_free_noop(void *p)
{
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
        *a = (struct arena){ 0 };
}

cJSON *arena_parse(struct arena *a, const char *text)
{
        cJSON_Hooks hooks = { .malloc_fn = arena_alloc, .free_fn = arena_free_noop };
        cJSON *root;

        parse_arena = a;
        cJSON_InitHooks(&hooks);
        root = cJSON_ParseWithOpts(text, NULL, true);
        cJSON_InitHooks(NULL);
        parse_arena = NULL;
        return root;
}

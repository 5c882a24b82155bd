/* arena.h: bump allocators for memory that is freed all at once.
 *
 * struct config_strings holds the strings of households and devices for the life of a
 * configuration; struct arena holds one parsed JSON document at a time (cJSON's nodes,
 * allocated through arena_parse()) and is reset between documents. */
#pragma once

#include <cjson/cJSON.h>
#include <stddef.h>

struct config_strings;

char *strings_dup(struct config_strings **head, const char *s);
void strings_free(struct config_strings *b);

struct arena_block {
        struct arena_block *next;
        size_t size, used;
        max_align_t data[];
};

struct arena {
        struct arena_block *head, *cur, *tail;
};

void arena_reset(struct arena *a);
void arena_done(struct arena *a);
cJSON *arena_parse(struct arena *a, const char *text);

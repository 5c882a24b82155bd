/* hashmap.h: open-addressing hash map from NUL-terminated string keys to pointers.
 *
 * Keys are not copied: the caller keeps them alive as long as the entry exists
 * (they normally point into the configuration they index). Lookups are O(1); the map
 * grows at 75% load. Removal uses backward-shift deletion, so there are no tombstones. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct hashmap;

struct hashmap *hashmap_new(size_t expected);
struct hashmap *hashmap_free(struct hashmap *m);
/* Returns 0, or -EEXIST when the key is present (the old value is kept). */
int hashmap_put(struct hashmap *m, const char *key, void *value);
/* Replaces or inserts. */
void hashmap_replace(struct hashmap *m, const char *key, void *value);
void *hashmap_get(const struct hashmap *m, const char *key);
void *hashmap_remove(struct hashmap *m, const char *key);
size_t hashmap_size(const struct hashmap *m);
/* Fits the capacity to the entries (75% load) once a map is complete, e.g. the registry's
 * id maps after loading. */
void hashmap_shrink(struct hashmap *m);
/* Iteration: start with *i = 0; returns false at the end. */
bool hashmap_iterate(const struct hashmap *m, size_t *i, const char **key, void **value);

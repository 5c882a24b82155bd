/* hashmap.h: open-addressing hash map from NUL-terminated string keys to pointers.
 *
 * Keys are not copied: the caller keeps them alive as long as the entry exists
 * (they normally point into the configuration they index). Lookups are O(1); the map
 * grows at 75% load. Removal uses backward-shift deletion, so there are no tombstones. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Positive outcome of hashmap_put() and idmap_put(): expected, not an error. */
enum {
        HASHMAP_E_EXISTS = 1, /* the key is present already */
};

struct hashmap;

struct hashmap *hashmap_new(size_t expected);
struct hashmap *hashmap_free(struct hashmap *m);
/* Returns 0, or HASHMAP_E_EXISTS when the key is present (the old value is kept). */
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

/* idmap: the records of one array (households, devices) by their string id, for maps of a
 * city-sized registry. A slot is the record's index and 32 bits of its id's hash, 8 bytes
 * instead of a hashmap's 24 (key, value, hash); the id itself is read from the record,
 * through key_of(userdata, index), so the array may move (grow) while the map is built.
 * No removal. */
typedef const char *(*idmap_key_fn)(const void *userdata, size_t index);

struct idmap;

struct idmap *idmap_new(size_t expected, idmap_key_fn key_of, const void *userdata);
struct idmap *idmap_free(struct idmap *m);
/* Adds index (< UINT32_MAX) under its key. Returns 0, or HASHMAP_E_EXISTS when the key is
 * present, with the index that has it in *ret_existing (may be NULL). */
int idmap_put(struct idmap *m, size_t index, size_t *ret_existing);
/* The index of key in *ret; false when absent. */
bool idmap_get(const struct idmap *m, const char *key, size_t *ret);
size_t idmap_size(const struct idmap *m);
/* Fits the capacity to the entries (75% load) once the map is complete. */
void idmap_shrink(struct idmap *m);

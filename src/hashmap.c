/* hashmap.c: linear probing, backward-shift deletion. The capacity is any size (a
 * hash's home slot is its high bits scaled to the capacity), so hashmap_shrink() can fit a
 * map of a city-sized registry instead of rounding up to a power of two.
 * Invariant: every occupied slot is reachable from its home slot without crossing an
 * empty slot (cyclically). idmap (at the end) probes the same way, with the upper 32
 * bits of the hash stored and scaled. */
#include "hashmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct slot {
        const char *key; /* NULL = empty */
        void *value;
        uint64_t hash;
};

struct hashmap {
        struct slot *slots;
        size_t cap;
        size_t size;
};

static size_t home_slot(const struct hashmap *m, uint64_t h)
{
#ifdef __SIZEOF_INT128__
        return (size_t)(((unsigned __int128)h * m->cap) >> 64);
#else
        return (size_t)(h % m->cap);
#endif
}

static size_t next_slot(const struct hashmap *m, size_t i)
{
        return i + 1 == m->cap ? 0 : i + 1;
}

static size_t round_cap(size_t expected)
{
        size_t cap = 16;
        while (cap * 3 < expected * 4)
                cap <<= 1;
        return cap;
}

struct hashmap *hashmap_new(size_t expected)
{
        struct hashmap *m = calloc(1, sizeof(*m));
        if (!m)
                abort();
        m->cap = round_cap(expected);
        m->slots = calloc(m->cap, sizeof(struct slot));
        if (!m->slots)
                abort();
        return m;
}

struct hashmap *hashmap_free(struct hashmap *m)
{
        if (!m)
                return NULL;
        free(m->slots);
        free(m);
        return NULL;
}

/* Grows at 75% load: with the hash kept in each slot a probe rarely compares keys, and the
 * maps of a city-sized registry (200,000 devices) take half the memory they did at 50%. */
static bool over_load(const struct hashmap *m)
{
        return (m->size + 1) * 4 > m->cap * 3;
}

static struct slot *find(const struct hashmap *m, const char *key, uint64_t h)
{
        for (size_t i = home_slot(m, h);; i = next_slot(m, i)) {
                struct slot *s = &m->slots[i];
                if (!s->key || (s->hash == h && strcmp(s->key, key) == 0))
                        return s;
        }
}

static void rehash(struct hashmap *m, size_t cap)
{
        struct slot *old = m->slots;
        size_t old_cap = m->cap;

        m->cap = cap;
        m->slots = calloc(m->cap, sizeof(struct slot));
        if (!m->slots)
                abort();
        for (size_t i = 0; i < old_cap; i++)
                if (old[i].key)
                        *find(m, old[i].key, old[i].hash) = old[i];
        free(old);
}

static void grow(struct hashmap *m)
{
        rehash(m, m->cap * 2);
}

void hashmap_shrink(struct hashmap *m)
{
        size_t cap = MAX((size_t)16, m->size * 4 / 3 + 1);

        if (cap + cap / 8 < m->cap)
                rehash(m, cap);
}

int hashmap_put(struct hashmap *m, const char *key, void *value)
{
        uint64_t h = hash_str(key);
        struct slot *s;

        if (over_load(m))
                grow(m);
        s = find(m, key, h);
        if (s->key)
                return HASHMAP_E_EXISTS;
        *s = (struct slot){ key, value, h };
        m->size++;
        return 0;
}

void hashmap_replace(struct hashmap *m, const char *key, void *value)
{
        uint64_t h = hash_str(key);
        struct slot *s;

        if (over_load(m))
                grow(m);
        s = find(m, key, h);
        if (!s->key)
                m->size++;
        *s = (struct slot){ key, value, h };
}

void *hashmap_get(const struct hashmap *m, const char *key)
{
        if (!m)
                return NULL;
        struct slot *s = find(m, key, hash_str(key));
        return s->key ? s->value : NULL;
}

void *hashmap_remove(struct hashmap *m, const char *key)
{
        struct slot *s = find(m, key, hash_str(key));
        void *v;
        size_t i, j;

        if (!s->key)
                return NULL;
        v = s->value;
        i = (size_t)(s - m->slots);
        /* Backward shift: pull later entries of the cluster into the hole when their home
         * slot does not lie cyclically in (i, j]. */
        for (j = next_slot(m, i); m->slots[j].key; j = next_slot(m, j)) {
                size_t home = home_slot(m, m->slots[j].hash);
                bool between = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
                if (!between) {
                        m->slots[i] = m->slots[j];
                        i = j;
                }
        }
        m->slots[i] = (struct slot){ 0 };
        m->size--;
        return v;
}

size_t hashmap_size(const struct hashmap *m)
{
        return m ? m->size : 0;
}

bool hashmap_iterate(const struct hashmap *m, size_t *i, const char **key, void **value)
{
        for (; m && *i < m->cap; (*i)++) {
                struct slot *s = &m->slots[*i];
                if (s->key) {
                        if (key)
                                *key = s->key;
                        if (value)
                                *value = s->value;
                        (*i)++;
                        return true;
                }
        }
        return false;
}

/* ---- idmap ---- */

struct idslot {
        uint32_t index1; /* index + 1; 0 = empty */
        uint32_t hash;   /* upper 32 bits of hash_str(key) */
};

struct idmap {
        struct idslot *slots;
        size_t cap;
        size_t size;
        idmap_key_fn key_of;
        const void *userdata;
};

static uint32_t id_hash(const char *key)
{
        return (uint32_t)(hash_str(key) >> 32);
}

static size_t id_home(const struct idmap *m, uint32_t h)
{
        return (size_t)(((uint64_t)h * m->cap) >> 32);
}

static struct idslot *idmap_alloc_slots(size_t cap)
{
        struct idslot *slots = calloc(cap, sizeof(struct idslot));
        if (!slots)
                abort();
        return slots;
}

struct idmap *idmap_new(size_t expected, idmap_key_fn key_of, const void *userdata)
{
        struct idmap *m = calloc(1, sizeof(*m));

        if (!m)
                abort();
        m->cap = round_cap(expected);
        m->slots = idmap_alloc_slots(m->cap);
        m->key_of = key_of;
        m->userdata = userdata;
        return m;
}

struct idmap *idmap_free(struct idmap *m)
{
        if (!m)
                return NULL;
        free(m->slots);
        free(m);
        return NULL;
}

/* The slot holding key (hash h), or the empty slot where it would go. */
static struct idslot *id_find(const struct idmap *m, const char *key, uint32_t h)
{
        for (size_t i = id_home(m, h);; i = i + 1 == m->cap ? 0 : i + 1) {
                struct idslot *s = &m->slots[i];
                if (!s->index1 ||
                    (s->hash == h && strcmp(m->key_of(m->userdata, s->index1 - 1), key) == 0))
                        return s;
        }
}

static void id_rehash(struct idmap *m, size_t cap)
{
        struct idslot *old = m->slots;
        size_t old_cap = m->cap;

        m->cap = cap;
        m->slots = idmap_alloc_slots(cap);
        for (size_t i = 0; i < old_cap; i++) {
                size_t j;
                if (!old[i].index1)
                        continue;
                /* Keys are distinct: the first empty slot from home is the place. */
                for (j = id_home(m, old[i].hash); m->slots[j].index1; j = j + 1 == cap ? 0 : j + 1)
                        ;
                m->slots[j] = old[i];
        }
        free(old);
}

int idmap_put(struct idmap *m, size_t index, size_t *ret_existing)
{
        const char *key = m->key_of(m->userdata, index);
        uint32_t h = id_hash(key);
        struct idslot *s;

        if (index >= UINT32_MAX)
                abort();
        if ((m->size + 1) * 4 > m->cap * 3)
                id_rehash(m, m->cap * 2);
        s = id_find(m, key, h);
        if (s->index1) {
                if (ret_existing)
                        *ret_existing = s->index1 - 1;
                return HASHMAP_E_EXISTS;
        }
        *s = (struct idslot){ (uint32_t)index + 1, h };
        m->size++;
        return 0;
}

bool idmap_get(const struct idmap *m, const char *key, size_t *ret)
{
        const struct idslot *s;

        if (!m || !key)
                return false;
        s = id_find(m, key, id_hash(key));
        if (!s->index1)
                return false;
        *ret = s->index1 - 1;
        return true;
}

size_t idmap_size(const struct idmap *m)
{
        return m ? m->size : 0;
}

void idmap_shrink(struct idmap *m)
{
        size_t cap = MAX((size_t)16, m->size * 4 / 3 + 1);

        if (cap + cap / 8 < m->cap)
                id_rehash(m, cap);
}

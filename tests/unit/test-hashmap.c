/* test-hashmap.c: random puts, replaces and removes against a plain array, with the map
 * grown, shrunk to fit and grown again; iteration sees every entry once. The idmap finds
 * records of an array that moves while it grows, refuses duplicates, and survives a
 * shrink. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hashmap.h"

#define N 3000

static char keys[N][16];
static int present[N];

static void check(struct hashmap *m)
{
        size_t n = 0, i = 0;
        const char *key;
        void *value;

        for (int k = 0; k < N; k++) {
                void *v = hashmap_get(m, keys[k]);
                if (present[k]) {
                        assert_ptr_equal(v, &present[k]);
                        n++;
                } else
                        assert_null(v);
        }
        assert_int_equal(hashmap_size(m), n);
        while (hashmap_iterate(m, &i, &key, &value)) {
                assert_ptr_equal(value, &present[strtol(key + 1, NULL, 10) / 7]);
                n--;
        }
        assert_int_equal(n, 0);
}

static void test_random(void **state)
{
        struct hashmap *m = hashmap_new(4);
        unsigned seed = 9;

        for (int k = 0; k < N; k++)
                snprintf(keys[k], sizeof(keys[k]), "d%06d-door", k * 7);
        for (int round = 0; round < 4; round++) {
                for (int i = 0; i < 20000; i++) {
                        int k = rand_r(&seed) % N;
                        switch (rand_r(&seed) % 3) {
                        case 0:
                                assert_int_equal(hashmap_put(m, keys[k], &present[k]),
                                                 present[k] ? HASHMAP_E_EXISTS : 0);
                                present[k] = 1;
                                break;
                        case 1:
                                hashmap_replace(m, keys[k], &present[k]);
                                present[k] = 1;
                                break;
                        default:
                                assert_ptr_equal(hashmap_remove(m, keys[k]),
                                                 present[k] ? &present[k] : NULL);
                                present[k] = 0;
                                break;
                        }
                }
                check(m);
                hashmap_shrink(m);
                check(m);
        }
        hashmap_free(m);
}

/* Records as a registry holds them: an array of structs that grows (and moves) while its
 * id map is built, with ids of another array's lifetime. */
struct rec {
        const char *id;
        int payload;
};

struct recs {
        struct rec *v;
        size_t n;
};

static const char *rec_key(const void *userdata, size_t i)
{
        return ((const struct recs *)userdata)->v[i].id;
}

static void test_idmap(void **state)
{
        struct recs r = { 0 };
        struct idmap *m = idmap_new(4, rec_key, &r);
        unsigned seed = 5;
        size_t i, first;

        for (int k = 0; k < N; k++)
                snprintf(keys[k], sizeof(keys[k]), "H-%06d", k * 13);
        /* Every key once in random order, some twice: the second is refused with the first. */
        for (int j = 0; j < 2 * N; j++) {
                int k = rand_r(&seed) % N;
                struct rec *v = realloc(r.v, (r.n + 1) * sizeof(*v));
                assert_non_null(v);
                r.v = v;
                r.v[r.n] = (struct rec){ keys[k], k };
                if (idmap_get(m, keys[k], &first)) {
                        assert_int_equal(idmap_put(m, r.n, &i), HASHMAP_E_EXISTS);
                        assert_int_equal(i, first);
                        assert_string_equal(r.v[i].id, keys[k]);
                        continue; /* the duplicate is not kept */
                }
                assert_int_equal(idmap_put(m, r.n, NULL), 0);
                r.n++;
        }
        for (int round = 0; round < 2; round++) {
                assert_int_equal(idmap_size(m), r.n);
                for (size_t j = 0; j < r.n; j++) {
                        assert_true(idmap_get(m, r.v[j].id, &i));
                        assert_int_equal(i, j);
                }
                for (int k = 0; k < N; k++) {
                        if (idmap_get(m, keys[k], &i))
                                assert_int_equal(r.v[i].payload, k);
                }
                assert_false(idmap_get(m, "H-missing", &i));
                assert_false(idmap_get(m, NULL, &i));
                idmap_shrink(m);
        }
        idmap_free(m);
        free(r.v);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_random),
                cmocka_unit_test(test_idmap),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test-hashmap.c: random puts, replaces and removes against a plain array, with the map
 * grown, shrunk to fit and grown again; iteration sees every entry once. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
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
                                                 present[k] ? -EEXIST : 0);
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

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_random),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

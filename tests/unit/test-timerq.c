/* test-timerq.c: the deadline heap pops in order, and compaction keeps exactly the entries
 * the predicate keeps, still in order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "timerq.h"

static bool keep_even(const struct timerq_entry *t, void *userdata)
{
        (*(size_t *)userdata)++;
        return t->token % 2 == 0;
}

static void test_order_and_compact(void **state)
{
        struct timerq q = { 0 };
        struct timerq_entry t;
        unsigned seed = 1;
        size_t calls = 0, kept = 0, popped = 0;
        int64_t last = INT64_MIN;

        for (uint32_t i = 0; i < 5000; i++)
                timerq_push(&q, rand_r(&seed) % 100000, i % 16, i, i);
        for (size_t i = 0; i < q.n; i++)
                kept += q.heap[i].token % 2 == 0;
        timerq_compact(&q, keep_even, &calls);
        assert_int_equal(calls, 5000);
        assert_int_equal(q.n, kept);
        for (uint32_t i = 5000; i < 6000; i++)
                timerq_push(&q, rand_r(&seed) % 100000, TIMERQ_TYPE_MAX, TIMERQ_INDEX_MAX, 2 * i);
        assert_int_equal(timerq_next(&q), q.heap[0].usec);
        while (timerq_pop_due(&q, INT64_MAX, &t)) {
                assert_true(t.usec >= last);
                assert_int_equal(t.token % 2, 0);
                /* The payload comes back as it went in. */
                if (t.token < 5000) {
                        assert_int_equal(t.type, t.token % 16);
                        assert_int_equal(t.index, t.token);
                } else {
                        assert_int_equal(t.type, TIMERQ_TYPE_MAX);
                        assert_int_equal(t.index, TIMERQ_INDEX_MAX);
                }
                last = t.usec;
                popped++;
        }
        assert_int_equal(popped, kept + 1000);
        assert_false(timerq_pop_due(&q, INT64_MAX, &t));
        timerq_done(&q);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_order_and_compact),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test-arena.c: the bump allocator: alignment, packing of strings, block growth (first,
 * doubling, capped, oversized requests on their own), reuse after a reset, and freeing
 * (LeakSanitizer checks the last under make check SANITIZE=1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "arena.h"

static size_t n_blocks(const struct arena *a)
{
        size_t n = 0;

        for (const struct arena_block *b = a->head; b; b = b->next)
                n++;
        return n;
}

static bool in_block(const struct arena_block *b, const void *p, size_t n)
{
        const unsigned char *start = (const unsigned char *)b->data;

        return (const unsigned char *)p >= start && (const unsigned char *)p + n <= start + b->size;
}

static void test_alignment(void **state)
{
        struct arena a = ARENA_INIT(256, 4096);
        static const size_t aligns[] = { 1, 2, 4, 8, 16 };

        for (size_t i = 0; i < 200; i++) {
                size_t align = aligns[i % 5], n = 1 + i % 13;
                unsigned char *p = arena_alloc(&a, n, align);

                assert_int_equal((uintptr_t)p % align, 0);
                memset(p, 0xa5, n); /* writable, and ASan sees no overflow */
        }
        arena_done(&a);
        assert_null(a.head);
}

static void test_strings_are_packed(void **state)
{
        struct arena a = ARENA_INIT(64, 64);
        char *x = arena_strdup(&a, "ab");
        char *y = arena_strdup(&a, "cde");

        assert_string_equal(x, "ab");
        assert_string_equal(y, "cde");
        assert_ptr_equal(y, x + 3);
        arena_done(&a);
}

static void test_growth(void **state)
{
        static const size_t sizes[] = { 100, 200, 400, 1000, 400 };
        struct arena a = ARENA_INIT(100, 400);
        const struct arena_block *b;
        void *big;
        size_t i = 0;

        arena_alloc(&a, 60, 1);
        arena_alloc(&a, 60, 1);  /* does not fit: a second block, twice the first */
        arena_alloc(&a, 150, 1); /* nor here: a third, capped at max_block */
        big = arena_alloc(&a, 1000, 1);
        arena_alloc(&a, 10, 1); /* after an oversized block: back to max_block */
        for (b = a.head; b; b = b->next, i++) {
                assert_true(i < 5);
                assert_int_equal(b->size, sizes[i]);
        }
        assert_int_equal(i, 5);
        assert_int_equal(a.head->used, 60);
        assert_int_equal(a.head->next->used, 60);
        assert_true(in_block(a.head->next->next->next, big, 1000));
        arena_done(&a);
}

static void test_reset_reuses_blocks(void **state)
{
        struct arena a = ARENA_INIT(128, 1024);
        void *first = arena_alloc(&a, 100, 16);
        size_t blocks;

        for (int i = 0; i < 50; i++)
                arena_alloc(&a, 100, 16);
        blocks = n_blocks(&a);
        assert_true(blocks > 1);
        arena_reset(&a);
        assert_ptr_equal(arena_alloc(&a, 100, 16), first);
        for (int i = 0; i < 50; i++)
                arena_alloc(&a, 100, 16);
        assert_int_equal(n_blocks(&a), blocks);
        arena_done(&a);
        assert_null(a.head);
        assert_null(a.cur);
        assert_null(a.tail);
        /* Still usable after arena_done(), with the same block sizes. */
        arena_alloc(&a, 1, 1);
        assert_int_equal(a.head->size, 128);
        arena_done(&a);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_alignment),
                cmocka_unit_test(test_strings_are_packed),
                cmocka_unit_test(test_growth),
                cmocka_unit_test(test_reset_reuses_blocks),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* files.c: see files.h. */
#include "files.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

void test_write_file(const char *dir, const char *rel, const char *contents)
{
        char path[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, rel);
        f = fopen(path, "we");
        assert_non_null(f);
        assert_true(fputs(contents, f) >= 0);
        assert_int_equal(fclose(f), 0);
}

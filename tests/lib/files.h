/* files.h: writing fixture files for tests. */
#pragma once

/* Writes dir/rel with the given contents (truncating it); fails the test when it cannot. */
void test_write_file(const char *dir, const char *rel, const char *contents);

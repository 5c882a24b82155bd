/* pgtest.h: the private PostgreSQL server of a test run (tools/pg-server), for the tests
 * that run on either backend. DOORWATCH_TEST_PG names the server's socket directory when
 * the run is the PostgreSQL pass of `make check`; unset, the tests run on SQLite. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The socket directory, or NULL when the tests run on SQLite. */
const char *pgtest_dir(void);
/* Creates a fresh, empty database owned by role "doorwatch" and returns its URI
 * ("postgresql://doorwatch@/NAME?host=DIR", malloc'd); aborts when it cannot. The tests'
 * own queries find SQLite's group_concat() and json_extract() there too. */
char *pgtest_create_db(void);
/* Drops the database of uri (terminating its sessions). */
void pgtest_drop_db(const char *uri);
/* Makes the database of uri refuse writes (on), as a server that became a standby does, or
 * take them again (off): new sessions are read-only, the open ones are ended. */
int pgtest_read_only(const char *uri, bool on);
/* The first column of the first row of sql, run as role "doorwatch" on the database of
 * uri, as text into buf ("" for NULL; a boolean as "1" or "0", as SQLite's would read).
 * False when there is no row; aborts when the query fails. */
bool pgtest_first(const char *uri, const char *sql, char *buf, size_t size);
/* Calls row() with every row of sql (its columns as text, NULL for NULL, a boolean as "1"
 * or "0"), run like pgtest_first(); returns the number of rows, aborts when the query
 * fails. */
size_t pgtest_each(const char *uri, const char *sql,
                   void (*row)(const char *const *cols, int n, void *userdata), void *userdata);
/* Runs sql as the server's superuser on the database of uri ("" for a fresh connection to
 * "postgres"); returns 0 or -1 (the message on stderr). */
int pgtest_admin(const char *uri, const char *sql);

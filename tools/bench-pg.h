/* bench-pg.h: the bench's administration of its private PostgreSQL server (creating and
 * dropping a run's database, its size): libpq for the bench, apart from the store, which
 * alone issues doorwatch's SQL. */
#pragma once

#include <stddef.h>

/* Runs sql as the superuser of the server whose socket directory is host (database db,
 * "postgres" when NULL); with ret, the first column of the first row. Returns 0, or -EIO
 * with the server's message in err. */
int bench_pg_admin(const char *host, const char *db, const char *sql, long long *ret, char *err,
                   size_t err_size);
/* libpq's version (PQlibVersion()), for the bench's header. */
int bench_pg_lib_version(void);

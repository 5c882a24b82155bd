/* bench-pg.c: the bench's administration SQL for its private PostgreSQL server (see
 * bench-pg.h). Nothing here touches doorwatch's schema: that is the store's. */
#include "bench-pg.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

int bench_pg_admin(const char *host, const char *db, const char *sql, long long *ret, char *err,
                   size_t err_size)
{
        char conninfo[4096 + 64];
        PGconn *c;
        PGresult *res;
        int e = 0;

        snprintf(conninfo, sizeof(conninfo), "host=%s user=postgres dbname=%s", host,
                 db ? db : "postgres");
        c = PQconnectdb(conninfo);
        if (PQstatus(c) != CONNECTION_OK) {
                snprintf(err, err_size, "%s", PQerrorMessage(c));
                PQfinish(c);
                return -EIO;
        }
        res = PQexec(c, sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
                snprintf(err, err_size, "%s: %s", sql, PQerrorMessage(c));
                e = -EIO;
        } else if (ret)
                *ret = PQntuples(res) > 0 ? atoll(PQgetvalue(res, 0, 0)) : 0;
        PQclear(res);
        PQfinish(c);
        return e;
}

int bench_pg_lib_version(void)
{
        return PQlibVersion();
}

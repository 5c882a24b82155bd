/* pgtest.c: see pgtest.h. Databases are named after the process and a counter, so tests
 * running in parallel on one server never meet; the superuser "postgres" creates and
 * drops them over the Unix socket (trust authentication of the private server). */
#include "pgtest.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *pgtest_dir(void)
{
        const char *d = getenv("DOORWATCH_TEST_PG");
        return d && *d ? d : NULL;
}

/* The database name of a URI made by pgtest_create_db(). */
static void db_name(const char *uri, char *buf, size_t size)
{
        const char *p = strstr(uri, "@/");
        size_t n;

        buf[0] = 0;
        if (!p)
                return;
        p += 2;
        n = strcspn(p, "?");
        snprintf(buf, size, "%.*s", (int)n, p);
}

int pgtest_admin(const char *uri, const char *sql)
{
        char conninfo[512], name[128] = "postgres";
        PGconn *c;
        PGresult *res;
        int r = 0;

        if (uri && *uri)
                db_name(uri, name, sizeof(name));
        snprintf(conninfo, sizeof(conninfo), "host=%s user=postgres dbname=%s", pgtest_dir(), name);
        c = PQconnectdb(conninfo);
        if (PQstatus(c) != CONNECTION_OK) {
                fprintf(stderr, "pgtest: %s", PQerrorMessage(c));
                PQfinish(c);
                return -1;
        }
        res = PQexec(c, sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
                fprintf(stderr, "pgtest: %s: %s", sql, PQerrorMessage(c));
                r = -1;
        }
        PQclear(res);
        PQfinish(c);
        return r;
}

bool pgtest_first(const char *uri, const char *sql, char *buf, size_t size)
{
        PGconn *c = PQconnectdb(uri);
        PGresult *res;
        bool row = false;

        buf[0] = 0;
        if (PQstatus(c) != CONNECTION_OK) {
                fprintf(stderr, "pgtest: cannot connect to %s: %s", uri, PQerrorMessage(c));
                abort();
        }
        res = PQexec(c, sql);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                fprintf(stderr, "pgtest: query %s: %s", sql, PQerrorMessage(c));
                abort();
        }
        if (PQntuples(res) > 0) {
                row = true;
                if (!PQgetisnull(res, 0, 0)) {
                        const char *v = PQgetvalue(res, 0, 0);
                        if (PQftype(res, 0) == 16 /* BOOLOID */)
                                v = v[0] == 't' ? "1" : "0";
                        snprintf(buf, size, "%s", v);
                }
        }
        PQclear(res);
        PQfinish(c);
        return row;
}

size_t pgtest_each(const char *uri, const char *sql,
                   void (*row)(const char *const *cols, int n, void *userdata), void *userdata)
{
        PGconn *c = PQconnectdb(uri);
        PGresult *res;
        size_t n;

        if (PQstatus(c) != CONNECTION_OK) {
                fprintf(stderr, "pgtest: cannot connect to %s: %s", uri, PQerrorMessage(c));
                abort();
        }
        res = PQexec(c, sql);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                fprintf(stderr, "pgtest: query %s: %s", sql, PQerrorMessage(c));
                abort();
        }
        n = (size_t)PQntuples(res);
        for (size_t i = 0; i < n; i++) {
                const char *cols[32];
                int nc = PQnfields(res) < 32 ? PQnfields(res) : 32;

                for (int j = 0; j < nc; j++) {
                        cols[j] = PQgetisnull(res, (int)i, j) ? NULL : PQgetvalue(res, (int)i, j);
                        if (cols[j] && PQftype(res, j) == 16 /* BOOLOID */)
                                cols[j] = cols[j][0] == 't' ? "1" : "0";
                }
                row(cols, nc, userdata);
        }
        PQclear(res);
        PQfinish(c);
        return n;
}

int pgtest_read_only(const char *uri, bool on)
{
        char name[128], sql[512];

        db_name(uri, name, sizeof(name));
        snprintf(sql, sizeof(sql),
                 "ALTER DATABASE %s %s default_transaction_read_only%s;"
                 "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                 " WHERE datname = '%s' AND pid <> pg_backend_pid()",
                 name, on ? "SET" : "RESET", on ? " = on" : "", name);
        return pgtest_admin("", sql);
}

char *pgtest_create_db(void)
{
        static unsigned counter;
        char sql[256], *uri;

        snprintf(sql, sizeof(sql), "CREATE DATABASE dwt_%ld_%u OWNER doorwatch", (long)getpid(),
                 counter);
        if (pgtest_admin("", sql) < 0)
                abort();
        if (asprintf(&uri, "postgresql://doorwatch@/dwt_%ld_%u?host=%s", (long)getpid(), counter,
                     pgtest_dir()) < 0)
                abort();
        counter++;
        /* The tests' own queries may use SQLite's group_concat() and json_extract() (of a
         * "$.key.key" path); the schema never does. */
        if (pgtest_admin(uri,
                         "CREATE FUNCTION dw_test_gc(a text, v text, sep text) RETURNS text"
                         " LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN v IS NULL THEN a"
                         " WHEN a IS NULL THEN v ELSE a || sep || v END $$;"
                         "CREATE FUNCTION dw_test_gc1(a text, v text) RETURNS text"
                         " LANGUAGE sql IMMUTABLE AS $$ SELECT dw_test_gc(a, v, ',') $$;"
                         "CREATE AGGREGATE group_concat(text, text)"
                         " (sfunc = dw_test_gc, stype = text);"
                         "CREATE AGGREGATE group_concat(text)"
                         " (sfunc = dw_test_gc1, stype = text);"
                         "CREATE FUNCTION json_extract(j text, path text) RETURNS text"
                         " LANGUAGE sql IMMUTABLE AS"
                         " $$ SELECT (j::jsonb) #>> string_to_array(substr(path, 3), '.') $$") < 0)
                abort();
        return uri;
}

void pgtest_drop_db(const char *uri)
{
        char name[128], sql[256];

        db_name(uri, name, sizeof(name));
        if (!name[0])
                return;
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
        pgtest_admin("", sql);
}

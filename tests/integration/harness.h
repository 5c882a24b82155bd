/* harness.h: integration-test helpers. Each test gets a temporary directory with its own
 * mosquitto broker on a free loopback port, a configuration directory, a database and the
 * real doorwatchd binary; an MQTT client records what the daemon publishes. Every wait is
 * a bounded loop on an observable condition, never a fixed sleep.
 *
 * The database is an SQLite file, or, when DOORWATCH_TEST_PG names the socket directory of
 * a private PostgreSQL server (tools/pg-server; the PostgreSQL pass of `make check`), a
 * fresh database of that server, dropped at the end: every test binary runs on either.
 * h_db_*() run their SQL on whichever it is (write it in the SQL both understand; a
 * boolean reads as 1 or 0). */
#pragma once

#include <mosquitto.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct h_msg {
        char *topic;
        char *payload;
        bool retained;
        double at; /* h_now() when it arrived */
};

struct harness {
        char dir[256];
        char confdir[300];
        char dbpath[300]; /* the file, or the postgresql:// URI: the config's "database" */
        int port;
        int http_port; /* doorwatchd's HTTP server (the default config listens on it) */
        pid_t broker_pid;
        pid_t daemon_pid;
        struct mosquitto *client;
        struct h_msg *msgs;
        size_t n_msgs, cap_msgs;
};

/* True in the PostgreSQL pass (the database is a server's). */
bool h_pg(void);

/* The office's API token of the default configuration (conf/api.token): doorwatchctl acts
 * through the HTTP API with it. */
#define H_API_TOKEN "harness-api-token-0123456789abcdef"

/* Creates the temp dir and picks a port. Writes a default configuration (3 households
 * with native devices, teams, observation around now, the API token) unless the test
 * writes its own. */
void h_init(struct harness *h);
void h_cleanup(struct harness *h);

/* Writes dir/name (relative to confdir) with the given contents. */
void h_write_conf(struct harness *h, const char *name, const char *contents);
/* The default doorwatch.json with extra top-level JSON members spliced in ("" for none).
 * Unless extra has its own "http" member, the HTTP server listens on 127.0.0.1:http_port
 * with the API token H_API_TOKEN. */
void h_write_default_config(struct harness *h, const char *doorwatch_extra);

void h_start_broker(struct harness *h);
void h_stop_broker(struct harness *h);
/* Starts doorwatchd and waits until it publishes its retained "online" status. */
void h_start_daemon(struct harness *h);
/* The same with extra environment entries ("NAME=value", NULL-terminated; the value "@PID@"
 * becomes the daemon's pid, for $WATCHDOG_PID) and extra command-line arguments (after
 * "-c DIR -v"); either may be NULL. */
void h_start_daemon_env(struct harness *h, const char *const *env);
void h_start_daemon_with(struct harness *h, const char *const *env, const char *const *args);
/* Sends sig and waits for exit; returns the exit status (or 128+signal). */
int h_stop_daemon(struct harness *h, int sig);
bool h_daemon_alive(struct harness *h);

/* The recording client (connects, subscribes to doorwatch/v1/workers/+/notify, .../result
 * and the daemon status by default). */
void h_connect(struct harness *h);
void h_subscribe(struct harness *h, const char *filter);
void h_publish(struct harness *h, const char *topic, const char *payload, bool retain);
/* Pumps the client until `count` messages whose topic matches the MQTT filter arrived,
 * or timeout_ms passed. Returns the number seen. */
size_t h_wait_messages(struct harness *h, const char *filter, size_t count, int timeout_ms);
size_t h_count_messages(struct harness *h, const char *filter);
const struct h_msg *h_message(struct harness *h, const char *filter, size_t nth);
void h_clear_messages(struct harness *h);
void h_pump(struct harness *h, int ms);

/* Runs a query on the daemon's database (read-only connection) returning the first
 * column of the first row as an integer (or -1 when no row). */
int64_t h_db_int(struct harness *h, const char *sql_fmt, ...);
/* Same, returning text (static buffer, "" when no row / NULL). */
const char *h_db_text(struct harness *h, const char *sql_fmt, ...);
/* Calls row() with every row of sql, its columns as text (NULL for NULL, a boolean as
 * "1" or "0" on either backend). Returns the number of rows. */
size_t h_db_each(struct harness *h, const char *sql,
                 void (*row)(const char *const *cols, int n, void *userdata), void *userdata);
/* Waits until the query returns `want`, bounded. Returns the last value. */
int64_t h_db_wait_int(struct harness *h, int64_t want, int timeout_ms, const char *sql_fmt, ...);

/* Runs a program, returns its exit status; stdout+stderr captured into *out (malloc'd)
 * when out is non-NULL. argv is NULL-terminated. */
int h_run(char **out, const char *const *argv);
const char *h_build_dir(void);
double h_now(void);

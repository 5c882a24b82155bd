/* harness.c: see harness.h. Processes are started with fork/exec and always reaped;
 * the temporary directory is removed unless DOORWATCH_KEEP_TMP is set. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../tools/testbed.h"
#include "../lib/pgtest.h"

#define ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

static void die(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "harness: ");
        vfprintf(stderr, fmt, ap);
        fprintf(stderr, "\n");
        va_end(ap);
        abort();
}

bool h_pg(void)
{
        return pgtest_dir() != NULL;
}

double h_now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double mono(void)
{
        return testbed_mono();
}

const char *h_build_dir(void)
{
        const char *b = getenv("DOORWATCH_BUILD");
        return b && *b ? b : "build";
}

static int free_port(void)
{
        int port = testbed_free_port();

        if (port < 0)
                die("cannot find a free port: %s", strerror(-port));
        return port;
}

void h_write_conf(struct harness *h, const char *name, const char *contents)
{
        char path[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", h->confdir, name);
        f = fopen(path, "w");
        if (!f)
                die("cannot write %s: %s", path, strerror(errno));
        fputs(contents, f);
        fclose(f);
}

static const char *default_workers =
    "[{\"id\": \"w-a-01\", \"name\": \"测试甲\", \"role\": \"community\", \"community\": \"alpha\","
    "  \"phone\": \"+8613800000101\", \"channels\": [\"mqtt\"]},"
    " {\"id\": \"w-a-02\", \"name\": \"测试乙\", \"role\": \"medical\", \"community\": \"alpha\","
    "  \"phone\": \"+8613800000102\", \"channels\": [\"mqtt\"]},"
    " {\"id\": \"w-a-03\", \"name\": \"测试丙\", \"role\": \"police\", \"community\": \"alpha\","
    "  \"phone\": \"+8613800000103\", \"channels\": [\"mqtt\"]},"
    " {\"id\": \"w-a-00\", \"name\": \"测试丁\", \"role\": \"staff\", \"community\": \"alpha\","
    "  \"phone\": \"+8613800000100\", \"channels\": [\"mqtt\"]},"
    " {\"id\": \"w-a-09\", \"name\": \"测试戊\", \"role\": \"installer\", \"community\": \"alpha\","
    "  \"phone\": \"+8613800000109\", \"channels\": [\"mqtt\"]},"
    " {\"id\": \"w-cmd\", \"name\": \"指挥中心\", \"role\": \"staff\","
    "  \"phone\": \"+8613800000199\", \"channels\": [\"mqtt\"]}]";

static const char *default_households =
    "[{\"id\": \"H-1\", \"community\": \"alpha\", \"address\": \"测试路 1号 101\","
    "  \"observation\": {\"start\": \"2020-01-01T00:00:00+08:00\", \"end\": "
    "\"2099-01-01T00:00:00+08:00\"},"
    "  \"team\": {\"community\": \"w-a-01\", \"medical\": \"w-a-02\", \"police\": \"w-a-03\"},"
    "  \"devices\": [{\"id\": \"d-1-door\", \"kind\": \"door_contact\", \"source\": \"native\"},"
    "               {\"id\": \"d-1-bell\", \"kind\": \"doorbell\", \"source\": \"native\"}]},"
    " {\"id\": \"H-2\", \"community\": \"alpha\", \"address\": \"测试路 2号 202\","
    "  \"observation\": {\"start\": \"2020-01-01T00:00:00+08:00\", \"end\": "
    "\"2099-01-01T00:00:00+08:00\"},"
    "  \"team\": {\"community\": \"w-a-01\", \"medical\": \"w-a-02\", \"police\": \"w-a-03\"},"
    "  \"devices\": [{\"id\": \"d-2-door\", \"kind\": \"door_contact\", \"source\": \"native\"}]},"
    " {\"id\": \"H-3\", \"community\": \"alpha\", \"address\": \"测试路 3号 303\","
    "  \"observation\": {\"start\": \"2020-01-01T00:00:00+08:00\", \"end\": "
    "\"2020-01-15T00:00:00+08:00\"},"
    "  \"team\": {\"community\": \"w-a-01\", \"medical\": \"w-a-02\", \"police\": \"w-a-03\"},"
    "  \"devices\": [{\"id\": \"d-3-door\", \"kind\": \"door_contact\", \"source\": \"native\"}]}]";

static const char *default_rosters =
    "{\"communities\": {\"alpha\": {\"leader\": \"w-a-00\", \"shifts\": [], \"overrides\": []}},"
    " \"command\": [\"w-cmd\"], \"admins\": [\"w-cmd\"]}";

void h_write_default_config(struct harness *h, const char *extra)
{
        char buf[8192], http[160] = "";

        /* Never the default port 8088: tests run in parallel with other checkouts. */
        if (!extra || !strstr(extra, "\"http\""))
                snprintf(
                    http, sizeof(http),
                    ",\n \"http\": {\"listen\": \"127.0.0.1:%d\", \"token_file\": \"api.token\"}",
                    h->http_port);
        snprintf(
            buf, sizeof(buf),
            "{\"timezone\": \"Asia/Shanghai\", \"database\": \"%s\",\n"
            " \"mqtt\": {\"host\": \"127.0.0.1\", \"port\": %d, \"client_id\": \"doorwatchd-test\","
            " \"keepalive\": \"5s\"},\n"
            " \"notifiers\": {\"mqtt\": {\"type\": \"mqtt\"}}%s%s%s}\n",
            h->dbpath, h->port, http, extra && *extra ? ",\n " : "", extra ? extra : "");
        h_write_conf(h, "doorwatch.json", buf);
}

void h_init(struct harness *h)
{
        memset(h, 0, sizeof(*h));
        const char *tmp = getenv("TMPDIR");
        snprintf(h->dir, sizeof(h->dir), "%s/doorwatch-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(h->dir))
                die("mkdtemp: %s", strerror(errno));
        snprintf(h->confdir, sizeof(h->confdir), "%s/conf", h->dir);
        if (h_pg()) {
                char *uri = pgtest_create_db();
                snprintf(h->dbpath, sizeof(h->dbpath), "%s", uri);
                free(uri);
        } else
                snprintf(h->dbpath, sizeof(h->dbpath), "%s/state/doorwatch.db", h->dir);
        mkdir(h->confdir, 0700);
        h->port = free_port();
        do
                h->http_port = free_port();
        while (h->http_port == h->port);
        h_write_conf(h, "workers.json", default_workers);
        h_write_conf(h, "households.json", default_households);
        h_write_conf(h, "rosters.json", default_rosters);
        h_write_conf(h, "api.token", H_API_TOKEN "\n");
        h_write_default_config(h, "");
}

void h_start_broker(struct harness *h)
{
        struct testbed_broker b = {
                .mosquitto = "/usr/sbin/mosquitto",
                .dir = h->dir,
                .port = h->port,
                .persistent = true, /* the restart tests rely on it */
                .max_queued = 100000,
                .verbose = true,
        };
        int e = testbed_broker_start(&b);

        h->broker_pid = b.pid;
        if (e < 0)
                die("mosquitto did not start on port %d: %s (see %s/mosquitto.out)", h->port,
                    strerror(-e), h->dir);
}

void h_stop_broker(struct harness *h)
{
        testbed_stop(&h->broker_pid, SIGTERM);
}

bool h_daemon_alive(struct harness *h)
{
        return testbed_alive(h->daemon_pid);
}

/* testbed_wait(): the daemon published its live (not retained) "online". */
static int daemon_online(void *userdata)
{
        struct harness *h = userdata;

        h_pump(h, 20);
        for (size_t i = 0; i < h->n_msgs; i++)
                if (strstr(h->msgs[i].topic, "/daemon/") &&
                    strcmp(h->msgs[i].payload, "online") == 0 && !h->msgs[i].retained)
                        return 1;
        return 0;
}

void h_start_daemon(struct harness *h)
{
        h_start_daemon_with(h, NULL, NULL);
}

void h_start_daemon_env(struct harness *h, const char *const *env)
{
        h_start_daemon_with(h, env, NULL);
}

void h_start_daemon_with(struct harness *h, const char *const *env, const char *const *args)
{
        char bin[512], log[512];
        char filter[256];
        const char *argv[32] = { NULL };
        size_t n = 0;
        int e;

        snprintf(bin, sizeof(bin), "%s/doorwatchd", h_build_dir());
        snprintf(log, sizeof(log), "%s/doorwatchd.log", h->dir);
        if (!h->client)
                h_connect(h);
        snprintf(filter, sizeof(filter), "doorwatch/v1/daemon/+/status");
        h_clear_messages(h);
        /* DOORWATCH_VALGRIND=1 runs the daemon under valgrind (errors make it exit 99). */
        if (getenv("DOORWATCH_VALGRIND")) {
                argv[n++] = "/usr/bin/valgrind";
                argv[n++] = "-q";
                argv[n++] = "--leak-check=full";
                argv[n++] = "--error-exitcode=99";
        }
        argv[n++] = bin;
        argv[n++] = "-c";
        argv[n++] = h->confdir;
        argv[n++] = "-v";
        for (size_t i = 0; args && args[i] && n < ELEMENTS(argv) - 1; i++)
                argv[n++] = args[i];
        h->daemon_pid = testbed_spawn(argv, log, env);
        if (h->daemon_pid < 0)
                die("cannot start %s: %s", bin, strerror((int)-h->daemon_pid));
        e = testbed_wait(h->daemon_pid, getenv("DOORWATCH_VALGRIND") ? 60 : 15, daemon_online, h);
        if (e == -ECHILD) {
                h->daemon_pid = 0;
                die("doorwatchd exited during start (see %s)", log);
        }
        if (e < 0)
                die("doorwatchd did not come online (see %s)", log);
}

/* Under DOORWATCH_VALGRIND, valgrind's exit code 99 (memcheck found errors) fails the test,
 * with valgrind's report from the daemon's log. */
int h_stop_daemon(struct harness *h, int sig)
{
        int status = testbed_stop(&h->daemon_pid, sig);

        if (status == 99 && getenv("DOORWATCH_VALGRIND")) {
                char log[512], line[1024];
                FILE *f;

                snprintf(log, sizeof(log), "%s/doorwatchd.log", h->dir);
                f = fopen(log, "r");
                while (f && fgets(line, sizeof(line), f))
                        if (line[0] == '=' && line[1] == '=')
                                fputs(line, stderr);
                if (f)
                        fclose(f);
                die("valgrind found errors in doorwatchd (see %s)", log);
        }
        return status;
}

static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
        struct harness *h = ud;
        if (h->n_msgs == h->cap_msgs) {
                h->cap_msgs = h->cap_msgs ? h->cap_msgs * 2 : 64;
                h->msgs = realloc(h->msgs, h->cap_msgs * sizeof(*h->msgs));
                if (!h->msgs)
                        abort();
        }
        h->msgs[h->n_msgs++] = (struct h_msg){
                .topic = strdup(msg->topic),
                .payload = strndup(msg->payload ? msg->payload : "", (size_t)msg->payloadlen),
                .retained = msg->retain,
                .at = h_now(),
        };
}

void h_connect(struct harness *h)
{
        mosquitto_lib_init();
        h->client = mosquitto_new(NULL, true, h);
        if (!h->client)
                die("mosquitto_new");
        mosquitto_message_callback_set(h->client, on_message);
        if (mosquitto_connect(h->client, "127.0.0.1", h->port, 30) != MOSQ_ERR_SUCCESS)
                die("test client cannot connect to port %d", h->port);
        h_subscribe(h, "doorwatch/v1/workers/+/notify");
        h_subscribe(h, "doorwatch/v1/workers/+/result");
        h_subscribe(h, "doorwatch/v1/daemon/+/status");
}

void h_subscribe(struct harness *h, const char *filter)
{
        mosquitto_subscribe(h->client, NULL, filter, 1);
        h_pump(h, 30);
}

void h_pump(struct harness *h, int ms)
{
        double end = mono() + ms / 1000.0;
        do {
                int rc = mosquitto_loop(h->client, 10, 1);
                if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST) {
                        if (mosquitto_reconnect(h->client) == MOSQ_ERR_SUCCESS) {
                                /* clean session: subscriptions must be made again */
                                mosquitto_subscribe(h->client, NULL,
                                                    "doorwatch/v1/workers/+/notify", 1);
                                mosquitto_subscribe(h->client, NULL,
                                                    "doorwatch/v1/workers/+/result", 1);
                                mosquitto_subscribe(h->client, NULL, "doorwatch/v1/daemon/+/status",
                                                    1);
                        } else
                                usleep(20000);
                }
        } while (mono() < end);
}

void h_publish(struct harness *h, const char *topic, const char *payload, bool retain)
{
        int rc =
            mosquitto_publish(h->client, NULL, topic, (int)strlen(payload), payload, 1, retain);
        if (rc != MOSQ_ERR_SUCCESS)
                die("publish %s: %s", topic, mosquitto_strerror(rc));
        h_pump(h, 5);
}

static bool matches(const char *filter, const char *topic)
{
        bool r = false;
        mosquitto_topic_matches_sub(filter, topic, &r);
        return r;
}

size_t h_count_messages(struct harness *h, const char *filter)
{
        size_t n = 0;
        for (size_t i = 0; i < h->n_msgs; i++)
                n += matches(filter, h->msgs[i].topic);
        return n;
}

const struct h_msg *h_message(struct harness *h, const char *filter, size_t nth)
{
        for (size_t i = 0; i < h->n_msgs; i++)
                if (matches(filter, h->msgs[i].topic) && nth-- == 0)
                        return &h->msgs[i];
        return NULL;
}

size_t h_wait_messages(struct harness *h, const char *filter, size_t count, int timeout_ms)
{
        double end = mono() + timeout_ms / 1000.0;
        size_t n;
        while ((n = h_count_messages(h, filter)) < count && mono() < end)
                h_pump(h, 10);
        return n;
}

void h_clear_messages(struct harness *h)
{
        for (size_t i = 0; i < h->n_msgs; i++) {
                free(h->msgs[i].topic);
                free(h->msgs[i].payload);
        }
        h->n_msgs = 0;
}

static sqlite3_stmt *db_query(struct harness *h, sqlite3 **db, const char *sql)
{
        sqlite3_stmt *st = NULL;

        if (sqlite3_open_v2(h->dbpath, db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
                die("cannot open %s", h->dbpath);
        sqlite3_busy_timeout(*db, 2000);
        if (sqlite3_prepare_v2(*db, sql, -1, &st, NULL) != SQLITE_OK)
                die("query %s: %s", sql, sqlite3_errmsg(*db));
        return st;
}

/* The first column of the first row of sql as text into buf ("" for NULL); false when
 * there is no row. A PostgreSQL boolean reads as "1" or "0", as SQLite's would. */
static bool db_first(struct harness *h, const char *sql, char *buf, size_t size)
{
        bool row = false;

        buf[0] = 0;
        if (h_pg()) {
                row = pgtest_first(h->dbpath, sql, buf, size);
        } else {
                sqlite3 *db;
                sqlite3_stmt *st = db_query(h, &db, sql);
                if (sqlite3_step(st) == SQLITE_ROW) {
                        row = true;
                        if (sqlite3_column_text(st, 0))
                                snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
                }
                sqlite3_finalize(st);
                sqlite3_close(db);
        }
        return row;
}

size_t h_db_each(struct harness *h, const char *sql,
                 void (*row)(const char *const *cols, int n, void *userdata), void *userdata)
{
        sqlite3 *db;
        sqlite3_stmt *st;
        size_t n = 0;

        if (h_pg())
                return pgtest_each(h->dbpath, sql, row, userdata);
        st = db_query(h, &db, sql);
        while (sqlite3_step(st) == SQLITE_ROW) {
                const char *cols[32];
                int nc = sqlite3_column_count(st) < 32 ? sqlite3_column_count(st) : 32;

                for (int j = 0; j < nc; j++)
                        cols[j] = (const char *)sqlite3_column_text(st, j);
                row(cols, nc, userdata);
                n++;
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
        return n;
}

static int64_t db_int_v(struct harness *h, const char *fmt, va_list ap)
{
        char *sql = sqlite3_vmprintf(fmt, ap), buf[64];
        int64_t v = -1;

        if (db_first(h, sql, buf, sizeof(buf)))
                v = strtoll(buf, NULL, 10);
        sqlite3_free(sql);
        return v;
}

int64_t h_db_int(struct harness *h, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int64_t v = db_int_v(h, fmt, ap);
        va_end(ap);
        return v;
}

const char *h_db_text(struct harness *h, const char *fmt, ...)
{
        static char buf[4096];
        va_list ap;
        char *sql;

        va_start(ap, fmt);
        sql = sqlite3_vmprintf(fmt, ap);
        va_end(ap);
        db_first(h, sql, buf, sizeof(buf));
        sqlite3_free(sql);
        return buf;
}

int64_t h_db_wait_int(struct harness *h, int64_t want, int timeout_ms, const char *fmt, ...)
{
        double end = mono() + timeout_ms / 1000.0;
        int64_t v;
        do {
                va_list ap;
                va_start(ap, fmt);
                v = db_int_v(h, fmt, ap);
                va_end(ap);
                if (v == want)
                        break;
                h_pump(h, 10);
        } while (mono() < end);
        return v;
}

int h_run(char **out, const char *const *argv)
{
        int pipefd[2], status;
        pid_t pid;
        size_t len = 0, cap = 4096;
        char *buf = malloc(cap);

        if (!buf || pipe(pipefd) < 0)
                die("pipe");
        pid = fork();
        if (pid == 0) {
                dup2(pipefd[1], 1);
                dup2(pipefd[1], 2);
                close(pipefd[0]);
                execv(argv[0], (char *const *)argv);
                _exit(127);
        }
        close(pipefd[1]);
        for (;;) {
                if (len + 1024 > cap) {
                        cap *= 2;
                        buf = realloc(buf, cap);
                        if (!buf)
                                abort();
                }
                ssize_t k = read(pipefd[0], buf + len, cap - len - 1);
                if (k <= 0)
                        break;
                len += (size_t)k;
        }
        buf[len] = 0;
        close(pipefd[0]);
        waitpid(pid, &status, 0);
        if (out)
                *out = buf;
        else
                free(buf);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void h_cleanup(struct harness *h)
{
        /* Under valgrind a clean stop, so that memcheck reports (leaks included). */
        if (h->daemon_pid > 0)
                h_stop_daemon(h, getenv("DOORWATCH_VALGRIND") ? SIGTERM : SIGKILL);
        if (h->client) {
                mosquitto_disconnect(h->client);
                mosquitto_destroy(h->client);
                h->client = NULL;
        }
        h_stop_broker(h);
        h_clear_messages(h);
        free(h->msgs);
        h->msgs = NULL;
        if (h_pg() && !getenv("DOORWATCH_KEEP_TMP"))
                pgtest_drop_db(h->dbpath);
        if (!getenv("DOORWATCH_KEEP_TMP"))
                testbed_rm_rf(h->dir);
        else
                fprintf(stderr, "harness: kept %s\n", h->dir);
}

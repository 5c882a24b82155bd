/* test-mqtt-errors.c: why the daemon cannot reach its broker is in its own log, once, at
 * warning level: a refused login (wrong password), TLS with an unknown CA, a certificate
 * that names another host, a client certificate the broker requires and the daemon lacks.
 * Each cause is one line however often the daemon retries (later attempts are summed up
 * every ten); doorwatchctl names a refused login too. The broker here is configured by the
 * test (password file, TLS listener); the
 * certificates are made with openssl at the start. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"

struct t {
        struct harness h;
        pid_t broker, daemon;
};

static int setup(void **state)
{
        struct t *t = calloc(1, sizeof(*t));
        h_init(&t->h);
        *state = t;
        return 0;
}

static int teardown(void **state)
{
        struct t *t = *state;

        if (t->daemon > 0) {
                kill(t->daemon, SIGKILL);
                waitpid(t->daemon, NULL, 0);
        }
        if (t->broker > 0) {
                kill(t->broker, SIGTERM);
                waitpid(t->broker, NULL, 0);
        }
        h_cleanup(&t->h);
        free(t);
        return 0;
}

static void sh(struct t *t, const char *fmt, ...)
{
        char cmd[2048], full[2400];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        snprintf(full, sizeof(full), "cd %s && (%s) >>setup.log 2>&1", t->h.dir, cmd);
        if (system(full) != 0)
                fail_msg("setup failed: %s (see %s/setup.log)", cmd, t->h.dir);
}

static pid_t spawn_log(const char *const *argv, const char *log)
{
        pid_t pid = fork();

        if (pid == 0) {
                FILE *f = freopen(log, "a", stdout);
                if (!f || dup2(fileno(stdout), 2) < 0)
                        _exit(127);
                execv(argv[0], (char *const *)argv);
                _exit(127);
        }
        return pid;
}

/* The broker with `listener` lines of the test's own. */
static void start_broker(struct t *t, const char *extra)
{
        char conf[512], log[512];

        snprintf(conf, sizeof(conf), "%s/broker.conf", t->h.dir);
        snprintf(log, sizeof(log), "%s/broker.log", t->h.dir);
        FILE *f = fopen(conf, "w");
        assert_non_null(f);
        fprintf(f, "listener %d 127.0.0.1\nuser %s\n%s\n", t->h.port, getenv("USER") ?: "root",
                extra);
        fclose(f);
        const char *argv[] = { "/usr/sbin/mosquitto", "-c", conf, NULL };
        t->broker = spawn_log(argv, log);
        usleep(300000);
}

static void start_daemon(struct t *t, const char *mqtt)
{
        char conf[1024], bin[512], log[512];

        snprintf(
            conf, sizeof(conf),
            "{\"timezone\": \"Asia/Shanghai\", \"database\": \"%s\", \"http\": null,\n"
            " \"mqtt\": {\"host\": \"127.0.0.1\", \"port\": %d, \"client_id\": \"dw-err\", %s},\n"
            " \"notifiers\": {\"mqtt\": {\"type\": \"mqtt\"}}}\n",
            t->h.dbpath, t->h.port, mqtt);
        h_write_conf(&t->h, "doorwatch.json", conf);
        snprintf(bin, sizeof(bin), "%s/doorwatchd", h_build_dir());
        snprintf(log, sizeof(log), "%s/doorwatchd.log", t->h.dir);
        const char *argv[] = { bin, "-c", t->h.confdir, NULL };
        t->daemon = spawn_log(argv, log);
}

/* Lines of the daemon's log containing text (and the first of them in *first). */
static size_t lines_with(struct t *t, const char *text, char *first, size_t size)
{
        char path[512], line[2048];
        size_t n = 0;
        FILE *f;

        snprintf(path, sizeof(path), "%s/doorwatchd.log", t->h.dir);
        f = fopen(path, "r");
        while (f && fgets(line, sizeof(line), f))
                if (strstr(line, text) && n++ == 0 && first)
                        snprintf(first, size, "%s", line);
        if (f)
                fclose(f);
        return n;
}

/* Several retries (backoff 0.5, 1, 2 s...), then the log says the cause once. */
static void expect_once(struct t *t, const char *text)
{
        char first[2048] = "";

        for (int i = 0; i < 70 && lines_with(t, "cannot connect", NULL, 0) == 0; i++)
                usleep(100000);
        usleep(4000000);
        assert_true(waitpid(t->daemon, NULL, WNOHANG) == 0); /* it keeps trying */
        assert_int_equal(lines_with(t, text, first, sizeof(first)), 1);
        printf("# %s", first);
        assert_true(strncmp(first, "<4>", 3) == 0); /* warning */
        assert_int_equal(lines_with(t, "cannot connect", NULL, 0), 1);
}

static void test_login_refused(void **state)
{
        struct t *t = *state;
        char extra[512];

        sh(t, "mosquitto_passwd -c -b passwd doorwatchd right-password");
        snprintf(extra, sizeof(extra), "allow_anonymous false\npassword_file %s/passwd", t->h.dir);
        start_broker(t, extra);
        sh(t, "mkdir -p conf/secrets");
        h_write_conf(&t->h, "secrets/mqtt.pass", "wrong-password\n");
        start_daemon(t, "\"username\": \"doorwatchd\", \"password_file\": \"secrets/mqtt.pass\"");
        expect_once(t, "the broker refused the login");

        /* doorwatchctl says the same, not that nobody answered. */
        char bin[512], *out = NULL;
        snprintf(bin, sizeof(bin), "%s/doorwatchctl", h_build_dir());
        const char *argv[] = { bin, "-c", t->h.confdir, "notify", "test", "w-a-01", NULL };
        assert_int_not_equal(h_run(&out, argv), 0);
        printf("# doorwatchctl: %s", out);
        assert_non_null(strstr(out, "refused the login"));
        free(out);
}

/* A CA, a server certificate for host (signed by it), and a second CA that signed nothing
 * of the broker's. */
static void make_certs(struct t *t, const char *host)
{
        sh(t, "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=ca1 -keyout ca1.key "
              "-out ca1.pem");
        sh(t, "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=ca2 -keyout ca2.key "
              "-out ca2.pem");
        sh(t, "openssl req -newkey rsa:2048 -nodes -subj /CN=%s -keyout srv.key -out srv.csr",
           host);
        sh(t,
           "printf 'subjectAltName=%s:%s\\n' > san.ext && openssl x509 -req -in srv.csr -CA "
           "ca1.pem -CAkey ca1.key -CAcreateserial -days 2 -extfile san.ext -out srv.pem",
           strcmp(host, "127.0.0.1") == 0 ? "IP" : "DNS", host);
        sh(t, "chmod 0644 *.key *.pem");
}

static void tls_broker(struct t *t, const char *more)
{
        char extra[1024];

        snprintf(extra, sizeof(extra),
                 "allow_anonymous true\ncafile %s/ca1.pem\ncertfile %s/srv.pem\nkeyfile "
                 "%s/srv.key\n%s",
                 t->h.dir, t->h.dir, t->h.dir, more);
        start_broker(t, extra);
}

static void test_tls_unknown_ca(void **state)
{
        struct t *t = *state;
        char mqtt[512];

        make_certs(t, "127.0.0.1");
        tls_broker(t, "");
        snprintf(mqtt, sizeof(mqtt), "\"tls\": {\"ca_file\": \"%s/ca2.pem\"}", t->h.dir);
        start_daemon(t, mqtt);
        expect_once(t, "certificate verify failed");
}

static void test_tls_wrong_host(void **state)
{
        struct t *t = *state;
        char mqtt[512];

        make_certs(t, "broker.example");
        tls_broker(t, "");
        snprintf(mqtt, sizeof(mqtt), "\"tls\": {\"ca_file\": \"%s/ca1.pem\"}", t->h.dir);
        start_daemon(t, mqtt);
        expect_once(t, "does not name the host 127.0.0.1");
}

static void test_tls_client_certificate_missing(void **state)
{
        struct t *t = *state;
        char mqtt[512];

        make_certs(t, "127.0.0.1");
        tls_broker(t, "require_certificate true");
        snprintf(mqtt, sizeof(mqtt), "\"tls\": {\"ca_file\": \"%s/ca1.pem\"}", t->h.dir);
        start_daemon(t, mqtt);
        expect_once(t, "cannot connect");
        char first[2048] = "";
        lines_with(t, "cannot connect", first, sizeof(first));
        assert_non_null(strstr(first, "TLS"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_login_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_tls_unknown_ca, setup, teardown),
                cmocka_unit_test_setup_teardown(test_tls_wrong_host, setup, teardown),
                cmocka_unit_test_setup_teardown(test_tls_client_certificate_missing, setup,
                                                teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

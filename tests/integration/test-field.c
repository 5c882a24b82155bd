/* test-field.c: the field against the real daemon and broker (issue 18): the command line
 * says plainly what it does not know and reads the database through a broken registry;
 * medical rounds and readings (MQTT, the operator API, doorwatchctl), fevers and missed
 * rounds; a worker's own page; a pass_overdue resolved by the return; retention of
 * households removed from the configuration. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"

#define NOTIFY "doorwatch/v1/workers/+/notify"

static int setup(void **state)
{
        struct harness *h = calloc(1, sizeof(*h));

        h_init(h);
        *state = h;
        return 0;
}

static int teardown(void **state)
{
        struct harness *h = *state;
        h_cleanup(h);
        free(h);
        return 0;
}

/* Runs a program of the build (doorwatchctl, doorwatch-sim) with args; doorwatchctl gets
 * "-c CONFDIR" first. */
static int run_tool(struct harness *h, const char *tool, char **out, const char *const *args)
{
        char bin[256];
        const char *argv[32] = { bin };
        size_t n = 1;

        snprintf(bin, sizeof(bin), "%s/%s", h_build_dir(), tool);
        if (strcmp(tool, "doorwatchctl") == 0) {
                argv[n++] = "-c";
                argv[n++] = h->confdir;
        }
        for (size_t i = 0; args[i] && n < 31; i++)
                argv[n++] = args[i];
        argv[n] = NULL;
        return h_run(out, argv);
}

static int run_ctl(struct harness *h, char **out, const char *const *args)
{
        return run_tool(h, "doorwatchctl", out, args);
}

static size_t count_lines(const char *s)
{
        size_t n = 0;
        for (; *s; s++)
                n += *s == '\n';
        return n;
}

static size_t count_str(const char *s, const char *what)
{
        size_t n = 0;
        for (const char *p = strstr(s, what); p; p = strstr(p + 1, what))
                n++;
        return n;
}

/* ---- the command line ---- */

/* An unknown command is one line; --help lists every command once and exits 0; the
 * simulator knows --help; read-only queries go on through a broken registry. */
static void test_cli_says_what_it_does_not_know(void **state)
{
        struct harness *h = *state;
        char *out = NULL, payload[256];

        const char *frob[] = { "frob", "x", NULL };
        assert_int_equal(run_ctl(h, &out, frob), 2);
        assert_string_equal(out, "doorwatchctl: unknown command \"frob\" (doorwatchctl --help)\n");
        free(out);
        const char *alerts_frob[] = { "alerts", "frob", NULL };
        assert_int_equal(run_ctl(h, &out, alerts_frob), 2);
        assert_non_null(strstr(out, "unknown command \"alerts frob\""));
        assert_int_equal(count_lines(out), 1);
        free(out);
        const char *help[] = { "--help", NULL };
        assert_int_equal(run_ctl(h, &out, help), 0);
        assert_int_equal(count_str(out, "  events --household"), 1);
        free(out);
        assert_int_equal(run_tool(h, "doorwatch-sim", &out, help), 0);
        assert_non_null(strstr(out, "Usage: doorwatch-sim"));
        assert_null(strstr(out, "invalid option"));
        free(out);

        /* A database with an alert in it. */
        h_start_broker(h);
        h_start_daemon(h);
        h_connect(h);
        snprintf(payload, sizeof(payload),
                 "{\"id\": \"e-cli\", \"ts\": %.3f, \"type\": \"door\", \"state\": \"open\"}",
                 h_now());
        h_publish(h, "doorwatch/v1/devices/d-1-door/events", payload, false);
        assert_int_equal(h_db_wait_int(h, 1, 5000, "SELECT count(*) FROM alert"), 1);

        /* The registry breaks (an unknown key): queries of the database go on, with the
         * errors as warnings; roster answers and actions, which need it, do not. */
        h_write_conf(h, "rosters.json", "{\"communities\": {}, \"commandx\": []}");
        const char *list[] = { "alerts", "list", NULL };
        assert_int_equal(run_ctl(h, &out, list), 0);
        assert_non_null(strstr(out, "warning: rosters.json: commandx: unknown key"));
        assert_non_null(strstr(out, "door_open_unexpected"));
        assert_null(strstr(out, "<3>"));
        free(out);
        const char *events[] = { "events", "--household", "H-1", NULL };
        assert_int_equal(run_ctl(h, &out, events), 0);
        assert_non_null(strstr(out, "door open"));
        free(out);
        const char *checkin[] = { "checkin", "--household", "H-1", "--worker", "w-a-01", NULL };
        assert_int_equal(run_ctl(h, &out, checkin), 1);
        assert_non_null(strstr(out, "is invalid"));
        free(out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_cli_says_what_it_does_not_know, setup,
                                                teardown),
        };
        curl_global_init(CURL_GLOBAL_DEFAULT);
        return cmocka_run_group_tests(tests, NULL, NULL);
}

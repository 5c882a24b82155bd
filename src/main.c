/* main.c: doorwatchd's command line. Everything else lives in the library so tests
 * link it. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "notify/notify.h"
#include "roster.h"
#include "util.h"

static void usage(FILE *f)
{
        fprintf(f, "Usage: doorwatchd [-c DIR] [--check-config] [-v|--log-level LEVEL]\n"
                   "  -c, --config DIR       configuration directory (default /etc/doorwatch)\n"
                   "      --check-config     validate the configuration and exit 0/1\n"
                   "  -v, --verbose          debug logging\n"
                   "      --log-level LEVEL  err, warning, notice, info (default), debug\n");
}

static void print_diag(const struct config_diag *diag)
{
        for (size_t i = 0; i < diag->n_errors; i++)
                fprintf(stderr, "error: %s\n", diag->errors[i]);
        for (size_t i = 0; i < diag->n_warnings; i++)
                fprintf(stderr, "warning: %s\n", diag->warnings[i]);
}

int main(int argc, char **argv)
{
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "check-config", no_argument, NULL, 'C' },
                { "verbose", no_argument, NULL, 'v' },
                { "log-level", required_argument, NULL, 'L' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *dir = "/etc/doorwatch";
        bool check = false;
        int level = LOG_INFO, c, r;
        struct config *cfg = NULL;
        struct config_diag diag = { 0 };
        struct daemon *d = NULL;
        sigset_t mask;

        /* Block the signals sd-event handles before any thread (libcurl's resolver) exists. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);

        while ((c = getopt_long(argc, argv, "c:vh", options, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        dir = optarg;
                        break;
                case 'C':
                        check = true;
                        break;
                case 'v':
                        level = LOG_DEBUG;
                        break;
                case 'L':
                        level = log_parse_level(optarg);
                        if (level < 0) {
                                fprintf(stderr, "doorwatchd: unknown log level \"%s\"\n", optarg);
                                return 2;
                        }
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind < argc) {
                usage(stderr);
                return 2;
        }
        log_open(level, check);

        r = config_load(dir, &cfg, &diag);
        if (r >= 0) {
                timezone_set(cfg->timezone);
                config_check_devices(cfg, now_realtime_usec(), &diag);
        }
        if (r >= 0 && check)
                /* Every secret and TLS file, read as the daemon would (systemd credentials
                 * first): the unit runs this as ExecStartPre=, under the daemon's user. */
                r = daemon_check_files(cfg, &diag);
        print_diag(&diag);
        config_diag_done(&diag);
        if (r < 0) {
                config_free(cfg);
                fprintf(stderr, "doorwatchd: configuration in %s is invalid\n", dir);
                if (!check)
                        sd_notifyf(0, "STATUS=configuration in %s is invalid\nERRNO=%d", dir, -r);
                return 1;
        }
        /* Valid, but watching nobody now: say so at once (the example's dates, an office
         * that forgot to extend its observations). */
        timezone_set(cfg->timezone);
        if (config_check_observed(cfg, now_realtime_usec(), &diag) == 0)
                print_diag(&diag);
        config_diag_done(&diag);
        if (check) {
                /* Coverage holes are warnings: an alert then falls to the leader. */
                if (roster_check_gaps(cfg, now_realtime_usec(), ROSTER_CHECK_DAYS, &diag) > 0)
                        print_diag(&diag);
                config_diag_done(&diag);
                printf("%s: configuration OK: %zu households, %zu devices, %zu workers, "
                       "%zu communities\n",
                       dir, cfg->n_households, cfg->n_devices, cfg->n_workers, cfg->n_communities);
                config_free(cfg);
                return 0;
        }
        r = daemon_new(cfg, &d);
        if (r < 0) {
                log_err_errno(r, "doorwatchd: cannot start");
                sd_notifyf(0, "STATUS=cannot start: %s\nERRNO=%d", strerror(-r), -r);
                return 1;
        }
        r = daemon_run(d);
        daemon_free(d);
        if (r < 0) {
                log_err_errno(r, "doorwatchd: event loop failed");
                return 1;
        }
        return 0;
}

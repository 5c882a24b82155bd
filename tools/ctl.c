/* ctl.c: what doorwatchctl's command files share: the usage text, loading the configuration
 * (strictly for actions, leniently for read-only queries) and opening the database. */
#include <errno.h>
#include <stdio.h>

#include "config.h"
#include "ctl.h"
#include "secret.h"
#include "store.h"
#include "util.h"

int usage_to(FILE *f, int status)
{
        fprintf(
            f,
            "Usage: doorwatchctl [-c DIR] [--json] COMMAND ...\n"
            "  roster who --household H [--at TIME]       who is on duty, and why\n"
            "  roster gaps --community C [--days N] [--from TIME]\n"
            "                                             hours with nobody on duty (exit 1)\n"
            "  alerts list [--open|--unresolved|--state S] [--community C] [--kind K]\n"
            "              [--date D]                     alerts, newest first (open: not yet\n"
            "                                             acknowledged; unresolved: open or "
            "acked)\n"
            "  alerts ack ID --worker W                   acknowledge as worker W\n"
            "  alerts resolve ID --worker W --note TEXT   resolve with a note\n"
            "  events --household H [--since TIME]        the household's timeline: events with\n"
            "                                             verdict and reason, commands, alerts\n"
            "  checkin --household H --worker W           worker W is at the door\n"
            "  reading --household H --worker W --temperature C [--symptoms A,B] [--note TEXT]\n"
            "                                             a medical round's reading\n"
            "  pass add --household H --worker W --from TIME --to TIME --reason TEXT\n"
            "                                             record an approved outing\n"
            "  pass list [--household H] [--all]          current and future passes (--all: "
            "every)\n"
            "  notify list [--dead|--pending]             the outbox, newest first\n"
            "  notify test WORKER|NOTIFIER [--worker W]   send a test message through the real\n"
            "                                             channel(s), print the far end's "
            "answer\n"
            "  backup FILE                                consistent copy of the live database\n"
            "  device verify ID [--timeout 120s]          watch the device live: PASS on an\n"
            "                                             open and close (ring, person), or why "
            "not\n"
            "  device discover [--seconds 30]             devices on the broker not in the "
            "registry\n"
            "  qr HOUSEHOLD [--png FILE] [--revoke]       resident report link, QR code\n"
            "  worker link WORKER [--png FILE] [--revoke] the worker's own page: link, QR code\n"
            "  import households|workers|shifts FILE.csv [--dry-run] [--end-missing]\n"
            "                                             a spreadsheet into the registry\n"
            "  export households|workers|shifts [-o FILE] the registry as a spreadsheet\n"
            "  report daily [--date D] [--community C] [--format text|csv|html] [-o FILE]\n"
            "                                             the office's daily report\n");
        return status;
}

int usage(void)
{
        return usage_to(stderr, EXIT_USAGE);
}

int load_config(struct ctl *ctl)
{
        struct config_diag diag = { 0 };
        int r;

        if (ctl->config)
                return 0; /* loaded already */
        r = config_load(ctl->config_dir, &ctl->config, &diag);

        for (size_t i = 0; i < diag.n_errors; i++)
                fprintf(stderr, "error: %s\n", diag.errors[i]);
        config_diag_done(&diag);
        if (r < 0) {
                fprintf(stderr, "doorwatchctl: configuration in %s is invalid\n", ctl->config_dir);
                return -EINVAL;
        }
        timezone_set(ctl->config->timezone);
        return 0;
}

/* For read-only queries of the database: a configuration with errors is reported as
 * warnings, and the query goes on with doorwatch.json alone (the database it names). */
int load_config_lenient(struct ctl *ctl)
{
        struct config_diag diag = { 0 };
        int r;

        if (ctl->config)
                return 0;
        r = config_load(ctl->config_dir, &ctl->config, &diag);
        if (r == 0) {
                config_diag_done(&diag);
                timezone_set(ctl->config->timezone);
                return 0;
        }
        for (size_t i = 0; i < diag.n_errors; i++)
                fprintf(stderr, "warning: %s\n", diag.errors[i]);
        config_diag_done(&diag);
        r = config_load_settings(ctl->config_dir, &ctl->config, &diag);
        for (size_t i = 0; r < 0 && i < diag.n_errors; i++)
                fprintf(stderr, "error: %s\n", diag.errors[i]);
        config_diag_done(&diag);
        if (r < 0) {
                fprintf(stderr, "doorwatchctl: configuration in %s is invalid\n", ctl->config_dir);
                return -EINVAL;
        }
        fprintf(stderr,
                "doorwatchctl: warning: the configuration in %s has errors (above); reading the "
                "database with doorwatch.json alone\n",
                ctl->config_dir);
        ctl->partial = true;
        timezone_set(ctl->config->timezone);
        return 0;
}

int open_db(struct ctl *ctl)
{
        _cleanup_secret_ char *password = NULL;
        int r = load_config_lenient(ctl);
        if (r < 0)
                return r;
        r = secret_read(ctl->config, SECRET_DATABASE_PASSWORD, ctl->config->database_password_file,
                        &password);
        if (r >= 0)
                r = store_open_with_password(ctl->config->database, password, false, true,
                                             &ctl->store);
        if (r < 0) {
                _cleanup_free_ char *shown = store_database_shown(ctl->config->database);
                fprintf(stderr, "doorwatchctl: cannot open the database %s\n", shown);
        }
        return r;
}

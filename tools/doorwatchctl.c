/* doorwatchctl: the operators' command line (DESIGN.md §5).
 *
 * Reads the same configuration directory as the daemon to find the database (opened
 * read-only: the daemon is the only writer) and the broker. Actions (ack, resolve, ...)
 * are sent as MQTT commands on the acting worker's topic and the daemon's reply on
 * .../result is awaited, so they are validated and recorded exactly like a worker's.
 * Tables for people by default, --json for scripts. Exit status: 0 success, 1 failed
 * check or refused action, 2 usage error. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <mosquitto.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "store.h"
#include "util.h"

#define EXIT_USAGE 2

struct ctl {
        const char *config_dir;
        bool json;
        struct config *config;
        struct store *store;
};

static int usage(void)
{
        fprintf(
            stderr,
            "Usage: doorwatchctl [-c DIR] [--json] COMMAND ...\n"
            "  alerts list [--open]                       alerts, newest first\n"
            "  alerts ack ID --worker W                   acknowledge as worker W\n"
            "  alerts resolve ID --worker W --note TEXT   resolve with a note\n"
            "  events --household H [--since TIME]        the household's timeline: events with\n"
            "                                             verdict and reason, commands, alerts\n"
            "  checkin --household H --worker W           worker W is at the door\n"
            "  pass add --household H --worker W --from TIME --to TIME --reason TEXT\n"
            "                                             record an approved outing\n"
            "  pass list [--household H] [--all]          current and future passes (--all: "
            "every)\n");
        return EXIT_USAGE;
}

static int load_config(struct ctl *ctl)
{
        struct config_diag diag = { 0 };
        int r = config_load(ctl->config_dir, &ctl->config, &diag);

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

static int open_db(struct ctl *ctl)
{
        int r = load_config(ctl);
        if (r < 0)
                return r;
        r = store_open(ctl->config->database, false, true, &ctl->store);
        if (r < 0)
                fprintf(stderr, "doorwatchctl: cannot open the database %s\n",
                        ctl->config->database);
        return r;
}

/* Prints a query as a table (or JSON array of objects). */
static int print_query(struct ctl *ctl, sqlite3_stmt *st)
{
        int ncol = sqlite3_column_count(st), rc, rows = 0;
        cJSON *arr = ctl->json ? cJSON_CreateArray() : NULL;

        if (!ctl->json) {
                for (int i = 0; i < ncol; i++)
                        printf("%s%s", i ? "\t" : "", sqlite3_column_name(st, i));
                printf("\n");
        }
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                cJSON *obj = ctl->json ? cJSON_CreateObject() : NULL;
                for (int i = 0; i < ncol; i++) {
                        const char *name = sqlite3_column_name(st, i);
                        int type = sqlite3_column_type(st, i);
                        const char *text = (const char *)sqlite3_column_text(st, i);
                        if (obj) {
                                if (type == SQLITE_NULL)
                                        cJSON_AddNullToObject(obj, name);
                                else if (type == SQLITE_INTEGER || type == SQLITE_FLOAT)
                                        cJSON_AddNumberToObject(obj, name,
                                                                sqlite3_column_double(st, i));
                                else
                                        cJSON_AddStringToObject(obj, name, text);
                        } else
                                printf("%s%s", i ? "\t" : "", text ? text : "-");
                }
                if (obj)
                        cJSON_AddItemToArray(arr, obj);
                else
                        printf("\n");
                rows++;
        }
        if (arr) {
                char *s = cJSON_Print(arr);
                printf("%s\n", s);
                free(s);
                cJSON_Delete(arr);
        }
        if (rc != SQLITE_DONE) {
                fprintf(stderr, "doorwatchctl: query failed: %s\n",
                        sqlite3_errmsg(sqlite3_db_handle(st)));
                return 1;
        }
        return 0;
}

static void sql_local_time(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
        char buf[32];
        if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
                sqlite3_result_null(ctx);
                return;
        }
        format_local_time(sqlite3_value_int64(argv[0]), buf);
        sqlite3_result_text(ctx, buf, -1, SQLITE_TRANSIENT);
}

static sqlite3_stmt *prepare(struct ctl *ctl, const char *sql)
{
        sqlite3 *db = store_db(ctl->store);
        sqlite3_stmt *st = NULL;
        sqlite3_create_function(db, "local_time", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                                sql_local_time, NULL, NULL);
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
                fprintf(stderr, "doorwatchctl: %s\n", sqlite3_errmsg(db));
        return st;
}

static int cmd_alerts_list(struct ctl *ctl, int argc, char **argv)
{
        bool open_only = false;
        sqlite3_stmt *st;
        int r;

        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "--open") == 0)
                        open_only = true;
                else
                        return usage();
        }
        if (open_db(ctl) < 0)
                return 1;
        st = prepare(ctl, open_only ? "SELECT id, state, kind, severity, household, count,"
                                      " local_time(raised_usec) AS raised, step, round, acked_by"
                                      " FROM alert WHERE state = 'open' ORDER BY raised_usec"
                                    : "SELECT id, state, kind, severity, household, count,"
                                      " local_time(raised_usec) AS raised, step, round, acked_by"
                                      " FROM alert ORDER BY raised_usec DESC LIMIT 1000");
        if (!st)
                return 1;
        r = print_query(ctl, st);
        sqlite3_finalize(st);
        return r;
}

/* The household's timeline: every event with its verdict and reason, the commands about
 * it (check-ins, passes, pre-reports, also refused ones), alerts that no event row names
 * (raised by a deadline: held open, hand-off expired, pass overdue, observation ended), and
 * acks and resolves of its alerts. Rule times are event times (a replayed day shows its
 * own times); acks and resolves are the times they happened. */
static const char timeline_sql[] =
    "SELECT local_time(t) AS time, source, what, verdict, reason, alert FROM ("
    " SELECT event_usec AS t, 0 AS o, id AS k, device AS source,"
    "  type || COALESCE(' ' || state, '') || CASE WHEN retained THEN ' (retained)' ELSE ''"
    "  END AS what, verdict, reason, alert_id AS alert"
    "  FROM event WHERE household = ?1 AND event_usec >= ?2"
    " UNION ALL"
    " SELECT usec, 1, id, actor || ' (' || channel || ')', kind,"
    "  CASE WHEN detail LIKE 'refused:%' THEN 'refused' ELSE 'recorded' END, detail, NULL"
    "  FROM action WHERE kind IN ('checkin', 'pass', 'report') AND target = ?1 AND usec >= ?2"
    " UNION ALL"
    " SELECT a.last_event_usec, 2, a.rowid, 'doorwatchd', 'alert ' || a.kind, 'alert',"
    "  a.reason, a.id FROM alert a"
    "  WHERE a.household = ?1 AND a.last_event_usec >= ?2"
    "  AND NOT EXISTS (SELECT 1 FROM event e WHERE e.alert_id = a.id)"
    " UNION ALL"
    " SELECT x.usec, 3, x.id, x.actor || ' (' || x.channel || ')', x.kind, NULL,"
    "  COALESCE(x.detail, ''), x.target FROM action x JOIN alert a ON a.id = x.target"
    "  WHERE a.household = ?1 AND x.kind IN ('ack', 'resolve') AND x.usec >= ?2"
    ") ORDER BY t, o, k";

static int cmd_events(struct ctl *ctl, int argc, char **argv)
{
        const char *household = NULL, *since = NULL;
        int64_t since_usec = 0;
        sqlite3_stmt *st;
        int r;

        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "--household") == 0 && i + 1 < argc)
                        household = argv[++i];
                else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc)
                        since = argv[++i];
                else
                        return usage();
        }
        if (!household)
                return usage();
        if (since && parse_rfc3339(since, &since_usec) < 0) {
                fprintf(stderr, "doorwatchctl: --since wants an RFC 3339 time\n");
                return EXIT_USAGE;
        }
        if (open_db(ctl) < 0)
                return 1;
        if (!config_household(ctl->config, household)) {
                fprintf(stderr, "doorwatchctl: unknown household \"%s\"\n", household);
                return 1;
        }
        st = prepare(ctl, timeline_sql);
        if (!st)
                return 1;
        sqlite3_bind_text(st, 1, household, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, since_usec);
        r = print_query(ctl, st);
        sqlite3_finalize(st);
        return r;
}

/* Passes with their state now: upcoming, active (not left yet), out, returned, overdue,
 * ended (no exit seen). */
static int cmd_pass_list(struct ctl *ctl, int argc, char **argv)
{
        const char *household = NULL;
        bool all = false;
        sqlite3_stmt *st;
        int r;

        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "--household") == 0 && i + 1 < argc)
                        household = argv[++i];
                else if (strcmp(argv[i], "--all") == 0)
                        all = true;
                else
                        return usage();
        }
        if (open_db(ctl) < 0)
                return 1;
        if (household && !config_household(ctl->config, household)) {
                fprintf(stderr, "doorwatchctl: unknown household \"%s\"\n", household);
                return 1;
        }
        st = prepare(ctl, "SELECT id, household, local_time(from_usec) AS \"from\","
                          " local_time(to_usec) AS \"to\", reason,"
                          " CASE WHEN return_usec IS NOT NULL THEN 'returned'"
                          "  WHEN overdue THEN 'overdue'"
                          "  WHEN exit_usec IS NOT NULL THEN 'out'"
                          "  WHEN ?2 < from_usec THEN 'upcoming'"
                          "  WHEN ?2 < to_usec THEN 'active'"
                          "  ELSE 'ended' END AS status,"
                          " local_time(exit_usec) AS exit, local_time(return_usec) AS return,"
                          " worker, channel FROM pass"
                          " WHERE (?1 IS NULL OR household = ?1)"
                          " AND (?3 OR done = 0 OR to_usec > ?2)"
                          " ORDER BY from_usec, id");
        if (!st)
                return 1;
        if (household)
                sqlite3_bind_text(st, 1, household, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now_realtime_usec());
        sqlite3_bind_int(st, 3, all);
        r = print_query(ctl, st);
        sqlite3_finalize(st);
        return r;
}

/* ---- actions over MQTT ---- */

struct reply_wait {
        char request_id[64];
        bool done, ok;
        char error[256];
};

static void on_reply(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
        struct reply_wait *w = ud;
        _cleanup_json_ cJSON *j =
            cJSON_ParseWithLength(msg->payload ? msg->payload : "", (size_t)msg->payloadlen);
        const cJSON *rid = cJSON_GetObjectItem(j, "request_id");
        const cJSON *err = cJSON_GetObjectItem(j, "error");

        if (!cJSON_IsString(rid) || strcmp(rid->valuestring, w->request_id) != 0)
                return;
        w->done = true;
        w->ok = cJSON_IsTrue(cJSON_GetObjectItem(j, "ok"));
        snprintf(w->error, sizeof(w->error), "%s", cJSON_IsString(err) ? err->valuestring : "");
}

static int send_command(struct ctl *ctl, const char *worker, const char *verb, cJSON *body)
{
        const struct mqtt_config *mc;
        struct reply_wait w = { 0 };
        struct mosquitto *m;
        char topic[256], result[256];
        _cleanup_free_ char *password = NULL, *payload = NULL;
        int rc;

        if (load_config(ctl) < 0)
                return 1;
        mc = &ctl->config->mqtt;
        if (!config_worker(ctl->config, worker)) {
                fprintf(stderr, "doorwatchctl: unknown worker \"%s\"\n", worker);
                return 1;
        }
        snprintf(w.request_id, sizeof(w.request_id), "ctl-%ld-%ld", (long)getpid(),
                 (long)time(NULL));
        cJSON_AddStringToObject(body, "request_id", w.request_id);
        /* The daemon records the action as the operator CLI's, on the worker's behalf. */
        cJSON_AddStringToObject(body, "via", "cli");
        payload = cJSON_PrintUnformatted(body);
        snprintf(topic, sizeof(topic), "%s/workers/%s/%s", mc->topic_prefix, worker, verb);
        snprintf(result, sizeof(result), "%s/workers/%s/result", mc->topic_prefix, worker);

        mosquitto_lib_init();
        m = mosquitto_new(NULL, true, &w);
        if (!m)
                return 1;
        mosquitto_message_callback_set(m, on_reply);
        if (mc->username) {
                if (mc->password_file)
                        read_secret_file(mc->password_file, &password);
                mosquitto_username_pw_set(m, mc->username, password);
        }
        if (mc->ca_file)
                mosquitto_tls_set(m, mc->ca_file, NULL, mc->cert_file, mc->key_file, NULL);
        rc = mosquitto_connect(m, mc->host, mc->port, 30);
        if (rc != MOSQ_ERR_SUCCESS) {
                fprintf(stderr, "doorwatchctl: cannot reach the broker %s:%d: %s\n", mc->host,
                        mc->port, mosquitto_strerror(rc));
                mosquitto_destroy(m);
                return 1;
        }
        mosquitto_subscribe(m, NULL, result, 1);
        mosquitto_loop(m, 100, 1);
        mosquitto_publish(m, NULL, topic, (int)strlen(payload), payload, 1, false);
        for (int i = 0; i < 100 && !w.done; i++)
                mosquitto_loop(m, 100, 1);
        mosquitto_disconnect(m);
        mosquitto_destroy(m);
        if (!w.done) {
                fprintf(stderr, "doorwatchctl: no answer from doorwatchd within 10 s\n");
                return 1;
        }
        if (!w.ok) {
                fprintf(stderr, "doorwatchctl: refused: %s\n", w.error);
                return 1;
        }
        printf("ok\n");
        return 0;
}

static int cmd_alerts_action(struct ctl *ctl, const char *verb, int argc, char **argv)
{
        const char *id = NULL, *worker = NULL, *note = NULL;
        _cleanup_json_ cJSON *body = cJSON_CreateObject();

        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "--worker") == 0 && i + 1 < argc)
                        worker = argv[++i];
                else if (strcmp(argv[i], "--note") == 0 && i + 1 < argc)
                        note = argv[++i];
                else if (argv[i][0] != '-' && !id)
                        id = argv[i];
                else
                        return usage();
        }
        if (!id || !worker || (strcmp(verb, "resolve") == 0 && !note))
                return usage();
        cJSON_AddStringToObject(body, "alert_id", id);
        if (note)
                cJSON_AddStringToObject(body, "note", note);
        return send_command(ctl, worker, verb, body);
}

static int cmd_checkin(struct ctl *ctl, int argc, char **argv)
{
        const char *household = NULL, *worker = NULL;
        _cleanup_json_ cJSON *body = cJSON_CreateObject();

        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "--household") == 0 && i + 1 < argc)
                        household = argv[++i];
                else if (strcmp(argv[i], "--worker") == 0 && i + 1 < argc)
                        worker = argv[++i];
                else
                        return usage();
        }
        if (!household || !worker)
                return usage();
        cJSON_AddStringToObject(body, "household", household);
        return send_command(ctl, worker, "checkin", body);
}

static int cmd_pass_add(struct ctl *ctl, int argc, char **argv)
{
        const char *household = NULL, *worker = NULL, *from = NULL, *to = NULL, *reason = NULL;
        _cleanup_json_ cJSON *body = cJSON_CreateObject();
        int64_t from_usec, to_usec;

        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "--household") == 0 && i + 1 < argc)
                        household = argv[++i];
                else if (strcmp(argv[i], "--worker") == 0 && i + 1 < argc)
                        worker = argv[++i];
                else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
                        from = argv[++i];
                else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
                        to = argv[++i];
                else if (strcmp(argv[i], "--reason") == 0 && i + 1 < argc)
                        reason = argv[++i];
                else
                        return usage();
        }
        if (!household || !worker || !from || !to || !reason)
                return usage();
        if (parse_rfc3339(from, &from_usec) < 0 || parse_rfc3339(to, &to_usec) < 0) {
                fprintf(stderr, "doorwatchctl: --from and --to want RFC 3339 times, e.g. "
                                "2020-02-06T09:00:00+08:00\n");
                return EXIT_USAGE;
        }
        if (from_usec >= to_usec) {
                fprintf(stderr, "doorwatchctl: --from must be before --to\n");
                return EXIT_USAGE;
        }
        cJSON_AddStringToObject(body, "household", household);
        cJSON_AddStringToObject(body, "from", from);
        cJSON_AddStringToObject(body, "to", to);
        cJSON_AddStringToObject(body, "reason", reason);
        return send_command(ctl, worker, "pass", body);
}

int main(int argc, char **argv)
{
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        struct ctl ctl = { .config_dir = "/etc/doorwatch" };
        int c, r;

        log_open(LOG_WARNING, true);
        while ((c = getopt_long(argc, argv, "+c:jh", options, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        ctl.config_dir = optarg;
                        break;
                case 'j':
                        ctl.json = true;
                        break;
                case 'h':
                        usage();
                        return 0;
                default:
                        return usage();
                }
        }
        argc -= optind;
        argv += optind;
        if (argc < 1)
                return usage();
        if (strcmp(argv[0], "alerts") == 0 && argc >= 2 && strcmp(argv[1], "list") == 0)
                r = cmd_alerts_list(&ctl, argc - 2, argv + 2);
        else if (strcmp(argv[0], "alerts") == 0 && argc >= 2 &&
                 (strcmp(argv[1], "ack") == 0 || strcmp(argv[1], "resolve") == 0))
                r = cmd_alerts_action(&ctl, argv[1], argc - 2, argv + 2);
        else if (strcmp(argv[0], "events") == 0)
                r = cmd_events(&ctl, argc - 1, argv + 1);
        else if (strcmp(argv[0], "checkin") == 0)
                r = cmd_checkin(&ctl, argc - 1, argv + 1);
        else if (strcmp(argv[0], "pass") == 0 && argc >= 2 && strcmp(argv[1], "add") == 0)
                r = cmd_pass_add(&ctl, argc - 2, argv + 2);
        else if (strcmp(argv[0], "pass") == 0 && argc >= 2 && strcmp(argv[1], "list") == 0)
                r = cmd_pass_list(&ctl, argc - 2, argv + 2);
        else
                r = usage();
        store_close(ctl.store);
        config_free(ctl.config);
        return r;
}

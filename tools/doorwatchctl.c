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
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "notify/notify.h"
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
            "  events --household H [--since TIME]        the household's event timeline\n"
            "  notify list [--dead|--pending]             the outbox, newest first\n"
            "  notify test WORKER|NOTIFIER [--worker W]   send a test message through the real\n"
            "                                             channel(s), print the far end's "
            "answer\n");
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
        st = prepare(ctl, "SELECT local_time(event_usec) AS time, device, type, state, verdict,"
                          " reason, alert_id FROM event WHERE household = ?1 AND event_usec >= ?2"
                          " ORDER BY event_usec, id");
        if (!st)
                return 1;
        sqlite3_bind_text(st, 1, household, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, since_usec);
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

/* ---- notify list / notify test ---- */

static int cmd_notify_list(struct ctl *ctl, int argc, char **argv)
{
        const char *where = "";
        _cleanup_free_ char *sql = NULL;
        sqlite3_stmt *st;
        int r;

        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "--dead") == 0)
                        where = " WHERE state = 'dead'";
                else if (strcmp(argv[i], "--pending") == 0)
                        where = " WHERE state IN ('pending', 'sending')";
                else
                        return usage();
        }
        if (open_db(ctl) < 0)
                return 1;
        if (asprintf(&sql,
                     "SELECT id, state, channel, worker, alert_id,"
                     " json_extract(payload, '$.kind') AS kind, priority, attempts,"
                     " local_time(created_usec) AS created, local_time(last_attempt_usec) AS tried,"
                     " CASE state WHEN 'delivered' THEN local_time(delivered_usec)"
                     " WHEN 'dead' THEN local_time(dead_usec) ELSE local_time(next_usec) END"
                     " AS 'delivered/dead/next', last_error FROM notification%s"
                     " ORDER BY created_usec DESC, id DESC LIMIT 1000",
                     where) < 0)
                return 1;
        st = prepare(ctl, sql);
        if (!st)
                return 1;
        r = print_query(ctl, st);
        sqlite3_finalize(st);
        return r;
}

struct test_target {
        const struct notifier_config *nc;
        const struct worker *worker; /* NULL: a group notifier without recipients */
};

struct test_result {
        bool done;
        enum notify_outcome outcome;
        char detail[512];
};

static void on_test_done(struct notifier *n, const struct notify_result *res, void *userdata)
{
        struct test_result *t = userdata;

        t->done = true;
        t->outcome = res->outcome;
        snprintf(t->detail, sizeof(t->detail), "%s", res->detail ? res->detail : "");
}

struct puback_wait {
        int mid;
        bool acked;
};

static void on_puback(struct mosquitto *m, void *ud, int mid)
{
        struct puback_wait *w = ud;
        if (mid == w->mid)
                w->acked = true;
}

/* The mqtt type belongs to the daemon's connection: here the message is published directly
 * (QoS 1, as the daemon does) and the broker's PUBACK is the far end's answer. */
static void test_mqtt(struct ctl *ctl, const struct notify_message *m, struct test_result *res)
{
        const struct mqtt_config *mc = &ctl->config->mqtt;
        struct puback_wait w = { .mid = -1 };
        _cleanup_free_ char *password = NULL, *payload = NULL, *topic = NULL;
        struct mosquitto *mosq;
        int rc;

        res->done = true;
        res->outcome = NOTIFY_RETRY;
        payload = notify_message_format(m, NOTIFY_FORMAT_PERSON);
        if (!payload || asprintf(&topic, "%s/workers/%s/notify", mc->topic_prefix, m->worker) < 0) {
                snprintf(res->detail, sizeof(res->detail), "out of memory");
                return;
        }
        mosquitto_lib_init();
        mosq = mosquitto_new(NULL, true, &w);
        if (!mosq) {
                snprintf(res->detail, sizeof(res->detail), "out of memory");
                return;
        }
        mosquitto_publish_callback_set(mosq, on_puback);
        if (mc->username) {
                if (mc->password_file)
                        read_secret_file(mc->password_file, &password);
                mosquitto_username_pw_set(mosq, mc->username, password);
        }
        if (mc->ca_file)
                mosquitto_tls_set(mosq, mc->ca_file, NULL, mc->cert_file, mc->key_file, NULL);
        rc = mosquitto_connect(mosq, mc->host, mc->port, 30);
        if (rc == MOSQ_ERR_SUCCESS)
                rc =
                    mosquitto_publish(mosq, &w.mid, topic, (int)strlen(payload), payload, 1, false);
        for (int i = 0; rc == MOSQ_ERR_SUCCESS && i < 100 && !w.acked; i++)
                rc = mosquitto_loop(mosq, 100, 1);
        if (w.acked) {
                res->outcome = NOTIFY_DELIVERED;
                snprintf(res->detail, sizeof(res->detail), "PUBACK from %s:%d on %s", mc->host,
                         mc->port, topic);
        } else if (rc != MOSQ_ERR_SUCCESS)
                snprintf(res->detail, sizeof(res->detail), "broker %s:%d: %s", mc->host, mc->port,
                         rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
        else
                snprintf(res->detail, sizeof(res->detail), "no PUBACK from %s:%d within 10 s",
                         mc->host, mc->port);
        mosquitto_disconnect(mosq);
        mosquitto_destroy(mosq);
        mosquitto_lib_cleanup();
}

/* Builds the notifier as the daemon would (secrets included) and sends through it. */
static void test_channel(struct ctl *ctl, struct notify_context *nctx, sd_event *ev,
                         const struct notifier_config *nc, const struct notify_message *m,
                         struct test_result *res)
{
        struct config_diag diag = { 0 };
        struct notifier *n = notify_context_find(nctx, nc->name);
        int r = 0;

        res->done = false;
        if (!n)
                r = notifier_new(nctx, nc, ctl->config->dir, &diag, &n);
        for (size_t i = 0; i < diag.n_errors; i++)
                fprintf(stderr, "error: %s\n", diag.errors[i]);
        config_diag_done(&diag);
        if (r >= 0)
                r = notifier_send(n, m, on_test_done, res);
        if (r < 0) {
                res->done = true;
                res->outcome = NOTIFY_FAILED;
                snprintf(res->detail, sizeof(res->detail), "%s",
                         r == -EINVAL ? "invalid configuration" : strerror(-r));
                return;
        }
        /* Every channel bounds its own attempt (HTTP and exec timeouts). */
        for (int64_t end = now_monotonic_usec() + 120 * USEC_PER_SEC;
             !res->done && now_monotonic_usec() < end;)
                if (sd_event_run(ev, 1 * USEC_PER_SEC) < 0)
                        break;
        if (!res->done) {
                res->done = true;
                res->outcome = NOTIFY_RETRY;
                snprintf(res->detail, sizeof(res->detail), "no answer");
        }
}

static int cmd_notify_test(struct ctl *ctl, int argc, char **argv)
{
        const char *what = NULL, *worker_id = NULL;
        const struct worker *w = NULL;
        const struct notifier_config *nc;
        _cleanup_free_ struct test_target *targets = NULL;
        _cleanup_(notify_context_freep) struct notify_context *nctx = NULL;
        struct templates *t = NULL;
        struct config_diag diag = { 0 };
        sd_event *ev = NULL;
        size_t n_targets = 0;
        char id[64];
        cJSON *arr = NULL;
        int failed = 0, r;

        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "--worker") == 0 && i + 1 < argc)
                        worker_id = argv[++i];
                else if (argv[i][0] != '-' && !what)
                        what = argv[i];
                else
                        return usage();
        }
        if (!what)
                return usage();
        if (load_config(ctl) < 0)
                return 1;
        if (worker_id && !(w = config_worker(ctl->config, worker_id))) {
                fprintf(stderr, "doorwatchctl: unknown worker \"%s\"\n", worker_id);
                return 1;
        }
        targets = calloc(ctl->config->n_notifiers + 1, sizeof(*targets));
        if (!targets)
                return 1;
        nc = config_notifier(ctl->config, what);
        if (!w && !nc && (w = config_worker(ctl->config, what))) {
                /* A worker: every channel they list. */
                for (size_t i = 0; i < w->n_channels; i++) {
                        const struct notifier_config *c =
                            config_notifier(ctl->config, w->channels[i]);
                        if (c)
                                targets[n_targets++] = (struct test_target){ c, w };
                }
                if (n_targets == 0) {
                        fprintf(stderr, "doorwatchctl: worker %s has no notification channel\n",
                                w->id);
                        return 1;
                }
        } else if (nc) {
                bool per_person = strcmp(nc->type, "mqtt") == 0 || strcmp(nc->type, "exec") == 0;
                if (per_person && !w) {
                        fprintf(
                            stderr,
                            "doorwatchctl: %s is a per-person channel (type %s): add --worker W "
                            "to choose the recipient\n",
                            nc->name, nc->type);
                        return EXIT_USAGE;
                }
                targets[n_targets++] = (struct test_target){ nc, w };
        } else {
                fprintf(stderr, "doorwatchctl: \"%s\" is neither a worker nor a notifier\n", what);
                return 1;
        }

        r = sd_event_new(&ev);
        if (r >= 0)
                r = notify_context_new(ev, &nctx);
        if (r >= 0 && templates_new(ctl->config->templates, &diag, &t) >= 0)
                notify_context_set_templates(nctx, t);
        config_diag_done(&diag);
        if (r < 0) {
                fprintf(stderr, "doorwatchctl: %s\n", strerror(-r));
                sd_event_unref(ev);
                return 1;
        }
        snprintf(id, sizeof(id), "test-%lld-%ld", (long long)time(NULL), (long)getpid());
        if (ctl->json)
                arr = cJSON_CreateArray();
        for (size_t i = 0; i < n_targets; i++) {
                const struct test_target *tg = &targets[i];
                struct notify_recipient rcp = { 0 };
                struct notify_message m = {
                        .notification_id = id,
                        .kind = "test",
                        .severity = "info",
                        .reason = "test message sent with doorwatchctl notify test",
                        .raised_at_usec = now_realtime_usec(),
                };
                struct test_result res = { 0 };
                char topic[256];

                if (tg->worker) {
                        rcp = (struct notify_recipient){ .worker = tg->worker->id,
                                                         .name = tg->worker->name,
                                                         .phone = tg->worker->phone,
                                                         .role = role_to_string(tg->worker->role) };
                        snprintf(topic, sizeof(topic), "%s/workers/%s/ack",
                                 ctl->config->mqtt.topic_prefix, tg->worker->id);
                        m.worker = rcp.worker;
                        m.role = rcp.role;
                        m.ack_topic = topic;
                        m.recipients = &rcp;
                        m.n_recipients = 1;
                }
                if (strcmp(tg->nc->type, "mqtt") == 0) {
                        _cleanup_free_ char *text = NULL;
                        if (notify_render_text(notify_context_templates(nctx), &m, 0, &text) >= 0)
                                m.text = text;
                        test_mqtt(ctl, &m, &res);
                } else
                        test_channel(ctl, nctx, ev, tg->nc, &m, &res);
                failed += res.outcome != NOTIFY_DELIVERED;
                if (arr) {
                        cJSON *o = cJSON_CreateObject();
                        cJSON_AddStringToObject(o, "notifier", tg->nc->name);
                        cJSON_AddStringToObject(o, "type", tg->nc->type);
                        if (tg->worker)
                                cJSON_AddStringToObject(o, "worker", tg->worker->id);
                        else
                                cJSON_AddNullToObject(o, "worker");
                        cJSON_AddStringToObject(o, "outcome",
                                                notify_outcome_to_string(res.outcome));
                        cJSON_AddStringToObject(o, "detail", res.detail);
                        cJSON_AddItemToArray(arr, o);
                } else
                        printf("%s (%s)%s%s: %s: %s\n", tg->nc->name, tg->nc->type,
                               tg->worker ? " to " : "", tg->worker ? tg->worker->id : "",
                               notify_outcome_to_string(res.outcome), res.detail);
        }
        if (arr) {
                char *s = cJSON_Print(arr);
                printf("%s\n", s);
                free(s);
                cJSON_Delete(arr);
        }
        nctx = notify_context_free(nctx);
        sd_event_unref(ev);
        return failed ? 1 : 0;
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
        sigset_t mask;
        int c, r;

        /* The exec channel (notify test) watches its children with sd-event: SIGCHLD must be
         * blocked before any thread exists. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);
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
        else if (strcmp(argv[0], "notify") == 0 && argc >= 2 && strcmp(argv[1], "list") == 0)
                r = cmd_notify_list(&ctl, argc - 2, argv + 2);
        else if (strcmp(argv[0], "notify") == 0 && argc >= 2 && strcmp(argv[1], "test") == 0)
                r = cmd_notify_test(&ctl, argc - 2, argv + 2);
        else
                r = usage();
        store_close(ctl.store);
        config_free(ctl.config);
        return r;
}

/* doorwatchctl: the operators' command line (DESIGN.md §5).
 *
 * Reads the same configuration directory as the daemon to find the database (opened
 * read-only: the daemon is the only writer) and the broker. Actions (ack, resolve, ...)
 * are sent as MQTT commands on the acting worker's topic and the daemon's reply on
 * .../result is awaited, so they are validated and recorded exactly like a worker's.
 * Resident links (`qr`) come from the daemon's HTTP API, which alone holds the link key
 * and writes the revocation counter.
 * Tables for people by default, --json for scripts. Exit status: 0 success, 1 failed
 * check or refused action, 2 usage error. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
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
#include "qr.h"
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
        fprintf(stderr,
                "Usage: doorwatchctl [-c DIR] [--json] COMMAND ...\n"
                "  alerts list [--open]                       alerts, newest first\n"
                "  alerts ack ID --worker W                   acknowledge as worker W\n"
                "  alerts resolve ID --worker W --note TEXT   resolve with a note\n"
                "  events --household H [--since TIME]        the household's event timeline\n"
                "  qr HOUSEHOLD [--png FILE] [--revoke]       resident report link, QR code\n");
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

/* ---- resident links over the HTTP API ---- */

static size_t collect_body(char *data, size_t size, size_t n, void *userdata)
{
        FILE *f = userdata;
        return fwrite(data, size, n, f);
}

/* http://HOST:PORT for http.listen, with wildcard addresses replaced by loopback. */
static int api_base(const struct config *c, char *buf, size_t size)
{
        const char *l = c->http.listen, *colon;

        if (!l)
                return -ENOENT;
        colon = strrchr(l, ':');
        if (!colon)
                return -EINVAL;
        if (strncmp(l, "0.0.0.0:", 8) == 0 || l[0] == ':')
                snprintf(buf, size, "http://127.0.0.1%s", colon);
        else if (strncmp(l, "[::]:", 5) == 0)
                snprintf(buf, size, "http://[::1]%s", colon);
        else
                snprintf(buf, size, "http://%s", l);
        return 0;
}

static int write_png(const char *path, const char *url)
{
        _cleanup_free_ uint8_t *png = NULL;
        size_t len = 0;
        FILE *f;
        int r = qr_png(url, 8, &png, &len);

        if (r < 0) {
                fprintf(stderr, "doorwatchctl: cannot encode the link as a QR code: %s\n",
                        strerror(-r));
                return 1;
        }
        f = fopen(path, "we");
        if (!f || fwrite(png, 1, len, f) != len || fclose(f) != 0) {
                fprintf(stderr, "doorwatchctl: cannot write %s: %s\n", path, strerror(errno));
                return 1;
        }
        return 0;
}

static int cmd_qr(struct ctl *ctl, int argc, char **argv)
{
        const char *household = NULL, *png = NULL;
        bool revoke = false;
        _cleanup_free_ char *token = NULL, *body = NULL;
        char *escaped_id;
        char base[300], url[600], auth[600];
        struct curl_slist *hdrs = NULL;
        size_t body_len = 0;
        long status = 0;
        CURLcode rc;
        CURL *c;
        FILE *f;
        int r;

        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "--png") == 0 && i + 1 < argc)
                        png = argv[++i];
                else if (strcmp(argv[i], "--revoke") == 0)
                        revoke = true;
                else if (argv[i][0] != '-' && !household)
                        household = argv[i];
                else
                        return usage();
        }
        if (!household)
                return usage();
        if (load_config(ctl) < 0)
                return 1;
        if (!config_household(ctl->config, household)) {
                fprintf(stderr, "doorwatchctl: unknown household \"%s\"\n", household);
                return 1;
        }
        if (api_base(ctl->config, base, sizeof(base)) < 0) {
                fprintf(stderr, "doorwatchctl: the HTTP server is off (http.listen is null)\n");
                return 1;
        }
        r = ctl->config->http.token_file ? read_secret_file(ctl->config->http.token_file, &token)
                                         : -ENOENT;
        if (r < 0) {
                fprintf(stderr, "doorwatchctl: cannot read the API token %s: %s\n",
                        ctl->config->http.token_file ? ctl->config->http.token_file : "(null)",
                        strerror(-r));
                return 1;
        }

        curl_global_init(CURL_GLOBAL_DEFAULT);
        c = curl_easy_init();
        f = open_memstream(&body, &body_len);
        if (!c || !f) {
                if (f)
                        fclose(f);
                curl_easy_cleanup(c);
                return 1;
        }
        escaped_id = curl_easy_escape(c, household, 0);
        snprintf(url, sizeof(url), "%s/api/v1/households/%s/resident-link", base,
                 escaped_id ? escaped_id : household);
        curl_free(escaped_id);
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        hdrs = curl_slist_append(hdrs, auth);
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, revoke ? "{\"revoke\": true}" : "{}");
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
        rc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(c);
        fclose(f);
        memset(auth, 0, sizeof(auth));
        if (rc != CURLE_OK) {
                fprintf(stderr, "doorwatchctl: cannot reach doorwatchd at %s: %s\n", base,
                        curl_easy_strerror(rc));
                return 1;
        }

        _cleanup_json_ cJSON *j = cJSON_Parse(body ? body : "");
        const cJSON *link = cJSON_GetObjectItem(j, "url");
        if (status != 200 || !cJSON_IsString(link)) {
                const cJSON *err = cJSON_GetObjectItem(j, "error");
                fprintf(stderr, "doorwatchctl: refused (HTTP %ld): %s\n", status,
                        cJSON_IsString(err) ? err->valuestring : "no answer");
                return 1;
        }
        if (png && write_png(png, link->valuestring) != 0)
                return 1;
        if (ctl->json) {
                if (png)
                        cJSON_AddStringToObject(j, "png", png);
                char *s = cJSON_Print(j);
                printf("%s\n", s);
                free(s);
                return 0;
        }
        printf("%s%s (generation %d)\n%s\n\n", revoke ? "earlier links revoked; " : "", household,
               cJSON_GetObjectItem(j, "generation")->valueint, link->valuestring);
        if (qr_print_utf8(stdout, link->valuestring) < 0)
                return 1;
        if (png)
                printf("\nPNG written to %s\n", png);
        return 0;
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
        else if (strcmp(argv[0], "qr") == 0)
                r = cmd_qr(&ctl, argc - 1, argv + 1);
        else
                r = usage();
        store_close(ctl.store);
        config_free(ctl.config);
        return r;
}

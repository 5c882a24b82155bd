/* doorwatchctl: the operators' command line (DESIGN.md §5).
 *
 * Reads the same configuration directory as the daemon to find the database (opened
 * read-only: the daemon is the only writer), the broker and the HTTP API. Actions (alerts
 * ack/resolve, checkin, reading, pass add, qr, worker link) go to the daemon's HTTP API with
 * the office's API token, marked as the CLI's (X-Doorwatch-Channel: cli): the daemon
 * validates them like any other front door's and records them with channel "cli". The
 * daemon alone holds the link key and writes the revocation counters of resident links and
 * of workers' page links.
 * Tables for people by default, --json for scripts. Exit status: 0 success, 1 failed
 * check or refused action, 2 usage error. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ctl-list.h"
#include "ctl-notify.h"
#include "ctl-office.h"
#include "ctl.h"
#include "devtools.h"
#include "log.h"
#include "mqtt.h"
#include "notify/notify.h"
#include "qr.h"
#include "roster.h"
#include "secret.h"
#include "store.h"
#include "util.h"

/* The escalation step last notified, by the configured steps. */
static const char *step_text(const struct escalation *esc, int step, int reminders,
                             char buf[static 32])
{
        if (reminders > 0)
                snprintf(buf, 32, "reminder %d", reminders);
        else if (step >= 0 && (size_t)step < esc->n_steps)
                snprintf(buf, 32, "%s", escalation_step_to_string(esc->steps[step]));
        else
                snprintf(buf, 32, "step %d", step + 1);
        return buf;
}

/* Seconds since the instant (0 for one in the future), and as "3d04h", "2h05m", "7m12s",
 * "40s". */
static int64_t age_sec(int64_t usec)
{
        return MAX((now_realtime_usec() - usec) / USEC_PER_SEC, 0);
}

static const char *age_text(int64_t s, char buf[static 32])
{
        if (s >= 86400)
                snprintf(buf, 32, "%lldd%02lldh", (long long)(s / 86400),
                         (long long)(s % 86400 / 3600));
        else if (s >= 3600)
                snprintf(buf, 32, "%lldh%02lldm", (long long)(s / 3600),
                         (long long)(s % 3600 / 60));
        else if (s >= 60)
                snprintf(buf, 32, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
        else
                snprintf(buf, 32, "%llds", (long long)s);
        return buf;
}

struct listing {
        struct ctl *ctl;
        struct out t;
        int64_t now;
};

/* Alerts with their escalation state. Tables show local times and an age; JSON has the
 * instants in seconds and the age in seconds. */
static int alert_line(const struct store_alert_row *a, void *userdata)
{
        struct listing *l = userdata;
        struct out *t = &l->t;
        char buf[32];

        out_text(t, a->id);
        out_text(t, a->state);
        out_text(t, a->kind);
        out_text(t, a->severity);
        out_text(t, a->household);
        {
                const struct community *cm = config_community(l->ctl->config, a->community);
                out_text(t, cm ? community_label(cm) : a->community);
        }
        out_int(t, a->count);
        if (l->ctl->json) {
                out_number(t, true, (double)a->raised_usec / 1e6);
                out_int(t, age_sec(a->raised_usec));
        } else {
                out_time(t, a->raised_usec, true);
                out_text(t, age_text(age_sec(a->raised_usec), buf));
        }
        out_text(t, step_text(&l->ctl->config->escalation, a->step, a->reminders, buf));
        out_int(t, a->round);
        out_int(t, a->reminders);
        if (l->ctl->json)
                out_number(t, a->next_usec != 0, (double)a->next_usec / 1e6);
        else
                out_time(t, a->next_usec, false);
        out_text(t, a->acked_by);
        out_text(t, a->ack_channel);
        out_end_row(t);
        return 0;
}

static int cmd_alerts_list(struct ctl *ctl, int argc, char **argv)
{
        static const char *const table_cols[] = {
                "id",    "state",    "kind",        "severity", "household", "community",
                "count", "raised",   "age",         "step",     "round",     "reminders",
                "next",  "acked_by", "ack_channel", NULL
        };
        static const char *const json_cols[] = {
                "id",      "state",     "kind",        "severity", "household", "community",
                "count",   "raised_at", "age_s",       "step",     "round",     "reminders",
                "next_at", "acked_by",  "ack_channel", NULL
        };
        const char *community = NULL, *kind = NULL, *date = NULL;
        const struct community *cm = NULL;
        struct listing l = { .ctl = ctl };
        unsigned states = 0;
        int64_t from = 0, to = 0;
        char day[16];
        int r;

        /* "open" means what it means everywhere: raised and not yet acknowledged. */
        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "--open") == 0)
                        states = 1u << ALERT_OPEN;
                else if (strcmp(argv[i], "--unresolved") == 0)
                        states = ALERT_STATES_UNRESOLVED;
                else if (strcmp(argv[i], "--state") == 0 && i + 1 < argc) {
                        states = alert_states_from_filter(argv[++i]);
                        if (!states) {
                                fprintf(stderr, "doorwatchctl: --state is open, acked, "
                                                "unresolved, resolved or all\n");
                                return EXIT_USAGE;
                        }
                } else if (strcmp(argv[i], "--community") == 0 && i + 1 < argc)
                        community = argv[++i];
                else if (strcmp(argv[i], "--kind") == 0 && i + 1 < argc)
                        kind = argv[++i];
                else if (strcmp(argv[i], "--date") == 0 && i + 1 < argc)
                        date = argv[++i];
                else
                        return usage();
        }
        if (kind && alert_kind_from_string(kind) == ALERT_KIND_INVALID) {
                fprintf(stderr, "doorwatchctl: unknown alert kind \"%s\"\n", kind);
                return EXIT_USAGE;
        }
        if (open_db(ctl) < 0)
                return 1;
        if (community && !(cm = config_community_named(ctl->config, community))) {
                fprintf(stderr, "doorwatchctl: no community \"%s\" (its id or name)\n", community);
                return EXIT_USAGE;
        }
        if (date && local_calendar_day(date, now_realtime_usec(), &from, &to, day) < 0) {
                fprintf(stderr, "doorwatchctl: --date is a date such as 2026-12-01, today or "
                                "yesterday\n");
                return EXIT_USAGE;
        }
        out_begin(&l.t, ctl->json, ctl->json ? json_cols : table_cols);
        r = store_list_alerts(ctl->store,
                              &(struct store_alert_filter){
                                  .states = states,
                                  .community = cm ? cm->id : NULL,
                                  .kind = kind,
                                  .from_usec = from,
                                  .to_usec = to,
                                  .newest_first = true,
                                  .limit = 1000,
                              },
                              alert_line, &l);
        return out_end(&l.t, r);
}

/* The household's timeline (store_household_timeline()): every event with its verdict and
 * reason (and the clock its time is, time_basis), the commands about it, alerts raised by
 * a deadline, acks and resolves. */
static int timeline_line(const struct store_timeline_entry *e, void *userdata)
{
        struct out *t = userdata;
        _cleanup_free_ char *joined_source = NULL, *joined_what = NULL;
        const char *source = e->source, *what = e->what, *verdict = NULL, *detail = e->detail;

        switch (e->kind) {
        case STORE_TIMELINE_EVENT:
                joined_what = xasprintf("%s%s%s%s", e->what, e->state ? " " : "",
                                        e->state ? e->state : "", e->retained ? " (retained)" : "");
                what = joined_what;
                verdict = e->verdict;
                break;
        case STORE_TIMELINE_COMMAND:
        case STORE_TIMELINE_ALERT_ACTION:
                source = NULL;
                if (e->source && e->channel)
                        joined_source = xasprintf("%s (%s)", e->source, e->channel);
                source = joined_source;
                if (e->kind == STORE_TIMELINE_COMMAND)
                        verdict = e->detail && strncasecmp(e->detail, "refused:", 8) == 0
                                      ? "refused"
                                      : "recorded";
                else if (!detail)
                        detail = "";
                break;
        case STORE_TIMELINE_ALERT:
                joined_what = xasprintf("alert %s", e->what);
                source = "doorwatchd";
                what = joined_what;
                verdict = "alert";
                break;
        }
        out_time(t, e->usec, true);
        out_text(t, source);
        out_text(t, what);
        out_text(t, verdict);
        out_text(t, detail);
        out_text(t, e->alert);
        out_text(t, e->time_basis);
        out_end_row(t);
        return 0;
}

static int cmd_events(struct ctl *ctl, int argc, char **argv)
{
        static const char *const cols[] = { "time",   "source", "what",       "verdict",
                                            "reason", "alert",  "time_basis", NULL };
        const char *household = NULL, *since = NULL;
        int64_t since_usec = 0;
        struct out t;
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
        if (!ctl->partial && !config_household(ctl->config, household)) {
                fprintf(stderr, "doorwatchctl: unknown household \"%s\"\n", household);
                return 1;
        }
        out_begin(&t, ctl->json, cols);
        r = store_household_timeline(ctl->store, household, since_usec, timeline_line, &t);
        return out_end(&t, r);
}

/* Passes with their state now: upcoming, active (not left yet), out, returned, overdue,
 * ended (no exit seen). */
static int pass_line(const struct store_pass *p, void *userdata)
{
        struct listing *l = userdata;
        struct out *t = &l->t;
        int64_t now = l->now;

        out_int(t, p->id);
        out_text(t, p->household);
        out_time(t, p->from_usec, true);
        out_time(t, p->to_usec, true);
        out_text(t, p->reason);
        out_text(t, p->return_usec       ? "returned"
                    : p->overdue         ? "overdue"
                    : p->exit_usec       ? "out"
                    : now < p->from_usec ? "upcoming"
                    : now < p->to_usec   ? "active"
                                         : "ended");
        out_time(t, p->exit_usec, false);
        out_time(t, p->return_usec, false);
        out_text(t, p->worker);
        out_text(t, p->channel);
        out_end_row(t);
        return 0;
}

static int cmd_pass_list(struct ctl *ctl, int argc, char **argv)
{
        static const char *const cols[] = { "id",     "household", "from", "to",
                                            "reason", "status",    "exit", "return",
                                            "worker", "channel",   NULL };
        struct listing l = { .ctl = ctl, .now = now_realtime_usec() };
        const char *household = NULL;
        bool all = false;
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
        if (household && !ctl->partial && !config_household(ctl->config, household)) {
                fprintf(stderr, "doorwatchctl: unknown household \"%s\"\n", household);
                return 1;
        }
        out_begin(&l.t, ctl->json, cols);
        r = store_list_passes(ctl->store,
                              &(struct store_pass_filter){
                                  .household = household,
                                  .all = all,
                                  .now_usec = l.now,
                              },
                              pass_line, &l);
        return out_end(&l.t, r);
}

/* backup FILE: the database as of one commit, while the daemon keeps writing. */
static int cmd_backup(struct ctl *ctl, int argc, char **argv)
{
        struct store_backup_info info = { 0 };

        if (argc != 1 || argv[0][0] == '-')
                return usage();
        if (load_config_lenient(ctl) < 0)
                return 1;
        if (store_backup(ctl->config->database, argv[0], &info) < 0) {
                _cleanup_free_ char *shown = store_database_shown(ctl->config->database);
                fprintf(stderr, "doorwatchctl: backup of %s failed\n", shown);
                return 1;
        }
        if (ctl->json) {
                _cleanup_json_ cJSON *j = cJSON_CreateObject();
                _cleanup_free_ char *out = NULL;
                cJSON_AddStringToObject(j, "file", argv[0]);
                cJSON_AddNumberToObject(j, "events", (double)info.events);
                cJSON_AddNumberToObject(j, "alerts", (double)info.alerts);
                cJSON_AddNumberToObject(j, "open_alerts", (double)info.open_alerts);
                cJSON_AddNumberToObject(j, "pending_notifications",
                                        (double)info.pending_notifications);
                cJSON_AddNumberToObject(j, "bytes", (double)info.bytes);
                out = cJSON_Print(j);
                printf("%s\n", out ? out : "null");
        } else
                printf("%s: %lld events, %lld alerts (%lld open), %lld notifications pending, "
                       "%lld bytes\n",
                       argv[0], (long long)info.events, (long long)info.alerts,
                       (long long)info.open_alerts, (long long)info.pending_notifications,
                       (long long)info.bytes);
        return 0;
}

/* ---- device verify / discover (src/devtools.c) ---- */

static int parse_duration_arg(const char *opt, const char *arg, int64_t *ret)
{
        if (parse_duration(arg, ret) < 0 || *ret <= 0) {
                fprintf(stderr, "doorwatchctl: %s wants a duration such as 120s or 5m\n", opt);
                return -EINVAL;
        }
        return 0;
}

static int cmd_device(struct ctl *ctl, int argc, char **argv)
{
        int64_t usec = 0;
        const char *id = NULL;
        const struct device *d;

        if (argc < 1)
                return usage();
        setvbuf(stdout, NULL, _IOLBF, 0); /* installers watch it live (and tests read it) */
        if (strcmp(argv[0], "discover") == 0) {
                usec = 30 * USEC_PER_SEC;
                for (int i = 1; i < argc; i++) {
                        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
                                char *end;
                                long n = strtol(argv[++i], &end, 10);
                                if (*end == 's' && end[1] == 0)
                                        end++;
                                if (*end || n < 1 || n > 86400) {
                                        fprintf(stderr, "doorwatchctl: --seconds wants 1..86400\n");
                                        return EXIT_USAGE;
                                }
                                usec = n * USEC_PER_SEC;
                        } else
                                return usage();
                }
                if (load_config(ctl) < 0)
                        return 1;
                return devtools_discover(ctl->config, usec, ctl->json, stdout);
        }
        if (strcmp(argv[0], "verify") != 0)
                return usage();
        usec = 120 * USEC_PER_SEC;
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
                        if (parse_duration_arg("--timeout", argv[++i], &usec) < 0)
                                return EXIT_USAGE;
                } else if (argv[i][0] != '-' && !id)
                        id = argv[i];
                else
                        return usage();
        }
        if (!id)
                return usage();
        if (load_config(ctl) < 0)
                return 1;
        d = config_device(ctl->config, id);
        if (!d) {
                fprintf(stderr, "doorwatchctl: unknown device \"%s\"\n", id);
                return 1;
        }
        return devtools_verify(ctl->config, d, usec, ctl->json, stdout);
}

/* ---- acting through the HTTP API ----
 *
 * Every action goes to the daemon's HTTP API with the office's API token (http.token_file,
 * the token the daemon reads) and the header X-Doorwatch-Channel: cli, which the daemon
 * accepts only with that token: the daemon validates it like any other front door's
 * (command.h) and records it with channel "cli". */

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

/* prefix + id (URL-escaped) + suffix, e.g. "/api/v1/alerts/" ID "/ack". */
static int api_path(char *buf, size_t size, const char *prefix, const char *id, const char *suffix)
{
        CURL *c = curl_easy_init();
        char *escaped = c ? curl_easy_escape(c, id, 0) : NULL;
        int n;

        if (!escaped) /* curl fails here only for lack of memory */
                abort();
        n = snprintf(buf, size, "%s%s%s", prefix, escaped, suffix);
        curl_free(escaped);
        curl_easy_cleanup(c);
        return n >= 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

/* POSTs the JSON body to the API path. Returns 0 with the daemon's answer (any status;
 * *ret_json NULL when it was no JSON), or 1 after saying in one line why it could not ask:
 * no HTTP API configured, no token, the daemon unreachable. */
static int api_post(struct ctl *ctl, const char *path, const char *body, long *ret_status,
                    cJSON **ret_json)
{
        _cleanup_secret_ char *token = NULL;
        _cleanup_free_ char *answer = NULL;
        char base[300], url[1024], auth[600];
        struct curl_slist *hdrs = NULL;
        size_t answer_len = 0;
        CURLcode rc;
        CURL *c;
        FILE *f;
        int r;

        if (load_config(ctl) < 0)
                return 1;
        if (api_base(ctl->config, base, sizeof(base)) < 0) {
                fprintf(stderr, "doorwatchctl: no HTTP API is configured (http.listen in "
                                "doorwatch.json), and doorwatchctl acts through it\n");
                return 1;
        }
        r = secret_read_at(ctl->config->dir, "api.token", ctl->config->http.token_file, &token);
        if (r == 0 && !token) {
                fprintf(stderr, "doorwatchctl: no API token is configured (http.token_file is "
                                "null), and doorwatchctl acts through the HTTP API with it\n");
                return 1;
        }
        if (r != 0) {
                fprintf(stderr, "doorwatchctl: cannot read the API token %s: %s\n",
                        ctl->config->http.token_file,
                        strerror(r == SECRET_E_MISSING ? ENOENT : -r));
                return 1;
        }

        curl_global_init(CURL_GLOBAL_DEFAULT);
        c = curl_easy_init();
        f = open_memstream(&answer, &answer_len);
        if (!c || !f) /* only out of memory */
                abort();
        snprintf(url, sizeof(url), "%s%s", base, path);
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        hdrs = curl_slist_append(hdrs, auth);
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        hdrs = curl_slist_append(hdrs, "X-Doorwatch-Channel: cli");
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
        rc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, ret_status);
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(c);
        fclose(f);
        explicit_bzero(auth, sizeof(auth));
        if (rc != CURLE_OK) {
                fprintf(stderr, "doorwatchctl: cannot reach doorwatchd at %s: %s\n", base,
                        curl_easy_strerror(rc));
                return 1;
        }
        *ret_json = cJSON_Parse(answer ? answer : "");
        return 0;
}

/* Says why the daemon refused (its own words) and returns 1. */
static int api_refused(struct ctl *ctl, long status, const cJSON *answer)
{
        const cJSON *err = cJSON_GetObjectItem(answer, "error");
        const char *text = cJSON_IsString(err) ? err->valuestring : "no answer";

        if (status == 401)
                fprintf(stderr,
                        "doorwatchctl: doorwatchd refused the API token (HTTP 401): %s; is the "
                        "token file the daemon's?\n",
                        text);
        else
                fprintf(stderr, "doorwatchctl: refused (HTTP %ld): %s\n", status, text);
        if (ctl->json) {
                _cleanup_json_ cJSON *o = cJSON_CreateObject();
                _cleanup_free_ char *out = NULL;
                cJSON_AddBoolToObject(o, "ok", false);
                cJSON_AddStringToObject(o, "error", text);
                out = cJSON_PrintUnformatted(o);
                printf("%s\n", out ? out : "");
        }
        return 1;
}

/* One action: POST body to path, "ok" (or {"ok": true, "error": null}) when done. */
static int act(struct ctl *ctl, const char *path, const cJSON *body)
{
        _cleanup_free_ char *text = cJSON_PrintUnformatted(body);
        _cleanup_json_ cJSON *answer = NULL;
        long status = 0;
        int r;

        r = api_post(ctl, path, text, &status, &answer);
        if (r != 0)
                return r;
        if (status != 200)
                return api_refused(ctl, status, answer);
        if (ctl->json)
                printf("{\"ok\": true, \"error\": null}\n");
        else
                printf("ok\n");
        return 0;
}

static int cmd_alerts_action(struct ctl *ctl, const char *verb, int argc, char **argv)
{
        const char *id = NULL, *worker = NULL, *note = NULL;
        _cleanup_json_ cJSON *body = cJSON_CreateObject();
        char path[512];

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
        if (api_path(path, sizeof(path), "/api/v1/alerts/", id,
                     strcmp(verb, "ack") == 0 ? "/ack" : "/resolve") < 0) {
                fprintf(stderr, "doorwatchctl: alert id too long\n");
                return 1;
        }
        cJSON_AddStringToObject(body, "worker", worker);
        if (note)
                cJSON_AddStringToObject(body, "note", note);
        return act(ctl, path, body);
}

/* ---- aligned tables ---- */

struct table {
        size_t ncol;
        char **cells; /* row-major, owned */
        size_t n, cap;
};

/* Terminal columns of a UTF-8 string: East Asian wide characters take two. */
static size_t display_width(const char *s)
{
        size_t w = 0;

        for (const unsigned char *p = (const unsigned char *)s; *p;) {
                uint32_t cp = *p;
                int len = 1;

                if (cp >= 0xf0 && p[1] && p[2] && p[3]) {
                        cp = (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3f) << 12 |
                             (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
                        len = 4;
                } else if (cp >= 0xe0 && p[1] && p[2]) {
                        cp = (uint32_t)(p[0] & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 |
                             (p[2] & 0x3f);
                        len = 3;
                } else if (cp >= 0xc0 && p[1]) {
                        cp = (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f);
                        len = 2;
                }
                p += len;
                if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
                    (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
                    (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
                    (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x20000 && cp <= 0x3fffd))
                        w += 2;
                else
                        w += 1;
        }
        return w;
}

/* Adds one row of t->ncol cells (NULL prints as "-"). */
static void table_row(struct table *t, ...)
{
        va_list ap;

        va_start(ap, t);
        for (size_t i = 0; i < t->ncol; i++) {
                const char *v = va_arg(ap, const char *);
                GROW(t->cells, t->n, t->cap);
                t->cells[t->n++] = xstrdup(v ? v : "-");
        }
        va_end(ap);
}

static void table_print(struct table *t)
{
        size_t rows = t->ncol ? t->n / t->ncol : 0;
        _cleanup_free_ size_t *width = calloc(t->ncol ? t->ncol : 1, sizeof(*width));

        if (!width)
                return;
        for (size_t i = 0; i < t->n; i++)
                width[i % t->ncol] = MAX(width[i % t->ncol], display_width(t->cells[i]));
        for (size_t r = 0; r < rows; r++) {
                for (size_t c = 0; c < t->ncol; c++) {
                        const char *v = t->cells[r * t->ncol + c];
                        if (c + 1 == t->ncol)
                                printf("%s\n", v);
                        else
                                printf("%s%*s", v, (int)(width[c] - display_width(v) + 2), "");
                }
        }
}

static void table_done(struct table *t)
{
        for (size_t i = 0; i < t->n; i++)
                free(t->cells[i]);
        free(t->cells);
        *t = (struct table){ 0 };
}

static void print_json(cJSON *j)
{
        char *s = cJSON_Print(j);
        if (s)
                printf("%s\n", s);
        free(s);
}

/* "2026-11-30 20:00" in the campaign's time zone. */
static const char *format_minute(int64_t usec, char buf[static 32])
{
        time_t t = (time_t)(usec / USEC_PER_SEC);
        struct tm tm;

        if (!localtime_r(&t, &tm) || strftime(buf, 32, "%Y-%m-%d %H:%M", &tm) == 0)
                snprintf(buf, 32, "@%lld", (long long)t);
        return buf;
}

/* ---- roster who / roster gaps ---- */

static const char *duty_name(enum roster_duty_kind k)
{
        switch (k) {
        case ROSTER_DUTY_SHIFT:
                return "shift";
        case ROSTER_DUTY_OVERRIDE:
                return "override";
        case ROSTER_DUTY_NO_ROSTER:
                return "no_roster";
        case ROSTER_DUTY_FALLBACK:
                return "fallback";
        default:
                return "off";
        }
}

static cJSON *worker_json(const struct worker *w, const char *duty)
{
        cJSON *o = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "id", w->id);
        cJSON_AddStringToObject(o, "name", w->name ? w->name : "");
        if (duty)
                cJSON_AddStringToObject(o, "duty", duty);
        return o;
}

static int cmd_roster_who(struct ctl *ctl, int argc, char **argv)
{
        const char *household = NULL, *at = NULL;
        int64_t at_usec = now_realtime_usec();
        const struct household *h;
        const struct worker *leader;
        struct worker *const *command;
        size_t n_command;
        struct table t = { .ncol = 5 };
        _cleanup_json_ cJSON *root = NULL;
        cJSON *roles = NULL;
        char b[40];
        bool nobody = false;

        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "--household") == 0 && i + 1 < argc)
                        household = argv[++i];
                else if (strcmp(argv[i], "--at") == 0 && i + 1 < argc)
                        at = argv[++i];
                else
                        return usage();
        }
        if (!household)
                return usage();
        if (at && parse_rfc3339(at, &at_usec) < 0) {
                fprintf(stderr, "doorwatchctl: --at wants an RFC 3339 time such as "
                                "2026-11-30T22:00:00+08:00\n");
                return EXIT_USAGE;
        }
        if (load_config(ctl) < 0)
                return 1;
        h = config_household(ctl->config, household);
        if (!h) {
                fprintf(stderr, "doorwatchctl: unknown household \"%s\"\n", household);
                return 1;
        }
        if (ctl->json) {
                root = cJSON_CreateObject();
                cJSON_AddStringToObject(root, "household", h->id);
                cJSON_AddStringToObject(root, "community", h->community_id);
                cJSON_AddStringToObject(root, "address", h->address);
                cJSON_AddStringToObject(root, "at", format_rfc3339(at_usec, b));
                roles = cJSON_AddArrayToObject(root, "roles");
        } else {
                printf("%s  %s  (%s)  at %s\n\n", h->id, h->address, h->community_id,
                       format_rfc3339(at_usec, b));
                table_row(&t, "ROLE", "WORKER", "NAME", "REASON", "WHY");
        }
        for (int r = 0; r < TEAM_ROLES; r++) {
                const char *role = role_to_string((enum role)r);
                struct roster_answer ans;

                if (roster_resolve(ctl->config, h, (enum role)r, at_usec, &ans) < 0)
                        return 1;
                nobody = nobody || ans.n == 0;
                if (root) {
                        cJSON *o = cJSON_CreateObject(), *ws;
                        cJSON_AddStringToObject(o, "role", role);
                        cJSON_AddStringToObject(o, "reason", roster_reason_to_string(ans.reason));
                        cJSON_AddStringToObject(o, "text", ans.text);
                        ws = cJSON_AddArrayToObject(o, "workers");
                        for (size_t i = 0; i < ans.n; i++)
                                cJSON_AddItemToArray(
                                    ws, worker_json(ans.workers[i], duty_name(ans.duty[i].kind)));
                        cJSON_AddItemToArray(roles, o);
                        continue;
                }
                if (ans.n == 0)
                        table_row(&t, role, NULL, NULL, roster_reason_to_string(ans.reason),
                                  ans.text);
                for (size_t i = 0; i < ans.n; i++)
                        table_row(&t, role, ans.workers[i]->id, ans.workers[i]->name,
                                  roster_reason_to_string(ans.reason), i == 0 ? ans.text : "");
        }
        leader = roster_leader(h->community);
        command = roster_command(ctl->config, &n_command);
        if (root) {
                cJSON *cs;
                if (leader)
                        cJSON_AddItemToObject(root, "leader", worker_json(leader, NULL));
                else
                        cJSON_AddNullToObject(root, "leader");
                cs = cJSON_AddArrayToObject(root, "command");
                for (size_t i = 0; i < n_command; i++)
                        cJSON_AddItemToArray(cs, worker_json(command[i], NULL));
                print_json(root);
        } else {
                table_row(&t, "leader", leader ? leader->id : NULL, leader ? leader->name : NULL,
                          "leader", "community duty leader: escalation step \"leader\"");
                for (size_t i = 0; i < n_command; i++)
                        table_row(&t, "command", command[i]->id, command[i]->name, "command",
                                  "command centre: escalation step \"command\", reminders");
                table_print(&t);
                table_done(&t);
        }
        return nobody ? 1 : 0;
}

struct gap {
        enum role role;
        int64_t from_usec, to_usec;
};

struct gap_list {
        struct gap *v;
        size_t n, cap;
};

static int gap_collect(const struct community *cm, enum role role, int64_t from_usec,
                       int64_t to_usec, void *userdata)
{
        struct gap_list *gl = userdata;

        GROW(gl->v, gl->n, gl->cap);
        gl->v[gl->n++] = (struct gap){ role, from_usec, to_usec };
        return 0;
}

static int cmd_roster_gaps(struct ctl *ctl, int argc, char **argv)
{
        const char *community = NULL, *from = NULL;
        int64_t from_usec = now_realtime_usec();
        const struct community *cm;
        struct gap_list gl = { 0 };
        char b1[40], b2[40], len[32], *end;
        long days = ROSTER_CHECK_DAYS;
        int r;

        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "--community") == 0 && i + 1 < argc)
                        community = argv[++i];
                else if (strcmp(argv[i], "--days") == 0 && i + 1 < argc) {
                        errno = 0;
                        days = strtol(argv[++i], &end, 10);
                        if (errno || *end || end == argv[i] || days < 1 ||
                            days > ROSTER_GAPS_DAYS_MAX) {
                                fprintf(stderr, "doorwatchctl: --days wants 1..%d\n",
                                        ROSTER_GAPS_DAYS_MAX);
                                return EXIT_USAGE;
                        }
                } else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
                        from = argv[++i];
                else
                        return usage();
        }
        if (!community)
                return usage();
        if (from && parse_rfc3339(from, &from_usec) < 0) {
                fprintf(stderr, "doorwatchctl: --from wants an RFC 3339 time\n");
                return EXIT_USAGE;
        }
        if (load_config(ctl) < 0)
                return 1;
        cm = config_community(ctl->config, community);
        if (!cm) {
                fprintf(stderr, "doorwatchctl: unknown community \"%s\"\n", community);
                return 1;
        }
        r = roster_gaps(ctl->config, cm, from_usec, (int)days, gap_collect, &gl);
        if (r < 0) {
                fprintf(stderr, "doorwatchctl: roster gaps: %s\n", strerror(-r));
                free(gl.v);
                return 1;
        }
        if (ctl->json) {
                _cleanup_json_ cJSON *root = cJSON_CreateObject();
                cJSON *arr;

                cJSON_AddStringToObject(root, "community", cm->id);
                cJSON_AddStringToObject(root, "from", format_rfc3339(from_usec, b1));
                cJSON_AddNumberToObject(root, "days", (double)days);
                arr = cJSON_AddArrayToObject(root, "gaps");
                for (size_t i = 0; i < gl.n; i++) {
                        cJSON *o = cJSON_CreateObject();
                        cJSON_AddStringToObject(o, "role", role_to_string(gl.v[i].role));
                        cJSON_AddStringToObject(o, "from", format_rfc3339(gl.v[i].from_usec, b1));
                        cJSON_AddStringToObject(o, "to", format_rfc3339(gl.v[i].to_usec, b2));
                        cJSON_AddNumberToObject(
                            o, "seconds",
                            (double)((gl.v[i].to_usec - gl.v[i].from_usec) / USEC_PER_SEC));
                        cJSON_AddItemToArray(arr, o);
                }
                print_json(root);
        } else if (gl.n == 0) {
                printf("%s: every role covered from %s for %ld days\n", cm->id,
                       format_minute(from_usec, b1), days);
        } else {
                struct table t = { .ncol = 4 };

                table_row(&t, "ROLE", "FROM", "TO", "LENGTH");
                for (size_t i = 0; i < gl.n; i++) {
                        int64_t min = (gl.v[i].to_usec - gl.v[i].from_usec) / USEC_PER_MIN;
                        if (min % 60)
                                snprintf(len, sizeof(len), "%lldh%02lldm", (long long)(min / 60),
                                         (long long)(min % 60));
                        else
                                snprintf(len, sizeof(len), "%lldh", (long long)(min / 60));
                        table_row(&t, role_to_string(gl.v[i].role),
                                  format_minute(gl.v[i].from_usec, b1),
                                  format_minute(gl.v[i].to_usec, b2), len);
                }
                table_print(&t);
                table_done(&t);
        }
        r = gl.n > 0 ? 1 : 0; /* a gap is a failed check */
        free(gl.v);
        return r;
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
        cJSON_AddStringToObject(body, "worker", worker);
        cJSON_AddStringToObject(body, "household", household);
        return act(ctl, "/api/v1/checkins", body);
}

/* reading: a medical round's reading, checked by the daemon like a worker's own (a
 * temperature outside 34..43 °C, a household not in the worker's care: refused). */
static int cmd_reading(struct ctl *ctl, int argc, char **argv)
{
        const char *household = NULL, *worker = NULL, *temp = NULL, *symptoms = NULL, *note = NULL;
        _cleanup_json_ cJSON *body = cJSON_CreateObject();
        char *end;
        double t;

        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "--household") == 0 && i + 1 < argc)
                        household = argv[++i];
                else if (strcmp(argv[i], "--worker") == 0 && i + 1 < argc)
                        worker = argv[++i];
                else if (strcmp(argv[i], "--temperature") == 0 && i + 1 < argc)
                        temp = argv[++i];
                else if (strcmp(argv[i], "--symptoms") == 0 && i + 1 < argc)
                        symptoms = argv[++i];
                else if (strcmp(argv[i], "--note") == 0 && i + 1 < argc)
                        note = argv[++i];
                else
                        return usage();
        }
        if (!household || !worker || !temp)
                return usage();
        cJSON_AddStringToObject(body, "worker", worker);
        cJSON_AddStringToObject(body, "household", household);
        /* Not a number: the daemon says what it wants. */
        t = strtod(temp, &end);
        if (*temp && !*end)
                cJSON_AddNumberToObject(body, "temperature", t);
        else
                cJSON_AddStringToObject(body, "temperature", temp);
        if (symptoms) {
                cJSON *a = cJSON_AddArrayToObject(body, "symptoms");
                _cleanup_free_ char *copy = xstrdup(symptoms);
                char *save = NULL;
                for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
                        while (*p == ' ')
                                p++;
                        if (*p)
                                cJSON_AddItemToArray(a, cJSON_CreateString(p));
                }
        }
        if (note)
                cJSON_AddStringToObject(body, "note", note);
        return act(ctl, "/api/v1/readings", body);
}

static int cmd_pass_add(struct ctl *ctl, int argc, char **argv)
{
        const char *household = NULL, *worker = NULL, *from = NULL, *to = NULL, *reason = NULL;
        _cleanup_json_ cJSON *body = cJSON_CreateObject();

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
        /* The daemon checks the times (RFC 3339 or Unix seconds, --from before --to). */
        cJSON_AddStringToObject(body, "worker", worker);
        cJSON_AddStringToObject(body, "household", household);
        cJSON_AddStringToObject(body, "from", from);
        cJSON_AddStringToObject(body, "to", to);
        cJSON_AddStringToObject(body, "reason", reason);
        return act(ctl, "/api/v1/passes", body);
}

/* ---- resident links over the HTTP API ---- */

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

/* The arguments of `qr` and `worker link`: ID [--png FILE] [--revoke]. */
struct link_args {
        const char *id, *png;
        bool revoke;
};

static int parse_link_args(int argc, char **argv, struct link_args *a)
{
        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "--png") == 0 && i + 1 < argc)
                        a->png = argv[++i];
                else if (strcmp(argv[i], "--revoke") == 0)
                        a->revoke = true;
                else if (argv[i][0] != '-' && !a->id)
                        a->id = argv[i];
                else
                        return -EINVAL;
        }
        return a->id ? 0 : -EINVAL;
}

/* Asks the daemon for a new link at path (revoking the earlier ones with --revoke),
 * writes the PNG, prints the answer for --json. Returns the exit status; *ret_link (into
 * *ret_answer) is set when the caller is to print the link for people, NULL when all is
 * said. */
static int link_request(struct ctl *ctl, const char *path, const struct link_args *a,
                        cJSON **ret_answer, const char **ret_link)
{
        _cleanup_json_ cJSON *j = NULL;
        const cJSON *link;
        long status = 0;
        int r;

        *ret_link = NULL;
        r = api_post(ctl, path, a->revoke ? "{\"revoke\": true}" : "{}", &status, &j);
        if (r != 0)
                return r;
        link = cJSON_GetObjectItem(j, "url");
        if (status != 200 || !cJSON_IsString(link))
                return api_refused(ctl, status, j);
        if (a->png && write_png(a->png, link->valuestring) != 0)
                return 1;
        if (ctl->json) {
                if (a->png)
                        cJSON_AddStringToObject(j, "png", a->png);
                _cleanup_free_ char *out = cJSON_Print(j);
                printf("%s\n", out ? out : "");
                return 0;
        }
        *ret_link = link->valuestring;
        *ret_answer = j;
        j = NULL;
        return 0;
}

/* The link as text and as a QR code on the terminal, and where the PNG went. */
static int link_print(const struct link_args *a, const char *link)
{
        if (qr_print_utf8(stdout, link) < 0)
                return 1;
        if (a->png)
                printf("\nPNG written to %s\n", a->png);
        return 0;
}

static int cmd_qr(struct ctl *ctl, int argc, char **argv)
{
        struct link_args a = { 0 };
        _cleanup_json_ cJSON *j = NULL;
        const char *link;
        char path[512];
        int r;

        if (parse_link_args(argc, argv, &a) < 0)
                return usage();
        if (load_config(ctl) < 0)
                return 1;
        if (!config_household(ctl->config, a.id)) {
                fprintf(stderr, "doorwatchctl: unknown household \"%s\"\n", a.id);
                return 1;
        }
        if (api_path(path, sizeof(path), "/api/v1/households/", a.id, "/resident-link") < 0) {
                fprintf(stderr, "doorwatchctl: household id too long\n");
                return 1;
        }
        r = link_request(ctl, path, &a, &j, &link);
        if (r != 0 || !link)
                return r;
        printf("%s%s (generation %d)\n%s\n\n", a.revoke ? "earlier links revoked; " : "", a.id,
               cJSON_GetObjectItem(j, "generation")->valueint, link);
        return link_print(&a, link);
}

/* One line: which command is unknown (with its group's subcommand: "alerts frob"). */
static int unknown_command(int argc, char **argv)
{
        static const char *const groups[] = { "alerts", "roster", "notify",
                                              "pass",   "device", "worker" };
        bool group = false;

        for (size_t i = 0; i < ELEMENTSOF(groups); i++)
                group |= strcmp(argv[0], groups[i]) == 0;
        if (group && argc < 2)
                fprintf(stderr, "doorwatchctl: \"%s\" wants a subcommand (doorwatchctl --help)\n",
                        argv[0]);
        else
                fprintf(stderr, "doorwatchctl: unknown command \"%s%s%s\" (doorwatchctl --help)\n",
                        argv[0], group ? " " : "", group ? argv[1] : "");
        return EXIT_USAGE;
}

/* worker link W [--revoke] [--png FILE]: a link to the worker's own page (signed by the
 * daemon, which alone holds the link key), as text and a QR code. */
static int cmd_worker_link(struct ctl *ctl, int argc, char **argv)
{
        struct link_args a = { 0 };
        _cleanup_json_ cJSON *j = NULL;
        const char *link;
        char path[512], when[32];
        int r;

        if (parse_link_args(argc, argv, &a) < 0)
                return usage();
        if (load_config(ctl) < 0)
                return 1;
        if (!config_worker(ctl->config, a.id)) {
                fprintf(stderr, "doorwatchctl: unknown worker \"%s\"\n", a.id);
                return 1;
        }
        if (!ctl->config->http.public_url && !a.revoke) {
                fprintf(stderr,
                        "doorwatchctl: no link: http.public_url is not set in doorwatch.json; "
                        "a link needs the address under which workers' phones reach "
                        "doorwatchd (its TLS proxy)\n");
                return 1;
        }
        if (api_path(path, sizeof(path), "/api/v1/workers/", a.id, "/page-link") < 0) {
                fprintf(stderr, "doorwatchctl: worker id too long\n");
                return 1;
        }
        r = link_request(ctl, path, &a, &j, &link);
        if (r != 0 || !link)
                return r;
        printf("%s%s: own page (generation %d), valid until %s\n%s\n\n",
               a.revoke ? "earlier links revoked; " : "", a.id,
               cJSON_GetObjectItem(j, "generation")->valueint,
               format_local_time(
                   (int64_t)cJSON_GetObjectItem(j, "expires_at")->valuedouble * USEC_PER_SEC, when),
               link);
        return link_print(&a, link);
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
                        return usage_to(stdout, 0);
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
        else if (strcmp(argv[0], "roster") == 0 && argc >= 2 && strcmp(argv[1], "who") == 0)
                r = cmd_roster_who(&ctl, argc - 2, argv + 2);
        else if (strcmp(argv[0], "roster") == 0 && argc >= 2 && strcmp(argv[1], "gaps") == 0)
                r = cmd_roster_gaps(&ctl, argc - 2, argv + 2);
        else if (strcmp(argv[0], "events") == 0)
                r = cmd_events(&ctl, argc - 1, argv + 1);
        else if (strcmp(argv[0], "notify") == 0 && argc >= 2 && strcmp(argv[1], "list") == 0)
                r = cmd_notify_list(&ctl, argc - 2, argv + 2);
        else if (strcmp(argv[0], "notify") == 0 && argc >= 2 && strcmp(argv[1], "test") == 0)
                r = cmd_notify_test(&ctl, argc - 2, argv + 2);
        else if (strcmp(argv[0], "backup") == 0)
                r = cmd_backup(&ctl, argc - 1, argv + 1);
        else if (strcmp(argv[0], "device") == 0)
                r = cmd_device(&ctl, argc - 1, argv + 1);
        else if (strcmp(argv[0], "qr") == 0)
                r = cmd_qr(&ctl, argc - 1, argv + 1);
        else if (strcmp(argv[0], "checkin") == 0)
                r = cmd_checkin(&ctl, argc - 1, argv + 1);
        else if (strcmp(argv[0], "reading") == 0)
                r = cmd_reading(&ctl, argc - 1, argv + 1);
        else if (strcmp(argv[0], "worker") == 0 && argc >= 2 && strcmp(argv[1], "link") == 0)
                r = cmd_worker_link(&ctl, argc - 2, argv + 2);
        else if (strcmp(argv[0], "pass") == 0 && argc >= 2 && strcmp(argv[1], "add") == 0)
                r = cmd_pass_add(&ctl, argc - 2, argv + 2);
        else if (strcmp(argv[0], "pass") == 0 && argc >= 2 && strcmp(argv[1], "list") == 0)
                r = cmd_pass_list(&ctl, argc - 2, argv + 2);
        else if (strcmp(argv[0], "import") == 0)
                r = office_import(ctl.config_dir, ctl.json, argc - 1, argv + 1);
        else if (strcmp(argv[0], "export") == 0)
                r = office_export(ctl.config_dir, ctl.json, argc - 1, argv + 1);
        else if (strcmp(argv[0], "report") == 0)
                r = office_report(ctl.config_dir, ctl.json, argc - 1, argv + 1);
        else
                r = unknown_command(argc, argv);
        store_close(ctl.store);
        config_free(ctl.config);
        return r;
}

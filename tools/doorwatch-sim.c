/* doorwatch-sim: scenario player and MQTT helper for demos and tests.
 *
 *   doorwatch-sim [-H HOST] [-p PORT] play [--clock TIME] SCENARIO.json
 *   doorwatch-sim [-H HOST] [-p PORT] pub [-r] TOPIC PAYLOAD
 *   doorwatch-sim [-H HOST] [-p PORT] sub [-f] [-n COUNT] [-t SECONDS] TOPIC...
 *   doorwatch-sim bench [OPTIONS]     (load generator of `make bench`, see sim-bench.c)
 *   doorwatch-sim day [--households N] [--seed S] [--chatter P] [--repeat P] DIR
 *                                     (a simulated day, see sim-day.c: DIR gets the registry,
 *                                     day.json to play and alerts.txt, the clean day's alerts)
 *
 * A scenario is a JSON array of steps, played in order:
 *   {"at": 1.5, "topic": "doorwatch/v1/devices/d1/events", "payload": {...} | "text",
 *    "retain": false}
 *   {"at": 2, "device": "d1", "event": {"type": "door", "state": "open"}}   (native shorthand)
 *   {"at": 3, "worker": "w1", "command": "ack", "body": {...}}             (worker command)
 *   {"at": 4, "household": "H1", "report": {"reason": "garbage"}}           (resident report)
 * Any step may carry "say": "text", printed when the step is played; a step with only
 * "say" (and "at") is narration.
 * `at` is seconds after the start. In payloads, the string "$now" (or "$now+N", "$now-N",
 * seconds) becomes the Unix time of publication (+/- N) as a number, and "$id" a fresh
 * event id. --clock TIME (RFC 3339 or Unix seconds) plays the scenario as if it started at
 * TIME: "$now" is TIME plus the seconds played (a daemon with a large max_clock_skew judges
 * the events at those times, so a scenario can be played at any hour of the day). Every publish is
 * QoS 1 and the player waits for all PUBACKs before exiting. `sub` prints one JSON line per message
 * ({"topic", "payload", "retained"}) and stops after COUNT messages or SECONDS (default 10); with
 * -f, notifications are printed as one readable line each (worker, role, step/round, alert, text).
 * Exit status 0 on success, 1 on failure (broker unreachable, timeout before COUNT), 2 on usage
 * errors. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "command.h"
#include "config.h"
#include "mqtt_session.h"
#include "sim-bench.h"
#include "sim-day.h"
#include "topic.h"
#include "util.h"

static const char *host = "127.0.0.1";
static int port = 1883;
static const char *prefix = "doorwatch/v1";
static int pending_acks;
static int received, want_count = -1;
static bool human; /* sub -f: one readable line per notification */

static void on_publish(struct mosquitto *m, void *ud, int mid)
{
        pending_acks--;
}

static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
        _cleanup_json_ cJSON *line = cJSON_CreateObject();
        _cleanup_json_ cJSON *parsed = NULL;
        _cleanup_free_ char *text = NULL, *out = NULL;

        text = strndup(msg->payload ? msg->payload : "", (size_t)msg->payloadlen);
        parsed = cJSON_Parse(text);
        if (human && cJSON_IsString(cJSON_GetObjectItem(parsed, "text"))) {
                const cJSON *w = cJSON_GetObjectItem(parsed, "worker");
                const cJSON *role = cJSON_GetObjectItem(parsed, "role");
                const cJSON *step = cJSON_GetObjectItem(parsed, "step");
                const cJSON *round = cJSON_GetObjectItem(parsed, "round");
                const cJSON *alert = cJSON_GetObjectItem(parsed, "alert_id");
                printf("-> %-10s %-9s %s/%d  %s  %s\n", cJSON_IsString(w) ? w->valuestring : "?",
                       cJSON_IsString(role) ? role->valuestring : "",
                       cJSON_IsString(step) ? step->valuestring : "-",
                       cJSON_IsNumber(round) ? round->valueint : 0,
                       cJSON_IsString(alert) ? alert->valuestring : "",
                       cJSON_GetObjectItem(parsed, "text")->valuestring);
                fflush(stdout);
                received++;
                return;
        }
        cJSON_AddStringToObject(line, "topic", msg->topic);
        if (parsed) {
                cJSON_AddItemToObject(line, "payload", parsed);
                parsed = NULL;
        } else
                cJSON_AddStringToObject(line, "payload", text);
        cJSON_AddBoolToObject(line, "retained", msg->retain);
        out = cJSON_PrintUnformatted(line);
        printf("%s\n", out);
        fflush(stdout);
        received++;
}

static struct mosquitto *connect_broker(const char *client_id)
{
        const struct mqtt_config mc = { .host = (char *)host, .port = port };
        struct mosquitto *m;
        char why[256];

        if (mqtt_session_connect(&mc, NULL, client_id, NULL, 10 * USEC_PER_SEC, &m, why,
                                 sizeof(why)) != 0) {
                fprintf(stderr, "doorwatch-sim: %s\n", why);
                return NULL;
        }
        mosquitto_publish_callback_set(m, on_publish);
        mosquitto_message_callback_set(m, on_message);
        return m;
}

static double now_sec(void)
{
        return (double)now_realtime_usec() / 1e6;
}

/* Replaces "$now[+-N]" and "$id" strings in place, recursively. */
static void substitute(cJSON *j, double now)
{
        static unsigned long seq;
        for (cJSON *c = j ? j->child : NULL; c; c = c->next) {
                if (cJSON_IsString(c) && str_startswith(c->valuestring, "$now")) {
                        double off = atof(c->valuestring + 4);
                        /* In an object, by name: the replacement keeps the member's key. */
                        if (cJSON_IsObject(j))
                                cJSON_ReplaceItemInObjectCaseSensitive(
                                    j, c->string, cJSON_CreateNumber(now + off));
                        else
                                cJSON_ReplaceItemViaPointer(j, c, cJSON_CreateNumber(now + off));
                        return substitute(j, now);
                }
                if (cJSON_IsString(c) && strcmp(c->valuestring, "$id") == 0) {
                        char id[64];
                        snprintf(id, sizeof(id), "sim-%ld-%lu", (long)getpid(), ++seq);
                        cJSON_SetValuestring(c, id);
                }
                substitute(c, now);
        }
}

static int publish(struct mosquitto *m, const char *topic, const char *payload, bool retain)
{
        int rc = mosquitto_publish(m, NULL, topic, (int)strlen(payload), payload, 1, retain);
        if (rc != MOSQ_ERR_SUCCESS) {
                fprintf(stderr, "doorwatch-sim: publish to %s: %s\n", topic,
                        mosquitto_strerror(rc));
                return -EIO;
        }
        pending_acks++;
        return 0;
}

static int wait_acks(struct mosquitto *m, double timeout)
{
        double end = now_sec() + timeout;
        while (pending_acks > 0 && now_sec() < end)
                if (mosquitto_loop(m, 50, 1) != MOSQ_ERR_SUCCESS)
                        return -EIO;
        return pending_acks > 0 ? -ETIMEDOUT : 0;
}

static int play_step(struct mosquitto *m, cJSON *step, double now)
{
        const cJSON *topic = cJSON_GetObjectItem(step, "topic");
        const cJSON *device = cJSON_GetObjectItem(step, "device");
        const cJSON *worker = cJSON_GetObjectItem(step, "worker");
        const cJSON *household = cJSON_GetObjectItem(step, "household");
        cJSON *payload = cJSON_GetObjectItem(step, "payload");
        _cleanup_json_ cJSON *empty = NULL;
        char buf[512];
        _cleanup_free_ char *text = NULL;
        const char *t;

        if (cJSON_IsString(device)) {
                topic_format(buf, sizeof(buf), prefix, TOPIC_DEVICES, device->valuestring,
                             TOPIC_EVENTS);
                payload = cJSON_GetObjectItem(step, "event");
                t = buf;
        } else if (cJSON_IsString(worker)) {
                const cJSON *cmd = cJSON_GetObjectItem(step, "command");
                topic_format(buf, sizeof(buf), prefix, TOPIC_WORKERS, worker->valuestring,
                             cJSON_IsString(cmd) ? cmd->valuestring
                                                 : command_verb_to_string(COMMAND_ACK));
                payload = cJSON_GetObjectItem(step, "body");
                t = buf;
        } else if (cJSON_IsString(household)) {
                topic_format(buf, sizeof(buf), prefix, TOPIC_HOUSEHOLDS, household->valuestring,
                             command_verb_to_string(COMMAND_REPORT));
                payload = cJSON_GetObjectItem(step, "report");
                if (!payload)
                        payload = empty = cJSON_CreateObject();
                t = buf;
        } else if (cJSON_IsString(topic))
                t = topic->valuestring;
        else if (cJSON_IsString(cJSON_GetObjectItem(step, "say"))) {
                /* narration only */
                printf("%s\n", cJSON_GetObjectItem(step, "say")->valuestring);
                fflush(stdout);
                return 0;
        } else {
                fprintf(stderr, "doorwatch-sim: step without topic, device, worker, household or "
                                "say\n");
                return -EINVAL;
        }
        if (cJSON_IsString(payload))
                text = xstrdup(payload->valuestring);
        else if (payload) {
                substitute(payload, now);
                text = cJSON_PrintUnformatted(payload);
        } else
                text = xstrdup("");
        const cJSON *note = cJSON_GetObjectItem(step, "say");
        if (cJSON_IsString(note)) {
                printf("  %s\n", note->valuestring);
                fflush(stdout);
        }
        return publish(m, t, text, cJSON_IsTrue(cJSON_GetObjectItem(step, "retain")));
}

/* Seconds added to the real clock for "$now" (play --clock). */
static double clock_offset;

static int cmd_play(const char *file)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_json_ cJSON *steps = NULL;
        struct mosquitto *m;
        const cJSON *step;
        double start;
        int r;

        r = read_file(file, 16 * 1024 * 1024, &text, NULL);
        if (r < 0) {
                fprintf(stderr, "doorwatch-sim: %s: %s\n", file, strerror(-r));
                return 1;
        }
        steps = cJSON_Parse(text);
        if (!cJSON_IsArray(steps)) {
                fprintf(stderr, "doorwatch-sim: %s: not a JSON array of steps\n", file);
                return 1;
        }
        m = connect_broker(NULL);
        if (!m)
                return 1;
        start = now_sec();
        cJSON_ArrayForEach(step, steps)
        {
                const cJSON *at = cJSON_GetObjectItem(step, "at");
                double when = start + (cJSON_IsNumber(at) ? at->valuedouble : 0);
                while (now_sec() < when)
                        mosquitto_loop(m, (int)MIN(50.0, (when - now_sec()) * 1000 + 1), 1);
                if (play_step(m, (cJSON *)step, now_sec() + clock_offset) < 0) {
                        mqtt_session_close(m);
                        return 1;
                }
                mosquitto_loop(m, 0, 1);
        }
        r = wait_acks(m, 10);
        mqtt_session_close(m);
        if (r < 0) {
                fprintf(stderr, "doorwatch-sim: broker did not acknowledge every publish\n");
                return 1;
        }
        return 0;
}

static int cmd_pub(int argc, char **argv)
{
        bool retain = false;
        struct mosquitto *m;
        int r;

        if (argc > 0 && strcmp(argv[0], "-r") == 0) {
                retain = true;
                argc--;
                argv++;
        }
        if (argc != 2)
                return 2;
        m = connect_broker(NULL);
        if (!m)
                return 1;
        r = publish(m, argv[0], argv[1], retain);
        if (r == 0)
                r = wait_acks(m, 10);
        mqtt_session_close(m);
        return r < 0 ? 1 : 0;
}

static int cmd_sub(int argc, char **argv)
{
        double timeout = 10, end;
        struct mosquitto *m;
        int c;

        optind = 1;
        while ((c = getopt(argc, argv, "+fn:t:")) >= 0) {
                if (c == 'f')
                        human = true;
                else if (c == 'n')
                        want_count = atoi(optarg);
                else if (c == 't')
                        timeout = atof(optarg);
                else
                        return 2;
        }
        if (optind >= argc)
                return 2;
        m = connect_broker(NULL);
        if (!m)
                return 1;
        for (int i = optind; i < argc; i++)
                mosquitto_subscribe(m, NULL, argv[i], 1);
        end = now_sec() + timeout;
        while (now_sec() < end && (want_count < 0 || received < want_count))
                if (mosquitto_loop(m, 50, 1) != MOSQ_ERR_SUCCESS)
                        break;
        mqtt_session_close(m);
        return want_count >= 0 && received < want_count ? 1 : 0;
}

static int write_text(const char *dir, const char *name, const char *text)
{
        _cleanup_free_ char *path = path_join(dir, name);
        FILE *f = path ? fopen(path, "we") : NULL;
        int r;

        if (!f) {
                fprintf(stderr, "doorwatch-sim: %s/%s: %s\n", dir, name, strerror(errno));
                return -errno;
        }
        fputs(text, f);
        r = fclose(f) == 0 ? 0 : -errno;
        if (r < 0)
                fprintf(stderr, "doorwatch-sim: %s/%s: %s\n", dir, name, strerror(-r));
        return r;
}

/* The day's messages as a scenario for `play` (every step at once, in order). */
static char *day_scenario(const struct sim_day *d)
{
        cJSON *steps = cJSON_CreateArray();
        char *text;

        for (size_t i = 0; i < d->n_msgs; i++) {
                cJSON *step = cJSON_CreateObject();
                cJSON_AddStringToObject(step, "topic", d->msgs[i].topic);
                cJSON_AddStringToObject(step, "payload", d->msgs[i].payload);
                cJSON_AddItemToArray(steps, step);
        }
        text = cJSON_Print(steps);
        cJSON_Delete(steps);
        if (!text)
                abort();
        return text;
}

static int cmd_day(int argc, char **argv)
{
        static const struct option options[] = {
                { "households", required_argument, NULL, 'n' },
                { "seed", required_argument, NULL, 's' },
                { "chatter", required_argument, NULL, 'c' },
                { "repeat", required_argument, NULL, 'r' },
                {},
        };
        struct sim_day_opts o = { .households = 300, .seed = 1 };
        struct sim_day d;
        _cleanup_free_ char *scenario = NULL, *alerts = NULL;
        int c, r;

        optind = 1;
        while ((c = getopt_long(argc, argv, "+n:s:c:r:", options, NULL)) >= 0) {
                switch (c) {
                case 'n':
                        o.households = strtoul(optarg, NULL, 10);
                        break;
                case 's':
                        o.seed = strtoul(optarg, NULL, 10);
                        break;
                case 'c':
                        o.chatter = atof(optarg);
                        break;
                case 'r':
                        o.repeat = atof(optarg);
                        break;
                default:
                        return 2;
                }
        }
        if (optind + 1 != argc || o.households < 1 || o.households > 9999 || o.chatter < 0 ||
            o.chatter > 1 || o.repeat < 0 || o.repeat > 1)
                return 2;
        if (mkdir(argv[optind], 0755) < 0 && errno != EEXIST) {
                fprintf(stderr, "doorwatch-sim: %s: %s\n", argv[optind], strerror(errno));
                return 1;
        }
        sim_day_generate(&o, &d);
        scenario = day_scenario(&d);
        alerts = sim_day_alerts_text(&d);
        r = write_text(argv[optind], "workers.json", d.workers_json);
        if (r == 0)
                r = write_text(argv[optind], "households.json", d.households_json);
        if (r == 0)
                r = write_text(argv[optind], "rosters.json", d.rosters_json);
        if (r == 0)
                r = write_text(argv[optind], "day.json", scenario);
        if (r == 0)
                r = write_text(argv[optind], "alerts.txt", alerts);
        if (r == 0)
                printf("%zu households: %zu messages, %zu device events, %zu commands, %zu "
                       "openings (%zu with chatter), %zu alerts\n",
                       o.households, d.n_msgs, d.n_events, d.n_commands, d.n_openings,
                       d.n_chattering, d.n_alerts);
        sim_day_free(&d);
        return r < 0 ? 1 : 0;
}

static void usage(FILE *f)
{
        fprintf(f, "Usage: doorwatch-sim [-H HOST] [-p PORT] [-P PREFIX] play [--clock TIME] "
                   "SCENARIO.json\n"
                   "       doorwatch-sim [-H HOST] [-p PORT] pub [-r] TOPIC PAYLOAD\n"
                   "       doorwatch-sim [-H HOST] [-p PORT] sub [-f] [-n COUNT] [-t SECONDS] "
                   "TOPIC...\n"
                   "       doorwatch-sim bench [OPTIONS]   (doorwatch-sim bench --help)\n"
                   "       doorwatch-sim day [--households N] [--seed S] [--chatter P] "
                   "[--repeat P] DIR\n");
}

int main(int argc, char **argv)
{
        static const struct option options[] = {
                { "host", required_argument, NULL, 'H' },
                { "port", required_argument, NULL, 'p' },
                { "prefix", required_argument, NULL, 'P' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "+H:p:P:h", options, NULL)) >= 0) {
                switch (c) {
                case 'H':
                        host = optarg;
                        break;
                case 'p':
                        port = atoi(optarg);
                        break;
                case 'P':
                        prefix = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind >= argc) {
                usage(stderr);
                return 2;
        }
        const char *cmd = argv[optind];
        int r = 2;
        if (strcmp(cmd, "bench") == 0)
                return sim_bench_main(argc - optind, argv + optind);
        if (strcmp(cmd, "day") == 0)
                r = cmd_day(argc - optind, argv + optind);
        else if (strcmp(cmd, "play") == 0 && optind + 4 == argc &&
                 strcmp(argv[optind + 1], "--clock") == 0) {
                int64_t at;
                char *end;
                double sec = strtod(argv[optind + 2], &end);
                if (*end == 0 && sec > 0)
                        at = (int64_t)(sec * 1e6);
                else if (parse_rfc3339(argv[optind + 2], &at) < 0) {
                        fprintf(stderr,
                                "doorwatch-sim: --clock wants an RFC 3339 time or Unix "
                                "seconds, not \"%s\"\n",
                                argv[optind + 2]);
                        return 2;
                }
                clock_offset = (double)at / 1e6 - now_sec();
                r = cmd_play(argv[optind + 3]);
        } else if (strcmp(cmd, "play") == 0 && optind + 2 == argc)
                r = cmd_play(argv[optind + 1]);
        else if (strcmp(cmd, "pub") == 0)
                r = cmd_pub(argc - optind - 1, argv + optind + 1);
        else if (strcmp(cmd, "sub") == 0)
                r = cmd_sub(argc - optind, argv + optind);
        else {
                fprintf(stderr, "doorwatch-sim: unknown command \"%s\" (doorwatch-sim --help)\n",
                        cmd);
                return 2;
        }
        if (r == 2)
                usage(stderr);
        return r;
}

/* sim-bench.c: `doorwatch-sim bench`, the load generator of `make bench` (issue 9).
 *
 * For each registry size H it generates households, workers and rosters in a temporary
 * directory (households.d/ split per community, native door contacts and doorbells) and
 * then, each run against a fresh private mosquitto on loopback and, except for the ceiling,
 * a fresh doorwatchd with its database on disk:
 *   ceiling     the same publisher, subscriber and message mix, relayed by the broker alone
 *   normal/full N door events published at QoS 1 as fast as the broker takes them (a bounded
 *               number awaiting PUBACK), database_sync normal / full: events/s stored with
 *               a verdict (polled read-only: max(event.id)), notifications/s, daemon CPU
 *   latency     a fixed rate; publish -> notification latency from the event's ts, which is
 *               the send time, to the arrival of the notification carrying it as event_ts
 *   soak        the same at a fixed rate for --soak seconds, sampling the daemon's VmRSS and
 *               live alerts, while the notified workers acknowledge and resolve alerts
 * plus time to READY=1 (a NOTIFY_SOCKET we own), peak RSS (VmHWM) and database bytes per
 * million events. It prints a table and writes bench-<timestamp>.json with machine facts.
 *
 * Databases: every daemon run is made once on SQLite (a file) and once on PostgreSQL (a
 * fresh database of a private PostgreSQL 15 server this bench starts with tools/pg-server,
 * fsync on, on a Unix socket; its processes' CPU is counted apart), so the table has a
 * column per registry size and database, same rows, same run; the ceiling is measured
 * once per size. --backends sqlite leaves PostgreSQL out.
 *
 * Message mix: pairs of (open, closed) on one door. Every fifth pair is on a household whose
 * schedule has no visit now (an unexpected opening: 10 % of all events); the others are on
 * households inside a scheduled visit window. Each daemon run starts with a probe opening:
 * when the daemon does not judge it "expected" (rules without schedules), those openings
 * become closed events, so the mix stays 90 % expected-or-closed either way.
 *
 * The daemon runs with policy.chatter_settle "0s": a pair's close follows its open within
 * a millisecond, which with the default (300ms) is a contact's blip that raises nothing,
 * and an opening that stays open is alerted only once it has settled. The latency figure
 * is the daemon's own, beyond that settle.
 *
 * One thread drives both MQTT clients with ppoll(); payloads are formatted with snprintf and
 * notifications are scanned with memmem, so the generator stays cheap next to the daemon. */
#include "sim-bench.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench-pg.h"
#include "bench.h"
#include "hashmap.h"
#include "store.h"
#include "timerq.h"
#include "topic.h"
#include "util.h"

/* ---- one run: broker, daemon, clients ---- */

struct run {
        const struct opts *o;
        const struct registry *g;
        const char *name;
        char dir[PATH_MAX];
        char db[PATH_MAX + 32];
        char pg_name[64]; /* the run's PostgreSQL database, "" on SQLite */
        int port, http_port;
        pid_t broker, daemon;
        int notify_fd;
        double spawned, ready_at;
        bool ready, online;

        struct mosquitto *pub, *sub;
        bool pub_connected, sub_connected, subscribed;
        double last_misc;
        int error; /* a client lost its connection */

        enum mix mix;
        uint64_t published, acked;
        uint64_t received, notifications, escalations;
        double t_last_received, t_last_notification;
        bool collect_latency;
        double *lat_ms;
        size_t n_lat, cap_lat;

        struct store *ro; /* the daemon's database, read-only */

        /* Soak: the workers acknowledge and resolve alerts (see worker_notified()). */
        bool workers_act;
        struct hashmap *alerts;      /* alert id -> struct bench_alert, until resolved */
        struct timerq actions;       /* when to ack or resolve: index into acting */
        struct bench_alert **acting; /* alerts with an action scheduled (slots not reused) */
        size_t n_acting, cap_acting;
        unsigned seed;
        uint64_t acks, resolves, refused, notices;
};

static int start_broker(struct run *r)
{
        char conf[PATH_MAX + 32], log[PATH_MAX + 32], user[64] = "root";
        struct passwd *pw = getpwuid(getuid());
        FILE *f;

        if (pw)
                snprintf(user, sizeof(user), "%s", pw->pw_name);
        r->port = testbed_free_port();
        if (r->port < 0)
                return r->port;
        snprintf(conf, sizeof(conf), "%s/mosquitto.conf", r->dir);
        snprintf(log, sizeof(log), "%s/mosquitto.out", r->dir);
        f = fopen(conf, "we");
        if (!f)
                return -errno;
        /* As conf/mosquitto.conf, without authentication or persistence, and without a queue
         * limit: a run may publish far more than the daemon has taken yet. */
        fprintf(f,
                "listener %d 127.0.0.1\nallow_anonymous true\nuser %s\npersistence false\n"
                "max_queued_messages 0\nmax_inflight_messages 100\nset_tcp_nodelay true\n"
                "log_dest file %s/mosquitto.log\nlog_type error\nlog_type warning\n",
                r->port, user, r->dir);
        fclose(f);
        const char *argv[] = { r->o->broker, "-c", conf, NULL };
        r->broker = testbed_spawn(argv, log, NULL);
        if (r->broker < 0)
                return (int)r->broker;
        children[0] = r->broker;
        for (double end = mono() + 10; mono() < end; sleep_sec(0.01))
                if (testbed_port_open(r->port))
                        return 0;
        say("%s: mosquitto did not start (see %s)", r->name, log);
        return -ETIMEDOUT;
}

static int open_notify_socket(struct run *r, char *path, size_t size)
{
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        int fd;

        snprintf(path, size, "%s/notify.sock", r->dir);
        if (strlen(path) >= sizeof(a.sun_path)) {
                /* Long temporary paths: fall back to an abstract socket. */
                snprintf(path, size, "@doorwatch-bench-%ld-%p", (long)getpid(), (void *)r);
        }
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
        if (path[0] == '@')
                a.sun_path[0] = 0;
        if (bind(fd, (struct sockaddr *)&a,
                 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) +
                             (path[0] == '@' ? 0 : 1))) < 0) {
                int r_ = -errno;
                close(fd);
                return r_;
        }
        r->notify_fd = fd;
        return 0;
}

static int pump(struct run *r, double timeout_sec);

static int start_daemon(struct run *r)
{
        char log[PATH_MAX + 32], sock[PATH_MAX + 32];
        static char env_notify[PATH_MAX + 64];
        int e;

        e = open_notify_socket(r, sock, sizeof(sock));
        if (e < 0) {
                say("%s: notify socket: %s", r->name, strerror(-e));
                return e;
        }
        snprintf(env_notify, sizeof(env_notify), "NOTIFY_SOCKET=%s", sock);
        snprintf(log, sizeof(log), "%s/doorwatchd.log", r->dir);
        const char *argv[] = { r->o->daemon, "-c", r->g->conf, NULL };
        const char *env[] = { env_notify, NULL };
        r->spawned = mono();
        r->daemon = testbed_spawn(argv, log, env);
        if (r->daemon < 0)
                return (int)r->daemon;
        children[1] = r->daemon;
        for (double end = mono() + START_TIMEOUT_S; mono() < end && !(r->ready && r->online);) {
                if (pump(r, 0.05) < 0)
                        return -EIO;
                if (waitpid(r->daemon, NULL, WNOHANG) != 0) {
                        r->daemon = 0;
                        say("%s: doorwatchd exited during start (see %s)", r->name, log);
                        return -ECHILD;
                }
        }
        if (!r->ready || !r->online) {
                say("%s: doorwatchd not %s within %.0fs (see %s)", r->name,
                    r->ready ? "online" : "ready", START_TIMEOUT_S, log);
                return -ETIMEDOUT;
        }
        return 0;
}

/* ---- MQTT clients ---- */

static void on_connect(struct mosquitto *m, void *ud, int rc)
{
        struct run *r = ud;

        if (rc != 0)
                return;
        if (m == r->pub)
                r->pub_connected = true;
        else
                r->sub_connected = true;
}

static void on_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *granted)
{
        struct run *r = ud;
        r->subscribed = true;
}

/* PUBACKs of the device events (the workers' commands go out on the other client). */
static void on_publish(struct mosquitto *m, void *ud, int mid)
{
        struct run *r = ud;
        if (m == r->pub)
                r->acked++;
}

static bool topic_ends(const char *t, const char *suffix)
{
        size_t n = strlen(t), k = strlen(suffix);
        return n >= k && memcmp(t + n - k, suffix, k) == 0;
}

/* ---- workers acting on alerts (soak) ----
 *
 * Without anyone acknowledging, every alert of a soak stays open and escalates until the
 * end, which no campaign does. Here the notified workers act as the MQTT contract says
 * (DESIGN.md §4): for ACK_TEAM_SHARE of the alerts the team member who got the first
 * notification acknowledges it on <prefix>/workers/<id>/ack after ACK_DELAY_S; the others
 * escalate (BENCH_ACK_TIMEOUT) and whoever gets the escalation acknowledges after
 * ACK_ESCALATED_S. The one who acknowledged resolves the alert RESOLVE_DELAY_S later,
 * which takes it out of the daemon's memory: the live alert count levels off. */

enum notification_kind { NOTE_FIRST_STEP, NOTE_ESCALATION, NOTE_ACK_NOTICE };
enum { ACT_ACK, ACT_RESOLVE };

struct bench_alert {
        char id[48];
        char worker[64]; /* who acts */
        bool scheduled;  /* an ack is due, or was sent */
        size_t slot;     /* in run.acting while an action is scheduled, 0 = none */
};

/* libmosquitto NUL-terminates payloads. The first step of an alert is round 1 to the team;
 * escalations (ack_timeout later) and reminders carry the event's time too. */
static enum notification_kind notification_kind(const struct mosquitto_message *msg)
{
        size_t n = (size_t)msg->payloadlen;

        if (memmem(msg->payload, n, "\"kind\":\"ack_notice\"", 19))
                return NOTE_ACK_NOTICE;
        if (memmem(msg->payload, n, "\"round\":1,", 10) &&
            memmem(msg->payload, n, "\"step\":\"team\"", 13))
                return NOTE_FIRST_STEP;
        return NOTE_ESCALATION;
}

/* The string value of "key":"..." in a flat JSON payload, into buf; false if absent. */
static bool payload_string(const struct mosquitto_message *msg, const char *key, char *buf,
                           size_t size)
{
        char pat[64];
        const char *p, *end = (const char *)msg->payload + msg->payloadlen;
        size_t k = (size_t)snprintf(pat, sizeof(pat), "\"%s\":\"", key), i;

        p = memmem(msg->payload, (size_t)msg->payloadlen, pat, k);
        if (!p)
                return false;
        p += k;
        for (i = 0; p + i < end && p[i] != '"' && i + 1 < size; i++)
                buf[i] = p[i];
        buf[i] = 0;
        return p + i < end && p[i] == '"' && i > 0;
}

static double uniform(struct run *r, double lo, double hi)
{
        return lo + (hi - lo) * ((double)rand_r(&r->seed) / (double)RAND_MAX);
}

static void schedule_action(struct run *r, struct bench_alert *a, int what, double delay_s)
{
        if (a->slot == 0) {
                if (r->n_acting == r->cap_acting) {
                        size_t cap = r->cap_acting ? r->cap_acting * 2 : 1024;
                        struct bench_alert **p = realloc(r->acting, cap * sizeof(*p));
                        if (!p)
                                return;
                        r->acting = p;
                        r->cap_acting = cap;
                }
                if (r->n_acting == 0)
                        r->acting[r->n_acting++] = NULL; /* slot 0 means none */
                a->slot = r->n_acting;
                r->acting[r->n_acting++] = a;
        }
        timerq_push(&r->actions, now_monotonic_usec() + (int64_t)(delay_s * 1e6), (unsigned)what,
                    a->slot, 0);
}

/* A notification to a worker of the topic <prefix>/workers/<id>/notify. */
static void worker_notified(struct run *r, const struct mosquitto_message *msg,
                            enum notification_kind kind)
{
        char id[sizeof(((struct bench_alert *)0)->id)],
            w[sizeof(((struct bench_alert *)0)->worker)];
        const char *leaf;
        struct bench_alert *a;

        if (topic_parse(PREFIX, msg->topic, TOPIC_WORKERS, w, sizeof(w), &leaf) != 0 ||
            kind == NOTE_ACK_NOTICE || !payload_string(msg, "alert_id", id, sizeof(id)))
                return;
        a = hashmap_get(r->alerts, id);
        if (!a) {
                a = calloc(1, sizeof(*a));
                if (!a)
                        return;
                snprintf(a->id, sizeof(a->id), "%s", id);
                hashmap_put(r->alerts, a->id, a);
                /* The team lets the others escalate. */
                if (kind == NOTE_FIRST_STEP && uniform(r, 0, 1) >= ACK_TEAM_SHARE)
                        return;
        } else if (a->scheduled || kind == NOTE_FIRST_STEP)
                return; /* acted on already, or another team member's copy */
        snprintf(a->worker, sizeof(a->worker), "%s", w);
        a->scheduled = true;
        schedule_action(r, a, ACT_ACK,
                        kind == NOTE_FIRST_STEP ? uniform(r, ACK_DELAY_S)
                                                : uniform(r, ACK_ESCALATED_S));
}

static int send_command(struct run *r, const struct bench_alert *a, const char *verb)
{
        char topic[160], payload[160];
        int n, rc;

        topic_format(topic, sizeof(topic), PREFIX, TOPIC_WORKERS, a->worker, verb);
        n = snprintf(payload, sizeof(payload), "{\"alert_id\":\"%s\"%s}", a->id,
                     strcmp(verb, "resolve") == 0 ? ",\"note\":\"bench: door checked\"" : "");
        rc = mosquitto_publish(r->sub, NULL, topic, n, payload, 1, false);
        if (rc != MOSQ_ERR_SUCCESS) {
                say("%s: publish %s: %s", r->name, verb, mosquitto_strerror(rc));
                return -EIO;
        }
        return 0;
}

/* Sends the acks and resolves that are due. */
static int workers_act(struct run *r)
{
        struct timerq_entry t;

        while (timerq_pop_due(&r->actions, now_monotonic_usec(), &t)) {
                struct bench_alert *a = r->acting[t.index];

                if (t.type == ACT_ACK) {
                        if (send_command(r, a, "ack") < 0)
                                return -EIO;
                        r->acks++;
                        schedule_action(r, a, ACT_RESOLVE, uniform(r, RESOLVE_DELAY_S));
                } else {
                        if (send_command(r, a, "resolve") < 0)
                                return -EIO;
                        r->resolves++;
                        r->acting[t.index] = NULL;
                        hashmap_remove(r->alerts, a->id);
                        free(a);
                }
        }
        return 0;
}

static void workers_done(struct run *r)
{
        struct bench_alert *a;
        const char *key;
        size_t i = 0;

        while (r->alerts && hashmap_iterate(r->alerts, &i, &key, (void **)&a))
                free(a);
        r->alerts = hashmap_free(r->alerts);
        timerq_done(&r->actions);
        free(r->acting);
        r->acting = NULL;
        r->n_acting = r->cap_acting = 0;
}

static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
        struct run *r = ud;
        double now = mono();

        char id[64];
        const char *leaf;

        if (topic_ends(msg->topic, "/" TOPIC_NOTIFY)) {
                enum notification_kind kind;
                const char *p;

                r->notifications++;
                r->t_last_notification = now;
                if (!msg->payload)
                        return;
                kind = notification_kind(msg);
                if (kind == NOTE_ACK_NOTICE)
                        r->notices++;
                else if (kind == NOTE_ESCALATION)
                        r->escalations++;
                if (r->workers_act)
                        worker_notified(r, msg, kind);
                if (!r->collect_latency || kind != NOTE_FIRST_STEP)
                        return;
                p = memmem(msg->payload, (size_t)msg->payloadlen, "\"event_ts\":", 11);
                if (!p)
                        return;
                double ts = strtod(p + 11, NULL);
                if (ts <= 0)
                        return;
                GROW(r->lat_ms, r->n_lat, r->cap_lat);
                r->lat_ms[r->n_lat++] = ((double)now_realtime_usec() / 1e6 - ts) * 1e3;
        } else if (topic_ends(msg->topic, "/" TOPIC_RESULT)) {
                if (msg->payload &&
                    memmem(msg->payload, (size_t)msg->payloadlen, "\"ok\":false", 10))
                        r->refused++;
        } else if (topic_ends(msg->topic, "/" TOPIC_EVENTS)) {
                r->received++;
                r->t_last_received = now;
        } else if (topic_parse(PREFIX, msg->topic, TOPIC_DAEMON, id, sizeof(id), &leaf) == 0 &&
                   strcmp(leaf, TOPIC_STATUS) == 0 && msg->payloadlen == 6 &&
                   memcmp(msg->payload, "online", 6) == 0)
                r->online = true;
}

static struct mosquitto *client_new(struct run *r, const char *id)
{
        struct mosquitto *m = mosquitto_new(id, true, r);
        int rc;

        if (!m)
                return NULL;
        mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
        /* The run bounds what awaits a PUBACK itself; libmosquitto must not queue behind it. */
        mosquitto_max_inflight_messages_set(m, 0);
        mosquitto_connect_callback_set(m, on_connect);
        mosquitto_subscribe_callback_set(m, on_subscribe);
        mosquitto_publish_callback_set(m, on_publish);
        mosquitto_message_callback_set(m, on_message);
        rc = mosquitto_connect(m, "127.0.0.1", r->port, 60);
        if (rc != MOSQ_ERR_SUCCESS) {
                say("%s: cannot connect to the broker: %s", r->name, mosquitto_strerror(rc));
                mosquitto_destroy(m);
                return NULL;
        }
        return m;
}

/* Reads what the socket holds now (libmosquitto reads one packet per call when nothing of
 * ours awaits an acknowledgement). */
static int read_all(struct mosquitto *m)
{
        int fd = mosquitto_socket(m), avail = 0;

        for (int i = 0; i < 4096; i++) {
                int rc = mosquitto_loop_read(m, 1);
                if (rc != MOSQ_ERR_SUCCESS)
                        return rc;
                if (ioctl(fd, FIONREAD, &avail) < 0 || avail <= 0)
                        break;
        }
        return MOSQ_ERR_SUCCESS;
}

static void read_notify(struct run *r)
{
        char buf[4096];
        ssize_t n;

        while ((n = recv(r->notify_fd, buf, sizeof(buf) - 1, 0)) > 0) {
                buf[n] = 0;
                for (char *line = buf; line && *line;) {
                        char *nl = strchr(line, '\n');
                        if (nl)
                                *nl = 0;
                        if (strcmp(line, "READY=1") == 0 && !r->ready) {
                                r->ready = true;
                                r->ready_at = mono();
                        }
                        line = nl ? nl + 1 : NULL;
                }
        }
}

/* Waits up to timeout_sec for socket activity and handles it. */
static int pump(struct run *r, double timeout_sec)
{
        struct mosquitto *cl[2] = { r->pub, r->sub };
        struct pollfd p[3];
        struct mosquitto *who[3] = { NULL };
        struct timespec ts;
        nfds_t n = 0;
        double now;

        for (size_t i = 0; i < 2; i++) {
                if (!cl[i] || mosquitto_socket(cl[i]) < 0)
                        continue;
                who[n] = cl[i];
                p[n++] = (struct pollfd){ mosquitto_socket(cl[i]),
                                          POLLIN | (mosquitto_want_write(cl[i]) ? POLLOUT : 0), 0 };
        }
        if (r->notify_fd >= 0)
                p[n++] = (struct pollfd){ r->notify_fd, POLLIN, 0 };
        if (timeout_sec < 0)
                timeout_sec = 0;
        ts.tv_sec = (time_t)timeout_sec;
        ts.tv_nsec = (long)((timeout_sec - (double)ts.tv_sec) * 1e9);
        if (ppoll(p, n, &ts, NULL) < 0 && errno != EINTR)
                return -errno;
        for (nfds_t i = 0; i < n; i++) {
                int rc = MOSQ_ERR_SUCCESS;

                if (!who[i]) {
                        if (p[i].revents & POLLIN)
                                read_notify(r);
                        continue;
                }
                if (p[i].revents & (POLLIN | POLLERR | POLLHUP))
                        rc = read_all(who[i]);
                if (rc == MOSQ_ERR_SUCCESS && (p[i].revents & POLLOUT))
                        rc = mosquitto_loop_write(who[i], 1);
                if (rc != MOSQ_ERR_SUCCESS) {
                        say("%s: %s client: %s", r->name,
                            who[i] == r->pub ? "publishing" : "receiving", mosquitto_strerror(rc));
                        r->error = -EIO;
                        return -EIO;
                }
        }
        now = mono();
        if (now - r->last_misc >= 1.0) {
                r->last_misc = now;
                for (size_t i = 0; i < 2; i++)
                        if (cl[i])
                                mosquitto_loop_misc(cl[i]);
        }
        return 0;
}

static int connect_clients(struct run *r, const char *const *filters)
{
        char id[64];

        snprintf(id, sizeof(id), "bench-pub-%ld", (long)getpid());
        r->pub = client_new(r, id);
        snprintf(id, sizeof(id), "bench-sub-%ld", (long)getpid());
        r->sub = client_new(r, id);
        if (!r->pub || !r->sub)
                return -ECONNREFUSED;
        for (double end = mono() + 10; mono() < end && !(r->pub_connected && r->sub_connected);)
                if (pump(r, 0.05) < 0)
                        return -EIO;
        for (size_t i = 0; filters[i]; i++)
                mosquitto_subscribe(r->sub, NULL, filters[i], 1);
        for (double end = mono() + 10; mono() < end && !r->subscribed;)
                if (pump(r, 0.05) < 0)
                        return -EIO;
        if (!r->pub_connected || !r->sub_connected || !r->subscribed) {
                say("%s: the broker did not accept the clients", r->name);
                return -ETIMEDOUT;
        }
        return 0;
}

/* ---- the message mix ---- */

/* The seq-th event of a run (see the top of the file). */
static void mix_event(const struct run *r, uint64_t seq, size_t *ret_household,
                      const char **ret_state)
{
        uint64_t pair = seq / 2, n_even = (r->g->households + 1) / 2, n_odd = r->g->households / 2;
        bool unexpected = pair % 5 == 0;

        if (unexpected)
                *ret_household = (size_t)(2 * ((pair / 5) % n_odd) + 1);
        else
                *ret_household = (size_t)(2 * ((pair - pair / 5 - 1) % n_even));
        if (seq % 2)
                *ret_state = "closed";
        else
                *ret_state = unexpected || r->mix == MIX_SCHEDULE ? "open" : "closed";
}

static int publish_raw(struct run *r, size_t household, const char *id, const char *state)
{
        char device[32], topic[96], payload[160];
        int n, rc;

        snprintf(device, sizeof(device), "d%06zu-door", household);
        topic_format(topic, sizeof(topic), PREFIX, TOPIC_DEVICES, device, TOPIC_EVENTS);
        n = snprintf(payload, sizeof(payload),
                     "{\"id\":\"%s\",\"ts\":%.6f,\"type\":\"door\",\"state\":\"%s\"}", id,
                     (double)now_realtime_usec() / 1e6, state);
        rc = mosquitto_publish(r->pub, NULL, topic, n, payload, 1, false);
        if (rc != MOSQ_ERR_SUCCESS) {
                say("%s: publish: %s", r->name, mosquitto_strerror(rc));
                return -EIO;
        }
        return 0;
}

static int publish_next(struct run *r)
{
        char id[32];
        const char *state;
        size_t h;
        int e;

        mix_event(r, r->published, &h, &state);
        snprintf(id, sizeof(id), "e%llu", (unsigned long long)r->published);
        e = publish_raw(r, h, id, state);
        if (e == 0)
                r->published++;
        return e;
}

static uint64_t in_flight(const struct run *r)
{
        return r->published - r->acked;
}

/* ---- the database, read-only ---- */

static int64_t db_max_event(struct run *r)
{
        int64_t v;

        if (!r->ro && store_open(r->db, false, true, &r->ro) < 0)
                return -1;
        return store_last_event_id(r->ro, &v) < 0 ? -1 : v;
}

/* Events after since with this verdict. */
static int64_t db_count(struct run *r, int64_t since, const char *verdict)
{
        int64_t v;

        if (!r->ro && db_max_event(r) < 0)
                return -1;
        return store_count_events(r->ro, since, verdict, &v) < 0 ? -1 : v;
}

static int expected_cb(const struct store_event *e, void *userdata)
{
        *(bool *)userdata = str_eq(e->verdict, "expected");
        return 0;
}

/* Pumps until `want` events after `base` are stored, or the timeout. Returns the time the
 * last one was seen, or a negative errno. */
static int wait_stored(struct run *r, int64_t base, uint64_t want, double timeout_sec,
                       double *ret_at)
{
        double end = mono() + timeout_sec, next_poll = 0;
        int64_t have = 0;

        while (mono() < end) {
                if (pump(r, 0.002) < 0)
                        return -EIO;
                if (mono() < next_poll)
                        continue;
                next_poll = mono() + 0.01;
                have = db_max_event(r) - base;
                if (have >= (int64_t)want) {
                        *ret_at = mono();
                        return 0;
                }
                if (waitpid(r->daemon, NULL, WNOHANG) != 0) {
                        r->daemon = 0;
                        say("%s: doorwatchd died (see %s/doorwatchd.log)", r->name, r->dir);
                        return -ECHILD;
                }
        }
        say("%s: only %lld of %llu events stored within %.0fs", r->name, (long long)have,
            (unsigned long long)want, timeout_sec);
        return -ETIMEDOUT;
}

/* Pumps until no notification has arrived for SETTLE_S (bounded). */
static int wait_settled(struct run *r, double since)
{
        double end = mono() + 30;

        while (mono() < end && mono() - MAX(r->t_last_notification, since) < SETTLE_S)
                if (pump(r, 0.01) < 0)
                        return -EIO;
        return 0;
}

/* One opening of an expected household: does this daemon judge it expected? Decides the
 * mix, and leaves the door closed again. */
static int probe_mix(struct run *r)
{
        bool expected = false;
        double at;
        int e;

        if (r->o->mix != MIX_AUTO) {
                r->mix = r->o->mix;
                return 0;
        }
        e = publish_raw(r, 0, "probe-open", "open");
        if (e == 0)
                e = publish_raw(r, 0, "probe-closed", "closed");
        if (e == 0)
                e = wait_stored(r, 0, 2, 10, &at);
        if (e < 0)
                return e;
        /* Household 0's door, as publish_raw() names it. */
        if (store_get_event(r->ro, "d000000-door", "probe-open", expected_cb, &expected) < 0)
                return -EIO;
        r->mix = expected ? MIX_SCHEDULE : MIX_CLOSED;
        e = wait_settled(r, mono());
        r->notifications = 0;
        r->n_lat = 0;
        r->acked = r->published = 0;
        return e;
}

static bool bench_pg; /* the daemon runs of this column are on PostgreSQL */

/* The daemon's database as it grew: the file and its WAL, or PostgreSQL's database. */
static long long run_db_bytes(struct run *r)
{
        char sql[128];
        long long v = 0;

        if (!r->pg_name[0])
                return db_bytes(r->db);
        snprintf(sql, sizeof(sql), "SELECT pg_database_size('%s')", r->pg_name);
        return pg_admin(NULL, sql, &v) < 0 ? 0 : v;
}

static int run_begin(struct run *r, const struct opts *o, const struct registry *g,
                     const char *name, bool with_daemon, bool sync_full)
{
        static unsigned seq;
        char events[64], notify[64], result[64], status[64];
        const char *const ceiling_filters[] = { events, NULL };
        const char *const daemon_filters[] = { notify, result, status, NULL };
        int e;

        topic_format(events, sizeof(events), PREFIX, TOPIC_DEVICES, NULL, TOPIC_EVENTS);
        topic_format(notify, sizeof(notify), PREFIX, TOPIC_WORKERS, NULL, TOPIC_NOTIFY);
        topic_format(result, sizeof(result), PREFIX, TOPIC_WORKERS, NULL, TOPIC_RESULT);
        topic_format(status, sizeof(status), PREFIX, TOPIC_DAEMON, NULL, TOPIC_STATUS);

        *r = (struct run){ .o = o, .g = g, .name = name, .notify_fd = -1 };
        snprintf(r->dir, sizeof(r->dir), "%s/run-%u-%s", g->tmp, ++seq, name);
        snprintf(r->db, sizeof(r->db), "%s/state/doorwatch.db", r->dir);
        if (mkdir(r->dir, 0700) < 0)
                return -errno;
        if (with_daemon && bench_pg) {
                char sql[160];
                snprintf(r->pg_name, sizeof(r->pg_name), "dwb_%ld_%u", (long)getpid(), seq);
                snprintf(sql, sizeof(sql), "CREATE DATABASE %s OWNER doorwatch", r->pg_name);
                e = pg_admin(NULL, sql, NULL);
                if (e < 0) {
                        r->pg_name[0] = 0;
                        return e;
                }
                snprintf(r->db, sizeof(r->db), "postgresql://doorwatch@/%s?host=%s", r->pg_name,
                         pg_dir);
        }
        e = start_broker(r);
        if (e == 0)
                e = connect_clients(r, with_daemon ? daemon_filters : ceiling_filters);
        if (e == 0 && with_daemon) {
                e = write_daemon_conf(g, r->db, r->port, sync_full, &r->http_port);
                if (e == 0)
                        e = start_daemon(r);
                if (e == 0)
                        e = probe_mix(r);
        }
        return e;
}

static void run_end(struct run *r)
{
        if (r->pub) {
                mosquitto_disconnect(r->pub);
                mosquitto_destroy(r->pub);
        }
        if (r->sub) {
                mosquitto_disconnect(r->sub);
                mosquitto_destroy(r->sub);
        }
        r->pub = r->sub = NULL;
        r->ro = store_close(r->ro);
        if (stop_child(&r->daemon, SIGTERM) != 0)
                say("%s: doorwatchd did not exit cleanly (see %s/doorwatchd.log)", r->name, r->dir);
        children[1] = 0;
        stop_child(&r->broker, SIGTERM);
        children[0] = 0;
        if (r->notify_fd >= 0)
                close(r->notify_fd);
        r->notify_fd = -1;
        if (r->pg_name[0] && pg_script) { /* the caller's server keeps its databases */
                char sql[160];
                snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", r->pg_name);
                pg_admin(NULL, sql, NULL);
                r->pg_name[0] = 0;
        }
        free(r->lat_ms);
        r->lat_ms = NULL;
        workers_done(r);
}

/* Publishes `n` events, keeping at most o->inflight awaiting their PUBACK. */
static int publish_all(struct run *r, uint64_t n)
{
        while (r->published < n) {
                while (r->published < n && in_flight(r) < (uint64_t)r->o->inflight)
                        if (publish_next(r) < 0)
                                return -EIO;
                if (pump(r, in_flight(r) < (uint64_t)r->o->inflight ? 0 : 0.005) < 0)
                        return -EIO;
        }
        return 0;
}

static double timeout_for(uint64_t events, double rate_floor)
{
        return 30.0 + (double)events / rate_floor;
}

/* ---- the runs ---- */

static int run_ceiling(const struct opts *o, const struct registry *g, struct size_result *res)
{
        struct run r;
        double t0, cpu0, bcpu0;
        int e = run_begin(&r, o, g, "ceiling", false, false);

        if (e == 0) {
                cpu0 = self_cpu_sec();
                bcpu0 = proc_cpu_sec(r.broker);
                t0 = mono();
                e = publish_all(&r, (uint64_t)o->events);
                for (double end = mono() + timeout_for((uint64_t)o->events, 500);
                     e == 0 && r.received < (uint64_t)o->events && mono() < end;)
                        e = pump(&r, 0.01);
                if (e == 0 && r.received < (uint64_t)o->events) {
                        say("ceiling: only %llu of %ld messages relayed",
                            (unsigned long long)r.received, o->events);
                        e = -ETIMEDOUT;
                }
                if (e == 0) {
                        res->ceiling_done = true;
                        res->ceiling_per_s = (double)o->events / (r.t_last_received - t0);
                        res->ceiling_loadgen_cpu_us =
                            (self_cpu_sec() - cpu0) / (double)o->events * 1e6;
                        res->ceiling_broker_cpu_us =
                            (proc_cpu_sec(r.broker) - bcpu0) / (double)o->events * 1e6;
                }
        }
        run_end(&r);
        return e;
}

static void note_daemon(struct run *r, struct size_result *res)
{
        double ready = r->ready_at - r->spawned;
        long hwm = proc_status_kb(r->daemon, "VmHWM:");

        res->ready_sec_max = MAX(res->ready_sec_max, ready);
        res->ready_sec_min = res->ready_sec_min > 0 ? MIN(res->ready_sec_min, ready) : ready;
        res->hwm_kb = MAX(res->hwm_kb, hwm);
        res->mix = r->mix == MIX_SCHEDULE ? "schedule" : "closed";
}

static int run_throughput(const struct opts *o, const struct registry *g, bool sync_full,
                          struct size_result *res)
{
        struct tp_result *t = sync_full ? &res->full : &res->normal;
        uint64_t n = (uint64_t)o->events;
        struct run r;
        double t0, t_stored = 0, cpu0, bcpu0, cpu1, bcpu1, dcpu0 = 0;
        unsigned long long scr0 = 0, scw0 = 0, scr1 = 0, scw1 = 0;
        bool have_sc;
        long long size0;
        int64_t base;
        int e = run_begin(&r, o, g, sync_full ? "full" : "normal", true, sync_full);

        if (e < 0)
                goto out;
        base = db_max_event(&r);
        size0 = run_db_bytes(&r);
        cpu0 = proc_cpu_sec(r.daemon);
        bcpu0 = proc_cpu_sec(r.broker);
        if (r.pg_name[0])
                dcpu0 = pg_cpu_sec();
        have_sc = proc_syscalls(r.daemon, &scr0, &scw0);
        t0 = mono();
        e = publish_all(&r, n);
        if (e == 0)
                e = wait_stored(&r, base, n, timeout_for(n, sync_full ? 100 : 500), &t_stored);
        if (e == 0)
                e = wait_settled(&r, t_stored);
        if (e < 0)
                goto out;
        cpu1 = proc_cpu_sec(r.daemon);
        bcpu1 = proc_cpu_sec(r.broker);
        have_sc = have_sc && proc_syscalls(r.daemon, &scr1, &scw1);
        note_daemon(&r, res);
        *t = (struct tp_result){
                .done = true,
                .events = n,
                .notifications = r.notifications,
                .seconds = t_stored - t0,
                .events_per_s = (double)n / (t_stored - t0),
                .notif_per_s = r.notifications ? (double)r.notifications /
                                                     (MAX(r.t_last_notification, t_stored) - t0)
                                               : 0,
                .cpu_us_per_event = (cpu1 - cpu0) / (double)n * 1e6,
                .broker_cpu_us_per_event = (bcpu1 - bcpu0) / (double)n * 1e6,
                .db_cpu_us_per_event = r.pg_name[0] ? (pg_cpu_sec() - dcpu0) / (double)n * 1e6 : -1,
                .syscr_per_event = have_sc ? (double)(scr1 - scr0) / (double)n : -1,
                .syscw_per_event = have_sc ? (double)(scw1 - scw0) / (double)n : -1,
        };
        static const char *const verdicts[] = { "expected", "ignored", "alert" };
        for (size_t i = 0; i < 3; i++)
                t->verdicts[i] = db_count(&r, base, verdicts[i]);
        if (res->ceiling_done)
                t->ratio = t->events_per_s / res->ceiling_per_s;
        /* The daemon checkpoints and removes the WAL when it stops. */
        r.ro = store_close(r.ro);
        stop_child(&r.daemon, SIGTERM);
        children[1] = 0;
        t->db_bytes_per_m = (double)(run_db_bytes(&r) - size0) / (double)n * 1e6;
out:
        run_end(&r);
        return e;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

static double percentile(const double *sorted, size_t n, double p)
{
        size_t i;

        if (n == 0)
                return 0;
        i = (size_t)ceil(p * (double)n);
        return sorted[i > 0 ? i - 1 : 0];
}

/* A gauge of the daemon's /metrics (plain HTTP on loopback; the bench's configuration sets
 * http.metrics_public, so no token), or -1. */
static long daemon_gauge(const struct run *r, const char *name)
{
        struct sockaddr_in a = { .sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)r->http_port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        static const char req[] = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
        struct timeval tv = { .tv_sec = 2 };
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, cap = 0, nl = strlen(name);
        long v = -1;
        ssize_t k;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return -1;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
            send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(req) - 1) {
                close(fd);
                return -1;
        }
        do {
                if (cap - n < 4096) {
                        char *more = realloc(buf, 2 * cap + 16384 + 1);
                        if (!more)
                                break;
                        buf = more;
                        cap = 2 * cap + 16384;
                }
                k = recv(fd, buf + n, cap - n, 0);
                n += k > 0 ? (size_t)k : 0;
        } while (k > 0);
        close(fd);
        if (!buf)
                return -1;
        buf[n] = 0;
        for (const char *p = buf; (p = strstr(p, name)); p += nl)
                if (p > buf && p[-1] == '\n' && p[nl] == ' ') {
                        v = strtol(p + nl + 1, NULL, 10);
                        break;
                }
        return v;
}

/* Least-squares slope of (minutes, kB) samples. */
struct trend {
        double n, sx, sy, sxx, sxy;
};

static void trend_add(struct trend *t, double x, double y)
{
        t->n++;
        t->sx += x;
        t->sy += y;
        t->sxx += x * x;
        t->sxy += x * y;
}

static double trend_slope(const struct trend *t)
{
        double d = t->n * t->sxx - t->sx * t->sx;
        return t->n >= 2 && d > 0 ? (t->n * t->sxy - t->sx * t->sy) / d : 0;
}

/* One sample a second of a soak: VmRSS and the live alerts, counted after a tenth of the
 * run (warm-up: caches, the first alerts); a line on stderr every 30 s. */
static void soak_sample(struct run *r, struct soak_result *soak, double elapsed, struct trend *t)
{
        long rss = proc_status_kb(r->daemon, "VmRSS:");
        long live = daemon_gauge(r, "doorwatch_live_alerts");

        soak->rss_max_kb = MAX(soak->rss_max_kb, rss);
        soak->rss_end_kb = rss;
        soak->live_max = MAX(soak->live_max, live);
        soak->live_end = live;
        if (elapsed >= soak->seconds / 10) {
                if (soak->rss_start_kb == 0) {
                        soak->rss_start_kb = rss;
                        soak->live_start = live;
                }
                trend_add(t, elapsed / 60, (double)rss);
        }
        if ((long)elapsed % 30 == 0)
                say("%s: %.0f s, VmRSS %.1f MB, %ld live alerts, %llu acks, %llu resolves", r->name,
                    elapsed, (double)rss / 1024, live, (unsigned long long)r->acks,
                    (unsigned long long)r->resolves);
}

/* A fixed rate for `seconds`: latency of every notification, and (soak) VmRSS and live
 * alerts each second while the workers act on the alerts. */
static int run_paced(const struct opts *o, const struct registry *g, const char *name,
                     double seconds, struct lat_result *lat, struct soak_result *soak,
                     struct size_result *res)
{
        uint64_t total = (uint64_t)(o->rate * seconds), next_sample = 1;
        double t0, t_stored = 0, cpu0;
        struct trend trend = { 0 };
        struct run r;
        int64_t base;
        int e = run_begin(&r, o, g, name, true, false);

        if (e < 0)
                goto out;
        r.collect_latency = true;
        if (soak) {
                soak->seconds = seconds;
                r.workers_act = true;
                r.alerts = hashmap_new(1024);
                r.seed = 1;
        }
        base = db_max_event(&r);
        cpu0 = proc_cpu_sec(r.daemon);
        t0 = mono();
        while (r.published < total) {
                double now = mono();
                uint64_t due = MIN(total, (uint64_t)((now - t0) * o->rate) + 1);

                while (r.published < due && in_flight(&r) < (uint64_t)o->inflight)
                        if ((e = publish_next(&r)) < 0)
                                goto out;
                if (r.workers_act && (e = workers_act(&r)) < 0)
                        goto out;
                if (soak && now - t0 >= (double)next_sample) {
                        next_sample++;
                        soak_sample(&r, soak, now - t0, &trend);
                }
                if ((e = pump(&r, t0 + (double)r.published / o->rate - mono())) < 0)
                        goto out;
        }
        e = wait_stored(&r, base, total, timeout_for(total, 500), &t_stored);
        if (e == 0)
                e = wait_settled(&r, t_stored);
        if (e < 0)
                goto out;
        note_daemon(&r, res);
        if (r.n_lat == 0) {
                say("%s: no notification arrived", name);
                e = -ENODATA;
                goto out;
        }
        qsort(r.lat_ms, r.n_lat, sizeof(double), cmp_double);
        *lat = (struct lat_result){
                .done = true,
                .events = total,
                .samples = r.n_lat,
                .notifications = r.notifications,
                .escalations = r.escalations,
                .notices = r.notices,
                .rate = (double)total / (t_stored - t0),
                .p50_ms = percentile(r.lat_ms, r.n_lat, 0.50),
                .p99_ms = percentile(r.lat_ms, r.n_lat, 0.99),
                .max_ms = r.lat_ms[r.n_lat - 1],
                .cpu_us_per_event = (proc_cpu_sec(r.daemon) - cpu0) / (double)total * 1e6,
        };
        if (soak) {
                soak->done = true;
                soak->slope_kb_per_min = trend_slope(&trend);
                soak->acks = r.acks;
                soak->resolves = r.resolves;
                soak->refused = r.refused;
        }
out:
        run_end(&r);
        return e;
}

/* ---- command line ---- */

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: doorwatch-sim bench [OPTIONS]\n"
                "  -H, --households LIST   registry sizes, comma-separated (10000,100000)\n"
                "  -n, --events N          events per throughput and ceiling run (200000)\n"
                "  -r, --rate R            events/s of the latency and soak runs (2000)\n"
                "  -l, --latency SECONDS   length of the latency run (10)\n"
                "  -s, --soak SECONDS      length of the soak run, 0 = none (0)\n"
                "      --inflight N        publishes awaiting PUBACK at most (1000)\n"
                "      --devices 1|2       door contact (and doorbell) per household (2)\n"
                "      --runs LIST         ceiling,normal,full,latency,soak (all)\n"
                "      --mix MODE          auto, schedule or closed (auto)\n"
                "      --smoke             200 households, 2000 events, 1 s latency run\n"
                "  -o, --out DIR           where bench-<timestamp>.json goes (bench-out)\n"
                "      --daemon PATH       doorwatchd (next to this program)\n"
                "      --broker PATH       mosquitto (/usr/sbin/mosquitto)\n"
                "      --backends LIST     sqlite,postgresql (both when PostgreSQL 15 is there)\n"
                "      --pg-server PATH    the private server's script (tools/pg-server)\n"
                "  -k, --keep              keep the temporary directory\n");
}

static int parse_sizes(struct opts *o, const char *s)
{
        _cleanup_free_ char *copy = xstrdup(s);
        char *save = NULL;

        o->n_sizes = 0;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                char *end;
                unsigned long long v = strtoull(t, &end, 10);
                if (*end == 'k')
                        v *= 1000, end++;
                if (*end || v < 10 || v > 10000000 || o->n_sizes == MAX_SIZES)
                        return -EINVAL;
                o->sizes[o->n_sizes++] = (size_t)v;
        }
        return o->n_sizes ? 0 : -EINVAL;
}

static int parse_runs(struct opts *o, const char *s)
{
        static const char *const names[] = { "ceiling", "normal", "full", "latency", "soak" };
        _cleanup_free_ char *copy = xstrdup(s);
        char *save = NULL;

        o->runs = 0;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                size_t i;
                for (i = 0; i < ELEMENTSOF(names) && strcmp(t, names[i]) != 0; i++)
                        ;
                if (i == ELEMENTSOF(names))
                        return -EINVAL;
                o->runs |= 1u << i;
        }
        return 0;
}

static char self_dir[PATH_MAX];

static const char *default_daemon(void)
{
        static char path[PATH_MAX + 16];
        ssize_t n = readlink("/proc/self/exe", self_dir, sizeof(self_dir) - 1);

        if (n <= 0)
                return "build/doorwatchd";
        self_dir[n] = 0;
        *strrchr(self_dir, '/') = 0;
        snprintf(path, sizeof(path), "%s/doorwatchd", self_dir);
        return path;
}

int sim_bench_main(int argc, char **argv)
{
        enum {
                OPT_INFLIGHT = 256,
                OPT_DEVICES,
                OPT_RUNS,
                OPT_MIX,
                OPT_SMOKE,
                OPT_DAEMON,
                OPT_BROKER,
                OPT_BACKENDS,
                OPT_PG_SERVER
        };
        static const struct option longopts[] = {
                { "households", required_argument, NULL, 'H' },
                { "events", required_argument, NULL, 'n' },
                { "rate", required_argument, NULL, 'r' },
                { "latency", required_argument, NULL, 'l' },
                { "soak", required_argument, NULL, 's' },
                { "inflight", required_argument, NULL, OPT_INFLIGHT },
                { "devices", required_argument, NULL, OPT_DEVICES },
                { "runs", required_argument, NULL, OPT_RUNS },
                { "mix", required_argument, NULL, OPT_MIX },
                { "smoke", no_argument, NULL, OPT_SMOKE },
                { "out", required_argument, NULL, 'o' },
                { "daemon", required_argument, NULL, OPT_DAEMON },
                { "broker", required_argument, NULL, OPT_BROKER },
                { "backends", required_argument, NULL, OPT_BACKENDS },
                { "pg-server", required_argument, NULL, OPT_PG_SERVER },
                { "keep", no_argument, NULL, 'k' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        struct opts o = {
                .sizes = { 10000, 100000 },
                .n_sizes = 2,
                .events = 200000,
                .rate = 2000,
                .latency_sec = 10,
                .soak_sec = 0,
                .inflight = 1000,
                .devices = 2,
                .runs = RUN_CEILING | RUN_NORMAL | RUN_FULL | RUN_LATENCY | RUN_SOAK,
                .out_dir = "bench-out",
                .broker = "/usr/sbin/mosquitto",
                .sqlite = true,
                .pg = true,
                .pg_server = "tools/pg-server",
        };
        struct size_result results[2 * MAX_SIZES] = { 0 };
        bool backends_given = false;
        size_t n_res = 0;
        struct registry g = { 0 };
        struct machine m;
        char json_path[PATH_MAX];
        const char *tmpdir = getenv("TMPDIR");
        int c, e = 0;

        o.daemon = default_daemon();
        optind = 1;
        while ((c = getopt_long(argc, argv, "H:n:r:l:s:o:kh", longopts, NULL)) >= 0) {
                switch (c) {
                case 'H':
                        if (parse_sizes(&o, optarg) < 0) {
                                say("bad --households %s (10..10000000, comma-separated)", optarg);
                                return 2;
                        }
                        break;
                case 'n':
                        o.events = atol(optarg);
                        break;
                case 'r':
                        o.rate = atof(optarg);
                        break;
                case 'l':
                        o.latency_sec = atof(optarg);
                        break;
                case 's':
                        o.soak_sec = atof(optarg);
                        break;
                case OPT_INFLIGHT:
                        o.inflight = atoi(optarg);
                        break;
                case OPT_DEVICES:
                        o.devices = atoi(optarg);
                        break;
                case OPT_RUNS:
                        if (parse_runs(&o, optarg) < 0) {
                                say("bad --runs %s", optarg);
                                return 2;
                        }
                        break;
                case OPT_MIX:
                        if (strcmp(optarg, "auto") == 0)
                                o.mix = MIX_AUTO;
                        else if (strcmp(optarg, "schedule") == 0)
                                o.mix = MIX_SCHEDULE;
                        else if (strcmp(optarg, "closed") == 0)
                                o.mix = MIX_CLOSED;
                        else {
                                say("bad --mix %s", optarg);
                                return 2;
                        }
                        break;
                case OPT_SMOKE:
                        o.sizes[0] = 200;
                        o.n_sizes = 1;
                        o.events = 2000;
                        o.latency_sec = 1;
                        break;
                case 'o':
                        o.out_dir = optarg;
                        break;
                case OPT_DAEMON:
                        o.daemon = optarg;
                        break;
                case OPT_BROKER:
                        o.broker = optarg;
                        break;
                case OPT_BACKENDS:
                        o.sqlite = strstr(optarg, "sqlite") != NULL;
                        o.pg = strstr(optarg, "postgresql") != NULL;
                        backends_given = true;
                        if (!o.sqlite && !o.pg) {
                                say("bad --backends %s (sqlite,postgresql)", optarg);
                                return 2;
                        }
                        break;
                case OPT_PG_SERVER:
                        o.pg_server = optarg;
                        break;
                case 'k':
                        o.keep = true;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind != argc || o.events < 10 || o.rate <= 0 || o.inflight < 1 ||
            (o.devices != 1 && o.devices != 2) || o.latency_sec <= 0 || o.soak_sec < 0) {
                usage(stderr);
                return 2;
        }
        if (o.soak_sec == 0)
                o.runs &= ~(unsigned)RUN_SOAK;
        if (access(o.daemon, X_OK) < 0 || access(o.broker, X_OK) < 0) {
                say("need %s and %s (make; apt-get install mosquitto)", o.daemon, o.broker);
                return 1;
        }
        if (o.pg && (access(o.pg_server, X_OK) < 0 ||
                     access("/usr/lib/postgresql/15/bin/initdb", X_OK) < 0)) {
                if (backends_given) {
                        say("need %s and PostgreSQL 15 (tools/install-deps)", o.pg_server);
                        return 1;
                }
                say("PostgreSQL column left out: no %s or PostgreSQL 15 (tools/install-deps)",
                    o.pg_server);
                o.pg = false;
        }
        if (timezone_set(TIMEZONE) < 0) {
                say("no zoneinfo for " TIMEZONE " (apt-get install tzdata)");
                return 1;
        }
        signal(SIGPIPE, SIG_IGN);
        signal(SIGINT, on_fatal_signal);
        signal(SIGTERM, on_fatal_signal);
        mosquitto_lib_init();
        machine_facts(&o, &m);
        snprintf(g.tmp, sizeof(g.tmp), "%s/doorwatch-bench-XXXXXX",
                 tmpdir && *tmpdir ? tmpdir : "/tmp");
        if (!mkdtemp(g.tmp)) {
                say("mkdtemp %s: %s", g.tmp, strerror(errno));
                return 1;
        }
        pg_script = o.pg_server;
        if (o.pg && getenv("DOORWATCH_BENCH_PG")) {
                /* A server of the caller's (tools/pg-server start DIR), kept running. */
                snprintf(pg_dir, sizeof(pg_dir), "%s", getenv("DOORWATCH_BENCH_PG"));
                pg_script = NULL;
        } else if (o.pg) {
                snprintf(pg_dir, sizeof(pg_dir), "%s/doorwatch-bench-pg-XXXXXX",
                         tmpdir && *tmpdir ? tmpdir : "/tmp");
                if (!mkdtemp(pg_dir) || pg_server("start") < 0) {
                        say("cannot start a private PostgreSQL server in %s", pg_dir);
                        pg_dir[0] = 0;
                        e = -EIO;
                }
        }
        for (size_t i = 0; i < o.n_sizes && e == 0; i++) {
                struct size_result base;
                double t = mono();

                say("%zu households: generating the registry", o.sizes[i]);
                e = gen_registry(&g, o.sizes[i], o.devices);
                if (e < 0)
                        break;
                base = (struct size_result){ .households = g.households,
                                             .devices = g.devices,
                                             .workers = g.workers,
                                             .communities = g.communities,
                                             .gen_sec = mono() - t };
                if (e == 0 && (o.runs & RUN_CEILING)) {
                        say("%zu households: ceiling, %ld messages through the broker alone",
                            o.sizes[i], o.events);
                        e = run_ceiling(&o, &g, &base);
                }
                for (int b = 0; b < 2 && e == 0; b++) {
                        struct size_result *res;
                        const char *db = b ? "postgresql" : "sqlite";

                        if (!(b ? o.pg : o.sqlite))
                                continue;
                        res = &results[n_res++];
                        *res = base;
                        res->database = db;
                        bench_pg = b == 1;
                        if (e == 0 && (o.runs & RUN_NORMAL)) {
                                say("%zu households, %s: throughput, %ld events, database_sync "
                                    "normal",
                                    o.sizes[i], db, o.events);
                                e = run_throughput(&o, &g, false, res);
                        }
                        if (e == 0 && (o.runs & RUN_FULL)) {
                                say("%zu households, %s: throughput, %ld events, database_sync "
                                    "full",
                                    o.sizes[i], db, o.events);
                                e = run_throughput(&o, &g, true, res);
                        }
                        if (e == 0 && (o.runs & RUN_LATENCY)) {
                                say("%zu households, %s: latency, %.0f events/s for %.0fs",
                                    o.sizes[i], db, o.rate, o.latency_sec);
                                e = run_paced(&o, &g, "latency", o.latency_sec, &res->lat, NULL,
                                              res);
                        }
                        if (e == 0 && (o.runs & RUN_SOAK)) {
                                say("%zu households, %s: soak, %.0f events/s for %.0fs", o.sizes[i],
                                    db, o.rate, o.soak_sec);
                                e = run_paced(&o, &g, "soak", o.soak_sec, &res->soak.lat,
                                              &res->soak, res);
                        }
                }
        }
        if (pg_dir[0] && pg_script) {
                pg_server("stop");
                pg_dir[0] = 0;
        }
        print_table(&o, &m, results, n_res);
        if (write_json(&o, &m, results, n_res, json_path, sizeof(json_path)) == 0)
                printf("wrote %s\n", json_path);
        else if (e == 0)
                e = -EIO;
        if (o.keep || e < 0)
                say("temporary files kept in %s", g.tmp);
        else
                testbed_rm_rf(g.tmp);
        mosquitto_lib_cleanup();
        return e < 0 ? 1 : 0;
}

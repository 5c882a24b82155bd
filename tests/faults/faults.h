/* faults.h: what the fault tests share (tests/faults/fault-*.c, run by tests/faults/run).
 *
 * Each fault test drives the real doorwatchd and mosquitto through the integration harness
 * and ends with one line of figures, "fault NAME: sent N stored N duplicated N alerts N
 * notifications N lost N", where sent counts the events the broker acknowledged to the
 * publisher (it took them over), stored the distinct events of the run in the database,
 * duplicated the rows beyond one per (device, id), alerts the alerts raised, notifications
 * the outbox rows, and lost = sent - stored. Random choices come from a seeded generator
 * (FAULT_SEED, printed), so a failing run can be repeated. Header-only: each test is one
 * file. */
#pragma once

#include <arpa/inet.h>
#include <errno.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* A publisher of its own: counts the PUBACKs of its QoS 1 messages. */
struct pub {
        struct mosquitto *m;
        uint64_t published, acked;
};

static inline void pub_on_publish(struct mosquitto *m, void *userdata, int mid)
{
        struct pub *p = userdata;
        p->acked++;
}

static inline void pub_start(struct pub *p, struct harness *h)
{
        mosquitto_lib_init();
        p->m = mosquitto_new(NULL, true, p);
        if (!p->m)
                abort();
        mosquitto_max_inflight_messages_set(p->m, 100);
        mosquitto_publish_callback_set(p->m, pub_on_publish);
        if (mosquitto_connect(p->m, "127.0.0.1", h->port, 30) != MOSQ_ERR_SUCCESS) {
                fprintf(stderr, "fault: publisher cannot connect\n");
                exit(1);
        }
}

/* Runs the publisher's network loop for up to ms, reconnecting when needed. */
static inline void pub_pump(struct pub *p, int ms)
{
        int rc = mosquitto_loop(p->m, ms, 1);
        if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST) {
                if (mosquitto_reconnect(p->m) != MOSQ_ERR_SUCCESS)
                        usleep(20000);
        }
}

static inline void pub_send(struct pub *p, const char *topic, const char *payload)
{
        mosquitto_publish(p->m, NULL, topic, (int)strlen(payload), payload, 1, false);
        p->published++;
        if (p->published % 50 == 0)
                pub_pump(p, 0);
}

/* Until every message is acknowledged by the broker (bounded by the clock: a loop call may
 * return at once, e.g. for libmosquitto's own wake-up pipe). */
static inline bool pub_flush(struct pub *p, int timeout_ms)
{
        double end = h_now() + timeout_ms / 1000.0;

        while (p->acked < p->published && h_now() < end)
                pub_pump(p, 10);
        return p->acked >= p->published;
}

static inline void pub_stop(struct pub *p)
{
        mosquitto_disconnect(p->m);
        mosquitto_destroy(p->m);
}

/* A door event of device with id, open or closed. */
static inline void door(struct pub *p, const char *device, const char *id, bool open)
{
        char topic[160], payload[256];

        snprintf(topic, sizeof(topic), "doorwatch/v1/devices/%s/events", device);
        snprintf(payload, sizeof(payload),
                 "{\"id\": \"%s\", \"ts\": %.3f, \"type\": \"door\", \"state\": \"%s\"}", id,
                 h_now(), open ? "open" : "closed");
        pub_send(p, topic, payload);
}

/* xorshift64*, seeded from FAULT_SEED or the given default (printed). */
static uint64_t fault_rng;

static inline void fault_seed(const char *name, uint64_t dflt)
{
        const char *s = getenv("FAULT_SEED");
        fault_rng = s && *s ? strtoull(s, NULL, 0) : dflt;
        if (!fault_rng)
                fault_rng = 1;
        printf("fault %s: seed %llu (FAULT_SEED repeats a run)\n", name,
               (unsigned long long)fault_rng);
        fflush(stdout);
}

static inline uint64_t fault_rand(uint64_t n)
{
        fault_rng ^= fault_rng >> 12;
        fault_rng ^= fault_rng << 25;
        fault_rng ^= fault_rng >> 27;
        return (fault_rng * 2685821657736338717ULL) % n;
}

struct figures {
        uint64_t sent;
        int64_t stored, duplicated, alerts, notifications, lost;
};

/* The figures of the events whose id starts with like_prefix. */
static inline struct figures fault_figures(struct harness *h, uint64_t sent,
                                           const char *like_prefix)
{
        struct figures f = { .sent = sent };

        f.stored = h_db_int(h,
                            "SELECT count(DISTINCT device || '/' || uid) FROM event WHERE uid "
                            "LIKE '%s%%'",
                            like_prefix);
        f.duplicated =
            h_db_int(h, "SELECT count(*) FROM event WHERE uid LIKE '%s%%'", like_prefix) - f.stored;
        f.alerts = h_db_int(h, "SELECT count(*) FROM alert");
        f.notifications = h_db_int(h, "SELECT count(*) FROM notification");
        f.lost = (int64_t)sent - f.stored;
        return f;
}

static inline void fault_print(const char *name, const struct figures *f, const char *extra_fmt,
                               ...)
{
        char extra[512] = "";
        va_list ap;

        if (extra_fmt) {
                va_start(ap, extra_fmt);
                vsnprintf(extra, sizeof(extra), extra_fmt, ap);
                va_end(ap);
        }
        printf("fault %s: sent %llu stored %lld duplicated %lld alerts %lld notifications %lld "
               "lost %lld%s%s\n",
               name, (unsigned long long)f->sent, (long long)f->stored, (long long)f->duplicated,
               (long long)f->alerts, (long long)f->notifications, (long long)f->lost,
               *extra ? "; " : "", extra);
        fflush(stdout);
}

/* The harness directory of the run, named when it fails (it is kept then). */
static const char *fault_dir;
static struct harness *fault_harness;

/* A failed or killed run leaves no daemon or broker behind. */
static inline void fault_kill_children(void)
{
        if (!fault_harness)
                return;
        if (fault_harness->daemon_pid > 0)
                kill(fault_harness->daemon_pid, SIGKILL);
        if (fault_harness->broker_pid > 0)
                kill(fault_harness->broker_pid, SIGKILL);
}

static inline void fault_on_signal(int sig)
{
        fault_kill_children();
        _exit(128 + sig);
}

/* Call after h_init(): names the directory, cleans up on exit and on SIGTERM (timeout). */
static inline void fault_start(const char *name, struct harness *h)
{
        fault_dir = h->dir;
        fault_harness = h;
        atexit(fault_kill_children);
        signal(SIGTERM, fault_on_signal);
        signal(SIGINT, fault_on_signal);
        printf("fault %s: in %s\n", name, h->dir);
        fflush(stdout);
}

static inline int fault_fail(const char *name, const char *fmt, ...)
{
        va_list ap;

        printf("fault %s: FAILED: ", name);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf(" (see %s)\n", fault_dir ? fault_dir : "?");
        fflush(stdout);
        return 1;
}

/* The status code of GET path on the daemon's HTTP server, or -1. */
static inline int http_status(struct harness *h, const char *path)
{
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)h->http_port) };
        char req[256], buf[64] = "";
        int fd = socket(AF_INET, SOCK_STREAM, 0), code = -1;
        struct timeval tv = { .tv_sec = 2 };

        if (fd < 0)
                return -1;
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
                int n = snprintf(req, sizeof(req),
                                 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                                 path);
                if (write(fd, req, (size_t)n) == n && read(fd, buf, sizeof(buf) - 1) > 12)
                        code = atoi(buf + 9);
        }
        close(fd);
        return code;
}

/* The daemon's log (doorwatchd.log in the harness directory) contains text. */
static inline bool daemon_log_has(struct harness *h, const char *text)
{
        char path[512], line[4096];
        bool found = false;
        FILE *f;

        snprintf(path, sizeof(path), "%s/doorwatchd.log", h->dir);
        f = fopen(path, "r");
        while (f && !found && fgets(line, sizeof(line), f))
                found = strstr(line, text) != NULL;
        if (f)
                fclose(f);
        return found;
}

/* Lines of the daemon's log containing text. */
static inline size_t daemon_log_count(struct harness *h, const char *text)
{
        char path[512], line[4096];
        size_t n = 0;
        FILE *f;

        snprintf(path, sizeof(path), "%s/doorwatchd.log", h->dir);
        f = fopen(path, "r");
        while (f && fgets(line, sizeof(line), f))
                n += strstr(line, text) != NULL;
        if (f)
                fclose(f);
        return n;
}

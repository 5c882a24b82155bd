/* bench.h: what the files of `doorwatch-sim bench` share (sim-bench.c the runs and the
 * command line; bench-util.c processes, /proc figures, the private PostgreSQL server and
 * the machine's facts; bench-registry.c the generated configuration; bench-report.c the
 * table and the JSON). Private to tools/. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "testbed.h"

#define PREFIX          "doorwatch/v1"
#define TIMEZONE        "Asia/Shanghai"
#define MAX_SIZES       8
#define START_TIMEOUT_S 60.0
#define SETTLE_S        0.3 /* no notification for this long: the run's notifications are in */

/* The soak's workers (see "workers acting on alerts"): the share of alerts the team
 * acknowledges, the delays in seconds, and the daemon's escalation ack_timeout. */
#define ACK_TEAM_SHARE    0.9
#define ACK_DELAY_S       2.0, 15.0 /* first notification -> ack (team) */
#define ACK_ESCALATED_S   2.0, 10.0 /* escalation notification -> ack (leader, command) */
#define RESOLVE_DELAY_S   5.0, 20.0 /* ack -> resolve */
#define BENCH_ACK_TIMEOUT "30s"

enum {
        RUN_CEILING = 1 << 0,
        RUN_NORMAL = 1 << 1,
        RUN_FULL = 1 << 2,
        RUN_LATENCY = 1 << 3,
        RUN_SOAK = 1 << 4,
};

enum mix { MIX_AUTO, MIX_SCHEDULE, MIX_CLOSED };

struct opts {
        size_t sizes[MAX_SIZES];
        size_t n_sizes;
        long events;
        double rate;
        double latency_sec;
        double soak_sec;
        int inflight;
        int devices; /* per household: 1 (door contact) or 2 (and a doorbell) */
        unsigned runs;
        enum mix mix;
        const char *out_dir;
        const char *daemon;
        const char *broker;
        bool keep;
        bool sqlite, pg;       /* the databases to run on */
        const char *pg_server; /* tools/pg-server */
};

struct tp_result {
        bool done;
        uint64_t events, notifications;
        double seconds, events_per_s, notif_per_s, ratio;
        double cpu_us_per_event, broker_cpu_us_per_event;
        double db_cpu_us_per_event;              /* the database server's (PostgreSQL), or -1 */
        double syscr_per_event, syscw_per_event; /* the daemon's, from /proc/PID/io */
        int64_t verdicts[3];                     /* expected, ignored, alert */
        double db_bytes_per_m;
};

struct lat_result {
        bool done;
        uint64_t events, samples, notifications, escalations, notices;
        double rate, p50_ms, p99_ms, max_ms, cpu_us_per_event;
};

struct soak_result {
        bool done;
        double seconds;
        long rss_start_kb, rss_end_kb, rss_max_kb;
        long live_start, live_end, live_max; /* the daemon's live alerts (/metrics) */
        uint64_t acks, resolves, refused;    /* sent by the workers; refused by the daemon */
        double slope_kb_per_min;
        struct lat_result lat;
};

struct size_result {
        const char *database; /* "sqlite" or "postgresql" */
        size_t households, devices, workers, communities;
        double gen_sec;
        double ready_sec_max, ready_sec_min;
        long hwm_kb;
        double ceiling_per_s, ceiling_loadgen_cpu_us, ceiling_broker_cpu_us;
        bool ceiling_done;
        struct tp_result normal, full;
        struct lat_result lat;
        struct soak_result soak;
        const char *mix;
};

struct machine {
        long cores;
        char cpu[128];
        char kernel[256];
        long mem_mb;
        char broker_version[64];
};

struct registry {
        char tmp[PATH_MAX - 64]; /* the bench's temporary directory */
        char conf[PATH_MAX];
        size_t households, devices, workers, communities;
};

extern pid_t children[2]; /* broker, daemon: killed on SIGINT/SIGTERM */
extern char pg_dir[256];
extern const char *pg_script; /* tools/pg-server; NULL: the caller's server */

double mono(void);
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void on_fatal_signal(int sig);
void sleep_sec(double s);
long proc_status_kb(pid_t pid, const char *key);
double proc_cpu_sec(pid_t pid);
bool proc_syscalls(pid_t pid, unsigned long long *ret_r, unsigned long long *ret_w);
double self_cpu_sec(void);
long long file_size(const char *path);
long long db_bytes(const char *db);
int pg_server(const char *cmd);
int pg_admin(const char *db, const char *sql, long long *ret);
double pg_cpu_sec(void);
int stop_child(pid_t *pid, int sig);
void machine_facts(const struct opts *o, struct machine *m);
size_t per_community(const struct registry *g);
FILE *open_conf(const struct registry *g, const char *name);
const char *hhmm(int64_t usec, char buf[static 8]);
int gen_registry(struct registry *g, size_t households, int devices);
int write_daemon_conf(const struct registry *g, const char *db, int port, bool sync_full,
                      int *ret_http_port);
int write_secret(const struct registry *g, const char *name);
void print_table(const struct opts *o, const struct machine *m, struct size_result *rs, size_t n);
cJSON *tp_json(const struct tp_result *t);
cJSON *lat_json(const struct lat_result *l);
int write_json(const struct opts *o, const struct machine *m, const struct size_result *rs,
               size_t n, char *path, size_t size);

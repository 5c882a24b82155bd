/* bench-report.c: the bench's table and JSON (moved unchanged from sim-bench.c, but for
 * static). */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#include "bench-pg.h"
#include "bench.h"
#include "store.h"
#include "util.h"

/* ---- output ---- */

void print_table(const struct opts *o, const struct machine *m, struct size_result *rs, size_t n)
{
        char cell[64], label[64];

        printf("\ndoorwatch bench: %ld cores, %s, %ld MB, %s, %s\n"
               "(broker, daemon and load generator on this one machine; ratios are to the "
               "ceiling of the same run)\n\n",
               m->cores, m->cpu, m->mem_mb, m->kernel, m->broker_version);
        printf("%-40s", "households");
        for (size_t i = 0; i < n; i++)
                printf(" %22zu", rs[i].households);
        printf("   target\n");
        printf("%-40s", "database");
        for (size_t i = 0; i < n; i++)
                printf(" %22s", rs[i].database);
        printf("\n");
/* One line: a cell per registry size, "-" where cond is false. */
#define ROW(label, target, cond, ...)                                                              \
        do {                                                                                       \
                printf("%-40s", label);                                                            \
                for (size_t i = 0; i < n; i++) {                                                   \
                        const struct size_result *r = &rs[i];                                      \
                        if (cond)                                                                  \
                                snprintf(cell, sizeof(cell), __VA_ARGS__);                         \
                        else                                                                       \
                                snprintf(cell, sizeof(cell), "-");                                 \
                        printf(" %22s", cell);                                                     \
                }                                                                                  \
                printf("   %s\n", target);                                                         \
        } while (0)
        ROW("devices/workers/communities", "", true, "%zu/%zu/%zu", r->devices, r->workers,
            r->communities);
        ROW("ceiling: broker alone, msg/s", "", r->ceiling_done, "%.0f", r->ceiling_per_s);
        ROW("throughput, sync normal, events/s", ">= 80% of ceiling", r->normal.done,
            "%.0f (%.0f%%)", r->normal.events_per_s, r->normal.ratio * 100);
        ROW("  notifications/s", "", r->normal.done, "%.0f", r->normal.notif_per_s);
        ROW("  daemon CPU per event, us", "<= 10", r->normal.done, "%.1f",
            r->normal.cpu_us_per_event);
        ROW("  daemon syscalls per event, read/write", "",
            r->normal.done && r->normal.syscr_per_event >= 0, "%.2f/%.2f",
            r->normal.syscr_per_event, r->normal.syscw_per_event);
        ROW("  broker CPU per event, us", "", r->normal.done, "%.1f",
            r->normal.broker_cpu_us_per_event);
        ROW("  database server CPU per event, us", "", r->normal.done,
            r->normal.db_cpu_us_per_event >= 0 ? "%.1f" : "-", r->normal.db_cpu_us_per_event);
        ROW("  verdicts expected/ignored/alert", "", r->normal.done, "%lld/%lld/%lld",
            (long long)r->normal.verdicts[0], (long long)r->normal.verdicts[1],
            (long long)r->normal.verdicts[2]);
        ROW("  database bytes per 1M events, MB", "", r->normal.done, "%.0f",
            r->normal.db_bytes_per_m / 1048576);
        ROW("throughput, sync full, events/s", "", r->full.done, "%.0f (%.0f%%)",
            r->full.events_per_s, r->full.ratio * 100);
        ROW("  daemon CPU per event, us", "", r->full.done, "%.1f", r->full.cpu_us_per_event);
        ROW("  database server CPU per event, us", "", r->full.done,
            r->full.db_cpu_us_per_event >= 0 ? "%.1f" : "-", r->full.db_cpu_us_per_event);
        ROW("  daemon syscalls per event, read/write", "",
            r->full.done && r->full.syscr_per_event >= 0, "%.2f/%.2f", r->full.syscr_per_event,
            r->full.syscw_per_event);
        snprintf(label, sizeof(label), "latency at %.0f/s p50/p99/max, ms", o->rate);
        ROW(label, "p99 <= 2", r->lat.done, "%.2f/%.2f/%.2f", r->lat.p50_ms, r->lat.p99_ms,
            r->lat.max_ms);
        ROW("  first-step notifications measured", "", r->lat.done, "%llu",
            (unsigned long long)r->lat.samples);
        ROW("  daemon CPU per event, us", "", r->lat.done, "%.1f", r->lat.cpu_us_per_event);
        ROW("peak RSS (VmHWM), MB", "<= 24 (10k), <= 96 (100k)", r->hwm_kb > 0, "%.1f",
            (double)r->hwm_kb / 1024);
        ROW("start to READY=1, s (min-max)", "<= 2 (100k)", r->ready_sec_max > 0, "%.2f-%.2f",
            r->ready_sec_min, r->ready_sec_max);
        ROW("soak, seconds at fixed rate", "", r->soak.done, "%.0f", r->soak.seconds);
        ROW("  VmRSS after warm-up -> end (max), MB", "flat", r->soak.done, "%.1f -> %.1f (%.1f)",
            (double)r->soak.rss_start_kb / 1024, (double)r->soak.rss_end_kb / 1024,
            (double)r->soak.rss_max_kb / 1024);
        ROW("  VmRSS trend, kB/min", "~0", r->soak.done, "%.0f", r->soak.slope_kb_per_min);
        ROW("  live alerts after warm-up -> end (max)", "level", r->soak.done, "%ld -> %ld (%ld)",
            r->soak.live_start, r->soak.live_end, r->soak.live_max);
        ROW("  workers' acks/resolves (refused)", "", r->soak.done, "%llu/%llu (%llu)",
            (unsigned long long)r->soak.acks, (unsigned long long)r->soak.resolves,
            (unsigned long long)r->soak.refused);
        ROW("  latency p50/p99/max, ms", "", r->soak.done, "%.2f/%.2f/%.2f", r->soak.lat.p50_ms,
            r->soak.lat.p99_ms, r->soak.lat.max_ms);
        ROW("  notifications first/escalated/notices", "", r->soak.done, "%llu/%llu/%llu",
            (unsigned long long)r->soak.lat.samples, (unsigned long long)r->soak.lat.escalations,
            (unsigned long long)r->soak.lat.notices);
        ROW("expected openings by", "", r->mix != NULL, "%s", r->mix);
#undef ROW
        printf("\n");
}

cJSON *tp_json(const struct tp_result *t)
{
        cJSON *j = cJSON_CreateObject();

        cJSON_AddNumberToObject(j, "events", (double)t->events);
        cJSON_AddNumberToObject(j, "seconds", t->seconds);
        cJSON_AddNumberToObject(j, "events_per_s", t->events_per_s);
        cJSON_AddNumberToObject(j, "ratio_to_ceiling", t->ratio);
        cJSON_AddNumberToObject(j, "notifications", (double)t->notifications);
        cJSON_AddNumberToObject(j, "notifications_per_s", t->notif_per_s);
        cJSON_AddNumberToObject(j, "daemon_cpu_us_per_event", t->cpu_us_per_event);
        cJSON_AddNumberToObject(j, "broker_cpu_us_per_event", t->broker_cpu_us_per_event);
        if (t->db_cpu_us_per_event >= 0)
                cJSON_AddNumberToObject(j, "database_server_cpu_us_per_event",
                                        t->db_cpu_us_per_event);
        if (t->syscr_per_event >= 0) {
                cJSON_AddNumberToObject(j, "daemon_read_syscalls_per_event", t->syscr_per_event);
                cJSON_AddNumberToObject(j, "daemon_write_syscalls_per_event", t->syscw_per_event);
        }
        cJSON_AddNumberToObject(j, "verdict_expected", (double)t->verdicts[0]);
        cJSON_AddNumberToObject(j, "verdict_ignored", (double)t->verdicts[1]);
        cJSON_AddNumberToObject(j, "verdict_alert", (double)t->verdicts[2]);
        cJSON_AddNumberToObject(j, "db_bytes_per_million_events", t->db_bytes_per_m);
        return j;
}

cJSON *lat_json(const struct lat_result *l)
{
        cJSON *j = cJSON_CreateObject();

        cJSON_AddNumberToObject(j, "events", (double)l->events);
        cJSON_AddNumberToObject(j, "rate_per_s", l->rate);
        cJSON_AddNumberToObject(j, "notifications", (double)l->notifications);
        cJSON_AddNumberToObject(j, "samples", (double)l->samples);
        cJSON_AddNumberToObject(j, "escalation_notifications", (double)l->escalations);
        cJSON_AddNumberToObject(j, "ack_notices", (double)l->notices);
        cJSON_AddNumberToObject(j, "p50_ms", l->p50_ms);
        cJSON_AddNumberToObject(j, "p99_ms", l->p99_ms);
        cJSON_AddNumberToObject(j, "max_ms", l->max_ms);
        cJSON_AddNumberToObject(j, "daemon_cpu_us_per_event", l->cpu_us_per_event);
        return j;
}

int write_json(const struct opts *o, const struct machine *m, const struct size_result *rs,
               size_t n, char *path, size_t size)
{
        _cleanup_json_ cJSON *j = cJSON_CreateObject();
        _cleanup_free_ char *text = NULL;
        cJSON *mj, *oj, *arr;
        char stamp[32];
        time_t t = time(NULL);
        struct tm tm;
        FILE *f;

        localtime_r(&t, &tm);
        strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
        mj = cJSON_AddObjectToObject(j, "machine");
        cJSON_AddNumberToObject(mj, "cores", (double)m->cores);
        cJSON_AddStringToObject(mj, "cpu", m->cpu);
        cJSON_AddStringToObject(mj, "kernel", m->kernel);
        cJSON_AddNumberToObject(mj, "memory_mb", (double)m->mem_mb);
        cJSON_AddStringToObject(mj, "broker", m->broker_version);
        cJSON_AddStringToObject(mj, "libmosquitto", "");
        {
                int maj, min, rev;
                char v[32];
                mosquitto_lib_version(&maj, &min, &rev);
                snprintf(v, sizeof(v), "%d.%d.%d", maj, min, rev);
                cJSON_ReplaceItemInObject(mj, "libmosquitto", cJSON_CreateString(v));
        }
        cJSON_AddStringToObject(mj, "sqlite", store_sqlite_version());
        {
                char v[32];
                int pv = bench_pg_lib_version();
                snprintf(v, sizeof(v), "%d.%d", pv / 10000, pv % 10000);
                cJSON_AddStringToObject(mj, "libpq", v);
        }
        cJSON_AddStringToObject(mj, "note", "broker, daemon and load generator on this machine");
        oj = cJSON_AddObjectToObject(j, "options");
        cJSON_AddNumberToObject(oj, "events", (double)o->events);
        cJSON_AddNumberToObject(oj, "rate_per_s", o->rate);
        cJSON_AddNumberToObject(oj, "latency_seconds", o->latency_sec);
        cJSON_AddNumberToObject(oj, "soak_seconds", o->soak_sec);
        cJSON_AddNumberToObject(oj, "inflight", o->inflight);
        cJSON_AddNumberToObject(oj, "devices_per_household", o->devices);
        cJSON_AddStringToObject(j, "started", stamp);
        arr = cJSON_AddArrayToObject(j, "sizes");
        for (size_t i = 0; i < n; i++) {
                const struct size_result *r = &rs[i];
                cJSON *s = cJSON_CreateObject();

                cJSON_AddItemToArray(arr, s);
                cJSON_AddStringToObject(s, "database", r->database);
                cJSON_AddNumberToObject(s, "households", (double)r->households);
                cJSON_AddNumberToObject(s, "devices", (double)r->devices);
                cJSON_AddNumberToObject(s, "workers", (double)r->workers);
                cJSON_AddNumberToObject(s, "communities", (double)r->communities);
                cJSON_AddNumberToObject(s, "registry_generation_s", r->gen_sec);
                cJSON_AddStringToObject(s, "expected_openings_by", r->mix ? r->mix : "");
                cJSON_AddNumberToObject(s, "ready_s_min", r->ready_sec_min);
                cJSON_AddNumberToObject(s, "ready_s_max", r->ready_sec_max);
                cJSON_AddNumberToObject(s, "peak_rss_kb", (double)r->hwm_kb);
                if (r->ceiling_done) {
                        cJSON *c = cJSON_AddObjectToObject(s, "ceiling");
                        cJSON_AddNumberToObject(c, "messages_per_s", r->ceiling_per_s);
                        cJSON_AddNumberToObject(c, "loadgen_cpu_us_per_message",
                                                r->ceiling_loadgen_cpu_us);
                        cJSON_AddNumberToObject(c, "broker_cpu_us_per_message",
                                                r->ceiling_broker_cpu_us);
                }
                if (r->normal.done)
                        cJSON_AddItemToObject(s, "throughput_sync_normal", tp_json(&r->normal));
                if (r->full.done)
                        cJSON_AddItemToObject(s, "throughput_sync_full", tp_json(&r->full));
                if (r->lat.done)
                        cJSON_AddItemToObject(s, "latency", lat_json(&r->lat));
                if (r->soak.done) {
                        cJSON *sk = cJSON_AddObjectToObject(s, "soak");
                        cJSON_AddNumberToObject(sk, "seconds", r->soak.seconds);
                        cJSON_AddNumberToObject(sk, "rss_after_warmup_kb",
                                                (double)r->soak.rss_start_kb);
                        cJSON_AddNumberToObject(sk, "rss_end_kb", (double)r->soak.rss_end_kb);
                        cJSON_AddNumberToObject(sk, "rss_max_kb", (double)r->soak.rss_max_kb);
                        cJSON_AddNumberToObject(sk, "rss_trend_kb_per_min",
                                                r->soak.slope_kb_per_min);
                        cJSON_AddNumberToObject(sk, "live_alerts_after_warmup",
                                                (double)r->soak.live_start);
                        cJSON_AddNumberToObject(sk, "live_alerts_end", (double)r->soak.live_end);
                        cJSON_AddNumberToObject(sk, "live_alerts_max", (double)r->soak.live_max);
                        cJSON_AddNumberToObject(sk, "worker_acks", (double)r->soak.acks);
                        cJSON_AddNumberToObject(sk, "worker_resolves", (double)r->soak.resolves);
                        cJSON_AddNumberToObject(sk, "worker_commands_refused",
                                                (double)r->soak.refused);
                        cJSON_AddItemToObject(sk, "latency", lat_json(&r->soak.lat));
                }
        }
        if (mkdir(o->out_dir, 0755) < 0 && errno != EEXIST) {
                say("cannot create %s: %s", o->out_dir, strerror(errno));
                return -errno;
        }
        snprintf(path, size, "%s/bench-%s.json", o->out_dir, stamp);
        text = cJSON_Print(j);
        f = fopen(path, "we");
        if (!f || !text || fputs(text, f) < 0 || fputc('\n', f) < 0) {
                say("cannot write %s", path);
                if (f)
                        fclose(f);
                return -EIO;
        }
        return fclose(f) == 0 ? 0 : -EIO;
}

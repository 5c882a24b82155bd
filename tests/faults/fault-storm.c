/* fault-storm.c: a stranger on the broker floods the daemon with 100,000 hostile messages
 * (malformed and deeply nested JSON, strings with NUL or invalid UTF-8, oversized payloads,
 * unknown topics and devices, commands of unknown workers and refused ones) while 2,000
 * real door events arrive among them. Every real event is stored, no hostile one is, the
 * daemon's memory stays flat and its log holds a bounded number of lines (rate-limited,
 * with counts of what was suppressed). */
#include "faults.h"

#define NAME    "storm"
#define HOSTILE 100000
#define REAL    2000

static long rss_kb(pid_t pid)
{
        char path[64], line[256];
        long kb = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        f = fopen(path, "r");
        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, "VmRSS:", 6) == 0)
                        kb = atol(line + 6);
        if (f)
                fclose(f);
        return kb;
}

static size_t log_lines(struct harness *h)
{
        char path[512], line[8192];
        size_t n = 0;
        FILE *f;

        snprintf(path, sizeof(path), "%s/doorwatchd.log", h->dir);
        f = fopen(path, "r");
        while (f && fgets(line, sizeof(line), f))
                n += line[0] == '<' && line[1] != '7'; /* not debug */
        if (f)
                fclose(f);
        return n;
}

static void hostile(struct pub *p, uint64_t i)
{
        static char big[70000];
        char buf[512];
        const char *dev = i % 2 ? "d-1-door" : "d-2-door";
        char topic[160];

        snprintf(topic, sizeof(topic), "doorwatch/v1/devices/%s/events", dev);
        switch (fault_rand(12)) {
        case 0:
                pub_send(p, topic, "{not json");
                break;
        case 1:
                snprintf(buf, sizeof(buf),
                         "{\"id\": \"H-%llu\", \"type\": \"door\", \"state\": \"open\\u0000evil\"}",
                         (unsigned long long)i);
                pub_send(p, topic, buf);
                break;
        case 2:
                snprintf(buf, sizeof(buf),
                         "{\"id\": \"H-%llu\", \"type\": \"door\", \"state\": \"op\xff\xfe\"}",
                         (unsigned long long)i);
                pub_send(p, topic, buf);
                break;
        case 3:
                if (!big[0])
                        memset(big, 'x', sizeof(big) - 1);
                pub_send(p, topic, big);
                break;
        case 4:
                pub_send(p, topic,
                         "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
                break;
        case 5:
                snprintf(buf, sizeof(buf), "doorwatch/v1/devices/stranger-%llu/events",
                         (unsigned long long)i);
                pub_send(p, buf, "{\"id\": \"x\", \"type\": \"door\", \"state\": \"open\"}");
                break;
        case 6:
                snprintf(buf, sizeof(buf), "doorwatch/v1/workers/nobody-%llu/ack",
                         (unsigned long long)(i % 1000));
                pub_send(p, buf, "{\"alert_id\": \"a-20200101-0001\"}");
                break;
        case 7:
                /* A real worker, a pass the rules refuse (ends before it starts). */
                pub_send(p, "doorwatch/v1/workers/w-a-01/pass",
                         "{\"household\": \"H-1\", \"from\": \"2030-01-01T10:00:00+08:00\", "
                         "\"to\": \"2030-01-01T09:00:00+08:00\", \"reason\": \"x\"}");
                break;
        case 8:
                pub_send(p, "doorwatch/v1/workers/w-a-01/ack",
                         "{\"alert_id\": \"a-\\u0000\", \"request_id\": \"\xc0\xaf\"}");
                break;
        case 9:
                pub_send(p, "doorwatch/v1/households/H-1/report", "{\"reason\": 42}");
                break;
        case 10:
                snprintf(buf, sizeof(buf), "doorwatch/v1/unknown/%llu", (unsigned long long)i);
                pub_send(p, buf, "hello");
                break;
        default:
                pub_send(p, topic, "{\"id\": \"\", \"type\": \"teleport\"}");
                break;
        }
}

int main(void)
{
        struct harness h;
        struct pub p = { 0 };
        struct figures f;
        long rss_before, rss_after;
        size_t lines_before, lines_after;
        char id[32];
        int real = 0;
        double t0;

        fault_seed(NAME, 100);
        h_init(&h);
        fault_start(NAME, &h);
        h_start_broker(&h);
        h_start_daemon(&h);
        pub_start(&p, &h);
        /* Warm up (alerts exist, pages touched), then measure. */
        for (int i = 0; i < 200; i++) {
                snprintf(id, sizeof(id), "S-%05d", real++);
                door(&p, i % 2 ? "d-1-door" : "d-2-door", id, (i / 2) % 2 == 0);
        }
        pub_flush(&p, 30000);
        h_db_wait_int(&h, real, 30000, "SELECT count(*) FROM event WHERE uid LIKE 'S-%%'");
        rss_before = rss_kb(h.daemon_pid);
        lines_before = log_lines(&h);
        t0 = h_now();
        for (uint64_t i = 0; i < HOSTILE; i++) {
                hostile(&p, i);
                if (i % (HOSTILE / (REAL - 200)) == 0 && real < REAL) {
                        snprintf(id, sizeof(id), "S-%05d", real);
                        door(&p, real % 2 ? "d-1-door" : "d-2-door", id, (real / 2) % 2 == 0);
                        real++;
                }
        }
        while (real < REAL) {
                snprintf(id, sizeof(id), "S-%05d", real);
                door(&p, real % 2 ? "d-1-door" : "d-2-door", id, (real / 2) % 2 == 0);
                real++;
        }
        pub_flush(&p, 120000);
        h_db_wait_int(&h, REAL, 120000, "SELECT count(*) FROM event WHERE uid LIKE 'S-%%'");
        h_pump(&h, 500);
        rss_after = rss_kb(h.daemon_pid);
        lines_after = log_lines(&h);
        f = fault_figures(&h, REAL, "S-");
        fault_print(NAME, &f,
                    "%d hostile messages in %.1f s, %lld stored; daemon RSS %ld -> %ld kB; %zu "
                    "log lines (not debug) for the storm",
                    HOSTILE, h_now() - t0,
                    (long long)h_db_int(&h, "SELECT count(*) FROM event WHERE uid LIKE 'H-%%' "
                                            "OR device LIKE 'stranger-%%'"),
                    rss_before, rss_after, lines_after - lines_before);
        if (f.lost != 0 || f.duplicated != 0)
                return fault_fail(NAME, "real events lost or duplicated");
        if (h_db_int(&h, "SELECT count(*) FROM event WHERE uid LIKE 'H-%%'") != 0)
                return fault_fail(NAME, "a hostile event was stored");
        if (!h_daemon_alive(&h) || rss_after > rss_before + 8 * 1024)
                return fault_fail(NAME, "memory grew by %ld kB", rss_after - rss_before);
        if (lines_after - lines_before > 2000)
                return fault_fail(NAME, "%zu log lines for the storm", lines_after - lines_before);
        pub_stop(&p);
        h_stop_daemon(&h, SIGTERM);
        h_stop_broker(&h);
        h_cleanup(&h);
        return 0;
}

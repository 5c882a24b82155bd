/* bench-registry.c: the bench's generated registry and daemon configuration (moved
 * unchanged from sim-bench.c, but for static). */
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

#include "bench-pg.h"
#include "bench.h"
#include "util.h"

/* ---- the registry ---- */

/* Households are numbered 0..H-1 and split into contiguous blocks, one per community. */
size_t per_community(const struct registry *g)
{
        return (g->households + g->communities - 1) / g->communities;
}

FILE *open_conf(const struct registry *g, const char *name)
{
        char path[PATH_MAX + 64];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", g->conf, name);
        f = fopen(path, "we");
        if (!f)
                say("cannot write %s: %s", path, strerror(errno));
        return f;
}

const char *hhmm(int64_t usec, char buf[static 8])
{
        time_t t = (time_t)(usec / USEC_PER_SEC);
        struct tm tm;

        localtime_r(&t, &tm);
        snprintf(buf, 8, "%02d:%02d", tm.tm_hour % 24, tm.tm_min % 60);
        return buf;
}

/* Per community: 4 community workers (two on day shifts, two at night), 2 medical, 2 police,
 * a duty leader and an installer; a command centre and an admin for the subdistrict. Even
 * households have a visit scheduled around now (their openings are expected), odd ones
 * have it in 12 hours (their openings are not). */
int gen_registry(struct registry *g, size_t households, int devices)
{
        static const char *const roles[] = { "community", "community", "community", "community",
                                             "medical",   "medical",   "police",    "police",
                                             "staff",     "installer" };
        static const char *const suffix[] = { "c1", "c2", "c3", "c4",   "m1",
                                              "m2", "p1", "p2", "lead", "inst" };
        int64_t now = now_realtime_usec();
        char start[40], end[40], at_now[8], at_later[8], path[PATH_MAX + 32];
        size_t per;
        FILE *f;

        g->households = households;
        g->communities = MIN(MAX(households / 100, (size_t)1), (size_t)100);
        g->devices = households * (size_t)devices;
        g->workers = g->communities * ELEMENTSOF(roles) + 2;
        per = per_community(g);
        snprintf(g->conf, sizeof(g->conf), "%s/conf-%zu", g->tmp, households);
        snprintf(path, sizeof(path), "%s/households.d", g->conf);
        if (mkdir(g->conf, 0700) < 0 || mkdir(path, 0700) < 0) {
                say("cannot create %s: %s", path, strerror(errno));
                return -errno;
        }
        format_rfc3339(now - USEC_PER_DAY, start);
        format_rfc3339(now + 30 * USEC_PER_DAY, end);
        hhmm(now, at_now);
        hhmm(now + 12 * USEC_PER_HOUR, at_later);

        if (!(f = open_conf(g, "workers.json")))
                return -EIO;
        fputs("[\n", f);
        for (size_t c = 0; c < g->communities; c++)
                for (size_t i = 0; i < ELEMENTSOF(roles); i++)
                        fprintf(
                            f,
                            "{\"id\": \"w-c%03zu-%s\", \"name\": \"工作人员%zu-%zu\", \"role\": "
                            "\"%s\", \"community\": \"c%03zu\", \"phone\": \"+86139%08zu\", "
                            "\"channels\": [\"mqtt\"]},\n",
                            c, suffix[i], c, i, roles[i], c, c * 100 + i);
        fputs("{\"id\": \"w-cmd\", \"name\": \"指挥中心\", \"role\": \"staff\", \"phone\": "
              "\"+8613900000001\", \"channels\": [\"mqtt\"]},\n"
              "{\"id\": \"w-it\", \"name\": \"运维\", \"role\": \"staff\", \"phone\": "
              "\"+8613900000002\", \"channels\": [\"mqtt\"]}]\n",
              f);
        if (fclose(f) != 0)
                return -EIO;
        snprintf(path, sizeof(path), "%s/secrets", g->conf);
        if (mkdir(path, 0700) < 0 || write_secret(g, "api.token") < 0 ||
            write_secret(g, "ack.key") < 0)
                return -EIO;

        if (!(f = open_conf(g, "rosters.json")))
                return -EIO;
        fputs("{\"communities\": {\n", f);
        for (size_t c = 0; c < g->communities; c++)
                fprintf(f,
                        "\"c%03zu\": {\"leader\": \"w-c%03zu-lead\", \"shifts\": ["
                        "{\"role\": \"community\", \"worker\": \"w-c%03zu-c1\", \"days\": [\"*\"], "
                        "\"from\": \"08:00\", \"to\": \"20:00\"},"
                        "{\"role\": \"community\", \"worker\": \"w-c%03zu-c2\", \"days\": [\"*\"], "
                        "\"from\": \"08:00\", \"to\": \"20:00\"},"
                        "{\"role\": \"community\", \"worker\": \"w-c%03zu-c3\", \"days\": [\"*\"], "
                        "\"from\": \"20:00\", \"to\": \"08:00\"},"
                        "{\"role\": \"community\", \"worker\": \"w-c%03zu-c4\", \"days\": [\"*\"], "
                        "\"from\": \"20:00\", \"to\": \"08:00\"}], \"overrides\": []}%s\n",
                        c, c, c, c, c, c, c + 1 < g->communities ? "," : "");
        fputs("}, \"command\": [\"w-cmd\"], \"admins\": [\"w-it\"]}\n", f);
        if (fclose(f) != 0)
                return -EIO;

        if (!(f = open_conf(g, "households.json")))
                return -EIO;
        fputs("[]\n", f);
        if (fclose(f) != 0)
                return -EIO;
        for (size_t c = 0; c < g->communities; c++) {
                char name[64];

                snprintf(name, sizeof(name), "households.d/c%03zu.json", c);
                if (!(f = open_conf(g, name)))
                        return -EIO;
                fputs("[\n", f);
                for (size_t h = c * per; h < MIN((c + 1) * per, households); h++) {
                        fprintf(f,
                                "{\"id\": \"C%03zu-%06zu\", \"community\": \"c%03zu\", "
                                "\"address\": \"测试市 第%zu社区 %zu号楼 %zu单元 %zu室\",\n"
                                " \"observation\": {\"start\": \"%s\", \"end\": \"%s\"},\n"
                                " \"team\": {\"community\": \"w-c%03zu-c%zu\", \"medical\": "
                                "\"w-c%03zu-m%zu\", \"police\": \"w-c%03zu-p%zu\"},\n"
                                " \"schedule\": [{\"role\": \"medical\", \"at\": [\"%s\"], "
                                "\"window\": \"%s\"}],\n"
                                " \"devices\": [{\"id\": \"d%06zu-door\", \"kind\": "
                                "\"door_contact\", \"source\": \"native\"}",
                                c, h, c, c, h / 24 + 1, h % 4 + 1, h % 24 + 101, start, end, c,
                                h % 4 + 1, c, h % 2 + 1, c, h % 2 + 1, h % 2 ? at_later : at_now,
                                h % 2 ? "30m" : "3h", h);
                        if (devices > 1)
                                fprintf(f,
                                        ",\n   {\"id\": \"d%06zu-bell\", \"kind\": \"doorbell\", "
                                        "\"source\": \"native\"}",
                                        h);
                        fprintf(f, "]}%s\n", h + 1 < MIN((c + 1) * per, households) ? "," : "");
                }
                fputs("]\n", f);
                if (fclose(f) != 0)
                        return -EIO;
        }
        return 0;
}

/* The HTTP API on (its own free port, an API token, a link key: notifications carry
 * ack links), as in production. Escalation steps come after BENCH_ACK_TIMEOUT instead of
 * 5 minutes, so that a soak sees escalated alerts acknowledged too (the soak's workers
 * act within seconds: the bench compresses time). chatter_settle 0: see the top. */
int write_daemon_conf(const struct registry *g, const char *db, int port, bool sync_full,
                      int *ret_http_port)
{
        int http_port = testbed_free_port();
        FILE *f;

        if (http_port < 0)
                return http_port;
        f = open_conf(g, "doorwatch.json");
        if (!f)
                return -EIO;
        fprintf(
            f,
            "{\"timezone\": \"" TIMEZONE "\", \"database\": \"%s\", \"database_sync\": \"%s\",\n"
            " \"mqtt\": {\"host\": \"127.0.0.1\", \"port\": %d, \"client_id\": "
            "\"doorwatchd-bench\", \"keepalive\": \"30s\"},\n"
            " \"http\": {\"listen\": \"127.0.0.1:%d\", \"public_url\": \"http://127.0.0.1:%d\", "
            "\"token_file\": \"secrets/api.token\", \"ack_secret_file\": \"secrets/ack.key\", "
            "\"metrics_public\": true},\n"
            " \"escalation\": {\"ack_timeout\": \"" BENCH_ACK_TIMEOUT "\"},\n"
            " \"policy\": {\"chatter_settle\": \"0s\"},\n"
            " \"notifiers\": {\"mqtt\": {\"type\": \"mqtt\"}}}\n",
            db, sync_full ? "full" : "normal", port, http_port, http_port);
        *ret_http_port = http_port;
        return fclose(f) == 0 ? 0 : -EIO;
}

int write_secret(const struct registry *g, const char *name)
{
        char path[PATH_MAX + 64], hex[65];
        unsigned seed = (unsigned)now_monotonic_usec() ^ (unsigned)getpid();
        int fd;

        for (size_t i = 0; i < 64; i++)
                hex[i] = "0123456789abcdef"[rand_r(&seed) % 16];
        hex[64] = '\n';
        snprintf(path, sizeof(path), "%s/secrets/%s", g->conf, name);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, hex, sizeof(hex)) != (ssize_t)sizeof(hex)) {
                say("cannot write %s: %s", path, strerror(errno));
                if (fd >= 0)
                        close(fd);
                return -EIO;
        }
        return close(fd) == 0 ? 0 : -EIO;
}

/* bench-util.c: the bench's small helpers, its child processes, their /proc figures,
 * the private PostgreSQL server and the machine's facts (moved unchanged from sim-bench.c,
 * but for static). */
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

/* ---- small helpers ---- */

double mono(void)
{
        return (double)now_monotonic_usec() / 1e6;
}

void say(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        fputs("bench: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
}

pid_t children[2]; /* broker, daemon: killed on SIGINT/SIGTERM */

char pg_dir[256];
const char *pg_script; /* tools/pg-server; NULL: the caller's server */

void on_fatal_signal(int sig)
{
        for (size_t i = 0; i < ELEMENTSOF(children); i++)
                if (children[i] > 0)
                        kill(children[i], SIGKILL);
        if (pg_dir[0] && pg_script)
                pg_server("stop");
        _exit(128 + sig);
}

void sleep_sec(double s)
{
        struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
        nanosleep(&ts, NULL);
}

/* "Key:   value kB" of /proc/<pid>/status, in kB; -1 when unreadable. */
long proc_status_kb(pid_t pid, const char *key)
{
        char path[64], line[256];
        size_t kl = strlen(key);
        long v = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, key, kl) == 0) {
                        v = strtol(line + kl, NULL, 10);
                        break;
                }
        fclose(f);
        return v;
}

/* utime + stime of a process in seconds; -1 when unreadable. */
double proc_cpu_sec(pid_t pid)
{
        char path[64], buf[1024], *p;
        unsigned long long ut, st;
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return -1;
        buf[n] = 0;
        p = strrchr(buf, ')'); /* the command name may contain spaces */
        if (!p ||
            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
                return -1;
        return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* The read-type and write-type system calls a process made so far (syscr, syscw of
 * /proc/<pid>/io: read, pread, readv... and write, pwrite, writev...; not send/recv). */
bool proc_syscalls(pid_t pid, unsigned long long *ret_r, unsigned long long *ret_w)
{
        char path[64], line[128];
        int found = 0;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%ld/io", (long)pid);
        f = fopen(path, "re");
        if (!f)
                return false;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "syscr: %llu", ret_r) == 1 ||
                    sscanf(line, "syscw: %llu", ret_w) == 1)
                        found++;
        fclose(f);
        return found == 2;
}

double self_cpu_sec(void)
{
        struct rusage ru;

        getrusage(RUSAGE_SELF, &ru);
        return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
               (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

long long file_size(const char *path)
{
        struct stat st;
        return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* The database with its WAL and shared-memory index. */
long long db_bytes(const char *db)
{
        char p[PATH_MAX + 8];
        long long n = file_size(db);

        snprintf(p, sizeof(p), "%s-wal", db);
        n += file_size(p);
        return n;
}

/* ---- the private PostgreSQL server ---- */

/* pg_dir, pg_script (above): its socket directory ("" when none) and script. */

int pg_server(const char *cmd)
{
        char line[2 * PATH_MAX];
        snprintf(line, sizeof(line), "PG_FSYNC=on '%s' %s '%s'", pg_script, cmd, pg_dir);
        return system(line) == 0 ? 0 : -EIO;
}

/* Runs sql as the server's superuser; with ret, the first column of the first row. */
int pg_admin(const char *db, const char *sql, long long *ret)
{
        char err[512];
        int r = bench_pg_admin(pg_dir, db, sql, ret, err, sizeof(err));

        if (r < 0)
                say("postgresql: %s", err);
        return r;
}

/* CPU seconds of the server's processes: the postmaster and its children (the daemon's
 * backend, the WAL writer, the checkpointer...). */
double pg_cpu_sec(void)
{
        char path[PATH_MAX + 32], line[64];
        pid_t master;
        double sum;
        FILE *f;
        DIR *d;
        struct dirent *de;

        snprintf(path, sizeof(path), "%s/data/postmaster.pid", pg_dir);
        f = fopen(path, "re");
        if (!f)
                return 0;
        master = fgets(line, sizeof(line), f) ? (pid_t)atol(line) : 0;
        fclose(f);
        if (master <= 0)
                return 0;
        sum = proc_cpu_sec(master);
        d = opendir("/proc");
        while (d && (de = readdir(d))) {
                char stat[1024], *p;
                long ppid;
                FILE *s;

                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
                s = fopen(path, "re");
                if (!s)
                        continue;
                p = fgets(stat, sizeof(stat), s) ? strrchr(stat, ')') : NULL;
                fclose(s);
                if (p && sscanf(p + 1, " %*c %ld", &ppid) == 1 && ppid == master)
                        sum += proc_cpu_sec((pid_t)atol(de->d_name));
        }
        if (d)
                closedir(d);
        return sum;
}

int stop_child(pid_t *pid, int sig)
{
        int status = 0;

        if (*pid <= 0)
                return 0;
        kill(*pid, sig);
        waitpid(*pid, &status, 0);
        *pid = 0;
        return status;
}

/* ---- machine facts ---- */

void machine_facts(const struct opts *o, struct machine *m)
{
        char line[512], cmd[PATH_MAX + 16];
        struct utsname u;
        FILE *f;

        *m = (struct machine){ .cores = sysconf(_SC_NPROCESSORS_ONLN) };
        snprintf(m->cpu, sizeof(m->cpu), "unknown");
        f = fopen("/proc/cpuinfo", "re");
        while (f && fgets(line, sizeof(line), f))
                if (str_startswith(line, "model name")) {
                        char *v = strchr(line, ':');
                        if (v) {
                                v += strspn(v + 1, " \t") + 1;
                                v[strcspn(v, "\n")] = 0;
                                snprintf(m->cpu, sizeof(m->cpu), "%s", v);
                        }
                        break;
                }
        if (f)
                fclose(f);
        if (uname(&u) == 0)
                snprintf(m->kernel, sizeof(m->kernel), "%s %s %s", u.sysname, u.release, u.machine);
        f = fopen("/proc/meminfo", "re");
        while (f && fgets(line, sizeof(line), f))
                if (str_startswith(line, "MemTotal:")) {
                        m->mem_mb = strtol(line + 9, NULL, 10) / 1024;
                        break;
                }
        if (f)
                fclose(f);
        snprintf(cmd, sizeof(cmd), "%s -h 2>&1", o->broker);
        f = popen(cmd, "r");
        while (f && fgets(line, sizeof(line), f))
                if (str_startswith(line, "mosquitto version")) {
                        line[strcspn(line, "\n")] = 0;
                        snprintf(m->broker_version, sizeof(m->broker_version), "mosquitto %.40s",
                                 line + 18);
                        break;
                }
        if (f) {
                while (fgets(line, sizeof(line), f))
                        ;
                pclose(f);
        }
}

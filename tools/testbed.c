/* testbed.c: see testbed.h. Children are started with fork/exec and always reaped by
 * whoever stops them; nothing here keeps global state. */
#include "testbed.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BROKER_START_TIMEOUT_S 10.0

double testbed_mono(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_sec(double s)
{
        struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

        nanosleep(&ts, NULL);
}

int testbed_free_port(void)
{
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
            getsockname(fd, (struct sockaddr *)&a, &len) < 0)
                port = -errno;
        else
                port = ntohs(a.sin_port);
        close(fd);
        return port;
}

bool testbed_port_open(int port)
{
        struct sockaddr_in a = { .sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

        if (fd >= 0)
                close(fd);
        return ok;
}

pid_t testbed_spawn(const char *const *argv, const char *log, const char *const *env)
{
        pid_t pid = fork();

        if (pid != 0)
                return pid < 0 ? -errno : pid;
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        sigset_t none;

        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
        }
        for (size_t i = 0; env && env[i]; i++) {
                char name[128], pidbuf[32];
                const char *eq = strchr(env[i], '=');

                if (!eq || (size_t)(eq - env[i]) >= sizeof(name))
                        continue;
                memcpy(name, env[i], (size_t)(eq - env[i]));
                name[eq - env[i]] = 0;
                snprintf(pidbuf, sizeof(pidbuf), "%ld", (long)getpid());
                setenv(name, strcmp(eq + 1, "@PID@") == 0 ? pidbuf : eq + 1, 1);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
}

bool testbed_alive(pid_t pid)
{
        return pid > 0 && waitpid(pid, NULL, WNOHANG) == 0;
}

int testbed_stop(pid_t *pid, int sig)
{
        int status = 0;

        if (*pid <= 0)
                return -1;
        kill(*pid, sig);
        waitpid(*pid, &status, 0);
        *pid = 0;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int testbed_wait(pid_t pid, double timeout_sec, int (*ready)(void *userdata), void *userdata)
{
        for (double end = testbed_mono() + timeout_sec; testbed_mono() < end;) {
                int r = ready(userdata);

                if (r != 0)
                        return r > 0 ? 0 : r;
                if (waitpid(pid, NULL, WNOHANG) != 0)
                        return -ECHILD;
        }
        return -ETIMEDOUT;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path) < 0 ? -1 : 0;
}

void testbed_rm_rf(const char *dir)
{
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int write_broker_conf(const struct testbed_broker *b, const char *path)
{
        char user[64] = "root";
        struct passwd *pw = getpwuid(getuid());
        FILE *f = fopen(path, "we");

        if (!f)
                return -errno;
        if (pw)
                snprintf(user, sizeof(user), "%s", pw->pw_name);
        /* As conf/mosquitto.conf (its queueing and latency settings), without authentication:
         * loopback only, nothing else can reach it. As root (CI) mosquitto would switch to
         * user "mosquitto", which cannot write dir; as any other user `user` changes
         * nothing. */
        fprintf(f, "listener %d 127.0.0.1\nallow_anonymous true\nuser %s\n", b->port, user);
        if (b->persistent)
                fprintf(f, "persistence true\npersistence_location %s/\nautosave_interval 1\n",
                        b->dir);
        else
                fprintf(f, "persistence false\n");
        fprintf(f,
                "max_queued_messages %u\nmax_inflight_messages 100\nset_tcp_nodelay true\n"
                "log_dest file %s/mosquitto.log\nlog_type error\nlog_type warning\n",
                b->max_queued, b->dir);
        if (b->verbose)
                fprintf(f, "log_type notice\nlog_type information\nconnection_messages true\n");
        return fclose(f) == 0 ? 0 : -errno;
}

int testbed_broker_start(struct testbed_broker *b)
{
        char conf[4096], log[4096];
        int e;

        if (b->port == 0) {
                b->port = testbed_free_port();
                if (b->port < 0) {
                        e = b->port;
                        b->port = 0;
                        return e;
                }
        }
        snprintf(conf, sizeof(conf), "%s/mosquitto.conf", b->dir);
        snprintf(log, sizeof(log), "%s/mosquitto.out", b->dir);
        e = write_broker_conf(b, conf);
        if (e < 0)
                return e;
        const char *argv[] = { b->mosquitto, "-c", conf, NULL };
        b->pid = testbed_spawn(argv, log, NULL);
        if (b->pid < 0) {
                e = (int)b->pid;
                b->pid = 0;
                return e;
        }
        for (double end = testbed_mono() + BROKER_START_TIMEOUT_S; testbed_mono() < end;
             sleep_sec(0.01))
                if (testbed_port_open(b->port))
                        return 0;
        return -ETIMEDOUT;
}

void testbed_broker_stop(struct testbed_broker *b)
{
        testbed_stop(&b->pid, SIGTERM);
}

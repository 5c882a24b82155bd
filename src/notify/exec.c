/* exec.c: per-person channel that runs a program, e.g. gammu-smsd-inject for SMS:
 *
 *     "sms": { "type": "exec", "timeout": "10s",
 *              "argv": ["/usr/bin/gammu-smsd-inject", "TEXT", "{phone}", "-unicode",
 *                       "-textutf8", "{text}"] }
 *
 * Placeholders ({phone} {text} {worker} {name} {alert_id} {notification_id} {kind};
 * "{{"/"}}" for literal braces) are replaced inside each argument and the result is
 * passed to posix_spawn() as the argument vector: no shell ever sees it, so quotes,
 * "$(…)", backticks and newlines in a text arrive literally. {text} is bounded to
 * max_text_bytes (280, an SMS's worth, by default).
 *
 * The child gets stdin from /dev/null, stdout and stderr into a pipe (the first bytes
 * go into the result detail), an empty signal mask, default signal dispositions, its
 * own process group and a minimal environment (PATH, LANG). It is watched with
 * sd_event_add_child(), which requires SIGCHLD to be blocked in every thread. Exit
 * status 0 = delivered; any other status or a signal = RETRY (a modem or a gateway is
 * the usual cause, and the outbox gives up after its limit); no exit within "timeout"
 * kills the whole process group with SIGKILL and reports RETRY "timed out"; a program
 * that cannot be started = FAILED. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "notify/channel.h"

#define EXEC_OUTPUT_MAX 512

struct exec_config {
        char **argv;
        size_t argc;
        int64_t timeout_usec;
        unsigned max_text_bytes;
};

struct exec_run {
        struct notify_op *op;
        pid_t pid;
        bool timed_out;
        int64_t timeout_usec;
        int out_fd;
        sd_event_source *child, *timer, *out;
        char output[EXEC_OUTPUT_MAX + 1];
        size_t out_len;
};

enum {
        X_PHONE,
        X_TEXT,
        X_WORKER,
        X_NAME,
        X_ALERT_ID,
        X_NOTIFICATION_ID,
        X_KIND,
        _X_MAX,
};

static const char *const exec_placeholders[_X_MAX] = {
        [X_PHONE] = "phone", [X_TEXT] = "text",         [X_WORKER] = "worker",
        [X_NAME] = "name",   [X_ALERT_ID] = "alert_id", [X_NOTIFICATION_ID] = "notification_id",
        [X_KIND] = "kind",
};

static const char *const exec_keys[] = { "argv", "timeout", "max_text_bytes", NULL };

static int placeholder(const char *name, size_t len)
{
        for (int i = 0; i < _X_MAX; i++)
                if (strlen(exec_placeholders[i]) == len &&
                    memcmp(exec_placeholders[i], name, len) == 0)
                        return i;
        return -1;
}

/* Expands one argument; values[i] NULL = not available. Returns the new string, or
 * NULL with *missing set to the placeholder without value. On a checked argument, syntax
 * errors cannot happen. */
static char *expand(const char *arg, const char *const values[_X_MAX], int *missing)
{
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);

        *missing = -1;
        if (!f) /* only out of memory */
                abort();
        for (const char *p = arg; *p; p++) {
                if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
                        fputc(*p++, f);
                } else if (*p == '{') {
                        const char *end = strchr(p, '}');
                        int x = placeholder(p + 1, (size_t)(end - p - 1));
                        if (!values[x]) {
                                *missing = x;
                                fclose(f);
                                free(out);
                                return NULL;
                        }
                        fputs(values[x], f);
                        p = end;
                } else
                        fputc(*p, f);
        }
        if (fclose(f) != 0) /* a memory stream: only out of memory */
                abort();
        return out;
}

static bool arg_check(const struct notify_parse *p, const char *arg)
{
        for (const char *s = arg; *s; s++) {
                const char *end;
                if ((s[0] == '{' && s[1] == '{') || (s[0] == '}' && s[1] == '}')) {
                        s++;
                        continue;
                }
                if (*s != '{')
                        continue;
                end = strchr(s, '}');
                if (!end) {
                        notify_parse_error(p, "argv",
                                           "unterminated placeholder (write {{ for a brace)");
                        return false;
                }
                if (placeholder(s + 1, (size_t)(end - s - 1)) < 0) {
                        notify_parse_error(p, "argv", "unknown placeholder {%.*s}",
                                           (int)MIN(end - s - 1, 32), s + 1);
                        return false;
                }
                s = end;
        }
        return true;
}

static void exec_free(void *data)
{
        struct exec_config *c = data;
        if (!c)
                return;
        for (size_t i = 0; i < c->argc; i++)
                free(c->argv[i]);
        free(c->argv);
        free(c);
}

static int exec_parse(const struct notify_parse *p, void **ret)
{
        struct exec_config *c = xcalloc(1, sizeof(*c));
        int r = 0;

        c->timeout_usec = CHANNEL_DEFAULT_TIMEOUT_USEC;
        c->max_text_bytes = TEMPLATE_MAX_SMS;
        if (notify_parse_strv(p, "argv", &c->argv, &c->argc) < 0)
                r = -EINVAL;
        else if (c->argc == 0) {
                notify_parse_error(p, "argv", "missing (a list: program and arguments)");
                r = -EINVAL;
        } else if (c->argv[0][0] != '/' || strchr(c->argv[0], '{')) {
                notify_parse_error(p, "argv", "argv[0] must be an absolute path");
                r = -EINVAL;
        } else if (access(c->argv[0], X_OK) < 0) {
                notify_parse_error(p, "argv", "%s: %s", c->argv[0], strerror(errno));
                r = -EINVAL;
        }
        for (size_t i = 1; i < c->argc; i++)
                if (!arg_check(p, c->argv[i]))
                        r = -EINVAL;
        if (notify_parse_duration(p, "timeout", &c->timeout_usec) < 0)
                r = -EINVAL;
        if (notify_parse_uint(p, "max_text_bytes", 65536, &c->max_text_bytes) < 0)
                r = -EINVAL;
        else if (c->max_text_bytes < 4) {
                notify_parse_error(p, "max_text_bytes", "must be at least 4");
                r = -EINVAL;
        }
        if (r < 0) {
                exec_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

static void run_free(struct exec_run *run)
{
        sd_event_source_disable_unref(run->timer);
        sd_event_source_disable_unref(run->out);
        if (run->out_fd >= 0)
                close(run->out_fd);
        /* Not in its handler (cancel): the source kills and reaps what is left. */
        sd_event_source_disable_unref(run->child);
        free(run);
}

static void read_output(struct exec_run *run)
{
        char buf[4096];
        ssize_t k;

        while (run->out_fd >= 0 && (k = read(run->out_fd, buf, sizeof(buf))) != 0) {
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        break; /* EAGAIN: all there is for now */
                }
                size_t take = MIN((size_t)k, EXEC_OUTPUT_MAX - run->out_len);
                memcpy(run->output + run->out_len, buf, take);
                run->out_len += take;
                run->output[run->out_len] = 0;
        }
}

static int on_output(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct exec_run *run = userdata;

        read_output(run);
        if (revents & (EPOLLHUP | EPOLLERR))
                sd_event_source_set_enabled(s, SD_EVENT_OFF);
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct exec_run *run = userdata;

        run->timed_out = true;
        (void)kill(-run->pid, SIGKILL);
        return 0;
}

static int on_child(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        struct exec_run *run = userdata;
        struct notify_op *op = run->op;
        char timeout[32];

        read_output(run);
        template_truncate(run->output, 200);
        /* sd-event reaps the child after this handler; do not let run_free() kill it. */
        sd_event_source_set_child_process_own(run->child, false);
        if (run->timed_out)
                notify_op_complete(op, NOTIFY_RETRY, 0, "timed out after %s",
                                   format_duration(run->timeout_usec, timeout));
        else if (si->si_code == CLD_EXITED && si->si_status == 0)
                notify_op_complete(op, NOTIFY_DELIVERED, 0, "exit status 0");
        else if (si->si_code == CLD_EXITED)
                notify_op_complete(op, NOTIFY_RETRY, 0, "exit status %d%s%s", si->si_status,
                                   run->out_len ? ": " : "", run->output);
        else
                notify_op_complete(op, NOTIFY_RETRY, 0, "killed by signal %s",
                                   sigabbrev_np(si->si_status) ? sigabbrev_np(si->si_status) : "?");
        run_free(run);
        return 0;
}

static void exec_cancel(struct notifier *n, struct notify_op *op)
{
        struct exec_run *run = notify_op_get_data(op);

        if (!run)
                return;
        (void)kill(-run->pid, SIGKILL);
        run_free(run);
        notify_op_set_data(op, NULL);
}

static int spawn(char **argv, int out_fd, pid_t *ret_pid)
{
        static char *const envp[] = { "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
                                      "LANG=C.UTF-8", NULL };
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, all;
        int r;

        sigemptyset(&none);
        sigfillset(&all);
        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&attr);
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&fa, out_fd, STDERR_FILENO);
        posix_spawn_file_actions_addclosefrom_np(&fa, 3);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &all);
        posix_spawnattr_setpgroup(&attr, 0);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                            POSIX_SPAWN_SETPGROUP);
        r = posix_spawn(ret_pid, argv[0], &fa, &attr, argv, envp);
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&fa);
        return -r;
}

static int exec_send(struct notifier *n, const struct notify_message *m, struct notify_op *op)
{
        const struct exec_config *c = notifier_data(n);
        const struct notify_recipient *rcp = m->n_recipients > 0 ? &m->recipients[0] : NULL;
        _cleanup_free_ char *text = NULL;
        const char *values[_X_MAX];
        char **argv;
        struct exec_run *run = NULL;
        int pipefd[2] = { -1, -1 }, missing = -1, r;

        r = notifier_text(n, m, c->max_text_bytes, &text);
        if (r < 0)
                return r;
        values[X_PHONE] = rcp ? rcp->phone : NULL;
        values[X_TEXT] = text;
        values[X_WORKER] = rcp && rcp->worker ? rcp->worker : m->worker;
        values[X_NAME] = rcp ? rcp->name : NULL;
        values[X_ALERT_ID] = m->alert_id;
        values[X_NOTIFICATION_ID] = m->notification_id;
        values[X_KIND] = m->kind;

        argv = xcalloc(c->argc + 1, sizeof(char *));
        argv[0] = c->argv[0];
        for (size_t i = 1; i < c->argc && missing < 0; i++) {
                argv[i] = expand(c->argv[i], values, &missing);
                if (!argv[i])
                        break;
        }
        if (missing >= 0) {
                notify_op_complete(op, NOTIFY_FAILED, 0, "message has no %s for {%s}",
                                   exec_placeholders[missing], exec_placeholders[missing]);
                r = 0;
                goto out;
        }
        if (r < 0)
                goto out;

        run = xcalloc(1, sizeof(*run));
        run->out_fd = -1;
        if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0) {
                r = -errno;
                goto out;
        }
        run->op = op;
        run->out_fd = pipefd[0];
        run->timeout_usec = c->timeout_usec;
        r = spawn(argv, pipefd[1], &run->pid);
        close(pipefd[1]);
        if (r < 0) {
                notify_op_complete(op, NOTIFY_FAILED, 0, "cannot execute %s: %s", argv[0],
                                   strerror(-r));
                r = 0;
                goto out;
        }
        r = sd_event_add_child(notifier_event(n), &run->child, run->pid, WEXITED, on_child, run);
        if (r < 0) {
                /* -EBUSY: SIGCHLD is not blocked. Do not leave the child behind. */
                (void)kill(-run->pid, SIGKILL);
                (void)waitpid(run->pid, NULL, 0);
                notify_op_complete(op, NOTIFY_FAILED, 0, "cannot watch child: %s%s", strerror(-r),
                                   r == -EBUSY ? " (SIGCHLD not blocked)" : "");
                r = 0;
                goto out;
        }
        sd_event_source_set_child_process_own(run->child, true);
        r = sd_event_add_io(notifier_event(n), &run->out, run->out_fd, EPOLLIN, on_output, run);
        if (r >= 0)
                r = sd_event_add_time_relative(notifier_event(n), &run->timer, CLOCK_MONOTONIC,
                                               (uint64_t)c->timeout_usec, 10 * USEC_PER_MSEC,
                                               on_timeout, run);
        if (r < 0) {
                (void)kill(-run->pid, SIGKILL);
                goto out;
        }
        notify_op_set_data(op, run);
        run = NULL;
out:
        if (run)
                run_free(run);
        for (size_t i = 1; i < c->argc; i++)
                free(argv[i]);
        free(argv);
        return r;
}

const struct notify_type notify_type_exec = {
        .name = "exec",
        .keys = exec_keys,
        .parse = exec_parse,
        .free_data = exec_free,
        .send = exec_send,
        .cancel = exec_cancel,
};

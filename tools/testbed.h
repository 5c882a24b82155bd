/* testbed.h: a private mosquitto and doorwatchd on loopback, started, waited for and
 * stopped the same way by the integration tests (tests/integration/harness.c) and the
 * bench (tools/sim-bench.c): free ports, child processes with their output in a log, the
 * broker's configuration, and bounded waits on an observable condition (never a fixed
 * sleep). No MQTT client and no database here: what "ready" means is the caller's. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* CLOCK_MONOTONIC in seconds. */
double testbed_mono(void);
/* A free TCP port on 127.0.0.1, or a negative errno. */
int testbed_free_port(void);
/* Whether something accepts connections on 127.0.0.1:port. */
bool testbed_port_open(int port);

/* fork() and execv() of argv (argv[0] is a path), stdout and stderr appended to log, signal
 * mask and SIGINT/SIGTERM dispositions reset. env: extra "NAME=value" entries for the child
 * (the value "@PID@" becomes the child's pid, for $WATCHDOG_PID), NULL-terminated, may be
 * NULL. Returns the pid, or a negative errno. */
pid_t testbed_spawn(const char *const *argv, const char *log, const char *const *env);
/* Whether the child pid still runs (it is not reaped). */
bool testbed_alive(pid_t pid);
/* Sends sig to *pid when it is > 0, reaps it and sets *pid to 0. Returns its exit status,
 * 128 + the signal that ended it, or -1 when there was no child. */
int testbed_stop(pid_t *pid, int sig);
/* Waits at most timeout_sec until ready(userdata) answers 1, while the child pid runs
 * (ready is called in a loop: it is where the caller pumps its clients, and it may wait a
 * little). Returns 0, -ECHILD when the child exited (it is reaped), -ETIMEDOUT, or
 * ready()'s negative answer. */
int testbed_wait(pid_t pid, double timeout_sec, int (*ready)(void *userdata), void *userdata);

/* Removes dir and everything below it (no symlink is followed). */
void testbed_rm_rf(const char *dir);

/* A private broker: listener on 127.0.0.1:port, anonymous, Nagle off, no queue drops below
 * max_queued_messages, its state and logs in dir. Started as root (CI) it stays root (it
 * must write dir). */
struct testbed_broker {
        const char *mosquitto; /* the binary, e.g. /usr/sbin/mosquitto */
        const char *dir;       /* mosquitto.conf, mosquitto.out (its output), mosquitto.log */
        int port;              /* 0: testbed_broker_start() picks a free one */
        bool persistent;       /* sessions and queues survive a restart (saved every second) */
        unsigned max_queued;   /* per session; 0: no limit (the bench publishes far ahead) */
        bool verbose;          /* log connections and notices too */
        pid_t pid;
};

/* Writes dir/mosquitto.conf and starts the broker; waits (10 s at most) until it accepts
 * connections. Returns 0, -ETIMEDOUT (dir/mosquitto.out says why) or a negative errno. */
int testbed_broker_start(struct testbed_broker *b);
/* Stops it (SIGTERM, reaped); its port and state stay for a restart. */
void testbed_broker_stop(struct testbed_broker *b);

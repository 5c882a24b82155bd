/* fault-disk-full.c: the database's file system fills while door events arrive, then space
 * comes back. Nothing may be lost: while every write fails the daemon holds the messages
 * and acknowledges none, tells the command centre (storage_failed, from memory, over MQTT
 * through its alarm connection), /healthz says 503; once space returns a probe write finds
 * out within seconds, without waiting for the next event, and everything held is stored.
 *
 * The database lives on a 32 MB tmpfs mounted in a mount namespace of this process's own
 * (tests/faults/run starts it under `unshare -m`; it refuses to mount in the host's
 * namespace), so a failed run leaves no mount behind. */
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "../lib/http-sink.h"
#include "faults.h"

#define NAME       "disk-full"
#define BEFORE     3000
#define WHILE      5000
#define WHILE_MORE 2000
#define MAX_WHILE  45000
#define AFTER      3000
#define NOTIFY     "doorwatch/v1/workers/w-cmd/notify"
#define RECOVER_S  60

/* Whether this process has a mount namespace other than its parent's (`unshare -m` execs
 * the test, so the parent is the runner). */
static bool own_mount_namespace(void)
{
        char self[64] = "", parent[64] = "", path[64];

        snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)getppid());
        if (readlink("/proc/self/ns/mnt", self, sizeof(self) - 1) < 0 ||
            readlink(path, parent, sizeof(parent) - 1) < 0)
                return false;
        return strcmp(self, parent) != 0;
}

/* Fills the file system of dir with one file; returns its path's length (0 on failure). */
static size_t fill(const char *path)
{
        static char block[1 << 16];
        size_t total = 0;
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

        if (fd < 0)
                return 0;
        memset(block, 0x5a, sizeof(block));
        for (;;) {
                ssize_t n = write(fd, block, sizeof(block));
                if (n <= 0)
                        break;
                total += (size_t)n;
        }
        /* And the last partial block. */
        while (write(fd, block, 512) > 0)
                total += 512;
        fsync(fd);
        close(fd);
        return total;
}

int main(void)
{
        struct harness h;
        struct pub p = { 0 };
        char state[512], filler[600], id[32];
        struct figures f;
        struct http_sink *sink = NULL;
        double t_free, recovered_s = -1;
        int64_t stored_while;
        int sent = BEFORE, sent_while;
        size_t n;

        if (!own_mount_namespace())
                return fault_fail(NAME, "not in a mount namespace of its own (run it under "
                                        "`unshare -m`, as tests/faults/run does)");
        fault_seed(NAME, 15);
        h_init(&h);
        fault_start(NAME, &h);
        snprintf(state, sizeof(state), "%s/state", h.dir);
        mkdir(state, 0750);
        if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", state, "tmpfs", 0, "size=32m,mode=0750") < 0)
                return fault_fail(NAME, "cannot mount a tmpfs on %s: %s", state, strerror(errno));
        /* A webhook for the system's alarms: storage_failed reaches it from memory. */
        if (http_sink_start(&sink) < 0)
                return fault_fail(NAME, "cannot start the HTTP sink");
        {
                char conf[2048];
                snprintf(conf, sizeof(conf),
                         "{\"timezone\": \"Asia/Shanghai\", \"database\": \"%s\",\n"
                         " \"mqtt\": {\"host\": \"127.0.0.1\", \"port\": %d, \"client_id\": "
                         "\"doorwatchd-test\", \"keepalive\": \"5s\"},\n"
                         " \"http\": {\"listen\": \"127.0.0.1:%d\"},\n"
                         " \"notifiers\": {\"mqtt\": {\"type\": \"mqtt\"},"
                         " \"ops\": {\"type\": \"webhook\", \"url\": \"%s/hook\", \"kinds\": "
                         "[\"storage_failed\", \"storage_restored\"]}}}\n",
                         h.dbpath, h.port, h.http_port, http_sink_url(sink));
                h_write_conf(&h, "doorwatch.json", conf);
        }
        h_start_broker(&h);
        h_start_daemon(&h);
        pub_start(&p, &h);

        for (int i = 0; i < BEFORE; i++) {
                snprintf(id, sizeof(id), "F-%05d", i);
                door(&p, i % 2 ? "d-1-door" : "d-2-door", id, (i / 2) % 2 == 0);
        }
        pub_flush(&p, 30000);
        if (h_db_wait_int(&h, BEFORE, 30000, "SELECT count(*) FROM event WHERE uid LIKE 'F-%%'") !=
            BEFORE)
                return fault_fail(NAME, "the first %d events were not stored", BEFORE);

        /* The disk fills; events go on arriving. The WAL may already hold enough room, kept
         * from before the fill, for a few thousand events (a checkpoint restarts it from its
         * start without shrinking it): those are stored, rightly. So events go on arriving,
         * in batches, until the daemon's writes fail; bounded by MAX_WHILE. */
        snprintf(filler, sizeof(filler), "%s/filler", state);
        n = fill(filler);
        while (sent < BEFORE + MAX_WHILE && !daemon_log_has(&h, "writing failed")) {
                int batch = sent == BEFORE ? WHILE : WHILE_MORE;
                for (int i = sent; i < sent + batch; i++) {
                        snprintf(id, sizeof(id), "F-%05d", i);
                        door(&p, i % 2 ? "d-1-door" : "d-2-door", id, (i / 2) % 2 == 0);
                }
                sent += batch;
                pub_flush(&p, 30000);
                for (int waited = 0; waited < 5000 && !daemon_log_has(&h, "writing failed");
                     waited += 50)
                        h_pump(&h, 50);
        }
        if (!daemon_log_has(&h, "writing failed"))
                return fault_fail(NAME,
                                  "the daemon did not notice the full disk (%zu bytes filled, "
                                  "%d events sent after it)",
                                  n, sent - BEFORE);
        sent_while = sent - BEFORE;
        h_pump(&h, 2000);
        stored_while = h_db_int(&h, "SELECT count(*) FROM event WHERE uid LIKE 'F-%%'");
        if (!h_daemon_alive(&h))
                return fault_fail(NAME, "the daemon died on the full disk");
        if (h_wait_messages(&h, NOTIFY, 1, 10000) < 1 ||
            !strstr(h_message(&h, NOTIFY, 0)->payload, "storage_failed"))
                return fault_fail(NAME, "no storage_failed notification to the command centre");
        if (http_status(&h, "/healthz") != 503)
                return fault_fail(NAME, "/healthz does not say 503 while writes fail");
        for (int waited = 0; waited < 10000 && http_sink_n_requests(sink) < 1; waited += 50)
                h_pump(&h, 50);
        if (http_sink_n_requests(sink) < 1 ||
            !strstr(http_sink_request(sink, 0)->body, "\"storage_failed\""))
                return fault_fail(NAME, "no storage_failed over the webhook (a non-MQTT channel)");
        h_clear_messages(&h);

        /* Space comes back; no event arrives meanwhile. */
        unlink(filler);
        t_free = h_now();
        for (; h_now() - t_free < RECOVER_S; h_pump(&h, 50))
                if (h_db_int(&h, "SELECT count(*) FROM event WHERE uid LIKE 'F-%%'") == sent &&
                    http_status(&h, "/healthz") == 200) {
                        recovered_s = h_now() - t_free;
                        break;
                }
        if (recovered_s < 0)
                return fault_fail(NAME, "not recovered within %d s of space returning", RECOVER_S);

        for (int i = sent; i < sent + AFTER; i++) {
                snprintf(id, sizeof(id), "F-%05d", i);
                door(&p, i % 2 ? "d-1-door" : "d-2-door", id, (i / 2) % 2 == 0);
        }
        sent += AFTER;
        pub_flush(&p, 30000);
        h_db_wait_int(&h, sent, 30000, "SELECT count(*) FROM event WHERE uid LIKE 'F-%%'");
        for (int waited = 0; waited < 10000 && http_sink_n_requests(sink) < 2; waited += 50)
                h_pump(&h, 50);
        f = fault_figures(&h, p.acked, "F-");
        fault_print(NAME, &f,
                    "%lld of %d stored while full; recovered %.1f s after space returned; "
                    "storage_failed alerts %lld; webhook requests %zu (storage_failed from memory, "
                    "storage_restored); log lines 'writing failed' %zu, 'still takes no "
                    "writes' %zu",
                    (long long)(stored_while - BEFORE), sent_while, recovered_s,
                    (long long)h_db_int(&h, "SELECT count(*) FROM alert WHERE kind = "
                                            "'storage_failed'"),
                    http_sink_n_requests(sink), daemon_log_count(&h, "writing failed"),
                    daemon_log_count(&h, "still takes no writes"));
        if (f.lost != 0 || f.duplicated != 0 || f.sent != (uint64_t)sent)
                return fault_fail(NAME, "events lost or duplicated");
        if (h_db_int(&h, "SELECT count(*) FROM alert WHERE kind = 'storage_failed'") < 1)
                return fault_fail(NAME, "no storage_failed alert recorded after recovery");
        pub_stop(&p);
        h_stop_daemon(&h, SIGTERM);
        h_stop_broker(&h);
        umount2(state, MNT_DETACH);
        http_sink_free(sink);
        h_cleanup(&h);
        return 0;
}

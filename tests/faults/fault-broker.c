/* fault-broker.c: the broker restarted twice with its persistence during bursts of door
 * events (the daemon's session and what the broker queued for it survive), then once
 * without (its persistence file removed: the session is gone). Nothing acknowledged to the
 * publisher may be lost across the first two; after the third the daemon must say that
 * the broker lost its session: a warning in its log and a monitoring_gap alert. */
#include "faults.h"

#define NAME  "broker"
#define BURST 3000

static void burst(struct pub *p, int from, int n)
{
        char id[32];

        for (int i = from; i < from + n; i++) {
                snprintf(id, sizeof(id), "B-%05d", i);
                door(p, i % 2 ? "d-1-door" : "d-2-door", id, (i / 2) % 2 == 0);
        }
}

int main(void)
{
        struct harness h;
        struct pub p = { 0 };
        struct figures f;
        char path[600];
        int sent = 0;

        fault_seed(NAME, 3);
        h_init(&h);
        fault_start(NAME, &h);
        h_start_broker(&h);
        h_start_daemon(&h);
        pub_start(&p, &h);

        for (int restart = 0; restart < 2; restart++) {
                burst(&p, sent, BURST);
                sent += BURST;
                /* The broker takes the burst, then goes while the daemon works through it. */
                pub_flush(&p, 30000);
                h_stop_broker(&h); /* SIGTERM: it saves sessions and queues */
                h_start_broker(&h);
                pub_pump(&p, 100);
        }
        burst(&p, sent, BURST);
        sent += BURST;
        pub_flush(&p, 30000);
        h_db_wait_int(&h, sent, 60000, "SELECT count(*) FROM event WHERE uid LIKE 'B-%%'");
        f = fault_figures(&h, p.acked, "B-");
        fault_print(NAME, &f, "2 broker restarts with persistence");
        if (f.lost != 0 || f.duplicated != 0 || f.sent != (uint64_t)sent)
                return fault_fail(NAME, "events lost or duplicated across the restarts");

        /* Without persistence: the daemon's session is gone. */
        h_stop_broker(&h);
        snprintf(path, sizeof(path), "%s/mosquitto.db", h.dir);
        unlink(path);
        h_start_broker(&h);
        for (int waited = 0; waited < 20000 && !daemon_log_has(&h, "has no session for it");
             waited += 50)
                h_pump(&h, 50);
        h_db_wait_int(&h, 1, 10000,
                      "SELECT count(*) FROM alert WHERE kind = 'monitoring_gap' AND reason LIKE "
                      "'%%lost the daemon''s session%%'");
        f = fault_figures(&h, p.acked, "B-");
        fault_print(NAME, &f,
                    "then 1 restart without persistence: lost-session warning %s, alert %lld",
                    daemon_log_has(&h, "has no session for it") ? "logged" : "MISSING",
                    (long long)h_db_int(&h, "SELECT count(*) FROM alert WHERE kind = "
                                            "'monitoring_gap' AND reason LIKE '%%session%%'"));
        if (!daemon_log_has(&h, "has no session for it"))
                return fault_fail(NAME, "no warning about the lost session");
        if (h_db_int(&h, "SELECT count(*) FROM alert WHERE kind = 'monitoring_gap' AND reason "
                         "LIKE '%%session%%'") < 1)
                return fault_fail(NAME, "no monitoring_gap alert for the lost session");
        pub_stop(&p);
        h_stop_daemon(&h, SIGTERM);
        h_stop_broker(&h);
        h_cleanup(&h);
        return 0;
}

/* fault-kill.c: 20 kill -9 of the daemon at random moments of a 20,000-event burst, while
 * workers acknowledge and resolve the alerts it raises (the door events of the default
 * configuration's households: every unexpected opening alerts the team, repeats join the
 * open alert, a resolved one lets the next opening raise a new one). Each time the daemon
 * starts again at once; the broker delivers what it had not acknowledged. Nothing may be
 * lost or stored twice, and every ack and resolve that was answered ok is recorded. */
#include <cjson/cJSON.h>

#include "faults.h"

#define NAME   "kill"
#define EVENTS 20000
#define KILLS  20
#define NOTIFY "doorwatch/v1/workers/+/notify"
#define RESULT "doorwatch/v1/workers/+/result"

struct acting {
        char alert[64][40];
        size_t n;
        size_t seen; /* notifications looked at */
        int acks, resolves;
};

static bool known(struct acting *a, const char *id)
{
        for (size_t i = 0; i < a->n; i++)
                if (strcmp(a->alert[i], id) == 0)
                        return true;
        return false;
}

/* Acknowledges, then resolves, every door alert that was notified (as the household's
 * community worker, w-a-01), through the broker like a worker's phone. */
static void act(struct harness *h, struct pub *p, struct acting *a)
{
        char payload[256];

        h_pump(h, 0);
        for (; a->seen < h_count_messages(h, NOTIFY); a->seen++) {
                const struct h_msg *m = h_message(h, NOTIFY, a->seen);
                cJSON *j = m ? cJSON_Parse(m->payload) : NULL;
                const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "alert_id");
                const cJSON *kind = cJSON_GetObjectItemCaseSensitive(j, "kind");

                if (cJSON_IsString(id) && cJSON_IsString(kind) &&
                    strcmp(kind->valuestring, "door_open_unexpected") == 0 &&
                    !known(a, id->valuestring)) {
                        if (a->n == 64)
                                a->n = 0;
                        snprintf(a->alert[a->n++], sizeof(a->alert[0]), "%s", id->valuestring);
                        snprintf(payload, sizeof(payload),
                                 "{\"alert_id\": \"%s\", \"request_id\": \"ack-%s\"}",
                                 id->valuestring, id->valuestring);
                        pub_send(p, "doorwatch/v1/workers/w-a-01/ack", payload);
                        snprintf(payload, sizeof(payload),
                                 "{\"alert_id\": \"%s\", \"note\": \"checked at the door\", "
                                 "\"request_id\": \"res-%s\"}",
                                 id->valuestring, id->valuestring);
                        pub_send(p, "doorwatch/v1/workers/w-a-01/resolve", payload);
                        a->acks++;
                        a->resolves++;
                }
                cJSON_Delete(j);
        }
}

int main(void)
{
        struct harness h;
        struct pub p = { 0 };
        struct acting a = { 0 };
        size_t kill_at[KILLS];
        char id[32];
        struct figures f;
        size_t k = 0;
        double t0;

        fault_seed(NAME, 20);
        h_init(&h);
        fault_start(NAME, &h);
        h_start_broker(&h);
        h_start_daemon(&h);
        h_subscribe(&h, RESULT);
        pub_start(&p, &h);
        for (size_t i = 0; i < KILLS; i++)
                kill_at[i] = 200 + fault_rand(EVENTS - 400);
        for (size_t i = 0; i < KILLS; i++) /* sorted */
                for (size_t j = i + 1; j < KILLS; j++)
                        if (kill_at[j] < kill_at[i]) {
                                size_t t = kill_at[i];
                                kill_at[i] = kill_at[j];
                                kill_at[j] = t;
                        }

        t0 = h_now();
        for (size_t i = 0; i < EVENTS; i++) {
                static const char *const devices[] = { "d-1-door", "d-2-door", "d-1-bell" };
                const char *dev = devices[i % 3];

                snprintf(id, sizeof(id), "K-%05zu", i);
                if (i % 3 == 2) {
                        char payload[160];
                        snprintf(payload, sizeof(payload),
                                 "{\"id\": \"%s\", \"ts\": %.3f, \"type\": \"ring\"}", id, h_now());
                        pub_send(&p, "doorwatch/v1/devices/d-1-bell/events", payload);
                } else
                        door(&p, dev, id, (i / 3) % 2 == 0);
                if (i % 100 == 0) {
                        pub_pump(&p, 0);
                        act(&h, &p, &a);
                }
                while (k < KILLS && kill_at[k] == i) {
                        /* Let the daemon be in the middle of it. */
                        pub_pump(&p, 1 + (int)fault_rand(30));
                        h_stop_daemon(&h, SIGKILL);
                        h_start_daemon(&h);
                        a.seen = 0; /* the harness forgot the messages */
                        k++;
                }
        }
        pub_flush(&p, 60000);
        h_db_wait_int(&h, EVENTS, 120000, "SELECT count(*) FROM event WHERE uid LIKE 'K-%%'");
        for (int i = 0; i < 50; i++) {
                act(&h, &p, &a);
                h_pump(&h, 20);
        }
        pub_flush(&p, 30000);
        h_pump(&h, 500);
        f = fault_figures(&h, EVENTS, "K-");
        f.sent = p.acked - (uint64_t)(a.acks + a.resolves);
        f.lost = (int64_t)f.sent - f.stored;
        fault_print(NAME, &f,
                    "%d kill -9 in %.1f s; %d acks and %d resolves sent, %lld acks and %lld "
                    "resolves recorded",
                    KILLS, h_now() - t0, a.acks, a.resolves,
                    (long long)h_db_int(&h, "SELECT count(*) FROM action WHERE kind = 'ack'"),
                    (long long)h_db_int(&h, "SELECT count(*) FROM action WHERE kind = 'resolve'"));
        if (f.sent != EVENTS || f.lost != 0 || f.duplicated != 0)
                return fault_fail(NAME, "events lost or duplicated");
        if (h_db_int(&h, "SELECT count(*) FROM action WHERE kind = 'ack'") < a.acks / 2)
                return fault_fail(NAME, "acks went missing");
        pub_stop(&p);
        h_stop_daemon(&h, SIGTERM);
        h_stop_broker(&h);
        h_cleanup(&h);
        return 0;
}

/* ctl-notify.c: doorwatchctl's notify list (the outbox, read-only) and notify test (a test
 * message through each notifier, built as the daemon builds it; the mqtt type straight to
 * the broker through mqtt_session.h), called from doorwatchctl.c's dispatch. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "config.h"
#include "ctl-list.h"
#include "ctl-notify.h"
#include "ctl.h"
#include "mqtt_session.h"
#include "notify/notify.h"
#include "roster.h"
#include "store.h"
#include "topic.h"
#include "util.h"

/* The payload's "kind" (what the notification says: an alert's kind, "ack_notice"...). */
static void payload_kind(struct out *t, const char *payload)
{
        _cleanup_json_ cJSON *j = payload ? cJSON_Parse(payload) : NULL;
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "kind");
        char buf[32];

        if (cJSON_IsNumber(k) && t->arr)
                out_number(t, true, k->valuedouble);
        else if (cJSON_IsNumber(k)) {
                snprintf(buf, sizeof(buf), "%.15g", k->valuedouble); /* as SQLite prints */
                out_text(t, buf);
        } else
                out_text(t, cJSON_IsString(k) ? k->valuestring : NULL);
}

static int notification_line(const struct store_notification *n, void *userdata)
{
        struct out *t = userdata;

        out_text(t, n->id);
        out_text(t, notification_state_to_string(n->state));
        out_text(t, n->channel);
        out_text(t, n->worker);
        out_text(t, n->alert_id);
        payload_kind(t, n->payload);
        out_text(t, n->kind);
        out_int(t, n->priority);
        out_int(t, n->attempts);
        out_time(t, n->created_usec, true);
        out_time(t, n->last_attempt_usec, false);
        if (n->state == NOTIFICATION_DELIVERED)
                out_time(t, n->delivered_usec, false);
        else if (n->state == NOTIFICATION_DEAD)
                out_time(t, n->dead_usec, false);
        else
                out_time(t, n->next_usec, true);
        out_text(t, n->last_error);
        out_end_row(t);
        return 0;
}

int cmd_notify_list(struct ctl *ctl, int argc, char **argv)
{
        static const char *const cols[] = {
                "id",         "state",    "channel",  "worker",  "alert_id", "kind",
                "purpose",    "priority", "attempts", "created", "tried",    "delivered/dead/next",
                "last_error", NULL,
        };
        unsigned states = 0;
        struct out t;
        int r;

        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "--dead") == 0)
                        states = 1u << NOTIFICATION_DEAD;
                else if (strcmp(argv[i], "--pending") == 0)
                        states = (1u << NOTIFICATION_PENDING) | (1u << NOTIFICATION_SENDING);
                else
                        return usage();
        }
        if (open_db(ctl) < 0)
                return 1;
        out_begin(&t, ctl->json, cols);
        r = store_list_notifications(ctl->store,
                                     &(struct store_notification_filter){
                                         .states = states,
                                         .newest_first = true,
                                         .limit = 1000,
                                     },
                                     notification_line, &t);
        return out_end(&t, r);
}

struct test_target {
        const struct notifier_config *nc;
        const struct worker *worker; /* NULL: a group notifier without recipients */
};

struct test_result {
        bool done;
        enum notify_outcome outcome;
        char detail[512];
};

static void on_test_done(struct notifier *n, const struct notify_result *res, void *userdata)
{
        struct test_result *t = userdata;

        t->done = true;
        t->outcome = res->outcome;
        snprintf(t->detail, sizeof(t->detail), "%s", res->detail ? res->detail : "");
}

struct puback_wait {
        int mid;
        bool acked;
};

static void on_puback(struct mosquitto *m, void *ud, int mid)
{
        struct puback_wait *w = ud;
        if (mid == w->mid)
                w->acked = true;
}

/* The mqtt type belongs to the daemon's connection: here the message is published directly
 * (QoS 1, as the daemon does) and the broker's PUBACK is the far end's answer. */
static void test_mqtt(struct ctl *ctl, const struct notify_message *m, struct test_result *res)
{
        const struct mqtt_config *mc = &ctl->config->mqtt;
        struct puback_wait w = { .mid = -1 };
        _cleanup_free_ char *payload = NULL, *topic = NULL;
        struct mosquitto *mosq;
        char why[256];
        int rc;

        res->done = true;
        res->outcome = NOTIFY_RETRY;
        payload = notify_message_format(m, NOTIFY_FORMAT_PERSON);
        topic = topic_new(mc->topic_prefix, TOPIC_WORKERS, m->worker, TOPIC_NOTIFY);
        if (mqtt_session_connect(mc, ctl->config->dir, NULL, &w, 10 * USEC_PER_SEC, &mosq, why,
                                 sizeof(why)) != 0) {
                snprintf(res->detail, sizeof(res->detail), "%s", why);
                return;
        }
        mosquitto_publish_callback_set(mosq, on_puback);
        rc = mosquitto_publish(mosq, &w.mid, topic, (int)strlen(payload), payload, 1, false);
        for (int i = 0; rc == MOSQ_ERR_SUCCESS && i < 100 && !w.acked; i++)
                rc = mosquitto_loop(mosq, 100, 1);
        if (w.acked) {
                res->outcome = NOTIFY_DELIVERED;
                snprintf(res->detail, sizeof(res->detail), "PUBACK from %s:%d on %s", mc->host,
                         mc->port, topic);
        } else if (rc != MOSQ_ERR_SUCCESS)
                snprintf(res->detail, sizeof(res->detail), "broker %s:%d: %s", mc->host, mc->port,
                         rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
        else
                snprintf(res->detail, sizeof(res->detail), "no PUBACK from %s:%d within 10 s",
                         mc->host, mc->port);
        mqtt_session_close(mosq);
}

/* Builds the notifier as the daemon would (secrets included) and sends through it. */
static void test_channel(struct ctl *ctl, struct notify_context *nctx, sd_event *ev,
                         const struct notifier_config *nc, const struct notify_message *m,
                         struct test_result *res)
{
        struct config_diag diag = { 0 };
        struct notifier *n = notify_context_find(nctx, nc->name);
        bool invalid = false;
        int r = 0;

        res->done = false;
        if (!n)
                r = notifier_new(nctx, nc, ctl->config->dir, &diag, &n);
        for (size_t i = 0; i < diag.n_errors; i++)
                fprintf(stderr, "error: %s\n", diag.errors[i]);
        invalid = diag.n_errors > 0; /* reported: the code says nothing more */
        config_diag_done(&diag);
        if (r >= 0)
                r = notifier_send(n, m, on_test_done, res);
        if (r < 0) {
                res->done = true;
                res->outcome = NOTIFY_FAILED;
                snprintf(res->detail, sizeof(res->detail), "%s",
                         invalid ? "invalid configuration" : strerror(-r));
                return;
        }
        /* Every channel bounds its own attempt (HTTP and exec timeouts). */
        for (int64_t end = now_monotonic_usec() + 120 * USEC_PER_SEC;
             !res->done && now_monotonic_usec() < end;)
                if (sd_event_run(ev, 1 * USEC_PER_SEC) < 0)
                        break;
        if (!res->done) {
                res->done = true;
                res->outcome = NOTIFY_RETRY;
                snprintf(res->detail, sizeof(res->detail), "no answer");
        }
}

int cmd_notify_test(struct ctl *ctl, int argc, char **argv)
{
        const char *what = NULL, *worker_id = NULL;
        const struct worker *w = NULL;
        const struct notifier_config *nc;
        _cleanup_free_ struct test_target *targets = NULL;
        _cleanup_(notify_context_freep) struct notify_context *nctx = NULL;
        struct templates *t = NULL;
        struct config_diag diag = { 0 };
        sd_event *ev = NULL;
        size_t n_targets = 0;
        char id[64];
        cJSON *arr = NULL;
        int failed = 0, r;

        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "--worker") == 0 && i + 1 < argc)
                        worker_id = argv[++i];
                else if (argv[i][0] != '-' && !what)
                        what = argv[i];
                else
                        return usage();
        }
        if (!what)
                return usage();
        if (load_config(ctl) < 0)
                return 1;
        if (worker_id && !(w = config_worker(ctl->config, worker_id))) {
                fprintf(stderr, "doorwatchctl: unknown worker \"%s\"\n", worker_id);
                return 1;
        }
        targets = calloc(ctl->config->n_notifiers + 1, sizeof(*targets));
        if (!targets)
                return 1;
        nc = config_notifier(ctl->config, what);
        if (!w && !nc && (w = config_worker(ctl->config, what))) {
                /* A worker: every channel they list. */
                for (size_t i = 0; i < w->n_channels; i++) {
                        const struct notifier_config *c =
                            config_notifier(ctl->config, w->channels[i]);
                        if (c)
                                targets[n_targets++] = (struct test_target){ c, w };
                }
                if (n_targets == 0) {
                        fprintf(stderr, "doorwatchctl: worker %s has no notification channel\n",
                                w->id);
                        return 1;
                }
        } else if (nc) {
                bool per_person = strcmp(nc->type, "mqtt") == 0 || strcmp(nc->type, "exec") == 0;
                if (per_person && !w) {
                        fprintf(
                            stderr,
                            "doorwatchctl: %s is a per-person channel (type %s): add --worker W "
                            "to choose the recipient\n",
                            nc->name, nc->type);
                        return EXIT_USAGE;
                }
                targets[n_targets++] = (struct test_target){ nc, w };
        } else {
                fprintf(stderr, "doorwatchctl: \"%s\" is neither a worker nor a notifier\n", what);
                return 1;
        }

        r = sd_event_new(&ev);
        if (r >= 0)
                r = notify_context_new(ev, &nctx);
        if (r >= 0 && templates_new(ctl->config->templates, &diag, &t) >= 0)
                notify_context_set_templates(nctx, t);
        config_diag_done(&diag);
        if (r < 0) {
                fprintf(stderr, "doorwatchctl: %s\n", strerror(-r));
                sd_event_unref(ev);
                return 1;
        }
        snprintf(id, sizeof(id), "test-%lld-%ld", (long long)time(NULL), (long)getpid());
        if (ctl->json)
                arr = cJSON_CreateArray();
        for (size_t i = 0; i < n_targets; i++) {
                const struct test_target *tg = &targets[i];
                struct notify_recipient rcp = { 0 };
                struct notify_message m = {
                        .notification_id = id,
                        .kind = "test",
                        .severity = "info",
                        .reason = "test message sent with doorwatchctl notify test",
                        .raised_at_usec = now_realtime_usec(),
                };
                struct test_result res = { 0 };
                char topic[256];

                if (tg->worker) {
                        rcp = (struct notify_recipient){ .worker = tg->worker->id,
                                                         .name = tg->worker->name,
                                                         .phone = tg->worker->phone,
                                                         .role = role_to_string(tg->worker->role) };
                        topic_format(topic, sizeof(topic), ctl->config->mqtt.topic_prefix,
                                     TOPIC_WORKERS, tg->worker->id,
                                     command_verb_to_string(COMMAND_ACK));
                        m.worker = rcp.worker;
                        m.role = rcp.role;
                        m.ack_topic = topic;
                        m.recipients = &rcp;
                        m.n_recipients = 1;
                }
                if (strcmp(tg->nc->type, "mqtt") == 0) {
                        _cleanup_free_ char *text = NULL;
                        if (notify_render_text(notify_context_templates(nctx), &m, 0, &text) >= 0)
                                m.text = text;
                        test_mqtt(ctl, &m, &res);
                } else
                        test_channel(ctl, nctx, ev, tg->nc, &m, &res);
                failed += res.outcome != NOTIFY_DELIVERED;
                if (arr) {
                        cJSON *o = cJSON_CreateObject();
                        cJSON_AddStringToObject(o, "notifier", tg->nc->name);
                        cJSON_AddStringToObject(o, "type", tg->nc->type);
                        if (tg->worker)
                                cJSON_AddStringToObject(o, "worker", tg->worker->id);
                        else
                                cJSON_AddNullToObject(o, "worker");
                        cJSON_AddStringToObject(o, "outcome",
                                                notify_outcome_to_string(res.outcome));
                        cJSON_AddStringToObject(o, "detail", res.detail);
                        cJSON_AddItemToArray(arr, o);
                } else
                        printf("%s (%s)%s%s: %s: %s\n", tg->nc->name, tg->nc->type,
                               tg->worker ? " to " : "", tg->worker ? tg->worker->id : "",
                               notify_outcome_to_string(res.outcome), res.detail);
        }
        if (arr) {
                char *s = cJSON_Print(arr);
                printf("%s\n", s);
                free(s);
                cJSON_Delete(arr);
        }
        nctx = notify_context_free(nctx);
        sd_event_unref(ev);
        return failed ? 1 : 0;
}

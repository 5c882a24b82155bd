/* mqtt.c: the "mqtt" notifier type (see notify/mqtt_notifier.h).
 *
 * A table of MID_SLOTS slots, indexed by libmosquitto's message id modulo its size, maps a
 * mid to the send (struct notify_op) awaiting its PUBACK; the op's data holds mid + 1, so
 * that cancel() finds its slot and a PUBACK is matched to the op of exactly its mid. Ids
 * are handed out in sequence, so two sends share a slot only when MID_SLOTS publishes went
 * out while the older one waited (16 times the outbox's window): the older is then
 * retried. Invariant: a slot holds an op exactly until the op is completed or cancelled. The type
 * struct lives inside struct notify_mqtt (its userdata points back), so notifiers created from it
 * must be freed before it is. */
#include "notify/mqtt_notifier.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt.h"
#include "topic.h"
#include "util.h"

/* 32 KB; a slot per possible mid (65536) took 512 KB, resident once the ids went round. */
#define MID_SLOTS NOTIFY_MQTT_MID_SLOTS

struct notify_mqtt {
        struct notify_type type;
        const struct notify_type *previous;
        struct mqtt *mqtt;
        char *prefix;
        size_t n_inflight;
        struct notify_op *inflight[MID_SLOTS];
};

static void slot_clear(struct notify_mqtt *nm, struct notify_op *op)
{
        uintptr_t v = (uintptr_t)notify_op_get_data(op);

        if (v == 0)
                return;
        if (nm->inflight[(v - 1) % MID_SLOTS] == op) {
                nm->inflight[(v - 1) % MID_SLOTS] = NULL;
                nm->n_inflight--;
        }
        notify_op_set_data(op, NULL);
}

static int mqtt_send(struct notifier *n, const struct notify_message *m, struct notify_op *op)
{
        struct notify_mqtt *nm = notifier_get_type(n)->userdata;
        const char *worker = m->worker;
        struct notify_message person = *m;
        _cleanup_free_ char *text = NULL, *payload = NULL, *topic = NULL;
        int mid = 0, r;

        if (!worker && m->n_recipients > 0)
                worker = m->recipients[0].worker;
        if (!worker) {
                notify_op_complete(op, NOTIFY_FAILED, 0, "no recipient worker");
                return 0;
        }
        if (!mqtt_connected(nm->mqtt)) {
                notify_op_complete(op, NOTIFY_RATE_LIMITED, USEC_PER_SEC,
                                   NOTIFY_MQTT_NOT_CONNECTED);
                return 0;
        }
        r = notifier_text(n, m, 0, &text);
        if (r < 0)
                return r;
        person.text = text;
        person.worker = worker;
        if (!person.role && m->n_recipients > 0)
                person.role = m->recipients[0].role;
        payload = notify_message_format(&person, NOTIFY_FORMAT_PERSON);
        topic = topic_new(nm->prefix, TOPIC_WORKERS, worker, TOPIC_NOTIFY);
        r = mqtt_publish(nm->mqtt, topic, payload, strlen(payload), 1, false, &mid);
        if (r == MQTT_E_NOT_CONNECTED) {
                notify_op_complete(op, NOTIFY_RATE_LIMITED, USEC_PER_SEC,
                                   NOTIFY_MQTT_NOT_CONNECTED);
                return 0;
        }
        if (r < 0)
                return r;
        if (nm->inflight[mid % MID_SLOTS]) {
                /* MID_SLOTS publishes while this one waited: libmosquitto still resends it,
                 * but its completion no longer has a slot. Let the outbox retry it. */
                struct notify_op *old = nm->inflight[mid % MID_SLOTS];
                slot_clear(nm, old);
                notify_op_complete(old, NOTIFY_RETRY, 0, "message id reused before PUBACK");
        }
        nm->inflight[mid % MID_SLOTS] = op;
        nm->n_inflight++;
        notify_op_set_data(op, (void *)(uintptr_t)((unsigned)mid + 1));
        return 0;
}

static void mqtt_cancel(struct notifier *n, struct notify_op *op)
{
        slot_clear(notifier_get_type(n)->userdata, op);
}

bool notify_mqtt_on_publish(struct notify_mqtt *nm, int mid)
{
        struct notify_op *op;

        if (!nm)
                return false;
        op = nm->inflight[(unsigned)mid % MID_SLOTS];
        if (!op || (uintptr_t)notify_op_get_data(op) != (uintptr_t)((unsigned)mid + 1))
                return false; /* not ours, or an older send retried in the meantime */
        slot_clear(nm, op);
        notify_op_complete(op, NOTIFY_DELIVERED, 0, "PUBACK");
        return true;
}

size_t notify_mqtt_n_inflight(const struct notify_mqtt *nm)
{
        return nm ? nm->n_inflight : 0;
}

int notify_mqtt_new(struct mqtt *m, const char *topic_prefix, struct notify_mqtt **ret)
{
        struct notify_mqtt *nm = xcalloc(1, sizeof(*nm));
        int r;

        nm->mqtt = m;
        nm->prefix = xstrdup(topic_prefix);
        nm->type = (struct notify_type){
                .name = "mqtt",
                .send = mqtt_send,
                .cancel = mqtt_cancel,
                .userdata = nm,
        };
        nm->previous = notify_type_find("mqtt");
        r = notify_register_type(&nm->type);
        if (r < 0) {
                free(nm->prefix);
                free(nm);
                return r;
        }
        *ret = nm;
        return 0;
}

struct notify_mqtt *notify_mqtt_free(struct notify_mqtt *nm)
{
        if (!nm)
                return NULL;
        if (nm->previous && notify_type_find("mqtt") == &nm->type)
                notify_register_type(nm->previous);
        free(nm->prefix);
        free(nm);
        return NULL;
}

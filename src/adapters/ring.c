/* ring.c: Ring doorbells and Ring Alarm contact sensors through ring-mqtt (devices.md).
 *
 * Device keys:
 *   "location_id":    the Ring location id (required).
 *   "ring_device_id": the Ring device id (required).
 *   "ring_category":  "camera" (doorbells and cameras) or "alarm" (Ring Alarm devices);
 *                     default "camera" for kind doorbell and camera, "alarm" for door_contact.
 *   "ring_topic":     ring-mqtt's topic prefix (default "ring").
 *
 * Topics under <ring_topic>/<location_id>/<category>/<device_id>/: "status" (online/offline),
 * "info/state" (JSON: batteryLevel, batteryStatus, tamperStatus), and "ding/state" (camera:
 * ON = ding, OFF when the ding expires, retained) or "contact/state" (alarm: ON = faulted =
 * open, OFF = closed). A ding ON is a ring (a retained one is reported flagged retained,
 * never as a new ring); ding OFF is ignored; contact is an edge against device state. */
#include <errno.h>
#include <string.h>

#include "common.h"
#include "util.h"

#define RING_MAX_INFO 16384

struct ring_config {
        bool camera;
        char t_status[ADAPTER_TOPIC_MAX], t_info[ADAPTER_TOPIC_MAX];
        char t_ding[ADAPTER_TOPIC_MAX], t_contact[ADAPTER_TOPIC_MAX];
};

static void ring_free_config(void *p)
{
        free(p);
}

static int ring_parse_device(struct device *d, const cJSON *entry, const char *file,
                             const char *path, struct config_diag *diag)
{
        struct adapter_cfg cfg = { .entry = entry, .file = file, .path = path, .diag = diag };
        _cleanup_free_ char *loc = NULL, *dev = NULL, *cat = NULL, *prefix = NULL;
        struct ring_config *c;
        char base[ADAPTER_TOPIC_MAX];

        loc = adapter_cfg_topic(&cfg, "location_id", true, NULL, false);
        dev = adapter_cfg_topic(&cfg, "ring_device_id", true, NULL, false);
        cat = adapter_cfg_string(&cfg, "ring_category", false,
                                 d->kind == DEVICE_DOOR_CONTACT ? "alarm" : "camera", 16);
        prefix = adapter_cfg_topic(&cfg, "ring_topic", false, "ring", true);
        if (cat && strcmp(cat, "camera") != 0 && strcmp(cat, "alarm") != 0)
                adapter_cfg_error(&cfg, "ring_category", "must be \"camera\" or \"alarm\"");
        if (cfg.r < 0 || !loc || !dev || !cat || !prefix)
                return -EINVAL;

        c = calloc(1, sizeof(*c));
        if (!c)
                abort();
        c->camera = strcmp(cat, "camera") == 0;
        adapter_topic(base, "%s/%s/%s/%s", prefix, loc, cat, dev);
        adapter_topic(c->t_status, "%s/status", base);
        adapter_topic(c->t_info, "%s/info/state", base);
        if (c->camera)
                adapter_topic(c->t_ding, "%s/ding/state", base);
        else
                adapter_topic(c->t_contact, "%s/contact/state", base);
        d->adapter_config = c;
        return 0;
}

static void ring_topics(const struct device *d, const char *topic_prefix, adapter_topic_cb cb,
                        void *userdata)
{
        const struct ring_config *c = d->adapter_config;
        const char *const topics[] = { c->t_status, c->t_info, c->t_ding, c->t_contact };

        for (size_t i = 0; i < ELEMENTSOF(topics); i++)
                if (topics[i][0])
                        cb(topics[i], topics[i], userdata);
}

static int decode_info(const struct adapter_msg *m, struct device_state *st,
                       struct adapter_decode_result *out)
{
        _cleanup_json_ cJSON *j = NULL;
        const char *tamper, *bstatus;
        double pct;
        int r, low = -1;

        r = adapter_parse_json(m, RING_MAX_INFO, &j, out);
        if (r != ADAPTER_OK)
                return r;
        tamper = adapter_json_string(j, "tamperStatus");
        if (tamper)
                adapter_emit_tamper(m, st, out, strcmp(tamper, "tamper") == 0);
        bstatus = adapter_json_string(j, "batteryStatus");
        if (bstatus)
                low = strcmp(bstatus, "low") == 0 || strcmp(bstatus, "critical") == 0;
        if (adapter_json_number(cJSON_GetObjectItemCaseSensitive(j, "batteryLevel"), &pct) != 0 ||
            pct < 0 || pct > 100)
                pct = -1;
        adapter_emit_battery(m, st, out, (int)pct, low, 0);
        return adapter_finish_alive(m, st, out);
}

static int ring_decode_message(const struct device *d, const struct adapter_msg *m,
                               struct device_state *st, struct adapter_decode_result *out)
{
        const struct ring_config *c = d->adapter_config;
        bool online, b;

        adapter_begin(out);
        if (strcmp(m->topic, c->t_status) == 0) {
                if (adapter_parse_availability(m->payload, m->len, &online) != 0) {
                        out->error = "status must be online or offline";
                        return ADAPTER_E_INVALID;
                }
                adapter_emit_availability(m, st, out, online, false);
                return ADAPTER_OK;
        }
        if (strcmp(m->topic, c->t_info) == 0)
                return decode_info(m, st, out);
        if (c->t_ding[0] && strcmp(m->topic, c->t_ding) == 0) {
                if (adapter_parse_bool_word(m->payload, m->len, &b) != 0) {
                        out->error = "ding/state must be ON or OFF";
                        return ADAPTER_E_INVALID;
                }
                if (!b)
                        return ADAPTER_E_IGNORED; /* the ding expired */
                adapter_emit_ring(m, st, out);
                return adapter_finish_alive(m, st, out);
        }
        if (c->t_contact[0] && strcmp(m->topic, c->t_contact) == 0) {
                if (adapter_parse_bool_word(m->payload, m->len, &b) != 0) {
                        out->error = "contact/state must be ON or OFF";
                        return ADAPTER_E_INVALID;
                }
                adapter_emit_door_state(d, m, st, out, /* ON = faulted = open */ b);
                return adapter_finish_alive(m, st, out);
        }
        return ADAPTER_E_NOT_MINE;
}

static int ring_decode(const struct device *d, const struct adapter_msg *m, struct device_state *st,
                       struct adapter_decode_result *out)
{
        struct device_state saved = *st;

        return adapter_decode_end(ring_decode_message(d, m, st, out), st, &saved, out);
}

static const char *const ring_keys[] = { "location_id", "ring_device_id", "ring_category",
                                         "ring_topic", NULL };

const struct adapter adapter_ring = {
        .name = "ring",
        .keys = ring_keys,
        .parse_device = ring_parse_device,
        .free_config = ring_free_config,
        .topics = ring_topics,
        .decode = ring_decode,
};

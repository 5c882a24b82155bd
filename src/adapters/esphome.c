/* esphome.c: door contacts and bell buttons on an ESPHome node in MQTT mode (devices.md).
 *
 * Device keys:
 *   "esphome_prefix":    the node's mqtt.topic_prefix (default: the node name) (required).
 *   "object_id":         the binary_sensor's object id (required). ON = open (HA door
 *                        convention; wiring decides, so "invert" flips it); doorbells ring
 *                        on each change to ON.
 *   "battery_object_id": optional sensor with the battery in percent.
 *   "tamper_object_id":  optional binary_sensor, ON = tampered.
 *
 * Topics: <prefix>/status (online/offline, retained LWT), <prefix>/binary_sensor/<object_id>/
 * state (ON/OFF, retained by default: replays are flagged retained and only produce an
 * event when they differ from the known state), <prefix>/sensor/<battery_object_id>/state
 * (number as text), <prefix>/binary_sensor/<tamper_object_id>/state. */
#include <errno.h>
#include <string.h>

#include "common.h"
#include "util.h"

struct esphome_config {
        char t_status[ADAPTER_TOPIC_MAX], t_state[ADAPTER_TOPIC_MAX];
        char t_battery[ADAPTER_TOPIC_MAX], t_tamper[ADAPTER_TOPIC_MAX];
};

static void esphome_free_config(void *p)
{
        free(p);
}

static int esphome_parse_device(struct device *d, const cJSON *entry, const char *file,
                                const char *path, struct config_diag *diag)
{
        struct adapter_cfg cfg = { .entry = entry, .file = file, .path = path, .diag = diag };
        _cleanup_free_ char *prefix = NULL, *obj = NULL, *bat = NULL, *tamper = NULL;
        struct esphome_config *c;

        prefix = adapter_cfg_topic(&cfg, "esphome_prefix", true, NULL, true);
        obj = adapter_cfg_topic(&cfg, "object_id", true, NULL, false);
        bat = adapter_cfg_topic(&cfg, "battery_object_id", false, NULL, false);
        tamper = adapter_cfg_topic(&cfg, "tamper_object_id", false, NULL, false);
        if (obj && tamper && strcmp(obj, tamper) == 0)
                adapter_cfg_error(&cfg, "tamper_object_id", "must differ from object_id");
        if (cfg.r < 0 || !prefix || !obj)
                return -EINVAL;

        c = calloc(1, sizeof(*c));
        if (!c)
                abort();
        adapter_topic(c->t_status, "%s/status", prefix);
        adapter_topic(c->t_state, "%s/binary_sensor/%s/state", prefix, obj);
        if (bat)
                adapter_topic(c->t_battery, "%s/sensor/%s/state", prefix, bat);
        if (tamper)
                adapter_topic(c->t_tamper, "%s/binary_sensor/%s/state", prefix, tamper);
        d->adapter_config = c;
        return 0;
}

static void esphome_topics(const struct device *d, const char *topic_prefix, adapter_topic_cb cb,
                           void *userdata)
{
        const struct esphome_config *c = d->adapter_config;
        const char *const topics[] = { c->t_status, c->t_state, c->t_battery, c->t_tamper };

        for (size_t i = 0; i < ELEMENTSOF(topics); i++)
                if (topics[i][0])
                        cb(topics[i], topics[i], userdata);
}

static int esphome_decode_message(const struct device *d, const struct adapter_msg *m,
                                  struct device_state *st, struct adapter_decode_result *out)
{
        const struct esphome_config *c = d->adapter_config;
        bool online, b;
        double pct;

        adapter_begin(out);
        if (strcmp(m->topic, c->t_status) == 0) {
                if (adapter_parse_availability(m->payload, m->len, &online) != 0) {
                        out->error = "status must be online or offline";
                        return ADAPTER_E_INVALID;
                }
                adapter_emit_availability(m, st, out, online, false);
                return ADAPTER_OK;
        }
        if (strcmp(m->topic, c->t_state) == 0) {
                if (adapter_parse_bool_word(m->payload, m->len, &b) != 0) {
                        out->error = "binary_sensor state must be ON or OFF";
                        return ADAPTER_E_INVALID;
                }
                adapter_emit_input(d, m, st, out, b);
                return adapter_finish_alive(m, st, out);
        }
        if (c->t_tamper[0] && strcmp(m->topic, c->t_tamper) == 0) {
                if (adapter_parse_bool_word(m->payload, m->len, &b) != 0) {
                        out->error = "tamper state must be ON or OFF";
                        return ADAPTER_E_INVALID;
                }
                adapter_emit_tamper(m, st, out, b);
                return adapter_finish_alive(m, st, out);
        }
        if (c->t_battery[0] && strcmp(m->topic, c->t_battery) == 0) {
                /* ESPHome publishes "nan" while a sensor has no value yet */
                if (adapter_parse_number(m->payload, m->len, &pct) != 0) {
                        if (adapter_payload_is(m, "nan"))
                                return ADAPTER_E_IGNORED;
                        out->error = "battery must be a number";
                        return ADAPTER_E_INVALID;
                }
                if (pct < 0 || pct > 100) {
                        out->error = "battery must be 0..100";
                        return ADAPTER_E_INVALID;
                }
                adapter_emit_battery(m, st, out, (int)(pct + 0.5), -1, 0);
                return adapter_finish_alive(m, st, out);
        }
        return ADAPTER_E_NOT_MINE;
}

static int esphome_decode(const struct device *d, const struct adapter_msg *m,
                          struct device_state *st, struct adapter_decode_result *out)
{
        struct device_state saved = *st;

        return adapter_decode_end(esphome_decode_message(d, m, st, out), st, &saved, out);
}

static const char *const esphome_keys[] = { "esphome_prefix", "object_id", "battery_object_id",
                                            "tamper_object_id", NULL };

const struct adapter adapter_esphome = {
        .name = "esphome",
        .keys = esphome_keys,
        .parse_device = esphome_parse_device,
        .free_config = esphome_free_config,
        .topics = esphome_topics,
        .decode = esphome_decode,
};

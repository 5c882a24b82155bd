/* shelly.c: Shelly door/window sensors: Gen1 Door/Window 2, Gen2+ inputs, and Shelly BLU
 * Door/Window (or BLU Button as a doorbell) relayed by a Gen2+ device (devices.md).
 *
 * Device keys:
 *   "shelly_id":  the device id, e.g. "shellydw2-483FDA" or "shellyplusi4-a8032ab12345".
 *   "shelly_gen": 1 or 2 (2 covers Plus/Pro/Gen3/Gen4); default 1 when shelly_id starts
 *                 with "shellydw", else 2.
 *   "prefix":     the MQTT topic prefix; default "shellies/<shelly_id>" (Gen1) or
 *                 "<shelly_id>" (Gen2). One of shelly_id and prefix is required.
 *   Gen1 only: "vibration_tamper" (default true): the DW2 has no tamper switch; its
 *                 vibration sensor (someone knocking on or handling the sensor) is the
 *                 closest signal, so sensor/vibration 1 is reported as tamper and 0 as
 *                 cleared. Set false on doors that are slammed.
 *   Gen2, at least one of:
 *     "input":        the input component id (0..99) a reed switch or bell button is wired
 *                     to; input state true = open (HA convention) unless "invert".
 *                     Doorbells ring on a change to true, or on single/double/triple/
 *                     long_push events (inputs of type button).
 *     "blu_address":  MAC of a BLU device whose BTHome data a script on the relay emits as
 *                     NotifyEvent data ({"address":…, "window":0|1, "battery":%, "button":n}).
 *     "bthome_sensor": id of the relay's BTHomeSensor component for the BLU window object
 *                     (status {"value": true} = open); optional "bthome_device": id of the
 *                     BTHomeDevice component (status {"battery": %}).
 *
 * Gen1 topics: <prefix>/sensor/state (open | close | closed), <prefix>/sensor/battery (text
 * %), <prefix>/sensor/vibration (0/1), <prefix>/online (true/false). The DW2 sleeps between
 * wake-ups, so "false" on online is normal and ignored; each wake-up is a heartbeat and
 * the health check's staleness limit detects a dead sensor.
 * Gen2 topics: <prefix>/events/rpc (NotifyStatus, NotifyFullStatus: component overlays;
 * NotifyEvent), <prefix>/status/<component:id> (full component status), <prefix>/online.
 * For BLU devices the relay's online topic is a bridge's availability. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "util.h"

#define SHELLY_MAX_JSON 32768

enum shelly_gen2_mode {
        MODE_INPUT = 1 << 0,
        MODE_BLU_EVENT = 1 << 1,
        MODE_BTHOME = 1 << 2,
};

struct shelly_config {
        int gen;
        char *prefix;
        bool vibration_tamper;
        unsigned modes;
        int input, bthome_sensor, bthome_device; /* -1 when not configured */
        char *blu_address;
        char input_key[32], bthome_sensor_key[32], bthome_device_key[32];

        char t_state[ADAPTER_TOPIC_MAX], t_battery[ADAPTER_TOPIC_MAX];
        char t_vibration[ADAPTER_TOPIC_MAX], t_online[ADAPTER_TOPIC_MAX];
        char t_rpc[ADAPTER_TOPIC_MAX], t_st_input[ADAPTER_TOPIC_MAX];
        char t_st_power[ADAPTER_TOPIC_MAX], t_st_bsensor[ADAPTER_TOPIC_MAX];
        char t_st_bdevice[ADAPTER_TOPIC_MAX];
};

static void shelly_free_config(void *p)
{
        struct shelly_config *c = p;

        if (!c)
                return;
        free(c->prefix);
        free(c->blu_address);
        free(c);
}

static bool mac_ok(const char *s)
{
        int digits = 0;

        for (; *s; s++) {
                if (isxdigit((unsigned char)*s))
                        digits++;
                else if (*s != ':' && *s != '-')
                        return false;
        }
        return digits == 12;
}

static int shelly_parse_device(struct device *d, const cJSON *entry, const char *file,
                               const char *path, struct config_diag *diag)
{
        struct adapter_cfg cfg = { .entry = entry, .file = file, .path = path, .diag = diag };
        struct shelly_config *c = calloc(1, sizeof(*c));
        _cleanup_free_ char *id = NULL;

        if (!c)
                abort();
        c->input = c->bthome_sensor = c->bthome_device = -1;
        id = adapter_cfg_topic(&cfg, "shelly_id", false, NULL, false);
        c->gen =
            adapter_cfg_int(&cfg, "shelly_gen", 1, 2, id && str_startswith(id, "shellydw") ? 1 : 2);
        c->prefix = adapter_cfg_topic(&cfg, "prefix", false, NULL, true);
        if (!c->prefix && id) {
                char buf[ADAPTER_TOPIC_MAX];
                adapter_topic(buf, c->gen == 1 ? "shellies/%s" : "%s", id);
                c->prefix = xstrdup(buf);
        }
        if (!c->prefix && !adapter_cfg_has(&cfg, "shelly_id") && !adapter_cfg_has(&cfg, "prefix"))
                adapter_cfg_error(&cfg, "shelly_id", "missing: give shelly_id or prefix");

        if (c->gen == 1) {
                c->vibration_tamper = adapter_cfg_bool(&cfg, "vibration_tamper", true);
                if (d->kind != DEVICE_DOOR_CONTACT)
                        adapter_cfg_error(
                            &cfg, "shelly_gen",
                            "Shelly Gen1 Door/Window supports kind door_contact only");
                for (const char *const *k =
                         (const char *const[]){ "input", "blu_address", "bthome_sensor",
                                                "bthome_device", NULL };
                     *k; k++)
                        if (adapter_cfg_has(&cfg, *k))
                                adapter_cfg_error(&cfg, *k, "only for shelly_gen 2");
        } else {
                if (adapter_cfg_has(&cfg, "vibration_tamper"))
                        adapter_cfg_error(&cfg, "vibration_tamper", "only for shelly_gen 1");
                if (adapter_cfg_has(&cfg, "input")) {
                        c->input = adapter_cfg_int(&cfg, "input", 0, 99, -1);
                        c->modes |= MODE_INPUT;
                }
                c->blu_address = adapter_cfg_string(&cfg, "blu_address", false, NULL, 32);
                if (c->blu_address) {
                        if (!mac_ok(c->blu_address))
                                adapter_cfg_error(&cfg, "blu_address",
                                                  "\"%s\" is not a MAC address (aa:bb:cc:dd:ee:ff)",
                                                  c->blu_address);
                        c->modes |= MODE_BLU_EVENT;
                }
                if (adapter_cfg_has(&cfg, "bthome_sensor")) {
                        c->bthome_sensor = adapter_cfg_int(&cfg, "bthome_sensor", 200, 299, -1);
                        c->modes |= MODE_BTHOME;
                }
                if (adapter_cfg_has(&cfg, "bthome_device")) {
                        c->bthome_device = adapter_cfg_int(&cfg, "bthome_device", 200, 299, -1);
                        if (!(c->modes & MODE_BTHOME))
                                adapter_cfg_error(&cfg, "bthome_device",
                                                  "only together with bthome_sensor");
                }
                if (c->modes == 0)
                        adapter_cfg_error(&cfg, "input",
                                          "missing: a Gen2 Shelly needs input, blu_address or "
                                          "bthome_sensor");
                if ((c->modes & MODE_INPUT) && (c->modes & (MODE_BLU_EVENT | MODE_BTHOME)))
                        adapter_cfg_error(&cfg, "input",
                                          "a device is either wired to an input or a BLU device");
        }
        if (cfg.r < 0 || !c->prefix) {
                shelly_free_config(c);
                return -EINVAL;
        }

        snprintf(c->input_key, sizeof(c->input_key), "input:%d", c->input);
        snprintf(c->bthome_sensor_key, sizeof(c->bthome_sensor_key), "bthomesensor:%d",
                 c->bthome_sensor);
        snprintf(c->bthome_device_key, sizeof(c->bthome_device_key), "bthomedevice:%d",
                 c->bthome_device);
        adapter_topic(c->t_online, "%s/online", c->prefix);
        if (c->gen == 1) {
                adapter_topic(c->t_state, "%s/sensor/state", c->prefix);
                adapter_topic(c->t_battery, "%s/sensor/battery", c->prefix);
                adapter_topic(c->t_vibration, "%s/sensor/vibration", c->prefix);
        } else {
                adapter_topic(c->t_rpc, "%s/events/rpc", c->prefix);
                if (c->modes & MODE_INPUT) {
                        adapter_topic(c->t_st_input, "%s/status/%s", c->prefix, c->input_key);
                        adapter_topic(c->t_st_power, "%s/status/devicepower:0", c->prefix);
                }
                if (c->bthome_sensor >= 0)
                        adapter_topic(c->t_st_bsensor, "%s/status/%s", c->prefix,
                                      c->bthome_sensor_key);
                if (c->bthome_device >= 0)
                        adapter_topic(c->t_st_bdevice, "%s/status/%s", c->prefix,
                                      c->bthome_device_key);
        }
        d->adapter_config = c;
        return 0;
}

static void shelly_topics(const struct device *d, const char *topic_prefix, adapter_topic_cb cb,
                          void *userdata)
{
        const struct shelly_config *c = d->adapter_config;
        const char *const topics[] = { c->t_state,    c->t_battery,    c->t_vibration,
                                       c->t_online,   c->t_rpc,        c->t_st_input,
                                       c->t_st_power, c->t_st_bsensor, c->t_st_bdevice };

        for (size_t i = 0; i < ELEMENTSOF(topics); i++)
                if (topics[i][0])
                        cb(topics[i], topics[i], userdata);
}

/* --- Gen1 ----------------------------------------------------------------------------- */

static int decode_gen1(const struct device *d, const struct shelly_config *c,
                       const struct adapter_msg *m, struct device_state *st,
                       struct adapter_decode_result *out)
{
        double x;
        bool b;

        if (strcmp(m->topic, c->t_state) == 0) {
                if (adapter_payload_is(m, "open"))
                        adapter_emit_door_state(d, m, st, out, true);
                else if (adapter_payload_is(m, "close") || adapter_payload_is(m, "closed"))
                        adapter_emit_door_state(d, m, st, out, false);
                else {
                        out->error = "sensor/state must be open, close or closed";
                        return ADAPTER_E_INVALID;
                }
                return adapter_finish_alive(m, st, out);
        }
        if (strcmp(m->topic, c->t_battery) == 0) {
                if (adapter_parse_number(m->payload, m->len, &x) != 0 || x < 0 || x > 100) {
                        out->error = "sensor/battery must be a number 0..100";
                        return ADAPTER_E_INVALID;
                }
                adapter_emit_battery(m, st, out, (int)x, -1, 0);
                return adapter_finish_alive(m, st, out);
        }
        if (strcmp(m->topic, c->t_vibration) == 0) {
                if (adapter_parse_bool_word(m->payload, m->len, &b) != 0) {
                        out->error = "sensor/vibration must be 0 or 1";
                        return ADAPTER_E_INVALID;
                }
                if (c->vibration_tamper)
                        adapter_emit_tamper(m, st, out, b);
                return adapter_finish_alive(m, st, out);
        }
        if (strcmp(m->topic, c->t_online) == 0) {
                if (adapter_parse_bool_word(m->payload, m->len, &b) != 0) {
                        out->error = "online must be true or false";
                        return ADAPTER_E_INVALID;
                }
                /* sleeping device: offline between wake-ups is normal */
                if (b == 0)
                        return ADAPTER_E_IGNORED;
                return adapter_finish_alive(m, st, out);
        }
        return ADAPTER_E_NOT_MINE;
}

/* --- Gen2 ----------------------------------------------------------------------------- */

/* One component status (or NotifyStatus overlay) of ours. Returns 0, or ADAPTER_E_INVALID on
 * wrong types. */
static int gen2_component(const struct device *d, const struct shelly_config *c, const char *key,
                          const cJSON *v, const struct adapter_msg *m, struct device_state *st,
                          struct adapter_decode_result *out, bool *mine)
{
        double x, pct;
        bool b;
        int r;

        if (!cJSON_IsObject(v))
                return 0;
        if ((c->modes & MODE_INPUT) && strcmp(key, c->input_key) == 0) {
                *mine = true;
                r = adapter_json_bool(cJSON_GetObjectItemCaseSensitive(v, "state"), &b);
                if (r == ADAPTER_E_INVALID)
                        return r;
                if (r == 0) /* null: an input of type button has no state */
                        adapter_emit_input(d, m, st, out, b);
                return 0;
        }
        if ((c->modes & MODE_INPUT) && strcmp(key, "devicepower:0") == 0) {
                const cJSON *bat = cJSON_GetObjectItemCaseSensitive(v, "battery");
                *mine = true;
                if (adapter_json_number(cJSON_GetObjectItemCaseSensitive(bat, "percent"), &pct) !=
                        0 ||
                    pct < 0 || pct > 100)
                        pct = -1;
                if (adapter_json_number(cJSON_GetObjectItemCaseSensitive(bat, "V"), &x) != 0 ||
                    x <= 0 || x > 100)
                        x = 0;
                adapter_emit_battery(m, st, out, (int)pct, -1, (int)(x * 1000 + 0.5));
                return 0;
        }
        if (c->bthome_sensor >= 0 && strcmp(key, c->bthome_sensor_key) == 0) {
                *mine = true;
                r = adapter_json_bool(cJSON_GetObjectItemCaseSensitive(v, "value"), &b);
                if (r == ADAPTER_E_INVALID)
                        return r;
                if (r == 0)
                        adapter_emit_door_state(d, m, st, out, b);
                return 0;
        }
        if (c->bthome_device >= 0 && strcmp(key, c->bthome_device_key) == 0) {
                *mine = true;
                if (adapter_json_number(cJSON_GetObjectItemCaseSensitive(v, "battery"), &pct) ==
                        0 &&
                    pct >= 0 && pct <= 100)
                        adapter_emit_battery(m, st, out, (int)pct, -1, 0);
                return 0;
        }
        return 0;
}

/* BTHome data a BLU script emits: {"address": …, "window": 0|1, "battery": %, "button": n}. */
static int gen2_blu_data(const struct device *d, const struct shelly_config *c, const cJSON *data,
                         const struct adapter_msg *m, struct device_state *st,
                         struct adapter_decode_result *out, bool *mine, bool *other)
{
        const char *addr = adapter_json_string(data, "address");
        double pct, button;
        bool b;
        int r;

        if (!addr)
                return 0;
        if (!adapter_addr_eq(addr, c->blu_address)) {
                *other = true;
                return 0;
        }
        *mine = true;
        r = adapter_json_bool(cJSON_GetObjectItemCaseSensitive(data, "window"), &b);
        if (r == ADAPTER_E_INVALID)
                return r;
        if (r == 0)
                adapter_emit_door_state(d, m, st, out, b);
        if (d->kind == DEVICE_DOORBELL &&
            adapter_json_number(cJSON_GetObjectItemCaseSensitive(data, "button"), &button) == 0 &&
            button >= 1)
                adapter_emit_ring(m, st, out);
        if (adapter_json_number(cJSON_GetObjectItemCaseSensitive(data, "battery"), &pct) == 0 &&
            pct >= 0 && pct <= 100)
                adapter_emit_battery(m, st, out, (int)pct, -1, 0);
        return 0;
}

static bool is_push_event(const char *ev)
{
        return ev && (strcmp(ev, "single_push") == 0 || strcmp(ev, "double_push") == 0 ||
                      strcmp(ev, "triple_push") == 0 || strcmp(ev, "long_push") == 0);
}

static int gen2_rpc(const struct device *d, const struct shelly_config *c,
                    const struct adapter_msg *m, struct device_state *st,
                    struct adapter_decode_result *out)
{
        _cleanup_json_ cJSON *j = NULL;
        const cJSON *params, *it, *ts;
        const char *method;
        bool mine = false, other = false;
        int r;

        r = adapter_parse_json(m, SHELLY_MAX_JSON, &j, out);
        if (r != ADAPTER_OK)
                return r;
        method = adapter_json_string(j, "method");
        params = cJSON_GetObjectItemCaseSensitive(j, "params");
        if (!method || !cJSON_IsObject(params)) {
                out->error = "RPC notification without method or params";
                return ADAPTER_E_INVALID;
        }
        if (strcmp(method, "NotifyStatus") == 0 || strcmp(method, "NotifyFullStatus") == 0) {
                cJSON_ArrayForEach(it, params)
                {
                        if (it->string &&
                            gen2_component(d, c, it->string, it, m, st, out, &mine) != 0) {
                                out->error = "component status field has the wrong type";
                                return ADAPTER_E_INVALID;
                        }
                }
        } else if (strcmp(method, "NotifyEvent") == 0) {
                const cJSON *events = cJSON_GetObjectItemCaseSensitive(params, "events");
                if (!cJSON_IsArray(events)) {
                        out->error = "NotifyEvent without events array";
                        return ADAPTER_E_INVALID;
                }
                cJSON_ArrayForEach(it, events)
                {
                        const char *comp = adapter_json_string(it, "component");
                        const char *ev = adapter_json_string(it, "event");
                        const cJSON *data = cJSON_GetObjectItemCaseSensitive(it, "data");

                        if ((c->modes & MODE_INPUT) && comp && strcmp(comp, c->input_key) == 0) {
                                mine = true;
                                if (d->kind == DEVICE_DOORBELL && is_push_event(ev))
                                        adapter_emit_ring(m, st, out);
                        }
                        if ((c->modes & MODE_BLU_EVENT) && cJSON_IsObject(data) &&
                            gen2_blu_data(d, c, data, m, st, out, &mine, &other) != 0) {
                                out->error = "BLU \"window\" is not 0 or 1";
                                return ADAPTER_E_INVALID;
                        }
                }
        } else
                return ADAPTER_E_IGNORED;

        ts = cJSON_GetObjectItemCaseSensitive(params, "ts");
        if (cJSON_IsNumber(ts))
                adapter_events_ts(out, ts->valuedouble);
        /* A relay's own chatter proves only the relay alive (BLU devices); a device wired
         * to an input is the relay itself. */
        if (!mine && !(c->modes & MODE_INPUT))
                return other ? ADAPTER_E_NOT_MINE : ADAPTER_E_IGNORED;
        return adapter_finish_alive(m, st, out);
}

static int gen2_status(const struct device *d, const struct shelly_config *c, const char *key,
                       const struct adapter_msg *m, struct device_state *st,
                       struct adapter_decode_result *out)
{
        _cleanup_json_ cJSON *j = NULL;
        bool mine = false;
        int r;

        r = adapter_parse_json(m, SHELLY_MAX_JSON, &j, out);
        if (r != ADAPTER_OK)
                return r;
        if (gen2_component(d, c, key, j, m, st, out, &mine) != 0) {
                out->error = "component status field has the wrong type";
                return ADAPTER_E_INVALID;
        }
        return adapter_finish_alive(m, st, out);
}

static int decode_gen2(const struct device *d, const struct shelly_config *c,
                       const struct adapter_msg *m, struct device_state *st,
                       struct adapter_decode_result *out)
{
        bool online;

        if (strcmp(m->topic, c->t_rpc) == 0)
                return gen2_rpc(d, c, m, st, out);
        if (strcmp(m->topic, c->t_online) == 0) {
                if (adapter_parse_availability(m->payload, m->len, &online) != 0) {
                        out->error = "online must be true or false";
                        return ADAPTER_E_INVALID;
                }
                adapter_emit_availability(m, st, out, online, !(c->modes & MODE_INPUT));
                return ADAPTER_OK;
        }
        if (c->t_st_input[0] && strcmp(m->topic, c->t_st_input) == 0)
                return gen2_status(d, c, c->input_key, m, st, out);
        if (c->t_st_power[0] && strcmp(m->topic, c->t_st_power) == 0)
                return gen2_status(d, c, "devicepower:0", m, st, out);
        if (c->t_st_bsensor[0] && strcmp(m->topic, c->t_st_bsensor) == 0)
                return gen2_status(d, c, c->bthome_sensor_key, m, st, out);
        if (c->t_st_bdevice[0] && strcmp(m->topic, c->t_st_bdevice) == 0)
                return gen2_status(d, c, c->bthome_device_key, m, st, out);
        return ADAPTER_E_NOT_MINE;
}

static int shelly_decode_message(const struct device *d, const struct adapter_msg *m,
                                 struct device_state *st, struct adapter_decode_result *out)
{
        const struct shelly_config *c = d->adapter_config;

        adapter_begin(out);
        return c->gen == 1 ? decode_gen1(d, c, m, st, out) : decode_gen2(d, c, m, st, out);
}

static int shelly_decode(const struct device *d, const struct adapter_msg *m,
                         struct device_state *st, struct adapter_decode_result *out)
{
        struct device_state saved = *st;

        return adapter_decode_end(shelly_decode_message(d, m, st, out), st, &saved, out);
}

static const char *const shelly_keys[] = { "shelly_id",        "shelly_gen",    "prefix",
                                           "vibration_tamper", "input",         "blu_address",
                                           "bthome_sensor",    "bthome_device", NULL };

const struct adapter adapter_shelly = {
        .name = "shelly",
        .keys = shelly_keys,
        .parse_device = shelly_parse_device,
        .free_config = shelly_free_config,
        .topics = shelly_topics,
        .decode = shelly_decode,
};

/* zigbee2mqtt.c: Zigbee door contacts and doorbells behind zigbee2mqtt (devices.md).
 *
 * Device keys:
 *   "friendly_name": the device's zigbee2mqtt friendly name (required; may contain '/' and
 *                    spaces, must not start with "bridge/" nor end in "/availability",
 *                    "/set" or "/get", which zigbee2mqtt reserves).
 *   "base_topic":    zigbee2mqtt's mqtt.base_topic (default "zigbee2mqtt").
 *   "ring_actions":  the "action" values that mean a ring (doorbell kind only; default
 *                    bell1, bell2, single, 1_single, ring, press). Other actions are
 *                    ignored: a stray action must not explain a door opening.
 *
 * Topics (exact, no wildcards): <base>/<friendly_name> (full cached state JSON),
 * <base>/<friendly_name>/availability and <base>/bridge/state (shared by every device of
 * that zigbee2mqtt; both forms: "online" or {"state":"online"}; reported with bridge set).
 *
 * Every state message repeats the whole cached state, so contact, tamper and battery are
 * edges against struct device_state; "contact": true means closed (magnet present).
 * Fields may be absent or null: absent is not false. A live message that changes nothing
 * is a heartbeat (zigbee2mqtt marks battery devices offline only after 25 h). */
#include <errno.h>
#include <string.h>

#include "common.h"
#include "util.h"

/* Device state messages are a few hundred bytes; anything far larger is not one
 * (bridge/devices, hundreds of KB, is never routed here). */
#define Z2M_MAX_STATE 16384

struct z2m_config {
        char *friendly_name;
        char *base_topic;
        char **ring_actions;
        char state_topic[ADAPTER_TOPIC_MAX];
        char availability_topic[ADAPTER_TOPIC_MAX];
        char bridge_topic[ADAPTER_TOPIC_MAX];
};

static const char *const default_ring_actions[] = { "bell1", "bell2", "single", "1_single",
                                                    "ring",  "press", NULL };

static bool has_suffix(const char *s, const char *suffix)
{
        size_t n = strlen(s), k = strlen(suffix);
        return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void z2m_free_config(void *p)
{
        struct z2m_config *c = p;

        if (!c)
                return;
        free(c->friendly_name);
        free(c->base_topic);
        adapter_strv_free(c->ring_actions);
        free(c);
}

static int z2m_parse_device(struct device *d, const cJSON *entry, const char *file,
                            const char *path, struct config_diag *diag)
{
        struct adapter_cfg cfg = { .entry = entry, .file = file, .path = path, .diag = diag };
        struct z2m_config *c = calloc(1, sizeof(*c));

        if (!c)
                abort();
        c->friendly_name = adapter_cfg_topic(&cfg, "friendly_name", true, NULL, true);
        c->base_topic = adapter_cfg_topic(&cfg, "base_topic", false, "zigbee2mqtt", true);
        c->ring_actions = adapter_cfg_strv(&cfg, "ring_actions");
        if (c->friendly_name &&
            (str_startswith(c->friendly_name, "bridge/") ||
             strcmp(c->friendly_name, "bridge") == 0 ||
             has_suffix(c->friendly_name, "/availability") ||
             has_suffix(c->friendly_name, "/set") || has_suffix(c->friendly_name, "/get")))
                adapter_cfg_error(&cfg, "friendly_name",
                                  "\"%s\" collides with a zigbee2mqtt topic (\"bridge/...\", "
                                  "\".../availability\", \".../set\", \".../get\")",
                                  c->friendly_name);
        if (cfg.r < 0 || !c->friendly_name || !c->base_topic) {
                z2m_free_config(c);
                return -EINVAL;
        }
        adapter_topic(c->state_topic, "%s/%s", c->base_topic, c->friendly_name);
        adapter_topic(c->availability_topic, "%s/%s/availability", c->base_topic, c->friendly_name);
        adapter_topic(c->bridge_topic, "%s/bridge/state", c->base_topic);
        d->adapter_config = c;
        return 0;
}

static void z2m_topics(const struct device *d, const char *topic_prefix, adapter_topic_cb cb,
                       void *userdata)
{
        const struct z2m_config *c = d->adapter_config;

        cb(c->state_topic, c->state_topic, userdata);
        cb(c->availability_topic, c->availability_topic, userdata);
        cb(c->bridge_topic, c->bridge_topic, userdata);
}

static bool is_ring_action(const struct z2m_config *c, const char *action)
{
        if (c->ring_actions)
                return adapter_strv_contains(c->ring_actions, action);
        for (size_t i = 0; default_ring_actions[i]; i++)
                if (strcmp(default_ring_actions[i], action) == 0)
                        return true;
        return false;
}

/* The optional "last_seen" (advanced.last_seen: epoch milliseconds or ISO 8601). */
static void state_ts(const cJSON *j, struct adapter_decode_result *out)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "last_seen");
        int64_t usec;

        if (cJSON_IsNumber(v))
                adapter_events_ts(out, v->valuedouble / 1000.0);
        else if (cJSON_IsString(v) && parse_rfc3339(v->valuestring, &usec) == 0)
                adapter_events_ts(out, (double)usec / 1e6);
}

static int decode_state(const struct device *d, const struct z2m_config *c,
                        const struct adapter_msg *m, struct device_state *st,
                        struct adapter_decode_result *out)
{
        _cleanup_json_ cJSON *j = NULL;
        const char *action;
        double pct, mv;
        bool b, low;
        int r;

        r = adapter_parse_json(m, Z2M_MAX_STATE, &j, out);
        if (r != ADAPTER_OK)
                return r;

        r = adapter_json_bool(cJSON_GetObjectItemCaseSensitive(j, "contact"), &b);
        if (r == ADAPTER_E_INVALID) {
                out->error = "\"contact\" is not a boolean";
                return ADAPTER_E_INVALID;
        }
        if (r == 0)
                adapter_emit_door_state(d, m, st, out, /* open = */ !b);

        action = adapter_json_string(j, "action");
        if (action && action[0] && d->kind == DEVICE_DOORBELL && is_ring_action(c, action))
                adapter_emit_ring(m, st, out);

        if (adapter_json_bool(cJSON_GetObjectItemCaseSensitive(j, "tamper"), &b) == 0)
                adapter_emit_tamper(m, st, out, b);

        r = adapter_json_bool(cJSON_GetObjectItemCaseSensitive(j, "battery_low"), &low);
        if (adapter_json_number(cJSON_GetObjectItemCaseSensitive(j, "battery"), &pct) != 0 ||
            pct < 0 || pct > 100)
                pct = -1;
        if (adapter_json_number(cJSON_GetObjectItemCaseSensitive(j, "voltage"), &mv) != 0 ||
            mv < 0 || mv > 100000)
                mv = 0;
        adapter_emit_battery(m, st, out, (int)pct, r == 0 ? low : -1, (int)mv);

        state_ts(j, out);
        return adapter_finish_alive(m, st, out);
}

static int z2m_decode_message(const struct device *d, const struct adapter_msg *m,
                              struct device_state *st, struct adapter_decode_result *out)
{
        const struct z2m_config *c = d->adapter_config;
        bool online;

        adapter_begin(out);
        if (strcmp(m->topic, c->state_topic) == 0)
                return decode_state(d, c, m, st, out);
        if (strcmp(m->topic, c->availability_topic) == 0 ||
            strcmp(m->topic, c->bridge_topic) == 0) {
                if (adapter_parse_availability(m->payload, m->len, &online) != 0) {
                        out->error = "availability must be online/offline or {\"state\": ...}";
                        return ADAPTER_E_INVALID;
                }
                adapter_emit_availability(m, st, out, online,
                                          strcmp(m->topic, c->bridge_topic) == 0);
                return ADAPTER_OK;
        }
        return ADAPTER_E_NOT_MINE;
}

static int z2m_decode(const struct device *d, const struct adapter_msg *m, struct device_state *st,
                      struct adapter_decode_result *out)
{
        struct device_state saved = *st;

        return adapter_decode_end(z2m_decode_message(d, m, st, out), st, &saved, out);
}

static const char *const z2m_keys[] = { "friendly_name", "base_topic", "ring_actions", NULL };

const struct adapter adapter_zigbee2mqtt = {
        .name = "zigbee2mqtt",
        .keys = z2m_keys,
        .parse_device = z2m_parse_device,
        .free_config = z2m_free_config,
        .topics = z2m_topics,
        .decode = z2m_decode,
};

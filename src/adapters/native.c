/* native.c: doorwatch's own event format (DESIGN.md §4).
 *
 * <prefix>/devices/<id>/events carries one JSON event; <prefix>/devices/<id>/status
 * carries the device's LWT (`online`/`offline`, text). The daemon subscribes with a
 * single-level wildcard per topic kind, so one subscription serves every native device. */
#include <math.h>
#include <string.h>

#include "adapter.h"
#include "topic.h"
#include "util.h"

static void native_topics(const struct device *d, const char *prefix, adapter_topic_cb cb,
                          void *userdata)
{
        char filter[256], route[512];

        topic_format(filter, sizeof(filter), prefix, TOPIC_DEVICES, NULL, TOPIC_EVENTS);
        topic_format(route, sizeof(route), prefix, TOPIC_DEVICES, d->id, TOPIC_EVENTS);
        cb(filter, route, userdata);
        topic_format(filter, sizeof(filter), prefix, TOPIC_DEVICES, NULL, TOPIC_STATUS);
        topic_format(route, sizeof(route), prefix, TOPIC_DEVICES, d->id, TOPIC_STATUS);
        cb(filter, route, userdata);
}

static bool topic_has_suffix(const char *topic, const char *suffix)
{
        size_t n = strlen(topic), k = strlen(suffix);
        return n >= k && strcmp(topic + n - k, suffix) == 0;
}

static int decode_status(const struct adapter_msg *m, struct device_state *st,
                         struct adapter_decode_result *out)
{
        struct event *e = &out->events[0];

        *e = (struct event){ .type = EVENT_AVAILABILITY, .retained = m->retained };
        if (m->len == 6 && memcmp(m->payload, "online", 6) == 0)
                e->online = true;
        else if (m->len == 7 && memcmp(m->payload, "offline", 7) == 0)
                e->online = false;
        else {
                out->error = "status must be \"online\" or \"offline\"";
                return ADAPTER_E_INVALID;
        }
        st->online = e->online;
        out->n_events = 1;
        return ADAPTER_OK;
}

static int decode_event(const struct adapter_msg *m, struct device_state *st,
                        struct adapter_decode_result *out)
{
        _cleanup_json_ cJSON *j = cJSON_ParseWithLength(m->payload, m->len);
        struct event *e = &out->events[0];
        const cJSON *id, *ts, *type, *v;

        *e = (struct event){ .battery_percent = -1, .retained = m->retained };
        if (!j || !cJSON_IsObject(j)) {
                out->error = "not a JSON object";
                return ADAPTER_E_INVALID;
        }
        if (json_depth(j) > ADAPTER_MAX_DEPTH) {
                out->error = "JSON nested too deeply";
                return ADAPTER_E_INVALID;
        }
        id = cJSON_GetObjectItemCaseSensitive(j, "id");
        if (id) {
                if (!cJSON_IsString(id) || !id->valuestring[0] ||
                    strlen(id->valuestring) >= EVENT_ID_MAX) {
                        out->error = "\"id\" must be a non-empty string of at most 63 bytes";
                        return ADAPTER_E_INVALID;
                }
                strcpy(e->id, id->valuestring);
        }
        ts = cJSON_GetObjectItemCaseSensitive(j, "ts");
        if (ts) {
                if (!cJSON_IsNumber(ts) || !isfinite(ts->valuedouble) || ts->valuedouble <= 0 ||
                    ts->valuedouble > 1e11) {
                        out->error = "\"ts\" must be Unix seconds";
                        return ADAPTER_E_INVALID;
                }
                e->has_ts = true;
                e->ts = ts->valuedouble;
        }
        type = cJSON_GetObjectItemCaseSensitive(j, "type");
        if (!cJSON_IsString(type)) {
                out->error = "\"type\" missing or not a string";
                return ADAPTER_E_INVALID;
        }
        e->type = event_type_from_string(type->valuestring);
        switch (e->type) {
        case EVENT_DOOR:
                v = cJSON_GetObjectItemCaseSensitive(j, "state");
                if (cJSON_IsString(v) && strcmp(v->valuestring, "open") == 0)
                        e->door = DOOR_OPEN;
                else if (cJSON_IsString(v) && strcmp(v->valuestring, "closed") == 0)
                        e->door = DOOR_CLOSED;
                else {
                        out->error = "door \"state\" must be \"open\" or \"closed\"";
                        return ADAPTER_E_INVALID;
                }
                st->door = e->door;
                break;
        case EVENT_PERSON:
                v = cJSON_GetObjectItemCaseSensitive(j, "direction");
                if (!v || cJSON_IsNull(v))
                        e->direction = DIRECTION_NONE;
                else if (cJSON_IsString(v) && strcmp(v->valuestring, "out") == 0)
                        e->direction = DIRECTION_OUT;
                else if (cJSON_IsString(v) && strcmp(v->valuestring, "in") == 0)
                        e->direction = DIRECTION_IN;
                else {
                        out->error = "person \"direction\" must be \"out\" or \"in\"";
                        return ADAPTER_E_INVALID;
                }
                break;
        case EVENT_BATTERY:
                v = cJSON_GetObjectItemCaseSensitive(j, "level");
                if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 100) {
                        out->error = "battery \"level\" must be a number 0..100";
                        return ADAPTER_E_INVALID;
                }
                e->battery_percent = (int)v->valuedouble;
                st->battery_percent = e->battery_percent;
                break;
        case EVENT_TAMPER:
                v = cJSON_GetObjectItemCaseSensitive(j, "state");
                e->tampered = !(cJSON_IsString(v) && strcmp(v->valuestring, "cleared") == 0);
                st->tampered = e->tampered;
                break;
        case EVENT_RING:
        case EVENT_HEARTBEAT:
                break;
        default:
                out->error = "unknown \"type\"";
                return ADAPTER_E_INVALID;
        }
        out->n_events = 1;
        return ADAPTER_OK;
}

static int native_decode(const struct device *d, const struct adapter_msg *m,
                         struct device_state *st, struct adapter_decode_result *out)
{
        out->n_events = 0;
        out->error = NULL;
        if (topic_has_suffix(m->topic, "/" TOPIC_STATUS))
                return decode_status(m, st, out);
        return decode_event(m, st, out);
}

static const char *const native_keys[] = { NULL };

const struct adapter adapter_native = {
        .name = "native",
        .keys = native_keys,
        .parse_device = NULL,
        .free_config = NULL,
        .topics = native_topics,
        .decode = native_decode,
};

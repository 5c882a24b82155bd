/* tasmota.c: door sensors and bell buttons through Tasmota: a reed switch or button on a
 * GPIO, 433 MHz sensors received by an RF bridge, Zigbee sensors on a Zigbee bridge
 * (devices.md).
 *
 * Device keys:
 *   "tasmota_topic": the Tasmota %topic% (required).
 *   "tasmota_mode":  "switch" (default), "rf" or "zigbee".
 *   "full_topic":    Tasmota's FullTopic (default "%prefix%/%topic%/"); must contain
 *                    %prefix% and %topic% and no other placeholder.
 *   switch: "switch": the switch number (1..28, default 1) or its SwitchText name. ON = open
 *           (HA convention; wiring decides, so "invert" flips it); doorbells ring on each
 *           change to ON, and on TOGGLE actions.
 *   rf:     "codes":  {"<hex code>": "open"|"closed"|"tamper"|"battery_low"|"ring"|"heartbeat"}
 *           (required; learned at install time; up to 8 hex digits, "0x" and case ignored).
 *   zigbee: "zigbee_device": the short address ("0x8F20") or the friendly name.
 *
 * Topics: tele/<topic>/LWT (Online/Offline, retained; a bridge's availability in rf and
 * zigbee mode); switch: tele/<topic>/SENSOR ({"Switch1":"ON"}, SwitchMode 15) and
 * stat/<topic>/RESULT ({"Switch1":{"Action":"ON"}}, SetOption114 1); rf: tele/<topic>/RESULT
 * ({"RfReceived":{"Data":"4AF10A",…}}); zigbee: tele/<topic>/SENSOR
 * ({"ZbReceived":{"0x8F20":{"Contact":1,"BatteryPercentage":…}}}, Contact 1 = open).
 *
 * RF and Zigbee bridges share their topics among all their sensors: messages for another
 * code or address are ADAPTER_E_NOT_MINE. RF sensors send each code several times and many
 * send only "open", so RF codes are events, not states: a repeat of the same code within
 * debounce_usec of the previous one (sliding) is dropped, anything else is reported. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "common.h"
#include "util.h"

#define TASMOTA_MAX_JSON 16384
#define RF_MAX_CODES     16

enum tasmota_mode {
        MODE_SWITCH,
        MODE_RF,
        MODE_ZIGBEE,
};

enum rf_action {
        RF_OPEN,
        RF_CLOSED,
        RF_TAMPER,
        RF_BATTERY_LOW,
        RF_RING,
        RF_HEARTBEAT,
        _RF_ACTION_MAX,
};

static const char *const rf_action_names[_RF_ACTION_MAX] = {
        [RF_OPEN] = "open",     [RF_CLOSED] = "closed",
        [RF_TAMPER] = "tamper", [RF_BATTERY_LOW] = "battery_low",
        [RF_RING] = "ring",     [RF_HEARTBEAT] = "heartbeat",
};

struct rf_code {
        uint32_t code;
        enum rf_action action;
};

struct tasmota_config {
        enum tasmota_mode mode;
        char *switch_key; /* "Switch1" or the SwitchText */
        char *zigbee_device;
        bool zigbee_is_addr; /* "0x8F20" rather than a friendly name */
        struct rf_code codes[RF_MAX_CODES];
        size_t n_codes;
        char t_lwt[ADAPTER_TOPIC_MAX], t_sensor[ADAPTER_TOPIC_MAX];
        char t_stat_result[ADAPTER_TOPIC_MAX], t_tele_result[ADAPTER_TOPIC_MAX];
};

static void tasmota_free_config(void *p)
{
        struct tasmota_config *c = p;

        if (!c)
                return;
        free(c->switch_key);
        free(c->zigbee_device);
        free(c);
}

/* "4AF10A", "0x4af10a" -> 0x4AF10A; at most 8 hex digits. */
static int parse_code(const char *s, uint32_t *ret)
{
        uint32_t v = 0;
        size_t n = 0;

        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
                s += 2;
        for (; *s; s++, n++) {
                int x;
                if (!isxdigit((unsigned char)*s) || n >= 8)
                        return -EINVAL;
                x = isdigit((unsigned char)*s) ? *s - '0' : tolower((unsigned char)*s) - 'a' + 10;
                v = v << 4 | (uint32_t)x;
        }
        if (n == 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

static void parse_codes(struct adapter_cfg *cfg, struct tasmota_config *c)
{
        const cJSON *codes = cJSON_GetObjectItemCaseSensitive(cfg->entry, "codes"), *it;

        if (!codes) {
                adapter_cfg_error(cfg, "codes", "missing (required for tasmota_mode \"rf\")");
                return;
        }
        if (!cJSON_IsObject(codes) || !codes->child) {
                adapter_cfg_error(cfg, "codes",
                                  "must be a non-empty object {\"<hex code>\": \"open\", …}");
                return;
        }
        cJSON_ArrayForEach(it, codes)
        {
                struct rf_code rc = { 0 };
                char key[128];
                size_t a;

                snprintf(key, sizeof(key), "codes.%s", it->string);
                if (c->n_codes >= RF_MAX_CODES) {
                        adapter_cfg_error(cfg, key, "at most %d codes per device", RF_MAX_CODES);
                        return;
                }
                if (parse_code(it->string, &rc.code) < 0) {
                        adapter_cfg_error(cfg, key, "code must be 1..8 hex digits");
                        continue;
                }
                for (a = 0; a < _RF_ACTION_MAX; a++)
                        if (cJSON_IsString(it) && strcmp(it->valuestring, rf_action_names[a]) == 0)
                                break;
                if (a == _RF_ACTION_MAX) {
                        adapter_cfg_error(cfg, key,
                                          "must be \"open\", \"closed\", \"tamper\", "
                                          "\"battery_low\", \"ring\" or \"heartbeat\"");
                        continue;
                }
                for (size_t i = 0; i < c->n_codes; i++)
                        if (c->codes[i].code == rc.code)
                                adapter_cfg_error(cfg, key, "the same code is listed twice");
                rc.action = (enum rf_action)a;
                c->codes[c->n_codes++] = rc;
        }
}

/* FullTopic with %prefix% and %topic% replaced; the last level (LWT, …) appended. */
static void full_topic(char buf[static ADAPTER_TOPIC_MAX], const char *ft, const char *prefix,
                       const char *topic, const char *last)
{
        size_t n = 0;

        for (const char *p = ft; *p && n < ADAPTER_TOPIC_MAX - 1;) {
                const char *sub = NULL;
                if (str_startswith(p, "%prefix%")) {
                        sub = prefix;
                        p += strlen("%prefix%");
                } else if (str_startswith(p, "%topic%")) {
                        sub = topic;
                        p += strlen("%topic%");
                }
                if (sub)
                        n += (size_t)snprintf(buf + n, ADAPTER_TOPIC_MAX - n, "%s", sub);
                else
                        buf[n++] = *p++;
                n = MIN(n, (size_t)ADAPTER_TOPIC_MAX - 1);
        }
        buf[n] = 0;
        if (n > 0 && buf[n - 1] != '/' && n < ADAPTER_TOPIC_MAX - 1)
                buf[n++] = '/', buf[n] = 0;
        snprintf(buf + n, ADAPTER_TOPIC_MAX - n, "%s", last);
}

static bool full_topic_ok(const char *ft)
{
        const char *p;
        int n = 0;

        if (!strstr(ft, "%prefix%") || !strstr(ft, "%topic%") || strstr(ft, "//") || ft[0] == '/')
                return false;
        for (p = ft; *p; p++)
                if (*p == '+' || *p == '#' || (unsigned char)*p < 0x20)
                        return false;
        for (p = ft; (p = strchr(p, '%')); p++)
                n++;
        return n == 4 && strlen(ft) < 64;
}

static int tasmota_parse_device(struct device *d, const cJSON *entry, const char *file,
                                const char *path, struct config_diag *diag)
{
        struct adapter_cfg cfg = { .entry = entry, .file = file, .path = path, .diag = diag };
        _cleanup_free_ char *topic = NULL, *mode = NULL, *ft = NULL;
        struct tasmota_config *c = calloc(1, sizeof(*c));
        const cJSON *sw;

        if (!c)
                abort();
        topic = adapter_cfg_topic(&cfg, "tasmota_topic", true, NULL, false);
        mode = adapter_cfg_string(&cfg, "tasmota_mode", false, "switch", 16);
        ft = adapter_cfg_string(&cfg, "full_topic", false, "%prefix%/%topic%/", 63);
        if (ft && !full_topic_ok(ft))
                adapter_cfg_error(&cfg, "full_topic",
                                  "must contain %%prefix%% and %%topic%% once each, no other "
                                  "placeholder, no wildcard and no empty level");
        if (mode && strcmp(mode, "switch") == 0)
                c->mode = MODE_SWITCH;
        else if (mode && strcmp(mode, "rf") == 0)
                c->mode = MODE_RF;
        else if (mode && strcmp(mode, "zigbee") == 0)
                c->mode = MODE_ZIGBEE;
        else if (mode)
                adapter_cfg_error(&cfg, "tasmota_mode", "must be \"switch\", \"rf\" or \"zigbee\"");

        if (c->mode != MODE_SWITCH && adapter_cfg_has(&cfg, "switch"))
                adapter_cfg_error(&cfg, "switch", "only for tasmota_mode \"switch\"");
        if (c->mode != MODE_RF && adapter_cfg_has(&cfg, "codes"))
                adapter_cfg_error(&cfg, "codes", "only for tasmota_mode \"rf\"");
        if (c->mode != MODE_ZIGBEE && adapter_cfg_has(&cfg, "zigbee_device"))
                adapter_cfg_error(&cfg, "zigbee_device", "only for tasmota_mode \"zigbee\"");

        switch (c->mode) {
        case MODE_SWITCH:
                sw = cJSON_GetObjectItemCaseSensitive(entry, "switch");
                if (cJSON_IsString(sw))
                        c->switch_key = adapter_cfg_string(&cfg, "switch", false, NULL, 32);
                else {
                        char key[32];
                        snprintf(key, sizeof(key), "Switch%d",
                                 adapter_cfg_int(&cfg, "switch", 1, 28, 1));
                        c->switch_key = xstrdup(key);
                }
                break;
        case MODE_RF:
                parse_codes(&cfg, c);
                break;
        case MODE_ZIGBEE:
                c->zigbee_device = adapter_cfg_string(&cfg, "zigbee_device", true, NULL, 32);
                c->zigbee_is_addr = c->zigbee_device && str_startswith(c->zigbee_device, "0x");
                break;
        }
        if (cfg.r < 0 || !topic || !ft) {
                tasmota_free_config(c);
                return -EINVAL;
        }
        full_topic(c->t_lwt, ft, "tele", topic, "LWT");
        if (c->mode == MODE_SWITCH) {
                full_topic(c->t_sensor, ft, "tele", topic, "SENSOR");
                full_topic(c->t_stat_result, ft, "stat", topic, "RESULT");
        } else if (c->mode == MODE_RF)
                full_topic(c->t_tele_result, ft, "tele", topic, "RESULT");
        else
                full_topic(c->t_sensor, ft, "tele", topic, "SENSOR");
        d->adapter_config = c;
        return 0;
}

static void tasmota_topics(const struct device *d, const char *topic_prefix, adapter_topic_cb cb,
                           void *userdata)
{
        const struct tasmota_config *c = d->adapter_config;
        const char *const topics[] = { c->t_lwt, c->t_sensor, c->t_stat_result, c->t_tele_result };

        for (size_t i = 0; i < ELEMENTSOF(topics); i++)
                if (topics[i][0])
                        cb(topics[i], topics[i], userdata);
}

/* --- switch ----------------------------------------------------------------------------- */

static int decode_switch(const struct device *d, const struct tasmota_config *c,
                         const struct adapter_msg *m, struct device_state *st,
                         struct adapter_decode_result *out)
{
        _cleanup_json_ cJSON *j = NULL;
        const cJSON *v;
        bool b;
        int r;

        r = adapter_parse_json(m, TASMOTA_MAX_JSON, &j, out);
        if (r != ADAPTER_OK)
                return r;
        v = cJSON_GetObjectItemCaseSensitive(j, c->switch_key);
        if (cJSON_IsObject(v)) /* SetOption114: {"Switch1":{"Action":"ON"}} */
                v = cJSON_GetObjectItemCaseSensitive(v, "Action");
        if (v) {
                const char *s = cJSON_IsString(v) ? v->valuestring : NULL;
                if (s && strcmp(s, "TOGGLE") == 0) {
                        if (d->kind == DEVICE_DOORBELL)
                                adapter_emit_ring(m, st, out);
                } else if (s && strcmp(s, "HOLD") == 0) {
                        /* a long press: not a state */
                } else {
                        if (adapter_json_bool(v, &b) != 0) {
                                out->error = "switch value must be ON or OFF";
                                return ADAPTER_E_INVALID;
                        }
                        adapter_emit_input(d, m, st, out, b);
                }
        }
        /* telemetry and command results prove the Tasmota (= the device) alive */
        return adapter_finish_alive(m, st, out);
}

/* --- RF bridge -------------------------------------------------------------------------- */

static int decode_rf(const struct device *d, const struct tasmota_config *c,
                     const struct adapter_msg *m, struct device_state *st,
                     struct adapter_decode_result *out)
{
        _cleanup_json_ cJSON *j = NULL;
        const cJSON *rf;
        const char *data;
        const struct rf_code *rc = NULL;
        struct event *e;
        uint32_t code;
        int r;

        r = adapter_parse_json(m, TASMOTA_MAX_JSON, &j, out);
        if (r != ADAPTER_OK)
                return r;
        rf = cJSON_GetObjectItemCaseSensitive(j, "RfReceived");
        if (!rf)
                return ADAPTER_E_IGNORED; /* another command's result */
        data = adapter_json_string(rf, "Data");
        if (!data) {
                out->error = "RfReceived without \"Data\"";
                return ADAPTER_E_INVALID;
        }
        if (parse_code(data, &code) < 0)
                return ADAPTER_E_NOT_MINE; /* not a code any device may be configured with */
        for (size_t i = 0; i < c->n_codes; i++)
                if (c->codes[i].code == code)
                        rc = &c->codes[i];
        if (!rc)
                return ADAPTER_E_NOT_MINE;

        if (!m->retained) {
                bool repeat = st->last_event_usec != 0 && st->last_code == code &&
                              m->debounce_usec > 0 && m->recv_usec >= st->last_event_usec &&
                              m->recv_usec - st->last_event_usec < m->debounce_usec;
                st->last_code = code;
                st->last_event_usec = m->recv_usec; /* sliding: a long burst stays one event */
                if (repeat)
                        return ADAPTER_E_IGNORED;
        }
        switch (rc->action) {
        case RF_OPEN:
        case RF_CLOSED:
                adapter_emit_door_event(d, m, st, out, rc->action == RF_OPEN);
                break;
        case RF_TAMPER:
                /* RF sensors never send "tamper cleared": each one is reported */
                e = adapter_push(out, m, EVENT_TAMPER);
                if (e)
                        e->tampered = true;
                st->tamper_known = st->tampered = true;
                break;
        case RF_BATTERY_LOW:
                e = adapter_push(out, m, EVENT_BATTERY);
                if (e)
                        e->battery_low = true;
                st->battery_known = st->battery_low = true;
                break;
        case RF_RING:
                adapter_emit_ring(m, st, out);
                break;
        case RF_HEARTBEAT:
                adapter_push(out, m, EVENT_HEARTBEAT);
                break;
        default:
                break;
        }
        if (out->n_events > 0 && !m->retained)
                st->last_heartbeat_usec = m->recv_usec;
        return adapter_finish(out);
}

/* --- Zigbee bridge ---------------------------------------------------------------------- */

static int decode_zigbee(const struct device *d, const struct tasmota_config *c,
                         const struct adapter_msg *m, struct device_state *st,
                         struct adapter_decode_result *out)
{
        _cleanup_json_ cJSON *j = NULL;
        const cJSON *zb, *it, *dev = NULL;
        double pct, volts;
        bool b;
        int r;

        r = adapter_parse_json(m, TASMOTA_MAX_JSON, &j, out);
        if (r != ADAPTER_OK)
                return r;
        zb = cJSON_GetObjectItemCaseSensitive(j, "ZbReceived");
        if (!zb)
                return ADAPTER_E_IGNORED; /* the bridge's own telemetry */
        if (!cJSON_IsObject(zb)) {
                out->error = "ZbReceived is not an object";
                return ADAPTER_E_INVALID;
        }
        cJSON_ArrayForEach(it, zb)
        {
                const char *name = adapter_json_string(it, "Name");
                if (!cJSON_IsObject(it))
                        continue;
                if (c->zigbee_is_addr
                        ? adapter_addr_eq(it->string, c->zigbee_device) ||
                              adapter_addr_eq(adapter_json_string(it, "Device"), c->zigbee_device)
                        : str_eq(it->string, c->zigbee_device) || str_eq(name, c->zigbee_device)) {
                        dev = it;
                        break;
                }
        }
        if (!dev)
                return ADAPTER_E_NOT_MINE;

        r = adapter_json_bool(cJSON_GetObjectItemCaseSensitive(dev, "Contact"), &b);
        if (r == ADAPTER_E_INVALID) {
                out->error = "\"Contact\" is not 0 or 1";
                return ADAPTER_E_INVALID;
        }
        if (r == 0)
                adapter_emit_door_state(d, m, st, out, /* 1 = open */ b);
        if (adapter_json_bool(cJSON_GetObjectItemCaseSensitive(dev, "Tamper"), &b) == 0)
                adapter_emit_tamper(m, st, out, b);
        if (adapter_json_number(cJSON_GetObjectItemCaseSensitive(dev, "BatteryPercentage"), &pct) !=
                0 ||
            pct < 0 || pct > 100)
                pct = -1;
        if (adapter_json_number(cJSON_GetObjectItemCaseSensitive(dev, "BatteryVoltage"), &volts) !=
                0 ||
            volts <= 0 || volts > 100)
                volts = 0;
        adapter_emit_battery(m, st, out, (int)pct, -1, (int)(volts * 1000 + 0.5));
        return adapter_finish_alive(m, st, out);
}

static int tasmota_decode_message(const struct device *d, const struct adapter_msg *m,
                                  struct device_state *st, struct adapter_decode_result *out)
{
        const struct tasmota_config *c = d->adapter_config;
        bool online;

        adapter_begin(out);
        if (strcmp(m->topic, c->t_lwt) == 0) {
                if (adapter_parse_availability(m->payload, m->len, &online) != 0) {
                        out->error = "LWT must be Online or Offline";
                        return ADAPTER_E_INVALID;
                }
                adapter_emit_availability(m, st, out, online, c->mode != MODE_SWITCH);
                return ADAPTER_OK;
        }
        switch (c->mode) {
        case MODE_SWITCH:
                if (strcmp(m->topic, c->t_sensor) == 0 || strcmp(m->topic, c->t_stat_result) == 0)
                        return decode_switch(d, c, m, st, out);
                break;
        case MODE_RF:
                if (strcmp(m->topic, c->t_tele_result) == 0)
                        return decode_rf(d, c, m, st, out);
                break;
        case MODE_ZIGBEE:
                if (strcmp(m->topic, c->t_sensor) == 0)
                        return decode_zigbee(d, c, m, st, out);
                break;
        }
        return ADAPTER_E_NOT_MINE;
}

static int tasmota_decode(const struct device *d, const struct adapter_msg *m,
                          struct device_state *st, struct adapter_decode_result *out)
{
        struct device_state saved = *st;

        return adapter_decode_end(tasmota_decode_message(d, m, st, out), st, &saved, out);
}

static const char *const tasmota_keys[] = {
        "tasmota_topic", "tasmota_mode", "full_topic", "switch", "codes", "zigbee_device", NULL
};

const struct adapter adapter_tasmota = {
        .name = "tasmota",
        .keys = tasmota_keys,
        .parse_device = tasmota_parse_device,
        .free_config = tasmota_free_config,
        .topics = tasmota_topics,
        .decode = tasmota_decode,
};

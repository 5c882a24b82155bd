/* common.c: helpers shared by the ecosystem adapters (see common.h).
 *
 * Invariants: payload readers never look past m->len and never need a NUL terminator;
 * event emitters never write past ADAPTER_MAX_EVENTS (extra events are dropped, which
 * only a hostile payload can cause); every state change is recorded in struct
 * device_state so the next full-state message is compared against it. */
#include "common.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* --- configuration ------------------------------------------------------------------- */

void adapter_cfg_error(struct adapter_cfg *c, const char *key, const char *fmt, ...)
{
        char path[512], msg[512];
        va_list ap;

        snprintf(path, sizeof(path), "%s.%s", c->path ? c->path : "", key);
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        config_diag_error(c->diag, c->file, path, "%s", msg);
        c->r = -EINVAL;
}

bool adapter_cfg_has(const struct adapter_cfg *c, const char *key)
{
        return cJSON_GetObjectItemCaseSensitive(c->entry, key) != NULL;
}

static const cJSON *cfg_get(struct adapter_cfg *c, const char *key, bool required)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->entry, key);

        if (!v && required)
                adapter_cfg_error(c, key, "missing (required for source \"%s\")",
                                  adapter_json_string(c->entry, "source")
                                      ? adapter_json_string(c->entry, "source")
                                      : "?");
        return v;
}

static bool topic_part_ok(const char *s, bool allow_slash)
{
        size_t n = strlen(s);

        if (n == 0 || n > ADAPTER_TOPIC_MAX - 64)
                return false;
        for (const char *p = s; *p; p++) {
                if (*p == '+' || *p == '#' || (unsigned char)*p < 0x20 || *p == 0x7f)
                        return false;
                if (*p == '/' && (!allow_slash || p == s || p[1] == '/' || p[1] == 0))
                        return false;
        }
        return true;
}

char *adapter_cfg_topic(struct adapter_cfg *c, const char *key, bool required, const char *def,
                        bool allow_slash)
{
        const cJSON *v = cfg_get(c, key, required);

        if (!v)
                return xstrdup(def);
        if (!cJSON_IsString(v)) {
                adapter_cfg_error(c, key, "must be a string");
                return NULL;
        }
        if (!topic_part_ok(v->valuestring, allow_slash)) {
                adapter_cfg_error(c, key,
                                  "\"%s\" is not a valid MQTT topic %s: it must be 1..%d bytes "
                                  "without '+', '#' or control characters%s",
                                  v->valuestring, allow_slash ? "prefix" : "level",
                                  ADAPTER_TOPIC_MAX - 64,
                                  allow_slash ? " and without empty levels (leading, trailing "
                                                "or double '/')"
                                              : " or '/'");
                return NULL;
        }
        return xstrdup(v->valuestring);
}

char *adapter_cfg_string(struct adapter_cfg *c, const char *key, bool required, const char *def,
                         size_t max_len)
{
        const cJSON *v = cfg_get(c, key, required);

        if (!v)
                return xstrdup(def);
        if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) > max_len) {
                adapter_cfg_error(c, key, "must be a non-empty string of at most %zu bytes",
                                  max_len);
                return NULL;
        }
        return xstrdup(v->valuestring);
}

int adapter_cfg_int(struct adapter_cfg *c, const char *key, int min, int max, int def)
{
        const cJSON *v = cfg_get(c, key, false);

        if (!v)
                return def;
        if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < min ||
            v->valuedouble > max) {
                adapter_cfg_error(c, key, "must be an integer in %d..%d", min, max);
                return def;
        }
        return (int)v->valuedouble;
}

bool adapter_cfg_bool(struct adapter_cfg *c, const char *key, bool def)
{
        const cJSON *v = cfg_get(c, key, false);

        if (!v)
                return def;
        if (!cJSON_IsBool(v)) {
                adapter_cfg_error(c, key, "must be true or false");
                return def;
        }
        return cJSON_IsTrue(v);
}

char **adapter_cfg_strv(struct adapter_cfg *c, const char *key)
{
        const cJSON *v = cfg_get(c, key, false), *it;
        char **r;
        size_t n = 0;

        if (!v)
                return NULL;
        if (!cJSON_IsArray(v)) {
                adapter_cfg_error(c, key, "must be an array of strings");
                return NULL;
        }
        r = calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(char *));
        if (!r)
                abort();
        cJSON_ArrayForEach(it, v)
        {
                if (!cJSON_IsString(it) || !it->valuestring[0] ||
                    strlen(it->valuestring) >= EVENT_ID_MAX) {
                        adapter_cfg_error(c, key,
                                          "[%zu] must be a non-empty string of at most %d "
                                          "bytes",
                                          n, EVENT_ID_MAX - 1);
                        adapter_strv_free(r);
                        return NULL;
                }
                r[n++] = xstrdup(it->valuestring);
        }
        return r;
}

void adapter_strv_free(char **v)
{
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

bool adapter_strv_contains(char *const *v, const char *s)
{
        for (size_t i = 0; v && v[i]; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

void adapter_topic(char buf[static ADAPTER_TOPIC_MAX], const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, ADAPTER_TOPIC_MAX, fmt, ap);
        va_end(ap);
}

/* --- payloads -------------------------------------------------------------------------- */

static void trim(const char **p, size_t *len)
{
        while (*len > 0 && isspace((unsigned char)**p)) {
                (*p)++;
                (*len)--;
        }
        while (*len > 0 && isspace((unsigned char)(*p)[*len - 1]))
                (*len)--;
        if (*len >= 2 && (*p)[0] == '"' && (*p)[*len - 1] == '"') {
                (*p)++;
                *len -= 2;
        }
}

static bool word_eq(const char *p, size_t len, const char *w)
{
        return strlen(w) == len && strncasecmp(p, w, len) == 0;
}

int adapter_parse_bool_word(const char *p, size_t len, bool *ret)
{
        static const char *const yes[] = { "true", "on", "1", "yes", "online" };
        static const char *const no[] = { "false", "off", "0", "no", "offline" };

        if (!p || len > ADAPTER_MAX_TEXT)
                return ADAPTER_E_INVALID;
        trim(&p, &len);
        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (word_eq(p, len, yes[i]) || word_eq(p, len, no[i])) {
                        *ret = word_eq(p, len, yes[i]);
                        return 0;
                }
        }
        return ADAPTER_E_INVALID;
}

int adapter_json_bool(const cJSON *v, bool *ret)
{
        if (!v || cJSON_IsNull(v))
                return ADAPTER_E_ABSENT;
        if (cJSON_IsBool(v)) {
                *ret = cJSON_IsTrue(v);
                return 0;
        }
        if (cJSON_IsNumber(v)) {
                if (v->valuedouble != 0 && v->valuedouble != 1)
                        return ADAPTER_E_INVALID;
                *ret = v->valuedouble == 1;
                return 0;
        }
        if (cJSON_IsString(v))
                return adapter_parse_bool_word(v->valuestring, strlen(v->valuestring), ret);
        return ADAPTER_E_INVALID;
}

int adapter_parse_number(const char *p, size_t len, double *ret)
{
        char buf[ADAPTER_MAX_TEXT + 1], *end;
        double x;

        if (!p || len > ADAPTER_MAX_TEXT)
                return ADAPTER_E_INVALID;
        trim(&p, &len);
        if (len == 0)
                return ADAPTER_E_INVALID;
        memcpy(buf, p, len);
        buf[len] = 0;
        errno = 0;
        x = strtod(buf, &end);
        if (errno != 0 || *end != 0 || !isfinite(x))
                return ADAPTER_E_INVALID;
        *ret = x;
        return 0;
}

int adapter_json_number(const cJSON *v, double *ret)
{
        if (!v || cJSON_IsNull(v))
                return ADAPTER_E_ABSENT;
        if (cJSON_IsNumber(v)) {
                if (!isfinite(v->valuedouble))
                        return ADAPTER_E_INVALID;
                *ret = v->valuedouble;
                return 0;
        }
        if (cJSON_IsString(v))
                return adapter_parse_number(v->valuestring, strlen(v->valuestring), ret);
        return ADAPTER_E_INVALID;
}

const char *adapter_json_string(const cJSON *obj, const char *key)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
        return cJSON_IsString(v) ? v->valuestring : NULL;
}

int adapter_parse_availability(const char *p, size_t len, bool *ret_online)
{
        const char *q = p;
        size_t n = len;

        if (!p)
                return ADAPTER_E_INVALID;
        trim(&q, &n);
        if (n > 0 && q[0] == '{') {
                _cleanup_json_ cJSON *j = NULL;
                if (len > 256)
                        return ADAPTER_E_INVALID;
                j = cJSON_ParseWithLength(p, len);
                if (!cJSON_IsObject(j))
                        return ADAPTER_E_INVALID;
                return adapter_json_bool(cJSON_GetObjectItemCaseSensitive(j, "state"),
                                         ret_online) == 0
                           ? 0
                           : ADAPTER_E_INVALID;
        }
        return adapter_parse_bool_word(p, len, ret_online);
}

int adapter_parse_json(const struct adapter_msg *m, size_t max_len, cJSON **ret,
                       struct adapter_decode_result *out)
{
        cJSON *j;

        if (m->len > max_len) {
                out->error = "payload too large for this topic";
                return ADAPTER_E_INVALID;
        }
        j = cJSON_ParseWithLength(m->payload, m->len);
        if (!cJSON_IsObject(j)) {
                cJSON_Delete(j);
                out->error = "not a JSON object";
                return ADAPTER_E_INVALID;
        }
        if (json_depth(j) > ADAPTER_MAX_DEPTH) {
                cJSON_Delete(j);
                out->error = "JSON nested too deeply";
                return ADAPTER_E_INVALID;
        }
        *ret = j;
        return ADAPTER_OK;
}

bool adapter_payload_is(const struct adapter_msg *m, const char *word)
{
        const char *p = m->payload;
        size_t len = m->len;

        if (len > ADAPTER_MAX_TEXT)
                return false;
        trim(&p, &len);
        return word_eq(p, len, word);
}

static const char *skip_addr_noise(const char *s)
{
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
                s += 2;
        while (*s == ':' || *s == '-')
                s++;
        return s;
}

bool adapter_addr_eq(const char *a, const char *b)
{
        if (!a || !b)
                return false;
        a = skip_addr_noise(a);
        b = skip_addr_noise(b);
        for (;;) {
                while (*a == ':' || *a == '-')
                        a++;
                while (*b == ':' || *b == '-')
                        b++;
                if (!*a || !*b)
                        return !*a && !*b;
                if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
                        return false;
                a++;
                b++;
        }
}

bool adapter_ts_valid(double ts)
{
        return isfinite(ts) && ts > 0 && ts < 1e11;
}

/* --- events ---------------------------------------------------------------------------- */

void adapter_begin(struct adapter_decode_result *out)
{
        out->n_events = 0;
        out->error = NULL;
}

struct event *adapter_push(struct adapter_decode_result *out, const struct adapter_msg *m,
                           enum event_type t)
{
        struct event *e;

        if (out->n_events >= ADAPTER_MAX_EVENTS)
                return NULL;
        e = &out->events[out->n_events++];
        *e = (struct event){
                .type = t,
                .battery_percent = -1,
                .retained = m->retained,
        };
        return e;
}

static void door_emit(const struct device *d, const struct adapter_msg *m, struct device_state *st,
                      struct adapter_decode_result *out, bool open_raw, bool edge_only)
{
        enum door_state s = (open_raw != d->invert) ? DOOR_OPEN : DOOR_CLOSED;
        struct event *e;

        if (edge_only && st->door == s)
                return;
        e = adapter_push(out, m, EVENT_DOOR);
        if (!e)
                return;
        e->door = s;
        if (st->door != s)
                st->door_changed_usec = m->recv_usec;
        st->door = s;
}

void adapter_emit_door_state(const struct device *d, const struct adapter_msg *m,
                             struct device_state *st, struct adapter_decode_result *out,
                             bool open_raw)
{
        door_emit(d, m, st, out, open_raw, true);
}

void adapter_emit_door_event(const struct device *d, const struct adapter_msg *m,
                             struct device_state *st, struct adapter_decode_result *out,
                             bool open_raw)
{
        door_emit(d, m, st, out, open_raw, false);
}

void adapter_emit_ring(const struct adapter_msg *m, struct device_state *st,
                       struct adapter_decode_result *out)
{
        /* A retained replay is reported (flagged) but neither debounced nor used as the
         * reference for debouncing: it says nothing about when the button was pressed. */
        if (!m->retained) {
                if (m->debounce_usec > 0 && st->last_ring_usec != 0 &&
                    m->recv_usec - st->last_ring_usec >= 0 &&
                    m->recv_usec - st->last_ring_usec < m->debounce_usec)
                        return;
                st->last_ring_usec = m->recv_usec;
        }
        adapter_push(out, m, EVENT_RING);
}

void adapter_emit_input(const struct device *d, const struct adapter_msg *m,
                        struct device_state *st, struct adapter_decode_result *out, bool on_raw)
{
        bool on = on_raw != d->invert;
        bool was_known = st->input_known, was_on = st->input_on;

        st->input_known = true;
        st->input_on = on;
        if (d->kind == DEVICE_DOORBELL) {
                if (on && (!was_known || !was_on))
                        adapter_emit_ring(m, st, out);
                return;
        }
        adapter_emit_door_state(d, m, st, out, on_raw);
}

void adapter_emit_tamper(const struct adapter_msg *m, struct device_state *st,
                         struct adapter_decode_result *out, bool tampered)
{
        struct event *e;

        if (st->tamper_known ? st->tampered == tampered : !tampered) {
                st->tamper_known = true;
                return;
        }
        e = adapter_push(out, m, EVENT_TAMPER);
        if (!e)
                return;
        e->tampered = tampered;
        st->tamper_known = true;
        st->tampered = tampered;
}

void adapter_emit_battery(const struct adapter_msg *m, struct device_state *st,
                          struct adapter_decode_result *out, int percent, int low, int mv)
{
        bool changed = !st->battery_known;
        struct event *e;

        if (percent > 100 || percent < -1)
                percent = -1;
        if (mv < 0 || mv > 100000)
                mv = 0;
        if (percent < 0 && low < 0 && mv == 0)
                return;
        if (percent >= 0 && percent != st->battery_percent)
                changed = true;
        if (low >= 0 && (bool)low != st->battery_low)
                changed = true;
        if (percent < 0 && low < 0 && mv > 0 && abs(mv - st->battery_mv) >= 100)
                changed = true;
        if (!changed)
                return;
        e = adapter_push(out, m, EVENT_BATTERY);
        if (!e)
                return;
        st->battery_known = true;
        if (percent >= 0)
                st->battery_percent = percent;
        if (low >= 0)
                st->battery_low = low;
        if (mv > 0)
                st->battery_mv = mv;
        e->battery_percent = percent;
        e->battery_low = low > 0;
        e->battery_mv = mv;
}

void adapter_emit_availability(const struct adapter_msg *m, struct device_state *st,
                               struct adapter_decode_result *out, bool online, bool bridge)
{
        struct event *e = adapter_push(out, m, EVENT_AVAILABILITY);

        if (!e)
                return;
        e->online = online;
        e->bridge = bridge;
        if (bridge)
                snprintf(e->bridge_id, sizeof(e->bridge_id), "%s", m->topic);
        else
                st->online = online;
}

int adapter_finish(const struct adapter_decode_result *out)
{
        return out->n_events > 0 ? ADAPTER_OK : ADAPTER_E_IGNORED;
}

int adapter_finish_alive(const struct adapter_msg *m, struct device_state *st,
                         struct adapter_decode_result *out)
{
        if (m->retained)
                return adapter_finish(out);
        if (out->n_events > 0) {
                /* any live event is proof of life: no heartbeat right after it */
                st->last_heartbeat_usec = m->recv_usec;
                return ADAPTER_OK;
        }
        if ((st->last_heartbeat_usec == 0 ||
             m->recv_usec - st->last_heartbeat_usec >= ADAPTER_HEARTBEAT_INTERVAL_USEC ||
             m->recv_usec < st->last_heartbeat_usec)) {
                st->last_heartbeat_usec = m->recv_usec;
                adapter_push(out, m, EVENT_HEARTBEAT);
        }
        return adapter_finish(out);
}

int adapter_decode_end(int r, struct device_state *st, const struct device_state *saved,
                       struct adapter_decode_result *out)
{
        if (r == ADAPTER_E_INVALID || r == ADAPTER_E_NOT_MINE) {
                if (st->recent != saved->recent)
                        device_state_done(st); /* allocated by this decode */
                *st = *saved;
                out->n_events = 0;
        }
        return r;
}

void adapter_event_ts(struct event *e, double ts)
{
        if (e && adapter_ts_valid(ts)) {
                e->has_ts = true;
                e->ts = ts;
        }
}

void adapter_events_ts(struct adapter_decode_result *out, double ts)
{
        for (size_t i = 0; i < out->n_events; i++)
                adapter_event_ts(&out->events[i], ts);
}

bool adapter_recent_find(const struct device_state *st, const char *id,
                         enum person_direction *ret_dir)
{
        uint32_t h = (uint32_t)hash_str(id) | 1; /* 0 marks an empty slot */
        const struct device_recent *r = st->recent;

        for (size_t i = 0; r && i < DEVICE_STATE_RECENT_IDS; i++)
                if (r->ids[i] == h) {
                        *ret_dir = (enum person_direction)r->dirs[i];
                        return true;
                }
        return false;
}

void adapter_recent_put(struct device_state *st, const char *id, enum person_direction dir)
{
        uint32_t h = (uint32_t)hash_str(id) | 1;
        struct device_recent *r = st->recent;
        size_t i;

        if (!r)
                r = st->recent = xcalloc(1, sizeof(*r));
        for (i = 0; i < DEVICE_STATE_RECENT_IDS; i++)
                if (r->ids[i] == h) {
                        r->dirs[i] = (uint8_t)dir;
                        return;
                }
        i = r->next % DEVICE_STATE_RECENT_IDS;
        r->ids[i] = h;
        r->dirs[i] = (uint8_t)dir;
        r->next = (uint8_t)((i + 1) % DEVICE_STATE_RECENT_IDS);
}

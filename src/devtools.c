/* devtools.c: `doorwatchctl device verify` and `device discover` (see devtools.h).
 *
 * verify keeps a scratch struct device_state and decodes every message on the device's
 * topics with the device's adapter, exactly as the daemon would (same invert, addressing,
 * debounce). Door events are kept in order: the retained (or first) state is the door "at
 * rest", the live ones what the installer did. A correct sensor shows rest closed, then
 * open, then closed; a sensor with the wrong polarity shows rest open, then closed, then
 * open. Messages on similar topics (one level of a device topic replaced, or anything
 * under a zigbee2mqtt base) and messages for other devices on shared topics (Frigate
 * events, RF and Zigbee bridges) are collected to name what the installer probably
 * meant.
 *
 * discover claims a seen device for the registry when a registered device's adapter
 * accepts a message of that device (a route of it and not ADAPTER_E_NOT_MINE), so every
 * addressing scheme (shared topics included) is judged by the adapters themselves. */
#include "devtools.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <mosquitto.h>
#include <string.h>
#include <strings.h>

#include "adapter.h"
#include "hashmap.h"
#include "mqtt_session.h"
#include "util.h"

#define VERIFY_MAX_SEQ 32
/* A door that was opened and closed passes once nothing more happened for this long: a
 * report at rest followed by an opening and a closing of an inverted sensor would look
 * the same until its last change. */
#define VERIFY_QUIET_USEC  (3 * USEC_PER_SEC)
#define VERIFY_MAX_LISTED  8                 /* names listed in an explanation */
#define VERIFY_MAX_SIMILAR 256               /* distinct similar topics remembered */
#define DEVTOOLS_MAX_JSON  (8 * 1024 * 1024) /* zigbee2mqtt bridge/devices is large */

static void strv_add(char ***v, size_t *n, size_t *cap, const char *s)
{
        for (size_t i = 0; i < *n; i++)
                if (strcmp((*v)[i], s) == 0)
                        return;
        GROW(*v, *n, *cap);
        (*v)[(*n)++] = xstrdup(s);
}

static void strv_done(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

static size_t topic_levels(const char *t)
{
        size_t n = 1;

        for (; *t; t++)
                n += *t == '/';
        return n;
}

/* The index-th level of t into buf ("" when there is none). */
static const char *topic_level(const char *t, size_t index, char *buf, size_t size)
{
        for (; index > 0 && t; index--) {
                t = strchr(t, '/');
                if (t)
                        t++;
        }
        if (!t) {
                buf[0] = 0;
                return buf;
        }
        snprintf(buf, size, "%.*s", (int)strcspn(t, "/"), t);
        return buf;
}

/* t with its index-th level replaced by "+". */
static char *topic_vary(const char *t, size_t index)
{
        size_t n = topic_levels(t), len = strlen(t) + 2;
        char *out = malloc(len), *o = out;
        const char *p = t;

        if (!out)
                abort();
        for (size_t i = 0; i < n; i++) {
                size_t k = strcspn(p, "/");
                if (i == index)
                        *o++ = '+';
                else {
                        memcpy(o, p, k);
                        o += k;
                }
                p += k;
                if (*p == '/')
                        *o++ = *p++;
        }
        *o = 0;
        return out;
}

/* When a and b differ in exactly one level (same number of levels), its index; else -1. */
static long topic_one_level_off(const char *a, const char *b)
{
        long diff = -1;
        size_t i = 0;

        if (topic_levels(a) != topic_levels(b))
                return -1;
        for (;; i++) {
                size_t ka = strcspn(a, "/"), kb = strcspn(b, "/");
                if (ka != kb || memcmp(a, b, ka) != 0) {
                        if (diff >= 0)
                                return -1;
                        diff = (long)i;
                }
                a += ka;
                b += kb;
                if (!*a)
                        break;
                a++;
                b++;
        }
        return diff;
}

static bool has_suffix(const char *s, const char *suffix)
{
        size_t n = strlen(s), k = strlen(suffix);
        return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Some identity of the device a message on a shared topic was for ("camera back_yard",
 * "RF code 9C1E0A", "Zigbee 0x1234 (Kitchen)", "BLU 3c:2e:f5:00:11:22"), or NULL. */
static char *other_device_name(const void *payload, size_t len)
{
        _cleanup_json_ cJSON *j = cJSON_ParseWithLength(payload, len);
        const cJSON *o, *x;
        char *out = NULL;

        if (!cJSON_IsObject(j))
                return NULL;
        for (const char *const *k = (const char *const[]){ "after", "before", NULL }; *k; k++) {
                o = cJSON_GetObjectItemCaseSensitive(j, *k);
                x = cJSON_GetObjectItemCaseSensitive(o, "camera");
                if (cJSON_IsString(x) && asprintf(&out, "camera \"%s\"", x->valuestring) >= 0)
                        return out;
        }
        o = cJSON_GetObjectItemCaseSensitive(j, "RfReceived");
        x = cJSON_GetObjectItemCaseSensitive(o, "Data");
        if (cJSON_IsString(x) && asprintf(&out, "RF code %s", x->valuestring) >= 0)
                return out;
        o = cJSON_GetObjectItemCaseSensitive(j, "ZbReceived");
        if (cJSON_IsObject(o) && o->child && o->child->string) {
                x = cJSON_GetObjectItemCaseSensitive(o->child, "Name");
                if (asprintf(&out, "Zigbee %s%s%s%s", o->child->string,
                             cJSON_IsString(x) ? " (" : "", cJSON_IsString(x) ? x->valuestring : "",
                             cJSON_IsString(x) ? ")" : "") >= 0)
                        return out;
        }
        o = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "params"),
                                             "events");
        x = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(o, 0), "data"), "address");
        if (cJSON_IsString(x) && asprintf(&out, "BLU %s", x->valuestring) >= 0)
                return out;
        return NULL;
}

/* ---- verify ---- */

struct similar {
        char *topic;
        char *name; /* the part that differs from the device's topic */
        unsigned live, retained;
};

struct verify {
        const struct config *config;
        const struct device *device;
        struct device_state st;
        char **routes;
        size_t n_routes, cap_routes;
        char **filters; /* routes first */
        size_t n_filters, cap_filters;
        char *z2m_base, *z2m_name; /* zigbee2mqtt: names under the base are siblings */

        unsigned n_live, n_retained, n_invalid, n_offline;
        char last_error[128];
        enum door_state rest; /* the retained state, i.e. before the installer acted */
        enum door_state seq[VERIFY_MAX_SEQ];
        size_t n_seq;
        int64_t last_door_usec; /* the last live door change */
        bool ring, person;

        struct similar *sim;
        size_t n_sim, cap_sim;
        char **others;
        size_t n_others, cap_others;

        /* overlapping subscriptions may deliver a message twice, back to back */
        char *last_topic;
        uint64_t last_hash;
        int64_t last_usec;

        enum verify_result result;
        enum verify_problem problem;
        char *explanation;
};

const char *verify_problem_to_string(enum verify_problem p)
{
        static const char *const names[] = {
                [VERIFY_OK] = "ok",
                [VERIFY_NOTHING] = "nothing",
                [VERIFY_WRONG_NAME] = "wrong_name",
                [VERIFY_POLARITY] = "polarity",
                [VERIFY_RETAINED_ONLY] = "retained_only",
                [VERIFY_INCOMPLETE] = "incomplete",
                [VERIFY_INVALID] = "invalid",
        };
        return p >= 0 && p < (int)ELEMENTSOF(names) ? names[p] : "?";
}

static void verify_add_route(const char *filter, const char *route, void *userdata)
{
        struct verify *v = userdata;

        strv_add(&v->routes, &v->n_routes, &v->cap_routes, route);
        (void)filter;
}

int verify_new(const struct config *c, const struct device *d, struct verify **ret)
{
        struct verify *v = xcalloc(1, sizeof(*v));

        v->config = c;
        v->device = d;
        v->st.battery_percent = -1;
        v->rest = DOOR_UNKNOWN;
        d->adapter->topics(d, c->mqtt.topic_prefix, verify_add_route, v);
        for (size_t i = 0; i < v->n_routes; i++)
                strv_add(&v->filters, &v->n_filters, &v->cap_filters, v->routes[i]);
        if (str_eq(device_source(d), "zigbee2mqtt")) {
                for (size_t i = 0; i < v->n_routes; i++)
                        if (has_suffix(v->routes[i], "/bridge/state"))
                                v->z2m_base = strndup(v->routes[i], strlen(v->routes[i]) -
                                                                        strlen("/bridge/state"));
                for (size_t i = 0; v->z2m_base && i < v->n_routes; i++) {
                        size_t bl = strlen(v->z2m_base);
                        if (!has_suffix(v->routes[i], "/availability") &&
                            !has_suffix(v->routes[i], "/bridge/state") &&
                            strncmp(v->routes[i], v->z2m_base, bl) == 0 && v->routes[i][bl] == '/')
                                v->z2m_name = xstrdup(v->routes[i] + bl + 1);
                }
        }
        if (v->z2m_base) {
                char *f = NULL;
                if (asprintf(&f, "%s/#", v->z2m_base) < 0)
                        abort();
                strv_add(&v->filters, &v->n_filters, &v->cap_filters, f);
                free(f);
        } else {
                for (size_t i = 0; i < v->n_routes; i++)
                        for (size_t k = 0, n = topic_levels(v->routes[i]); n > 1 && k < n; k++) {
                                char *f = topic_vary(v->routes[i], k);
                                strv_add(&v->filters, &v->n_filters, &v->cap_filters, f);
                                free(f);
                        }
        }
        *ret = v;
        return 0;
}

struct verify *verify_free(struct verify *v)
{
        if (!v)
                return NULL;
        device_state_done(&v->st);
        strv_done(v->routes, v->n_routes);
        strv_done(v->filters, v->n_filters);
        for (size_t i = 0; i < v->n_sim; i++) {
                free(v->sim[i].topic);
                free(v->sim[i].name);
        }
        free(v->sim);
        strv_done(v->others, v->n_others);
        free(v->z2m_base);
        free(v->z2m_name);
        free(v->last_topic);
        free(v->explanation);
        free(v);
        return NULL;
}

size_t verify_n_filters(const struct verify *v)
{
        return v->n_filters;
}

size_t verify_n_own(const struct verify *v)
{
        return v->n_routes;
}

const char *verify_filter(const struct verify *v, size_t i)
{
        return i < v->n_filters ? v->filters[i] : NULL;
}

const char *verify_instruction(const struct verify *v)
{
        switch (v->device->kind) {
        case DEVICE_DOORBELL:
                return "press the doorbell";
        case DEVICE_CAMERA:
                return "walk past the camera";
        default:
                return "with the door closed, open it, then close it";
        }
}

static bool is_route(const struct verify *v, const char *topic)
{
        for (size_t i = 0; i < v->n_routes; i++)
                if (strcmp(v->routes[i], topic) == 0)
                        return true;
        return false;
}

/* The name a similar topic stands for, or NULL when the topic is not a sibling. */
static char *similar_name(const struct verify *v, const char *topic)
{
        char buf[256];

        if (v->z2m_base) {
                size_t bl = strlen(v->z2m_base);
                char *name;

                if (strncmp(topic, v->z2m_base, bl) != 0 || topic[bl] != '/' ||
                    str_startswith(topic + bl + 1, "bridge/") || has_suffix(topic, "/set") ||
                    has_suffix(topic, "/get"))
                        return NULL;
                name = xstrdup(topic + bl + 1);
                if (has_suffix(name, "/availability"))
                        name[strlen(name) - strlen("/availability")] = 0;
                if (v->z2m_name && strcmp(name, v->z2m_name) == 0) {
                        free(name);
                        return NULL;
                }
                return name;
        }
        for (size_t i = 0; i < v->n_routes; i++) {
                long k = topic_one_level_off(v->routes[i], topic);
                if (k >= 0)
                        return xstrdup(topic_level(topic, (size_t)k, buf, sizeof(buf)));
        }
        return xstrdup(topic);
}

static void note_similar(struct verify *v, const char *topic, bool retained, char *line,
                         size_t size)
{
        _cleanup_free_ char *name = similar_name(v, topic);
        struct similar *s = NULL;

        if (!name)
                return;
        for (size_t i = 0; i < v->n_sim && !s; i++)
                if (strcmp(v->sim[i].topic, topic) == 0)
                        s = &v->sim[i];
        if (!s) {
                if (v->n_sim >= VERIFY_MAX_SIMILAR)
                        return;
                GROW(v->sim, v->n_sim, v->cap_sim);
                s = &v->sim[v->n_sim++];
                *s = (struct similar){ .topic = xstrdup(topic), .name = xstrdup(name) };
        }
        if (retained)
                s->retained++;
        else
                s->live++;
        snprintf(line, size, "not this device's topic: %s (\"%s\")%s", topic, name,
                 retained ? " (retained)" : "");
}

static void describe_event(const struct event *e, char *buf, size_t size)
{
        switch (e->type) {
        case EVENT_DOOR:
                snprintf(buf, size, "door %s", door_state_to_string(e->door));
                break;
        case EVENT_PERSON:
                snprintf(buf, size, "person%s",
                         e->direction == DIRECTION_OUT  ? " (out)"
                         : e->direction == DIRECTION_IN ? " (in)"
                                                        : "");
                break;
        case EVENT_TAMPER:
                snprintf(buf, size, "%s", e->tampered ? "tamper" : "tamper cleared");
                break;
        case EVENT_BATTERY:
                if (e->battery_percent >= 0)
                        snprintf(buf, size, "battery %d%%%s", e->battery_percent,
                                 e->battery_low ? " (low)" : "");
                else if (e->battery_mv > 0)
                        snprintf(buf, size, "battery %d mV%s", e->battery_mv,
                                 e->battery_low ? " (low)" : "");
                else
                        snprintf(buf, size, "battery%s", e->battery_low ? " low" : "");
                break;
        case EVENT_AVAILABILITY:
                snprintf(buf, size, "%s%s", e->bridge ? "bridge " : "",
                         e->online ? "online" : "offline");
                break;
        default:
                snprintf(buf, size, "%s", event_type_to_string(e->type));
                break;
        }
}

static void append(char *line, size_t size, const char *s)
{
        size_t n = strlen(line);

        if (n + 1 < size)
                snprintf(line + n, size - n, "%s%s", n ? ", " : "", s);
}

static bool seq_has(const struct verify *v, enum door_state first, enum door_state then)
{
        for (size_t i = 0; i < v->n_seq; i++)
                if (v->seq[i] == first)
                        for (size_t k = i + 1; k < v->n_seq; k++)
                                if (v->seq[k] == then)
                                        return true;
        return false;
}

/* The door at rest: the retained state, else implied by the first live change. */
static enum door_state rest_state(const struct verify *v)
{
        if (v->rest != DOOR_UNKNOWN)
                return v->rest;
        if (v->n_seq > 0 && v->seq[0] == DOOR_OPEN)
                return DOOR_CLOSED;
        return DOOR_UNKNOWN;
}

static enum door_state last_door(const struct verify *v)
{
        return v->n_seq ? v->seq[v->n_seq - 1] : DOOR_UNKNOWN;
}

/* Opened and closed, starting and ending closed. */
static bool door_passes(const struct verify *v)
{
        return rest_state(v) != DOOR_OPEN && seq_has(v, DOOR_OPEN, DOOR_CLOSED) &&
               last_door(v) == DOOR_CLOSED;
}

/* Reported open at rest, or the opening came as a closing and it ended "open". */
static bool door_inverted(const struct verify *v)
{
        return rest_state(v) == DOOR_OPEN ||
               (v->n_seq >= 2 && last_door(v) == DOOR_OPEN && seq_has(v, DOOR_CLOSED, DOOR_OPEN));
}

static enum verify_result settle(struct verify *v, int64_t now_usec)
{
        if (v->result != VERIFY_PENDING)
                return v->result;
        switch (v->device->kind) {
        case DEVICE_DOORBELL:
                if (v->ring)
                        v->result = VERIFY_PASS;
                break;
        case DEVICE_CAMERA:
                if (v->person)
                        v->result = VERIFY_PASS;
                break;
        default:
                if (v->rest == DOOR_OPEN && seq_has(v, DOOR_CLOSED, DOOR_OPEN)) {
                        /* open at rest, the opening reported as a closing, the closing as an
                         * opening: no need to wait */
                        v->result = VERIFY_FAIL;
                        v->problem = VERIFY_POLARITY;
                } else if (door_passes(v) && now_usec - v->last_door_usec >= VERIFY_QUIET_USEC)
                        v->result = VERIFY_PASS;
                break;
        }
        return v->result;
}

enum verify_result verify_poll(struct verify *v, int64_t now_usec)
{
        return settle(v, now_usec);
}

enum verify_result verify_feed(struct verify *v, const char *topic, const void *payload, size_t len,
                               bool retained, int64_t now_usec, char *line, size_t line_size)
{
        const struct device *d = v->device;
        struct adapter_decode_result res;
        struct adapter_msg m = {
                .topic = topic,
                .payload = payload ? payload : "",
                .len = len,
                .retained = retained,
                .recv_usec = now_usec,
                .topic_prefix = v->config->mqtt.topic_prefix,
                .debounce_usec = v->config->policy.debounce_usec,
        };
        uint64_t h = hash_str(topic) ^ (len * 0x9e3779b97f4a7c15ull) ^ (uint64_t)retained;
        int r;

        line[0] = 0;
        for (size_t i = 0; i < len && i < 4096; i++)
                h = (h ^ ((const unsigned char *)m.payload)[i]) * 0x100000001b3ull;
        if (str_eq(v->last_topic, topic) && h == v->last_hash &&
            now_usec - v->last_usec < USEC_PER_SEC)
                return settle(v, now_usec); /* the same message through a second subscription */
        free(v->last_topic);
        v->last_topic = xstrdup(topic);
        v->last_hash = h;
        v->last_usec = now_usec;

        if (!is_route(v, topic)) {
                note_similar(v, topic, retained, line, line_size);
                return settle(v, now_usec);
        }
        if (len > ADAPTER_MAX_PAYLOAD) {
                snprintf(line, line_size, "%zu bytes: larger than the daemon accepts (%d)", len,
                         ADAPTER_MAX_PAYLOAD);
                v->n_invalid++;
                return settle(v, now_usec);
        }
        r = d->adapter->decode(d, &m, &v->st, &res);
        if (r == ADAPTER_E_NOT_MINE) {
                _cleanup_free_ char *who = other_device_name(m.payload, len);
                if (who) {
                        strv_add(&v->others, &v->n_others, &v->cap_others, who);
                        snprintf(line, line_size, "for another device: %s", who);
                }
                return settle(v, now_usec);
        }
        if (retained)
                v->n_retained++;
        else
                v->n_live++;
        if (r == ADAPTER_E_INVALID) {
                v->n_invalid++;
                snprintf(v->last_error, sizeof(v->last_error), "%s",
                         res.error ? res.error : "invalid");
                snprintf(line, line_size, "malformed for the %s adapter: %s", device_source(d),
                         v->last_error);
                return settle(v, now_usec);
        }
        if (r != ADAPTER_OK || res.n_events == 0) {
                snprintf(line, line_size, "nothing new%s", retained ? " (retained)" : "");
                return settle(v, now_usec);
        }
        for (size_t i = 0; i < res.n_events; i++) {
                const struct event *e = &res.events[i];
                char what[64];

                describe_event(e, what, sizeof(what));
                append(line, line_size, what);
                if (e->type == EVENT_DOOR && e->door != DOOR_UNKNOWN) {
                        if (e->retained)
                                v->rest = e->door;
                        else if (v->n_seq < VERIFY_MAX_SEQ) {
                                v->seq[v->n_seq++] = e->door;
                                v->last_door_usec = now_usec;
                        }
                } else if (e->type == EVENT_RING && !e->retained)
                        v->ring = true;
                else if (e->type == EVENT_PERSON && !e->retained)
                        v->person = true;
                else if (e->type == EVENT_AVAILABILITY && !e->online)
                        v->n_offline++;
        }
        if (retained && strlen(line) + 12 < line_size)
                strcat(line, " (retained)");
        return settle(v, now_usec);
}

/* "a", "b" and 3 more: the names of similar topics, most live messages first. */
static void list_similar(const struct verify *v, FILE *f)
{
        bool *done = calloc(v->n_sim ? v->n_sim : 1, sizeof(bool));
        size_t listed = 0;

        if (!done)
                abort();
        for (; listed < v->n_sim && listed < VERIFY_MAX_LISTED; listed++) {
                size_t best = SIZE_MAX;
                for (size_t i = 0; i < v->n_sim; i++)
                        if (!done[i] && (best == SIZE_MAX || v->sim[i].live > v->sim[best].live))
                                best = i;
                done[best] = true;
                fprintf(f, "%s\"%s\" (%s: %u live, %u retained)", listed ? "; " : "",
                        v->sim[best].name, v->sim[best].topic, v->sim[best].live,
                        v->sim[best].retained);
        }
        if (v->n_sim > listed)
                fprintf(f, "; and %zu more", v->n_sim - listed);
        free(done);
}

static const char *name_key(const struct device *d)
{
        static const struct {
                const char *source, *key;
        } keys[] = {
                { "zigbee2mqtt", "\"friendly_name\"" },
                { "shelly", "\"shelly_id\" (or \"prefix\")" },
                { "frigate", "\"camera\"" },
                { "ring", "\"location_id\"/\"ring_device_id\"" },
                { "tasmota", "\"tasmota_topic\"" },
                { "esphome", "\"esphome_prefix\"/\"object_id\"" },
                { "native", "the device id" },
        };

        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (str_eq(device_source(d), keys[i].source))
                        return keys[i].key;
        return "the addressing keys";
}

static void explain_door(struct verify *v, FILE *f)
{
        const bool inverted = door_inverted(v);
        const char *fix = v->device->invert ? "remove \"invert\": true (or set it false)"
                                            : "set \"invert\": true";

        if (v->problem == VERIFY_POLARITY || inverted) {
                v->problem = VERIFY_POLARITY;
                fprintf(f,
                        "wrong polarity: the door reported \"open\" at rest%s. The sensor reports "
                        "the opposite of the door (magnet/reed wiring or the ecosystem's "
                        "convention): %s in the device entry and run verify again (if the door "
                        "really was open when verify started, close it and run again).",
                        seq_has(v, DOOR_CLOSED, DOOR_OPEN)
                            ? " and the opening came as \"closed\", the closing as \"open\""
                            : "",
                        fix);
                return;
        }
        v->problem = VERIFY_INCOMPLETE;
        if (seq_has(v, DOOR_OPEN, DOOR_OPEN) ||
            (v->n_seq > 0 && !seq_has(v, DOOR_CLOSED, DOOR_CLOSED) &&
             v->seq[v->n_seq - 1] == DOOR_OPEN))
                fprintf(f, "saw the door open but never closed: close the door (if this sensor "
                           "only ever sends \"open\", as many 433 MHz sensors do, map its close "
                           "code too, or accept a sensor that cannot report closing).");
        else
                fprintf(f,
                        "the device is alive (%u live message%s) but showed no opening and "
                        "closing: %s during the test.",
                        v->n_live, v->n_live == 1 ? "" : "s", verify_instruction(v));
}

enum verify_result verify_outcome(struct verify *v, enum verify_problem *ret_problem,
                                  const char **ret_explanation)
{
        const struct device *d = v->device;
        size_t n_live_similar = 0;
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        if (v->result == VERIFY_PENDING && v->device->kind == DEVICE_DOOR_CONTACT && door_passes(v))
                v->result = VERIFY_PASS; /* the time is up: no quiet period needed */
        for (size_t i = 0; i < v->n_sim; i++)
                n_live_similar += v->sim[i].live > 0;
        f = open_memstream(&buf, &size);
        if (!f)
                abort();
        if (v->result == VERIFY_PASS) {
                v->problem = VERIFY_OK;
                if (d->kind == DEVICE_DOORBELL)
                        fprintf(f, "%s rang.", d->id);
                else if (d->kind == DEVICE_CAMERA)
                        fprintf(f, "%s saw a person.", d->id);
                else
                        fprintf(f, "%s showed an opening and a closing (at rest: %s).", d->id,
                                door_state_to_string(
                                    rest_state(v) == DOOR_UNKNOWN ? DOOR_CLOSED : rest_state(v)));
        } else if (v->problem == VERIFY_POLARITY) {
                explain_door(v, f);
        } else if (v->n_live == 0 && (n_live_similar > 0 || v->n_others > 0 ||
                                      (v->n_retained == 0 && v->n_sim > 0))) {
                v->problem = VERIFY_WRONG_NAME;
                fprintf(f, "wrong name? nothing live on the device's topics");
                if (v->n_sim > 0) {
                        fprintf(f, ", but messages on similar topics: ");
                        list_similar(v, f);
                }
                if (v->n_others > 0) {
                        fprintf(f, "%s messages on its shared topics for other devices: ",
                                v->n_sim > 0 ? "; and" : ", but");
                        for (size_t i = 0; i < v->n_others && i < VERIFY_MAX_LISTED; i++)
                                fprintf(f, "%s%s", i ? ", " : "", v->others[i]);
                        if (v->n_others > VERIFY_MAX_LISTED)
                                fprintf(f, " and %zu more", v->n_others - VERIFY_MAX_LISTED);
                }
                fprintf(f,
                        ". Check %s in the device entry of %s against what the device "
                        "publishes.",
                        name_key(d), d->id);
        } else if (v->n_live == 0 && v->n_retained > 0) {
                v->problem = VERIFY_RETAINED_ONLY;
                fprintf(f,
                        "only retained messages: the broker replayed %u stored message%s of "
                        "the device, but the device itself published nothing while verify ran. "
                        "Check that it is powered, paired and in range (a sleeping sensor "
                        "wakes up when the door moves), then %s.",
                        v->n_retained, v->n_retained == 1 ? "" : "s", verify_instruction(v));
        } else if (v->n_live == 0) {
                v->problem = VERIFY_NOTHING;
                fprintf(f,
                        "nothing received on the device's %zu topic%s (%s%s) or similar ones: "
                        "is the device (and its bridge: %s) running and connected to this "
                        "broker?",
                        v->n_routes, v->n_routes == 1 ? "" : "s", v->n_routes ? v->routes[0] : "",
                        v->n_routes > 1 ? ", ..." : "", device_source(d));
        } else if (v->n_invalid == v->n_live) {
                v->problem = VERIFY_INVALID;
                fprintf(f, "the device's messages are not what the %s adapter expects: %s.",
                        device_source(d), v->last_error);
        } else if (d->kind == DEVICE_DOORBELL) {
                v->problem = VERIFY_INCOMPLETE;
                fprintf(f,
                        "the device is alive (%u live message%s) but did not ring: press the "
                        "bell during the test (a bell wired as a door contact needs kind "
                        "door_contact).",
                        v->n_live, v->n_live == 1 ? "" : "s");
        } else if (d->kind == DEVICE_CAMERA) {
                v->problem = VERIFY_INCOMPLETE;
                fprintf(f,
                        "the camera is alive (%u live message%s) but detected no person: walk "
                        "past it (Frigate must track \"person\" on camera \"%s\").",
                        v->n_live, v->n_live == 1 ? "" : "s", d->id);
        } else
                explain_door(v, f);
        if (v->result != VERIFY_PASS && v->n_offline > 0)
                fprintf(f, " The device or its bridge reported offline %u time%s.", v->n_offline,
                        v->n_offline == 1 ? "" : "s");
        fclose(f);
        free(v->explanation);
        v->explanation = buf;
        if (v->result != VERIFY_PASS)
                v->result = VERIFY_FAIL;
        *ret_problem = v->problem;
        *ret_explanation = v->explanation;
        return v->result;
}

/* ---- discover ---- */

struct route_devices {
        const struct device **v;
        size_t n, cap;
};

struct found {
        struct discovered pub;
        char *source, *name, *model, *note, *entry;
};

struct discover {
        const struct config *config;
        struct hashmap *routes; /* topic -> struct route_devices */
        char **route_keys;
        size_t n_route_keys, cap_route_keys;
        char **filters;
        size_t n_filters, cap_filters;
        char **z2m_bases, **frigate_prefixes;
        size_t n_z2m_bases, cap_z2m_bases, n_frigate_prefixes, cap_frigate_prefixes;
        char **seen; /* "source\nname" */
        size_t n_seen, cap_seen;
        char **ids; /* ids handed out */
        size_t n_ids, cap_ids;
        struct found *found;
        size_t n_found, cap_found;
        size_t n_registered, n_skipped;
};

static void discover_add_route(const char *filter, const char *route, void *userdata)
{
        void **ctx = userdata;
        struct discover *ds = ctx[0];
        const struct device *d = ctx[1];
        struct route_devices *rd = hashmap_get(ds->routes, route);
        size_t bl;

        if (!rd) {
                rd = calloc(1, sizeof(*rd));
                if (!rd)
                        abort();
                GROW(ds->route_keys, ds->n_route_keys, ds->cap_route_keys);
                ds->route_keys[ds->n_route_keys] = xstrdup(route);
                hashmap_put(ds->routes, ds->route_keys[ds->n_route_keys++], rd);
        }
        GROW(rd->v, rd->n, rd->cap);
        rd->v[rd->n++] = d;
        bl = strlen(route);
        if (str_eq(device_source(d), "zigbee2mqtt") && has_suffix(route, "/bridge/state")) {
                char *base = strndup(route, bl - strlen("/bridge/state"));
                strv_add(&ds->z2m_bases, &ds->n_z2m_bases, &ds->cap_z2m_bases, base);
                free(base);
        } else if (str_eq(device_source(d), "frigate") && has_suffix(route, "/events")) {
                char *prefix = strndup(route, bl - strlen("/events"));
                strv_add(&ds->frigate_prefixes, &ds->n_frigate_prefixes, &ds->cap_frigate_prefixes,
                         prefix);
                free(prefix);
        }
        (void)filter;
}

static void add_filter(struct discover *ds, const char *fmt, const char *arg)
{
        char *f = NULL;

        if (asprintf(&f, fmt, arg) < 0)
                abort();
        strv_add(&ds->filters, &ds->n_filters, &ds->cap_filters, f);
        free(f);
}

int discover_new(const struct config *c, struct discover **ret)
{
        struct discover *ds = xcalloc(1, sizeof(*ds));

        ds->config = c;
        ds->routes = hashmap_new(c->n_devices * 4 + 16);
        for (size_t i = 0; i < c->n_devices; i++) {
                const struct device *d = &c->devices[i];
                void *ctx[2] = { ds, (void *)d };
                d->adapter->topics(d, c->mqtt.topic_prefix, discover_add_route, ctx);
        }
        strv_add(&ds->z2m_bases, &ds->n_z2m_bases, &ds->cap_z2m_bases, "zigbee2mqtt");
        strv_add(&ds->frigate_prefixes, &ds->n_frigate_prefixes, &ds->cap_frigate_prefixes,
                 "frigate");
        for (size_t i = 0; i < ds->n_z2m_bases; i++)
                add_filter(ds, "%s/bridge/devices", ds->z2m_bases[i]);
        add_filter(ds, "%s", "shellies/announce");
        add_filter(ds, "%s", "shellies/+/online");
        add_filter(ds, "%s", "+/online");
        for (size_t i = 0; i < ds->n_frigate_prefixes; i++) {
                add_filter(ds, "%s/events", ds->frigate_prefixes[i]);
                add_filter(ds, "%s/stats", ds->frigate_prefixes[i]);
                add_filter(ds, "%s/+/person", ds->frigate_prefixes[i]);
        }
        add_filter(ds, "%s", "tele/+/LWT");
        for (size_t i = 0; i < c->n_devices; i++)
                strv_add(&ds->ids, &ds->n_ids, &ds->cap_ids, c->devices[i].id);
        *ret = ds;
        return 0;
}

struct discover *discover_free(struct discover *ds)
{
        if (!ds)
                return NULL;
        for (size_t i = 0; i < ds->n_route_keys; i++) {
                struct route_devices *rd = hashmap_get(ds->routes, ds->route_keys[i]);
                if (rd) {
                        free(rd->v);
                        free(rd);
                }
        }
        hashmap_free(ds->routes);
        strv_done(ds->route_keys, ds->n_route_keys);
        strv_done(ds->filters, ds->n_filters);
        strv_done(ds->z2m_bases, ds->n_z2m_bases);
        strv_done(ds->frigate_prefixes, ds->n_frigate_prefixes);
        strv_done(ds->seen, ds->n_seen);
        strv_done(ds->ids, ds->n_ids);
        for (size_t i = 0; i < ds->n_found; i++) {
                struct found *f = &ds->found[i];
                free(f->source);
                free(f->name);
                free(f->model);
                free(f->note);
                free(f->entry);
        }
        free(ds->found);
        free(ds);
        return NULL;
}

size_t discover_n_filters(const struct discover *ds)
{
        return ds->n_filters;
}

const char *discover_filter(const struct discover *ds, size_t i)
{
        return i < ds->n_filters ? ds->filters[i] : NULL;
}

size_t discover_n_found(const struct discover *ds)
{
        return ds->n_found;
}

const struct discovered *discover_found(const struct discover *ds, size_t i)
{
        return i < ds->n_found ? &ds->found[i].pub : NULL;
}

size_t discover_n_registered(const struct discover *ds)
{
        return ds->n_registered;
}

size_t discover_n_skipped(const struct discover *ds)
{
        return ds->n_skipped;
}

/* Whether a registered device accepts this message of the seen device. */
static bool claimed(struct discover *ds, const char *topic, const char *payload, int64_t now_usec)
{
        const struct route_devices *rd = hashmap_get(ds->routes, topic);

        for (size_t i = 0; rd && i < rd->n; i++) {
                const struct device *d = rd->v[i];
                struct device_state st = { .battery_percent = -1 };
                struct adapter_decode_result res;
                struct adapter_msg m = {
                        .topic = topic,
                        .payload = payload,
                        .len = strlen(payload),
                        .recv_usec = now_usec,
                        .topic_prefix = ds->config->mqtt.topic_prefix,
                };

                int r = d->adapter->decode(d, &m, &st, &res);

                device_state_done(&st);
                if (r != ADAPTER_E_NOT_MINE)
                        return true;
        }
        return false;
}

/* A device id for households.json: "d-" and the name, with what ids may not contain
 * replaced, unique among the registry's and the ones handed out. */
static char *make_id(struct discover *ds, const char *name)
{
        char base[96], *id = NULL;
        size_t n = 0;

        n += (size_t)snprintf(base, sizeof(base), "d-");
        for (const char *p = name; *p && n + 1 < sizeof(base); p++) {
                unsigned char ch = (unsigned char)*p;
                char o =
                    (char)(isalnum(ch) || ch == '.' || ch == '_' || ch >= 0x80 ? tolower(ch) : '-');
                if (o == '-' && base[n - 1] == '-')
                        continue;
                base[n++] = o;
        }
        while (n > 2 && base[n - 1] == '-')
                n--;
        base[n] = 0;
        for (int k = 1;; k++) {
                bool taken = false;

                free(id);
                if ((k == 1 ? asprintf(&id, "%s", base) : asprintf(&id, "%s-%d", base, k)) < 0)
                        abort();
                for (size_t i = 0; i < ds->n_ids && !taken; i++)
                        taken = strcmp(ds->ids[i], id) == 0;
                if (!taken)
                        break;
        }
        strv_add(&ds->ids, &ds->n_ids, &ds->cap_ids, id);
        return id;
}

/* A device seen: skipped if seen before, counted if registered, else listed. `entry` gets
 * "id", "kind" and "source" in front. */
static void candidate(struct discover *ds, const char *source, const char *name, const char *kind,
                      const char *model, const char *note, cJSON *keys, const char *claim_topic,
                      const char *claim_payload, int64_t now_usec)
{
        _cleanup_json_ cJSON *entry = cJSON_CreateObject();
        _cleanup_free_ char *key = NULL, *id = NULL;
        struct found *f;

        if (asprintf(&key, "%s\n%s", source, name) < 0)
                abort();
        for (size_t i = 0; i < ds->n_seen; i++)
                if (strcmp(ds->seen[i], key) == 0) {
                        cJSON_Delete(keys);
                        return;
                }
        strv_add(&ds->seen, &ds->n_seen, &ds->cap_seen, key);
        if (claimed(ds, claim_topic, claim_payload, now_usec)) {
                ds->n_registered++;
                cJSON_Delete(keys);
                return;
        }
        id = make_id(ds, name);
        cJSON_AddStringToObject(entry, "id", id);
        cJSON_AddStringToObject(entry, "kind", kind);
        cJSON_AddStringToObject(entry, "source", source);
        while (keys && keys->child) {
                cJSON *k = cJSON_DetachItemViaPointer(keys, keys->child);
                cJSON_AddItemToObject(entry, k->string, k);
        }
        cJSON_Delete(keys);
        GROW(ds->found, ds->n_found, ds->cap_found);
        f = &ds->found[ds->n_found++];
        *f = (struct found){
                .source = xstrdup(source),
                .name = xstrdup(name),
                .model = xstrdup(model ? model : ""),
                .note = xstrdup(note ? note : ""),
                .entry = cJSON_PrintUnformatted(entry),
        };
        if (!f->entry)
                abort();
        f->pub = (struct discovered){ f->source, f->name, f->model, f->note, f->entry };
}

static void skipped(struct discover *ds, const char *source, const char *name)
{
        _cleanup_free_ char *key = NULL;
        size_t before = ds->n_seen;

        if (asprintf(&key, "%s\n%s", source, name) < 0)
                abort();
        strv_add(&ds->seen, &ds->n_seen, &ds->cap_seen, key);
        ds->n_skipped += ds->n_seen > before;
}

/* Whether a zigbee2mqtt "exposes" tree has a feature with this property. */
static bool exposes_property(const cJSON *j, const char *property, int depth)
{
        const cJSON *it;

        if (depth > 8 || !j)
                return false;
        if (cJSON_IsObject(j) &&
            str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "property")), property))
                return true;
        cJSON_ArrayForEach(it, j)
        {
                if (exposes_property(it, property, depth + 1))
                        return true;
        }
        return false;
}

static void discover_z2m(struct discover *ds, const char *base, const cJSON *devices,
                         int64_t now_usec)
{
        const cJSON *it;

        cJSON_ArrayForEach(it, devices)
        {
                const char *name =
                    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "friendly_name"));
                const char *type =
                    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "type"));
                const cJSON *def = cJSON_GetObjectItemCaseSensitive(it, "definition");
                const cJSON *exposes = cJSON_GetObjectItemCaseSensitive(def, "exposes");
                const char *vendor =
                    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(def, "vendor"));
                const char *model =
                    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(def, "model"));
                const char *descr =
                    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(def, "description"));
                const char *kind = NULL;
                char label[256], *topic = NULL;
                cJSON *keys;

                if (!name || !*name || str_eq(type, "Coordinator"))
                        continue;
                if (exposes_property(exposes, "contact", 0))
                        kind = "door_contact";
                else if (exposes_property(exposes, "action", 0))
                        kind = "doorbell";
                if (!kind) {
                        skipped(ds, "zigbee2mqtt", name);
                        continue;
                }
                snprintf(label, sizeof(label), "%s%s%s%s%s", vendor ? vendor : "",
                         vendor && model ? " " : "", model ? model : "", descr ? ": " : "",
                         descr ? descr : "");
                keys = cJSON_CreateObject();
                cJSON_AddStringToObject(keys, "friendly_name", name);
                if (strcmp(base, "zigbee2mqtt") != 0)
                        cJSON_AddStringToObject(keys, "base_topic", base);
                if (asprintf(&topic, "%s/%s", base, name) < 0)
                        abort();
                candidate(ds, "zigbee2mqtt", name, kind, label,
                          strcmp(kind, "doorbell") == 0
                              ? "a button: check its ring_actions (default bell1, bell2, single, "
                                "1_single, ring, press)"
                              : "",
                          keys, topic, "{}", now_usec);
                free(topic);
        }
}

static void discover_shelly(struct discover *ds, const char *id, const char *model, int gen,
                            int64_t now_usec)
{
        char topic[300];
        cJSON *keys;

        if (gen == 1 && !str_startswith(id, "shellydw")) {
                skipped(ds, "shelly", id);
                return;
        }
        keys = cJSON_CreateObject();
        cJSON_AddStringToObject(keys, "shelly_id", id);
        if (gen == 2) {
                cJSON_AddNumberToObject(keys, "shelly_gen", 2);
                cJSON_AddNumberToObject(keys, "input", 0);
        }
        snprintf(topic, sizeof(topic), gen == 1 ? "shellies/%s/online" : "%s/online", id);
        candidate(ds, "shelly", id, "door_contact", model,
                  gen == 2 ? "input 0 assumed: set the input the reed switch is wired to, or "
                             "blu_address / bthome_sensor for a BLU Door/Window"
                           : "",
                  keys, topic, "true", now_usec);
}

static void discover_camera(struct discover *ds, const char *prefix, const char *camera,
                            int64_t now_usec)
{
        _cleanup_json_ cJSON *ev = cJSON_CreateObject();
        _cleanup_free_ char *payload = NULL;
        cJSON *after = cJSON_AddObjectToObject(ev, "after"), *keys = cJSON_CreateObject();
        char topic[300];

        cJSON_AddStringToObject(ev, "type", "new");
        cJSON_AddStringToObject(after, "id", "0.0-discover");
        cJSON_AddStringToObject(after, "camera", camera);
        cJSON_AddStringToObject(after, "label", "person");
        cJSON_AddFalseToObject(after, "false_positive");
        payload = cJSON_PrintUnformatted(ev);
        cJSON_AddStringToObject(keys, "camera", camera);
        if (strcmp(prefix, "frigate") != 0)
                cJSON_AddStringToObject(keys, "frigate_topic", prefix);
        snprintf(topic, sizeof(topic), "%s/events", prefix);
        candidate(ds, "frigate", camera, "camera", "Frigate camera",
                  "add zones_out / zones_in to tell leaving from coming in", keys, topic,
                  payload ? payload : "{}", now_usec);
}

static void discover_frigate(struct discover *ds, const char *prefix, const char *what,
                             const cJSON *j, int64_t now_usec)
{
        const cJSON *it, *cams;

        if (strcmp(what, "events") == 0) {
                for (const char *const *k = (const char *const[]){ "after", "before", NULL }; *k;
                     k++) {
                        const char *cam = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                            cJSON_GetObjectItemCaseSensitive(j, *k), "camera"));
                        if (cam && *cam) {
                                discover_camera(ds, prefix, cam, now_usec);
                                return;
                        }
                }
                return;
        }
        /* stats: {"cameras": {...}} (0.14+) or the cameras at the top (older) */
        cams = cJSON_GetObjectItemCaseSensitive(j, "cameras");
        if (!cJSON_IsObject(cams))
                cams = j;
        cJSON_ArrayForEach(it, cams)
        {
                if (it->string && cJSON_IsObject(it) &&
                    cJSON_GetObjectItemCaseSensitive(it, "camera_fps"))
                        discover_camera(ds, prefix, it->string, now_usec);
        }
}

void discover_feed(struct discover *ds, const char *topic, const void *payload, size_t len,
                   bool retained, int64_t now_usec)
{
        _cleanup_json_ cJSON *j = NULL;
        char l0[256], l1[256], l2[256];
        size_t levels = topic_levels(topic);

        if (len > DEVTOOLS_MAX_JSON)
                return;
        topic_level(topic, 0, l0, sizeof(l0));
        topic_level(topic, 1, l1, sizeof(l1));
        topic_level(topic, 2, l2, sizeof(l2));
        for (size_t i = 0; i < ds->n_z2m_bases; i++) {
                size_t bl = strlen(ds->z2m_bases[i]);
                if (strncmp(topic, ds->z2m_bases[i], bl) == 0 &&
                    strcmp(topic + bl, "/bridge/devices") == 0) {
                        j = cJSON_ParseWithLength(payload, len);
                        if (cJSON_IsArray(j))
                                discover_z2m(ds, ds->z2m_bases[i], j, now_usec);
                        return;
                }
        }
        for (size_t i = 0; i < ds->n_frigate_prefixes; i++) {
                const char *p = ds->frigate_prefixes[i];
                size_t pl = strlen(p);
                if (strncmp(topic, p, pl) != 0 || topic[pl] != '/')
                        continue;
                if (strcmp(topic + pl + 1, "events") == 0 || strcmp(topic + pl + 1, "stats") == 0) {
                        j = cJSON_ParseWithLength(payload, len);
                        if (cJSON_IsObject(j))
                                discover_frigate(ds, p, topic + pl + 1, j, now_usec);
                        return;
                }
                if (has_suffix(topic, "/person") && topic_levels(topic + pl + 1) == 2) {
                        char cam[256];
                        discover_camera(ds, p, topic_level(topic + pl + 1, 0, cam, sizeof(cam)),
                                        now_usec);
                        return;
                }
        }
        if (strcmp(topic, "shellies/announce") == 0) {
                j = cJSON_ParseWithLength(payload, len);
                const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "id"));
                const char *model =
                    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "model"));
                if (id && *id && !strchr(id, '/'))
                        discover_shelly(ds, id, model ? model : "", 1, now_usec);
                return;
        }
        if (levels == 3 && strcmp(l0, "shellies") == 0 && strcmp(l2, "online") == 0) {
                if (str_startswith(l1, "shellydw"))
                        discover_shelly(ds, l1, "Shelly Door/Window", 1, now_usec);
                return;
        }
        if (levels == 2 && strcmp(l1, "online") == 0) {
                if (str_startswith(l0, "shelly") && len == 4 &&
                    strncasecmp(payload, "true", 4) == 0)
                        discover_shelly(ds, l0, "Shelly Gen2", 2, now_usec);
                return;
        }
        if (levels == 3 && strcmp(l0, "tele") == 0 && strcmp(l2, "LWT") == 0 && *l1) {
                cJSON *keys = cJSON_CreateObject();
                cJSON_AddStringToObject(keys, "tasmota_topic", l1);
                candidate(ds, "tasmota", l1, "door_contact", "Tasmota",
                          "tasmota_mode \"switch\" assumed: an RF bridge needs \"rf\" and "
                          "\"codes\", a Zigbee bridge \"zigbee\" and \"zigbee_device\"",
                          keys, topic, "Online", now_usec);
        }
        (void)retained;
}

/* ---- broker drivers ---- */

struct session {
        struct mosquitto *m;
        int pending_subacks;
        void (*on_message)(struct session *s, const struct mosquitto_message *msg);
        void (*on_poll)(struct session *s); /* after each loop iteration */
        void *userdata;
};

static void session_on_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *qos)
{
        struct session *s = ud;

        s->pending_subacks--;
}

static void session_on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
        struct session *s = ud;

        s->on_message(s, msg);
}

/* Connects with the configuration's broker settings and subscribes to filters; waits
 * (bounded) for the CONNACK and every SUBACK. Returns 0 or -1 (reported on stderr). */
static int session_open(struct session *s, const struct config *c, char *const *filters,
                        size_t n_filters)
{
        char why[256];

        if (mqtt_session_connect(&c->mqtt, c->dir, NULL, s, 10 * USEC_PER_SEC, &s->m, why,
                                 sizeof(why)) != 0) {
                fprintf(stderr, "doorwatchctl: %s\n", why);
                return -1;
        }
        mosquitto_subscribe_callback_set(s->m, session_on_subscribe);
        mosquitto_message_callback_set(s->m, session_on_message);
        for (size_t i = 0; i < n_filters; i++)
                if (mosquitto_subscribe(s->m, NULL, filters[i], 1) == MOSQ_ERR_SUCCESS)
                        s->pending_subacks++;
        for (int i = 0; i < 100 && s->pending_subacks > 0; i++)
                if (mosquitto_loop(s->m, 100, 1) != MOSQ_ERR_SUCCESS)
                        break;
        return 0;
}

static void session_close(struct session *s)
{
        s->m = mqtt_session_close(s->m);
}

/* Runs the loop until deadline (monotonic) or *stop. */
static void session_run(struct session *s, int64_t deadline_usec, const bool *stop)
{
        while (!*stop && now_monotonic_usec() < deadline_usec) {
                int rc = mosquitto_loop(s->m, 100, 1);
                if (s->on_poll)
                        s->on_poll(s);
                if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST) {
                        fprintf(stderr, "doorwatchctl: lost the broker, reconnecting\n");
                        if (mosquitto_reconnect(s->m) != MOSQ_ERR_SUCCESS)
                                mosquitto_loop(s->m, 500, 1);
                }
        }
}

struct verify_run {
        struct verify *v;
        FILE *out;
        bool json, settled;
        int64_t start_usec;
        cJSON *seen;
};

static void verify_on_message(struct session *s, const struct mosquitto_message *msg)
{
        struct verify_run *vr = s->userdata;
        char line[512];
        int64_t now = now_realtime_usec();
        enum verify_result r;

        r = verify_feed(vr->v, msg->topic, msg->payload, (size_t)msg->payloadlen, msg->retain, now,
                        line, sizeof(line));
        if (line[0]) {
                double t = (double)(now_monotonic_usec() - vr->start_usec) / 1e6;
                if (vr->json) {
                        cJSON *o = cJSON_CreateObject();
                        cJSON_AddNumberToObject(o, "t", t);
                        cJSON_AddStringToObject(o, "topic", msg->topic);
                        cJSON_AddBoolToObject(o, "retained", msg->retain);
                        cJSON_AddStringToObject(o, "saw", line);
                        cJSON_AddItemToArray(vr->seen, o);
                } else
                        fprintf(vr->out, "%+7.1fs  %s  %s\n", t, msg->topic, line);
        }
        vr->settled = r != VERIFY_PENDING;
}

static void verify_on_poll(struct session *s)
{
        struct verify_run *vr = s->userdata;

        vr->settled = verify_poll(vr->v, now_realtime_usec()) != VERIFY_PENDING;
}

int devtools_verify(const struct config *c, const struct device *d, int64_t timeout_usec, bool json,
                    FILE *out)
{
        struct verify_run vr = { .out = out, .json = json };
        struct session s = { .on_message = verify_on_message,
                             .on_poll = verify_on_poll,
                             .userdata = &vr };
        enum verify_problem problem;
        const char *explanation;
        enum verify_result r;
        char dur[32];

        if (verify_new(c, d, &vr.v) < 0)
                return 1;
        vr.seen = cJSON_CreateArray();
        if (!json) {
                fprintf(out, "verify %s (%s, %s) on %s:%d\n", d->id, device_source(d),
                        device_kind_to_string(d->kind), c->mqtt.host, c->mqtt.port);
                for (size_t i = 0; i < vr.v->n_filters; i++)
                        fprintf(out, "  %s %s\n", i < vr.v->n_routes ? "device " : "similar",
                                vr.v->filters[i]);
        }
        vr.start_usec = now_monotonic_usec(); /* retained copies arrive with the SUBACKs */
        if (session_open(&s, c, vr.v->filters, vr.v->n_filters) < 0) {
                session_close(&s);
                cJSON_Delete(vr.seen);
                verify_free(vr.v);
                return 1;
        }
        if (!json) {
                fprintf(out, "listening on %zu topics of the device (and %zu similar) for %s: %s\n",
                        vr.v->n_routes, vr.v->n_filters - vr.v->n_routes,
                        format_duration(timeout_usec, dur), verify_instruction(vr.v));
                fflush(out);
        }
        session_run(&s, now_monotonic_usec() + timeout_usec, &vr.settled);
        session_close(&s);
        r = verify_outcome(vr.v, &problem, &explanation);
        if (json) {
                _cleanup_json_ cJSON *o = cJSON_CreateObject();
                _cleanup_free_ char *text = NULL;

                cJSON_AddStringToObject(o, "device", d->id);
                cJSON_AddStringToObject(o, "result", r == VERIFY_PASS ? "PASS" : "FAIL");
                cJSON_AddStringToObject(o, "problem", verify_problem_to_string(problem));
                cJSON_AddStringToObject(o, "explanation", explanation);
                cJSON_AddItemToObject(o, "seen", vr.seen);
                vr.seen = NULL;
                text = cJSON_Print(o);
                fprintf(out, "%s\n", text ? text : "null");
        } else
                fprintf(out, "%s: %s\n", r == VERIFY_PASS ? "PASS" : "FAIL", explanation);
        cJSON_Delete(vr.seen);
        verify_free(vr.v);
        return r == VERIFY_PASS ? 0 : 1;
}

struct discover_run {
        struct discover *ds;
        bool stop;
};

static void discover_on_message(struct session *s, const struct mosquitto_message *msg)
{
        struct discover_run *dr = s->userdata;

        discover_feed(dr->ds, msg->topic, msg->payload, (size_t)msg->payloadlen, msg->retain,
                      now_realtime_usec());
}

int devtools_discover(const struct config *c, int64_t seconds_usec, bool json, FILE *out)
{
        struct discover_run dr = { 0 };
        struct session s = { .on_message = discover_on_message, .userdata = &dr };
        char dur[32];

        if (discover_new(c, &dr.ds) < 0)
                return 1;
        if (session_open(&s, c, dr.ds->filters, dr.ds->n_filters) < 0) {
                session_close(&s);
                discover_free(dr.ds);
                return 1;
        }
        /* Shelly Gen1 devices announce themselves when asked. */
        mosquitto_publish(s.m, NULL, "shellies/command", 8, "announce", 1, false);
        if (!json) {
                fprintf(out,
                        "listening on %s:%d for %s (zigbee2mqtt bridge/devices, Shelly "
                        "announce and online, Frigate cameras, Tasmota LWT)...\n",
                        c->mqtt.host, c->mqtt.port, format_duration(seconds_usec, dur));
                fflush(out);
        }
        session_run(&s, now_monotonic_usec() + seconds_usec, &dr.stop);
        session_close(&s);
        if (json) {
                _cleanup_json_ cJSON *arr = cJSON_CreateArray();
                _cleanup_free_ char *text = NULL;

                for (size_t i = 0; i < dr.ds->n_found; i++) {
                        const struct discovered *f = &dr.ds->found[i].pub;
                        cJSON *o = cJSON_CreateObject();
                        cJSON_AddStringToObject(o, "source", f->source);
                        cJSON_AddStringToObject(o, "name", f->name);
                        cJSON_AddStringToObject(o, "model", f->model);
                        cJSON_AddStringToObject(o, "note", f->note);
                        cJSON_AddItemToObject(o, "entry", cJSON_Parse(f->entry));
                        cJSON_AddItemToArray(arr, o);
                }
                text = cJSON_Print(arr);
                fprintf(out, "%s\n", text ? text : "[]");
        } else {
                if (dr.ds->n_found == 0)
                        fprintf(out, "no unregistered devices seen\n");
                else
                        fprintf(out,
                                "%zu device%s on the broker %s not in the registry; paste "
                                "the entry into the household's \"devices\":\n",
                                dr.ds->n_found, dr.ds->n_found == 1 ? "" : "s",
                                dr.ds->n_found == 1 ? "is" : "are");
                for (size_t i = 0; i < dr.ds->n_found; i++) {
                        const struct discovered *f = &dr.ds->found[i].pub;
                        fprintf(out, "\n%s  %s%s%s%s\n  %s\n", f->source, f->name,
                                f->model[0] ? "  (" : "", f->model, f->model[0] ? ")" : "",
                                f->entry);
                        if (f->note[0])
                                fprintf(out, "  note: %s\n", f->note);
                }
                fprintf(out,
                        "\n%zu seen device%s registered already; %zu not door devices "
                        "skipped\n",
                        dr.ds->n_registered, dr.ds->n_registered == 1 ? "" : "s", dr.ds->n_skipped);
        }
        discover_free(dr.ds);
        return 0;
}

/* frigate.c: person detection by a door camera through Frigate NVR (devices.md).
 *
 * Device keys:
 *   "camera":        the Frigate camera name (required).
 *   "zones_out":     zone names that mean "leaving" (e.g. the stairs beyond the doorstep): a
 *                    person whose entered_zones include one is reported with direction out.
 *   "zones_in":      zone names that mean "coming in" (direction in). When entered_zones
 *                    holds zones of both lists, the one entered last wins.
 *   "frigate_topic": Frigate's mqtt.topic_prefix (default "frigate").
 *
 * Topics: <frigate_topic>/events (shared by every camera: messages for other cameras are
 * ADAPTER_E_NOT_MINE, found by a substring test before any parsing), <frigate_topic>/available
 * (online/offline of Frigate itself: a bridge for all its cameras) and <frigate_topic>/stats
 * (every stats_interval: a camera with camera_fps > 0 is alive, reported as a heartbeat;
 * Frigate has no per-camera availability topic).
 *
 * One detection per Frigate event id: the first message with label "person" that is not a
 * false positive (normally type "new"; "update" or "end" after a restart) yields EVENT_PERSON
 * with the Frigate id and the direction the zones show so far. Zones often arrive later
 * than "new": when a later message shows a direction not yet reported, one more
 * EVENT_PERSON follows with id "<frigate id>:out" (or ":in"), so the daemon's idempotent
 * store keeps both and person_left can upgrade an opening alert. The ids counted are
 * remembered in struct device_state (the last DEVICE_STATE_RECENT_IDS). */
#include <errno.h>
#include <string.h>

#include "common.h"
#include "util.h"

/* Frigate ids are "<epoch>.<frac>-<6 chars>" (about 24 bytes); room for ":out". */
#define FRIGATE_ID_MAX (EVENT_ID_MAX - 5)

struct frigate_config {
        char *camera;
        char **zones_out, **zones_in;
        char *quoted_camera; /* "\"<camera>\"", the pre-parse filter */
        char t_events[ADAPTER_TOPIC_MAX], t_available[ADAPTER_TOPIC_MAX];
        char t_stats[ADAPTER_TOPIC_MAX];
};

static void frigate_free_config(void *p)
{
        struct frigate_config *c = p;

        if (!c)
                return;
        free(c->camera);
        free(c->quoted_camera);
        adapter_strv_free(c->zones_out);
        adapter_strv_free(c->zones_in);
        free(c);
}

static int frigate_parse_device(struct device *d, const cJSON *entry, const char *file,
                                const char *path, struct config_diag *diag)
{
        struct adapter_cfg cfg = { .entry = entry, .file = file, .path = path, .diag = diag };
        struct frigate_config *c = calloc(1, sizeof(*c));
        _cleanup_free_ char *prefix = NULL;

        if (!c)
                abort();
        c->camera = adapter_cfg_topic(&cfg, "camera", true, NULL, false);
        if (c->camera && strpbrk(c->camera, "\"\\"))
                adapter_cfg_error(&cfg, "camera", "must not contain '\"' or '\\'");
        c->zones_out = adapter_cfg_strv(&cfg, "zones_out");
        c->zones_in = adapter_cfg_strv(&cfg, "zones_in");
        prefix = adapter_cfg_topic(&cfg, "frigate_topic", false, "frigate", true);
        if (cfg.r < 0 || !c->camera || !prefix) {
                frigate_free_config(c);
                return -EINVAL;
        }
        if (asprintf(&c->quoted_camera, "\"%s\"", c->camera) < 0)
                abort();
        adapter_topic(c->t_events, "%s/events", prefix);
        adapter_topic(c->t_available, "%s/available", prefix);
        adapter_topic(c->t_stats, "%s/stats", prefix);
        d->adapter_config = c;
        return 0;
}

static void frigate_topics(const struct device *d, const char *topic_prefix, adapter_topic_cb cb,
                           void *userdata)
{
        const struct frigate_config *c = d->adapter_config;

        cb(c->t_events, c->t_events, userdata);
        cb(c->t_available, c->t_available, userdata);
        cb(c->t_stats, c->t_stats, userdata);
}

static bool mentions_camera(const struct frigate_config *c, const struct adapter_msg *m)
{
        return memmem(m->payload, m->len, c->quoted_camera, strlen(c->quoted_camera)) != NULL;
}

static enum person_direction zones_direction(const struct frigate_config *c, const cJSON *obj)
{
        const cJSON *zones = cJSON_GetObjectItemCaseSensitive(obj, "entered_zones"), *z;
        enum person_direction dir = DIRECTION_NONE;

        cJSON_ArrayForEach(z, zones)
        {
                if (!cJSON_IsString(z))
                        continue;
                if (adapter_strv_contains(c->zones_out, z->valuestring))
                        dir = DIRECTION_OUT;
                else if (adapter_strv_contains(c->zones_in, z->valuestring))
                        dir = DIRECTION_IN;
        }
        return dir;
}

static int decode_event(const struct frigate_config *c, const struct adapter_msg *m,
                        struct device_state *st, struct adapter_decode_result *out)
{
        _cleanup_json_ cJSON *j = NULL;
        const cJSON *after, *ts;
        const char *type, *camera, *label, *id;
        enum person_direction dir, reported = DIRECTION_NONE;
        struct event *e;
        bool fp;
        int r;

        if (!mentions_camera(c, m))
                return ADAPTER_E_NOT_MINE;
        r = adapter_parse_json(m, ADAPTER_MAX_PAYLOAD, &j, out);
        if (r != ADAPTER_OK)
                return r;
        type = adapter_json_string(j, "type");
        after = cJSON_GetObjectItemCaseSensitive(j, "after");
        if (!type || !cJSON_IsObject(after)) {
                out->error = "event without \"type\" or \"after\"";
                return ADAPTER_E_INVALID;
        }
        if (strcmp(type, "new") != 0 && strcmp(type, "update") != 0 && strcmp(type, "end") != 0)
                return ADAPTER_E_IGNORED;
        camera = adapter_json_string(after, "camera");
        if (!camera || strcmp(camera, c->camera) != 0)
                return ADAPTER_E_NOT_MINE;
        label = adapter_json_string(after, "label");
        if (!label || strcmp(label, "person") != 0)
                return ADAPTER_E_IGNORED;
        if (adapter_json_bool(cJSON_GetObjectItemCaseSensitive(after, "false_positive"), &fp) ==
                0 &&
            fp)
                return ADAPTER_E_IGNORED;
        id = adapter_json_string(after, "id");
        if (!id || !id[0] || strlen(id) > FRIGATE_ID_MAX) {
                out->error = "event \"id\" missing or too long";
                return ADAPTER_E_INVALID;
        }

        dir = zones_direction(c, after);
        if (!adapter_recent_find(st, id, &reported)) {
                e = adapter_push(out, m, EVENT_PERSON);
                snprintf(e->id, sizeof(e->id), "%s", id);
                e->direction = dir;
                ts = cJSON_GetObjectItemCaseSensitive(after, "start_time");
        } else if (dir != DIRECTION_NONE && dir != reported) {
                e = adapter_push(out, m, EVENT_PERSON);
                snprintf(e->id, sizeof(e->id), "%s:%s", id, dir == DIRECTION_OUT ? "out" : "in");
                e->direction = dir;
                ts = cJSON_GetObjectItemCaseSensitive(after, "frame_time");
        } else
                return ADAPTER_E_IGNORED;
        adapter_recent_put(st, id, dir != DIRECTION_NONE ? dir : reported);
        if (cJSON_IsNumber(ts))
                adapter_event_ts(e, ts->valuedouble);
        return adapter_finish_alive(m, st, out);
}

/* {"<camera>": {"camera_fps": 5.0, …}, …} (before 0.14) or {"cameras": {"<camera>": …}}. */
static int decode_stats(const struct frigate_config *c, const struct adapter_msg *m,
                        struct device_state *st, struct adapter_decode_result *out)
{
        _cleanup_json_ cJSON *j = NULL;
        const cJSON *cam, *cams;
        double fps;
        int r;

        if (!mentions_camera(c, m))
                return ADAPTER_E_NOT_MINE;
        r = adapter_parse_json(m, ADAPTER_MAX_PAYLOAD, &j, out);
        if (r != ADAPTER_OK)
                return r;
        cams = cJSON_GetObjectItemCaseSensitive(j, "cameras");
        cam = cJSON_GetObjectItemCaseSensitive(cJSON_IsObject(cams) ? cams : j, c->camera);
        if (!cJSON_IsObject(cam))
                return ADAPTER_E_NOT_MINE;
        if (adapter_json_number(cJSON_GetObjectItemCaseSensitive(cam, "camera_fps"), &fps) != 0 ||
            fps <= 0)
                return ADAPTER_E_IGNORED; /* a dead camera: staleness will tell */
        return adapter_finish_alive(m, st, out);
}

static int frigate_decode_message(const struct device *d, const struct adapter_msg *m,
                                  struct device_state *st, struct adapter_decode_result *out)
{
        const struct frigate_config *c = d->adapter_config;
        bool online;

        adapter_begin(out);
        if (strcmp(m->topic, c->t_events) == 0)
                return decode_event(c, m, st, out);
        if (strcmp(m->topic, c->t_available) == 0) {
                if (adapter_parse_availability(m->payload, m->len, &online) != 0) {
                        out->error = "available must be online or offline";
                        return ADAPTER_E_INVALID;
                }
                adapter_emit_availability(m, st, out, online, true);
                return ADAPTER_OK;
        }
        if (strcmp(m->topic, c->t_stats) == 0)
                return decode_stats(c, m, st, out);
        return ADAPTER_E_NOT_MINE;
}

static int frigate_decode(const struct device *d, const struct adapter_msg *m,
                          struct device_state *st, struct adapter_decode_result *out)
{
        struct device_state saved = *st;

        return adapter_decode_end(frigate_decode_message(d, m, st, out), st, &saved, out);
}

static const char *const frigate_keys[] = { "camera", "zones_out", "zones_in", "frigate_topic",
                                            NULL };

const struct adapter adapter_frigate = {
        .name = "frigate",
        .keys = frigate_keys,
        .parse_device = frigate_parse_device,
        .free_config = frigate_free_config,
        .topics = frigate_topics,
        .decode = frigate_decode,
};

/* settings.c: doorwatch.json (see settings.h). settings_defaults() fills struct config
 * before any file is read, so an absent key keeps its default; settings_load() then
 * overrides what the file names and resolves the file paths against the config dir.
 *
 * Keys and rules beyond the DESIGN.md §3 example (document them in doorwatch.json(5)):
 *   - "retention" (default "30d"): purge a household's events and personal data this long
 *     after its observation ends.
 *   - "policy.debounce" (default "2s"): repeats of the same door state from one device
 *     within this interval are treated as one event ("0s" disables).
 *   - "policy.person_window" (default "2m"): a camera person leaving this close to an
 *     unexpected opening upgrades its alert to person_left.
 *   - "policy.chatter_settle" (default "300ms"): a door contact's chatter is one opening: a
 *     reopen within it of a close joins that opening, and an opening counts (uses up a
 *     one-shot explanation, raises its alert) once it has stayed open this long ("0s":
 *     every opening counts when it starts).
 *   - "policy.fever_at" (default 37.3, °C, 35..42): a medical round's reading at or above it
 *     raises fever; "policy.fever_symptoms" (default SETTINGS_FEVER_SYMPTOMS): a reading
 *     listing one of these (compared without case) raises fever too. At most 32 entries of
 *     1..63 bytes.
 *   - "0s" is accepted for policy.checkin_grace, ack_absorb, pass_overdue_after,
 *     max_clock_skew, debounce and chatter_settle; every other duration must be greater
 *     than 0.
 *     settings_parse_policy() also reads a household's "policy" overrides (registry.c).
 *   - A notifier named "mqtt" of type "mqtt" exists implicitly when not configured. The
 *     notifier entries themselves are checked by notify_check_config() (doorwatchd
 *     --check-config, daemon start), not here: that reads secret files, which
 *     doorwatchctl's users may not be allowed to read. Their JSON is kept, comments
 *     stripped, for src/notify/.
 *   - "outbox": {"dead_after": "1h", "max_attempts": 20, "retry_base": "2s",
 *     "retry_max": "10m"}: a notification whose sends keep failing is dead-lettered once it
 *     is older than dead_after or failed max_attempts times (0 = no limit on attempts);
 *     retries wait retry_base * 2^n, capped at retry_max, with jitter.
 *   - "monitoring_gap_after" (default "2m"): broker unreachable this long ->
 *     monitoring_gap to the command centre and admins over non-MQTT channels.
 *   - "templates": per-kind text overrides, checked by templates_check() (notify/template.c,
 *     which reports at templates.<kind>) and kept (comments stripped) as cfg->templates.
 *   - mqtt.keepalive is 5s..65535s; mqtt.tls.cert_file and key_file are set together.
 *   - "http.worker_link_ttl" (default "30d"): how long a worker's own page link works
 *     (doorwatchctl worker link, the {page_url} of notifications). */
#include "settings.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "notify/template.h"
#include "util.h"

#define ZONEINFO_DIR "/usr/share/zoneinfo"

static const char *const notifier_types[] = { "mqtt",     "exec",   "wecom",
                                              "dingtalk", "feishu", "webhook" };

static const char *const default_fever_symptoms[] = { SETTINGS_FEVER_SYMPTOMS };

void settings_defaults(struct config *c)
{
        static const struct policy policy = {
                .handoff_ring_window_usec = 60 * USEC_PER_SEC,
                .handoff_max_open_usec = 120 * USEC_PER_SEC,
                .held_open_after_usec = 5 * USEC_PER_MIN,
                .checkin_grace_usec = 30 * USEC_PER_MIN,
                .resident_reports_per_day = 3,
                .ack_absorb_usec = 30 * USEC_PER_MIN,
                .pass_overdue_after_usec = 15 * USEC_PER_MIN,
                .offline_after_usec = { [DEVICE_DOOR_CONTACT] = 26 * USEC_PER_HOUR,
                                        [DEVICE_DOORBELL] = 26 * USEC_PER_HOUR,
                                        [DEVICE_CAMERA] = 10 * USEC_PER_MIN },
                .max_clock_skew_usec = 5 * USEC_PER_MIN,
                .battery_low_percent = 15,
                .debounce_usec = 2 * USEC_PER_SEC,
                .person_window_usec = 2 * USEC_PER_MIN,
                .chatter_settle_usec = 300 * USEC_PER_MSEC,
                .fever_at = 37.3,
        };

        c->timezone = xstrdup("Asia/Shanghai");
        c->database = xstrdup("/var/lib/doorwatch/doorwatch.db");
        c->database_sync_full = false;
        c->retention_usec = 30 * USEC_PER_DAY;
        c->mqtt = (struct mqtt_config){
                .host = xstrdup("127.0.0.1"),
                .port = 1883,
                .client_id = xstrdup("doorwatchd"),
                .keepalive_sec = 30,
                .topic_prefix = xstrdup("doorwatch/v1"),
        };
        c->policy = policy;
        c->policy.n_fever_symptoms = ELEMENTSOF(default_fever_symptoms);
        c->policy.fever_symptoms = xcalloc(c->policy.n_fever_symptoms, sizeof(char *));
        for (size_t i = 0; i < c->policy.n_fever_symptoms; i++)
                c->policy.fever_symptoms[i] = xstrdup(default_fever_symptoms[i]);
        c->escalation = (struct escalation){
                .ack_timeout_usec = 5 * USEC_PER_MIN,
                .steps = { STEP_TEAM, STEP_LEADER, STEP_COMMAND },
                .n_steps = 3,
                .repeat = 2,
                .remind_every_usec = 30 * USEC_PER_MIN,
        };
        c->outbox = (struct outbox_config){
                .dead_after_usec = USEC_PER_HOUR,
                .max_attempts = 20,
                .retry_base_usec = 2 * USEC_PER_SEC,
                .retry_max_usec = 10 * USEC_PER_MIN,
        };
        c->monitoring_gap_after_usec = 2 * USEC_PER_MIN;
        c->http = (struct http_config){
                .listen = xstrdup("127.0.0.1:8088"),
                .token_file = xstrdup("secrets/api.token"),
                .ack_secret_file = xstrdup("secrets/ack.key"),
                .ack_link_ttl_usec = 24 * USEC_PER_HOUR,
                .worker_link_ttl_usec = 30 * USEC_PER_DAY,
        };
}

static bool timezone_exists(const char *name)
{
        _cleanup_free_ char *p = NULL;
        struct stat st;

        if (name[0] == '/' || strstr(name, ".."))
                return false;
        if (asprintf(&p, ZONEINFO_DIR "/%s", name) < 0)
                abort();
        return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static bool listen_valid(const char *s)
{
        const char *colon = strrchr(s, ':');
        const char *q;
        long port = 0;

        if (!colon || colon == s || !colon[1] || strlen(colon + 1) > 5)
                return false;
        if (s[0] == '[') {
                if (colon[-1] != ']' || colon - s < 3)
                        return false;
        } else if (memchr(s, ':', (size_t)(colon - s)))
                return false; /* an IPv6 address needs brackets */
        for (q = colon + 1; *q; q++) {
                if (*q < '0' || *q > '9')
                        return false;
                port = port * 10 + (*q - '0');
        }
        return port >= 1 && port <= 65535;
}

static bool topic_level_valid(const char *s, bool allow_slash)
{
        if (!*s || strpbrk(s, "+#"))
                return false;
        if (!allow_slash)
                return !strchr(s, '/');
        return s[0] != '/' && s[strlen(s) - 1] != '/';
}

static void parse_mqtt(struct loader *L, const cJSON *o, const struct loader_path *path)
{
        static const char *const keys[] = { "host",      "port",          "client_id",
                                            "username",  "password_file", "tls",
                                            "keepalive", "topic_prefix",  NULL };
        static const char *const tls_keys[] = { "ca_file", "cert_file", "key_file", NULL };
        struct mqtt_config *m = &L->cfg->mqtt;
        struct loader_path p[1], tp[1], kp[1];
        const cJSON *v, *tls;
        int64_t usec;

        if (!loader_expect_object(L, o, path))
                return;
        loader_check_keys(L, o, path, keys, NULL, true);
        if ((v = loader_field(L, o, path, "host", false, p)))
                loader_get_string(L, v, p, 0, &m->host);
        if ((v = loader_field(L, o, path, "port", false, p)))
                loader_get_int(L, v, p, 1, 65535, &m->port);
        if ((v = loader_field(L, o, path, "client_id", false, p)) &&
            loader_get_string(L, v, p, 0, &m->client_id) && !topic_level_valid(m->client_id, false))
                loader_error(L, p, "invalid client id \"%s\" (no '/', '+' or '#')", m->client_id);
        if ((v = loader_field(L, o, path, "username", false, p)))
                loader_get_string(L, v, p, LOADER_STR_NULLABLE, &m->username);
        if ((v = loader_field(L, o, path, "password_file", false, p)))
                loader_get_string(L, v, p, LOADER_STR_NULLABLE, &m->password_file);
        if ((v = loader_field(L, o, path, "keepalive", false, p)) &&
            loader_get_duration(L, v, p, true, &usec)) {
                if (usec < 5 * USEC_PER_SEC || usec > 65535 * USEC_PER_SEC)
                        loader_error(L, p, "must be between 5s and 65535s");
                else
                        m->keepalive_sec = (int)(usec / USEC_PER_SEC);
        }
        if ((v = loader_field(L, o, path, "topic_prefix", false, p)) &&
            loader_get_string(L, v, p, 0, &m->topic_prefix) &&
            !topic_level_valid(m->topic_prefix, true))
                loader_error(
                    L, p, "invalid topic prefix \"%s\" (no '+' or '#', no leading or trailing '/')",
                    m->topic_prefix);
        tls = loader_field(L, o, path, "tls", false, tp);
        if (!tls || cJSON_IsNull(tls))
                return;
        if (!cJSON_IsObject(tls)) {
                loader_error(L, tp, "expected an object or null");
                return;
        }
        loader_check_keys(L, tls, tp, tls_keys, NULL, true);
        if ((v = loader_field(L, tls, tp, "ca_file", false, kp)))
                loader_get_string(L, v, kp, LOADER_STR_NULLABLE, &m->ca_file);
        if ((v = loader_field(L, tls, tp, "cert_file", false, kp)))
                loader_get_string(L, v, kp, LOADER_STR_NULLABLE, &m->cert_file);
        if ((v = loader_field(L, tls, tp, "key_file", false, kp)))
                loader_get_string(L, v, kp, LOADER_STR_NULLABLE, &m->key_file);
        if (!m->cert_file != !m->key_file)
                loader_error(L, tp, "cert_file and key_file must be set together");
}

/* The policy object of doorwatch.json, or a household's overrides (household: only the
 * rule keys; pol starts as a copy of the daemon's policy). */
void settings_parse_policy(struct loader *L, const cJSON *o, const struct loader_path *path,
                           struct policy *pol, bool household)
{
        static const struct {
                const char *key;
                size_t offset;
                bool positive;
        } durations[] = {
                { "handoff_ring_window", offsetof(struct policy, handoff_ring_window_usec), true },
                { "handoff_max_open", offsetof(struct policy, handoff_max_open_usec), true },
                { "held_open_after", offsetof(struct policy, held_open_after_usec), true },
                { "checkin_grace", offsetof(struct policy, checkin_grace_usec), false },
                { "ack_absorb", offsetof(struct policy, ack_absorb_usec), false },
                { "pass_overdue_after", offsetof(struct policy, pass_overdue_after_usec), false },
                { "max_clock_skew", offsetof(struct policy, max_clock_skew_usec), false },
                { "debounce", offsetof(struct policy, debounce_usec), false },
                { "person_window", offsetof(struct policy, person_window_usec), true },
                { "chatter_settle", offsetof(struct policy, chatter_settle_usec), false },
        };
        static const char *const keys[] = { "handoff_ring_window",
                                            "handoff_max_open",
                                            "held_open_after",
                                            "checkin_grace",
                                            "ack_absorb",
                                            "pass_overdue_after",
                                            "max_clock_skew",
                                            "debounce",
                                            "person_window",
                                            "chatter_settle",
                                            "resident_reports_per_day",
                                            "offline_after",
                                            "battery_low_percent",
                                            "fever_at",
                                            "fever_symptoms",
                                            NULL };
        static const char *const household_keys[] = {
                "handoff_ring_window", "handoff_max_open",
                "held_open_after",     "checkin_grace",
                "pass_overdue_after",  "debounce",
                "person_window",       "resident_reports_per_day",
                "chatter_settle",      NULL
        };
        static const char *const offline_keys[] = { "door_contact", "doorbell", "camera", NULL };
        const char *const *allowed = household ? household_keys : keys;
        struct loader_path p[1], kp[1];
        const cJSON *v, *off;

        if (!loader_expect_object(L, o, path))
                return;
        loader_check_keys(L, o, path, allowed, NULL, true);
        for (size_t i = 0; i < ELEMENTSOF(durations); i++)
                if (loader_key_in(allowed, durations[i].key) &&
                    (v = loader_field(L, o, path, durations[i].key, false, p)))
                        loader_get_duration(L, v, p, durations[i].positive,
                                            (int64_t *)((char *)pol + durations[i].offset));
        if ((v = loader_field(L, o, path, "resident_reports_per_day", false, p)))
                loader_get_int(L, v, p, 0, 1000, &pol->resident_reports_per_day);
        if (household)
                return;
        if ((v = loader_field(L, o, path, "battery_low_percent", false, p)))
                loader_get_int(L, v, p, 0, 100, &pol->battery_low_percent);
        off = loader_field(L, o, path, "offline_after", false, p);
        if (!off || !loader_expect_object(L, off, p))
                return;
        loader_check_keys(L, off, p, offline_keys, NULL, true);
        for (int k = 0; k < _DEVICE_KIND_MAX; k++)
                if ((v = loader_field(L, off, p, device_kind_to_string(k), false, kp)))
                        loader_get_duration(L, v, kp, true, &pol->offline_after_usec[k]);
}

#define FEVER_SYMPTOMS_MAX 32
#define FEVER_SYMPTOM_MAX  64 /* bytes, with the NUL */

/* policy.fever_at and policy.fever_symptoms (doorwatch.json only). */
static void parse_fever(struct loader *L, const cJSON *o, const struct loader_path *path,
                        struct policy *pol)
{
        struct loader_path p[1], ep[1];
        const cJSON *v, *e;
        size_t i = 0;

        if ((v = loader_field(L, o, path, "fever_at", false, p))) {
                if (!cJSON_IsNumber(v) || v->valuedouble < 35.0 || v->valuedouble > 42.0)
                        loader_error(L, p, "must be a temperature in °C between 35 and 42");
                else
                        pol->fever_at = v->valuedouble;
        }
        if (!(v = loader_field(L, o, path, "fever_symptoms", false, p)) ||
            !loader_expect_array(L, v, p))
                return;
        if (cJSON_GetArraySize(v) > FEVER_SYMPTOMS_MAX) {
                loader_error(L, p, "at most %d symptoms", FEVER_SYMPTOMS_MAX);
                return;
        }
        free_strv(pol->fever_symptoms, pol->n_fever_symptoms);
        pol->n_fever_symptoms = 0;
        pol->fever_symptoms = xcalloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(char *));
        cJSON_ArrayForEach(e, v)
        {
                const char *str = loader_get_str(L, e, loader_path_index(ep, p, i++));
                if (!str)
                        continue;
                if (!*str || strlen(str) >= FEVER_SYMPTOM_MAX) {
                        loader_error(L, ep, "must be 1..%d bytes", FEVER_SYMPTOM_MAX - 1);
                        continue;
                }
                pol->fever_symptoms[pol->n_fever_symptoms++] = xstrdup(str);
        }
}

static void parse_policy(struct loader *L, const cJSON *o, const struct loader_path *path)
{
        settings_parse_policy(L, o, path, &L->cfg->policy, false);
        if (cJSON_IsObject(o))
                parse_fever(L, o, path, &L->cfg->policy);
}

static void parse_escalation(struct loader *L, const cJSON *o, const struct loader_path *path)
{
        static const char *const keys[] = { "ack_timeout", "steps", "repeat", "remind_every",
                                            NULL };
        struct escalation *e = &L->cfg->escalation;
        struct loader_path p[1], ep[1];
        const cJSON *v, *s;

        if (!loader_expect_object(L, o, path))
                return;
        loader_check_keys(L, o, path, keys, NULL, true);
        if ((v = loader_field(L, o, path, "ack_timeout", false, p)))
                loader_get_duration(L, v, p, true, &e->ack_timeout_usec);
        if ((v = loader_field(L, o, path, "repeat", false, p)))
                loader_get_int(L, v, p, 1, 100, &e->repeat);
        if ((v = loader_field(L, o, path, "remind_every", false, p)))
                loader_get_duration(L, v, p, true, &e->remind_every_usec);
        if (!(v = loader_field(L, o, path, "steps", false, p)) || !loader_expect_array(L, v, p))
                return;
        if (cJSON_GetArraySize(v) == 0) {
                loader_error(L, p, "must not be empty");
                return;
        }
        enum escalation_step steps[_STEP_MAX] = { STEP_TEAM };
        size_t n = 0, i = 0;
        bool ok = true;
        for (s = v->child; s; s = s->next) {
                const char *str = loader_get_str(L, s, loader_path_index(ep, p, i++));
                enum escalation_step st;

                if (!str) {
                        ok = false;
                        continue;
                }
                st = escalation_step_from_string(str);
                if (st == STEP_INVALID) {
                        loader_error(L, ep, "unknown escalation step \"%s\"", str);
                        ok = false;
                        continue;
                }
                for (size_t j = 0; j < n; j++)
                        if (steps[j] == st) {
                                loader_error(L, ep, "duplicate step \"%s\"", str);
                                ok = false;
                                st = STEP_INVALID;
                                break;
                        }
                if (st != STEP_INVALID)
                        steps[n++] = st;
        }
        if (ok) {
                memcpy(e->steps, steps, n * sizeof(steps[0]));
                e->n_steps = n;
        }
}

static void parse_http(struct loader *L, const cJSON *o, const struct loader_path *path)
{
        static const char *const keys[] = { "listen",         "public_url",
                                            "token_file",     "ack_secret_file",
                                            "ack_link_ttl",   "worker_link_ttl",
                                            "metrics_public", NULL };
        struct http_config *h = &L->cfg->http;
        struct loader_path p[1];
        const cJSON *v;

        if (cJSON_IsNull(o)) { /* "http": null turns the HTTP server off */
                free(h->listen);
                h->listen = NULL;
                return;
        }
        if (!cJSON_IsObject(o)) {
                loader_error(L, path, "expected an object or null");
                return;
        }
        loader_check_keys(L, o, path, keys, NULL, true);
        if ((v = loader_field(L, o, path, "listen", false, p)) &&
            loader_get_string(L, v, p, LOADER_STR_NULLABLE, &h->listen) && h->listen &&
            !listen_valid(h->listen))
                loader_error(L, p, "invalid listen address \"%s\" (expected HOST:PORT)", h->listen);
        if ((v = loader_field(L, o, path, "public_url", false, p)) &&
            loader_get_string(L, v, p, LOADER_STR_NULLABLE, &h->public_url) && h->public_url &&
            !str_startswith(h->public_url, "http://") && !str_startswith(h->public_url, "https://"))
                loader_error(L, p, "invalid URL \"%s\" (expected http:// or https://)",
                             h->public_url);
        if ((v = loader_field(L, o, path, "token_file", false, p)))
                loader_get_string(L, v, p, LOADER_STR_NULLABLE, &h->token_file);
        if ((v = loader_field(L, o, path, "ack_secret_file", false, p)))
                loader_get_string(L, v, p, LOADER_STR_NULLABLE, &h->ack_secret_file);
        if ((v = loader_field(L, o, path, "ack_link_ttl", false, p)))
                loader_get_duration(L, v, p, true, &h->ack_link_ttl_usec);
        if ((v = loader_field(L, o, path, "worker_link_ttl", false, p)))
                loader_get_duration(L, v, p, true, &h->worker_link_ttl_usec);
        if ((v = loader_field(L, o, path, "metrics_public", false, p)))
                loader_get_bool(L, v, p, &h->metrics_public);
}

static void strip_comments(cJSON *j)
{
        cJSON *c = j ? j->child : NULL;

        while (c) {
                cJSON *next = c->next;
                if (cJSON_IsObject(j) && loader_is_comment(c->string))
                        cJSON_Delete(cJSON_DetachItemViaPointer(j, c));
                else
                        strip_comments(c);
                c = next;
        }
}

static void add_notifier(struct loader *L, const char *name, const char *type, const cJSON *json)
{
        struct config *cfg = L->cfg;
        struct notifier_config *n;

        GROW(cfg->notifiers, cfg->n_notifiers, L->cap_notifiers);
        n = &cfg->notifiers[cfg->n_notifiers];
        *n = (struct notifier_config){ .name = xstrdup(name), .type = xstrdup(type) };
        n->json = cJSON_Duplicate(json, true);
        if (!n->json)
                abort();
        strip_comments(n->json);
        hashmap_put(L->notifier_by_name, n->name, loader_idx_ptr(cfg->n_notifiers));
        cfg->n_notifiers++;
}

static void parse_notifiers(struct loader *L, const cJSON *o, const struct loader_path *path)
{
        struct loader_path p[1], tp[1];
        const cJSON *c, *t;

        if (!loader_expect_object(L, o, path))
                return;
        loader_check_keys(L, o, path, NULL, NULL, false);
        for (c = o->child; c; c = c->next) {
                if (loader_is_comment(c->string) || hashmap_get(L->notifier_by_name, c->string))
                        continue; /* duplicates were reported by loader_check_keys() */
                loader_path_key(p, path, c->string);
                if (!loader_expect_object(L, c, p))
                        continue;
                t = loader_field(L, c, p, "type", true, tp);
                if (!t || !loader_get_str(L, t, tp))
                        continue;
                if (name_index(notifier_types, ELEMENTSOF(notifier_types), t->valuestring) < 0) {
                        loader_error(
                            L, tp,
                            "unknown notifier type \"%s\" (expected mqtt, exec, wecom, dingtalk, "
                            "feishu or webhook)",
                            t->valuestring);
                        continue;
                }
                add_notifier(L, c->string, t->valuestring, c);
        }
}

static void parse_outbox(struct loader *L, const cJSON *o, const struct loader_path *path)
{
        static const char *const keys[] = { "dead_after", "max_attempts", "retry_base", "retry_max",
                                            NULL };
        struct outbox_config *ob = &L->cfg->outbox;
        struct loader_path p[1];
        const cJSON *v;

        if (!loader_expect_object(L, o, path))
                return;
        loader_check_keys(L, o, path, keys, NULL, true);
        if ((v = loader_field(L, o, path, "dead_after", false, p)))
                loader_get_duration(L, v, p, true, &ob->dead_after_usec);
        if ((v = loader_field(L, o, path, "max_attempts", false, p)))
                loader_get_int(L, v, p, 0, 1000000, &ob->max_attempts);
        if ((v = loader_field(L, o, path, "retry_base", false, p)))
                loader_get_duration(L, v, p, true, &ob->retry_base_usec);
        if ((v = loader_field(L, o, path, "retry_max", false, p)))
                loader_get_duration(L, v, p, true, &ob->retry_max_usec);
        if (ob->retry_max_usec < ob->retry_base_usec)
                loader_error(L, path, "retry_max must not be shorter than retry_base");
}

/* Keeps a copy of "templates" (comments stripped) after checking it with the template
 * module, which reports its own errors at templates.<kind>. */
static void parse_templates(struct loader *L, const cJSON *o, const struct loader_path *path)
{
        cJSON *copy;

        if (!loader_expect_object(L, o, path))
                return;
        copy = cJSON_Duplicate(o, true);
        if (!copy)
                abort();
        strip_comments(copy);
        if (!templates_check(copy, L->diag)) {
                cJSON_Delete(copy);
                return;
        }
        cJSON_Delete(L->cfg->templates);
        L->cfg->templates = copy;
}

static void parse_daemon(struct loader *L, const cJSON *root)
{
        static const char *const keys[] = { "timezone",      "database",   "database_password_file",
                                            "database_sync", "retention",  "mqtt",
                                            "policy",        "escalation", "notifiers",
                                            "http",          "outbox",     "monitoring_gap_after",
                                            "templates",     NULL };
        struct config *cfg = L->cfg;
        struct loader_path p[1];
        const cJSON *v;
        const char *s;

        if (!cJSON_IsObject(root)) {
                loader_error(L, NULL, "expected an object");
                return;
        }
        loader_check_keys(L, root, NULL, keys, NULL, true);
        if ((v = loader_field(L, root, NULL, "timezone", false, p)) &&
            loader_get_string(L, v, p, 0, &cfg->timezone) && !timezone_exists(cfg->timezone))
                loader_error(L, p, "unknown time zone \"%s\"", cfg->timezone);
        if ((v = loader_field(L, root, NULL, "database", false, p)))
                loader_get_string(L, v, p, 0, &cfg->database);
        if ((v = loader_field(L, root, NULL, "database_password_file", false, p)))
                loader_get_string(L, v, p, 0, &cfg->database_password_file);
        if ((v = loader_field(L, root, NULL, "database_sync", false, p)) &&
            (s = loader_get_str(L, v, p))) {
                if (strcmp(s, "normal") == 0 || strcmp(s, "full") == 0)
                        cfg->database_sync_full = strcmp(s, "full") == 0;
                else
                        loader_error(L, p, "invalid value \"%s\" (expected normal or full)", s);
        }
        if ((v = loader_field(L, root, NULL, "retention", false, p)))
                loader_get_duration(L, v, p, true, &cfg->retention_usec);
        if ((v = loader_field(L, root, NULL, "mqtt", false, p)))
                parse_mqtt(L, v, p);
        if ((v = loader_field(L, root, NULL, "policy", false, p)))
                parse_policy(L, v, p);
        if ((v = loader_field(L, root, NULL, "escalation", false, p)))
                parse_escalation(L, v, p);
        if ((v = loader_field(L, root, NULL, "notifiers", false, p)))
                parse_notifiers(L, v, p);
        if ((v = loader_field(L, root, NULL, "http", false, p)))
                parse_http(L, v, p);
        if ((v = loader_field(L, root, NULL, "outbox", false, p)))
                parse_outbox(L, v, p);
        if ((v = loader_field(L, root, NULL, "monitoring_gap_after", false, p)))
                loader_get_duration(L, v, p, true, &cfg->monitoring_gap_after_usec);
        if ((v = loader_field(L, root, NULL, "templates", false, p)))
                parse_templates(L, v, p);
}

static void resolve_path(const char *dir, char **p)
{
        char *r;

        if (!*p)
                return;
        r = path_join(dir, *p);
        if (!r)
                abort();
        free(*p);
        *p = r;
}

void settings_load(struct loader *L)
{
        struct config *cfg = L->cfg;
        _cleanup_loader_doc_ struct loader_doc doc = { L, loader_read_json(L, "doorwatch.json") };
        const cJSON *root = doc.root;
        _cleanup_json_ cJSON *mqtt = NULL;

        if (root)
                parse_daemon(L, root);
        L->notifiers_ok = root != NULL;
        if (!hashmap_get(L->notifier_by_name, "mqtt")) {
                mqtt = cJSON_CreateObject();
                if (!mqtt || !cJSON_AddStringToObject(mqtt, "type", "mqtt"))
                        abort();
                add_notifier(L, "mqtt", "mqtt", mqtt);
        }
        resolve_path(cfg->dir, &cfg->database);
        resolve_path(cfg->dir, &cfg->database_password_file);
        resolve_path(cfg->dir, &cfg->mqtt.password_file);
        resolve_path(cfg->dir, &cfg->mqtt.ca_file);
        resolve_path(cfg->dir, &cfg->mqtt.cert_file);
        resolve_path(cfg->dir, &cfg->mqtt.key_file);
        resolve_path(cfg->dir, &cfg->http.token_file);
        resolve_path(cfg->dir, &cfg->http.ack_secret_file);
}

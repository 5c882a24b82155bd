/* config.c: the configuration as data (see config.h): the names of roles, device kinds and
 * escalation steps, lookups by id, and config_free(), which frees everything a struct
 * config owns (its arrays and strings, cfg->arena, each device's adapter configuration
 * through its adapter, the id maps). Nothing here reads a file: config_load() is
 * config_load.c's, above the readers that fill a struct config. */
#include "config.h"

#include <stdlib.h>

#include "adapter.h"
#include "arena.h"
#include "util.h"

/* ---- names ---- */

static const char *const role_names[_ROLE_MAX] = {
        [ROLE_COMMUNITY] = "community", [ROLE_MEDICAL] = "medical", [ROLE_POLICE] = "police",
        [ROLE_INSTALLER] = "installer", [ROLE_STAFF] = "staff",
};
static const char *const kind_names[_DEVICE_KIND_MAX] = {
        [DEVICE_DOOR_CONTACT] = "door_contact",
        [DEVICE_DOORBELL] = "doorbell",
        [DEVICE_CAMERA] = "camera",
};
static const char *const step_names[_STEP_MAX] = {
        [STEP_TEAM] = "team",
        [STEP_LEADER] = "leader",
        [STEP_COMMAND] = "command",
};

const char *role_to_string(enum role r)
{
        return (int)r >= 0 && r < _ROLE_MAX ? role_names[r] : NULL;
}

enum role role_from_string(const char *s)
{
        return (enum role)name_index(role_names, _ROLE_MAX, s);
}

const char *device_kind_to_string(enum device_kind k)
{
        return (int)k >= 0 && k < _DEVICE_KIND_MAX ? kind_names[k] : NULL;
}

enum device_kind device_kind_from_string(const char *s)
{
        return (enum device_kind)name_index(kind_names, _DEVICE_KIND_MAX, s);
}

const char *escalation_step_to_string(enum escalation_step s)
{
        return (int)s >= 0 && s < _STEP_MAX ? step_names[s] : NULL;
}

enum escalation_step escalation_step_from_string(const char *s)
{
        return (enum escalation_step)name_index(step_names, _STEP_MAX, s);
}

/* ---- freeing and lookups ---- */

struct config *config_free(struct config *c)
{
        if (!c)
                return NULL;
        free(c->dir);
        free(c->timezone);
        free(c->database);
        free(c->database_password_file);
        free(c->mqtt.host);
        free(c->mqtt.client_id);
        free(c->mqtt.username);
        free(c->mqtt.password_file);
        free(c->mqtt.ca_file);
        free(c->mqtt.cert_file);
        free(c->mqtt.key_file);
        free(c->mqtt.topic_prefix);
        free(c->http.listen);
        free(c->http.public_url);
        free(c->http.token_file);
        free(c->http.ack_secret_file);
        cJSON_Delete(c->templates);
        for (size_t i = 0; i < c->n_notifiers; i++) {
                free(c->notifiers[i].name);
                free(c->notifiers[i].type);
                cJSON_Delete(c->notifiers[i].json);
        }
        free(c->notifiers);
        for (size_t i = 0; i < c->n_workers; i++) {
                struct worker *w = &c->workers[i];
                free(w->id);
                free(w->name);
                free(w->community_id);
                free(w->phone);
                free_strv(w->channels, w->n_channels);
        }
        free(c->workers);
        for (size_t i = 0; i < c->n_households; i++) {
                struct household *h = &c->households[i];
                free(h->policy);
        }
        free(c->households);
        /* Household policies share the daemon's symptom list. */
        free_strv(c->policy.fever_symptoms, c->policy.n_fever_symptoms);
        for (size_t i = 0; i < c->n_devices; i++) {
                struct device *d = &c->devices[i];
                if (d->adapter_config && d->adapter && d->adapter->free_config)
                        d->adapter->free_config(d->adapter_config);
        }
        free(c->devices);
        arena_done(&c->arena);
        for (size_t i = 0; i < c->n_communities; i++) {
                struct community *m = &c->communities[i];
                free(m->id);
                free(m->name);
                free(m->shifts);
                free(m->overrides);
                free(m->households);
        }
        free(c->communities);
        free(c->command);
        free(c->admins);
        hashmap_free(c->worker_by_id);
        idmap_free(c->household_by_id);
        idmap_free(c->device_by_id);
        hashmap_free(c->community_by_id);
        free(c);
        return NULL;
}

struct worker *config_worker(const struct config *c, const char *id)
{
        return c && id ? hashmap_get(c->worker_by_id, id) : NULL;
}

struct household *config_household(const struct config *c, const char *id)
{
        size_t i;
        return c && idmap_get(c->household_by_id, id, &i) ? &c->households[i] : NULL;
}

struct device *config_device(const struct config *c, const char *id)
{
        size_t i;
        return c && idmap_get(c->device_by_id, id, &i) ? &c->devices[i] : NULL;
}

struct community *config_community(const struct config *c, const char *id)
{
        return c && id ? hashmap_get(c->community_by_id, id) : NULL;
}

size_t config_check_devices(const struct config *c, int64_t now_usec, struct config_diag *diag)
{
        struct sbuf ids;
        size_t n = 0;

        sbuf_init(&ids, NULL, 0);
        for (size_t i = 0; i < c->n_households; i++) {
                const struct household *h = &c->households[i];
                if (h->n_devices > 0 || now_usec < h->obs_start_usec || now_usec >= h->obs_end_usec)
                        continue;
                if (n++ < CONFIG_LIST_IDS)
                        sbuf_printf(&ids, "%s%s", n > 1 ? ", " : "", h->id);
        }
        if (n > CONFIG_LIST_IDS)
                sbuf_printf(&ids, " and %zu more", n - CONFIG_LIST_IDS);
        if (n > 0)
                config_diag_warn(diag, "households", NULL,
                                 "%zu household(s) under observation have no devices: %s "
                                 "(installers add them under \"devices\" and check them with "
                                 "doorwatchctl device verify)",
                                 n, sbuf_text(&ids) ? sbuf_text(&ids) : "");
        sbuf_done(&ids);
        return n;
}

struct community *config_community_named(const struct config *c, const char *id_or_name)
{
        struct community *m = config_community(c, id_or_name);

        for (size_t i = 0; c && id_or_name && !m && i < c->n_communities; i++)
                if (str_eq(c->communities[i].name, id_or_name))
                        m = &c->communities[i];
        return m;
}

const char *community_label(const struct community *c)
{
        return c->name ? c->name : c->id;
}

const struct notifier_config *config_notifier(const struct config *c, const char *name)
{
        for (size_t i = 0; c && name && i < c->n_notifiers; i++)
                if (str_eq(c->notifiers[i].name, name))
                        return &c->notifiers[i];
        return NULL;
}

size_t config_check_observed(const struct config *c, int64_t now_usec, struct config_diag *diag)
{
        size_t n = 0, later = 0, ended = 0;
        int64_t next = INT64_MAX;
        char when[32];

        for (size_t i = 0; i < c->n_households; i++) {
                const struct household *h = &c->households[i];
                if (now_usec < h->obs_start_usec) {
                        later++;
                        next = MIN(next, h->obs_start_usec);
                } else if (now_usec >= h->obs_end_usec)
                        ended++;
                else
                        n++;
        }
        if (n == 0 && later > 0)
                config_diag_warn(diag, "households", NULL,
                                 "no household is under observation now (%zu ended, %zu begin "
                                 "later, the first at %s): every door event is ignored until then",
                                 ended, later, format_local_time(next, when));
        else if (n == 0)
                config_diag_warn(diag, "households", NULL,
                                 "no household is under observation now (%zu configured, every "
                                 "observation ended): every door event is ignored; set a later "
                                 "\"end\" (or \"end\": null) to watch a household",
                                 c->n_households);
        return n;
}

/* config.h: the configuration and registry (DESIGN.md §3), loaded from one directory.
 *
 * config_load() parses doorwatch.json, workers.json, households.json (+ households.d/
 * *.json in name order) and rosters.json, validates them strictly (unknown keys,
 * types, ranges, cross references) and returns one immutable struct config. Every
 * problem is reported as "file: json.path: message" into a struct config_diag;
 * loading continues past errors so one run lists them all.
 *
 * This header is the whole interface, implemented in two layers so that dependencies run
 * one way: config.c is the configuration as data (names of the enums, lookups,
 * config_free()); config_load.c is config_load(), on top of the readers of the files
 * (settings.c: doorwatch.json; registry.c: workers.json, households; rosters.c:
 * rosters.json; loader.c: what they share), which build on this header.
 *
 * Ownership: struct config owns every array and string below. Pointers between
 * records (household->team[], device->household, shift->worker ...) point into the
 * config's own arrays and stay valid until config_free(). Each record carries a dense
 * `index` so runtime state can live in parallel arrays owned by other modules. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "config_diag.h"
#include "hashmap.h"

enum role {
        ROLE_COMMUNITY, /* the three team roles come first: team[] is indexed by them */
        ROLE_MEDICAL,
        ROLE_POLICE,
        ROLE_INSTALLER,
        ROLE_STAFF, /* command centre, IT, leaders without a field role */
        _ROLE_MAX,
        ROLE_INVALID = -1,
};
#define TEAM_ROLES 3

enum device_kind {
        DEVICE_DOOR_CONTACT,
        DEVICE_DOORBELL,
        DEVICE_CAMERA,
        _DEVICE_KIND_MAX,
        DEVICE_KIND_INVALID = -1,
};

enum escalation_step {
        STEP_TEAM,
        STEP_LEADER,
        STEP_COMMAND,
        _STEP_MAX,
        STEP_INVALID = -1,
};

const char *role_to_string(enum role r);
enum role role_from_string(const char *s);
const char *device_kind_to_string(enum device_kind k);
enum device_kind device_kind_from_string(const char *s);
const char *escalation_step_to_string(enum escalation_step s);
enum escalation_step escalation_step_from_string(const char *s);

struct worker;
struct household;
struct community;
struct adapter;

struct worker {
        char *id;
        char *name;
        enum role role;
        char *community_id; /* NULL for subdistrict-level staff */
        struct community *community;
        char *phone;     /* may be NULL */
        char **channels; /* notifier names */
        size_t n_channels;
        size_t index;
};

/* The default of a device's battery_low_mv: a 3 V lithium cell (CR2032, CR123A, CR2450)
 * under load is near its end at 2.6 V. */
#define CONFIG_BATTERY_LOW_MV_DEFAULT 2600

/* One per device of a city (200,000): no field that can be derived (the source is the
 * adapter's name, device_source()), 32-bit index. */
struct device {
        char *id;
        const struct adapter *adapter;
        void *adapter_config;       /* owned; freed with adapter->free_config */
        int64_t offline_after_usec; /* 0 = policy.offline_after[kind] */
        struct household *household;
        uint32_t index;
        enum device_kind kind;
        /* A battery that reports only its voltage is low at or below this (0 = never). */
        int battery_low_mv;
        bool invert;
};

/* The device's "source": its adapter's name ("native", "zigbee2mqtt", ...), NULL without
 * an adapter (an invalid entry). */
const char *device_source(const struct device *d);

struct schedule_entry {
        enum role role;
        int *at_min; /* minutes after local midnight */
        size_t n_at;
        int64_t window_usec;
};

/* obs_end_usec of an observation without a planned end ("end": null in households.json):
 * every comparison with an instant says "not ended yet"; printed as null or "open-ended". */
#define OBSERVATION_OPEN_END INT64_MAX

/* One per household of a city (100,000). */
struct household {
        char *id;
        char *community_id;
        struct community *community;
        char *address;
        /* The observation window [start, end); an open-ended observation ("end": null) ends
         * at OBSERVATION_OPEN_END. */
        int64_t obs_start_usec, obs_end_usec;
        struct worker *team[TEAM_ROLES];
        struct schedule_entry *schedule; /* shared by the households with the same schedule */
        struct device *devices;          /* the household's devices: a slice of config->devices */
        struct policy *policy;           /* the household's "policy" overrides applied, or NULL */
        uint32_t n_schedule;
        uint32_t n_devices;
        uint32_t index;
};

/* A shift starts on each day in days_mask (bit 0 = Monday ... bit 6 = Sunday) at
 * from_min local time and ends at to_min; to_min <= from_min means it ends the next day. */
struct shift {
        enum role role;
        struct worker *worker;
        uint8_t days_mask;
        int from_min, to_min;
};

struct roster_override {
        enum role role;
        struct worker *worker;
        int64_t from_usec, to_usec;
};

struct community {
        char *id;
        char *name; /* the office's name ("云锦路社区"), NULL when rosters.json has none */
        struct worker *leader; /* may be NULL when rosters.json does not name one */
        struct shift *shifts;
        size_t n_shifts;
        struct roster_override *overrides;
        size_t n_overrides;
        struct household **households;
        size_t n_households;
        size_t index;
};

struct policy {
        int64_t handoff_ring_window_usec;
        int64_t handoff_max_open_usec;
        int64_t held_open_after_usec;
        int64_t checkin_grace_usec;
        int resident_reports_per_day;
        int64_t ack_absorb_usec;
        int64_t pass_overdue_after_usec;
        int64_t offline_after_usec[_DEVICE_KIND_MAX];
        int64_t max_clock_skew_usec;
        int battery_low_percent;
        int64_t debounce_usec;
        int64_t person_window_usec;  /* camera person-out this close to an unexpected opening */
        int64_t chatter_settle_usec; /* an opening counts once open this long (issue 16) */
        /* Medical rounds (issue 18): a reading at or above fever_at (°C), or with one of
         * fever_symptoms (compared without case), raises fever. The list is doorwatch.json's
         * (households share it). */
        double fever_at;
        char **fever_symptoms;
        size_t n_fever_symptoms;
};

struct escalation {
        int64_t ack_timeout_usec;
        enum escalation_step steps[_STEP_MAX];
        size_t n_steps;
        int repeat;
        int64_t remind_every_usec;
};

struct mqtt_config {
        char *host;
        int port;
        char *client_id;
        char *username;      /* NULL = anonymous */
        char *password_file; /* resolved path; the password itself is read at connect time */
        char *ca_file, *cert_file, *key_file;
        int keepalive_sec;
        char *topic_prefix;
};

/* doorwatch.json "outbox": how long the outbox keeps trying (DESIGN.md §7). */
struct outbox_config {
        int64_t dead_after_usec; /* a failing row older than this is dead-lettered */
        int max_attempts;        /* ... or after this many failed attempts; 0 = no limit */
        int64_t retry_base_usec; /* first retry delay; doubles per attempt, jittered */
        int64_t retry_max_usec;  /* cap of the retry delay */
};

struct http_config {
        char *listen; /* "127.0.0.1:8088"; NULL: no HTTP server */
        char *public_url;
        char *token_file;
        char *ack_secret_file;
        int64_t ack_link_ttl_usec;    /* how long an ack link stays valid */
        int64_t worker_link_ttl_usec; /* how long a worker's page link stays valid */
        bool metrics_public;          /* /metrics without the API token (default: with it) */
};

/* Notifiers are validated by type-specific code in src/notify/; the raw JSON is kept. */
struct notifier_config {
        char *name;
        char *type;
        cJSON *json; /* owned copy of the notifier object */
};

struct config {
        char *dir;
        char *timezone;
        char *database;               /* resolved path, or a postgresql:// URI */
        char *database_password_file; /* resolved path; NULL: credential pg.password or libpq's */
        bool database_sync_full;
        int64_t retention_usec; /* purge a household's data this long after observation ends */
        struct mqtt_config mqtt;
        struct policy policy;
        struct escalation escalation;
        struct http_config http;
        struct outbox_config outbox;
        /* Broker unreachable this long: monitoring_gap to command + admins. */
        int64_t monitoring_gap_after_usec;
        /* The "templates" object of doorwatch.json (validated), NULL when absent. */
        cJSON *templates;

        struct notifier_config *notifiers;
        size_t n_notifiers;
        struct worker *workers;
        size_t n_workers;
        struct household *households;
        size_t n_households;
        struct device *devices; /* all households' devices, in registry order */
        size_t n_devices;
        struct community *communities;
        size_t n_communities;
        struct worker **command;
        size_t n_command;
        struct worker **admins;
        size_t n_admins;

        /* Owned storage behind the strings of households and devices and the schedules
         * households share (h->schedule points into it): freed whole. */
        struct arena arena;

        struct hashmap *worker_by_id;
        struct idmap *household_by_id; /* ids -> index (8 bytes a slot: a city has 300,000) */
        struct idmap *device_by_id;
        struct hashmap *community_by_id;
};

/* Loads and validates `dir` (config_load.c). On success returns 0 and *ret; with errors
 * returns -EINVAL and fills diag (warnings are collected in both cases). Allocation
 * failure aborts. */
int config_load(const char *dir, struct config **ret, struct config_diag *diag);
/* doorwatch.json alone, the registry (workers, households, rosters) left empty: for
 * read-only tools that go on with a broken registry to read the database it names.
 * Returns like config_load(). */
int config_load_settings(const char *dir, struct config **ret, struct config_diag *diag);
struct config *config_free(struct config *c);

struct worker *config_worker(const struct config *c, const char *id);
struct household *config_household(const struct config *c, const char *id);
struct device *config_device(const struct config *c, const char *id);
struct community *config_community(const struct config *c, const char *id);
/* One warning (into diag) listing the households under observation at now_usec that have
 * no device, "households: 3 household(s) under observation have no devices: A, B, C"
 * (the first CONFIG_LIST_IDS ids, then how many more). Returns how many there are. */
#define CONFIG_LIST_IDS 20
size_t config_check_devices(const struct config *c, int64_t now_usec, struct config_diag *diag);
/* The community with this id, or else this name (rosters.json "name"), or NULL. */
struct community *config_community_named(const struct config *c, const char *id_or_name);
/* The community's name for people: its "name" in rosters.json, else its id. */
const char *community_label(const struct community *c);
const struct notifier_config *config_notifier(const struct config *c, const char *name);
/* How many households are under observation at now_usec; when none, one warning into diag
 * that says why ("households: no household is under observation now ..."): such a
 * configuration is valid, but the daemon then ignores every door event. */
size_t config_check_observed(const struct config *c, int64_t now_usec, struct config_diag *diag);

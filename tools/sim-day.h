/* sim-day.h: a simulated day of a city district (sim-day.c): its registry, every message
 * its devices, workers and residents publish, and the alerts a clean day must raise. Used
 * by `doorwatch-sim day` and the whole-day tests (tests/integration/test-rules-day.c). */
#pragma once

#include <stddef.h>

struct sim_day_opts {
        size_t households; /* 300 */
        unsigned long seed;
        double chatter; /* share of openings whose contact chatters (a blip before, a bounce) */
        double repeat;  /* share of device messages delivered twice, and of closes re-reported */
};

/* One MQTT publish, in the order of the day (device and command times in the payloads). */
struct sim_day_msg {
        char *topic;
        char *payload;
};

/* An alert the day must raise, and nothing else. */
struct sim_day_alert {
        char household[16];
        const char *kind; /* static */
        double ts;        /* the opening it is about (Unix seconds): the alert's event_ts */
};

struct sim_day {
        /* The registry: workers.json, households.json, rosters.json. */
        char *workers_json, *households_json, *rosters_json;
        struct sim_day_msg *msgs;
        size_t n_msgs, cap_msgs;
        struct sim_day_alert *alerts; /* sorted by household, kind and time */
        size_t n_alerts, cap_alerts;
        size_t n_events;     /* distinct device events (what the daemon stores) */
        size_t n_commands;   /* check-ins, passes and pre-reports: one result each */
        size_t n_openings;   /* real openings */
        size_t n_chattering; /* of which with chatter */
};

/* 2020-02-06T00:00:00+08:00: the simulated day (Asia/Shanghai); observation from the day
 * before, so the daemon judges it with policy.max_clock_skew large. */
#define SIM_DAY_START 1580918400.0

/* Generates the day o describes into *ret (the same day for the same options). */
void sim_day_generate(const struct sim_day_opts *o, struct sim_day *ret);
void sim_day_free(struct sim_day *d);
/* "household kind ts" lines of the alerts, one each. The caller frees it. */
char *sim_day_alerts_text(const struct sim_day *d);

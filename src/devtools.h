/* devtools.h: the installers' tools behind `doorwatchctl device verify` and
 * `doorwatchctl device discover`.
 *
 * struct verify and struct discover are analyses fed one MQTT message at a time, with the
 * time passed in: no I/O, so tests drive them directly. devtools_verify() and
 * devtools_discover() connect to the configured broker and feed them from a blocking
 * libmosquitto loop (they are tools, not part of the daemon's event loop).
 *
 * verify subscribes to exactly the topics the device's adapter names and decodes them with
 * the device's own adapter and settings, as the daemon would; beside those it watches
 * similar topics (each level of each of the device's topics replaced by '+'; for
 * zigbee2mqtt its whole base topic), so that a wrong friendly name, Shelly id, Tasmota
 * topic, camera or RF code can be named. discover lists devices announced on the broker
 * that no registered device claims, each with a device entry to paste. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

enum verify_result {
        VERIFY_PENDING,
        VERIFY_PASS,
        VERIFY_FAIL,
};

enum verify_problem {
        VERIFY_OK,
        VERIFY_NOTHING,       /* nothing at all on the device's topics or similar ones */
        VERIFY_WRONG_NAME,    /* nothing on the device's topics, messages on similar ones */
        VERIFY_POLARITY,      /* open at rest / the opening seen as a closing: "invert" */
        VERIFY_RETAINED_ONLY, /* only the broker's retained copies, nothing live */
        VERIFY_INCOMPLETE,    /* live messages, but not the open and close (ring, person) */
        VERIFY_INVALID,       /* the device's messages are malformed for its adapter */
};

const char *verify_problem_to_string(enum verify_problem p);

struct verify;

int verify_new(const struct config *c, const struct device *d, struct verify **ret);
struct verify *verify_free(struct verify *v);
/* Topic filters to subscribe to: the first verify_n_own() are the device's own topics. */
size_t verify_n_filters(const struct verify *v);
size_t verify_n_own(const struct verify *v);
const char *verify_filter(const struct verify *v, size_t i);
/* What the installer should do now ("open the door, then close it"). */
const char *verify_instruction(const struct verify *v);

/* Feeds one message received at now_usec. `line` gets what it showed ("door open",
 * "similar topic ...", "" for nothing worth a line). Returns VERIFY_PASS or VERIFY_FAIL
 * once the outcome is settled, else VERIFY_PENDING. */
enum verify_result verify_feed(struct verify *v, const char *topic, const void *payload, size_t len,
                               bool retained, int64_t now_usec, char *line, size_t line_size);
/* Settles what only time settles (a door that passes once it stayed quiet a moment). */
enum verify_result verify_poll(struct verify *v, int64_t now_usec);
/* The outcome (at the end of the time, or once settled): PASS or FAIL, the problem, and an
 * explanation for the installer (owned by v). */
enum verify_result verify_outcome(struct verify *v, enum verify_problem *ret_problem,
                                  const char **ret_explanation);

struct discover;

struct discovered {
        const char *source; /* adapter name */
        const char *name;   /* friendly name, Shelly id, camera, Tasmota topic */
        const char *model;  /* what the ecosystem says it is; may be "" */
        const char *note;   /* what to check before pasting; may be "" */
        const char *entry;  /* a device entry for households.json, one line of JSON */
};

int discover_new(const struct config *c, struct discover **ret);
struct discover *discover_free(struct discover *ds);
size_t discover_n_filters(const struct discover *ds);
const char *discover_filter(const struct discover *ds, size_t i);
void discover_feed(struct discover *ds, const char *topic, const void *payload, size_t len,
                   bool retained, int64_t now_usec);
/* Devices seen that no registered device claims, in the order first seen. */
size_t discover_n_found(const struct discover *ds);
const struct discovered *discover_found(const struct discover *ds, size_t i);
/* Devices seen that are registered already, and devices seen that are not door devices. */
size_t discover_n_registered(const struct discover *ds);
size_t discover_n_skipped(const struct discover *ds);

/* Broker drivers: return the exit status of doorwatchctl (0 PASS / listed, 1 FAIL or
 * broker unreachable). Output goes to `out` (line-buffered by the caller), as a table or
 * JSON. */
int devtools_verify(const struct config *c, const struct device *d, int64_t timeout_usec, bool json,
                    FILE *out);
int devtools_discover(const struct config *c, int64_t seconds_usec, bool json, FILE *out);

/* routing.h: the daemon's routing table: which devices a topic is for, and what to
 * subscribe to. Built from a configuration (every device's adapter topics, then the
 * command filters); read-only afterwards. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct route {
        const struct device **devices;
        size_t n, cap;
};

/* A filter with one whole-level '+' whose routes are the filter with the '+' replaced by
 * the device id (native devices: <prefix>/devices/<id>/events). Such routes are not stored
 * one by one: a bit per device says which of these filters it is routed through, and an
 * incoming topic is matched against the few filters and its id looked up in the
 * configuration. At 100,000 households that saves ~90 MB of topic strings and map slots. */
#define ROUTING_ID_FILTERS_MAX 8

struct id_filter {
        char *filter;       /* owned */
        size_t prefix_len;  /* bytes before the '+' */
        const char *suffix; /* after the '+', into filter */
        size_t suffix_len;
};

struct routing {
        struct hashmap *routes; /* exact topic -> struct route (keys owned by route_keys) */
        char **route_keys;
        size_t n_route_keys, cap_route_keys;
        char **filters; /* what to subscribe to */
        size_t n_filters, cap_filters;
        struct id_filter id_filters[ROUTING_ID_FILTERS_MAX];
        size_t n_id_filters;
        uint8_t *id_routes; /* per device index: bit k = routed through id_filters[k] */
        size_t n_id_routes;
};

/* Builds the routing table of configuration c (aborts on OOM). */
void build_routes(struct routing *rt, const struct config *c);
void free_routes(struct routing *rt);
/* The devices a message on topic is for: *tmp is filled for an id route. NULL if none. */
const struct route *route_lookup(const struct routing *rt, const struct config *c,
                                 const char *topic, struct route *tmp, const struct device **one);

/* routing.c: the daemon's routing table (routing.h): exact topics in a hash map, and the
 * few "<prefix>/+/<suffix>" filters of native devices as id filters with a bit per device,
 * so 100,000 devices do not cost 100,000 topic strings. Moved unchanged from daemon.c. */
#include "routing.h"

#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "command.h"
#include "hashmap.h"
#include "log.h"
#include "topic.h"
#include "util.h"

/* The index of the id filter that produces `route` for device dev from `filter` (added
 * when new), or -1 when the route is not of that form or the id filters are used up. */
static int id_filter_for(struct routing *rt, const char *filter, const char *route,
                         const struct device *dev)
{
        const char *plus = strchr(filter, '+');
        size_t pl, sl, il = strlen(dev->id);

        if (!plus || strchr(plus + 1, '+') || strchr(filter, '#') ||
            (plus != filter && plus[-1] != '/') || (plus[1] && plus[1] != '/'))
                return -1;
        pl = (size_t)(plus - filter);
        sl = strlen(plus + 1);
        if (strlen(route) != pl + il + sl || strncmp(route, filter, pl) != 0 ||
            strncmp(route + pl, dev->id, il) != 0 || strcmp(route + pl + il, plus + 1) != 0)
                return -1;
        for (size_t k = 0; k < rt->n_id_filters; k++)
                if (strcmp(rt->id_filters[k].filter, filter) == 0)
                        return (int)k;
        if (rt->n_id_filters == ROUTING_ID_FILTERS_MAX)
                return -1;
        struct id_filter *f = &rt->id_filters[rt->n_id_filters];
        f->filter = xstrdup(filter);
        f->prefix_len = pl;
        f->suffix = f->filter + pl + 1;
        f->suffix_len = sl;
        return (int)rt->n_id_filters++;
}

static void route_add_device(struct route *r, const struct device *dev)
{
        GROW(r->devices, r->n, r->cap);
        r->devices[r->n++] = dev;
}

static void add_route(const char *filter, const char *route, void *userdata)
{
        void **ctx = userdata;
        struct routing *rt = ctx[0];
        const struct device *dev = ctx[1];
        struct route *r;
        bool known = false;
        int k = id_filter_for(rt, filter, route, dev);

        if (k >= 0) {
                rt->id_routes[dev->index] |= (uint8_t)(1u << k);
                rt->n_id_routes++;
        } else {
                r = hashmap_get(rt->routes, route);
                if (!r) {
                        char *key = xstrdup(route);
                        r = calloc(1, sizeof(*r));
                        if (!r)
                                abort();
                        GROW(rt->route_keys, rt->n_route_keys, rt->cap_route_keys);
                        rt->route_keys[rt->n_route_keys++] = key;
                        hashmap_put(rt->routes, key, r);
                }
                route_add_device(r, dev);
        }
        for (size_t i = 0; i < rt->n_filters && !known; i++)
                known = strcmp(rt->filters[i], filter) == 0;
        if (!known) {
                GROW(rt->filters, rt->n_filters, rt->cap_filters);
                rt->filters[rt->n_filters++] = xstrdup(filter);
        }
}

static void add_filter(struct routing *rt, const char *filter)
{
        GROW(rt->filters, rt->n_filters, rt->cap_filters);
        rt->filters[rt->n_filters++] = xstrdup(filter);
}

/* The device routed through an id filter for topic, or NULL. */
static const struct device *route_by_id(const struct routing *rt, const struct config *c,
                                        const char *topic, size_t len)
{
        char id[256];

        for (size_t k = 0; k < rt->n_id_filters; k++) {
                const struct id_filter *f = &rt->id_filters[k];
                const struct device *dev;
                size_t il;

                if (len <= f->prefix_len + f->suffix_len ||
                    memcmp(topic, f->filter, f->prefix_len) != 0 ||
                    memcmp(topic + len - f->suffix_len, f->suffix, f->suffix_len) != 0)
                        continue;
                il = len - f->prefix_len - f->suffix_len;
                if (il >= sizeof(id))
                        continue;
                memcpy(id, topic + f->prefix_len, il);
                id[il] = 0;
                dev = config_device(c, id);
                if (dev && (rt->id_routes[dev->index] & (1u << k)))
                        return dev;
        }
        return NULL;
}

static int cmp_device_index(const void *a, const void *b)
{
        const struct device *x = *(const struct device *const *)a;
        const struct device *y = *(const struct device *const *)b;
        return x->index < y->index ? -1 : x->index > y->index;
}

/* Builds the routing table of configuration c: every device's adapter topics, then the
 * command filters. */
void build_routes(struct routing *rt, const struct config *c)
{
        const char *prefix = c->mqtt.topic_prefix;

        rt->routes = hashmap_new(16);
        rt->id_routes = calloc(c->n_devices ? c->n_devices : 1, 1);
        if (!rt->id_routes)
                abort();
        for (size_t i = 0; i < c->n_devices; i++) {
                const struct device *dev = &c->devices[i];
                void *ctx[2] = { rt, (void *)dev };
                dev->adapter->topics(dev, prefix, add_route, ctx);
        }
        /* An exact route that is also some device's id route (an adapter that addresses by
         * other fields naming a native device's topic): the exact entry lists both, in
         * registry order, as one table would. */
        for (size_t i = 0; i < rt->n_route_keys && rt->n_id_filters > 0; i++) {
                const char *key = rt->route_keys[i];
                const struct device *dev = route_by_id(rt, c, key, strlen(key));
                struct route *r = hashmap_get(rt->routes, key);

                if (!dev)
                        continue;
                route_add_device(r, dev);
                qsort(r->devices, r->n, sizeof(*r->devices), cmp_device_index);
        }
        for (enum command_verb v = 0; v < _COMMAND_VERB_MAX; v++) {
                char filter[256];
                topic_format(filter, sizeof(filter), prefix,
                             command_verb_by_household(v) ? TOPIC_HOUSEHOLDS : TOPIC_WORKERS, NULL,
                             command_verb_to_string(v));
                add_filter(rt, filter);
        }
        log_info("routing: %zu device topics, %zu subscriptions",
                 hashmap_size(rt->routes) + rt->n_id_routes, rt->n_filters);
}

void free_routes(struct routing *rt)
{
        for (size_t i = 0; i < rt->n_route_keys; i++) {
                struct route *r = hashmap_get(rt->routes, rt->route_keys[i]);
                if (r) {
                        free(r->devices);
                        free(r);
                }
                free(rt->route_keys[i]);
        }
        free(rt->route_keys);
        hashmap_free(rt->routes);
        for (size_t i = 0; i < rt->n_filters; i++)
                free(rt->filters[i]);
        free(rt->filters);
        for (size_t k = 0; k < rt->n_id_filters; k++)
                free(rt->id_filters[k].filter);
        free(rt->id_routes);
        *rt = (struct routing){ 0 };
}

/* The devices a message on topic is for: *tmp is filled for an id route. NULL if none. */
const struct route *route_lookup(const struct routing *rt, const struct config *c,
                                 const char *topic, struct route *tmp, const struct device **one)
{
        const struct route *r = hashmap_get(rt->routes, topic);

        if (r)
                return r;
        *one = route_by_id(rt, c, topic, strlen(topic));
        if (!*one)
                return NULL;
        *tmp = (struct route){ .devices = one, .n = 1 };
        return tmp;
}

/* adapter-test.h: shared scaffolding for the adapter unit tests (test-adapter-*.c).
 *
 * Each test binary includes this once. It provides stand-ins for the config loader's
 * diagnostics (config_diag.c is not linked: the tests fill struct device by hand and call the
 * adapter's parse_device on a JSON entry), fixture loading from
 * tests/fixtures/devices/<adapter>/ (relative to the source tree, $DOORWATCH_SOURCE_DIR or
 * the current directory), and a small "test device" that owns a parsed device entry and
 * its struct device_state. */
#pragma once

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "adapter.h"
#include "util.h"

/* --- config_diag stand-ins (config_diag.c is not part of these tests) ------------------- */

static char last_diag_path[512];
static char all_diag_paths[4096]; /* every path reported, one per line */
static char last_diag_msg[512];
static int n_diag_errors;

void config_diag_error(struct config_diag *d, const char *file, const char *path, const char *fmt,
                       ...)
{
        va_list ap;

        (void)d;
        (void)file;
        if (!path)
                path = "";
        snprintf(last_diag_path, sizeof(last_diag_path), "%s", path);
        if (strlen(all_diag_paths) + strlen(path) + 2 < sizeof(all_diag_paths)) {
                strcat(all_diag_paths, path);
                strcat(all_diag_paths, "\n");
        }
        va_start(ap, fmt);
        vsnprintf(last_diag_msg, sizeof(last_diag_msg), fmt, ap);
        va_end(ap);
        n_diag_errors++;
}

void config_diag_done(struct config_diag *d)
{
        (void)d;
}

/* Asserts that an error was reported at exactly this JSON path. */
#define assert_diag(path)                                                                          \
        do {                                                                                       \
                char _line[600];                                                                   \
                snprintf(_line, sizeof(_line), "\n%s\n", (path));                                  \
                char _all[4200];                                                                   \
                snprintf(_all, sizeof(_all), "\n%s", all_diag_paths);                              \
                if (!strstr(_all, _line))                                                          \
                        fail_msg("no error at %s; errors at:\n%s", (path), all_diag_paths);        \
        } while (0)

/* --- fixtures -------------------------------------------------------------------------- */

static inline char *fixture(const char *adapter, const char *name, size_t *ret_len)
{
        const char *dir = getenv("DOORWATCH_SOURCE_DIR");
        char path[1024];
        char *buf = NULL;
        size_t len = 0;
        int r;

        snprintf(path, sizeof(path), "%s/tests/fixtures/devices/%s/%s", dir ? dir : ".", adapter,
                 name);
        r = read_file(path, 1024 * 1024, &buf, &len);
        if (r < 0)
                fail_msg("cannot read fixture %s: %s", path, strerror(-r));
        *ret_len = len;
        return buf;
}

/* --- test devices ---------------------------------------------------------------------- */

struct tdev {
        struct device d;
        struct device_state st;
        const struct adapter *a;
        struct adapter_decode_result out;
        int64_t now_usec;
        int64_t debounce_usec;
};

/* Parses `json` (a device entry) with the adapter; returns parse_device's result. */
static inline int tdev_try(struct tdev *t, const char *adapter, enum device_kind kind, bool invert,
                           const char *json)
{
        cJSON *entry = cJSON_Parse(json);
        int r;

        assert_non_null(entry);
        memset(t, 0, sizeof(*t));
        t->a = adapter_find(adapter);
        assert_non_null(t->a);
        t->d.id = (char *)"d-test";
        t->d.kind = kind;
        t->d.adapter = t->a;
        t->d.invert = invert;
        t->now_usec = 1580860800 * USEC_PER_SEC;
        n_diag_errors = 0;
        last_diag_path[0] = last_diag_msg[0] = all_diag_paths[0] = 0;
        r = t->a->parse_device(&t->d, entry, "households.json", "[0].devices[0]", NULL);
        cJSON_Delete(entry);
        return r;
}

static inline void tdev_init(struct tdev *t, const char *adapter, enum device_kind kind,
                             bool invert, const char *json)
{
        int r = tdev_try(t, adapter, kind, invert, json);
        if (r != 0)
                fail_msg("parse_device failed: %s: %s", last_diag_path, last_diag_msg);
        assert_non_null(t->d.adapter_config);
}

static inline void tdev_done(struct tdev *t)
{
        device_state_done(&t->st);
        if (t->a && t->a->free_config)
                t->a->free_config(t->d.adapter_config);
        t->d.adapter_config = NULL;
}

/* Decodes a payload given as a string. The clock advances one second per message. */
static inline int tdev_msg(struct tdev *t, const char *topic, const char *payload, size_t len,
                           bool retained)
{
        struct adapter_msg m = {
                .topic = topic,
                .payload = payload,
                .len = len,
                .retained = retained,
                .recv_usec = t->now_usec,
                .topic_prefix = "doorwatch/v1",
                .debounce_usec = t->debounce_usec,
        };
        int r;

        t->now_usec += USEC_PER_SEC;
        r = t->a->decode(&t->d, &m, &t->st, &t->out);
        assert_true(r >= 0 && r <= ADAPTER_E_NOT_MINE);
        if (r == ADAPTER_E_INVALID)
                assert_non_null(t->out.error);
        if (r != ADAPTER_OK)
                assert_int_equal(t->out.n_events, 0);
        else
                assert_true(t->out.n_events > 0);
        return r;
}

static inline int tdev_text(struct tdev *t, const char *topic, const char *payload, bool retained)
{
        return tdev_msg(t, topic, payload, strlen(payload), retained);
}

/* Decodes the fixture tests/fixtures/devices/<adapter>/<name>. */
static inline int tdev_fixture(struct tdev *t, const char *topic, const char *name, bool retained)
{
        size_t len;
        char *buf = fixture(device_source(&t->d), name, &len);
        int r = tdev_msg(t, topic, buf, len, retained);
        free(buf);
        return r;
}

/* The i-th event, checked for type. */
static inline const struct event *ev(const struct tdev *t, size_t i, enum event_type type)
{
        if (i >= t->out.n_events)
                fail_msg("expected event %zu (%s), got only %zu events", i,
                         event_type_to_string(type), t->out.n_events);
        if (t->out.events[i].type != type)
                fail_msg("event %zu: expected %s, got %s", i, event_type_to_string(type),
                         event_type_to_string(t->out.events[i].type));
        return &t->out.events[i];
}

/* Asserts the message produced exactly one event, of this type, and returns it. */
static inline const struct event *only(const struct tdev *t, enum event_type type)
{
        assert_int_equal(t->out.n_events, 1);
        return ev(t, 0, type);
}

static inline void assert_door(const struct tdev *t, enum door_state s, bool retained)
{
        const struct event *e = only(t, EVENT_DOOR);
        assert_int_equal(e->door, s);
        assert_int_equal(e->retained, retained);
        assert_int_equal(t->st.door, s);
}

/* The (filter, route) pairs a device's topics() reports. */
struct route_list {
        char filters[16][256];
        char routes[16][256];
        size_t n;
};

static inline void route_cb(const char *filter, const char *route, void *userdata)
{
        struct route_list *l = userdata;

        assert_true(l->n < 16);
        assert_true(strlen(filter) < 256 && strlen(route) < 256);
        /* narrow subscriptions: never a multi-level wildcard, routes are exact */
        assert_null(strchr(filter, '#'));
        assert_null(strchr(route, '#'));
        assert_null(strchr(route, '+'));
        snprintf(l->filters[l->n], sizeof(l->filters[l->n]), "%s", filter);
        snprintf(l->routes[l->n], sizeof(l->routes[l->n]), "%s", route);
        l->n++;
}

static inline void tdev_routes(const struct tdev *t, struct route_list *l)
{
        memset(l, 0, sizeof(*l));
        t->a->topics(&t->d, "doorwatch/v1", route_cb, l);
}

static inline bool has_route(const struct route_list *l, const char *route)
{
        for (size_t i = 0; i < l->n; i++)
                if (strcmp(l->routes[i], route) == 0)
                        return true;
        return false;
}

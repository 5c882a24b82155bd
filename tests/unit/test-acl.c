/* test-acl.c: the shipped broker ACL (conf/mosquitto.acl) lets the daemon read every topic
 * each adapter subscribes to with its default settings, and lets the publisher of each of
 * those topics (the device under its own user name, or its bridge) write it. The topics
 * come from the adapters themselves (their topics() for a device of every ecosystem,
 * configured with defaults only), the rules from the file, matched the way mosquitto
 * matches them (%u replaced by the user name). */
#include <mosquitto.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "adapter.h"
#include "config.h"
#include "util.h"

#define MAX_RULES 128

struct rule {
        char user[64]; /* "" for a pattern (every user) */
        bool read, write;
        char filter[256]; /* may hold %u */
};

static struct rule rules[MAX_RULES];
static size_t n_rules;

static void load_acl(void)
{
        const char *src = getenv("DOORWATCH_SOURCE_DIR");
        char path[512], line[512], user[64] = "";
        FILE *f;

        snprintf(path, sizeof(path), "%s/conf/mosquitto.acl", src ? src : ".");
        f = fopen(path, "r");
        assert_non_null(f);
        while (fgets(line, sizeof(line), f)) {
                char kind[16], access[16], filter[256];

                line[strcspn(line, "\n")] = 0;
                if (sscanf(line, "user %63s", user) == 1)
                        continue;
                if (sscanf(line, "%15s %15s %255s", kind, access, filter) != 3 ||
                    (strcmp(kind, "topic") != 0 && strcmp(kind, "pattern") != 0))
                        continue;
                assert_true(n_rules < MAX_RULES);
                struct rule *r = &rules[n_rules++];
                snprintf(r->user, sizeof(r->user), "%s", strcmp(kind, "pattern") == 0 ? "" : user);
                r->read = strcmp(access, "read") == 0 || strcmp(access, "readwrite") == 0;
                r->write = strcmp(access, "write") == 0 || strcmp(access, "readwrite") == 0;
                snprintf(r->filter, sizeof(r->filter), "%s", filter);
        }
        fclose(f);
        assert_true(n_rules > 10);
}

/* Whether user may read (or write) topic. */
static bool allowed(const char *user, const char *topic, bool write)
{
        for (size_t i = 0; i < n_rules; i++) {
                const struct rule *r = &rules[i];
                char filter[512];
                bool match = false;
                char *u;

                if ((write && !r->write) || (!write && !r->read))
                        continue;
                if (r->user[0] && strcmp(r->user, user) != 0)
                        continue;
                snprintf(filter, sizeof(filter), "%s", r->filter);
                if (!r->user[0] && (u = strstr(filter, "%u"))) {
                        char rest[512];
                        snprintf(rest, sizeof(rest), "%s", u + 2);
                        snprintf(u, sizeof(filter) - (size_t)(u - filter), "%s%s", user, rest);
                }
                if (mosquitto_topic_matches_sub(filter, topic, &match) == MOSQ_ERR_SUCCESS && match)
                        return true;
        }
        return false;
}

static void put(const char *dir, const char *name, const char *content)
{
        char path[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs(content, f);
        fclose(f);
}

/* Every ecosystem's device with its defaults, and who publishes its topics: the device
 * under its own user name, or its bridge's user. */
static const struct {
        const char *json, *publisher;
} devices[] = {
        { "{\"id\": \"d-native\", \"kind\": \"door_contact\", \"source\": \"native\"}",
          "d-native" },
        { "{\"id\": \"d-z2m\", \"kind\": \"door_contact\", \"source\": \"zigbee2mqtt\","
          " \"friendly_name\": \"ward3 door\"}",
          "zigbee2mqtt" },
        { "{\"id\": \"d-sh1\", \"kind\": \"door_contact\", \"source\": \"shelly\","
          " \"shelly_id\": \"shellydw2-483FDA\"}",
          "shellydw2-483FDA" },
        { "{\"id\": \"d-sh2\", \"kind\": \"door_contact\", \"source\": \"shelly\","
          " \"shelly_id\": \"shellyplusi4-a8032ab12345\", \"input\": 0}",
          "shellyplusi4-a8032ab12345" },
        { "{\"id\": \"d-frg\", \"kind\": \"camera\", \"source\": \"frigate\","
          " \"camera\": \"front_door\"}",
          "frigate" },
        { "{\"id\": \"d-ring\", \"kind\": \"doorbell\", \"source\": \"ring\","
          " \"location_id\": \"5ab9e4c1\", \"ring_device_id\": \"3c8d2f112233\"}",
          "ring-mqtt" },
        { "{\"id\": \"d-tas\", \"kind\": \"door_contact\", \"source\": \"tasmota\","
          " \"tasmota_topic\": \"door402\"}",
          "door402" },
        { "{\"id\": \"d-esp\", \"kind\": \"door_contact\", \"source\": \"esphome\","
          " \"esphome_prefix\": \"ward3-door402\", \"object_id\": \"front_door\"}",
          "ward3-door402" },
};

struct seen {
        const char *publisher;
        size_t n;
        char failures[4096];
};

static void check_route(const char *filter, const char *route, void *userdata)
{
        struct seen *s = userdata;
        size_t len = strlen(s->failures);

        s->n++;
        if (!allowed("doorwatchd", route, false))
                snprintf(s->failures + len, sizeof(s->failures) - len,
                         "the daemon may not read %s\n", route);
        len = strlen(s->failures);
        if (!allowed(s->publisher, route, true) && !strstr(route, "/bridge/"))
                snprintf(s->failures + len, sizeof(s->failures) - len, "%s may not write %s\n",
                         s->publisher, route);
}

static void test_acl_covers_default_topics(void **state)
{
        char dir[64] = "/tmp/doorwatch-test-acl-XXXXXX", households[8192] = "[", cmd[128];
        struct config *c = NULL;
        struct config_diag diag = { 0 };
        struct seen s = { 0 };

        load_acl();
        assert_non_null(mkdtemp(dir));
        for (size_t i = 0; i < ELEMENTSOF(devices); i++) {
                char h[1024];
                snprintf(h, sizeof(h),
                         "%s{\"id\": \"H-%zu\", \"community\": \"c1\", \"address\": \"A %zu\","
                         " \"observation\": {\"start\": \"2020-01-01T00:00:00+08:00\","
                         " \"end\": \"2099-01-01T00:00:00+08:00\"},"
                         " \"team\": {\"community\": \"w1\", \"medical\": \"w2\", \"police\": "
                         "\"w3\"}, \"devices\": [%s]}",
                         i ? "," : "", i, i, devices[i].json);
                strcat(households, h);
        }
        strcat(households, "]");
        put(dir, "doorwatch.json", "{\"timezone\": \"Asia/Shanghai\"}");
        put(dir, "workers.json",
            "[{\"id\": \"w1\", \"name\": \"W\", \"role\": \"community\", \"community\": \"c1\"},"
            " {\"id\": \"w2\", \"name\": \"M\", \"role\": \"medical\", \"community\": \"c1\"},"
            " {\"id\": \"w3\", \"name\": \"P\", \"role\": \"police\", \"community\": \"c1\"}]");
        put(dir, "households.json", households);
        put(dir, "rosters.json",
            "{\"communities\": {\"c1\": {\"leader\": \"w1\"}}, "
            "\"command\": [\"w1\"], \"admins\": [\"w1\"]}");
        if (config_load(dir, &c, &diag) < 0)
                fail_msg("configuration: %s", diag.n_errors ? diag.errors[0] : "?");
        config_diag_done(&diag);
        mosquitto_lib_init();
        for (size_t i = 0; i < c->n_devices; i++) {
                const struct device *d = &c->devices[i];
                for (size_t k = 0; k < ELEMENTSOF(devices); k++)
                        if (strstr(devices[k].json, d->id))
                                s.publisher = devices[k].publisher;
                d->adapter->topics(d, c->mqtt.topic_prefix, check_route, &s);
        }
        mosquitto_lib_cleanup();
        config_free(c);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        assert_int_equal(system(cmd), 0);
        printf("# %zu topics of %zu devices checked\n", s.n, ELEMENTSOF(devices));
        if (s.failures[0])
                fail_msg("conf/mosquitto.acl:\n%s", s.failures);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_acl_covers_default_topics),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

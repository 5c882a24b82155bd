/* fuzz-adapters.c: a libFuzzer target for every adapter's decode(), and (built with
 * -DFUZZ_MKCORPUS) the tool that turns test fixtures into its seed corpus.
 *
 * A fixed set of devices of every adapter and mode is configured once through the adapters'
 * own parse_device(). Their topics() give a table of exact routes (sorted, so indices are
 * stable), followed by a few topics no device subscribes to. An input is a sequence of
 * messages, each a record:
 *
 *   [selector u8] [flags u8] [payload length u16 little-endian] [payload]
 *
 * selector % table size picks the topic; the message goes to every device routed there
 * (all devices for the unrouted topics), as the daemon would deliver it. flags bit 0 is the
 * retained flag, bits 1-3 advance the clock (from 0 to 25 h, or back 1 s), bit 4 turns on a
 * 2 s debounce. The last record may be shorter than its length says. Device state starts
 * zeroed for each input, so every input replays deterministically.
 *
 * Besides the sanitizers, each result is checked against the adapter contract (outcome
 * codes, event counts, enum ranges, NUL-terminated ids, the retained flag passed through);
 * a violation aborts. Payloads larger than ADAPTER_MAX_PAYLOAD are dropped, as the daemon
 * drops them before any adapter sees them. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "util.h"

/* The adapters report configuration errors here; config_diag.c is not linked. */
void config_diag_error(struct config_diag *d, const char *file, const char *path, const char *fmt,
                       ...)
{
        (void)d;
        fprintf(stderr, "fuzz: bad device entry %s: %s: %s\n", file, path ? path : "-", fmt);
        abort();
}

void config_diag_done(struct config_diag *d)
{
        (void)d;
}

static const struct {
        const char *source;
        enum device_kind kind;
        bool invert;
        const char *json;
} fuzz_devices[] = {
        { "native", DEVICE_DOOR_CONTACT, false, "{}" },
        { "zigbee2mqtt", DEVICE_DOOR_CONTACT, false, "{\"friendly_name\":\"ward3/front door\"}" },
        { "zigbee2mqtt", DEVICE_DOORBELL, false, "{\"friendly_name\":\"chl/0001/bell\"}" },
        { "zigbee2mqtt", DEVICE_DOOR_CONTACT, true,
          "{\"friendly_name\":\"door\",\"base_topic\":\"z2m/site1\"}" },
        { "shelly", DEVICE_DOOR_CONTACT, false, "{\"shelly_id\":\"shellydw2-483FDA\"}" },
        { "shelly", DEVICE_DOOR_CONTACT, false,
          "{\"shelly_id\":\"shellyplusi4-a8032ab12345\",\"input\":0}" },
        { "shelly", DEVICE_DOORBELL, false,
          "{\"shelly_id\":\"shellyplusi4-a8032ab12345\",\"input\":1}" },
        { "shelly", DEVICE_DOOR_CONTACT, false,
          "{\"shelly_id\":\"shellyplus1-441793a1b2c3\",\"blu_address\":\"60:ef:ab:42:ed:25\"}" },
        { "shelly", DEVICE_DOORBELL, false,
          "{\"shelly_id\":\"shellyplus1-441793a1b2c3\",\"blu_address\":\"5c:c7:c1:f2:e4:7c\"}" },
        { "shelly", DEVICE_DOOR_CONTACT, false,
          "{\"shelly_id\":\"shellypro2-2cbcbb9f1a2b\",\"bthome_sensor\":202,\"bthome_device\":"
          "200}" },
        { "frigate", DEVICE_CAMERA, false,
          "{\"camera\":\"front_door\",\"zones_out\":[\"stairs\"],\"zones_in\":[\"doorstep\"]}" },
        { "frigate", DEVICE_CAMERA, false, "{\"camera\":\"back_yard\"}" },
        { "ring", DEVICE_DOORBELL, false,
          "{\"location_id\":\"5ab9e4c1-8d2f-4c4e-9a33-0123456789ab\","
          "\"ring_device_id\":\"3c8d2f112233\"}" },
        { "ring", DEVICE_DOOR_CONTACT, false,
          "{\"location_id\":\"5ab9e4c1-8d2f-4c4e-9a33-0123456789ab\","
          "\"ring_device_id\":\"0a1b2c3d-4e5f\"}" },
        { "tasmota", DEVICE_DOOR_CONTACT, false, "{\"tasmota_topic\":\"door402\"}" },
        { "tasmota", DEVICE_DOORBELL, false,
          "{\"tasmota_topic\":\"door402\",\"switch\":\"Door\"}" },
        { "tasmota", DEVICE_DOOR_CONTACT, false,
          "{\"tasmota_topic\":\"rfbridge\",\"tasmota_mode\":\"rf\",\"codes\":{\"4AF10A\":\"open\","
          "\"4AF10E\":\"closed\",\"4AF107\":\"tamper\",\"4AF106\":\"battery_low\"}}" },
        { "tasmota", DEVICE_DOORBELL, false,
          "{\"tasmota_topic\":\"rfbridge\",\"tasmota_mode\":\"rf\",\"codes\":{\"9C1E0A\":\"ring\","
          "\"9C1E0F\":\"heartbeat\"}}" },
        { "tasmota", DEVICE_DOOR_CONTACT, false,
          "{\"tasmota_topic\":\"zbbridge\",\"tasmota_mode\":\"zigbee\",\"zigbee_device\":"
          "\"0x8F20\"}" },
        { "tasmota", DEVICE_DOOR_CONTACT, false,
          "{\"tasmota_topic\":\"zbbridge\",\"tasmota_mode\":\"zigbee\",\"zigbee_device\":"
          "\"Door402\"}" },
        { "esphome", DEVICE_DOOR_CONTACT, false,
          "{\"esphome_prefix\":\"ward3-door402\",\"object_id\":\"front_door\","
          "\"battery_object_id\":\"battery_level\",\"tamper_object_id\":\"case_open\"}" },
        { "esphome", DEVICE_DOORBELL, false,
          "{\"esphome_prefix\":\"esp/bell\",\"object_id\":\"button\"}" },
};
#define N_DEVICES ELEMENTSOF(fuzz_devices)

/* Topics nobody subscribes to, delivered to every device: decode must refuse them. */
static const char *const unrouted[] = {
        "zigbee2mqtt/bridge/devices",
        "zigbee2mqtt/ward3/front door/set",
        "frigate/front_door/person",
        "frigate/front_door/person/snapshot",
        "frigate/reviews",
        "tele/door402/STATE",
        "",
};

#define MAX_ROUTES 128

struct route {
        char topic[256];
        uint32_t devices; /* bitmask of device indices */
};

static struct device devices[N_DEVICES];
static struct route routes[MAX_ROUTES];
static size_t n_routes;

static void add_route(const char *filter, const char *route, void *userdata)
{
        size_t dev = *(const size_t *)userdata;

        (void)filter;
        for (size_t i = 0; i < n_routes; i++)
                if (strcmp(routes[i].topic, route) == 0) {
                        routes[i].devices |= UINT32_C(1) << dev;
                        return;
                }
        if (n_routes >= MAX_ROUTES || strlen(route) >= sizeof(routes[0].topic))
                abort();
        snprintf(routes[n_routes].topic, sizeof(routes[0].topic), "%s", route);
        routes[n_routes++].devices = UINT32_C(1) << dev;
}

static int route_cmp(const void *a, const void *b)
{
        return strcmp(((const struct route *)a)->topic, ((const struct route *)b)->topic);
}

static void setup(void)
{
        static bool done;

        if (done)
                return;
        done = true;
        _Static_assert(N_DEVICES <= 32, "device bitmask");
        for (size_t i = 0; i < N_DEVICES; i++) {
                struct device *d = &devices[i];
                d->id = (char *)"d-fuzz";
                d->kind = fuzz_devices[i].kind;
                d->invert = fuzz_devices[i].invert;
                d->adapter = adapter_find(fuzz_devices[i].source);
                if (!d->adapter)
                        abort();
                if (d->adapter->parse_device) {
                        cJSON *entry = cJSON_Parse(fuzz_devices[i].json);
                        if (!entry ||
                            d->adapter->parse_device(d, entry, "fuzz.json", "[0]", NULL) < 0)
                                abort();
                        cJSON_Delete(entry);
                }
                d->adapter->topics(d, "doorwatch/v1", add_route, &i);
        }
        qsort(routes, n_routes, sizeof(routes[0]), route_cmp);
        for (size_t i = 0; i < ELEMENTSOF(unrouted); i++) {
                if (n_routes >= MAX_ROUTES)
                        abort();
                snprintf(routes[n_routes].topic, sizeof(routes[0].topic), "%s", unrouted[i]);
                routes[n_routes++].devices = (UINT32_C(1) << N_DEVICES) - 1;
        }
}

#define CHECK(x)                                                                                   \
        do {                                                                                       \
                if (!(x)) {                                                                        \
                        fprintf(stderr,                                                            \
                                "fuzz: contract violated: %s (%s:%d): %s on \"%s\" -> %d, "        \
                                "%zu events\n",                                                    \
                                #x, __FILE__, __LINE__, device_source(d), m->topic, r,             \
                                out->n_events);                                                    \
                        abort();                                                                   \
                }                                                                                  \
        } while (0)

static void check_result(const struct device *d, const struct adapter_msg *m, int r,
                         const struct adapter_decode_result *out, const struct device_state *st)
{
        CHECK(r == ADAPTER_OK || r == ADAPTER_E_IGNORED || r == ADAPTER_E_INVALID ||
              r == ADAPTER_E_NOT_MINE);
        CHECK(out->n_events <= ADAPTER_MAX_EVENTS);
        CHECK(r == ADAPTER_OK ? out->n_events > 0 : out->n_events == 0);
        CHECK(r != ADAPTER_E_INVALID || out->error);
        for (size_t i = 0; i < out->n_events; i++) {
                const struct event *e = &out->events[i];
                CHECK(e->type >= 0 && e->type < _EVENT_TYPE_MAX);
                CHECK(memchr(e->id, 0, sizeof(e->id)));
                CHECK(memchr(e->bridge_id, 0, sizeof(e->bridge_id)));
                CHECK(e->battery_percent >= -1 && e->battery_percent <= 100);
                CHECK(e->battery_mv >= 0);
                CHECK(e->retained == m->retained);
                CHECK(!e->has_ts || (isfinite(e->ts) && e->ts > 0));
                if (e->type == EVENT_DOOR)
                        CHECK(e->door == DOOR_OPEN || e->door == DOOR_CLOSED);
                if (e->type == EVENT_PERSON)
                        CHECK(e->direction >= DIRECTION_NONE && e->direction <= DIRECTION_IN);
                if (e->bridge)
                        CHECK(e->type == EVENT_AVAILABILITY && e->bridge_id[0]);
        }
        CHECK(st->door >= DOOR_UNKNOWN && st->door <= DOOR_CLOSED);
        CHECK(!st->recent || st->recent->next < DEVICE_STATE_RECENT_IDS);
        for (size_t i = 0; st->recent && i < DEVICE_STATE_RECENT_IDS; i++)
                CHECK(st->recent->dirs[i] <= DIRECTION_IN);
}

#define CHECK_STATE(x)                                                                             \
        do {                                                                                       \
                if (!(x)) {                                                                        \
                        fprintf(stderr, "fuzz: %s changed state on a refused message (%d)\n",      \
                                device_source(&devices[i]), r);                                    \
                        abort();                                                                   \
                }                                                                                  \
        } while (0)

static const int64_t clock_steps_usec[8] = {
        0,
        100 * USEC_PER_MSEC,
        USEC_PER_SEC,
        5 * USEC_PER_SEC,
        61 * USEC_PER_SEC,
        USEC_PER_HOUR,
        -USEC_PER_SEC,
        25 * USEC_PER_HOUR,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct device_state states[N_DEVICES];
        int64_t now_usec = 1580860800 * USEC_PER_SEC;

        setup();
        memset(states, 0, sizeof(states));
        while (size >= 4) {
                const struct route *rt = &routes[data[0] % n_routes];
                uint8_t flags = data[1];
                size_t len = (size_t)data[2] | (size_t)data[3] << 8;
                char *payload;

                data += 4;
                size -= 4;
                len = MIN(len, size);
                now_usec += clock_steps_usec[(flags >> 1) & 7];
                /* a copy of exactly len bytes, so ASan sees any read past the payload */
                payload = malloc(len ? len : 1);
                if (!payload)
                        abort();
                memcpy(payload, data, len);
                if (len <= ADAPTER_MAX_PAYLOAD) {
                        struct adapter_msg m = {
                                .topic = rt->topic,
                                .payload = payload,
                                .len = len,
                                .retained = flags & 1,
                                .recv_usec = now_usec,
                                .topic_prefix = "doorwatch/v1",
                                .debounce_usec = (flags & 0x10) ? 2 * USEC_PER_SEC : 0,
                        };
                        for (size_t i = 0; i < N_DEVICES; i++) {
                                struct adapter_decode_result out;
                                int r;
                                if (!(rt->devices & (UINT32_C(1) << i)))
                                        continue;
                                struct device_state before = states[i];
                                memset(&out, 0xa5, sizeof(out)); /* decode must initialise */
                                r = devices[i].adapter->decode(&devices[i], &m, &states[i], &out);
                                check_result(&devices[i], &m, r, &out, &states[i]);
                                /* a refused message leaves the device state as it was */
                                if (r == ADAPTER_E_INVALID || r == ADAPTER_E_NOT_MINE)
                                        CHECK_STATE(memcmp(&before, &states[i], sizeof(before)) ==
                                                    0);
                        }
                }
                free(payload);
                data += len;
                size -= len;
        }
        for (size_t i = 0; i < N_DEVICES; i++)
                device_state_done(&states[i]);
        return 0;
}

#ifdef FUZZ_MKCORPUS
/* mkcorpus MANIFEST OUTDIR: each manifest line "flags<TAB>topic<TAB>fixture[<TAB>topic<TAB>
 * fixture…]" becomes one corpus file (named after its first fixture) holding those records.
 * Lines starting with '#' are comments. Fixture paths are relative to the working directory. */
static int write_record(FILE *f, const char *topic, const char *fixture, unsigned flags)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, i;
        int r;

        for (i = 0; i < n_routes; i++)
                if (strcmp(routes[i].topic, topic) == 0)
                        break;
        if (i == n_routes) {
                fprintf(stderr, "mkcorpus: no device has route \"%s\"\n", topic);
                return -ENOENT;
        }
        r = read_file(fixture, 65535, &buf, &len);
        if (r < 0) {
                fprintf(stderr, "mkcorpus: %s: %s\n", fixture, strerror(-r));
                return r;
        }
        fputc((int)i, f);
        fputc((int)flags, f);
        fputc((int)(len & 0xff), f);
        fputc((int)(len >> 8), f);
        fwrite(buf, 1, len, f);
        return 0;
}

int main(int argc, char **argv)
{
        _cleanup_fclose_ FILE *manifest = NULL;
        char line[4096];
        int n = 0;

        if (argc != 3) {
                fprintf(stderr, "usage: %s MANIFEST OUTDIR\n", argv[0]);
                return 2;
        }
        setup();
        if (n_routes > 256) {
                fprintf(stderr, "mkcorpus: more routes than a selector byte can address\n");
                return 1;
        }
        manifest = fopen(argv[1], "re");
        if (!manifest) {
                perror(argv[1]);
                return 1;
        }
        while (fgets(line, sizeof(line), manifest)) {
                char *fields[16], *save = NULL, *tok, path[4200], name[256];
                size_t nf = 0;
                _cleanup_fclose_ FILE *out = NULL;
                unsigned flags;

                line[strcspn(line, "\n")] = 0;
                if (!line[0] || line[0] == '#')
                        continue;
                for (tok = strtok_r(line, "\t", &save); tok && nf < ELEMENTSOF(fields);
                     tok = strtok_r(NULL, "\t", &save))
                        fields[nf++] = tok;
                if (nf < 3 || nf % 2 == 0) {
                        fprintf(stderr, "mkcorpus: bad line: %s\n", line);
                        return 1;
                }
                flags = (unsigned)strtoul(fields[0], NULL, 0);
                /* <adapter dir>-<fixture>[-f<flags>][-seq] */
                tok = strrchr(fields[2], '/');
                if (tok && tok != fields[2]) {
                        const char *dir = tok - 1;
                        while (dir > fields[2] && dir[-1] != '/')
                                dir--;
                        snprintf(name, sizeof(name), "%.*s-%s", (int)(tok - dir), dir, tok + 1);
                } else
                        snprintf(name, sizeof(name), "%s", fields[2]);
                snprintf(path, sizeof(path), "%s/%s%s%.0u%s", argv[2], name, flags ? "-f" : "",
                         flags, nf > 3 ? "-seq" : "");
                out = fopen(path, "we");
                if (!out) {
                        perror(path);
                        return 1;
                }
                for (size_t i = 1; i + 1 < nf; i += 2)
                        if (write_record(out, fields[i], fields[i + 1], flags) < 0)
                                return 1;
                n++;
        }
        printf("mkcorpus: %d inputs, %zu routes\n", n, n_routes);
        return 0;
}
#endif

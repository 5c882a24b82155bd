/* fuzz-commands.c: a libFuzzer target for the one command path (command.h): every verb
 * (ack, resolve, checkin, pass, report) from every front door, as a JSON payload (an MQTT
 * message, an HTTP body: command_parse_payload()) and as form fields (a link's page:
 * command_parse_fields()), what a worker's phone, a resident's page or a stranger on the
 * broker can send.
 *
 * An input is [verb u8] [origin u8] [time u8] then the payload. verb % 5 picks the verb;
 * origin bits pick the channel (bits 0-2), whether the acting worker or household comes
 * from the topic (bit 3; else the body names it, as the operator API does), whether the
 * alert comes from the path (bit 4), form fields instead of JSON (bit 5: the payload is
 * then "key=value" pairs separated by '&', no decoding), and a worker of another community
 * as the topic's actor (bit 6). The configuration (two communities, workers, households)
 * is loaded once from a directory written at start.
 *
 * Besides the sanitizers, the contract is checked and a violation aborts: the outcome is 0
 * or a COMMAND_E_* (or -ENOMEM); a refusal says why; an accepted command names its actor
 * and the records it acts on, and every text it carries is NUL-terminated, within its
 * bound and valid UTF-8; a payload with NUL or invalid UTF-8 is never accepted; a pass's
 * window is not empty. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "command.h"
#include "config.h"
#include "config_diag.h"
#include "util.h"

static struct config *cfg;

static void check(bool ok, const char *what)
{
        if (!ok) {
                fprintf(stderr, "fuzz-commands: contract violated: %s\n", what);
                abort();
        }
}

static void put(const char *dir, const char *name, const char *content)
{
        char path[256];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "w");
        if (!f || fputs(content, f) < 0)
                abort();
        fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        char dir[64];

        snprintf(dir, sizeof(dir), "/tmp/fuzz-commands-XXXXXX");
        if (!mkdtemp(dir))
                abort();
        put(dir, "doorwatch.json", "{\"timezone\": \"Asia/Shanghai\", \"http\": null}");
        put(dir, "workers.json",
            "[{\"id\": \"w-a\", \"name\": \"A\", \"role\": \"community\", \"community\": \"c1\"},"
            " {\"id\": \"w-m\", \"name\": \"M\", \"role\": \"medical\", \"community\": \"c1\"},"
            " {\"id\": \"w-p\", \"name\": \"P\", \"role\": \"police\", \"community\": \"c1\"},"
            " {\"id\": \"w-l\", \"name\": \"L\", \"role\": \"staff\", \"community\": \"c1\"},"
            " {\"id\": \"w-x\", \"name\": \"X\", \"role\": \"community\", \"community\": \"c2\"},"
            " {\"id\": \"w-c\", \"name\": \"C\", \"role\": \"staff\", \"community\": \"c1\"}]");
        put(dir, "households.json",
            "[{\"id\": \"H-1\", \"community\": \"c1\", \"address\": \"A 1\","
            "  \"observation\": {\"start\": \"2020-01-01T00:00:00+08:00\","
            "                    \"end\": \"2099-01-01T00:00:00+08:00\"},"
            "  \"team\": {\"community\": \"w-a\", \"medical\": \"w-m\", \"police\": \"w-p\"},"
            "  \"devices\": [{\"id\": \"d-1\", \"kind\": \"door_contact\", \"source\": "
            "\"native\"}]},"
            " {\"id\": \"H-2\", \"community\": \"c2\", \"address\": \"B 2\","
            "  \"observation\": {\"start\": \"2020-01-01T00:00:00+08:00\","
            "                    \"end\": \"2099-01-01T00:00:00+08:00\"},"
            "  \"team\": {\"community\": \"w-x\", \"medical\": \"w-m\", \"police\": \"w-p\"}}]");
        put(dir, "rosters.json",
            "{\"communities\": {\"c1\": {\"leader\": \"w-l\"}, \"c2\": {\"leader\": \"w-x\"}},"
            " \"command\": [\"w-c\"], \"admins\": [\"w-c\"]}");
        struct config_diag diag = { 0 };
        if (config_load(dir, &cfg, &diag) < 0) {
                for (size_t i = 0; i < diag.n_errors; i++)
                        fprintf(stderr, "fuzz-commands: %s\n", diag.errors[i]);
                fprintf(stderr, "fuzz-commands: the fixed configuration does not load\n");
                abort();
        }
        config_diag_done(&diag);
        timezone_set("Asia/Shanghai");
        return 0;
}

struct form {
        const char *p;
        size_t len;
};

/* "key=value&key=value" without decoding: the first pair whose key is `key`. */
static bool form_get(void *userdata, const char *key, char *buf, size_t size)
{
        const struct form *f = userdata;
        size_t kl = strlen(key);

        for (size_t i = 0; i < f->len;) {
                const char *pair = f->p + i;
                const char *amp = memchr(pair, '&', f->len - i);
                size_t n = amp ? (size_t)(amp - pair) : f->len - i;
                if (n > kl && memcmp(pair, key, kl) == 0 && pair[kl] == '=') {
                        size_t vl = n - kl - 1;
                        if (vl >= size || memchr(pair + kl + 1, 0, vl))
                                return false;
                        memcpy(buf, pair + kl + 1, vl);
                        buf[vl] = 0;
                        return true;
                }
                i += n + 1;
        }
        return false;
}

static void check_text(const char *s, size_t size, const char *what)
{
        size_t n = strnlen(s, size);
        check(n < size, what);
        check(text_valid(s, n), what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const actors[] = { "w-a", "w-x", "w-c", "w-nobody" };
        static const char *const homes[] = { "H-1", "H-2", "H-9" };
        const int64_t now = INT64_C(1580961600) * 1000000; /* 2020-02-06 12:00 +08 */
        enum command_verb verb;
        struct command_origin o = { 0 };
        struct command cmd;
        const char *payload;
        size_t len;
        uint8_t origin, t;
        int r;

        if (size < 3)
                return 0;
        verb = (enum command_verb)(data[0] % _COMMAND_VERB_MAX);
        origin = data[1];
        t = data[2];
        payload = (const char *)data + 3;
        len = size - 3;
        o.channel = (enum channel)((origin & 7) % _CHANNEL_MAX);
        if (origin & 8) {
                if (command_verb_by_household(verb))
                        o.household = homes[t % 3];
                else
                        o.worker = actors[(t % 4 + ((origin & 64) ? 1 : 0)) % 4];
        }
        if (origin & 16)
                o.alert_id = (t & 128) ? "a-20200206-0001" : "a-\xff";
        if (origin & 32) {
                struct form f = { payload, len };
                r = command_parse_fields(cfg, verb, &o, form_get, &f, now, &cmd);
        } else
                r = command_parse_payload(cfg, verb, &o, payload, len, now, &cmd);

        check(r == 0 || r == COMMAND_E_TOO_LARGE || r == COMMAND_E_MALFORMED ||
                  r == COMMAND_E_INVALID || r == -ENOMEM,
              "outcome");
        if (r == -ENOMEM)
                return 0;
        check_text(cmd.error, sizeof(cmd.error), "error text");
        check_text(cmd.request_id, sizeof(cmd.request_id), "request_id");
        if (r > 0) {
                check(cmd.error[0] != 0, "a refusal says why");
                return 0;
        }
        check(!(origin & 32) ? payload_text_valid(payload, len) : true,
              "a payload with NUL or invalid UTF-8 was accepted");
        check(cmd.verb == verb, "verb");
        check(cmd.channel == o.channel, "channel");
        check_text(cmd.alert_id, sizeof(cmd.alert_id), "alert_id");
        check_text(cmd.note, sizeof(cmd.note), "note");
        check_text(cmd.reason, sizeof(cmd.reason), "reason");
        check(strlen(cmd.reason) <= COMMAND_REASON_MAX, "reason bound");
        check(strlen(cmd.note) <= COMMAND_NOTE_MAX, "note bound");
        switch (verb) {
        case COMMAND_ACK:
        case COMMAND_RESOLVE:
                check(cmd.worker != NULL, "ack/resolve names its worker");
                check(cmd.alert_id[0] != 0, "ack/resolve names its alert");
                check(verb != COMMAND_RESOLVE || cmd.note[0] != 0, "resolve has a note");
                break;
        case COMMAND_CHECKIN:
        case COMMAND_PASS:
                check(cmd.worker != NULL && cmd.household != NULL, "checkin/pass actors");
                check(verb != COMMAND_PASS || cmd.from_usec < cmd.to_usec, "pass window");
                break;
        case COMMAND_REPORT:
                check(cmd.household != NULL, "report names its household");
                break;
        default:
                check(false, "verb range");
        }
        if (o.worker)
                check(cmd.worker && strcmp(cmd.worker->id, o.worker) == 0,
                      "the topic's worker is the actor");
        return 0;
}

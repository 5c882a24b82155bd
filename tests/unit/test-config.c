/* test-config.c: config_load() against the shipped example (conf/, relative to the repo root,
 * where tests/run starts the binary) and against small configuration directories written
 * into a mkdtemp() directory from string literals.
 *
 * The error table has one case per error path of the loader (src/settings.c, registry.c,
 * rosters.c, loader.c, config_load.c): each case starts from a small valid configuration,
 * replaces or removes some files and expects one exact line in the diagnostics. JSON in the
 * literals uses ' for " (no test needs a real apostrophe). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapter.h"
#include "config.h"
#include "util.h"

/* ---- scaffolding ---- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path);
}

static void rm_rf(const char *dir)
{
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *make_tmpdir(void)
{
        char *d = xstrdup("/tmp/doorwatch-test-config-XXXXXX");
        assert_non_null(mkdtemp(d));
        return d;
}

/* Writes `content` (with ' turned into ") to dir/name, creating one level of directory;
 * NULL content removes the file. */
static void put_file(const char *dir, const char *name, const char *content)
{
        _cleanup_free_ char *path = path_join(dir, name);
        FILE *f;

        for (const char *slash = strchr(name, '/'); slash; slash = strchr(slash + 1, '/')) {
                _cleanup_free_ char *sub = NULL;
                assert_true(asprintf(&sub, "%s/%.*s", dir, (int)(slash - name), name) > 0);
                mkdir(sub, 0755);
        }
        if (!content) {
                unlink(path);
                return;
        }
        f = fopen(path, "w");
        assert_non_null(f);
        for (const char *p = content; *p; p++)
                fputc(*p == '\'' ? '"' : *p, f);
        fclose(f);
}

static bool has_line(char **lines, size_t n, const char *want)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(lines[i], want) == 0)
                        return true;
        return false;
}

static void print_diag(const struct config_diag *d)
{
        for (size_t i = 0; i < d->n_errors; i++)
                fprintf(stderr, "    error: %s\n", d->errors[i]);
        for (size_t i = 0; i < d->n_warnings; i++)
                fprintf(stderr, "    warning: %s\n", d->warnings[i]);
}

/* ---- a small valid configuration ---- */

#define OBS              "'observation':{'start':'2026-11-20T00:00:00+08:00','end':'2026-12-04T00:00:00+08:00'}"
#define TEAM             "'team':{'community':'wc','medical':'wm','police':'wp'}"
#define DEV1             "{'id':'d1','kind':'door_contact','source':'native'}"
#define HH_ID(id, extra) "{'id':'" id "','community':'c1','address':'A 1'," OBS "," TEAM extra "}"
/* households.json with H1 and `extra` keys appended to it. */
#define HH(extra)    "[" HH_ID("H1", extra) "]"
#define HH_DEV(devs) HH(",'devices':[" devs "]")
#define DEV(extra)   HH_DEV("{'id':'d1','kind':'door_contact','source':'native'" extra "}")
#define HH_TEAM(team)                                                                              \
        "[{'id':'H1','community':'c1','address':'A 1'," OBS ",'team':" team ",'devices':[" DEV1    \
        "]}]"
#define HH_SCHED(entry) HH(",'schedule':[" entry "],'devices':[" DEV1 "]")
#define HH_OBS(obs)                                                                                \
        "[{'id':'H1','community':'c1','address':'A 1','observation':" obs "," TEAM                 \
        ",'devices':[" DEV1 "]}]"

#define BASE_WORKERS                                                                                \
        "{'id':'wc','name':'社工','role':'community','community':'c1','phone':'+8613800000001'}," \
        "{'id':'wm','name':'医生','role':'medical','community':'c1'},"                            \
        "{'id':'wp','name':'民警','role':'police','community':'c1'},"                             \
        "{'id':'wl','name':'组长','role':'staff','community':'c1'},"                              \
        "{'id':'wx','name':'指挥','role':'staff'},"                                               \
        "{'id':'wc2','name':'社工二','role':'community','community':'c2'},"                      \
        "{'id':'wp0','name':'民警零','role':'police'}"
#define WORKERS_PLUS(w) "[" BASE_WORKERS "," w "]"
#define ROSTERS(c1)     "{'communities':{'c1':{'leader':'wl'" c1 "}},'command':['wx'],'admins':['wx']}"
#define SHIFT(s)        ROSTERS(",'shifts':[" s "]")
#define OVERRIDE(o)     ROSTERS(",'overrides':[" o "]")

struct file {
        const char *name, *content; /* content NULL: remove the file */
};

static const struct file base_files[] = {
        { "doorwatch.json", "{}" },
        { "workers.json", "[" BASE_WORKERS "]" },
        { "households.json", HH_DEV(DEV1) },
        { "rosters.json", ROSTERS("") },
};

/* Writes the base configuration with `over` applied into a new directory. */
static char *write_config(const struct file *over, size_t n_over)
{
        char *dir = make_tmpdir();

        for (size_t i = 0; i < ELEMENTSOF(base_files); i++)
                put_file(dir, base_files[i].name, base_files[i].content);
        for (size_t i = 0; i < n_over && over[i].name; i++)
                put_file(dir, over[i].name, over[i].content);
        return dir;
}

/* ---- error and warning table ---- */

struct diag_case {
        struct file files[3];
        const char *want;
        bool warning; /* want is a warning and the load must succeed */
};

#define E(line, ...)                                                                               \
        {                                                                                          \
                .files = { __VA_ARGS__ }, .want = (line)                                           \
        }
#define W(line, ...)                                                                               \
        {                                                                                          \
                .files = { __VA_ARGS__ }, .want = (line), .warning = true                          \
        }
#define DW(content)                                                                                \
        {                                                                                          \
                "doorwatch.json", content                                                          \
        }
#define WK(content)                                                                                \
        {                                                                                          \
                "workers.json", content                                                            \
        }
#define HS(content)                                                                                \
        {                                                                                          \
                "households.json", content                                                         \
        }
#define RS(content)                                                                                \
        {                                                                                          \
                "rosters.json", content                                                            \
        }
#define X10     "xxxxxxxxxx"
#define X130    X10 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10 X10
#define ID_RULE "(1..128 bytes, no whitespace, control characters, '/', '+' or '#')"
#define SEVENTEEN(x)                                                                               \
        x "'k1':1,'k2':2,'k3':3,'k4':4,'k5':5,'k6':6,'k7':7,'k8':8,'k9':9,'k10':10,'k11':11,'k12'" \
          ":12,'k13':13,'k14':14,'k15':15,'k16':16,"

static const struct diag_case diag_cases[] = {
        /* reading */
        E("doorwatch.json: cannot read: No such file or directory", DW(NULL)),
        E("workers.json: cannot read: No such file or directory", WK(NULL)),
        E("households.json: cannot read: No such file or directory", HS(NULL)),
        E("rosters.json: cannot read: No such file or directory", RS(NULL)),
        E("rosters.json: cannot read: Is a directory", RS(NULL), { "rosters.json/x", "" }),
        E("doorwatch.json: syntax error near line 3", DW("{\n  'timezone': 'UTC',\n  'x' 1\n}")),
        E("doorwatch.json: syntax error near line 1", DW("")),
        E("workers.json: syntax error near line 2", WK("[]\n]")),
        E("households.json: syntax error near line 1", HS("[{'id': tru}]")),
        E("households.d: cannot read: Not a directory", { "households.d", "[]" }),
        E("households.d/b.json: syntax error near line 2", { "households.d/b.json", "[\n,]" }),
        E("households.d/x.json: cannot read: Is a directory", { "households.d/x.json/y", "[]" }),
        E("doorwatch.json: expected an object", DW("[]")),
        E("workers.json: expected an array", WK("{}")),
        E("households.json: expected an array", HS("{}")),
        E("households.d/a.json: expected an array", { "households.d/a.json", "{}" }),
        E("rosters.json: expected an object", RS("[]")),

        /* generic: unknown and duplicate keys, types */
        E("doorwatch.json: mqtt.prot: unknown key", DW("{'mqtt':{'prot':1883}}")),
        E("doorwatch.json: colour: unknown key", DW("{'colour':'red'}")),
        E("doorwatch.json: timezone: duplicate key", DW("{'timezone':'UTC','timezone':'UTC'}")),
        E("doorwatch.json: notifiers.k3: duplicate key",
          DW("{'notifiers':{" SEVENTEEN("") "'k3':{'type':'mqtt'}}}")),
        E("doorwatch.json: notifiers[\"a.b\"]: expected an object", DW("{'notifiers':{'a.b':5}}")),
        E("doorwatch.json: notifiers[\"\"]: expected an object", DW("{'notifiers':{'':5}}")),
        E("doorwatch.json: timezone: expected a string", DW("{'timezone':5}")),
        E("doorwatch.json: timezone: must not be empty", DW("{'timezone':''}")),
        E("doorwatch.json: mqtt: expected an object", DW("{'mqtt':1}")),
        E("doorwatch.json: mqtt.port: expected an integer", DW("{'mqtt':{'port':'1883'}}")),
        E("doorwatch.json: mqtt.port: expected an integer", DW("{'mqtt':{'port':1883.5}}")),
        E("doorwatch.json: mqtt.port: expected an integer", DW("{'mqtt':{'port':1e300}}")),
        E("doorwatch.json: mqtt.port: must be between 1 and 65535", DW("{'mqtt':{'port':0}}")),
        E("doorwatch.json: mqtt.port: must be between 1 and 65535", DW("{'mqtt':{'port':65536}}")),
        E("doorwatch.json: mqtt.username: expected a string or null",
          DW("{'mqtt':{'username':5}}")),

        /* doorwatch.json */
        E("doorwatch.json: timezone: unknown time zone \"Mars/Olympus\"",
          DW("{'timezone':'Mars/Olympus'}")),
        E("doorwatch.json: timezone: unknown time zone \"Asia\"", DW("{'timezone':'Asia'}")),
        E("doorwatch.json: timezone: unknown time zone \"../../etc/passwd\"",
          DW("{'timezone':'../../etc/passwd'}")),
        E("doorwatch.json: database: expected a string", DW("{'database':null}")),
        E("doorwatch.json: database_sync: invalid value \"fast\" (expected normal or full)",
          DW("{'database_sync':'fast'}")),
        E("doorwatch.json: database_sync: expected a string", DW("{'database_sync':true}")),
        E("doorwatch.json: retention: must be greater than 0", DW("{'retention':'0d'}")),
        E("doorwatch.json: retention: invalid duration \"30\"", DW("{'retention':'30'}")),
        E("doorwatch.json: mqtt.host: must not be empty", DW("{'mqtt':{'host':''}}")),
        E("doorwatch.json: mqtt.client_id: invalid client id \"a/b\" (no '/', '+' or '#')",
          DW("{'mqtt':{'client_id':'a/b'}}")),
        E("doorwatch.json: mqtt.keepalive: must be between 5s and 65535s",
          DW("{'mqtt':{'keepalive':'2s'}}")),
        E("doorwatch.json: mqtt.keepalive: must be between 5s and 65535s",
          DW("{'mqtt':{'keepalive':'1d'}}")),
        E("doorwatch.json: mqtt.keepalive: must be greater than 0",
          DW("{'mqtt':{'keepalive':'0s'}}")),
        E("doorwatch.json: mqtt.topic_prefix: invalid topic prefix \"dw/\" (no '+' or '#', no "
          "leading or trailing '/')",
          DW("{'mqtt':{'topic_prefix':'dw/'}}")),
        E("doorwatch.json: mqtt.topic_prefix: invalid topic prefix \"dw/#\" (no '+' or '#', no "
          "leading or trailing '/')",
          DW("{'mqtt':{'topic_prefix':'dw/#'}}")),
        E("doorwatch.json: mqtt.tls: expected an object or null", DW("{'mqtt':{'tls':'yes'}}")),
        E("doorwatch.json: mqtt.tls.ca: unknown key", DW("{'mqtt':{'tls':{'ca':'x'}}}")),
        E("doorwatch.json: mqtt.tls.ca_file: expected a string or null",
          DW("{'mqtt':{'tls':{'ca_file':1}}}")),
        E("doorwatch.json: mqtt.tls: cert_file and key_file must be set together",
          DW("{'mqtt':{'tls':{'cert_file':'c.pem','key_file':null}}}")),
        E("doorwatch.json: policy: expected an object", DW("{'policy':[]}")),
        E("doorwatch.json: policy.person_window: must be greater than 0",
          DW("{'policy':{'person_window':'0s'}}")),
        E("doorwatch.json: policy.chatter_settle: invalid duration \"0.3s\"",
          DW("{'policy':{'chatter_settle':'0.3s'}}")),
        E("doorwatch.json: policy.held_open_after: invalid duration \"5x\"",
          DW("{'policy':{'held_open_after':'5x'}}")),
        E("doorwatch.json: policy.held_open_after: must be greater than 0",
          DW("{'policy':{'held_open_after':'0s'}}")),
        E("doorwatch.json: policy.debounce: expected a string", DW("{'policy':{'debounce':2}}")),
        E("doorwatch.json: policy.resident_reports_per_day: must be between 0 and 1000",
          DW("{'policy':{'resident_reports_per_day':-1}}")),
        E("doorwatch.json: policy.fever_at: must be a temperature in °C between 35 and 42",
          DW("{'policy':{'fever_at':98.6}}")),
        E("doorwatch.json: policy.fever_at: must be a temperature in °C between 35 and 42",
          DW("{'policy':{'fever_at':'37.3'}}")),
        E("doorwatch.json: policy.fever_symptoms[1]: must be 1..63 bytes",
          DW("{'policy':{'fever_symptoms':['cough','']}}")),
        E("doorwatch.json: policy.fever_symptoms: expected an array",
          DW("{'policy':{'fever_symptoms':'cough'}}")),
        E("doorwatch.json: policy.battery_low_percent: must be between 0 and 100",
          DW("{'policy':{'battery_low_percent':101}}")),
        E("doorwatch.json: policy.offline_after: expected an object",
          DW("{'policy':{'offline_after':'26h'}}")),
        E("doorwatch.json: policy.offline_after.fridge: unknown key",
          DW("{'policy':{'offline_after':{'fridge':'1h'}}}")),
        E("doorwatch.json: policy.offline_after.camera: must be greater than 0",
          DW("{'policy':{'offline_after':{'camera':'0m'}}}")),
        E("doorwatch.json: escalation: expected an object", DW("{'escalation':5}")),
        E("doorwatch.json: escalation.ack_timeout: invalid duration \"-5m\"",
          DW("{'escalation':{'ack_timeout':'-5m'}}")),
        E("doorwatch.json: escalation.repeat: must be between 1 and 100",
          DW("{'escalation':{'repeat':0}}")),
        E("doorwatch.json: escalation.remind_every: must be greater than 0",
          DW("{'escalation':{'remind_every':'0s'}}")),
        E("doorwatch.json: escalation.steps: expected an array",
          DW("{'escalation':{'steps':'team'}}")),
        E("doorwatch.json: escalation.steps: must not be empty", DW("{'escalation':{'steps':[]}}")),
        E("doorwatch.json: escalation.steps[0]: expected a string",
          DW("{'escalation':{'steps':[1]}}")),
        E("doorwatch.json: escalation.steps[1]: unknown escalation step \"boss\"",
          DW("{'escalation':{'steps':['team','boss']}}")),
        E("doorwatch.json: escalation.steps[1]: duplicate step \"team\"",
          DW("{'escalation':{'steps':['team','team']}}")),
        E("doorwatch.json: http: expected an object or null", DW("{'http':5}")),
        E("doorwatch.json: http.listen: invalid listen address \"localhost\" (expected HOST:PORT)",
          DW("{'http':{'listen':'localhost'}}")),
        E("doorwatch.json: http.listen: invalid listen address \"::1:80\" (expected HOST:PORT)",
          DW("{'http':{'listen':'::1:80'}}")),
        E("doorwatch.json: http.listen: invalid listen address \"[::1]:0\" (expected HOST:PORT)",
          DW("{'http':{'listen':'[::1]:0'}}")),
        E("doorwatch.json: http.listen: invalid listen address \"h:8x\" (expected HOST:PORT)",
          DW("{'http':{'listen':'h:8x'}}")),
        E("doorwatch.json: http.listen: invalid listen address \"[::1:80\" (expected HOST:PORT)",
          DW("{'http':{'listen':'[::1:80'}}")),
        E("doorwatch.json: http.public_url: invalid URL \"ftp://x\" (expected http:// or https://)",
          DW("{'http':{'public_url':'ftp://x'}}")),
        E("doorwatch.json: http.token_file: expected a string or null",
          DW("{'http':{'token_file':5}}")),
        E("doorwatch.json: http.ack_link_ttl: must be greater than 0",
          DW("{'http':{'ack_link_ttl':'0s'}}")),
        E("doorwatch.json: http.listen: expected a string or null", DW("{'http':{'listen':8088}}")),
        E("doorwatch.json: http.ack_secret_file: must not be empty",
          DW("{'http':{'ack_secret_file':''}}")),
        E("doorwatch.json: notifiers: expected an object", DW("{'notifiers':[]}")),
        E("doorwatch.json: notifiers.sms.type: missing required key",
          DW("{'notifiers':{'sms':{}}}")),
        E("doorwatch.json: notifiers.sms.type: expected a string",
          DW("{'notifiers':{'sms':{'type':1}}}")),
        E("doorwatch.json: notifiers.sms.type: unknown notifier type \"sms\" (expected mqtt, exec, "
          "wecom, dingtalk, feishu or webhook)",
          DW("{'notifiers':{'sms':{'type':'sms'}}}")),

        /* workers.json */
        E("workers.json: [7]: expected an object", WK(WORKERS_PLUS("'w9'"))),
        E("workers.json: [7].id: missing required key",
          WK(WORKERS_PLUS("{'name':'x','role':'staff'}"))),
        E("workers.json: [7].id: invalid id \"w 9\" " ID_RULE,
          WK(WORKERS_PLUS("{'id':'w 9','name':'x','role':'staff'}"))),
        E("workers.json: [7].id: invalid id \"w/9\" " ID_RULE,
          WK(WORKERS_PLUS("{'id':'w/9','name':'x','role':'staff'}"))),
        E("workers.json: [7].id: duplicate worker id \"wc\"",
          WK(WORKERS_PLUS("{'id':'wc','name':'x','role':'staff'}"))),
        /* one id, one principal (the broker's ACLs use ids as user names) */
        E("households.json: device id \"wc\" is also a worker's id (ids must be unique across "
          "devices, workers and households)",
          HS(HH_DEV("{'id':'wc','kind':'door_contact','source':'native'}"))),
        E("households.json: device id \"H1\" is also a household's id (ids must be unique "
          "across devices, workers and households)",
          HS(HH_DEV("{'id':'H1','kind':'door_contact','source':'native'}"))),
        E("workers.json: worker id \"H1\" is also a household's id (ids must be unique across "
          "devices, workers and households)",
          WK(WORKERS_PLUS("{'id':'H1','name':'x','role':'staff'}"))),
        E("workers.json: [7].id: invalid id \"" X130 "\" " ID_RULE,
          WK(WORKERS_PLUS("{'id':'" X130 "','name':'x','role':'staff'}"))),
        E("workers.json: [7].role: expected a string",
          WK(WORKERS_PLUS("{'id':'w9','name':'x','role':['staff']}"))),
        E("workers.json: [7].name: missing required key",
          WK(WORKERS_PLUS("{'id':'w9','role':'staff'}"))),
        E("workers.json: [7].role: missing required key",
          WK(WORKERS_PLUS("{'id':'w9','name':'x'}"))),
        E("workers.json: [7].role: unknown role \"doctor\"",
          WK(WORKERS_PLUS("{'id':'w9','name':'x','role':'doctor'}"))),
        E("workers.json: [7].community: expected a string or null",
          WK(WORKERS_PLUS("{'id':'w9','name':'x','role':'staff','community':7}"))),
        E("workers.json: [7].community: invalid id \"a#b\" " ID_RULE,
          WK(WORKERS_PLUS("{'id':'w9','name':'x','role':'staff','community':'a#b'}"))),
        E("workers.json: [7].phone: invalid phone number (expected 3-20 digits with an optional "
          "leading +)",
          WK(WORKERS_PLUS("{'id':'w9','name':'x','role':'staff','phone':'138-0000-0001'}"))),
        E("workers.json: [7].email: unknown key",
          WK(WORKERS_PLUS("{'id':'w9','name':'x','role':'staff','email':'a@b'}"))),
        E("workers.json: [7].channels: expected an array",
          WK(WORKERS_PLUS("{'id':'w9','name':'x','role':'staff','channels':'mqtt'}"))),
        E("workers.json: [7].channels[0]: expected a string",
          WK(WORKERS_PLUS("{'id':'w9','name':'x','role':'staff','channels':[1]}"))),
        E("workers.json: [7].channels[1]: unknown notifier \"sms\"",
          WK(WORKERS_PLUS("{'id':'w9','name':'x','role':'staff','channels':['mqtt','sms']}"))),
        E("workers.json: [7].channels[1]: duplicate channel \"mqtt\"",
          WK(WORKERS_PLUS("{'id':'w9','name':'x','role':'staff','channels':['mqtt','mqtt']}"))),
        W("workers.json: [7].channels: worker has no channels and will not be notified",
          WK(WORKERS_PLUS("{'id':'w9','name':'x','role':'staff','channels':[]}"))),

        /* households.json */
        E("households.json: [1]: expected an object", HS("[" HH_ID("H1", ",'devices':[]") ",[]]")),
        E("households.json: [0].id: missing required key",
          HS("[{'community':'c1','address':'A'," OBS "," TEAM "}]")),
        E("households.json: [0].id: invalid id \"H+1\" " ID_RULE, HS("[" HH_ID("H+1", "") "]")),
        E("households.json: [1].id: duplicate household id \"H1\" (first in households.json)",
          HS("[" HH_ID("H1", "") "," HH_ID("H1", "") "]")),
        E("households.json: [0].community: missing required key",
          HS("[{'id':'H1','address':'A'," OBS "," TEAM "}]")),
        E("households.json: [0].address: missing required key",
          HS("[{'id':'H1','community':'c1'," OBS "," TEAM "}]")),
        E("households.json: [0].address: expected a string",
          HS("[{'id':'H1','community':'c1','address':5," OBS "," TEAM "}]")),
        E("households.json: [0].residents: unknown key", HS(HH(",'residents':2"))),
        E("households.json: [0].policy: expected an object", HS(HH(",'policy':'strict'"))),
        E("households.json: [0].policy.ack_absorb: unknown key",
          HS(HH(",'policy':{'ack_absorb':'1h'}"))),
        E("households.json: [0].policy.offline_after: unknown key",
          HS(HH(",'policy':{'offline_after':{'camera':'1h'}}"))),
        E("households.json: [0].policy.held_open_after: invalid duration \"10\"",
          HS(HH(",'policy':{'held_open_after':'10'}"))),
        E("households.json: [0].policy.resident_reports_per_day: must be between 0 and 1000",
          HS(HH(",'policy':{'resident_reports_per_day':1001}"))),
        E("households.json: [0].observation: missing required key",
          HS("[{'id':'H1','community':'c1','address':'A'," TEAM "}]")),
        E("households.json: [0].observation: expected an object", HS(HH_OBS("'14d'"))),
        E("households.json: [0].observation.end: missing required key",
          HS(HH_OBS("{'start':'2026-11-20T00:00:00+08:00'}"))),
        E("households.json: [0].observation.start: invalid RFC 3339 time \"2026-11-20\" (e.g. "
          "\"2020-02-05T08:00:00+08:00\")",
          HS(HH_OBS("{'start':'2026-11-20','end':'2026-12-04T00:00:00+08:00'}"))),
        E("households.json: [0].observation.length: unknown key",
          HS(HH_OBS("{'start':'2026-11-20T00:00:00+08:00','end':'2026-12-04T00:00:00+08:00',"
                    "'length':'14d'}"))),
        E("households.json: [0].observation: start must be before end",
          HS(HH_OBS("{'start':'2026-12-04T00:00:00+08:00','end':'2026-12-04T00:00:00+08:00'}"))),
        E("households.json: [0].observation.end: expected a string",
          HS(HH_OBS("{'start':'2026-11-20T00:00:00+08:00','end':false}"))),
        E("households.json: [0].team: missing required key",
          HS("[{'id':'H1','community':'c1','address':'A'," OBS "}]")),
        E("households.json: [0].team: expected an object", HS(HH_TEAM("['wc','wm','wp']"))),
        E("households.json: [0].team.police: missing required key",
          HS(HH_TEAM("{'community':'wc','medical':'wm'}"))),
        E("households.json: [0].team.police: unknown worker \"w99\"",
          HS(HH_TEAM("{'community':'wc','medical':'wm','police':'w99'}"))),
        E("households.json: [0].team.police: expected a string",
          HS(HH_TEAM("{'community':'wc','medical':'wm','police':['wp']}"))),
        E("households.json: [0].team.medical: worker \"wc\" has role community, not medical",
          HS(HH_TEAM("{'community':'wc','medical':'wc','police':'wp'}"))),
        E("households.json: [0].team.installer: unknown key",
          HS(HH_TEAM("{'community':'wc','medical':'wm','police':'wp','installer':'wc'}"))),
        E("households.json: [0].schedule: expected an array", HS(HH(",'schedule':{}"))),
        E("households.json: [0].schedule[0]: expected an object", HS(HH_SCHED("'09:00'"))),
        E("households.json: [0].schedule[0].role: missing required key",
          HS(HH_SCHED("{'at':['09:00'],'window':'30m'}"))),
        E("households.json: [0].schedule[0].role: unknown role \"doctor\"",
          HS(HH_SCHED("{'role':'doctor','at':['09:00'],'window':'30m'}"))),
        E("households.json: [0].schedule[0].role: role \"installer\" is not a team role "
          "(community, medical, police)",
          HS(HH_SCHED("{'role':'installer','at':['09:00'],'window':'30m'}"))),
        E("households.json: [0].schedule[0].window: missing required key",
          HS(HH_SCHED("{'role':'medical','at':['09:00']}"))),
        E("households.json: [0].schedule[0].window: must be greater than 0",
          HS(HH_SCHED("{'role':'medical','at':['09:00'],'window':'0m'}"))),
        E("households.json: [0].schedule[0].at: missing required key",
          HS(HH_SCHED("{'role':'medical','window':'30m'}"))),
        E("households.json: [0].schedule[0].at: expected an array",
          HS(HH_SCHED("{'role':'medical','at':'09:00','window':'30m'}"))),
        E("households.json: [0].schedule[0].at: must not be empty",
          HS(HH_SCHED("{'role':'medical','at':[],'window':'30m'}"))),
        E("households.json: [0].schedule[0].at[1]: invalid time of day \"9:00\" (expected HH:MM)",
          HS(HH_SCHED("{'role':'medical','at':['15:00','9:00'],'window':'30m'}"))),
        E("households.json: [0].schedule[0].at[0]: invalid time of day \"24:00\" (expected HH:MM)",
          HS(HH_SCHED("{'role':'medical','at':['24:00'],'window':'30m'}"))),
        E("households.json: [0].schedule[0].at[0]: expected a string",
          HS(HH_SCHED("{'role':'medical','at':[900],'window':'30m'}"))),
        E("households.json: [0].observation.start: expected a string",
          HS(HH_OBS("{'start':1790000000,'end':'2026-12-04T00:00:00+08:00'}"))),
        E("households.json: [0].schedule[0].every: unknown key",
          HS(HH_SCHED("{'role':'medical','at':['09:00'],'window':'30m','every':'1d'}"))),
        E("households.json: [0].devices: expected an array", HS(HH(",'devices':{}"))),
        E("households.json: [0].devices[1]: expected an object", HS(HH_DEV(DEV1 ",'d2'"))),
        E("households.json: [0].devices[0].source: missing required key",
          HS(HH_DEV("{'id':'d1','kind':'door_contact'}"))),
        E("households.json: [0].devices[0].source: unknown source \"zigbee3mqtt\"",
          HS(HH_DEV(
              "{'id':'d1','kind':'door_contact','source':'zigbee3mqtt','friendly_name':'x'}"))),
        E("households.json: [0].devices[0].source: expected a string",
          HS(HH_DEV("{'id':'d1','kind':'door_contact','source':null}"))),
        E("households.json: [0].devices[0].friendly_name: unknown key",
          HS(DEV(",'friendly_name':'chl/0001/bell'"))),
        E("households.json: [0].devices[0].id: missing required key",
          HS(HH_DEV("{'kind':'door_contact','source':'native'}"))),
        E("households.json: [0].devices[0].id: invalid id \"d 1\" " ID_RULE,
          HS(HH_DEV("{'id':'d 1','kind':'door_contact','source':'native'}"))),
        E("households.json: [0].devices[1].id: duplicate device id \"d1\" (first in "
          "households.json)",
          HS(HH_DEV(DEV1 "," DEV1))),
        E("households.json: [0].devices[0].kind: missing required key",
          HS(HH_DEV("{'id':'d1','source':'native'}"))),
        E("households.json: [0].devices[0].kind: unknown device kind \"door\" (expected "
          "door_contact, doorbell or camera)",
          HS(HH_DEV("{'id':'d1','kind':'door','source':'native'}"))),
        E("households.json: [0].devices[0].invert: expected true or false",
          HS(DEV(",'invert':'yes'"))),
        E("households.json: [0].devices[0].offline_after: must be greater than 0",
          HS(DEV(",'offline_after':'0h'"))),
        E("households.json: [0].devices[0].offline_after: invalid duration \"1 h\"",
          HS(DEV(",'offline_after':'1 h'"))),
        W("households.json: [0].team.community: worker \"wc2\" is in community \"c2\", not \"c1\"",
          HS(HH_TEAM("{'community':'wc2','medical':'wm','police':'wp'}"))),
        W("households.json: [0].team.police: worker \"wp0\" is in no community, not \"c1\"",
          HS(HH_TEAM("{'community':'wc','medical':'wm','police':'wp0'}"))),

        /* households.d */
        E("households.d/a.json: [0].id: duplicate household id \"H1\" (first in households.json)",
          { "households.d/a.json", "[" HH_ID("H1", "") "]" }),
        E("households.d/b.json: [0].id: duplicate household id \"H2\" (first in "
          "households.d/a.json)",
          { "households.d/a.json", "[" HH_ID("H2", "") "]" },
          { "households.d/b.json", "[" HH_ID("H2", "") "]" }),
        E("households.d/a.json: [0].devices[0].id: duplicate device id \"d1\" (first in "
          "households.json)",
          { "households.d/a.json", "[" HH_ID("H2", ",'devices':[" DEV1 "]") "]" }),
        E("households.d/a.json: [0].team.police: unknown worker \"w99\"",
          { "households.d/a.json", "[{'id':'H2','community':'c1','address':'A'," OBS
                                   ",'team':{'community':'wc','medical':'wm','police':'w99'}}]" }),

        /* rosters.json */
        E("rosters.json: shifts: unknown key", RS("{'shifts':[]}")),
        E("rosters.json: communities.c1.name: expected a string",
          RS("{'communities':{'c1':{'name':1}}}")),
        E("rosters.json: communities.c2: name \"云锦路社区\" is community \"c1\"'s already",
          RS("{'communities':{'c1':{'name':'云锦路社区'},'c2':{'name':'云锦路社区'}}}")),
        E("rosters.json: communities: expected an object", RS("{'communities':[]}")),
        E("rosters.json: communities[\"c 1\"]: invalid id \"c 1\" " ID_RULE,
          RS("{'communities':{'c 1':{}}}")),
        E("rosters.json: communities.c1: expected an object", RS("{'communities':{'c1':'wl'}}")),
        E("rosters.json: communities.c1: duplicate key",
          RS("{'communities':{'c1':{'leader':'wl'},'c1':{}}}")),
        E("rosters.json: communities.c1.leader: unknown worker \"w99\"",
          RS("{'communities':{'c1':{'leader':'w99'}}}")),
        E("rosters.json: communities.c1.leader: expected a string",
          RS("{'communities':{'c1':{'leader':null}}}")),
        E("rosters.json: communities.c1.shift: unknown key", RS(ROSTERS(",'shift':[]"))),
        E("rosters.json: communities.c1.shifts: expected an array", RS(ROSTERS(",'shifts':{}"))),
        E("rosters.json: communities.c1.shifts[0]: expected an object", RS(SHIFT("'wc'"))),
        E("rosters.json: communities.c1.shifts[0].role: missing required key",
          RS(SHIFT("{'worker':'wc','days':['*'],'from':'08:00','to':'20:00'}"))),
        E("rosters.json: communities.c1.shifts[0].role: unknown role \"grid\"",
          RS(SHIFT("{'role':'grid','worker':'wc','days':['*'],'from':'08:00','to':'20:00'}"))),
        E("rosters.json: communities.c1.shifts[0].worker: missing required key",
          RS(SHIFT("{'role':'community','days':['*'],'from':'08:00','to':'20:00'}"))),
        E("rosters.json: communities.c1.shifts[0].worker: unknown worker \"w99\"",
          RS(SHIFT(
              "{'role':'community','worker':'w99','days':['*'],'from':'08:00','to':'20:00'}"))),
        E("rosters.json: communities.c1.shifts[0].worker: worker \"wc\" has role community, not "
          "medical",
          RS(SHIFT("{'role':'medical','worker':'wc','days':['*'],'from':'08:00','to':'20:00'}"))),
        E("rosters.json: communities.c1.shifts[0].days: missing required key",
          RS(SHIFT("{'role':'community','worker':'wc','from':'08:00','to':'20:00'}"))),
        E("rosters.json: communities.c1.shifts[0].days: expected an array",
          RS(SHIFT("{'role':'community','worker':'wc','days':'mon','from':'08:00','to':'20:00'}"))),
        E("rosters.json: communities.c1.shifts[0].days: must not be empty",
          RS(SHIFT("{'role':'community','worker':'wc','days':[],'from':'08:00','to':'20:00'}"))),
        E("rosters.json: communities.c1.shifts[0].days[1]: unknown day \"monday\" (expected "
          "mon..sun or \"*\")",
          RS(SHIFT("{'role':'community','worker':'wc','days':['sun','monday'],'from':'08:00','to':"
                   "'20:00'}"))),
        E("rosters.json: communities.c1.shifts[0].days[0]: expected a string",
          RS(SHIFT("{'role':'community','worker':'wc','days':[1],'from':'08:00','to':'20:00'}"))),
        E("rosters.json: communities.c1.shifts[0].from: missing required key",
          RS(SHIFT("{'role':'community','worker':'wc','days':['*'],'to':'20:00'}"))),
        E("rosters.json: communities.c1.shifts[0].from: invalid time of day \"24:00\" (expected "
          "HH:MM)",
          RS(SHIFT("{'role':'community','worker':'wc','days':['*'],'from':'24:00','to':'08:00'}"))),
        E("rosters.json: communities.c1.shifts[0].to: invalid time of day \"8pm\" (expected HH:MM)",
          RS(SHIFT("{'role':'community','worker':'wc','days':['*'],'from':'08:00','to':'8pm'}"))),
        E("rosters.json: communities.c1.shifts[0].to: missing required key",
          RS(SHIFT("{'role':'community','worker':'wc','days':['*'],'from':'08:00'}"))),
        E("rosters.json: communities.c1.shifts[0].until: unknown key",
          RS(SHIFT("{'role':'community','worker':'wc','days':['*'],'from':'08:00','to':'20:00',"
                   "'until':'x'}"))),
        E("rosters.json: communities.c1.overrides: expected an array",
          RS(ROSTERS(",'overrides':5"))),
        E("rosters.json: communities.c1.overrides[0]: expected an object", RS(OVERRIDE("[]"))),
        E("rosters.json: communities.c1.overrides[0].role: missing required key",
          RS(OVERRIDE("{'worker':'wc','from':'2026-11-27T20:00:00+08:00','to':'2026-11-28T08:00:"
                      "00+08:00'}"))),
        E("rosters.json: communities.c1.overrides[0].worker: worker \"wm\" has role medical, not "
          "police",
          RS(OVERRIDE("{'role':'police','worker':'wm','from':'2026-11-27T20:00:00+08:00','to':'"
                      "2026-11-28T08:00:00+08:00'}"))),
        E("rosters.json: communities.c1.overrides[0].worker: unknown worker \"w99\"",
          RS(OVERRIDE("{'role':'police','worker':'w99','from':'2026-11-27T20:00:00+08:00','to':'"
                      "2026-11-28T08:00:00+08:00'}"))),
        E("rosters.json: communities.c1.overrides[0].from: invalid RFC 3339 time \"2026-11-27 "
          "20:00\" (e.g. \"2020-02-05T08:00:00+08:00\")",
          RS(OVERRIDE("{'role':'police','worker':'wp','from':'2026-11-27 20:00','to':'2026-11-"
                      "28T08:00:00+08:00'}"))),
        E("rosters.json: communities.c1.overrides[0].to: missing required key",
          RS(OVERRIDE("{'role':'police','worker':'wp','from':'2026-11-27T20:00:00+08:00'}"))),
        E("rosters.json: communities.c1.overrides[0]: from must be before to",
          RS(OVERRIDE("{'role':'police','worker':'wp','from':'2026-11-28T20:00:00+08:00','to':'"
                      "2026-11-28T08:00:00+08:00'}"))),
        E("rosters.json: communities.c1.overrides[0].note: unknown key",
          RS(OVERRIDE("{'role':'police','worker':'wp','from':'2026-11-27T20:00:00+08:00','to':'"
                      "2026-11-28T08:00:00+08:00','note':'x'}"))),
        E("rosters.json: command: expected an array", RS("{'command':'wx'}")),
        E("rosters.json: command[1]: unknown worker \"w99\"", RS("{'command':['wx','w99']}")),
        E("rosters.json: admins[1]: duplicate worker \"wx\"",
          RS("{'command':['wx'],'admins':['wx','wx']}")),
        E("rosters.json: admins[0]: expected a string", RS("{'command':['wx'],'admins':[null]}")),
        W("rosters.json: command: no command centre: the escalation step \"command\" notifies "
          "nobody",
          RS("{'communities':{'c1':{'leader':'wl'}}}")),
        W("rosters.json: communities.c1: community has 1 household(s) but no leader",
          RS("{'command':['wx']}")),
        W("rosters.json: communities.c1.shifts[0].worker: worker \"wc2\" is in community \"c2\", "
          "not \"c1\"",
          RS(SHIFT(
              "{'role':'community','worker':'wc2','days':['*'],'from':'08:00','to':'20:00'}"))),
        W("rosters.json: communities.c1.overrides[0].worker: worker \"wp0\" is in no community, "
          "not \"c1\"",
          RS(OVERRIDE("{'role':'police','worker':'wp0','from':'2026-11-27T20:00:00+08:00','to':'"
                      "2026-11-28T08:00:00+08:00'}"))),
};

static void test_diag_table(void **state)
{
        size_t failed = 0;

        for (size_t i = 0; i < ELEMENTSOF(diag_cases); i++) {
                const struct diag_case *c = &diag_cases[i];
                _cleanup_free_ char *dir = write_config(c->files, ELEMENTSOF(c->files));
                struct config_diag d = { 0 };
                struct config *cfg = NULL;
                int r = config_load(dir, &cfg, &d);
                bool ok;

                if (c->warning)
                        ok = r == 0 && cfg && d.n_errors == 0 &&
                             has_line(d.warnings, d.n_warnings, c->want);
                else
                        ok = r == -EINVAL && !cfg && has_line(d.errors, d.n_errors, c->want);
                if (!ok) {
                        fprintf(stderr, "case %zu: want %s \"%s\", got r=%d:\n", i,
                                c->warning ? "warning" : "error", c->want, r);
                        print_diag(&d);
                        failed++;
                }
                config_free(cfg);
                config_diag_done(&d);
                rm_rf(dir);
        }
        assert_int_equal(failed, 0);
}

/* ---- the shipped example ---- */

static void test_example_conf(void **state)
{
        struct config_diag d = { 0 };
        struct config *c = NULL;
        struct household *h;
        struct device *dev;
        struct community *m;
        struct worker *w;
        int64_t t;

        assert_int_equal(config_load("conf", &c, &d), 0);
        if (d.n_errors || d.n_warnings)
                print_diag(&d);
        assert_int_equal(d.n_errors, 0);
        assert_int_equal(d.n_warnings, 0);
        assert_non_null(c);
        assert_true(c->dir[0] == '/');
        assert_true(str_startswith(c->database, c->dir));
        assert_string_equal(c->database + strlen(c->dir), "/doorwatch.db");

        assert_int_equal(c->n_workers, 30);
        assert_int_equal(c->n_households, 13);
        assert_int_equal(c->n_devices, 29);
        assert_int_equal(c->n_communities, 3);
        assert_int_equal(c->n_notifiers, 1);
        assert_string_equal(c->notifiers[0].name, "mqtt");
        assert_int_equal(c->n_command, 2);
        assert_int_equal(c->n_admins, 1);
        assert_string_equal(c->admins[0]->id, "w-qfq-it");

        /* households.json first, then households.d/ in name order */
        assert_string_equal(c->households[0].id, "YJL-0001");
        assert_string_equal(c->households[5].id, "LYL-0001");
        assert_string_equal(c->households[9].id, "THW-0001");
        /* communities in rosters.json order */
        assert_string_equal(c->communities[0].id, "yunjinlu");
        assert_string_equal(c->communities[1].id, "taohuawu");
        assert_string_equal(c->communities[2].id, "liuyingli");

        h = config_household(c, "YJL-0002");
        assert_non_null(h);
        assert_ptr_equal(h, &c->households[1]);
        assert_string_equal(h->team[ROLE_COMMUNITY]->id, "w-yjl-03");
        assert_string_equal(h->team[ROLE_MEDICAL]->id, "w-yjl-08");
        assert_string_equal(h->team[ROLE_POLICE]->id, "w-yjl-13");
        assert_int_equal(h->n_schedule, 2);
        assert_int_equal(h->schedule[0].role, ROLE_MEDICAL);
        assert_int_equal(h->schedule[0].n_at, 2);
        assert_int_equal(h->schedule[0].at_min[0], 9 * 60);
        assert_int_equal(h->schedule[0].at_min[1], 15 * 60);
        assert_int_equal(h->schedule[0].window_usec, 30 * USEC_PER_MIN);
        assert_int_equal(h->schedule[1].role, ROLE_COMMUNITY);
        assert_int_equal(h->schedule[1].n_at, 1);
        assert_int_equal(h->schedule[1].at_min[0], 18 * 60);
        assert_int_equal(h->schedule[1].window_usec, 20 * USEC_PER_MIN);
        /* Identical schedules are stored once (across files too), different ones apart. */
        assert_ptr_equal(config_household(c, "LYL-0003")->schedule, h->schedule);
        assert_ptr_equal(config_household(c, "THW-0002")->schedule, h->schedule);
        assert_ptr_equal(config_household(c, "YJL-0001")->schedule,
                         config_household(c, "THW-0004")->schedule);
        assert_ptr_not_equal(config_household(c, "YJL-0001")->schedule, h->schedule);
        assert_int_equal(config_household(c, "YJL-0001")->n_schedule, 1);
        assert_int_equal(config_household(c, "YJL-0001")->schedule[0].at_min[1], 15 * 60);
        assert_int_equal(parse_rfc3339("2026-11-20T00:00:00+08:00", &t), 0);
        assert_int_equal(h->obs_start_usec, t);
        assert_string_equal(h->community->id, "yunjinlu");

        h = config_household(c, "LYL-0004");
        assert_non_null(h);
        assert_int_equal(parse_rfc3339("2026-11-20T00:00:00+08:00", &t), 0);
        assert_int_equal(h->obs_end_usec, t);
        /* The example watches its households on any day it is run: open-ended observations
         * (LYL-0004's ended: its devices are to be collected). */
        for (size_t i = 0; i < c->n_households; i++)
                if (&c->households[i] != h)
                        assert_int_equal(c->households[i].obs_end_usec, OBSERVATION_OPEN_END);
        assert_int_equal(config_check_observed(c, now_realtime_usec(), &d), 12);
        assert_int_equal(d.n_warnings, 0);

        dev = config_device(c, "d-yjl-0003-cam");
        assert_non_null(dev);
        assert_int_equal(dev->kind, DEVICE_CAMERA);
        assert_int_equal(dev->offline_after_usec, 15 * USEC_PER_MIN);
        assert_string_equal(dev->household->id, "YJL-0003");
        assert_ptr_equal(dev->adapter, &adapter_native);
        assert_true(config_device(c, "d-yjl-0004-door")->invert);
        assert_false(config_device(c, "d-yjl-0001-door")->invert);

        m = config_community(c, "yunjinlu");
        assert_non_null(m);
        assert_string_equal(m->leader->id, "w-yjl-00");
        assert_int_equal(m->n_households, 5);
        assert_int_equal(m->n_shifts, 8);
        assert_int_equal(m->shifts[0].days_mask, 0x1f);
        assert_int_equal(m->shifts[1].days_mask, 0x60);
        assert_int_equal(m->shifts[2].days_mask, 0x7f);
        assert_int_equal(m->shifts[2].from_min, 20 * 60);
        assert_int_equal(m->shifts[2].to_min, 8 * 60);
        assert_int_equal(m->n_overrides, 1);
        assert_string_equal(m->overrides[0].worker->id, "w-yjl-03");
        assert_int_equal(parse_rfc3339("2026-11-27T20:00:00+08:00", &t), 0);
        assert_int_equal(m->overrides[0].from_usec, t);
        assert_int_equal(config_community(c, "liuyingli")->n_overrides, 0);

        w = config_worker(c, "w-thw-20");
        assert_non_null(w);
        assert_int_equal(w->role, ROLE_INSTALLER);
        assert_ptr_equal(w->community, config_community(c, "taohuawu"));
        assert_null(config_worker(c, "w-qfq-it")->community);

        config_free(c);
        config_diag_done(&d);
}

/* ---- defaults, paths, order, comments ---- */

static struct config *load_ok(const char *dir)
{
        struct config_diag d = { 0 };
        struct config *c = NULL;
        int r = config_load(dir, &c, &d);

        if (r < 0 || d.n_errors)
                print_diag(&d);
        assert_int_equal(r, 0);
        config_diag_done(&d);
        return c;
}

static void test_defaults(void **state)
{
        _cleanup_free_ char *dir = write_config(NULL, 0);
        _cleanup_free_ char *token = path_join(dir, "secrets/api.token");
        _cleanup_free_ char *ack = path_join(dir, "secrets/ack.key");
        struct config *c = load_ok(dir);

        assert_string_equal(c->dir, dir);
        assert_string_equal(c->timezone, "Asia/Shanghai");
        assert_string_equal(c->database, "/var/lib/doorwatch/doorwatch.db");
        assert_false(c->database_sync_full);
        assert_int_equal(c->retention_usec, 30 * USEC_PER_DAY);
        assert_string_equal(c->mqtt.host, "127.0.0.1");
        assert_int_equal(c->mqtt.port, 1883);
        assert_string_equal(c->mqtt.client_id, "doorwatchd");
        assert_null(c->mqtt.username);
        assert_null(c->mqtt.password_file);
        assert_null(c->mqtt.ca_file);
        assert_null(c->mqtt.cert_file);
        assert_null(c->mqtt.key_file);
        assert_int_equal(c->mqtt.keepalive_sec, 30);
        assert_string_equal(c->mqtt.topic_prefix, "doorwatch/v1");
        assert_int_equal(c->policy.handoff_ring_window_usec, 60 * USEC_PER_SEC);
        assert_int_equal(c->policy.handoff_max_open_usec, 120 * USEC_PER_SEC);
        assert_int_equal(c->policy.held_open_after_usec, 5 * USEC_PER_MIN);
        assert_int_equal(c->policy.checkin_grace_usec, 30 * USEC_PER_MIN);
        assert_int_equal(c->policy.resident_reports_per_day, 3);
        assert_int_equal(c->policy.ack_absorb_usec, 30 * USEC_PER_MIN);
        assert_int_equal(c->policy.pass_overdue_after_usec, 15 * USEC_PER_MIN);
        assert_int_equal(c->policy.offline_after_usec[DEVICE_DOOR_CONTACT], 26 * USEC_PER_HOUR);
        assert_int_equal(c->policy.offline_after_usec[DEVICE_DOORBELL], 26 * USEC_PER_HOUR);
        assert_int_equal(c->policy.offline_after_usec[DEVICE_CAMERA], 10 * USEC_PER_MIN);
        assert_int_equal(c->policy.max_clock_skew_usec, 5 * USEC_PER_MIN);
        assert_int_equal(c->policy.battery_low_percent, 15);
        assert_int_equal(c->policy.debounce_usec, 2 * USEC_PER_SEC);
        assert_int_equal(c->policy.person_window_usec, 2 * USEC_PER_MIN);
        assert_int_equal(c->policy.chatter_settle_usec, 300 * USEC_PER_MSEC);
        assert_true(c->policy.fever_at > 37.29 && c->policy.fever_at < 37.31);
        assert_int_equal(c->policy.n_fever_symptoms, 7);
        assert_string_equal(c->policy.fever_symptoms[1], "cough");
        assert_int_equal(c->http.worker_link_ttl_usec, 30 * USEC_PER_DAY);
        assert_int_equal(c->escalation.ack_timeout_usec, 5 * USEC_PER_MIN);
        assert_int_equal(c->escalation.n_steps, 3);
        assert_int_equal(c->escalation.steps[0], STEP_TEAM);
        assert_int_equal(c->escalation.steps[1], STEP_LEADER);
        assert_int_equal(c->escalation.steps[2], STEP_COMMAND);
        assert_int_equal(c->escalation.repeat, 2);
        assert_int_equal(c->escalation.remind_every_usec, 30 * USEC_PER_MIN);
        assert_string_equal(c->http.listen, "127.0.0.1:8088");
        assert_null(c->http.public_url);
        assert_string_equal(c->http.token_file, token);
        assert_string_equal(c->http.ack_secret_file, ack);
        /* the implicit mqtt notifier */
        assert_int_equal(c->n_notifiers, 1);
        assert_string_equal(config_notifier(c, "mqtt")->type, "mqtt");
        assert_string_equal(
            cJSON_GetStringValue(cJSON_GetObjectItem(config_notifier(c, "mqtt")->json, "type")),
            "mqtt");
        /* a worker without channels gets ["mqtt"]; a device without keys gets its defaults */
        assert_int_equal(config_worker(c, "wm")->n_channels, 1);
        assert_string_equal(config_worker(c, "wm")->channels[0], "mqtt");
        assert_string_equal(config_worker(c, "wc")->phone, "+8613800000001");
        assert_null(config_worker(c, "wm")->phone);
        assert_false(config_device(c, "d1")->invert);
        assert_int_equal(config_device(c, "d1")->offline_after_usec, 0);
        assert_string_equal(device_source(config_device(c, "d1")), "native");
        /* communities: c1 from rosters.json, c2 only used by a worker */
        assert_int_equal(c->n_communities, 2);
        assert_string_equal(c->communities[0].id, "c1");
        assert_string_equal(c->communities[1].id, "c2");
        assert_int_equal(c->communities[1].n_households, 0);
        assert_null(c->communities[1].leader);
        assert_ptr_equal(config_worker(c, "wc2")->community, &c->communities[1]);

        config_free(c);
        rm_rf(dir);
}

static void test_settings_and_paths(void **state)
{
        static const struct file files[] = {
                { "doorwatch.json",
                  "{'timezone':'Europe/Berlin','database':'db/state.db','database_sync':'full',"
                  "'retention':'7d',"
                  "'mqtt':{'host':'broker.example','port':8883,'client_id':'dw-1','username':'dw',"
                  "'password_file':'secrets/mqtt.pw','keepalive':'1m','topic_prefix':'a/b',"
                  "'tls':{'ca_file':'/etc/ssl/ca.pem','cert_file':'tls/c.pem','key_file':'tls/"
                  "k.pem'}},"
                  "'policy':{'held_open_after':'90s','resident_reports_per_day':0,'debounce':'0s',"
                  "'max_clock_skew':'100000d','offline_after':{'camera':'1h'}},"
                  "'escalation':{'steps':['team','command'],'repeat':3,'ack_timeout':'250ms'},"
                  "'notifiers':{'sms':{'type':'exec','argv':['x','{phone}'],'// note':'c'},"
                  "'ops':{'type':'webhook','url':'http://127.0.0.1:9000/','kinds':['*']}},"
                  "'http':{'listen':'[::1]:9090','public_url':'https://dw.example/',"
                  "'token_file':'/run/credentials/api.token','ack_secret_file':'ack.key'}}" },
                { "workers.json",
                  WORKERS_PLUS("{'id':'w9','name':'x','role':'staff','channels':['sms','mqtt']}") },
        };
        _cleanup_free_ char *dir = write_config(files, ELEMENTSOF(files));
        _cleanup_free_ char *db = path_join(dir, "db/state.db");
        _cleanup_free_ char *pw = path_join(dir, "secrets/mqtt.pw");
        _cleanup_free_ char *cert = path_join(dir, "tls/c.pem");
        _cleanup_free_ char *key = path_join(dir, "tls/k.pem");
        _cleanup_free_ char *ack = path_join(dir, "ack.key");
        struct config *c = load_ok(dir);
        const struct notifier_config *n;

        assert_string_equal(c->timezone, "Europe/Berlin");
        assert_string_equal(c->database, db);
        assert_true(c->database_sync_full);
        assert_int_equal(c->retention_usec, 7 * USEC_PER_DAY);
        assert_string_equal(c->mqtt.host, "broker.example");
        assert_int_equal(c->mqtt.port, 8883);
        assert_string_equal(c->mqtt.client_id, "dw-1");
        assert_string_equal(c->mqtt.username, "dw");
        assert_string_equal(c->mqtt.password_file, pw);
        assert_string_equal(c->mqtt.ca_file, "/etc/ssl/ca.pem");
        assert_string_equal(c->mqtt.cert_file, cert);
        assert_string_equal(c->mqtt.key_file, key);
        assert_int_equal(c->mqtt.keepalive_sec, 60);
        assert_string_equal(c->mqtt.topic_prefix, "a/b");
        assert_int_equal(c->policy.held_open_after_usec, 90 * USEC_PER_SEC);
        assert_int_equal(c->policy.resident_reports_per_day, 0);
        assert_int_equal(c->policy.debounce_usec, 0);
        assert_int_equal(c->policy.max_clock_skew_usec, 100000 * USEC_PER_DAY);
        assert_int_equal(c->policy.offline_after_usec[DEVICE_CAMERA], USEC_PER_HOUR);
        assert_int_equal(c->policy.offline_after_usec[DEVICE_DOORBELL], 26 * USEC_PER_HOUR);
        assert_int_equal(c->escalation.n_steps, 2);
        assert_int_equal(c->escalation.steps[1], STEP_COMMAND);
        assert_int_equal(c->escalation.repeat, 3);
        assert_int_equal(c->escalation.ack_timeout_usec, 250 * USEC_PER_MSEC);
        assert_string_equal(c->http.listen, "[::1]:9090");
        assert_string_equal(c->http.public_url, "https://dw.example/");
        assert_string_equal(c->http.token_file, "/run/credentials/api.token");
        assert_string_equal(c->http.ack_secret_file, ack);

        /* configured notifiers keep their JSON (comments stripped); mqtt is added */
        assert_int_equal(c->n_notifiers, 3);
        n = config_notifier(c, "sms");
        assert_non_null(n);
        assert_string_equal(n->type, "exec");
        assert_true(cJSON_IsArray(cJSON_GetObjectItem(n->json, "argv")));
        assert_null(cJSON_GetObjectItem(n->json, "// note"));
        assert_string_equal(config_notifier(c, "ops")->type, "webhook");
        assert_non_null(config_notifier(c, "mqtt"));
        assert_null(config_notifier(c, "wecom"));
        assert_int_equal(config_worker(c, "w9")->n_channels, 2);
        assert_string_equal(config_worker(c, "w9")->channels[0], "sms");

        config_free(c);
        rm_rf(dir);
}

/* A household's "policy" overrides the daemon's rule keys for it alone. */
static void test_household_policy(void **state)
{
        static const struct file files[] = {
                { "doorwatch.json", "{'policy':{'held_open_after':'10m','person_window':'90s','"
                                    "chatter_settle':'1s','fever_at':37.5,"
                                    "'fever_symptoms':['发热','咳嗽']}}" },
                { "households.json",
                  "[" HH_ID("H1",
                            ",'policy':{'held_open_after':'2m','resident_reports_per_day':5,"
                            "'person_window':'30s','debounce':'0s','chatter_settle':'500ms'},"
                            "'devices':[" DEV1
                            "]") "," HH_ID("H2",
                                           ",'devices':[{'id':'d2','kind':'door_contact','source':"
                                           "'native'}]") "]" },
        };
        _cleanup_free_ char *dir = write_config(files, ELEMENTSOF(files));
        struct config *c = load_ok(dir);
        const struct household *h1 = config_household(c, "H1"), *h2 = config_household(c, "H2");

        assert_non_null(h1->policy);
        assert_null(h2->policy);
        assert_int_equal(h1->policy->held_open_after_usec, 2 * USEC_PER_MIN);
        assert_int_equal(h1->policy->resident_reports_per_day, 5);
        assert_int_equal(h1->policy->person_window_usec, 30 * USEC_PER_SEC);
        assert_int_equal(h1->policy->debounce_usec, 0);
        assert_int_equal(h1->policy->chatter_settle_usec, 500 * USEC_PER_MSEC);
        /* the rest comes from doorwatch.json's policy */
        assert_int_equal(h1->policy->handoff_max_open_usec, 120 * USEC_PER_SEC);
        assert_int_equal(c->policy.held_open_after_usec, 10 * USEC_PER_MIN);
        assert_int_equal(c->policy.person_window_usec, 90 * USEC_PER_SEC);
        assert_int_equal(c->policy.chatter_settle_usec, 1 * USEC_PER_SEC);
        /* The fever keys are the daemon's, shared by every household. */
        assert_true(h1->policy->fever_at > 37.49 && h1->policy->fever_at < 37.51);
        assert_int_equal(h1->policy->n_fever_symptoms, 2);
        assert_ptr_equal(h1->policy->fever_symptoms, c->policy.fever_symptoms);
        assert_string_equal(c->policy.fever_symptoms[1], "咳嗽");
        config_free(c);
        rm_rf(dir);
}

/* "end": null is an open-ended observation: it has begun and never ends by itself. */
static void test_open_ended_observation(void **state)
{
        static const struct file files[] = {
                { "households.json", HH_OBS("{'start':'2026-11-20T00:00:00+08:00','end':null}") },
        };
        _cleanup_free_ char *dir = write_config(files, ELEMENTSOF(files));
        struct config *c = load_ok(dir);
        const struct household *h = config_household(c, "H1");
        int64_t t;

        assert_int_equal(parse_rfc3339("2026-11-20T00:00:00+08:00", &t), 0);
        assert_int_equal(h->obs_start_usec, t);
        assert_int_equal(h->obs_end_usec, OBSERVATION_OPEN_END);
        config_free(c);
        rm_rf(dir);
}

/* --check-config warns when the configuration watches nobody now, and says why. */
static void test_check_observed(void **state)
{
        static const struct file files[] = {
                { "households.json",
                  "[" HH_ID(
                      "H1",
                      "") ",{'id':'H2','community':'c1','address':'A 2',"
                          "'observation':{'start':'2026-12-10T00:00:00+08:00','end':null}," TEAM
                          "}]" },
        };
        _cleanup_free_ char *dir = write_config(files, ELEMENTSOF(files));
        struct config *c = load_ok(dir);
        struct config_diag d = { 0 };
        int64_t t;

        /* H1: 2026-11-20 .. 2026-12-04; H2: from 2026-12-10, open-ended */
        assert_int_equal(timezone_set("Asia/Shanghai"), 0);
        assert_int_equal(parse_rfc3339("2026-11-25T00:00:00+08:00", &t), 0);
        assert_int_equal(config_check_observed(c, t, &d), 1);
        assert_int_equal(d.n_warnings, 0);
        assert_int_equal(parse_rfc3339("2027-06-01T00:00:00+08:00", &t), 0);
        assert_int_equal(config_check_observed(c, t, &d), 1);
        assert_int_equal(d.n_warnings, 0);

        assert_int_equal(parse_rfc3339("2026-12-07T12:00:00+08:00", &t), 0);
        assert_int_equal(config_check_observed(c, t, &d), 0);
        assert_int_equal(d.n_warnings, 1);
        assert_string_equal(d.warnings[0],
                            "households: no household is under observation now (1 ended, 1 begin "
                            "later, the first at 2026-12-10 00:00:00): every door event is "
                            "ignored until then");
        config_diag_done(&d);
        config_free(c);
        rm_rf(dir);
        free(dir);

        /* Every observation ended: what to change. */
        dir = write_config(NULL, 0);
        c = load_ok(dir);
        assert_int_equal(config_check_observed(c, t, &d), 0);
        assert_int_equal(d.n_warnings, 1);
        assert_true(strstr(d.warnings[0], "every observation ended"));
        assert_true(strstr(d.warnings[0], "\"end\": null"));
        config_diag_done(&d);
        config_free(c);
        rm_rf(dir);
}

static void test_relative_dir(void **state)
{
        _cleanup_free_ char *dir = write_config(NULL, 0);
        _cleanup_free_ char *db = NULL;
        char cwd[PATH_MAX], *slash = strrchr(dir, '/');
        struct config *c;

        assert_non_null(getcwd(cwd, sizeof(cwd)));
        *slash = 0;
        assert_int_equal(chdir(dir), 0);
        c = load_ok(slash + 1);
        assert_int_equal(chdir(cwd), 0);
        *slash = '/';
        assert_string_equal(c->dir, dir);
        config_free(c);

        /* "." is the working directory; a NULL diag is allowed */
        assert_int_equal(chdir(dir), 0);
        c = NULL;
        assert_int_equal(config_load(".", &c, NULL), 0);
        assert_int_equal(chdir(cwd), 0);
        assert_string_equal(c->dir, dir);
        config_free(c);

        /* a trailing slash is dropped */
        assert_true(asprintf(&db, "%s//", dir) > 0);
        c = load_ok(db);
        assert_string_equal(c->dir, dir);
        config_free(c);
        rm_rf(dir);
}

static void test_households_d_order(void **state)
{
        static const struct file files[] = {
                { "households.d/b-south.json",
                  "[" HH_ID("H4",
                            ",'devices':[{'id':'d4','kind':'camera','source':'native'}]") "]" },
                { "households.d/a-north.json",
                  "[" HH_ID(
                      "H2",
                      ",'devices':[{'id':'d2','kind':'doorbell','source':'native'}"
                      "]") "," HH_ID("H3",
                                     ",'devices':[{'id':'d3a','kind':'door_contact','source':'"
                                     "native'},"
                                     "{'id':'d3b','kind':'doorbell','source':'native'}]") "]" },
                { "households.d/.hidden.json", "not json" },
        };
        _cleanup_free_ char *dir = write_config(files, ELEMENTSOF(files));
        struct config *c;
        struct community *m;
        static const char *const want[] = { "H1", "H2", "H3", "H4" };
        static const char *const want_dev[] = { "d1", "d2", "d3a", "d3b", "d4" };

        put_file(dir, "households.d/notes.txt", "not json either");
        put_file(dir, "households.d/z.json.bak", "[1]");
        c = load_ok(dir);
        assert_int_equal(c->n_households, 4);
        for (size_t i = 0; i < 4; i++) {
                assert_string_equal(c->households[i].id, want[i]);
                assert_int_equal(c->households[i].index, i);
                assert_ptr_equal(config_household(c, want[i]), &c->households[i]);
        }
        assert_int_equal(c->n_devices, 5);
        for (size_t i = 0; i < 5; i++) {
                assert_string_equal(c->devices[i].id, want_dev[i]);
                assert_int_equal(c->devices[i].index, i);
                assert_ptr_equal(config_device(c, want_dev[i]), &c->devices[i]);
        }
        assert_int_equal(c->households[2].n_devices, 2);
        assert_ptr_equal(&c->households[2].devices[0], &c->devices[2]);
        assert_ptr_equal(&c->households[2].devices[1], &c->devices[3]);
        assert_ptr_equal(c->devices[3].household, &c->households[2]);
        assert_ptr_equal(c->devices[4].household, &c->households[3]);
        assert_int_equal(c->devices[4].kind, DEVICE_CAMERA);
        m = config_community(c, "c1");
        assert_int_equal(m->index, 0);
        assert_int_equal(m->n_households, 4);
        for (size_t i = 0; i < 4; i++)
                assert_ptr_equal(m->households[i], &c->households[i]);
        assert_ptr_equal(c->households[3].community, m);
        for (size_t i = 0; i < c->n_workers; i++)
                assert_int_equal(c->workers[i].index, i);
        config_free(c);
        rm_rf(dir);
}

static void test_comments_ignored(void **state)
{
        static const struct file files[] = {
                { "doorwatch.json",
                  "{'//':'top','//':'twice is fine','mqtt':{'// port':'the broker','port':1884},"
                  "'notifiers':{'// group robots go here':1,'mqtt':{'type':'mqtt'}}}" },
                { "households.json",
                  "[{'//':'h','id':'H1','community':'c1','address':'A 1',"
                  "'observation':{'//"
                  "':'o','start':'2026-11-20T00:00:00+08:00','end':'2026-12-04T00:00:00+08:00'},"
                  "'team':{'//':'t','community':'wc','medical':'wm','police':'wp'},"
                  "'schedule':[{'//':'s','role':'medical','at':['09:00'],'window':'30m'}],"
                  "'devices':[{'// where':'front "
                  "door','id':'d1','kind':'door_contact','source':'native'}]}]" },
                { "rosters.json",
                  "{'//':'r','communities':{'//':'c','c1':{'//':'x','leader':'wl','shifts':[{'//"
                  "':'n',"
                  "'role':'community','worker':'wc','days':['*'],'from':'08:00','to':'24:00'}]}},"
                  "'command':['wx'],'admins':['wx']}" },
        };
        _cleanup_free_ char *dir = write_config(files, ELEMENTSOF(files));
        struct config *c = load_ok(dir);

        assert_int_equal(c->mqtt.port, 1884);
        assert_int_equal(c->n_notifiers, 1);
        assert_int_equal(c->n_communities, 2);
        assert_int_equal(c->communities[0].n_shifts, 1);
        assert_int_equal(c->communities[0].shifts[0].from_min, 8 * 60);
        assert_int_equal(c->communities[0].shifts[0].to_min, 0); /* 24:00 = next midnight */
        assert_int_equal(c->households[0].n_schedule, 1);
        config_free(c);
        rm_rf(dir);
}

/* ---- whole-load behaviour ---- */

static void test_collects_all_errors(void **state)
{
        static const struct file files[] = {
                DW("{'policy':{'held_open_after':'5x'},'mqtt':{'prot':1}}"),
                HS("[" HH_ID("H1", ",'devices':[{'id':'d1','kind':'door','source':'native'}"
                                   "]") ","
                                        "{'id':'H2','community':'c1','address':'A'," OBS
                                        ",'team':{'community':'wc','medical':'wm','police':"
                                        "'w99'}}]"),
        };
        _cleanup_free_ char *dir = write_config(files, ELEMENTSOF(files));
        struct config_diag d = { 0 };
        struct config *c = (struct config *)&d; /* must stay untouched on failure */

        assert_int_equal(config_load(dir, &c, &d), -EINVAL);
        assert_ptr_equal(c, (struct config *)&d);
        assert_int_equal(d.n_errors, 4);
        assert_string_equal(d.errors[0], "doorwatch.json: mqtt.prot: unknown key");
        assert_string_equal(d.errors[1],
                            "doorwatch.json: policy.held_open_after: invalid duration \"5x\"");
        assert_string_equal(d.errors[2],
                            "households.json: [0].devices[0].kind: unknown device "
                            "kind \"door\" (expected door_contact, doorbell or camera)");
        assert_string_equal(d.errors[3],
                            "households.json: [1].team.police: unknown worker \"w99\"");
        config_diag_done(&d);
        assert_int_equal(d.n_errors, 0);
        assert_null(d.errors);
        rm_rf(dir);
}

static void test_no_cascade(void **state)
{
        /* When workers.json or doorwatch.json cannot be read, references into them are not
         * reported one by one. */
        static const struct file files[] = {
                WK("[{'id':'wc'"),
                DW("{"),
        };
        _cleanup_free_ char *dir = write_config(files, ELEMENTSOF(files));
        struct config_diag d = { 0 };
        struct config *c = NULL;

        assert_int_equal(config_load(dir, &c, &d), -EINVAL);
        if (d.n_errors != 2)
                print_diag(&d);
        assert_int_equal(d.n_errors, 2);
        assert_string_equal(d.errors[0], "doorwatch.json: syntax error near line 1");
        assert_string_equal(d.errors[1], "workers.json: syntax error near line 1");
        config_diag_done(&d);
        rm_rf(dir);
}

static void test_bom_and_nul(void **state)
{
        _cleanup_free_ char *dir = write_config(NULL, 0);
        _cleanup_free_ char *path = path_join(dir, "doorwatch.json");
        struct config_diag d = { 0 };
        struct config *c = NULL;
        FILE *f;

        f = fopen(path, "w");
        assert_non_null(f);
        fputs("\xef\xbb\xbf{\"retention\": \"2d\"}\n", f);
        fclose(f);
        c = load_ok(dir);
        assert_int_equal(c->retention_usec, 2 * USEC_PER_DAY);
        c = config_free(c);
        assert_null(c);

        f = fopen(path, "w");
        assert_non_null(f);
        fwrite("{\n\n\"retention\": \"2d\"\0}", 1, sizeof("{\n\n\"retention\": \"2d\"\0}") - 1, f);
        fclose(f);
        assert_int_equal(config_load(dir, &c, &d), -EINVAL);
        assert_int_equal(d.n_errors, 1);
        assert_string_equal(d.errors[0], "doorwatch.json: syntax error near line 3");
        config_diag_done(&d);
        rm_rf(dir);
}

static void test_long_path(void **state)
{
        char key[301], content[400], want[300];
        struct config_diag d = { 0 };
        struct config *c = NULL;
        _cleanup_free_ char *dir = NULL;
        struct file f[1] = { { "doorwatch.json", content } };

        memset(key, 'k', 300);
        key[300] = 0;
        snprintf(content, sizeof(content), "{'notifiers':{'%s':5}}", key);
        dir = write_config(f, 1);
        assert_int_equal(config_load(dir, &c, &d), -EINVAL);
        assert_int_equal(d.n_errors, 1);
        /* the path is cut to 255 bytes, ending in "..." */
        snprintf(want, sizeof(want), "doorwatch.json: notifiers.%.*s...: expected an object",
                 255 - 3 - (int)strlen("notifiers."), key);
        assert_string_equal(d.errors[0], want);
        config_diag_done(&d);
        rm_rf(dir);
}

static void test_diag_format(void **state)
{
        struct config_diag d = { 0 };

        config_diag_error(&d, "a.json", "x.y", "bad %d", 1);
        config_diag_error(&d, "a.json", NULL, "whole file");
        config_diag_error(&d, "a.json", "", "empty path\nsecond line");
        config_diag_warn(&d, "b.json", "[0]", "hmm");
        assert_int_equal(d.n_errors, 3);
        assert_string_equal(d.errors[0], "a.json: x.y: bad 1");
        assert_string_equal(d.errors[1], "a.json: whole file");
        assert_string_equal(d.errors[2], "a.json: empty path?second line");
        assert_int_equal(d.n_warnings, 1);
        assert_string_equal(d.warnings[0], "b.json: [0]: hmm");
        config_diag_done(&d);
        config_diag_done(NULL);
        assert_int_equal(d.n_warnings, 0);
}

/* Households without devices: one warning at --check-config time, listing those under
 * observation then (not one per household at every load). */
static void test_check_devices(void **state)
{
        static const struct file files[] = {
                { "households.json",
                  "[" HH_ID("H1", "") "," HH_ID("H2", ",'devices':[]") "," HH_ID(
                      "H3", ",'devices':[" DEV1 "]") ",{'id':'H4','community':'c1','address':'A',"
                                                     "'observation':{'start':'2026-12-10T00:00:00+"
                                                     "08:00','end':'2026-12-20T00:00:00+08:00'},"
                                                     "" TEAM "}]" },
        };
        _cleanup_free_ char *dir = write_config(files, ELEMENTSOF(files));
        struct config_diag d = { 0 };
        struct config *cfg = NULL;
        int64_t during, after;

        assert_int_equal(config_load(dir, &cfg, &d), 0);
        assert_int_equal(d.n_warnings, 0); /* loading alone says nothing */
        assert_int_equal(parse_rfc3339("2026-11-25T12:00:00+08:00", &during), 0);
        assert_int_equal(parse_rfc3339("2026-12-05T00:00:00+08:00", &after), 0);
        assert_int_equal(config_check_devices(cfg, during, &d), 2);
        assert_int_equal(d.n_warnings, 1);
        assert_string_equal(d.warnings[0],
                            "households: 2 household(s) under observation have no devices: H1, "
                            "H2 (installers add them under \"devices\" and check them with "
                            "doorwatchctl device verify)");
        assert_int_equal(config_check_devices(cfg, after, &d), 0);
        assert_int_equal(d.n_warnings, 1);
        config_free(cfg);
        config_diag_done(&d);
        rm_rf(dir);
}

/* More than CONFIG_LIST_IDS: the first ones, then how many more. */
static void test_check_devices_many(void **state)
{
        struct file files[1] = { { "households.json", NULL } };
        _cleanup_free_ char *text = NULL, *dir = NULL;
        struct config_diag d = { 0 };
        struct config *cfg = NULL;
        struct sbuf b;
        int64_t during;

        sbuf_init(&b, NULL, 0);
        sbuf_puts(&b, "[");
        for (int i = 0; i < CONFIG_LIST_IDS + 5; i++)
                sbuf_printf(&b, "%s{'id':'H%02d','community':'c1','address':'A'," OBS "," TEAM "}",
                            i ? "," : "", i);
        sbuf_puts(&b, "]");
        text = sbuf_finish(&b);
        files[0].content = text;
        dir = write_config(files, 1);
        assert_int_equal(config_load(dir, &cfg, &d), 0);
        assert_int_equal(parse_rfc3339("2026-11-25T12:00:00+08:00", &during), 0);
        assert_int_equal(config_check_devices(cfg, during, &d), CONFIG_LIST_IDS + 5);
        assert_non_null(strstr(d.warnings[0], "25 household(s)"));
        assert_non_null(strstr(d.warnings[0], "H00, H01,"));
        assert_non_null(strstr(d.warnings[0], "H19 and 5 more (installers"));
        assert_null(strstr(d.warnings[0], "H20"));
        config_free(cfg);
        config_diag_done(&d);
        rm_rf(dir);
}

static void test_names(void **state)
{
        for (int r = 0; r < _ROLE_MAX; r++)
                assert_int_equal(role_from_string(role_to_string((enum role)r)), r);
        assert_string_equal(role_to_string(ROLE_INSTALLER), "installer");
        assert_int_equal(role_from_string("Police"), ROLE_INVALID);
        assert_int_equal(role_from_string(NULL), ROLE_INVALID);
        assert_null(role_to_string(ROLE_INVALID));
        assert_null(role_to_string(_ROLE_MAX));
        for (int k = 0; k < _DEVICE_KIND_MAX; k++)
                assert_int_equal(
                    device_kind_from_string(device_kind_to_string((enum device_kind)k)), k);
        assert_string_equal(device_kind_to_string(DEVICE_DOOR_CONTACT), "door_contact");
        assert_int_equal(device_kind_from_string("door"), DEVICE_KIND_INVALID);
        assert_null(device_kind_to_string(DEVICE_KIND_INVALID));
        for (int s = 0; s < _STEP_MAX; s++)
                assert_int_equal(
                    escalation_step_from_string(escalation_step_to_string((enum escalation_step)s)),
                    s);
        assert_string_equal(escalation_step_to_string(STEP_LEADER), "leader");
        assert_int_equal(escalation_step_from_string("boss"), STEP_INVALID);
        assert_null(escalation_step_to_string(_STEP_MAX));

        assert_null(config_free(NULL));
        assert_null(config_worker(NULL, "w"));
        assert_null(config_household(NULL, "h"));
        assert_null(config_device(NULL, "d"));
        assert_null(config_community(NULL, "c"));
        assert_null(config_notifier(NULL, "mqtt"));
}

/* ---- scale ---- */

static bool under_instrumentation(void)
{
#if defined(__SANITIZE_ADDRESS__)
        return true;
#else
        const char *p = getenv("LD_PRELOAD");
        return p && strstr(p, "vgpreload");
#endif
}

static void test_scale(void **state)
{
        /* Many households split per community, as a city-wide campaign would keep them. The
         * time bound is only checked on a plain build (not under ASan or valgrind). */
        const char *env = getenv("DOORWATCH_TEST_HOUSEHOLDS");
        size_t n = env ? strtoul(env, NULL, 10) : under_instrumentation() ? 3000 : 100000;
        /* under instrumentation: fewer, bigger files, so a document still outgrows one block
         * of the parse arena */
        size_t n_comm = under_instrumentation() ? 3 : 100, per = (n + n_comm - 1) / n_comm;
        _cleanup_free_ char *dir = write_config(NULL, 0);
        _cleanup_free_ char *workers = path_join(dir, "workers.json");
        _cleanup_free_ char *rosters = path_join(dir, "rosters.json");
        struct config_diag d = { 0 };
        struct config *c = NULL;
        FILE *f;
        int64_t t0, elapsed;
        size_t made = 0;

        f = fopen(workers, "w");
        assert_non_null(f);
        fputs("[", f);
        for (size_t k = 0; k < n_comm; k++)
                fprintf(f,
                        "%s{\"id\":\"wc-%zu\",\"name\":\"社工\",\"role\":\"community\","
                        "\"community\":\"c%zu\"},"
                        "{\"id\":\"wm-%zu\",\"name\":\"医生\",\"role\":\"medical\",\"community\":"
                        "\"c%zu\"},"
                        "{\"id\":\"wp-%zu\",\"name\":\"民警\",\"role\":\"police\",\"community\":"
                        "\"c%zu\"},"
                        "{\"id\":\"wl-%zu\",\"name\":\"组长\",\"role\":\"staff\",\"community\":\"c%"
                        "zu\"}",
                        k ? "," : "", k, k, k, k, k, k, k, k);
        fputs("]", f);
        fclose(f);
        put_file(dir, "households.json", "[]");
        put_file(dir, "households.d/.keep", "");
        for (size_t k = 0; k < n_comm; k++) {
                _cleanup_free_ char *name = NULL, *path = NULL;
                assert_true(asprintf(&name, "households.d/c%03zu.json", k) > 0);
                path = path_join(dir, name);
                f = fopen(path, "w");
                assert_non_null(f);
                fputs("[", f);
                for (size_t i = 0; i < per && made < n; i++, made++)
                        fprintf(
                            f,
                            "%s{\"id\":\"H%zu-%zu\",\"community\":\"c%zu\",\"address\":\"长虹路 "
                            "%zu号\",\"observation\":{\"start\":\"2026-11-20T00:00:00+08:00\","
                            "\"end\":\"2026-12-04T00:00:00+08:00\"},\"team\":{\"community\":"
                            "\"wc-%zu\",\"medical\":\"wm-%zu\",\"police\":\"wp-%zu\"},"
                            "\"schedule\":[{\"role\":\"medical\",\"at\":[\"09:00\",\"15:00\"],"
                            "\"window\":\"30m\"}],\"devices\":[{\"id\":\"d%zu-%zu-door\","
                            "\"kind\":\"door_contact\",\"source\":\"native\"},{\"id\":\"d%zu-%"
                            "zu-bell\",\"kind\":\"doorbell\",\"source\":\"native\"}]}",
                            i ? "," : "", k, i, k, i, k, k, k, k, i, k, i);
                fputs("]", f);
                fclose(f);
        }
        f = fopen(rosters, "w");
        assert_non_null(f);
        fputs("{\"communities\":{", f);
        for (size_t k = 0; k < n_comm; k++)
                fprintf(f, "%s\"c%zu\":{\"leader\":\"wl-%zu\"}", k ? "," : "", k, k);
        fputs("},\"command\":[\"wl-0\"]}", f);
        fclose(f);

        t0 = now_monotonic_usec();
        assert_int_equal(config_load(dir, &c, &d), 0);
        elapsed = now_monotonic_usec() - t0;
        fprintf(stderr, "    loaded %zu households, %zu devices in %lld ms\n", c->n_households,
                c->n_devices, (long long)(elapsed / USEC_PER_MSEC));
        assert_int_equal(d.n_errors, 0);
        assert_int_equal(d.n_warnings, 0);
        assert_int_equal(c->n_households, n);
        assert_int_equal(c->n_devices, 2 * n);
        assert_int_equal(c->n_communities, n_comm);
        assert_int_equal(c->communities[2].n_households, per);
        assert_ptr_equal(config_device(c, "d2-1-bell")->household, config_household(c, "H2-1"));
        assert_ptr_equal(config_household(c, "H2-1")->team[ROLE_POLICE], config_worker(c, "wp-2"));
        if (!under_instrumentation() && !env)
                assert_true(elapsed < 1500 * USEC_PER_MSEC);
        config_free(c);
        config_diag_done(&d);
        rm_rf(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_example_conf),
                cmocka_unit_test(test_diag_table),
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_settings_and_paths),
                cmocka_unit_test(test_household_policy),
                cmocka_unit_test(test_open_ended_observation),
                cmocka_unit_test(test_check_observed),
                cmocka_unit_test(test_relative_dir),
                cmocka_unit_test(test_households_d_order),
                cmocka_unit_test(test_comments_ignored),
                cmocka_unit_test(test_collects_all_errors),
                cmocka_unit_test(test_no_cascade),
                cmocka_unit_test(test_bom_and_nul),
                cmocka_unit_test(test_long_path),
                cmocka_unit_test(test_diag_format),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_check_devices),
                cmocka_unit_test(test_check_devices_many),
                cmocka_unit_test(test_scale),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

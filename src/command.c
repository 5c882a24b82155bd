/* command.c: the one parser and validator of commands (see command.h).
 *
 * One table says, per verb, which fields a command has, of which kind, which are required
 * and where each value goes in struct command; one walk over it validates every command
 * the same way, whatever door it came through, in a fixed order: request_id (so that a
 * refusal can still be answered to it), the actor, the verb's fields in table order, "ts",
 * then the rules between fields. The first problem found is the answer. Values are copied
 * into the struct: it owns nothing and borrows only the configuration's records. */
#include "command.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "util.h"

static const struct {
        const char *code, *label;
} channels[_CHANNEL_MAX] = {
        [CHANNEL_MQTT] = { "mqtt", "工作人员消息" },
        [CHANNEL_CLI] = { "cli", "命令行" },
        [CHANNEL_HTTP_LINK] = { "http-link", "网页链接" },
        [CHANNEL_OPERATOR_API] = { "operator-api", "值班管理接口" },
        [CHANNEL_WORKER_PAGE] = { "worker-page", "工作人员页面" },
        [CHANNEL_SYSTEM] = { "system", "系统" },
};

const char *channel_code(enum channel ch)
{
        return (unsigned)ch < _CHANNEL_MAX ? channels[ch].code : NULL;
}

const char *channel_label(enum channel ch)
{
        return (unsigned)ch < _CHANNEL_MAX ? channels[ch].label : NULL;
}

int channel_from_code(const char *code, enum channel *ret)
{
        for (size_t i = 0; code && i < _CHANNEL_MAX; i++)
                if (strcmp(channels[i].code, code) == 0) {
                        *ret = (enum channel)i;
                        return 0;
                }
        return -EINVAL;
}

/* ---- the verbs and their fields ---- */

enum field_kind {
        FIELD_STRING,    /* a string that fits its member (ids, texts) */
        FIELD_INSTANT,   /* an RFC 3339 string, or Unix seconds */
        FIELD_HOUSEHOLD, /* a configured household's id: sets cmd->household */
        FIELD_NUMBER,    /* a JSON number: a double member */
        FIELD_STRINGS,   /* a list of non-empty strings: the reading's symptoms */
};

struct field {
        const char *name;
        enum field_kind kind;
        bool required; /* absent, null or "" is refused */
        size_t offset; /* of the member in struct command */
        size_t size;   /* of the member (STRING) */
};

#define MEMBER_SIZE(m) sizeof(((struct command *)0)->m)
#define STRING_FIELD(n, req, m)                                                                    \
        {                                                                                          \
                .name = n, .kind = FIELD_STRING, .required = req,                                  \
                .offset = offsetof(struct command, m), .size = MEMBER_SIZE(m)                      \
        }
#define INSTANT_FIELD(n, m)                                                                        \
        {                                                                                          \
                .name = n, .kind = FIELD_INSTANT, .required = true,                                \
                .offset = offsetof(struct command, m)                                              \
        }
#define NUMBER_FIELD(n, m)                                                                         \
        {                                                                                          \
                .name = n, .kind = FIELD_NUMBER, .required = true,                                 \
                .offset = offsetof(struct command, m)                                              \
        }
#define SYMPTOMS_FIELD                                                                             \
        {                                                                                          \
                .name = "symptoms", .kind = FIELD_STRINGS                                          \
        }
#define HOUSEHOLD_FIELD                                                                            \
        {                                                                                          \
                .name = "household", .kind = FIELD_HOUSEHOLD, .required = true                     \
        }

#define FIELDS_MAX 6

struct verb_spec {
        const char *name;
        bool by_household;                 /* the actor is a household (the topic's, the link's) */
        struct field fields[FIELDS_MAX];   /* up to the first without a name */
        int (*check)(struct command *cmd); /* rules between fields, may be NULL */
};

static int invalid(struct command *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int invalid(struct command *cmd, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(cmd->error, sizeof(cmd->error), fmt, ap);
        va_end(ap);
        return COMMAND_E_INVALID;
}

static int check_pass(struct command *cmd)
{
        if (cmd->from_usec >= cmd->to_usec)
                return invalid(cmd, "\"from\" must be before \"to\"");
        return 0;
}

static int check_reading(struct command *cmd)
{
        if (cmd->temperature < COMMAND_TEMPERATURE_MIN ||
            cmd->temperature > COMMAND_TEMPERATURE_MAX)
                return invalid(cmd,
                               "\"temperature\" %.1f °C is outside %.0f–%.0f °C: a typing error? "
                               "(degrees Celsius, e.g. 36.6)",
                               cmd->temperature, COMMAND_TEMPERATURE_MIN, COMMAND_TEMPERATURE_MAX);
        return 0;
}

static const struct verb_spec verbs[_COMMAND_VERB_MAX] = {
        [COMMAND_ACK] = { "ack", false, { STRING_FIELD("alert_id", true, alert_id) } },
        [COMMAND_RESOLVE] = { "resolve",
                              false,
                              { STRING_FIELD("alert_id", true, alert_id),
                                STRING_FIELD("note", true, note) } },
        [COMMAND_CHECKIN] = { "checkin", false, { HOUSEHOLD_FIELD } },
        [COMMAND_PASS] = { "pass",
                           false,
                           { HOUSEHOLD_FIELD, INSTANT_FIELD("from", from_usec),
                             INSTANT_FIELD("to", to_usec), STRING_FIELD("reason", true, reason) },
                           check_pass },
        [COMMAND_REPORT] = { "report", true, { STRING_FIELD("reason", false, reason) } },
        [COMMAND_READING] = { "reading",
                              false,
                              { HOUSEHOLD_FIELD, NUMBER_FIELD("temperature", temperature),
                                SYMPTOMS_FIELD, STRING_FIELD("note", false, note) },
                              check_reading },
};

const char *command_verb_to_string(enum command_verb v)
{
        return (unsigned)v < _COMMAND_VERB_MAX ? verbs[v].name : NULL;
}

int command_verb_from_string(const char *s, enum command_verb *ret)
{
        for (size_t i = 0; s && i < _COMMAND_VERB_MAX; i++)
                if (strcmp(verbs[i].name, s) == 0) {
                        *ret = (enum command_verb)i;
                        return 0;
                }
        return -EINVAL;
}

bool command_verb_by_household(enum command_verb v)
{
        return (unsigned)v < _COMMAND_VERB_MAX && verbs[v].by_household;
}

/* ---- parsing ---- */

/* The value of key, NULL when absent or null. */
static const cJSON *member(const cJSON *j, const char *key)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
        return cJSON_IsNull(v) ? NULL : v;
}

/* The string value of key into *ret (NULL when absent), or COMMAND_E_INVALID. */
static int get_string(struct command *cmd, const cJSON *j, const char *key, const char **ret)
{
        const cJSON *v = member(j, key);

        *ret = NULL;
        if (!v)
                return 0;
        if (!cJSON_IsString(v))
                return invalid(cmd, "\"%s\" must be a string", key);
        *ret = v->valuestring;
        return 0;
}

static int copy_string(struct command *cmd, const char *key, const char *s, char *dst, size_t size)
{
        size_t n = strlen(s);

        if (n >= size)
                return invalid(cmd, "\"%s\" too long (at most %zu bytes)", key, size - 1);
        memcpy(dst, s, n + 1);
        return 0;
}

static int missing(struct command *cmd, const char *key)
{
        return invalid(cmd, "\"%s\" missing or empty", key);
}

/* An id as an error message quotes it: at most 100 bytes, cut between characters, so the
 * message stays valid UTF-8 (it goes into JSON replies). */
static const char *quoted(char buf[static 101], const char *id)
{
        rules_copy_text(buf, 101, id);
        return buf;
}

/* What the origin names instead of the body. */
static const char *origin_value(const struct command_origin *o, const char *name)
{
        return strcmp(name, "alert_id") == 0 ? o->alert_id : NULL;
}

/* The symptoms: absent, null or [] is none. */
static int parse_strings(const struct field *f, const cJSON *j, struct command *cmd)
{
        const cJSON *v = member(j, f->name), *e;

        if (!v)
                return 0;
        if (!cJSON_IsArray(v))
                return invalid(cmd, "\"%s\" must be a list of strings", f->name);
        cJSON_ArrayForEach(e, v)
        {
                if (!cJSON_IsString(e) || !e->valuestring[0])
                        return invalid(cmd, "\"%s\" must be a list of non-empty strings", f->name);
                if (cmd->n_symptoms == COMMAND_SYMPTOMS_MAX)
                        return invalid(cmd, "\"%s\": at most %d entries", f->name,
                                       COMMAND_SYMPTOMS_MAX);
                if (strlen(e->valuestring) >= COMMAND_SYMPTOM_MAX)
                        return invalid(cmd, "\"%s\": an entry is too long (at most %d bytes)",
                                       f->name, COMMAND_SYMPTOM_MAX - 1);
                memcpy(cmd->symptoms[cmd->n_symptoms++], e->valuestring,
                       strlen(e->valuestring) + 1);
        }
        return 0;
}

static int parse_field(const struct config *c, const struct command_origin *o,
                       const struct field *f, const cJSON *j, struct command *cmd)
{
        char *base = (char *)cmd, q[101];
        const cJSON *v;
        const char *s;
        int r;

        if (f->kind == FIELD_NUMBER) {
                v = member(j, f->name);
                if (!v)
                        return f->required ? missing(cmd, f->name) : 0;
                if (!cJSON_IsNumber(v))
                        return invalid(cmd, "\"%s\" must be a number", f->name);
                *(double *)(void *)(base + f->offset) = v->valuedouble;
                return 0;
        }
        if (f->kind == FIELD_STRINGS)
                return parse_strings(f, j, cmd);
        if (f->kind == FIELD_INSTANT) {
                int64_t *dst = (int64_t *)(void *)(base + f->offset);

                v = member(j, f->name);
                if (!v)
                        return f->required ? missing(cmd, f->name) : 0;
                if (cJSON_IsString(v) && parse_rfc3339(v->valuestring, dst) == 0)
                        return 0;
                if (cJSON_IsNumber(v) && v->valuedouble > 0 && v->valuedouble < 1e11) {
                        *dst = (int64_t)(v->valuedouble * 1e6);
                        return 0;
                }
                return invalid(cmd, "\"%s\" must be an RFC 3339 time or Unix seconds", f->name);
        }
        s = origin_value(o, f->name);
        /* A path or a token may carry any bytes; the body's strings are text already. */
        if (s && !text_valid(s, strlen(s)))
                return invalid(cmd, "\"%s\" is not UTF-8 text", f->name);
        r = s ? 0 : get_string(cmd, j, f->name, &s);
        if (r != 0)
                return r;
        if (!s || !*s)
                return f->required ? missing(cmd, f->name) : 0;
        if (f->kind == FIELD_HOUSEHOLD) {
                cmd->household = config_household(c, s);
                if (!cmd->household)
                        return invalid(cmd, "unknown household \"%s\"", quoted(q, s));
                return 0;
        }
        return copy_string(cmd, f->name, s, base + f->offset, f->size);
}

/* The acting worker or household, named by the origin (or, for the office's channels, by
 * the body's "worker"). */
static int parse_actor(const struct config *c, const struct verb_spec *spec,
                       const struct command_origin *o, const cJSON *j, struct command *cmd)
{
        const char *id = spec->by_household ? o->household : o->worker;
        char q[101];
        int r;

        if (id && !text_valid(id, strlen(id)))
                return invalid(cmd, "the %s's id is not UTF-8 text",
                               spec->by_household ? "household" : "worker");
        if (spec->by_household) {
                if (!id || !*id)
                        return invalid(cmd, "no household named");
                cmd->household = config_household(c, id);
                if (!cmd->household)
                        return invalid(cmd, "unknown household \"%s\"", quoted(q, id));
                return 0;
        }
        if (!id) {
                r = get_string(cmd, j, "worker", &id);
                if (r != 0)
                        return r;
                if (!id || !*id)
                        return missing(cmd, "worker");
        }
        cmd->worker = config_worker(c, id);
        if (!cmd->worker)
                return invalid(cmd, "unknown worker \"%s\"", quoted(q, id));
        return 0;
}

int command_parse_json(const struct config *c, enum command_verb verb,
                       const struct command_origin *o, const cJSON *j, int64_t now_usec,
                       struct command *ret)
{
        const struct verb_spec *spec;
        const cJSON *ts;
        const char *rid;
        int r;

        memset(ret, 0, sizeof(*ret));
        ret->verb = verb;
        ret->channel = o->channel;
        ret->now_usec = ret->at_usec = now_usec;
        if ((unsigned)verb >= _COMMAND_VERB_MAX)
                return invalid(ret, "unsupported command");
        spec = &verbs[verb];
        if (!cJSON_IsObject(j) || json_depth(j) > COMMAND_DEPTH_MAX) {
                snprintf(ret->error, sizeof(ret->error), "malformed JSON (one object expected)");
                return COMMAND_E_MALFORMED;
        }
        r = get_string(ret, j, "request_id", &rid);
        if (r == 0 && rid)
                r = copy_string(ret, "request_id", rid, ret->request_id, sizeof(ret->request_id));
        if (r == 0)
                r = parse_actor(c, spec, o, j, ret);
        for (size_t i = 0; r == 0 && i < FIELDS_MAX && spec->fields[i].name; i++)
                r = parse_field(c, o, &spec->fields[i], j, ret);
        if (r != 0)
                return r;
        ts = member(j, "ts");
        if (ts && !cJSON_IsNumber(ts))
                return invalid(ret, "\"ts\" must be Unix seconds");
        if (ts)
                ret->at_usec = rules_command_time(true, ts->valuedouble, now_usec,
                                                  c->policy.max_clock_skew_usec);
        return spec->check ? spec->check(ret) : 0;
}

int command_parse_payload(const struct config *c, enum command_verb verb,
                          const struct command_origin *o, const char *payload, size_t len,
                          int64_t now_usec, struct command *ret)
{
        _cleanup_json_ cJSON *j = NULL;

        if (len > COMMAND_PAYLOAD_MAX) {
                memset(ret, 0, sizeof(*ret));
                ret->verb = verb;
                ret->channel = o->channel;
                snprintf(ret->error, sizeof(ret->error), "payload too large (at most %d bytes)",
                         COMMAND_PAYLOAD_MAX);
                return COMMAND_E_TOO_LARGE;
        }
        /* NUL or invalid UTF-8 anywhere: refused whole, not cut where cJSON would stop. */
        if (len > 0 && !payload_text_valid(payload, len))
                j = NULL;
        else
                j = len == 0 ? cJSON_CreateObject() : cJSON_ParseWithLength(payload, len);
        return command_parse_json(c, verb, o, j, now_usec, ret);
}

/* A form's text of a number, whole: "1580860800.25". */
static bool is_number(const char *s, double *ret)
{
        char *end;

        if (!*s)
                return false;
        *ret = strtod(s, &end);
        return *end == 0;
}

/* "cough, 发热" as ["cough", "发热"] (spaces around entries and empty entries dropped). */
static cJSON *split_list(const char *text)
{
        cJSON *a = cJSON_CreateArray();

        for (const char *p = text; a && *p;) {
                const char *comma = strchr(p, ','), *end = comma ? comma : p + strlen(p);
                const char *q = end;
                char item[COMMAND_PAYLOAD_MAX + 1];

                while (p < q && (*p == ' ' || *p == '\t'))
                        p++;
                while (q > p && (q[-1] == ' ' || q[-1] == '\t'))
                        q--;
                if (q > p) {
                        cJSON *s;
                        memcpy(item, p, (size_t)(q - p));
                        item[q - p] = 0;
                        s = cJSON_CreateString(item);
                        if (!s || !cJSON_AddItemToArray(a, s)) {
                                cJSON_Delete(s);
                                cJSON_Delete(a);
                                return NULL;
                        }
                }
                p = comma ? comma + 1 : end;
        }
        return a;
}

int command_parse_fields(const struct config *c, enum command_verb verb,
                         const struct command_origin *o, command_field_fn get, void *userdata,
                         int64_t now_usec, struct command *ret)
{
        _cleanup_json_ cJSON *j = cJSON_CreateObject();
        const char *keys[FIELDS_MAX + 3] = { "request_id", "ts", "worker" };
        enum field_kind kinds[FIELDS_MAX + 3] = { FIELD_STRING, FIELD_INSTANT, FIELD_STRING };
        size_t n = 3;
        char buf[COMMAND_PAYLOAD_MAX + 1];

        if ((unsigned)verb < _COMMAND_VERB_MAX)
                for (size_t i = 0; i < FIELDS_MAX && verbs[verb].fields[i].name; i++) {
                        kinds[n] = verbs[verb].fields[i].kind;
                        keys[n++] = verbs[verb].fields[i].name;
                }
        for (size_t i = 0; j && i < n; i++) {
                bool numeric = kinds[i] == FIELD_INSTANT || kinds[i] == FIELD_NUMBER;
                double d;
                cJSON *v;

                if (!get(userdata, keys[i], buf, sizeof(buf)))
                        continue;
                if (!text_valid(buf, strlen(buf)))
                        continue; /* not text: as if absent (the field is then missing) */
                if (kinds[i] == FIELD_STRINGS)
                        v = split_list(buf);
                else
                        v = numeric && is_number(buf, &d) ? cJSON_CreateNumber(d)
                                                          : cJSON_CreateString(buf);
                cJSON_AddItemToObject(j, keys[i], v);
        }
        return command_parse_json(c, verb, o, j, now_usec, ret);
}

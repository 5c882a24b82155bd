/* command.h: the one parser and validator of commands (DESIGN.md §4, §5), for every front
 * door: a worker's or household's MQTT topic, the operator API and doorwatchctl (which acts
 * through it), the signed HTTP links, and a worker's own page. Each turns what it received
 * into one struct command with the same bounds and the same English error texts; the
 * engine carries it out (engine_command()).
 *
 * Pure: no I/O, no clock. The configuration (to look up workers and households, and
 * policy.max_clock_skew) and the receive time are passed in. A payload's "via" and any other
 * field a command does not define are ignored: who acts, and through which channel, is what
 * the front door knows (the topic, the link's token, the office's API token), never a claim
 * of the payload.
 *
 * Adding a command (as a medical round's `reading` was): a verb in enum command_verb, its
 * fields in command.c's table (a field kind per JSON type; numbers and lists of strings are
 * one kind each), members of struct command for the values, a check for rules between
 * fields, and its case in engine_command(). */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* How an actor reached us. Every action is recorded with its channel (DESIGN.md §4). */
enum channel {
        CHANNEL_MQTT,         /* the worker's (household's) own topic: "mqtt" */
        CHANNEL_CLI,          /* doorwatchctl, through the operator API: "cli" */
        CHANNEL_HTTP_LINK,    /* a signed link (one-tap ack, resident QR code): "http-link" */
        CHANNEL_OPERATOR_API, /* /api/v1 with the office's token: "operator-api" */
        CHANNEL_WORKER_PAGE,  /* a worker's own page: "worker-page" */
        CHANNEL_SYSTEM,       /* the daemon itself: "system" */
        _CHANNEL_MAX,
};

/* The code stored in the database and sent in payloads ("mqtt", "http-link", ...). */
const char *channel_code(enum channel ch);
/* The Chinese label people read in texts (template field {channel}). */
const char *channel_label(enum channel ch);
/* The channel of a code; -EINVAL for anything else. */
int channel_from_code(const char *code, enum channel *ret);

enum command_verb {
        COMMAND_ACK,     /* worker: {"alert_id"} */
        COMMAND_RESOLVE, /* worker: {"alert_id", "note"} */
        COMMAND_CHECKIN, /* worker: {"household"} (the worker is at the door) */
        COMMAND_PASS,    /* worker: {"household", "from", "to", "reason"} */
        COMMAND_REPORT,  /* household: {"reason"?} (a resident's pre-report) */
        COMMAND_READING, /* worker: {"household", "temperature", "symptoms"?, "note"?} */
        _COMMAND_VERB_MAX,
};

/* The verb's name, as in the MQTT topics ("ack", "checkin", ...). */
const char *command_verb_to_string(enum command_verb v);
/* -EINVAL for a name that is no command. */
int command_verb_from_string(const char *s, enum command_verb *ret);
/* Whether the verb is a household's (report) rather than a worker's. */
bool command_verb_by_household(enum command_verb v);

#define COMMAND_PAYLOAD_MAX  4096 /* bytes of one command's JSON */
#define COMMAND_DEPTH_MAX    4    /* JSON nesting */
#define COMMAND_ID_MAX       128  /* ids (worker, household, alert, request): < this many bytes */
#define COMMAND_REASON_MAX   256  /* bytes of a pass's or pre-report's reason */
#define COMMAND_NOTE_MAX     1024 /* bytes of a resolve or reading note */
#define COMMAND_SYMPTOMS_MAX 8    /* symptoms of one reading */
#define COMMAND_SYMPTOM_MAX  64   /* bytes of one symptom, with the NUL */
/* A reading's temperature outside [MIN, MAX] °C is refused as a typing error. */
#define COMMAND_TEMPERATURE_MIN 34.0
#define COMMAND_TEMPERATURE_MAX 43.0
#define COMMAND_ERROR_MAX       192

/* Positive outcomes: the command is refused and cmd->error says why (English). */
enum {
        COMMAND_E_TOO_LARGE = 1, /* over COMMAND_PAYLOAD_MAX bytes */
        COMMAND_E_MALFORMED = 2, /* not a JSON object, or nested too deeply */
        COMMAND_E_INVALID = 3,   /* a field is missing, of the wrong type, too long, unknown */
};

/* What the front door knows before it reads the body. */
struct command_origin {
        enum channel channel;
        /* The acting worker (worker verbs) as the topic or a link's token names it. NULL: the
         * body's "worker" names it (the office's channels: the operator API, the CLI). */
        const char *worker;
        /* The acting household (report), as the topic or a resident link names it. */
        const char *household;
        /* The alert (ack, resolve) as the request's path or a link's token names it; NULL:
         * the body's "alert_id". */
        const char *alert_id;
};

struct command {
        enum command_verb verb;
        enum channel channel;
        const struct worker *worker;       /* the actor of a worker verb */
        const struct household *household; /* checkin, pass; the actor of a report */
        int64_t now_usec;                  /* receive time */
        /* The command's time for the rules: its optional "ts" (Unix seconds) when within
         * policy.max_clock_skew of now_usec, else now_usec (rules_command_time()). */
        int64_t at_usec;
        int64_t from_usec, to_usec;      /* pass: [from, to) */
        char request_id[COMMAND_ID_MAX]; /* "" when none; echoed in MQTT replies */
        char alert_id[COMMAND_ID_MAX];   /* ack, resolve */
        char note[COMMAND_NOTE_MAX + 1]; /* resolve; reading ("" when none) */
        double temperature;              /* reading: °C */
        char symptoms[COMMAND_SYMPTOMS_MAX][COMMAND_SYMPTOM_MAX]; /* reading */
        size_t n_symptoms;
        char reason[COMMAND_REASON_MAX + 1]; /* pass; report ("" when none given) */
        char error[COMMAND_ERROR_MAX];       /* why it was refused */
};

/* Validates a JSON object into *ret (request_id first, so a refusal can still be
 * answered to it). Returns 0, COMMAND_E_MALFORMED (j is not an object, or too deep) or
 * COMMAND_E_INVALID, with ret->error set. */
int command_parse_json(const struct config *c, enum command_verb verb,
                       const struct command_origin *o, const cJSON *j, int64_t now_usec,
                       struct command *ret);
/* The same from raw bytes (an MQTT payload, an HTTP body). An empty payload is an empty
 * object (a bare pre-report). Also COMMAND_E_TOO_LARGE. */
int command_parse_payload(const struct config *c, enum command_verb verb,
                          const struct command_origin *o, const char *payload, size_t len,
                          int64_t now_usec, struct command *ret);

/* A source of named string fields, e.g. an HTML form (application/x-www-form-urlencoded,
 * decoded): copies the value of key into buf and returns true, or false when it is absent
 * (or does not fit). */
typedef bool (*command_field_fn)(void *userdata, const char *key, char *buf, size_t size);
/* The same from string fields: times and numbers are given as their decimal text, a list
 * of strings as one text, its entries separated by commas. */
int command_parse_fields(const struct config *c, enum command_verb verb,
                         const struct command_origin *o, command_field_fn get, void *userdata,
                         int64_t now_usec, struct command *ret);

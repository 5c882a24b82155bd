/* common.h: helpers shared by the ecosystem adapters in src/adapters/ (not used elsewhere).
 *
 * Three groups: reading a device entry's adapter keys (each problem reported through
 * config_diag_error() with the key's JSON path), reading untrusted payloads (bounded JSON,
 * the many spellings of a boolean, availability words), and emitting normalized events
 * against struct device_state (edges for states, debounce for repeats, flags for retained
 * replays, rate-limited heartbeats). Everything here is pure: no I/O, no globals. */
#pragma once

#include <stdarg.h>

#include "adapter.h"

/* Topics (and topic parts from configuration) are at most this long, so that every
 * topic an adapter builds fits and no snprintf() ever truncates. */
#define ADAPTER_TOPIC_MAX 256
/* Text payloads (ON/OFF, numbers, online/offline) longer than this are invalid. */
#define ADAPTER_MAX_TEXT 64

/* --- configuration ------------------------------------------------------------------- */

struct adapter_cfg {
        const cJSON *entry;
        const char *file;
        const char *path; /* the device entry's JSON path, e.g. "[3].devices[0]" */
        struct config_diag *diag;
        int r; /* -EINVAL once any key was bad: parse every key, report all, then fail */
};

void adapter_cfg_error(struct adapter_cfg *c, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A topic part: a non-empty string of at most ADAPTER_TOPIC_MAX-64 bytes without MQTT
 * wildcards (+ #), NUL or control characters; with allow_slash, '/' separates non-empty
 * levels (no leading, trailing or double '/'). Absent: *ret = strdup(def) (NULL if def is
 * NULL, and an error when required). */
char *adapter_cfg_topic(struct adapter_cfg *c, const char *key, bool required, const char *def,
                        bool allow_slash);
/* A plain string, non-empty, at most max_len bytes. */
char *adapter_cfg_string(struct adapter_cfg *c, const char *key, bool required, const char *def,
                         size_t max_len);
/* An integer in [min, max]; def when absent. */
int adapter_cfg_int(struct adapter_cfg *c, const char *key, int min, int max, int def);
bool adapter_cfg_bool(struct adapter_cfg *c, const char *key, bool def);
/* An array of non-empty strings (may be empty). Returns a NULL-terminated vector. */
char **adapter_cfg_strv(struct adapter_cfg *c, const char *key);
void adapter_strv_free(char **v);
bool adapter_strv_contains(char *const *v, const char *s);
/* Whether the entry has key, for "exactly one of" checks. */
bool adapter_cfg_has(const struct adapter_cfg *c, const char *key);

/* snprintf into a topic buffer; the configuration bounds make truncation impossible. */
void adapter_topic(char buf[static ADAPTER_TOPIC_MAX], const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* --- payloads -------------------------------------------------------------------------- */

/* What the value readers below answer besides 0 and ADAPTER_E_INVALID (a value of the wrong
 * type or form): an expected outcome, like adapter.h's codes, which it follows. */
enum {
        ADAPTER_E_ABSENT = ADAPTER_E_NOT_MINE + 1, /* absent or null: not false, not zero */
};

/* A boolean word, ASCII case-insensitive, surrounding blanks and one pair of double quotes
 * ignored: true/false, on/off, 1/0, yes/no, online/offline. Returns 0 with *ret set, or
 * ADAPTER_E_INVALID. */
int adapter_parse_bool_word(const char *p, size_t len, bool *ret);
/* A cJSON value as a boolean: JSON true/false, the numbers 0/1, or a boolean word.
 * Returns 0 with *ret set, ADAPTER_E_ABSENT when absent or null (absent is not false), or
 * ADAPTER_E_INVALID. */
int adapter_json_bool(const cJSON *v, bool *ret);
/* A finite number, or a string holding one ("73", " 5.46 "): 0 with *ret set,
 * ADAPTER_E_ABSENT (adapter_json_number(): absent or null) or ADAPTER_E_INVALID. */
int adapter_json_number(const cJSON *v, double *ret);
int adapter_parse_number(const char *p, size_t len, double *ret);
/* The string value of an object member, NULL when absent or not a string. */
const char *adapter_json_string(const cJSON *obj, const char *key);
/* Availability: a boolean word (online/offline, true/false, ...) or {"state": <word>}
 * (zigbee2mqtt). Returns 0 and *ret_online, or ADAPTER_E_INVALID. */
int adapter_parse_availability(const char *p, size_t len, bool *ret_online);
/* Parses a JSON object of at most max_len bytes and bounded depth. Returns ADAPTER_OK and
 * *ret, or ADAPTER_E_INVALID with out->error set. */
int adapter_parse_json(const struct adapter_msg *m, size_t max_len, cJSON **ret,
                       struct adapter_decode_result *out);
/* Whether the payload is `word` (ASCII case-insensitive, surrounding blanks and quotes
 * ignored). */
bool adapter_payload_is(const struct adapter_msg *m, const char *word);
/* ASCII case-insensitive comparison of a MAC or hex address, ignoring ':' '-' and "0x". */
bool adapter_addr_eq(const char *a, const char *b);
/* A Unix-seconds timestamp if plausible (finite, 0 < ts < 1e11). */
bool adapter_ts_valid(double ts);

/* --- events ---------------------------------------------------------------------------- */

/* Starts a decode: clears out. */
void adapter_begin(struct adapter_decode_result *out);
/* Appends an event of type t with the message's retained flag; NULL when out is full. */
struct event *adapter_push(struct adapter_decode_result *out, const struct adapter_msg *m,
                           enum event_type t);
/* A door state report (open_raw before the device's invert): emits EVENT_DOOR only on a
 * change against st->door, or the first report ever. */
void adapter_emit_door_state(const struct device *d, const struct adapter_msg *m,
                             struct device_state *st, struct adapter_decode_result *out,
                             bool open_raw);
/* A door event that is not a state report (RF code): always emitted, st->door follows. */
void adapter_emit_door_event(const struct device *d, const struct adapter_msg *m,
                             struct device_state *st, struct adapter_decode_result *out,
                             bool open_raw);
/* A ring; dropped when the previous live ring was less than m->debounce_usec ago. */
void adapter_emit_ring(const struct adapter_msg *m, struct device_state *st,
                       struct adapter_decode_result *out);
/* A binary input (reed switch or push button, on before invert): a door state for door
 * contacts; for doorbells a ring on each change to on (or a first report of on). */
void adapter_emit_input(const struct device *d, const struct adapter_msg *m,
                        struct device_state *st, struct adapter_decode_result *out, bool on_raw);
/* Tamper state: emitted on a change, or first report when tampered. */
void adapter_emit_tamper(const struct adapter_msg *m, struct device_state *st,
                         struct adapter_decode_result *out, bool tampered);
/* Battery report; pass -1 for what the message does not carry (percent, low) and 0 for an
 * unknown voltage. Emitted when the percentage or the low flag changes, on the first
 * report, or (devices that give only a voltage) when it moved by 100 mV or more. */
void adapter_emit_battery(const struct adapter_msg *m, struct device_state *st,
                          struct adapter_decode_result *out, int percent, int low, int mv);
/* Availability of the device itself, or of the bridge it sits behind (bridge_id = the
 * bridge's status topic). Always emitted: these are LWT messages, sent on change only. */
void adapter_emit_availability(const struct adapter_msg *m, struct device_state *st,
                               struct adapter_decode_result *out, bool online, bool bridge);
/* Ends a decode of a message from the device itself: a live message that produced nothing
 * becomes EVENT_HEARTBEAT (at most once per ADAPTER_HEARTBEAT_INTERVAL_USEC). Returns
 * ADAPTER_OK when there are events, else ADAPTER_E_IGNORED. */
int adapter_finish_alive(const struct adapter_msg *m, struct device_state *st,
                         struct adapter_decode_result *out);
/* Same without the heartbeat (messages that do not prove the device itself is alive). */
int adapter_finish(const struct adapter_decode_result *out);
/* Ends an adapter's decode(): a message refused as invalid (or not this device's) leaves
 * no trace: the device state is restored from `saved` and partial events are dropped. */
int adapter_decode_end(int r, struct device_state *st, const struct device_state *saved,
                       struct adapter_decode_result *out);
/* Sets the event's device timestamp when plausible. */
void adapter_event_ts(struct event *e, double ts);
/* Sets every event's device timestamp (when plausible). */
void adapter_events_ts(struct adapter_decode_result *out, double ts);

/* Camera detections: whether the id was already counted, and with which direction. */
bool adapter_recent_find(const struct device_state *st, const char *id,
                         enum person_direction *ret_dir);
void adapter_recent_put(struct device_state *st, const char *id, enum person_direction dir);

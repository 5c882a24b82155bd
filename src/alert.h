/* alert.h: alert kinds, severities and the in-memory record of a live alert. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

enum alert_kind {
        ALERT_DOOR_OPEN_UNEXPECTED,
        ALERT_PERSON_LEFT,
        ALERT_DOOR_HELD_OPEN,
        ALERT_TOO_MANY_OPENINGS,
        ALERT_PASS_OVERDUE,
        ALERT_TAMPER,
        ALERT_DEVICE_OFFLINE,
        ALERT_BATTERY_LOW,
        ALERT_MONITORING_GAP,
        ALERT_NOTIFICATION_FAILED,
        ALERT_STORAGE_FAILED,
        ALERT_OBSERVATION_ENDED,
        ALERT_ROUND_MISSED, /* a medical round's window ended without a reading */
        ALERT_FEVER,        /* a reading at or above policy.fever_at, or a listed symptom */
        _ALERT_KIND_MAX,
        ALERT_KIND_INVALID = -1,
};

enum severity {
        SEVERITY_INFO,
        SEVERITY_LOW,
        SEVERITY_MEDIUM,
        SEVERITY_HIGH,
        SEVERITY_CRITICAL,
        _SEVERITY_MAX,
};

enum alert_state {
        ALERT_OPEN,
        ALERT_ACKED,
        ALERT_RESOLVED,
        _ALERT_STATE_MAX,
        ALERT_STATE_INVALID = -1,
};

#define ALERT_ID_MAX 32

const char *alert_kind_to_string(enum alert_kind k);
enum alert_kind alert_kind_from_string(const char *s);
const char *severity_to_string(enum severity s);
enum severity alert_kind_default_severity(enum alert_kind k);
const char *alert_state_to_string(enum alert_state s);
enum alert_state alert_state_from_string(const char *s);
/* The states a filter word selects, with one meaning for every front door (the status
 * page, the API, doorwatchctl), after DESIGN.md §6's lifecycle: "open" raised and not yet
 * acknowledged; "acked" acknowledged, not resolved; "unresolved" either (the command
 * centre's worklist); "resolved"; "all". Bits 1 << enum alert_state; 0 for any other word. */
#define ALERT_STATES_UNRESOLVED ((1u << ALERT_OPEN) | (1u << ALERT_ACKED))
#define ALERT_STATES_ALL        ((1u << _ALERT_STATE_MAX) - 1)
unsigned alert_states_from_filter(const char *word);
/* Kinds that go through the escalation steps (DESIGN.md §6). */
bool alert_kind_escalates(enum alert_kind k);

/* A live (open or acked) alert, kept in memory in its household's list and mirrored in
 * the database, which is the source of truth across restarts. One per household in a
 * burst of a city's openings: ordered by size, small enums as bit-fields (128 bytes). */
struct alert {
        char id[ALERT_ID_MAX];
        struct household *household; /* NULL for system alerts */
        char *device_id;             /* device-scoped kinds (tamper, offline, battery) */
        char *event_uid;             /* the first event's id, "" when none; never NULL */
        struct alert *next;          /* household list */
        int64_t raised_usec;
        int64_t last_event_usec;
        int64_t acked_usec;
        int64_t next_usec; /* escalation deadline, 0 = none */
        double event_ts;
        uint32_t serial; /* unique in this process: timers refer to alerts by it */
        int count;
        int step_index; /* index into escalation.steps of the last step notified */
        int round;      /* 1-based */
        int reminders;  /* reminders sent after the last step of the last round */
        enum alert_kind kind : 8;
        enum severity severity : 8;
        enum alert_state state : 8;
};

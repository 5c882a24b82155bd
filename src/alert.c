/* alert.c: names and static properties of alert kinds (DESIGN.md §6). */
#include "alert.h"

#include <string.h>

static const struct {
        const char *name;
        enum severity severity;
        bool escalates;
} kinds[_ALERT_KIND_MAX] = {
        [ALERT_DOOR_OPEN_UNEXPECTED] = { "door_open_unexpected", SEVERITY_HIGH, true },
        [ALERT_PERSON_LEFT] = { "person_left", SEVERITY_CRITICAL, true },
        [ALERT_DOOR_HELD_OPEN] = { "door_held_open", SEVERITY_HIGH, true },
        [ALERT_TOO_MANY_OPENINGS] = { "too_many_openings", SEVERITY_MEDIUM, true },
        [ALERT_PASS_OVERDUE] = { "pass_overdue", SEVERITY_HIGH, true },
        [ALERT_TAMPER] = { "tamper", SEVERITY_HIGH, true },
        [ALERT_DEVICE_OFFLINE] = { "device_offline", SEVERITY_LOW, false },
        [ALERT_BATTERY_LOW] = { "battery_low", SEVERITY_LOW, false },
        [ALERT_MONITORING_GAP] = { "monitoring_gap", SEVERITY_HIGH, false },
        [ALERT_NOTIFICATION_FAILED] = { "notification_failed", SEVERITY_HIGH, false },
        [ALERT_STORAGE_FAILED] = { "storage_failed", SEVERITY_HIGH, false },
        [ALERT_OBSERVATION_ENDED] = { "observation_ended", SEVERITY_INFO, false },
        [ALERT_ROUND_MISSED] = { "round_missed", SEVERITY_MEDIUM, true },
        [ALERT_FEVER] = { "fever", SEVERITY_CRITICAL, true },
};

static const char *const severity_names[_SEVERITY_MAX] = {
        [SEVERITY_INFO] = "info", [SEVERITY_LOW] = "low",           [SEVERITY_MEDIUM] = "medium",
        [SEVERITY_HIGH] = "high", [SEVERITY_CRITICAL] = "critical",
};

static const char *const state_names[_ALERT_STATE_MAX] = {
        [ALERT_OPEN] = "open",
        [ALERT_ACKED] = "acked",
        [ALERT_RESOLVED] = "resolved",
};

const char *alert_kind_to_string(enum alert_kind k)
{
        return k >= 0 && k < _ALERT_KIND_MAX ? kinds[k].name : "invalid";
}

enum alert_kind alert_kind_from_string(const char *s)
{
        for (int i = 0; s && i < _ALERT_KIND_MAX; i++)
                if (strcmp(kinds[i].name, s) == 0)
                        return (enum alert_kind)i;
        return ALERT_KIND_INVALID;
}

const char *severity_to_string(enum severity s)
{
        return s < _SEVERITY_MAX ? severity_names[s] : "invalid";
}

enum severity alert_kind_default_severity(enum alert_kind k)
{
        return k >= 0 && k < _ALERT_KIND_MAX ? kinds[k].severity : SEVERITY_HIGH;
}

bool alert_kind_escalates(enum alert_kind k)
{
        return k >= 0 && k < _ALERT_KIND_MAX && kinds[k].escalates;
}

const char *alert_state_to_string(enum alert_state s)
{
        return s >= 0 && s < _ALERT_STATE_MAX ? state_names[s] : "invalid";
}

enum alert_state alert_state_from_string(const char *s)
{
        for (int i = 0; s && i < _ALERT_STATE_MAX; i++)
                if (strcmp(state_names[i], s) == 0)
                        return (enum alert_state)i;
        return ALERT_STATE_INVALID;
}

unsigned alert_states_from_filter(const char *word)
{
        enum alert_state st = alert_state_from_string(word);

        if (st != ALERT_STATE_INVALID)
                return 1u << st;
        if (word && strcmp(word, "unresolved") == 0)
                return ALERT_STATES_UNRESOLVED;
        if (word && strcmp(word, "all") == 0)
                return ALERT_STATES_ALL;
        return 0;
}

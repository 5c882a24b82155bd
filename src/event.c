/* event.c: names of normalized event types and states. */
#include "event.h"

#include <stdlib.h>
#include <string.h>

static const char *const event_type_names[_EVENT_TYPE_MAX] = {
        [EVENT_DOOR] = "door",
        [EVENT_RING] = "ring",
        [EVENT_PERSON] = "person",
        [EVENT_TAMPER] = "tamper",
        [EVENT_BATTERY] = "battery",
        [EVENT_HEARTBEAT] = "heartbeat",
        [EVENT_AVAILABILITY] = "availability",
};

const char *event_type_to_string(enum event_type t)
{
        return t >= 0 && t < _EVENT_TYPE_MAX ? event_type_names[t] : "invalid";
}

enum event_type event_type_from_string(const char *s)
{
        for (int i = 0; s && i < _EVENT_TYPE_MAX; i++)
                if (strcmp(s, event_type_names[i]) == 0)
                        return (enum event_type)i;
        return EVENT_TYPE_INVALID;
}

const char *door_state_to_string(enum door_state s)
{
        switch (s) {
        case DOOR_OPEN:
                return "open";
        case DOOR_CLOSED:
                return "closed";
        default:
                return "unknown";
        }
}

const char *time_basis_to_string(enum time_basis b)
{
        return b == TIME_BASIS_DEVICE ? "device" : "receive";
}

void device_state_done(struct device_state *st)
{
        free(st->recent);
        st->recent = NULL;
}

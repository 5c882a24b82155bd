/* rules.c: decides for each event whether it is expected, ignored or alert-worthy.
 * Pure: everything it needs is passed in, so tests replay days with injected time. */
#include "rules.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

const char *verdict_kind_to_string(enum verdict_kind k)
{
        switch (k) {
        case VERDICT_EXPECTED:
                return "expected";
        case VERDICT_ALERT:
                return "alert";
        default:
                return "ignored";
        }
}

int64_t rules_event_time(const struct event *e, int64_t recv_usec, int64_t max_clock_skew_usec)
{
        if (e->has_ts) {
                int64_t ts = (int64_t)(e->ts * 1e6);
                int64_t skew = ts > recv_usec ? ts - recv_usec : recv_usec - ts;
                if (skew <= max_clock_skew_usec)
                        return ts;
        }
        return recv_usec;
}

static void set(struct verdict *v, enum verdict_kind k, const char *fmt, const char *arg)
{
        v->kind = k;
        snprintf(v->reason, sizeof(v->reason), fmt, arg);
}

static void alert(struct verdict *v, enum alert_kind kind, const char *reason)
{
        v->kind = VERDICT_ALERT;
        v->alert = kind;
        v->severity = alert_kind_default_severity(kind);
        snprintf(v->reason, sizeof(v->reason), "%s", reason);
}

void rules_judge(const struct config *c, const struct household *h,
                 const struct household_state *st, const struct device *d, const struct event *e,
                 int64_t event_usec, struct verdict *v)
{
        *v = (struct verdict){ .kind = VERDICT_IGNORED };

        if (event_usec < h->obs_start_usec) {
                set(v, VERDICT_IGNORED, "before the observation window%s", "");
                return;
        }
        if (event_usec >= h->obs_end_usec) {
                set(v, VERDICT_IGNORED, "after the observation window%s", "");
                return;
        }
        switch (e->type) {
        case EVENT_DOOR:
                if (e->door != DOOR_OPEN) {
                        set(v, VERDICT_IGNORED, "door %s", door_state_to_string(e->door));
                        return;
                }
                if (e->retained && st->door == DOOR_OPEN) {
                        set(v, VERDICT_IGNORED, "retained replay of a known open door%s", "");
                        return;
                }
                alert(v, ALERT_DOOR_OPEN_UNEXPECTED,
                      e->retained ? "door found open (retained state) with nothing explaining it"
                                  : "door opened with no scheduled visit, check-in, pass or "
                                    "doorbell hand-off");
                return;
        default:
                set(v, VERDICT_IGNORED, "%s recorded", event_type_to_string(e->type));
                return;
        }
}

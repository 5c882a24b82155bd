/* health.c: device health decisions (see health.h for the policy). Pure functions of
 * their arguments: the engine owns the state and applies the decisions. */
#include "health.h"

#include <stdarg.h>
#include <stdio.h>

#include "util.h"

int64_t health_offline_after_usec(const struct config *c, const struct device *d)
{
        if (d->offline_after_usec > 0)
                return d->offline_after_usec;
        if (d->kind >= 0 && d->kind < _DEVICE_KIND_MAX)
                return c->policy.offline_after_usec[d->kind];
        return 0;
}

const char *health_format_duration(int64_t usec, char buf[static 32])
{
        int64_t s = usec > 0 ? usec / USEC_PER_SEC : 0;

        if (s >= 86400)
                snprintf(buf, 32, "%lldd%02lldh", (long long)(s / 86400),
                         (long long)(s % 86400 / 3600));
        else if (s >= 3600)
                snprintf(buf, 32, "%lldh%02lldm", (long long)(s / 3600),
                         (long long)(s % 3600 / 60));
        else if (s >= 60)
                snprintf(buf, 32, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
        else if (usec > 0 && usec < USEC_PER_SEC)
                snprintf(buf, 32, "%lldms", (long long)(usec / USEC_PER_MSEC));
        else
                snprintf(buf, 32, "%llds", (long long)s);
        return buf;
}

/* Silence counts from here. */
static int64_t silence_from(const struct device *d, const struct device_state *st)
{
        int64_t from = MAX(st->health_seen_usec, st->health_since_usec);

        return MAX(from, d->household->obs_start_usec);
}

int64_t health_stale_at(const struct config *c, const struct device *d,
                        const struct device_state *st)
{
        int64_t limit = health_offline_after_usec(c, d);
        int64_t at;

        if (limit <= 0)
                return INT64_MAX;
        at = silence_from(d, st) + limit;
        return at >= d->household->obs_end_usec ? INT64_MAX : at;
}

bool health_stale(const struct config *c, const struct device *d, const struct device_state *st,
                  int64_t now_usec, int64_t *ret_next_usec, char *reason, size_t reason_size)
{
        int64_t at = health_stale_at(c, d, st);
        char silent[32], limit[32];

        *ret_next_usec = INT64_MAX;
        /* Already alerted, or covered by its bridge's alert: only a sign of life (or the
         * bridge's return) re-arms the check. */
        if (st->health_offline || st->health_bridge_offline || at == INT64_MAX)
                return false;
        if (now_usec < at) {
                *ret_next_usec = at;
                return false;
        }
        snprintf(reason, reason_size, "no sign of life from %s device %s for %s (limit %s%s)",
                 device_source(d) ? device_source(d) : "?", d->id,
                 health_format_duration(now_usec - silence_from(d, st), silent),
                 health_format_duration(health_offline_after_usec(c, d), limit),
                 d->offline_after_usec > 0 ? ", the device's offline_after"
                                           : ", policy.offline_after of its kind");
        return true;
}

const char *health_condition(const struct config *c, const struct device *d,
                             const struct device_state *st, int64_t now_usec)
{
        if (st->tampered)
                return "tampered";
        if (st->health_offline || st->health_bridge_offline)
                return "offline";
        if (!st->seen)
                return "unknown";
        if (now_usec >= health_stale_at(c, d, st))
                return "offline";
        if (st->health_battery_low ||
            (st->battery_percent >= 0 && st->battery_percent <= c->policy.battery_low_percent))
                return "battery_low";
        return "ok";
}

bool health_event_alive(const struct event *ev)
{
        if (ev->type == EVENT_AVAILABILITY)
                return ev->online && !ev->bridge;
        return !ev->retained;
}

bool health_battery_is_low(const struct config *c, const struct device *d, const struct event *ev,
                           char *why, size_t why_size)
{
        if (ev->battery_low) {
                if (ev->battery_percent >= 0)
                        snprintf(why, why_size, "the device reports low (%d%%)",
                                 ev->battery_percent);
                else
                        snprintf(why, why_size, "the device reports low");
                return true;
        }
        if (ev->battery_percent >= 0) {
                snprintf(why, why_size, "%d%% (limit %d%%)", ev->battery_percent,
                         c->policy.battery_low_percent);
                return ev->battery_percent <= c->policy.battery_low_percent;
        }
        /* Only a voltage: a percentage, when given, is the device's own better estimate. */
        if (ev->battery_mv > 0) {
                snprintf(why, why_size, "%d mV (limit %d mV)", ev->battery_mv, d->battery_low_mv);
                return ev->battery_mv <= d->battery_low_mv;
        }
        snprintf(why, why_size, "no level reported");
        return false;
}

static void say(struct health_decision *ret, enum health_action action, enum alert_kind kind,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void say(struct health_decision *ret, enum health_action action, enum alert_kind kind,
                const char *fmt, ...)
{
        va_list ap;

        ret->action = action;
        ret->kind = kind;
        va_start(ap, fmt);
        vsnprintf(ret->reason, sizeof(ret->reason), fmt, ap);
        va_end(ap);
}

static const char *back(const struct health_decision *ret)
{
        return ret->recovered ? "; device back after being offline" : "";
}

static void judge_bridge(const struct event *ev, const struct health_view *hv,
                         struct health_decision *ret)
{
        const char *id = ev->bridge_id[0] ? ev->bridge_id : "?";

        ret->bridge = true;
        if (ev->online) {
                if (hv->bridge_alerted)
                        say(ret, HEALTH_RECOVER, ALERT_DEVICE_OFFLINE, "bridge %s back online", id);
                else
                        say(ret, HEALTH_RECORD, ALERT_DEVICE_OFFLINE, "bridge %s online", id);
                return;
        }
        if (!hv->observed)
                say(ret, HEALTH_RECORD, ALERT_DEVICE_OFFLINE,
                    "bridge %s offline (household not under observation)", id);
        else if (hv->bridge_alerted)
                say(ret, HEALTH_RECORD, ALERT_DEVICE_OFFLINE,
                    "bridge %s offline: one alert for the whole bridge, already raised", id);
        else
                say(ret, HEALTH_RAISE, ALERT_DEVICE_OFFLINE,
                    "bridge %s offline%s: the state of every device behind it is unknown", id,
                    ev->retained ? " (retained state)" : "");
}

static void judge_availability(const struct device *d, const struct event *ev,
                               const struct health_view *hv, struct health_decision *ret)
{
        if (ev->bridge) {
                judge_bridge(ev, hv, ret);
                return;
        }
        if (ev->online)
                say(ret, HEALTH_RECORD, ALERT_DEVICE_OFFLINE, "device online%s", back(ret));
        else if (!hv->observed)
                say(ret, HEALTH_RECORD, ALERT_DEVICE_OFFLINE,
                    "device offline (household not under observation)");
        else if (hv->offline)
                say(ret, HEALTH_RECORD, ALERT_DEVICE_OFFLINE, "device offline, already alerted");
        else
                say(ret, HEALTH_RAISE, ALERT_DEVICE_OFFLINE, "%s device %s reports offline%s",
                    device_source(d) ? device_source(d) : "?", d->id,
                    ev->retained ? " (retained state)" : "");
}

static void judge_battery(const struct config *c, const struct device *d, const struct event *ev,
                          const struct health_view *hv, int64_t event_usec,
                          struct health_decision *ret)
{
        char why[96], ago[32];

        if (!health_battery_is_low(c, d, ev, why, sizeof(why))) {
                if (hv->battery_low && (ev->battery_percent >= 0 || ev->battery_mv > 0))
                        say(ret, HEALTH_RECOVER, ALERT_BATTERY_LOW, "battery no longer low: %s%s",
                            why, back(ret));
                else
                        say(ret, HEALTH_RECORD, ALERT_BATTERY_LOW, "battery %s%s", why, back(ret));
                return;
        }
        if (!hv->observed)
                say(ret, HEALTH_RECORD, ALERT_BATTERY_LOW,
                    "battery low: %s (household not under observation)", why);
        else if (hv->live_battery)
                say(ret, HEALTH_RAISE, ALERT_BATTERY_LOW, "battery low: %s%s", why, back(ret));
        else if (hv->battery_alert_usec > 0 &&
                 event_usec - hv->battery_alert_usec < HEALTH_BATTERY_ALERT_EVERY_USEC &&
                 event_usec >= hv->battery_alert_usec)
                say(ret, HEALTH_RECORD, ALERT_BATTERY_LOW,
                    "battery low: %s; battery_low was raised %s ago (at most once a day)%s", why,
                    health_format_duration(event_usec - hv->battery_alert_usec, ago), back(ret));
        else
                say(ret, HEALTH_RAISE, ALERT_BATTERY_LOW, "%s device %s battery low: %s%s",
                    device_source(d) ? device_source(d) : "?", d->id, why, back(ret));
}

void health_judge(const struct config *c, const struct device *d, const struct event *ev,
                  const struct health_view *hv, int64_t event_usec, struct health_decision *ret)
{
        *ret = (struct health_decision){ .action = HEALTH_RECORD, .kind = ALERT_DEVICE_OFFLINE };
        ret->recovered = hv->offline && health_event_alive(ev);

        switch (ev->type) {
        case EVENT_AVAILABILITY:
                judge_availability(d, ev, hv, ret);
                return;
        case EVENT_BATTERY:
                judge_battery(c, d, ev, hv, event_usec, ret);
                return;
        case EVENT_HEARTBEAT:
                say(ret, HEALTH_RECORD, ALERT_DEVICE_OFFLINE, "heartbeat: device alive%s",
                    back(ret));
                return;
        default:
                say(ret, HEALTH_RECORD, ALERT_DEVICE_OFFLINE, "%s recorded",
                    event_type_to_string(ev->type));
                return;
        }
}

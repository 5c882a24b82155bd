/* sysalarm.c: the system's own alarms (DESIGN.md §6): monitoring_gap (also when the broker
 * lost the daemon's session), notification_failed, storage_failed.
 *
 * They go to the command centre and the admins, through every channel those workers list
 * (but MQTT for monitoring_gap: the broker is what is missing) and through the group
 * notifiers that want the kind (system notices have no community unless they concern a
 * household's alert). They do not escalate. Like any alert, an open one absorbs further
 * occurrences (a count) instead of notifying again. storage_failed cannot be written while
 * it is true: it is told from memory (fanout_send_direct()) and recorded once the database
 * takes writes again. */
#include "sysalarm.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "alerts.h"
#include "engine-private.h"
#include "escalation.h"
#include "fanout.h"
#include "log.h"
#include "store.h"
#include "util.h"

/* Raises a system alert (or joins the live one: a count) and, when it is new, tells the
 * command centre and the admins; skip_mqtt when the broker itself is what failed. Decided,
 * written and applied: on failure nothing has changed. */
static int raise_and_tell(struct engine *e, enum alert_kind kind, const struct household *h,
                          const char *reason, int64_t event_usec, int64_t now_usec, bool skip_mqtt)
{
        struct alerts_change *c = &e->change.alerts;
        const struct alert *found;
        struct alert *a;
        int r;

        alerts_change_begin(c);
        found = alerts_find_joinable(e, c, h, kind, NULL, now_usec);
        if (found) {
                a = alerts_edit(c, found);
                a->count++;
                a->last_event_usec = now_usec;
                r = 0;
        } else {
                r = alerts_new(e, c,
                               &(struct alert_init){
                                   .kind = kind,
                                   .severity = alert_kind_default_severity(kind),
                                   .h = h,
                                   .event_ts = (double)event_usec / 1e6,
                                   .event_usec = now_usec,
                                   .reason = reason,
                               },
                               now_usec, &a);
                if (r == 0)
                        r = alerts_tell(c, a, ALERTS_TO_SYSTEM,
                                        &(struct outgoing){
                                            .kind = alert_kind_to_string(kind),
                                            .step = escalation_step_to_string(STEP_COMMAND),
                                            .skip_mqtt = skip_mqtt,
                                        },
                                        reason);
        }
        if (r < 0) {
                alerts_change_drop(c);
                return r;
        }
        return alerts_change_finish(e, c, now_usec);
}

int sysalarm_notification_failed(struct engine *e, const char *notification_id,
                                 const char *alert_id, const char *channel, const char *worker_id,
                                 const char *kind, const char *error, int64_t now_usec)
{
        const struct worker *w = worker_id ? config_worker(e->config, worker_id) : NULL;
        const struct alert *failed = alert_id ? engine_find_alert(e, alert_id) : NULL;
        const struct household *h = failed ? failed->household : NULL;
        char reason[512], household_id[160];

        if (w) {
                char masked[32];
                log_warn("notification %s: worker %s (%s, phone %s) was not reached via %s",
                         notification_id, w->id, w->name ? w->name : "-",
                         w->phone ? log_mask_phone(w->phone, masked) : "-", channel);
        }
        if (str_eq(kind, "notification_failed")) {
                /* Telling the admins that telling the admins failed would never end. */
                log_err("notification %s to the admins about a failed notification was not "
                        "delivered either (via %s): %s",
                        notification_id, channel, error);
                return 0;
        }
        if (!failed && alert_id &&
            store_alert_household(e->store, alert_id, household_id, sizeof(household_id)) == 0)
                h = config_household(e->config, household_id);
        snprintf(reason, sizeof(reason), "notification %s (%s, alert %s) via %s not delivered: %s",
                 notification_id, kind ? kind : "?", alert_id ? alert_id : "-", channel,
                 error ? error : "unknown error");
        return raise_and_tell(e, ALERT_NOTIFICATION_FAILED, h, reason, now_usec, now_usec, false);
}

static const struct alert *live_gap(struct engine *e)
{
        const struct alert *a;
        size_t i = 0;

        while (alerts_next(e, NULL, &i, &a))
                if (!a->household && a->kind == ALERT_MONITORING_GAP && a->state != ALERT_RESOLVED)
                        return a;
        return NULL;
}

bool sysalarm_monitoring_gap_open(struct engine *e)
{
        return live_gap(e) != NULL;
}

int sysalarm_monitoring_gap(struct engine *e, const char *reason, int64_t since_usec,
                            int64_t now_usec)
{
        if (live_gap(e))
                return 0;
        return raise_and_tell(e, ALERT_MONITORING_GAP, NULL, reason, since_usec, now_usec, true);
}

int sysalarm_monitoring_restored(struct engine *e, int64_t now_usec)
{
        static const char note[] = "the MQTT broker is reachable again";
        struct alerts_change *c = &e->change.alerts;
        const struct alert *a = live_gap(e);
        char id[ALERT_ID_MAX];
        double gap_sec;
        int r;

        if (!a)
                return 0;
        snprintf(id, sizeof(id), "%s", a->id);
        gap_sec = (double)(now_usec - llround(a->event_ts * 1e6)) / 1e6;
        alerts_change_begin(c);
        r = alerts_tell(c, a, ALERTS_TO_SYSTEM,
                        &(struct outgoing){
                            .kind = "monitoring_restored",
                            .row_kind = "notice",
                            .step = escalation_step_to_string(STEP_COMMAND),
                            .event_ts_usec = now_usec,
                            .skip_mqtt = true,
                        },
                        note);
        if (r == 0)
                r = alerts_resolve(c, a, NULL, CHANNEL_SYSTEM, note);
        if (r < 0) {
                alerts_change_drop(c);
                return r;
        }
        r = alerts_change_finish(e, c, now_usec); /* a leaves memory */
        if (r < 0)
                return r;
        log_notice("alert %s: monitoring restored after %.0f s", id, gap_sec);
        return 0;
}

int sysalarm_session_lost(struct engine *e, const char *reason, int64_t now_usec)
{
        if (live_gap(e))
                return 0;
        return raise_and_tell(e, ALERT_MONITORING_GAP, NULL, reason, now_usec, now_usec, false);
}

static size_t system_recipients(const struct config *c, struct recipient *v, size_t max)
{
        size_t n = 0;

        for (size_t i = 0; i < c->n_command && n < max; i++)
                v[n++] = (struct recipient){ c->command[i], "command" };
        for (size_t i = 0; i < c->n_admins && n < max; i++)
                v[n++] = (struct recipient){ c->admins[i], "admin" };
        return n;
}

int sysalarm_storage_failed(struct engine *e, const char *reason, int64_t now_usec,
                            fanout_direct_fn send, void *userdata)
{
        const struct config *c = e->config;
        size_t max = c->n_command + c->n_admins, n, rows = 0;
        _cleanup_free_ struct recipient *rcpt = xcalloc(max ? max : 1, sizeof(*rcpt));
        char no_uid[1] = "";
        struct alert a = {
                .event_uid = no_uid,
                .kind = ALERT_STORAGE_FAILED,
                .severity = alert_kind_default_severity(ALERT_STORAGE_FAILED),
                .state = ALERT_OPEN,
                .count = 1,
                .round = 1,
                .event_ts = (double)now_usec / 1e6,
                .raised_usec = now_usec,
                .last_event_usec = now_usec,
        };
        int r;

        snprintf(a.id, sizeof(a.id), "storage-%lld", (long long)(now_usec / USEC_PER_SEC));
        n = system_recipients(c, rcpt, max);
        r = fanout_send_direct(&e->fanout,
                               &(struct outgoing){
                                   .a = &a,
                                   .kind = alert_kind_to_string(ALERT_STORAGE_FAILED),
                                   .reason = reason,
                                   .step = escalation_step_to_string(STEP_COMMAND),
                                   .step_value = STEP_COMMAND,
                               },
                               rcpt, n, now_usec, send, userdata, &rows);
        if (r >= 0 && rows == 0)
                log_warn("storage_failed: no channel reaches the command centre or the admins");
        return r < 0 ? r : (int)rows;
}

int sysalarm_storage_restored(struct engine *e, const char *reason, int64_t since_usec,
                              int64_t now_usec)
{
        static const char note[] = "the database takes writes again";
        struct alerts_change *c = &e->change.alerts;
        const struct alert *found = NULL, *x;
        struct alert *a;
        int r;

        alerts_change_begin(c);
        r = alerts_new(e, c,
                       &(struct alert_init){
                           .kind = ALERT_STORAGE_FAILED,
                           .severity = alert_kind_default_severity(ALERT_STORAGE_FAILED),
                           .event_ts = (double)since_usec / 1e6,
                           .event_usec = since_usec,
                           .reason = reason,
                       },
                       since_usec, &a);
        if (r < 0) {
                alerts_change_drop(c);
                return r;
        }
        r = alerts_change_finish(e, c, now_usec);
        if (r < 0)
                return r;
        for (size_t i = 0; alerts_next(e, NULL, &i, &x);)
                if (!x->household && x->kind == ALERT_STORAGE_FAILED && x->state == ALERT_OPEN)
                        found = x;
        if (!found)
                return 0;
        alerts_change_begin(c);
        r = alerts_tell(c, found, ALERTS_TO_SYSTEM,
                        &(struct outgoing){
                            .kind = "storage_restored",
                            .row_kind = "notice",
                            .step = escalation_step_to_string(STEP_COMMAND),
                            .event_ts_usec = now_usec,
                        },
                        note);
        if (r == 0)
                r = alerts_resolve(c, found, NULL, CHANNEL_SYSTEM, note);
        if (r < 0) {
                alerts_change_drop(c);
                return r;
        }
        return alerts_change_finish(e, c, now_usec);
}

/* sysalarm.c: the system's own alarms (DESIGN.md §6): monitoring_gap, notification_failed.
 *
 * They go to the command centre and the admins, through every channel those workers list
 * (but MQTT for monitoring_gap: the broker is what is missing) and through the group
 * notifiers that want the kind (system notices have no community unless they concern a
 * household's alert). They do not escalate. Like any alert, an open one absorbs further
 * occurrences (a count) instead of notifying again. */
#include "sysalarm.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "alerts.h"
#include "engine-private.h"
#include "escalation.h"
#include "fanout.h"
#include "hashmap.h"
#include "log.h"
#include "store.h"
#include "util.h"

/* The live alert of this kind a new occurrence joins: per household like alerts_find_joinable(),
 * or among the alerts without household. */
static struct alert *find_alarm(struct engine *e, const struct household *h, enum alert_kind kind,
                                int64_t now_usec)
{
        const char *key;
        void *value;
        size_t i = 0;

        if (h)
                return alerts_find_joinable(e, h, kind, NULL, now_usec);
        while (hashmap_iterate(e->alerts_by_id, &i, &key, &value)) {
                struct alert *a = value;
                if (a->household || a->kind != kind)
                        continue;
                if (a->state == ALERT_OPEN ||
                    (a->state == ALERT_ACKED &&
                     now_usec < a->acked_usec + e->config->policy.ack_absorb_usec))
                        return a;
        }
        return NULL;
}

/* Tells the command centre and the admins (a worker in both is told once, as command). */
static int tell_command_and_admins(struct engine *e, const struct outgoing *o, int64_t now_usec)
{
        const struct config *c = e->config;
        _cleanup_free_ struct recipient *rcpt = NULL;
        uint64_t before = e->counters.notifications;
        int r;

        rcpt = calloc(c->n_command + c->n_admins + 1, sizeof(*rcpt));
        if (!rcpt)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_command; i++)
                rcpt[i] = (struct recipient){ c->command[i], "command" };
        for (size_t i = 0; i < c->n_admins; i++)
                rcpt[c->n_command + i] = (struct recipient){ c->admins[i], "admin" };
        r = engine_fanout(e, o, rcpt, c->n_command + c->n_admins, now_usec);
        if (r >= 0 && e->counters.notifications == before)
                log_warn("%s (alert %s): no channel reaches the command centre or the admins%s",
                         o->kind, o->a->id,
                         o->skip_mqtt
                             ? " without MQTT (configure an exec, webhook or robot channel)"
                             : "");
        return r;
}

/* Raises a system alert, or joins the live one. *ret_new tells which. */
static int raise_alarm(struct engine *e, enum alert_kind kind, const struct household *h,
                       const char *reason, int64_t event_usec, int64_t now_usec, struct alert **ret,
                       bool *ret_new)
{
        struct alert *a = find_alarm(e, h, kind, now_usec);
        int r;

        *ret_new = false;
        r = store_begin(e->store);
        if (r < 0)
                return r;
        if (a)
                return alerts_join(e, a, now_usec, ret);
        r = alerts_create(e,
                          &(struct alert_init){
                              .kind = kind,
                              .severity = alert_kind_default_severity(kind),
                              .h = h,
                              .event_ts = (double)event_usec / 1e6,
                              .event_usec = now_usec,
                              .reason = reason,
                          },
                          now_usec, &a);
        if (r < 0)
                return r;
        log_notice("alert %s: %s%s%s (%s)", a->id, alert_kind_to_string(kind),
                   h ? " at household " : "", h ? h->id : "", reason);
        *ret = a;
        *ret_new = true;
        return 0;
}

/* Raises a system alert and, when it is new (not joined), tells the command centre and the
 * admins; skip_mqtt when the broker itself is what failed. */
static int raise_and_tell(struct engine *e, enum alert_kind kind, const struct household *h,
                          const char *reason, int64_t event_usec, int64_t now_usec, bool skip_mqtt)
{
        struct alert *a;
        bool is_new;
        int r = raise_alarm(e, kind, h, reason, event_usec, now_usec, &a, &is_new);

        if (r < 0 || !is_new)
                return r;
        return tell_command_and_admins(e,
                                       &(struct outgoing){
                                           .a = a,
                                           .kind = alert_kind_to_string(a->kind),
                                           .reason = reason,
                                           .step = escalation_step_to_string(STEP_COMMAND),
                                           .skip_mqtt = skip_mqtt,
                                       },
                                       now_usec);
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

static struct alert *live_gap(struct engine *e)
{
        const char *key;
        void *value;
        size_t i = 0;

        while (hashmap_iterate(e->alerts_by_id, &i, &key, &value)) {
                struct alert *a = value;
                if (!a->household && a->kind == ALERT_MONITORING_GAP && a->state != ALERT_RESOLVED)
                        return a;
        }
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
        struct alert *a = live_gap(e);
        int r;

        if (!a)
                return 0;
        r = store_begin(e->store);
        if (r == 0)
                r = tell_command_and_admins(e,
                                            &(struct outgoing){
                                                .a = a,
                                                .kind = "monitoring_restored",
                                                .row_kind = "notice",
                                                .reason = note,
                                                .step = escalation_step_to_string(STEP_COMMAND),
                                                .event_ts_usec = now_usec,
                                                .skip_mqtt = true,
                                            },
                                            now_usec);
        if (r == 0)
                r = store_set_alert_resolved(e->store, a->id, NULL, "system", now_usec, note);
        if (r == 0)
                r = store_insert_action(e->store, "resolve", NULL, "system", a->id, now_usec, note);
        if (r < 0)
                return r;
        log_notice("alert %s: monitoring restored after %.0f s", a->id,
                   (double)(now_usec - llround(a->event_ts * 1e6)) / 1e6);
        alerts_unlink(e, a);
        return 0;
}

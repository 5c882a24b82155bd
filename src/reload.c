/* reload.c: switches the engine to a new configuration (SIGHUP).
 *
 * Between two messages, with the previous transaction committed: the state arrays are
 * rebuilt by id, live alerts and pending timers follow their household to its new record,
 * the alerts of removed households leave memory (they stay in the database). Nothing fails
 * after the allocations, so a failed reload leaves the engine as it was. */
#include "reload.h"

#include <errno.h>
#include <stdlib.h>

#include "alerts.h"
#include "engine-private.h"
#include "hashmap.h"
#include "log.h"
#include "observation.h"
#include "rules.h"

#define RELOAD_LOG_DROPPED_MAX 20

/* Every pointer and index into the configuration that the engine holds is re-pointed here:
 * engine->config, alert->household, timer entries' index (a device's for TIMER_HEALTH, a
 * household's for the others).
 * household_state and device_state are carried over by value: a field added to them that
 * points into the configuration must be re-pointed here too. */
int reload_config(struct engine *e, const struct config *nc)
{
        const struct config *oc = e->config;
        struct household_state *hs;
        struct device_state *ds;
        struct household **moved; /* old household index -> its new record, or NULL */
        struct rules_debounce *db;
        struct timerq timers = { 0 };
        size_t n_dropped = 0;

        hs = xcalloc(nc->n_households ? nc->n_households : 1, sizeof(*hs));
        ds = xcalloc(nc->n_devices ? nc->n_devices : 1, sizeof(*ds));
        db = xcalloc(nc->n_devices ? nc->n_devices : 1, sizeof(*db));
        moved = xcalloc(oc->n_households ? oc->n_households : 1, sizeof(*moved));
        for (size_t i = 0; i < nc->n_devices; i++) {
                const struct device *od = config_device(oc, nc->devices[i].id);
                if (od) {
                        ds[i] = e->devices[od->index];
                        db[i] = e->debounce[od->index];
                } else
                        ds[i].battery_percent = -1;
        }
        for (size_t i = 0; i < oc->n_devices; i++)
                if (!config_device(nc, oc->devices[i].id))
                        device_state_done(&e->devices[i]); /* removed: nothing carries it */
        for (size_t i = 0; i < oc->n_households; i++) {
                const struct household *oh = &oc->households[i];
                struct household *nh = config_household(nc, oh->id);
                struct alert *a, *next;

                moved[i] = nh;
                if (nh) {
                        hs[nh->index] = e->households[i];
                        for (a = hs[nh->index].alerts; a; a = a->next)
                                a->household = nh;
                        continue;
                }
                rules_state_done(&e->households[i]);
                for (a = e->households[i].alerts; a; a = next) {
                        next = a->next;
                        if (n_dropped++ < RELOAD_LOG_DROPPED_MAX)
                                log_about(LOG_WARNING, a->id, oh->id, a->device_id,
                                          "reload: household %s was removed; its %s alert %s "
                                          "stays %s in the database but is no longer escalated",
                                          oh->id, alert_kind_to_string(a->kind), a->id,
                                          alert_state_to_string(a->state));
                        hashmap_remove(e->alerts_by_id, a->id);
                        alerts_free_alert(a);
                }
        }
        if (n_dropped > RELOAD_LOG_DROPPED_MAX)
                log_warn("reload: %zu alerts of removed households left memory in all", n_dropped);
        for (size_t i = 0; i < e->timers.n; i++) {
                const struct timerq_entry *t = &e->timers.heap[i];

                if (t->type == TIMER_HEALTH) {
                        const struct device *nd = config_device(nc, oc->devices[t->index].id);
                        if (nd)
                                timerq_push(&timers, t->usec, t->type, nd->index, t->token);
                } else if (moved[t->index]) {
                        timerq_push(&timers, t->usec, t->type, moved[t->index]->index, t->token);
                }
        }
        free(moved);
        free(e->households);
        free(e->devices);
        free(e->debounce);
        timerq_done(&e->timers);
        e->households = hs;
        e->devices = ds;
        e->debounce = db;
        e->timers = timers;
        e->config = nc;
        e->fanout.config = nc;
        observation_reloaded(e, oc);
        return 0;
}

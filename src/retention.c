/* retention.c: retention (DESIGN.md §8): the events and personal data of a household are
 * purged once its observation ended `retention` ago, and those of a household that left
 * the configuration `retention` after the last thing recorded about it (its end is not known
 * any more; nothing can be recorded about it after it left). A household's unresolved
 * alerts, the observation_ended notice included, do not hold the purge up: they go with it,
 * and out of memory. The store does the deleting and remembers what it purged, so each
 * household is purged once (and, after a restart, its observation_ended is not raised
 * again: observation_load() reads the purged ones). The worker page's used form nonces are
 * forgotten after RETENTION_FORMS_USEC. */
#include "retention.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "engine-private.h"
#include "log.h"
#include "rules.h"
#include "store.h"
#include "util.h"

/* A form nonce answers replays this long; its page was older (token.h: a nonce expires
 * sooner), so the nonce is refused as expired anyway. */
#define RETENTION_FORMS_USEC (2 * USEC_PER_DAY)

static int purge(struct engine *e, const char *household, const char *why, int64_t now_usec)
{
        int64_t events = 0;
        int r = store_purge_household(e->store, household, now_usec, &events);

        if (r < 0)
                return r;
        log_about(LOG_NOTICE, NULL, household, NULL,
                  "household %s: %s, retention passed: %lld events and personal data purged",
                  household, why, (long long)events);
        return 0;
}

struct removed {
        const struct config *config;
        int64_t before_usec;
        char **ids;
        size_t n, cap;
};

/* Stored households that left the configuration and were last heard of before the bound. */
static int removed_cb(const char *household, int64_t last_usec, void *userdata)
{
        struct removed *rm = userdata;

        if (!household || config_household(rm->config, household) || last_usec > rm->before_usec)
                return 0;
        GROW(rm->ids, rm->n, rm->cap);
        rm->ids[rm->n++] = xstrdup(household);
        return 0;
}

int retention_purge_expired(struct engine *e, int64_t now_usec)
{
        const struct config *c = e->config;
        struct removed rm = { .config = c, .before_usec = now_usec - c->retention_usec };
        char end[32], why[96];
        int n = 0, r = 0;

        for (size_t i = 0; i < c->n_households && r >= 0; i++) {
                const struct household *h = &c->households[i];
                struct household_state *st = &e->households[i];

                if (h->obs_end_usec > now_usec - c->retention_usec)
                        continue;
                r = store_household_purged(e->store, h->id);
                if (r != 0)
                        continue;
                snprintf(why, sizeof(why), "observation ended %s",
                         format_local_time(h->obs_end_usec, end));
                r = purge(e, h->id, why, now_usec);
                if (r < 0)
                        break;
                /* Its alerts went with it (the end of observation resolved the others). */
                while (st->alerts)
                        alerts_unlink(e, st->alerts);
                st->observation_noticed = true;
                n++;
        }
        if (r >= 0)
                r = store_foreach_stored_household(e->store, removed_cb, &rm);
        for (size_t i = 0; i < rm.n && r >= 0; i++) {
                r = purge(e, rm.ids[i], "no longer configured", now_usec);
                if (r >= 0)
                        n++;
        }
        free_strv(rm.ids, rm.n);
        if (r >= 0)
                r = store_purge_forms(e->store, now_usec - RETENTION_FORMS_USEC);
        return r < 0 ? r : n;
}

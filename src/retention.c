/* retention.c: retention (DESIGN.md §8): the events and personal data of a household are
 * purged once its observation ended `retention` ago and no live alert of it is left. The
 * store does the deleting and remembers what it purged, so each household is purged once. */
#include "retention.h"

#include "engine-private.h"
#include "log.h"
#include "rules.h"
#include "store.h"
#include "util.h"

int retention_purge_expired(struct engine *e, int64_t now_usec)
{
        const struct config *c = e->config;
        int n = 0;

        for (size_t i = 0; i < c->n_households; i++) {
                const struct household *h = &c->households[i];
                char end[32];
                int64_t events = 0;
                int r;

                if (h->obs_end_usec > now_usec - c->retention_usec || e->households[i].alerts)
                        continue;
                r = store_household_purged(e->store, h->id);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                r = store_purge_household(e->store, h->id, now_usec, &events);
                if (r < 0)
                        return r;
                log_about(LOG_NOTICE, NULL, h->id, NULL,
                          "household %s: observation ended %s, retention passed: %lld events and "
                          "personal data purged",
                          h->id, format_local_time(h->obs_end_usec, end), (long long)events);
                n++;
        }
        return n;
}

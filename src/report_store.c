/* report_store.c: the daily report read from the store, and the configuration history it
 * counts households from (see report.h). The household -> community map built from the
 * windows lives for one report_load() and owns its strings. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"
#include "report.h"
#include "store.h"

/* The map's value for a household without a community (a NULL value would be no entry). */
static char no_community[] = "";

struct load {
        struct report *r;
        struct hashmap *community_of; /* household -> community (owned keys and values) */
        char **owned;
        size_t n_owned, cap_owned;
};

static char *own(struct load *l, const char *s)
{
        char *c = xstrdup(s);

        if (!c)
                return NULL;
        GROW(l->owned, l->n_owned, l->cap_owned);
        l->owned[l->n_owned++] = c;
        return c;
}

static int on_window(const struct store_household_window *w, void *userdata)
{
        struct load *l = userdata;
        char *h = own(l, w->household);

        hashmap_replace(l->community_of, h, w->community ? own(l, w->community) : no_community);
        report_add_household(l->r, w->community, w->start_usec, w->end_usec);
        return 0;
}

static enum report_verdict verdict_of(const char *v)
{
        if (str_eq(v, "alert"))
                return REPORT_ALERT;
        if (str_eq(v, "expected"))
                return REPORT_EXPECTED;
        return REPORT_IGNORED;
}

static int on_opening(const struct store_opening_count *c, void *userdata)
{
        struct load *l = userdata;
        const char *community = c->community;

        if (!community && c->household) {
                const struct household *h;
                community = hashmap_get(l->community_of, c->household);
                if (!community && (h = config_household(l->r->config, c->household)))
                        community = h->community_id;
                else if (community == no_community)
                        community = NULL;
        }
        report_add_openings(l->r, community, c->span_usec, verdict_of(c->verdict), c->rule, c->n);
        return 0;
}

static int on_alert(const struct store_alert_brief *a, void *userdata)
{
        struct load *l = userdata;

        report_add_alert(l->r, &(struct report_alert){
                                   .community = a->community,
                                   .kind = alert_kind_from_string(a->kind),
                                   .raised_usec = a->raised_usec,
                                   .acked_usec = a->acked_usec,
                                   .resolved_usec = a->resolved_usec,
                                   .acked_by = a->acked_by,
                               });
        return 0;
}

static int on_dead(const char *community, int64_t dead_usec, void *userdata)
{
        struct load *l = userdata;

        report_add_failed_notification(l->r, community, dead_usec);
        return 0;
}

static int on_round(const struct store_round *rd, void *userdata)
{
        struct load *l = userdata;

        report_add_round(l->r, rd->community, rd->end_usec, rd->outcome);
        return 0;
}

static int on_fever(const char *community, int64_t usec, void *userdata)
{
        struct load *l = userdata;

        report_add_fever(l->r, community, usec);
        return 0;
}

int report_load(struct report *r, struct store *s)
{
        struct load l = { .r = r, .community_of = hashmap_new(256) };
        const struct config *cfg = r->config;
        int ret;

        ret = store_foreach_household_window(s, r->day_end_usec, on_window, &l);
        for (size_t i = 0; ret == 0 && cfg && i < cfg->n_households; i++) {
                const struct household *h = &cfg->households[i];

                if (hashmap_get(l.community_of, h->id))
                        continue;
                hashmap_replace(l.community_of, own(&l, h->id),
                                h->community_id ? h->community_id : no_community);
                report_add_household(r, h->community_id, h->obs_start_usec, h->obs_end_usec);
        }
        if (ret == 0)
                ret = store_foreach_opening_count(s, r->day_start_usec, r->day_end_usec, on_opening,
                                                  &l);
        if (ret == 0)
                ret = store_foreach_alert_brief(
                    s,
                    &(struct store_alert_span){ .raised_from_usec = r->first_start_usec,
                                                .raised_to_usec = r->day_end_usec,
                                                .unresolved_at_usec = r->day_end_usec },
                    on_alert, &l);
        if (ret == 0)
                ret = store_foreach_dead_notification(s, r->day_start_usec, r->day_end_usec,
                                                      on_dead, &l);
        if (ret == 0)
                ret = store_foreach_round(s, r->day_start_usec, r->day_end_usec, on_round, &l);
        if (ret == 0)
                ret = store_foreach_fever(s, r->day_start_usec, r->day_end_usec, on_fever, &l);
        if (ret == 0)
                report_finish(r);
        hashmap_free(l.community_of);
        free_strv(l.owned, l.n_owned);
        return ret;
}

int report_record_config(struct store *s, const struct config *cfg, int64_t now_usec)
{
        struct store_household_window *w = xcalloc(cfg->n_households, sizeof(*w));
        int r;

        for (size_t i = 0; i < cfg->n_households; i++)
                w[i] = (struct store_household_window){
                        .household = cfg->households[i].id,
                        .community = cfg->households[i].community_id,
                        .start_usec = cfg->households[i].obs_start_usec,
                        .end_usec = cfg->households[i].obs_end_usec,
                };
        r = store_record_household_windows(s, w, cfg->n_households, now_usec, NULL);
        free(w);
        return r;
}

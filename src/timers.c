/* timers.c: the engine's one timer heap (e->timers, engine-private.h) kept small.
 *
 * Every module of the engine pushes its own entries (TIMER_*) and never removes one early:
 * a handler checks that what it fires for is still current. This module knows which
 * entries are stale and drops them; it sits under the modules that push, so each of them
 * can call it. */
#include "timers.h"

#include "alerts.h"
#include "engine-private.h"

/* Whether a timer entry can still fire (see engine_tick): a rules entry whose token is
 * current, an escalation entry whose alert is live, every observation end. */
static bool timer_live(const struct timerq_entry *t, void *userdata)
{
        struct engine *e = userdata;

        switch (t->type) {
        case TIMER_RULES:
                return e->households[t->index].timer_token == t->token;
        case TIMER_ESCALATION:
                return alerts_by_serial(e, t->index, t->token);
        default:
                return true;
        }
}

/* Lazy deletion leaves a stale entry each time a household's deadline moves (every
 * opening arms held_open): drop them whenever the heap has grown by a quarter since the
 * last time, so it stays within 125% of what is armed (memory flat under constant load).
 * A city arms 300,000 entries and more (a staleness check per device), so doubling first
 * would hold as many stale ones; a pass is O(n), once per n/4 pushes. */
void timers_compact(struct engine *e)
{
        if (e->timers.n < 1024 || e->timers.n < e->timers_compacted + e->timers_compacted / 4)
                return;
        timerq_compact(&e->timers, timer_live, e);
        e->timers_compacted = e->timers.n;
}

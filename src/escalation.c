/* escalation.c: the escalation schedule (see escalation.h). No state, no clock. */
#include "escalation.h"

#include <string.h>

static int n_steps(const struct escalation *cfg)
{
        return cfg->n_steps > 0 ? (int)cfg->n_steps : 1;
}

static int rounds(const struct escalation *cfg)
{
        return cfg->repeat > 0 ? cfg->repeat : 1;
}

static enum escalation_step step_at(const struct escalation *cfg, int i)
{
        return cfg->n_steps > 0 ? cfg->steps[i] : STEP_TEAM;
}

/* Brings a stored position into the current config's range. */
static struct escalation_pos clamp(const struct escalation *cfg, const struct escalation_pos *p)
{
        struct escalation_pos c = *p;

        if (c.round < 1)
                c.round = 1;
        if (c.step_index < 0)
                c.step_index = 0;
        if (c.reminders < 0)
                c.reminders = 0;
        if (c.round > rounds(cfg)) {
                c.round = rounds(cfg);
                c.step_index = n_steps(cfg) - 1;
        }
        if (c.step_index >= n_steps(cfg))
                c.step_index = n_steps(cfg) - 1;
        return c;
}

bool escalation_pos_final(const struct escalation *cfg, const struct escalation_pos *pos)
{
        struct escalation_pos c = clamp(cfg, pos);
        return c.reminders > 0 || (c.round == rounds(cfg) && c.step_index == n_steps(cfg) - 1);
}

/* The interval after having notified pos. */
static int64_t interval_after(const struct escalation *cfg, const struct escalation_pos *pos)
{
        int64_t i = escalation_pos_final(cfg, pos) ? cfg->remind_every_usec : cfg->ack_timeout_usec;

        /* The config guarantees positive durations; never hand the timer loop a deadline
         * that is already due. */
        return i > 0 ? i : 1000;
}

void escalation_start(const struct escalation *cfg, int64_t now_usec, struct escalation_plan *ret)
{
        memset(ret, 0, sizeof(*ret));
        ret->fire = ESCALATION_FIRE_STEP;
        ret->step = step_at(cfg, 0);
        ret->pos = (struct escalation_pos){ .step_index = 0, .round = 1, .reminders = 0 };
        ret->next_usec = now_usec + interval_after(cfg, &ret->pos);
}

void escalation_next(const struct escalation *cfg, const struct escalation_pos *cur,
                     int64_t deadline_usec, int64_t now_usec, struct escalation_plan *ret)
{
        struct escalation_pos p = clamp(cfg, cur);
        int64_t interval;

        memset(ret, 0, sizeof(*ret));
        if (now_usec < deadline_usec) {
                ret->fire = ESCALATION_FIRE_NONE;
                ret->pos = p;
                ret->next_usec = deadline_usec;
                return;
        }
        if (escalation_pos_final(cfg, &p)) {
                p.reminders++;
                ret->fire = ESCALATION_FIRE_REMINDER;
                ret->step = STEP_COMMAND;
        } else {
                if (++p.step_index == n_steps(cfg)) {
                        p.step_index = 0;
                        p.round++;
                }
                ret->fire = ESCALATION_FIRE_STEP;
                ret->step = step_at(cfg, p.step_index);
        }
        ret->pos = p;
        interval = interval_after(cfg, &p);
        ret->next_usec = deadline_usec + interval;
        if (ret->next_usec <= now_usec)
                ret->next_usec = now_usec + interval;
}

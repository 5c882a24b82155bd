/* export.c: the registry as spreadsheets (see export.h). Each sheet is one pass over the
 * configuration's arrays, in registry order, into one growing text. */
#include "export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "util.h"

struct out {
        struct sbuf b;
        bool first; /* no cell in this row yet */
};

static void cell(struct out *o, const char *s)
{
        if (!o->first)
                sbuf_putc(&o->b, ',');
        o->first = false;
        csv_put_cell(&o->b, s ? s : "");
}

static void end_row(struct out *o)
{
        sbuf_puts(&o->b, "\r\n");
        o->first = true;
}

static void header(struct out *o, enum sheet_kind kind, const enum sheet_field *fields, size_t n)
{
        size_t n_cols;
        const struct sheet_column *cols = sheet_columns(kind, &n_cols);

        for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < n_cols; k++)
                        if (cols[k].field == fields[i])
                                cell(o, cols[k].zh);
        end_row(o);
}

/* "2026-12-04 00:00" (seconds only when there are some). */
static const char *local(int64_t usec, char buf[static 32])
{
        if (usec == OBSERVATION_OPEN_END)
                return strcpy(buf, ""); /* an open-ended observation: no end */
        format_local_time(usec, buf);
        if (strcmp(buf + 16, ":00") == 0)
                buf[16] = 0;
        return buf;
}

static const char *hhmm(int min, char buf[static 8])
{
        snprintf(buf, 8, "%02d:%02d", min / 60 % 100, min % 60);
        return buf;
}

static const char *community_cell(const struct config *cfg, const char *id)
{
        const struct community *c = config_community(cfg, id);
        return c ? community_label(c) : id;
}

/* The times of a role's scheduled visits, sorted, "09:00 15:00". */
static void visits(struct out *o, const struct household *h, enum role role)
{
        int t[64];
        size_t n = 0, k = 0;
        char buf[8 * 64 + 1] = "", hm[8];

        for (size_t i = 0; i < h->n_schedule; i++)
                if (h->schedule[i].role == role)
                        for (size_t j = 0; j < h->schedule[i].n_at && n < ELEMENTSOF(t); j++)
                                t[n++] = h->schedule[i].at_min[j];
        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0 && t[j - 1] > t[j]; j--) {
                        int x = t[j];
                        t[j] = t[j - 1];
                        t[j - 1] = x;
                }
        for (size_t i = 0; i < n; i++) {
                if (i > 0 && t[i] == t[i - 1])
                        continue;
                k += (size_t)snprintf(buf + k, sizeof(buf) - k, "%s%s", k ? " " : "",
                                      hhmm(t[i], hm));
        }
        cell(o, buf);
}

static void households(struct out *o, const struct config *cfg)
{
        static const enum sheet_field fields[] = {
                SF_HH_ID,
                SF_HH_COMMUNITY,
                SF_HH_ADDRESS,
                SF_HH_START,
                SF_HH_END,
                SF_HH_TEAM_COMMUNITY,
                SF_HH_NAME_COMMUNITY,
                SF_HH_TEAM_MEDICAL,
                SF_HH_NAME_MEDICAL,
                SF_HH_TEAM_POLICE,
                SF_HH_NAME_POLICE,
                SF_HH_VISITS_MEDICAL,
                SF_HH_VISITS_COMMUNITY,
                SF_HH_VISITS_POLICE,
        };
        char a[32], b[32];

        header(o, SHEET_HOUSEHOLDS, fields, ELEMENTSOF(fields));
        for (size_t i = 0; i < cfg->n_households; i++) {
                const struct household *h = &cfg->households[i];

                cell(o, h->id);
                cell(o, community_cell(cfg, h->community_id));
                cell(o, h->address);
                cell(o, local(h->obs_start_usec, a));
                cell(o, local(h->obs_end_usec, b));
                for (int r = 0; r < TEAM_ROLES; r++) {
                        cell(o, h->team[r] ? h->team[r]->id : "");
                        cell(o, h->team[r] ? h->team[r]->name : "");
                }
                visits(o, h, ROLE_MEDICAL);
                visits(o, h, ROLE_COMMUNITY);
                visits(o, h, ROLE_POLICE);
                end_row(o);
        }
}

static bool in_command(const struct config *cfg, const struct worker *w)
{
        for (size_t i = 0; i < cfg->n_command; i++)
                if (cfg->command[i] == w)
                        return true;
        return false;
}

static void workers(struct out *o, const struct config *cfg)
{
        static const enum sheet_field fields[] = { SF_W_ID,        SF_W_NAME,  SF_W_ROLE,
                                                   SF_W_COMMUNITY, SF_W_PHONE, SF_W_CHANNELS };

        header(o, SHEET_WORKERS, fields, ELEMENTSOF(fields));
        for (size_t i = 0; i < cfg->n_workers; i++) {
                const struct worker *w = &cfg->workers[i];
                enum sheet_duty duty = SHEET_DUTY_NONE;
                struct sbuf ch;

                if (w->role == ROLE_STAFF && w->community && w->community->leader == w)
                        duty = SHEET_DUTY_LEADER;
                else if (w->role == ROLE_STAFF && in_command(cfg, w))
                        duty = SHEET_DUTY_COMMAND;
                cell(o, w->id);
                cell(o, w->name);
                cell(o, sheet_role_label(w->role, duty));
                cell(o, w->community_id ? community_cell(cfg, w->community_id) : "");
                cell(o, w->phone);
                sbuf_init(&ch, NULL, 0);
                for (size_t k = 0; k < w->n_channels; k++)
                        sbuf_printf(&ch, "%s%s", k ? " " : "", w->channels[k]);
                cell(o, w->n_channels ? sbuf_text(&ch) : "");
                sbuf_done(&ch);
                end_row(o);
        }
}

static void shifts(struct out *o, const struct config *cfg)
{
        static const enum sheet_field fields[] = { SF_S_COMMUNITY,   SF_S_ROLE, SF_S_WORKER,
                                                   SF_S_WORKER_NAME, SF_S_DAYS, SF_S_DATE,
                                                   SF_S_FROM,        SF_S_TO };
        char a[64], b[32], hm[8];

        header(o, SHEET_SHIFTS, fields, ELEMENTSOF(fields));
        for (size_t i = 0; i < cfg->n_communities; i++) {
                const struct community *c = &cfg->communities[i];

                for (size_t k = 0; k < c->n_shifts; k++) {
                        const struct shift *s = &c->shifts[k];
                        cell(o, community_label(c));
                        cell(o, sheet_role_label(s->role, SHEET_DUTY_NONE));
                        cell(o, s->worker ? s->worker->id : "");
                        cell(o, s->worker ? s->worker->name : "");
                        cell(o, sheet_format_days(s->days_mask, a));
                        cell(o, "");
                        cell(o, hhmm(s->from_min, hm));
                        cell(o, s->to_min == 0 ? "24:00" : hhmm(s->to_min, hm));
                        end_row(o);
                }
                for (size_t k = 0; k < c->n_overrides; k++) {
                        const struct roster_override *r = &c->overrides[k];
                        cell(o, community_label(c));
                        cell(o, sheet_role_label(r->role, SHEET_DUTY_NONE));
                        cell(o, r->worker ? r->worker->id : "");
                        cell(o, r->worker ? r->worker->name : "");
                        cell(o, "");
                        cell(o, "");
                        cell(o, local(r->from_usec, a));
                        cell(o, local(r->to_usec, b));
                        end_row(o);
                }
        }
}

char *export_sheet(const struct config *cfg, enum sheet_kind kind)
{
        struct out o = { .first = true };
        char *s;

        sbuf_init(&o.b, NULL, 0);
        sbuf_puts(&o.b, "\xef\xbb\xbf");
        if (kind == SHEET_HOUSEHOLDS)
                households(&o, cfg);
        else if (kind == SHEET_WORKERS)
                workers(&o, cfg);
        else if (kind == SHEET_SHIFTS)
                shifts(&o, cfg);
        s = sbuf_finish(&o.b);
        if (!s)
                abort();
        return s;
}

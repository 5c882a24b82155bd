/* fanout.c: notifications (DESIGN.md §4): the outbox rows of a step, a round, a notice.
 *
 * Every row holds the notification in NOTIFY_FORMAT_OUTBOX with its text rendered from
 * the templates (unbounded: each channel cuts it to its own limit). Per-person notifiers
 * (mqtt, exec) get one row per recipient, for the channels the worker lists; group
 * notifiers (wecom, dingtalk, feishu, webhook) get one row per round listing every
 * recipient, when notifier_wants() the kind and community. fanout_send_direct() hands the
 * same notifications to a function instead of the outbox (the database is what failed). */
#include "fanout.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "escalation.h"
#include "notify/notify.h"
#include "store.h"
#include "topic.h"
#include "util.h"

static const char *step_label(enum escalation_step step)
{
        switch (step) {
        case STEP_LEADER:
                return "社区值班领导";
        case STEP_COMMAND:
                return "街道指挥中心";
        default:
                return "包保小组";
        }
}

static const struct templates *templates_of(struct fanout *f)
{
        if (f->notify)
                return notify_context_templates(f->notify);
        if (!f->default_templates && templates_new(NULL, NULL, &f->default_templates) < 0)
                return NULL;
        return f->default_templates;
}

void fanout_done(struct fanout *f)
{
        f->default_templates = templates_free(f->default_templates);
}

static bool kind_is_system(enum alert_kind k)
{
        return k == ALERT_MONITORING_GAP || k == ALERT_NOTIFICATION_FAILED ||
               k == ALERT_STORAGE_FAILED;
}

/* Door alerts and the system's own alarms go first in a backlog; device health after. */
static int notification_priority(const struct alert *a)
{
        return alert_kind_escalates(a->kind) || kind_is_system(a->kind) ? 0 : 1;
}

static void message_init(const struct outgoing *o, struct notify_message *m)
{
        const struct alert *a = o->a;
        const struct household *h = a->household;

        *m = (struct notify_message){
                .alert_id = a->id,
                .round = a->round,
                .household = h ? h->id : NULL,
                .community = h ? h->community_id : NULL,
                .address = h ? h->address : NULL,
                .kind = o->kind,
                .severity = severity_to_string(a->severity),
                .reason = o->reason,
                .event_id = a->event_uid[0] ? a->event_uid : NULL,
                .event_ts_usec = o->event_ts_usec  ? o->event_ts_usec
                                 : a->event_ts > 0 ? llround(a->event_ts * 1e6)
                                                   : 0,
                .raised_at_usec = a->raised_usec,
                .step = o->step,
                .count = (unsigned)MAX(a->count, 0),
                .reminder = o->reminder,
        };
        m->note = o->note;
        if (o->alert_kind)
                m->alert_kind = o->alert_kind;
        if (o->acked_by) {
                m->acked_by = o->acked_by->id;
                m->acked_by_name = o->acked_by->name ? o->acked_by->name : o->acked_by->id;
                m->acked_at_usec = o->event_ts_usec;
                m->ack_channel = o->ack_channel;
                m->alert_kind = alert_kind_to_string(a->kind);
        }
}

/* Later steps and reminders say so before the kind's text: people must see that nobody
 * has acknowledged yet. */
static int mark_escalation(const struct outgoing *o, char **text)
{
        const struct alert *a = o->a;
        char *marked;

        if (o->reminder > 0)
                marked = xasprintf("【第%d次提醒·仍无人确认】%s", o->reminder, *text ? *text : "");
        else if (str_eq(o->row_kind, "alert") && (a->round > 1 || a->step_index > 0))
                marked = xasprintf("【无人确认，已升级·第%d轮·%s】%s", a->round,
                                   step_label(o->step_value), *text ? *text : "");
        else
                return 0;
        free(*text);
        *text = marked;
        return 0;
}

static struct notify_recipient recipient_of(const struct recipient *rc)
{
        return (struct notify_recipient){
                .worker = rc->worker->id,
                .name = rc->worker->name,
                .phone = rc->worker->phone,
                .role = rc->role,
        };
}

/* Renders m's text and stores m for channel (worker NULL for a round). A kind without
 * template gets no text: machines still have kind and reason. */
static int insert_message(struct fanout *f, const struct outgoing *o, struct notify_message *m,
                          const char *channel, const char *worker, int64_t now_usec, size_t *rows)
{
        const struct templates *t = templates_of(f);
        _cleanup_free_ char *text = NULL, *payload = NULL;
        char id[ALERT_ID_MAX];
        int r;

        if (f->direct)
                snprintf(id, sizeof(id), "n-direct-%lld-%u", (long long)(now_usec / USEC_PER_SEC),
                         ++f->direct_seq);
        else {
                r = store_next_id(f->store, 'n', now_usec, id, sizeof(id));
                if (r < 0)
                        return r;
        }
        m->notification_id = id;
        if (template_kind_known(m->kind)) {
                r = notify_render_text(t, m, 0, &text);
                if (r < 0)
                        return r;
                r = mark_escalation(o, &text);
                if (r < 0)
                        return r;
        }
        m->text = text;
        if (f->direct) {
                r = f->direct(f->direct_userdata, m, channel);
                if (r < 0)
                        return r;
                (*rows)++;
                return 0;
        }
        payload = notify_message_format(m, NOTIFY_FORMAT_OUTBOX);
        r = store_insert_notification(f->store, &(struct store_notification){
                                                    .id = id,
                                                    .alert_id = o->a->id,
                                                    .worker = worker,
                                                    .channel = channel,
                                                    .step = o->step,
                                                    .round = o->a->round,
                                                    .kind = o->row_kind,
                                                    .priority = notification_priority(o->a),
                                                    .payload = payload,
                                                    .created_usec = now_usec,
                                                    .next_usec = now_usec,
                                                });
        if (r < 0)
                return r;
        (*rows)++;
        return 0;
}

static bool channel_is_mqtt(struct fanout *f, const struct notifier *n, const char *channel)
{
        const struct notifier_config *nc = config_notifier(f->config, channel);

        if (n)
                return strcmp(notifier_type(n), "mqtt") == 0;
        return str_eq(nc ? nc->type : channel, "mqtt");
}

/* One per-person notification to rc through channel. A group notifier named in a
 * worker's channels is skipped here (config warns about it): it gets the round. */
static int queue_person(struct fanout *f, const struct outgoing *o, const struct recipient *rc,
                        const char *channel, int64_t now_usec, size_t *rows)
{
        struct notifier *n = f->notify ? notify_context_find(f->notify, channel) : NULL;
        struct notify_recipient r = recipient_of(rc);
        struct notify_message m;
        char topic[256], url[1024], page[1024];

        if (n && notifier_is_group(n))
                return 0;
        if (o->skip_mqtt && channel_is_mqtt(f, n, channel))
                return 0;
        topic_format(topic, sizeof(topic), f->config->mqtt.topic_prefix, TOPIC_WORKERS,
                     rc->worker->id, command_verb_to_string(COMMAND_ACK));
        message_init(o, &m);
        m.role = rc->role;
        m.worker = rc->worker->id;
        m.ack_topic = topic;
        /* A one-tap link acknowledges as this worker: for alerts and reminders, not notices. */
        if (!o->acked_by && !f->direct && f->ack_url &&
            f->ack_url(f->ack_url_userdata, o->a->id, rc->worker->id, now_usec, url, sizeof(url)))
                m.ack_url = url;
        /* The worker's own page: only here, per person (a group robot reaches everyone). */
        if (f->page_url &&
            f->page_url(f->page_url_userdata, rc->worker->id, now_usec, page, sizeof(page)))
                m.page_url = page;
        m.recipients = &r;
        m.n_recipients = 1;
        return insert_message(f, o, &m, channel, rc->worker->id, now_usec, rows);
}

/* Whether rcpt[i]'s worker came earlier in the list. */
static bool listed_before(const struct recipient *rcpt, size_t i)
{
        for (size_t k = 0; k < i; k++)
                if (rcpt[k].worker == rcpt[i].worker)
                        return true;
        return false;
}

/* One row per group notifier that wants this round, listing every recipient once. */
static int queue_rounds(struct fanout *f, const struct outgoing *o, const struct recipient *rcpt,
                        size_t n_rcpt, int64_t now_usec, size_t *rows)
{
        const struct config *c = f->config;
        const struct household *h = o->a->household;
        _cleanup_free_ struct notify_recipient *list = NULL;
        size_t n_list = 0;
        int r;

        if (!f->notify)
                return 0;
        list = xcalloc(n_rcpt ? n_rcpt : 1, sizeof(*list));
        for (size_t i = 0; i < n_rcpt; i++)
                if (!listed_before(rcpt, i))
                        list[n_list++] = recipient_of(&rcpt[i]);
        for (size_t i = 0; i < c->n_notifiers; i++) {
                struct notifier *n = notify_context_find(f->notify, c->notifiers[i].name);
                struct notify_message m;

                if (!n || !notifier_is_group(n) ||
                    !notifier_wants(n, o->kind, h ? h->community_id : NULL))
                        continue;
                message_init(o, &m);
                m.recipients = list;
                m.n_recipients = n_list;
                r = insert_message(f, o, &m, notifier_name(n), NULL, now_usec, rows);
                if (r < 0)
                        return r;
        }
        return 0;
}

int fanout_queue(struct fanout *f, const struct outgoing *o, const struct recipient *rcpt,
                 size_t n_rcpt, int64_t now_usec, size_t *ret_rows)
{
        size_t rows = 0;
        int r = 0;

        for (size_t i = 0; i < n_rcpt && r >= 0; i++) {
                const struct worker *w = rcpt[i].worker;

                if (listed_before(rcpt, i))
                        continue;
                for (size_t ch = 0; ch < w->n_channels && r >= 0; ch++)
                        r = queue_person(f, o, &rcpt[i], w->channels[ch], now_usec, &rows);
        }
        if (r >= 0)
                r = queue_rounds(f, o, rcpt, n_rcpt, now_usec, &rows);
        if (ret_rows)
                *ret_rows += rows;
        return r;
}

int fanout_send_direct(struct fanout *f, const struct outgoing *o, const struct recipient *rcpt,
                       size_t n_rcpt, int64_t now_usec, fanout_direct_fn send, void *userdata,
                       size_t *ret_rows)
{
        int r;

        f->direct = send;
        f->direct_userdata = userdata;
        r = fanout_queue(f, o, rcpt, n_rcpt, now_usec, ret_rows);
        f->direct = NULL;
        f->direct_userdata = NULL;
        return r;
}

/* template.h: the text a person reads in a notification, per alert kind.
 *
 * Every kind has a Chinese default; doorwatch.json's top-level "templates" object may
 * override any of them:
 *
 *     "templates": { "door_open_unexpected": "【告警】{address} 门开了，{time}。{ack}" }
 *
 * Placeholders (anything else in braces is an error; "{{" and "}}" are literal braces):
 *   {household} household id          {address}  household address
 *   {time}      local time of the event (or of the alert), "2020-02-05 08:00:00"
 *   {kind}      kind, as a Chinese label ("门异常打开")
 *   {severity}  severity label ("高")  {step}     escalation step label ("责任团队")
 *   {round}     escalation round, 1.. {count}    events in the alert's episode
 *   {worker}    recipient worker id(s) {name}     recipient name(s), "、"-separated
 *   {ack}       how to acknowledge, by what the recipient has: the one-tap link
 *               ("点击 <ack_url> 确认"), else their own page ("打开个人页面 <page_url>
 *               确认"), else a reply on their ack topic, naming the alert; in a group round
 *               (no personal link) that each recipient confirms from their own notification
 *   {ack_url}   the acknowledgement link ("" when the HTTP API has none)
 *   {page_url}  the recipient's own page (per-person channels only, "" otherwise)
 *   {acked_by}  who acknowledged (kind ack_notice)
 *   {channel}   through which channel (kind ack_notice), as people read it ("网页链接")
 *   {alert_kind} the kind of the alert a notice is about (ack_notice, resolved_notice), as a
 *               Chinese label
 *   {note}      what a notice says beyond that (resolved_notice: why it was resolved)
 *
 * Rendering is pure (no clock, no I/O): times are formatted in the process time zone,
 * which the daemon sets from doorwatch.json's "timezone". Output is bounded by a byte
 * limit per channel and then cut on a UTF-8 character boundary, ending with "…". */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config_diag.h"

/* Byte limits of the channels' text fields. */
#define TEMPLATE_MAX_SMS            280
#define TEMPLATE_MAX_WECOM_TEXT     2048
#define TEMPLATE_MAX_WECOM_MARKDOWN 4096
#define TEMPLATE_MAX_DINGTALK       20000
#define TEMPLATE_MAX_FEISHU         30000
/* An override longer than this is refused. */
#define TEMPLATE_MAX_SOURCE 4096

enum {
        TEMPLATE_E_UNKNOWN_KIND = 1, /* template_render(): no template for the kind */
};

struct template_vars {
        const char *household;
        const char *address;
        const char *kind;     /* the alert kind, e.g. "door_open_unexpected" */
        const char *severity; /* "critical", "high", "medium", "low", "info" */
        const char *step;     /* "team", "leader", "command" */
        const char *worker;
        const char *name;
        const char *ack_url;
        const char *page_url;  /* per-person only */
        const char *ack_topic; /* per-person only */
        const char *alert_id;
        const char *alert_kind; /* notices: the kind of the alert they are about */
        const char *note;
        const char *acked_by;
        const char *channel; /* ack_notice: its channel's label (channel_label(), "网页链接") */
        int64_t time_usec;   /* 0 = unknown: {time} is empty */
        int round;
        unsigned count;
};

struct templates;

/* Whether kind has a template: every alert kind of DESIGN.md §6, plus "ack_notice",
 * "resolved_notice", "test", "monitoring_restored" and "storage_restored". */
bool template_kind_known(const char *kind);

/* Checks `overrides` (the "templates" object of doorwatch.json, may be NULL) without
 * building anything: every problem is reported as `doorwatch.json: templates.<kind>: ...`
 * (diag may be NULL); returns whether there was none. The config loader calls this. */
bool templates_check(const cJSON *overrides, struct config_diag *diag);

/* Builds the template set: defaults, replaced by the entries of `overrides`, checked by
 * templates_check(). Returns 0, or -EINVAL when the check found problems. */
int templates_new(const cJSON *overrides, struct config_diag *diag, struct templates **ret);
struct templates *templates_free(struct templates *t);
static inline void templates_freep(struct templates **t)
{
        templates_free(*t);
}

/* Renders kind's text into a new string of at most max_bytes bytes (0 = no limit).
 * Returns 0, TEMPLATE_E_UNKNOWN_KIND for a kind without template, or -EINVAL for a
 * formatting error. */
int template_render(const struct templates *t, const char *kind, const struct template_vars *v,
                    size_t max_bytes, char **ret);

/* Cuts s in place to at most max_bytes bytes on a UTF-8 boundary, ending with "…" when
 * something was cut (max_bytes >= 4). Returns the new length. */
size_t template_truncate(char *s, size_t max_bytes);

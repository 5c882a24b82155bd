/* notify.h: notification channels ("notifiers" in doorwatch.json), a plug-in family.
 *
 * A notifier is one configured channel instance: "sms" of type exec, "wecom-chl" of
 * type wecom, ... It turns one struct notify_message into a delivery attempt and
 * reports how it went. It keeps no queue and makes no retry decision: the outbox
 * dispatcher (store) owns durability, backoff and dead letters; a notifier only says
 * DELIVERED, RETRY, RATE_LIMITED or FAILED, and tells the dispatcher when its rate
 * limit allows the next send.
 *
 * Types. Per-person types get one message per recipient (the recipient is named in a
 * worker's "channels"): mqtt, exec. Group types get one message per notification
 * round listing every recipient, for the kinds and communities they accept:
 * wecom, dingtalk, feishu, webhook. The mqtt type is the daemon's (it publishes on the
 * daemon's MQTT connection): until notify_register_type() provides it, a placeholder
 * accepts the configuration and fails every send.
 *
 * Lifecycle, as the daemon uses it:
 *
 *     notify_register_type(&mqtt_notify_type);          once, before notifiers exist
 *     notify_context_new(event, &ctx);                   event NULL = validation only
 *     notify_context_set_templates(ctx, templates);      from doorwatch.json "templates"
 *     for each cfg->notifiers[i]:
 *             notifier_new(ctx, &cfg->notifiers[i], cfg->dir, diag, NULL);
 *
 * Enqueue (alerts, escalation): build a struct notify_message for each per-person
 * notification (recipients[0] = the worker) and for each round of each group notifier
 * with notifier_wants(n, kind, community); fill .text with notify_render_text(); store
 * notify_message_format(m, NOTIFY_FORMAT_OUTBOX) in the outbox row.
 *
 * Dispatch (outbox row due, notifier name + JSON):
 *
 *     n = notify_context_find(ctx, row->notifier);
 *     slot = notifier_next_slot_usec(n, now);   if slot > now: leave queued until slot
 *     notify_message_parse(row->json, &m);      malformed: dead letter
 *     notifier_send(n, m, on_done, row);        records the send for the rate limit
 *     notify_message_free(m);                   the notifier copied what it needs
 *
 *     on_done(n, res, row): DELIVERED -> done; RETRY -> backoff (at least
 *     res->retry_after_usec); RATE_LIMITED -> requeue at max(now + res->retry_after_usec,
 *     notifier_next_slot_usec()), never dropped, attempt not counted against the limit;
 *     FAILED -> dead letter + notification_failed.
 *
 * Contract of notifier_send(): 0 means the callback runs exactly once, later, from the
 * event loop (never from inside notifier_send()); a negative errno means it never runs.
 * A callback may send again (the next row) or free its notifier, but must not free the
 * context. Freeing a notifier or the context runs the callbacks still pending with
 * NOTIFY_RETRY and detail "cancelled" (the row stays in the outbox); such callbacks
 * must neither send nor free anything.
 *
 * Configuration keys (doorwatch.json "notifiers.<name>"; unknown keys are errors):
 *   all types   "type"; "rate_per_minute", "rate_per_second": sends allowed in any
 *               sliding minute/second, 0 = unlimited. Defaults: wecom 20/-, dingtalk
 *               20/-, feishu 100/5, others unlimited.
 *   group types "communities": ["changhonglu", ...] (omitted = all, including
 *               system notices without a community); "kinds": ["*"] or a list of kinds
 *               (omitted = all).
 *   HTTP types  "timeout": "10s" (whole request; connect at most 5 s of it).
 *   wecom       "url_file" (required), "msgtype": "text" | "markdown" (default text;
 *               @mentions of the recipients' phones only work with text).
 *   dingtalk    "url_file" (required), "secret_file" (signing secret, optional).
 *   feishu      "url_file" (required), "secret_file" (optional).
 *   webhook     "url" or "url_file" (exactly one), "secret_file" (optional: signs the
 *               body, header X-Doorwatch-Signature: sha256=<hex HMAC-SHA256>).
 *   exec        "argv" (required; argv[0] an absolute path; placeholders {phone} {text}
 *               {worker} {name} {alert_id} {notification_id} {kind} replaced inside each
 *               argument, never through a shell), "timeout": "10s",
 *               "max_text_bytes": 280 (bound of {text}; SMS by default).
 *
 * Secrets: a "*_file" path is relative to the configuration directory. When
 * $CREDENTIALS_DIRECTORY is set (systemd LoadCredential=) and holds a file named like
 * the path's last component (secrets/wecom-chl.url -> $CREDENTIALS_DIRECTORY/
 * wecom-chl.url), that file is read instead. Files are read once, at notifier_new().
 * Secrets, URLs with keys and phone numbers never appear in logs or result details.
 *
 * exec needs SIGCHLD blocked in every thread before the first send (sd_event_add_child
 * requirement): the daemon blocks it at the top of main(), with SIGTERM/SIGINT/SIGHUP.
 * Children get an empty signal mask, default dispositions, stdin from /dev/null,
 * stdout/stderr into a pipe (the start of it goes into the result detail), a minimal
 * environment (PATH, LANG=C.UTF-8) and their own process group (a timeout kills the
 * whole group with SIGKILL). */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "notify/template.h"

struct http_client;
struct notify_context;
struct notifier;
struct notify_op;

enum {
        NOTIFY_E_NO_TEMPLATE = 1, /* a message without text whose kind has no template */
};

enum notify_outcome {
        NOTIFY_DELIVERED = 0,
        NOTIFY_RETRY = 1,        /* transient: 5xx, timeout, connection refused, exit status != 0 */
        NOTIFY_RATE_LIMITED = 2, /* the far end said "too fast": requeue, never drop */
        NOTIFY_FAILED = 3,       /* permanent: 4xx, bad configuration, unusable message */
};

const char *notify_outcome_to_string(enum notify_outcome o);

struct notify_result {
        enum notify_outcome outcome;
        /* RATE_LIMITED: wait at least this long (the notifier is blocked as long, see
         * notifier_next_slot_usec()); RETRY: the far end's Retry-After, or 0. */
        int64_t retry_after_usec;
        /* What the far end said, for logs, the outbox's last_error and `notify test`:
         * "HTTP 500", "errcode 45009: api freq out of limit", "timed out", "exit status 2".
         * Never contains secrets; digit runs that could be phone numbers are masked. */
        const char *detail;
};

typedef void (*notify_done_fn)(struct notifier *n, const struct notify_result *res, void *userdata);

struct notify_recipient {
        const char *worker; /* worker id */
        const char *name;
        const char *phone; /* E.164 ("+8613800000001"), may be NULL */
        const char *role;  /* the role notified for: "community", "medical", "police", ... */
};

/* One notification (per-person) or one notification round (group), DESIGN.md §4.
 * Strings are borrowed: a notifier copies what it needs inside notifier_send(). */
struct notify_message {
        const char *notification_id; /* required; the receivers' de-duplication key */
        const char *alert_id;
        int round;
        const char *household;
        const char *community; /* NULL for system notices */
        const char *address;
        const char *kind; /* required: alert kind, "ack_notice" or "test" */
        const char *severity;
        const char *reason; /* English, for machines */
        const char *text;   /* for people; NULL = rendered from the templates */
        const char *event_id;
        int64_t event_ts_usec; /* 0 = none */
        int64_t raised_at_usec;
        const char *step; /* "team", "leader", "command" */
        /* Per-person messages: the recipient's role, id and ack topic. NULL in rounds. */
        const char *role;
        const char *worker;
        const char *ack_topic;
        const char *ack_url;
        /* Per-person: the recipient's own page (a signed link), formatted when set, as
         * "page_url"; never in rounds (a group robot reaches the whole group). */
        const char *page_url;
        const char *acked_by; /* ack_notice: who acknowledged (worker id) */
        unsigned count;       /* events in the alert's episode, 0 = unknown */
        /* Escalation and ack notices (formatted only when set, in every format):
         * "reminder" (the n-th reminder after the last round), "acked_by_name" (used for
         * {acked_by} in texts), "acked_at", "channel" (how the ack came, DESIGN.md's code:
         * "mqtt", "cli", "http-link", ...; command.h), "alert_kind" (the acknowledged alert's
         * kind). */
        int reminder;
        const char *acked_by_name;
        int64_t acked_at_usec;
        const char *ack_channel;
        const char *alert_kind;
        const char *note; /* resolved_notice: why the system resolved it (Chinese), "note" */
        /* Per-person: exactly one (the worker above, with name and phone). Group: all. */
        const struct notify_recipient *recipients;
        size_t n_recipients;
        const char *json; /* the notification as the outbox stored it, may be NULL */
};

enum notify_format {
        /* The DESIGN.md §4 payload for one recipient, exactly its keys (what mqtt
         * publishes on doorwatch/v1/workers/<id>/notify). */
        NOTIFY_FORMAT_PERSON,
        /* One round for machines (webhook body): the §4 keys without role, worker and
         * ack_topic, plus "recipients": [{"worker","name","phone","role"}]. */
        NOTIFY_FORMAT_ROUND,
        /* Everything, for the outbox: §4 keys, "acked_by", "count", the optional keys above
         * and "recipients";
         * notify_message_parse() reads it back. */
        NOTIFY_FORMAT_OUTBOX,
};

/* Returns a new unformatted JSON string. Instants are Unix seconds
 * (fractional), absent values null. */
char *notify_message_format(const struct notify_message *m, enum notify_format f);

/* Parses a stored notification (any of the formats above; a message without
 * "recipients" gets one from its "worker" and "role", without name and phone).
 * Returns 0, -EBADMSG for malformed JSON, wrong types, a missing notification_id or
 * kind, or more than 64 KiB / depth 8. The message owns its strings. */
int notify_message_parse(const char *json, struct notify_message **ret);
struct notify_message *notify_message_free(struct notify_message *m);
static inline void notify_message_freep(struct notify_message **m)
{
        notify_message_free(*m);
}

/* Renders m's text from the templates: {worker}/{name} list every recipient, {time}
 * is the event time (else the raise time). max_bytes 0 = unbounded. Returns 0,
 * or NOTIFY_E_NO_TEMPLATE for a kind without template. */
int notify_render_text(const struct templates *t, const struct notify_message *m, size_t max_bytes,
                       char **ret);

/* The context: event loop, HTTP client, templates and clock shared by all notifiers. */
int notify_context_new(sd_event *event, struct notify_context **ret);
/* Frees every notifier (see the cancellation rule above), then the context. NULL-safe. */
struct notify_context *notify_context_free(struct notify_context *ctx);
static inline void notify_context_freep(struct notify_context **ctx)
{
        notify_context_free(*ctx);
}
/* Takes ownership; replaces the defaults the context starts with. */
void notify_context_set_templates(struct notify_context *ctx, struct templates *t);
/* The templates in use (the defaults until set). */
const struct templates *notify_context_templates(const struct notify_context *ctx);
/* Wall clock (Unix usec) used for signatures and rate limiting; tests inject a fixed one. */
typedef int64_t (*notify_clock_fn)(void *userdata);
void notify_context_set_clock(struct notify_context *ctx, notify_clock_fn now, void *userdata);
struct notifier *notify_context_find(const struct notify_context *ctx, const char *name);

/* Builds a notifier from its configuration entry; reads its secret files (relative to
 * config_dir). Problems are reported as `doorwatch.json: notifiers.<name>.<key>: ...`.
 * Returns 0 (ret may be NULL: the context owns it, find it by name), -EINVAL after
 * reporting, or -EEXIST for a duplicate name. */
int notifier_new(struct notify_context *ctx, const struct notifier_config *nc,
                 const char *config_dir, struct config_diag *diag, struct notifier **ret);
/* Cancels its sends (callbacks run with RETRY "cancelled") and frees it. NULL-safe. */
struct notifier *notifier_free(struct notifier *n);
/* What `doorwatchd --check-config` runs for one entry: parse, read secrets, discard. */
int notify_check_config(const struct notifier_config *nc, const char *config_dir,
                        struct config_diag *diag);

const char *notifier_name(const struct notifier *n);
const char *notifier_type(const struct notifier *n);
/* Group channels take one message per round listing all recipients. */
bool notifier_is_group(const struct notifier *n);
/* Whether a group notifier takes notifications of this kind and community (NULL =
 * system notice). Per-person notifiers: always true (workers' "channels" decide). */
bool notifier_wants(const struct notifier *n, const char *kind, const char *community);

/* Earliest instant >= now_usec at which a send respects the rate limits and any
 * "too fast" answer of the far end. The dispatcher waits until then; nothing is dropped. */
int64_t notifier_next_slot_usec(const struct notifier *n, int64_t now_usec);
/* Counts a send against the rate limits. notifier_send() calls it itself (with the
 * context clock); exposed for sends made by other means and for tests. */
void notifier_record_send(struct notifier *n, int64_t now_usec);

/* Starts delivering m (see the contract above). Returns 0, -EINVAL for a NULL
 * argument, -ENOTCONN for a validation-only context, or the event loop's errno. */
int notifier_send(struct notifier *n, const struct notify_message *m, notify_done_fn done,
                  void *userdata);
/* Sends in flight (for tests and graceful shutdown). */
size_t notifier_n_pending(const struct notifier *n);

/* ---- For type implementations (built-in channels, the daemon's mqtt) ---- */

/* Reading a notifier's own keys while parsing. Each helper reports its error at
 * `notifiers.<name>.<key>` and returns -EINVAL, or 0 (also when an optional key is
 * absent: then *ret is left untouched). */
struct notify_parse {
        const char *name;       /* notifier name */
        const cJSON *json;      /* the notifier object */
        const char *config_dir; /* base of relative paths */
        struct config_diag *diag;
};
int notify_parse_string(const struct notify_parse *p, const char *key, bool required,
                        const char **ret);
int notify_parse_strv(const struct notify_parse *p, const char *key, char ***ret, size_t *ret_n);
int notify_parse_duration(const struct notify_parse *p, const char *key, int64_t *ret_usec);
int notify_parse_uint(const struct notify_parse *p, const char *key, unsigned max, unsigned *ret);
/* Reads the secret file named by key (see "Secrets" above) into *ret (owned). */
int notify_parse_secret(const struct notify_parse *p, const char *key, bool required, char **ret);
/* Reports an error at notifiers.<name>.<key>. */
void notify_parse_error(const struct notify_parse *p, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

struct notify_type {
        const char *name;
        bool group;
        const char *const *keys; /* own keys besides the common ones, NULL-terminated */
        unsigned default_rate_per_minute, default_rate_per_second;
        /* Parses the type's keys into *ret_data (may stay NULL). Returns 0 or -EINVAL
         * after reporting through the notify_parse_*() helpers. */
        int (*parse)(const struct notify_parse *p, void **ret_data);
        void (*free_data)(void *data);
        /* Starts a send. Must end, now or later, in exactly one notify_op_complete(op)
         * unless cancel() is called first. A negative return completes the op with
         * RETRY (nothing else may complete it then). */
        int (*send)(struct notifier *n, const struct notify_message *m, struct notify_op *op);
        /* Abandons op: release what send() attached; do not complete it. May be NULL
         * when send() always completes synchronously. */
        void (*cancel)(struct notifier *n, struct notify_op *op);
        void *userdata; /* for the type's own use (e.g. the daemon's MQTT connection) */
};

/* Adds a type or replaces the one of the same name (e.g. the mqtt placeholder).
 * Notifiers created before keep the old type. Returns 0 or -ENOSPC. */
int notify_register_type(const struct notify_type *t);
const struct notify_type *notify_type_find(const char *name);

void *notifier_data(const struct notifier *n); /* what parse() returned */
const struct notify_type *notifier_get_type(const struct notifier *n);
sd_event *notifier_event(const struct notifier *n);
struct http_client *notifier_http(const struct notifier *n);
int64_t notifier_now_usec(const struct notifier *n);
/* m->text when set, else rendered; cut to max_bytes (0 = unbounded). 0,
 * NOTIFY_E_NO_TEMPLATE (no text, and no template for m's kind: *ret untouched) or -errno. */
int notifier_text(const struct notifier *n, const struct notify_message *m, size_t max_bytes,
                  char **ret);

void notify_op_set_data(struct notify_op *op, void *data);
void *notify_op_get_data(const struct notify_op *op);
struct notifier *notify_op_notifier(const struct notify_op *op);
/* Reports the outcome; the op is gone afterwards (the callback may run later, when
 * called from inside send()). detail is formatted, sanitized and bounded. */
void notify_op_complete(struct notify_op *op, enum notify_outcome outcome, int64_t retry_after_usec,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* fanout.h: the outbox rows of a notification about an alert (DESIGN.md §4): a step, a
 * round, a reminder, a notice, to its recipients × their channels. See fanout.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "config.h"

struct notify_context;
struct store;
struct templates;

/* Builds the one-tap acknowledge link of a notification into buf; false when there is
 * none (engine_ack_url_fn). */
typedef bool (*fanout_ack_url_fn)(void *userdata, const char *alert_id, const char *worker_id,
                                  int64_t now_usec, char *buf, size_t size);

/* Builds a worker's own page link (signed, http_worker_page_url) into buf; false when
 * there is none. */
typedef bool (*fanout_page_url_fn)(void *userdata, const char *worker_id, int64_t now_usec,
                                   char *buf, size_t size);

struct notify_message;
/* Takes a notification that is not written to the outbox (fanout_send_direct()); the
 * message is valid during the call only. Returns 0 or a negative errno. */
typedef int (*fanout_direct_fn)(void *userdata, const struct notify_message *m,
                                const char *channel);

/* What a notification is written with: borrowed, but default_templates (owned). */
struct fanout {
        const struct config *config;
        struct store *store;
        struct notify_context *notify;       /* NULL: every channel per person */
        struct templates *default_templates; /* made when there is no context */
        fanout_ack_url_fn ack_url;           /* NULL: "ack_url": null */
        void *ack_url_userdata;
        fanout_page_url_fn page_url; /* NULL: no "page_url" (per-person channels only) */
        void *page_url_userdata;
        fanout_direct_fn direct; /* set during fanout_send_direct() only */
        void *direct_userdata;
        unsigned direct_seq; /* numbers the direct notifications' ids */
};

struct recipient {
        const struct worker *worker;
        const char *role; /* what they are notified as */
};

/* What one notification says, beyond the alert itself. */
struct outgoing {
        const struct alert *a;
        const char *kind; /* the alert's kind, or a notice's ("monitoring_restored") */
        const char *reason;
        const char *step;
        enum escalation_step step_value; /* for the "escalated" mark of later steps */
        int reminder;                    /* > 0: the n-th reminder after the last round */
        const char *row_kind;            /* notification.kind: NULL ("alert"), "reminder", ... */
        int64_t event_ts_usec;           /* 0: the alert's event time */
        bool skip_mqtt;                  /* the broker is the problem: MQTT is pointless */
        const struct worker *acked_by;   /* ack notices */
        const char *ack_channel;
        const char *alert_kind; /* notices: the kind of the alert they are about */
        const char *note;       /* resolved_notice: why (Chinese, for people) */
};

/* Frees what f made (its default templates); f stays usable. */
void fanout_done(struct fanout *f);

/* Writes notification o to the outbox, in the store's current transaction: for every
 * recipient (a worker listed twice counts once, with the first role), one row per channel
 * the worker lists, but group notifiers (they get the round) and, with o->skip_mqtt, MQTT;
 * then one row per group notifier that wants o's kind and community, listing every
 * recipient (also when there are none). *ret_rows (may be NULL) is increased by the rows
 * written. */
int fanout_queue(struct fanout *f, const struct outgoing *o, const struct recipient *rcpt,
                 size_t n_rcpt, int64_t now_usec, size_t *ret_rows);

/* The same notification without the database (the outbox lives in it: storage_failed):
 * each row that fanout_queue() would write is handed to send instead, with an id of its own
 * ("n-direct-<seconds>-<n>"), rendered text and no ack link. */
int fanout_send_direct(struct fanout *f, const struct outgoing *o, const struct recipient *rcpt,
                       size_t n_rcpt, int64_t now_usec, fanout_direct_fn send, void *userdata,
                       size_t *ret_rows);

/* metrics.h: counters and histograms for GET /metrics (Prometheus text format 0.0.4).
 *
 * The modules that see an event count it here (the daemon: events and processing time;
 * the outbox: notification outcomes; the HTTP server: requests); gauges that the daemon's
 * objects already know (outbox depth, broker state, live alerts) are read when the page is
 * rendered, by the HTTP module. Every function accepts m == NULL and then does nothing, so
 * modules work without metrics (unit tests, tools). Label values come from the
 * configuration or fixed sets; each family is bounded anyway (overflow is counted under
 * the label value "_other"). */
#pragma once

#include <stdint.h>
#include <stdio.h>

enum metrics_family {
        METRICS_EVENTS,        /* doorwatch_events_total{source, verdict} */
        METRICS_NOTIFICATIONS, /* doorwatch_notifications_total{channel, outcome} */
        METRICS_HTTP_REQUESTS, /* doorwatch_http_requests_total{route, code} */
        _METRICS_FAMILY_MAX,
};

enum metrics_histogram {
        METRICS_EVENT_PROCESSING, /* doorwatch_event_processing_seconds: receive to stored */
        METRICS_COMMIT,           /* doorwatch_commit_seconds: one transaction commit */
        METRICS_CHECKPOINT,       /* doorwatch_checkpoint_seconds: one WAL checkpoint */
        _METRICS_HISTOGRAM_MAX,
};

struct metrics;

int metrics_new(struct metrics **ret);
struct metrics *metrics_free(struct metrics *m);

void metrics_count(struct metrics *m, enum metrics_family f, const char *label1,
                   const char *label2);
void metrics_observe_usec(struct metrics *m, enum metrics_histogram h, int64_t usec);
/* A counter owned elsewhere (it must outlive m), rendered under `name` with the given
 * label text (`reason="invalid"`, or NULL). Register a family's samples one after another. */
void metrics_add_external(struct metrics *m, const char *name, const char *help, const char *labels,
                          const uint64_t *value);

/* Writes every family above. */
void metrics_write(const struct metrics *m, FILE *f);

/* Helpers for gauges written by others: "# HELP"/"# TYPE" lines, and a label value with
 * backslash, double quote and newline escaped. */
void metrics_write_header(FILE *f, const char *name, const char *type, const char *help);
void metrics_write_label_value(FILE *f, const char *value);

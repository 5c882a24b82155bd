/* report.h: the community office's daily report (DESIGN.md §5 `report daily`, the API's
 * /api/v1/reports/daily): per community and in total, for one local calendar day, the
 * households under observation, door openings by verdict and by rule, alerts by kind, how
 * fast they were acknowledged and by whom, what was left unacknowledged, devices offline
 * or low on battery, notifications that failed; and the 14 days ending with it for the
 * charts.
 *
 * The report is built from rows, fed one by one (report_add_*()), so that it is pure: the
 * store reads them (the live tables and the anonymous aggregates that outlive the
 * retention purge, see store.h), the configuration gives the names. Every figure depends
 * only on what happened before the day's end, so a past day reports the same tomorrow:
 *
 * - under observation at the start of the day: started before it, ending at its start or
 *   later; at its end: started before its end, ending after it. new: started during the
 *   day (00:00 included); released: ended during the day (00:00 included). So end = start
 *   + new - released. A household's window is the one recorded last before the day's end
 *   (the configuration history), or the first one recorded;
 * - openings: door "open" events whose event time lies in the day;
 * - alerts: raised in the day, by kind. Time to acknowledge, for kinds that escalate:
 *   acked before the day's end, from raised to acked (median and p90 by nearest rank,
 *   worst); the others are "unacknowledged";
 * - devices offline / low on battery: device_offline / battery_low alerts raised before the
 *   day's end and not resolved by then;
 * - notifications failed: given up (dead-lettered) during the day.
 *
 * - medical rounds: those whose window ended during the day (due), by what became of them
 *   (done: a reading that counts in the window; excused: a pass overlapped it; missed: the
 *   round_missed alert); fevers: readings at or above fever_at or with a listed symptom
 *   taken during the day (the purge keeps both without the household).
 *
 * Allocation failure aborts. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "alert.h"
#include "config.h"
#include "util.h"

#define REPORT_DAYS 14 /* the charts' span, ending with the report's day */

/* The rules that decide a door opening (rules.h's basis, as stored with each event). */
enum report_rule {
        REPORT_RULE_SCHEDULE,
        REPORT_RULE_CHECKIN,
        REPORT_RULE_PASS,
        REPORT_RULE_REPORT,
        REPORT_RULE_HANDOFF,
        REPORT_RULE_UNEXPECTED,
        REPORT_RULE_TOO_MANY,
        REPORT_RULE_OUTSIDE_WINDOW,
        REPORT_RULE_OTHER, /* anything else, and events stored before rules were */
        _REPORT_RULE_MAX,
};
/* The stored code ("schedule", "pass_return" ...) as a report rule. */
enum report_rule report_rule_from_code(const char *code);
const char *report_rule_label(enum report_rule r);      /* Chinese */
const char *report_alert_kind_label(enum alert_kind k); /* Chinese */

enum report_verdict {
        REPORT_EXPECTED,
        REPORT_ALERT,
        REPORT_IGNORED,
        _REPORT_VERDICT_MAX,
};

struct report_acker {
        char *worker; /* id */
        const char *name;
        int64_t n;
};

/* One community, or the total (community NULL). */
struct report_section {
        const char *community;
        const char *label;
        int64_t households_start, households_end, households_new, households_released;
        int64_t openings;
        int64_t openings_by_verdict[_REPORT_VERDICT_MAX];
        int64_t openings_by_rule[_REPORT_RULE_MAX];
        int64_t openings_by_hour[24];
        int64_t alert_openings_by_hour[24];
        int64_t alerts;
        int64_t alerts_by_kind[_ALERT_KIND_MAX];
        int64_t acked, unacked;                                /* of the alerts that escalate */
        int64_t ack_median_usec, ack_p90_usec, ack_worst_usec; /* -1: none acked */
        struct report_acker *ackers;                           /* most acks first */
        size_t n_ackers;
        int64_t devices_offline, batteries_low;
        int64_t notifications_failed;
        int64_t rounds_due, rounds_done, rounds_excused, rounds_missed, fevers;
        int64_t alerts_by_day[REPORT_DAYS]; /* oldest first; the last is the report's day */
        int64_t ack_median_by_day[REPORT_DAYS], ack_p90_by_day[REPORT_DAYS]; /* -1: none */
        /* building */
        int64_t *ack_usec[REPORT_DAYS];
        size_t n_ack[REPORT_DAYS], cap_ack[REPORT_DAYS];
        size_t cap_ackers;
};

struct report {
        char date[11];                      /* "2026-12-01" */
        int64_t day_start_usec;             /* local midnight */
        int64_t day_end_usec;               /* the next local midnight */
        int64_t first_start_usec;           /* start of the first of the REPORT_DAYS days */
        int64_t day_start[REPORT_DAYS + 1]; /* the days' bounds, oldest first */
        char days[REPORT_DAYS][11];
        int64_t generated_usec;
        const char *timezone;
        const char *only;                /* one community's report (NULL: all) */
        struct report_section *sections; /* [0]: the total, then the communities */
        size_t n_sections, cap_sections;
        const struct config *config;
        struct hashmap *section_by_id; /* community id -> index + 1 */
};

/* Starts a report for the local day `date` ("2026-12-01"; the process time zone) with a
 * section for every community of cfg (or only `community`, which must be one).
 * Returns 0, or -EINVAL for a date that is none. */
int report_init(struct report *r, const struct config *cfg, const char *date, const char *community,
                int64_t now_usec);
void report_done(struct report *r);
/* Whether a community's rows belong in r (all, or the one asked for). */
bool report_wants(const struct report *r, const char *community);

/* The rows. A household's window (the version that counts for the day: the caller picks
 * it, see the top of this file); a door opening; an alert; a notification given up. */
void report_add_household(struct report *r, const char *community, int64_t start_usec,
                          int64_t end_usec);
void report_add_openings(struct report *r, const char *community, int64_t usec,
                         enum report_verdict verdict, const char *rule, int64_t n);
struct report_alert {
        const char *community;
        enum alert_kind kind;
        int64_t raised_usec, acked_usec, resolved_usec; /* 0: not (yet) */
        const char *acked_by;
};
void report_add_alert(struct report *r, const struct report_alert *a);
void report_add_failed_notification(struct report *r, const char *community, int64_t usec);
/* A medical round whose window ended at end_usec ("done", "excused", "missed"); a fever
 * reading at usec. */
void report_add_round(struct report *r, const char *community, int64_t end_usec,
                      const char *outcome);
void report_add_fever(struct report *r, const char *community, int64_t usec);
/* Computes the medians, percentiles and sums once every row is in. */
void report_finish(struct report *r);

/* ---- from the store (report_store.c) ---- */

struct store;
/* Feeds r from the store: the households' windows (the configuration history; households
 * of r's configuration that it lacks count with their configured window), the openings
 * of the day, the alerts of the REPORT_DAYS days and those unresolved at the day's end,
 * the failed notifications, the rounds and fevers of the day; then report_finish().
 * Returns 0 or a negative errno. */
int report_load(struct report *r, struct store *s);
/* Records every household's community and observation window of cfg in the store's
 * history (those that changed since the last load), in the current transaction. */
int report_record_config(struct store *s, const struct config *cfg, int64_t now_usec);

enum report_format {
        REPORT_TEXT,
        REPORT_CSV,
        REPORT_HTML,
        _REPORT_FORMAT_MAX,
        REPORT_FORMAT_INVALID = -1,
};
enum report_format report_format_from_string(const char *s);

/* The report as text (owned by the caller). The HTML is one self-contained page: inline
 * CSS and SVG charts (openings by hour, alerts by community over 14 days, time to
 * acknowledge over 14 days), no external assets, laid out for A4. */
char *report_render(const struct report *r, enum report_format f);
char *report_render_html(const struct report *r);
/* The page's one inline style, as it stands in its <style> element (the HTTP server allows
 * it by its hash in the Content-Security-Policy). */
const char *report_html_css(void);

/* "1m05s", "2h03m", "-" for -1. */
const char *report_format_duration(int64_t usec, char buf[static 32]);

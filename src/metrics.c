/* metrics.c: see metrics.h. Label sets live in a small array per family, searched
 * linearly: there are a few dozen at most (sources x verdicts, channels x outcomes). */
#include "metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define LABELSETS_MAX 256

static const struct {
        const char *name, *help, *label1, *label2;
} families[_METRICS_FAMILY_MAX] = {
        [METRICS_EVENTS] = { "doorwatch_events_total",
                             "Device events stored, by adapter and verdict.", "source", "verdict" },
        [METRICS_NOTIFICATIONS] = { "doorwatch_notifications_total",
                                    "Notification attempts by channel and outcome.", "channel",
                                    "outcome" },
        [METRICS_HTTP_REQUESTS] = { "doorwatch_http_requests_total",
                                    "HTTP requests answered, by route and status code.", "route",
                                    "code" },
};

static const struct {
        const char *name, *help;
} histograms[_METRICS_HISTOGRAM_MAX] = {
        [METRICS_EVENT_PROCESSING] = { "doorwatch_event_processing_seconds",
                                       "Time from receiving a device message to its event being "
                                       "stored (before the commit)." },
        [METRICS_COMMIT] = { "doorwatch_commit_seconds", "Duration of database commits." },
        [METRICS_CHECKPOINT] = { "doorwatch_checkpoint_seconds",
                                 "Duration of WAL checkpoints (copying the WAL into the database "
                                 "file), on the checkpoint thread or the loop." },
};

/* Upper bounds in microseconds. */
static const int64_t bucket_usec[] = { 50,    100,   250,    500,    1000,   2500,    5000,   10000,
                                       25000, 50000, 100000, 250000, 500000, 1000000, 2500000 };
#define N_BUCKETS ELEMENTSOF(bucket_usec)

struct labelset {
        char *l1, *l2;
        uint64_t value;
};

struct histogram {
        uint64_t buckets[N_BUCKETS + 1]; /* the last one is +Inf */
        uint64_t count;
        double sum_sec;
};

struct external {
        const char *name, *help, *labels;
        const uint64_t *value;
};

struct metrics {
        struct labelset *sets[_METRICS_FAMILY_MAX];
        size_t n_sets[_METRICS_FAMILY_MAX], cap_sets[_METRICS_FAMILY_MAX];
        struct histogram hist[_METRICS_HISTOGRAM_MAX];
        struct external *ext;
        size_t n_ext, cap_ext;
};

int metrics_new(struct metrics **ret)
{
        struct metrics *m = xcalloc(1, sizeof(*m));
        *ret = m;
        return 0;
}

struct metrics *metrics_free(struct metrics *m)
{
        if (!m)
                return NULL;
        for (int f = 0; f < _METRICS_FAMILY_MAX; f++) {
                for (size_t i = 0; i < m->n_sets[f]; i++) {
                        free(m->sets[f][i].l1);
                        free(m->sets[f][i].l2);
                }
                free(m->sets[f]);
        }
        free(m->ext);
        free(m);
        return NULL;
}

void metrics_count(struct metrics *m, enum metrics_family f, const char *l1, const char *l2)
{
        struct labelset *s;

        if (!m || f < 0 || f >= _METRICS_FAMILY_MAX)
                return;
        l1 = l1 ? l1 : "";
        l2 = l2 ? l2 : "";
        for (size_t i = 0; i < m->n_sets[f]; i++) {
                s = &m->sets[f][i];
                if (strcmp(s->l1, l1) == 0 && strcmp(s->l2, l2) == 0) {
                        s->value++;
                        return;
                }
        }
        if (m->n_sets[f] >= LABELSETS_MAX) {
                if (strcmp(l1, "_other") != 0)
                        metrics_count(m, f, "_other", "_other");
                return;
        }
        GROW(m->sets[f], m->n_sets[f], m->cap_sets[f]);
        m->sets[f][m->n_sets[f]++] = (struct labelset){ xstrdup(l1), xstrdup(l2), 1 };
}

void metrics_observe_usec(struct metrics *m, enum metrics_histogram h, int64_t usec)
{
        struct histogram *hg;
        size_t i = 0;

        if (!m || h < 0 || h >= _METRICS_HISTOGRAM_MAX)
                return;
        hg = &m->hist[h];
        usec = MAX(usec, 0);
        while (i < N_BUCKETS && usec > bucket_usec[i])
                i++;
        hg->buckets[i]++;
        hg->count++;
        hg->sum_sec += (double)usec / 1e6;
}

void metrics_add_external(struct metrics *m, const char *name, const char *help, const char *labels,
                          const uint64_t *value)
{
        if (!m)
                return;
        GROW(m->ext, m->n_ext, m->cap_ext);
        m->ext[m->n_ext++] = (struct external){ name, help, labels, value };
}

void metrics_write_header(FILE *f, const char *name, const char *type, const char *help)
{
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_write_label_value(FILE *f, const char *v)
{
        for (; *v; v++) {
                if (*v == '\\')
                        fputs("\\\\", f);
                else if (*v == '"')
                        fputs("\\\"", f);
                else if (*v == '\n')
                        fputs("\\n", f);
                else
                        fputc(*v, f);
        }
}

void metrics_write(const struct metrics *m, FILE *f)
{
        if (!m)
                return;
        for (int fam = 0; fam < _METRICS_FAMILY_MAX; fam++) {
                metrics_write_header(f, families[fam].name, "counter", families[fam].help);
                for (size_t i = 0; i < m->n_sets[fam]; i++) {
                        const struct labelset *s = &m->sets[fam][i];
                        fprintf(f, "%s{%s=\"", families[fam].name, families[fam].label1);
                        metrics_write_label_value(f, s->l1);
                        fprintf(f, "\",%s=\"", families[fam].label2);
                        metrics_write_label_value(f, s->l2);
                        fprintf(f, "\"} %llu\n", (unsigned long long)s->value);
                }
        }
        for (int h = 0; h < _METRICS_HISTOGRAM_MAX; h++) {
                const struct histogram *hg = &m->hist[h];
                const char *name = histograms[h].name;
                uint64_t cum = 0;

                metrics_write_header(f, name, "histogram", histograms[h].help);
                for (size_t i = 0; i < N_BUCKETS; i++) {
                        cum += hg->buckets[i];
                        fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", name,
                                (double)bucket_usec[i] / 1e6, (unsigned long long)cum);
                }
                cum += hg->buckets[N_BUCKETS];
                fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
                fprintf(f, "%s_sum %.9g\n%s_count %llu\n", name, hg->sum_sec, name,
                        (unsigned long long)hg->count);
        }
        for (size_t i = 0; i < m->n_ext; i++) {
                const struct external *e = &m->ext[i];
                if (i == 0 || strcmp(m->ext[i - 1].name, e->name) != 0)
                        metrics_write_header(f, e->name, "counter", e->help);
                if (e->labels)
                        fprintf(f, "%s{%s} %llu\n", e->name, e->labels,
                                (unsigned long long)*e->value);
                else
                        fprintf(f, "%s %llu\n", e->name, (unsigned long long)*e->value);
        }
}

/* timerq.c: array-backed binary heap ordered by usec (ties in insertion order are not
 * guaranteed; callers that care use distinct deadlines). */
#include "timerq.h"

#include <stdlib.h>

#include "util.h"

_Static_assert(sizeof(struct timerq_entry) == 16, "a city keeps 300,000 timer entries and more");

static void swap(struct timerq_entry *a, struct timerq_entry *b)
{
        struct timerq_entry t = *a;
        *a = *b;
        *b = t;
}

void timerq_push(struct timerq *q, int64_t usec, unsigned type, size_t index, uint32_t token)
{
        size_t i;

        if (type > TIMERQ_TYPE_MAX || index > TIMERQ_INDEX_MAX)
                abort();
        GROW(q->heap, q->n, q->cap);
        i = q->n++;
        q->heap[i] = (struct timerq_entry){
                .usec = usec, .type = type, .index = (unsigned)index, .token = token
        };
        while (i > 0 && q->heap[(i - 1) / 2].usec > q->heap[i].usec) {
                swap(&q->heap[(i - 1) / 2], &q->heap[i]);
                i = (i - 1) / 2;
        }
}

int64_t timerq_next(const struct timerq *q)
{
        return q->n ? q->heap[0].usec : INT64_MAX;
}

static void sift_down(struct timerq *q, size_t i)
{
        for (;;) {
                size_t l = 2 * i + 1, r = l + 1, m = i;
                if (l < q->n && q->heap[l].usec < q->heap[m].usec)
                        m = l;
                if (r < q->n && q->heap[r].usec < q->heap[m].usec)
                        m = r;
                if (m == i)
                        break;
                swap(&q->heap[i], &q->heap[m]);
                i = m;
        }
}

bool timerq_pop_due(struct timerq *q, int64_t now_usec, struct timerq_entry *ret)
{
        if (q->n == 0 || q->heap[0].usec > now_usec)
                return false;
        *ret = q->heap[0];
        q->heap[0] = q->heap[--q->n];
        sift_down(q, 0);
        return true;
}

void timerq_compact(struct timerq *q, bool (*keep)(const struct timerq_entry *t, void *userdata),
                    void *userdata)
{
        size_t k = 0;

        for (size_t i = 0; i < q->n; i++)
                if (keep(&q->heap[i], userdata))
                        q->heap[k++] = q->heap[i];
        q->n = k;
        for (size_t i = q->n / 2; i-- > 0;)
                sift_down(q, i);
}

void timerq_done(struct timerq *q)
{
        free(q->heap);
        *q = (struct timerq){ 0 };
}

/* ctl-list.c: doorwatchctl's listings (see ctl-list.h): a tab-separated table for people,
 * a JSON array of objects with --json. The cells of a row come in the order of the column
 * names; a table shows "-" for none, JSON null. */
#include "ctl-list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void out_begin(struct out *t, bool json, const char *const *names)
{
        *t = (struct out){ .names = names };
        if (json) {
                t->arr = cJSON_CreateArray();
                return;
        }
        for (size_t i = 0; names[i]; i++)
                printf("%s%s", i ? "\t" : "", names[i]);
        printf("\n");
}

static void out_cell(struct out *t, const char *text, cJSON *value)
{
        const char *name = t->names[t->col];

        if (t->arr) {
                if (!t->obj)
                        t->obj = cJSON_CreateObject();
                cJSON_AddItemToObject(t->obj, name, value);
        } else
                printf("%s%s", t->col ? "\t" : "", text ? text : "-");
        t->col++;
}

void out_text(struct out *t, const char *v)
{
        out_cell(t, v, t->arr ? (v ? cJSON_CreateString(v) : cJSON_CreateNull()) : NULL);
}

void out_int(struct out *t, int64_t v)
{
        char buf[24];

        snprintf(buf, sizeof(buf), "%lld", (long long)v);
        out_cell(t, buf, t->arr ? cJSON_CreateNumber((double)v) : NULL);
}

void out_number(struct out *t, bool has, double v)
{
        out_cell(t, NULL, has ? cJSON_CreateNumber(v) : cJSON_CreateNull());
}

void out_time(struct out *t, int64_t usec, bool always)
{
        char buf[32];
        out_text(t, usec || always ? format_local_time(usec, buf) : NULL);
}

void out_end_row(struct out *t)
{
        if (t->arr) {
                cJSON_AddItemToArray(t->arr, t->obj ? t->obj : cJSON_CreateObject());
                t->obj = NULL;
        } else
                printf("\n");
        t->col = 0;
}

int out_end(struct out *t, int r)
{
        if (t->arr) {
                char *s = cJSON_Print(t->arr);
                printf("%s\n", s);
                free(s);
                cJSON_Delete(t->arr);
        }
        if (r < 0) {
                fprintf(stderr, "doorwatchctl: reading the database failed: %s\n", strerror(-r));
                return 1;
        }
        return 0;
}

/* report_render.c: report_render() (see report.h): the daily report in the form asked for,
 * text and CSV written by report.c, the HTML page by report_html.c. Above both. */
#include <stdlib.h>

#include "report-internal.h"
#include "report.h"

char *report_render(const struct report *r, enum report_format f)
{
        struct sbuf b;
        char *s;

        if (f == REPORT_HTML)
                return report_render_html(r);
        sbuf_init(&b, NULL, 0);
        if (f == REPORT_CSV)
                report_render_csv(r, &b);
        else
                report_render_text(r, &b);
        s = sbuf_finish(&b);
        if (!s)
                abort();
        return s;
}

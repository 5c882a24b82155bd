/* www.h: the status page's files (src/www/), embedded in the binary at build time. Each is
 * NUL-terminated; the length excludes the NUL. */
#pragma once

#include <stddef.h>

extern const char www_status_html[];
extern const size_t www_status_html_len;
extern const char www_status_js[];
extern const size_t www_status_js_len;
extern const char www_style_css[];
extern const size_t www_style_css_len;

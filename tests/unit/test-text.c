/* test-text.c: text_valid() and payload_text_valid(), the gate every payload passes: valid
 * UTF-8 without NUL; no JSON escape of NUL (an escaped backslash before "u0000" is text). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util.h"

#define OK(s)  assert_true(payload_text_valid(s, sizeof(s) - 1))
#define BAD(s) assert_false(payload_text_valid(s, sizeof(s) - 1))

static void test_text(void **state)
{
        OK("");
        OK("{\"state\": \"open\"}");
        OK("长虹路 12号 😀");                          /* 3- and 4-byte sequences */
        OK("\xc2\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf"); /* the edges: U+0080, U+FFFF, U+10FFFF */
        OK("{\"s\": \"a\\\\u0000\"}");                /* a backslash, then the text u0000 */
        OK("{\"s\": \"\\u0001\\u00e9\"}");
        BAD("open\0evil");                       /* raw NUL */
        BAD("{\"state\": \"open\\u0000evil\"}"); /* escaped NUL */
        BAD("{\"s\": \"\\\\\\u0000\"}");         /* an escaped backslash, then one of NUL */
        BAD("\xff");                             /* never in UTF-8 */
        BAD("\x80");                             /* a lone continuation byte */
        BAD("\xc0\xaf");                         /* overlong '/' */
        BAD("\xe0\x80\xaf");                     /* overlong, 3 bytes */
        BAD("\xed\xa0\x80");                     /* a surrogate (U+D800) */
        BAD("\xf4\x90\x80\x80");                 /* past U+10FFFF */
        BAD("\xe4\xb8");                         /* cut short */
        assert_true(text_valid("\\u0000", 6));   /* only the payload check knows JSON */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_text),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

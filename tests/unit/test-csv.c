/* test-csv.c: the spreadsheet reader: encodings (UTF-8 with and without a byte order mark,
 * UTF-16, GBK from a fixture, bytes that are none of them), delimiters, quoting, line
 * ends and the row numbers that messages use; and the cell writer of export. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "csv.h"
#include "util.h"

static struct csv *parse_ok(const char *data, size_t len)
{
        struct csv *c = NULL;
        char *msg = NULL;
        unsigned row = 0;
        int r = csv_parse(data, len, &c, &row, &msg);

        if (r != 0)
                fail_msg("csv_parse: %d row %u: %s", r, row, msg);
        return c;
}

#define PARSE(s) parse_ok(s, sizeof(s) - 1)

static void expect_row(const struct csv *c, size_t i, unsigned row, size_t n, ...)
{
        va_list ap;

        assert_true(i < c->n_rows);
        assert_int_equal(c->rows[i].row, row);
        assert_int_equal(c->rows[i].n_cells, n);
        va_start(ap, n);
        for (size_t k = 0; k < n; k++)
                assert_string_equal(c->rows[i].cells[k], va_arg(ap, const char *));
        va_end(ap);
}

static void test_utf8(void **state)
{
        struct csv *c = PARSE("户号,社区\nYJL-0001,云锦路社区\n");

        assert_string_equal(c->encoding, "UTF-8");
        assert_int_equal(c->delimiter, ',');
        assert_int_equal(c->n_rows, 2);
        expect_row(c, 0, 1, 2, "户号", "社区");
        expect_row(c, 1, 2, 2, "YJL-0001", "云锦路社区");
        csv_free(c);

        /* A byte order mark is skipped; no newline at the end; CRLF. */
        c = PARSE("\xef\xbb\xbf"
                  "a,b\r\nc,d");
        assert_string_equal(c->encoding, "UTF-8 with BOM");
        expect_row(c, 0, 1, 2, "a", "b");
        expect_row(c, 1, 2, 2, "c", "d");
        csv_free(c);

        c = PARSE("");
        assert_int_equal(c->n_rows, 0);
        csv_free(c);
}

static void test_quotes_and_rows(void **state)
{
        /* A line break inside quotes stays in its row; doubled quotes; a delimiter in a
         * quoted cell; empty cells; blank lines are rows (numbers stay right); CR alone. */
        struct csv *c = PARSE("a,\"b\nstill b\",c\n"
                              "\"say \"\"hi\"\"\",\"x,y\",\n"
                              "\n"
                              "last\rmac\r");

        assert_int_equal(c->n_rows, 5);
        expect_row(c, 0, 1, 3, "a", "b\nstill b", "c");
        expect_row(c, 1, 2, 3, "say \"hi\"", "x,y", "");
        expect_row(c, 2, 3, 1, "");
        expect_row(c, 3, 4, 1, "last");
        expect_row(c, 4, 5, 1, "mac");
        csv_free(c);

        /* CRLF inside quotes becomes one "\n"; text after a closing quote is kept. */
        c = PARSE("\"a\r\nb\"x,y\r\n");
        expect_row(c, 0, 1, 2, "a\nbx", "y");
        csv_free(c);

        /* A quote in the middle of an unquoted cell is just a character. */
        c = PARSE("12\"3,4\n");
        expect_row(c, 0, 1, 2, "12\"3", "4");
        csv_free(c);
}

static void test_tabs(void **state)
{
        /* Tabs outnumber commas: WPS "text" export; commas then belong to the cells. */
        struct csv *c = PARSE("户号\t地址\nA\t1号, 2栋\nB\t\"3号\t4栋\"\n");

        assert_int_equal(c->delimiter, '\t');
        expect_row(c, 1, 2, 2, "A", "1号, 2栋");
        expect_row(c, 2, 3, 2, "B", "3号\t4栋");
        csv_free(c);
}

static void test_utf16(void **state)
{
        /* "a,好\n" in UTF-16LE with its byte order mark. */
        static const char le[] = "\xff\xfe"
                                 "a\0,\0\x7d\x59\n\0";
        struct csv *c = parse_ok(le, sizeof(le) - 1);

        assert_string_equal(c->encoding, "UTF-16");
        expect_row(c, 0, 1, 2, "a", "好");
        csv_free(c);
}

static void test_gbk_fixture(void **state)
{
        _cleanup_free_ char *data = NULL;
        struct csv *c;
        size_t len;

        assert_int_equal(
            read_file("tests/fixtures/import/households-gbk.csv", 1 << 20, &data, &len), 0);
        c = parse_ok(data, len);
        assert_string_equal(c->encoding, "GB18030");
        assert_int_equal(c->delimiter, '\t');
        assert_int_equal(c->n_rows, 3);
        assert_string_equal(c->rows[0].cells[0], "户号");
        assert_string_equal(c->rows[1].cells[1], "桃花坞社区");
        assert_string_equal(c->rows[1].cells[3], "2026年12月3日");
        /* The quoted address with a line break is one cell of row 3. */
        assert_int_equal(c->rows[2].row, 3);
        assert_string_equal(c->rows[2].cells[2], "桃花坞巷 51号\n2栋 202");
        csv_free(c);
}

static void expect_failure(const char *data, size_t len, int code, unsigned row,
                           const char *fragment)
{
        struct csv *c = NULL;
        char *msg = NULL;
        unsigned got_row = 99;

        assert_int_equal(csv_parse(data, len, &c, &got_row, &msg), code);
        assert_null(c);
        assert_int_equal(got_row, row);
        assert_non_null(msg);
        if (!strstr(msg, fragment))
                fail_msg("\"%s\" lacks \"%s\"", msg, fragment);
        free(msg);
}

static void test_refused(void **state)
{
        /* 0xff is no lead byte in GB18030 either. */
        static const char bad[] = "a,b\nc,\xff\xff\n";
        static const char bad_bom[] = "\xef\xbb\xbf"
                                      "a\n\xc3\x28\n";
        static const char nul[] = "a,b\nc\0d\n";
        static const char open_quote[] = "a,b\nc,\"d\ne,f\n";

        expect_failure(bad, sizeof(bad) - 1, CSV_E_ENCODING, 2, "neither UTF-8 nor GBK/GB18030");
        expect_failure(bad, sizeof(bad) - 1, CSV_E_ENCODING, 2, "CSV UTF-8");
        expect_failure(bad_bom, sizeof(bad_bom) - 1, CSV_E_ENCODING, 2,
                       "byte order mark but is not UTF-8");
        expect_failure(nul, sizeof(nul) - 1, CSV_E_SYNTAX, 2, "NUL byte");
        expect_failure(open_quote, sizeof(open_quote) - 1, CSV_E_SYNTAX, 2, "never closed");
}

static void test_utf8_valid(void **state)
{
        static const struct {
                const char *s;
                bool ok;
        } cases[] = {
                { "abc", true },
                { "云锦路", true },
                { "\xf0\x9f\x98\x80", true },
                { "\xc0\xaf", false },     /* overlong '/' */
                { "\xe0\x80\xaf", false }, /* overlong */
                { "\xed\xa0\x80", false }, /* surrogate */
                { "\xe4\xb8", false },     /* cut short */
                { "\x80", false },
                { "\xf5\x80\x80\x80", false },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                if (csv_utf8_valid(cases[i].s, strlen(cases[i].s), NULL) != cases[i].ok)
                        fail_msg("case %zu", i);
}

static void test_put_cell(void **state)
{
        struct sbuf b;

        sbuf_init(&b, NULL, 0);
        csv_put_cell(&b, "plain");
        sbuf_putc(&b, '|');
        csv_put_cell(&b, "a,b");
        sbuf_putc(&b, '|');
        csv_put_cell(&b, "say \"hi\"");
        sbuf_putc(&b, '|');
        csv_put_cell(&b, " lead");
        sbuf_putc(&b, '|');
        csv_put_cell(&b, NULL);
        sbuf_putc(&b, '|');
        csv_put_cell(&b, "two\nlines");
        assert_string_equal(sbuf_text(&b),
                            "plain|\"a,b\"|\"say \"\"hi\"\"\"|\" lead\"||\"two\nlines\"");
        sbuf_done(&b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_utf8),        cmocka_unit_test(test_quotes_and_rows),
                cmocka_unit_test(test_tabs),        cmocka_unit_test(test_utf16),
                cmocka_unit_test(test_gbk_fixture), cmocka_unit_test(test_refused),
                cmocka_unit_test(test_utf8_valid),  cmocka_unit_test(test_put_cell),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

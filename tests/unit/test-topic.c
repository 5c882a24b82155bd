/* test-topic.c: the topic table builds every doorwatch topic and filter, refuses what does
 * not fit, and parses a family's topics (and nothing else). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "topic.h"

static void test_format(void **state)
{
        char buf[64];
        char *t;

        assert_int_equal(
            topic_format(buf, sizeof(buf), "doorwatch/v1", TOPIC_DEVICES, "d1", TOPIC_EVENTS), 0);
        assert_string_equal(buf, "doorwatch/v1/devices/d1/events");
        assert_int_equal(topic_format(buf, sizeof(buf), "p", TOPIC_WORKERS, NULL, TOPIC_NOTIFY), 0);
        assert_string_equal(buf, "p/workers/+/notify");
        assert_int_equal(topic_format(buf, sizeof(buf), "p", TOPIC_HOUSEHOLDS, "H-1", "report"), 0);
        assert_string_equal(buf, "p/households/H-1/report");
        t = topic_new("p", TOPIC_DAEMON, "doorwatchd", TOPIC_STATUS);
        assert_string_equal(t, "p/daemon/doorwatchd/status");
        free(t);

        /* A topic that does not fit is no topic: never a truncated one. */
        assert_int_equal(topic_format(buf, 20, "doorwatch/v1", TOPIC_WORKERS, "w1", TOPIC_RESULT),
                         -ENOBUFS);
        assert_string_equal(buf, "");
}

static void test_parse(void **state)
{
        char id[8];
        const char *leaf = NULL;

        assert_int_equal(
            topic_parse("p/v1", "p/v1/workers/w-1/ack", TOPIC_WORKERS, id, sizeof(id), &leaf), 0);
        assert_string_equal(id, "w-1");
        assert_string_equal(leaf, "ack");
        assert_int_equal(
            topic_parse("p/v1", "p/v1/households/H/", TOPIC_HOUSEHOLDS, id, sizeof(id), &leaf), 0);
        assert_string_equal(leaf, "");

        /* Another family, another prefix, a prefix of the prefix, too few or too many levels,
         * an empty id, an id longer than the buffer. */
        static const char *const other[] = {
                "p/v1/households/w-1/ack", "q/v1/workers/w-1/ack",
                "p/v1x/workers/w-1/ack",   "p/workers/w-1/ack",
                "p/v1/workers/w-1",        "p/v1/workers/w-1/ack/x",
                "p/v1/workers//ack",       "p/v1/workers/w-12345678/ack",
        };
        for (size_t i = 0; i < sizeof(other) / sizeof(*other); i++)
                assert_int_equal(
                    topic_parse("p/v1", other[i], TOPIC_WORKERS, id, sizeof(id), &leaf),
                    TOPIC_E_OTHER);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_format),
                cmocka_unit_test(test_parse),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test-log.c: under journald, log_about() sends MESSAGE, PRIORITY and the DOORWATCH_*
 * fields; levels filter; on a terminal lines carry no syslog prefix, in a pipe they do;
 * phone numbers are masked. sd_journal_sendv() is replaced at link
 * time by the recorder below (the executable's definition wins over libsystemd's). */
#define SD_JOURNAL_SUPPRESS_LOCATION /* sd_journal_sendv is a function, not a macro */
#include <fcntl.h>
#include <pty.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"

static char sent[16][256];
static int n_sent, n_calls;

int sd_journal_sendv(const struct iovec *iov, int n)
{
        n_calls++;
        n_sent = 0;
        for (int i = 0; i < n && i < 16; i++)
                snprintf(sent[n_sent++], sizeof(sent[0]), "%.*s", (int)iov[i].iov_len,
                         (const char *)iov[i].iov_base);
        return 0;
}

static bool has(const char *field)
{
        for (int i = 0; i < n_sent; i++)
                if (strcmp(sent[i], field) == 0)
                        return true;
        return false;
}

static bool has_prefix(const char *prefix)
{
        for (int i = 0; i < n_sent; i++)
                if (strncmp(sent[i], prefix, strlen(prefix)) == 0)
                        return true;
        return false;
}

/* Makes stderr look like systemd's journal stream. */
static int setup(void **state)
{
        struct stat st;
        char buf[64];

        assert_int_equal(fstat(STDERR_FILENO, &st), 0);
        snprintf(buf, sizeof(buf), "%llu:%llu", (unsigned long long)st.st_dev,
                 (unsigned long long)st.st_ino);
        setenv("JOURNAL_STREAM", buf, 1);
        log_open(LOG_INFO, false);
        n_calls = 0;
        return 0;
}

static void test_fields(void **state)
{
        log_about(LOG_NOTICE, "a-20200206-0007", "CHL-0001", "d-chl-0001-door", "alert %s raised",
                  "a-20200206-0007");
        assert_int_equal(n_calls, 1);
        assert_true(has("MESSAGE=alert a-20200206-0007 raised"));
        assert_true(has("PRIORITY=5"));
        assert_true(has("DOORWATCH_ALERT=a-20200206-0007"));
        assert_true(has("DOORWATCH_HOUSEHOLD=CHL-0001"));
        assert_true(has("DOORWATCH_DEVICE=d-chl-0001-door"));
        assert_true(has("SYSLOG_IDENTIFIER=doorwatchd"));

        log_about(LOG_WARNING, NULL, NULL, "d-1", "device %s: malformed", "d-1");
        assert_true(has("PRIORITY=4"));
        assert_true(has("DOORWATCH_DEVICE=d-1"));
        assert_false(has_prefix("DOORWATCH_ALERT="));
        assert_false(has_prefix("DOORWATCH_HOUSEHOLD="));
}

static void test_levels(void **state)
{
        log_info("plain %d", 1);
        assert_int_equal(n_calls, 1);
        assert_true(has("PRIORITY=6"));
        assert_false(has_prefix("DOORWATCH_"));
        log_debug("not shown");
        log_about(LOG_DEBUG, "a", "h", "d", "not shown either");
        assert_int_equal(n_calls, 1);
        log_open(LOG_DEBUG, false);
        log_debug("shown");
        assert_int_equal(n_calls, 2);
        log_open(LOG_WARNING, false);
        log_notice("filtered");
        assert_int_equal(n_calls, 2);
}

static void test_stderr_when_not_journal(void **state)
{
        unsetenv("JOURNAL_STREAM");
        log_open(LOG_INFO, false);
        log_about(LOG_ERR, "a", "h", "d", "to stderr");
        assert_int_equal(n_calls, 0);
}

/* What log lines look like on stderr when it is `fd` (a terminal, a pipe). */
static void stderr_lines(int fd, int read_fd, char *buf, size_t size)
{
        int saved = dup(STDERR_FILENO);
        ssize_t n;

        assert_true(saved >= 0);
        unsetenv("JOURNAL_STREAM");
        assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
        log_open(LOG_INFO, false);
        log_err("disk full");
        log_warn("slow broker");
        log_info("started");
        fflush(stderr);
        assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
        close(saved);
        log_open(LOG_INFO, false);
        /* Everything was written before this: read what is there, without waiting. */
        assert_int_equal(fcntl(read_fd, F_SETFL, O_NONBLOCK), 0);
        size_t len = 0;
        while (len < size - 1 && (n = read(read_fd, buf + len, size - 1 - len)) > 0)
                len += (size_t)n;
        buf[len] = 0;
}

static void test_terminal_without_prefix(void **state)
{
        int master, slave, p[2];
        char buf[512];

        assert_int_equal(openpty(&master, &slave, NULL, NULL, NULL), 0);
        stderr_lines(slave, master, buf, sizeof(buf));
        assert_string_equal(buf, "error: disk full\r\nwarning: slow broker\r\nstarted\r\n");
        close(master);
        close(slave);

        assert_int_equal(pipe(p), 0);
        stderr_lines(p[1], p[0], buf, sizeof(buf));
        assert_string_equal(buf, "<3>disk full\n<4>slow broker\n<6>started\n");
        close(p[0]);
        close(p[1]);
}

static void test_phone_mask(void **state)
{
        char buf[32];
        assert_string_equal(log_mask_phone("+8613800000001", buf), "+86138****0001");
        assert_string_equal(log_mask_phone("123", buf), "****");
        assert_string_equal(log_mask_phone(NULL, buf), "-");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(test_fields, setup),
                cmocka_unit_test_setup(test_levels, setup),
                cmocka_unit_test_setup(test_stderr_when_not_journal, setup),
                cmocka_unit_test_setup(test_terminal_without_prefix, setup),
                cmocka_unit_test_setup(test_phone_mask, setup),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

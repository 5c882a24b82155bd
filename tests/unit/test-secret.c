/* test-secret.c: secret_read() takes the systemd credential first, then the configured
 * file; a present but unreadable credential is an error, not a silent fallback. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "../lib/files.h"
#include "config.h"
#include "secret.h"
#include "util.h"

static char dir[64];

static void write_file(const char *name, const char *contents, mode_t mode)
{
        char path[256];

        test_write_file(dir, name, contents);
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        assert_int_equal(chmod(path, mode), 0);
}

static int setup(void **state)
{
        char creds[128];

        snprintf(dir, sizeof(dir), "/tmp/doorwatch-secret-XXXXXX");
        assert_non_null(mkdtemp(dir));
        snprintf(creds, sizeof(creds), "%s/creds", dir);
        mkdir(creds, 0700);
        unsetenv("CREDENTIALS_DIRECTORY");
        return 0;
}

static int teardown(void **state)
{
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
        unsetenv("CREDENTIALS_DIRECTORY");
        return 0;
}

static void test_configured_file(void **state)
{
        char *s = NULL, path[128];

        write_file("pw", "s3cret  \nsecond line\n", 0600);
        snprintf(path, sizeof(path), "%s/pw", dir);
        assert_int_equal(secret_read(NULL, "mqtt.password", path, &s), 0);
        assert_string_equal(s, "s3cret");
        s = secret_free(s);
        assert_null(s);
}

static void test_credential_wins(void **state)
{
        char *s = NULL, creds[128], path[128];

        write_file("pw", "from-file\n", 0600);
        write_file("creds/mqtt.password", "from-credential\n", 0400);
        snprintf(creds, sizeof(creds), "%s/creds", dir);
        snprintf(path, sizeof(path), "%s/pw", dir);
        setenv("CREDENTIALS_DIRECTORY", creds, 1);
        assert_int_equal(secret_read(NULL, "mqtt.password", path, &s), 0);
        assert_string_equal(s, "from-credential");
        secret_free(s);
        /* Another credential name is missing there: the configured file is used. */
        assert_int_equal(secret_read(NULL, "api.token", path, &s), 0);
        assert_string_equal(s, "from-file");
        secret_free(s);
}

static void test_nothing_configured(void **state)
{
        char *s = (char *)"x", creds[128];

        snprintf(creds, sizeof(creds), "%s/creds", dir);
        setenv("CREDENTIALS_DIRECTORY", creds, 1);
        assert_int_equal(secret_read(NULL, "mqtt.password", NULL, &s), 0);
        assert_null(s);
}

static void test_errors(void **state)
{
        char *s = NULL, creds[128], path[128];

        /* A configured file that does not exist is an error. */
        snprintf(path, sizeof(path), "%s/missing", dir);
        assert_int_equal(secret_read(NULL, "mqtt.password", path, &s), -ENOENT);
        assert_null(s);
        /* Credential names are one path component. */
        assert_int_equal(secret_read(NULL, "../pw", NULL, &s), -EINVAL);
        /* A credential that exists but cannot be read does not fall back. */
        if (geteuid() != 0) {
                write_file("pw", "from-file\n", 0600);
                write_file("creds/mqtt.password", "x\n", 0000);
                snprintf(creds, sizeof(creds), "%s/creds", dir);
                setenv("CREDENTIALS_DIRECTORY", creds, 1);
                snprintf(path, sizeof(path), "%s/pw", dir);
                assert_int_equal(secret_read(NULL, "mqtt.password", path, &s), -EACCES);
        }
}

static void test_relative_to_config_dir(void **state)
{
        struct config c = { .dir = dir };
        char *s = NULL;

        write_file("token", "tok\n", 0600);
        assert_int_equal(secret_read(&c, NULL, "token", &s), 0);
        assert_string_equal(s, "tok");
        secret_free(s);
}

/* The notifiers' secrets go through the same reader: the credential is named by the file's
 * last component, a missing configured file is a code the caller handles, not an errno. */
static void test_read_at_notifier_files(void **state)
{
        char *s = NULL, creds[128];

        assert_string_equal(secret_credential_of("secrets/wecom-chl.url"), "wecom-chl.url");
        assert_string_equal(secret_credential_of("plain"), "plain");
        assert_null(secret_credential_of(NULL));

        write_file("wecom-chl.url", "https://example.invalid/from-file\n", 0600);
        assert_int_equal(
            secret_read_at(dir, secret_credential_of("secrets/nope"), "secrets/nope", &s),
            SECRET_E_MISSING);
        assert_null(s);
        write_file("creds/wecom-chl.url", "https://example.invalid/from-credential\n", 0400);
        snprintf(creds, sizeof(creds), "%s/creds", dir);
        setenv("CREDENTIALS_DIRECTORY", creds, 1);
        assert_int_equal(
            secret_read_at(dir, secret_credential_of("x/wecom-chl.url"), "wecom-chl.url", &s), 0);
        assert_string_equal(s, "https://example.invalid/from-credential");
        secret_free(s);
        /* A credential that is there but cannot be read (a directory) does not fall back. */
        assert_int_equal(mkdir(creds, 0700) == 0 || errno == EEXIST, 1);
        snprintf(creds, sizeof(creds), "%s/creds/dir.key", dir);
        assert_int_equal(mkdir(creds, 0700), 0);
        write_file("dir.key", "from-file\n", 0600);
        assert_true(secret_read_at(dir, "dir.key", "dir.key", &s) < 0);
        assert_null(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_configured_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_credential_wins, setup, teardown),
                cmocka_unit_test_setup_teardown(test_nothing_configured, setup, teardown),
                cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_relative_to_config_dir, setup, teardown),
                cmocka_unit_test_setup_teardown(test_read_at_notifier_files, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

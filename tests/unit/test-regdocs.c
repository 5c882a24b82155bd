/* test-regdocs.c: the registry files as editable documents: untouched files render byte
 * for byte as they were (every file of conf/); a touched record is printed anew in the
 * layout of conf/ and nothing else moves; new elements are appended, also into an empty
 * array; a byte order mark stays; the candidate directory links what did not change; a
 * commit replaces only changed files and keeps their mode. */
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

#include "regdocs.h"
#include "util.h"

static char *tmpdir(void)
{
        char *d = xstrdup("/tmp/doorwatch-test-regdocs-XXXXXX");
        assert_non_null(mkdtemp(d));
        return d;
}

static void put(const char *dir, const char *name, const char *text)
{
        _cleanup_free_ char *path = path_join(dir, name);
        FILE *f;

        if (strchr(name, '/')) {
                _cleanup_free_ char *sub = NULL;
                assert_true(asprintf(&sub, "%s/%.*s", dir, (int)(strchr(name, '/') - name), name) >
                            0);
                mkdir(sub, 0755);
        }
        f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static char *slurp(const char *dir, const char *name)
{
        _cleanup_free_ char *path = path_join(dir, name);
        char *text = NULL;
        size_t len;

        assert_int_equal(read_file(path, 1 << 24, &text, &len), 0);
        return text;
}

static void test_untouched_is_identical(void **state)
{
        struct regdocs d;
        char *msg = NULL;

        assert_int_equal(regdocs_read("conf", &d, &msg), 0);
        assert_true(d.n_households >= 3);
        for (size_t i = 0; i < d.n_households + 2; i++) {
                const struct regdoc *doc = i == 0   ? &d.workers
                                           : i == 1 ? &d.rosters
                                                    : &d.households[i - 2];
                _cleanup_free_ char *want = slurp("conf", doc->name), *got = regdoc_render(doc);

                assert_false(regdoc_changed(doc));
                assert_string_equal(got, want);
        }
        regdocs_done(&d);
}

static const char households[] =
    "[\n"
    "  {\n"
    "    \"//\": \"first\",\n"
    "    \"id\": \"A\",   \"address\": \"x\"\n"
    "  },\n"
    "  {\"id\": \"B\", \"devices\": [ {\"id\": \"d1\",\"kind\":\"doorbell\"} ]}\n"
    "]\n";

static void test_touch_and_append(void **state)
{
        _cleanup_free_ char *dir = tmpdir(), *text = NULL;
        struct regdocs d;
        char *msg = NULL;
        cJSON *b, *c;

        put(dir, "workers.json", "[]");
        put(dir, "rosters.json", "{\"communities\": {}}");
        put(dir, "households.json", households);
        put(dir, "households.d/z.json", "\xef\xbb\xbf[ ]\n");
        assert_int_equal(regdocs_read(dir, &d, &msg), 0);
        assert_int_equal(d.n_households, 2);
        assert_string_equal(d.households[1].name, "households.d/z.json");
        assert_true(d.households[1].bom);

        /* B gets an address: B alone is printed anew (devices kept, one line each). */
        b = cJSON_GetArrayItem(d.households[0].root, 1);
        cJSON_AddStringToObject(b, "address", "云锦路 1号");
        regdocs_touch(b);
        c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "id", "C");
        cJSON_AddItemToArray(d.households[0].root, c);
        regdocs_touch(c);
        text = regdoc_render(&d.households[0]);
        assert_string_equal(text, "[\n"
                                  "  {\n"
                                  "    \"//\": \"first\",\n"
                                  "    \"id\": \"A\",   \"address\": \"x\"\n"
                                  "  },\n"
                                  "  {\n"
                                  "    \"id\": \"B\",\n"
                                  "    \"devices\": [{\"id\": \"d1\", \"kind\": \"doorbell\"}],\n"
                                  "    \"address\": \"云锦路 1号\"\n"
                                  "  },\n"
                                  "  {\n"
                                  "    \"id\": \"C\"\n"
                                  "  }\n"
                                  "]\n");
        free(text);

        /* Into an empty array, with its byte order mark kept. */
        c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "id", "Z1");
        cJSON_AddItemToArray(d.households[1].root, c);
        regdocs_touch(c);
        text = regdoc_render(&d.households[1]);
        assert_string_equal(text, "\xef\xbb\xbf[\n  {\n    \"id\": \"Z1\"\n  }\n]\n");
        assert_false(regdoc_changed(&d.workers));
        regdocs_done(&d);
        regdocs_remove_tree(dir);
}

static void test_print_layout(void **state)
{
        _cleanup_json_ cJSON *v =
            cJSON_Parse("{\"a\": [1, 2.5, true, null, \"q\\\"\\n\"], \"long\": [\"" /* */
                        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\", "
                        "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\", "
                        "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"], \"e\": {}}");
        _cleanup_free_ char *deep = NULL, *root = NULL;

        assert_non_null(v);
        /* At depth 2 the short member fits on one line, the long one does not. */
        deep = regdocs_print(v, 4, 2);
        assert_string_equal(deep,
                            "{\n"
                            "      \"a\": [1, 2.5, true, null, \"q\\\"\\n\"],\n"
                            "      \"long\": [\n"
                            "        \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",\n"
                            "        \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",\n"
                            "        \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"\n"
                            "      ],\n"
                            "      \"e\": {}\n"
                            "    }");
        root = regdocs_print(cJSON_GetObjectItem(v, "e"), 0, 0);
        assert_string_equal(root, "{}");
}

static void test_candidate_and_commit(void **state)
{
        _cleanup_free_ char *dir = tmpdir(), *cand = NULL, *text = NULL, *path = NULL, *link = NULL;
        char **names = NULL;
        struct regdocs d;
        struct stat st;
        char *msg = NULL, target[4096];
        size_t n = 0;
        ssize_t k;

        put(dir, "doorwatch.json", "{}");
        put(dir, "workers.json", "[]");
        put(dir, "rosters.json", "{}");
        put(dir, "households.json", "[]");
        put(dir, "households.d/a.json", "[]");
        put(dir, "households.d/b.json", "[]");
        path = path_join(dir, "households.d/b.json");
        assert_int_equal(chmod(path, 0604), 0);
        assert_int_equal(regdocs_read(dir, &d, &msg), 0);
        cJSON_AddItemToArray(d.households[2].root, cJSON_CreateString("x"));
        regdocs_touch(cJSON_GetArrayItem(d.households[2].root, 0));

        assert_int_equal(regdocs_write_candidate(&d, &cand), 0);
        /* Unchanged files and directories are links to the originals; changed ones are
         * written. */
        free(link);
        link = path_join(cand, "doorwatch.json");
        k = readlink(link, target, sizeof(target) - 1);
        assert_true(k > 0);
        target[k] = 0;
        assert_non_null(strstr(target, "/doorwatch.json"));
        free(link);
        link = path_join(cand, "households.d/b.json");
        assert_int_equal(lstat(link, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        text = slurp(cand, "households.d/b.json");
        assert_string_equal(text, "[\n  \"x\"\n]");
        free(text);
        free(link);
        link = path_join(cand, "households.d/a.json");
        assert_int_equal(lstat(link, &st), 0);
        assert_true(S_ISLNK(st.st_mode));
        assert_int_equal(regdocs_remove_tree(cand), 0);

        assert_int_equal(regdocs_commit(&d, &names, &n, &msg), 0);
        assert_int_equal(n, 1);
        assert_string_equal(names[0], "households.d/b.json");
        assert_null(names[1]);
        text = slurp(dir, "households.d/b.json");
        assert_string_equal(text, "[\n  \"x\"\n]");
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0604);
        assert_int_equal(st.st_uid, geteuid());
        free_strv(names, n);
        regdocs_done(&d);
        regdocs_remove_tree(dir);
}

static void test_read_errors(void **state)
{
        _cleanup_free_ char *dir = tmpdir(), *rosters = path_join(dir, "rosters.json");
        struct regdocs d;
        char *msg = NULL;

        put(dir, "workers.json", "[]");
        put(dir, "rosters.json", "{}");
        put(dir, "households.json", "[\n{\"id\": \"A\",\n}\n]");
        assert_int_equal(regdocs_read(dir, &d, &msg), 1);
        assert_string_equal(msg, "households.json: syntax error near line 3");
        free(msg);
        put(dir, "households.json", "[]");
        unlink(rosters);
        assert_int_equal(regdocs_read(dir, &d, &msg), 1);
        assert_string_equal(msg, "rosters.json: cannot read: No such file or directory");
        free(msg);
        regdocs_remove_tree(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_untouched_is_identical),
                cmocka_unit_test(test_touch_and_append),
                cmocka_unit_test(test_print_layout),
                cmocka_unit_test(test_candidate_and_commit),
                cmocka_unit_test(test_read_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

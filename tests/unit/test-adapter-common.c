/* test-adapter-common.c: the adapter table and the helpers shared by the ecosystem adapters
 * (src/adapters/common.c): boolean spellings, availability forms, addresses, edges. */
#include "adapter-test.h"

#include "adapters/common.h"

static void test_table(void **state)
{
        static const char *const names[] = { "native", "zigbee2mqtt", "shelly", "frigate",
                                             "ring",   "tasmota",     "esphome" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                const struct adapter *a = adapter_find(names[i]);
                assert_non_null(a);
                assert_string_equal(a->name, names[i]);
                assert_non_null(a->keys);
                assert_non_null(a->decode);
                assert_non_null(a->topics);
                if (i > 0) {
                        assert_non_null(a->parse_device);
                        assert_non_null(a->free_config);
                        assert_non_null(a->keys[0]);
                }
        }
        assert_null(adapter_find("zwave"));
        assert_null(adapter_find(NULL));
}

/* A bool reader's answer as one number: 1 true, 0 false, else its code negated. */
static int word(const char *s, size_t len)
{
        bool b = false;
        int r = adapter_parse_bool_word(s, len, &b);
        return r == 0 ? b : -r;
}

static int jbool(const cJSON *v)
{
        bool b = false;
        int r = adapter_json_bool(v, &b);
        return r == 0 ? b : -r;
}

static void test_pitfall2_bool_words(void **state)
{
        static const int bad = -ADAPTER_E_INVALID;
        static const struct {
                const char *s;
                int v;
        } cases[] = {
                { "true", 1 },    { "false", 0 },  { "TRUE", 1 },    { "\"false\"", 0 },
                { "ON", 1 },      { "OFF", 0 },    { "on", 1 },      { "Online", 1 },
                { "Offline", 0 }, { "online", 1 }, { "offline", 0 }, { "1", 1 },
                { "0", 0 },       { " ON\n", 1 },  { "yes", 1 },     { "no", 0 },
                { "", bad },      { "2", bad },    { "onn", bad },   { "\"", bad },
                { "tru", bad },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                if (word(cases[i].s, strlen(cases[i].s)) != cases[i].v)
                        fail_msg("\"%s\": expected %d", cases[i].s, cases[i].v);
        /* never reads past len */
        assert_int_equal(word("ONLINE", 2), 1);
        assert_int_equal(word("trueX", 4), 1);
}

static void test_pitfall2_json_bools(void **state)
{
        cJSON *j = cJSON_Parse("{\"a\":true,\"b\":false,\"c\":\"true\",\"d\":\"OFF\",\"e\":1,"
                               "\"f\":0,\"g\":null,\"h\":2,\"i\":[true],\"k\":\"maybe\"}");

        assert_non_null(j);
        assert_int_equal(jbool(cJSON_GetObjectItem(j, "a")), 1);
        assert_int_equal(jbool(cJSON_GetObjectItem(j, "b")), 0);
        assert_int_equal(jbool(cJSON_GetObjectItem(j, "c")), 1);
        assert_int_equal(jbool(cJSON_GetObjectItem(j, "d")), 0);
        assert_int_equal(jbool(cJSON_GetObjectItem(j, "e")), 1);
        assert_int_equal(jbool(cJSON_GetObjectItem(j, "f")), 0);
        /* pitfall 5: absent and null are unknown, not false */
        assert_int_equal(jbool(cJSON_GetObjectItem(j, "g")), -ADAPTER_E_ABSENT);
        assert_int_equal(jbool(cJSON_GetObjectItem(j, "missing")), -ADAPTER_E_ABSENT);
        assert_int_equal(jbool(cJSON_GetObjectItem(j, "h")), -ADAPTER_E_INVALID);
        assert_int_equal(jbool(cJSON_GetObjectItem(j, "i")), -ADAPTER_E_INVALID);
        assert_int_equal(jbool(cJSON_GetObjectItem(j, "k")), -ADAPTER_E_INVALID);
        cJSON_Delete(j);
}

static void test_availability_forms(void **state)
{
        static const struct {
                const char *s;
                int r;
                bool online;
        } cases[] = {
                { "online", 0, true },
                { "offline", 0, false },
                { "Online", 0, true },
                { "Offline", 0, false },
                { "true", 0, true },
                { "false", 0, false },
                { "{\"state\":\"online\"}", 0, true },
                { "{\"state\":\"offline\"}", 0, false },
                { " {\"state\": \"offline\"} ", 0, false },
                { "{\"state\":true}", 0, true },
                { "{}", ADAPTER_E_INVALID, false },
                { "{\"state\":\"sleeping\"}", ADAPTER_E_INVALID, false },
                { "{\"state\":", ADAPTER_E_INVALID, false },
                { "unknown", ADAPTER_E_INVALID, false },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                bool online = !cases[i].online;
                int r = adapter_parse_availability(cases[i].s, strlen(cases[i].s), &online);
                if (r != cases[i].r || (r == 0 && online != cases[i].online))
                        fail_msg("\"%s\": r=%d online=%d", cases[i].s, r, online);
        }
}

static void test_numbers(void **state)
{
        double x;

        assert_int_equal(adapter_parse_number("73", 2, &x), 0);
        assert_true(x == 73);
        assert_int_equal(adapter_parse_number(" 5.46\n", 6, &x), 0);
        assert_true(x == 5.46);
        assert_int_equal(adapter_parse_number("nan", 3, &x), ADAPTER_E_INVALID);
        assert_int_equal(adapter_parse_number("inf", 3, &x), ADAPTER_E_INVALID);
        assert_int_equal(adapter_parse_number("1e999", 5, &x), ADAPTER_E_INVALID);
        assert_int_equal(adapter_parse_number("7x", 2, &x), ADAPTER_E_INVALID);
        assert_int_equal(adapter_parse_number("", 0, &x), ADAPTER_E_INVALID);
}

static void test_addresses(void **state)
{
        assert_true(adapter_addr_eq("60:ef:ab:42:ed:25", "60:EF:AB:42:ED:25"));
        assert_true(adapter_addr_eq("60efab42ed25", "60-EF-AB-42-ED-25"));
        assert_true(adapter_addr_eq("0x8F20", "0x8f20"));
        assert_true(adapter_addr_eq("0x8F20", "8F20"));
        assert_false(adapter_addr_eq("0x8F20", "0x8F21"));
        assert_false(adapter_addr_eq("0x8F20", "0x8F2"));
        assert_false(adapter_addr_eq(NULL, "x"));
}

static void test_door_edges_and_invert(void **state)
{
        struct device d = { .kind = DEVICE_DOOR_CONTACT };
        struct device_state st = { 0 };
        struct adapter_decode_result out;
        struct adapter_msg m = { .topic = "t", .payload = "", .recv_usec = 1000 };

        adapter_begin(&out);
        adapter_emit_door_state(&d, &m, &st, &out, true);
        assert_int_equal(out.n_events, 1);
        assert_int_equal(out.events[0].door, DOOR_OPEN);
        assert_int_equal(st.door_changed_usec, 1000);
        adapter_emit_door_state(&d, &m, &st, &out, true);
        assert_int_equal(out.n_events, 1);
        d.invert = true;
        adapter_emit_door_state(&d, &m, &st, &out, true);
        assert_int_equal(out.n_events, 2);
        assert_int_equal(out.events[1].door, DOOR_CLOSED);
        /* events never overflow the result */
        for (int i = 0; i < 20; i++)
                adapter_emit_door_event(&d, &m, &st, &out, i & 1);
        assert_int_equal(out.n_events, ADAPTER_MAX_EVENTS);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_pitfall2_bool_words),
                cmocka_unit_test(test_pitfall2_json_bools),
                cmocka_unit_test(test_availability_forms),
                cmocka_unit_test(test_numbers),
                cmocka_unit_test(test_addresses),
                cmocka_unit_test(test_door_edges_and_invert),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

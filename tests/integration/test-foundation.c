/* test-foundation.c: door events through a real broker into the real doorwatchd become
 * alerts and notifications for the household's team; bad input is dropped; duplicates
 * are stored once; acks are recorded; a broker restart is survived. */
#include <cjson/cJSON.h>
#include <setjmp.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"

#define NOTIFY "doorwatch/v1/workers/+/notify"

static int setup(void **state)
{
        struct harness *h = calloc(1, sizeof(*h));
        h_init(h);
        h_start_broker(h);
        h_start_daemon(h);
        *state = h;
        return 0;
}

static int teardown(void **state)
{
        struct harness *h = *state;
        h_cleanup(h);
        free(h);
        return 0;
}

static void door_event(struct harness *h, const char *device, const char *id, const char *state)
{
        char topic[256], payload[256];
        snprintf(topic, sizeof(topic), "doorwatch/v1/devices/%s/events", device);
        snprintf(payload, sizeof(payload),
                 "{\"id\": \"%s\", \"ts\": %.3f, \"type\": \"door\", \"state\": \"%s\"}", id,
                 h_now(), state);
        h_publish(h, topic, payload, false);
}

/* The same at a given device time (seconds): openings and closes apart by more than
 * policy.chatter_settle, which would join them. */
static void door_event_at(struct harness *h, const char *device, const char *id, const char *state,
                          double ts)
{
        char topic[256], payload[256];
        snprintf(topic, sizeof(topic), "doorwatch/v1/devices/%s/events", device);
        snprintf(payload, sizeof(payload),
                 "{\"id\": \"%s\", \"ts\": %.3f, \"type\": \"door\", \"state\": \"%s\"}", id, ts,
                 state);
        h_publish(h, topic, payload, false);
}

static void test_open_door_notifies_whole_team(void **state)
{
        struct harness *h = *state;
        const char *workers[] = { "w-a-01", "w-a-02", "w-a-03" };

        door_event(h, "d-1-door", "e-1", "open");
        assert_int_equal(h_wait_messages(h, NOTIFY, 3, 5000), 3);
        for (size_t i = 0; i < 3; i++) {
                char filter[128];
                snprintf(filter, sizeof(filter), "doorwatch/v1/workers/%s/notify", workers[i]);
                const struct h_msg *m = h_message(h, filter, 0);
                assert_non_null(m);
                cJSON *j = cJSON_Parse(m->payload);
                assert_non_null(j);
                assert_string_equal(cJSON_GetObjectItem(j, "household")->valuestring, "H-1");
                assert_string_equal(cJSON_GetObjectItem(j, "kind")->valuestring,
                                    "door_open_unexpected");
                assert_string_equal(cJSON_GetObjectItem(j, "severity")->valuestring, "high");
                assert_string_equal(cJSON_GetObjectItem(j, "worker")->valuestring, workers[i]);
                assert_string_equal(cJSON_GetObjectItem(j, "step")->valuestring, "team");
                assert_string_equal(cJSON_GetObjectItem(j, "event_id")->valuestring, "e-1");
                assert_string_equal(cJSON_GetObjectItem(j, "community")->valuestring, "alpha");
                assert_int_equal(cJSON_GetObjectItem(j, "round")->valueint, 1);
                assert_non_null(
                    strstr(cJSON_GetObjectItem(j, "text")->valuestring, "测试路 1号 101"));
                assert_non_null(
                    strstr(cJSON_GetObjectItem(j, "ack_topic")->valuestring, workers[i]));
                assert_true(cJSON_IsNumber(cJSON_GetObjectItem(j, "raised_at")));
                assert_true(
                    strncmp(cJSON_GetObjectItem(j, "notification_id")->valuestring, "n-", 2) == 0);
                cJSON_Delete(j);
        }
        /* Stored: the event with its verdict, the alert, three delivered notifications. */
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM event WHERE device = 'd-1-door'"), 1);
        assert_string_equal(h_db_text(h, "SELECT verdict FROM event WHERE uid = 'e-1'"), "alert");
        assert_string_equal(h_db_text(h, "SELECT kind FROM alert WHERE household = 'H-1'"),
                            "door_open_unexpected");
        assert_int_equal(
            h_db_wait_int(h, 3, 3000,
                          "SELECT count(*) FROM notification WHERE state = 'delivered'"),
            3);
}

static void test_reopen_joins_alert_and_duplicate_is_stored_once(void **state)
{
        struct harness *h = *state;

        double t = h_now();

        door_event_at(h, "d-1-door", "e-10", "open", t);
        assert_int_equal(h_wait_messages(h, NOTIFY, 3, 5000), 3);
        door_event_at(h, "d-1-door", "e-11", "closed", t + 1);
        door_event_at(h, "d-1-door", "e-12", "open", t + 2);
        door_event_at(h, "d-1-door", "e-12", "open", t + 2); /* redelivery of the same event */
        /* A marker on another household proves everything before it was processed. */
        door_event(h, "d-2-door", "m-1", "open");
        assert_int_equal(h_wait_messages(h, NOTIFY, 6, 5000), 6);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM alert WHERE household = 'H-1'"), 1);
        assert_int_equal(h_db_int(h, "SELECT count FROM alert WHERE household = 'H-1'"), 2);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM event WHERE uid = 'e-12'"), 1);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM event WHERE device = 'd-1-door'"), 3);
        assert_int_equal(h_count_messages(h, "doorwatch/v1/workers/w-a-01/notify"), 2);
}

/* The broker delivers an opening again after the door closed and its alert was resolved
 * (a PUBACK lost with a connection): stored once, and no second alert. Only the duplicate
 * check tells it from a new opening (the door is closed by then). */
static void test_redelivered_opening_after_close_is_not_a_second_alert(void **state)
{
        struct harness *h = *state;
        char alert_id[64], payload[256];

        door_event(h, "d-1-door", "e-20", "open");
        assert_int_equal(h_wait_messages(h, NOTIFY, 3, 5000), 3);
        snprintf(alert_id, sizeof(alert_id), "%s", h_db_text(h, "SELECT id FROM alert"));
        door_event(h, "d-1-door", "e-21", "closed");
        snprintf(payload, sizeof(payload),
                 "{\"alert_id\": \"%s\", \"note\": \"checked\", \"request_id\": \"r1\"}", alert_id);
        h_publish(h, "doorwatch/v1/workers/w-a-01/resolve", payload, false);
        assert_int_equal(h_wait_messages(h, "doorwatch/v1/workers/w-a-01/result", 1, 5000), 1);
        assert_string_equal(h_db_text(h, "SELECT state FROM alert WHERE id = '%q'", alert_id),
                            "resolved");
        door_event(h, "d-1-door", "e-20", "open"); /* the redelivery */
        door_event(h, "d-2-door", "m-2", "open");  /* a marker: everything before is done */
        assert_int_equal(h_wait_messages(h, NOTIFY, 6, 5000), 6);
        h_pump(h, 200);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM alert WHERE household = 'H-1'"), 1);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM event WHERE uid = 'e-20'"), 1);
        assert_int_equal(h_count_messages(h, "doorwatch/v1/workers/w-a-01/notify"), 2);
}

/* Waits (bounded) until the daemon's log contains one of two texts. */
static bool log_contains(struct harness *h, const char *text, const char *or_text, int timeout_ms)
{
        char path[512], buf[65536];

        snprintf(path, sizeof(path), "%s/doorwatchd.log", h->dir);
        for (int waited = 0; waited <= timeout_ms; waited += 50) {
                FILE *f = fopen(path, "r");
                size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
                if (f)
                        fclose(f);
                buf[n] = 0;
                if (strstr(buf, text) || strstr(buf, or_text))
                        return true;
                h_pump(h, 50);
        }
        return false;
}

/* Another connection taking the database's write lock (released by COMMIT). */
static sqlite3 *lock_database(struct harness *h)
{
        sqlite3 *db;

        assert_int_equal(sqlite3_open(h->dbpath, &db), SQLITE_OK);
        /* The daemon may be committing (its start, the broker's session): wait for that. */
        sqlite3_busy_timeout(db, 5000);
        assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
        return db;
}

/* Another connection (an admin's sqlite3 shell, a backup tool) holds the write lock: the
 * daemon must hold the events, not drop them after SQLite's busy timeout, and store them in
 * arrival order once the lock is gone. (SQLite's lock; PostgreSQL's outages are
 * test-pg-outage's.) */
static void test_locked_database_holds_events_until_released(void **state)
{
        struct harness *h = *state;
        char want[512] = "", id[16];
        sqlite3 *db;
        double t;

        if (h_pg())
                skip();
        t = h_now();
        db = lock_database(h);
        for (int i = 0; i < 30; i++) {
                snprintf(id, sizeof(id), "L-%02d", i);
                door_event_at(h, "d-1-door", id, i % 2 ? "closed" : "open", t + i);
                strcat(want, i ? "," : "");
                strcat(want, id);
        }
        door_event(h, "d-2-door", "L-marker", "open");
        /* Until the daemon met the lock (holding, or a write that gave up), then longer
         * than SQLite's busy timeout (2 s), after which a write waiting in place fails. */
        assert_true(log_contains(h, "holds the write lock", "database is locked", 5000));
        h_pump(h, 2500);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM event WHERE uid LIKE 'L-%%'"), 0);
        assert_int_equal(h_count_messages(h, NOTIFY), 0);
        assert_true(h_daemon_alive(h));

        assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
        assert_int_equal(
            h_db_wait_int(h, 31, 5000, "SELECT count(*) FROM event WHERE uid LIKE 'L-%%'"), 31);
        assert_string_equal(h_db_text(h, "SELECT group_concat(uid) FROM (SELECT uid FROM event"
                                         " WHERE device = 'd-1-door' ORDER BY id)"),
                            want);
        /* Judged as they came: the first opening alerted the team, the others joined it. */
        assert_int_equal(h_wait_messages(h, NOTIFY, 6, 5000), 6);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM alert WHERE household = 'H-1'"), 1);
        assert_int_equal(h_db_int(h, "SELECT count FROM alert WHERE household = 'H-1'"), 15);
}

/* The same lock, and the daemon killed while it holds the events: their PUBACKs were
 * withheld, so the broker delivers them again to the next daemon, which stores each once. */
static void test_kill_while_held_loses_nothing(void **state)
{
        struct harness *h = *state;
        char id[16];
        sqlite3 *db;

        if (h_pg())
                skip();
        db = lock_database(h);
        for (int i = 0; i < 20; i++) {
                snprintf(id, sizeof(id), "K-%02d", i);
                door_event(h, "d-1-door", id, i % 2 ? "closed" : "open");
        }
        assert_true(log_contains(h, "holds the write lock", "database is locked", 5000));
        /* Time for the rest of the burst to arrive (and, were PUBACKs not withheld, for
         * them to go out): what has not arrived stays with the broker either way. */
        h_pump(h, 300);
        assert_int_equal(h_stop_daemon(h, SIGKILL), 128 + SIGKILL);
        assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM event WHERE uid LIKE 'K-%%'"), 0);

        h_start_daemon(h);
        /* A marker after the redelivered events: once it is stored, so is all before it. */
        door_event(h, "d-2-door", "K-marker", "open");
        assert_int_equal(
            h_db_wait_int(h, 1, 5000, "SELECT count(*) FROM event WHERE uid = 'K-marker'"), 1);
        assert_int_equal(
            h_db_int(h, "SELECT count(*) FROM event WHERE uid LIKE 'K-0%%' OR uid LIKE 'K-1%%'"),
            20);
        assert_int_equal(h_db_int(h, "SELECT count(DISTINCT uid) FROM event WHERE uid LIKE 'K-%%'"),
                         21);
}

static void test_outside_observation_is_stored_not_alerted(void **state)
{
        struct harness *h = *state;

        door_event(h, "d-3-door", "e-20", "open");
        door_event(h, "d-2-door", "m-2", "open");
        assert_int_equal(h_wait_messages(h, NOTIFY, 3, 5000), 3);
        h_pump(h, 100);
        assert_int_equal(h_count_messages(h, NOTIFY), 3);
        assert_string_equal(h_db_text(h, "SELECT verdict FROM event WHERE uid = 'e-20'"),
                            "ignored");
        assert_non_null(strstr(h_db_text(h, "SELECT reason FROM event WHERE uid = 'e-20'"),
                               "after the observation window"));
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM alert WHERE household = 'H-3'"), 0);
}

static void test_bad_input_is_dropped_and_daemon_keeps_going(void **state)
{
        struct harness *h = *state;
        char big[70000];

        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        h_publish(h, "doorwatch/v1/devices/d-1-door/events", "{not json", false);
        h_publish(h, "doorwatch/v1/devices/d-1-door/events", "[1,2,3]", false);
        h_publish(h, "doorwatch/v1/devices/d-1-door/events",
                  "{\"id\": 5, \"type\": \"door\", \"state\": \"open\"}", false);
        h_publish(h, "doorwatch/v1/devices/d-1-door/events",
                  "{\"id\": \"x\", \"type\": \"door\", \"state\": \"ajar\"}", false);
        h_publish(h, "doorwatch/v1/devices/d-1-door/events",
                  "{\"id\": \"y\", \"type\": \"teleport\"}", false);
        h_publish(h, "doorwatch/v1/devices/d-1-door/events",
                  "{\"id\": \"z\", \"type\": \"door\", \"state\": \"open\", \"ts\": \"yesterday\"}",
                  false);
        h_publish(
            h, "doorwatch/v1/devices/d-1-door/events",
            "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":"
            "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":1}}}}}}}}}}}}}}}}}}",
            false);
        h_publish(h, "doorwatch/v1/devices/d-1-door/events", big, false);
        h_publish(h, "doorwatch/v1/devices/no-such-device/events",
                  "{\"id\": \"u\", \"type\": \"door\", \"state\": \"open\"}", false);
        h_publish(h, "doorwatch/v1/devices/d-1-door/status", "maybe", false);
        h_publish(h, "doorwatch/v1/devices/d-1-door/events", "", false);
        /* A NUL in a string is not cut off there ("open"), nor is invalid UTF-8 guessed at. */
        h_publish(h, "doorwatch/v1/devices/d-1-door/events",
                  "{\"id\": \"n\", \"type\": \"door\", \"state\": \"open\\u0000evil\"}", false);
        h_publish(h, "doorwatch/v1/devices/d-1-door/events",
                  "{\"id\": \"u\xff\", \"type\": \"door\", \"state\": \"open\"}", false);
        /* The daemon is alive and the next good event is processed. */
        door_event(h, "d-2-door", "good-1", "open");
        assert_int_equal(h_wait_messages(h, NOTIFY, 3, 5000), 3);
        assert_true(h_daemon_alive(h));
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM event WHERE device = 'd-1-door'"), 0);
        assert_int_equal(h_db_int(h, "SELECT count(*) FROM event"), 1);
}

static void test_ack_is_recorded_and_bad_acks_rejected(void **state)
{
        struct harness *h = *state;
        char alert_id[64], payload[256];

        door_event(h, "d-1-door", "e-30", "open");
        assert_int_equal(h_wait_messages(h, NOTIFY, 3, 5000), 3);
        snprintf(alert_id, sizeof(alert_id), "%s", h_db_text(h, "SELECT id FROM alert"));
        assert_true(strncmp(alert_id, "a-", 2) == 0);

        snprintf(payload, sizeof(payload), "{\"alert_id\": \"%s\", \"request_id\": \"r1\"}",
                 alert_id);
        h_publish(h, "doorwatch/v1/workers/w-nobody/ack", payload, false);
        h_publish(h, "doorwatch/v1/workers/w-a-02/ack",
                  "{\"alert_id\": \"a-19990101-0001\", \"request_id\": \"r2\"}", false);
        h_publish(h, "doorwatch/v1/workers/w-a-02/ack", payload, false);
        assert_int_equal(h_wait_messages(h, "doorwatch/v1/workers/+/result", 3, 5000), 3);

        const struct h_msg *m = h_message(h, "doorwatch/v1/workers/w-nobody/result", 0);
        assert_non_null(m);
        assert_non_null(strstr(m->payload, "\"ok\":false"));
        assert_non_null(strstr(m->payload, "unknown worker"));
        m = h_message(h, "doorwatch/v1/workers/w-a-02/result", 0);
        assert_non_null(strstr(m->payload, "\"request_id\":\"r2\""));
        assert_non_null(strstr(m->payload, "\"ok\":false"));
        m = h_message(h, "doorwatch/v1/workers/w-a-02/result", 1);
        assert_non_null(strstr(m->payload, "\"ok\":true"));
        assert_string_equal(h_db_text(h, "SELECT state FROM alert WHERE id = '%q'", alert_id),
                            "acked");
        assert_string_equal(h_db_text(h, "SELECT acked_by FROM alert WHERE id = '%q'", alert_id),
                            "w-a-02");
        assert_string_equal(h_db_text(h, "SELECT channel FROM action WHERE kind = 'ack'"), "mqtt");
}

static void test_broker_restart_is_survived(void **state)
{
        struct harness *h = *state;

        door_event(h, "d-1-door", "e-40", "open");
        assert_int_equal(h_wait_messages(h, NOTIFY, 3, 5000), 3);
        h_stop_broker(h);
        h_start_broker(h);
        /* The daemon reconnects and republishes its online status. */
        h_clear_messages(h);
        h_pump(h, 50);
        size_t seen = 0;
        for (int i = 0; i < 500 && !seen; i++) {
                h_pump(h, 20);
                for (size_t k = 0; k < h->n_msgs; k++)
                        seen += strstr(h->msgs[k].topic, "/daemon/") &&
                                strcmp(h->msgs[k].payload, "online") == 0 && !h->msgs[k].retained;
        }
        assert_true(seen > 0);
        assert_true(h_daemon_alive(h));
        door_event(h, "d-2-door", "e-41", "open");
        assert_int_equal(h_wait_messages(h, NOTIFY, 3, 5000), 3);
        assert_string_equal(h_db_text(h, "SELECT verdict FROM event WHERE uid = 'e-41'"), "alert");
}

static void test_sigterm_stops_cleanly_with_offline_status(void **state)
{
        struct harness *h = *state;
        h_clear_messages(h);
        assert_int_equal(h_stop_daemon(h, SIGTERM), 0);
        assert_true(h_wait_messages(h, "doorwatch/v1/daemon/+/status", 1, 3000) >= 1);
        assert_string_equal(h_message(h, "doorwatch/v1/daemon/+/status", 0)->payload, "offline");
}

static void test_check_config(void **state)
{
        struct harness *h = *state;
        char bin[256], *out = NULL;
        snprintf(bin, sizeof(bin), "%s/doorwatchd", h_build_dir());
        const char *argv[] = { bin, "--check-config", "-c", h->confdir, NULL };

        assert_int_equal(h_run(&out, argv), 0);
        free(out);
        h_write_conf(h, "households.json",
                     "[{\"id\": \"H-1\", \"community\": \"alpha\", \"address\": \"x\","
                     " \"observation\": {\"start\": \"2020-01-01T00:00:00+08:00\","
                     " \"end\": \"2099-01-01T00:00:00+08:00\"},"
                     " \"team\": {\"community\": \"w-a-01\", \"medical\": \"w-a-02\","
                     " \"police\": \"w99\"}, \"devices\": []}]");
        assert_int_equal(h_run(&out, argv), 1);
        assert_non_null(strstr(out, "households.json: [0].team.police: unknown worker \"w99\""));
        free(out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_open_door_notifies_whole_team, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(
                    test_reopen_joins_alert_and_duplicate_is_stored_once, setup, teardown),
                cmocka_unit_test_setup_teardown(
                    test_redelivered_opening_after_close_is_not_a_second_alert, setup, teardown),
                cmocka_unit_test_setup_teardown(test_outside_observation_is_stored_not_alerted,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_locked_database_holds_events_until_released,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_kill_while_held_loses_nothing, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_bad_input_is_dropped_and_daemon_keeps_going,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_ack_is_recorded_and_bad_acks_rejected, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_broker_restart_is_survived, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sigterm_stops_cleanly_with_offline_status,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_check_config, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

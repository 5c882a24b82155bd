/* test-outbox.c: the dispatcher against a real SQLite store and a scripted notifier type
 * registered from outside (as the daemon registers mqtt): delivery, priority order in a
 * rate-limited backlog, retries with backoff and the dead letter after max_attempts or
 * dead_after, FAILED at once, "too fast" not counted as an attempt, unknown notifiers and
 * malformed rows, sends cancelled by freeing the notifier, rows left `sending` by a crash. */
#include <errno.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "notify/notify.h"
#include "outbox.h"
#include "store.h"
#include "store/sqlite.h"
#include "util.h"

#define HOLD ((enum notify_outcome)99) /* the scripted send never completes by itself */

struct script_step {
        enum notify_outcome outcome;
        int64_t retry_after_usec;
};

static struct {
        struct script_step script[32];
        size_t n_script, next;
        char sent[32][64];
        int64_t sent_usec[32];
        size_t n_sent;
        struct notify_op *held;
} fake;

static int fake_send(struct notifier *n, const struct notify_message *m, struct notify_op *op)
{
        struct script_step st = { NOTIFY_DELIVERED, 0 };

        if (fake.next < fake.n_script)
                st = fake.script[fake.next++];
        if (fake.n_sent < ELEMENTSOF(fake.sent)) {
                snprintf(fake.sent[fake.n_sent], sizeof(fake.sent[0]), "%s", m->notification_id);
                fake.sent_usec[fake.n_sent++] = now_realtime_usec();
        }
        if (st.outcome == HOLD) {
                fake.held = op;
                return 0;
        }
        notify_op_complete(op, st.outcome, st.retry_after_usec, "fake %s",
                           notify_outcome_to_string(st.outcome));
        return 0;
}

static void fake_cancel(struct notifier *n, struct notify_op *op)
{
        if (fake.held == op)
                fake.held = NULL;
}

static const struct notify_type fake_type = {
        .name = "fake",
        .send = fake_send,
        .cancel = fake_cancel,
};

struct t {
        char dir[64], db[128];
        sd_event *ev;
        sd_event_source *commit;
        struct store *store;
        struct notify_context *nctx;
        struct notifier *n;
        struct config cfg;
        struct outbox *o;
        size_t n_dead;
        char dead_id[64], dead_error[128];
        int dead_attempts;
};

static int on_commit(sd_event_source *s, void *userdata)
{
        struct t *t = userdata;
        assert_int_equal(store_commit(t->store), 0);
        return 0;
}

static void on_begin(void *userdata)
{
        struct t *t = userdata;
        sd_event_source_set_enabled(t->commit, SD_EVENT_ONESHOT);
}

static void on_dead(const struct outbox_dead *d, void *userdata)
{
        struct t *t = userdata;
        t->n_dead++;
        snprintf(t->dead_id, sizeof(t->dead_id), "%s", d->id);
        snprintf(t->dead_error, sizeof(t->dead_error), "%s", d->error);
        t->dead_attempts = d->attempts;
}

static void make_notifier(struct t *t, const char *json)
{
        struct notifier_config nc = { .name = "robot", .type = "fake", .json = cJSON_Parse(json) };
        struct config_diag diag = { 0 };

        assert_non_null(nc.json);
        assert_int_equal(notifier_new(t->nctx, &nc, t->dir, &diag, &t->n), 0);
        cJSON_Delete(nc.json);
        config_diag_done(&diag);
}

static int setup(void **state)
{
        struct t *t = calloc(1, sizeof(*t));

        memset(&fake, 0, sizeof(fake));
        snprintf(t->dir, sizeof(t->dir), "/tmp/doorwatch-outbox-XXXXXX");
        assert_non_null(mkdtemp(t->dir));
        snprintf(t->db, sizeof(t->db), "%s/o.db", t->dir);
        assert_int_equal(store_open(t->db, false, false, &t->store), 0);
        assert_int_equal(sd_event_new(&t->ev), 0);
        assert_true(sd_event_add_defer(t->ev, &t->commit, on_commit, t) >= 0);
        sd_event_source_set_priority(t->commit, SD_EVENT_PRIORITY_IMPORTANT);
        sd_event_source_set_enabled(t->commit, SD_EVENT_OFF);
        store_set_begin_hook(t->store, on_begin, t);
        assert_int_equal(notify_register_type(&fake_type), 0);
        assert_int_equal(notify_context_new(t->ev, &t->nctx), 0);
        make_notifier(t, "{\"type\": \"fake\"}");
        t->cfg.outbox = (struct outbox_config){
                .dead_after_usec = USEC_PER_HOUR,
                .max_attempts = 3,
                .retry_base_usec = 40 * USEC_PER_MSEC,
                .retry_max_usec = 80 * USEC_PER_MSEC,
        };
        *state = t;
        return 0;
}

static void start_outbox(struct t *t)
{
        assert_int_equal(outbox_new(t->ev, &t->cfg, t->store, t->nctx, &t->o), 0);
        outbox_set_dead_handler(t->o, on_dead, t);
}

static int teardown(void **state)
{
        struct t *t = *state;
        char cmd[128];

        t->o = outbox_free(t->o);
        t->nctx = notify_context_free(t->nctx);
        store_commit(t->store);
        t->store = store_close(t->store);
        t->commit = sd_event_source_disable_unref(t->commit);
        sd_event_unref(t->ev);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
        assert_int_equal(system(cmd), 0);
        free(t);
        return 0;
}

static void add_row(struct t *t, const char *id, const char *channel, int priority,
                    const char *payload)
{
        _cleanup_free_ char *json = NULL;
        int64_t now = now_realtime_usec();

        if (!payload) {
                struct notify_recipient r = { .worker = "w-1", .name = "甲", .role = "community" };
                struct notify_message m = { .notification_id = id,
                                            .alert_id = "a-1",
                                            .kind = "door_open_unexpected",
                                            .text = "门开了",
                                            .worker = "w-1",
                                            .recipients = &r,
                                            .n_recipients = 1 };
                json = notify_message_format(&m, NOTIFY_FORMAT_OUTBOX);
                payload = json;
        }
        assert_int_equal(store_begin(t->store), 0);
        assert_int_equal(store_insert_notification(t->store,
                                                   &(struct store_notification){
                                                       .id = id,
                                                       .alert_id = "a-1",
                                                       .worker = "w-1",
                                                       .channel = channel,
                                                       .step = "team",
                                                       .round = 1,
                                                       .priority = priority,
                                                       .payload = payload,
                                                       .created_usec = now,
                                                       .next_usec = now,
                                                   }),
                         0);
        assert_int_equal(store_commit(t->store), 0);
}

static const char *row_text(struct t *t, const char *sql, const char *id)
{
        static char buf[256];
        sqlite3_stmt *st;

        store_commit(t->store);
        assert_int_equal(sqlite3_prepare_v2(store_sqlite_db(t->store), sql, -1, &st, NULL),
                         SQLITE_OK);
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        buf[0] = 0;
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
                snprintf(buf, sizeof(buf), "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        return buf;
}

static const char *state_of(struct t *t, const char *id)
{
        return row_text(t, "SELECT state FROM notification WHERE id = ?1", id);
}

static int attempts_of(struct t *t, const char *id)
{
        return atoi(row_text(t, "SELECT attempts FROM notification WHERE id = ?1", id));
}

/* Runs the loop until id reaches state, at most timeout_ms. */
static bool run_until(struct t *t, const char *id, const char *state, int timeout_ms)
{
        int64_t end = now_monotonic_usec() + timeout_ms * USEC_PER_MSEC;

        while (now_monotonic_usec() < end) {
                if (strcmp(state_of(t, id), state) == 0)
                        return true;
                sd_event_run(t->ev, 20 * USEC_PER_MSEC);
        }
        return strcmp(state_of(t, id), state) == 0;
}

static void test_delivered(void **state)
{
        struct t *t = *state;

        add_row(t, "n-1", "robot", 0, NULL);
        start_outbox(t);
        outbox_dispatch(t->o);
        assert_true(run_until(t, "n-1", "delivered", 2000));
        assert_int_equal(attempts_of(t, "n-1"), 1);
        assert_string_not_equal(
            row_text(t, "SELECT delivered_usec FROM notification WHERE id = ?1", "n-1"), "");
        assert_string_not_equal(
            row_text(t, "SELECT last_attempt_usec FROM notification WHERE id = ?1", "n-1"), "");
        assert_int_equal(outbox_counters(t->o)->delivered, 1);
        assert_int_equal(fake.n_sent, 1);
}

/* One send per second: a door alert queued behind a device-health notice overtakes it. */
static void test_priority_in_backlog(void **state)
{
        struct t *t = *state;

        notifier_free(t->n);
        make_notifier(t, "{\"type\": \"fake\", \"rate_per_second\": 1}");
        add_row(t, "n-health-1", "robot", 1, NULL);
        add_row(t, "n-health-2", "robot", 1, NULL);
        start_outbox(t);
        outbox_dispatch(t->o);
        assert_true(run_until(t, "n-health-1", "delivered", 2000));
        assert_string_equal(state_of(t, "n-health-2"), "pending");
        /* Waiting for the slot, not failed: no attempt counted. */
        assert_int_equal(attempts_of(t, "n-health-2"), 0);
        add_row(t, "n-door", "robot", 0, NULL);
        outbox_dispatch(t->o);
        assert_true(run_until(t, "n-health-2", "delivered", 4000));
        assert_int_equal(fake.n_sent, 3);
        assert_string_equal(fake.sent[0], "n-health-1");
        assert_string_equal(fake.sent[1], "n-door");
        assert_string_equal(fake.sent[2], "n-health-2");
        /* The slots are a second apart. */
        assert_true(fake.sent_usec[1] - fake.sent_usec[0] >= 990 * USEC_PER_MSEC);
        assert_true(fake.sent_usec[2] - fake.sent_usec[1] >= 990 * USEC_PER_MSEC);
}

static void test_retry_then_dead_after_max_attempts(void **state)
{
        struct t *t = *state;

        for (int i = 0; i < 5; i++)
                fake.script[fake.n_script++] = (struct script_step){ NOTIFY_RETRY, 0 };
        add_row(t, "n-1", "robot", 0, NULL);
        start_outbox(t);
        outbox_dispatch(t->o);
        assert_true(run_until(t, "n-1", "dead", 3000));
        assert_int_equal(fake.n_sent, 3);
        assert_int_equal(attempts_of(t, "n-1"), 3);
        assert_string_equal(row_text(t, "SELECT last_error FROM notification WHERE id = ?1", "n-1"),
                            "fake retry");
        assert_string_not_equal(
            row_text(t, "SELECT dead_usec FROM notification WHERE id = ?1", "n-1"), "");
        assert_int_equal(t->n_dead, 1);
        assert_string_equal(t->dead_id, "n-1");
        assert_int_equal(t->dead_attempts, 3);
        /* Backoff: retry_base 40 ms jittered into [20, 40] ms, then [40, 80] ms. */
        assert_true(fake.sent_usec[1] - fake.sent_usec[0] >= 20 * USEC_PER_MSEC);
        assert_true(fake.sent_usec[2] - fake.sent_usec[1] >= 40 * USEC_PER_MSEC);
        assert_int_equal(outbox_counters(t->o)->retried, 2);
}

static void test_dead_after_age(void **state)
{
        struct t *t = *state;

        t->cfg.outbox.max_attempts = 0; /* no limit on attempts: only the age counts */
        t->cfg.outbox.dead_after_usec = 1;
        fake.script[fake.n_script++] = (struct script_step){ NOTIFY_RETRY, 0 };
        add_row(t, "n-1", "robot", 0, NULL);
        start_outbox(t);
        outbox_dispatch(t->o);
        assert_true(run_until(t, "n-1", "dead", 2000));
        assert_int_equal(fake.n_sent, 1);
        assert_int_equal(t->n_dead, 1);
}

static void test_failed_is_dead_at_once(void **state)
{
        struct t *t = *state;

        fake.script[fake.n_script++] = (struct script_step){ NOTIFY_FAILED, 0 };
        add_row(t, "n-1", "robot", 0, NULL);
        start_outbox(t);
        outbox_dispatch(t->o);
        assert_true(run_until(t, "n-1", "dead", 2000));
        assert_int_equal(attempts_of(t, "n-1"), 1);
        assert_string_equal(t->dead_error, "fake failed");
}

static void test_too_fast_is_not_an_attempt(void **state)
{
        struct t *t = *state;

        fake.script[fake.n_script++] =
            (struct script_step){ NOTIFY_RATE_LIMITED, 200 * USEC_PER_MSEC };
        add_row(t, "n-1", "robot", 0, NULL);
        start_outbox(t);
        outbox_dispatch(t->o);
        assert_true(run_until(t, "n-1", "delivered", 3000));
        assert_int_equal(fake.n_sent, 2);
        assert_int_equal(attempts_of(t, "n-1"), 1);
        assert_true(fake.sent_usec[1] - fake.sent_usec[0] >= 200 * USEC_PER_MSEC);
        assert_int_equal(t->n_dead, 0);
}

static void test_unknown_notifier_and_malformed_row_are_dead(void **state)
{
        struct t *t = *state;

        add_row(t, "n-gone", "removed-robot", 0, NULL);
        add_row(t, "n-bad", "robot", 0, "{\"notification_id\": 5");
        start_outbox(t);
        outbox_dispatch(t->o);
        assert_true(run_until(t, "n-gone", "dead", 2000));
        assert_true(run_until(t, "n-bad", "dead", 2000));
        assert_string_equal(
            row_text(t, "SELECT last_error FROM notification WHERE id = ?1", "n-gone"),
            "no notifier \"removed-robot\" in doorwatch.json");
        assert_string_equal(
            row_text(t, "SELECT last_error FROM notification WHERE id = ?1", "n-bad"),
            "malformed notification");
        assert_int_equal(t->n_dead, 2);
        assert_int_equal(fake.n_sent, 0);
}

static void test_cancelled_send_stays_in_the_outbox(void **state)
{
        struct t *t = *state;

        fake.script[fake.n_script++] = (struct script_step){ HOLD, 0 };
        add_row(t, "n-1", "robot", 0, NULL);
        start_outbox(t);
        outbox_dispatch(t->o);
        assert_true(run_until(t, "n-1", "sending", 2000));
        assert_non_null(fake.held);
        assert_int_equal(outbox_n_inflight(t->o), 1);
        t->n = notifier_free(t->n); /* e.g. a reload: the callback runs with "cancelled" */
        assert_int_equal(outbox_n_inflight(t->o), 0);
        assert_string_equal(state_of(t, "n-1"), "pending");
        assert_int_equal(attempts_of(t, "n-1"), 0);
        assert_int_equal(t->n_dead, 0);
}

static void test_sending_rows_resume_after_a_crash(void **state)
{
        struct t *t = *state;

        add_row(t, "n-1", "robot", 0, NULL);
        assert_int_equal(store_begin(t->store), 0);
        assert_int_equal(store_set_notification_state(t->store, "n-1", NOTIFICATION_SENDING, 1,
                                                      now_realtime_usec(), NULL,
                                                      now_realtime_usec()),
                         0);
        assert_int_equal(store_commit(t->store), 0);
        start_outbox(t); /* requeues it */
        assert_string_equal(state_of(t, "n-1"), "pending");
        outbox_dispatch(t->o);
        assert_true(run_until(t, "n-1", "delivered", 2000));
        assert_int_equal(attempts_of(t, "n-1"), 2);
}

/* Freeing the outbox with a send in flight, then the context: no leak, no crash. */
static void test_outbox_freed_before_context(void **state)
{
        struct t *t = *state;

        fake.script[fake.n_script++] = (struct script_step){ HOLD, 0 };
        add_row(t, "n-1", "robot", 0, NULL);
        start_outbox(t);
        outbox_dispatch(t->o);
        assert_true(run_until(t, "n-1", "sending", 2000));
        t->o = outbox_free(t->o);
        t->nctx = notify_context_free(t->nctx);
        assert_string_equal(state_of(t, "n-1"), "sending");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_delivered, setup, teardown),
                cmocka_unit_test_setup_teardown(test_priority_in_backlog, setup, teardown),
                cmocka_unit_test_setup_teardown(test_retry_then_dead_after_max_attempts, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_dead_after_age, setup, teardown),
                cmocka_unit_test_setup_teardown(test_failed_is_dead_at_once, setup, teardown),
                cmocka_unit_test_setup_teardown(test_too_fast_is_not_an_attempt, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unknown_notifier_and_malformed_row_are_dead,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_cancelled_send_stays_in_the_outbox, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_sending_rows_resume_after_a_crash, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_outbox_freed_before_context, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

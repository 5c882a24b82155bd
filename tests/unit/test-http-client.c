/* test-http-client.c: http_client against a real HTTP server on loopback (tests/lib/http-sink).
 *
 * The sd-event loop is driven in bounded sd_event_run() steps until the completion
 * callback has run or a generous deadline passed; nothing sleeps. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "../lib/http-sink.h"
#include "http_client.h"
#include "util.h"

struct fixture {
        sd_event *event;
        struct http_client *client;
        struct http_sink *sink;
        char url[128];
};

struct result {
        bool done;
        int calls;
        CURLcode code;
        long status;
        char *body;
        size_t body_len;
        bool truncated;
        int64_t retry_after_usec;
};

static void on_done(const struct http_response *resp, void *userdata)
{
        struct result *r = userdata;

        r->done = true;
        r->calls++;
        r->code = resp->result;
        r->status = resp->status;
        r->body = malloc(resp->body_len + 1);
        memcpy(r->body, resp->body, resp->body_len + 1);
        r->body_len = resp->body_len;
        r->truncated = resp->truncated;
        r->retry_after_usec = resp->retry_after_usec;
}

static bool run_until(sd_event *e, const bool *flag, int64_t max_usec)
{
        int64_t end = now_monotonic_usec() + max_usec;
        while (!*flag && now_monotonic_usec() < end)
                assert_true(sd_event_run(e, 50 * USEC_PER_MSEC) >= 0);
        return *flag;
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        assert_int_equal(sd_event_new(&f->event), 0);
        assert_int_equal(http_client_new(f->event, &f->client), 0);
        assert_int_equal(http_sink_start(&f->sink), 0);
        snprintf(f->url, sizeof(f->url), "%s/hook?k=v", http_sink_url(f->sink));
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        http_client_free(f->client);
        http_sink_free(f->sink);
        sd_event_unref(f->event);
        free(f);
        return 0;
}

static void test_post_ok(void **state)
{
        struct fixture *f = *state;

        /* libcurl (and OpenSSL behind it) starts with the first request, not before. */
        assert_false(http_client_started(f->client));
        const char *headers[] = { "Content-Type: application/json", "X-Test: 1", NULL };
        const char body[] = "{\"a\":\"\xe9\x97\xa8\"}";
        struct result r = { 0 };

        http_sink_push(f->sink, &(struct http_sink_response){
                                    .status = 200,
                                    .body = "{\"errcode\":0}",
                                    .headers = (const char *const[]){ "X-Reply: yes", NULL } });
        assert_int_equal(http_client_post(f->client,
                                          &(struct http_request){ .url = f->url,
                                                                  .headers = headers,
                                                                  .body = body,
                                                                  .body_len = strlen(body) },
                                          on_done, &r, NULL),
                         0);
        assert_false(r.done); /* never synchronous */
        assert_true(http_client_started(f->client));
        assert_true(run_until(f->event, &r.done, 5 * USEC_PER_SEC));
        assert_int_equal(r.code, CURLE_OK);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "{\"errcode\":0}");
        assert_int_equal(http_client_n_calls(f->client), 0);

        const struct http_sink_request *q = http_sink_request(f->sink, 0);
        assert_non_null(q);
        assert_string_equal(q->method, "POST");
        assert_string_equal(q->target, "/hook?k=v");
        assert_string_equal(q->path, "/hook");
        assert_string_equal(q->body, body);
        assert_string_equal(http_sink_header(q, "content-type"), "application/json");
        assert_string_equal(http_sink_header(q, "X-Test"), "1");
        assert_null(http_sink_header(q, "Expect"));
        free(r.body);
}

static void test_status_and_retry_after(void **state)
{
        struct fixture *f = *state;
        struct result r = { 0 };

        http_sink_push(f->sink, &(struct http_sink_response){
                                    .status = 429,
                                    .body = "slow down",
                                    .headers = (const char *const[]){ "Retry-After: 7", NULL } });
        assert_int_equal(
            http_client_post(f->client, &(struct http_request){ .url = f->url }, on_done, &r, NULL),
            0);
        assert_true(run_until(f->event, &r.done, 5 * USEC_PER_SEC));
        assert_int_equal(r.code, CURLE_OK);
        assert_int_equal(r.status, 429);
        assert_int_equal(r.retry_after_usec, 7 * USEC_PER_SEC);
        assert_string_equal(r.body, "slow down");
        free(r.body);
}

static void test_timeout(void **state)
{
        struct fixture *f = *state;
        struct result r = { 0 };
        int64_t start = now_monotonic_usec();

        http_sink_push(f->sink, &(struct http_sink_response){ .status = 0 }); /* never answers */
        assert_int_equal(http_client_post(f->client,
                                          &(struct http_request){
                                              .url = f->url, .timeout_usec = 300 * USEC_PER_MSEC },
                                          on_done, &r, NULL),
                         0);
        assert_true(run_until(f->event, &r.done, 5 * USEC_PER_SEC));
        assert_int_equal(r.code, CURLE_OPERATION_TIMEDOUT);
        assert_int_equal(r.status, 0);
        assert_true(now_monotonic_usec() - start < 2 * USEC_PER_SEC);
        free(r.body);
}

static void test_sink_delay_and_wait(void **state)
{
        struct fixture *f = *state;
        struct result slow = { 0 }, late = { 0 };
        int64_t start = now_monotonic_usec();

        /* Nothing recorded yet: the wait gives up after its timeout. */
        assert_false(http_sink_wait(f->sink, 1, 50));
        /* Answered after 200 ms: within a 5 s timeout it arrives, after the delay. */
        http_sink_push(f->sink, &(struct http_sink_response){ .status = 201, .delay_ms = 200 });
        assert_int_equal(http_client_post(f->client, &(struct http_request){ .url = f->url },
                                          on_done, &slow, NULL),
                         0);
        assert_true(run_until(f->event, &slow.done, 5 * USEC_PER_SEC));
        assert_int_equal(slow.status, 201);
        assert_true(now_monotonic_usec() - start >= 200 * USEC_PER_MSEC);
        assert_true(http_sink_wait(f->sink, 1, 0));
        /* The same delay against a 100 ms timeout: timed out. */
        http_sink_push(f->sink, &(struct http_sink_response){ .status = 200, .delay_ms = 400 });
        assert_int_equal(http_client_post(f->client,
                                          &(struct http_request){
                                              .url = f->url, .timeout_usec = 100 * USEC_PER_MSEC },
                                          on_done, &late, NULL),
                         0);
        assert_true(run_until(f->event, &late.done, 5 * USEC_PER_SEC));
        assert_int_equal(late.code, CURLE_OPERATION_TIMEDOUT);
        free(slow.body);
        free(late.body);
}

static void test_refused(void **state)
{
        struct fixture *f = *state;
        struct sockaddr_in sa = { .sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(sa);
        struct result r = { 0 };
        char url[64];
        /* A bound socket that never listens: connecting to its port is refused. */
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
        snprintf(url, sizeof(url), "http://127.0.0.1:%u/", (unsigned)ntohs(sa.sin_port));
        assert_int_equal(
            http_client_post(f->client, &(struct http_request){ .url = url }, on_done, &r, NULL),
            0);
        assert_true(run_until(f->event, &r.done, 5 * USEC_PER_SEC));
        assert_int_equal(r.code, CURLE_COULDNT_CONNECT);
        close(fd);
        free(r.body);
}

static void test_protocols_and_redirects(void **state)
{
        struct fixture *f = *state;
        struct result r = { 0 }, r2 = { 0 };
        char target[160];

        assert_int_equal(http_client_post(f->client,
                                          &(struct http_request){ .url = "file:///etc/passwd" },
                                          on_done, &r, NULL),
                         0);
        assert_true(run_until(f->event, &r.done, 5 * USEC_PER_SEC));
        assert_int_equal(r.code, CURLE_UNSUPPORTED_PROTOCOL);

        snprintf(target, sizeof(target), "Location: %s/elsewhere", http_sink_url(f->sink));
        http_sink_push(f->sink,
                       &(struct http_sink_response){
                           .status = 302, .headers = (const char *const[]){ target, NULL } });
        assert_int_equal(http_client_post(f->client, &(struct http_request){ .url = f->url },
                                          on_done, &r2, NULL),
                         0);
        assert_true(run_until(f->event, &r2.done, 5 * USEC_PER_SEC));
        assert_int_equal(r2.status, 302);
        assert_int_equal(http_sink_n_requests(f->sink), 1); /* not followed */
        free(r.body);
        free(r2.body);
}

static void test_truncated(void **state)
{
        struct fixture *f = *state;
        size_t n = HTTP_CLIENT_MAX_RESPONSE + 1000;
        char *big = malloc(n + 1);
        struct result r = { 0 };

        memset(big, 'x', n);
        big[n] = 0;
        http_sink_push(f->sink, &(struct http_sink_response){ .status = 200, .body = big });
        free(big);
        assert_int_equal(
            http_client_post(f->client, &(struct http_request){ .url = f->url }, on_done, &r, NULL),
            0);
        assert_true(run_until(f->event, &r.done, 5 * USEC_PER_SEC));
        assert_int_equal(r.code, CURLE_OK);
        assert_true(r.truncated);
        assert_int_equal(r.body_len, HTTP_CLIENT_MAX_RESPONSE);
        free(r.body);
}

static void test_cancel_and_free_in_flight(void **state)
{
        struct fixture *f = *state;
        struct result r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
        struct http_call *c1;

        http_sink_set_default(f->sink, &(struct http_sink_response){ .status = 0 });
        assert_int_equal(
            http_client_post(f->client, &(struct http_request){ .url = f->url }, on_done, &r1, &c1),
            0);
        assert_int_equal(http_client_post(f->client, &(struct http_request){ .url = f->url },
                                          on_done, &r2, NULL),
                         0);
        /* Let both connect and send. */
        assert_true(http_sink_n_requests(f->sink) == 0);
        for (int i = 0; i < 200 && http_sink_n_requests(f->sink) < 2; i++)
                assert_true(sd_event_run(f->event, 10 * USEC_PER_MSEC) >= 0);
        assert_int_equal(http_sink_n_requests(f->sink), 2);
        http_call_cancel(c1);
        assert_int_equal(http_client_n_calls(f->client), 1);
        /* Many concurrent requests, then free with all of them in flight: no callback. */
        for (int i = 0; i < 8; i++)
                assert_int_equal(http_client_post(f->client,
                                                  &(struct http_request){ .url = f->url }, on_done,
                                                  &r3, NULL),
                                 0);
        for (int i = 0; i < 5; i++)
                assert_true(sd_event_run(f->event, 10 * USEC_PER_MSEC) >= 0);
        f->client = http_client_free(f->client);
        assert_false(r1.done);
        assert_false(r2.done);
        assert_int_equal(r3.calls, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_post_ok, setup, teardown),
                cmocka_unit_test_setup_teardown(test_status_and_retry_after, setup, teardown),
                cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sink_delay_and_wait, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_protocols_and_redirects, setup, teardown),
                cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cancel_and_free_in_flight, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

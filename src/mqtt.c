/* mqtt.c: libmosquitto on sd-event (see platform-notes §2).
 *
 * Sources: `io` watches the current socket (EPOLLIN always, EPOLLOUT while libmosquitto
 * has output the kernel did not take), `misc` calls mosquitto_loop_misc() every second for
 * keepalive, and `retry` is the reconnect timer. A wake-up of `io` reads a burst, hands it
 * to on_read_done (the daemon commits there), then writes what libmosquitto queued while
 * in its callbacks (it only queues there: e.g. replies to commands), so a message costs
 * one loop iteration. Every other entry into libmosquitto writes at once and asks for
 * EPOLLOUT only if the socket did not take everything.
 * Invariant: `io` exists iff libmosquitto owns an open socket; it is always dropped
 * before reconnecting, because the new socket may reuse the same fd number. A failure to
 * connect is named once with its cause (refused login, TLS: unknown CA or host name, client
 * certificate; a refused or unreachable port), then summed up every 10 attempts. */
#include "mqtt.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "log.h"
#include "topic.h"
#include "util.h"

#define BACKOFF_BASE_USEC (500 * USEC_PER_MSEC)
#define BACKOFF_MAX_USEC  (30 * USEC_PER_SEC)
/* Packets read in one wake-up at most (see on_io): one commit for a burst; their PUBACKs
 * wait for it, so a larger burst risks nothing and costs fewer commits. */
#define READ_BURST_MAX 256

struct mqtt {
        sd_event *event;
        struct mosquitto *mosq;
        struct mqtt_callbacks cb;
        void *userdata;

        char *host;
        int port;
        int keepalive_sec;
        char *client_id;
        char *status_topic;

        sd_event_source *io;
        sd_event_source *misc;
        sd_event_source *retry;

        char **subs;
        size_t n_subs;
        int sub_mid; /* SUBSCRIBE of new filters awaiting its SUBACK, 0 = none */

        bool connected;
        bool stopping;
        bool reading;       /* inside on_io's read burst and its commit: output only queues */
        bool in_lib;        /* inside a mosquitto_loop_*() call (callbacks must not write) */
        bool output_paused; /* mqtt_pause_output(): nothing is written while connected */
        bool input_paused;  /* mqtt_pause_input(): the socket is not read */
        unsigned attempt;
        uint64_t reconnects;
        int64_t disconnected_since_usec;
        bool ever_connected;

        /* Why connecting fails: named once at warning level when it starts or changes, then
         * summed up every RETRY_SUMMARY_EVERY attempts (see connect_failed()). */
        char cause[512];
        char lib_error[256]; /* libmosquitto's last error line (TLS: OpenSSL's) */
        char refusal[160];   /* the CONNACK's reason, when the broker refused the login */
        unsigned failures;   /* attempts in a row with this cause */
        bool vague_pending;  /* a vague cause seen once, not logged yet (connect_failed()) */
        char *ca_file, *cert_file;
};

#define RETRY_SUMMARY_EVERY 10

static void schedule_reconnect(struct mqtt *m);
static void connect_failed(struct mqtt *m, int rc);

int64_t mqtt_backoff_usec(unsigned attempt, double jitter01)
{
        int64_t d = BACKOFF_BASE_USEC;
        for (unsigned i = 0; i < attempt && d < BACKOFF_MAX_USEC; i++)
                d *= 2;
        if (d > BACKOFF_MAX_USEC)
                d = BACKOFF_MAX_USEC;
        return (int64_t)((double)d * (0.5 + 0.5 * jitter01));
}

static void drop_io(struct mqtt *m)
{
        m->io = sd_event_source_disable_unref(m->io);
}

void mqtt_describe_failure(const struct mqtt_config *cfg, int rc, const char *refusal,
                           const char *lib_error, char *buf, size_t size)
{
        const char *e = lib_error ? lib_error : "";

        if (refusal && *refusal)
                snprintf(buf, size, "the broker refused the login: %.150s", refusal);
        else if (cfg->ca_file && *e) {
                if (strstr(e, "certificate verify failed"))
                        snprintf(buf, size,
                                 "TLS: the broker's certificate was not accepted (certificate "
                                 "verify failed): it is not signed by mqtt.tls.ca_file %.100s "
                                 "(unknown CA), or it does not name the host %.100s",
                                 cfg->ca_file, cfg->host);
                else if (strstr(e, "certificate required") || strstr(e, "bad certificate") ||
                         strstr(e, "unknown ca") || strstr(e, "handshake failure"))
                        snprintf(buf, size,
                                 "TLS: the broker refused the client certificate "
                                 "(mqtt.tls.cert_file %.100s): %.200s",
                                 cfg->cert_file ? cfg->cert_file : "none", e);
                else if (strstr(e, "wrong version number") || strstr(e, "packet length too long"))
                        snprintf(buf, size,
                                 "TLS: the broker does not speak TLS on port %d (%.200s)",
                                 cfg->port, e);
                else
                        snprintf(buf, size, "TLS: %.250s", e);
        } else if (rc == MOSQ_ERR_ERRNO)
                snprintf(buf, size, "%s", strerror(errno));
        else
                snprintf(buf, size, "%s", mosquitto_strerror(rc));
}

/* An attempt to connect failed (rc: libmosquitto's code). The cause is logged at warning
 * level once, when it first appears or changes; the same cause again is counted and summed
 * up every RETRY_SUMMARY_EVERY attempts, so a wrong password or CA is one line, not one
 * per retry. */
static void connect_failed(struct mqtt *m, int rc)
{
        struct mqtt_config cfg = {
                .host = m->host, .port = m->port, .ca_file = m->ca_file, .cert_file = m->cert_file
        };
        char cause[sizeof(m->cause)];

        /* Over TLS a refused handshake may surface first as a closed socket (EBADF,
         * ECONNRESET, EPIPE) before the TLS alert is read: such a vague cause does not
         * replace a TLS cause named already, and is named itself only when it comes twice
         * in a row (so a TLS failure is one line, not "Bad file descriptor" and then it). */
        bool vague = m->ca_file && !m->refusal[0] && !m->lib_error[0] &&
                     (rc == MOSQ_ERR_ERRNO || rc == MOSQ_ERR_CONN_LOST) &&
                     (errno == EBADF || errno == ECONNRESET || errno == EPIPE);

        mqtt_describe_failure(&cfg, rc, m->refusal, m->lib_error, cause, sizeof(cause));
        m->refusal[0] = m->lib_error[0] = 0;
        if (vague && (strncmp(m->cause, "TLS", 3) == 0 || !m->vague_pending)) {
                m->vague_pending = strncmp(m->cause, "TLS", 3) != 0;
                if (m->cause[0] && ++m->failures % RETRY_SUMMARY_EVERY == 0)
                        log_info("mqtt: %s:%d still unreachable after %u attempts: %s", m->host,
                                 m->port, m->failures, m->cause);
                return;
        }
        m->vague_pending = false;
        if (strcmp(cause, m->cause) != 0) {
                snprintf(m->cause, sizeof(m->cause), "%s", cause);
                m->failures = 1;
                log_warn("mqtt: cannot connect to %s:%d: %s; retrying", m->host, m->port, cause);
                return;
        }
        if (++m->failures % RETRY_SUMMARY_EVERY == 0)
                log_info("mqtt: %s:%d still unreachable after %u attempts: %s", m->host, m->port,
                         m->failures, cause);
}

static void cb_log(struct mosquitto *mosq, void *userdata, int level, const char *str)
{
        struct mqtt *m = userdata;

        if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING))
                snprintf(m->lib_error, sizeof(m->lib_error), "%s", str);
}

/* The connection is gone (libmosquitto has closed the socket already). */
static void connection_lost(struct mqtt *m, int rc)
{
        bool was_connected = m->connected;

        drop_io(m);
        m->connected = false;
        if (m->sub_mid) {
                m->sub_mid = 0;
                if (m->cb.on_subscribed)
                        m->cb.on_subscribed(m, m->userdata);
        }
        if (m->disconnected_since_usec == 0)
                m->disconnected_since_usec = now_monotonic_usec();
        if (was_connected) {
                log_warn("mqtt: connection to %s:%d lost: %s", m->host, m->port,
                         mosquitto_strerror(rc));
                if (m->cb.on_disconnect)
                        m->cb.on_disconnect(m, m->userdata);
        } else if (!m->stopping)
                connect_failed(m, rc);
        if (!m->stopping)
                schedule_reconnect(m);
}

static bool socket_readable(struct mqtt *m)
{
        int fd = mosquitto_socket(m->mosq), n = 0;
        return fd >= 0 && ioctl(fd, FIONREAD, &n) == 0 && n > 0;
}

/* TCP_CORK on the broker connection (plain TCP or TLS underneath); false if not set. */
static bool set_cork(struct mqtt *m, bool on)
{
        int fd = mosquitto_socket(m->mosq), v = on;
        return fd >= 0 && setsockopt(fd, IPPROTO_TCP, TCP_CORK, &v, sizeof(v)) == 0;
}

/* EPOLLOUT only while libmosquitto holds output (no system call when unchanged). */
static void update_interest(struct mqtt *m)
{
        if (m->io && !m->reading)
                sd_event_source_set_io_events(
                    m->io, (m->input_paused && m->connected ? 0 : EPOLLIN) |
                               (mosquitto_want_write(m->mosq) && !(m->connected && m->output_paused)
                                    ? EPOLLOUT
                                    : 0));
}

/* Writes what libmosquitto queued (it only queues: threaded mode, see mqtt_new()), unless
 * paused or inside libmosquitto; corked when several packets wait (one TCP segment for a
 * burst's PUBACKs instead of one each). */
static void flush_output(struct mqtt *m, bool cork)
{
        bool corked = false;
        int rc;

        if (!m->io || m->in_lib || m->reading || (m->connected && m->output_paused) ||
            !mosquitto_want_write(m->mosq)) {
                update_interest(m);
                return;
        }
        if (cork)
                corked = set_cork(m, true);
        m->in_lib = true;
        rc = mosquitto_loop_write(m->mosq, 1);
        m->in_lib = false;
        if (corked && mosquitto_socket(m->mosq) >= 0)
                set_cork(m, false);
        if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(m->mosq) < 0)
                connection_lost(m, rc);
        else
                update_interest(m);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct mqtt *m = userdata;
        int rc = MOSQ_ERR_SUCCESS, n = 0;

        /* mosquitto_loop_read() reads one packet, or more while our own publishes await
         * their PUBACK (it reads on as long as errno is not EAGAIN after a packet).
         * Reading on while the socket holds data lets a burst of messages share one loop
         * iteration, hence one database commit, instead of paying an epoll round and a
         * commit for each. The burst's PUBACKs wait in libmosquitto's queue until after
         * on_read_done (the commit): the broker sees a message acknowledged only once it
         * is stored, and redelivers it if the daemon dies before. */
        if (revents & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                m->reading = true;
                m->in_lib = true;
                rc = mosquitto_loop_read(m->mosq, 1);
                for (n = 1; rc == MOSQ_ERR_SUCCESS && n < READ_BURST_MAX && socket_readable(m); n++)
                        rc = mosquitto_loop_read(m->mosq, 1);
                m->in_lib = false;
                /* What was read is committed also when the connection broke meanwhile (the
                 * loss is handled first, so nothing tries to send over it). */
                if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(m->mosq) < 0)
                        connection_lost(m, rc);
                if (m->cb.on_read_done)
                        m->cb.on_read_done(m, m->userdata);
                m->reading = false;
                if (!m->io)
                        return 0;
        }
        /* Before the CONNACK, the CONNECT waits for EPOLLOUT (the TCP connect may still be
         * in progress); after it, what the burst and its commit queued goes now. */
        flush_output(m, n > 1);
        return 0;
}

static int add_io(struct mqtt *m)
{
        int fd = mosquitto_socket(m->mosq);
        int r;

        drop_io(m);
        if (fd < 0)
                return -ENOTCONN;
        r = sd_event_add_io(m->event, &m->io, fd, EPOLLIN | EPOLLOUT, on_io, m);
        if (r < 0)
                return r;
        sd_event_source_set_description(m->io, "mqtt-io");
        return 0;
}

static int on_misc(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct mqtt *m = userdata;

        sd_event_source_set_time_relative(s, USEC_PER_SEC);
        if (m->io) {
                int rc;

                m->in_lib = true;
                rc = mosquitto_loop_misc(m->mosq);
                m->in_lib = false;
                if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(m->mosq) < 0)
                        connection_lost(m, rc);
                else
                        flush_output(m, false); /* a PINGREQ */
        }
        return 0;
}

static int try_connect(struct mqtt *m)
{
        int rc;

        drop_io(m);
        if (!m->ever_connected && m->attempt == 0)
                rc = mosquitto_connect_async(m->mosq, m->host, m->port, m->keepalive_sec);
        else
                rc = mosquitto_reconnect_async(m->mosq);
        if (rc != MOSQ_ERR_SUCCESS) {
                connect_failed(m, rc);
                return -ECONNREFUSED;
        }
        return add_io(m);
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct mqtt *m = userdata;

        m->attempt++;
        if (try_connect(m) < 0)
                schedule_reconnect(m);
        return 0;
}

static void schedule_reconnect(struct mqtt *m)
{
        int64_t d = mqtt_backoff_usec(m->attempt, (double)random() / (double)RAND_MAX);

        log_debug("mqtt: %s:%d: retrying in %.1fs (attempt %u)", m->host, m->port, (double)d / 1e6,
                  m->attempt + 1);
        if (!m->retry) {
                if (sd_event_add_time_relative(m->event, &m->retry, CLOCK_MONOTONIC, (uint64_t)d,
                                               10 * USEC_PER_MSEC, on_retry, m) < 0)
                        return;
                sd_event_source_set_description(m->retry, "mqtt-retry");
        } else
                sd_event_source_set_time_relative(m->retry, (uint64_t)d);
        sd_event_source_set_enabled(m->retry, SD_EVENT_ONESHOT);
}

static void subscribe_all(struct mqtt *m)
{
        if (m->n_subs == 0)
                return;
        int rc = mosquitto_subscribe_multiple(m->mosq, NULL, (int)m->n_subs, m->subs, 1, 0, NULL);
        if (rc != MOSQ_ERR_SUCCESS)
                log_err("mqtt: subscribe failed: %s", mosquitto_strerror(rc));
}

static void cb_connect(struct mosquitto *mosq, void *userdata, int rc, int flags)
{
        struct mqtt *m = userdata;

        if (rc != 0) {
                /* Named by connect_failed() when the broker closes the socket. */
                snprintf(m->refusal, sizeof(m->refusal), "%s", mosquitto_connack_string(rc));
                return;
        }
        if (m->failures > 0)
                log_info("mqtt: %s:%d reachable again after %u failed attempts (%s)", m->host,
                         m->port, m->failures, m->cause);
        m->cause[0] = m->lib_error[0] = m->refusal[0] = 0;
        m->vague_pending = false;
        m->failures = 0;
        m->connected = true;
        m->attempt = 0;
        if (m->ever_connected)
                m->reconnects++;
        if (m->ever_connected && !(flags & 1))
                log_warn("mqtt: connected to %s:%d as %s, but the broker has no session for it "
                         "any more (session present: no): what it had queued for the daemon "
                         "meanwhile is lost",
                         m->host, m->port, m->client_id);
        else
                log_info("mqtt: connected to %s:%d as %s (session %s)", m->host, m->port,
                         m->client_id, (flags & 1) ? "resumed" : "new");
        m->ever_connected = true;
        m->disconnected_since_usec = 0;
        subscribe_all(m);
        mosquitto_publish(mosq, NULL, m->status_topic, 6, "online", 1, true);
        if (m->cb.on_connect)
                m->cb.on_connect(m, flags & 1, m->userdata);
}

static void cb_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *msg)
{
        struct mqtt *m = userdata;
        if (m->cb.on_message)
                m->cb.on_message(m, msg, m->userdata);
}

static void cb_subscribe(struct mosquitto *mosq, void *userdata, int mid, int qos_count,
                         const int *granted_qos)
{
        struct mqtt *m = userdata;

        for (int i = 0; i < qos_count; i++)
                if (granted_qos[i] > 2)
                        log_err("mqtt: the broker refused a subscription (ACL?); some topics "
                                "are not received");
        if (mid != m->sub_mid || mid == 0)
                return;
        m->sub_mid = 0;
        if (m->cb.on_subscribed)
                m->cb.on_subscribed(m, m->userdata);
}

static void cb_publish(struct mosquitto *mosq, void *userdata, int mid)
{
        struct mqtt *m = userdata;
        if (m->cb.on_publish)
                m->cb.on_publish(m, mid, m->userdata);
}

int mqtt_new(sd_event *e, const struct mqtt_config *cfg, const char *password,
             const struct mqtt_callbacks *cb, void *userdata, struct mqtt **ret)
{
        struct mqtt *m;
        int rc, r;

        mosquitto_lib_init();
        m = xcalloc(1, sizeof(*m));
        m->event = sd_event_ref(e);
        m->cb = *cb;
        m->userdata = userdata;
        m->host = xstrdup(cfg->host);
        m->port = cfg->port;
        m->keepalive_sec = cfg->keepalive_sec;
        m->client_id = xstrdup(cfg->client_id);
        m->status_topic = topic_new(cfg->topic_prefix, TOPIC_DAEMON, cfg->client_id, TOPIC_STATUS);
        m->mosq = mosquitto_new(cfg->client_id, /* clean_session */ false, m);
        if (!m->mosq) /* a client id is given: only out of memory */
                abort();
        /* "Threaded": libmosquitto queues every packet instead of writing it at once, the
         * PUBACK of a QoS 1 message included (without it, the PUBACK went out before
         * on_message even ran). on_io writes the queue after the commit. */
        mosquitto_threaded_set(m->mosq, true);
        mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
        mosquitto_max_inflight_messages_set(m->mosq, 1000);
        mosquitto_connect_with_flags_callback_set(m->mosq, cb_connect);
        mosquitto_message_callback_set(m->mosq, cb_message);
        mosquitto_publish_callback_set(m->mosq, cb_publish);
        mosquitto_subscribe_callback_set(m->mosq, cb_subscribe);
        mosquitto_log_callback_set(m->mosq, cb_log);
        m->ca_file = cfg->ca_file ? xstrdup(cfg->ca_file) : NULL;
        m->cert_file = cfg->cert_file ? xstrdup(cfg->cert_file) : NULL;
        rc = mosquitto_will_set(m->mosq, m->status_topic, 7, "offline", 1, true);
        if (rc == MOSQ_ERR_SUCCESS && cfg->username)
                rc = mosquitto_username_pw_set(m->mosq, cfg->username, password);
        if (rc != MOSQ_ERR_SUCCESS) {
                log_err("mqtt: setting up client: %s", mosquitto_strerror(rc));
                mqtt_free(m);
                return -EINVAL;
        }
        if (cfg->ca_file) {
                rc = mosquitto_tls_set(m->mosq, cfg->ca_file, NULL, cfg->cert_file, cfg->key_file,
                                       NULL);
                if (rc != MOSQ_ERR_SUCCESS) {
                        /* libmosquitto says "invalid arguments" for a file it cannot read. */
                        log_err("mqtt: TLS with ca_file %s, cert_file %s, key_file %s: %s%s%s",
                                cfg->ca_file, cfg->cert_file ? cfg->cert_file : "none",
                                cfg->key_file ? cfg->key_file : "none", mosquitto_strerror(rc),
                                m->lib_error[0] ? ": " : "", m->lib_error);
                        mqtt_free(m);
                        return -EINVAL;
                }
        }
        r = sd_event_add_time_relative(e, &m->misc, CLOCK_MONOTONIC, USEC_PER_SEC,
                                       100 * USEC_PER_MSEC, on_misc, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->misc, SD_EVENT_ON);
        if (r < 0) {
                mqtt_free(m);
                return r;
        }
        m->disconnected_since_usec = now_monotonic_usec();
        *ret = m;
        return 0;
}

struct mqtt *mqtt_free(struct mqtt *m)
{
        if (!m)
                return NULL;
        drop_io(m);
        m->misc = sd_event_source_disable_unref(m->misc);
        m->retry = sd_event_source_disable_unref(m->retry);
        if (m->mosq)
                mosquitto_destroy(m->mosq);
        for (size_t i = 0; i < m->n_subs; i++)
                free(m->subs[i]);
        free(m->subs);
        free(m->host);
        free(m->ca_file);
        free(m->cert_file);
        free(m->client_id);
        free(m->status_topic);
        sd_event_unref(m->event);
        free(m);
        mosquitto_lib_cleanup();
        return NULL;
}

int mqtt_start(struct mqtt *m)
{
        log_info("mqtt: connecting to %s:%d", m->host, m->port);
        if (try_connect(m) < 0)
                schedule_reconnect(m);
        return 0;
}

void mqtt_stop(struct mqtt *m)
{
        if (!m)
                return;
        m->stopping = true;
        m->retry = sd_event_source_disable_unref(m->retry);
        if (m->connected && m->output_paused) {
                /* Queued PUBACKs of messages not stored must not go out: drop the
                 * connection; the broker publishes the will and redelivers them. */
                log_warn("mqtt: stopping with acknowledgements withheld; the broker will "
                         "deliver those messages again");
        } else if (m->connected) {
                /* Write the retained offline and DISCONNECT synchronously, bounded. */
                mosquitto_publish(m->mosq, NULL, m->status_topic, 7, "offline", 1, true);
                mosquitto_disconnect(m->mosq);
                for (int i = 0; i < 100 && mosquitto_want_write(m->mosq); i++)
                        if (mosquitto_loop_write(m->mosq, 1) != MOSQ_ERR_SUCCESS)
                                break;
        }
        drop_io(m);
        m->connected = false;
}

static bool has_filter(char *const *list, size_t n, const char *f)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(list[i], f) == 0)
                        return true;
        return false;
}

int mqtt_set_subscriptions(struct mqtt *m, char *const *filters, size_t n)
{
        char **subs = xcalloc(n ? n : 1, sizeof(char *));
        char **added = xcalloc(n ? n : 1, sizeof(char *));
        size_t n_added = 0;
        int r = 0;

        for (size_t i = 0; i < n; i++)
                subs[i] = xstrdup(filters[i]);
        if (m->connected) {
                for (size_t i = 0; i < m->n_subs; i++)
                        if (!has_filter(subs, n, m->subs[i]))
                                mosquitto_unsubscribe(m->mosq, NULL, m->subs[i]);
                for (size_t i = 0; i < n; i++)
                        if (!has_filter(m->subs, m->n_subs, subs[i]))
                                added[n_added++] = subs[i];
                /* One SUBSCRIBE for all new filters, so one SUBACK says they are active. */
                if (n_added > 0) {
                        int mid = 0;
                        int rc = mosquitto_subscribe_multiple(m->mosq, &mid, (int)n_added, added, 1,
                                                              0, NULL);
                        if (rc == MOSQ_ERR_SUCCESS) {
                                m->sub_mid = mid;
                                r = 1;
                        } else
                                log_err("mqtt: subscribe failed: %s", mosquitto_strerror(rc));
                }
                update_interest(m);
        }
        free(added);
        for (size_t i = 0; i < m->n_subs; i++)
                free(m->subs[i]);
        free(m->subs);
        m->subs = subs;
        m->n_subs = n;
        return r;
}

void mqtt_pause_input(struct mqtt *m, bool pause)
{
        if (!m || m->input_paused == pause)
                return;
        m->input_paused = pause;
        update_interest(m);
}

void mqtt_pause_output(struct mqtt *m, bool pause)
{
        if (!m || m->output_paused == pause)
                return;
        m->output_paused = pause;
        flush_output(m, true);
}

int mqtt_publish(struct mqtt *m, const char *topic, const void *payload, size_t len, int qos,
                 bool retain, int *ret_mid)
{
        int rc = mosquitto_publish(m->mosq, ret_mid, topic, (int)len, payload, qos, retain);

        flush_output(m, false); /* what the socket does not take waits for EPOLLOUT */
        if (rc == MOSQ_ERR_NO_CONN)
                return MQTT_E_NOT_CONNECTED;
        if (rc != MOSQ_ERR_SUCCESS) {
                log_warn("mqtt: publish to %s failed: %s", topic, mosquitto_strerror(rc));
                return -EIO;
        }
        return 0;
}

bool mqtt_connected(const struct mqtt *m)
{
        return m && m->connected;
}

uint64_t mqtt_reconnects(const struct mqtt *m)
{
        return m->reconnects;
}

int64_t mqtt_disconnected_since_usec(const struct mqtt *m)
{
        return m->connected ? 0 : m->disconnected_since_usec;
}

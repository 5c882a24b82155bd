/* service.c: sd_notify protocol, status line and watchdog (see service.h).
 *
 * Watchdog: sd_event_set_watchdog() would ping from inside sd-event whenever the loop
 * iterates, which proves only that the loop is not stuck. The failure that matters more
 * here is a database that no longer takes writes (disk full, file system remounted
 * read-only, I/O errors): libmosquitto acknowledges every message to the broker before
 * we see it (platform-notes §1), so a daemon that keeps running without being able to
 * commit silently loses door events, while a stopped one makes the broker queue them in
 * our persistent session. So we run our own timer at half $WATCHDOG_USEC and send
 * WATCHDOG=1 only while the owner's health check (the database takes writes) passes;
 * systemd then restarts us after WatchdogSec= (Restart=on-failure) and the broker hands
 * the queued events to the new process. A broker outage is not a reason to withhold the
 * ping: restarting does not help there and the MQTT client reconnects by itself. The
 * timer lives in the same loop, so a stuck loop stops the pings too.
 *
 * Status: the text is rebuilt by the owner's callback at most once a second (a change
 * only arms the timer) and at least once a minute (households enter and leave
 * observation with time), and sent only when it differs from the last one. */
#include "service.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "log.h"
#include "util.h"

#define STATUS_MIN_INTERVAL_USEC (1 * USEC_PER_SEC)
#define STATUS_REFRESH_USEC      (60 * USEC_PER_SEC)
#define STATUS_MAX               256

struct service {
        sd_event *event;
        struct service_callbacks cb;
        void *userdata;

        sd_event_source *status_timer; /* CLOCK_MONOTONIC */
        uint64_t status_sent_usec;     /* monotonic; 0 = never */
        char status[STATUS_MAX];       /* last sent */

        sd_event_source *watchdog_timer; /* CLOCK_MONOTONIC, NULL when no watchdog */
        uint64_t watchdog_interval_usec;
        bool unhealthy; /* pings are being withheld */

        bool ready;
        bool stopping;
};

static uint64_t mono_now(struct service *s)
{
        uint64_t now = 0;
        if (sd_event_now(s->event, CLOCK_MONOTONIC, &now) < 0)
                now = (uint64_t)now_monotonic_usec();
        return now;
}

static void build_status(struct service *s, char *buf, size_t size)
{
        buf[0] = 0;
        if (s->cb.status)
                s->cb.status(buf, size, s->userdata);
        buf[strcspn(buf, "\n")] = 0; /* one line: a newline would start a new assignment */
}

/* Sends STATUS= when the text changed. */
static void send_status(struct service *s)
{
        char buf[STATUS_MAX];

        build_status(s, buf, sizeof(buf));
        s->status_sent_usec = mono_now(s);
        if (strcmp(buf, s->status) == 0)
                return;
        snprintf(s->status, sizeof(s->status), "%s", buf);
        sd_notifyf(0, "STATUS=%s", buf);
}

static void arm_status(struct service *s, uint64_t at_usec)
{
        uint64_t cur = 0;
        int enabled = SD_EVENT_OFF;

        if (!s->status_timer)
                return;
        sd_event_source_get_enabled(s->status_timer, &enabled);
        sd_event_source_get_time(s->status_timer, &cur);
        if (enabled != SD_EVENT_OFF && cur <= at_usec)
                return; /* already due earlier */
        sd_event_source_set_time(s->status_timer, at_usec);
        sd_event_source_set_enabled(s->status_timer, SD_EVENT_ONESHOT);
}

static int on_status_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
        struct service *s = userdata;

        if (s->stopping)
                return 0;
        send_status(s);
        arm_status(s, s->status_sent_usec + STATUS_REFRESH_USEC);
        return 0;
}

void service_status_changed(struct service *s)
{
        uint64_t at;

        if (!s || !s->ready || s->stopping)
                return;
        at = s->status_sent_usec + STATUS_MIN_INTERVAL_USEC;
        arm_status(s, MAX(at, mono_now(s)));
}

static void watchdog_ping(struct service *s)
{
        bool healthy = !s->cb.healthy || s->cb.healthy(s->userdata);

        if (!healthy) {
                if (!s->unhealthy)
                        log_err("watchdog: the database takes no writes; withholding WATCHDOG=1 "
                                "so that systemd restarts doorwatchd and the broker keeps "
                                "the events meanwhile");
                s->unhealthy = true;
                return;
        }
        if (s->unhealthy)
                log_notice("watchdog: the database takes writes again; pings resumed");
        s->unhealthy = false;
        sd_notify(0, "WATCHDOG=1");
}

static int on_watchdog_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
        struct service *s = userdata;

        watchdog_ping(s);
        sd_event_source_set_time(src, usec + s->watchdog_interval_usec);
        return 0;
}

int service_new(sd_event *e, const struct service_callbacks *cb, void *userdata,
                struct service **ret)
{
        struct service *s = xcalloc(1, sizeof(*s));
        uint64_t wd_usec = 0;
        int r;

        s->event = sd_event_ref(e);
        s->cb = *cb;
        s->userdata = userdata;

        r = sd_event_add_time(e, &s->status_timer, CLOCK_MONOTONIC, UINT64_MAX, 10 * USEC_PER_MSEC,
                              on_status_timer, s);
        if (r < 0)
                goto fail;
        sd_event_source_set_enabled(s->status_timer, SD_EVENT_OFF);
        sd_event_source_set_description(s->status_timer, "sd-notify-status");

        /* > 0 when $WATCHDOG_USEC is set and $WATCHDOG_PID, if set, is us. */
        r = sd_watchdog_enabled(0, &wd_usec);
        if (r < 0)
                log_warn_errno(r, "watchdog: ignoring invalid $WATCHDOG_USEC/$WATCHDOG_PID");
        if (r > 0 && wd_usec >= 2) {
                uint64_t acc;

                s->watchdog_interval_usec = wd_usec / 2;
                acc = MAX(s->watchdog_interval_usec / 20, (uint64_t)USEC_PER_MSEC);
                /* Keeps the ping within 55% of the interval even when timers coalesce. */
                r = sd_event_add_time_relative(e, &s->watchdog_timer, CLOCK_MONOTONIC,
                                               s->watchdog_interval_usec, acc, on_watchdog_timer,
                                               s);
                if (r < 0)
                        goto fail;
                sd_event_source_set_enabled(s->watchdog_timer, SD_EVENT_ON);
                sd_event_source_set_description(s->watchdog_timer, "sd-notify-watchdog");
                log_info("watchdog: WATCHDOG=1 every %.3fs while the database takes writes",
                         (double)s->watchdog_interval_usec / 1e6);
        }
        *ret = s;
        return 0;
fail:
        service_free(s);
        return r;
}

struct service *service_free(struct service *s)
{
        if (!s)
                return NULL;
        s->status_timer = sd_event_source_disable_unref(s->status_timer);
        s->watchdog_timer = sd_event_source_disable_unref(s->watchdog_timer);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

void service_ready(struct service *s)
{
        char buf[STATUS_MAX];

        if (!s || s->stopping)
                return;
        build_status(s, buf, sizeof(buf));
        snprintf(s->status, sizeof(s->status), "%s", buf);
        s->status_sent_usec = mono_now(s);
        s->ready = true;
        sd_notifyf(0, "READY=1\nSTATUS=%s", buf);
        if (s->watchdog_timer)
                watchdog_ping(s);
        arm_status(s, s->status_sent_usec + STATUS_REFRESH_USEC);
}

void service_reloading(struct service *s)
{
        struct timespec ts;
        uint64_t now;

        if (!s || s->stopping)
                return;
        /* MONOTONIC_USEC is CLOCK_MONOTONIC at the time of the reload request (systemd
         * matches it against its own reload start); read the clock, not the cached loop
         * time. */
        clock_gettime(CLOCK_MONOTONIC, &ts);
        now = (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
        snprintf(s->status, sizeof(s->status), "reloading the configuration");
        sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=%s", (unsigned long long)now,
                   s->status);
}

void service_stopping(struct service *s)
{
        if (!s || s->stopping)
                return;
        s->stopping = true;
        sd_event_source_set_enabled(s->status_timer, SD_EVENT_OFF);
        sd_event_source_set_enabled(s->watchdog_timer, SD_EVENT_OFF);
        sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

uint64_t service_watchdog_interval_usec(const struct service *s)
{
        return s ? s->watchdog_interval_usec : 0;
}

/* service.h: talking to systemd as a Type=notify service (sd_notify(3)).
 *
 * READY=1 after start and after each reload, RELOADING=1 (with MONOTONIC_USEC=) before a
 * reload, STOPPING=1 on shutdown, STATUS= kept current but sent at most once a second,
 * and WATCHDOG=1 from an own timer at half $WATCHDOG_USEC that pings only while the
 * owner's health check passes (see service.c for why). Everything is a no-op when the
 * daemon does not run under systemd ($NOTIFY_SOCKET unset). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

struct service;

struct service_callbacks {
        /* Writes the one-line status text (without "STATUS="). */
        void (*status)(char *buf, size_t size, void *userdata);
        /* True while the daemon can do its job; WATCHDOG=1 is withheld otherwise. May be
         * NULL (always healthy). */
        bool (*healthy)(void *userdata);
};

int service_new(sd_event *e, const struct service_callbacks *cb, void *userdata,
                struct service **ret);
struct service *service_free(struct service *s);

/* READY=1 and the current STATUS=; the first WATCHDOG=1 goes out at once. */
void service_ready(struct service *s);
/* RELOADING=1 with MONOTONIC_USEC= (systemd.service(5)); follow with service_ready(). */
void service_reloading(struct service *s);
/* STOPPING=1; stops the status and watchdog timers. */
void service_stopping(struct service *s);
/* Something the status shows has changed: STATUS= is refreshed within a second. */
void service_status_changed(struct service *s);

/* The watchdog ping interval in use (half of $WATCHDOG_USEC), 0 when disabled. */
uint64_t service_watchdog_interval_usec(const struct service *s);

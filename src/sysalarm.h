/* sysalarm.h: the system's own alarms: notification_failed, monitoring_gap,
 * storage_failed. See sysalarm.c. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "fanout.h"

struct engine;

/* A notification was dead-lettered: raises notification_failed (or joins the live one of
 * the alert's household) for the command centre and the admins. worker_id: the recipient
 * of a per-person notification (logged with the phone masked), NULL for a round. */
int sysalarm_notification_failed(struct engine *e, const char *notification_id,
                                 const char *alert_id, const char *channel, const char *worker_id,
                                 const char *kind, const char *error, int64_t now_usec);
/* The broker has been unreachable since since_usec (wall clock): raises monitoring_gap,
 * told over non-MQTT channels only, unless one is live. */
int sysalarm_monitoring_gap(struct engine *e, const char *reason, int64_t since_usec,
                            int64_t now_usec);
bool sysalarm_monitoring_gap_open(struct engine *e);
/* The broker is back: sends monitoring_restored where the gap went and resolves the gap. */
int sysalarm_monitoring_restored(struct engine *e, int64_t now_usec);
/* The broker answered "session present: no" to a client that had a session: what it queued
 * for the daemon is gone. Raises monitoring_gap with reason (over MQTT too: the broker is
 * back), unless one is live. */
int sysalarm_session_lost(struct engine *e, const char *reason, int64_t now_usec);
/* The database takes no writes: storage_failed for the command centre and the admins,
 * handed to send (their channels, MQTT included, and the group notifiers that want it)
 * without writing anything: the outbox lives in the database that fails. Returns the
 * number of notifications handed over, or a negative errno. */
int sysalarm_storage_failed(struct engine *e, const char *reason, int64_t now_usec,
                            fanout_direct_fn send, void *userdata);
/* The database takes writes again: the storage_failed alert is recorded (raised at
 * since_usec with reason, told already) and resolved, and storage_restored goes to the
 * command centre and the admins through the outbox. */
int sysalarm_storage_restored(struct engine *e, const char *reason, int64_t since_usec,
                              int64_t now_usec);

/* sysalarm.h: the system's own alarms: notification_failed, monitoring_gap. See
 * sysalarm.c. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

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

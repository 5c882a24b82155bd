/* topic.h: every doorwatch MQTT topic, built and parsed here and nowhere else.
 *
 * A doorwatch topic is <prefix>/<family>/<id>/<leaf> (README "MQTT topics"):
 *   <prefix>/devices/<device_id>/events|status         device -> daemon
 *   <prefix>/workers/<worker_id>/notify|result          daemon -> worker
 *   <prefix>/workers/<worker_id>/<verb>                 a worker's command (command.h)
 *   <prefix>/households/<household_id>/<verb>|result    a household's command, its answer
 *   <prefix>/daemon/<client_id>/status                  the daemon's own status (LWT)
 * The commands' leaves are their verbs' names (command_verb_to_string()). Pure: no I/O. */
#pragma once

#include <stddef.h>

enum topic_family {
        TOPIC_DEVICES,
        TOPIC_WORKERS,
        TOPIC_HOUSEHOLDS,
        TOPIC_DAEMON,
        _TOPIC_FAMILY_MAX,
};

/* The leaves that are not a command's verb. */
#define TOPIC_EVENTS "events"
#define TOPIC_STATUS "status"
#define TOPIC_NOTIFY "notify"
#define TOPIC_RESULT "result"

/* topic_parse(): the topic is not one of the family (another family, another prefix, or
 * not four levels). An expected outcome: most messages are somebody else's. */
#define TOPIC_E_OTHER 1

/* Builds <prefix>/<family>/<id>/<leaf> into buf; id NULL gives the single-level wildcard
 * "+" (a subscription filter). Returns 0, or -ENOBUFS when it does not fit (buf is then
 * ""). */
int topic_format(char *buf, size_t size, const char *prefix, enum topic_family f, const char *id,
                 const char *leaf);
/* The same, allocated (aborts on OOM). The caller frees it. */
char *topic_new(const char *prefix, enum topic_family f, const char *id, const char *leaf);
/* Parses a topic of family f under prefix: copies its id into id (id_size bytes at most,
 * with the NUL) and points *leaf at its last level. Returns 0, or TOPIC_E_OTHER (also for
 * an empty id, or one that does not fit). The leaf may be empty. */
int topic_parse(const char *prefix, const char *topic, enum topic_family f, char *id,
                size_t id_size, const char **leaf);

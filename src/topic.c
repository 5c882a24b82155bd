/* topic.c: the table of doorwatch topic families and the one builder and parser of the
 * topics (topic.h). The daemon, the native adapter, the notifiers and the tools all go
 * through it, so a topic is spelled out once. */
#include "topic.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

static const char *const families[_TOPIC_FAMILY_MAX] = {
        [TOPIC_DEVICES] = "devices",
        [TOPIC_WORKERS] = "workers",
        [TOPIC_HOUSEHOLDS] = "households",
        [TOPIC_DAEMON] = "daemon",
};

int topic_format(char *buf, size_t size, const char *prefix, enum topic_family f, const char *id,
                 const char *leaf)
{
        int n = snprintf(buf, size, "%s/%s/%s/%s", prefix, families[f], id ? id : "+", leaf);

        if (n < 0 || (size_t)n >= size) {
                if (size)
                        buf[0] = 0;
                return -ENOBUFS;
        }
        return 0;
}

char *topic_new(const char *prefix, enum topic_family f, const char *id, const char *leaf)
{
        return xasprintf("%s/%s/%s/%s", prefix, families[f], id ? id : "+", leaf);
}

int topic_parse(const char *prefix, const char *topic, enum topic_family f, char *id,
                size_t id_size, const char **leaf)
{
        size_t pl = strlen(prefix), fl = strlen(families[f]);
        const char *p, *slash;

        if (strncmp(topic, prefix, pl) != 0 || topic[pl] != '/' ||
            strncmp(topic + pl + 1, families[f], fl) != 0 || topic[pl + 1 + fl] != '/')
                return TOPIC_E_OTHER;
        p = topic + pl + 1 + fl + 1;
        slash = strchr(p, '/');
        if (!slash || slash == p || (size_t)(slash - p) >= id_size || strchr(slash + 1, '/'))
                return TOPIC_E_OTHER;
        memcpy(id, p, (size_t)(slash - p));
        id[slash - p] = 0;
        *leaf = slash + 1;
        return 0;
}

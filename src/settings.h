/* settings.h: doorwatch.json, the daemon's settings: time zone, database, broker, rule
 * policy, escalation, notifiers, HTTP, outbox, monitoring gap, templates. */
#pragma once

#include <stdbool.h>

#include "config.h"
#include "loader.h"

/* policy.fever_symptoms by default: the symptoms of the 2020 guidelines that send a person
 * under home observation to the fever clinic, as codes (the worker page labels them). */
#define SETTINGS_FEVER_SYMPTOMS                                                                    \
        "fever", "cough", "sore_throat", "shortness_of_breath", "loss_of_smell_or_taste",          \
            "fatigue", "diarrhea"

void settings_defaults(struct config *c);
void settings_parse_policy(struct loader *L, const cJSON *o, const struct loader_path *path,
                           struct policy *pol, bool household);
void settings_load(struct loader *L);

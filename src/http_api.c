/* http_api.c: the JSON API under /api/v1 (bearer token), /healthz, /readyz and /metrics.
 *
 * Reads go to the daemon's own store connection (inside the loop's open transaction, if
 * any, so they see what the engine just wrote) and to the engine's in-memory state for
 * door and device state. Commands are validated by command.h and carried out by the
 * engine, exactly as MQTT commands are, recorded with channel "operator-api" (or "cli"
 * when doorwatchctl says so with X-Doorwatch-Channel, which only the office's token can),
 * and committed before the answer is sent: a 200 means the action is durable.
 *
 * Times are Unix seconds (numbers, fractional), like the notification payload's
 * raised_at; "now" in list answers lets a client compute ages against the server's clock. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "engine.h"
#include "health.h"
#include "http-internal.h"
#include "log.h"
#include "metrics.h"
#include "mqtt.h"
#include "outbox.h"
#include "roster.h"
#include "store.h"
#include "util.h"

/* Lines logged per request (refusals, bad signatures, failures): a flood of requests
 * is a count in the log, not a flood of lines. */
static struct ratelimit rl_log = RATELIMIT_INIT(10 * USEC_PER_SEC, 10);

#define LIST_DEFAULT      200
#define LIST_MAX          1000
#define HOUSEHOLDS_MAX    5000
#define BODY_MAX_DEPTH    4
#define OUTBOX_STUCK_USEC (5 * USEC_PER_MIN)

static double usec_to_sec(int64_t usec)
{
        return (double)usec / 1e6;
}

static void add_text(cJSON *j, const char *name, const char *v)
{
        if (v)
                cJSON_AddStringToObject(j, name, v);
        else
                cJSON_AddNullToObject(j, name);
}

static void add_time(cJSON *j, const char *name, int64_t usec)
{
        if (usec > 0)
                cJSON_AddNumberToObject(j, name, usec_to_sec(usec));
        else
                cJSON_AddNullToObject(j, name);
}

static const char *step_name(const struct config *c, int step)
{
        if (step >= 0 && (size_t)step < c->escalation.n_steps)
                return escalation_step_to_string(c->escalation.steps[step]);
        return NULL;
}

/* ---- alerts ---- */

static cJSON *alert_json(struct http *h, const struct store_alert_row *a)
{
        const struct config *c = h->deps.config;
        cJSON *j = cJSON_CreateObject();
        const struct household *hh = a->household ? config_household(c, a->household) : NULL;
        const char *step = step_name(c, a->step);

        const struct community *cm = config_community(c, a->community);
        const struct worker *acker = a->acked_by ? config_worker(c, a->acked_by) : NULL;

        add_text(j, "id", a->id);
        add_text(j, "household", a->household);
        add_text(j, "community", a->community);
        add_text(j, "community_name", cm ? community_label(cm) : a->community);
        if (hh)
                cJSON_AddStringToObject(j, "address", hh->address);
        else
                cJSON_AddNullToObject(j, "address");
        add_text(j, "device", a->device);
        add_text(j, "kind", a->kind);
        add_text(j, "severity", a->severity);
        add_text(j, "state", a->state);
        add_text(j, "reason", a->reason);
        cJSON_AddNumberToObject(j, "count", a->count);
        add_text(j, "event_id", a->event_uid);
        if (a->event_ts > 0)
                cJSON_AddNumberToObject(j, "event_ts", a->event_ts);
        else
                cJSON_AddNullToObject(j, "event_ts");
        add_time(j, "raised_at", a->raised_usec);
        add_time(j, "last_event_at", a->last_event_usec);
        if (step)
                cJSON_AddStringToObject(j, "step", step);
        else
                cJSON_AddNullToObject(j, "step");
        cJSON_AddNumberToObject(j, "round", a->round);
        add_time(j, "next_escalation_at", a->next_usec);
        add_text(j, "acked_by", a->acked_by);
        add_text(j, "acked_by_name", acker ? acker->name : NULL);
        add_text(j, "ack_channel", a->ack_channel);
        add_time(j, "acked_at", a->acked_usec);
        add_text(j, "resolved_by", a->resolved_by);
        add_text(j, "resolve_channel", a->resolve_channel);
        add_time(j, "resolved_at", a->resolved_usec);
        add_text(j, "note", a->note);
        return j;
}

struct alerts_json {
        struct http *http;
        cJSON *one;   /* store_get_alert(): the alert */
        cJSON *array; /* store_list_alerts(): appended to */
};

static int alert_json_cb(const struct store_alert_row *row, void *userdata)
{
        struct alerts_json *aj = userdata;
        cJSON *j = alert_json(aj->http, row);

        if (aj->array)
                cJSON_AddItemToArray(aj->array, j);
        else
                aj->one = j;
        return 0;
}

/* The alert as stored, or NULL (404 filled) / NULL (500 filled). */
static cJSON *load_alert(struct http *h, const char *id, struct http_response *rs)
{
        struct alerts_json aj = { .http = h };
        int r = store_get_alert(h->deps.store, id, alert_json_cb, &aj);

        if (r < 0)
                http_json_error(rs, 500, "database error");
        else if (r == STORE_E_NOT_FOUND)
                http_json_error(rs, 404, "no alert \"%s\"", id);
        return aj.one;
}

static bool parse_limit(struct http_request *rq, struct http_response *rs, const char *key,
                        long dflt, long max, long *ret)
{
        const char *v = http_query(rq, key);
        char *end;
        long n;

        *ret = dflt;
        if (!v)
                return true;
        errno = 0;
        n = strtol(v, &end, 10);
        if (errno || *end || end == v || n < 0 || n > max) {
                http_json_error(rs, 400, "\"%s\" must be an integer 0..%ld", key, max);
                return false;
        }
        *ret = n;
        return true;
}

static void list_alerts(struct http_request *rq, struct http_response *rs)
{
        struct http *h = rq->http;
        const struct config *c = h->deps.config;
        const char *state = http_query(rq, "state"), *community = http_query(rq, "community");
        const char *household = http_query(rq, "household"), *kind = http_query(rq, "kind");
        const char *date = http_query(rq, "date");
        unsigned states = state && *state ? alert_states_from_filter(state) : ALERT_STATES_ALL;
        const struct community *cm = NULL;
        struct alerts_json aj = { .http = h };
        int64_t from = 0, to = 0;
        char day[16];
        cJSON *j;
        long limit;

        if (!states) {
                http_json_error(rs, 400,
                                "\"state\" must be open, acked, unresolved, resolved or all");
                return;
        }
        if (community && *community && !(cm = config_community_named(c, community))) {
                http_json_error(rs, 404, "no community \"%s\"", community);
                return;
        }
        if (kind && *kind && alert_kind_from_string(kind) == ALERT_KIND_INVALID) {
                http_json_error(rs, 400, "unknown alert kind \"%s\"", kind);
                return;
        }
        if (date && *date && local_calendar_day(date, now_realtime_usec(), &from, &to, day) < 0) {
                http_json_error(rs, 400,
                                "\"date\" must be a date such as 2026-12-01, today or "
                                "yesterday");
                return;
        }
        if (!parse_limit(rq, rs, "limit", LIST_DEFAULT, LIST_MAX, &limit))
                return;
        j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "now", usec_to_sec(now_realtime_usec()));
        aj.array = cJSON_AddArrayToObject(j, "alerts");
        /* What is still to handle is a worklist: oldest first. Everything else: newest first.
         * A limit of 0 asks for none (0 is no limit to the store). */
        if (limit > 0 &&
            store_list_alerts(h->deps.store,
                              &(struct store_alert_filter){
                                  .states = states,
                                  .community = cm ? cm->id : NULL,
                                  .household = household && *household ? household : NULL,
                                  .kind = kind && *kind ? kind : NULL,
                                  .from_usec = from,
                                  .to_usec = to,
                                  .newest_first = (states & ~ALERT_STATES_UNRESOLVED) != 0,
                                  .limit = (size_t)limit,
                              },
                              alert_json_cb, &aj) < 0) {
                cJSON_Delete(j);
                http_json_error(rs, 500, "database error");
                return;
        }
        http_json(rs, 200, j);
}

static int event_json_cb(const struct store_event *ev, void *userdata)
{
        cJSON *e = cJSON_CreateObject();

        add_text(e, "id", ev->uid);
        add_text(e, "device", ev->device);
        add_text(e, "type", ev->type);
        add_text(e, "state", ev->state);
        if (ev->has_ts)
                cJSON_AddNumberToObject(e, "ts", ev->ts);
        else
                cJSON_AddNullToObject(e, "ts");
        add_time(e, "received_at", ev->recv_usec);
        add_time(e, "event_at", ev->event_usec);
        add_text(e, "time_basis", ev->time_basis);
        add_text(e, "verdict", ev->verdict);
        add_text(e, "reason", ev->reason);
        cJSON_AddItemToArray(userdata, e);
        return 0;
}

static int notification_json_cb(const struct store_notification *no, void *userdata)
{
        cJSON *n = cJSON_CreateObject();

        add_text(n, "id", no->id);
        add_text(n, "worker", no->worker);
        add_text(n, "channel", no->channel);
        add_text(n, "step", no->step);
        cJSON_AddNumberToObject(n, "round", no->round);
        add_text(n, "state", notification_state_to_string(no->state));
        cJSON_AddNumberToObject(n, "attempts", no->attempts);
        add_time(n, "created_at", no->created_usec);
        add_time(n, "delivered_at", no->delivered_usec);
        add_text(n, "last_error", no->last_error);
        cJSON_AddItemToArray(userdata, n);
        return 0;
}

static int action_json_cb(const struct store_action *ac, void *userdata)
{
        cJSON *a = cJSON_CreateObject();

        add_text(a, "kind", ac->kind);
        add_text(a, "actor", ac->actor);
        add_text(a, "channel", ac->channel);
        add_time(a, "at", ac->usec);
        add_text(a, "detail", ac->detail);
        cJSON_AddItemToArray(userdata, a);
        return 0;
}

/* The alert with its events, notifications and the actions about it; a list that cannot be
 * read stays as far as it got (the database said why in the log). */
static void get_alert(struct http_request *rq, struct http_response *rs, const char *id)
{
        struct http *h = rq->http;
        cJSON *j = load_alert(h, id, rs);
        const cJSON *hid;

        if (!j)
                return;
        hid = cJSON_GetObjectItem(j, "household");
        store_list_alert_events(h->deps.store, cJSON_IsString(hid) ? hid->valuestring : NULL, id,
                                500, event_json_cb, cJSON_AddArrayToObject(j, "events"));
        store_list_notifications(h->deps.store,
                                 &(struct store_notification_filter){ .alert_id = id },
                                 notification_json_cb, cJSON_AddArrayToObject(j, "notifications"));
        store_list_actions(h->deps.store, id, action_json_cb, cJSON_AddArrayToObject(j, "actions"));
        http_json(rs, 200, j);
}

/* Parses a JSON object body (bounded); fills 400 and returns NULL otherwise. */
static cJSON *json_body(struct http_request *rq, struct http_response *rs)
{
        cJSON *j = rq->body ? cJSON_ParseWithLength(rq->body, rq->body_len) : NULL;

        if (!cJSON_IsObject(j) || json_depth(j) > BODY_MAX_DEPTH) {
                cJSON_Delete(j);
                http_json_error(rs, 400, "the body must be a JSON object");
                return NULL;
        }
        return j;
}

/* Commits an engine action; 500 on failure. */
static bool commit(struct http *h, struct http_response *rs)
{
        int r = h->deps.commit(h->deps.userdata);
        if (r < 0) {
                if (ratelimit_below(&rl_log))
                        log_err_errno(r, "http: commit failed");
                http_json_error(rs, 500, "the database refused the change: %s", strerror(-r));
                return false;
        }
        return true;
}

/* ---- commands (command.h): acks, resolutions, check-ins, passes ---- */

/* The channel of a command: the office's token speaks for the operator API, or for
 * doorwatchctl when it says so (X-Doorwatch-Channel: cli). Any other value is a 400. */
static bool request_channel(struct http_request *rq, struct http_response *rs, enum channel *ret)
{
        const char *v = http_header(rq, "X-Doorwatch-Channel");

        *ret = CHANNEL_OPERATOR_API;
        if (!v || (channel_from_code(v, ret) == 0 &&
                   (*ret == CHANNEL_CLI || *ret == CHANNEL_OPERATOR_API)))
                return true;
        http_json_error(rs, 400, "X-Doorwatch-Channel must be \"cli\" or \"operator-api\"");
        return false;
}

/* The body as a command of verb (about alert_id when the path names one), validated like
 * any other front door's, carried out and committed: a 200 means the action is durable.
 * Answers the alert (ack, resolve) or {"ok": true}. */
static void command(struct http_request *rq, struct http_response *rs, enum command_verb verb,
                    const char *alert_id)
{
        static const unsigned refusal_status[] = {
                [ENGINE_E_REFUSED] = 409,
                [ENGINE_E_FORBIDDEN] = 403,
                [ENGINE_E_UNKNOWN] = 404,
                [ENGINE_E_OVER_LIMIT] = 429,
        };
        struct http *h = rq->http;
        struct command_origin o = { .alert_id = alert_id };
        struct command cmd;
        const char *error = NULL;
        int r;

        if (!request_channel(rq, rs, &o.channel))
                return;
        r = command_parse_payload(h->deps.config, verb, &o, rq->body, rq->body_len,
                                  now_realtime_usec(), &cmd);
        if (r != 0) {
                http_json_error(rs, r == COMMAND_E_TOO_LARGE ? 413 : 400, "%s", cmd.error);
                return;
        }
        r = engine_command(h->deps.engine, &cmd, &error);
        if (r < 0) {
                if (ratelimit_below(&rl_log))
                        log_err_errno(r, "http: %s failed", command_verb_to_string(verb));
                http_json_error(rs, 500, "internal error: %s", strerror(-r));
                return;
        }
        if (r > 0) {
                if (ratelimit_below(&rl_log))
                        log_warn("http: %s %s as %s refused: %s", command_verb_to_string(verb),
                                 alert_id        ? alert_id
                                 : cmd.household ? cmd.household->id
                                                 : "",
                                 cmd.worker ? cmd.worker->id : "-", error);
                http_json_error(rs,
                                (size_t)r < ELEMENTSOF(refusal_status) && refusal_status[r]
                                    ? refusal_status[r]
                                    : 409,
                                "%s", error);
                return;
        }
        if (!commit(h, rs))
                return;
        if (alert_id) {
                cJSON *j = load_alert(h, alert_id, rs);
                if (j)
                        http_json(rs, 200, j);
                return;
        }
        cJSON *j = cJSON_CreateObject();
        cJSON_AddBoolToObject(j, "ok", true);
        http_json(rs, 200, j);
}

/* ---- households ---- */

/* By the measures of the device-health alerts (health.h). */
static const char *device_health(const struct config *c, const struct device *d,
                                 const struct device_state *st, int64_t now)
{
        return health_condition(c, d, st, now);
}

static int health_rank(const char *h)
{
        static const char *const order[] = { "ok", "unknown", "battery_low", "offline",
                                             "tampered" };
        for (size_t i = 0; i < ELEMENTSOF(order); i++)
                if (strcmp(order[i], h) == 0)
                        return (int)i;
        return 0;
}

static cJSON *worker_json(const struct worker *w)
{
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "id", w->id);
        cJSON_AddStringToObject(j, "name", w->name ? w->name : "");
        cJSON_AddStringToObject(j, "role", role_to_string(w->role));
        return j;
}

static cJSON *household_json(struct http *h, const struct household *hh, bool full, int64_t now)
{
        const struct config *c = h->deps.config;
        struct household_state *st = engine_household_state(h->deps.engine, hh);
        cJSON *j = cJSON_CreateObject(), *obs, *devs, *door;
        const char *worst = "ok";
        int open = 0, acked = 0;

        cJSON_AddStringToObject(j, "id", hh->id);
        cJSON_AddStringToObject(j, "community", hh->community_id);
        cJSON_AddStringToObject(j, "community_name",
                                hh->community ? community_label(hh->community) : hh->community_id);
        cJSON_AddStringToObject(j, "address", hh->address);
        obs = cJSON_AddObjectToObject(j, "observation");
        add_time(obs, "start", hh->obs_start_usec);
        add_time(obs, "end", hh->obs_end_usec == OBSERVATION_OPEN_END ? 0 : hh->obs_end_usec);
        cJSON_AddBoolToObject(obs, "active", now >= hh->obs_start_usec && now < hh->obs_end_usec);
        door = cJSON_AddObjectToObject(j, "door");
        cJSON_AddStringToObject(
            door, "state", st->door == DOOR_UNKNOWN ? "unknown" : door_state_to_string(st->door));
        add_time(door, "changed_at", st->door_changed_usec);
        devs = cJSON_AddArrayToObject(j, "devices");
        for (size_t i = 0; i < hh->n_devices; i++) {
                const struct device *d = &hh->devices[i];
                const struct device_state *ds = engine_device_state(h->deps.engine, d);
                const char *health = device_health(c, d, ds, now);
                cJSON *dj = cJSON_CreateObject();

                if (health_rank(health) > health_rank(worst))
                        worst = health;
                cJSON_AddStringToObject(dj, "id", d->id);
                cJSON_AddStringToObject(dj, "kind", device_kind_to_string(d->kind));
                cJSON_AddStringToObject(dj, "health", health);
                if (full) {
                        cJSON_AddStringToObject(dj, "source", device_source(d));
                        cJSON_AddBoolToObject(dj, "seen", ds->seen);
                        add_time(dj, "last_seen", ds->seen ? ds->last_seen_usec : 0);
                        cJSON_AddBoolToObject(dj, "online", ds->online);
                        cJSON_AddBoolToObject(dj, "tampered", ds->tampered);
                        if (ds->battery_percent >= 0)
                                cJSON_AddNumberToObject(dj, "battery", ds->battery_percent);
                        else
                                cJSON_AddNullToObject(dj, "battery");
                }
                cJSON_AddItemToArray(devs, dj);
        }
        cJSON_AddStringToObject(j, "health", worst);
        for (const struct alert *a = st->alerts; a; a = a->next) {
                open += a->state == ALERT_OPEN;
                acked += a->state == ALERT_ACKED;
        }
        cJSON_AddNumberToObject(j, "open_alerts", open);
        cJSON_AddNumberToObject(j, "acked_alerts", acked);
        if (!full)
                return j;

        cJSON *team = cJSON_AddArrayToObject(j, "team");
        cJSON *duty = cJSON_AddArrayToObject(j, "on_duty");
        for (int r = 0; r < TEAM_ROLES; r++) {
                struct roster_answer ans;
                cJSON *tj = cJSON_CreateObject();

                cJSON_AddStringToObject(tj, "role", role_to_string((enum role)r));
                if (hh->team[r])
                        cJSON_AddItemToObject(tj, "worker", worker_json(hh->team[r]));
                else
                        cJSON_AddNullToObject(tj, "worker");
                cJSON_AddItemToArray(team, tj);
                if (roster_resolve(c, hh, (enum role)r, now, &ans) < 0)
                        continue;
                cJSON *dj = cJSON_CreateObject(), *ws;
                cJSON_AddStringToObject(dj, "role", role_to_string((enum role)r));
                cJSON_AddStringToObject(dj, "reason", roster_reason_to_string(ans.reason));
                ws = cJSON_AddArrayToObject(dj, "workers");
                for (size_t i = 0; i < ans.n; i++)
                        cJSON_AddItemToArray(ws, worker_json(ans.workers[i]));
                cJSON_AddItemToArray(duty, dj);
        }
        struct alerts_json aj = { .http = h, .array = cJSON_AddArrayToObject(j, "alerts") };
        store_list_alerts(
            h->deps.store,
            &(struct store_alert_filter){ .states = STORE_ALERTS_LIVE, .household = hh->id },
            alert_json_cb, &aj);
        uint64_t gen = 0;
        if (http_resident_generation(h, hh->id, &gen) == 0)
                cJSON_AddNumberToObject(j, "resident_link_generation", (double)gen);
        return j;
}

static void list_households(struct http_request *rq, struct http_response *rs)
{
        struct http *h = rq->http;
        const struct config *c = h->deps.config;
        const char *community = http_query(rq, "community"), *all = http_query(rq, "all");
        const struct community *cm =
            community && *community ? config_community_named(c, community) : NULL;
        bool everyone = all && strcmp(all, "1") == 0;
        int64_t now = now_realtime_usec();
        long limit, offset, skipped = 0, total = 0;
        cJSON *j, *arr;

        if (!parse_limit(rq, rs, "limit", HOUSEHOLDS_MAX, HOUSEHOLDS_MAX, &limit) ||
            !parse_limit(rq, rs, "offset", 0, LONG_MAX / 2, &offset))
                return;
        j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "now", usec_to_sec(now));
        arr = cJSON_AddArrayToObject(j, "households");
        for (size_t i = 0; i < c->n_households; i++) {
                const struct household *hh = &c->households[i];
                if (community && *community && hh->community != cm)
                        continue;
                if (!everyone && !(now >= hh->obs_start_usec && now < hh->obs_end_usec))
                        continue;
                total++;
                if (skipped < offset) {
                        skipped++;
                        continue;
                }
                if (cJSON_GetArraySize(arr) < limit)
                        cJSON_AddItemToArray(arr, household_json(h, hh, false, now));
        }
        cJSON_AddNumberToObject(j, "total", (double)total);
        http_json(rs, 200, j);
}

/* POST /api/v1/households/{id}/resident-link {"revoke": bool}: the household's current
 * resident link, after revoking every earlier one when asked. */
static void resident_link(struct http_request *rq, struct http_response *rs,
                          const struct household *hh)
{
        struct http *h = rq->http;
        const char *base = h->deps.config->http.public_url;
        _cleanup_json_ cJSON *body = NULL;
        char name[TOKEN_ID_MAX + sizeof(RESIDENT_SEQ_PREFIX)], tok[TOKEN_MAX], url[1024];
        struct token_resident claim = { 0 };
        enum channel channel;
        uint64_t gen = 0;
        bool revoke;
        int64_t v;
        size_t bl;
        int r;

        if (!request_channel(rq, rs, &channel))
                return;
        if (rq->body_len > 0 && !(body = json_body(rq, rs)))
                return;
        revoke = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "revoke"));
        if (!h->have_link_key) {
                http_json_error(rs, 503, "no link key (http.ack_secret_file): links are off");
                return;
        }
        if (!base) {
                http_json_error(rs, 503,
                                "http.public_url is not set: a link needs the address "
                                "under which residents' phones reach this server");
                return;
        }
        if (snprintf(claim.household, sizeof(claim.household), "%s", hh->id) >=
            (int)sizeof(claim.household)) {
                http_json_error(rs, 400, "household id too long for a link");
                return;
        }
        if (revoke) {
                snprintf(name, sizeof(name), RESIDENT_SEQ_PREFIX "%s", hh->id);
                r = store_begin(h->deps.store);
                if (r == 0)
                        r = store_seq_bump(h->deps.store, name, &v);
                if (r == 0)
                        r = store_insert_action(h->deps.store, "revoke-resident-links", NULL,
                                                channel_code(channel), hh->id, now_realtime_usec(),
                                                NULL);
                if (r < 0) {
                        http_json_error(rs, 500, "database error");
                        return;
                }
                if (!commit(h, rs))
                        return;
                log_notice("household %s: resident links revoked (generation %" PRId64 ")", hh->id,
                           v);
        }
        if (http_resident_generation(h, hh->id, &gen) < 0) {
                http_json_error(rs, 500, "database error");
                return;
        }
        claim.generation = gen;
        if (token_resident_encode(&h->link_key, &claim, tok, sizeof(tok)) < 0) {
                http_json_error(rs, 500, "cannot sign the link");
                return;
        }
        bl = strlen(base);
        while (bl > 0 && base[bl - 1] == '/')
                bl--;
        snprintf(url, sizeof(url), "%.*s/r/%s", (int)bl, base, tok);
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "household", hh->id);
        cJSON_AddStringToObject(j, "url", url);
        cJSON_AddNumberToObject(j, "generation", (double)gen);
        cJSON_AddBoolToObject(j, "revoked_earlier", revoke);
        http_json(rs, 200, j);
}

/* ---- router ---- */

void http_api_handle(struct http_request *rq, struct http_response *rs)
{
        struct http *h = rq->http;
        char seg[4][TOKEN_ID_MAX];
        size_t n = 0;
        const char *p;

        if (!http_authorized(rq, rs))
                return;
        if (!str_startswith(rq->path, "/api/v1/")) {
                http_json_error(rs, 404, "not found (the API is under /api/v1/)");
                return;
        }
        for (p = rq->path + 8; *p && n < ELEMENTSOF(seg);) {
                size_t l = strcspn(p, "/");
                if (l == 0 || l >= sizeof(seg[0])) {
                        http_json_error(rs, 404, "not found");
                        return;
                }
                memcpy(seg[n], p, l);
                seg[n++][l] = 0;
                p += l;
                if (*p == '/')
                        p++;
        }
        if (*p || n == 0) {
                http_json_error(rs, 404, "not found");
                return;
        }

        if (strcmp(seg[0], "alerts") == 0) {
                if (n == 1 || n == 2) {
                        if (rq->method != HTTP_GET)
                                http_method_not_allowed(rs, "GET, HEAD");
                        else if (n == 1)
                                list_alerts(rq, rs);
                        else
                                get_alert(rq, rs, seg[1]);
                        return;
                }
                if (n == 3 && (strcmp(seg[2], "ack") == 0 || strcmp(seg[2], "resolve") == 0)) {
                        if (rq->method != HTTP_POST)
                                http_method_not_allowed(rs, "POST");
                        else
                                command(rq, rs, seg[2][0] == 'a' ? COMMAND_ACK : COMMAND_RESOLVE,
                                        seg[1]);
                        return;
                }
        } else if (strcmp(seg[0], "households") == 0) {
                const struct household *hh =
                    n >= 2 ? config_household(h->deps.config, seg[1]) : NULL;
                if (n >= 2 && !hh) {
                        http_json_error(rs, 404, "no household \"%s\"", seg[1]);
                        return;
                }
                if (n <= 2) {
                        if (rq->method != HTTP_GET)
                                http_method_not_allowed(rs, "GET, HEAD");
                        else if (n == 1)
                                list_households(rq, rs);
                        else
                                http_json(rs, 200,
                                          household_json(h, hh, true, now_realtime_usec()));
                        return;
                }
                if (n == 3 && strcmp(seg[2], "resident-link") == 0) {
                        if (rq->method != HTTP_POST)
                                http_method_not_allowed(rs, "POST");
                        else
                                resident_link(rq, rs, hh);
                        return;
                }
        } else if (n == 2 && strcmp(seg[0], "reports") == 0 && strcmp(seg[1], "daily") == 0) {
                if (rq->method != HTTP_GET)
                        http_method_not_allowed(rs, "GET, HEAD");
                else
                        http_report_daily(rq, rs);
                return;
        } else if (n == 3 && strcmp(seg[0], "workers") == 0 && strcmp(seg[2], "page-link") == 0) {
                const struct worker *w = config_worker(h->deps.config, seg[1]);
                enum channel channel;
                if (!w)
                        http_json_error(rs, 404, "no worker \"%s\"", seg[1]);
                else if (rq->method != HTTP_POST)
                        http_method_not_allowed(rs, "POST");
                else if (request_channel(rq, rs, &channel))
                        http_worker_link(rq, rs, w, channel);
                return;
        } else if (n == 1 && (strcmp(seg[0], "checkins") == 0 || strcmp(seg[0], "passes") == 0 ||
                              strcmp(seg[0], "readings") == 0)) {
                if (rq->method != HTTP_POST)
                        http_method_not_allowed(rs, "POST");
                else
                        command(rq, rs,
                                seg[0][0] == 'p'   ? COMMAND_PASS
                                : seg[0][0] == 'r' ? COMMAND_READING
                                                   : COMMAND_CHECKIN,
                                NULL);
                return;
        }
        http_json_error(rs, 404, "not found");
}

/* ---- health, readiness, metrics ---- */

static void text(struct http_response *rs, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void text(struct http_response *rs, unsigned status, const char *fmt, ...)
{
        char *s = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                abort(); /* only out of memory */
        va_end(ap);
        http_set_body(rs, status, "text/plain", s, strlen(s));
}

void http_health_handle(struct http_request *rq, struct http_response *rs)
{
        struct http *h = rq->http;
        const char *problem =
            h->deps.health_problem ? h->deps.health_problem(h->deps.userdata) : NULL;
        int r;

        if (problem) {
                text(rs, 503, "unhealthy: %s\n", problem);
                return;
        }
        /* Writable: what is pending is committed, then a tiny write of its own. */
        r = h->deps.commit(h->deps.userdata);
        if (r == 0)
                r = store_probe_write(h->deps.store, now_realtime_usec());
        if (r < 0) {
                text(rs, 503, "unhealthy: the database is not writable: %s\n", strerror(-r));
                return;
        }
        text(rs, 200, "ok\n");
}

void http_ready_handle(struct http_request *rq, struct http_response *rs)
{
        struct http *h = rq->http;
        const char *problem =
            h->deps.health_problem ? h->deps.health_problem(h->deps.userdata) : NULL;
        int64_t oldest, now = now_realtime_usec();

        if (problem) {
                text(rs, 503, "not ready: %s\n", problem);
                return;
        }
        if (!mqtt_connected(h->deps.mqtt)) {
                int64_t since = mqtt_disconnected_since_usec(h->deps.mqtt);
                text(rs, 503, "not ready: the MQTT broker %s:%d is not connected (for %llds)\n",
                     h->deps.config->mqtt.host, h->deps.config->mqtt.port,
                     since ? (long long)((now_monotonic_usec() - since) / USEC_PER_SEC) : 0LL);
                return;
        }
        oldest = store_oldest_undelivered_usec(h->deps.store);
        if (oldest != INT64_MAX && now - oldest > OUTBOX_STUCK_USEC) {
                text(rs, 503,
                     "not ready: the outbox is stuck: the oldest undelivered notification is "
                     "%llds old (%lld waiting)\n",
                     (long long)((now - oldest) / USEC_PER_SEC),
                     (long long)store_outbox_depth(h->deps.store));
                return;
        }
        text(rs, 200, "ready\n");
}

void http_metrics_handle(struct http_request *rq, struct http_response *rs)
{
        struct http *h = rq->http;
        const struct engine_counters *ec = engine_counters(h->deps.engine);
        const struct outbox_counters *oc = outbox_counters(h->deps.outbox);
        int64_t oldest, now = now_realtime_usec();
        struct store_alert_counts counts;
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f) /* only out of memory */
                abort();
        metrics_write(h->deps.metrics, f);

        metrics_write_header(f, "doorwatch_events_duplicate_total", "counter",
                             "Redelivered device events recognised and ignored.");
        fprintf(f, "doorwatch_events_duplicate_total %" PRIu64 "\n", ec->duplicates);

        metrics_write_header(f, "doorwatch_alerts_raised_total", "counter",
                             "Alerts raised since the daemon started, by kind.");
        for (int k = 0; k < _ALERT_KIND_MAX; k++)
                fprintf(f, "doorwatch_alerts_raised_total{kind=\"%s\"} %" PRIu64 "\n",
                        alert_kind_to_string((enum alert_kind)k), ec->alerts_by_kind[k]);

        store_count_live_alerts(h->deps.store, &counts); /* zeros when it cannot */
        metrics_write_header(f, "doorwatch_alerts", "gauge",
                             "Alerts not yet resolved, by kind and state.");
        for (int k = 0; k < _ALERT_KIND_MAX; k++)
                for (int s = 0; s < 2; s++)
                        fprintf(f, "doorwatch_alerts{kind=\"%s\",state=\"%s\"} %" PRId64 "\n",
                                alert_kind_to_string((enum alert_kind)k), s ? "acked" : "open",
                                s ? counts.acked[k] : counts.open[k]);

        metrics_write_header(f, "doorwatch_notifications_queued_total", "counter",
                             "Notifications written to the outbox.");
        fprintf(f, "doorwatch_notifications_queued_total %" PRIu64 "\n", ec->notifications);
        metrics_write_header(f, "doorwatch_outbox_depth", "gauge",
                             "Notifications pending or in flight.");
        fprintf(f, "doorwatch_outbox_depth %" PRId64 "\n", store_outbox_depth(h->deps.store));
        oldest = store_oldest_undelivered_usec(h->deps.store);
        metrics_write_header(f, "doorwatch_outbox_oldest_seconds", "gauge",
                             "Age of the oldest undelivered notification (0 when none).");
        fprintf(f, "doorwatch_outbox_oldest_seconds %.3f\n",
                oldest == INT64_MAX ? 0.0 : usec_to_sec(MAX(now - oldest, 0)));
        metrics_write_header(f, "doorwatch_outbox_deliveries_total", "counter",
                             "Outbox totals: handed to a channel, confirmed, retried.");
        fprintf(f, "doorwatch_outbox_deliveries_total{outcome=\"sent\"} %" PRIu64 "\n", oc->sent);
        fprintf(f, "doorwatch_outbox_deliveries_total{outcome=\"delivered\"} %" PRIu64 "\n",
                oc->delivered);
        fprintf(f, "doorwatch_outbox_deliveries_total{outcome=\"retried\"} %" PRIu64 "\n",
                oc->retried);
        fprintf(f, "doorwatch_outbox_deliveries_total{outcome=\"dead\"} %" PRIu64 "\n", oc->dead);

        metrics_write_header(f, "doorwatch_mqtt_connected", "gauge",
                             "1 while connected to the MQTT broker.");
        fprintf(f, "doorwatch_mqtt_connected %d\n", mqtt_connected(h->deps.mqtt) ? 1 : 0);
        metrics_write_header(f, "doorwatch_mqtt_reconnects_total", "counter",
                             "Reconnections to the MQTT broker after a lost connection.");
        fprintf(f, "doorwatch_mqtt_reconnects_total %" PRIu64 "\n",
                h->deps.mqtt ? mqtt_reconnects(h->deps.mqtt) : 0);

        metrics_write_header(f, "doorwatch_live_alerts", "gauge",
                             "Alerts held in memory (open, or acked within ack_absorb).");
        fprintf(f, "doorwatch_live_alerts %zu\n", engine_live_alerts(h->deps.engine));
        metrics_write_header(f, "doorwatch_households", "gauge", "Households configured.");
        fprintf(f, "doorwatch_households %zu\n", h->deps.config->n_households);
        metrics_write_header(f, "doorwatch_devices", "gauge", "Devices configured.");
        fprintf(f, "doorwatch_devices %zu\n", h->deps.config->n_devices);
        if (fclose(f) != 0) /* a memory stream: only out of memory */
                abort();
        http_set_body(rs, 200, "text/plain; version=0.0.4", buf, len);
}

/*
 * What the zmq transport says about its security, in the log of the mode it serves (module
 * "agent" or "collector", as docs/LOGGING.md lists the events): at start, how the relay is
 * protected; on SIGHUP, what was read again (the collector's COLLECT_CURVE_ALLOWED, the
 * agent's RELAY_CURVE_SECRETKEY file).
 */
#include "access.h"
#include "log.h"
#include "pcktr.h"
#include "zmq_keys.h"
#include "zmq_transport.h"

#include <string.h>

#define PK_LOG_MODULE module
#define MODULE_OF(zc) ((zc)->role == PK_TRANSPORT_SENDER ? "agent" : "collector")

void
pk_zmq_log_security(const struct pk_transport_config *zc)
{
    const char *module = MODULE_OF(zc);
    const struct pk_curve_keys *k = &zc->keys;

    if (zc->role == PK_TRANSPORT_SENDER && k->enabled)
        pk_info("relay encrypted with CURVE; this agent's public key is %s%s", k->public_key,
                k->ephemeral ? " (made for this run: set RELAY_CURVE_SECRETKEY for a "
                               "lasting one that COLLECT_CURVE_ALLOWED can list)"
                             : "");
    else if (zc->role == PK_TRANSPORT_SENDER)
        pk_warn("the relay is not encrypted: captured packets cross the network in clear text "
                "(set RELAY_CURVE_SERVERKEY to the collector's public key)");
    else if (k->enabled)
        pk_info("relay encrypted with CURVE; the collector's public key (agents' "
                "RELAY_CURVE_SERVERKEY) is %s; %s", k->public_key,
                k->allowed ? "only keys in COLLECT_CURVE_ALLOWED may send"
                           : "any agent that has this public key may send");
    else
        pk_warn("the relay is not encrypted: agents send captured packets in clear text (set "
                "COLLECT_CURVE_SECRETKEY, see pcktr keygen)");
}

/* RELAY_CURVE_SECRETKEY names a file (rather than holding the key itself, as load_key tells). */
static int
secret_key_is_file(const char *value)
{
    char key[PK_KEY_Z85_LEN + 1], why[PK_ERRBUF_SIZE];

    if (value == NULL || value[0] == '\0')
        return 0;
    return strlen(value) != PK_KEY_Z85_LEN ||
           pk_keys_parse_text(value, "secret-key", key, why) != 0;
}

/*
 * The agent: one line, and capture goes on (the signal only wakes the loop). Logs go to
 * stderr, so there is no log file to re-open. A RELAY_CURVE_SECRETKEY file is read again to
 * say whether it still holds a usable key; a key that changed applies from the next start:
 * libzmq copies a socket's CURVE keys into each connection when zmq_connect sets it up, and its
 * reconnects reuse that copy (session_base_t owns an options_t), so a live socket cannot take a
 * new key without a disconnect that would drop the messages queued on it.
 */
static void
reload_agent(const struct pk_transport_config *zc)
{
    const char *module = "agent", *path = zc->s.relay_curve_secretkey;
    const struct pk_curve_keys *k = &zc->keys;
    struct pk_log_fields ev = {.event = "reload"};
    struct pk_curve_keys fresh;
    char errbuf[PK_ERRBUF_SIZE];

    if (!k->enabled || !secret_key_is_file(path)) {
        pk_info_with(&ev, "SIGHUP: nothing to reload (no RELAY_CURVE_SECRETKEY file; logs go to "
                          "stderr); capturing on");
        return;
    }
    if (pk_keys_load(&zc->s, zc->role, &fresh, errbuf) != 0) {
        ev.event = "key_reload_failed";
        pk_warn_with(&ev, "SIGHUP: %s; the key in force stays (public key %s); capturing on",
                     errbuf, k->public_key);
    } else if (strcmp(fresh.public_key, k->public_key) == 0) {
        pk_info_with(&ev,
                     "SIGHUP: RELAY_CURVE_SECRETKEY=\"%s\" read again: the same key (public "
                     "key %s); capturing on",
                     path, k->public_key);
    } else {
        ev.event = "key_changed";
        pk_warn_with(&ev,
                     "SIGHUP: RELAY_CURVE_SECRETKEY=\"%s\" now holds another key (public key "
                     "%s); it applies from the agent's next start (libzmq keeps a "
                     "connection's keys across reconnects): this run keeps public key %s; "
                     "capturing on",
                     path, fresh.public_key, k->public_key);
    }
    pk_keys_free(&fresh);
}

/*
 * The collector: COLLECT_CURVE_ALLOWED is read again, so that an agent can be added (or
 * removed) without a restart that would cut every other source's stream. ZAP asks at each
 * handshake, so the new list applies to the next connection; connected agents keep theirs. A
 * file that does not parse changes nothing.
 */
static void
reload_collector(struct pk_transport_config *zc, struct pk_access *access)
{
    const char *module = "collector";
    struct pk_curve_keys *k = &zc->keys;
    char errbuf[PK_ERRBUF_SIZE];
    size_t before = k->nallowed;

    if (k->allowed == NULL) {
        pk_info("SIGHUP: nothing to reload (COLLECT_CURVE_ALLOWED is not set)");
        return;
    }
    if (pk_keys_reload_allowed(zc->s.collect_curve_allowed, k, errbuf) != 0) {
        pk_warn_with(&(struct pk_log_fields){.event = "allowed_keys_reload_failed"},
                     "SIGHUP: %s; the %zu keys in force stay", errbuf, before);
        return;
    }
    pk_zmq_set_allowed_keys(zc, access);
    pk_info_with(&(struct pk_log_fields){.event = "allowed_keys_reloaded"},
                 "SIGHUP: COLLECT_CURVE_ALLOWED=\"%s\" reloaded: %zu keys (were %zu); connected "
                 "agents keep their connections, the list applies to new ones",
                 zc->s.collect_curve_allowed, k->nallowed, before);
}

void
pk_zmq_reload(struct pk_transport_config *zc, struct pk_access *access)
{
    if (zc->role == PK_TRANSPORT_SENDER)
        reload_agent(zc);
    else
        reload_collector(zc, access);
}

void
pk_zmq_set_allowed_keys(const struct pk_transport_config *zc, struct pk_access *access)
{
    if (access != NULL)
        pk_access_set_keys(access, (const char(*)[PK_KEY_Z85_LEN + 1])zc->keys.allowed,
                           zc->keys.nallowed);
}

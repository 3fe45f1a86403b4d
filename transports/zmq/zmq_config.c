/*
 * The zmq transport's settings (its rows of the configuration table) and its config: the CURVE
 * keys read from them (zmq_keys.c), what /status shows of them, and `pcktr keygen`.
 */
#include "frame.h"
#include "pcktr.h"
#include "zmq_keys.h"
#include "zmq_transport.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define S(field) offsetof(struct zmq_settings, field)
#define CANNOT_ENCRYPT                                                                             \
    "cannot encrypt; accepted: RELAY_TRANSPORT=zmq with CURVE keys, or no keys (tcp-raw is for "  \
    "trusted networks or a tunnel)"

_Static_assert(sizeof(struct zmq_settings) <= PK_TRANSPORT_SETTINGS_MAX,
               "the zmq settings fit config.c's block");

const struct pk_setting pk_zmq_settings[ZMQ_NSETTINGS] = {
    /* The smallest: one batch of a single largest packet (header, 255-byte name, body, record). */
    {"COLLECT_MAX_MESSAGE", PK_SETTING_SIZE, S(max_message), "384K", PK_FRAME_BATCH_CAP(0),
     16ULL << 20,
     "collect (zmq): largest relay message taken; larger ones are dropped and counted as "
     "oversized. An agent's message is at most BATCH_BYTES, or one packet alone, at most 256K + "
     "327 bytes: raise it for BATCH_BYTES over 384K", NULL, PK_TRANSPORT_RECEIVER},
    {"COLLECT_MAX_PEERS", PK_SETTING_UINT, S(max_peers), "64", 1, 65536,
     "collect (zmq): connections at once; more are closed at accept and counted "
     "(refused peer_limit). With COLLECT_MAX_MESSAGE it bounds the collector's memory", NULL,
     PK_TRANSPORT_RECEIVER},
    {"COLLECT_CURVE_SECRETKEY", PK_SETTING_STRING, S(collect_curve_secretkey), "", 0, 0,
     "collect (zmq): the collector's CURVE secret key (Z85) or a file holding it (pcktr "
     "keygen); set: agents must encrypt; empty: the relay is unencrypted", CANNOT_ENCRYPT,
     PK_TRANSPORT_RECEIVER},
    {"COLLECT_CURVE_ALLOWED", PK_SETTING_STRING, S(collect_curve_allowed), "", 0, 0,
     "collect (zmq, with COLLECT_CURVE_SECRETKEY): file of agent public keys allowed to send, "
     "one per line, # comments; empty: any agent that has the collector's public key",
     CANNOT_ENCRYPT,
     PK_TRANSPORT_RECEIVER},
    {"RELAY_CURVE_SERVERKEY", PK_SETTING_STRING, S(relay_curve_serverkey), "", 0, 0,
     "capture (zmq): the collector's CURVE public key (Z85) or a file holding it; set: the "
     "relay is encrypted", CANNOT_ENCRYPT, PK_TRANSPORT_SENDER},
    {"RELAY_CURVE_SECRETKEY", PK_SETTING_STRING, S(relay_curve_secretkey), "", 0, 0,
     "capture (zmq): this agent's CURVE secret key or key file (pcktr keygen); empty: a new "
     "key pair each start (encrypted, but refused by COLLECT_CURVE_ALLOWED)", CANNOT_ENCRYPT,
     PK_TRANSPORT_SENDER},
    {"RELAY_CURVE_PUBLICKEY", PK_SETTING_STRING, S(relay_curve_publickey), "", 0, 0,
     "capture (zmq): this agent's CURVE public key; optional, it is derived from "
     "RELAY_CURVE_SECRETKEY and, when set, must match it", CANNOT_ENCRYPT, PK_TRANSPORT_SENDER},
    {"ZMQ_CONTROL_ENDPOINT", PK_SETTING_STRING, S(control_endpoint), "", 0, 0,
     "zmq, the control plane's return path (collector to agents, under the same CURVE keys and "
     "allow-lists): collect: where its PUB socket binds; capture: where the agent's SUB socket "
     "connects (a ZeroMQ endpoint, tcp://HOST:PORT); empty: the relay endpoint's address on its "
     "port + 1 (COLLECT_ENDPOINT tcp://*:7386 binds tcp://*:7387; RELAY_ENDPOINT "
     "tcp://collector:7386 connects tcp://collector:7387)", NULL, PK_TRANSPORT_RECEIVER},
};

#undef S

int
pk_zmq_configure(const void *settings, enum pk_transport_role role,
                 struct pk_transport_config **out, char *errbuf)
{
    struct pk_transport_config *zc = calloc(1, sizeof(*zc));
    int rc;

    *out = NULL;
    if (zc == NULL)
        return pk_seterr(errbuf, -ENOMEM, "out of memory");
    zc->role = role;
    zc->s = *(const struct zmq_settings *)settings;
    if ((rc = pk_keys_load(&zc->s, role, &zc->keys, errbuf)) != 0) {
        pk_zmq_config_free(zc);
        return rc;
    }
    *out = zc;
    return 0;
}

void
pk_zmq_config_free(struct pk_transport_config *zc)
{
    if (zc == NULL)
        return;
    pk_keys_free(&zc->keys);
    free(zc);
}

const char *
pk_zmq_public_key(const struct pk_transport_config *zc)
{
    return zc != NULL && zc->keys.enabled ? zc->keys.public_key : NULL;
}

/*
 * How the zmq transport sets its sockets up: the options libzmq must take, the bounds of what
 * peers can make the receiver hold, and CURVE with the ZAP handler. Each returns 0, or a negative
 * errno with errbuf naming the option. Before bind or connect (libzmq reads them then).
 */
#include "access.h"
#include "pcktr.h"
#include "zmq_keys.h"
#include "zmq_transport.h"
#include "zmq_zap.h"

#include <errno.h>
#include <string.h>
#include <zmq.h>

/*
 * What one connection can make the collector's libzmq hold (docs/SECURITY.md): ZMQ_RCVHWM whole
 * messages queued, one more decoded that did not fit (its engine stops reading), and one being
 * received, which the v2 decoder allocates whole as soon as its header arrives (libzmq
 * src/v2_decoder.cpp, size_ready): (RCVHWM + 2) x ZMQ_MAXMSGSIZE. RCVHWM is derived from this
 * budget and the message size, at least RCVHWM_MIN.
 */
#define PEER_BUFFER_BYTES (4u << 20)
#define RCVHWM_MIN 2
/*
 * libzmq drops a message over ZMQ_MAXMSGSIZE together with its connection, and says nothing
 * about it (no monitor event tells an EMSGSIZE disconnect from another one). So ZMQ_MAXMSGSIZE
 * is twice the largest message taken (COLLECT_MAX_MESSAGE): a message in between is received,
 * dropped and counted as oversized, which shows an agent whose BATCH_BYTES is too large. A
 * CURVE frame carries 33 bytes more than the message (MESSAGE command name, nonce, MAC, flags).
 */
#define MAXMSGSIZE_FACTOR 2
#define CURVE_FRAME_OVERHEAD 64
/* Framing and handshake bytes the guard allows a connection beyond its messages. */
#define GUARD_SLACK_BYTES (64u << 10)
#define RECONNECT_IVL_MS 100
#define RECONNECT_IVL_MAX_MS 2000

int
pk_zmq_fail(char *errbuf, const char *what, const char *uri)
{
    int err = zmq_errno();

    pk_seterr(errbuf, -err, "%s %s: %s", what, uri, zmq_strerror(err));
    return -err;
}

int
pk_zmq_setopt_int(void *sock, int opt, int value)
{
    return zmq_setsockopt(sock, opt, &value, sizeof(value));
}

/* An option libzmq must take: 0, or -errno with errbuf naming it. */
int
pk_zmq_setopt_must(void *sock, int opt, const char *name, int value, char *errbuf)
{
    return pk_zmq_setopt_int(sock, opt, value) == 0 ? 0
                                                    : pk_zmq_fail(errbuf, "zmq: cannot set", name);
}

static int
setopt_key(struct zmq_transport *zt, int opt, const char *z85, char *errbuf)
{
    /* A Z85 key is given with its terminating NUL: 41 bytes (libzmq doc/zmq_setsockopt). */
    if (zmq_setsockopt(zt->sock, opt, z85, strlen(z85) + 1) != 0)
        return pk_zmq_fail(errbuf, "zmq: cannot set a CURVE key", "(is libzmq built with CURVE?)");
    return 0;
}

/* What peers may make the receiver hold (the constants above; docs/SECURITY.md). 0 or -errno. */
int
pk_zmq_set_receiver_bounds(struct zmq_transport *zt, const struct pk_transport_opts *opts,
                           char *errbuf)
{
    uint64_t max = zt->config != NULL && zt->config->s.max_message ? zt->config->s.max_message
                                                                    : opts->max_message;
    int64_t zmax = (int64_t)(max * MAXMSGSIZE_FACTOR + CURVE_FRAME_OVERHEAD);
    uint64_t hwm = PEER_BUFFER_BYTES / (uint64_t)zmax;

    zt->max_message = max;
    zt->max_peers = zt->config != NULL ? zt->config->s.max_peers : 0;
    zt->conn_bound =
        ((hwm < RCVHWM_MIN ? RCVHWM_MIN : hwm) + 2) * ((uint64_t)zmax + 64) + GUARD_SLACK_BYTES;
    if (zmq_setsockopt(zt->sock, ZMQ_MAXMSGSIZE, &zmax, sizeof(zmax)) != 0)
        return pk_zmq_fail(errbuf, "zmq: cannot set", "ZMQ_MAXMSGSIZE");
    return pk_zmq_setopt_must(zt->sock, ZMQ_RCVHWM, "ZMQ_RCVHWM",
                              hwm < RCVHWM_MIN ? RCVHWM_MIN : (int)hwm, errbuf);
}

/* CURVE keys, and the ZAP handler that checks peers on the receiver. Before bind/connect. */
int
pk_zmq_configure_security(struct zmq_transport *zt, uv_loop_t *loop,
                          const struct pk_transport_opts *opts, char *errbuf)
{
    const struct pk_curve_keys *k = zt->config != NULL ? &zt->config->keys : NULL;
    int curve = k != NULL && k->enabled, rc;

    zt->access = opts->access;
    if (opts->role == PK_TRANSPORT_SENDER) {
        if (!curve)
            return 0;
        if ((rc = setopt_key(zt, ZMQ_CURVE_SERVERKEY, k->server_public, errbuf)) != 0)
            return rc;
        if ((rc = setopt_key(zt, ZMQ_CURVE_PUBLICKEY, k->public_key, errbuf)) != 0)
            return rc;
        return setopt_key(zt, ZMQ_CURVE_SECRETKEY, k->secret_key, errbuf);
    }
    if (curve && pk_zmq_setopt_int(zt->sock, ZMQ_CURVE_SERVER, 1) != 0)
        return pk_zmq_fail(errbuf, "zmq: cannot enable", "CURVE");
    if (curve && setopt_key(zt, ZMQ_CURVE_SECRETKEY, k->secret_key, errbuf) != 0)
        return pk_zmq_fail(errbuf, "zmq: cannot enable", "CURVE");
    if (k != NULL)
        pk_zmq_set_allowed_keys(zt->config, opts->access); /* COLLECT_CURVE_ALLOWED, for ZAP */
    /* ZAP runs when there is something to check, or a key to attach to messages. */
    if (!curve && (opts->access == NULL || opts->access->nallow == 0))
        return 0;
    if ((rc = pk_zap_open(&zt->zap, zt->ctx, loop, opts->access, errbuf)) != 0)
        return rc;
    /* With the NULL mechanism libzmq asks ZAP only for sockets that name a ZAP domain. */
    if (zmq_setsockopt(zt->sock, ZMQ_ZAP_DOMAIN, PK_ZAP_DOMAIN, strlen(PK_ZAP_DOMAIN)) != 0)
        return pk_zmq_fail(errbuf, "zmq: cannot set", "ZMQ_ZAP_DOMAIN");
    return 0;
}

/* The sender's queue bound and reconnect intervals. 0, or -errno + errbuf. */
int
pk_zmq_set_sender_options(struct zmq_transport *zt, const struct pk_transport_opts *opts,
                          char *errbuf)
{
    int rc = pk_zmq_setopt_must(zt->sock, ZMQ_SNDHWM, "ZMQ_SNDHWM", (int)opts->queue_limit, errbuf);

    if (rc == 0)
        rc = pk_zmq_setopt_must(zt->sock, ZMQ_RECONNECT_IVL, "ZMQ_RECONNECT_IVL", RECONNECT_IVL_MS,
                                errbuf);
    if (rc == 0)
        rc = pk_zmq_setopt_must(zt->sock, ZMQ_RECONNECT_IVL_MAX, "ZMQ_RECONNECT_IVL_MAX",
                                RECONNECT_IVL_MAX_MS, errbuf);
    return rc;
}

/*
 * zmq, the return path of the control plane (transport.h: send_control, on_control): a second
 * socket pair beside the data socket, in the same context, under the same CURVE keys and ZAP
 * domain (so the ZAP handler, zmq_zap.c, applies the same allow-lists and counts refusals).
 * The collector binds a PUB socket and publishes each control message to every agent; each
 * agent's SUB socket subscribes to its own prefix (opts->control_prefix), so libzmq filters
 * what is not for it. ZMQ_CONTROL_ENDPOINT says where; empty: the data endpoint's port + 1.
 * Loop thread only; the socket is closed with the data socket (zmq.c, on_closed).
 */
#include "endpoint.h"
#include "pcktr.h"
#include "zmq_keys.h"
#include "zmq_transport.h"
#include "zmq_zap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#define CONTROL_SNDHWM 1024 /* collector: control messages queued per agent before -EAGAIN */
#define CONTROL_RCVHWM 64   /* agent: control messages queued before libzmq stops reading */
#define CONTROL_SUBSCRIPTION_MAX 1024 /* collector: the largest subscription message taken */
#define CONTROL_RECONNECT_IVL_MS 100
#define CONTROL_RECONNECT_IVL_MAX_MS 5000

static int
set_key(void *sock, int opt, const char *z85, char *errbuf)
{
    /* A Z85 key is given with its terminating NUL: 41 bytes (libzmq doc/zmq_setsockopt). */
    if (zmq_setsockopt(sock, opt, z85, strlen(z85) + 1) != 0)
        return pk_zmq_fail(errbuf, "zmq: cannot set a CURVE key on", "the control socket");
    return 0;
}

/* The same security as the data socket (pk_zmq_configure_security): keys and ZAP domain. */
static int
secure(struct zmq_transport *zt, char *errbuf)
{
    const struct pk_curve_keys *k = zt->config != NULL ? &zt->config->keys : NULL;
    int rc;

    if (zt->role == PK_TRANSPORT_SENDER) {
        if (k == NULL || !k->enabled)
            return 0;
        if ((rc = set_key(zt->ctl, ZMQ_CURVE_SERVERKEY, k->server_public, errbuf)) != 0 ||
            (rc = set_key(zt->ctl, ZMQ_CURVE_PUBLICKEY, k->public_key, errbuf)) != 0)
            return rc;
        return set_key(zt->ctl, ZMQ_CURVE_SECRETKEY, k->secret_key, errbuf);
    }
    if (k != NULL && k->enabled) {
        if ((rc = pk_zmq_setopt_must(zt->ctl, ZMQ_CURVE_SERVER, "ZMQ_CURVE_SERVER", 1, errbuf)))
            return rc;
        if ((rc = set_key(zt->ctl, ZMQ_CURVE_SECRETKEY, k->secret_key, errbuf)) != 0)
            return rc;
    }
    /* With the NULL mechanism libzmq asks ZAP only for sockets that name a ZAP domain. */
    if (zt->zap != NULL &&
        zmq_setsockopt(zt->ctl, ZMQ_ZAP_DOMAIN, PK_ZAP_DOMAIN, strlen(PK_ZAP_DOMAIN)) != 0)
        return pk_zmq_fail(errbuf, "zmq: cannot set", "ZMQ_ZAP_DOMAIN");
    return 0;
}

static void
set_port(struct sockaddr_storage *ss, uint16_t port)
{
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
    else if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/* Binds (collector) or connects (agent) the control socket: ZMQ_CONTROL_ENDPOINT, or ep's
 * addresses on ep's port + 1. */
static int
attach(struct zmq_transport *zt, const struct pk_endpoint *ep, char *errbuf)
{
    const char *set = zt->config != NULL ? zt->config->s.control_endpoint : NULL;
    struct pk_endpoint cep = *ep;
    char uri[300];
    int bound = 0;

    if (set != NULL && set[0] != '\0') {
        int rc = zt->role == PK_TRANSPORT_SENDER ? zmq_connect(zt->ctl, set) : zmq_bind(zt->ctl, set);
        return rc == 0 ? 0 : pk_zmq_fail(errbuf, "cannot attach the control socket to", set);
    }
    if (ep->port == UINT16_MAX)
        return pk_seterr(errbuf, -EINVAL, "zmq: the control socket's port (%u + 1) is out of range; "
                         "set ZMQ_CONTROL_ENDPOINT", ep->port);
    cep.port = (uint16_t)(ep->port + 1);
    for (int i = 0; i < cep.naddrs; i++) /* pk_endpoint_uri formats the address's own port */
        set_port(&cep.addrs[i], cep.port);
    if (zt->role == PK_TRANSPORT_SENDER) {
        pk_endpoint_uri(&cep, 0, uri, sizeof(uri));
        return zmq_connect(zt->ctl, uri) == 0 ? 0 : pk_zmq_fail(errbuf, "cannot connect to", uri);
    }
    if (cep.host[0] == '\0') {
        snprintf(uri, sizeof(uri), "tcp://*:%u", cep.port);
        return zmq_bind(zt->ctl, uri) == 0 ? 0 : pk_zmq_fail(errbuf, "cannot listen on", uri);
    }
    for (int i = 0; i < cep.naddrs; i++) { /* as the data socket: each address that exists */
        pk_endpoint_uri(&cep, i, uri, sizeof(uri));
        if (zmq_bind(zt->ctl, uri) == 0)
            bound++;
        else if (zmq_errno() != EADDRNOTAVAIL || (i == cep.naddrs - 1 && bound == 0))
            return pk_zmq_fail(errbuf, "cannot listen on", uri);
    }
    return 0;
}

/* Agent: what libzmq bounds for us (docs/SECURITY.md), and what this agent subscribes to. */
static int
set_sub_options(struct zmq_transport *zt, const struct pk_transport_opts *opts, char *errbuf)
{
    int rc = pk_zmq_setopt_must(zt->ctl, ZMQ_RCVHWM, "ZMQ_RCVHWM", CONTROL_RCVHWM, errbuf);
    int64_t max = PK_CONTROL_MESSAGE_MAX;

    if (rc == 0 && zmq_setsockopt(zt->ctl, ZMQ_MAXMSGSIZE, &max, sizeof(max)) != 0)
        rc = pk_zmq_fail(errbuf, "zmq: cannot set", "ZMQ_MAXMSGSIZE");
    if (rc == 0)
        rc = pk_zmq_setopt_must(zt->ctl, ZMQ_RECONNECT_IVL, "ZMQ_RECONNECT_IVL",
                                CONTROL_RECONNECT_IVL_MS, errbuf);
    if (rc == 0)
        rc = pk_zmq_setopt_must(zt->ctl, ZMQ_RECONNECT_IVL_MAX, "ZMQ_RECONNECT_IVL_MAX",
                                CONTROL_RECONNECT_IVL_MAX_MS, errbuf);
    /* No prefix: everything (the owner checks each message anyway). */
    if (rc == 0 && zmq_setsockopt(zt->ctl, ZMQ_SUBSCRIBE, opts->control_prefix,
                                  opts->control_prefix != NULL ? opts->control_prefix_len : 0) != 0)
        rc = pk_zmq_fail(errbuf, "zmq: cannot set", "ZMQ_SUBSCRIBE");
    return rc;
}

/*
 * Agent: every message queued, until EAGAIN, after a look at ZMQ_EVENTS (the fd is edge-
 * triggered: RECIPES.md section 2). No budget: ZMQ_RCVHWM and ZMQ_MAXMSGSIZE bound a turn.
 */
void
pk_zmq_control_drain(struct zmq_transport *zt)
{
    for (;;) {
        int events = 0;
        size_t len = sizeof(events);
        zmq_msg_t msg;

        if (zt->ctl == NULL || zt->role != PK_TRANSPORT_SENDER ||
            zmq_getsockopt(zt->ctl, ZMQ_EVENTS, &events, &len) != 0 || !(events & ZMQ_POLLIN))
            return;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, zt->ctl, ZMQ_DONTWAIT) >= 0 && zt->base.on_control != NULL)
            zt->base.on_control(&zt->base, zmq_msg_data(&msg), zmq_msg_size(&msg));
        zmq_msg_close(&msg); /* on EAGAIN the loop re-reads ZMQ_EVENTS and ends */
    }
}

static void
on_ctl_poll(uv_poll_t *h, int status, int events)
{
    (void)status; /* ZMQ_EVENTS, not libuv's view of the signalling fd, says what to do */
    (void)events;
    pk_zmq_control_drain(container_of(h, struct zmq_transport, ctl_poll));
}

/* Agent: polls the SUB socket's ZMQ_FD on the loop (H_CTL once initialised). */
static int
watch(struct zmq_transport *zt, char *errbuf)
{
    uv_os_sock_t fd;
    size_t fdlen = sizeof(fd);
    int rc;

    if (zmq_getsockopt(zt->ctl, ZMQ_FD, &fd, &fdlen) != 0)
        return pk_zmq_fail(errbuf, "zmq: cannot get ZMQ_FD of", "the control socket");
    if ((rc = uv_poll_init_socket(zt->loop, &zt->ctl_poll, fd)) == 0) {
        zt->handles |= H_CTL;
        rc = uv_poll_start(&zt->ctl_poll, UV_READABLE, on_ctl_poll);
    }
    if (rc != 0)
        return pk_seterr(errbuf, rc, "zmq: cannot watch the control socket: %s", uv_strerror(rc));
    return 0;
}

int
pk_zmq_control_open(struct zmq_transport *zt, const struct pk_endpoint *ep,
                    const struct pk_transport_opts *opts, char *errbuf)
{
    int sender = zt->role == PK_TRANSPORT_SENDER, rc;

    if (!opts->control)
        return 0;
    if ((zt->ctl = zmq_socket(zt->ctx, sender ? ZMQ_SUB : ZMQ_PUB)) == NULL)
        return pk_zmq_fail(errbuf, "zmq", "control socket");
    /* Control is not worth waiting for at close: a new one is sent after a restart. */
    if ((rc = pk_zmq_setopt_must(zt->ctl, ZMQ_LINGER, "ZMQ_LINGER", 0, errbuf)) != 0 ||
        (rc = pk_zmq_setopt_must(zt->ctl, ZMQ_IPV6, "ZMQ_IPV6", 1, errbuf)) != 0)
        return rc;
    if (sender) {
        rc = set_sub_options(zt, opts, errbuf);
    } else {
        /* What an agent sends up here is only its subscription (a prefix): bound it. */
        int64_t max = CONTROL_SUBSCRIPTION_MAX;
        rc = pk_zmq_setopt_must(zt->ctl, ZMQ_SNDHWM, "ZMQ_SNDHWM", CONTROL_SNDHWM, errbuf);
        if (rc == 0 && zmq_setsockopt(zt->ctl, ZMQ_MAXMSGSIZE, &max, sizeof(max)) != 0)
            rc = pk_zmq_fail(errbuf, "zmq: cannot set", "ZMQ_MAXMSGSIZE");
    }
    if (rc != 0 || (rc = secure(zt, errbuf)) != 0 || (rc = attach(zt, ep, errbuf)) != 0)
        return rc;
    return sender ? watch(zt, errbuf) : 0; /* a PUB socket has nothing to read */
}

int
pk_zmq_send_control(struct pk_transport *t, const char *peer, const void *buf, size_t len)
{
    struct zmq_transport *zt = (struct zmq_transport *)t;
    int events, rc, err;
    size_t elen = sizeof(events);

    (void)peer; /* zmq cannot address one agent: every subscriber whose prefix matches gets it */
    if (zt->role != PK_TRANSPORT_RECEIVER || zt->ctl == NULL)
        return -EOPNOTSUPP;
    if (len == 0 || buf == NULL)
        return -EINVAL;
    if (len > PK_CONTROL_MESSAGE_MAX)
        return -EMSGSIZE;
    /*
     * A PUB socket does not block or say EAGAIN for one subscriber at its ZMQ_SNDHWM: libzmq
     * drops the message for that subscriber alone (doc/zmq_socket.adoc), so that an agent that
     * stopped reading does not hold up the others' control; EAGAIN is still passed on should
     * libzmq say it.
     */
    rc = zmq_send(zt->ctl, buf, len, ZMQ_DONTWAIT);
    err = rc < 0 ? zmq_errno() : 0;
    /* ZMQ_EVENTS after each send (doc/zmq_getsockopt.adoc), though nothing polls this fd. */
    zmq_getsockopt(zt->ctl, ZMQ_EVENTS, &events, &elen);
    if (rc < 0) {
        zt->control_full += err == EAGAIN;
        return -err;
    }
    zt->control_sent++;
    return 0;
}

void
pk_zmq_control_report(const struct zmq_transport *zt, struct pk_transport_report *r)
{
    static const struct pk_transport_stat
        sent = {NULL, NULL, NULL, NULL, "relay", "control_sent", 0},
        full = {NULL, NULL, NULL, NULL, "relay", "control_full", 0};

    if (zt->ctl == NULL || zt->role != PK_TRANSPORT_RECEIVER)
        return;
    pk_transport_stat_add(r, &sent, zt->control_sent);
    pk_transport_stat_add(r, &full, zt->control_full);
}

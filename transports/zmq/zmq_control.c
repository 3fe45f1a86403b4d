/*
 * zmq, the return path of the control plane (transport.h: send_control, on_control): a second
 * socket pair beside the data socket, in the same context, under the same CURVE keys and ZAP
 * domain (so the ZAP handler, zmq_zap.c, applies the same allow-lists and counts refusals).
 * The collector binds a PUB socket and publishes each control message to every agent; each
 * agent's SUB socket subscribes to its own prefix (opts->control_prefix), so libzmq filters
 * what is not for it. ZMQ_CONTROL_ENDPOINT says where; empty: the data endpoint's port + 1.
 * Loop thread only; the socket is closed with the data socket (zmq.c, on_closed).
 */
#include "access.h"
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

/* Collector: control messages queued per agent; past it that agent misses one, and is sent it
 * again at its next stats. Small: an agent that never reads holds at most this many messages
 * (each at most ~4.4 KiB) and the kernel's send buffer. */
#define CONTROL_SNDHWM 16
#define CONTROL_SNDBUF (64 * 1024)
/* Collector: a subscriber that has not finished its handshake by then is dropped, so that idle
 * TCP connections hold no subscriber slot for long (libzmq's default is 30 s). */
#define CONTROL_HANDSHAKE_MS 5000
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
static void ctl_monitor_drain(struct zmq_transport *zt);

void
pk_zmq_control_drain(struct zmq_transport *zt)
{
    if (zt->ctl_mon != NULL) {
        ctl_monitor_drain(zt); /* collector: its PUB socket's accepts and disconnects */
        return;
    }
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

/*
 * Collector: the PUB socket's subscribers, bounded like the data socket's peers (zmq_monitor.c
 * says why at accept): an address outside COLLECT_ALLOW, or one past COLLECT_MAX_PEERS
 * subscribers, is reset at once (libzmq then closes it: DISCONNECTED, same fd) and counted.
 */
static void
ctl_event(struct zmq_transport *zt, uint16_t event, uint32_t fd)
{
    uint8_t bit = (uint8_t)(1u << (fd % 8));
    int tracked = fd < REFUSED_FD_MAX;
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    char addr[INET6_ADDRSTRLEN];
    enum pk_refusal why = PK_REFUSALS;

    if (event == ZMQ_EVENT_DISCONNECTED) {
        if (tracked && (zt->ctl_refused_fds[fd / 8] & bit))
            zt->ctl_refused_fds[fd / 8] &= (uint8_t)~bit;
        else if (zt->ctl_subscribers > 0)
            zt->ctl_subscribers--;
        return;
    }
    if (getpeername((int)fd, (struct sockaddr *)&ss, &sslen) != 0)
        ss.ss_family = 0;
    if (zt->access != NULL && zt->access->nallow > 0 && ss.ss_family != 0 &&
        !pk_cidr_match(zt->access->allow, zt->access->nallow, (struct sockaddr *)&ss))
        why = PK_REFUSED_ADDRESS;
    else if (zt->max_peers > 0 && zt->ctl_subscribers >= zt->max_peers)
        why = PK_REFUSED_PEER_LIMIT;
    if (why == PK_REFUSALS || !tracked) { /* an fd past the bitmap stays counted until gone */
        zt->ctl_subscribers++;
        if (why == PK_REFUSALS)
            return;
    }
    pk_zmq_peer_addr((int)fd, addr, sizeof(addr));
    pk_zmq_abort((int)fd);
    zt->ctl_refused++;
    if (zt->access != NULL)
        pk_access_refuse(zt->access, why, addr, "");
    if (tracked)
        zt->ctl_refused_fds[fd / 8] |= bit;
}

static void
ctl_monitor_drain(struct zmq_transport *zt)
{
    uint16_t event;
    uint32_t value;
    char peer[128];

    while (pk_zmq_monitor_read(zt->ctl_mon, &event, &value, peer, sizeof(peer)))
        ctl_event(zt, event, value);
}

static void
on_ctl_mon_poll(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    ctl_monitor_drain(container_of(h, struct zmq_transport, ctl_poll));
}

static int
open_monitor(struct zmq_transport *zt, char *errbuf)
{
    char uri[64];

    snprintf(uri, sizeof(uri), "inproc://pk-ctl-monitor-%p", (void *)zt);
    if (zmq_socket_monitor(zt->ctl, uri, ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0 ||
        (zt->ctl_mon = zmq_socket(zt->ctx, ZMQ_PAIR)) == NULL || zmq_connect(zt->ctl_mon, uri) != 0)
        return pk_zmq_fail(errbuf, "zmq: cannot monitor", "the control socket");
    return pk_zmq_setopt_must(zt->ctl_mon, ZMQ_LINGER, "ZMQ_LINGER", 0, errbuf);
}

/* Polls the ZMQ_FD of the agent's SUB socket, or of the collector's monitor of its PUB socket,
 * on the loop (H_CTL once initialised). */
static int
watch(struct zmq_transport *zt, char *errbuf)
{
    int sender = zt->role == PK_TRANSPORT_SENDER;
    void *sock = sender ? zt->ctl : zt->ctl_mon;
    uv_os_sock_t fd;
    size_t fdlen = sizeof(fd);
    int rc;

    if (zmq_getsockopt(sock, ZMQ_FD, &fd, &fdlen) != 0)
        return pk_zmq_fail(errbuf, "zmq: cannot get ZMQ_FD of", "the control socket");
    if ((rc = uv_poll_init_socket(zt->loop, &zt->ctl_poll, fd)) == 0) {
        zt->handles |= H_CTL;
        rc = uv_poll_start(&zt->ctl_poll, UV_READABLE, sender ? on_ctl_poll : on_ctl_mon_poll);
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
        if (rc == 0)
            rc = pk_zmq_setopt_must(zt->ctl, ZMQ_SNDBUF, "ZMQ_SNDBUF", CONTROL_SNDBUF, errbuf);
        if (rc == 0)
            rc = pk_zmq_setopt_must(zt->ctl, ZMQ_HANDSHAKE_IVL, "ZMQ_HANDSHAKE_IVL",
                                    CONTROL_HANDSHAKE_MS, errbuf);
        if (rc == 0 && zmq_setsockopt(zt->ctl, ZMQ_MAXMSGSIZE, &max, sizeof(max)) != 0)
            rc = pk_zmq_fail(errbuf, "zmq: cannot set", "ZMQ_MAXMSGSIZE");
    }
    if (rc != 0 || (rc = secure(zt, errbuf)) != 0)
        return rc;
    /* The collector's monitor first, so that no accept goes unseen. */
    if (!sender && (rc = open_monitor(zt, errbuf)) != 0)
        return rc;
    if ((rc = attach(zt, ep, errbuf)) != 0)
        return rc;
    return watch(zt, errbuf); /* agent: the SUB socket; collector: its PUB socket's monitor */
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
        full = {NULL, NULL, NULL, NULL, "relay", "control_full", 0},
        subs = {NULL, NULL, NULL, NULL, "relay", "control_subscribers", 0},
        refused = {NULL, NULL, NULL, NULL, "relay", "control_refused", 0};

    if (zt->ctl == NULL || zt->role != PK_TRANSPORT_RECEIVER)
        return;
    pk_transport_stat_add(r, &sent, zt->control_sent);
    pk_transport_stat_add(r, &full, zt->control_full);
    pk_transport_stat_add(r, &subs, zt->ctl_subscribers);
    pk_transport_stat_add(r, &refused, zt->ctl_refused);
}

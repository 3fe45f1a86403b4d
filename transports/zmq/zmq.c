/*
 * ZeroMQ transport: PUSH connects (agents), PULL binds (collector). ZMQ_FD is edge-triggered
 * (libzmq doc/zmq_getsockopt.adoc), so ZMQ_EVENTS is read after every send and receive and in
 * every poll callback, and a uv_idle handle re-runs the receive loop when it stops early
 * (budget, resume). A monitor socket (zmq_monitor.c) reports connects and disconnects; the
 * receiver bounds what peers can make libzmq hold (set_receiver_bounds, zmq_guard.c).
 * Closing runs zmq_ctx_term (which blocks for up to ZMQ_LINGER) on the libuv thread pool, so
 * the loop keeps serving while queued messages drain. Each fd has one uv_poll handle, started for
 * UV_READABLE only, even on a sender (readiness is in ZMQ_EVENTS, not in libuv's events); the
 * handles are closed before zmq_close, and ZMQ_LINGER is set only then, so zmq_ctx_term ends.
 */
#include "access.h"
#include "endpoint.h"
#include "pcktr.h"
#include "transport.h"
#include "zmq_transport.h"
#include "zmq_zap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define RECV_BUDGET 256    /* messages per callback before yielding to other handles */
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
/* uv handles initialised, in the order of close_handles() */
enum { H_IDLE = 1, H_TIMER = 2, H_SOCK = 4, H_MON = 8, H_ZAP = 16, H_GUARD = 32 };
/* Framing and handshake bytes the guard allows a connection beyond its messages. */
#define GUARD_SLACK_BYTES (64u << 10)
#define RECONNECT_IVL_MS 100
#define RECONNECT_IVL_MAX_MS 2000

const struct pk_transport_ops pk_transport_zmq;

static int
zmq_fail(char *errbuf, const char *what, const char *uri)
{
    int err = zmq_errno();

    pk_seterr(errbuf, -err, "%s %s: %s", what, uri, zmq_strerror(err));
    return -err;
}

static void on_idle(uv_idle_t *h);

/* Reads ZMQ_EVENTS and acts on it until there is nothing to do or the budget is spent. */
static void
process(struct zmq_transport *zt)
{
    struct pk_transport *t = &zt->base;
    int budget = RECV_BUDGET;

    for (;;) {
        int events = 0;
        size_t len = sizeof(events);
        zmq_msg_t msg;

        if (zmq_getsockopt(zt->sock, ZMQ_EVENTS, &events, &len) != 0)
            return;
        if (zt->role == PK_TRANSPORT_SENDER) {
            uv_idle_stop(&zt->idle);
            if (zt->want_writable && (events & ZMQ_POLLOUT)) {
                zt->want_writable = 0;
                t->on_writable(t);
            }
            return;
        }
        if (!zt->receiving || !(events & ZMQ_POLLIN)) {
            uv_idle_stop(&zt->idle);
            return;
        }
        if (budget-- == 0) {
            /* Messages already queued do not make the fd fire again: come back next turn. */
            uv_idle_start(&zt->idle, on_idle);
            return;
        }
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, zt->sock, ZMQ_DONTWAIT) >= 0) {
            int fd = zmq_msg_get(&msg, ZMQ_SRCFD); /* which connection: for the guard */
            t->counters.messages_received++;
            t->counters.bytes_received += zmq_msg_size(&msg);
            if (fd >= 0 && fd < REFUSED_FD_MAX)
                zt->delivered_fds[fd / 8] |= (uint8_t)(1u << (fd % 8));
            if (zmq_msg_size(&msg) > zt->max_message) {
                t->counters.messages_oversized++; /* dropped; the connection stays */
                zmq_msg_close(&msg);
                continue;
            }
            const char *addr = zmq_msg_gets(&msg, "Peer-Address");
            const char *key = zt->zap_on ? zmq_msg_gets(&msg, "User-Id") : NULL;
            struct pk_peer peer = {addr ? addr : "", key ? key : ""};
            /* A valid message proves the connection (its FIRST_MESSAGE_MS deadline ends). */
            if (t->on_message(t, zmq_msg_data(&msg), zmq_msg_size(&msg), &peer) == 0 &&
                fd >= 0 && fd < REFUSED_FD_MAX)
                zt->proven_fds[fd / 8] |= (uint8_t)(1u << (fd % 8));
        }
        zmq_msg_close(&msg); /* on EAGAIN the loop re-reads ZMQ_EVENTS and ends */
    }
}

static void
on_idle(uv_idle_t *h)
{
    struct zmq_transport *zt = container_of(h, struct zmq_transport, idle);

    pk_zmq_monitor_drain(zt);
    if (zt->zap_on)
        pk_zap_process(&zt->zap);
    process(zt);
}

static void
on_sock_poll(uv_poll_t *h, int status, int events)
{
    (void)status; /* ZMQ_EVENTS, not libuv's view of the signalling fd, says what to do */
    (void)events;
    process(container_of(h, struct zmq_transport, sock_poll));
}

static void
on_mon_poll(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    pk_zmq_monitor_drain(container_of(h, struct zmq_transport, mon_poll));
}

static int
setopt_int(void *sock, int opt, int value)
{
    return zmq_setsockopt(sock, opt, &value, sizeof(value));
}

/* An option libzmq must take: 0, or -errno with errbuf naming it. */
static int
setopt_must(void *sock, int opt, const char *name, int value, char *errbuf)
{
    return setopt_int(sock, opt, value) == 0 ? 0 : zmq_fail(errbuf, "zmq: cannot set", name);
}

static int
attach_endpoints(struct zmq_transport *zt, const struct pk_endpoint *ep, char *errbuf)
{
    char uri[300];
    int bound = 0;

    if (zt->role == PK_TRANSPORT_SENDER) {
        pk_endpoint_uri(ep, 0, zt->connect_uri, sizeof(zt->connect_uri));
        return zmq_connect(zt->sock, zt->connect_uri) == 0
                   ? 0
                   : zmq_fail(errbuf, "cannot connect to", zt->connect_uri);
    }
    if (ep->host[0] == '\0') {
        /* "*" with ZMQ_IPV6 binds "::", which accepts IPv4 too (unless bindv6only is set). */
        snprintf(uri, sizeof(uri), "tcp://*:%u", ep->port);
        return zmq_bind(zt->sock, uri) == 0 ? 0 : zmq_fail(errbuf, "cannot listen on", uri);
    }
    /* A name such as localhost has an IPv4 and an IPv6 address: listen on each that exists. */
    for (int i = 0; i < ep->naddrs; i++) {
        pk_endpoint_uri(ep, i, uri, sizeof(uri));
        if (zmq_bind(zt->sock, uri) == 0) {
            bound++;
        } else if (zmq_errno() != EADDRNOTAVAIL || (i == ep->naddrs - 1 && bound == 0)) {
            return zmq_fail(errbuf, "cannot listen on", uri);
        }
    }
    return 0;
}

static int
setopt_key(struct zmq_transport *zt, int opt, const char *z85, char *errbuf)
{
    /* A Z85 key is given with its terminating NUL: 41 bytes (libzmq doc/zmq_setsockopt). */
    if (zmq_setsockopt(zt->sock, opt, z85, strlen(z85) + 1) != 0)
        return zmq_fail(errbuf, "zmq: cannot set a CURVE key", "(is libzmq built with CURVE?)");
    return 0;
}

/* What peers may make the receiver hold (the constants above; docs/SECURITY.md). 0 or -errno. */
static int
set_receiver_bounds(struct zmq_transport *zt, const struct pk_transport_opts *opts, char *errbuf)
{
    uint64_t max = opts->peer_max_message ? opts->peer_max_message : opts->max_message;
    int64_t zmax = (int64_t)(max * MAXMSGSIZE_FACTOR + CURVE_FRAME_OVERHEAD);
    uint64_t hwm = PEER_BUFFER_BYTES / (uint64_t)zmax;

    zt->max_message = max;
    zt->max_peers = opts->max_peers;
    zt->conn_bound = ((hwm < RCVHWM_MIN ? RCVHWM_MIN : hwm) + 2) * ((uint64_t)zmax + 64) +
                     GUARD_SLACK_BYTES;
    if (zmq_setsockopt(zt->sock, ZMQ_MAXMSGSIZE, &zmax, sizeof(zmax)) != 0)
        return zmq_fail(errbuf, "zmq: cannot set", "ZMQ_MAXMSGSIZE");
    return setopt_must(zt->sock, ZMQ_RCVHWM, "ZMQ_RCVHWM", hwm < RCVHWM_MIN ? RCVHWM_MIN : (int)hwm,
                       errbuf);
}

/* CURVE keys, and the ZAP handler that checks peers on the receiver. Before bind/connect. */
static int
configure_security(struct zmq_transport *zt, uv_loop_t *loop, const struct pk_transport_opts *opts,
                   char *errbuf)
{
    int curve = opts->secret_key != NULL, rc;

    zt->access = opts->access;
    if (opts->role == PK_TRANSPORT_SENDER) {
        if (!curve)
            return 0;
        if ((rc = setopt_key(zt, ZMQ_CURVE_SERVERKEY, opts->server_public, errbuf)) != 0)
            return rc;
        if ((rc = setopt_key(zt, ZMQ_CURVE_PUBLICKEY, opts->public_key, errbuf)) != 0)
            return rc;
        return setopt_key(zt, ZMQ_CURVE_SECRETKEY, opts->secret_key, errbuf);
    }
    if (curve && setopt_int(zt->sock, ZMQ_CURVE_SERVER, 1) != 0)
        return zmq_fail(errbuf, "zmq: cannot enable", "CURVE");
    if (curve && setopt_key(zt, ZMQ_CURVE_SECRETKEY, opts->secret_key, errbuf) != 0)
        return zmq_fail(errbuf, "zmq: cannot enable", "CURVE");
    /* ZAP runs when there is something to check, or a key to attach to messages. */
    if (!curve && (opts->access == NULL || opts->access->nallow == 0))
        return 0;
    rc = pk_zap_start(&zt->zap, zt->ctx, loop, opts->access, errbuf);
    if (zt->zap.watching)
        zt->handles |= H_ZAP;
    if (rc != 0)
        return rc;
    zt->zap_on = 1;
    /* With the NULL mechanism libzmq asks ZAP only for sockets that name a ZAP domain. */
    if (zmq_setsockopt(zt->sock, ZMQ_ZAP_DOMAIN, PK_ZAP_DOMAIN, strlen(PK_ZAP_DOMAIN)) != 0)
        return zmq_fail(errbuf, "zmq: cannot set", "ZMQ_ZAP_DOMAIN");
    return 0;
}

static void close_handles(struct zmq_transport *zt);

/* Polls sock's ZMQ_FD for UV_READABLE with poll (bit in zt->handles once initialised). */
static int
watch_fd(struct zmq_transport *zt, void *sock, uv_poll_t *poll, unsigned bit, uv_poll_cb cb,
         const char *what, char *errbuf)
{
    uv_os_sock_t fd;
    size_t fdlen = sizeof(fd);
    int rc;

    if (zmq_getsockopt(sock, ZMQ_FD, &fd, &fdlen) != 0)
        return zmq_fail(errbuf, "zmq: cannot get ZMQ_FD of", what);
    if ((rc = uv_poll_init_socket(zt->loop, poll, fd)) == 0) {
        zt->handles |= bit;
        rc = uv_poll_start(poll, UV_READABLE, cb);
    }
    if (rc != 0)
        return pk_seterr(errbuf, rc, "zmq: cannot watch %s: %s", what, uv_strerror(rc));
    return 0;
}

/* The sender's queue bound and reconnect intervals. 0, or -errno + errbuf. */
static int
set_sender_options(struct zmq_transport *zt, const struct pk_transport_opts *opts, char *errbuf)
{
    int rc = setopt_must(zt->sock, ZMQ_SNDHWM, "ZMQ_SNDHWM", (int)opts->queue_limit, errbuf);

    if (rc == 0)
        rc = setopt_must(zt->sock, ZMQ_RECONNECT_IVL, "ZMQ_RECONNECT_IVL", RECONNECT_IVL_MS,
                         errbuf);
    if (rc == 0)
        rc = setopt_must(zt->sock, ZMQ_RECONNECT_IVL_MAX, "ZMQ_RECONNECT_IVL_MAX",
                         RECONNECT_IVL_MAX_MS, errbuf);
    return rc;
}

/* The idle handle and the two timers (bits in zt->handles once initialised). 0 or -errno. */
static int
init_timers(struct zmq_transport *zt, char *errbuf)
{
    int rc;

    if ((rc = uv_idle_init(zt->loop, &zt->idle)) == 0) {
        zt->handles |= H_IDLE;
        rc = uv_timer_init(zt->loop, &zt->retry_timer);
    }
    if (rc == 0) {
        zt->handles |= H_TIMER;
        rc = uv_timer_init(zt->loop, &zt->guard_timer);
    }
    if (rc != 0)
        return pk_seterr(errbuf, rc, "zmq: cannot start timers: %s", uv_strerror(rc));
    zt->handles |= H_GUARD;
    uv_unref((uv_handle_t *)&zt->guard_timer); /* runs while connections are watched, unref'd */
    return 0;
}

static struct pk_transport *
zmq_open(uv_loop_t *loop, const struct pk_endpoint *ep, const struct pk_transport_opts *opts,
         char *errbuf)
{
    struct zmq_transport *zt = calloc(1, sizeof(*zt));

    if (zt == NULL) {
        pk_seterr(errbuf, -ENOMEM, "out of memory");
        return NULL;
    }
    zt->base.ops = &pk_transport_zmq;
    zt->loop = loop;
    zt->role = opts->role;
    zt->receiving = 1;
    zt->ctx = zmq_ctx_new();
    zt->sock = zt->ctx ? zmq_socket(zt->ctx, opts->role == PK_TRANSPORT_SENDER ? ZMQ_PUSH : ZMQ_PULL)
                       : NULL;
    if (zt->sock == NULL) {
        zmq_fail(errbuf, "zmq", "socket");
        goto fail;
    }
    /* The real linger is set at close. */
    if (setopt_must(zt->sock, ZMQ_LINGER, "ZMQ_LINGER", 0, errbuf) != 0 ||
        setopt_must(zt->sock, ZMQ_IPV6, "ZMQ_IPV6", 1, errbuf) != 0)
        goto fail;
    if (opts->role == PK_TRANSPORT_SENDER ? set_sender_options(zt, opts, errbuf) != 0
                                          : set_receiver_bounds(zt, opts, errbuf) != 0)
        goto fail;
    if (configure_security(zt, loop, opts, errbuf) != 0)
        goto fail;
    if (pk_zmq_monitor_open(zt, errbuf) != 0)
        goto fail;
    if (attach_endpoints(zt, ep, errbuf) != 0)
        goto fail;

    if (init_timers(zt, errbuf) != 0 ||
        watch_fd(zt, zt->sock, &zt->sock_poll, H_SOCK, on_sock_poll, "socket", errbuf) != 0 ||
        watch_fd(zt, zt->mon, &zt->mon_poll, H_MON, on_mon_poll, "the monitor", errbuf) != 0)
        goto fail;
    /* Both fds may have been signalled before they were watched: look once on the first turn. */
    uv_idle_start(&zt->idle, on_idle);
    return &zt->base;

fail:
    if (zt->handles != 0) {
        /* libuv still holds handles inside zt: it is freed in their close callbacks. */
        close_handles(zt);
        return NULL;
    }
    if (zt->zap.sock)
        zmq_close(zt->zap.sock);
    if (zt->mon)
        zmq_close(zt->mon);
    if (zt->sock)
        zmq_close(zt->sock);
    if (zt->ctx)
        zmq_ctx_term(zt->ctx);
    free(zt);
    return NULL;
}

static int
zmq_send_message(struct pk_transport *t, const void *buf, size_t len)
{
    struct zmq_transport *zt = (struct zmq_transport *)t;
    int rc = zmq_send(zt->sock, buf, len, ZMQ_DONTWAIT);
    int err = rc < 0 ? zmq_errno() : 0;

    if (rc >= 0) {
        t->counters.messages_sent++;
        t->counters.bytes_sent += len;
    } else if (err == EAGAIN) {
        zt->want_writable = 1; /* POLLOUT may already be back: process() looks on the next turn */
    }
    /* ZMQ_EVENTS must be read after each send, or the edge-triggered fd may not fire again. */
    int events;
    size_t elen = sizeof(events);
    zmq_getsockopt(zt->sock, ZMQ_EVENTS, &events, &elen);
    /*
     * A send that succeeds while an earlier one waits for room (a heartbeat after a refused
     * batch) has just consumed the fd's signal that room came back: look again on the next
     * turn, or on_writable would never come (seen: a READ_FILE replay stalled for RELAY_TIMEOUT).
     */
    if (zt->want_writable)
        uv_idle_start(&zt->idle, on_idle);
    return rc >= 0 ? 0 : -err;
}

static void
zmq_set_receiving(struct pk_transport *t, int on)
{
    struct zmq_transport *zt = (struct zmq_transport *)t;

    zt->receiving = on;
    if (on)
        uv_idle_start(&zt->idle, on_idle);
}

static int
zmq_connected(struct pk_transport *t)
{
    return ((struct zmq_transport *)t)->npeers > 0;
}

static void
term_work(uv_work_t *req)
{
    struct zmq_transport *zt = container_of(req, struct zmq_transport, term_work);

    zmq_ctx_term(zt->ctx); /* blocks until queued messages are sent or ZMQ_LINGER runs out */
    zt->term_ns = uv_hrtime() - zt->closed_at_ns;
}

static void
after_term(uv_work_t *req, int status)
{
    struct zmq_transport *zt = container_of(req, struct zmq_transport, term_work);
    /*
     * libzmq does not say whether linger ran out. Its linger clock starts at zmq_close, and so
     * does term_ns: all of it used means it ran out. (A flush that ends just at the deadline is
     * reported as not flushed: the cautious side.)
     */
    int flushed = zt->base.counters.messages_sent == 0 ||
                  (zt->linger_ms > 0 && zt->term_ns < zt->linger_ms * 1000000u);

    (void)status;
    if (zt->closed_cb != NULL) /* NULL: zmq_open failed, nobody waits */
        zt->closed_cb(zt->closed_data, flushed);
    free(zt->conns);
    free(zt);
}

static void
on_handle_closed(uv_handle_t *h)
{
    struct zmq_transport *zt = h->data;

    if (--zt->handles_open > 0)
        return;
    /* Only now: libuv no longer polls the fds that zmq_close will release. */
    if (setopt_int(zt->sock, ZMQ_LINGER, (int)zt->linger_ms) != 0)
        zt->linger_ms = 0; /* libzmq keeps linger 0: what is queued is dropped, "not flushed" */
    zt->closed_at_ns = uv_hrtime();
    if (zt->mon)
        zmq_close(zt->mon);
    if (zt->zap.sock)
        zmq_close(zt->zap.sock);
    zmq_close(zt->sock);
    uv_queue_work(zt->loop, &zt->term_work, term_work, after_term);
}

/* Closes every uv handle that was initialised; the last close callback releases the rest. */
static void
close_handles(struct zmq_transport *zt)
{
    uv_handle_t *const handles[] = {(uv_handle_t *)&zt->idle, (uv_handle_t *)&zt->retry_timer,
                                    (uv_handle_t *)&zt->sock_poll, (uv_handle_t *)&zt->mon_poll,
                                    (uv_handle_t *)&zt->zap.poll, (uv_handle_t *)&zt->guard_timer};

    for (size_t i = 0; i < PK_ARRAY_LEN(handles); i++)
        if (zt->handles & (1u << i))
            zt->handles_open++;
    for (size_t i = 0; i < PK_ARRAY_LEN(handles); i++) {
        if (zt->handles & (1u << i)) {
            handles[i]->data = zt;
            uv_close(handles[i], on_handle_closed);
        }
    }
}

static void
zmq_close_transport(struct pk_transport *t, uint64_t linger_ms, pk_transport_closed_cb cb,
                    void *data)
{
    struct zmq_transport *zt = (struct zmq_transport *)t;

    zt->linger_ms = linger_ms;
    zt->closed_cb = cb;
    zt->closed_data = data;
    close_handles(zt);
}

const struct pk_transport_ops pk_transport_zmq = {
    .name = "zmq",
    .per_connection_peers = 0, /* Peer-Address is an IP without port; closes do not name it */
    .encrypts = 1,             /* CURVE */
    .open = zmq_open,
    .send = zmq_send_message,
    .set_receiving = zmq_set_receiving,
    .connected = zmq_connected,
    .close = zmq_close_transport,
};

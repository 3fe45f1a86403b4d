/*
 * ZeroMQ transport: PUSH connects (agents), PULL binds (collector). ZMQ_FD is edge-triggered
 * (libzmq doc/zmq_getsockopt.adoc), so ZMQ_EVENTS is read after every send and receive and in
 * every poll callback, and a uv_idle handle re-runs the receive loop when it stops early
 * (budget, resume). A monitor socket (zmq_monitor.c) reports connects and disconnects; the
 * receiver bounds what peers can make libzmq hold (zmq_options.c, zmq_guard.c).
 * Closing runs zmq_ctx_term (which blocks for up to ZMQ_LINGER) on the libuv thread pool, so
 * the loop keeps serving while queued messages drain. Each fd has one uv_poll handle, started for
 * UV_READABLE only, even on a sender (readiness is in ZMQ_EVENTS, not in libuv's events); the
 * handles are closed before zmq_close, and ZMQ_LINGER is set only then, so zmq_ctx_term ends.
 */
#include "access.h"
#include "endpoint.h"
#include "pcktr.h"
#include "transport.h"
#include "zmq_keys.h"
#include "zmq_transport.h"
#include "zmq_zap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define RECV_BUDGET 256    /* messages per callback before yielding to other handles */
const struct pk_transport_ops pk_transport_zmq;

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
            if (zt->guard_idle) /* bytes were taken: the guard looks every 20 ms again */
                pk_zmq_guard_wake(zt);
            if (zmq_msg_size(&msg) > zt->max_message) {
                t->counters.messages_oversized++; /* dropped; the connection stays */
                zmq_msg_close(&msg);
                continue;
            }
            const char *addr = zmq_msg_gets(&msg, "Peer-Address");
            const char *key = zt->zap != NULL ? zmq_msg_gets(&msg, "User-Id") : NULL;
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
    if (zt->zap != NULL)
        pk_zap_process(zt->zap);
    process(zt);
    pk_zmq_control_drain(zt); /* its fd, too, may have fired before it was watched */
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
attach_endpoints(struct zmq_transport *zt, const struct pk_endpoint *ep, char *errbuf)
{
    char uri[300];
    int bound = 0;

    if (zt->role == PK_TRANSPORT_SENDER) {
        pk_endpoint_uri(ep, 0, zt->connect_uri, sizeof(zt->connect_uri));
        return zmq_connect(zt->sock, zt->connect_uri) == 0
                   ? 0
                   : pk_zmq_fail(errbuf, "cannot connect to", zt->connect_uri);
    }
    if (ep->host[0] == '\0') {
        /* "*" with ZMQ_IPV6 binds "::", which accepts IPv4 too (unless bindv6only is set). */
        snprintf(uri, sizeof(uri), "tcp://*:%u", ep->port);
        return zmq_bind(zt->sock, uri) == 0 ? 0 : pk_zmq_fail(errbuf, "cannot listen on", uri);
    }
    /* A name such as localhost has an IPv4 and an IPv6 address: listen on each that exists. */
    for (int i = 0; i < ep->naddrs; i++) {
        pk_endpoint_uri(ep, i, uri, sizeof(uri));
        if (zmq_bind(zt->sock, uri) == 0) {
            bound++;
        } else if (zmq_errno() != EADDRNOTAVAIL || (i == ep->naddrs - 1 && bound == 0)) {
            return pk_zmq_fail(errbuf, "cannot listen on", uri);
        }
    }
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
        return pk_zmq_fail(errbuf, "zmq: cannot get ZMQ_FD of", what);
    if ((rc = uv_poll_init_socket(zt->loop, poll, fd)) == 0) {
        zt->handles |= bit;
        rc = uv_poll_start(poll, UV_READABLE, cb);
    }
    if (rc != 0)
        return pk_seterr(errbuf, rc, "zmq: cannot watch %s: %s", what, uv_strerror(rc));
    return 0;
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

static int
zmq_open(struct pk_transport **out, uv_loop_t *loop, const struct pk_endpoint *ep,
         const struct pk_transport_opts *opts, char *errbuf)
{
    struct zmq_transport *zt = calloc(1, sizeof(*zt));
    int rc = -EINVAL;

    *out = NULL;
    if (zt == NULL)
        return pk_seterr(errbuf, -ENOMEM, "out of memory");
    zt->base.ops = &pk_transport_zmq;
    zt->loop = loop;
    zt->role = opts->role;
    zt->config = opts->config;
    zt->receiving = 1;
    zt->ctx = zmq_ctx_new();
    zt->sock = zt->ctx ? zmq_socket(zt->ctx, opts->role == PK_TRANSPORT_SENDER ? ZMQ_PUSH : ZMQ_PULL)
                       : NULL;
    if (zt->sock == NULL) {
        rc = pk_zmq_fail(errbuf, "zmq", "socket");
        goto fail;
    }
    /* The real linger is set at close. */
    if ((rc = pk_zmq_setopt_must(zt->sock, ZMQ_LINGER, "ZMQ_LINGER", 0, errbuf)) != 0 ||
        (rc = pk_zmq_setopt_must(zt->sock, ZMQ_IPV6, "ZMQ_IPV6", 1, errbuf)) != 0)
        goto fail;
    if ((rc = opts->role == PK_TRANSPORT_SENDER ? pk_zmq_set_sender_options(zt, opts, errbuf)
                                                : pk_zmq_set_receiver_bounds(zt, opts, errbuf)) != 0)
        goto fail;
    if ((rc = pk_zmq_configure_security(zt, loop, opts, errbuf)) != 0 ||
        (rc = pk_zmq_monitor_open(zt, errbuf)) != 0 || (rc = attach_endpoints(zt, ep, errbuf)) != 0)
        goto fail;
    if ((rc = init_timers(zt, errbuf)) != 0 ||
        (rc = watch_fd(zt, zt->sock, &zt->sock_poll, H_SOCK, on_sock_poll, "socket", errbuf)) != 0 ||
        (rc = watch_fd(zt, zt->mon, &zt->mon_poll, H_MON, on_mon_poll, "the monitor", errbuf)) != 0 ||
        (rc = pk_zmq_control_open(zt, ep, opts, errbuf)) != 0)
        goto fail;
    /* Both fds may have been signalled before they were watched: look once on the first turn. */
    uv_idle_start(&zt->idle, on_idle);
    *out = &zt->base;
    return 0;

fail:
    if (zt->handles != 0 || zt->zap != NULL) {
        /* libuv still holds handles inside zt (or the ZAP handler's): freed in their close
         * callbacks. */
        close_handles(zt);
        return rc;
    }
    if (zt->ctl)
        zmq_close(zt->ctl);
    if (zt->ctl_mon)
        zmq_close(zt->ctl_mon);
    if (zt->mon)
        zmq_close(zt->mon);
    if (zt->sock)
        zmq_close(zt->sock);
    if (zt->ctx)
        zmq_ctx_term(zt->ctx);
    free(zt);
    return rc;
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
on_closed(struct zmq_transport *zt)
{
    if (--zt->handles_open > 0)
        return;
    /* Only now: libuv no longer polls the fds that zmq_close will release. */
    if (pk_zmq_setopt_int(zt->sock, ZMQ_LINGER, (int)zt->linger_ms) != 0)
        zt->linger_ms = 0; /* libzmq keeps linger 0: what is queued is dropped, "not flushed" */
    zt->closed_at_ns = uv_hrtime();
    if (zt->ctl)
        zmq_close(zt->ctl); /* its poll handle is closed too: ZMQ_LINGER 0 since open */
    if (zt->ctl_mon)
        zmq_close(zt->ctl_mon);
    if (zt->mon)
        zmq_close(zt->mon);
    zmq_close(zt->sock); /* the ZAP handler closed its own socket before it called back */
    uv_queue_work(zt->loop, &zt->term_work, term_work, after_term);
}

static void
on_handle_closed(uv_handle_t *h)
{
    on_closed(h->data);
}

static void
on_zap_closed(void *data)
{
    on_closed(data);
}

/* Closes every uv handle that was initialised; the last close callback releases the rest. */
static void
close_handles(struct zmq_transport *zt)
{
    uv_handle_t *const handles[] = {(uv_handle_t *)&zt->idle, (uv_handle_t *)&zt->retry_timer,
                                    (uv_handle_t *)&zt->sock_poll, (uv_handle_t *)&zt->mon_poll,
                                    (uv_handle_t *)&zt->guard_timer, (uv_handle_t *)&zt->ctl_poll};

    for (size_t i = 0; i < PK_ARRAY_LEN(handles); i++)
        if (zt->handles & (1u << i))
            zt->handles_open++;
    /* The guard's polls (idle mode) are handles too: the loop must not end with them open. */
    if (pk_zmq_guard_close(zt, on_closed))
        zt->handles_open++;
    if (zt->zap != NULL) {
        zt->handles_open++;
        pk_zap_close(zt->zap, on_zap_closed, zt);
        zt->zap = NULL;
    }
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
    .settings = pk_zmq_settings,
    .nsettings = ZMQ_NSETTINGS,
    .settings_size = sizeof(struct zmq_settings),
    .configure = pk_zmq_configure,
    .config_free = pk_zmq_config_free,
    .public_key = pk_zmq_public_key,
    .log_security = pk_zmq_log_security,
    .reload = pk_zmq_reload,
    .keygen = pk_keygen,
    .open = zmq_open,
    .send = zmq_send_message,
    .send_control = pk_zmq_send_control,
    .set_receiving = zmq_set_receiving,
    .connected = zmq_connected,
    .report = pk_zmq_report,
    .close = zmq_close_transport,
};

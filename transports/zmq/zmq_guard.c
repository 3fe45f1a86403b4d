/*
 * The zmq receiver's guard against a peer that never finishes a message. libzmq 4.3.4 counts
 * ZMQ_RCVHWM in whole messages, keeps the frames of an unfinished multipart message out of the
 * reader's sight (src/ypipe.hpp: only complete messages are flushed) and checks ZMQ_MAXMSGSIZE
 * per frame: a peer that sends frames with the MORE flag forever grows the collector without
 * bound (measured: 214 MiB from one peer in a second). Our protocol has single-part messages
 * only, so such a peer is broken or hostile, but libzmq gives no way to see it.
 *
 * What can be seen, per connection (ZMQ_EVENT_ACCEPTED names its fd): the bytes libzmq has read
 * from it (the kernel's tcpi_bytes_received less what still waits in the socket, FIONREAD), and
 * whether any of its messages reached us (ZMQ_SRCFD). A connection whose messages reach us is
 * re-based at each check; one from which nothing arrives can make libzmq read at most its queue
 * (RCVHWM), one more decoded message and one being decoded, (RCVHWM + 2) x ZMQ_MAXMSGSIZE plus
 * framing, before libzmq stops reading it. Past that bound it is hoarding: it is reset
 * (libzmq closes it) and reported to the owner as a framing error. The same check enforces
 * the first-message deadline (FIRST_MESSAGE_MS), and the list of connections tells the peer
 * limit which to displace (pk_zmq_guard_displace). Runs on the loop thread.
 *
 * The check runs every GUARD_CHECK_MS while anything moves. When one finds every connection
 * proven, none closing and none taken from since the check before (all_quiet), the guard
 * sleeps (zmq_guard_idle.c): each connection is polled for readability, and guard_timer only
 * runs every GUARD_IDLE_CHECK_MS as a backstop. A poll's event, a new connection or a delivery
 * wakes it (pk_zmq_guard_wake): the checks resume, the first GUARD_CHECK_MS later, and c->base
 * was never moved, so what a hoarder gets past its bound is still one period's reading.
 */
#include "endpoint.h"
#include "pcktr.h"
#include "zmq_tcpinfo.h"
#include "zmq_transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

void
pk_zmq_peer_addr(int fd, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);

    buf[0] = '\0';
    if (getpeername(fd, (struct sockaddr *)&ss, &sslen) != 0)
        return;
    const void *ip = ss.ss_family == AF_INET6
                         ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                         : (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
    if (inet_ntop(ss.ss_family, ip, buf, (socklen_t)len) == NULL)
        buf[0] = '\0';
}

void
pk_zmq_abort(int fd)
{
    /*
     * connect(2) to AF_UNSPEC dissolves a TCP connection at once (Linux tcp_disconnect: a
     * reset to the peer, both queues purged), where shutdown(2) would let data that keeps
     * coming be read first. libzmq's next read fails and it closes the fd itself.
     */
    struct sockaddr sa = {.sa_family = AF_UNSPEC};

    if (connect(fd, &sa, sizeof(sa)) != 0)
        shutdown(fd, SHUT_RDWR);
}

static void on_guard_timer(uv_timer_t *h);

int
pk_zmq_guard_add(struct zmq_transport *zt, int fd)
{
    if (fd < 0 || fd >= REFUSED_FD_MAX)
        return 0; /* its deliveries are not marked (delivered_fds): left unguarded */
    if (zt->nconns == zt->conns_cap) {
        size_t cap = zt->conns_cap ? zt->conns_cap * 2 : 16;
        struct zmq_conn *grown = realloc(zt->conns, cap * sizeof(*grown));
        if (grown == NULL)
            return -ENOMEM; /* not watched: the connection works, unguarded */
        zt->conns = grown;
        zt->conns_cap = cap;
    }
    int64_t taken = pk_zmq_bytes_taken(fd, NULL);
    struct zmq_conn *c = &zt->conns[zt->nconns++];
    socklen_t sslen = sizeof(c->addr);
    *c = (struct zmq_conn){.fd = fd, .base = taken > 0 ? (uint64_t)taken : 0, .seq = zt->conn_seq++};
    c->seen = c->base;
    if (getpeername(fd, (struct sockaddr *)&c->addr, &sslen) != 0)
        c->addr.ss_family = 0;
    zt->proven_fds[fd / 8] &= (uint8_t) ~(1u << (fd % 8)); /* an earlier connection's fd */
    if (zt->nconns == 1 || zt->guard_idle) /* unproven: its FIRST_MESSAGE_MS clock must run */
        pk_zmq_guard_wake(zt);
    return 0;
}

void
pk_zmq_guard_wake(struct zmq_transport *zt)
{
    if (uv_is_closing((uv_handle_t *)&zt->guard_timer))
        return; /* closing: pk_zmq_guard_close has stopped the polls */
    if (zt->guard_idle) {
        zt->guard_idle = 0;
        pk_zmq_guard_stop_polls(zt);
        /* What woke us (a delivery, the bytes a poll saw) is taken already: the next check
         * asks whether more came after it, so that one message costs one check, not two. The
         * bound is not touched: it counts from c->base, the last delivery. */
        for (size_t i = 0; i < zt->nconns; i++) {
            int64_t taken = pk_zmq_bytes_taken(zt->conns[i].fd, NULL);
            if (taken >= 0)
                zt->conns[i].seen = (uint64_t)taken;
        }
    }
    /* Time spent idle is no connection's: the clock of a new, unproven one starts now. */
    zt->guard_last_ms = uv_now(zt->loop);
    uv_timer_start(&zt->guard_timer, on_guard_timer, GUARD_CHECK_MS, GUARD_CHECK_MS);
}

void
pk_zmq_guard_remove(struct zmq_transport *zt, int fd)
{
    for (size_t i = 0; i < zt->nconns; i++) {
        if (zt->conns[i].fd == fd) {
            /* At once: our dup would keep the socket, and so the TCP connection, open. */
            pk_zmq_guard_unwatch(zt, &zt->conns[i]);
            zt->nclosing -= zt->conns[i].closing;
            zt->conns[i] = zt->conns[--zt->nconns];
            if (zt->nconns == 0 && !uv_is_closing((uv_handle_t *)&zt->guard_timer)) {
                zt->guard_idle = 0;
                uv_timer_stop(&zt->guard_timer);
            }
            return;
        }
    }
}

static int
proven(const struct zmq_transport *zt, int fd)
{
    return (zt->proven_fds[fd / 8] >> (fd % 8)) & 1;
}

/* Resets c (libzmq sees it end and closes it: DISCONNECTED, when it is removed); once. */
static void
reset_conn(struct zmq_transport *zt, struct zmq_conn *c)
{
    pk_zmq_abort(c->fd);
    c->closing = 1;
    zt->nclosing++;
}


int
pk_zmq_guard_was_reset(const struct zmq_transport *zt, int fd)
{
    for (size_t i = 0; i < zt->nconns; i++)
        if (zt->conns[i].fd == fd)
            return zt->conns[i].closing;
    return 0;
}

size_t
pk_zmq_guard_count_from(const struct zmq_transport *zt, const struct sockaddr_storage *from)
{
    size_t n = 0;

    for (size_t i = 0; i < zt->nconns; i++)
        n += !zt->conns[i].closing && pk_sockaddr_same_host(&zt->conns[i].addr, from);
    return n;
}

int
pk_zmq_guard_displace(struct zmq_transport *zt, const struct sockaddr_storage *from)
{
    struct zmq_conn *oldest = NULL;

    for (size_t i = 0; i < zt->nconns; i++) {
        struct zmq_conn *c = &zt->conns[i];
        if (!c->closing && !proven(zt, c->fd) && (from == NULL || pk_sockaddr_same_host(&c->addr, from)) &&
            (oldest == NULL || c->seq < oldest->seq))
            oldest = c;
    }
    if (oldest == NULL)
        return 0;
    reset_conn(zt, oldest);
    zt->conns_no_first_message++;
    return 1;
}

/* Resets c when it is past a bound: hoarding (reported as a framing error) or no first message. */
static void
check_conn(struct zmq_transport *zt, struct zmq_conn *c, uint64_t dt)
{
    struct pk_transport *t = &zt->base;
    int waiting = 0;
    int64_t taken = pk_zmq_bytes_taken(c->fd, &waiting);
    int delivered = (zt->delivered_fds[c->fd / 8] >> (c->fd % 8)) & 1;

    /* Quiet: nothing taken since the previous check and nothing waiting that libzmq has not
     * read (it may be stopped at RCVHWM: the socket stays readable, a poll would not sleep). */
    c->quiet = taken >= 0 && (uint64_t)taken == c->seen && waiting == 0;
    if (taken >= 0)
        c->seen = (uint64_t)taken;
    if (delivered)
        zt->delivered_fds[c->fd / 8] &= (uint8_t) ~(1u << (c->fd % 8));
    if (zt->receiving && !proven(zt, c->fd) && (c->unproven_ms += dt) >= FIRST_MESSAGE_MS) {
        reset_conn(zt, c);
        zt->conns_no_first_message++;
        return;
    }
    if (taken < 0)
        return;
    if (delivered || (uint64_t)taken < c->base) {
        c->base = (uint64_t)taken;
        return;
    }
    if ((uint64_t)taken - c->base <= zt->conn_bound)
        return;
    char addr[INET6_ADDRSTRLEN];
    pk_zmq_peer_addr(c->fd, addr, sizeof(addr));
    reset_conn(zt, c);
    t->counters.peers_dropped++;
    if (t->on_message) /* a framing error, counted with the malformed messages */
        t->on_message(t, (const uint8_t *)"", 0, &(struct pk_peer){addr, ""});
}

/* 1 when the guard may sleep: every connection proven (no FIRST_MESSAGE_MS clock runs), none
 * closing (its DISCONNECTED must be seen: pk_zmq_monitor_drain runs here too) and all quiet. */
static int
all_quiet(const struct zmq_transport *zt)
{
    if (zt->nclosing > 0)
        return 0;
    for (size_t i = 0; i < zt->nconns; i++)
        if (!zt->conns[i].quiet || !proven(zt, zt->conns[i].fd))
            return 0;
    return 1;
}

static void
on_guard_timer(uv_timer_t *h)
{
    struct zmq_transport *zt = container_of(h, struct zmq_transport, guard_timer);
    uint64_t now = uv_now(zt->loop), dt = now - zt->guard_last_ms;

    zt->guard_last_ms = now;
    pk_zmq_monitor_drain(zt); /* forget the connections already gone before looking at fds */
    for (size_t i = 0; i < zt->nconns; i++)
        if (!zt->conns[i].closing)
            check_conn(zt, &zt->conns[i], dt);
    if (zt->nconns == 0 || uv_is_closing((uv_handle_t *)h))
        return;
    if (!all_quiet(zt)) {
        if (zt->guard_idle)
            pk_zmq_guard_wake(zt); /* a poll missed it (libzmq read first): back to 20 ms */
        return;
    }
    if (zt->guard_idle || now < zt->guard_sleep_after)
        return;
    if (pk_zmq_guard_sleep(zt) != 0) {
        zt->guard_sleep_after = now + GUARD_SLEEP_RETRY_MS; /* not 50 tries a second */
    } else {
        zt->guard_idle = 1;
        uv_timer_start(&zt->guard_timer, on_guard_timer, GUARD_IDLE_CHECK_MS, GUARD_IDLE_CHECK_MS);
    }
}

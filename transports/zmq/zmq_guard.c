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
 * (libzmq closes it) and reported to the owner as a framing error. Runs on the loop thread.
 */
#include "pcktr.h"
#include "zmq_tcpinfo.h"
#include "zmq_transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
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
        struct zmq_conn *c = realloc(zt->conns, cap * sizeof(*c));
        if (c == NULL)
            return -ENOMEM; /* not watched: the connection works, unguarded */
        zt->conns = c;
        zt->conns_cap = cap;
    }
    int64_t taken = pk_zmq_bytes_taken(fd);
    zt->conns[zt->nconns++] = (struct zmq_conn){fd, taken > 0 ? (uint64_t)taken : 0};
    if (zt->nconns == 1 && !uv_is_closing((uv_handle_t *)&zt->guard_timer))
        uv_timer_start(&zt->guard_timer, on_guard_timer, GUARD_CHECK_MS, GUARD_CHECK_MS);
    return 0;
}

void
pk_zmq_guard_remove(struct zmq_transport *zt, int fd)
{
    for (size_t i = 0; i < zt->nconns; i++) {
        if (zt->conns[i].fd == fd) {
            zt->conns[i] = zt->conns[--zt->nconns];
            if (zt->nconns == 0 && !uv_is_closing((uv_handle_t *)&zt->guard_timer))
                uv_timer_stop(&zt->guard_timer);
            return;
        }
    }
}

static void
on_guard_timer(uv_timer_t *h)
{
    struct zmq_transport *zt = container_of(h, struct zmq_transport, guard_timer);
    struct pk_transport *t = &zt->base;

    pk_zmq_monitor_drain(zt); /* forget the connections already gone before looking at fds */
    for (size_t i = 0; i < zt->nconns; i++) {
        struct zmq_conn *c = &zt->conns[i];
        int64_t taken = pk_zmq_bytes_taken(c->fd);
        int delivered =
            c->fd < REFUSED_FD_MAX && (zt->delivered_fds[c->fd / 8] & (1u << (c->fd % 8)));

        if (delivered)
            zt->delivered_fds[c->fd / 8] &= (uint8_t) ~(1u << (c->fd % 8));
        if (taken < 0)
            continue;
        if (delivered || (uint64_t)taken < c->base) {
            c->base = (uint64_t)taken;
            continue;
        }
        if ((uint64_t)taken - c->base <= zt->conn_bound)
            continue;
        char addr[INET6_ADDRSTRLEN];
        pk_zmq_peer_addr(c->fd, addr, sizeof(addr));
        pk_zmq_abort(c->fd);       /* libzmq sees it end and closes it: DISCONNECTED */
        c->base = (uint64_t)taken; /* once: it is removed at its DISCONNECTED */
        t->counters.peers_dropped++;
        if (t->on_message) /* a framing error, counted with the malformed messages */
            t->on_message(t, (const uint8_t *)"", 0, &(struct pk_peer){addr, ""});
    }
}

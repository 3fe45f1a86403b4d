/*
 * Private to the zmq transport: its state, shared by zmq.c (sockets, messages, lifetime) and
 * zmq_monitor.c (the monitor socket's events: peers, handshakes, the peer limit). Everything
 * runs on the loop thread.
 */
#ifndef PK_ZMQ_TRANSPORT_H
#define PK_ZMQ_TRANSPORT_H

#include "transport.h"
#include "zmq_zap.h"

#include <stdint.h>
#include <uv.h>

/* Connections closed at accept for the peer limit, by fd, until libzmq reports them gone. */
#define REFUSED_FD_MAX 65536

struct zmq_transport {
    struct pk_transport base; /* first: casts to struct pk_transport * are valid */
    enum pk_transport_role role;
    void *ctx, *sock, *mon;
    uv_poll_t sock_poll, mon_poll;
    uv_idle_t idle;
    uv_timer_t retry_timer; /* sender: connects again after a failed handshake */
    char connect_uri[300];
    uv_work_t term_work;
    struct zap_handler zap; /* receiver with CURVE or COLLECT_ALLOW */
    int zap_on;
    struct pk_access *access; /* receiver: where failed handshakes are counted; may be NULL */
    uv_loop_t *loop;
    int receiving, want_writable, npeers, handles_open;
    unsigned handles; /* H_*: which uv handles were initialised (and must be closed) */
    uint64_t max_message, max_peers; /* receiver: larger messages dropped; 0 peers: no limit */
    int failure_pending; /* receiver: a "no detail" failure waits for its DISCONNECTED */
    uint8_t refused_fds[REFUSED_FD_MAX / 8];
    uint64_t linger_ms, closed_at_ns, term_ns;
    pk_transport_closed_cb closed_cb;
    void *closed_data;
};

/** Starts the monitor of zt->sock on an inproc PAIR socket (zt->mon). 0, or -errno + errbuf. */
int pk_zmq_monitor_open(struct zmq_transport *zt, char *errbuf);

/** Reads and acts on every pending monitor event (connects, handshakes, the peer limit). */
void pk_zmq_monitor_drain(struct zmq_transport *zt);

#endif

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
#include <sys/socket.h>
#include <uv.h>

struct zmq_watch; /* zmq_guard_idle.c */
/* Connections closed at accept for the peer limit, by fd, until libzmq reports them gone. */
#define REFUSED_FD_MAX 65536

struct zmq_conn { /* receiver: a connection the guard watches (zmq_guard.c) */
    int fd;
    int closing;   /* reset here, gone at its DISCONNECTED: no longer holds a slot */
    uint64_t base; /* bytes libzmq had taken from it when it last delivered (or was accepted) */
    uint64_t seq;  /* order of acceptance: the oldest unproven one makes room first */
    uint64_t unproven_ms; /* intake-on time without a valid message (FIRST_MESSAGE_MS) */
    struct sockaddr_storage addr; /* the peer (ss_family 0: unknown), for the per-address cap */
    uint64_t seen; /* bytes libzmq had taken from it at the previous check */
    int quiet;     /* at the last check: nothing taken since the one before, nothing waiting */
    struct zmq_watch *watch; /* idle mode: our poll of a dup of fd (zmq_guard_idle.c); or NULL */
};

/* uv handles initialised, in the order of close_handles() */
enum { H_IDLE = 1, H_TIMER = 2, H_SOCK = 4, H_MON = 8, H_GUARD = 16, H_CTL = 32 };

struct zmq_transport {
    struct pk_transport base; /* first: casts to struct pk_transport * are valid */
    enum pk_transport_role role;
    void *ctx, *sock, *mon;
    uv_poll_t sock_poll, mon_poll;
    void *ctl;          /* opts->control: collector PUB, agent SUB (zmq_control.c); or NULL */
    uv_poll_t ctl_poll; /* agent: the SUB socket's ZMQ_FD; collector: its monitor's (ctl_mon) */
    void *ctl_mon;      /* collector: the PUB socket's monitor (accepts, disconnects) */
    uint64_t control_sent, control_full; /* collector: published, refused (-EAGAIN) */
    uint64_t ctl_subscribers, ctl_refused; /* collector: agents on the PUB socket; refused at
                                              accept (COLLECT_ALLOW, COLLECT_MAX_PEERS) */
    uint8_t ctl_refused_fds[REFUSED_FD_MAX / 8]; /* reset at accept, until DISCONNECTED */
    uv_idle_t idle;
    uv_timer_t retry_timer; /* sender: connects again after a failed handshake */
    char connect_uri[300];
    uv_work_t term_work;
    struct zap_handler *zap; /* receiver with CURVE or COLLECT_ALLOW; NULL: none */
    struct pk_access *access; /* receiver: where failed handshakes are counted; may be NULL */
    const struct pk_transport_config *config; /* its settings and keys (zmq_config.c) */
    uint64_t handshakes, handshake_failures;   /* security handshakes that succeeded, failed */
    uint64_t conns_refused_per_addr;           /* receiver: past an address's share, at accept */
    uint64_t conns_no_first_message;           /* receiver: reset for no valid message in time */
    uv_loop_t *loop;
    int receiving, want_writable, npeers, handles_open;
    unsigned handles; /* H_*: which uv handles were initialised (and must be closed) */
    uint64_t max_message, max_peers; /* receiver: larger messages dropped; 0 peers: no limit */
    int failure_pending; /* receiver: a "no detail" failure waits for its DISCONNECTED */
    uint8_t refused_fds[REFUSED_FD_MAX / 8];
    struct zmq_conn *conns; /* receiver: the connections kept, for the guard */
    size_t nconns, conns_cap;
    uint64_t conn_bound; /* bytes libzmq may take from a connection that delivers nothing */
    uint8_t delivered_fds[REFUSED_FD_MAX / 8]; /* a message of this fd arrived since the check */
    uint8_t proven_fds[REFUSED_FD_MAX / 8]; /* a valid message of this fd arrived */
    uint64_t conn_seq, guard_last_ms;
    int nclosing; /* watched connections reset but not yet DISCONNECTED (counted in npeers) */
    uv_timer_t guard_timer;
    int guard_idle;        /* guard_timer at GUARD_IDLE_CHECK_MS, each connection polled */
    int guard_idle_warned; /* the polls could not be set up (EMFILE): logged once */
    uint64_t guard_sleep_after; /* after a failed pk_zmq_guard_sleep: not before this loop time */
    size_t nwatches;       /* struct zmq_watch allocated (closing ones too) */
    void (*watches_closed)(struct zmq_transport *zt); /* closing: when nwatches reaches 0 */
    uint64_t linger_ms, closed_at_ns, term_ns;
    pk_transport_closed_cb closed_cb;
    void *closed_data;
};

/* zmq_config.c: the settings rows and the config ops (transport.h). */
#define ZMQ_NSETTINGS 8
extern const struct pk_setting pk_zmq_settings[ZMQ_NSETTINGS];
int pk_zmq_configure(const void *settings, enum pk_transport_role role,
                     struct pk_transport_config **out, char *errbuf);
void pk_zmq_config_free(struct pk_transport_config *zc);
const char *pk_zmq_public_key(const struct pk_transport_config *zc);
/* zmq_reload.c: start-up and SIGHUP lines, in the log of the mode served. */
void pk_zmq_log_security(const struct pk_transport_config *zc);
void pk_zmq_reload(struct pk_transport_config *zc, struct pk_access *access);
/** Collector: the client keys of COLLECT_CURVE_ALLOWED into access (NULL list: any key). */
void pk_zmq_set_allowed_keys(const struct pk_transport_config *zc, struct pk_access *access);
/** zmq_monitor.c: its own counters, for /metrics and /status. */
void pk_zmq_report(struct pk_transport *t, struct pk_transport_report *r);

/* zmq_control.c: the return path of the control plane (transport.h). */
/** With opts->control: the control socket, bound or connected, and (agent) polled. 0 or -errno. */
int pk_zmq_control_open(struct zmq_transport *zt, const struct pk_endpoint *ep,
                        const struct pk_transport_opts *opts, char *errbuf);
/** Agent: delivers every control message queued (to on_control), until EAGAIN; collector:
 *  acts on its control socket's monitor events (the subscriber bound). */
void pk_zmq_control_drain(struct zmq_transport *zt);
/** Collector: publishes one control message to every agent (peer is ignored). */
int pk_zmq_send_control(struct pk_transport *t, const char *peer, const void *buf, size_t len);
void pk_zmq_control_report(const struct zmq_transport *zt, struct pk_transport_report *r);

/** zmq_options.c: libzmq's error as -errno, with errbuf "what uri: reason". */
int pk_zmq_fail(char *errbuf, const char *what, const char *uri);
int pk_zmq_setopt_int(void *sock, int opt, int value);
/** An option libzmq must take: 0, or -errno with errbuf naming it. */
int pk_zmq_setopt_must(void *sock, int opt, const char *name, int value, char *errbuf);
/** The sender's queue bound and reconnect intervals. */
int pk_zmq_set_sender_options(struct zmq_transport *zt, const struct pk_transport_opts *opts,
                              char *errbuf);
/** What peers may make the receiver hold (docs/SECURITY.md): ZMQ_MAXMSGSIZE, ZMQ_RCVHWM. */
int pk_zmq_set_receiver_bounds(struct zmq_transport *zt, const struct pk_transport_opts *opts,
                               char *errbuf);
/** CURVE keys, and the ZAP handler that checks peers on the receiver. */
int pk_zmq_configure_security(struct zmq_transport *zt, uv_loop_t *loop,
                              const struct pk_transport_opts *opts, char *errbuf);

/** Starts the monitor of zt->sock on an inproc PAIR socket (zt->mon). 0, or -errno + errbuf. */
int pk_zmq_monitor_open(struct zmq_transport *zt, char *errbuf);

/** Reads one pending event of a monitor socket: 1 with the event, its value (an fd for
 *  accepts and disconnects) and endpoint; 0 when none is pending. */
int pk_zmq_monitor_read(void *mon, uint16_t *event, uint32_t *value, char *peer, size_t peerlen);
/** Reads and acts on every pending monitor event (connects, handshakes, the peer limit). */
void pk_zmq_monitor_drain(struct zmq_transport *zt);

/** Ends the TCP connection fd at once (a reset); the fd stays open, libzmq's to close. */
void pk_zmq_abort(int fd);

/** The peer's IP of a connection's fd, "" when unknown. */
void pk_zmq_peer_addr(int fd, char *buf, size_t len);

/* How often the guard looks at each connection (zmq_guard.c): what a hoarding peer gets past
 * its bound is what libzmq reads from it in this time. */
#define GUARD_CHECK_MS 20
/* Idle mode (zmq_guard_idle.c): once every connection is proven and a check finds nothing
 * taken from any since the previous one, each is polled for readability and the timer only
 * runs this slowly, as a backstop: a poll can miss bytes that libzmq's I/O thread read before
 * our epoll_wait looked (epoll reports level-triggered readiness only if it still holds). */
#define GUARD_IDLE_CHECK_MS 1000
/* After the polls could not be set up (EMFILE), the 20 ms checks go on for this long at least. */
#define GUARD_SLEEP_RETRY_MS 5000

/** The guard (zmq_guard.c): watch a connection kept at accept, forget it when it is gone; while
 *  any is watched, guard_timer checks each every GUARD_CHECK_MS, or sleeps in idle mode
 *  (zmq_guard_idle.c) while nothing arrives: an idle collector does not wake for it. add: 0
 *  or -ENOMEM (then it is not watched). */
int pk_zmq_guard_add(struct zmq_transport *zt, int fd);
void pk_zmq_guard_remove(struct zmq_transport *zt, int fd);
/** Leaves idle mode (bytes arrived, a connection or a delivery): the polls are stopped and the
 *  checks run every GUARD_CHECK_MS again, the first one GUARD_CHECK_MS from now. */
void pk_zmq_guard_wake(struct zmq_transport *zt);

/* zmq_guard_idle.c: the polls of idle mode. */
/** Polls a dup of every watched connection's fd; on the first event pk_zmq_guard_wake. All or
 *  none: 0, or -errno (EMFILE: too few descriptors left; then none is polled). */
int pk_zmq_guard_sleep(struct zmq_transport *zt);
/** Stops and closes every poll (each dup is closed in its handle's close callback). */
void pk_zmq_guard_stop_polls(struct zmq_transport *zt);
/** Stops c's poll, if any. */
void pk_zmq_guard_unwatch(struct zmq_transport *zt, struct zmq_conn *c);
/** Closing the transport: stops every poll; 1 when some handle is still to close, and then
 *  closed(zt) is called once the last one is (after its close callback), 0 when none is. */
int pk_zmq_guard_close(struct zmq_transport *zt, void (*closed)(struct zmq_transport *zt));

/*
 * Like tcp-raw (docs/PROTOCOL.md): a connection that delivers no valid message within
 * FIRST_MESSAGE_MS of intake-on time (the clock stops while set_receiving(0) pauses intake: then
 * nothing is delivered through no fault of the peer) is reset and counted
 * (conns_no_first_message); at the peer limit the oldest such one makes room for a new one.
 */
#define FIRST_MESSAGE_MS 5000

/*
 * One address may hold at most a quarter of COLLECT_MAX_PEERS (16 of the default 64): without
 * CURVE or COLLECT_ALLOW anyone can send a valid hello and so hold slots as a proven peer;
 * then filling the table takes four addresses, while a host with an agent per interface (or
 * a few agents behind one NAT address) still fits. Past it, as tcp-raw: an unproven connection
 * of that address makes room, or the new one is refused (conns_refused_per_addr).
 */
#define PEERS_PER_ADDR_DIVISOR 4

/** Resets the oldest watched connection that has not delivered a valid message (from `from`
 *  only, when not NULL), counted as conns_no_first_message; 1 when there was one, 0 when all
 *  are proven. */
int pk_zmq_guard_displace(struct zmq_transport *zt, const struct sockaddr_storage *from);

/** 1 when fd is a watched connection this side reset (its failed handshake is no refusal). */
int pk_zmq_guard_was_reset(const struct zmq_transport *zt, int fd);

/** Watched connections from the address of `from` that still hold a slot. */
size_t pk_zmq_guard_count_from(const struct zmq_transport *zt, const struct sockaddr_storage *from);

#endif

/*
 * Private to the tcp-raw transport (tcp_raw.c: the agent's side, the ops and closing;
 * tcp_raw_listen.c: the collector's listener and its connections). Not a public header.
 */
#ifndef PK_TCP_RAW_H
#define PK_TCP_RAW_H

#include "endpoint.h"
#include "listen.h"
#include "transport.h"

#include <netdb.h>
#include <stddef.h>
#include <stdint.h>

#define LEN_PREFIX 4
#define MAX_WRITE_BUFS 64 /* messages per uv_write */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define QUICK_END_MS 1000 /* a connection the collector ends sooner was likely refused */
/*
 * Connections. At most MAX_CONNECTIONS, and never more than the open-file limit less FD_RESERVE
 * (listeners, stdout, logs, libuv's own, the HTTP server's clients). At most
 * MAX_CONNS_PER_ADDR from one address: one host may run an agent per interface (a router has
 * dozens) and a few capture streams, while an attacker on one address cannot take more than
 * 1/16 of the table. Past a limit a connection is accepted and closed at once, counted.
 */
#define MAX_CONNECTIONS 1024
#define MAX_CONNS_PER_ADDR 64
#define FD_RESERVE 64
/* Plain capture streams (tcpdump | nc) each hold a decoder of about 330 KiB (a batch that takes
 * the largest record): at most this many at once, so that they cannot multiply it by 1024. */
#define MAX_CAPTURE_STREAMS 64
/*
 * Deadlines, on a clock that runs only while the collector reads the connection (not while
 * intake is paused for a slow reader, nor while it waits for receive budget): a connection
 * that sends no valid first message within FIRST_MESSAGE_MS, or whose partial message gets no
 * byte for STALL_MS, is closed and counted. While other connections wait for receive budget, one
 * that holds some must complete its message within HOLD_MS (16 MiB at >= 1.6 MiB/s).
 */
#define FIRST_MESSAGE_MS 5000
#define STALL_MS 5000
#define HOLD_MS 10000
#define SWEEP_MS 500
/*
 * At the connection limit with every slot proven, a proven connection that has received no byte
 * for SILENT_MS (on the same clock) makes room for a new one, the longest silent first: agents
 * send a heartbeat every HEARTBEAT_INTERVAL (1 s by default), so 10 s is ten missed heartbeats,
 * while peers that sent one hello and went quiet cannot hold the table forever. Below the limit
 * a silent connection stays (an idle capture stream sends nothing).
 */
#define SILENT_MS 10000
/*
 * Receive buffers: each connection may grow its own to CONN_FREE_BUFFER without asking; a
 * larger message (its length prefix says how large) reserves its whole size beyond that from
 * one budget shared by all connections before it is read further, so that every message that
 * got budget can complete; capture streams, whose records have no prefix, grow with what arrives.
 * Budget goes to waiting connections in the order they asked (a connection that finished one
 * message queues behind those already waiting). Worst case in total:
 * MAX_CONNECTIONS * CONN_FREE_BUFFER + RECEIVE_BUDGET (docs/SECURITY.md).
 */
#define CONN_FREE_BUFFER (192u << 10)
#define READ_CHUNK (64u << 10)
#define RECEIVE_BUDGET (64u << 20)

extern const struct pk_transport_ops pk_transport_tcp_raw;

struct message {
    struct message *next;
    size_t len; /* with the length prefix */
    uint8_t data[];
};

struct conn; /* receiver side: one accepted connection */

enum conn_kind { CONN_UNKNOWN, CONN_MESSAGES, CONN_CAPTURE_STREAM };

/* Why a connection is closed; each but CLOSE_CLEAN is counted (BAD_FRAMING: peers_dropped). */
enum close_reason {
    CLOSE_CLEAN,
    CLOSE_BAD_FRAMING,
    CLOSE_NO_HELLO,
    CLOSE_STALLED,
    CLOSE_HELD,
    CLOSE_SILENT,
    CLOSE_REASONS
};

struct tcp_transport {
    struct pk_transport base; /* first: casts to struct pk_transport * are valid */
    uv_loop_t *loop;
    enum pk_transport_role role;
    uint64_t queue_limit, max_message, min_message;

    /* sender */
    struct sockaddr_storage peer_addr;
    char peer_name[64];
    char host[256], port[8]; /* a name is resolved again before every connection attempt */
    uv_getaddrinfo_t resolve_req;
    int resolving;
    uv_tcp_t *sock; /* NULL while disconnected */
    uv_connect_t connect_req;
    uv_write_t write_req;
    int connected, connecting, writing, want_writable;
    struct message *head, *tail; /* queue; the first `in_flight` are being written */
    size_t queued, in_flight;
    uv_timer_t reconnect_timer;
    uint64_t backoff_ms;
    /*
     * TCP does not say whether the collector read what was written. The agent's closing half-
     * closes and waits (within the linger time) for the collector's end: an orderly one (EOF)
     * after ours means it read up to our end; one before ours, or a reset (a collector closes a
     * connection it refuses with a reset), leaves what was written on it unconfirmed.
     */
    uv_shutdown_t shutdown_req;
    int shutting_down;     /* our end is sent: waiting for the collector's */
    int peer_confirmed;    /* the collector ended in order after our end */
    uint64_t written;      /* messages written on this connection */
    char read_sink[64];    /* the collector sends nothing: what it would is discarded */
    uint64_t connected_at; /* uv_now */
    uint64_t messages_unconfirmed; /* written on connections the collector ended first, or reset */
    uint64_t conns_ended_at_once;  /* connections the collector ended within QUICK_END_MS */

    /* receiver */
    struct pk_access *access; /* NULL: every address may connect */
    const struct pk_stream_decoder *capture_streams; /* NULL: messages only */
    int (*is_message)(const uint8_t *buf, size_t len);
    uint64_t closed[CLOSE_REASONS];                     /* connections closed, by reason */
    uint64_t refused_limit, refused_per_addr, buffer_waits; /* counted (tcp_raw_report) */
    struct pk_listen_set listen;
    struct conn *conns; /* newest first */
    size_t nconns;      /* with those closing */
    size_t nlive;       /* without */
    size_t max_conns;   /* MAX_CONNECTIONS, or less under a low open-file limit */
    size_t ncapstreams; /* connections with a capture-stream decoder */
    int receiving;
    uv_idle_t resume_idle;  /* parses what connections buffered while intake was paused */
    struct conn *resume_at; /* where the next resume starts: round-robin; NULL: the head */
    uv_timer_t sweep_timer; /* deadlines (FIRST_MESSAGE_MS, STALL_MS, HOLD_MS) */
    uint64_t last_sweep;
    uint64_t paused_since, paused_ms; /* intake paused since (uv_now), and for how long since
                                         the last sweep: the deadline clocks skip that time */
    size_t budget_used; /* bytes of receive buffer beyond CONN_FREE_BUFFER, all connections */
    struct conn *wait_head, *wait_tail; /* connections waiting for budget, in order */
    size_t nstarved;

    /* closing */
    uv_timer_t linger_timer;
    int closing, handles_open;
    pk_transport_closed_cb closed_cb;
    void *closed_data;
};


struct conn {
    uv_tcp_t tcp;
    struct tcp_transport *tt;
    struct conn *prev, *next;
    struct sockaddr_storage addr;
    enum conn_kind kind;
    void *capstream; /* CONN_CAPTURE_STREAM: its decoder's state */
    uint8_t *buf;
    size_t len, cap;
    char peer[64];
    struct pk_peer who; /* {peer, ""}: what on_message is told */
    int closing;
    int valid;                      /* a valid message (or capture-stream header) arrived */
    int progressed;                 /* bytes arrived since the last sweep */
    uint64_t unproven_ms, quiet_ms; /* deadline clocks (FIRST_MESSAGE_MS, STALL_MS) */
    uint64_t held_ms;               /* time it held budget while others waited (HOLD_MS) */
    uint64_t silent_ms;             /* reading, and no byte arrived (SILENT_MS) */
    int starved;                    /* waiting for budget: in tt's wait queue */
    struct conn *wait_next;
};

/* tcp_raw.c */
void pk_tcp_raw_maybe_finish_close(struct tcp_transport *tt);
void pk_tcp_raw_report(struct pk_transport *t, struct pk_transport_report *r);

/* tcp_raw_listen.c */
int pk_tcp_raw_listen(struct tcp_transport *tt, const struct pk_endpoint *ep, char *errbuf);
void pk_tcp_raw_set_receiving(struct pk_transport *t, int on);
void pk_tcp_raw_close_conn(struct conn *c, enum close_reason why);
void pk_tcp_raw_close_conns(struct tcp_transport *tt);

/* tcp_raw_recv.c: reading, framing, the receive budget */
void pk_tcp_raw_read_start(struct conn *c);
void pk_tcp_raw_read_now(struct conn *c); /* one read, outside the loop's order */
void pk_tcp_raw_parse(struct conn *c);
void pk_tcp_raw_unqueue(struct conn *c); /* leaves the budget queue (closing) */
void pk_tcp_raw_release(struct conn *c); /* frees its buffer and budget (closed) */
void pk_tcp_raw_wake_waiters(struct tcp_transport *tt);

#endif

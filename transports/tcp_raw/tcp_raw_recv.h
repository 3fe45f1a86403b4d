/*
 * Private to the tcp-raw receiver (the collector's side): its state, shared by
 * tcp_raw_listen.c (listeners, accepting, limits, deadlines, back-pressure, closing) and
 * tcp_raw_recv.c (reading, framing, capture streams, the receive budget). Loop thread only.
 */
#ifndef PK_TCP_RAW_RECV_H
#define PK_TCP_RAW_RECV_H

#include "endpoint.h"
#include "listen.h"
#include "tcp_raw.h"

#include <stddef.h>
#include <stdint.h>
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
 * Receive buffers: each connection may grow its own to CONN_FREE_BUFFER without asking (an
 * agent's batch of the default BATCH_BYTES, 192K, with its length prefix); a
 * larger message (its length prefix says how large) reserves its whole size beyond that from
 * one budget shared by all connections before it is read further, so that every message that
 * got budget can complete; capture streams, whose records have no prefix, grow with what arrives.
 * Budget goes to waiting connections in the order they asked (a connection that finished one
 * message queues behind those already waiting). Worst case in total:
 * MAX_CONNECTIONS * CONN_FREE_BUFFER + RECEIVE_BUDGET (docs/SECURITY.md).
 */
#define CONN_FREE_BUFFER ((192u << 10) + LEN_PREFIX)
#define READ_CHUNK (64u << 10)
#define RECEIVE_BUDGET (64u << 20)
/* Control messages (the return path) pending in writes on one connection: past it, -EAGAIN (the
 * owner sends again later), but one message is always taken when none waits. The collector's
 * are at most ~4.4 KiB, so an agent that never reads holds about 20 KiB, 20 MiB over
 * MAX_CONNECTIONS (docs/SECURITY.md). */
#define CONTROL_PENDING_MAX (16u << 10)

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

struct tcp_receiver {
    struct tcp_raw_head raw; /* first: casts to struct pk_transport * are valid */
    uv_loop_t *loop;
    uint64_t max_message, min_message;
    struct pk_access *access; /* NULL: every address may connect */
    const struct pk_stream_decoder *capture_streams; /* NULL: messages only */
    int (*is_message)(const uint8_t *buf, size_t len);
    uint64_t closed[CLOSE_REASONS];                         /* connections closed, by reason */
    uint64_t refused_limit, refused_per_addr, buffer_waits; /* counted (pk_tcp_raw_report) */
    struct pk_listen_set listen;
    struct conn *conns; /* newest first */
    size_t nconns;      /* with those closing */
    size_t nlive;       /* without */
    size_t max_conns;   /* MAX_CONNECTIONS, or less under a low open-file limit */
    size_t ncapstreams; /* connections with a capture-stream decoder */
    int receiving;
    int control; /* opts->control: send_control may write to connections */
    uint64_t control_sent, control_bytes, control_full; /* counted (pk_tcp_raw_report) */
    uv_idle_t resume_idle;  /* parses what connections buffered while intake was paused */
    struct conn *resume_at; /* where the next resume starts: round-robin; NULL: the head */
    uv_timer_t sweep_timer; /* deadlines (FIRST_MESSAGE_MS, STALL_MS, HOLD_MS) */
    uint64_t last_sweep;
    uint64_t paused_since, paused_ms; /* intake paused since (uv_now), and for how long since
                                         the last sweep: the deadline clocks skip that time */
    size_t budget_used; /* bytes of receive buffer beyond CONN_FREE_BUFFER, all connections */
    struct conn *wait_head, *wait_tail; /* connections waiting for budget, in order */
    size_t nstarved;

    /* closing: the two handles above and every connection hold it open */
    int closing, handles_open;
    pk_transport_closed_cb closed_cb;
    void *closed_data;
};


struct conn {
    uv_tcp_t tcp;
    struct tcp_receiver *tt;
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
    size_t control_pending; /* control bytes in writes not yet called back */
};

/* tcp_raw_listen.c */
void pk_tcp_raw_close_conn(struct conn *c, enum close_reason why);

/* tcp_raw_recv.c: reading, framing, the receive budget */
void pk_tcp_raw_read_start(struct conn *c);
void pk_tcp_raw_read_now(struct conn *c); /* one read, outside the loop's order */
void pk_tcp_raw_parse(struct conn *c);
void pk_tcp_raw_unqueue(struct conn *c); /* leaves the budget queue (closing) */
void pk_tcp_raw_release(struct conn *c); /* frees its buffer and budget (closed) */
void pk_tcp_raw_wake_waiters(struct tcp_receiver *tt);

#endif

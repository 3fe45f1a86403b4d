/*
 * Private to the tcp-raw transport (tcp_raw.c: the agent's side, the ops and closing;
 * tcp_raw_listen.c: the collector's listener and its connections). Not a public header.
 */
#ifndef PK_TCP_RAW_H
#define PK_TCP_RAW_H

#include "endpoint.h"
#include "transport.h"

#include <netdb.h>
#include <stddef.h>
#include <stdint.h>

#define LEN_PREFIX 4
#define MIN_MESSAGE 32      /* a message header; anything shorter is not this protocol */
#define MAX_WRITE_BUFS 64   /* messages per uv_write */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define MAX_CONNECTIONS 1024
/*
 * Receive buffers: each connection may grow its own to CONN_FREE_BUFFER without asking;
 * beyond that (a message larger than a default batch) it draws on one budget shared by all
 * connections, and waits, counted, while the budget is spent. Worst case in total:
 * MAX_CONNECTIONS * (CONN_FREE_BUFFER + a read) + RECEIVE_BUDGET.
 */
#define CONN_FREE_BUFFER (192u << 10)
#define RECEIVE_BUDGET (64u << 20)
#define MAX_LISTENERS PK_ENDPOINT_MAX_ADDRS

extern const struct pk_transport_ops pk_transport_tcp_raw;

struct message {
    struct message *next;
    size_t len; /* with the length prefix */
    uint8_t data[];
};

struct conn; /* receiver side: one accepted connection */

struct tcp_transport {
    struct pk_transport base; /* first: casts to struct pk_transport * are valid */
    uv_loop_t *loop;
    enum pk_transport_role role;
    uint64_t queue_limit, max_message;

    /* sender */
    struct sockaddr_storage peer_addr;
    char peer_name[64];
    char host[256], port[8]; /* a name is resolved again before every connection attempt */
    uv_getaddrinfo_t resolve_req;
    int resolving;
    uv_tcp_t *sock;            /* NULL while disconnected */
    uv_connect_t connect_req;
    uv_write_t write_req;
    int connected, connecting, writing, want_writable;
    struct message *head, *tail; /* queue; the first `in_flight` are being written */
    size_t queued, in_flight;
    uv_timer_t reconnect_timer;
    uint64_t backoff_ms;

    /* receiver */
    struct pk_access *access; /* NULL: every address may connect */
    uv_tcp_t listeners[MAX_LISTENERS];
    int nlisteners;
    struct conn *conns;
    size_t nconns;
    int receiving;
    uv_idle_t resume_idle; /* parses what connections buffered while intake was paused */
    size_t budget_used;    /* bytes of receive buffer beyond CONN_FREE_BUFFER, all connections */
    size_t nstarved;       /* connections waiting for budget */

    /* closing */
    uv_timer_t linger_timer;
    int closing, handles_open;
    pk_transport_closed_cb closed_cb;
    void *closed_data;
};

enum conn_kind { CONN_UNKNOWN, CONN_MESSAGES, CONN_CAPTURE_STREAM };

struct conn {
    uv_tcp_t tcp;
    struct tcp_transport *tt;
    struct conn *prev, *next;
    enum conn_kind kind;
    struct pk_capstream *capstream; /* CONN_CAPTURE_STREAM */
    uint8_t *buf;
    size_t len, cap;
    char peer[64];
    struct pk_peer who; /* {peer, ""}: what on_message is told */
    int closing, starved;
};

/* tcp_raw.c */
void pk_tcp_raw_maybe_finish_close(struct tcp_transport *tt);

/* tcp_raw_listen.c */
int pk_tcp_raw_listen(struct tcp_transport *tt, const struct pk_endpoint *ep, char *errbuf);
void pk_tcp_raw_set_receiving(struct pk_transport *t, int on);
void pk_tcp_raw_close_conns(struct tcp_transport *tt);

#endif

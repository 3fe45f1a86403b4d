/*
 * Private to the tcp-raw sender (the agent's side): its state, shared by tcp_raw_send.c (the
 * queue, writing, opening) and tcp_raw_conn.c (one connection at a time: resolving,
 * connecting, backoff, the collector's end, and the sender's close). Loop thread only.
 */
#ifndef PK_TCP_RAW_SEND_H
#define PK_TCP_RAW_SEND_H

#include "tcp_raw.h"

#include <netdb.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#define MAX_WRITE_BUFS 64 /* messages per uv_write */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define QUICK_END_MS 1000 /* a connection the collector ends sooner was likely refused */

struct message {
    struct message *next;
    size_t len; /* with the length prefix */
    uint8_t data[];
};

struct tcp_sender {
    struct tcp_raw_head raw; /* first: casts to struct pk_transport * are valid */
    uv_loop_t *loop;
    uint64_t queue_limit;
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
    char read_sink[64];    /* without control the collector sends nothing: discarded */
    int control;           /* opts->control: the collector's bytes are control messages */
    uint8_t *cbuf;         /* control: LEN_PREFIX + PK_CONTROL_MESSAGE_MAX, or NULL */
    size_t clen;           /* bytes in cbuf, of this connection */
    uint64_t connected_at; /* uv_now */
    uint64_t messages_unconfirmed; /* written on connections the collector ended first, or reset */
    uint64_t conns_ended_at_once;  /* connections the collector ended within QUICK_END_MS */

    /* closing: the two timers and the socket hold it open */
    uv_timer_t linger_timer;
    int closing, handles_open;
    pk_transport_closed_cb closed_cb;
    void *closed_data;
};

/* tcp_raw_send.c */
void pk_tcp_raw_start_write(struct tcp_sender *ts);

/* tcp_raw_conn.c */
void pk_tcp_raw_start_connect(struct tcp_sender *ts); /* also once while closing */
void pk_tcp_raw_disconnect(struct tcp_sender *ts);    /* and try again later */
/** The next step of closing, from every callback that may end one (no-op until closing). */
void pk_tcp_raw_sender_step(struct tcp_sender *ts);
/** The read callback without control: the collector's end of the connection. */
void pk_tcp_raw_peer_end(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* tcp_raw_control.c: control messages from the collector (opts->control) */
void pk_tcp_raw_control_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
void pk_tcp_raw_control_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

#endif

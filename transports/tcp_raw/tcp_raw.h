/*
 * Private to the tcp-raw transport: what its two roles share, and the entry points the ops
 * (tcp_raw.c) dispatch to. The sender (tcp_raw_send.c, the agent's side) and the receiver
 * (tcp_raw_listen.c and tcp_raw_recv.c, the collector's side) are separate types, each owning
 * its handles and its close. Not a public header.
 */
#ifndef PK_TCP_RAW_H
#define PK_TCP_RAW_H

#include "transport.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define LEN_PREFIX 4 /* each message is preceded by its length, u32 little-endian */

/* First in both roles' structs: which role a struct pk_transport * is. */
struct tcp_raw_head {
    struct pk_transport base; /* first: casts to struct pk_transport * are valid */
    enum pk_transport_role role;
};

extern const struct pk_transport_ops pk_transport_tcp_raw;

/** A close callback that frees h->data: a role's struct when open fails after a first handle. */
void pk_tcp_raw_free_data(uv_handle_t *h);

/* tcp_raw_send.c: the agent's side. */
int pk_tcp_raw_sender_open(struct pk_transport **out, uv_loop_t *loop,
                           const struct pk_endpoint *ep, const struct pk_transport_opts *opts,
                           char *errbuf);
int pk_tcp_raw_sender_send(struct pk_transport *t, const void *buf, size_t len);
int pk_tcp_raw_sender_connected(struct pk_transport *t);
void pk_tcp_raw_sender_close(struct pk_transport *t, uint64_t linger_ms,
                             pk_transport_closed_cb cb, void *data);

/* tcp_raw_listen.c: the collector's side. */
int pk_tcp_raw_receiver_open(struct pk_transport **out, uv_loop_t *loop,
                             const struct pk_endpoint *ep, const struct pk_transport_opts *opts,
                             char *errbuf);
void pk_tcp_raw_receiver_set_receiving(struct pk_transport *t, int on);
int pk_tcp_raw_receiver_connected(struct pk_transport *t);
void pk_tcp_raw_receiver_report(struct pk_transport *t, struct pk_transport_report *r);
/* tcp_raw_control.c: the return path towards one agent's connection */
int pk_tcp_raw_receiver_send_control(struct pk_transport *t, const char *peer, const void *buf,
                                     size_t len);
void pk_tcp_raw_receiver_close(struct pk_transport *t, uint64_t linger_ms,
                               pk_transport_closed_cb cb, void *data);

#endif

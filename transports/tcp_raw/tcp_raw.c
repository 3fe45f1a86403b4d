/*
 * tcp-raw transport: the same messages on plain TCP, each preceded by its length (u32,
 * little-endian). The agent side (tcp_raw_send.c) keeps a bounded queue of messages
 * (RELAY_QUEUE), writes them in batches with TCP_NODELAY, and reconnects with capped
 * exponential backoff and jitter. The collector side (tcp_raw_listen.c, tcp_raw_recv.c)
 * accepts many connections; a connection whose framing is broken (a length under the minimum
 * or over the maximum) is closed and counted, and no other connection notices; an invalid
 * message inside intact framing is only dropped (by the owner, counted). Unencrypted: for
 * trusted networks or a tunnel (docs/PROTOCOL.md).
 *
 * A connection whose first bytes the owner's stream decoder takes (opts->capture_streams) is a
 * plain capture stream (`tcpdump -U -w - | nc collector 7386`): the decoder turns it into
 * protocol messages, so the owner sees one more source.
 *
 * This file is the ops: each call goes to the role the transport was opened for.
 */
#include "tcp_raw.h"

#include <errno.h>
#include <stdlib.h>

void
pk_tcp_raw_free_data(uv_handle_t *h)
{
    free(h->data);
}

static int
tcp_open(struct pk_transport **out, uv_loop_t *loop, const struct pk_endpoint *ep,
         const struct pk_transport_opts *opts, char *errbuf)
{
    return opts->role == PK_TRANSPORT_SENDER
               ? pk_tcp_raw_sender_open(out, loop, ep, opts, errbuf)
               : pk_tcp_raw_receiver_open(out, loop, ep, opts, errbuf);
}

static int
is_sender(const struct pk_transport *t)
{
    return ((const struct tcp_raw_head *)t)->role == PK_TRANSPORT_SENDER;
}

static int
tcp_send(struct pk_transport *t, const void *buf, size_t len)
{
    return is_sender(t) ? pk_tcp_raw_sender_send(t, buf, len) : -ENOTSUP;
}

static int
tcp_send_control(struct pk_transport *t, const char *peer, const void *buf, size_t len)
{
    return is_sender(t) ? -ENOTSUP : pk_tcp_raw_receiver_send_control(t, peer, buf, len);
}

static void
tcp_set_receiving(struct pk_transport *t, int on)
{
    if (!is_sender(t))
        pk_tcp_raw_receiver_set_receiving(t, on);
}

static int
tcp_connected(struct pk_transport *t)
{
    return is_sender(t) ? pk_tcp_raw_sender_connected(t) : pk_tcp_raw_receiver_connected(t);
}

static void
tcp_report(struct pk_transport *t, struct pk_transport_report *r)
{
    if (!is_sender(t)) /* the sender's counters are only for its closing verdict */
        pk_tcp_raw_receiver_report(t, r);
}

static void
tcp_close(struct pk_transport *t, uint64_t linger_ms, pk_transport_closed_cb cb, void *data)
{
    if (is_sender(t))
        pk_tcp_raw_sender_close(t, linger_ms, cb, data);
    else
        pk_tcp_raw_receiver_close(t, linger_ms, cb, data);
}

const struct pk_transport_ops pk_transport_tcp_raw = {
    .name = "tcp-raw",
    .per_connection_peers = 1,
    /* clear text: for trusted networks or inside a tunnel (no settings, no keys) */
    .open = tcp_open,
    .send = tcp_send,
    .send_control = tcp_send_control,
    .set_receiving = tcp_set_receiving,
    .connected = tcp_connected,
    .report = tcp_report,
    .close = tcp_close,
};

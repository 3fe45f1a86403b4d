/*
 * tcp-raw, the return path of the control plane (transport.h, send_control and on_control): the
 * collector writes control messages on the connection an agent opened, with the same framing the
 * agent uses (a u32 little-endian length, then the message); the agent reads and parses them.
 * The messages are opaque here. Loop thread only.
 */
#include "bytes.h"
#include "log.h"
#include "pcktr.h"
#include "tcp_raw_recv.h"
#include "tcp_raw_send.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PK_LOG_MODULE "tcp-raw"

/* ---- the collector's side ------------------------------------------------------------ */

/* One control message being written: its own copy, freed in the write callback (libuv calls
 * it, with UV_ECANCELED, before the connection's close callback frees c). */
struct control_write {
    uv_write_t req;
    struct conn *c;
    size_t len; /* with the length prefix */
    uint8_t data[];
};

static void
on_control_written(uv_write_t *req, int status)
{
    struct control_write *w = container_of(req, struct control_write, req);

    (void)status; /* a failed write ends in the connection's own read error */
    w->c->control_pending -= w->len;
    free(w);
}

static struct conn *
find_conn(struct tcp_receiver *tt, const char *peer)
{
    for (struct conn *c = tt->conns; c != NULL; c = c->next)
        if (!c->closing && strcmp(c->peer, peer) == 0)
            return c;
    return NULL;
}

int
pk_tcp_raw_receiver_send_control(struct pk_transport *t, const char *peer, const void *buf,
                                 size_t len)
{
    struct tcp_receiver *tt = (struct tcp_receiver *)t;
    struct control_write *w;
    struct conn *c;
    uv_buf_t b;

    if (!tt->control)
        return -EOPNOTSUPP;
    if (len == 0 || buf == NULL)
        return -EINVAL;
    if (len > PK_CONTROL_MESSAGE_MAX)
        return -EMSGSIZE;
    if (peer == NULL || (c = find_conn(tt, peer)) == NULL || c->kind == CONN_UNKNOWN)
        return -ENOTCONN;
    if (c->kind == CONN_CAPTURE_STREAM)
        return -EOPNOTSUPP; /* tcpdump | nc reads nothing back */
    if (c->control_pending > 0 && c->control_pending + LEN_PREFIX + len > CONTROL_PENDING_MAX) {
        tt->control_full++;
        return -EAGAIN;
    }
    if ((w = malloc(sizeof(*w) + LEN_PREFIX + len)) == NULL)
        return -ENOMEM;
    w->c = c;
    w->len = LEN_PREFIX + len;
    pk_put_le32(w->data, (uint32_t)len);
    memcpy(w->data + LEN_PREFIX, buf, len);
    b = uv_buf_init((char *)w->data, (unsigned)w->len);
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_control_written);
    if (rc != 0) {
        free(w);
        return rc;
    }
    c->control_pending += w->len;
    tt->control_sent++;
    tt->control_bytes += len;
    return 0;
}

/* ---- the agent's side ---------------------------------------------------------------- */

#define CONTROL_MIN 32 /* the smallest message header: a shorter frame is broken framing */

void
pk_tcp_raw_control_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct tcp_sender *ts = h->data;

    (void)suggested;
    if (ts->cbuf == NULL)
        ts->cbuf = malloc(LEN_PREFIX + PK_CONTROL_MESSAGE_MAX);
    if (ts->cbuf == NULL) {
        *buf = uv_buf_init(NULL, 0); /* UV_ENOBUFS: the connection is dropped, tried again */
        return;
    }
    *buf = uv_buf_init((char *)ts->cbuf + ts->clen,
                       (unsigned)(LEN_PREFIX + PK_CONTROL_MESSAGE_MAX - ts->clen));
}

/* Delivers each complete frame; 0, or -EBADMSG when a length is out of bounds. */
static int
parse_control(struct tcp_sender *ts)
{
    size_t off = 0;
    int rc = 0;

    while (ts->clen - off >= LEN_PREFIX) {
        uint32_t len = pk_get_le32(ts->cbuf + off);
        if (len < CONTROL_MIN || len > PK_CONTROL_MESSAGE_MAX) {
            rc = -EBADMSG;
            break;
        }
        if (ts->clen - off - LEN_PREFIX < len)
            break;
        if (ts->raw.base.on_control != NULL)
            ts->raw.base.on_control(&ts->raw.base, ts->cbuf + off + LEN_PREFIX, len);
        off += LEN_PREFIX + len;
    }
    memmove(ts->cbuf, ts->cbuf + off, ts->clen - off);
    ts->clen -= off;
    return rc;
}

void
pk_tcp_raw_control_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct tcp_sender *ts = s->data;

    if (nread < 0) {
        pk_tcp_raw_peer_end(s, nread, buf); /* the collector's end: as without control */
        return;
    }
    ts->clen += (size_t)nread;
    if (parse_control(ts) == 0)
        return;
    /* Rate-limited by its event (log.c): a collector that keeps sending garbage must not
     * flood the log; the reconnect machinery tries again with backoff. */
    pk_warn_with(&(struct pk_log_fields){.event = "control_framing_broken", .peer = ts->peer_name},
                 "control from %s: broken framing (a length out of %u..%u); the connection is "
                 "closed",
                 ts->peer_name, CONTROL_MIN, PK_CONTROL_MESSAGE_MAX);
    ts->clen = 0;
    pk_tcp_raw_disconnect(ts);
    pk_tcp_raw_sender_step(ts);
}

/*
 * tcp-raw, the agent's side: a bounded queue of messages (RELAY_QUEUE), written in batches with
 * TCP_NODELAY, each preceded by its length (u32, little-endian), on the connection that
 * tcp_raw_conn.c keeps (and closes). While nothing is queued, a message is written straight
 * from the caller's buffer, and only what the socket does not take is copied into the queue.
 */
#include "tcp_raw_send.h"
#include "bytes.h"
#include "endpoint.h"
#include "pcktr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
drop_in_flight(struct tcp_sender *ts)
{
    /* What was being written when the connection broke is lost (the collector sees the gap). */
    while (ts->in_flight > 0 && ts->head != NULL) {
        struct message *m = ts->head;
        ts->head = m->next;
        free(m);
        ts->queued--;
        ts->in_flight--;
    }
    if (ts->head == NULL)
        ts->tail = NULL;
    ts->in_flight = 0;
}

static void
on_write(uv_write_t *req, int status)
{
    struct tcp_sender *ts = container_of(req, struct tcp_sender, write_req);

    ts->writing = 0;
    if (status == 0)
        ts->written += ts->in_flight;
    if (status < 0) {
        ts->messages_unconfirmed += ts->in_flight; /* some may have gone out */
        drop_in_flight(ts);
        pk_tcp_raw_disconnect(ts);
    } else {
        drop_in_flight(ts); /* written: release them the same way */
    }
    if (ts->want_writable && ts->queued < ts->queue_limit && !ts->closing) {
        ts->want_writable = 0;
        ts->raw.base.on_writable(&ts->raw.base);
    }
    if (ts->connected)
        pk_tcp_raw_start_write(ts);
    pk_tcp_raw_sender_step(ts);
}

void
pk_tcp_raw_start_write(struct tcp_sender *ts)
{
    uv_buf_t bufs[MAX_WRITE_BUFS];
    unsigned n = 0;

    if (!ts->connected || ts->writing || ts->head == NULL)
        return;
    for (struct message *m = ts->head; m != NULL && n < MAX_WRITE_BUFS; m = m->next, n++)
        bufs[n] = uv_buf_init((char *)m->data, (unsigned)m->len);
    if (uv_write(&ts->write_req, (uv_stream_t *)ts->sock, bufs, n, on_write) != 0) {
        pk_tcp_raw_disconnect(ts);
        return;
    }
    ts->writing = 1;
    ts->in_flight = n;
}

/* Writes what the idle connection takes now, without waiting: the bytes written (0: none). */
static size_t
write_now(struct tcp_sender *ts, const uint8_t *prefix, const void *buf, size_t len)
{
    uv_buf_t bufs[2] = {uv_buf_init((char *)prefix, LEN_PREFIX),
                        uv_buf_init((char *)buf, (unsigned)len)};
    int n;

    if (!ts->connected || ts->writing || ts->head != NULL)
        return 0; /* order: queued messages go first */
    n = uv_try_write((uv_stream_t *)ts->sock, bufs, 2);
    return n > 0 ? (size_t)n : 0; /* an error shows in the queued write of the rest */
}

int
pk_tcp_raw_sender_send(struct pk_transport *t, const void *buf, size_t len)
{
    struct tcp_sender *ts = (struct tcp_sender *)t;
    uint8_t prefix[LEN_PREFIX];
    struct message *m;
    size_t done;

    if (ts->queued >= ts->queue_limit) {
        ts->want_writable = 1;
        return -EAGAIN;
    }
    if (len > UINT32_MAX)
        return -ENOMEM;
    pk_put_le32(prefix, (uint32_t)len);
    done = write_now(ts, prefix, buf, len);
    if (done == LEN_PREFIX + len) {
        ts->written++;
        t->counters.messages_sent++;
        t->counters.bytes_sent += len;
        return 0;
    }
    /* The rest waits in the queue, a copy of it: the caller reuses its buffer. */
    if ((m = malloc(sizeof(*m) + LEN_PREFIX + len - done)) == NULL) {
        if (done > 0) /* part of it went out: the framing is broken (the caller counts the drop) */
            pk_tcp_raw_disconnect(ts);
        return -ENOMEM;
    }
    m->next = NULL;
    m->len = LEN_PREFIX + len - done;
    if (done < LEN_PREFIX) {
        memcpy(m->data, prefix + done, LEN_PREFIX - done);
        memcpy(m->data + LEN_PREFIX - done, buf, len);
    } else {
        memcpy(m->data, (const uint8_t *)buf + (done - LEN_PREFIX), m->len);
    }
    if (ts->tail)
        ts->tail->next = m;
    else
        ts->head = m;
    ts->tail = m;
    ts->queued++;
    t->counters.messages_sent++;
    t->counters.bytes_sent += len;
    pk_tcp_raw_start_write(ts);
    return 0;
}

int
pk_tcp_raw_sender_open(struct pk_transport **out, uv_loop_t *loop, const struct pk_endpoint *ep,
                       const struct pk_transport_opts *opts, char *errbuf)
{
    struct tcp_sender *ts = calloc(1, sizeof(*ts));
    struct in6_addr a6;
    struct in_addr a4;
    int rc;

    *out = NULL;
    if (ts == NULL)
        return pk_seterr(errbuf, -ENOMEM, "out of memory");
    ts->raw.base.ops = &pk_transport_tcp_raw;
    ts->raw.role = PK_TRANSPORT_SENDER;
    ts->loop = loop;
    ts->queue_limit = opts->queue_limit;
    ts->control = opts->control;
    ts->backoff_ms = BACKOFF_MIN_MS;
    if ((rc = uv_timer_init(loop, &ts->reconnect_timer)) != 0) {
        free(ts);
        return pk_seterr(errbuf, rc, "tcp-raw: cannot start timers: %s", uv_strerror(rc));
    }
    if ((rc = uv_timer_init(loop, &ts->linger_timer)) != 0) {
        ts->reconnect_timer.data = ts; /* freed in its close callback */
        uv_close((uv_handle_t *)&ts->reconnect_timer, pk_tcp_raw_free_data);
        return pk_seterr(errbuf, rc, "tcp-raw: cannot start timers: %s", uv_strerror(rc));
    }
    ts->reconnect_timer.data = ts->linger_timer.data = ts;
    ts->handles_open = 2;
    memcpy(&ts->peer_addr, &ep->addrs[0], sizeof(ts->peer_addr));
    pk_sockaddr_str((struct sockaddr *)&ts->peer_addr, ts->peer_name, sizeof(ts->peer_name));
    if (inet_pton(AF_INET, ep->host, &a4) != 1 && inet_pton(AF_INET6, ep->host, &a6) != 1)
        snprintf(ts->host, sizeof(ts->host), "%s", ep->host);
    snprintf(ts->port, sizeof(ts->port), "%u", ep->port);
    pk_tcp_raw_start_connect(ts);
    *out = &ts->raw.base;
    return 0;
}

/*
 * tcp-raw transport: the same messages on plain TCP, each preceded by its length (u32,
 * little-endian). The agent side keeps a bounded queue of messages (RELAY_QUEUE), writes them in
 * batches with TCP_NODELAY, and reconnects with capped exponential backoff and jitter. The
 * collector side accepts many connections; a connection whose framing is broken (a length under
 * the minimum or over the maximum) is closed and counted, and no other connection notices; an
 * invalid message inside intact framing is only dropped (by the owner, counted). Unencrypted:
 * for trusted networks or a tunnel (docs/PROTOCOL.md).
 *
 * A connection whose first bytes the owner's stream decoder takes (opts->capture_streams) is a
 * plain capture stream (`tcpdump -U -w - | nc collector 7386`): the decoder turns it into
 * protocol messages, so the owner sees one more source.
 */
#include "bytes.h"
#include "endpoint.h"
#include "log.h"
#include "pcktr.h"
#include "tcp_raw.h"
#include "transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PK_LOG_MODULE "tcp-raw"

static void start_connect(struct tcp_transport *tt);
static void start_write(struct tcp_transport *tt);

/* ---- sender ---------------------------------------------------------------------------- */

static void
drop_in_flight(struct tcp_transport *tt)
{
    /* What was being written when the connection broke is lost (the collector sees the gap). */
    while (tt->in_flight > 0 && tt->head != NULL) {
        struct message *m = tt->head;
        tt->head = m->next;
        free(m);
        tt->queued--;
        tt->in_flight--;
    }
    if (tt->head == NULL)
        tt->tail = NULL;
    tt->in_flight = 0;
}

static void
on_sock_closed(uv_handle_t *h)
{
    struct tcp_transport *tt = h->data;

    free(h);
    tt->handles_open--;
    pk_tcp_raw_maybe_finish_close(tt);
}

static void
on_reconnect_timer(uv_timer_t *h)
{
    start_connect(container_of(h, struct tcp_transport, reconnect_timer));
}

static void
schedule_reconnect(struct tcp_transport *tt)
{
    uint32_t jitter = 0;
    uint64_t delay;

    if (tt->closing && !uv_is_active((uv_handle_t *)&tt->linger_timer))
        return; /* closing without linger time left: no more tries */
    uv_random(NULL, NULL, &jitter, sizeof(jitter), 0, NULL);
    /* Full backoff plus up to 25% jitter, so many agents do not reconnect in lockstep. */
    delay = tt->backoff_ms + (jitter % (tt->backoff_ms / 4 + 1));
    tt->backoff_ms = tt->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : tt->backoff_ms * 2;
    uv_timer_start(&tt->reconnect_timer, on_reconnect_timer, delay, 0);
}

/* What was written on the socket counts as unconfirmed unless the collector ended in order. */
static void
close_sock(struct tcp_transport *tt)
{
    uv_handle_t *s = (uv_handle_t *)tt->sock;

    if (!tt->peer_confirmed)
        tt->messages_unconfirmed += tt->written;
    tt->written = 0;
    tt->peer_confirmed = tt->shutting_down = 0;
    tt->connected = tt->connecting = 0;
    tt->sock = NULL;
    uv_close(s, on_sock_closed);
}

static void
disconnect(struct tcp_transport *tt)
{
    int was_connected = tt->connected;

    if (tt->sock == NULL)
        return;
    /* a connection that ends within a second (a refusal, most likely) is counted, and does not
     * reset the backoff */
    if (was_connected && uv_now(tt->loop) - tt->connected_at >= QUICK_END_MS)
        tt->backoff_ms = BACKOFF_MIN_MS;
    else if (was_connected && !tt->peer_confirmed)
        tt->conns_ended_at_once++;
    close_sock(tt);
    if (was_connected) {
        tt->base.counters.disconnects++;
        if (tt->base.on_peer)
            tt->base.on_peer(&tt->base, PK_PEER_DOWN, tt->peer_name, "");
    }
    schedule_reconnect(tt);
}

static void
on_write(uv_write_t *req, int status)
{
    struct tcp_transport *tt = container_of(req, struct tcp_transport, write_req);

    tt->writing = 0;
    if (status == 0)
        tt->written += tt->in_flight;
    if (status < 0) {
        tt->messages_unconfirmed += tt->in_flight; /* some may have gone out */
        drop_in_flight(tt);
        disconnect(tt);
    } else {
        drop_in_flight(tt); /* written: release them the same way */
    }
    if (tt->want_writable && tt->queued < tt->queue_limit && !tt->closing) {
        tt->want_writable = 0;
        tt->base.on_writable(&tt->base);
    }
    if (tt->connected)
        start_write(tt);
    pk_tcp_raw_maybe_finish_close(tt);
}

static void
start_write(struct tcp_transport *tt)
{
    uv_buf_t bufs[MAX_WRITE_BUFS];
    unsigned n = 0;

    if (!tt->connected || tt->writing || tt->head == NULL)
        return;
    for (struct message *m = tt->head; m != NULL && n < MAX_WRITE_BUFS; m = m->next, n++)
        bufs[n] = uv_buf_init((char *)m->data, (unsigned)m->len);
    if (uv_write(&tt->write_req, (uv_stream_t *)tt->sock, bufs, n, on_write) != 0) {
        disconnect(tt);
        return;
    }
    tt->writing = 1;
    tt->in_flight = n;
}

static void
on_sink_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct tcp_transport *tt = h->data;

    (void)suggested;
    *buf = uv_buf_init(tt->read_sink, sizeof(tt->read_sink));
}

/* The collector sends nothing: a read ends only with its end of the connection. */
static void
on_peer_end(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct tcp_transport *tt = s->data;

    (void)buf;
    if (nread >= 0)
        return;
    if (tt->shutting_down && nread == UV_EOF) {
        tt->peer_confirmed = 1; /* it read up to our end, then closed: our own close, done */
        close_sock(tt);
    } else {
        disconnect(tt);
    }
    pk_tcp_raw_maybe_finish_close(tt);
}

static void
on_shutdown(uv_shutdown_t *req, int status)
{
    (void)req; /* the collector's end arrives through on_peer_end */
    (void)status;
}

static void
on_connect(uv_connect_t *req, int status)
{
    struct tcp_transport *tt = container_of(req, struct tcp_transport, connect_req);

    if (req->handle != (uv_stream_t *)tt->sock)
        return; /* a connection given up on while closing */
    tt->connecting = 0;
    if (status < 0) {
        disconnect(tt);
        return;
    }
    tt->connected = 1;
    tt->connected_at = uv_now(tt->loop);
    uv_read_start((uv_stream_t *)tt->sock, on_sink_alloc, on_peer_end);
    uv_tcp_nodelay(tt->sock, 1);
    uv_tcp_keepalive(tt->sock, 1, 30);
    tt->base.counters.connects++;
    if (tt->base.on_peer)
        tt->base.on_peer(&tt->base, PK_PEER_UP, tt->peer_name, "");
    start_write(tt);
}

static void connect_resolved(struct tcp_transport *tt);

static void
on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct tcp_transport *tt = container_of(req, struct tcp_transport, resolve_req);

    tt->resolving = 0;
    if (status == 0 && res != NULL) {
        memcpy(&tt->peer_addr, res->ai_addr, res->ai_addrlen);
        pk_sockaddr_str((struct sockaddr *)&tt->peer_addr, tt->peer_name, sizeof(tt->peer_name));
    }
    uv_freeaddrinfo(res);
    if (tt->closing && !uv_is_active((uv_handle_t *)&tt->linger_timer)) {
        pk_tcp_raw_maybe_finish_close(tt);
        return;
    }
    if (status != 0) {
        schedule_reconnect(tt); /* the name does not resolve now: try again later */
        return;
    }
    connect_resolved(tt);
}

/* Also used once while closing, to flush the queue within the linger time. */
static void
start_connect(struct tcp_transport *tt)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};

    if (tt->sock != NULL || tt->resolving)
        return;
    if (tt->host[0] != '\0') { /* a name: resolve it on the thread pool, not on the loop */
        tt->resolving = 1;
        if (uv_getaddrinfo(tt->loop, &tt->resolve_req, on_resolved, tt->host, tt->port, &hints) != 0) {
            tt->resolving = 0;
            connect_resolved(tt); /* use the last address known */
        }
        return;
    }
    connect_resolved(tt);
}

static void
connect_resolved(struct tcp_transport *tt)
{
    if (tt->sock != NULL)
        return;
    if ((tt->sock = malloc(sizeof(*tt->sock))) == NULL) {
        schedule_reconnect(tt);
        return;
    }
    if (uv_tcp_init(tt->loop, tt->sock) != 0) {
        free(tt->sock);
        tt->sock = NULL;
        schedule_reconnect(tt);
        return;
    }
    tt->sock->data = tt;
    tt->handles_open++;
    tt->connecting = 1;
    if (uv_tcp_connect(&tt->connect_req, tt->sock, (struct sockaddr *)&tt->peer_addr, on_connect) != 0)
        disconnect(tt);
}

static int
tcp_send(struct pk_transport *t, const void *buf, size_t len)
{
    struct tcp_transport *tt = (struct tcp_transport *)t;
    struct message *m;

    if (tt->queued >= tt->queue_limit) {
        tt->want_writable = 1;
        return -EAGAIN;
    }
    if (len > UINT32_MAX || (m = malloc(sizeof(*m) + LEN_PREFIX + len)) == NULL)
        return -ENOMEM;
    m->next = NULL;
    m->len = LEN_PREFIX + len;
    pk_put_le32(m->data, (uint32_t)len);
    memcpy(m->data + LEN_PREFIX, buf, len);
    if (tt->tail)
        tt->tail->next = m;
    else
        tt->head = m;
    tt->tail = m;
    tt->queued++;
    t->counters.messages_sent++;
    t->counters.bytes_sent += len;
    start_write(tt);
    return 0;
}

/* ---- common to both sides ------------------------------------------------------------- */

static void
on_handle_closed(uv_handle_t *h)
{
    struct tcp_transport *tt = h->data;

    tt->handles_open--;
    pk_tcp_raw_maybe_finish_close(tt);
}

void
pk_tcp_raw_maybe_finish_close(struct tcp_transport *tt)
{
    int flushed = tt->head == NULL;

    if (!tt->closing || tt->resolving)
        return; /* a pending resolution calls back into here */
    if (tt->role == PK_TRANSPORT_SENDER && !flushed &&
        uv_is_active((uv_handle_t *)&tt->linger_timer))
        return; /* still connecting or flushing within the linger time */
    if (tt->role == PK_TRANSPORT_SENDER && tt->sock != NULL) {
        if (flushed && tt->connected && !tt->writing && tt->written > 0 &&
            uv_is_active((uv_handle_t *)&tt->linger_timer)) {
            if (tt->shutting_down)
                return; /* waiting for the collector's end */
            if (uv_shutdown(&tt->shutdown_req, (uv_stream_t *)tt->sock, on_shutdown) == 0) {
                tt->shutting_down = 1;
                return;
            }
        }
        close_sock(tt);
        return;
    }
    if (uv_is_active((uv_handle_t *)&tt->linger_timer))
        uv_timer_stop(&tt->linger_timer);
    if (!uv_is_closing((uv_handle_t *)&tt->linger_timer)) {
        uv_close((uv_handle_t *)&tt->linger_timer, on_handle_closed);
        uv_close((uv_handle_t *)&tt->reconnect_timer, on_handle_closed);
        uv_close((uv_handle_t *)&tt->resume_idle, on_handle_closed);
        uv_close((uv_handle_t *)&tt->sweep_timer, on_handle_closed);
        return;
    }
    if (tt->handles_open > 0)
        return;
    while (tt->head != NULL) {
        struct message *m = tt->head;
        tt->head = m->next;
        free(m);
    }
    flushed = flushed && tt->messages_unconfirmed == 0;
    if (!flushed && tt->conns_ended_at_once >= tt->base.counters.connects &&
        tt->base.counters.connects > 0)
        pk_warn("the collector closed every connection at once: refused? see its "
                "packeteur_connections_refused_total");
    if (tt->closed_cb != NULL) /* NULL: open failed, nobody waits */
        tt->closed_cb(tt->closed_data, flushed);
    free(tt);
}

static void
on_linger_timeout(uv_timer_t *h)
{
    struct tcp_transport *tt = container_of(h, struct tcp_transport, linger_timer);

    uv_timer_stop(h);
    pk_tcp_raw_maybe_finish_close(tt);
}

static void tcp_close(struct pk_transport *t, uint64_t linger_ms, pk_transport_closed_cb cb,
                      void *data);

static void
on_failed_open_closed(void *data, int flushed)
{
    (void)data;
    (void)flushed;
}

static void
on_init_failed_closed(uv_handle_t *h)
{
    struct tcp_transport *tt = h->data;

    if (--tt->handles_open == 0)
        free(tt);
}

/*
 * The timers and the idle handle both sides keep: 0, or a negative errno when libuv cannot
 * initialise one; then tt is freed, at once or in the close callbacks of those it initialised.
 */
static int
init_handles(struct tcp_transport *tt)
{
    uv_timer_t *const timers[] = {&tt->reconnect_timer, &tt->linger_timer, &tt->sweep_timer};
    uv_handle_t *done[PK_ARRAY_LEN(timers)];
    int rc, n = 0;

    for (size_t i = 0; i < PK_ARRAY_LEN(timers); i++) {
        if ((rc = uv_timer_init(tt->loop, timers[i])) != 0)
            goto fail;
        done[n++] = (uv_handle_t *)timers[i];
    }
    if ((rc = uv_idle_init(tt->loop, &tt->resume_idle)) != 0)
        goto fail;
    tt->reconnect_timer.data = tt->linger_timer.data = tt->resume_idle.data = tt;
    tt->sweep_timer.data = tt;
    tt->handles_open = 4;
    return 0;

fail:
    if (n == 0) {
        free(tt);
        return rc;
    }
    tt->handles_open = n;
    for (int i = 0; i < n; i++) {
        done[i]->data = tt;
        uv_close(done[i], on_init_failed_closed);
    }
    return rc;
}

static int
tcp_open(struct pk_transport **out, uv_loop_t *loop, const struct pk_endpoint *ep,
         const struct pk_transport_opts *opts, char *errbuf)
{
    struct tcp_transport *tt = calloc(1, sizeof(*tt));
    int rc;

    *out = NULL;
    if (tt == NULL)
        return pk_seterr(errbuf, -ENOMEM, "out of memory");
    tt->base.ops = &pk_transport_tcp_raw;
    tt->loop = loop;
    tt->role = opts->role;
    tt->queue_limit = opts->queue_limit;
    tt->max_message = opts->max_message;
    tt->min_message = opts->min_message;
    tt->access = opts->access;
    tt->capture_streams = opts->capture_streams;
    tt->is_message = opts->is_message;
    tt->receiving = 1;
    tt->backoff_ms = BACKOFF_MIN_MS;
    if ((rc = init_handles(tt)) != 0)
        return pk_seterr(errbuf, rc, "tcp-raw: cannot start timers: %s", uv_strerror(rc));
    if (opts->role == PK_TRANSPORT_SENDER) {
        struct in6_addr a6;
        struct in_addr a4;
        memcpy(&tt->peer_addr, &ep->addrs[0], sizeof(tt->peer_addr));
        pk_sockaddr_str((struct sockaddr *)&tt->peer_addr, tt->peer_name, sizeof(tt->peer_name));
        if (inet_pton(AF_INET, ep->host, &a4) != 1 && inet_pton(AF_INET6, ep->host, &a6) != 1)
            snprintf(tt->host, sizeof(tt->host), "%s", ep->host);
        snprintf(tt->port, sizeof(tt->port), "%u", ep->port);
        start_connect(tt);
        *out = &tt->base;
        return 0;
    }
    if ((rc = pk_tcp_raw_listen(tt, ep, errbuf)) != 0) {
        /* The usual close: the struct is freed once the loop has released every handle. */
        tcp_close(&tt->base, 0, on_failed_open_closed, NULL);
        return rc;
    }
    *out = &tt->base;
    return 0;
}

static int
tcp_connected(struct pk_transport *t)
{
    struct tcp_transport *tt = (struct tcp_transport *)t;

    return tt->role == PK_TRANSPORT_SENDER ? tt->connected : tt->nconns > 0;
}

static void
tcp_close(struct pk_transport *t, uint64_t linger_ms, pk_transport_closed_cb cb, void *data)
{
    struct tcp_transport *tt = (struct tcp_transport *)t;

    tt->closing = 1;
    tt->closed_cb = cb;
    tt->closed_data = data;
    uv_timer_stop(&tt->reconnect_timer);
    pk_tcp_raw_close_conns(tt); /* and the listeners */
    if (tt->role == PK_TRANSPORT_SENDER && (tt->head != NULL || tt->written > 0) && linger_ms > 0) {
        if (tt->sock == NULL)
            start_connect(tt); /* one more try within the linger time */
        uv_timer_start(&tt->linger_timer, on_linger_timeout, linger_ms, 0);
    }
    pk_tcp_raw_maybe_finish_close(tt);
}

const struct pk_transport_ops pk_transport_tcp_raw = {
    .name = "tcp-raw",
    .per_connection_peers = 1,
    /* clear text: for trusted networks or inside a tunnel (no log_security, no keys) */
    .open = tcp_open,
    .send = tcp_send,
    .set_receiving = pk_tcp_raw_set_receiving,
    .connected = tcp_connected,
    .report = pk_tcp_raw_report,
    .close = tcp_close,
};

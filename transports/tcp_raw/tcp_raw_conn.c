/*
 * tcp-raw, the agent's side: one connection at a time. A name is resolved again (on the
 * thread pool) before each attempt; failures back off exponentially with jitter. TCP does not
 * confirm delivery, so the close half-closes and waits for the collector's orderly end
 * (tcp_raw_send.h). The sender's close is here too: it owns its handles (two timers and the
 * socket), and the last close callback frees it.
 */
#include "endpoint.h"
#include "log.h"
#include "pcktr.h"
#include "tcp_raw_send.h"

#include <stdlib.h>
#include <string.h>

#define PK_LOG_MODULE "tcp-raw"

static void connect_resolved(struct tcp_sender *ts);

static void
on_sock_closed(uv_handle_t *h)
{
    struct tcp_sender *ts = h->data;

    free(h);
    ts->handles_open--;
    pk_tcp_raw_sender_step(ts);
}

static void
on_reconnect_timer(uv_timer_t *h)
{
    pk_tcp_raw_start_connect(container_of(h, struct tcp_sender, reconnect_timer));
}

static void
schedule_reconnect(struct tcp_sender *ts)
{
    uint32_t jitter = 0;
    uint64_t delay;

    if (ts->closing && !uv_is_active((uv_handle_t *)&ts->linger_timer))
        return; /* closing without linger time left: no more tries */
    uv_random(NULL, NULL, &jitter, sizeof(jitter), 0, NULL);
    /* Full backoff plus up to 25% jitter, so many agents do not reconnect in lockstep. */
    delay = ts->backoff_ms + (jitter % (ts->backoff_ms / 4 + 1));
    ts->backoff_ms = ts->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ts->backoff_ms * 2;
    uv_timer_start(&ts->reconnect_timer, on_reconnect_timer, delay, 0);
}

/* What was written on the socket counts as unconfirmed unless the collector ended in order. */
static void
close_sock(struct tcp_sender *ts)
{
    uv_handle_t *s = (uv_handle_t *)ts->sock;

    if (!ts->peer_confirmed)
        ts->messages_unconfirmed += ts->written;
    ts->written = 0;
    ts->peer_confirmed = ts->shutting_down = 0;
    ts->connected = ts->connecting = 0;
    ts->sock = NULL;
    uv_close(s, on_sock_closed);
}

void
pk_tcp_raw_disconnect(struct tcp_sender *ts)
{
    int was_connected = ts->connected;

    if (ts->sock == NULL)
        return;
    /* a connection that ends within a second (a refusal, most likely) is counted, and does not
     * reset the backoff */
    if (was_connected && uv_now(ts->loop) - ts->connected_at >= QUICK_END_MS)
        ts->backoff_ms = BACKOFF_MIN_MS;
    else if (was_connected && !ts->peer_confirmed)
        ts->conns_ended_at_once++;
    close_sock(ts);
    if (was_connected) {
        ts->raw.base.counters.disconnects++;
        if (ts->raw.base.on_peer)
            ts->raw.base.on_peer(&ts->raw.base, PK_PEER_DOWN, ts->peer_name, "");
    }
    schedule_reconnect(ts);
}

static void
on_sink_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct tcp_sender *ts = h->data;

    (void)suggested;
    *buf = uv_buf_init(ts->read_sink, sizeof(ts->read_sink));
}

/* Without control the collector sends nothing: a read ends only with its end of the connection
 * (with control, pk_tcp_raw_control_read passes its end here). */
void
pk_tcp_raw_peer_end(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct tcp_sender *ts = s->data;

    (void)buf;
    if (nread >= 0)
        return;
    if (ts->shutting_down && nread == UV_EOF) {
        ts->peer_confirmed = 1; /* it read up to our end, then closed: our own close, done */
        close_sock(ts);
    } else {
        pk_tcp_raw_disconnect(ts);
    }
    pk_tcp_raw_sender_step(ts);
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
    struct tcp_sender *ts = container_of(req, struct tcp_sender, connect_req);

    if (req->handle != (uv_stream_t *)ts->sock)
        return; /* a connection given up on while closing */
    ts->connecting = 0;
    if (status < 0) {
        pk_tcp_raw_disconnect(ts);
        return;
    }
    ts->connected = 1;
    ts->connected_at = uv_now(ts->loop);
    ts->clen = 0; /* a new connection: no partial control frame */
    if (ts->control)
        uv_read_start((uv_stream_t *)ts->sock, pk_tcp_raw_control_alloc, pk_tcp_raw_control_read);
    else
        uv_read_start((uv_stream_t *)ts->sock, on_sink_alloc, pk_tcp_raw_peer_end);
    uv_tcp_nodelay(ts->sock, 1);
    uv_tcp_keepalive(ts->sock, 1, 30);
    ts->raw.base.counters.connects++;
    if (ts->raw.base.on_peer)
        ts->raw.base.on_peer(&ts->raw.base, PK_PEER_UP, ts->peer_name, "");
    pk_tcp_raw_start_write(ts);
}

static void
on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct tcp_sender *ts = container_of(req, struct tcp_sender, resolve_req);

    ts->resolving = 0;
    if (status == 0 && res != NULL) {
        memcpy(&ts->peer_addr, res->ai_addr, res->ai_addrlen);
        pk_sockaddr_str((struct sockaddr *)&ts->peer_addr, ts->peer_name, sizeof(ts->peer_name));
    }
    uv_freeaddrinfo(res);
    if (ts->closing && !uv_is_active((uv_handle_t *)&ts->linger_timer)) {
        pk_tcp_raw_sender_step(ts);
        return;
    }
    if (status != 0) {
        schedule_reconnect(ts); /* the name does not resolve now: try again later */
        return;
    }
    connect_resolved(ts);
}

/* Also used once while closing, to flush the queue within the linger time. */
void
pk_tcp_raw_start_connect(struct tcp_sender *ts)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};

    if (ts->sock != NULL || ts->resolving)
        return;
    if (ts->host[0] != '\0') { /* a name: resolve it on the thread pool, not on the loop */
        ts->resolving = 1;
        if (uv_getaddrinfo(ts->loop, &ts->resolve_req, on_resolved, ts->host, ts->port, &hints) != 0) {
            ts->resolving = 0;
            connect_resolved(ts); /* use the last address known */
        }
        return;
    }
    connect_resolved(ts);
}

static void
connect_resolved(struct tcp_sender *ts)
{
    if (ts->sock != NULL)
        return;
    if ((ts->sock = malloc(sizeof(*ts->sock))) == NULL) {
        schedule_reconnect(ts);
        return;
    }
    if (uv_tcp_init(ts->loop, ts->sock) != 0) {
        free(ts->sock);
        ts->sock = NULL;
        schedule_reconnect(ts);
        return;
    }
    ts->sock->data = ts;
    ts->handles_open++;
    ts->connecting = 1;
    if (uv_tcp_connect(&ts->connect_req, ts->sock, (struct sockaddr *)&ts->peer_addr, on_connect) != 0)
        pk_tcp_raw_disconnect(ts);
}

static void
on_handle_closed(uv_handle_t *h)
{
    struct tcp_sender *ts = h->data;

    ts->handles_open--;
    pk_tcp_raw_sender_step(ts);
}

/* Says whether the collector took everything; warns when it ended each connection at once. */
static void
report_closed(struct tcp_sender *ts, int flushed)
{
    flushed = flushed && ts->messages_unconfirmed == 0;
    if (!flushed && ts->conns_ended_at_once >= ts->raw.base.counters.connects &&
        ts->raw.base.counters.connects > 0)
        pk_warn("the collector closed every connection at once: refused? see its "
                "packeteur_connections_refused_total");
    if (ts->closed_cb != NULL) /* NULL: open failed, nobody waits */
        ts->closed_cb(ts->closed_data, flushed);
}

/*
 * The close, one step per call: flush within the linger time, half-close and wait for the
 * collector's end, close the socket, then the timers; the last close callback frees ts.
 */
void
pk_tcp_raw_sender_step(struct tcp_sender *ts)
{
    int flushed = ts->head == NULL;

    if (!ts->closing || ts->resolving)
        return; /* a pending resolution calls back into here */
    if (!flushed && uv_is_active((uv_handle_t *)&ts->linger_timer))
        return; /* still connecting or flushing within the linger time */
    if (ts->sock != NULL) {
        if (flushed && ts->connected && !ts->writing && ts->written > 0 &&
            uv_is_active((uv_handle_t *)&ts->linger_timer)) {
            if (ts->shutting_down)
                return; /* waiting for the collector's end */
            if (uv_shutdown(&ts->shutdown_req, (uv_stream_t *)ts->sock, on_shutdown) == 0) {
                ts->shutting_down = 1;
                return;
            }
        }
        close_sock(ts);
        return;
    }
    uv_timer_stop(&ts->linger_timer);
    if (!uv_is_closing((uv_handle_t *)&ts->linger_timer)) {
        uv_close((uv_handle_t *)&ts->linger_timer, on_handle_closed);
        uv_close((uv_handle_t *)&ts->reconnect_timer, on_handle_closed);
        return;
    }
    if (ts->handles_open > 0)
        return;
    while (ts->head != NULL) {
        struct message *m = ts->head;
        ts->head = m->next;
        free(m);
    }
    report_closed(ts, flushed);
    free(ts->cbuf);
    free(ts);
}

static void
on_linger_timeout(uv_timer_t *h)
{
    struct tcp_sender *ts = container_of(h, struct tcp_sender, linger_timer);

    uv_timer_stop(h);
    pk_tcp_raw_sender_step(ts);
}

void
pk_tcp_raw_sender_close(struct pk_transport *t, uint64_t linger_ms, pk_transport_closed_cb cb,
                        void *data)
{
    struct tcp_sender *ts = (struct tcp_sender *)t;

    ts->closing = 1;
    ts->closed_cb = cb;
    ts->closed_data = data;
    uv_timer_stop(&ts->reconnect_timer);
    if ((ts->head != NULL || ts->written > 0) && linger_ms > 0) {
        if (ts->sock == NULL)
            pk_tcp_raw_start_connect(ts); /* one more try within the linger time */
        uv_timer_start(&ts->linger_timer, on_linger_timeout, linger_ms, 0);
    }
    pk_tcp_raw_sender_step(ts);
}

int
pk_tcp_raw_sender_connected(struct pk_transport *t)
{
    return ((struct tcp_sender *)t)->connected;
}

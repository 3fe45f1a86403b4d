/*
 * tcp-raw transport: the same messages on plain TCP, each preceded by its length (u32,
 * little-endian). The agent side keeps a bounded queue of messages (RELAY_QUEUE), writes them in
 * batches with TCP_NODELAY, and reconnects with capped exponential backoff and jitter. The
 * collector side accepts many connections; a connection whose framing is broken (a length under
 * the minimum or over the maximum) or whose messages the owner rejects is closed, counted and
 * logged by the owner, and no other connection notices. Unencrypted: for trusted networks or a
 * tunnel (docs/PROTOCOL.md).
 *
 * A connection whose first bytes are a pcap or pcapng magic is a plain capture stream
 * (`tcpdump -U -w - | nc collector 7386`): src/capstream.c turns it into protocol messages, so
 * the owner sees one more source.
 */
#include "capstream.h"
#include "endpoint.h"
#include "pcktr.h"
#include "transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEN_PREFIX 4
#define MIN_MESSAGE 32      /* a message header; anything shorter is not this protocol */
#define MAX_WRITE_BUFS 64   /* messages per uv_write */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define MAX_CONNECTIONS 1024
#define MAX_LISTENERS PK_ENDPOINT_MAX_ADDRS

const struct pk_transport_ops pk_transport_tcp_raw;

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
    uv_tcp_t listeners[MAX_LISTENERS];
    int nlisteners;
    struct conn *conns;
    size_t nconns;
    int receiving;
    uv_idle_t resume_idle; /* parses what connections buffered while intake was paused */

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
    int closing;
};

static void start_connect(struct tcp_transport *tt);
static void start_write(struct tcp_transport *tt);
static void maybe_finish_close(struct tcp_transport *tt);

static void
put_len(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t
get_len(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void
sockaddr_name(const struct sockaddr_storage *ss, char *buf, size_t len)
{
    char addr[64] = "";

    if (ss->ss_family == AF_INET6) {
        uv_ip6_name((const struct sockaddr_in6 *)ss, addr, sizeof(addr));
        snprintf(buf, len, "[%s]:%u", addr, ntohs(((const struct sockaddr_in6 *)ss)->sin6_port));
    } else {
        uv_ip4_name((const struct sockaddr_in *)ss, addr, sizeof(addr));
        snprintf(buf, len, "%s:%u", addr, ntohs(((const struct sockaddr_in *)ss)->sin_port));
    }
}

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
    maybe_finish_close(tt);
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

static void
disconnect(struct tcp_transport *tt)
{
    int was_connected = tt->connected;

    if (tt->sock == NULL)
        return;
    tt->connected = tt->connecting = 0;
    uv_close((uv_handle_t *)tt->sock, on_sock_closed);
    tt->sock = NULL;
    if (was_connected) {
        tt->base.counters.disconnects++;
        if (tt->base.on_peer)
            tt->base.on_peer(&tt->base, PK_PEER_DOWN, tt->peer_name);
    }
    schedule_reconnect(tt);
}

static void
on_write(uv_write_t *req, int status)
{
    struct tcp_transport *tt = container_of(req, struct tcp_transport, write_req);

    tt->writing = 0;
    if (status < 0) {
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
    maybe_finish_close(tt);
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
    tt->backoff_ms = BACKOFF_MIN_MS;
    uv_tcp_nodelay(tt->sock, 1);
    uv_tcp_keepalive(tt->sock, 1, 30);
    tt->base.counters.connects++;
    if (tt->base.on_peer)
        tt->base.on_peer(&tt->base, PK_PEER_UP, tt->peer_name);
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
        sockaddr_name(&tt->peer_addr, tt->peer_name, sizeof(tt->peer_name));
    }
    uv_freeaddrinfo(res);
    if (tt->closing && !uv_is_active((uv_handle_t *)&tt->linger_timer)) {
        maybe_finish_close(tt);
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
    uv_tcp_init(tt->loop, tt->sock);
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
    put_len(m->data, (uint32_t)len);
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

/* ---- receiver -------------------------------------------------------------------------- */

static void
on_conn_closed(uv_handle_t *h)
{
    struct conn *c = container_of(h, struct conn, tcp);
    struct tcp_transport *tt = c->tt;

    if (c->prev)
        c->prev->next = c->next;
    else
        tt->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    tt->nconns--;
    pk_capstream_free(c->capstream);
    free(c->buf);
    free(c);
    tt->handles_open--;
    maybe_finish_close(tt);
}

static void
close_conn(struct conn *c, int bad)
{
    struct tcp_transport *tt = c->tt;

    if (c->closing)
        return;
    c->closing = 1;
    if (bad)
        tt->base.counters.peers_dropped++;
    tt->base.counters.disconnects++;
    if (tt->base.on_peer)
        tt->base.on_peer(&tt->base, PK_PEER_DOWN, c->peer);
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

/* Framing errors reach the owner as a message of length 0, so it counts them with the rest. */
static void
report_bad_framing(struct conn *c)
{
    c->tt->base.on_message(&c->tt->base, c->buf, 0, c->peer);
}

static void
on_capstream_message(void *data, const uint8_t *msg, size_t len)
{
    struct conn *c = data;

    c->tt->base.counters.messages_received++;
    c->tt->base.counters.bytes_received += len;
    c->tt->base.on_message(&c->tt->base, msg, len, c->peer);
}

/* Decides from the first bytes what the connection carries; 0 when it cannot tell yet. */
static int
classify(struct conn *c)
{
    int is_capture = pk_capstream_detect(c->buf, c->len);

    if (is_capture < 0)
        return 0;
    c->kind = is_capture ? CONN_CAPTURE_STREAM : CONN_MESSAGES;
    if (is_capture && (c->capstream = pk_capstream_new(c->peer, on_capstream_message, c)) == NULL)
        c->kind = CONN_MESSAGES; /* out of memory: it will fail as messages and be dropped */
    return 1;
}

static void
consume(struct conn *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

/* Delivers every complete message (or capture record) buffered on c while intake is on. */
static void
parse(struct conn *c)
{
    struct tcp_transport *tt = c->tt;
    size_t off = 0;

    if (c->kind == CONN_UNKNOWN && !classify(c))
        return;
    if (c->kind == CONN_CAPTURE_STREAM) {
        char err[PK_ERRBUF_SIZE];
        long n;
        if (c->closing || !tt->receiving)
            return;
        if ((n = pk_capstream_parse(c->capstream, c->buf, c->len, err)) < 0) {
            report_bad_framing(c);
            close_conn(c, 1);
            return;
        }
        consume(c, (size_t)n);
        return;
    }

    while (!c->closing && tt->receiving && c->len - off >= LEN_PREFIX) {
        uint32_t len = get_len(c->buf + off);
        if (len < MIN_MESSAGE || len > tt->max_message) {
            report_bad_framing(c);
            close_conn(c, 1);
            break;
        }
        if (c->len - off - LEN_PREFIX < len)
            break;
        tt->base.counters.messages_received++;
        tt->base.counters.bytes_received += len;
        if (tt->base.on_message(&tt->base, c->buf + off + LEN_PREFIX, len, c->peer) != 0) {
            close_conn(c, 1);
            break;
        }
        off += LEN_PREFIX + len;
    }
    if (off > 0)
        consume(c, off);
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = container_of(h, struct conn, tcp);
    size_t want = c->len + (suggested < 65536 ? 65536 : suggested);

    /* The buffer grows with what arrives, never with what a length claims. */
    if (want > c->cap) {
        uint8_t *nb = realloc(c->buf, want);
        if (nb == NULL) {
            *buf = uv_buf_init(NULL, 0);
            return;
        }
        c->buf = nb;
        c->cap = want;
    }
    *buf = uv_buf_init((char *)c->buf + c->len, (unsigned)(c->cap - c->len));
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = container_of(s, struct conn, tcp);

    (void)buf;
    if (nread < 0) {
        char err[PK_ERRBUF_SIZE];
        int broken = c->len > 0;
        if (c->kind == CONN_CAPTURE_STREAM && !c->closing)
            broken = pk_capstream_end(c->capstream, c->len, err) != 0;
        if (broken && !c->closing)
            report_bad_framing(c); /* the stream ended inside a message or record */
        close_conn(c, broken);
        return;
    }
    c->len += (size_t)nread;
    parse(c);
    /* Shrink what a burst grew, so an idle connection holds little memory. */
    if (c->len == 0 && c->cap > 256 * 1024) {
        free(c->buf);
        c->buf = NULL;
        c->cap = 0;
    }
}

static void
on_connection(uv_stream_t *server, int status)
{
    struct tcp_transport *tt = server->data;
    struct sockaddr_storage ss;
    int sslen = sizeof(ss);
    struct conn *c;

    if (status < 0 || (c = calloc(1, sizeof(*c))) == NULL)
        return;
    uv_tcp_init(tt->loop, &c->tcp);
    c->tt = tt;
    tt->handles_open++;
    tt->nconns++;
    c->next = tt->conns;
    if (tt->conns)
        tt->conns->prev = c;
    tt->conns = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || tt->nconns > MAX_CONNECTIONS) {
        c->closing = 1;
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        return;
    }
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sslen) == 0)
        sockaddr_name(&ss, c->peer, sizeof(c->peer));
    tt->base.counters.connects++;
    if (tt->base.on_peer)
        tt->base.on_peer(&tt->base, PK_PEER_UP, c->peer);
    if (tt->receiving)
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void
on_resume_idle(uv_idle_t *h)
{
    struct tcp_transport *tt = container_of(h, struct tcp_transport, resume_idle);

    uv_idle_stop(h);
    for (struct conn *c = tt->conns; c != NULL && tt->receiving; c = c->next) {
        parse(c);
        if (!c->closing && tt->receiving)
            uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    }
}

static void
tcp_set_receiving(struct pk_transport *t, int on)
{
    struct tcp_transport *tt = (struct tcp_transport *)t;

    tt->receiving = on;
    if (on) {
        uv_idle_start(&tt->resume_idle, on_resume_idle); /* not from inside the caller's stack */
        return;
    }
    uv_idle_stop(&tt->resume_idle);
    for (struct conn *c = tt->conns; c != NULL; c = c->next)
        if (!c->closing)
            uv_read_stop((uv_stream_t *)&c->tcp);
}

static int
listen_all(struct tcp_transport *tt, const struct pk_endpoint *ep, char *errbuf)
{
    struct pk_endpoint any = *ep;
    int rc;

    if (ep->host[0] == '\0') { /* every address: "::" takes IPv4 too; without IPv6, 0.0.0.0 */
        struct sockaddr_in6 a6;
        uv_ip6_addr("::", ep->port, &a6);
        memcpy(&any.addrs[0], &a6, sizeof(a6));
        any.naddrs = 1;
    }
    for (int i = 0; i < any.naddrs && i < MAX_LISTENERS; i++) {
        uv_tcp_t *l = &tt->listeners[tt->nlisteners];
        char name[80];
        uv_tcp_init(tt->loop, l);
        l->data = tt;
        tt->nlisteners++;
        tt->handles_open++;
        rc = uv_tcp_bind(l, (struct sockaddr *)&any.addrs[i], 0);
        if (rc == 0)
            rc = uv_listen((uv_stream_t *)l, 128, on_connection);
        if (rc == UV_EAFNOSUPPORT && ep->host[0] == '\0') {
            struct sockaddr_in a4;
            uv_close((uv_handle_t *)l, (uv_close_cb)NULL);
            tt->nlisteners--;
            tt->handles_open--;
            uv_ip4_addr("0.0.0.0", ep->port, &a4);
            memcpy(&any.addrs[0], &a4, sizeof(a4));
            i--;
            continue;
        }
        if (rc == UV_EADDRNOTAVAIL && any.naddrs > 1 && (i < any.naddrs - 1 || tt->nlisteners > 1))
            continue; /* localhost with IPv6 disabled: the IPv4 address is enough */
        if (rc != 0) {
            sockaddr_name(&any.addrs[i], name, sizeof(name));
            return pk_seterr(errbuf, rc, "cannot listen on tcp://%s: %s", name, uv_strerror(rc));
        }
    }
    return 0;
}

/* ---- common ---------------------------------------------------------------------------- */

static void
on_handle_closed(uv_handle_t *h)
{
    struct tcp_transport *tt = h->data;

    tt->handles_open--;
    maybe_finish_close(tt);
}

static void
maybe_finish_close(struct tcp_transport *tt)
{
    int flushed = tt->head == NULL;

    if (!tt->closing || tt->resolving)
        return; /* a pending resolution calls back into here */
    if (tt->role == PK_TRANSPORT_SENDER && !flushed &&
        uv_is_active((uv_handle_t *)&tt->linger_timer))
        return; /* still connecting or flushing within the linger time */
    if (tt->role == PK_TRANSPORT_SENDER && tt->sock != NULL) {
        uv_handle_t *s = (uv_handle_t *)tt->sock;
        tt->sock = NULL;
        tt->connected = 0;
        uv_close(s, on_sock_closed);
        return;
    }
    if (uv_is_active((uv_handle_t *)&tt->linger_timer))
        uv_timer_stop(&tt->linger_timer);
    if (!uv_is_closing((uv_handle_t *)&tt->linger_timer)) {
        uv_close((uv_handle_t *)&tt->linger_timer, on_handle_closed);
        uv_close((uv_handle_t *)&tt->reconnect_timer, on_handle_closed);
        uv_close((uv_handle_t *)&tt->resume_idle, on_handle_closed);
        return;
    }
    if (tt->handles_open > 0)
        return;
    while (tt->head != NULL) {
        struct message *m = tt->head;
        tt->head = m->next;
        free(m);
    }
    tt->closed_cb(tt->closed_data, flushed);
    free(tt);
}

static void
on_linger_timeout(uv_timer_t *h)
{
    struct tcp_transport *tt = container_of(h, struct tcp_transport, linger_timer);

    uv_timer_stop(h);
    maybe_finish_close(tt);
}

static struct pk_transport *
tcp_open(uv_loop_t *loop, const struct pk_endpoint *ep, const struct pk_transport_opts *opts,
         char *errbuf)
{
    struct tcp_transport *tt = calloc(1, sizeof(*tt));

    if (tt == NULL) {
        pk_seterr(errbuf, -ENOMEM, "out of memory");
        return NULL;
    }
    tt->base.ops = &pk_transport_tcp_raw;
    tt->loop = loop;
    tt->role = opts->role;
    tt->queue_limit = opts->queue_limit;
    tt->max_message = opts->max_message;
    tt->receiving = 1;
    tt->backoff_ms = BACKOFF_MIN_MS;
    uv_timer_init(loop, &tt->reconnect_timer);
    uv_timer_init(loop, &tt->linger_timer);
    uv_idle_init(loop, &tt->resume_idle);
    tt->reconnect_timer.data = tt->linger_timer.data = tt->resume_idle.data = tt;
    tt->handles_open = 3;
    if (opts->role == PK_TRANSPORT_SENDER) {
        struct in6_addr a6;
        struct in_addr a4;
        memcpy(&tt->peer_addr, &ep->addrs[0], sizeof(tt->peer_addr));
        sockaddr_name(&tt->peer_addr, tt->peer_name, sizeof(tt->peer_name));
        if (inet_pton(AF_INET, ep->host, &a4) != 1 && inet_pton(AF_INET6, ep->host, &a6) != 1)
            snprintf(tt->host, sizeof(tt->host), "%s", ep->host);
        snprintf(tt->port, sizeof(tt->port), "%u", ep->port);
        start_connect(tt);
        return &tt->base;
    }
    if (listen_all(tt, ep, errbuf) != 0) {
        /* The handles are closed by the owner's loop teardown; the struct is leaked with it. */
        for (int i = 0; i < tt->nlisteners; i++)
            uv_close((uv_handle_t *)&tt->listeners[i], NULL);
        return NULL;
    }
    return &tt->base;
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
    for (int i = 0; i < tt->nlisteners; i++)
        uv_close((uv_handle_t *)&tt->listeners[i], on_handle_closed);
    for (struct conn *c = tt->conns; c != NULL; c = c->next)
        close_conn(c, 0);
    if (tt->role == PK_TRANSPORT_SENDER && tt->head != NULL && linger_ms > 0) {
        if (tt->sock == NULL)
            start_connect(tt); /* one more try within the linger time */
        uv_timer_start(&tt->linger_timer, on_linger_timeout, linger_ms, 0);
    }
    maybe_finish_close(tt);
}

const struct pk_transport_ops pk_transport_tcp_raw = {
    .name = "tcp-raw",
    .per_connection_peers = 1,
    .open = tcp_open,
    .send = tcp_send,
    .set_receiving = tcp_set_receiving,
    .connected = tcp_connected,
    .close = tcp_close,
};

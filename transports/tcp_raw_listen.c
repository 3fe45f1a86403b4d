/*
 * tcp-raw, the collector's side: listeners, accepted connections, framing, back-pressure, and
 * plain capture streams recognised by their first bytes (src/capstream.c). Each connection is
 * on its own: a broken one is closed and counted, and no other notices.
 */
#include "access.h"
#include "capstream.h"
#include "pcktr.h"
#include "tcp_raw.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint32_t
get_len(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static size_t
over_free(size_t cap)
{
    return cap > CONN_FREE_BUFFER ? cap - CONN_FREE_BUFFER : 0;
}

/* Replaces c's buffer capacity, keeping the shared budget's books. */
static void
account_cap(struct conn *c, size_t new_cap)
{
    struct tcp_transport *tt = c->tt;

    tt->budget_used = tt->budget_used - over_free(c->cap) + over_free(new_cap);
    c->cap = new_cap;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* Budget came free: connections that waited for it read again (and ask again). */
static void
wake_starved(struct tcp_transport *tt)
{
    if (tt->nstarved == 0 || tt->budget_used >= RECEIVE_BUDGET)
        return;
    for (struct conn *c = tt->conns; c != NULL; c = c->next) {
        if (!c->starved)
            continue;
        c->starved = 0;
        tt->nstarved--;
        if (!c->closing && tt->receiving)
            uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    }
}

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
    if (c->starved)
        tt->nstarved--;
    account_cap(c, 0);
    pk_capstream_free(c->capstream);
    free(c->buf);
    free(c);
    wake_starved(tt);
    tt->handles_open--;
    pk_tcp_raw_maybe_finish_close(tt);
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
    c->tt->base.on_message(&c->tt->base, c->buf, 0, &c->who);
}

static void
on_capstream_message(void *data, const uint8_t *msg, size_t len)
{
    struct conn *c = data;

    c->tt->base.counters.messages_received++;
    c->tt->base.counters.bytes_received += len;
    c->tt->base.on_message(&c->tt->base, msg, len, &c->who);
}

/*
 * A ZeroMQ peer (an agent left at RELAY_TRANSPORT=zmq) opens with the ZMTP signature, 0xFF, 8
 * bytes, 0x7F, and then waits for ours: as a length prefix it would stall until the peer gives
 * up. Our own messages have "PKTR" where the signature has padding.
 */
static int
is_zmtp_greeting(const uint8_t *buf, size_t len)
{
    return len >= 10 && buf[0] == 0xff && buf[9] == 0x7f && memcmp(buf + 4, "PKTR", 4) != 0;
}

/* Decides from the first bytes what the connection carries; 0 when it cannot tell yet. */
static int
classify(struct conn *c)
{
    int is_capture = pk_capstream_detect(c->buf, c->len);

    if (is_capture < 0)
        return 0;
    if (!is_capture && c->len >= 1 && c->buf[0] == 0xff && c->len < 10)
        return 0; /* perhaps a ZMTP signature: wait for its tenth byte */
    if (is_zmtp_greeting(c->buf, c->len)) {
        struct tcp_transport *tt = c->tt;
        if (tt->base.on_peer)
            tt->base.on_peer(&tt->base, PK_PEER_WRONG_PROTOCOL, c->peer);
        report_bad_framing(c);
        close_conn(c, 1);
        return 0;
    }
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
        if (tt->base.on_message(&tt->base, c->buf + off + LEN_PREFIX, len, &c->who) != 0) {
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
    struct tcp_transport *tt = c->tt;
    size_t want = c->len + (suggested < 65536 ? 65536 : suggested);

    /* The buffer grows with what arrives, never with what a length claims. */
    if (want > c->cap) {
        size_t extra = over_free(want) - over_free(c->cap);
        uint8_t *nb = NULL;
        if (tt->budget_used + extra <= RECEIVE_BUDGET)
            nb = realloc(c->buf, want);
        if (nb == NULL) { /* on_read sees UV_ENOBUFS and waits for budget or memory */
            *buf = uv_buf_init(NULL, 0);
            return;
        }
        c->buf = nb;
        account_cap(c, want);
    }
    *buf = uv_buf_init((char *)c->buf + c->len, (unsigned)(c->cap - c->len));
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = container_of(s, struct conn, tcp);

    (void)buf;
    if (nread == UV_ENOBUFS) {
        /* Not this peer's fault: stop reading it (TCP pushes back) until budget comes free. */
        uv_read_stop(s);
        if (!c->starved) {
            c->starved = 1;
            c->tt->nstarved++;
            c->tt->base.counters.buffer_waits++;
        }
        return;
    }
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
    if (c->len == 0 && c->cap > CONN_FREE_BUFFER) {
        free(c->buf);
        c->buf = NULL;
        account_cap(c, 0);
        wake_starved(c->tt);
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
    c->who.addr = c->peer;
    c->who.key = "";
    tt->handles_open++;
    tt->nconns++;
    c->next = tt->conns;
    if (tt->conns)
        tt->conns->prev = c;
    tt->conns = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || tt->nconns > MAX_CONNECTIONS ||
        uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sslen) != 0) {
        c->closing = 1;
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        return;
    }
    pk_sockaddr_str((struct sockaddr *)&ss, c->peer, sizeof(c->peer));
    if (tt->access != NULL && !pk_cidr_match(tt->access->allow, tt->access->nallow,
                                             (struct sockaddr *)&ss)) {
        char ip[64] = "";
        uv_ip_name((struct sockaddr *)&ss, ip, sizeof(ip));
        pk_access_refuse(tt->access, PK_REFUSED_ADDRESS, ip, "");
        c->closing = 1;
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        return;
    }
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
        if (!c->closing && tt->receiving && !c->starved)
            uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    }
}

void
pk_tcp_raw_set_receiving(struct pk_transport *t, int on)
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

int
pk_tcp_raw_listen(struct tcp_transport *tt, const struct pk_endpoint *ep, char *errbuf)
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
            pk_sockaddr_str((struct sockaddr *)&any.addrs[i], name, sizeof(name));
            return pk_seterr(errbuf, rc, "cannot listen on tcp://%s: %s", name, uv_strerror(rc));
        }
    }
    return 0;
}

void
pk_tcp_raw_close_conns(struct tcp_transport *tt)
{
    for (struct conn *c = tt->conns; c != NULL; c = c->next)
        close_conn(c, 0);
}

/*
 * tcp-raw, the collector's side: reading one connection, its framing, plain capture streams
 * recognised by their first bytes (by the owner's stream decoder), and the receive budget shared by all
 * connections (tcp_raw_recv.h). Only broken framing closes a connection; a message that is invalid
 * inside intact framing is the owner's to drop and count, and the connection goes on.
 */
#include "bytes.h"
#include "log.h"
#include "pcktr.h"
#include "tcp_raw_recv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define PK_LOG_MODULE "tcp-raw"

static size_t
over_free(size_t cap)
{
    return cap > CONN_FREE_BUFFER ? cap - CONN_FREE_BUFFER : 0;
}

/* Replaces c's buffer (capacity new_cap), keeping the shared budget's books. */
static void
set_buf(struct conn *c, uint8_t *nb, size_t new_cap)
{
    struct tcp_receiver *tt = c->tt;

    if (over_free(new_cap) == 0)
        c->held_ms = 0;
    tt->budget_used = tt->budget_used - over_free(c->cap) + over_free(new_cap);
    c->buf = nb;
    c->cap = new_cap;
}

/*
 * The capacity c needs for its next read. A message larger than the free buffer gets exactly
 * its size (so that it can complete, and the next message waits in the kernel); anything else
 * grows with what arrives, never with what a length claims.
 */
static size_t
wanted_cap(const struct conn *c)
{
    if (c->kind == CONN_MESSAGES && c->len >= LEN_PREFIX) {
        size_t need = LEN_PREFIX + (size_t)pk_get_le32(c->buf);
        if (need > CONN_FREE_BUFFER && need <= LEN_PREFIX + c->tt->max_message)
            return need; /* parse closes a connection whose length is out of bounds */
        if (c->len + READ_CHUNK > CONN_FREE_BUFFER)
            return CONN_FREE_BUFFER;
    }
    return c->len + READ_CHUNK;
}

/* Grows c's buffer to `want` if the budget allows; 0, or -ENOBUFS (wait) / -ENOMEM. */
static int
grow(struct conn *c, size_t want)
{
    struct tcp_receiver *tt = c->tt;
    size_t extra = over_free(want) - over_free(c->cap);
    uint8_t *nb;

    if (want <= c->cap)
        return 0;
    if (extra > 0 && tt->budget_used + extra > RECEIVE_BUDGET)
        return -ENOBUFS;
    if ((nb = realloc(c->buf, want)) == NULL)
        return -ENOMEM;
    set_buf(c, nb, want);
    return 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

void
pk_tcp_raw_read_start(struct conn *c)
{
    if (!c->closing && !c->starved && c->tt->receiving)
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* Budget came free (or intake resumed): waiters get it in the order they asked. */
void
pk_tcp_raw_wake_waiters(struct tcp_receiver *tt)
{
    struct conn *c;

    while (tt->receiving && (c = tt->wait_head) != NULL) {
        if (grow(c, wanted_cap(c)) != 0)
            return; /* the first in line still does not fit: nobody may pass it */
        tt->wait_head = c->wait_next;
        if (tt->wait_head == NULL)
            tt->wait_tail = NULL;
        c->wait_next = NULL;
        c->starved = 0;
        tt->nstarved--;
        pk_tcp_raw_read_start(c);
    }
}

static void
enqueue_waiter(struct conn *c)
{
    struct tcp_receiver *tt = c->tt;

    uv_read_stop((uv_stream_t *)&c->tcp); /* TCP pushes back on this peer alone */
    if (c->starved)
        return;
    c->starved = 1;
    tt->nstarved++;
    tt->buffer_waits++;
    if (tt->wait_tail)
        tt->wait_tail->wait_next = c;
    else
        tt->wait_head = c;
    tt->wait_tail = c;
}

void
pk_tcp_raw_unqueue(struct conn *c)
{
    struct tcp_receiver *tt = c->tt;
    struct conn **pp = &tt->wait_head, *prev = NULL;

    if (!c->starved)
        return;
    while (*pp != NULL && *pp != c) {
        prev = *pp;
        pp = &(*pp)->wait_next;
    }
    if (*pp == c)
        *pp = c->wait_next;
    if (tt->wait_tail == c)
        tt->wait_tail = prev;
    c->wait_next = NULL;
    c->starved = 0;
    tt->nstarved--;
}

void
pk_tcp_raw_release(struct conn *c)
{
    free(c->buf);
    set_buf(c, NULL, 0);
    if (c->capstream != NULL) {
        c->tt->ncapstreams--;
        c->tt->capture_streams->free(c->capstream);
    }
    c->capstream = NULL;
    pk_tcp_raw_wake_waiters(c->tt);
}

/* Framing errors reach the owner as a message of length 0, so it counts them with the rest. */
static void
report_bad_framing(struct conn *c)
{
    c->tt->raw.base.on_message(&c->tt->raw.base, c->buf, 0, &c->who);
}

/*
 * Why a capture stream was given up (the decoder's sentence): the owner only hears of broken
 * framing. Rate-limited by its event (log.c), as a flood of bad streams must not flood the log.
 */
static void
log_capstream_error(struct conn *c, const char *err)
{
    pk_warn_with(&(struct pk_log_fields){.event = "capture_stream_invalid", .peer = c->peer},
                 "capture stream from %s: %s; the connection is closed", c->peer, err);
}

static void
deliver(struct conn *c, const uint8_t *msg, size_t len)
{
    struct tcp_receiver *tt = c->tt;

    tt->raw.base.counters.messages_received++;
    tt->raw.base.counters.bytes_received += len;
    /* An invalid message is the owner's to count; only a valid one proves the peer. */
    if (tt->raw.base.on_message(&tt->raw.base, msg, len, &c->who) == 0)
        c->valid = 1;
}

static void
on_capstream_message(void *data, const uint8_t *msg, size_t len)
{
    deliver(data, msg, len);
}

/*
 * A ZeroMQ peer (an agent left at RELAY_TRANSPORT=zmq) opens with the ZMTP signature, 0xFF, 8
 * bytes, 0x7F, and then waits for ours: as a length prefix it would stall until the peer gives
 * up. Our own messages start (after their length) where the signature has padding: the owner's
 * is_message tells them apart.
 */
static int
is_zmtp_greeting(const struct tcp_receiver *tt, const uint8_t *buf, size_t len)
{
    return len >= 10 && buf[0] == 0xff && buf[9] == 0x7f &&
           (tt->is_message == NULL || !tt->is_message(buf + LEN_PREFIX, len - LEN_PREFIX));
}

/* Decides from the first bytes what the connection carries; 0 when it cannot tell yet. */
static int
classify(struct conn *c)
{
    const struct pk_stream_decoder *dec = c->tt->capture_streams;
    char err[PK_ERRBUF_SIZE];
    int is_capture = dec != NULL ? dec->detect(c->buf, c->len) : 0;

    if (is_capture < 0)
        return 0;
    if (!is_capture && c->len >= 1 && c->buf[0] == 0xff && c->len < 10)
        return 0; /* perhaps a ZMTP signature: wait for its tenth byte */
    if (is_zmtp_greeting(c->tt, c->buf, c->len)) {
        struct tcp_receiver *tt = c->tt;
        if (tt->raw.base.on_peer)
            tt->raw.base.on_peer(&tt->raw.base, PK_PEER_WRONG_PROTOCOL, c->peer, "speaks ZeroMQ");
        report_bad_framing(c);
        pk_tcp_raw_close_conn(c, CLOSE_BAD_FRAMING);
        return 0;
    }
    c->kind = is_capture ? CONN_CAPTURE_STREAM : CONN_MESSAGES;
    if (is_capture && c->tt->ncapstreams >= MAX_CAPTURE_STREAMS) {
        c->tt->refused_limit++;
        pk_tcp_raw_close_conn(c, CLOSE_CLEAN);
        return 0;
    }
    if (is_capture && dec->open(&c->capstream, c->peer, on_capstream_message, c, err) != 0) {
        log_capstream_error(c, err);
        c->kind = CONN_MESSAGES; /* out of memory: it will fail as messages and be dropped */
    }
    c->tt->ncapstreams += c->capstream != NULL;
    return 1;
}

static void
consume(struct conn *c, size_t n)
{
    if (n == 0)
        return; /* buf may be NULL (an idle connection gave its buffer back) */
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

/* Remembers where the next resume starts: right after the connection that filled the output. */
static void
note_paused_at(struct conn *c)
{
    if (!c->tt->receiving)
        c->tt->resume_at = c->next;
}

static void
parse_capture(struct conn *c)
{
    char err[PK_ERRBUF_SIZE];
    long n;

    if (c->len == 0)
        return; /* nothing to parse, and buf may be NULL */
    if ((n = c->tt->capture_streams->parse(c->capstream, c->buf, c->len, err)) < 0) {
        log_capstream_error(c, err);
        report_bad_framing(c);
        pk_tcp_raw_close_conn(c, CLOSE_BAD_FRAMING);
        return;
    }
    if (n > 0)
        c->valid = 1; /* a header and records that parse: a capture stream, idle or not */
    consume(c, (size_t)n);
    note_paused_at(c);
}

/* Delivers every complete message (or capture record) buffered on c while intake is on. */
void
pk_tcp_raw_parse(struct conn *c)
{
    struct tcp_receiver *tt = c->tt;
    size_t off = 0;

    if (c->closing || !tt->receiving || (c->kind == CONN_UNKNOWN && !classify(c)))
        return;
    if (c->kind == CONN_CAPTURE_STREAM) {
        parse_capture(c);
        return;
    }
    while (!c->closing && tt->receiving && c->len - off >= LEN_PREFIX) {
        uint32_t len = pk_get_le32(c->buf + off);
        if (len < tt->min_message || len > tt->max_message) {
            report_bad_framing(c);
            pk_tcp_raw_close_conn(c, CLOSE_BAD_FRAMING);
            return;
        }
        if (c->len - off - LEN_PREFIX < len)
            break;
        deliver(c, c->buf + off + LEN_PREFIX, len);
        off += LEN_PREFIX + len;
    }
    consume(c, off);
    note_paused_at(c);
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = container_of(h, struct conn, tcp);
    size_t want = wanted_cap(c);

    (void)suggested;
    /* Budget goes in order: a connection asking for it queues behind those already waiting. */
    if (want > c->cap && (over_free(want) == 0 || c->tt->wait_head == NULL) && grow(c, want) == 0)
        want = c->cap;
    if (want > c->cap) { /* on_read sees UV_ENOBUFS and waits for budget (or memory) */
        *buf = uv_buf_init(NULL, 0);
        return;
    }
    *buf = uv_buf_init((char *)c->buf + c->len, (unsigned)(c->cap - c->len));
}

/* Gives back what a burst grew, so that an idle connection holds little memory. */
static void
shrink(struct conn *c)
{
    uint8_t *nb;

    if (c->cap <= CONN_FREE_BUFFER)
        return;
    if (c->len == 0) {
        free(c->buf);
        set_buf(c, NULL, 0);
    } else if (c->len <= READ_CHUNK && (nb = realloc(c->buf, CONN_FREE_BUFFER)) != NULL) {
        set_buf(c, nb, CONN_FREE_BUFFER);
    } else {
        return;
    }
    pk_tcp_raw_wake_waiters(c->tt);
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = container_of(s, struct conn, tcp);

    (void)buf;
    if (nread == UV_ENOBUFS) {
        enqueue_waiter(c); /* not this peer's fault: it waits for budget, counted */
        return;
    }
    if (nread < 0) {
        char err[PK_ERRBUF_SIZE];
        int broken = c->len > 0;
        if (c->kind == CONN_CAPTURE_STREAM && !c->closing &&
            (broken = c->tt->capture_streams->end(c->capstream, c->len, err) != 0))
            log_capstream_error(c, err);
        if (broken && !c->closing)
            report_bad_framing(c); /* the stream ended inside a message or record */
        pk_tcp_raw_close_conn(c, broken ? CLOSE_BAD_FRAMING : CLOSE_CLEAN);
        return;
    }
    if (nread > 0)
        c->progressed = 1;
    c->len += (size_t)nread;
    pk_tcp_raw_parse(c);
    if (!c->closing)
        shrink(c);
}

/*
 * One read now, in the caller's order, instead of the loop's: the kernel reports readable
 * sockets in a stable order, so after each pause the same few connections would be read first
 * and fill the output again (the others never got a turn). libuv does not touch the socket of
 * a stream that is not reading, and the bytes go through on_read like any others.
 */
void
pk_tcp_raw_read_now(struct conn *c)
{
    uv_stream_t *s = (uv_stream_t *)&c->tcp;
    uv_os_fd_t fd;
    uv_buf_t b;
    ssize_t n;

    if (c->closing || c->starved || uv_fileno((uv_handle_t *)s, &fd) != 0)
        return;
    on_alloc((uv_handle_t *)s, READ_CHUNK, &b);
    if (b.base == NULL) {
        on_read(s, UV_ENOBUFS, &b);
        return;
    }
    n = recv(fd, b.base, b.len, MSG_DONTWAIT);
    if (n > 0)
        on_read(s, n, &b);
    else if (n == 0)
        on_read(s, UV_EOF, &b);
    else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        on_read(s, -errno, &b); /* libuv's error codes are negated errnos on Unix */
}

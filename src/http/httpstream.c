/*
 * GET /stream (httpstream.h). A response is a generator in its request's pool; its sink is in
 * the output stage's set from admission until h2o disposes of the request (the client left,
 * or the stream ended), when the sink is removed and the gate told. Bytes handed to h2o stay
 * in the sink's queue, unmoved, until h2o says they were written (proceed): then they are
 * consumed and the next ones peeked. Loop thread only.
 */
#define PK_LOG_MODULE "http"
#include "httpstream.h"
#include "endpoint.h"
#include "gate.h"
#include "httpsend.h"
#include "log.h"
#include "pcktr.h"
#include "sink.h"
#include "sinkset.h"
#include "text.h"

#include <errno.h>
#include <h2o.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_PIECES 16          /* queue pieces handed to h2o at a time */
#define MAX_VALUE 4096         /* longest query value (a filter) */
#define VIA "GET /stream"
#define WATCH_MS 1000  /* how often idle streams are checked for a client that left */

struct stream {
    h2o_generator_t super; /* first: h2o hands us this pointer */
    struct pk_http_streams *owner;
    h2o_req_t *req;
    struct pk_sink *sink; /* in the set; NULL until admitted */
    size_t inflight;      /* bytes handed to h2o and not yet written */
    int busy;             /* h2o has bytes of ours and owes a proceed */
    int admitted, stopped, finished;
    char peer[64];
    struct stream *prev, *next; /* in owner->list */
};

/* Hands h2o the next queued bytes, or ends the body once the server stops and all is sent. */
static void
pump(struct stream *r)
{
    struct iovec iov[MAX_PIECES];
    h2o_iovec_t bufs[MAX_PIECES];
    int n;

    if (r->sink == NULL || r->busy || r->stopped || r->finished)
        return;
    if ((n = pk_sink_peek(r->sink, iov, MAX_PIECES)) == 0) {
        if (r->owner->ending) {
            r->finished = 1;
            h2o_send(r->req, NULL, 0, H2O_SEND_STATE_FINAL);
        }
        return;
    }
    for (int i = 0; i < n; i++) {
        bufs[i] = h2o_iovec_init(iov[i].iov_base, iov[i].iov_len);
        r->inflight += iov[i].iov_len;
    }
    r->busy = 1;
    h2o_send(r->req, bufs, (size_t)n, H2O_SEND_STATE_IN_PROGRESS);
}

/* h2o wrote what it was handed: the client took it. */
static void
on_proceed(h2o_generator_t *self, h2o_req_t *req)
{
    struct stream *r = (struct stream *)self;

    (void)req;
    pk_sink_consume(r->sink, r->inflight);
    r->inflight = 0;
    r->busy = 0;
    pump(r);
}

static void
on_stop(h2o_generator_t *self, h2o_req_t *req)
{
    (void)req;
    ((struct stream *)self)->stopped = 1;
}

/* The output stage queued bytes for this reader (once per loop turn while there are some). */
static void
on_data(struct pk_sink *sink, void *data)
{
    (void)sink;
    pump(data);
}

static void
log_left(const struct stream *r)
{
    struct pk_sink_stats st;

    pk_sink_stats(r->sink, &st);
    pk_info_with(&(struct pk_log_fields){.event = "reader_left", .peer = r->peer},
                 "reader %s of %s left: %" PRIu64 " packets, %" PRIu64 " bytes sent, dropped %" PRIu64
                 " (queue full) and %" PRIu64 " (link type), %" PRIu64 " not matching its filter",
                 r->peer, VIA, st.packets, st.sent_bytes, st.dropped[PK_SINK_DROP_QUEUE_FULL],
                 st.dropped[PK_SINK_DROP_LINKTYPE], st.filtered);
}

/* The request's pool goes: the response is over; the reader leaves the set and the gate. */
static void
on_dispose(void *p)
{
    struct stream *r = p;
    struct pk_http_streams *s = r->owner;

    if (r->sink != NULL) {
        log_left(r);
        pk_sinkset_remove(s->src.sinks, r->sink);
    }
    if (r->admitted)
        pk_gate_leave(s->src.gate);
    if (r->prev != NULL)
        r->prev->next = r->next;
    else if (s->list == r)
        s->list = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
}

struct query {
    enum pk_output_format format;
    char filter[MAX_VALUE];
};

/* format= and filter= of the query; 0, or -EINVAL with the reason in why (for a 400). */
static int
parse_query(const h2o_req_t *req, struct query *q, char *why, size_t whylen)
{
    const char *p, *end;
    char value[MAX_VALUE];

    memset(q, 0, sizeof(*q));
    (void)pk_format_reader_parse("pcap", &q->format);
    if (req->query_at == SIZE_MAX)
        return 0;
    p = req->path.base + req->query_at + 1;
    end = req->path.base + req->path.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p)), *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        size_t nlen = (size_t)((eq ? eq : stop) - p);
        if (eq == NULL || pk_url_decode(eq + 1, (size_t)(stop - eq - 1), value, sizeof(value), 1) < 0)
            return snprintf(why, whylen, "bad query parameter \"%.*s\"", (int)(stop - p), p), -EINVAL;
        if (nlen == 6 && memcmp(p, "format", 6) == 0) {
            if (pk_format_reader_parse(value, &q->format) != 0)
                return snprintf(why, whylen, "format=\"%s\" is invalid; accepted: pcap, pcap-ns, "
                                "pcapng", value), -EINVAL;
        } else if (nlen == 6 && memcmp(p, "filter", 6) == 0) {
            strcpy(q->filter, value);
        } else {
            return snprintf(why, whylen, "unknown query parameter \"%.*s\"; accepted: format, "
                            "filter", (int)nlen, p), -EINVAL;
        }
        p = stop + (amp != NULL);
    }
    return 0;
}

static void
send_text(h2o_req_t *req, int status, const char *reason, const char *body)
{
    h2o_send_error_generic(req, status, reason, body, 0);
}

/* Past the gate: a stream in the request's pool with its sink in the set; 0 or an HTTP status. */
static int
admit(struct pk_http_streams *s, h2o_req_t *req, const struct query *q, const char *peer,
      struct stream **out, char *why, size_t whylen)
{
    struct pk_sink_opts opts = {.format = q->format, .filter = q->filter, .limit = s->src.buffer,
                                .kind = "stream", .peer = peer, .endpoint = VIA};
    struct stream *r = h2o_mem_alloc_shared(&req->pool, sizeof(*r), on_dispose);
    char errbuf[PK_ERRBUF_SIZE];
    int rc;

    *r = (struct stream){.super = {.proceed = on_proceed, .stop = on_stop}, .owner = s,
                         .req = req, .admitted = 1};
    snprintf(r->peer, sizeof(r->peer), "%s", peer);
    r->next = s->list;
    if (s->list != NULL)
        s->list->prev = r;
    s->list = r;
    if ((rc = pk_sink_new_pull(&r->sink, &opts, &(struct pk_sink_consumer){on_data, r},
                               errbuf)) != 0) {
        r->sink = NULL;
        snprintf(why, whylen, "filter \"%s\": %s", q->filter, errbuf);
        return rc == -EINVAL ? 400 : 500;
    }
    if (pk_sinkset_add(s->src.sinks, r->sink) != 0) {
        pk_sink_free(r->sink);
        r->sink = NULL;
        snprintf(why, whylen, "busy: %d readers are connected", PK_SINKSET_MAX);
        return 503;
    }
    *out = r;
    return 0;
}

static const char *
content_type(enum pk_output_format f)
{
    return f == PK_FORMAT_PCAPNG ? "application/x-pcapng" : "application/vnd.tcpdump.pcap";
}

void
pk_httpstream_respond(struct pk_http_streams *s, h2o_req_t *req)
{
    struct sockaddr_storage sa = {0};
    struct stream *r = NULL;
    struct query q;
    char why[PK_ERRBUF_SIZE + MAX_VALUE + 64], peer[64], body[sizeof(why) + 2];
    int head = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")), status, rc;

    if (parse_query(req, &q, why, sizeof(why)) != 0)
        goto refuse_400;
    (void)req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&sa);
    pk_sockaddr_str((struct sockaddr *)&sa, peer, sizeof(peer));
    if (s->ending) {
        snprintf(why, sizeof(why), "the collector is stopping");
        status = 503;
        goto refuse;
    }
    if ((rc = pk_gate_admit(s->src.gate, (struct sockaddr *)&sa, peer, VIA)) != 0) {
        snprintf(why, sizeof(why), rc == -EACCES ? "%s may not read the stream (SERVE_ALLOW)"
                                                 : "busy: readers at their limit (%s refused)",
                 peer);
        status = rc == -EACCES ? 403 : 503;
        goto refuse;
    }
    if (head) { /* the headers a GET would get, no reader */
        pk_gate_leave(s->src.gate);
        req->res.status = 200;
        req->res.reason = "OK";
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                       content_type(q.format), strlen(content_type(q.format)));
        h2o_send_inline(req, NULL, 0);
        return;
    }
    if ((status = admit(s, req, &q, peer, &r, why, sizeof(why))) != 0)
        goto refuse;
    pk_info_with(&(struct pk_log_fields){.event = "reader_joined", .peer = peer},
                 "reader %s of %s joined (format %s, filter \"%s\")", peer, VIA, pk_format_reader_names[q.format],
                 q.filter);
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   content_type(q.format), strlen(content_type(q.format)));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("no-store"));
    h2o_start_response(req, &r->super);
    pump(r); /* h2o sends the headers with the first bytes: the stream's header, at its start */
    return;
refuse_400:
    status = 400;
refuse:
    snprintf(body, sizeof(body), "%s\n", why);
    send_text(req, status,
              status == 400   ? "Bad Request"
              : status == 403 ? "Forbidden"
              : status == 500 ? "Internal Server Error"
                              : "Service Unavailable",
              body);
}

void
pk_httpstream_end_all(struct pk_http_streams *s)
{
    s->ending = 1;
    for (struct stream *r = s->list; r != NULL; r = r->next)
        pump(r);
}

void
pk_httpstream_reset_all(struct pk_http_streams *s)
{
    for (struct stream *r = s->list; r != NULL; r = r->next)
        if (!r->stopped)
            pk_httpsend_reset_request(r->req);
}

/*
 * h2o reads nothing from a connection while its response is being sent, and learns that the
 * client left only when a write fails: a reader that leaves a stream with no traffic would keep
 * its place (and its SERVE_MAX_READERS slot) until the next packet. So an idle stream's socket
 * is peeked now and then; at its end of file the response ends, and h2o disposes of it.
 */
static void
on_watch_timer(uv_timer_t *t)
{
    struct pk_http_streams *s = container_of(t, struct pk_http_streams, watch_timer);

    for (struct stream *r = s->list; r != NULL; r = r->next) {
        h2o_socket_t *sock;
        char byte;
        int fd;
        if (r->sink == NULL || r->busy || r->stopped || r->finished)
            continue;
        sock = r->req->conn->callbacks->get_socket(r->req->conn);
        ssize_t n;
        if (sock == NULL || (fd = h2o_socket_get_fd(sock)) < 0)
            continue;
        n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            r->finished = 1;
            h2o_send(r->req, NULL, 0, H2O_SEND_STATE_FINAL);
        }
    }
}

int
pk_httpstream_init(struct pk_http_streams *s, uv_loop_t *loop)
{
    int rc;

    memset(s, 0, sizeof(*s));
    if ((rc = uv_timer_init(loop, &s->watch_timer)) != 0)
        return rc;
    uv_unref((uv_handle_t *)&s->watch_timer);
    return uv_timer_start(&s->watch_timer, on_watch_timer, WATCH_MS, WATCH_MS);
}

void
pk_httpstream_close(struct pk_http_streams *s)
{
    uv_close((uv_handle_t *)&s->watch_timer, NULL);
}

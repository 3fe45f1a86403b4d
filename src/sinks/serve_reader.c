/*
 * One PCAP-over-IP reader's connection (serve_int.h): its sink is drained by one uv_write at a
 * time that points into the sink's queue (the bytes stay in place until consumed), the next
 * write starts from the completion of the last. Anything the reader sends is read and
 * discarded, only to see it close.
 */
#define PK_LOG_MODULE "serve"
#include "log.h"
#include "pcktr.h"
#include "serve_int.h"

#include <stdlib.h>
#include <string.h>

static void write_more(struct reader *r);

struct reader *
pk_reader_new(struct pk_serve *sv)
{
    struct reader *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    if (uv_tcp_init(sv->loop, &r->tcp) != 0) {
        free(r);
        return NULL;
    }
    r->sv = sv;
    r->tcp.data = r;
    r->next = sv->readers;
    if (sv->readers != NULL)
        sv->readers->prev = r;
    sv->readers = r;
    return r;
}

static void
on_reader_closed(uv_handle_t *h)
{
    struct reader *r = h->data;
    struct pk_serve *sv = r->sv;

    if (r->sink != NULL) {
        struct pk_sink_stats st;
        pk_sink_stats(r->sink, &st);
        pk_info_with(&(struct pk_log_fields){.event = "reader_left", .peer = r->peer},
                     "reader %s (%s) left: %s; it got %llu packets, %llu were dropped for it "
                     "(queue_full %llu, linktype %llu), %llu filtered out", r->peer, st.endpoint,
                     r->why, (unsigned long long)st.packets,
                     (unsigned long long)(st.dropped[PK_SINK_DROP_QUEUE_FULL] +
                                          st.dropped[PK_SINK_DROP_LINKTYPE]),
                     (unsigned long long)st.dropped[PK_SINK_DROP_QUEUE_FULL],
                     (unsigned long long)st.dropped[PK_SINK_DROP_LINKTYPE],
                     (unsigned long long)st.filtered);
        pk_sinkset_remove(sv->sinks, r->sink);
        sv->counters.left++;
    }
    if (r->gated)
        pk_gate_leave(sv->opts.gate);
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        sv->readers = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    if (r->dialer != NULL)
        pk_dialer_closed(r->dialer, r->sink != NULL);
    free(r);
}

void
pk_reader_close(struct reader *r, const char *why)
{
    if (r->closing)
        return;
    r->closing = 1;
    r->why = why;
    uv_close((uv_handle_t *)&r->tcp, on_reader_closed);
}

static void
on_written(uv_write_t *req, int status)
{
    struct reader *r = container_of(req, struct reader, wreq);

    r->writing = 0;
    if (r->closing)
        return;
    if (status < 0) {
        pk_reader_close(r, uv_strerror(status));
        return;
    }
    pk_sink_consume(r->sink, r->inflight);
    write_more(r);
}

static void
write_more(struct reader *r)
{
    struct iovec iov[READER_IOV];
    uv_buf_t bufs[READER_IOV];
    int n, rc;

    if (r->writing || r->closing || (n = pk_sink_peek(r->sink, iov, READER_IOV)) == 0)
        return;
    r->inflight = 0;
    for (int i = 0; i < n; i++) {
        bufs[i] = uv_buf_init(iov[i].iov_base, (unsigned)iov[i].iov_len);
        r->inflight += iov[i].iov_len;
    }
    if ((rc = uv_write(&r->wreq, (uv_stream_t *)&r->tcp, bufs, (unsigned)n, on_written)) != 0) {
        pk_reader_close(r, uv_strerror(rc));
        return;
    }
    r->writing = 1;
}

static void
on_sink_data(struct pk_sink *sink, void *data)
{
    (void)sink;
    write_more(data);
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char discard[4096]; /* readers send nothing worth keeping */

    (void)h, (void)suggested;
    *buf = uv_buf_init(discard, sizeof(discard));
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    if (nread < 0)
        pk_reader_close(s->data, nread == UV_EOF ? "it closed the connection" : uv_strerror((int)nread));
}

void
pk_reader_start(struct reader *r, const struct pk_serve_endpoint *from)
{
    struct pk_sink_opts opts = {.format = from->format, .filter = from->filter,
        .limit = r->sv->opts.buffer, .kind = r->dialer ? "connect" : "serve", .peer = r->peer,
        .endpoint = from->text};
    struct pk_sink_consumer consumer = {on_sink_data, r};
    char errbuf[PK_ERRBUF_SIZE];
    struct pk_sink *sink;

    if (pk_sink_new_pull(&sink, &opts, &consumer, errbuf) != 0) {
        pk_warn("reader %s on %s: %s; closing it", r->peer, from->text, errbuf);
        pk_reader_close(r, "no memory");
        return;
    }
    if (pk_sinkset_add(r->sv->sinks, sink) != 0) {
        r->sv->counters.full++;
        pk_sink_free(sink);
        pk_reader_close(r, "the collector has its most readers");
        return;
    }
    r->sink = sink;
    uv_tcp_nodelay(&r->tcp, 1);
    if (uv_read_start((uv_stream_t *)&r->tcp, on_alloc, on_read) != 0) {
        pk_reader_close(r, "cannot read its connection");
        return;
    }
    pk_info_with(&(struct pk_log_fields){.event = "reader_joined", .peer = r->peer},
                 "reader %s joined on %s (%s%s%s)", r->peer, from->text,
                 pk_format_reader_names[from->format], from->filter[0] ? ", filter " : "",
                 from->filter);
    write_more(r); /* the header, if the stream has started */
}

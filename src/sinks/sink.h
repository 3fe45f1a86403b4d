/*
 * A sink: one destination of the merged stream, with a format (pcap in micro- or nanoseconds,
 * pcapng), an optional BPF filter, a bounded queue and counters. Sinks are fed by a sink set
 * (sinkset.h), which the collector's output stage owns.
 *
 * Two kinds:
 * - the primary (OUTPUT or stdout): a queue in front of an fd, lossless; its owner stops
 *   taking input while pk_sink_full() says so (back-pressure up to the agents);
 * - a reader (a PCAP-over-IP connection, an HTTP /stream response): a queue drained by a
 *   pull-style consumer, lossy. Readers of one format and filter share one encoding (group.h):
 *   their queues hold references to the group's chunks of records (chunk.h), not copies. A
 *   chunk that does not fit whole in a reader's queue is dropped for it and each of its packets
 *   counted (queue_full), so that a slow or frozen reader costs its queue limit (the bytes it
 *   refers to, plus a small charge per chunk) and at most one chunk more (the head one, partly
 *   taken), and never slows the primary or any other reader.
 *
 * The pull contract: the set calls consumer->on_data(sink) once per loop turn while bytes are
 * queued (so on the turn after the sink is added too, when the stream has started: its
 * header). A reader's records of a turn become its own at that pass (pk_sinkset_flush), the
 * stream's header and interface blocks at once. The consumer takes bytes when it can, now or
 * later: pk_sink_peek gives the oldest queued bytes in place (they stay valid, unmoved, until
 * consumed: an in-flight write or an h2o_send may point into them; the queue's reference keeps
 * a shared chunk alive meanwhile), and pk_sink_consume releases what was sent. Never more than
 * what was peeked.
 *
 * Per packet a reader counts: written (packets, bytes), filtered (not matching its filter: not
 * a drop), dropped by cause: queue_full, linktype (a classic pcap reader takes the stream's
 * link type only; a pcapng reader drops packets of a source that has no interface). The
 * counts are a reader's own (from its join), updated at each pass. A slow episode (from the
 * first queue_full drop to the queue draining to half its limit) is logged once at its start
 * and once at its end, with its count.
 *
 * Lifetime: created by pk_sink_new_*; once added to a set, the set owns it and frees it in
 * pk_sinkset_remove (never call pk_sink_free then), dropping its references: the consumer
 * removes it only once no write of its own points into its queue (serve_reader.c: in the
 * handle's close callback, after libuv has called back every write). Loop thread only.
 */
#ifndef PK_SINK_H
#define PK_SINK_H

#include "output.h"
#include "writer.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <uv.h>

struct pk_sink;

enum pk_sink_drop { PK_SINK_DROP_QUEUE_FULL, PK_SINK_DROP_LINKTYPE, PK_SINK_DROPS };

extern const char *const pk_sink_drop_names[PK_SINK_DROPS]; /* "queue_full", "linktype" */

struct pk_sink_opts {
    enum pk_output_format format; /* readers: pk_format_reader_parse ("pcap" is microseconds) */
    const char *filter;           /* BPF (tcpdump syntax); NULL or "": every packet */
    size_t limit;                 /* queue bytes: SERVE_BUFFER, OUTPUT_BUFFER */
    const char *kind;     /* what reads, for /status and /metrics: "serve", "connect", "stream" */
    const char *peer;     /* who reads: "192.0.2.7:51234" */
    const char *endpoint; /* through what: "tcp://[::]:57012", "GET /stream" */
};

struct pk_sink_consumer {
    /** Bytes are queued: take them (pk_sink_peek, pk_sink_consume) now or when you can. */
    void (*on_data)(struct pk_sink *sink, void *data);
    void *data;
};

/* A snapshot of a sink for /status and /metrics; strings borrowed from the sink. */
struct pk_sink_stats {
    const char *kind, *peer, *endpoint, *format, *filter;
    uint64_t connected_since_ns; /* pk_now_ns() at creation */
    uint64_t packets, bytes;     /* packets queued for the reader and their captured bytes */
    uint64_t filtered;           /* packets its filter did not match (not drops) */
    uint64_t dropped[PK_SINK_DROPS];
    uint64_t queue_bytes, queue_limit;
    uint64_t sent_bytes;    /* stream bytes the reader took (headers included) */
    int slow;               /* in a slow episode now */
    uint64_t slow_episodes; /* episodes begun */
};

/**
 * A reader's sink, drained by consumer (copied). Strings of opts are copied. 0, or -EINVAL
 * with libpcap's message in errbuf for a filter that does not compile (the caller says whose:
 * "SERVE_ENDPOINT=...: ", an HTTP 400), or -ENOMEM.
 */
int pk_sink_new_pull(struct pk_sink **out, const struct pk_sink_opts *opts,
                     const struct pk_sink_consumer *consumer, char *errbuf);

/**
 * The primary: a lossless sink over fd (taken over; see pk_output_new), no filter; cbs are the
 * owner's (on_drained: resume input; on_error: the fd failed). opts->filter must be NULL.
 * 0, or -ENOMEM with errbuf set.
 */
int pk_sink_new_primary(struct pk_sink **out, uv_loop_t *loop, int fd,
                        const struct pk_sink_opts *opts, const struct pk_output_callbacks *cbs,
                        char *errbuf);

/** Frees a sink that was never added to a set (its queue: pk_output_close). */
void pk_sink_free(struct pk_sink *s);

/** The oldest queued bytes, in place, in up to max pieces; returns how many (0: none). */
int pk_sink_peek(const struct pk_sink *s, struct iovec *iov, int max);

/** The consumer sent the first n queued bytes (at most what it peeked). */
void pk_sink_consume(struct pk_sink *s, size_t n);

/** Bytes queued; whether the queue is at its limit (the primary's owner pauses input then). */
size_t pk_sink_queued(const struct pk_sink *s);
int pk_sink_full(const struct pk_sink *s);

/** The queue (the primary's, for its owner: flush, kept bytes after a failed write). */
struct pk_output *pk_sink_output(struct pk_sink *s);

/**
 * The primary's next file (rotation): points the writer at out and, when the stream has
 * started, writes the header there (pcapng: a section and every interface so far, see
 * pk_writer_start_section). Returns the previous queue, which the caller flushes and closes.
 */
struct pk_output *pk_sink_swap_output(struct pk_sink *s, struct pk_output *out);

/** The sink's format ("pcap-ns" for OUTPUT_FORMAT=pcap), its writer's. */
enum pk_output_format pk_sink_format(const struct pk_sink *s);

/** Fills st (strings borrowed until the sink is removed). */
void pk_sink_stats(const struct pk_sink *s, struct pk_sink_stats *st);

#endif

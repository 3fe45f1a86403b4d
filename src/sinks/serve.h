/*
 * PCAP-over-IP: the merged stream to readers over plain TCP, as tshark -i TCP@host:port,
 * Wireshark, Arkime's pcap-over-ip reader or Zeek expect it: a file header (pcapng: a section
 * and every interface so far), then every packet from then on, nothing ever read back.
 * - SERVE_ENDPOINT: listeners; each connection admitted by the gate (gate.h: SERVE_ALLOW,
 *   SERVE_MAX_READERS) becomes a reader sink (sink.h) of its endpoint's format and filter;
 * - SERVE_CONNECT: connections out to a PCAP-over-IP listener (Arkime's server mode,
 *   NetworkMiner), each a reader sink while connected, redialled with backoff when it fails
 *   or closes.
 * A reader's sink is drained by its own writes (one uv_write at a time, pointing into the
 * sink's queue); a reader that closes its end (or whose write fails) is removed and logged
 * once. Memory: at most SERVE_BUFFER per reader, readers x SERVE_BUFFER in all.
 * Loop thread only.
 */
#ifndef PK_SERVE_H
#define PK_SERVE_H

#include "endpoint.h"
#include "gate.h"
#include "sinkset.h"
#include "writer.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define PK_SERVE_MAX_ENDPOINTS 8 /* in SERVE_ENDPOINT, and in SERVE_CONNECT */
#define PK_SERVE_FILTER_MAX 1024 /* bytes of a decoded filter= query */

/* One SERVE_ENDPOINT or SERVE_CONNECT entry, parsed. */
struct pk_serve_endpoint {
    char text[512];      /* as written, without its query: "tcp://0.0.0.0:57012", "host:57012" */
    struct pk_endpoint ep; /* parsed; resolved by pk_serve_open (SERVE_CONNECT) */
    enum pk_output_format format;
    char filter[PK_SERVE_FILTER_MAX]; /* decoded; "" for none */
};

/**
 * Parses one entry: "tcp://ADDR:PORT" (listen: 1) or "HOST:PORT" / "tcp://HOST:PORT"
 * (listen: 0), optionally followed by "?filter=BPF&format=pcap|pcap-ns|pcapng" (URL-encoded:
 * %XX and +). def_format is used without format=. The filter is compiled to check it. 0, or
 * -EINVAL with a sentence in errbuf (libpcap's message for a filter), without the variable.
 */
int pk_serve_endpoint_parse(const char *s, int listen, enum pk_output_format def_format,
                            struct pk_serve_endpoint *out, char *errbuf);

/**
 * Parses a comma-separated list of entries into v (at most PK_SERVE_MAX_ENDPOINTS); n gets
 * how many. 0, or -EINVAL with errbuf naming the entry.
 */
int pk_serve_endpoint_list(const char *list, int listen, enum pk_output_format def_format,
                           struct pk_serve_endpoint *v, int *n, char *errbuf);

struct pk_serve_opts {
    const struct pk_serve_endpoint *listen, *connect; /* borrowed for the serve's life */
    int nlisten, nconnect;
    size_t buffer;        /* SERVE_BUFFER: each reader's queue */
    struct pk_gate *gate; /* borrowed: who may read, how many */
};

/* Counters of the serve, over its life (per reader: the sinks' own). */
struct pk_serve_counters {
    uint64_t accepted;         /* connections admitted on the listeners */
    uint64_t left;             /* readers that left (closed, or a write failed) */
    uint64_t connects;         /* SERVE_CONNECT connections made */
    uint64_t connect_failures; /* attempts that failed */
    uint64_t full;             /* admitted but refused: the sink set was full */
};

struct pk_serve;

/**
 * Listens on every SERVE_ENDPOINT (resolving and binding now) and starts dialling every
 * SERVE_CONNECT (resolved now: getaddrinfo blocks, so before the loop runs). 0, or a negative
 * errno with errbuf naming the endpoint; on failure nothing is left open (pk_serve_free).
 */
int pk_serve_open(struct pk_serve **out, uv_loop_t *loop, struct pk_sinkset *set,
                  const struct pk_serve_opts *opts, char *errbuf);

/** Stops taking and making connections; readers connected go on. */
void pk_serve_stop(struct pk_serve *sv);

/** Closes every reader too (their sinks are removed); handles free themselves on the loop. */
void pk_serve_close(struct pk_serve *sv);

/** Frees the serve once the loop has ended (after pk_serve_close). NULL is fine. */
void pk_serve_free(struct pk_serve *sv);

/** The counters (NULL for a NULL serve). */
const struct pk_serve_counters *pk_serve_counters(const struct pk_serve *sv);

#endif

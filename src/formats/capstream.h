/*
 * Plain capture streams as sources: an incremental parser for classic pcap (microsecond and
 * nanosecond magic, either byte order) and pcapng (section headers, interface descriptions,
 * enhanced and simple packet blocks, either byte order) arriving on a byte stream, e.g.
 * `tcpdump -U -w - | nc collector 7386`. It turns what it reads into ordinary protocol messages
 * (hello, packets, goodbye; see frame.h), one source per interface, so the collector treats such
 * a stream like an agent. Pure: no I/O; never trusts a length.
 */
#ifndef PK_CAPSTREAM_H
#define PK_CAPSTREAM_H

#include <stddef.h>
#include <stdint.h>

/** 1: these bytes start a pcap or pcapng stream; 0: they do not; -EAGAIN: need 4 bytes. */
int pk_capstream_detect(const uint8_t *buf, size_t len);

typedef void (*pk_capstream_emit_cb)(void *data, const uint8_t *msg, size_t len);

struct pk_capstream;

/** peer names the sources ("10.0.0.7:51234", or "peer/eth0" for a pcapng interface). 0 and
 *  *out, or -ENOMEM with errbuf. */
int pk_capstream_open(struct pk_capstream **out, const char *peer, pk_capstream_emit_cb emit,
                      void *data, char *errbuf);

/**
 * Parses what it can of buf and emits messages. Returns the bytes consumed (a partial record or
 * block stays for the next call), or -EBADMSG with a sentence in errbuf when the stream is
 * broken (an absurd length, a bad header); the stream cannot go on after that.
 */
long pk_capstream_parse(struct pk_capstream *cs, const uint8_t *buf, size_t len, char *errbuf);

/**
 * The stream ended with `leftover` unparsed bytes. Emits the last packets and, when the stream
 * ended cleanly (leftover 0), a goodbye per source. Returns 0, or -EBADMSG (truncated).
 */
int pk_capstream_end(struct pk_capstream *cs, size_t leftover, char *errbuf);

void pk_capstream_free(struct pk_capstream *cs);

#endif

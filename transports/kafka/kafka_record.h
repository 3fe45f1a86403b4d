/*
 * Private to the Kafka transport: the record format (docs/KAFKA.md). A message of the wire
 * protocol becomes one Kafka record and back, losslessly: the value holds a packets message's
 * records as classic pcap records (nanosecond timestamps, little-endian), so that the values of
 * a topic, behind a pcap file header, are a capture file; header "pktr.frame" holds the
 * message's bytes before its records (the whole message for hello, stats and goodbye, whose
 * value is empty); readable headers repeat the metadata for other tools. Pure apart from the
 * librdkafka header list it builds; loop thread only.
 */
#ifndef PK_KAFKA_RECORD_H
#define PK_KAFKA_RECORD_H

#include <librdkafka/rdkafka.h>

#include <stddef.h>
#include <stdint.h>

#define PK_KAFKA_HDR_FRAME "pktr.frame"

/* What a source last said about itself, repeated on every record of it. */
struct pk_kafka_meta {
    uint64_t source_id;
    int used;
    char host[256], device[256];
    uint32_t snaplen;
    uint64_t kernel_drops, if_drops, relay_drops;
};

/*
 * The sources a sender speaks for: one for an agent, many for a collector's FORWARD_ENDPOINT.
 * Bounded: beyond PK_KAFKA_META_SOURCES the oldest slot is taken over, and the source it held
 * has empty host and device on its records until its next hello (every HEARTBEAT_INTERVAL).
 */
#define PK_KAFKA_META_SOURCES 64
struct pk_kafka_metas {
    struct pk_kafka_meta v[PK_KAFKA_META_SOURCES];
    size_t next; /* the slot taken over next */
};

/* One record to produce; value points into the caller's buffer, headers are the caller's. */
struct pk_kafka_out {
    char key[17];     /* the source id, 16 hex digits */
    int64_t ts_ms;    /* the first packet's capture time (control: the send time) */
    size_t value_len; /* 0: no value (a control message) */
    rd_kafka_headers_t *headers;
};

/**
 * Translates message msg (len bytes, valid) into out, writing the value into value (at least
 * len bytes). Updates the source's meta from hello and stats messages. 0, -EBADMSG (not a valid message) or
 * -ENOMEM. On success the caller owns out->headers (rd_kafka_headers_destroy, or producev).
 */
int pk_kafka_record_encode(struct pk_kafka_metas *metas, const uint8_t *msg, size_t len,
                           uint8_t *value, struct pk_kafka_out *out);

/**
 * Rebuilds the message of record m into buf (cap bytes). Returns its length, or -EBADMSG (no
 * "pktr.frame" header, a value that is no run of whole pcap records) or -EMSGSIZE (over cap).
 * The message itself is validated by the receiver's owner, as for every transport.
 */
long pk_kafka_record_decode(const rd_kafka_message_t *m, uint8_t *buf, size_t cap);

/** The bytes a decoded message of record m needs at most. */
size_t pk_kafka_record_size(const rd_kafka_message_t *m);

#endif

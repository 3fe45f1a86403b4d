/*
 * The packeteur wire codec (docs/PROTOCOL.md). One message = one transport frame: a fixed
 * header, the source name, a kind-specific body. Pure: no I/O, no allocation; encoders write
 * into caller buffers, the decoder validates every length and points into the caller's buffer.
 */
#ifndef PK_FRAME_H
#define PK_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define PK_PROTO_VERSION 1 /* what every plain message is sent as */
#define PK_PROTO_VERSION_MAX 2 /* version 2: compressed packets, sampling, rate-limit counters */
#define PK_FRAME_FLAG_COMPRESSION 0x03 /* header byte 7 in version 2: the body's compression */
#define PK_FRAME_MAGIC "PKTR"
#define PK_FRAME_HEADER_LEN 32      /* without the source name */
#define PK_FRAME_MAX (16u << 20)    /* the largest message a receiver accepts */
#define PK_FRAME_MAX_CAPLEN 262144u /* the largest packet record */
#define PK_LINKTYPE_MAX 65535u      /* pcap and pcapng hold a link type in 16 bits */
#define PK_RECORD_HEADER_LEN 16
#define PK_PACKETS_BODY_HEADER_LEN 24
#define PK_FRAME_NAME_MAX 255 /* source name bytes (a u8 length on the wire) */

/** Buffer size for a packets message batched up to batch_bytes: the header, the longest source
 *  name, the body header, and one record of the largest packet beyond batch_bytes. A constant
 *  expression when batch_bytes is one. */
#define PK_FRAME_BATCH_CAP(batch_bytes)                                                           \
    ((size_t)(batch_bytes) + PK_FRAME_HEADER_LEN + PK_FRAME_NAME_MAX +                            \
     PK_PACKETS_BODY_HEADER_LEN + PK_RECORD_HEADER_LEN + PK_FRAME_MAX_CAPLEN)

enum pk_frame_kind {
    PK_KIND_HELLO = 1,
    PK_KIND_PACKETS = 2,
    PK_KIND_STATS = 3,
    PK_KIND_GOODBYE = 4,
    PK_KIND_CONTROL = 5, /* collector to agent, on the return path (docs/CONTROL.md) */
};

#define PK_CONTROL_FILTER_MAX 4096 /* bytes of a central filter */
#define PK_CONTROL_PAUSED 0x1u     /* pk_control.flags: relay nothing, count it as paused */
#define PK_HELLO_TAKES_CONTROL 0x1u /* pk_hello.control: the agent applies control messages */

/* A length-delimited string pointing into a buffer; not NUL-terminated. */
struct pk_str {
    const char *ptr;
    uint16_t len;
};

struct pk_hello {
    uint32_t linktype;
    uint32_t snaplen;
    uint32_t tsresol;      /* digits after the second: 9 (ns) or 6 (us) as captured */
    uint32_t heartbeat_ms; /* how often the agent says hello; the collector's clock for "stale" */
    uint64_t start_ns;     /* agent start, ns since the Unix epoch */
    struct pk_str host, device, filter, version;
    uint32_t sample_n; /* keeps 1 flow in sample_n (SAMPLE=1/N); 1: every packet. Version 2 */
    /* Version 2, both 0 in a shorter hello: */
    uint32_t control;     /* PK_HELLO_TAKES_CONTROL; 0: CONTROL=off (or an older agent) */
    uint64_t applied_gen; /* the control generation in force (0: none ever applied) */
};

/* Counters an agent reports in stats and goodbye messages; all totals since agent start. */
struct pk_stats {
    uint64_t captured;     /* packets handed over by libpcap (after the filter) */
    uint64_t kernel_drops; /* pcap_stats ps_drop */
    uint64_t if_drops;     /* pcap_stats ps_ifdrop */
    uint64_t relay_drops;  /* packets dropped because the relay queue was full */
    uint64_t relayed;      /* packets in messages delivered (a transport that confirms
                              delivery: confirmed; another: accepted) */
    uint64_t queued;       /* packets captured but not yet handed to the transport */
    uint64_t rate_limited; /* packets of batches over RELAY_RATE_LIMIT, not sent (version 2) */
    uint64_t sampled_out;  /* packets of flows SAMPLE leaves out (version 2) */
    /* Only from a transport that confirms delivery (0 from others), version 2: */
    uint64_t delivery_failed; /* packets in messages the transport gave up on */
    uint64_t unconfirmed;     /* packets handed to the transport, fate not yet known */
    /* The control plane (version 2): */
    uint64_t paused;      /* packets captured while control paused the relay, not sent */
    uint64_t applied_gen; /* the control generation in force */
    uint64_t refused_gen; /* the latest generation the agent refused (its filter did not
                             compile there); 0: none */
};

/* What the collector wants of one source (kind 5): narrowing only, see docs/CONTROL.md. */
struct pk_control {
    uint64_t generation; /* the change this is; the agent applies any generation other than
                            the one in force */
    uint32_t flags;      /* PK_CONTROL_PAUSED */
    uint32_t sample_n;   /* keep at most 1 flow in sample_n; 0 or 1: no central sampling */
    uint64_t rate_limit; /* at most these bytes per second; 0: no central limit */
    struct pk_str filter; /* ANDed with the agent's own; empty: none */
};

struct pk_packets {
    uint32_t linktype;
    uint32_t count;
    uint64_t first_index; /* the source's running packet index of the first record */
    const uint8_t *records; /* count validated records; walk with pk_packets_next */
    size_t records_len;
};

struct pk_record {
    uint64_t ts_ns;
    uint32_t caplen, origlen;
    const uint8_t *data;
};

struct pk_frame {
    uint8_t version, kind, flags; /* flags: header byte 7, 0 in a decoded message */
    uint64_t source_id, seq;
    uint64_t sent_ns;
    struct pk_str name;
    union {
        struct pk_hello hello;
        struct pk_stats stats; /* stats and goodbye */
        struct pk_packets packets;
        struct pk_control control;
    } u;
};

/** Header fields every message carries; seq is patched in at send time. */
struct pk_frame_source {
    uint64_t source_id;
    const char *name; /* 1..255 bytes */
};

/**
 * Decodes and validates a whole message of version 1 or 2. 0, or -EBADMSG (malformed, truncated,
 * trailing bytes, bad lengths, a link type over PK_LINKTYPE_MAX, a compressed body: inflate it
 * first, compress.h), -EPROTONOSUPPORT (another protocol version), -EMSGSIZE (over PK_FRAME_MAX).
 * Pointers in f borrow from buf.
 */
int pk_frame_decode(const uint8_t *buf, size_t len, struct pk_frame *f);

/** Iterates the records of a decoded packets message. Returns 1 and fills rec, 0 at the end. */
int pk_packets_next(const struct pk_packets *p, size_t *offset, struct pk_record *rec);

/** Encoders: return the message length, or 0 when cap is too small. seq = 0 until patched.
 *  Each message goes out in the lowest version that carries it: a hello with sample_n > 1
 *  and a stats or goodbye with rate_limited or sampled_out are version 2, others version 1. */
size_t pk_frame_encode_hello(uint8_t *buf, size_t cap, const struct pk_frame_source *src,
                             const struct pk_hello *h, const char *host, const char *device,
                             const char *filter, const char *version);
size_t pk_frame_encode_stats(uint8_t *buf, size_t cap, const struct pk_frame_source *src,
                             enum pk_frame_kind kind, const struct pk_stats *s);

/** A control message for src (the target source's id and name), version 1. The length, or 0
 *  when cap is too small or the filter is longer than PK_CONTROL_FILTER_MAX. */
size_t pk_frame_encode_control(uint8_t *buf, size_t cap, const struct pk_frame_source *src,
                               const struct pk_control *c);

/** Writes seq and the send time into an encoded message's header. */
void pk_frame_set_seq(uint8_t *buf, uint64_t seq, uint64_t sent_ns);

/*
 * A packets message under construction, in a caller-owned buffer: begin, add records until
 * add returns -ENOSPC, then end to finish the body. No allocation.
 */
struct pk_batch {
    uint8_t *buf;
    size_t cap, len;
    size_t body_off; /* where the packets body header starts */
    uint32_t count;
};

void pk_batch_init(struct pk_batch *b, uint8_t *buf, size_t cap);
void pk_batch_begin(struct pk_batch *b, const struct pk_frame_source *src, uint32_t linktype,
                    uint64_t first_index);
/** 0, or -ENOSPC when the record does not fit (and the batch is unchanged). */
int pk_batch_add(struct pk_batch *b, uint64_t ts_ns, uint32_t caplen, uint32_t origlen,
                 const uint8_t *data);
/** Finishes the message; returns its length. */
size_t pk_batch_end(struct pk_batch *b);

#endif

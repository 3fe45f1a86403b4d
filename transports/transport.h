/*
 * The transport contract. A transport moves opaque messages (encoded by src/wire/frame.c) between
 * agents and a collector on the shared libuv loop; it never looks inside them. Each transport
 * is one `const struct pk_transport_ops` and embeds `struct pk_transport` first in its own state.
 *
 * What is the transport's own stays behind the ops: its settings (rows of the configuration
 * table that config.c parses with its own machinery into an opaque block, which configure()
 * turns into the transport's config), its counters beyond the generic ones (report()), what it
 * says about its security (log_security, public_key, reload, keygen) and about peers that speak
 * another protocol (on_peer's `why`). The core names no transport and no protocol.
 *
 * Sender side: send() never blocks; -EAGAIN means the bounded queue is full, and on_writable
 * fires once when it has room again. Receiver side: on_message fires per message;
 * set_receiving(0) stops taking messages (back-pressure reaches the senders), (1) resumes.
 *
 * Plain capture streams (`tcpdump -U -w - | nc collector 7386`) enter through one named path:
 * the owner hands a receiver a stream decoder (opts->capture_streams); a transport that carries
 * byte streams asks it about a connection's first bytes and, for a capture stream, feeds what
 * arrives to it and delivers what it emits through on_message like any message. The transport
 * knows no capture format.
 */
#ifndef PK_TRANSPORT_H
#define PK_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

struct pk_access;
struct pk_endpoint;
struct pk_transport;
struct pk_transport_config; /* a transport's own, made by its configure() */

enum pk_transport_role { PK_TRANSPORT_SENDER, PK_TRANSPORT_RECEIVER };

/*
 * One setting of a transport: a row of the configuration table (an environment variable),
 * parsed by config.c like its own rows into the transport's settings block (offset into it),
 * listed in --help, with the same error lines (exit 2) for a bad value. Every transport's rows
 * are parsed whichever RELAY_TRANSPORT is chosen, so a bad value is an error either way.
 */
enum pk_setting_type {
    PK_SETTING_STRING,   /* const char * */
    PK_SETTING_UINT,     /* uint64_t, min..max */
    PK_SETTING_SIZE,     /* uint64_t bytes, K/M/G suffixes, min..max */
    PK_SETTING_DURATION, /* uint64_t ms, ms/s/m/h suffixes, min..max */
    PK_SETTING_BOOL,     /* int: true|false|1|0|yes|no|on|off */
};

struct pk_setting {
    const char *name; /* the environment variable */
    enum pk_setting_type type;
    size_t offset;    /* of the field in the transport's settings block (types below) */
    const char *def;  /* default as a user would write it; NULL: unset (the field stays 0) */
    uint64_t min, max; /* numeric bounds, inclusive */
    const char *help;
    /*
     * Not NULL: setting it (not empty) in the mode of `role` while another transport is chosen
     * is an error, "NAME is set but RELAY_TRANSPORT="x" <only_here>".
     */
    const char *only_here;
    enum pk_transport_role role;
};

/* The largest settings block of any transport (config.c holds one per transport, unallocated). */
#define PK_TRANSPORT_SETTINGS_MAX 256

struct pk_transport_opts {
    enum pk_transport_role role;
    /* The transport's own configuration (its configure()); NULL when it has none. */
    const struct pk_transport_config *config;
    uint64_t queue_limit; /* sender: messages queued before send() says -EAGAIN */
    uint64_t max_message; /* receiver: larger messages are refused (and the peer dropped) */
    uint64_t min_message; /* receiver: a framed message shorter than this is broken framing */
    /* Receiver: who may send (addresses, client keys), and where refusals are counted; NULL:
     * anyone. The transport refuses peers where it sees them and counts each refusal there. */
    struct pk_access *access;
    /* Receiver: 1 when buf (len bytes, the start of a message) is one of ours (the codec's
     * magic): lets a transport tell its peers from another protocol's whose greeting looks
     * alike. NULL: no such check. */
    int (*is_message)(const uint8_t *buf, size_t len);
    /* Receiver: plain capture streams, or NULL when only messages are taken. */
    const struct pk_stream_decoder *capture_streams;
    /* The endpoint as the user wrote it (RELAY_ENDPOINT or COLLECT_ENDPOINT), for a transport
     * with an endpoint syntax of its own (ops->parse_endpoint). */
    const char *uri;
    /*
     * The return path (docs/CONTROL.md), for a transport with ops->send_control. Receiver: 1
     * opens it (send_control may then be called). Sender: 1 opens it and delivers what the
     * collector sends through t->on_control; 0: the agent takes no control (CONTROL=off) and
     * the transport opens nothing for it.
     */
    int control;
    /* Sender, control: the first bytes of every control message meant for this agent (its
     * header up to the source id), so that a transport that can filter by prefix (zmq's
     * subscriptions) delivers only those; others may ignore it (the owner checks anyway). */
    const uint8_t *control_prefix;
    size_t control_prefix_len;
};

/* The largest control message either side of a return path takes (docs/CONTROL.md). */
#define PK_CONTROL_MESSAGE_MAX (64u * 1024)

typedef void (*pk_stream_emit_cb)(void *data, const uint8_t *msg, size_t len);

/* A decoder of plain capture streams (pcap, pcapng), provided by the owner (src/formats). */
struct pk_stream_decoder {
    /** 1: buf starts a stream this decoder takes; 0: it does not; -EAGAIN: too few bytes. */
    int (*detect)(const uint8_t *buf, size_t len);
    /** One stream's decoder; emit gets each message it makes. 0, or -errno with errbuf. */
    int (*open)(void **out, const char *peer, pk_stream_emit_cb emit, void *data, char *errbuf);
    /** Bytes consumed (a partial record waits), or -EBADMSG with the reason in errbuf. */
    long (*parse)(void *st, const uint8_t *buf, size_t len, char *errbuf);
    /** The stream ended with `leftover` bytes unparsed: 0, or -EBADMSG (truncated). */
    int (*end)(void *st, size_t leftover, char *errbuf);
    void (*free)(void *st);
};

/* Who sent a message, as far as the transport knows. */
struct pk_peer {
    const char *addr; /* tcp-raw: "ip:port" of the connection; zmq: the IP; "" when unknown */
    const char *key;  /* the public key it authenticated with; "" when none */
};

/* Peer events, for logs and status; `peer` is an address string, or "" when unknown. */
enum pk_peer_event {
    PK_PEER_UP,
    PK_PEER_DOWN,
    PK_PEER_REFUSED,        /* sender: the handshake failed; `peer` says why */
    PK_PEER_WRONG_PROTOCOL, /* receiver: `peer` speaks another protocol; it is closed */
    PK_PEER_END,            /* receiver: all that was asked for was delivered (Kafka's COLLECT_STOP):
                               the owner finishes as on SIGTERM, exit 0 */
};

/* The counters every transport keeps; its own are in report(). */
struct pk_transport_counters {
    uint64_t messages_sent, bytes_sent;
    uint64_t messages_received, bytes_received;
    uint64_t connects, disconnects;
    uint64_t peers_dropped;      /* receiver: connections closed for broken framing */
    uint64_t messages_oversized; /* receiver: dropped by the transport as too large */
};

/* One value a transport reports beyond the generic counters, and where it is shown. */
struct pk_transport_stat {
    const char *metric; /* the /metrics family, e.g. "packeteur_connections_limit"; NULL: in
                           /status only */
    const char *type;   /* "counter" or "gauge" */
    const char *help;   /* the family's; consecutive stats of one family share the first's */
    const char *labels; /* "" or e.g. "reason=\"limit\"" */
    const char *object; /* the /status object, "messages", "security.connections", "relay";
                           NULL: in /metrics only */
    const char *field;  /* its name there */
    uint64_t value;
};

#define PK_TRANSPORT_STATS_MAX 24

/* A snapshot: plain data (the strings are static), so that an owner can keep the last one. */
struct pk_transport_report {
    size_t n;
    struct pk_transport_stat stat[PK_TRANSPORT_STATS_MAX];
};

typedef void (*pk_transport_closed_cb)(void *data, int flushed);

struct pk_transport_ops {
    const char *name; /* the value of RELAY_TRANSPORT */
    /* 1 when the peer string of on_message and on_peer names one connection, so that the owner
     * can follow a source's connection (open, close); 0 when it cannot (zmq) */
    int per_connection_peers;
    /* 1 when the transport learns the fate of each message it took (Kafka's delivery reports)
     * and says it through on_delivered; 0: a message send() took counts as delivered. */
    int confirms_delivery;
    /**
     * Optional: parses an endpoint of the transport's own syntax into ep for the core, which
     * resolves ep->host and keeps the relay's traffic to ep out of the capture; open then reads
     * opts->uri. 0, or -EINVAL with a sentence in errbuf (without the variable). NULL: the
     * core's tcp://HOST:PORT.
     */
    int (*parse_endpoint)(const char *uri, struct pk_endpoint *ep, char *errbuf);
    /**
     * Optional, sender: writes into buf (len bytes) the BPF expression that keeps the relay's own
     * traffic to uri out of the capture ("not (...)"), for a transport whose peers are more than
     * ep's addresses and port (Kafka: every broker of the endpoint). NULL: the core excludes
     * ep's addresses on ep's port.
     */
    void (*capture_exclusion)(const char *uri, char *buf, size_t len);

    /* Its rows of the configuration table, and the size of the block they are parsed into
     * (at most PK_TRANSPORT_SETTINGS_MAX). */
    const struct pk_setting *settings;
    size_t nsettings, settings_size;
    /**
     * Makes the transport's config for role from its parsed settings (reading key files, say).
     * 0 and *out (NULL when it needs none), or -EINVAL with one line in errbuf naming the
     * variable (exit 2), or another -errno (exit 1). NULL op: no config.
     */
    int (*configure)(const void *settings, enum pk_transport_role role,
                     struct pk_transport_config **out, char *errbuf);
    void (*config_free)(struct pk_transport_config *config); /* NULL is a no-op */
    /** The key peers know this side by when the relay is encrypted; NULL when it is not. */
    const char *(*public_key)(const struct pk_transport_config *config);
    /** Logs at start how the relay is protected. NULL op: it is not (the core says so). */
    void (*log_security)(const struct pk_transport_config *config);
    /** SIGHUP: reads again what can change (an allow-list into access) and logs one line.
     *  NULL op: nothing to reload. */
    void (*reload)(struct pk_transport_config *config, struct pk_access *access);
    /** `pcktr keygen`: writes a new key pair. NULL op: no keys. 0 or -errno + errbuf. */
    int (*keygen)(FILE *out, char *errbuf);

    /** Creates, binds (receiver) or connects (sender) ep, which is resolved: 0 and *out, or
     *  -errno with errbuf. */
    int (*open)(struct pk_transport **out, uv_loop_t *loop, const struct pk_endpoint *ep,
                const struct pk_transport_opts *opts, char *errbuf);
    /** Queues one message (copied). 0, -EAGAIN (full; wait for on_writable) or -errno. */
    int (*send)(struct pk_transport *t, const void *buf, size_t len);
    /**
     * Optional, receiver with opts->control: sends one control message (copied, at most
     * PK_CONTROL_MESSAGE_MAX bytes) on the return path towards `peer`, the peer address
     * on_message gave for the source's messages. A transport whose peers name connections
     * (per_connection_peers) writes it to that connection only; one that cannot address a
     * peer (zmq) publishes it to every connected agent, each of which takes only what names its
     * own source. 0; -EAGAIN: the return path to that peer is full (the owner sends again
     * later); -ENOTCONN: no such peer now; or -errno. NULL: no return path (control is shown as
     * unsupported for its sources).
     */
    int (*send_control)(struct pk_transport *t, const char *peer, const void *buf, size_t len);
    /** Receiver: stop (0) or resume (1) taking messages. */
    void (*set_receiving)(struct pk_transport *t, int on);
    /** 1 while at least one peer is connected. */
    int (*connected)(struct pk_transport *t);
    /** Fills r (r->n is 0) with its own counters, for /metrics and /status. NULL: none. */
    void (*report)(struct pk_transport *t, struct pk_transport_report *r);
    /**
     * Optional, receiver: every message on_message took so far has left through the owner's
     * primary output (written, not merely queued), so that a transport that can confirm
     * (Kafka commits its consumer offsets) does so only for what is safe. The owner calls it
     * now and then while nothing is queued or held, and once more before close. NULL: nothing
     * to confirm.
     */
    void (*released)(struct pk_transport *t);
    /**
     * Stops all watchers, keeps flushing what is queued for at most linger_ms without blocking
     * the loop, frees t, then calls cb with flushed = 1 when everything queued was handed to
     * the network and 0 when something was discarded.
     */
    void (*close)(struct pk_transport *t, uint64_t linger_ms, pk_transport_closed_cb cb,
                  void *data);
};

struct pk_transport {
    const struct pk_transport_ops *ops;
    /*
     * peer: who sent it (addr "" when the transport does not know). Returns 0 when the message
     * was valid, or a negative errno when it was not: the owner drops and counts an invalid
     * message, and no transport closes a connection for it (the messages queued behind it on
     * that connection are good ones). tcp-raw uses the result only to see that a connection
     * speaks the protocol (its first valid message ends its FIRST_MESSAGE_MS deadline). A
     * transport closes a connection only when its framing is broken (a bad length, a stream
     * that ends inside a message); that arrives as len == 0, so the owner counts it with the
     * malformed messages.
     */
    int (*on_message)(struct pk_transport *t, const uint8_t *buf, size_t len,
                      const struct pk_peer *peer);
    void (*on_writable)(struct pk_transport *t);
    /*
     * why: the transport's words for the owner's log line, "" when it has none. PK_PEER_UP: how
     * the connection is protected ("CURVE"); PK_PEER_REFUSED: what to check; and
     * PK_PEER_WRONG_PROTOCOL: what the peer speaks ("speaks ZeroMQ").
     */
    void (*on_peer)(struct pk_transport *t, enum pk_peer_event ev, const char *peer,
                    const char *why);
    /*
     * Sender, confirms_delivery only: the oldest message send() took whose fate was not yet
     * told was delivered (ok = 1) or given up on (ok = 0). Once per message, in send order, also
     * while close() lingers (what it discards is told as not delivered before its callback).
     */
    void (*on_delivered)(struct pk_transport *t, int ok);
    /*
     * Sender with opts->control: one message that arrived on the return path (at most
     * PK_CONTROL_MESSAGE_MAX bytes; the owner decodes and checks it). A transport closes the
     * return path's connection only for broken framing, and logs it once per episode.
     */
    void (*on_control)(struct pk_transport *t, const uint8_t *buf, size_t len);
    void *data; /* the owner's; the transport never touches it */
    struct pk_transport_counters counters;
};

/** Looks up a transport by RELAY_TRANSPORT value; NULL when unknown. */
const struct pk_transport_ops *pk_transport_find(const char *name);

/** The built-in transports, in registry order: the i-th, or NULL past the last. */
const struct pk_transport_ops *pk_transport_at(size_t i);

/** Writes "a|b" of every built-in transport name into buf. */
void pk_transport_names(char *buf, size_t len);

/** `pcktr keygen`: the first transport that makes keys makes a pair. -ENOTSUP when none. */
int pk_transport_keygen(FILE *out, char *errbuf);

/** r = t's own counters (empty when the transport has no report op). */
void pk_transport_get_report(struct pk_transport *t, struct pk_transport_report *r);

/** Adds one stat to r (dropped, with no harm, when r is full: PK_TRANSPORT_STATS_MAX). */
void pk_transport_stat_add(struct pk_transport_report *r, const struct pk_transport_stat *s,
                           uint64_t value);

#endif

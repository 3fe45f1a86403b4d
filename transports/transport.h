/*
 * The transport contract. A transport moves opaque messages (encoded by src/wire/frame.c) between
 * agents and a collector on the shared libuv loop; it never looks inside them. Each transport
 * is one `const struct pk_transport_ops` and embeds `struct pk_transport` first in its own state.
 *
 * Sender side: send() never blocks; -EAGAIN means the bounded queue is full, and on_writable
 * fires once when it has room again. Receiver side: on_message fires per message;
 * set_receiving(0) stops taking messages (back-pressure reaches the senders), (1) resumes.
 */
#ifndef PK_TRANSPORT_H
#define PK_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct pk_access;
struct pk_endpoint;
struct pk_transport;

enum pk_transport_role { PK_TRANSPORT_SENDER, PK_TRANSPORT_RECEIVER };

struct pk_transport_opts {
    enum pk_transport_role role;
    uint64_t queue_limit; /* sender: messages queued before send() says -EAGAIN */
    uint64_t max_message; /* receiver: larger messages are refused (and the peer dropped) */
    /*
     * CURVE keys in Z85, for a transport that encrypts (ops->encrypts); NULL: in clear text.
     * Sender: server_public (the collector's) and its own pair. Receiver: its own pair.
     */
    const char *server_public, *public_key, *secret_key;
    /* Receiver: who may send (addresses, client keys), and where refusals are counted; NULL:
     * anyone. The transport refuses peers where it sees them and counts each refusal there. */
    struct pk_access *access;
    /* Receiver (zmq; tcp-raw has its own bounds), what peers may make libzmq hold: messages over
     * peer_max_message are dropped and counted (0: max_message); at most max_peers connections
     * at once (0: no limit), more are closed at accept and counted in access. */
    uint64_t peer_max_message, max_peers;
    /* The endpoint as the user wrote it (RELAY_ENDPOINT or COLLECT_ENDPOINT), for a transport
     * with an endpoint syntax of its own (ops->parse_endpoint). */
    const char *uri;
    /* Kafka (interim, until transport settings are the transport's own): KAFKA_OPTIONS,
     * COLLECT_GROUP, COLLECT_START. */
    const char *kafka_options, *kafka_group, *kafka_start;
};

/* Who sent a message, as far as the transport knows. */
struct pk_peer {
    const char *addr; /* tcp-raw: "ip:port" of the connection; zmq: the IP; "" when unknown */
    const char *key;  /* the CURVE public key (Z85) it authenticated with; "" when none */
};

/* Peer events, for logs and status; `peer` is an address string, or "" when unknown. */
enum pk_peer_event {
    PK_PEER_UP,
    PK_PEER_DOWN,
    PK_PEER_REFUSED,        /* sender: the handshake failed; `peer` says why */
    PK_PEER_WRONG_PROTOCOL, /* receiver: `peer` speaks another transport; it is closed */
};

struct pk_transport_counters {
    uint64_t messages_sent, bytes_sent;
    uint64_t messages_received, bytes_received;
    uint64_t connects, disconnects;
    uint64_t peers_dropped;      /* receiver: connections closed for bad framing */
    uint64_t buffer_waits;       /* receiver: times a connection waited for receive-buffer memory */
    uint64_t handshakes;         /* security handshakes that succeeded (zmq) */
    uint64_t handshake_failures; /* security handshakes that failed (zmq) */
    /* receiver, tcp-raw: connections refused at accept and closed for their deadlines */
    uint64_t conns_refused_limit;    /* the connection limit (or that of capture streams) */
    uint64_t conns_refused_per_addr; /* their address had the most one address may have */
    uint64_t conns_no_first_message; /* none valid in time (or made room at a limit) */
    uint64_t conns_stalled;          /* a partial message got no byte in time */
    uint64_t conns_budget_held;      /* held receive budget others waited for, did not finish */
    uint64_t conns_silent;           /* proven, silent for SILENT_MS: made room at the limit */
    uint64_t max_connections;        /* the connection limit in force (a gauge); 0: none */
    uint64_t messages_oversized; /* receiver: dropped by the transport as too large (zmq) */
    /* sender, tcp-raw: TCP does not confirm delivery; an orderly end after ours does */
    uint64_t messages_unconfirmed; /* written on connections the collector ended first, or reset */
    uint64_t conns_ended_at_once;  /* connections the collector ended within 1 s (refused?) */
};

typedef void (*pk_transport_closed_cb)(void *data, int flushed);

struct pk_transport_ops {
    const char *name; /* the value of RELAY_TRANSPORT */
    /* 1 when the peer string of on_message and on_peer names one connection, so that the owner
     * can follow a source's connection (open, close); 0 when it cannot (zmq) */
    int per_connection_peers;
    int encrypts; /* 1 when it takes CURVE keys (opts->server_public, public_key, secret_key) */
    /**
     * Optional: parses an endpoint of the transport's own syntax into ep for the core, which
     * resolves ep->host and keeps the relay's traffic to ep out of the capture; open then reads
     * opts->uri. 0, or -EINVAL with a sentence in errbuf (without the variable). NULL: the
     * core's tcp://HOST:PORT.
     */
    int (*parse_endpoint)(const char *uri, struct pk_endpoint *ep, char *errbuf);
    /** Creates, binds (receiver) or connects (sender) ep, which is resolved. NULL + errbuf. */
    struct pk_transport *(*open)(uv_loop_t *loop, const struct pk_endpoint *ep,
                                 const struct pk_transport_opts *opts, char *errbuf);
    /** Queues one message (copied). 0, -EAGAIN (full; wait for on_writable) or -errno. */
    int (*send)(struct pk_transport *t, const void *buf, size_t len);
    /** Receiver: stop (0) or resume (1) taking messages. */
    void (*set_receiving)(struct pk_transport *t, int on);
    /** 1 while at least one peer is connected. */
    int (*connected)(struct pk_transport *t);
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
    void (*on_peer)(struct pk_transport *t, enum pk_peer_event ev, const char *peer);
    void *data; /* the owner's; the transport never touches it */
    struct pk_transport_counters counters;
};

/** Looks up a transport by RELAY_TRANSPORT value; NULL when unknown. */
const struct pk_transport_ops *pk_transport_find(const char *name);

/** Writes "a|b" of every built-in transport name into buf. */
void pk_transport_names(char *buf, size_t len);

#endif

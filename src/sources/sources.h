/*
 * The collector's per-source table: identity, metadata from hello messages, counters, and the
 * sequence and packet-index bookkeeping that detects what was lost in transit. Pure (no I/O,
 * no loop); bounded to a fixed number of sources, and of sources per peer. Each source is bound
 * to the peer it was first seen from, so that no other peer can speak for it while it is up.
 * Single-threaded.
 */
#ifndef PK_SOURCES_H
#define PK_SOURCES_H

#include "frame.h"

#include <stddef.h>
#include <stdint.h>

/*
 * What is kept of a hello's filter: a BPF expression is rarely longer than a few hundred bytes,
 * but a hello may carry 64 KiB, and 1024 sources of that would be 64 MiB of the collector's
 * memory. Longer filters keep their first 8 KiB (whole UTF-8 characters), in /status and pcapng.
 */
#define PK_SOURCE_FILTER_MAX 8192

enum pk_source_state { PK_SOURCE_UP, PK_SOURCE_STALE, PK_SOURCE_GONE, PK_SOURCE_STATES };

extern const char *const pk_source_state_names[PK_SOURCE_STATES]; /* "up", "stale", "gone" */

/* Why the table did not take a message (docs/PROTOCOL.md, "Who may speak for a source"). */
enum pk_source_refusal {
    PK_SR_TABLE_FULL, /* a new id, and every slot holds a source that is up */
    PK_SR_PEER_LIMIT, /* a new id from a peer that holds PK_SOURCES_PER_PEER sources, all up */
    PK_SR_OTHER_PEER, /* a known id from a peer other than the one the source is bound to */
    PK_SR_REASONS
};

extern const char *const pk_source_refusal_names[PK_SR_REASONS]; /* "table_full", ... */

#define PK_SOURCES_PER_PEER 64 /* a pcapng capture stream carries up to 64 interfaces */
#define PK_SOURCE_INTERFACES 8 /* pcapng output: link types one source may use */
#define PK_REFUSING_PEERS 64   /* peers whose refusals are kept apart (the most recent) */
#define PK_PEER_ID_LEN 64      /* a peer identity: an address "ip:port", or a CURVE key */
/* Evicted sources whose books are kept, so that one that comes back resumes them (its gap shows
 * as lost in transit): without their filters, about 1.5 KiB each, 1.5 MiB in all. */
#define PK_SOURCE_TOMBSTONES 1024
/* Jumps no agent makes: 2^32 messages or 2^40 packets beyond the next expected (at a million
 * messages a second, 71 minutes without one arriving; 2^40 packets, 12 days at a million a second
 * lost in one gap). A message claiming one is dropped and counted, and does not move the books. */
#define PK_SEQ_JUMP_MAX (1ull << 32)
#define PK_INDEX_JUMP_MAX (1ull << 40)

/* A pcapng output interface of a source: one per link type it sent. */
struct pk_source_if {
    uint32_t linktype, id;
};

/* A source's interfaces are described again (pcapng) at most this often per run. */
#define PK_SOURCE_REDESCRIBE_MAX 64

struct pk_source {
    uint64_t id;
    char name[256], host[256], device[256], version[256];
    char peer[64];              /* transport peer address of the latest message, "" when unknown */
    char key[41];               /* the CURVE public key (Z85) it authenticated with, "" when none */
    char owner[PK_PEER_ID_LEN]; /* the peer it is bound to: its key, else its address */
    char *filter; /* owned; "" until a hello arrives; at most PK_SOURCE_FILTER_MAX bytes */
    uint32_t linktype, snaplen, tsresol, heartbeat_ms;
    uint32_t sample_n; /* the agent keeps 1 flow in sample_n (its hello); 1: every packet */
    uint64_t start_ns;
    int have_hello, have_seq, have_index, said_goodbye, warned_linktype, warned_interfaces;
    enum pk_source_state state;  /* as last logged by the owner */
    int connected;               /* its transport connection is open (tcp-raw tells; zmq not) */
    uint64_t connected_since_ns; /* when messages started coming from the current peer */
    uint64_t reconnects;         /* times it came back from another peer address */
    uint64_t disconnects;        /* times its connection closed */
    struct pk_source_if ifs[PK_SOURCE_INTERFACES]; /* pcapng output, in order of first use */
    uint32_t nifs;
    uint32_t ifs_epoch; /* the interface numbering ifs belong to (a newer one: ifs are void) */
    uint64_t redescribed; /* hellos with a new filter or sampling: interfaces described again */
    uint64_t redescribe_capped; /* such hellos past PK_SOURCE_REDESCRIBE_MAX: interfaces kept */
    uint32_t held; /* packets held in the MERGE_WINDOW buffer: not evicted while > 0 */
    uint64_t late; /* packets written after a later timestamp (MERGE_WINDOW) */
    uint64_t first_seen_ns, last_seen_ns;
    uint64_t next_seq, next_index;
    uint64_t index_base; /* packets it had relayed before the first one this collector saw */

    uint64_t messages, packets, bytes;    /* received (packets, captured bytes) */
    uint64_t batch_wire_bytes, batch_plain_bytes; /* packets messages as received, and once
                                                     inflated: the compression ratio */
    uint64_t compressed_messages;                 /* of those, compressed */
    uint64_t lost_messages, lost_packets; /* sequence and packet-index gaps, and the agent's
                                             relayed total beyond what arrived */
    uint64_t duplicates; /* messages with a sequence number below the next expected (dropped) */
    uint64_t foreign;    /* messages with its id from another peer (refused) */
    uint64_t implausible; /* messages whose sequence or packet index jumped too far (dropped) */
    uint64_t refused;     /* its messages refused (table full, peer limit) while it was evicted */
    uint64_t inconsistent_stats; /* stats or goodbyes with a counter below the last (ignored) */
    uint64_t written, linktype_drops; /* what became of the received packets */
    /*
     * An agent whose transport confirms delivery (its stats carry delivery_failed and
     * unconfirmed): a packet-index gap is its own failed delivery while the agent's
     * delivery_failed total covers it (delivery_failed, not lost), and waits (awaiting_report)
     * while its unconfirmed count could still explain it; only the rest is lost in transit.
     */
    int confirms;
    uint64_t delivery_failed, awaiting_report;
    uint64_t run_failed; /* of the agent's delivery_failed total, what this run's books took */
    struct pk_stats agent; /* the agent's counters: the highest seen of each (queued: latest) */
    /*
     * The control plane (docs/CONTROL.md), as the agent says it (its hello and stats: the latest
     * wins, for generations go down when desired state is cleared), and what this collector
     * pushed to it (sources_control.c decides when).
     */
    int takes_control;             /* its hello's control has PK_HELLO_TAKES_CONTROL */
    uint64_t applied_gen;          /* the generation in force there (0: none) */
    uint64_t refused_gen;          /* the latest it refused (0: none) */
    uint64_t last_control_sent_ns; /* the latest push tried (sent or failed); 0: never */
    uint64_t control_sent_gen;     /* the generation that push carried */
    uint64_t control_sends, control_send_failures;
};

/* A peer the table refused messages from, with counts by reason. */
struct pk_refusing_peer {
    char peer[PK_PEER_ID_LEN]; /* its identity: CURVE key, else address */
    uint64_t hash;             /* of peer */
    char addr[64];             /* the address of its latest refused message */
    uint64_t count[PK_SR_REASONS];
    uint64_t first_ns, last_ns;
};

/* What lookups compare, kept apart from the sources so that a scan reads one small array. */
struct pk_source_key {
    uint64_t id, owner_hash;
};

struct pk_sources {
    struct pk_source **v;
    struct pk_source_key *keys; /* keys[i] is v[i]'s */
    size_t n, limit, per_peer_limit;
    int per_connection; /* peer addresses name connections, and closes are reported (tcp-raw) */
    uint64_t refused;   /* messages of new sources refused (table full or peer at its limit) */
    uint64_t refused_by[PK_SR_REASONS];
    uint64_t evicted;           /* sources that were not up, forgotten to make room */
    uint64_t stale_ms, gone_ms; /* liveness thresholds (SOURCE_STALE_AFTER, SOURCE_GONE_AFTER) */
    struct pk_refusing_peer refusing[PK_REFUSING_PEERS];
    size_t nrefusing, last_refusing;
    uint64_t refusing_forgotten; /* refusing peers dropped from that table for newer ones */
    uint64_t no_victim_until_ns; /* a full table of live sources: no eviction before then */
    /* Tombstones: the books of the last PK_SOURCE_TOMBSTONES evicted sources (sources_graves.c). */
    struct pk_source *graves; /* allocated at the first eviction; filter is always NULL */
    uint64_t *grave_ids;      /* grave_ids[i] is graves[i]'s id, when grave_used[i] */
    unsigned char *grave_used;
    size_t grave_next, ngraves; /* the slot the next eviction takes; slots in use */
    uint64_t restored;          /* evicted sources that came back and took their books back */
    uint64_t forgotten_for_good; /* tombstones dropped for newer ones: those start new books */
};

void pk_sources_init(struct pk_sources *t, size_t limit, uint64_t stale_ms, uint64_t gone_ms);
void pk_sources_free(struct pk_sources *t);

/* What became of a message (pk_sources_admit). */
enum pk_admit {
    PK_ADMIT_KNOWN,     /* a known source, from the peer it is bound to */
    PK_ADMIT_NEW,       /* a new source, now bound to this peer */
    PK_ADMIT_MOVED,     /* a known source that was not up (or whose connection had closed),
                           now bound to this peer */
    PK_ADMIT_DROPPED,   /* drop it, counted in the source: a sequence below the next expected
                           (duplicates), or a jump no agent makes (implausible) */
    PK_ADMIT_REFUSED,   /* drop it: counted by reason and per peer */
};

struct pk_admission {
    enum pk_admit what;
    struct pk_source *source;      /* NULL when refused as a new source */
    enum pk_source_refusal why;    /* PK_ADMIT_REFUSED */
    struct pk_refusing_peer *peer; /* PK_ADMIT_REFUSED: the peer's entry (borrowed) */
    int first_refusal;             /* PK_ADMIT_REFUSED: the first the table knows of this peer */
};

/**
 * Finds or adds the source of a decoded message from peer (its identity: the CURVE key when
 * there is one, else the transport address; addr is that address) and does its sequence
 * bookkeeping. A source is bound to the peer it was first seen from; a message with its id from
 * another peer is refused while the source is up (and, with per_connection, its connection
 * open). A new id evicts, when it must, a source that is not up: first of this peer's when the
 * peer holds per_peer_limit sources, then the least recently heard of all when the table is full.
 * An evicted source keeps a tombstone; a message with its id takes it back (PK_ADMIT_MOVED).
 */
void pk_sources_admit(struct pk_sources *t, const struct pk_frame *f, const char *peer,
                      const char *addr, uint64_t now_ns, struct pk_admission *a);

/** pk_sources_admit from an unknown peer; the source, or NULL when refused or a duplicate. */
struct pk_source *pk_sources_track(struct pk_sources *t, const struct pk_frame *f, uint64_t now_ns,
                                   int *created);

/**
 * up: heard from within the stale threshold, which is SOURCE_STALE_AFTER or three of the
 * source's heartbeat intervals (its hello), whichever is longer, but at most SOURCE_GONE_AFTER;
 * stale: silent longer; gone: said goodbye or silent gone_ms.
 */
enum pk_source_state pk_source_state(const struct pk_sources *t, const struct pk_source *s,
                                     uint64_t now_ns);

/** Applies a hello's metadata; returns 1 when it changed what a user would care about. */
int pk_source_apply_hello(struct pk_source *s, const struct pk_hello *h);

/** The packet index a stats or goodbye closes the books at: the packets the agent handed to
 *  its transport (relayed + delivery failed + unconfirmed), UINT64_MAX past 2^64. What it never
 *  handed over (rate limited, sampled out, paused by control) has no index: no gap. */
uint64_t pk_stats_index(const struct pk_stats *st);

/** Packet-index bookkeeping for a packets message; returns packets lost before it. */
uint64_t pk_source_apply_packets(struct pk_source *s, const struct pk_packets *p);

/* What a source's control shows (/status "control".state). */
enum pk_source_control {
    PK_SC_OFF,         /* the agent takes no control (CONTROL=off, an older agent), or this
                          collector has no control plane */
    PK_SC_UNSUPPORTED, /* the transport has no return path (no send_control) */
    PK_SC_APPLIED,     /* the agent applied the desired generation */
    PK_SC_PENDING,     /* sent or to be sent, not yet applied */
    PK_SC_REFUSED,     /* the agent refused the desired generation (its filter did not compile) */
    PK_SC_STATES
};

extern const char *const pk_source_control_names[PK_SC_STATES]; /* "off", "unsupported", ... */

/* A source is sent the same desired generation again at most this often (its hellos and stats
 * bring it back to mind), a new one at once. */
#define PK_CONTROL_RESEND_NS 1000000000ull

/** The state of s's control for desired generation `desired`; plane_on: a control plane is
 *  open; return_path: the transport can send control messages. */
enum pk_source_control pk_source_control_state(const struct pk_source *s, uint64_t desired,
                                               int plane_on, int return_path);

/**
 * 1 when s should be sent `desired` now: it takes control, applied another generation and did
 * not refuse this one (refused_gen 0 is none), and the latest push carried another generation
 * or was PK_CONTROL_RESEND_NS or more before now_ns. Pure: the caller has a return path.
 */
int pk_source_control_due(const struct pk_source *s, uint64_t desired, uint64_t now_ns);

/** Books a push of `desired` tried at now_ns: rc 0 (sent) or a negative errno (failed). */
void pk_source_control_sent(struct pk_source *s, uint64_t desired, uint64_t now_ns, int rc);

/**
 * Applies a stats or goodbye message. Its index (pk_stats_index) closes the books: packets the
 * agent handed over before it and that never arrived are lost (returned, and added to
 * lost_packets), but for those its delivery counters explain (see confirms).
 * The agent's counters only grow: a lower value is ignored, and the message counted.
 */
uint64_t pk_source_apply_stats(struct pk_source *s, const struct pk_stats *st, int goodbye);

#endif

/*
 * The collector's per-source table: identity, metadata from hello messages, counters, and the
 * sequence and packet-index bookkeeping that detects what was lost in transit. Pure (no I/O,
 * no loop); bounded to a fixed number of sources. Single-threaded.
 */
#ifndef PK_SOURCES_H
#define PK_SOURCES_H

#include "frame.h"

#include <stddef.h>
#include <stdint.h>

enum pk_source_state { PK_SOURCE_UP, PK_SOURCE_STALE, PK_SOURCE_GONE, PK_SOURCE_STATES };

extern const char *const pk_source_state_names[PK_SOURCE_STATES]; /* "up", "stale", "gone" */

struct pk_source {
    uint64_t id;
    char name[256], host[256], device[256], version[256];
    char peer[64]; /* transport peer address of the latest message, "" when unknown */
    char key[41];  /* the CURVE public key (Z85) it authenticated with, "" when none */
    char *filter; /* owned; "" until a hello arrives */
    uint32_t linktype, snaplen, tsresol, heartbeat_ms;
    uint64_t start_ns;
    int have_hello, have_seq, have_index, said_goodbye, warned_linktype;
    enum pk_source_state state; /* as last logged by the owner */
    int connected;               /* its transport connection is open (tcp-raw tells; zmq not) */
    uint64_t connected_since_ns; /* when messages started coming from the current peer */
    uint64_t reconnects;         /* times it came back from another peer address */
    uint64_t disconnects;        /* times its connection closed */
    uint32_t if_id_plus1;        /* pcapng output: its interface id + 1; 0 before its first packet */
    uint32_t if_linktype;        /* pcapng output: the link type that interface was described with */
    uint32_t held;               /* packets held in the MERGE_WINDOW buffer: not evicted while > 0 */
    uint64_t late;               /* packets written after a later timestamp (MERGE_WINDOW) */
    uint64_t first_seen_ns, last_seen_ns;
    uint64_t next_seq, next_index;
    uint64_t index_base; /* packets it had relayed before the first one this collector saw */

    uint64_t messages, packets, bytes;    /* received (packets, captured bytes) */
    uint64_t lost_messages, lost_packets; /* sequence and packet-index gaps */
    uint64_t out_of_order;                /* messages older than one already seen */
    uint64_t written, linktype_drops;     /* what became of the received packets */
    struct pk_stats agent;                /* the agent's latest stats or goodbye */
};

struct pk_sources {
    struct pk_source **v;
    size_t n, limit;
    uint64_t refused; /* messages from new sources past the limit */
    uint64_t evicted; /* gone sources forgotten to make room */
    uint64_t stale_ms, gone_ms; /* liveness thresholds (SOURCE_STALE_AFTER, SOURCE_GONE_AFTER) */
};

void pk_sources_init(struct pk_sources *t, size_t limit, uint64_t stale_ms, uint64_t gone_ms);
void pk_sources_free(struct pk_sources *t);

/**
 * Finds or adds the source of a decoded message and does its sequence bookkeeping. When the
 * table is full, the gone source heard from least recently is forgotten to make room; with none
 * gone, returns NULL (counted in refused). *created is set to 1 for a new source.
 */
struct pk_source *pk_sources_track(struct pk_sources *t, const struct pk_frame *f,
                                   uint64_t now_ns, int *created);

/** up: heard from within stale_ms; stale: silent longer; gone: said goodbye or silent gone_ms. */
enum pk_source_state pk_source_state(const struct pk_sources *t, const struct pk_source *s,
                                     uint64_t now_ns);

/** Applies a hello's metadata; returns 1 when it changed what a user would care about. */
int pk_source_apply_hello(struct pk_source *s, const struct pk_hello *h);

/** Packet-index bookkeeping for a packets message; returns packets lost before it. */
uint64_t pk_source_apply_packets(struct pk_source *s, const struct pk_packets *p);

#endif

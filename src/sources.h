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

struct pk_source {
    uint64_t id;
    char name[256], host[256], device[256], version[64];
    char *filter; /* owned; "" until a hello arrives */
    uint32_t linktype, snaplen, tsresol, heartbeat_ms;
    uint64_t start_ns;
    int have_hello, have_seq, have_index, said_goodbye, warned_linktype;
    uint64_t first_seen_ns, last_seen_ns;
    uint64_t next_seq, next_index;

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
};

void pk_sources_init(struct pk_sources *t, size_t limit);
void pk_sources_free(struct pk_sources *t);

/**
 * Finds or adds the source of a decoded message and does its sequence bookkeeping. Returns
 * NULL when the table is full (counted in refused). *created is set to 1 for a new source.
 */
struct pk_source *pk_sources_track(struct pk_sources *t, const struct pk_frame *f,
                                   uint64_t now_ns, int *created);

/** Applies a hello's metadata; returns 1 when it changed what a user would care about. */
int pk_source_apply_hello(struct pk_source *s, const struct pk_hello *h);

/** Packet-index bookkeeping for a packets message; returns packets lost before it. */
uint64_t pk_source_apply_packets(struct pk_source *s, const struct pk_packets *p);

#endif

/*
 * A sink's members, shared by sink.c (creation, queue, counters), group.c (delivery to
 * readers) and sinkset.c. Private to src/sinks. Loop thread only.
 */
#ifndef PK_SINK_INT_H
#define PK_SINK_INT_H

#include "chunk.h"
#include "filter.h"
#include "sink.h"
#include "writer.h"

struct pk_group;

struct pk_sink {
    struct pk_writer w;       /* the primary's; a reader's names its format (its group writes) */
    struct pk_output *out;    /* the primary's queue; NULL for a reader */
    struct pk_chunkq q;       /* a reader's queue: references to its group's chunks */
    struct pk_filter *filter; /* NULL: every packet; owned until added, then its group's */
    struct pk_group *group;   /* a reader in a set */
    struct pk_sink *gprev, *gnext; /* the group's members */
    size_t limit;
    struct pk_sink_consumer consumer;
    char kind[16], peer[96], endpoint[160];
    uint64_t connected_since_ns;
    uint64_t packets, bytes, filtered, dropped[PK_SINK_DROPS];
    int slow;
    uint64_t slow_episodes, episode_drops;
    size_t slot; /* index in the set's readers */
};

/**
 * A reader's share of a sealed chunk c (NULL: none) and of the group's counts since the last:
 * packets not matching its filter, of another link type. c goes into its queue (a reference),
 * or, not must and past its limit, is dropped whole: its packets counted as queue_full.
 */
void pk_sink_take(struct pk_sink *s, struct pk_chunk *c, uint64_t filtered, uint64_t linktype);

#endif

/*
 * A sink's members, shared by sink.c (creation, queue, counters) and sinkset.c (delivery).
 * Private to src/sinks. Loop thread only.
 */
#ifndef PK_SINK_INT_H
#define PK_SINK_INT_H

#include "filter.h"
#include "sink.h"
#include "writer.h"

struct pk_sink {
    struct pk_writer w;
    struct pk_output *out;
    struct pk_filter *filter; /* NULL: every packet */
    int lossless;             /* the primary */
    size_t limit;
    struct pk_sink_consumer consumer;
    char kind[16], peer[96], endpoint[160];
    uint64_t connected_since_ns;
    uint64_t packets, bytes, filtered, dropped[PK_SINK_DROPS];
    int slow;
    uint64_t slow_episodes, episode_drops;
    size_t slot; /* index in the set's readers */
};

/** Delivers one packet (the set has started the stream and found its interface, if any). */
void pk_sink_deliver(struct pk_sink *s, uint32_t linktype, int if_ok, uint32_t if_id,
                     const struct pk_record *rec);

#endif

/*
 * The collector's output stream: classic pcap (one link type: a packet of another is not
 * written) or pcapng (a section header, then an interface description per source and link type
 * as it first appears, enhanced packet blocks, and interface statistics blocks on request).
 * Writes into the bounded output queue (output.c); never blocks. Loop thread only.
 */
#ifndef PK_WRITER_H
#define PK_WRITER_H

#include "frame.h"
#include "output.h"
#include "sources.h"

#include <stdint.h>

enum pk_output_format { PK_FORMAT_PCAP, PK_FORMAT_PCAPNG };

extern const char *const pk_output_format_names[]; /* "pcap", "pcapng" */

struct pk_writer {
    enum pk_output_format format;
    struct pk_output *out;
    int started;
    uint32_t stream_linktype; /* pcap: the link type of the stream, once started */
    uint32_t interfaces;      /* pcapng: interface descriptions written */
    char hardware[128], os[128], application[64];
};

/** hardware/os/application go into the pcapng section header. */
void pk_writer_init(struct pk_writer *w, enum pk_output_format format, struct pk_output *out,
                    const char *hardware, const char *os, const char *application);

/**
 * Writes one record; 1, or (not written) 0 for a pcap link-type mismatch, -ENOSPC when the
 * source already has PK_SOURCE_INTERFACES pcapng interfaces (link types).
 */
int pk_writer_record(struct pk_writer *w, struct pk_source *s, uint32_t linktype,
                     const struct pk_record *rec);

/**
 * pcapng: an interface statistics block for every source with an interface (on its first one:
 * the counters are the source's). pcap: nothing.
 */
void pk_writer_stats(struct pk_writer *w, const struct pk_sources *t, uint64_t now_ns);

#endif

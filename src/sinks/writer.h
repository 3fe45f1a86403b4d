/*
 * A capture stream writer: classic pcap (one link type: a packet of another is not written;
 * nanosecond or microsecond timestamps) or pcapng (a section header, the interface blocks of
 * the shared numbering (ifreg.h), enhanced packet blocks, and interface statistics blocks on
 * request). Writes into a bounded output queue (output.h), or into a shared chunk (chunk.h,
 * a reader group's); never blocks. Loop thread only.
 */
#ifndef PK_WRITER_H
#define PK_WRITER_H

#include "frame.h"
#include "ifreg.h"
#include "output.h"
#include "sources.h"

#include <stddef.h>
#include <stdint.h>

/*
 * PK_FORMAT_PCAP is OUTPUT_FORMAT=pcap: nanosecond timestamps (as the collector has always
 * written). Readers over the network name formats differently (SERVE_FORMAT: "pcap" is the
 * microsecond convention of PCAP-over-IP): see pk_format_reader_names.
 */
enum pk_output_format { PK_FORMAT_PCAP, PK_FORMAT_PCAPNG, PK_FORMAT_PCAP_US, PK_FORMATS };

extern const char *const pk_output_format_names[PK_FORMATS]; /* "pcap", "pcapng", "pcap-us" */
extern const char *const pk_format_reader_names[PK_FORMATS]; /* "pcap-ns", "pcapng", "pcap" */

/** A reader's format name ("pcap" = microseconds, "pcap-ns", "pcapng"): 0, or -EINVAL. */
int pk_format_reader_parse(const char *name, enum pk_output_format *f);

struct pk_chunk;

struct pk_writer {
    enum pk_output_format format;
    struct pk_output *out;
    struct pk_chunk *chunk; /* when set, bytes go here instead of out (a reader group's) */
    const struct pk_ifreg *reg; /* borrowed: the shared interface numbering */
    int started;
    uint32_t stream_linktype; /* pcap: the link type of the stream, once started */
};

/** A writer over out (which may be changed later: a rotated file), not started. */
void pk_writer_init(struct pk_writer *w, enum pk_output_format format, struct pk_output *out,
                    const struct pk_ifreg *reg);

/**
 * Starts the stream, or a new section of it, in w->out: pcap, the file header for linktype
 * (the stream's: every pcap writer of a collector has the same); pcapng, a section header and
 * then the block of every interface registered so far, in id order, so that the ids of the
 * packet blocks that follow are those of the shared numbering. For a writer that starts
 * mid-stream (a reader that joins) and for each new file of a rotated output (point w->out at
 * the new queue first). Always written whole, whatever the queue holds.
 */
void pk_writer_start_section(struct pk_writer *w, uint32_t linktype);

/** pcapng, started: the block of interface id, registered just now (PK_IFREG_NEW). */
void pk_writer_interface(struct pk_writer *w, uint32_t id);

/** The bytes pk_writer_record would queue for a packet of caplen bytes. */
size_t pk_writer_record_len(const struct pk_writer *w, uint32_t caplen);

/**
 * Writes one record (started); if_id is its pcapng interface (pk_ifreg_of). 1, or (not
 * written) 0 for a pcap link-type mismatch.
 */
int pk_writer_record(struct pk_writer *w, uint32_t linktype, uint32_t if_id,
                     const struct pk_record *rec);

/**
 * pcapng: an interface statistics block for every source with an interface in the current
 * numbering (on its first one: the counters are the source's). pcap: nothing.
 */
void pk_writer_stats(struct pk_writer *w, const struct pk_sources *t, uint64_t now_ns);

#endif

/*
 * The fan-out of the output stage: the primary sink (lossless; none with OUTPUT=none) and up
 * to PK_SINKSET_MAX readers (lossy), the stream's state they share (the link type of a classic
 * pcap stream, the pcapng interface numbering, ifreg.h), and the per-turn delivery. Every
 * packet goes to every sink, each deciding by its filter, format and room; a reader that joins
 * gets the stream's header at once (pcapng: a section with every interface so far) and every
 * packet from then on. Sinks may be added and removed at any time, also from within a
 * consumer's callback. Caller-allocated (the output stage embeds it); loop thread only.
 */
#ifndef PK_SINKSET_H
#define PK_SINKSET_H

#include "frame.h"
#include "ifreg.h"
#include "sink.h"
#include "sources.h"

#include <stddef.h>
#include <stdint.h>

#define PK_SINKSET_MAX 1024 /* readers at once, every kind together (each has its own limit) */

struct pk_sinkset {
    struct pk_ifreg reg;
    struct pk_sink *primary; /* NULL: OUTPUT=none */
    struct pk_sink **v;      /* readers; NULL slots are removed ones (compacted after a pass) */
    struct pk_group *groups; /* the readers by format and filter, each encoding once (group.h) */
    size_t n;
    int passes, holes;       /* delivery passes running; removed sinks waiting for compaction */
    int started;
    uint32_t stream_linktype; /* the first packet's: classic pcap sinks take only this one */
    uint64_t added, removed;  /* readers, over the process's life */
};

/** An empty set; hardware/os/application go into pcapng section headers. */
void pk_sinkset_init(struct pk_sinkset *set, const char *hardware, const char *os,
                     const char *application);

/** Sets the primary (the set owns it from now on); NULL for none. */
void pk_sinkset_set_primary(struct pk_sinkset *set, struct pk_sink *primary);

/**
 * Adds a reader: the set owns it from now on. When the stream has started, its header is
 * queued now. 0, or -ENOSPC when PK_SINKSET_MAX readers are in (the sink is not taken: free it).
 */
int pk_sinkset_add(struct pk_sinkset *set, struct pk_sink *s);

/** Removes a reader (one that pk_sinkset_add took) and frees it (at once, or after the running
 *  pass); no callback follows. */
void pk_sinkset_remove(struct pk_sinkset *set, struct pk_sink *s);

/**
 * The seam: one packet of source s to every sink. Returns the primary's verdict, which the
 * source's counters record: 1 written, 0 not (pcap: another link type), or a negative
 * pk_ifreg_of error (pcapng: no interface); with no primary, 1 (or that error).
 */
int pk_sinkset_record(struct pk_sinkset *set, struct pk_source *s, uint32_t linktype,
                      const struct pk_record *rec);

/**
 * Once per loop turn: writes the primary's queue, seals every group's chunk (the readers' bytes
 * of this turn become theirs to take), tells readers' consumers of queued bytes.
 */
void pk_sinkset_flush(struct pk_sinkset *set);

/**
 * Every group's records so far become its readers' (pk_sinkset_flush does it each turn): for the
 * end, so that readers that drain what they have before they close get the last packets too.
 */
void pk_sinkset_seal(struct pk_sinkset *set);

/** Interface statistics blocks into the primary (pcapng). */
void pk_sinkset_stats(struct pk_sinkset *set, const struct pk_sources *t, uint64_t now_ns);

/** Readers in the set, and the i-th of them (i < pk_sinkset_count; NULL: removed during a pass). */
size_t pk_sinkset_count(const struct pk_sinkset *set);
const struct pk_sink *pk_sinkset_at(const struct pk_sinkset *set, size_t i);

/** Closes and frees the primary (its queue's watcher closes on the loop); readers stay. */
void pk_sinkset_close(struct pk_sinkset *set);

/** Frees every reader left and the registry, once the loop has ended. */
void pk_sinkset_free(struct pk_sinkset *set);

#endif

/*
 * A reader group: the readers of a sink set (sinkset.h) with the same format and the same
 * filter expression. The group filters and encodes each packet once, into an open chunk
 * (chunk.h); at each delivery pass (pk_sinkset_flush), or when the next record would pass the
 * group's chunk size, the chunk is sealed and every member takes a reference to it or, when
 * its queue cannot hold it whole, drops it whole (every packet in it counted as queue_full:
 * pk_sink_take). So a reader costs a reference per chunk, not a copy per packet.
 *
 * Stream structure lands in every member at the same place relative to packets: the stream's
 * header at its start, pcapng interface blocks and new sections (sinkset.c, describe) seal
 * the open chunk first and then go to every member in a chunk that is taken whatever the
 * member's room (as the header always was). A reader that joins seals the open chunk (the
 * records before its join are not its own), then gets a header of its own (pcapng: a section
 * with every interface so far) and the group's chunks from then on.
 *
 * Owned by the set: created with its first member, freed with its last. Loop thread only.
 */
#ifndef PK_GROUP_H
#define PK_GROUP_H

#include "chunk.h"
#include "filter.h"
#include "ifreg.h"
#include "writer.h"

#include <stddef.h>
#include <stdint.h>

struct pk_sink;

struct pk_group {
    struct pk_writer w;       /* writes into cur; started with the stream */
    struct pk_filter *filter; /* NULL: every packet */
    struct pk_chunk *cur;     /* open; NULL until a record comes after the last seal */
    size_t cap;               /* seal before the chunk would pass it (see group.c, set_cap) */
    uint64_t filtered, linktype; /* packets since the last seal not matching, of another type */
    struct pk_sink *members;  /* through pk_sink.gnext */
    struct pk_group *next;    /* in the set's list */
};

/** The group in list for format and filter expression expr ("" for none), or NULL. */
struct pk_group *pk_group_find(struct pk_group *list, enum pk_output_format format,
                               const char *expr);

/**
 * A group for reader s's format and filter, which it takes over (s->filter becomes borrowed),
 * over the set's registry. 0, or -ENOMEM. s is not a member yet: pk_group_join.
 */
int pk_group_new(struct pk_group **out, struct pk_sink *s, const struct pk_ifreg *reg);

/** Adds s (of the group's format and filter); when the stream has started, its header. */
void pk_group_join(struct pk_group *g, struct pk_sink *s, int started, uint32_t linktype);

/** Removes s (its references are its own: freed with it). Returns the members left. */
size_t pk_group_leave(struct pk_group *g, struct pk_sink *s);

/** The stream begins: every member gets the header. */
void pk_group_start(struct pk_group *g, uint32_t linktype);

/** pcapng groups: a new interface id, or a new section (verdict of pk_ifreg_of). */
void pk_group_describe(struct pk_group *g, int verdict, uint32_t linktype, uint32_t id);

/** One packet (the stream has started); if_ok: it has a pcapng interface, if_id. */
void pk_group_record(struct pk_group *g, uint32_t linktype, int if_ok, uint32_t if_id,
                     const struct pk_record *rec);

/** Ends the open chunk: every member takes it or drops it (and the counts since the last). */
void pk_group_seal(struct pk_group *g);

/** Frees a group without members (its open chunk, its filter). */
void pk_group_free(struct pk_group *g);

#endif

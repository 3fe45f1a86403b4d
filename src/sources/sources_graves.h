/*
 * Tombstones of evicted sources (private to the source table): a ring of the last
 * PK_SOURCE_TOMBSTONES evicted, holding their books without their filters, so that a source
 * evicted while briefly stale resumes its sequence, packet index and counters when it comes back.
 */
#ifndef PK_SOURCES_GRAVES_H
#define PK_SOURCES_GRAVES_H

#include "sources.h"

/** Keeps s's books (not its filter) in the ring; the oldest goes when full (forgotten_for_good). */
void pk_graves_bury(struct pk_sources *t, const struct pk_source *s);

/** The slot of id's tombstone, or -1. */
long pk_graves_find(const struct pk_sources *t, uint64_t id);

/** Copies slot's books into s (a fresh entry: its filter is kept) and frees the slot. */
void pk_graves_raise(struct pk_sources *t, long slot, struct pk_source *s);

void pk_graves_free(struct pk_sources *t);

#endif

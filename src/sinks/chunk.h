/*
 * Shared stream bytes. A reader group (group.h) encodes each packet once into an open chunk;
 * sealed (once per delivery pass, or when full) the chunk is immutable and every member of
 * the group queues a reference to it instead of a copy. A chunk is freed when its last
 * reference goes. A reader's queue (struct pk_chunkq) is a list of such references, the head
 * one possibly partly taken; its own bytes (its header at join) are a chunk only it refers to.
 *
 * The bytes of a sealed chunk never move, so a peeked piece stays valid until consumed: an
 * in-flight uv_write or h2o_send may point into it (the queue holds the reference meanwhile).
 * Allocation failures abort, as output.c's do: every chunk is bounded by a queue's limit, so
 * failing here means the host is out of memory. Loop thread only.
 */
#ifndef PK_CHUNK_H
#define PK_CHUNK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define PK_CHUNK_BYTES (256u * 1024u) /* an open chunk is sealed when the next block passes */

/*
 * What a reference costs a queue besides the bytes (the chunk's header and its allocation, a
 * slot): charged against the limit, so that a queue of many small chunks (a slow stream, one
 * packet per pass) stays within it in memory too.
 */
#define PK_CHUNK_OVERHEAD 128u

struct pk_chunk {
    unsigned refs;
    int must; /* headers, interface blocks: every member takes it, whatever its room */
    size_t len, cap;
    uint8_t *data;
    /* The group's packets in it, for its members' counters (sink.c, pk_sink_take). */
    uint64_t packets, bytes, filtered, linktype;
};

/** A chunk with room for cap bytes, one reference (the caller's). Never NULL. */
struct pk_chunk *pk_chunk_new(size_t cap);

/** Appends len bytes (open chunks only: grows when needed). */
void pk_chunk_append(struct pk_chunk *c, const void *buf, size_t len);

/** Ends the open state: gives back unused room (a small chunk costs its bytes, not cap). */
void pk_chunk_seal(struct pk_chunk *c);

void pk_chunk_ref(struct pk_chunk *c);
void pk_chunk_unref(struct pk_chunk *c); /* frees on the last one; NULL: nothing */

/** A queue of chunk references. Zero-initialised is empty. */
struct pk_chunkq {
    struct pk_chunk **v; /* ring of cap slots, n of them used from head */
    size_t head, n, cap;
    size_t off;    /* bytes of v[head] already taken */
    size_t queued; /* bytes not yet taken */
    size_t charge; /* queued + PK_CHUNK_OVERHEAD per reference: what the limit bounds */
    uint64_t taken;
};

/** Queues a reference to c (taking one). */
void pk_chunkq_push(struct pk_chunkq *q, struct pk_chunk *c);

/** The oldest bytes not taken, in place, in up to max pieces; returns how many. */
int pk_chunkq_peek(const struct pk_chunkq *q, struct iovec *iov, int max);

/** The first n bytes were taken (at most what is queued): references emptied are dropped. */
void pk_chunkq_consume(struct pk_chunkq *q, size_t n);

/** Drops every reference and the ring. */
void pk_chunkq_clear(struct pk_chunkq *q);

#endif

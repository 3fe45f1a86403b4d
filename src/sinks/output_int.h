/*
 * What output.c and output_lend.c share: the queue's layout. Not for other modules; they see
 * output.h only.
 */
#ifndef PK_OUTPUT_INT_H
#define PK_OUTPUT_INT_H

#include "output.h"

#include <sys/types.h>

#define PIPE_BYTES (1u << 20) /* stdout pipe size asked for */

#define CHUNK_SIZE (256u * 1024u)
#define MAX_IOV 32
#define MAX_MARKS 4096 /* block ends remembered per flush; thinned beyond (32 KiB) */

struct chunk {
    struct chunk *next;
    size_t start, end; /* unwritten bytes are data[start..end) */
    uint8_t data[CHUNK_SIZE];
};

struct output_lend; /* output_lend.c */

struct pk_output {
    int fd;
    int pollable; /* pipe or socket: non-blocking with a writable watcher */
    int polling;
    int failed;
    size_t limit, queued;
    uint64_t written;
    /*
     * Regular files: where whole blocks end, so that a failed write (a full disk) can cut the
     * file back to its last whole block. Offsets in the stream (base: the file offset it
     * started at); marks[] holds those not yet known written, thinned when full.
     */
    int regular;
    off_t base;
    uint64_t whole, kept;
    uint64_t marks[MAX_MARKS];
    size_t nmarks;
    struct chunk *head, *tail, *spare;
    struct output_lend *lend; /* allocated on the first pk_output_lend_begin; NULL before */
    uv_poll_t poll;
    struct pk_output_callbacks cbs;
};

/** Copies into the queue's chunks, lending or not (output.c). */
void pk_output_copy_in(struct pk_output *o, const void *buf, size_t len);

/** Lending in progress: pieces go to the lent list, in order (output_lend.c). */
int pk_output_lending(const struct pk_output *o);
void pk_output_lend_put(struct pk_output *o, const void *buf, size_t len, int lent);
/** Writes what is lent now; the rest is copied into the queue (flush and lend_end). */
void pk_output_lend_write(struct pk_output *o);
void pk_output_lend_free(struct pk_output *o);

#endif

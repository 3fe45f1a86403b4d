/*
 * A bounded, non-blocking byte queue in front of a file descriptor (the collector's stdout).
 * Appends never block and never fail: the owner asks pk_output_full() before taking more input,
 * which bounds the queue at its limit plus one input message. Writes happen on flush and when
 * the fd turns writable; pipes and sockets are switched to O_NONBLOCK, regular files and
 * character devices are written directly. A queue without an fd (pk_output_new_queue) is drained
 * by its consumer instead: pk_output_peek, then pk_output_consume once the bytes are taken.
 * Runs on the loop thread.
 */
#ifndef PK_OUTPUT_H
#define PK_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <uv.h>

struct pk_output;

struct pk_output_callbacks {
    void (*on_drained)(struct pk_output *o, void *data);        /* fell below half the limit */
    void (*on_error)(struct pk_output *o, int err, void *data); /* -EPIPE: the reader left */
    void *data;
};

/**
 * Opens OUTPUT=path without destroying anything: an existing capture (a regular file that is
 * not empty) is first renamed to PATH.YYYYmmddTHHMMSSZ, the time of its last write (-2, -3...
 * when taken; never replacing a file), and a new file is created with mode 0640 (a umask can
 * only take bits away). A FIFO or a device is opened as it is; a symbolic link to a file is
 * refused. Returns the fd, or -errno with errbuf naming OUTPUT. moved gets the name the old
 * capture was moved to, or "".
 */
int pk_output_open_path(const char *path, char *moved, size_t moved_len, char *errbuf);

/**
 * Renames from to to, never replacing a file at to (-EEXIST): renameat2(RENAME_NOREPLACE), or
 * link + unlink where the file system lacks it. 0 or -errno.
 */
int pk_output_rename_noreplace(const char *from, const char *to);

/** Opens fd for output. NULL with errbuf filled (-ENOTTY-like cases: a terminal is refused). */
struct pk_output *pk_output_new(uv_loop_t *loop, int fd, size_t limit,
                                const struct pk_output_callbacks *cbs, char *errbuf);

/**
 * A queue without an fd, for a pull-style consumer (an HTTP response body, a socket with its
 * own writes): pk_output_flush does nothing, the consumer takes bytes with pk_output_peek and
 * pk_output_consume. cbs->on_drained as above; on_error is never called. NULL: out of memory.
 */
struct pk_output *pk_output_new_queue(size_t limit, const struct pk_output_callbacks *cbs);

/**
 * Fills iov with up to max pieces of the queued bytes, oldest first; returns how many. The
 * bytes stay where they are (appends never move them) until pk_output_consume releases them.
 */
int pk_output_peek(const struct pk_output *o, struct iovec *iov, int max);

/** The consumer took the first n queued bytes (at most what is queued). */
void pk_output_consume(struct pk_output *o, size_t n);

/** Copies len bytes into the queue. */
void pk_output_append(struct pk_output *o, const void *buf, size_t len);

/**
 * As pk_output_append, but between pk_output_lend_begin and pk_output_lend_end the output may
 * keep a pointer to buf instead of copying it (a large piece): buf must stay unchanged until
 * lend_end. Outside of that, it copies.
 */
void pk_output_append_lent(struct pk_output *o, const void *buf, size_t len);

/**
 * Lending, to save a copy of one input message's packet data (which the caller keeps until
 * lend_end): from pk_output_lend_begin to pk_output_lend_end, the output takes the large pieces
 * given to pk_output_append_lent by pointer, and copies the rest, in order. lend_end writes
 * all of it (writev) and copies into the queue what the fd does not take (a full pipe, an
 * error): after lend_end the output holds no pointer to the caller's memory and behaves as if
 * every append had copied. Only a pipe or a socket with nothing queued lends; a regular file, a
 * queue without an fd or a backlog copy as before. Errors are not reported here: the next flush
 * meets them again and reports them as always. The bytes lent and not yet written are not in
 * pk_output_queued (nothing else runs between the two calls).
 */
void pk_output_lend_begin(struct pk_output *o);
void pk_output_lend_end(struct pk_output *o);

/**
 * Says that a whole block (a pcap record, a pcapng block) ends at the end of what is queued.
 * A write to a regular file that fails (a full disk) cuts the file back to the last such end,
 * so that it reads cleanly to its last whole block.
 */
void pk_output_end_block(struct pk_output *o);

/** After a failed write to a regular file: the bytes the file keeps (whole blocks). */
uint64_t pk_output_kept(const struct pk_output *o);

/** Tries to write what is queued without blocking; arms the writable watcher if needed. */
void pk_output_flush(struct pk_output *o);

int pk_output_full(const struct pk_output *o);
size_t pk_output_queued(const struct pk_output *o);
uint64_t pk_output_written(const struct pk_output *o); /* bytes that reached the fd */

/** Stops watching and frees on the loop's next turn; queued bytes are discarded. */
void pk_output_close(struct pk_output *o);

#endif

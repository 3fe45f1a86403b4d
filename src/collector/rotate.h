/*
 * OUTPUT_ROTATE: OUTPUT as a series of files, each closed whole and renamed atomically when it
 * completes (rotname.h gives the names). A file completes at the first record boundary at or
 * past the size, and at every multiple of the interval (UTC, from the epoch: 1h cuts at each
 * full hour) when it holds at least one record, even when nothing arrives (a timer). The owner
 * switches its output to each new file (switch_file) and writes what was queued for the old
 * one into it first (pk_output_flush writes a regular file whole), so that a file is complete
 * before it is renamed; the new file starts as a stream does (the pcap file header, or a pcapng
 * section with every interface known so far). At start, the hidden files a run that did not
 * end left behind are completed as they are; nothing is truncated or replaced. With
 * OUTPUT_KEEP, the oldest completed files beyond that many are deleted. Loop thread only.
 */
#ifndef PK_ROTATE_H
#define PK_ROTATE_H

#include <stdint.h>
#include <uv.h>

struct pk_rotate_policy {
    uint64_t size;        /* bytes; 0: no size limit */
    uint64_t interval_ms; /* 0: no time limit */
    uint64_t keep;        /* completed files kept; 0: all */
};

/* For /metrics and /status. */
struct pk_rotate_counters {
    uint64_t completed; /* files completed (renamed to their visible name) */
    uint64_t deleted;   /* completed files deleted for OUTPUT_KEEP */
    uint64_t failures;  /* a new file could not be created, or a file not renamed or deleted */
    uint64_t recovered; /* hidden files of an earlier run completed at start */
};

/* What the rotation needs of the output it rotates. */
struct pk_rotate_owner {
    /** Bytes in the current file: written and queued. */
    uint64_t (*file_bytes)(void *data);
    /**
     * From now on writes go to fd (a new, empty file, which stays the rotation's to close),
     * starting with the stream's header; what was queued for the old file is written into it
     * before this returns. 0, or -errno with errbuf when nothing changed.
     */
    int (*switch_file)(void *data, int fd, char *errbuf);
    void *data;
};

struct pk_rotate;

/**
 * Completes what an earlier run left and creates the first file for OUTPUT=output (taken by
 * reference: it must outlive the rotation). 0 or -errno with errbuf naming the variable;
 * *out is then NULL.
 */
int pk_rotate_open(struct pk_rotate **out, uv_loop_t *loop, const char *output,
                   const struct pk_rotate_policy *policy, char *errbuf);

/** The file being written (the owner's output's fd until the next rotation). */
int pk_rotate_fd(const struct pk_rotate *r);

/** Its hidden name; borrowed until the next rotation. */
const char *pk_rotate_current(const struct pk_rotate *r);

/** Starts rotating the owner's output (now on pk_rotate_fd): arms the interval timer. */
void pk_rotate_start(struct pk_rotate *r, const struct pk_rotate_owner *owner);

/** A whole record was queued: counts it, and completes the file when it reached the size. */
void pk_rotate_record(struct pk_rotate *r);

const struct pk_rotate_counters *pk_rotate_counters(const struct pk_rotate *r);

/**
 * At the end, once the output queue is written (or has failed): completes the file being
 * written (deletes it when it holds no record), stops the timer, frees on the loop's next turn.
 */
void pk_rotate_close(struct pk_rotate *r);

#endif

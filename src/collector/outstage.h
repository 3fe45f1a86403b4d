/*
 * The collector's output stage: the one seam through which packets leave. Intake hands it each
 * message's packets (pk_outstage_packets); with MERGE_WINDOW it holds them in the merge buffer
 * and releases them in timestamp order; each record then goes to the stage's sinks
 * (sinkset.h): the primary, OUTPUT or stdout (lossless: intake pauses while its queue is full;
 * none with OUTPUT=none), and the readers (PCAP-over-IP, HTTP /stream: lossy, each with its
 * format, filter and queue), added and removed at run time through pk_outstage_sinks. The
 * stage also owns its timers: the per-turn flush (which also hands readers' consumers their
 * bytes), pcapng interface statistics, and merge releases. Caller-allocated (embedded in the
 * collector); loop thread.
 */
#ifndef PK_OUTSTAGE_H
#define PK_OUTSTAGE_H

#include "frame.h"
#include "merge.h"
#include "output.h"
#include "sink.h"
#include "sinkset.h"
#include "sources.h"
#include "writer.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct pk_collect_report; /* report.h */

struct pk_outstage {
    struct pk_sinkset sinks;  /* the primary and the readers, once started */
    struct pk_sink *primary;  /* NULL until pk_outstage_open, or with OUTPUT=none */
    struct pk_merge merge; /* MERGE_WINDOW > 0 */
    int merging, started;
    enum pk_output_format format; /* the primary's (OUTPUT_FORMAT) */
    const struct pk_sources *sources; /* borrowed: for interface statistics */
    uv_prepare_t flush_prepare;
    uv_timer_t isb_timer, merge_timer;
    uint64_t last_ts_ns, late; /* merging: the latest timestamp written; writes behind it */
    uint64_t packets, bytes, linktype_drops;
    void (*on_queued)(void *data); /* after released packets were queued (may be full now) */
    void *data;
    void (*on_written)(void *data); /* NULL, or after each record the primary took (rotation) */
    void *written_data;
};

/** Sets up the merge buffer (a window of 0: no merge). Call once, before anything else. */
void pk_outstage_init(struct pk_outstage *o, uint64_t merge_window_ms, size_t limit_bytes,
                      void (*on_queued)(void *data), void *data);

/**
 * Opens the primary's output queue on fd (taken over), in format. 0, or -ENOMEM with errbuf
 * set. Not called with OUTPUT=none: the stage then has readers only.
 */
int pk_outstage_open(struct pk_outstage *o, uv_loop_t *loop, int fd, size_t limit,
                     enum pk_output_format format, const struct pk_output_callbacks *cb,
                     char *errbuf);

/**
 * Starts writing: the sink set and the stage's timers. After pk_outstage_open (if any).
 * format is the primary's (also what /status says with no primary: "none" then).
 */
void pk_outstage_start(struct pk_outstage *o, uv_loop_t *loop, enum pk_output_format format,
                       const struct pk_sources *sources, const char *hardware, const char *os,
                       const char *application);

/** The seam: a message's packets from source s, arrived at now_ns (borrowed for the call). */
void pk_outstage_packets(struct pk_outstage *o, struct pk_source *s, const struct pk_packets *p,
                         uint64_t now_ns);

/** Stops the timers; final: releases everything held and writes the final statistics. */
void pk_outstage_stop(struct pk_outstage *o, int final);

/** The sinks, to add and remove readers (pk_sinkset_add, pk_sinkset_remove); after start. */
struct pk_sinkset *pk_outstage_sinks(struct pk_outstage *o);

/** The primary's bytes queued and not yet written; whether its queue is at its limit; write
 *  what can be. With no primary: 0, 0, nothing. */
size_t pk_outstage_queued(const struct pk_outstage *o);
int pk_outstage_full(const struct pk_outstage *o);
void pk_outstage_flush(struct pk_outstage *o);

/** The output fields of /metrics and /status (all but the queue, which the owner knows). */
void pk_outstage_report(const struct pk_outstage *o, struct pk_collect_report *r);

/** Closes the handles (once started) and the primary. The loop frees them; then _free. */
void pk_outstage_close(struct pk_outstage *o);

/** Releases the merge buffer and the readers left, once the loop has ended. */
void pk_outstage_free(struct pk_outstage *o);

#endif

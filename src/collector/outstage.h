/*
 * The collector's output stage: the one seam through which packets leave. Intake hands it each
 * message's packets (pk_outstage_packets); with MERGE_WINDOW it holds them in the merge buffer
 * and releases them in timestamp order; each record then goes to the stage's sink, today one:
 * the pcap or pcapng writer (writer.c) over the bounded output queue (output.c) to OUTPUT or
 * stdout. A second sink is one more struct pk_sink in the stage, fed by write_record in
 * outstage.c and drained, flushed and closed with the first; nothing outside this file and
 * outstage.c changes. The stage also owns its timers: the per-turn flush, pcapng interface
 * statistics, and merge releases. Caller-allocated (embedded in the collector); loop thread.
 */
#ifndef PK_OUTSTAGE_H
#define PK_OUTSTAGE_H

#include "frame.h"
#include "merge.h"
#include "output.h"
#include "sources.h"
#include "writer.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct pk_collect_report; /* report.h */

/* A destination for records: a format writer over its own output queue. */
struct pk_sink {
    struct pk_writer writer;
    struct pk_output *out; /* NULL until pk_outstage_open */
};

struct pk_outstage {
    struct pk_sink sink; /* the one sink: OUTPUT or stdout */
    struct pk_merge merge; /* MERGE_WINDOW > 0 */
    int merging, started;
    const struct pk_sources *sources; /* borrowed: for interface statistics */
    uv_prepare_t flush_prepare;
    uv_timer_t isb_timer, merge_timer;
    uint64_t last_ts_ns, late; /* merging: the latest timestamp written; writes behind it */
    uint64_t packets, bytes, linktype_drops;
    void (*on_queued)(void *data); /* after released packets were queued (may be full now) */
    void *data;
};

/** Sets up the merge buffer (a window of 0: no merge). Call once, before anything else. */
void pk_outstage_init(struct pk_outstage *o, uint64_t merge_window_ms, size_t limit_bytes,
                      void (*on_queued)(void *data), void *data);

/** Opens the output queue on fd (taken over). 0, or -ENOMEM with errbuf set. */
int pk_outstage_open(struct pk_outstage *o, uv_loop_t *loop, int fd, size_t limit,
                     const struct pk_output_callbacks *cb, char *errbuf);

/** Starts writing: the format writer and the stage's timers. After pk_outstage_open. */
void pk_outstage_start(struct pk_outstage *o, uv_loop_t *loop, enum pk_output_format format,
                       const struct pk_sources *sources, const char *hardware, const char *os,
                       const char *application);

/** The seam: a message's packets from source s, arrived at now_ns (borrowed for the call). */
void pk_outstage_packets(struct pk_outstage *o, struct pk_source *s, const struct pk_packets *p,
                         uint64_t now_ns);

/** Stops the timers; final: releases everything held and writes the final statistics. */
void pk_outstage_stop(struct pk_outstage *o, int final);

/** Bytes queued and not yet written; whether the queue is at its limit; write what can be. */
size_t pk_outstage_queued(const struct pk_outstage *o);
int pk_outstage_full(const struct pk_outstage *o);
void pk_outstage_flush(struct pk_outstage *o);

/** The output fields of /metrics and /status (all but the queue, which the owner knows). */
void pk_outstage_report(const struct pk_outstage *o, struct pk_collect_report *r);

/** Closes the handles (once started) and the output queue. The loop frees them; then _free. */
void pk_outstage_close(struct pk_outstage *o);

/** Releases the merge buffer, once the loop has ended. */
void pk_outstage_free(struct pk_outstage *o);

#endif

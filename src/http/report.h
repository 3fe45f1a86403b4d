/*
 * Snapshots of a running agent or collector, filled by their owners at request time and
 * rendered by metrics.c (Prometheus text) and status.c (JSON). Everything is borrowed for the
 * duration of the rendering call.
 */
#ifndef PK_REPORT_H
#define PK_REPORT_H

#include "access.h"
#include "afamily.h"
#include "frame.h"
#include "gate.h"
#include "serve.h"
#include "sinkset.h"
#include "sources.h"
#include "transport.h"

#include <stdint.h>

struct pk_http_counters; /* http.h */
struct pk_control_plane; /* control.h */

struct pk_report_common {
    const char *mode, *transport, *endpoint;
    uint64_t start_ns, now_ns;
};

struct pk_capture_report {
    struct pk_report_common common;
    const char *source_name, *device, *filter; /* device: the interface or READ_FILE path */
    int from_file;
    uint32_t linktype, snaplen;
    struct pk_stats stats; /* captured, drops, relayed, queued */
    int connected;
    struct pk_transport_counters transport;
    struct pk_transport_report own; /* the transport's own counters (ops->report) */
    const struct pk_af_hist *hist;
    int encrypted;
    const char *public_key; /* this agent's key (ops->public_key); NULL when not encrypted */
    int device_down;        /* live capture: the device went down; waiting for it */
    const struct pk_http_counters *http; /* NULL when METRICS_ADDRPORT is empty */
    /* Thin links: RELAY_COMPRESSION as written, packets messages taken by the transport before
     * and after compression, RELAY_RATE_LIMIT (0: none), SAMPLE's N (1: every packet). */
    const char *compression;
    uint64_t batch_plain_bytes, batch_wire_bytes, batches_compressed, rate_limit;
    uint32_t sample_n;
    /* The control plane (docs/CONTROL.md): whether the agent takes control, the generations
     * applied and refused, pause, the central filter ("": none) and messages not taken;
     * stats.paused counts the packets captured while paused. */
    struct {
        int enabled, paused;
        uint64_t applied_gen, refused_gen, rejected;
        const char *central_filter;
    } control;
};

struct pk_collect_report {
    struct pk_report_common common;
    const struct pk_sources *sources;
    const char *output_format; /* "pcap", "pcapng" */
    int stream_started;
    uint32_t stream_linktype;
    uint64_t out_packets, out_bytes, out_linktype_drops;
    uint64_t merge_window_ms, merge_held, merge_forced, out_late;
    uint64_t out_queue_bytes, out_queue_limit;
    int intake_paused; /* the output queue is full: agents are made to wait */
    int per_connection; /* the transport tells when a source's connection closes */
    uint64_t bad_malformed, bad_version, bad_oversized;
    struct pk_transport_counters transport;
    struct pk_transport_report own; /* the transport's own counters (ops->report) */
    int encrypted;
    const char *public_key; /* the collector's key; NULL when not encrypted */
    const char *allow;      /* COLLECT_ALLOW as written */
    const struct pk_access *access;
    const struct pk_http_counters *http; /* NULL when METRICS_ADDRPORT is empty */
    /* Readers of the stream (PCAP-over-IP, /stream): each one's sink, who may read. */
    const struct pk_sinkset *sinks;          /* NULL before the output stage started */
    const struct pk_gate *gate;
    const struct pk_serve_counters *serve;   /* NULL without SERVE_ENDPOINT/SERVE_CONNECT */
    const char *serve_allow;                 /* SERVE_ALLOW as written */
    /* FORWARD_ENDPOINT (NULL: not forwarding, the counters are 0): messages the transport
     * took, refused (dropped), and of those taken, delivered and failed. */
    const char *forward_endpoint;
    uint64_t forward_taken, forward_dropped, forward_delivered, forward_failed;
    /* OUTPUT_ROTATE (rotating 0: the rest is 0/NULL) */
    int rotating;
    const char *out_file; /* the hidden file being written */
    uint64_t out_files_completed, out_files_deleted, out_files_recovered, out_rotate_failures;
    /* The control plane (docs/CONTROL.md); NULL before it is opened (then: off, nothing). */
    const struct pk_control_plane *control;
    /* The control plane (docs/CONTROL.md): control_on, a plane is open; return_path, the
     * transport can send control messages; desired, the generation wanted for a source name
     * (control_data passed; NULL: 0 for all); pushes sent and failed, in all. */
    int control_on, control_return_path;
    uint64_t (*control_desired)(const void *data, const char *name);
    const void *control_data;
    uint64_t control_sent, control_send_failures;
};

#endif

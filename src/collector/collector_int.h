/*
 * The collector's state, shared by collector.c (lifecycle), intake.c (decode, sources, bad
 * messages) and collector_report.c (/metrics, /status). Private to those files; the output
 * stage sees only its own struct (outstage.h). Loop thread only.
 */
#ifndef PK_COLLECTOR_INT_H
#define PK_COLLECTOR_INT_H

#include "access.h"
#include "loop.h"
#include "forward.h"
#include "gate.h"
#include "outstage.h"
#include "serve.h"
#include "reports.h"
#include "rotate.h"
#include "sources.h"
#include "transport.h"

#include <stdint.h>
#include <uv.h>

struct pk_codec;
struct pk_config;
struct pk_control_plane;
struct pk_http;
struct pk_peer;

enum bad_reason { BAD_MALFORMED, BAD_VERSION, BAD_SIZE, BAD_REASONS };

/* Log fields of a source, for LOG_FORMAT=json (docs/LOGGING.md lists the events). */
#define SOURCE_FIELDS(s, ev)                                                                       \
    (&(struct pk_log_fields){.event = (ev),                                                        \
                             .source = (s)->name,                                                  \
                             .host = (s)->host,                                                    \
                             .device = (s)->device,                                                \
                             .peer = (s)->peer})

struct collector {
    uv_loop_t loop;
    const struct pk_config *cfg;
    struct pk_transport *tr;
    struct pk_transport_config *tc; /* the transport's own (keys, reloaded on SIGHUP); NULL */
    struct pk_access access;    /* who may send; refusal counters */
    struct pk_outstage os;      /* where packets leave */
    struct pk_gate gate;        /* who may read the stream (SERVE_ALLOW), how many */
    struct pk_serve *serve;     /* PCAP-over-IP readers; NULL when SERVE_* are empty */
    struct pk_rotate *rotate;   /* OUTPUT_ROTATE; NULL without */
    struct pk_forward *fwd;     /* FORWARD_ENDPOINT; NULL without (or once stopping) */
    struct pk_forward_counters fwd_last; /* its counters when the collector stopped */
    struct pk_output_callbacks output_cbs; /* the primary's queue's (each rotated file's too) */
    struct pk_sources sources;
    struct pk_signals signals;
    uv_signal_t sighup;
    uv_timer_t linger_timer, state_timer;
    struct pk_http *http;        /* NULL when METRICS_ADDRPORT is empty */
    struct pk_reporter reporter; /* what http renders */
    uint64_t start_ns;

    int paused, stopping, finished, exit_code;
    uint64_t bad[BAD_REASONS];
    struct pk_transport_counters counters; /* the transport's, kept after it is closed */
    struct pk_transport_report own;        /* its own counters, the same */
    int per_connection; /* the transport's peers name connections (ops->per_connection_peers) */
    uint64_t bad_logged_ns;
    uint64_t refused_logged_ns, refused_unlogged; /* refusing peers: one line per interval */
    int wrong_protocol_logged;                    /* a peer of another transport reached us */
    struct pk_codec *codec; /* inflates compressed batches; made at the first one */
    uint8_t *inflated;      /* PK_FRAME_MAX bytes, made with codec: one message at a time */
    /* The control plane (control_push.c): NULL when it is off (CONTROL_TOKEN_FILE and
     * CONTROL_STATE both empty), and then the transport opens no return path. */
    struct pk_control_plane *control;
    uint64_t control_seq;                         /* of the control messages sent */
    uint64_t control_sent, control_send_failures; /* pushes, kept past evictions */
};

/** Transport callbacks: a message (decoded, admitted, handed to the output stage); a peer. */
int pk_intake_on_message(struct pk_transport *t, const uint8_t *buf, size_t len,
                         const struct pk_peer *who);
void pk_intake_on_peer(struct pk_transport *t, enum pk_peer_event ev, const char *peer,
                       const char *why);

/** Plain capture streams, decoded into messages (src/formats), for the transport's opts. */
extern const struct pk_stream_decoder pk_intake_capture_streams;

/** 1 when buf starts a message of ours (the codec's magic), for the transport's opts. */
int pk_intake_is_message(const uint8_t *buf, size_t len);

/** Stops as on SIGTERM: flushes within LINGER, then exits (with exit code 0 unless an error). */
void pk_collector_stop(struct collector *c);

/** Tells a transport that confirms (ops->released: Kafka commits offsets) that every message it
 *  handed over has left, when nothing is queued for the output nor held by the merge. */
void pk_intake_release_if_written(struct collector *c);

/** Frees what intake made for compressed messages. */
void pk_intake_free(struct collector *c);

/** Pauses the transport while the output queue is full (data is the struct collector). */
void pk_intake_pause_if_full(void *data);

/** Logs the changes of state (up, stale, gone) of silent or returning sources. */
void pk_intake_check_states(struct collector *c, uint64_t now_ns);

/** One line with a source's totals (what: "totals", "said goodbye"). */
void pk_intake_log_totals(const struct pk_source *s, const char *what, const char *event);

/** OUTPUT_ROTATE: completes what an earlier run left, opens the first file; its fd or -errno. */
int pk_collector_open_rotation(struct collector *c, char *errbuf);

/** After the output stage started: OUTPUT_ROTATE's policy and timer, and GET /stream. */
void pk_collector_start_rotation_and_stream(struct collector *c);

/** The collector's report for /metrics and /status (a pk_report_fill_cb). */
void pk_collector_fill_report(void *data, union pk_report *r);

/** Says at start how the relay is protected, and warns where it is not. */
void pk_collector_log_security(struct collector *c, const struct pk_endpoint *ep);

#endif

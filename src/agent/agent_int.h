/*
 * The agent's state, shared by agent.c (lifecycle), agent_source.c (capture or READ_FILE),
 * relay.c (batching, sequence, drops), agent_report.c (/metrics, /status) and agent_reload.c
 * (SIGHUP). Private to those files. Loop thread only.
 */
#ifndef PK_AGENT_INT_H
#define PK_AGENT_INT_H

#include "afamily.h"
#include "config.h"
#include "control_policy.h"
#include "filterfile.h"
#include "frame.h"
#include "ratelimit.h"
#include "http.h"
#include "loop.h"
#include "reports.h"
#include "transport.h"

#include <stdint.h>
#include <uv.h>

struct pk_capture;
struct pk_replay;
struct pk_codec;

#define CONTROL_BUF_SIZE (64 * 1024) /* hello: 4 strings of at most 8 KiB + header */
/* The relay's exclusion (1 KiB) with a central filter before it: "(central) and exclude". */
#define CENTRAL_EXCLUDE_MAX (PK_CONTROL_FILTER_MAX + 1024 + 16)

/* The control plane on the agent (control.c, docs/CONTROL.md): what the collector set. */
struct agent_control {
    int enabled; /* CONTROL=on and a live capture: control messages are applied */
    uint8_t prefix[PK_CONTROL_PREFIX_LEN]; /* how every control message for this agent starts */
    uint64_t applied_gen;                  /* the generation in force (0: none) */
    uint64_t refused_gen;                  /* the latest refused (0: none) */
    int paused;          /* PK_CONTROL_PAUSED in force: captured packets are not relayed */
    uint32_t sample_n;   /* central; 0: none */
    uint64_t rate_limit; /* central, bytes/s; 0: none */
    char filter[PK_CONTROL_FILTER_MAX + 1]; /* central; "": none */
    /* What the capture's filter is combined with: the central filter and the relay's
     * exclusion (used while filter is not ""). */
    char exclude[CENTRAL_EXCLUDE_MAX];
    uint64_t rejected;        /* messages on the return path not taken (not ours, malformed) */
    uint64_t rejected_logged; /* of those, already summarised in a log line */
    uint64_t reject_log_ns;   /* when the latest summary was logged */
    uint64_t refusal_logged;  /* the generation whose refusal was logged last */
};

struct agent {
    uv_loop_t loop;
    const struct pk_config *cfg;
    struct pk_transport *tr;
    struct pk_transport_config *tc; /* the transport's own (keys); NULL: none */
    int handshake_warned;     /* failed handshakes since the last success, logged once */
    struct pk_capture *cap;   /* live capture, or */
    struct pk_replay *replay; /* READ_FILE */
    struct pk_signals signals;
    uv_timer_t heartbeat, stall;
    uv_timer_t rate_wait; /* READ_FILE: a batch over RELAY_RATE_LIMIT waits for its budget */
    struct pk_http *http; /* NULL when METRICS_ADDRPORT is empty */
    struct pk_reporter reporter; /* what http renders */
    struct pk_af_hist hist;
    uint64_t start_ns;

    struct pk_frame_source src;
    struct pk_hello hello;
    char host[256], exclude[1024];
    const char *filter; /* in force, for hello and logs */
    char user_filter[PK_FILTER_FILE_MAX]; /* FILTER_FILE's expression, when it is set */
    /* cfg points here: the configuration, with what FILTER_FILE sets (agent_reload.c) */
    struct pk_config own_cfg;
    const struct pk_config *env_cfg; /* as the environment set it: what a file line overrides */
    char ff_values[PK_FF_SETTINGS][PK_FILTER_FILE_VALUE_MAX]; /* FILTER_FILE's settings */

    uint8_t *batch_buf;
    struct pk_batch batch;
    int batch_open, batch_pending; /* pending: refused by the transport, kept (READ_FILE) */
    uint8_t control[CONTROL_BUF_SIZE];
    uint64_t seq;
    struct pk_stats st;
    uint64_t drops_reported; /* relay drops of episodes already logged */
    int dropping;            /* in an episode of relay drops */
    /* Delivery accounting (delivery.c): packets handed to the transport (the packet index), and
     * the packet count of each message awaiting its report, a FIFO; NULL: not confirmed. */
    uint64_t handed;
    uint32_t *dq;
    size_t dq_head, dq_len, dq_cap;
    int failing; /* in a run of failed deliveries (logged once) */

    /* Thin links: RELAY_COMPRESSION, RELAY_RATE_LIMIT (relay.c). */
    struct pk_codec *codec; /* NULL: none */
    uint8_t *zbuf;          /* a compressed batch */
    size_t zcap;
    uint64_t batch_plain_bytes, batch_wire_bytes; /* packets messages the transport took:
                                                     before and after compression */
    uint64_t batches_compressed;                  /* of those, sent compressed */
    struct pk_bucket bucket;
    uint64_t rate_limit; /* in force: RELAY_RATE_LIMIT narrowed by control (0: none) */
    int limiting;        /* in an episode of rate-limited batches */
    uint64_t limited_ns; /* when the latest batch was over the limit */

    struct agent_control ctl;

    int stopping, replay_ended, exit_code;
    int goodbye_pending;          /* stopping, the goodbye waits for room in the relay queue */
    uint64_t goodbye_deadline_ms; /* loop time when the linger runs out */
    char replay_error[256];
};

/** Counters as the stats message and /status give them (the capture's drops read now). */
void pk_agent_fill_stats(struct agent *a, struct pk_stats *s);

/** The agent's report for /metrics and /status (a pk_report_fill_cb); data is the struct agent. */
void pk_agent_fill_report(void *data, union pk_report *r);

/**
 * Stops capturing, flushes, says goodbye and closes the transport with the given linger
 * (agent.c). Idempotent.
 */
void pk_agent_finish(struct agent *a, uint64_t linger_ms);

/** Opens the capture or READ_FILE and fills the hello's link type (agent_source.c). */
int pk_agent_open_source(struct agent *a, char *errbuf);

/** Closes the transport, which flushes what is queued for up to linger_ms (agent.c). */
void pk_agent_close_transport(struct agent *a, uint64_t linger_ms);

/** FILTER, or FILTER_FILE's expression read at start (agent_reload.c): 0, or -errno + errbuf. */
int pk_agent_user_filter(struct agent *a, const char **filter, char *errbuf);

/** The agent's own filter: FILTER, or FILTER_FILE's expression in force. */
const char *pk_agent_own_filter(const struct agent *a);

/** What the capture's filter is combined with: the central filter (when control set one) and
 *  the relay's exclusion (control.c). */
const char *pk_agent_exclude(const struct agent *a);

/** Sets up the control plane before the transport opens: its prefix, the hello (control.c). */
void pk_agent_control_init(struct agent *a);

/** The transport's on_control: one message from the collector (control.c). */
void pk_agent_on_control(struct pk_transport *t, const uint8_t *buf, size_t len);

/** SIGHUP: FILTER_FILE read again (agent_reload.c); the transport reads again what it can. */
void pk_agent_on_hup(void *data);

#endif

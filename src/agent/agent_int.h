/*
 * The agent's state, shared by agent.c (lifecycle), agent_source.c (capture or READ_FILE),
 * relay.c (batching, sequence, drops), agent_report.c (/metrics, /status) and agent_reload.c
 * (SIGHUP). Private to those files. Loop thread only.
 */
#ifndef PK_AGENT_INT_H
#define PK_AGENT_INT_H

#include "afamily.h"
#include "frame.h"
#include "http.h"
#include "loop.h"
#include "reports.h"
#include "transport.h"

#include <stdint.h>
#include <uv.h>

struct pk_capture;
struct pk_replay;

#define CONTROL_BUF_SIZE (64 * 1024) /* hello: 4 strings of at most 8 KiB + header */

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
    struct pk_http *http; /* NULL when METRICS_ADDRPORT is empty */
    struct pk_reporter reporter; /* what http renders */
    struct pk_af_hist hist;
    uint64_t start_ns;

    struct pk_frame_source src;
    struct pk_hello hello;
    char host[256], exclude[1024];
    const char *filter; /* in force, for hello and logs */

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

/** SIGHUP: one log line; the transport reads again what it can (ops->reload). */
void pk_agent_on_hup(void *data);

#endif

/*
 * Private to the zmq transport: a ZAP handler (rfc.zeromq.org/spec:27/ZAP) served on the
 * libuv loop. libzmq asks it, over inproc://zeromq.zap.01, about every peer that connects to
 * the collector: its address (COLLECT_ALLOW) and, with CURVE, its public key
 * (COLLECT_CURVE_ALLOWED). An allowed CURVE peer gets its key as ZAP user id, which libzmq
 * then attaches to each of its messages ("User-Id").
 */
#ifndef PK_ZMQ_ZAP_H
#define PK_ZMQ_ZAP_H

#include <uv.h>

struct pk_access;

#define PK_ZAP_DOMAIN "pcktr"

struct zap_handler {
    void *sock; /* ZMQ_REP bound to inproc://zeromq.zap.01 */
    uv_poll_t poll;
    int watching; /* poll was initialised: it must be closed before the handler is freed */
    struct pk_access *access;
    uint64_t requests;
};

/** Binds the handler in ctx (before any socket of ctx binds) and watches it on loop. */
int pk_zap_start(struct zap_handler *z, void *ctx, uv_loop_t *loop, struct pk_access *access,
                 char *errbuf);

/** Answers every pending request; runs from the poll callback and the transport's idle. */
void pk_zap_process(struct zap_handler *z);

#endif

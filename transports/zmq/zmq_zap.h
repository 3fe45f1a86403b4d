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

struct zap_handler; /* its socket, the poll handle that watches it, the access list */

/**
 * Binds a handler in ctx (before any socket of ctx binds) and watches it on loop: 0 and *out,
 * or -errno with errbuf (nothing is left open; a poll handle that was initialised frees what
 * it held in its own close callback).
 */
int pk_zap_open(struct zap_handler **out, void *ctx, uv_loop_t *loop, struct pk_access *access,
                char *errbuf);

/** Answers every pending request; runs from the poll callback and the transport's idle. */
void pk_zap_process(struct zap_handler *z);

/**
 * Stops answering and closes the poll handle; in its close callback the socket is closed
 * (so that zmq_ctx_term of ctx can end), z freed, and then cb(data) called.
 */
void pk_zap_close(struct zap_handler *z, void (*cb)(void *data), void *data);

#endif

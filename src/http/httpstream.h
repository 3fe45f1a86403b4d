/*
 * GET /stream for http.c: the collector's merged stream as one endless HTTP/1.1 response
 * (chunked), fed from a reader sink of the output stage (sink.h) that this response drains:
 * h2o's proceed callback (the client took the last piece) takes the next queued bytes, so a
 * client that reads slowly or not at all costs its SERVE_BUFFER (whole packets are dropped and
 * counted beyond it) and never slows the primary output or another reader. Query:
 * format=pcap|pcap-ns|pcapng (default pcap, microseconds), filter=BPF (libpcap's message and 400
 * when it does not compile). Who may read is the gate's (SERVE_ALLOW: 403, the reader limit:
 * 503). Not subject to the stall reset of rendered bodies: a stream may idle for hours. Private
 * to http.c; loop thread only.
 */
#ifndef PK_HTTPSTREAM_H
#define PK_HTTPSTREAM_H

#include "http.h"

#include <uv.h>

struct st_h2o_req_t;
struct stream;

struct pk_http_streams {
    struct pk_http_stream_source src; /* src.sinks NULL: no /stream (the agent) */
    struct stream *list;              /* responses in progress */
    int ending;                       /* the server stops: each ends once its queue is sent */
    uv_timer_t watch_timer;           /* looks for clients that left an idle stream */
};

/** Starts the (unreferenced) watch for readers that left. 0, or uv_timer_init's error. */
int pk_httpstream_init(struct pk_http_streams *s, uv_loop_t *loop);

/** Closes the watch; the memory must last until the loop has run its close callback. */
void pk_httpstream_close(struct pk_http_streams *s);

/** Answers GET or HEAD /stream. */
void pk_httpstream_respond(struct pk_http_streams *s, struct st_h2o_req_t *req);

/** At stop: every stream ends (a clean end of the chunked body) once its queue is sent. */
void pk_httpstream_end_all(struct pk_http_streams *s);

/** Resets the connections of the streams still open (their readers do not read). */
void pk_httpstream_reset_all(struct pk_http_streams *s);

#endif

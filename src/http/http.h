/*
 * The HTTP server for /metrics and /status: libh2o 2.2.5 (libuv flavour) on the process's loop,
 * plain HTTP/1 only. GET and HEAD on registered paths; other paths 404, other methods 405.
 * Bounded: at most 256 connections (32 per address), 64 MiB of rendered bodies over all clients (then 503), and
 * a client that takes no part of its response for 5 s is reset. The collector's GET /stream
 * (httpstream.h) is an endless body bounded instead by its reader's SERVE_BUFFER, and is not
 * reset while idle. Loop thread only.
 */
#ifndef PK_HTTP_H
#define PK_HTTP_H

#include "endpoint.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct pk_http_route {
    const char *path; /* matched exactly */
    const char *content_type;
    /** Returns a malloc'd body of *len bytes (the server frees it), or NULL for a 500. */
    char *(*render)(void *data, size_t *len);
};

struct pk_http;

/* What clients cost the server; for /metrics and /status (docs/METRICS.md, docs/STATUS.md). */
struct pk_http_counters {
    uint64_t connections;          /* accepted and served */
    uint64_t connections_refused;  /* closed at accept: too many open connections */
    uint64_t responses_busy;       /* answered 503: the bodies held would pass held_limit */
    uint64_t clients_stalled;      /* reset: took no part of a response for the stall timeout */
    uint64_t held_bytes, held_peak; /* rendered bodies being sent (shared between clients) */
    uint64_t held_limit;
};

/**
 * Listens on ep (host "" means every address, IPv6 and IPv4) and serves routes, which must
 * outlive the server; `what` is METRICS_ADDRPORT as written, for messages. Returns 0, or a
 * negative errno with errbuf filled when the address cannot be listened on (the server is then
 * already stopped). Either way *out must be freed with pk_http_free once the loop has ended.
 */
int pk_http_start(struct pk_http **out, uv_loop_t *loop, const struct pk_endpoint *ep,
                  const char *what, const struct pk_http_route *routes, size_t nroutes,
                  void *data, char *errbuf);

/**
 * Stops listening, lets open connections finish (h2o closes idle ones after 1 s), then releases
 * h2o's handles and calls cb. If connections remain after a grace period, h2o cannot be disposed
 * safely; the loop is then stopped (uv_stop) so the process can still exit.
 */
void pk_http_stop(struct pk_http *h, void (*cb)(void *data), void *data); /* idempotent */

struct pk_sinkset;
struct pk_gate;

/* GET /stream: the collector's merged stream (httpstream.h). */
struct pk_http_stream_source {
    struct pk_sinkset *sinks; /* where each response's reader sink is added */
    struct pk_gate *gate;     /* who may read (SERVE_ALLOW) and how many at once */
    size_t buffer;            /* SERVE_BUFFER: the queue of each response */
};

/** Serves GET /stream from src (borrowed until pk_http_free); without it /stream is 404. */
void pk_http_set_stream(struct pk_http *h, const struct pk_http_stream_source *src);

struct pk_control_plane;

/**
 * Serves the control API under /control from cp (control.h; borrowed until pk_http_free) when
 * it is enabled (CONTROL_TOKEN_FILE set): GET /control, PUT and DELETE /control/all and
 * /control/sources/NAME (docs/CONTROL.md). Without it, or with cp NULL, /control is 404.
 */
void pk_http_set_control(struct pk_http *h, struct pk_control_plane *cp);

/** The server's counters, borrowed until pk_http_free; NULL for a NULL server. */
const struct pk_http_counters *pk_http_counters(const struct pk_http *h);

/** Frees the server; only after the loop has released every handle (after uv_run returned). */
void pk_http_free(struct pk_http *h);

#endif

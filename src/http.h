/*
 * The HTTP server for /metrics and /status: libh2o 2.2.5 (libuv flavour) on the process's loop,
 * plain HTTP/1 only (see shared RECIPES.md section 1). GET and HEAD on registered paths; other
 * paths 404, other methods 405. Loop thread only.
 */
#ifndef PK_HTTP_H
#define PK_HTTP_H

#include "endpoint.h"

#include <stddef.h>
#include <uv.h>

struct pk_http_route {
    const char *path; /* matched exactly */
    const char *content_type;
    /** Returns a malloc'd body of *len bytes (the server frees it), or NULL for a 500. */
    char *(*render)(void *data, size_t *len);
};

struct pk_http;

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

/** Frees the server; only after the loop has released every handle (after uv_run returned). */
void pk_http_free(struct pk_http *h);

#endif

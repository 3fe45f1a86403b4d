/*
 * How http.c sends responses (see httpsend.c): bodies rendered once and shared, sent in pieces,
 * bounded over all clients; a client that stops reading is reset. Private to http.c; loop
 * thread only.
 */
#ifndef PK_HTTPSEND_H
#define PK_HTTPSEND_H

#include <stddef.h>
#include <uv.h>

#define PK_HTTP_MAX_ROUTES 8

struct pk_http_route;
struct pk_http_counters;
struct st_h2o_req_t;
struct body;
struct response;

struct pk_http_sender {
    uv_loop_t *loop;
    const struct pk_http_route *routes;
    size_t nroutes;
    void *data; /* for the routes' render */
    struct body *latest[PK_HTTP_MAX_ROUTES]; /* per route: the newest body being sent, or NULL */
    struct response *responses;               /* in progress */
    struct pk_http_counters *counters;        /* the server's */
    uv_timer_t watch_timer;                   /* looks for stalled clients */
};

/** Sets up the sender and starts its (unreferenced) stall watch; routes must outlive it.
 *  0, or the negative errno of uv_timer_init (then there is nothing to close). */
int pk_httpsend_init(struct pk_http_sender *s, uv_loop_t *loop, const struct pk_http_route *routes,
                     size_t nroutes, void *data, struct pk_http_counters *counters);

/** Answers req with route i's body: 200 in pieces, 503 past the bound, 500 when render fails. */
void pk_httpsend_respond(struct pk_http_sender *s, struct st_h2o_req_t *req, size_t i);

/**
 * Resets the connection of req: the write in progress fails and h2o disposes of the request
 * through its usual error path (h2o 2.2.5 cannot abort an HTTP/1 response from outside).
 */
void pk_httpsend_reset_request(struct st_h2o_req_t *req);

/** Resets every client still being sent to (at shutdown). */
void pk_httpsend_reset_all(struct pk_http_sender *s);

/** Closes the stall watch; the memory must last until the loop has run its close callback. */
void pk_httpsend_close(struct pk_http_sender *s);

#endif

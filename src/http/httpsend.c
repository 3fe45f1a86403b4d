/*
 * Sending responses for http.c so that no client can make the server hold much. h2o_send_inline
 * copies the whole body into each request's pool, and h2o 2.2.5 has no timeout while a
 * response is being written: a client that sent GET /status and never read pinned a whole
 * rendered /status (136 MB with 1,023 planted sources) for as long as it liked. Here a body is
 * rendered once, held by reference count and shared by the requests for the same path that
 * arrive while it is still being sent (and is under SHARE_MS old), handed to h2o in PIECE_BYTES
 * pieces (the next one only once the kernel took the last), and counted against HELD_MAX_BYTES
 * over all clients (past it: 503). A client that takes no piece for STALL_MS is reset.
 * Rendering runs on the loop and blocks the data path while it runs (a /status of 1,023 maximal
 * sources took seconds under ASan): a body is shared for at least SHARE_RENDER_FACTOR times as
 * long as it took to render, counted from its end, and no rendering starts while the bodies held
 * are at HELD_MAX_BYTES, so requests cannot keep the loop rendering.
 * Loop thread only.
 */
#include "httpsend.h"
#include "http.h"
#include "pcktr.h"

#include <h2o.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define PIECE_BYTES (64u << 10) /* handed to h2o (and the kernel) at a time */
#define SHARE_MS 1000           /* a body still being sent is reused this long, at least */
#define SHARE_RENDER_FACTOR 4   /* ... and this many times its rendering time: at most 1/5 */
#define STALL_MS 5000           /* a response whose client takes nothing this long is reset */
#define WATCH_MS 500            /* how often responses are checked for a stall */
#define HELD_MAX_BYTES (32u << 20) /* rendered bodies held for all clients together */

/* A rendered body, shared by the responses that send it; freed with the last of them. */
struct body {
    size_t refs, len;
    size_t route;
    uint64_t rendered_ms, share_ms; /* when rendering ended; how long it is reused */
    char *data;
};

/* One response in progress; lives in the request's pool (freed by h2o with the request). */
struct response {
    h2o_generator_t super; /* first: h2o hands us this pointer */
    struct pk_http_sender *sender;
    h2o_req_t *req;
    struct body *body;
    size_t sent;          /* bytes handed to h2o */
    uint64_t progress_ms; /* when the last piece was handed over (the one before was written) */
    int reset;            /* the connection was reset */
    struct response *prev, *next; /* in pk_http_sender.responses */
};

static void
body_release(struct pk_http_sender *h, struct body *b)
{
    if (--b->refs > 0)
        return;
    h->counters->held_bytes -= b->len;
    if (h->latest[b->route] == b)
        h->latest[b->route] = NULL;
    free(b->data);
    free(b);
}

/*
 * The body for a request on route i: the newest one of that route when it is still being sent
 * and young (so that many clients cost one body), else a new rendering. NULL with *busy set when
 * it would take the bodies held past HELD_MAX_BYTES; NULL alone when rendering failed.
 */
static struct body *
body_get(struct pk_http_sender *h, size_t i, int *busy)
{
    struct body *b = h->latest[i];
    uint64_t now = uv_hrtime() / 1000000, took;
    size_t len = 0;
    char *data;

    *busy = 0;
    if (b != NULL && now - b->rendered_ms < b->share_ms) {
        b->refs++;
        return b;
    }
    if (h->counters->held_bytes >= HELD_MAX_BYTES) {
        *busy = 1; /* full: answered without rendering at all */
        return NULL;
    }
    if ((data = h->routes[i].render(h->data, &len)) == NULL)
        return NULL;
    took = uv_hrtime() / 1000000 - now;
    now += took;
    if (h->counters->held_bytes + len > HELD_MAX_BYTES || (b = malloc(sizeof(*b))) == NULL) {
        *busy = h->counters->held_bytes + len > HELD_MAX_BYTES;
        free(data);
        return NULL;
    }
    *b = (struct body){.refs = 1,
                       .len = len,
                       .route = i,
                       .rendered_ms = now,
                       .share_ms = took * SHARE_RENDER_FACTOR > SHARE_MS ? took * SHARE_RENDER_FACTOR
                                                                         : SHARE_MS,
                       .data = data};
    h->counters->held_bytes += len;
    if (h->counters->held_bytes > h->counters->held_peak)
        h->counters->held_peak = h->counters->held_bytes;
    h->latest[i] = b;
    return b;
}

static void
send_piece(struct response *r)
{
    size_t n = r->body->len - r->sent;
    h2o_iovec_t buf;

    if (n > PIECE_BYTES)
        n = PIECE_BYTES;
    buf = h2o_iovec_init(r->body->data + r->sent, n);
    r->sent += n;
    r->progress_ms = uv_now(r->sender->loop);
    h2o_send(r->req, &buf, 1,
             r->sent == r->body->len ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

/* h2o calls this once the last piece is written: the client has taken it. */
static void
on_proceed(h2o_generator_t *self, h2o_req_t *req)
{
    (void)req;
    send_piece((struct response *)self);
}

/* Called by h2o when the request's pool goes: the response is over, written or not. */
static void
on_response_dispose(void *p)
{
    struct response *r = p;
    struct pk_http_sender *h = r->sender;

    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        h->responses = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    body_release(h, r->body);
}

/*
 * Resets the connection of a response: the write in progress fails, h2o closes the connection
 * and disposes of the request (and so of the response) through its usual error path. h2o 2.2.5
 * has no call to abort an HTTP/1 response from outside, hence shutdown(2) on its socket; a zero
 * linger makes the close an RST that drops what the kernel still holds for that client.
 */
void
pk_httpsend_reset_request(h2o_req_t *req)
{
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    int fd = sock != NULL ? h2o_socket_get_fd(sock) : -1;

    if (fd < 0)
        return;
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    (void)shutdown(fd, SHUT_RDWR);
}

static void
reset_response(struct response *r)
{
    if (r->reset)
        return;
    r->reset = 1;
    pk_httpsend_reset_request(r->req);
}

static void
on_watch_timer(uv_timer_t *t)
{
    struct pk_http_sender *h = container_of(t, struct pk_http_sender, watch_timer);
    uint64_t now = uv_now(h->loop);

    for (struct response *r = h->responses; r != NULL; r = r->next)
        if (!r->reset && now - r->progress_ms >= STALL_MS) {
            h->counters->clients_stalled++;
            reset_response(r);
        }
}

void
pk_httpsend_respond(struct pk_http_sender *h, h2o_req_t *req, size_t i)
{
    struct response *r;
    struct body *b;
    int busy;

    if ((b = body_get(h, i, &busy)) == NULL) {
        if (!busy) {
            h2o_send_error_500(req, "Internal Server Error", "cannot render\n", 0);
            return;
        }
        h->counters->responses_busy++;
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("1"));
        h2o_send_error_503(req, "Service Unavailable",
                           "busy: too much is being sent to other clients; try again\n",
                           H2O_SEND_ERROR_KEEP_HEADERS);
        return;
    }
    r = h2o_mem_alloc_shared(&req->pool, sizeof(*r), on_response_dispose);
    *r = (struct response){.super = {.proceed = on_proceed}, .sender = h, .req = req, .body = b,
                           .progress_ms = uv_now(h->loop), .next = h->responses};
    if (h->responses != NULL)
        h->responses->prev = r;
    h->responses = r;
    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = b->len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   h->routes[i].content_type, strlen(h->routes[i].content_type));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("no-store"));
    h2o_start_response(req, &r->super);
    if (h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD")) ||
        b->len == 0)
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
    else
        send_piece(r);
}

int
pk_httpsend_init(struct pk_http_sender *h, uv_loop_t *loop, const struct pk_http_route *routes,
                 size_t nroutes, void *data, struct pk_http_counters *counters)
{
    int rc;

    memset(h, 0, sizeof(*h));
    h->loop = loop;
    h->routes = routes;
    h->nroutes = nroutes < PK_HTTP_MAX_ROUTES ? nroutes : PK_HTTP_MAX_ROUTES;
    h->data = data;
    h->counters = counters;
    counters->held_limit = HELD_MAX_BYTES;
    if ((rc = uv_timer_init(loop, &h->watch_timer)) != 0)
        return rc;
    uv_unref((uv_handle_t *)&h->watch_timer);
    return uv_timer_start(&h->watch_timer, on_watch_timer, WATCH_MS, WATCH_MS);
}

void
pk_httpsend_reset_all(struct pk_http_sender *h)
{
    for (struct response *r = h->responses; r != NULL; r = r->next)
        reset_response(r);
}

void
pk_httpsend_close(struct pk_http_sender *h)
{
    uv_close((uv_handle_t *)&h->watch_timer, NULL);
}

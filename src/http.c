/*
 * h2o on the shared libuv loop. Pitfalls, each observed: paths match by prefix
 * (compare path_normalized ourselves); a 405 needs H2O_SEND_ERROR_KEEP_HEADERS to keep Allow;
 * without content_length the answer is chunked; h2o_context_dispose aborts while a connection
 * is open; h2o's context keeps the loop alive until it is disposed.
 *
 * What a client can make the server hold. h2o_send_inline copies the whole body into each
 * request's pool, and h2o 2.2.5 has no timeout while a response is being written: a client that
 * sends GET /status and never reads pinned a whole rendered /status (136 MB with 1,023 planted
 * sources) for as long as it liked. So a body is rendered once, held by reference count and
 * shared by the requests for the same path that arrive while it is still being sent (and is
 * under SHARE_MS old), handed to h2o in PIECE_BYTES pieces (the next one only when the kernel
 * took the last), and counted against HELD_MAX_BYTES over all clients (past it: 503). A client
 * whose connection takes no piece for STALL_MS is reset. At most MAX_CONNS connections.
 */
#define PK_LOG_MODULE "http"
#include "http.h"
#include "log.h"
#include "pcktr.h"

#include <errno.h>
#include <h2o.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_LISTENERS 2
#define REQ_TIMEOUT_MS 1000   /* idle keep-alive and silent connections close after this */
#define DRAIN_GRACE_MS 2500   /* how long stop waits for open connections */
#define DRAIN_POLL_MS 50
#define MAX_ROUTES 8
#define PIECE_BYTES (64u << 10) /* handed to h2o (and the kernel) at a time */
#define SHARE_MS 1000           /* a body still being sent is reused this long */
#define STALL_MS 5000           /* a response whose client takes nothing this long is reset */
#define WATCH_MS 500            /* how often responses are checked for a stall */
#define HELD_MAX_BYTES (64u << 20) /* rendered bodies held for all clients together */
#define MAX_CONNS 256

/* A rendered body, shared by the responses that send it; freed with the last of them. */
struct body {
    size_t refs, len;
    size_t route;
    uint64_t rendered_ms;
    char *data;
};

/* One response in progress; lives in the request's pool (freed by h2o with the request). */
struct response {
    h2o_generator_t super; /* first: h2o hands us this pointer */
    struct pk_http *http;
    h2o_req_t *req;
    struct body *body;
    size_t sent;          /* bytes handed to h2o */
    uint64_t progress_ms; /* when the last piece was handed over (the one before was written) */
    int reset;            /* the connection was reset for a stall */
    struct response *prev, *next; /* in pk_http.responses */
};

struct pk_http {
    uv_loop_t *loop;
    h2o_globalconf_t conf;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    uv_tcp_t listeners[MAX_LISTENERS];
    int nlisteners;
    int live_conns;
    uv_timer_t drain_timer, watch_timer;
    uint64_t drain_started;
    struct body *latest[MAX_ROUTES]; /* per route: the newest body still being sent, or NULL */
    struct response *responses;      /* in progress */
    struct pk_http_counters counters;
    const struct pk_http_route *routes;
    size_t nroutes;
    void *data;
    void (*stopped_cb)(void *data);
    void *stopped_data;
    int stopped;
};

struct route_handler {
    h2o_handler_t super; /* first: h2o hands us this pointer */
    struct pk_http *http;
};

static void
body_release(struct pk_http *h, struct body *b)
{
    if (--b->refs > 0)
        return;
    h->counters.held_bytes -= b->len;
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
body_get(struct pk_http *h, size_t i, int *busy)
{
    struct body *b = h->latest[i];
    uint64_t now = uv_now(h->loop);
    size_t len = 0;
    char *data;

    *busy = 0;
    if (b != NULL && now - b->rendered_ms < SHARE_MS) {
        b->refs++;
        return b;
    }
    if ((data = h->routes[i].render(h->data, &len)) == NULL)
        return NULL;
    if (h->counters.held_bytes + len > HELD_MAX_BYTES || (b = malloc(sizeof(*b))) == NULL) {
        *busy = h->counters.held_bytes + len > HELD_MAX_BYTES;
        free(data);
        return NULL;
    }
    *b = (struct body){.refs = 1, .len = len, .route = i, .rendered_ms = now, .data = data};
    h->counters.held_bytes += len;
    if (h->counters.held_bytes > h->counters.held_peak)
        h->counters.held_peak = h->counters.held_bytes;
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
    r->progress_ms = uv_now(r->http->loop);
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
    struct pk_http *h = r->http;

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
static void
reset_response(struct response *r)
{
    h2o_socket_t *sock = r->req->conn->callbacks->get_socket(r->req->conn);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    int fd = sock != NULL ? h2o_socket_get_fd(sock) : -1;

    if (r->reset || fd < 0)
        return;
    r->reset = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    (void)shutdown(fd, SHUT_RDWR);
}

static void
on_watch_timer(uv_timer_t *t)
{
    struct pk_http *h = container_of(t, struct pk_http, watch_timer);
    uint64_t now = uv_now(h->loop);

    for (struct response *r = h->responses; r != NULL; r = r->next)
        if (!r->reset && now - r->progress_ms >= STALL_MS) {
            h->counters.clients_stalled++;
            reset_response(r);
        }
}

static void
respond(struct pk_http *h, h2o_req_t *req, size_t i)
{
    struct response *r;
    struct body *b;
    int busy;

    if ((b = body_get(h, i, &busy)) == NULL) {
        if (!busy) {
            h2o_send_error_500(req, "Internal Server Error", "cannot render\n", 0);
            return;
        }
        h->counters.responses_busy++;
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT("1"));
        h2o_send_error_503(req, "Service Unavailable",
                           "busy: too much is being sent to other clients; try again\n",
                           H2O_SEND_ERROR_KEEP_HEADERS);
        return;
    }
    r = h2o_mem_alloc_shared(&req->pool, sizeof(*r), on_response_dispose);
    *r = (struct response){.super = {.proceed = on_proceed}, .http = h, .req = req, .body = b,
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

static int
on_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct pk_http *h = ((struct route_handler *)self)->http;
    size_t i;

    for (i = 0; i < h->nroutes; i++)
        if (h2o_memis(req->path_normalized.base, req->path_normalized.len, h->routes[i].path,
                      strlen(h->routes[i].path)))
            break;
    if (i == h->nroutes) {
        h2o_send_error_404(req, "Not Found", "not found; try /metrics or /status\n", 0);
        return 0;
    }
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) &&
        !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, H2O_STRLIT("GET, HEAD"));
        h2o_send_error_405(req, "Method Not Allowed", "method not allowed; use GET or HEAD\n",
                           H2O_SEND_ERROR_KEEP_HEADERS);
        return 0;
    }
    respond(h, req, i);
    return 0;
}

/* h2o's uv binding takes over handle->data, so the way back to the server is container_of. */
struct http_conn {
    uv_tcp_t tcp;
    struct pk_http *http;
};

static void
on_conn_closed(uv_handle_t *handle)
{
    struct http_conn *conn = container_of(handle, struct http_conn, tcp);

    conn->http->live_conns--;
    free(conn);
}

static void
on_accept(uv_stream_t *listener, int status)
{
    struct pk_http *h = listener->data;
    struct http_conn *conn;
    h2o_socket_t *sock;

    if (status != 0)
        return;
    if ((conn = malloc(sizeof(*conn))) == NULL)
        return;
    uv_tcp_init(h->loop, &conn->tcp);
    conn->http = h;
    h->live_conns++;
    /* Past MAX_CONNS a connection is accepted and closed at once: left in the backlog, it
     * would keep the listener readable and the loop spinning. */
    if (uv_accept(listener, (uv_stream_t *)&conn->tcp) != 0 || h->live_conns > MAX_CONNS) {
        if (h->live_conns > MAX_CONNS)
            h->counters.connections_refused++;
        uv_close((uv_handle_t *)&conn->tcp, on_conn_closed);
        return;
    }
    h->counters.connections++;
    sock = h2o_uv_socket_create((uv_stream_t *)&conn->tcp, on_conn_closed);
    h2o_accept(&h->accept_ctx, sock);
}

static int
listen_on(struct pk_http *h, const struct sockaddr *sa, char *errbuf, const char *what)
{
    uv_tcp_t *l = &h->listeners[h->nlisteners];
    char addr[INET6_ADDRSTRLEN + 8];
    int rc;

    uv_tcp_init(h->loop, l);
    l->data = h;
    h->nlisteners++;
    if ((rc = uv_tcp_bind(l, sa, 0)) != 0 || (rc = uv_listen((uv_stream_t *)l, 128, on_accept)) != 0)
        return pk_seterr(errbuf, rc, "METRICS_ADDRPORT=\"%s\": cannot listen on %s: %s", what,
                         pk_sockaddr_str(sa, addr, sizeof(addr)), uv_strerror(rc));
    return 0;
}

static int
open_listeners(struct pk_http *h, const struct pk_endpoint *ep, const char *what, char *errbuf)
{
    struct pk_endpoint resolved = *ep;
    int rc;

    if (ep->host[0] == '\0') {
        struct sockaddr_in6 any6;
        struct sockaddr_in any4;
        uv_ip6_addr("::", ep->port, &any6);
        uv_ip4_addr("0.0.0.0", ep->port, &any4);
        /* "::" takes IPv4 too unless the host sets bindv6only; without IPv6 use 0.0.0.0. */
        rc = listen_on(h, (struct sockaddr *)&any6, errbuf, what);
        if (rc == UV_EAFNOSUPPORT || rc == UV_EADDRNOTAVAIL) {
            uv_close((uv_handle_t *)&h->listeners[--h->nlisteners], NULL);
            rc = listen_on(h, (struct sockaddr *)&any4, errbuf, what);
        }
        return rc;
    }
    if ((rc = pk_endpoint_resolve(&resolved, errbuf)) != 0)
        return pk_seterr(errbuf, rc, "METRICS_ADDRPORT=\"%s\": cannot resolve \"%s\"", what,
                         ep->host);
    for (int i = 0; i < resolved.naddrs && i < MAX_LISTENERS; i++)
        if ((rc = listen_on(h, (struct sockaddr *)&resolved.addrs[i], errbuf, what)) != 0)
            return rc;
    return 0;
}

int
pk_http_start(struct pk_http **out, uv_loop_t *loop, const struct pk_endpoint *ep,
              const char *what, const struct pk_http_route *routes, size_t nroutes, void *data,
              char *errbuf)
{
    struct pk_http *h = calloc(1, sizeof(*h));
    h2o_hostconf_t *host;
    h2o_pathconf_t *path;
    struct route_handler *handler;
    int rc;

    *out = h;
    if (h == NULL)
        return pk_seterr(errbuf, -ENOMEM, "out of memory");
    h->loop = loop;
    h->routes = routes;
    h->nroutes = nroutes < MAX_ROUTES ? nroutes : MAX_ROUTES;
    h->counters.held_limit = HELD_MAX_BYTES;
    h->data = data;
    h2o_config_init(&h->conf);
    h->conf.http1.req_timeout = REQ_TIMEOUT_MS;
    host = h2o_config_register_host(&h->conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    path = h2o_config_register_path(host, "/", 0); /* one handler; it routes by exact path */
    handler = (struct route_handler *)h2o_create_handler(path, sizeof(*handler));
    handler->super.on_req = on_req;
    handler->http = h;
    h2o_context_init(&h->ctx, loop, &h->conf);
    h->accept_ctx.ctx = &h->ctx;
    h->accept_ctx.hosts = h->conf.hosts;
    uv_timer_init(loop, &h->drain_timer);
    uv_timer_init(loop, &h->watch_timer);
    uv_timer_start(&h->watch_timer, on_watch_timer, WATCH_MS, WATCH_MS);
    uv_unref((uv_handle_t *)&h->watch_timer);
    if ((rc = open_listeners(h, ep, what, errbuf)) != 0)
        pk_http_stop(h, NULL, NULL);
    return rc;
}

static void
dispose(struct pk_http *h)
{
    uv_timer_stop(&h->drain_timer);
    uv_close((uv_handle_t *)&h->drain_timer, NULL);
    uv_close((uv_handle_t *)&h->watch_timer, NULL);
    if (h->live_conns == 0) {
        h2o_context_dispose(&h->ctx);
        h2o_config_dispose(&h->conf);
    } else {
        /* h2o_context_dispose would abort with a connection open; stop the loop instead. */
        pk_warn("%d HTTP connection(s) still open at exit; not waiting for them", h->live_conns);
        uv_stop(h->loop);
    }
    h->stopped = 1;
    if (h->stopped_cb)
        h->stopped_cb(h->stopped_data);
}

static void
on_drain_timer(uv_timer_t *t)
{
    struct pk_http *h = container_of(t, struct pk_http, drain_timer);

    if (h->live_conns == 0 || uv_now(h->loop) - h->drain_started >= DRAIN_GRACE_MS)
        dispose(h);
}

void
pk_http_stop(struct pk_http *h, void (*cb)(void *data), void *data)
{
    if (h->stopped) {
        if (cb)
            cb(data);
        return;
    }
    h->stopped_cb = cb;
    h->stopped_data = data;
    for (int i = 0; i < h->nlisteners; i++)
        uv_close((uv_handle_t *)&h->listeners[i], NULL);
    h->nlisteners = 0;
    for (struct response *r = h->responses; r != NULL; r = r->next)
        reset_response(r); /* a client that does not read must not hold up the exit */
    if (h->live_conns == 0) {
        dispose(h);
        return;
    }
    h->drain_started = uv_now(h->loop);
    uv_timer_start(&h->drain_timer, on_drain_timer, DRAIN_POLL_MS, DRAIN_POLL_MS);
}

const struct pk_http_counters *
pk_http_counters(const struct pk_http *h)
{
    return h != NULL ? &h->counters : NULL;
}

void
pk_http_free(struct pk_http *h)
{
    free(h);
}

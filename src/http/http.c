/*
 * h2o on the shared libuv loop. Pitfalls, each observed: paths match by prefix
 * (compare path_normalized ourselves); a 405 needs H2O_SEND_ERROR_KEEP_HEADERS to keep Allow;
 * without content_length the answer is chunked; h2o_context_dispose aborts while a connection
 * is open; h2o's context keeps the loop alive until it is disposed.
 *
 * What a client can make the server hold: httpsend.c sends the responses (shared bodies, 64 KiB
 * pieces, a bound over all clients, stalled clients reset); here, at most MAX_CONNS connections
 * and MAX_CONNS_PER_IP from one address, each with a fixed kernel send buffer.
 */
#define PK_LOG_MODULE "http"
#include "http.h"
#include "listen.h"
#include "httpsend.h"
#include "httpstream.h"
#include "control_api.h"
#include "control.h"
#include "log.h"
#include "pcktr.h"

#include <errno.h>
#include <h2o.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_REQUEST_BODY 1024 /* a larger request body is refused (413) before it is read;
                                 PK_CONTROL_API_BODY_MAX while the control API is on */
#define REQ_TIMEOUT_MS 1000   /* idle keep-alive and silent connections close after this */
#define DRAIN_GRACE_MS 2500   /* how long stop waits for open connections */
#define DRAIN_POLL_MS 50
#define STREAM_END_MS 1000    /* at stop, /stream readers that have not taken their end are reset */
#define MAX_CONNS 256
#define MAX_CONNS_PER_IP 32
#define SNDBUF_BYTES (128 << 10) /* per connection; Linux doubles it for bookkeeping */

struct pk_http {
    uv_loop_t *loop;
    h2o_globalconf_t conf;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    struct pk_listen_set listeners;
    int live_conns;
    uv_timer_t drain_timer;
    uint64_t drain_started;
    struct pk_http_sender sender;
    struct pk_http_streams streams; /* GET /stream */
    struct pk_control_api control;  /* /control (the collector's control plane) */
    int streams_reset;
    struct http_conn *conns; /* accepted and handed to h2o */
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

static int
on_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct pk_http *h = ((struct route_handler *)self)->http;
    size_t i;

    int stream = h->streams.src.sinks != NULL &&
                 h2o_memis(req->path_normalized.base, req->path_normalized.len,
                           H2O_STRLIT("/stream"));

    if (pk_control_api_matches(&h->control, req)) { /* its own methods (PUT, DELETE) */
        pk_control_api_respond(&h->control, req);
        return 0;
    }
    for (i = 0; !stream && i < h->nroutes; i++)
        if (h2o_memis(req->path_normalized.base, req->path_normalized.len, h->routes[i].path,
                      strlen(h->routes[i].path)))
            break;
    if (!stream && i == h->nroutes) {
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
    if (stream)
        pk_httpstream_respond(&h->streams, req);
    else
        pk_httpsend_respond(&h->sender, req, i);
    return 0;
}

/* h2o's uv binding takes over handle->data, so the way back to the server is container_of. */
struct http_conn {
    uv_tcp_t tcp;
    struct pk_http *http;
    struct sockaddr_storage peer; /* family 0 until known */
    struct http_conn *prev, *next; /* in pk_http.conns */
};

static void
on_conn_closed(uv_handle_t *handle)
{
    struct http_conn *conn = container_of(handle, struct http_conn, tcp);
    struct pk_http *h = conn->http;

    if (conn->prev != NULL)
        conn->prev->next = conn->next;
    else if (h->conns == conn)
        h->conns = conn->next;
    if (conn->next != NULL)
        conn->next->prev = conn->prev;
    h->live_conns--;
    free(conn);
}

static int
same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    if (a->ss_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
    return 0;
}

/* 1 when one more connection from conn's address would pass MAX_CONNS or MAX_CONNS_PER_IP. */
static int
over_limit(const struct pk_http *h, const struct http_conn *conn)
{
    int same = 0;

    if (h->live_conns >= MAX_CONNS)
        return 1;
    for (const struct http_conn *c = h->conns; c != NULL; c = c->next)
        same += same_ip(&c->peer, &conn->peer);
    return same >= MAX_CONNS_PER_IP;
}

static void
on_accept(uv_stream_t *listener, int status)
{
    struct pk_http *h = listener->data;
    struct http_conn *conn;
    h2o_socket_t *sock;
    int len = sizeof(struct sockaddr_storage);

    if (status != 0)
        return;
    if ((conn = calloc(1, sizeof(*conn))) == NULL)
        return;
    uv_tcp_init(h->loop, &conn->tcp);
    conn->http = h;
    h->live_conns++;
    /* Past a limit a connection is accepted and closed at once: left in the backlog, it would
     * keep the listener readable and the loop spinning. */
    if (uv_accept(listener, (uv_stream_t *)&conn->tcp) != 0) {
        uv_close((uv_handle_t *)&conn->tcp, on_conn_closed);
        return;
    }
    (void)uv_tcp_getpeername(&conn->tcp, (struct sockaddr *)&conn->peer, &len);
    h->live_conns--; /* over_limit counts the others */
    if (over_limit(h, conn)) {
        h->live_conns++;
        h->counters.connections_refused++;
        uv_close((uv_handle_t *)&conn->tcp, on_conn_closed);
        return;
    }
    h->live_conns++;
    conn->next = h->conns;
    if (h->conns != NULL)
        h->conns->prev = conn;
    h->conns = conn;
    h->counters.connections++;
    /* Fixed, so that the kernel's autotuning (up to 4 MB on loopback) does not hold that much
     * of a response for each client that does not read; ample for a LAN. */
    (void)uv_send_buffer_size((uv_handle_t *)&conn->tcp, &(int){SNDBUF_BYTES});
    sock = h2o_uv_socket_create((uv_stream_t *)&conn->tcp, on_conn_closed);
    h2o_accept(&h->accept_ctx, sock);
}

static int
open_listeners(struct pk_http *h, const struct pk_endpoint *ep, const char *what, char *errbuf)
{
    struct pk_endpoint resolved = *ep;
    char why[PK_ERRBUF_SIZE];
    int rc;

    if (ep->host[0] != '\0' && (rc = pk_endpoint_resolve(&resolved, errbuf)) != 0)
        return pk_seterr(errbuf, rc, "METRICS_ADDRPORT=\"%s\": cannot resolve \"%s\"", what,
                         ep->host);
    if ((rc = pk_listen_open(&h->listeners, h->loop, &resolved, on_accept, h, "", why)) != 0)
        return pk_seterr(errbuf, rc, "METRICS_ADDRPORT=\"%s\": %s", what, why);
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
    int rc, rc_send, rc_stream;

    *out = h;
    if (h == NULL)
        return pk_seterr(errbuf, -ENOMEM, "out of memory");
    h->loop = loop;
    h->routes = routes;
    h->nroutes = nroutes < PK_HTTP_MAX_ROUTES ? nroutes : PK_HTTP_MAX_ROUTES;
    h->data = data;
    h2o_config_init(&h->conf);
    h->conf.http1.req_timeout = REQ_TIMEOUT_MS;
    /*
     * Plain HTTP/1 only, as the routes need (GET and HEAD, no body): h2o's defaults would take
     * a 1 GB request body into memory (measured: 716 MB for 64 clients posting to /status) and
     * speak HTTP/2 to a client that asks (an h2c upgrade, or its preface), where a stream of
     * HEADERS and RST_STREAM frames kept a core busy and /status unanswered for 25 s.
     */
    h->conf.max_request_entity_size = MAX_REQUEST_BODY;
    h->conf.http1.upgrade_to_http2 = 0;
    host = h2o_config_register_host(&h->conf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    path = h2o_config_register_path(host, "/", 0); /* one handler; it routes by exact path */
    handler = (struct route_handler *)h2o_create_handler(path, sizeof(*handler));
    handler->super.on_req = on_req;
    handler->http = h;
    h2o_context_init(&h->ctx, loop, &h->conf);
    h->accept_ctx.ctx = &h->ctx;
    h->accept_ctx.hosts = h->conf.hosts;
    /*
     * The timers' inits only fill the handles in (they cannot fail in practice), and each runs
     * whatever came before, so that pk_http_stop may close all of them.
     */
    rc = uv_timer_init(loop, &h->drain_timer);
    rc_send = pk_httpsend_init(&h->sender, loop, routes, nroutes, data, &h->counters);
    rc_stream = pk_httpstream_init(&h->streams, loop);
    if (rc == 0)
        rc = rc_send != 0 ? rc_send : rc_stream;
    if (rc != 0)
        pk_seterr(errbuf, rc, "METRICS_ADDRPORT=\"%s\": cannot start the HTTP server's timers: %s",
                  what, uv_strerror(rc));
    else
        rc = open_listeners(h, ep, what, errbuf);
    if (rc != 0)
        pk_http_stop(h, NULL, NULL);
    return rc;
}

static void
dispose(struct pk_http *h)
{
    uv_timer_stop(&h->drain_timer);
    uv_close((uv_handle_t *)&h->drain_timer, NULL);
    pk_httpsend_close(&h->sender);
    pk_httpstream_close(&h->streams);
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

    if (!h->streams_reset && uv_now(h->loop) - h->drain_started >= STREAM_END_MS) {
        h->streams_reset = 1;
        pk_httpstream_reset_all(&h->streams);
    }
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
    pk_listen_close(&h->listeners);
    pk_httpsend_reset_all(&h->sender); /* a client that does not read must not hold up exit */
    pk_httpstream_end_all(&h->streams); /* each ends cleanly once its queue is sent */
    if (h->live_conns == 0) {
        dispose(h);
        return;
    }
    h->drain_started = uv_now(h->loop);
    uv_timer_start(&h->drain_timer, on_drain_timer, DRAIN_POLL_MS, DRAIN_POLL_MS);
}

void
pk_http_set_stream(struct pk_http *h, const struct pk_http_stream_source *src)
{
    if (h != NULL)
        h->streams.src = *src;
}

void
pk_http_set_control(struct pk_http *h, struct pk_control_plane *cp)
{
    if (h == NULL)
        return;
    h->control.cp = cp;
    h->control.loop = h->loop;
    /* h2o reads the bound at each request: a PUT's body may now be larger, for everyone. */
    h->conf.max_request_entity_size =
        pk_control_plane_enabled(cp) ? PK_CONTROL_API_BODY_MAX : MAX_REQUEST_BODY;
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

/*
 * h2o on the shared libuv loop. Pitfalls, each observed (RECIPES.md 1): paths match by prefix
 * (compare path_normalized ourselves); a 405 needs H2O_SEND_ERROR_KEEP_HEADERS to keep Allow;
 * without content_length the answer is chunked; h2o_context_dispose aborts while a connection
 * is open; h2o's context keeps the loop alive until it is disposed.
 */
#define PK_LOG_MODULE "http"
#include "http.h"
#include "listen.h"
#include "log.h"
#include "pcktr.h"

#include <errno.h>
#include <h2o.h>
#include <stdlib.h>
#include <string.h>

#define REQ_TIMEOUT_MS 1000   /* idle keep-alive and silent connections close after this */
#define DRAIN_GRACE_MS 2500   /* how long stop waits for open connections */
#define DRAIN_POLL_MS 50

struct pk_http {
    uv_loop_t *loop;
    h2o_globalconf_t conf;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    struct pk_listen_set listeners;
    int live_conns;
    uv_timer_t drain_timer;
    uint64_t drain_started;
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
    const struct pk_http_route *route = NULL;
    size_t len = 0;
    char *body;

    for (size_t i = 0; i < h->nroutes && route == NULL; i++)
        if (h2o_memis(req->path_normalized.base, req->path_normalized.len, h->routes[i].path,
                      strlen(h->routes[i].path)))
            route = &h->routes[i];
    if (route == NULL) {
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
    if ((body = route->render(h->data, &len)) == NULL) {
        h2o_send_error_500(req, "Internal Server Error", "cannot render\n", 0);
        return 0;
    }
    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   route->content_type, strlen(route->content_type));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("no-store"));
    h2o_send_inline(req, body, len); /* copies into the request's pool */
    free(body);
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
    if (uv_accept(listener, (uv_stream_t *)&conn->tcp) != 0) {
        uv_close((uv_handle_t *)&conn->tcp, on_conn_closed);
        return;
    }
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
    int rc;

    *out = h;
    if (h == NULL)
        return pk_seterr(errbuf, -ENOMEM, "out of memory");
    h->loop = loop;
    h->routes = routes;
    h->nroutes = nroutes;
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
    if ((rc = open_listeners(h, ep, what, errbuf)) != 0)
        pk_http_stop(h, NULL, NULL);
    return rc;
}

static void
dispose(struct pk_http *h)
{
    uv_timer_stop(&h->drain_timer);
    uv_close((uv_handle_t *)&h->drain_timer, NULL);
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
    pk_listen_close(&h->listeners);
    if (h->live_conns == 0) {
        dispose(h);
        return;
    }
    h->drain_started = uv_now(h->loop);
    uv_timer_start(&h->drain_timer, on_drain_timer, DRAIN_POLL_MS, DRAIN_POLL_MS);
}

void
pk_http_free(struct pk_http *h)
{
    free(h);
}

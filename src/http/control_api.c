/*
 * The control API (control_api.h). The peer is checked before the token, so that a client
 * outside CONTROL_ALLOW learns nothing of the token, not even that it is wrong. Every refusal
 * is counted; the warnings about them are one per REFUSED_LOG_MS, however many there were,
 * since any client can make them.
 */
#define PK_LOG_MODULE "control"
#include "control_api.h"
#include "control.h"
#include "log.h"
#include "pcktr.h"
#include "text.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <h2o.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REFUSED_LOG_MS 10000
#define PEER_MAX 64 /* "[v6]:port" */

static const char prefix_sources[] = "/control/sources/";

/* The raw path without its query ("?..."). */
static h2o_iovec_t
bare_path(const h2o_req_t *req)
{
    const char *q = memchr(req->path.base, '?', req->path.len);

    return h2o_iovec_init(req->path.base, q != NULL ? (size_t)(q - req->path.base) : req->path.len);
}

int
pk_control_api_matches(const struct pk_control_api *api, struct st_h2o_req_t *req)
{
    h2o_iovec_t p = req->path_normalized;

    if (api->cp == NULL || !pk_control_plane_enabled(api->cp))
        return 0;
    return h2o_memis(p.base, p.len, H2O_STRLIT("/control")) ||
           (p.len > 9 && memcmp(p.base, "/control/", 9) == 0);
}

static void
send_json(h2o_req_t *req, int status, const char *reason, const char *body)
{
    size_t len;
    char *buf;

    req->res.status = status;
    req->res.reason = reason;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/json"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("no-store"));
    /* with a newline, so that curl's output ends a line */
    len = strlen(body);
    buf = h2o_mem_alloc_pool(&req->pool, len + 1);
    memcpy(buf, body, len);
    buf[len] = '\n';
    req->res.content_length = len + 1;
    h2o_send_inline(req, buf, len + 1);
}

/* Answers {"error": why} (why escaped by cJSON) and counts r. */
static void
send_error(struct pk_control_api *api, h2o_req_t *req, enum pk_control_result r, int status,
           const char *reason, const char *why)
{
    cJSON *o = cJSON_CreateObject();
    char *s;

    pk_control_plane_count(api->cp, r);
    cJSON_AddStringToObject(o, "error", why);
    s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    send_json(req, status, reason, s != NULL ? s : "{}");
    free(s);
}

static void
peer_text(h2o_req_t *req, struct sockaddr_storage *ss, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    socklen_t len;

    memset(ss, 0, sizeof(*ss));
    len = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)ss);
    if (len > 0 && ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
        snprintf(out, cap, "%s:%u", ip, ntohs(a->sin_port));
    } else if (len > 0 && ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
        snprintf(out, cap, "[%s]:%u", ip, ntohs(a->sin6_port));
    } else {
        snprintf(out, cap, "?");
    }
}

static void
note_refused(struct pk_control_api *api, const char *peer, const char *why)
{
    uint64_t now = uv_now(api->loop);

    api->refused_unlogged++;
    if (api->refused_logged && now - api->refused_logged_ms < REFUSED_LOG_MS)
        return;
    pk_warn_with(&(struct pk_log_fields){.event = "control_refused", .peer = peer},
                 "control API: %" PRIu64 " request(s) refused since the last such line; the "
                 "latest from %s: %s",
                 api->refused_unlogged, peer, why);
    api->refused_unlogged = 0;
    api->refused_logged_ms = now;
    api->refused_logged = 1;
}

/* Percent-decodes a name of the path into out (PK_CONTROL_NAME_MAX + 1); -EINVAL on a bad
 * escape, an empty or too long name, or a NUL. */
static int
decode_name(const char *s, size_t len, char *out)
{
    return pk_url_decode(s, len, out, PK_CONTROL_NAME_MAX + 1, 0) > 0 ? 0 : -EINVAL;
}

static void
do_put(struct pk_control_api *api, h2o_req_t *req, const char *name, const char *peer)
{
    char errbuf[PK_ERRBUF_SIZE], by[PK_CONTROL_BY_MAX + 1], who[PK_CONTROL_WHO_MAX];
    const struct pk_control_entry *out;
    struct pk_control_entry e;
    char *s;
    int rc;

    if (pk_control_parse_body(req->entity.base, req->entity.base ? req->entity.len : 0, &e, by,
                              errbuf) != 0) {
        send_error(api, req, PK_CONTROL_INVALID, 400, "Bad Request", errbuf);
        return;
    }
    snprintf(who, sizeof(who), by[0] != '\0' ? "%s (%s)" : "%s", peer, by);
    rc = pk_control_plane_set(api->cp, name, &e, who, &out, errbuf);
    pk_control_entry_reset(&e);
    if (rc == -ENOSPC)
        send_error(api, req, PK_CONTROL_FULL, 409, "Conflict", errbuf);
    else if (rc == -EINVAL)
        send_error(api, req, PK_CONTROL_INVALID, 400, "Bad Request", errbuf);
    else if (rc != 0)
        send_error(api, req, PK_CONTROL_ERROR, 500, "Internal Server Error", errbuf);
    else if ((s = pk_control_entry_json(out)) == NULL)
        send_error(api, req, PK_CONTROL_ERROR, 500, "Internal Server Error", "out of memory");
    else {
        pk_control_plane_count(api->cp, PK_CONTROL_OK);
        send_json(req, 200, "OK", s);
        free(s);
    }
}

static void
do_delete(struct pk_control_api *api, h2o_req_t *req, const char *name, const char *peer)
{
    char errbuf[PK_ERRBUF_SIZE], body[128];
    uint64_t gen;
    int rc = pk_control_plane_clear(api->cp, name, peer, &gen, errbuf);

    if (rc == -ENOENT) {
        send_error(api, req, PK_CONTROL_NOT_FOUND, 404, "Not Found", errbuf);
    } else if (rc != 0) {
        send_error(api, req, PK_CONTROL_ERROR, 500, "Internal Server Error", errbuf);
    } else {
        snprintf(body, sizeof(body), "{\"cleared\":true,\"generation\":%" PRIu64 "}", gen);
        pk_control_plane_count(api->cp, PK_CONTROL_OK);
        send_json(req, 200, "OK", body);
    }
}

/* An entry's route (name NULL: /control/all): PUT or DELETE. */
static void
entry_route(struct pk_control_api *api, h2o_req_t *req, const char *name, const char *peer)
{
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("PUT"))) {
        do_put(api, req, name, peer);
    } else if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("DELETE"))) {
        do_delete(api, req, name, peer);
    } else {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL,
                       H2O_STRLIT("PUT, DELETE"));
        send_error(api, req, PK_CONTROL_INVALID, 405, "Method Not Allowed", "use PUT or DELETE");
    }
}

static void
plane_route(struct pk_control_api *api, h2o_req_t *req)
{
    char *s;

    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) &&
        !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL,
                       H2O_STRLIT("GET, HEAD"));
        send_error(api, req, PK_CONTROL_INVALID, 405, "Method Not Allowed", "use GET or HEAD");
    } else if ((s = pk_control_plane_json(api->cp)) == NULL) {
        send_error(api, req, PK_CONTROL_ERROR, 500, "Internal Server Error", "out of memory");
    } else {
        pk_control_plane_count(api->cp, PK_CONTROL_OK);
        send_json(req, 200, "OK", s);
        free(s);
    }
}

/* 1 when req may go on: its peer is allowed and it carries the token; else answered. */
static int
admitted(struct pk_control_api *api, h2o_req_t *req, const char *peer,
         const struct sockaddr_storage *ss)
{
    ssize_t i;

    if (!pk_control_peer_allowed(api->cp, (const struct sockaddr *)ss)) {
        note_refused(api, peer, "not in CONTROL_ALLOW (403)");
        send_error(api, req, PK_CONTROL_FORBIDDEN, 403, "Forbidden",
                   "this address may not use the control API (CONTROL_ALLOW)");
        return 0;
    }
    i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    if (i < 0 || !pk_control_token_ok(api->cp, req->headers.entries[i].value.base,
                                      req->headers.entries[i].value.len)) {
        note_refused(api, peer, i < 0 ? "no token (401)" : "a wrong token (401)");
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL,
                       H2O_STRLIT("Bearer"));
        send_error(api, req, PK_CONTROL_UNAUTHORIZED, 401, "Unauthorized",
                   "Authorization: Bearer TOKEN (CONTROL_TOKEN_FILE) is needed");
        return 0;
    }
    return 1;
}

void
pk_control_api_respond(struct pk_control_api *api, struct st_h2o_req_t *req)
{
    char peer[PEER_MAX], name[PK_CONTROL_NAME_MAX + 1];
    struct sockaddr_storage ss;
    h2o_iovec_t p = bare_path(req);
    size_t plen = sizeof(prefix_sources) - 1;

    peer_text(req, &ss, peer, sizeof(peer));
    if (!admitted(api, req, peer, &ss))
        return;
    if (h2o_memis(p.base, p.len, H2O_STRLIT("/control")))
        plane_route(api, req);
    else if (h2o_memis(p.base, p.len, H2O_STRLIT("/control/all")))
        entry_route(api, req, NULL, peer);
    else if (p.len <= plen || memcmp(p.base, prefix_sources, plen) != 0)
        send_error(api, req, PK_CONTROL_NOT_FOUND, 404, "Not Found",
                   "not found; try /control, /control/all or /control/sources/NAME");
    else if (decode_name(p.base + plen, p.len - plen, name) != 0)
        send_error(api, req, PK_CONTROL_INVALID, 400, "Bad Request",
                   "a source name has 1 to 255 bytes once URL-decoded");
    else
        entry_route(api, req, name, peer);
}

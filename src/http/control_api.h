/*
 * The collector's control API (docs/CONTROL.md) under /control: who may ask (CONTROL_ALLOW,
 * then the token), the routes, the answers, and one warning per interval for the refused.
 * Private to http.c; loop thread only.
 */
#ifndef PK_CONTROL_API_H
#define PK_CONTROL_API_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define PK_CONTROL_API_BODY_MAX (16 << 10) /* request bodies while the API is on */

struct pk_control_plane;
struct st_h2o_req_t;

struct pk_control_api {
    struct pk_control_plane *cp; /* NULL, or the API off: /control is 404 */
    uv_loop_t *loop;
    uint64_t refused_logged_ms; /* when the last warning about refused requests was written */
    uint64_t refused_unlogged;  /* refused since */
    int refused_logged;
};

/** 1 when req is for the API (its path is /control or under /control/) and the API is on. */
int pk_control_api_matches(const struct pk_control_api *api, struct st_h2o_req_t *req);

/** Answers req (any method), counting the outcome in the plane. */
void pk_control_api_respond(struct pk_control_api *api, struct st_h2o_req_t *req);

#endif

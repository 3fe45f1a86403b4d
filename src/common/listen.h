/*
 * Listening TCP sockets on the shared libuv loop, for the tcp-raw receiver and the HTTP
 * server alike. "Every address" is "::" (which takes IPv4 too unless the host sets
 * bindv6only), and 0.0.0.0 on a host without IPv6. Each listening handle is allocated here and
 * freed in its own close callback, never touched after uv_close: a failed "::" handle is still
 * closing when the 0.0.0.0 one starts, so the fallback takes a fresh handle (libuv: a handle's
 * memory may be reused only after its close callback). The owner's memory is never touched by
 * a close callback, so it may be freed right after pk_listen_close.
 */
#ifndef PK_LISTEN_H
#define PK_LISTEN_H

#include "endpoint.h"

#include <uv.h>

#define PK_LISTEN_MAX PK_ENDPOINT_MAX_ADDRS

struct pk_listen_set {
    uv_tcp_t *tcp[PK_LISTEN_MAX]; /* listening; each freed in its close callback */
    int n;
};

/**
 * Listens on every address of ep (resolved: ep->addrs), or on every address of the host when
 * ep->host is "" or "*". Each handle's data is `data`; on_connection is libuv's callback.
 * `scheme` prefixes addresses in errbuf ("tcp://" or ""). An address that a host without IPv6
 * cannot take (localhost's ::1) is skipped while another one listens. 0, or a negative errno
 * with "cannot listen on ADDR: why" in errbuf; on failure nothing is left listening.
 */
int pk_listen_open(struct pk_listen_set *set, uv_loop_t *loop, const struct pk_endpoint *ep,
                   uv_connection_cb on_connection, void *data, const char *scheme, char *errbuf);

/** Closes every listening handle (asynchronously; they free themselves). */
void pk_listen_close(struct pk_listen_set *set);

#endif

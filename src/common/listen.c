/*
 * Listening sockets (listen.h). Runs on the loop's thread; owns only the handles it allocates.
 */
#include "listen.h"
#include "pcktr.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define BACKLOG 128

static void
on_listener_closed(uv_handle_t *h)
{
    free(h);
}

/* Binds and listens on sa with a fresh handle; on failure the handle is closing (it frees
 * itself) and the set is unchanged. */
static int
listen_one(struct pk_listen_set *set, uv_loop_t *loop, const struct sockaddr *sa,
           uv_connection_cb on_connection, void *data)
{
    uv_tcp_t *l;
    int rc;

    if (set->n >= PK_LISTEN_MAX)
        return -ENOSPC;
    if ((l = malloc(sizeof(*l))) == NULL)
        return -ENOMEM;
    if ((rc = uv_tcp_init(loop, l)) != 0) {
        free(l);
        return rc;
    }
    l->data = data;
    if ((rc = uv_tcp_bind(l, sa, 0)) != 0 ||
        (rc = uv_listen((uv_stream_t *)l, BACKLOG, on_connection)) != 0) {
        uv_close((uv_handle_t *)l, on_listener_closed);
        return rc;
    }
    set->tcp[set->n++] = l;
    return 0;
}

static int
fail(struct pk_listen_set *set, const struct sockaddr *sa, const char *scheme, int rc, char *errbuf)
{
    char name[INET6_ADDRSTRLEN + 8];

    pk_listen_close(set);
    return pk_seterr(errbuf, rc, "cannot listen on %s%s: %s", scheme,
                     pk_sockaddr_str(sa, name, sizeof(name)), uv_strerror(rc));
}

/* "::" first; a host without IPv6 refuses the socket (EAFNOSUPPORT) or the address
 * (EADDRNOTAVAIL, IPv6 disabled by sysctl): then 0.0.0.0. */
static int
listen_any(struct pk_listen_set *set, uv_loop_t *loop, uint16_t port,
           uv_connection_cb on_connection, void *data, const char *scheme, char *errbuf)
{
    struct sockaddr_in6 any6;
    struct sockaddr_in any4;
    int rc;

    uv_ip6_addr("::", port, &any6);
    rc = listen_one(set, loop, (struct sockaddr *)&any6, on_connection, data);
    if (rc != UV_EAFNOSUPPORT && rc != UV_EADDRNOTAVAIL)
        return rc == 0 ? 0 : fail(set, (struct sockaddr *)&any6, scheme, rc, errbuf);
    uv_ip4_addr("0.0.0.0", port, &any4);
    if ((rc = listen_one(set, loop, (struct sockaddr *)&any4, on_connection, data)) != 0)
        return fail(set, (struct sockaddr *)&any4, scheme, rc, errbuf);
    return 0;
}

int
pk_listen_open(struct pk_listen_set *set, uv_loop_t *loop, const struct pk_endpoint *ep,
               uv_connection_cb on_connection, void *data, const char *scheme, char *errbuf)
{
    int rc;

    set->n = 0;
    if (ep->host[0] == '\0' || strcmp(ep->host, "*") == 0)
        return listen_any(set, loop, ep->port, on_connection, data, scheme, errbuf);
    for (int i = 0; i < ep->naddrs; i++) {
        const struct sockaddr *sa = (const struct sockaddr *)&ep->addrs[i];
        rc = listen_one(set, loop, sa, on_connection, data);
        /* localhost with IPv6 disabled: the IPv4 address is enough */
        if ((rc == UV_EADDRNOTAVAIL || rc == UV_EAFNOSUPPORT) && ep->naddrs > 1 &&
            (i < ep->naddrs - 1 || set->n > 0))
            continue;
        if (rc != 0)
            return fail(set, sa, scheme, rc, errbuf);
    }
    return 0;
}

void
pk_listen_close(struct pk_listen_set *set)
{
    for (int i = 0; i < set->n; i++)
        uv_close((uv_handle_t *)set->tcp[i], on_listener_closed);
    set->n = 0;
}

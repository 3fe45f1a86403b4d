/* PCAP-over-IP listeners and the serve's lifecycle; see serve.h. */
#define PK_LOG_MODULE "serve"
#include "log.h"
#include "pcktr.h"
#include "serve_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void
on_connection(uv_stream_t *server, int status)
{
    struct listener *l = server->data;
    struct pk_serve *sv = l->sv;
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    struct reader *r;

    if (status < 0 || sv->stopped)
        return;
    if ((r = pk_reader_new(sv)) == NULL)
        return; /* the connection waits in the backlog; the next one may find memory */
    if (uv_accept(server, (uv_stream_t *)&r->tcp) != 0) {
        pk_reader_close(r, "accept failed");
        return;
    }
    memset(&ss, 0, sizeof(ss));
    if (uv_tcp_getpeername(&r->tcp, (struct sockaddr *)&ss, &len) != 0) {
        pk_reader_close(r, "no peer address");
        return;
    }
    pk_sockaddr_str((const struct sockaddr *)&ss, r->peer, sizeof(r->peer));
    if (pk_gate_admit(sv->opts.gate, (const struct sockaddr *)&ss, r->peer, l->ep->text) != 0) {
        pk_reader_close(r, "refused");
        return;
    }
    r->gated = 1;
    sv->counters.accepted++;
    pk_reader_start(r, l->ep);
}

static int
open_listener(struct pk_serve *sv, const struct pk_serve_endpoint *ep, char *errbuf)
{
    struct listener *l = &sv->listeners[sv->nlisteners];
    struct pk_endpoint e = ep->ep;
    char why[PK_ERRBUF_SIZE];
    int rc;

    l->sv = sv;
    l->ep = ep;
    if (e.host[0] != '\0' && strcmp(e.host, "*") != 0 && (rc = pk_endpoint_resolve(&e, why)) != 0)
        return pk_seterr(errbuf, rc, "SERVE_ENDPOINT=\"%s\": %s", ep->text, why);
    if ((rc = pk_listen_open(&l->set, sv->loop, &e, on_connection, l, "tcp://", why)) != 0)
        return pk_seterr(errbuf, rc, "SERVE_ENDPOINT=\"%s\": %s", ep->text, why);
    sv->nlisteners++;
    pk_info("serving the stream (PCAP-over-IP, %s%s%s) on %s", pk_format_reader_names[ep->format],
            ep->filter[0] ? ", filter " : "", ep->filter, ep->text);
    return 0;
}

int
pk_serve_open(struct pk_serve **out, uv_loop_t *loop, struct pk_sinkset *set,
              const struct pk_serve_opts *opts, char *errbuf)
{
    struct pk_serve *sv = calloc(1, sizeof(*sv));
    char why[PK_ERRBUF_SIZE];
    int rc = 0;

    *out = sv;
    if (sv == NULL)
        return pk_seterr(errbuf, -ENOMEM, "out of memory");
    sv->loop = loop;
    sv->sinks = set;
    sv->opts = *opts;
    for (int i = 0; i < opts->nconnect && rc == 0; i++) {
        sv->resolved[i] = opts->connect[i];
        if ((rc = pk_endpoint_resolve(&sv->resolved[i].ep, why)) != 0)
            pk_seterr(errbuf, rc, "SERVE_CONNECT=\"%s\": %s", opts->connect[i].text, why);
    }
    for (int i = 0; i < opts->nlisten && rc == 0; i++)
        rc = open_listener(sv, &opts->listen[i], errbuf);
    if (rc != 0) {
        pk_serve_close(sv);
        return rc;
    }
    sv->ndialers = opts->nconnect;
    pk_dialers_start(sv);
    return 0;
}

void
pk_serve_stop(struct pk_serve *sv)
{
    if (sv == NULL || sv->stopped)
        return;
    sv->stopped = 1;
    for (int i = 0; i < sv->nlisteners; i++)
        pk_listen_close(&sv->listeners[i].set);
    pk_dialers_stop(sv);
}

void
pk_serve_close(struct pk_serve *sv)
{
    if (sv == NULL || sv->closed)
        return;
    pk_serve_stop(sv);
    sv->closed = 1;
    for (struct reader *r = sv->readers; r != NULL; r = r->next)
        pk_reader_close(r, "the collector is stopping");
}

void
pk_serve_free(struct pk_serve *sv)
{
    free(sv);
}

const struct pk_serve_counters *
pk_serve_counters(const struct pk_serve *sv)
{
    return sv != NULL ? &sv->counters : NULL;
}

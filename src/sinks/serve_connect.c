/*
 * SERVE_CONNECT: one connection out per entry, to a PCAP-over-IP listener, each a reader
 * while it lasts. A failed attempt or a closed connection is redialled after a backoff that
 * doubles from DIAL_MIN_MS to DIAL_MAX_MS and starts again once a connection works; a failing
 * listener is logged once until it works (then once more). The entry's addresses are tried in
 * turn.
 */
#define PK_LOG_MODULE "serve"
#include "log.h"
#include "pcktr.h"
#include "serve_int.h"

#include <string.h>

#define DIAL_MIN_MS 200
#define DIAL_MAX_MS 10000

static void dial(struct dialer *d);

static void
on_timer(uv_timer_t *h)
{
    dial(h->data);
}

static void
on_connected(uv_connect_t *req, int status)
{
    struct dialer *d = req->data;
    struct reader *r = d->r;

    if (status == UV_ECANCELED || r->closing)
        return; /* closing: the close callback redials or not */
    if (status < 0) {
        d->sv->counters.connect_failures++;
        if (!d->failing)
            pk_warn_with(&(struct pk_log_fields){.event = "serve_connect_failed", .peer = r->peer},
                         "SERVE_CONNECT %s: cannot connect to %s: %s; retrying with backoff (up "
                         "to %d s), logged again once it works", d->ep->text, r->peer,
                         uv_strerror(status), DIAL_MAX_MS / 1000);
        d->failing = 1;
        d->addr = (d->addr + 1) % d->ep->ep.naddrs;
        pk_reader_close(r, "connect failed");
        return;
    }
    if (d->failing)
        pk_info("SERVE_CONNECT %s: connected to %s after failures", d->ep->text, r->peer);
    d->failing = 0;
    d->backoff_ms = DIAL_MIN_MS;
    d->sv->counters.connects++;
    pk_reader_start(r, d->ep);
}

static void
dial(struct dialer *d)
{
    const struct sockaddr *sa = (const struct sockaddr *)&d->ep->ep.addrs[d->addr];
    struct reader *r;

    if (d->sv->stopped || (r = pk_reader_new(d->sv)) == NULL) {
        if (!d->sv->stopped)
            uv_timer_start(&d->timer, on_timer, d->backoff_ms, 0);
        return;
    }
    r->dialer = d;
    d->r = r;
    pk_sockaddr_str(sa, r->peer, sizeof(r->peer));
    d->creq.data = d;
    if (uv_tcp_connect(&d->creq, &r->tcp, sa, on_connected) != 0) {
        d->sv->counters.connect_failures++;
        pk_reader_close(r, "connect failed");
    }
}

void
pk_dialer_closed(struct dialer *d, int was_connected)
{
    d->r = NULL;
    if (d->sv->stopped)
        return;
    if (was_connected)
        d->backoff_ms = DIAL_MIN_MS;
    uv_timer_start(&d->timer, on_timer, d->backoff_ms, 0);
    if (!was_connected)
        d->backoff_ms = d->backoff_ms * 2 > DIAL_MAX_MS ? DIAL_MAX_MS : d->backoff_ms * 2;
}

void
pk_dialers_start(struct pk_serve *sv)
{
    for (int i = 0; i < sv->ndialers; i++) {
        struct dialer *d = &sv->dialers[i];
        d->sv = sv;
        d->ep = &sv->resolved[i];
        d->backoff_ms = DIAL_MIN_MS;
        uv_timer_init(sv->loop, &d->timer);
        d->timer.data = d;
        pk_info("SERVE_CONNECT: sending the stream (PCAP-over-IP, %s%s%s) to %s",
                pk_format_reader_names[d->ep->format], d->ep->filter[0] ? ", filter " : "",
                d->ep->filter, d->ep->text);
        dial(d);
    }
}

void
pk_dialers_stop(struct pk_serve *sv)
{
    for (int i = 0; i < sv->ndialers; i++)
        uv_close((uv_handle_t *)&sv->dialers[i].timer, NULL);
}

/* What the collector says of itself (collector_int.h): the snapshot of its counters, which
 * reports.c renders for HTTP, and at start how the relay is protected. */
#define PK_LOG_MODULE "collector"
#include "collector_int.h"
#include "config.h"
#include "control_push.h"
#include "endpoint.h"
#include "http.h"
#include "log.h"
#include "pcktr.h"

#include <string.h>

void
pk_collector_fill_report(void *data, union pk_report *u)
{
    struct collector *c = data;
    struct pk_collect_report *r = &u->collect;

    r->common.mode = "collect";
    r->common.transport = c->cfg->relay_transport;
    r->common.endpoint = c->cfg->collect_endpoint;
    r->common.start_ns = c->start_ns;
    r->common.now_ns = pk_now_ns();
    r->sources = &c->sources;
    pk_outstage_report(&c->os, r);
    r->merge_window_ms = c->cfg->merge_window_ms;
    r->out_queue_bytes = c->finished ? 0 : pk_outstage_queued(&c->os);
    r->out_queue_limit = c->cfg->output_buffer;
    r->intake_paused = c->paused;
    r->per_connection = c->per_connection;
    r->bad_malformed = c->bad[BAD_MALFORMED];
    r->bad_version = c->bad[BAD_VERSION];
    r->bad_oversized = c->bad[BAD_SIZE];
    r->transport = c->tr != NULL ? c->tr->counters : c->counters;
    if (c->tr != NULL)
        pk_transport_get_report(c->tr, &r->own);
    else
        r->own = c->own;
    r->public_key = c->cfg->transport->public_key ? c->cfg->transport->public_key(c->tc) : NULL;
    r->encrypted = r->public_key != NULL;
    r->allow = c->cfg->collect_allow;
    r->access = &c->access;
    r->http = pk_http_counters(c->http);
    r->control = c->control;
    r->sinks = c->os.started ? &c->os.sinks : NULL;
    r->gate = &c->gate;
    r->serve = pk_serve_counters(c->serve);
    r->serve_allow = c->cfg->serve_allow_text;
    r->control_on = c->control != NULL;
    r->control_return_path = c->cfg->transport->send_control != NULL;
    r->control_desired = pk_control_push_desired_gen;
    r->control_data = c;
    r->control_sent = c->control_sent;
    r->control_send_failures = c->control_send_failures;
    if (c->cfg->forward != NULL) {
        const struct pk_forward_counters *n = c->fwd != NULL ? &c->fwd->n : &c->fwd_last;
        r->forward_endpoint = c->cfg->forward_endpoint;
        r->forward_taken = n->taken;
        r->forward_dropped = n->dropped;
        r->forward_delivered = n->delivered;
        r->forward_failed = n->failed;
    }
    if ((r->rotating = c->rotate != NULL && !c->finished)) {
        const struct pk_rotate_counters *k = pk_rotate_counters(c->rotate);
        r->out_file = pk_rotate_current(c->rotate);
        r->out_files_completed = k->completed;
        r->out_files_deleted = k->deleted;
        r->out_files_recovered = k->recovered;
        r->out_rotate_failures = k->failures;
    }
}

/* Says at start how the relay is protected, and warns where it is not. */
void
pk_collector_log_security(struct collector *c, const struct pk_endpoint *ep)
{
    const struct pk_config *cfg = c->cfg;
    int public_listener = ep->host[0] == '\0';

    for (int i = 0; i < ep->naddrs; i++)
        if (!pk_endpoint_is_loopback(ep, i))
            public_listener = 1;
    if (cfg->transport->log_security != NULL)
        cfg->transport->log_security(c->tc);
    else if (public_listener && cfg->nallow == 0)
        pk_warn("%s carries captured packets in clear text and listens beyond loopback on %s "
                "with no COLLECT_ALLOW: anyone who reaches it can send; use it on a trusted "
                "network or in a tunnel, and set COLLECT_ALLOW",
                cfg->relay_transport, cfg->collect_endpoint);
    else
        pk_warn("the relay is not encrypted (%s): use it on a trusted network or in a tunnel",
                cfg->relay_transport);
    if (cfg->nallow > 0)
        pk_info("only peers in COLLECT_ALLOW=%s may send", cfg->collect_allow);
}

/* The agent's snapshot of its counters (agent_int.h), which reports.c renders for HTTP. */
#include "agent_int.h"
#include "capture.h"
#include "config.h"
#include "pcktr.h"

void
pk_agent_fill_report(void *data, union pk_report *u)
{
    struct agent *a = data;
    struct pk_capture_report *r = &u->capture;

    r->common.mode = "capture";
    r->common.transport = a->cfg->relay_transport;
    r->common.endpoint = a->cfg->relay_endpoint;
    r->common.start_ns = a->start_ns;
    r->common.now_ns = pk_now_ns();
    r->source_name = a->cfg->source_name;
    r->from_file = a->cfg->read_file != NULL;
    r->device = a->cfg->read_file ? a->cfg->read_file : a->cfg->device;
    r->filter = a->filter ? a->filter : "";
    r->linktype = a->hello.linktype;
    r->snaplen = a->hello.snaplen;
    pk_agent_fill_stats(a, &r->stats);
    if (a->tr != NULL) {
        r->connected = a->tr->ops->connected(a->tr);
        r->transport = a->tr->counters;
        pk_transport_get_report(a->tr, &r->own);
    }
    r->hist = &a->hist;
    r->device_down = a->cap != NULL && pk_capture_is_down(a->cap);
    r->http = pk_http_counters(a->http);
    r->public_key = a->cfg->transport->public_key ? a->cfg->transport->public_key(a->tc) : NULL;
    r->encrypted = r->public_key != NULL;
    r->compression = a->cfg->relay_compression;
    r->batch_plain_bytes = a->batch_plain_bytes;
    r->batch_wire_bytes = a->batch_wire_bytes;
    r->batches_compressed = a->batches_compressed;
    r->rate_limit = a->rate_limit; /* RELAY_RATE_LIMIT narrowed by control */
    r->sample_n = a->hello.sample_n;
    r->control.enabled = a->ctl.enabled;
    r->control.paused = a->ctl.paused;
    r->control.applied_gen = a->ctl.applied_gen;
    r->control.refused_gen = a->ctl.refused_gen;
    r->control.rejected = a->ctl.rejected;
    r->control.central_filter = a->ctl.filter;
}

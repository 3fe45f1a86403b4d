/* The agent's /metrics, /status and status page: snapshots of its counters (agent_int.h). */
#include "agent_int.h"
#include "buf.h"
#include "capture.h"
#include "metrics.h"
#include "pcktr.h"
#include "status.h"
#include "statuspage.h"

#include <string.h>

static void
fill_report(struct agent *a, struct pk_capture_report *r)
{
    memset(r, 0, sizeof(*r));
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
    }
    r->hist = &a->hist;
    r->device_down = a->cap != NULL && pk_capture_is_down(a->cap);
    r->http = pk_http_counters(a->http);
    r->encrypted = a->keys->enabled;
    r->public_key = a->keys->enabled ? a->keys->public_key : NULL;
}

static char *
render_metrics(void *data, size_t *len)
{
    struct pk_capture_report r;
    struct pk_buf b = {0};

    fill_report(data, &r);
    pk_metrics_capture(&b, &r);
    *len = b.len;
    return b.data;
}

static char *
render_status(void *data, size_t *len)
{
    struct pk_capture_report r;
    char *s;

    fill_report(data, &r);
    s = pk_status_capture(&r);
    *len = s ? strlen(s) : 0;
    return s;
}

const struct pk_http_route pk_agent_routes[] = {
    {"/metrics", "text/plain; version=0.0.4; charset=utf-8", render_metrics},
    {"/status", "application/json", render_status},
    {"/", "text/html; charset=utf-8", pk_status_page_render},
};

const size_t pk_agent_nroutes = PK_ARRAY_LEN(pk_agent_routes);

/* The one set of routes of both modes: /metrics, /status and the status page (reports.h). */
#include "reports.h"
#include "buf.h"
#include "http.h"
#include "metrics.h"
#include "pcktr.h"
#include "status.h"
#include "statuspage.h"

#include <string.h>

static void
fill(struct pk_reporter *rep, union pk_report *r)
{
    memset(r, 0, sizeof(*r));
    rep->fill(rep->data, r);
}

static char *
render_metrics(void *data, size_t *len)
{
    struct pk_reporter *rep = data;
    union pk_report r;
    struct pk_buf b = {0};

    fill(rep, &r);
    if (rep->kind == PK_REPORT_CAPTURE)
        pk_metrics_capture(&b, &r.capture);
    else
        pk_metrics_collect(&b, &r.collect);
    *len = b.len;
    return b.data;
}

static char *
render_status(void *data, size_t *len)
{
    struct pk_reporter *rep = data;
    union pk_report r;
    char *s;

    fill(rep, &r);
    s = rep->kind == PK_REPORT_CAPTURE ? pk_status_capture(&r.capture)
                                       : pk_status_collect(&r.collect);
    *len = s ? strlen(s) : 0;
    return s;
}

static const struct pk_http_route routes[] = {
    {"/metrics", "text/plain; version=0.0.4; charset=utf-8", render_metrics},
    {"/status", "application/json", render_status},
    {"/", "text/html; charset=utf-8", pk_status_page_render},
};

int
pk_reports_start(struct pk_http **out, uv_loop_t *loop, const struct pk_endpoint *ep,
                 const char *what, struct pk_reporter *rep, char *errbuf)
{
    return pk_http_start(out, loop, ep, what, routes, PK_ARRAY_LEN(routes), rep, errbuf);
}

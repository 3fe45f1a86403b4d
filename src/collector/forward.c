/* FORWARD_ENDPOINT: see forward.h. */
#define PK_LOG_MODULE "collector"
#include "forward.h"
#include "config.h"
#include "endpoint.h"
#include "frame.h"
#include "log.h"
#include "pcktr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void
on_delivered(struct pk_transport *t, int ok)
{
    struct pk_forward *f = t->data;

    if (ok) {
        f->n.delivered++;
        return;
    }
    if (f->n.failed++ == 0)
        pk_warn_with(&(struct pk_log_fields){.event = "forward_failed"},
                     "FORWARD_ENDPOINT %s gave up delivering a message; counted (forward failed)",
                     f->cfg->forward_endpoint);
}

int
pk_forward_open(struct pk_forward **out, uv_loop_t *loop, const struct pk_config *cfg)
{
    const struct pk_transport_ops *ops = cfg->forward;
    struct pk_transport_opts opts = {.role = PK_TRANSPORT_SENDER,
                                     .queue_limit = PK_FORWARD_QUEUE,
                                     .max_message = PK_FRAME_MAX,
                                     .uri = cfg->forward_endpoint};
    struct pk_endpoint ep;
    struct pk_forward *f;
    char errbuf[PK_ERRBUF_SIZE];
    int rc;

    *out = NULL;
    if (ops == NULL)
        return PK_EXIT_OK;
    if ((f = calloc(1, sizeof(*f))) == NULL)
        return PK_EXIT_RUNTIME;
    f->cfg = cfg;
    memset(&ep, 0, sizeof(ep));
    rc = ops->configure ? ops->configure(cfg->forward_settings, PK_TRANSPORT_SENDER, &f->tc, errbuf)
                        : 0;
    if (rc == 0 && (rc = ops->parse_endpoint(cfg->forward_endpoint, &ep, errbuf)) == 0) {
        opts.config = f->tc;
        rc = ops->open(&f->tr, loop, &ep, &opts, errbuf);
    }
    if (rc != 0) {
        pk_error("FORWARD_ENDPOINT=\"%s\": %s", cfg->forward_endpoint, errbuf);
        if (f->tc != NULL && ops->config_free != NULL)
            ops->config_free(f->tc);
        free(f);
        return rc == -EINVAL ? PK_EXIT_CONFIG : PK_EXIT_RUNTIME;
    }
    f->tr->data = f;
    f->tr->on_delivered = on_delivered;
    pk_info("forwarding every message received to %s", cfg->forward_endpoint);
    *out = f;
    return PK_EXIT_OK;
}

void
pk_forward_message(struct pk_forward *f, const uint8_t *buf, size_t len)
{
    int rc;

    if (f == NULL || f->tr == NULL)
        return;
    if ((rc = f->tr->ops->send(f->tr, buf, len)) != 0) {
        f->n.dropped++;
        if (!f->dropping)
            pk_warn_with(&(struct pk_log_fields){.event = "forward_full"},
                         "FORWARD_ENDPOINT %s took no more (%s): dropping, counted (forward drops)",
                         f->cfg->forward_endpoint, rc == -EAGAIN ? "queue full" : strerror(-rc));
        f->dropping = 1;
        return;
    }
    f->dropping = 0;
    f->n.taken++;
    if (!f->tr->ops->confirms_delivery)
        f->n.delivered++;
}

static void
on_closed(void *data, int flushed)
{
    struct pk_forward *f = data;

    (void)flushed;
    pk_info("forwarded %llu messages to %s: delivered %llu, failed %llu, dropped %llu",
            (unsigned long long)f->n.taken, f->cfg->forward_endpoint,
            (unsigned long long)f->n.delivered, (unsigned long long)f->n.failed,
            (unsigned long long)f->n.dropped);
    if (f->tc != NULL && f->cfg->forward->config_free != NULL)
        f->cfg->forward->config_free(f->tc);
    free(f);
}

void
pk_forward_close(struct pk_forward *f, uint64_t linger_ms, struct pk_forward_counters *last)
{
    struct pk_transport *t;

    if (f == NULL || (t = f->tr) == NULL)
        return;
    *last = f->n;
    f->tr = NULL;
    t->ops->close(t, linger_ms, on_closed, f);
}

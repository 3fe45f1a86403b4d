/*
 * The capture agent's lifecycle: start-up steps, the capture or replay source, stop, goodbye
 * and close. Batching, sequence and drop accounting are the relay's (relay.c); /metrics and
 * /status come from agent_report.c, SIGHUP from agent_reload.c. Loop thread only.
 */
#define PK_LOG_MODULE "agent"
#include "agent.h"
#include "agent_int.h"
#include "afamily.h"
#include "capture.h"
#include "config.h"
#include "frame.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "pcktr.h"
#include "replay.h"
#include "privdrop.h"
#include "delivery.h"
#include "relay.h"
#include "transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void on_transport_closed(void *data, int flushed);

static void
on_transport_closed(void *data, int flushed)
{
    struct agent *a = data;
    /* Sampled-out, rate-limited and paused packets were never meant to be delivered. */
    uint64_t meant = a->st.captured - a->st.sampled_out - a->st.rate_limited - a->st.paused;
    uint64_t undelivered = meant - a->st.relayed;

    if ((a->tr->counters.connects == 0 || undelivered == 0) && a->tr->counters.messages_sent > 0 &&
        !flushed)
        undelivered = meant; /* nothing ever reached a collector */
    if (!flushed)
        pk_warn("collector %s did not take everything within the linger time: up to %llu of "
                "%llu packets not delivered",
                a->cfg->relay_endpoint, (unsigned long long)undelivered,
                (unsigned long long)a->st.captured);
    if (a->replay != NULL && !a->signals.received && (!flushed || a->st.relay_drops > 0 ||
                                                        a->st.delivery_failed > 0))
        a->exit_code = PK_EXIT_RUNTIME;
    if (a->replay != NULL && a->replay_error[0] != '\0')
        a->exit_code = PK_EXIT_RUNTIME;
    pk_info("done: captured %llu, relayed %llu, relay drops %llu, kernel drops %llu, "
            "interface drops %llu, rate limited %llu, sampled out %llu, paused %llu, delivery "
            "failed %llu, unconfirmed %llu; batch bytes %llu, on the wire %llu",
            (unsigned long long)a->st.captured, (unsigned long long)a->st.relayed,
            (unsigned long long)a->st.relay_drops, (unsigned long long)a->st.kernel_drops,
            (unsigned long long)a->st.if_drops, (unsigned long long)a->st.rate_limited,
            (unsigned long long)a->st.sampled_out, (unsigned long long)a->st.paused,
            (unsigned long long)a->st.delivery_failed,
            (unsigned long long)a->st.unconfirmed, (unsigned long long)a->batch_plain_bytes,
            (unsigned long long)a->batch_wire_bytes);
    a->tr = NULL;
    if (a->http != NULL)
        pk_http_stop(a->http, NULL, NULL);
}

/* Closes the transport, which flushes what is queued for up to linger_ms. */
void
pk_agent_close_transport(struct agent *a, uint64_t linger_ms)
{
    a->goodbye_pending = 0;
    uv_timer_stop(&a->stall);
    uv_close((uv_handle_t *)&a->stall, NULL);
    a->tr->ops->close(a->tr, linger_ms, on_transport_closed, a);
}

static void
on_goodbye_timeout(uv_timer_t *h)
{
    struct agent *a = container_of(h, struct agent, stall);

    pk_warn("the relay queue had no room for the goodbye within the linger time; the collector "
            "will see this source go stale");
    pk_agent_close_transport(a, 0);
}

/*
 * Stops capturing, flushes, says goodbye and closes the transport with the given linger. A
 * full queue (a READ_FILE that kept it full to the end) leaves the goodbye waiting for room,
 * within the same linger: it carries the final totals that close the collector's books.
 */
void
pk_agent_finish(struct agent *a, uint64_t linger_ms)
{
    int rc;

    if (a->stopping)
        return;
    a->stopping = 1;
    uv_timer_stop(&a->heartbeat);
    uv_timer_stop(&a->stall);
    uv_timer_stop(&a->rate_wait);
    uv_close((uv_handle_t *)&a->heartbeat, NULL);
    /* While stopping, a refused batch is counted as relay drops, one over the rate limit as
     * rate limited. */
    pk_relay_flush(a);
    rc = pk_relay_send_control(a, PK_KIND_GOODBYE);
    if (a->cap != NULL) {
        pk_capture_close(a->cap);
        a->cap = NULL;
    }
    if (a->replay != NULL)
        pk_replay_close(a->replay);
    pk_signals_close(&a->signals);
    if (rc == -EAGAIN && linger_ms > 0) {
        a->goodbye_pending = 1;
        a->goodbye_deadline_ms = uv_now(&a->loop) + linger_ms;
        uv_timer_start(&a->stall, on_goodbye_timeout, linger_ms, 0);
        pk_debug("relay queue full: the goodbye waits for room");
        return;
    }
    if (rc != 0)
        pk_warn("could not queue goodbye; the collector will see this source go stale");
    pk_agent_close_transport(a, linger_ms);
}

static void
on_stop_signal(void *data, int signum)
{
    struct agent *a = data;

    (void)signum;
    pk_agent_finish(a, a->cfg->linger_ms);
}

static void
build_exclusion(struct agent *a, const struct pk_endpoint *ep)
{    if (a->cfg->transport->capture_exclusion != NULL) {
        a->cfg->transport->capture_exclusion(a->cfg->relay_endpoint, a->exclude,
                                             sizeof(a->exclude));
        return;
    }
    size_t len = (size_t)snprintf(a->exclude, sizeof(a->exclude), "not (tcp port %u and (", ep->port);
    char addr[64];

    for (int i = 0; i < ep->naddrs && len < sizeof(a->exclude); i++)
        len += (size_t)snprintf(a->exclude + len, sizeof(a->exclude) - len, "%shost %s",
                                i ? " or " : "", pk_endpoint_addr_str(ep, i, addr, sizeof(addr)));
    if (len < sizeof(a->exclude))
        snprintf(a->exclude + len, sizeof(a->exclude) - len, "))");
}

static uint64_t
random_id(void)
{
    uint64_t id = 0;

    if (uv_random(NULL, NULL, &id, sizeof(id), 0, NULL) != 0 || id == 0)
        id = pk_now_ns() ^ ((uint64_t)getpid() << 32);
    return id;
}

/* The state before any start-up step: nothing open yet but the loop. */
static struct agent *
agent_new(const struct pk_config *cfg, struct pk_transport_config *tc)
{
    struct agent *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return NULL;
    a->own_cfg = *cfg; /* FILTER_FILE may set some of it (agent_reload.c) */
    a->cfg = &a->own_cfg;
    a->env_cfg = cfg;
    a->tc = tc;
    a->reporter = (struct pk_reporter){PK_REPORT_CAPTURE, pk_agent_fill_report, a};
    a->src.source_id = random_id();
    a->src.name = cfg->source_name;
    pk_log_set_context(
        &(struct pk_log_fields){.source = cfg->source_name,
                                .device = cfg->read_file != NULL ? cfg->read_file : cfg->device,
                                .endpoint = cfg->relay_endpoint});
    a->hello.heartbeat_ms = (uint32_t)cfg->heartbeat_ms;
    a->hello.sample_n = cfg->sample_n;
    a->hello.start_ns = a->start_ns = pk_now_ns();
    if (gethostname(a->host, sizeof(a->host)) != 0)
        strcpy(a->host, "unknown");
    pk_agent_control_init(a);
    uv_loop_init(&a->loop);
    return a;
}

/* A failed step: its exit code, kept for the end of the run. */
static int
failed(struct agent *a, int exit_code)
{
    a->exit_code = exit_code;
    return exit_code;
}

/* RELAY_ENDPOINT's addresses, and the filter that keeps the relay's own traffic out. */
static int
resolve_endpoint(struct agent *a, struct pk_endpoint *ep)
{
    char errbuf[PK_ERRBUF_SIZE];

    if (pk_endpoint_resolve(ep, errbuf) != 0) {
        pk_error("RELAY_ENDPOINT=\"%s\": %s", a->cfg->relay_endpoint, errbuf);
        return failed(a, PK_EXIT_RUNTIME);
    }
    build_exclusion(a, ep);
    return PK_EXIT_OK;
}

static int
start_http(struct agent *a)
{
    const struct pk_config *cfg = a->cfg;
    char errbuf[PK_ERRBUF_SIZE];

    if (cfg->metrics_addrport[0] != '\0' &&
        pk_reports_start(&a->http, &a->loop, &cfg->metrics_ep, cfg->metrics_addrport,
                         &a->reporter, errbuf) != 0) {
        pk_error("%s", errbuf);
        return failed(a, PK_EXIT_RUNTIME);
    }
    return PK_EXIT_OK;
}

static int
start_source(struct agent *a)
{
    char errbuf[PK_ERRBUF_SIZE];
    int rc;

    if ((rc = pk_agent_open_source(a, errbuf)) != 0) {
        pk_error("%s", errbuf);
        return failed(a, pk_exit_code(rc));
    }
    return PK_EXIT_OK;
}

static void
close_source(struct agent *a)
{
    if (a->cap)
        pk_capture_close(a->cap);
    if (a->replay)
        pk_replay_close(a->replay);
}

static int
open_transport(struct agent *a, const struct pk_endpoint *ep)
{
    const struct pk_config *cfg = a->cfg;
    struct pk_transport_opts topts = {.role = PK_TRANSPORT_SENDER, .config = a->tc,
                                      .queue_limit = cfg->relay_queue, .max_message = PK_FRAME_MAX,
                                      .uri = cfg->relay_endpoint};
    char errbuf[PK_ERRBUF_SIZE];

    /* The return path: only a live capture with CONTROL=on takes control (control.c). */
    topts.control = a->ctl.enabled;
    topts.control_prefix = a->ctl.enabled ? a->ctl.prefix : NULL;
    topts.control_prefix_len = a->ctl.enabled ? sizeof(a->ctl.prefix) : 0;
    if (cfg->transport->open(&a->tr, &a->loop, ep, &topts, errbuf) != 0) {
        pk_error("RELAY_ENDPOINT=\"%s\": %s", cfg->relay_endpoint, errbuf);
        return failed(a, PK_EXIT_RUNTIME);
    }
    a->tr->data = a;
    a->tr->on_writable = pk_relay_on_writable;
    a->tr->on_delivered = pk_delivery_on_delivered;
    a->tr->on_peer = pk_relay_on_peer;
    a->tr->on_control = pk_agent_on_control;
    return PK_EXIT_OK;
}

/* Says how the relay is protected, and what is captured and where it goes. */
static void
log_start(struct agent *a, const struct pk_endpoint *ep)
{
    const struct pk_config *cfg = a->cfg;
    char uri[300];

    if (cfg->transport->log_security != NULL)
        cfg->transport->log_security(a->tc);
    else
        pk_warn("the relay is not encrypted: captured packets cross the network in clear text "
                "(this transport is for trusted networks or a tunnel)");

    pk_info("capturing %s%s, link type %u, snaplen %u, filter \"%s\"; relaying as \"%s\" to %s "
            "(%s, via %s)",
            cfg->read_file ? "file " : "device ", cfg->read_file ? cfg->read_file : cfg->device,
            a->hello.linktype, a->hello.snaplen, a->filter, cfg->source_name, cfg->relay_endpoint,
            cfg->relay_transport, pk_endpoint_uri(ep, 0, uri, sizeof(uri)));
}

/* RUN_AS. On failure the agent finishes at once (the loop then closes what is open). */
static int
drop_privileges(struct agent *a)
{
    char errbuf[PK_ERRBUF_SIZE];
    int rc;

    if ((rc = pk_drop_privileges(a->cfg->run_as, errbuf)) != 0) {
        pk_error("%s", errbuf);
        failed(a, pk_exit_code(rc));
        pk_agent_finish(a, 0);
        return a->exit_code;
    }
    if (a->cfg->run_as[0] != '\0')
        pk_info("running as user %s (uid %u)", a->cfg->run_as, (unsigned)getuid());
    return PK_EXIT_OK;
}

/* The first hello, the heartbeat, and a READ_FILE's first packets. */
static void
start_relaying(struct agent *a)
{
    pk_relay_send_control(a, PK_KIND_HELLO);
    uv_timer_start(&a->heartbeat, pk_relay_on_heartbeat, a->cfg->heartbeat_ms,
                   a->cfg->heartbeat_ms);
    if (a->replay != NULL)
        pk_replay_resume(a->replay);
}

/* The heartbeat, the stall and the rate-wait timers (pk_loop_finish closes them). An exit code. */
static int
start_timers(struct agent *a)
{
    int rc;

    if ((rc = uv_timer_init(&a->loop, &a->heartbeat)) != 0 ||
        (rc = uv_timer_init(&a->loop, &a->stall)) != 0 ||
        (rc = uv_timer_init(&a->loop, &a->rate_wait)) != 0) {
        pk_error("cannot start timers: %s", uv_strerror(rc));
        return failed(a, PK_EXIT_RUNTIME);
    }
    return PK_EXIT_OK;
}

/* SIGINT, SIGTERM and SIGHUP. On failure the agent finishes at once (as for RUN_AS). */
static int
start_signals(struct agent *a)
{
    int rc = pk_signals_start(&a->signals, &a->loop, on_stop_signal, a);

    if (rc == 0)
        rc = pk_signals_start_hup(&a->signals, pk_agent_on_hup);
    if (rc != 0) {
        pk_error("cannot watch signals: %s", uv_strerror(rc));
        failed(a, PK_EXIT_RUNTIME);
        pk_agent_finish(a, 0);
    }
    return rc;
}

/* Every start-up step in order; on failure, closes what the earlier steps opened. */
static void
start_up(struct agent *a, struct pk_endpoint *ep)
{
    if (resolve_endpoint(a, ep) != 0 || start_http(a) != 0)
        return; /* nothing to close yet (a server that failed to start is freed at the end) */
    if (start_source(a) != 0)
        goto out_http;
    if (pk_relay_init(a) != 0 || pk_delivery_init(a) != 0) {
        pk_error("out of memory for a BATCH_BYTES=%llu batch (RELAY_COMPRESSION=%s) and "
                 "RELAY_QUEUE=%llu reports", (unsigned long long)a->cfg->batch_bytes,
                 a->cfg->relay_compression, (unsigned long long)a->cfg->relay_queue);
        a->exit_code = PK_EXIT_RUNTIME;
        goto out_source;
    }
    if (start_timers(a) != 0 || open_transport(a, ep) != 0)
        goto out_source;
    log_start(a, ep);
    if (start_signals(a) != 0 || drop_privileges(a) != 0)
        return;
    start_relaying(a);
    return;

out_source:
    close_source(a);
out_http:
    if (a->http != NULL)
        pk_http_stop(a->http, NULL, NULL);
}

int
pk_agent_run(const struct pk_config *cfg, struct pk_transport_config *tc)
{
    struct agent *a = agent_new(cfg, tc);
    struct pk_endpoint ep = cfg->relay_ep;
    int rc;

    if (a == NULL)
        return PK_EXIT_RUNTIME;
    start_up(a, &ep);
    pk_loop_finish(&a->loop);
    if (a->http != NULL)
        pk_http_free(a->http);
    rc = a->exit_code;
    pk_relay_free(a);
    pk_delivery_free(a);
    free(a);
    return rc;
}

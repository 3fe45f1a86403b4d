/*
 * The collector's lifecycle: start-up steps, stop, linger and finish. Accounting per source:
 * packets received = written + linktype drops, and the agent's relayed total = received + lost
 * in transit (packet-index gaps). Messages enter through intake.c and leave through the output
 * stage (outstage.h); /metrics and /status come from collector_report.c. Loop thread only.
 */
#define PK_LOG_MODULE "collector"
#include "collector.h"
#include "collector_int.h"
#include "config.h"
#include "control_push.h"
#include "frame.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "pcktr.h"
#include "privdrop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#define MAX_SOURCES 1024
#define STATE_CHECK_MS 250 /* how often silent sources are checked for stale and gone */

static void stop(struct collector *c);

static void
on_state_timer(uv_timer_t *h)
{
    struct collector *c = container_of(h, struct collector, state_timer);

    pk_intake_check_states(c, pk_now_ns());
    pk_intake_release_if_written(c);
    pk_log_flush(0); /* a flood that stopped still gets its "N more suppressed" line */
}

static void
finish(struct collector *c)
{
    if (c->finished)
        return;
    c->finished = 1;
    if (pk_outstage_queued(&c->os) > 0)
        pk_warn("discarding %zu bytes of output that stdout did not take within LINGER",
                pk_outstage_queued(&c->os));
    for (size_t i = 0; i < c->sources.n; i++)
        pk_intake_log_totals(c->sources.v[i], "totals", "source_totals");
    pk_info("wrote %llu packets (%llu bytes of packet data); dropped %llu malformed, %llu "
            "wrong-version, %llu oversized messages",
            (unsigned long long)c->os.packets, (unsigned long long)c->os.bytes,
            (unsigned long long)c->bad[BAD_MALFORMED], (unsigned long long)c->bad[BAD_VERSION],
            (unsigned long long)c->bad[BAD_SIZE]);
    uv_close((uv_handle_t *)&c->linger_timer, NULL);
    uv_close((uv_handle_t *)&c->state_timer, NULL);
    pk_outstage_close(&c->os);
    pk_serve_close(c->serve);
    if (c->rotate != NULL) /* after the queue was written: the last file completes whole */
        pk_rotate_close(c->rotate);
    c->rotate = NULL;
    c->os.on_written = NULL;
    if (c->http != NULL)
        pk_http_stop(c->http, NULL, NULL);
}

static void
on_drained(struct pk_output *o, void *data)
{
    struct collector *c = data;

    (void)o;
    if (c->stopping) {
        if (pk_outstage_queued(&c->os) == 0)
            finish(c);
        return;
    }
    if (c->paused && !pk_outstage_full(&c->os)) {
        c->paused = 0;
        c->tr->ops->set_receiving(c->tr, 1);
        pk_debug("output queue drained to %zu bytes: resuming intake", pk_outstage_queued(&c->os));
    }
}

static void
on_output_error(struct pk_output *o, int err, void *data)
{
    struct collector *c = data;

    if (err == -EPIPE) {
        pk_info("the reader of stdout went away; stopping");
    } else if (strcmp(c->cfg->output, "-") == 0) {
        pk_error("cannot write to stdout: %s", strerror(-err));
        c->exit_code = PK_EXIT_RUNTIME;
    } else { /* a full disk, say: what was written stays, cut to whole blocks */
        pk_error("OUTPUT=\"%s\": cannot write: %s; the file%s%s%s keeps the %llu bytes of "
                 "whole blocks written before",
                 c->cfg->output, strerror(-err), c->rotate ? " \"" : "",
                 c->rotate ? pk_rotate_current(c->rotate) : "", c->rotate ? "\" (OUTPUT_ROTATE)" : "",
                 (unsigned long long)pk_output_kept(o));
        c->exit_code = PK_EXIT_RUNTIME;
    }
    stop(c);
    finish(c); /* nothing more can be written */
}

static void
on_linger_timeout(uv_timer_t *h)
{
    finish(container_of(h, struct collector, linger_timer));
}

static void
on_transport_closed(void *data, int flushed)
{
    (void)data;
    (void)flushed;
}

static void
stop(struct collector *c)
{
    if (c->stopping)
        return;
    c->stopping = 1;
    pk_signals_close(&c->signals);
    c->counters = c->tr->counters;
    pk_intake_release_if_written(c);
    pk_transport_get_report(c->tr, &c->own);
    c->tr->ops->close(c->tr, 0, on_transport_closed, c);
    c->tr = NULL;
    pk_forward_close(c->fwd, c->cfg->linger_ms, &c->fwd_last); /* it may still deliver */
    c->fwd = NULL;
    pk_serve_stop(c->serve); /* readers connected go on until the end */
    pk_outstage_stop(&c->os, !c->finished);
    if (pk_outstage_queued(&c->os) == 0) {
        finish(c);
        return;
    }
    pk_outstage_flush(&c->os);
    if (!c->finished)
        uv_timer_start(&c->linger_timer, on_linger_timeout, c->cfg->linger_ms, 0);
}

void
pk_collector_stop(struct collector *c)
{
    stop(c);
}

static void
on_stop_signal(void *data, int signum)
{
    (void)signum;
    stop(data);
}

/*
 * SIGHUP: the transport reads again what it can (COLLECT_CURVE_ALLOWED, so that an agent can be
 * added or removed without a restart that would cut every other source's stream) and says so.
 */
static void
on_sighup(uv_signal_t *h, int signum)
{
    struct collector *c = h->data;

    (void)signum;
    if (c->cfg->transport->reload != NULL && c->tc != NULL)
        c->cfg->transport->reload(c->tc, &c->access);
    else
        pk_info("SIGHUP: nothing to reload");
}

/* The state before any start-up step: nothing open yet but the loop. */
static struct collector *
collector_new(const struct pk_config *cfg, struct pk_transport_config *tc)
{
    struct collector *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->cfg = cfg;
    c->tc = tc;
    c->reporter = (struct pk_reporter){PK_REPORT_COLLECT, pk_collector_fill_report, c};
    pk_log_set_context(&(struct pk_log_fields){.endpoint = cfg->collect_endpoint});
    c->access.allow = cfg->allow;
    c->access.nallow = cfg->nallow;
    pk_sources_init(&c->sources, MAX_SOURCES, cfg->stale_after_ms, cfg->gone_after_ms);
    pk_outstage_init(&c->os, cfg->merge_window_ms, cfg->output_buffer, pk_intake_pause_if_full,
                     c);
    pk_gate_init(&c->gate, cfg->serve_allow, cfg->nserve_allow, (unsigned)cfg->serve_max_readers);
    c->start_ns = pk_now_ns();
    uv_loop_init(&c->loop);
    return c;
}

/* OUTPUT: never truncated, an existing capture is moved aside. Returns an exit code. */
static int
open_output(struct collector *c)
{
    const struct pk_config *cfg = c->cfg;
    struct pk_output_callbacks ocb = {on_drained, on_output_error, c};
    char errbuf[PK_ERRBUF_SIZE], moved[4096];
    int out_fd = STDOUT_FILENO;

    c->output_cbs = ocb; /* OUTPUT_ROTATE gives each new file's queue the same */
    moved[0] = '\0';
    if (strcmp(cfg->output, "none") == 0)
        return PK_EXIT_OK; /* a hub: readers only */
    if (cfg->output_rotate[0] != '\0' && (out_fd = pk_collector_open_rotation(c, errbuf)) < 0) {
        pk_error("%s", errbuf);
        return pk_exit_code(out_fd);
    }
    if (strcmp(cfg->output, "-") != 0 && c->rotate == NULL &&
        (out_fd = pk_output_open_path(cfg->output, moved, sizeof(moved), errbuf)) < 0) {
        pk_error("%s", errbuf);
        return PK_EXIT_RUNTIME;
    }
    if (moved[0] != '\0')
        pk_info_with(&(struct pk_log_fields){.event = "output_moved_aside"},
                     "OUTPUT=\"%s\" held a capture: moved aside to \"%s\"", cfg->output, moved);
    if (pk_outstage_open(&c->os, &c->loop, out_fd, cfg->output_buffer, cfg->output_format, &ocb,
                         errbuf) != 0) {
        pk_error("%s", errbuf);
        return PK_EXIT_RUNTIME;
    }
    return PK_EXIT_OK;
}

static int
resolve_endpoint(struct collector *c, struct pk_endpoint *ep)
{
    char errbuf[PK_ERRBUF_SIZE];

    if (ep->host[0] != '\0' && pk_endpoint_resolve(ep, errbuf) != 0) {
        pk_error("COLLECT_ENDPOINT=\"%s\": %s", c->cfg->collect_endpoint, errbuf);
        return PK_EXIT_RUNTIME;
    }
    return PK_EXIT_OK;
}

static int
start_http(struct collector *c)
{
    const struct pk_config *cfg = c->cfg;
    char errbuf[PK_ERRBUF_SIZE];

    if (cfg->metrics_addrport[0] != '\0' &&
        pk_reports_start(&c->http, &c->loop, &cfg->metrics_ep, cfg->metrics_addrport,
                         &c->reporter, errbuf) != 0) {
        pk_error("%s", errbuf);
        return PK_EXIT_RUNTIME;
    }
    pk_http_set_control(c->http, c->control); /* the API of the plane, when there is one */
    return PK_EXIT_OK;
}

static int
open_transport(struct collector *c, const struct pk_endpoint *ep)
{
    const struct pk_config *cfg = c->cfg;
    struct pk_transport_opts topts = {.role = PK_TRANSPORT_RECEIVER, .config = c->tc,
        .max_message = PK_FRAME_MAX, .min_message = PK_FRAME_HEADER_LEN, .access = &c->access,
        .is_message = pk_intake_is_message, .capture_streams = &pk_intake_capture_streams,
        .uri = cfg->collect_endpoint, .control = c->control != NULL};
    char errbuf[PK_ERRBUF_SIZE];

    if (cfg->transport->open(&c->tr, &c->loop, ep, &topts, errbuf) != 0) {
        pk_error("COLLECT_ENDPOINT=\"%s\": %s", cfg->collect_endpoint, errbuf);
        return PK_EXIT_RUNTIME;
    }
    c->tr->data = c;
    c->per_connection = c->tr->ops->per_connection_peers;
    c->sources.per_connection = c->per_connection; /* a source may move once its connection closed */
    c->tr->on_message = pk_intake_on_message;
    c->tr->on_peer = pk_intake_on_peer;
    return PK_EXIT_OK;
}

/* RUN_AS; on failure the transport is closed again (the caller closes the rest). */
static int
drop_privileges(struct collector *c)
{
    char errbuf[PK_ERRBUF_SIZE];
    int rc;

    if ((rc = pk_drop_privileges(c->cfg->run_as, errbuf)) != 0) {
        pk_error("%s", errbuf);
        c->tr->ops->close(c->tr, 0, on_transport_closed, c);
        c->tr = NULL;
        return pk_exit_code(rc);
    }
    if (c->cfg->run_as[0] != '\0')
        pk_info("running as user %s (uid %u)", c->cfg->run_as, (unsigned)getuid());
    return PK_EXIT_OK;
}

/* The writer (its pcapng section names this host) and the output stage's timers. */
static void
start_output(struct collector *c)
{
    const struct pk_config *cfg = c->cfg;
    char os[160], app[64];
    struct utsname un;

    if (uname(&un) != 0)
        memset(&un, 0, sizeof(un));
    snprintf(os, sizeof(os), "%s %s", un.sysname, un.release);
    snprintf(app, sizeof(app), "pcktr %s", PCKTR_VERSION);
    pk_outstage_start(&c->os, &c->loop, cfg->output_format, &c->sources, un.machine, os, app);
    if (strcmp(cfg->output, "none") == 0)
        pk_info("collecting on %s (%s); no output of its own (OUTPUT=none): readers only",
                cfg->collect_endpoint, cfg->relay_transport);
    else
        pk_info("collecting on %s (%s); writing %s to %s", cfg->collect_endpoint,
                cfg->relay_transport, pk_output_format_names[cfg->output_format],
                strcmp(cfg->output, "-") == 0 ? "stdout" : cfg->output);
}

/* SERVE_ENDPOINT listeners and SERVE_CONNECT connections: readers of the stream. */
static int
start_serve(struct collector *c)
{
    const struct pk_config *cfg = c->cfg;
    struct pk_serve_opts opts = {cfg->serve_listen, cfg->serve_dial, cfg->nserve_listen,
        cfg->nserve_dial, cfg->serve_buffer, &c->gate};
    char errbuf[PK_ERRBUF_SIZE];

    if (cfg->nserve_listen + cfg->nserve_dial == 0)
        return PK_EXIT_OK;
    if (pk_serve_open(&c->serve, &c->loop, pk_outstage_sinks(&c->os), &opts, errbuf) != 0) {
        pk_error("%s", errbuf);
        return PK_EXIT_RUNTIME;
    }
    return PK_EXIT_OK;
}

/*
 * The lifecycle's own handles: linger, source states, stop signals, SIGHUP (pk_loop_finish
 * closes them). On failure the transport is closed again (the caller closes the rest).
 */
static int
start_timers_and_signals(struct collector *c)
{
    int rc;

    if ((rc = uv_timer_init(&c->loop, &c->linger_timer)) != 0 ||
        (rc = uv_timer_init(&c->loop, &c->state_timer)) != 0 ||
        (rc = pk_signals_start(&c->signals, &c->loop, on_stop_signal, c)) != 0 ||
        (rc = uv_signal_init(&c->loop, &c->sighup)) != 0) {
        pk_error("cannot start timers and signals: %s", uv_strerror(rc));
        c->tr->ops->close(c->tr, 0, on_transport_closed, c);
        c->tr = NULL;
        return PK_EXIT_RUNTIME;
    }
    uv_timer_start(&c->state_timer, on_state_timer, STATE_CHECK_MS, STATE_CHECK_MS);
    c->sighup.data = c;
    uv_signal_start(&c->sighup, on_sighup, SIGHUP);
    uv_unref((uv_handle_t *)&c->sighup);
    return PK_EXIT_OK;
}

/* Every step after the output is open; an exit code. On failure the caller closes the rest. */
static int
start_up(struct collector *c, struct pk_endpoint *ep)
{
    int rc;

    if ((rc = resolve_endpoint(c, ep)) != 0 || (rc = pk_control_push_open(c)) != 0)
        return rc;
    if ((rc = start_http(c)) != 0)
        return rc;
    if ((rc = open_transport(c, ep)) != 0)
        return rc;
    pk_collector_log_security(c, ep);
    if ((rc = start_serve(c)) != 0) { /* before RUN_AS: SERVE_ENDPOINT may be a low port */
        c->tr->ops->close(c->tr, 0, on_transport_closed, c);
        c->tr = NULL;
        return rc;
    }
    if ((rc = drop_privileges(c)) != 0)
        return rc;
    if ((rc = start_timers_and_signals(c)) != 0)
        return rc;
    if ((rc = pk_forward_open(&c->fwd, &c->loop, c->cfg)) != 0) {
        c->tr->ops->close(c->tr, 0, on_transport_closed, c); /* pk_loop_finish: the rest */
        c->tr = NULL;
        return rc;
    }
    start_output(c);
    pk_collector_start_rotation_and_stream(c);
    return PK_EXIT_OK;
}

int
pk_collector_run(const struct pk_config *cfg, struct pk_transport_config *tc)
{
    struct collector *c = collector_new(cfg, tc);
    struct pk_endpoint ep = cfg->collect_ep;
    int rc;

    if (c == NULL)
        return PK_EXIT_RUNTIME;
    if ((c->exit_code = open_output(c)) == PK_EXIT_OK &&
        (c->exit_code = start_up(c, &ep)) != PK_EXIT_OK) {
        pk_outstage_close(&c->os);
        pk_serve_close(c->serve);
        if (c->rotate != NULL)
            pk_rotate_close(c->rotate);
        c->rotate = NULL;
        c->os.on_written = NULL;
        if (c->http != NULL)
            pk_http_stop(c->http, NULL, NULL);
    }
    pk_loop_finish(&c->loop);
    pk_serve_free(c->serve);
    if (c->http != NULL)
        pk_http_free(c->http);
    pk_control_push_free(c); /* after the server of its API */
    rc = c->exit_code;
    pk_outstage_free(&c->os);
    pk_sources_free(&c->sources);
    pk_intake_free(c);
    free(c);
    return rc;
}

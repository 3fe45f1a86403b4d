/*
 * The capture agent. Accounting invariant, per agent: captured = relayed + relay_drops + queued
 * (queued: in the open batch). Live capture never waits: a batch the transport refuses is
 * dropped and counted. READ_FILE waits instead: the refused batch is kept and the file paused
 * until the transport is writable again, or until RELAY_TIMEOUT passes without progress.
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
#include "keys.h"
#include "linktype.h"
#include "privdrop.h"
#include "transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static void finish(struct agent *a, uint64_t linger_ms);
static void on_stall(uv_timer_t *h);
static void on_transport_closed(void *data, int flushed);
static void close_transport(struct agent *a, uint64_t linger_ms);

static int
send_message(struct agent *a, uint8_t *buf, size_t len)
{
    int rc;

    pk_frame_set_seq(buf, a->seq, pk_now_ns());
    /*
     * A signal (SIGHUP) landing inside zmq_send's command processing makes it fail with EINTR
     * before the message is queued (socket_base_t::send): try again rather than drop a batch.
     */
    for (int tries = 0; (rc = a->tr->ops->send(a->tr, buf, len)) == -EINTR && tries < 8; tries++)
        ;
    if (rc == 0)
        a->seq++;
    return rc;
}

void
pk_agent_fill_stats(struct agent *a, struct pk_stats *s)
{
    if (a->cap != NULL)
        pk_capture_stats(a->cap, &a->st.kernel_drops, &a->st.if_drops);
    *s = a->st;
    s->queued = a->batch_open ? a->batch.count : 0;
}

static int
send_control(struct agent *a, enum pk_frame_kind kind)
{
    struct pk_stats s;
    size_t len;

    if (kind == PK_KIND_HELLO) {
        len = pk_frame_encode_hello(a->control, sizeof(a->control), &a->src, &a->hello, a->host,
                                    a->cfg->read_file ? a->cfg->read_file : a->cfg->device,
                                    a->filter, PCKTR_VERSION);
    } else {
        pk_agent_fill_stats(a, &s);
        len = pk_frame_encode_stats(a->control, sizeof(a->control), &a->src, kind, &s);
    }
    if (len == 0)
        return -EMSGSIZE;
    return send_message(a, a->control, len);
}

/* One line when an episode of relay drops starts, one when it ends: never one per packet. */
static void
note_relay_drops(struct agent *a)
{
    if (a->dropping)
        return;
    a->dropping = 1;
    pk_warn_with(&(struct pk_log_fields){.event = "relay_queue_full"},
                 "relay queue full (RELAY_QUEUE=%llu messages): dropping packets, see relay drops",
                 (unsigned long long)a->cfg->relay_queue);
}

/* Hands the open batch to the transport. -EAGAIN only in READ_FILE mode (the batch is kept). */
static int
flush_batch(struct agent *a)
{
    int rc;

    if (!a->batch_open)
        return 0;
    if (a->batch.count == 0) {
        a->batch_open = 0;
        return 0;
    }
    rc = send_message(a, a->batch_buf, pk_batch_end(&a->batch));
    if (rc == 0) {
        a->st.relayed += a->batch.count;
        a->batch_open = a->batch_pending = 0;
        if (a->replay != NULL)
            uv_timer_stop(&a->stall);
        if (a->dropping) {
            pk_info_with(&(struct pk_log_fields){.event = "relay_queue_room"},
                         "relay queue has room again; %llu packets dropped meanwhile",
                         (unsigned long long)(a->st.relay_drops - a->drops_reported));
            a->drops_reported = a->st.relay_drops;
            a->dropping = 0;
        }
        return 0;
    }
    if (rc == -EAGAIN && a->replay != NULL && !a->stopping) {
        if (!a->batch_pending) {
            uv_timer_start(&a->stall, on_stall, a->cfg->relay_timeout_ms, 0);
            pk_debug("relay queue full: pausing the file");
        }
        a->batch_pending = 1;
        return -EAGAIN;
    }
    if (rc != -EAGAIN)
        pk_warn("relay send failed: %s; %u packets dropped", strerror(-rc), a->batch.count);
    a->st.relay_drops += a->batch.count;
    a->batch_open = a->batch_pending = 0;
    note_relay_drops(a);
    return rc;
}

static void
add_packet(struct agent *a, const struct pk_packet *pkt)
{
    if (!a->batch_open) {
        pk_batch_begin(&a->batch, &a->src, a->hello.linktype, a->st.relayed);
        a->batch_open = 1;
    }
    /* The buffer holds BATCH_BYTES plus one largest record, so adding always fits. */
    pk_batch_add(&a->batch, pkt->ts_ns, pkt->caplen, pkt->origlen, pkt->data);
    a->st.captured++;
    pk_af_hist_add(&a->hist, pk_af_classify(a->hello.linktype, pkt->data, pkt->caplen),
                   pkt->origlen);
    if (a->batch.len >= a->cfg->batch_bytes)
        flush_batch(a);
}

static void
on_live_packet(void *data, const struct pk_packet *pkt)
{
    add_packet(data, pkt);
}

static int
on_replay_packet(void *data, const struct pk_packet *pkt)
{
    struct agent *a = data;

    if (a->batch_pending && flush_batch(a) == -EAGAIN)
        return -EAGAIN;
    add_packet(a, pkt);
    return 0;
}

static void
on_burst_end(void *data)
{
    struct agent *a = data;

    if (!a->batch_pending)
        flush_batch(a);
}

static void
on_capture_error(void *data, const char *msg)
{
    struct agent *a = data;

    pk_error("%s", msg);
    a->exit_code = PK_EXIT_RUNTIME;
    finish(a, a->cfg->linger_ms);
}

static void
on_capture_link(void *data, int up, const char *msg)
{
    struct agent *a = data;

    if (up)
        pk_info_with(&(struct pk_log_fields){.event = "device_up"},
                     "DEVICE=\"%s\" is capturing again", a->cfg->device);
    else
        pk_warn_with(
            &(struct pk_log_fields){.event = "device_down"},
            "%s: DEVICE=\"%s\" went down; waiting for it to come back (packets it does not "
            "carry meanwhile are not captured)",
            msg, a->cfg->device);
}

static void
on_replay_end(void *data, const char *error)
{
    struct agent *a = data;

    a->replay_ended = 1;
    if (error != NULL) {
        snprintf(a->replay_error, sizeof(a->replay_error), "%s", error);
        pk_error("READ_FILE=\"%s\": %s", a->cfg->read_file, error);
    }
    if (!a->batch_pending)
        finish(a, a->cfg->relay_timeout_ms);
}

static void
on_writable(struct pk_transport *t)
{
    struct agent *a = t->data;

    pk_debug("relay queue writable again");
    if (a->goodbye_pending) {
        uint64_t now = uv_now(&a->loop);
        if (send_control(a, PK_KIND_GOODBYE) == 0)
            close_transport(a, a->goodbye_deadline_ms > now ? a->goodbye_deadline_ms - now : 0);
        return;
    }
    if (!a->batch_pending || flush_batch(a) == -EAGAIN)
        return;
    if (a->replay_ended)
        finish(a, a->cfg->relay_timeout_ms);
    else
        pk_replay_resume(a->replay);
}

static void
on_stall(uv_timer_t *h)
{
    struct agent *a = container_of(h, struct agent, stall);

    pk_log_with(PK_LOG_ERROR, &(struct pk_log_fields){.event = "relay_timeout"},
                "collector %s took nothing for RELAY_TIMEOUT (%llu ms); giving up",
                a->cfg->relay_endpoint, (unsigned long long)a->cfg->relay_timeout_ms);
    a->exit_code = PK_EXIT_RUNTIME;
    finish(a, 0);
}

static void
on_peer(struct pk_transport *t, enum pk_peer_event ev, const char *peer)
{
    struct agent *a = t->data;

    if (ev == PK_PEER_UP) {
        pk_info_with(&(struct pk_log_fields){.event = "collector_connected", .peer = peer},
                     "connected to collector %s%s", peer[0] ? peer : a->cfg->relay_endpoint,
                     a->keys->enabled ? " (CURVE)" : "");
        a->handshake_warned = 0;
        /* A restarted collector learns this source at once; but not once stopping: a hello
         * queued behind the goodbye would bring the source back up at the collector. */
        if (!a->stopping)
            send_control(a, PK_KIND_HELLO);
    } else if (ev == PK_PEER_REFUSED) {
        /* libzmq retries by itself; one line per run of failures, not one per retry. */
        if (!a->handshake_warned++)
            pk_warn_with(
                &(struct pk_log_fields){.event = "collector_refused"},
                "collector %s refused this agent's handshake (%s): check that "
                "RELAY_CURVE_SERVERKEY is the collector's public key and that this agent's "
                "public key %s is in its COLLECT_CURVE_ALLOWED; retrying",
                a->cfg->relay_endpoint, peer,
                a->keys->enabled ? a->keys->public_key : "(none: the relay is unencrypted)");
    } else {
        pk_warn_with(
            &(struct pk_log_fields){.event = "collector_lost", .peer = peer},
            "lost collector %s; queueing up to RELAY_QUEUE=%llu messages while reconnecting",
            peer[0] ? peer : a->cfg->relay_endpoint, (unsigned long long)a->cfg->relay_queue);
    }
}

static void
on_heartbeat(uv_timer_t *h)
{
    struct agent *a = container_of(h, struct agent, heartbeat);

    /* Refused control messages are not lost data: the next heartbeat carries fresh totals. */
    send_control(a, PK_KIND_HELLO);
    send_control(a, PK_KIND_STATS);
}

static void
on_transport_closed(void *data, int flushed)
{
    struct agent *a = data;
    uint64_t undelivered = a->st.captured - a->st.relayed;

    if ((a->tr->counters.connects == 0 || undelivered == 0) && a->tr->counters.messages_sent > 0 &&
        !flushed)
        undelivered = a->st.captured; /* nothing ever reached a collector */
    if (!flushed)
        pk_warn("collector %s did not take everything within the linger time: up to %llu of "
                "%llu packets not delivered",
                a->cfg->relay_endpoint, (unsigned long long)undelivered,
                (unsigned long long)a->st.captured);
    if (!flushed && a->tr->counters.conns_ended_at_once >= a->tr->counters.connects &&
        a->tr->counters.connects > 0)
        pk_warn("the collector closed every connection at once: refused? see its "
                "packeteur_connections_refused_total");
    if (a->replay != NULL && !a->signals.received && (!flushed || a->st.relay_drops > 0))
        a->exit_code = PK_EXIT_RUNTIME;
    if (a->replay != NULL && a->replay_error[0] != '\0')
        a->exit_code = PK_EXIT_RUNTIME;
    pk_info("done: captured %llu, relayed %llu, relay drops %llu, kernel drops %llu, "
            "interface drops %llu",
            (unsigned long long)a->st.captured, (unsigned long long)a->st.relayed,
            (unsigned long long)a->st.relay_drops, (unsigned long long)a->st.kernel_drops,
            (unsigned long long)a->st.if_drops);
    a->tr = NULL;
    if (a->http != NULL)
        pk_http_stop(a->http, NULL, NULL);
}

/* Closes the transport, which flushes what is queued for up to linger_ms. */
static void
close_transport(struct agent *a, uint64_t linger_ms)
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
    close_transport(a, 0);
}

/*
 * Stops capturing, flushes, says goodbye and closes the transport with the given linger. A
 * full queue (a READ_FILE that kept it full to the end) leaves the goodbye waiting for room,
 * within the same linger: it carries the final totals that close the collector's books.
 */
static void
finish(struct agent *a, uint64_t linger_ms)
{
    int rc;

    if (a->stopping)
        return;
    a->stopping = 1;
    uv_timer_stop(&a->heartbeat);
    uv_timer_stop(&a->stall);
    uv_close((uv_handle_t *)&a->heartbeat, NULL);
    flush_batch(a); /* while stopping, a refused batch is counted as relay drops */
    rc = send_control(a, PK_KIND_GOODBYE);
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
    close_transport(a, linger_ms);
}

static void
on_stop_signal(void *data, int signum)
{
    struct agent *a = data;

    (void)signum;
    finish(a, a->cfg->linger_ms);
}


static void
build_exclusion(struct agent *a, const struct pk_endpoint *ep)
{
    size_t len = (size_t)snprintf(a->exclude, sizeof(a->exclude), "not (tcp port %u and (", ep->port);
    char addr[64];

    for (int i = 0; i < ep->naddrs && len < sizeof(a->exclude); i++)
        len += (size_t)snprintf(a->exclude + len, sizeof(a->exclude) - len, "%shost %s",
                                i ? " or " : "", pk_endpoint_addr_str(ep, i, addr, sizeof(addr)));
    if (len < sizeof(a->exclude))
        snprintf(a->exclude + len, sizeof(a->exclude) - len, "))");
}

/*
 * The link type the relay carries: the registry's LINKTYPE_ value, as a capture file would
 * hold it (libpcap hands out DLT_ values, and DLT_RAW is 12 on Linux where files say 101).
 */
static uint32_t
relay_linktype(int dlt)
{
    int linktype = pk_linktype_from_dlt(dlt);

    if (linktype >= 0)
        return (uint32_t)linktype;
    pk_warn("libpcap link type DLT %d has no LINKTYPE_ value in the registry; relayed as %d, "
            "which readers may not understand",
            dlt, dlt);
    return (uint32_t)dlt;
}

static int
open_source(struct agent *a, char *errbuf)
{
    const struct pk_config *cfg = a->cfg;
    int rc;

    if (cfg->read_file != NULL) {
        struct pk_replay_sink sink = {on_replay_packet, on_burst_end, on_replay_end, a};
        rc = pk_replay_open(&a->replay, &a->loop, cfg->read_file, cfg->filter, &sink, errbuf);
        if (rc != 0)
            return rc;
        a->hello.linktype = relay_linktype(pk_replay_dlt(a->replay));
        a->hello.snaplen = pk_replay_snaplen(a->replay);
        a->hello.tsresol = 9;
        a->filter = cfg->filter;
        return 0;
    }
    struct pk_capture_opts opts = {
        .device = cfg->device,
        .filter = cfg->filter,
        .exclude = a->exclude,
        .snaplen = (uint32_t)cfg->snaplen,
        .promisc = cfg->promisc,
        .buffer_size = cfg->buffer_size,
    };
    struct pk_packet_sink sink = {on_live_packet, on_burst_end, on_capture_error, on_capture_link,
                                  a};
    rc = pk_capture_open(&a->cap, &a->loop, &opts, &sink, errbuf);
    if (rc != 0)
        return rc;
    a->hello.linktype = relay_linktype(pk_capture_dlt(a->cap));
    a->hello.snaplen = (uint32_t)cfg->snaplen;
    a->hello.tsresol = (uint32_t)pk_capture_tsresol(a->cap);
    a->filter = pk_capture_filter(a->cap);
    return 0;
}

static uint64_t
random_id(void)
{
    uint64_t id = 0;

    if (uv_random(NULL, NULL, &id, sizeof(id), 0, NULL) != 0 || id == 0)
        id = pk_now_ns() ^ ((uint64_t)getpid() << 32);
    return id;
}

int
pk_agent_run(const struct pk_config *cfg, const struct pk_curve_keys *keys)
{
    struct agent *a = calloc(1, sizeof(*a));
    struct pk_endpoint ep = cfg->relay_ep;
    struct pk_transport_opts topts = {.role = PK_TRANSPORT_SENDER, .queue_limit = cfg->relay_queue,
                                      .max_message = PK_FRAME_MAX};
    char errbuf[PK_ERRBUF_SIZE], uri[300];
    size_t batch_cap;
    int rc;

    if (a == NULL)
        return PK_EXIT_RUNTIME;
    a->cfg = cfg;
    a->keys = keys;
    if (keys->enabled) {
        topts.server_public = keys->server_public;
        topts.public_key = keys->public_key;
        topts.secret_key = keys->secret_key;
    }
    a->src.source_id = random_id();
    a->src.name = cfg->source_name;
    pk_log_set_context(
        &(struct pk_log_fields){.source = cfg->source_name,
                                .device = cfg->read_file != NULL ? cfg->read_file : cfg->device,
                                .endpoint = cfg->relay_endpoint});
    a->hello.heartbeat_ms = (uint32_t)cfg->heartbeat_ms;
    a->hello.start_ns = a->start_ns = pk_now_ns();
    if (gethostname(a->host, sizeof(a->host)) != 0)
        strcpy(a->host, "unknown");
    uv_loop_init(&a->loop);

    if ((rc = pk_endpoint_resolve(&ep, errbuf)) != 0) {
        pk_error("RELAY_ENDPOINT=\"%s\": %s", cfg->relay_endpoint, errbuf);
        a->exit_code = PK_EXIT_RUNTIME;
        goto out_loop;
    }
    build_exclusion(a, &ep);
    if (cfg->metrics_addrport[0] != '\0' &&
        pk_http_start(&a->http, &a->loop, &cfg->metrics_ep, cfg->metrics_addrport, pk_agent_routes,
                      pk_agent_nroutes, a, errbuf) != 0) {
        pk_error("%s", errbuf);
        a->exit_code = PK_EXIT_RUNTIME;
        goto out_loop;
    }
    if ((rc = open_source(a, errbuf)) != 0) {
        pk_error("%s", errbuf);
        a->exit_code = rc == -EINVAL ? PK_EXIT_CONFIG : PK_EXIT_RUNTIME;
        goto out_http;
    }
    batch_cap = cfg->batch_bytes + PK_FRAME_HEADER_LEN + 255 + PK_PACKETS_BODY_HEADER_LEN +
                PK_RECORD_HEADER_LEN + PK_FRAME_MAX_CAPLEN;
    a->batch_buf = malloc(batch_cap);
    pk_batch_init(&a->batch, a->batch_buf, batch_cap);

    a->tr = pk_transport_find(cfg->relay_transport)->open(&a->loop, &ep, &topts, errbuf);
    if (a->tr == NULL) {
        pk_error("RELAY_ENDPOINT=\"%s\": %s", cfg->relay_endpoint, errbuf);
        a->exit_code = PK_EXIT_RUNTIME;
        goto out_source;
    }
    a->tr->data = a;
    a->tr->on_writable = on_writable;
    a->tr->on_peer = on_peer;
    if (keys->enabled)
        pk_info("relay encrypted with CURVE; this agent's public key is %s%s", keys->public_key,
                keys->ephemeral ? " (made for this run: set RELAY_CURVE_SECRETKEY for a "
                                  "lasting one that COLLECT_CURVE_ALLOWED can list)"
                                : "");
    else
        pk_warn("the relay is not encrypted: captured packets cross the network in clear text "
                "(%s)", a->tr->ops->encrypts ? "set RELAY_CURVE_SERVERKEY to the collector's "
                "public key" : "this transport is for trusted networks or a tunnel");

    pk_info("capturing %s%s, link type %u, snaplen %u, filter \"%s\"; relaying as \"%s\" to %s "
            "(%s, via %s)",
            cfg->read_file ? "file " : "device ", cfg->read_file ? cfg->read_file : cfg->device,
            a->hello.linktype, a->hello.snaplen, a->filter, cfg->source_name, cfg->relay_endpoint,
            cfg->relay_transport, pk_endpoint_uri(&ep, 0, uri, sizeof(uri)));

    uv_timer_init(&a->loop, &a->heartbeat);
    uv_timer_init(&a->loop, &a->stall);
    pk_signals_start(&a->signals, &a->loop, on_stop_signal, a);
    pk_signals_start_hup(&a->signals, pk_agent_on_hup);
    if ((rc = pk_drop_privileges(cfg->run_as, errbuf)) != 0) {
        pk_error("%s", errbuf);
        a->exit_code = rc == -EINVAL ? PK_EXIT_CONFIG : PK_EXIT_RUNTIME;
        finish(a, 0);
        goto out_loop;
    }
    if (cfg->run_as[0] != '\0')
        pk_info("running as user %s (uid %u)", cfg->run_as, (unsigned)getuid());
    send_control(a, PK_KIND_HELLO);
    uv_timer_start(&a->heartbeat, on_heartbeat, cfg->heartbeat_ms, cfg->heartbeat_ms);
    if (a->replay != NULL)
        pk_replay_resume(a->replay);

    goto out_loop;

out_source:
    if (a->cap)
        pk_capture_close(a->cap);
    if (a->replay)
        pk_replay_close(a->replay);
out_http:
    if (a->http != NULL)
        pk_http_stop(a->http, NULL, NULL);
out_loop:
    pk_loop_finish(&a->loop);
    if (a->http != NULL)
        pk_http_free(a->http);
    rc = a->exit_code;
    free(a->batch_buf);
    free(a);
    return rc;
}

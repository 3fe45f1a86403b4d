/* Prometheus text rendering; see metrics.h and docs/METRICS.md for every name. */
#include "metrics.h"
#include "control.h"
#include "http.h"
#include "metrics_int.h"
#include "procstat.h"

#include <inttypes.h>
#include <string.h>

void
pk_metrics_family(struct pk_buf *b, const char *name, const char *type, const char *help)
{
    pk_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
pk_metrics_single(struct pk_buf *b, const char *name, const char *type, const char *help,
                  uint64_t v)
{
    pk_metrics_family(b, name, type, help);
    pk_buf_printf(b, "%s %" PRIu64 "\n", name, v);
}

void
pk_metrics_escape(struct pk_buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            pk_buf_printf(b, "\\%c", *v);
        else if (*v == '\n')
            pk_buf_printf(b, "\\n");
        else
            pk_buf_printf(b, "%c", *v);
    }
}

static void
histogram(struct pk_buf *b, const struct pk_af_hist *h)
{
    pk_metrics_family(b, "packeteur_capture_bytes", "histogram",
                      "Captured packets by their length on the wire in bytes, per address family.");
    for (int af = 0; af < PK_AF_COUNT; af++) {
        uint64_t cum = 0;
        for (int i = 0; i < PK_AF_BUCKETS; i++) {
            cum += h->bucket[af][i];
            pk_buf_printf(
                b, "packeteur_capture_bytes_bucket{address_family=\"%s\",le=\"%u\"} %" PRIu64 "\n",
                pk_af_names[af], 64u << i, cum);
        }
        pk_buf_printf(
            b, "packeteur_capture_bytes_bucket{address_family=\"%s\",le=\"+Inf\"} %" PRIu64 "\n",
            pk_af_names[af], h->count[af]);
        pk_buf_printf(b, "packeteur_capture_bytes_sum{address_family=\"%s\"} %" PRIu64 "\n",
                      pk_af_names[af], h->sum[af]);
        pk_buf_printf(b, "packeteur_capture_bytes_count{address_family=\"%s\"} %" PRIu64 "\n",
                      pk_af_names[af], h->count[af]);
    }
    pk_metrics_family(b, "packeteur_capture_total", "counter",
                      "Captured packets per address family.");
    for (int af = 0; af < PK_AF_COUNT; af++)
        pk_buf_printf(b, "packeteur_capture_total{address_family=\"%s\"} %" PRIu64 "\n",
                      pk_af_names[af], h->count[af]);
}

/* The transport's own counters (ops->report): consecutive stats of a family share its HELP. */
static void
transport_stats(struct pk_buf *b, const struct pk_transport_report *r)
{
    const char *last = NULL;

    for (size_t i = 0; i < r->n; i++) {
        const struct pk_transport_stat *s = &r->stat[i];
        if (s->metric == NULL)
            continue; /* in /status only */
        if (last == NULL || strcmp(last, s->metric) != 0)
            pk_metrics_family(b, s->metric, s->type, s->help);
        last = s->metric;
        if (s->labels[0] != '\0')
            pk_buf_printf(b, "%s{%s} %" PRIu64 "\n", s->metric, s->labels, s->value);
        else
            pk_buf_printf(b, "%s %" PRIu64 "\n", s->metric, s->value);
    }
}

/* What HTTP clients cost the server (http.c); nothing when the server is off. */
static void
http_metrics(struct pk_buf *b, const struct pk_http_counters *h)
{
    if (h == NULL)
        return;
    pk_metrics_single(b, "packeteur_http_connections_refused_total", "counter",
                      "HTTP connections closed at accept: 256 open, or 32 from that address.",
                      h->connections_refused);
    pk_metrics_single(b, "packeteur_http_responses_busy_total", "counter",
                      "HTTP requests answered 503: the bodies being sent would pass the limit.",
                      h->responses_busy);
    pk_metrics_single(b, "packeteur_http_clients_stalled_total", "counter",
                      "HTTP clients reset for taking no part of their response for 5 s.",
                      h->clients_stalled);
    pk_metrics_single(b, "packeteur_http_held_bytes", "gauge",
                      "Bytes of rendered responses being sent, shared between clients.",
                      h->held_bytes);
    pk_metrics_single(b, "packeteur_http_held_limit_bytes", "gauge",
                      "Most bytes of rendered responses held for all clients together.",
                      h->held_limit);
}

/* The control API's answers (control_api.c), by result; all 0 while it is off. */
static void
control_metrics(struct pk_buf *b, const struct pk_control_plane *cp)
{
    const uint64_t *n = cp != NULL ? pk_control_plane_counters(cp) : NULL;

    pk_metrics_family(b, "packeteur_control_requests_total", "counter",
                      "Control API requests, by result: ok, unauthorized (401), forbidden (403, "
                      "CONTROL_ALLOW), invalid (400, 405), not_found (404), full (409), error "
                      "(500, CONTROL_STATE not saved).");
    for (int i = 0; i < PK_CONTROL_RESULTS; i++)
        pk_buf_printf(b, "packeteur_control_requests_total{result=\"%s\"} %" PRIu64 "\n",
                      pk_control_result_names[i], n != NULL ? n[i] : 0);
}

/* Thin links: compression ratio, the rate cap, sampling; sampled out is no drop. */
static void
thin_metrics(struct pk_buf *b, const struct pk_capture_report *r)
{
    pk_metrics_single(b, "packeteur_capture_rate_limited_total", "counter",
                      "Packets of batches over RELAY_RATE_LIMIT, not sent.", r->stats.rate_limited);
    pk_metrics_single(b, "packeteur_capture_sampled_out_total", "counter",
                      "Packets of flows SAMPLE leaves out (by design: not drops).",
                      r->stats.sampled_out);
    pk_metrics_single(b, "packeteur_capture_sample_denominator", "gauge",
                      "SAMPLE=1/N: N (1: every packet is kept).", r->sample_n ? r->sample_n : 1);
    pk_metrics_single(b, "packeteur_relay_batch_plain_bytes_total", "counter",
                      "Bytes of packets messages the transport took, before compression.",
                      r->batch_plain_bytes);
    pk_metrics_single(b, "packeteur_relay_batch_wire_bytes_total", "counter",
                      "Bytes of packets messages the transport took, as sent (after compression).",
                      r->batch_wire_bytes);
    pk_metrics_single(b, "packeteur_relay_batches_compressed_total", "counter",
                      "Packets messages sent compressed (others were shorter plain).",
                      r->batches_compressed);
    pk_metrics_single(b, "packeteur_relay_rate_limit_bytes", "gauge",
                      "RELAY_RATE_LIMIT in bytes per second (0: none).", r->rate_limit);
}

/* The control plane: packets held back by a pause (by design, not drops), the generation. */
static void
agent_control_metrics(struct pk_buf *b, const struct pk_capture_report *r)
{
    pk_metrics_single(b, "packeteur_paused_total", "counter",
                      "Packets captured while the collector's control paused the relay, not sent.",
                      r->stats.paused);
    pk_metrics_single(b, "packeteur_control_generation", "gauge",
                      "The control generation in force (0: none applied).", r->control.applied_gen);
}

void
pk_metrics_capture(struct pk_buf *b, const struct pk_capture_report *r)
{
    histogram(b, r->hist);
    pk_metrics_family(
        b, "packeteur_capture_drops_total", "counter",
        "Packets lost by the agent, by cause: kernel (capture buffer full), interface, relay "
        "(relay queue full), delivery (the transport gave up delivering them).");
    pk_buf_printf(b, "packeteur_capture_drops_total{cause=\"kernel\"} %" PRIu64 "\n",
                  r->stats.kernel_drops);
    pk_buf_printf(b, "packeteur_capture_drops_total{cause=\"interface\"} %" PRIu64 "\n",
                  r->stats.if_drops);
    pk_buf_printf(b, "packeteur_capture_drops_total{cause=\"relay\"} %" PRIu64 "\n",
                  r->stats.relay_drops);
    pk_buf_printf(b, "packeteur_capture_drops_total{cause=\"delivery\"} %" PRIu64 "\n",
                  r->stats.delivery_failed);
    pk_metrics_single(b, "packeteur_capture_device_up", "gauge",
                      "0 while the capture device is down (the agent waits for it to come back).",
                      (uint64_t)!r->device_down);
    pk_metrics_single(
        b, "packeteur_relay_packets_total", "counter",
        "Packets relayed: confirmed by a delivery report (Kafka), else handed to the transport.",
        r->stats.relayed);
    pk_metrics_single(b, "packeteur_relay_unconfirmed_packets", "gauge",
                      "Packets handed to the transport whose delivery report has not come yet.",
                      r->stats.unconfirmed);
    pk_metrics_single(b, "packeteur_relay_queue_packets", "gauge",
                      "Packets captured and not yet handed to the transport.", r->stats.queued);
    pk_metrics_single(b, "packeteur_relay_connected", "gauge",
                      "1 while the transport is connected to the collector.",
                      (uint64_t)r->connected);
    pk_metrics_single(b, "packeteur_relay_messages_sent_total", "counter",
                      "Messages handed to the transport.", r->transport.messages_sent);
    pk_metrics_single(b, "packeteur_relay_sent_bytes_total", "counter",
                      "Bytes of messages handed to the transport.", r->transport.bytes_sent);
    pk_metrics_single(b, "packeteur_relay_connects_total", "counter",
                      "Connections made to the collector.", r->transport.connects);
    pk_metrics_single(b, "packeteur_relay_encrypted", "gauge", "1 when the relay is encrypted.",
                      (uint64_t)r->encrypted);
    thin_metrics(b, r);
    agent_control_metrics(b, r);
    transport_stats(b, &r->own);
    http_metrics(b, r->http);
    pk_procstat_render(b);
}

/* The output stage: written, dropped, late, held, queued. */
static void
output_stage(struct pk_buf *b, const struct pk_collect_report *r)
{
    pk_metrics_single(b, "packeteur_output_packets_total", "counter",
                      "Packets written to the output.", r->out_packets);
    pk_metrics_single(b, "packeteur_output_bytes_total", "counter",
                      "Bytes of packet data written to the output.", r->out_bytes);
    pk_metrics_family(b, "packeteur_output_drops_total", "counter",
                      "Packets not written, by cause.");
    pk_buf_printf(b, "packeteur_output_drops_total{cause=\"linktype\"} %" PRIu64 "\n",
                  r->out_linktype_drops);
    pk_metrics_single(
        b, "packeteur_output_late_packets_total", "counter",
        "Packets written after a packet with a later timestamp (MERGE_WINDOW too short).",
        r->out_late);
    pk_metrics_single(b, "packeteur_merge_held_packets", "gauge",
                      "Packets held for timestamp order (MERGE_WINDOW).", r->merge_held);
    pk_metrics_single(b, "packeteur_merge_forced_total", "counter",
                      "Held packets released before their time because the hold buffer was full.",
                      r->merge_forced);
    pk_metrics_single(b, "packeteur_output_queue_bytes", "gauge",
                      "Bytes waiting for the output's reader.", r->out_queue_bytes);
    pk_metrics_single(b, "packeteur_output_queue_limit_bytes", "gauge", "OUTPUT_BUFFER.",
                      r->out_queue_limit);
    pk_metrics_single(b, "packeteur_output_blocked", "gauge",
                      "1 while the output queue is full and the collector makes agents wait.",
                      (uint64_t)r->intake_paused);
    if (!r->rotating)
        return;
    pk_metrics_family(
        b, "packeteur_output_files_total", "counter",
        "OUTPUT_ROTATE: files completed, deleted for OUTPUT_KEEP, and completed at start for "
        "a run that did not end.");
    pk_buf_printf(b, "packeteur_output_files_total{event=\"completed\"} %" PRIu64 "\n",
                  r->out_files_completed);
    pk_buf_printf(b, "packeteur_output_files_total{event=\"deleted\"} %" PRIu64 "\n",
                  r->out_files_deleted);
    pk_buf_printf(b, "packeteur_output_files_total{event=\"recovered\"} %" PRIu64 "\n",
                  r->out_files_recovered);
    pk_metrics_single(
        b, "packeteur_output_rotate_failures_total", "counter",
        "OUTPUT_ROTATE: a new file could not be created, or a file not renamed or deleted.",
        r->out_rotate_failures);
}

/* Intake: messages dropped and received, and the transport's own counters. */
static void
intake(struct pk_buf *b, const struct pk_collect_report *r)
{
    pk_metrics_family(b, "packeteur_messages_dropped_total", "counter",
                      "Received messages dropped as invalid, by reason.");
    pk_buf_printf(b, "packeteur_messages_dropped_total{reason=\"malformed\"} %" PRIu64 "\n",
                  r->bad_malformed);
    pk_buf_printf(b, "packeteur_messages_dropped_total{reason=\"version\"} %" PRIu64 "\n",
                  r->bad_version);
    pk_buf_printf(b, "packeteur_messages_dropped_total{reason=\"oversized\"} %" PRIu64 "\n",
                  r->bad_oversized + r->transport.messages_oversized);
    pk_metrics_single(b, "packeteur_messages_received_total", "counter", "Messages received.",
                      r->transport.messages_received);
    pk_metrics_single(b, "packeteur_peers_dropped_total", "counter",
                      "Connections closed for bad framing or bad messages.",
                      r->transport.peers_dropped);
    pk_metrics_single(b, "packeteur_received_bytes_total", "counter", "Bytes of messages received.",
                      r->transport.bytes_received);
    transport_stats(b, &r->own);
}

/* A reader's labels: kind, endpoint, peer (unique among the readers connected). */
static void
reader_sample(struct pk_buf *b, const char *name, const struct pk_sink_stats *st, const char *cause,
              uint64_t v)
{
    pk_buf_printf(b, "%s{kind=\"%s\",endpoint=\"", name, st->kind);
    pk_metrics_escape(b, st->endpoint);
    pk_buf_printf(b, "\",peer=\"");
    pk_metrics_escape(b, st->peer);
    if (cause != NULL)
        pk_buf_printf(b, "\",cause=\"%s", cause);
    pk_buf_printf(b, "\"} %" PRIu64 "\n", v);
}

/* One family of per-reader samples; what picks the value out of a reader's stats. */
static void
per_reader(struct pk_buf *b, const struct pk_sinkset *set, const char *name, const char *type,
           const char *help, int what)
{
    struct pk_sink_stats st;

    pk_metrics_family(b, name, type, help);
    for (size_t i = 0; set != NULL && i < pk_sinkset_count(set); i++) {
        if (pk_sinkset_at(set, i) == NULL)
            continue;
        pk_sink_stats(pk_sinkset_at(set, i), &st);
        if (what < 0) {
            for (int c = 0; c < PK_SINK_DROPS; c++)
                reader_sample(b, name, &st, pk_sink_drop_names[c], st.dropped[c]);
            continue;
        }
        uint64_t v[] = {st.packets, st.bytes, st.filtered, st.queue_bytes, st.sent_bytes};
        reader_sample(b, name, &st, NULL, v[what]);
    }
}

/* Readers of the stream: each one's counters, and who was let in or refused. */
static void
readers(struct pk_buf *b, const struct pk_collect_report *r)
{
    const struct pk_sinkset *set = r->sinks;

    per_reader(b, set, "packeteur_reader_packets_total", "counter",
               "Packets queued for the reader.", 0);
    per_reader(b, set, "packeteur_reader_bytes_total", "counter",
               "Bytes of packet data queued for the reader.", 1);
    per_reader(b, set, "packeteur_reader_filtered_total", "counter",
               "Packets the reader's filter did not match (not drops).", 2);
    per_reader(b, set, "packeteur_reader_dropped_total", "counter",
               "Packets dropped for the reader, by cause: queue_full (too slow), linktype.", -1);
    per_reader(b, set, "packeteur_reader_queue_bytes", "gauge",
               "Bytes queued for the reader (at most SERVE_BUFFER).", 3);
    per_reader(b, set, "packeteur_reader_sent_bytes_total", "counter",
               "Stream bytes the reader took (headers included).", 4);
    pk_metrics_single(b, "packeteur_readers", "gauge",
                      "Readers connected now (limit SERVE_MAX_READERS).",
                      r->gate ? r->gate->readers : 0);
    pk_metrics_single(b, "packeteur_readers_admitted_total", "counter", "Readers let in.",
                      r->gate ? r->gate->admitted : 0);
    pk_metrics_family(
        b, "packeteur_readers_refused_total", "counter",
        "Readers refused, by reason: address (SERVE_ALLOW), limit (SERVE_MAX_READERS).");
    for (int i = 0; i < PK_GATE_REFUSALS; i++)
        pk_buf_printf(b, "packeteur_readers_refused_total{reason=\"%s\"} %" PRIu64 "\n",
                      pk_gate_refusal_names[i], r->gate ? r->gate->refused[i] : 0);
    pk_metrics_single(b, "packeteur_serve_connects_total", "counter",
                      "SERVE_CONNECT connections made.", r->serve ? r->serve->connects : 0);
    pk_metrics_single(b, "packeteur_serve_connect_failures_total", "counter",
                      "SERVE_CONNECT attempts that failed (each is retried with backoff).",
                      r->serve ? r->serve->connect_failures : 0);
}

/* FORWARD_ENDPOINT: only when it is set. */
static void
forward(struct pk_buf *b, const struct pk_collect_report *r)
{
    if (r->forward_endpoint == NULL)
        return;
    pk_metrics_single(b, "packeteur_forward_messages_total", "counter",
                      "Messages FORWARD_ENDPOINT's transport took.", r->forward_taken);
    pk_metrics_single(b, "packeteur_forward_delivered_total", "counter",
                      "Forwarded messages a delivery report confirmed.", r->forward_delivered);
    pk_metrics_family(
        b, "packeteur_forward_drops_total", "counter",
        "Messages not forwarded, by cause: queue_full (refused: its queue full or failing), "
        "delivery (its delivery report failed).");
    pk_buf_printf(b, "packeteur_forward_drops_total{cause=\"queue_full\"} %" PRIu64 "\n",
                  r->forward_dropped);
    pk_buf_printf(b, "packeteur_forward_drops_total{cause=\"delivery\"} %" PRIu64 "\n",
                  r->forward_failed);
}

void
pk_metrics_collect(struct pk_buf *b, const struct pk_collect_report *r)
{
    pk_metrics_sources(b, r);
    output_stage(b, r);
    intake(b, r);
    pk_metrics_single(b, "packeteur_collector_encrypted", "gauge", "1 when agents must encrypt.",
                      (uint64_t)r->encrypted);
    pk_metrics_family(
        b, "packeteur_collector_refused_total", "counter",
        "Peers refused, by reason: address (COLLECT_ALLOW), key (COLLECT_CURVE_ALLOWED), "
        "handshake (wrong key or mechanism, not this protocol), peer_limit (COLLECT_MAX_PEERS).");
    for (int i = 0; i < PK_REFUSALS; i++)
        pk_buf_printf(b, "packeteur_collector_refused_total{reason=\"%s\"} %" PRIu64 "\n",
                      pk_refusal_names[i], pk_access_refused_count(r->access, i));
    http_metrics(b, r->http);
    control_metrics(b, r->control);
    readers(b, r);
    forward(b, r);
    pk_procstat_render(b);
}

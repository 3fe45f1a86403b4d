/* Prometheus text rendering; see metrics.h and docs/METRICS.md for every name. */
#include "metrics.h"
#include "http.h"
#include "procstat.h"

#include <inttypes.h>
#include <string.h>

static void
family(struct pk_buf *b, const char *name, const char *type, const char *help)
{
    pk_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
single(struct pk_buf *b, const char *name, const char *type, const char *help, uint64_t v)
{
    family(b, name, type, help);
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
    family(b, "packeteur_capture_bytes", "histogram",
           "Captured packets by their length on the wire in bytes, per address family.");
    for (int af = 0; af < PK_AF_COUNT; af++) {
        uint64_t cum = 0;
        for (int i = 0; i < PK_AF_BUCKETS; i++) {
            cum += h->bucket[af][i];
            pk_buf_printf(b, "packeteur_capture_bytes_bucket{address_family=\"%s\",le=\"%u\"} %" PRIu64 "\n",
                          pk_af_names[af], 64u << i, cum);
        }
        pk_buf_printf(b, "packeteur_capture_bytes_bucket{address_family=\"%s\",le=\"+Inf\"} %" PRIu64 "\n",
                      pk_af_names[af], h->count[af]);
        pk_buf_printf(b, "packeteur_capture_bytes_sum{address_family=\"%s\"} %" PRIu64 "\n",
                      pk_af_names[af], h->sum[af]);
        pk_buf_printf(b, "packeteur_capture_bytes_count{address_family=\"%s\"} %" PRIu64 "\n",
                      pk_af_names[af], h->count[af]);
    }
    family(b, "packeteur_capture_total", "counter", "Captured packets per address family.");
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
            family(b, s->metric, s->type, s->help);
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
    single(b, "packeteur_http_connections_refused_total", "counter",
           "HTTP connections closed at accept: 256 open, or 32 from that address.", h->connections_refused);
    single(b, "packeteur_http_responses_busy_total", "counter",
           "HTTP requests answered 503: the bodies being sent would pass the limit.",
           h->responses_busy);
    single(b, "packeteur_http_clients_stalled_total", "counter",
           "HTTP clients reset for taking no part of their response for 5 s.",
           h->clients_stalled);
    single(b, "packeteur_http_held_bytes", "gauge",
           "Bytes of rendered responses being sent, shared between clients.", h->held_bytes);
    single(b, "packeteur_http_held_limit_bytes", "gauge",
           "Most bytes of rendered responses held for all clients together.", h->held_limit);
}

/* Thin links: compression ratio, the rate cap, sampling; sampled out is no drop. */
static void
thin_metrics(struct pk_buf *b, const struct pk_capture_report *r)
{
    single(b, "packeteur_capture_rate_limited_total", "counter",
           "Packets of batches over RELAY_RATE_LIMIT, not sent.", r->stats.rate_limited);
    single(b, "packeteur_capture_sampled_out_total", "counter",
           "Packets of flows SAMPLE leaves out (by design: not drops).", r->stats.sampled_out);
    single(b, "packeteur_capture_sample_denominator", "gauge",
           "SAMPLE=1/N: N (1: every packet is kept).", r->sample_n ? r->sample_n : 1);
    single(b, "packeteur_relay_batch_plain_bytes_total", "counter",
           "Bytes of packets messages the transport took, before compression.",
           r->batch_plain_bytes);
    single(b, "packeteur_relay_batch_wire_bytes_total", "counter",
           "Bytes of packets messages the transport took, as sent (after compression).",
           r->batch_wire_bytes);
    single(b, "packeteur_relay_batches_compressed_total", "counter",
           "Packets messages sent compressed (others were shorter plain).", r->batches_compressed);
    single(b, "packeteur_relay_rate_limit_bytes", "gauge",
           "RELAY_RATE_LIMIT in bytes per second (0: none).", r->rate_limit);
}

void
pk_metrics_capture(struct pk_buf *b, const struct pk_capture_report *r)
{
    histogram(b, r->hist);
    family(b, "packeteur_capture_drops_total", "counter",
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
    single(b, "packeteur_capture_device_up", "gauge",
           "0 while the capture device is down (the agent waits for it to come back).",
           (uint64_t)!r->device_down);
    single(b, "packeteur_relay_packets_total", "counter",
           "Packets relayed: confirmed by a delivery report (Kafka), else handed to the transport.",
           r->stats.relayed);
    single(b, "packeteur_relay_unconfirmed_packets", "gauge",
           "Packets handed to the transport whose delivery report has not come yet.",
           r->stats.unconfirmed);
    single(b, "packeteur_relay_queue_packets", "gauge",
           "Packets captured and not yet handed to the transport.", r->stats.queued);
    single(b, "packeteur_relay_connected", "gauge",
           "1 while the transport is connected to the collector.", (uint64_t)r->connected);
    single(b, "packeteur_relay_messages_sent_total", "counter",
           "Messages handed to the transport.", r->transport.messages_sent);
    single(b, "packeteur_relay_sent_bytes_total", "counter",
           "Bytes of messages handed to the transport.", r->transport.bytes_sent);
    single(b, "packeteur_relay_connects_total", "counter", "Connections made to the collector.",
           r->transport.connects);
    single(b, "packeteur_relay_encrypted", "gauge", "1 when the relay is encrypted.",
           (uint64_t)r->encrypted);
    thin_metrics(b, r);
    transport_stats(b, &r->own);
    http_metrics(b, r->http);
    pk_procstat_render(b);
}

/* 1 when no source before index i has the same name. */
static int
first_of_name(const struct pk_sources *t, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (strcmp(t->v[j]->name, t->v[i]->name) == 0)
            return 0;
    return 1;
}

/* One labelled sample per source; sources that share a name (an agent restarted with a new
 * id) are summed, so every label set appears once, as the exposition format requires. */
static void
per_source(struct pk_buf *b, const struct pk_sources *t, const char *name, const char *type,
           const char *help, size_t field_offset)
{
    family(b, name, type, help);
    for (size_t i = 0; i < t->n; i++) {
        uint64_t sum = 0;
        if (!first_of_name(t, i))
            continue;
        for (size_t j = i; j < t->n; j++)
            if (strcmp(t->v[j]->name, t->v[i]->name) == 0)
                sum += *(const uint64_t *)((const char *)t->v[j] + field_offset);
        pk_buf_printf(b, "%s{source=\"", name);
        pk_metrics_escape(b, t->v[i]->name);
        pk_buf_printf(b, "\"} %" PRIu64 "\n", sum);
    }
}

#define SOURCE_FIELD(f) offsetof(struct pk_source, f)

/* The per-source counters, one family each. */
static void
source_counters(struct pk_buf *b, const struct pk_sources *t)
{
    per_source(b, t, "packeteur_source_packets_total", "counter",
               "Packets received from the source.", SOURCE_FIELD(packets));
    per_source(b, t, "packeteur_source_received_bytes_total", "counter",
               "Bytes of packet records received from the source.", SOURCE_FIELD(bytes));
    per_source(b, t, "packeteur_source_written_packets_total", "counter",
               "Packets of the source written to the output.", SOURCE_FIELD(written));
    per_source(b, t, "packeteur_source_lost_messages_total", "counter",
               "Messages of the source lost in transit (sequence gaps).", SOURCE_FIELD(lost_messages));
    per_source(b, t, "packeteur_source_lost_packets_total", "counter",
               "Packets of the source lost in transit (packet-index gaps).", SOURCE_FIELD(lost_packets));
    per_source(b, t, "packeteur_source_delivery_failed_packets_total", "counter",
               "Packets of the source its agent's transport failed to deliver (not lost in transit).",
               SOURCE_FIELD(delivery_failed));
    per_source(b, t, "packeteur_source_agent_captured_total", "counter",
               "Packets the agent reports it captured.", SOURCE_FIELD(agent.captured));
    per_source(b, t, "packeteur_source_agent_relayed_total", "counter",
               "Packets the agent reports it handed to its transport.", SOURCE_FIELD(agent.relayed));
    per_source(b, t, "packeteur_source_agent_kernel_drops_total", "counter",
               "Packets the agent reports the kernel dropped.", SOURCE_FIELD(agent.kernel_drops));
    per_source(b, t, "packeteur_source_agent_interface_drops_total", "counter",
               "Packets the agent reports the interface dropped.", SOURCE_FIELD(agent.if_drops));
    per_source(b, t, "packeteur_source_agent_relay_drops_total", "counter",
               "Packets the agent reports it dropped with its relay queue full.",
               SOURCE_FIELD(agent.relay_drops));
    per_source(b, t, "packeteur_source_agent_rate_limited_total", "counter",
               "Packets the agent reports it did not send, over its RELAY_RATE_LIMIT.",
               SOURCE_FIELD(agent.rate_limited));
    per_source(b, t, "packeteur_source_agent_sampled_out_total", "counter",
               "Packets the agent reports its SAMPLE left out (by design: not loss).",
               SOURCE_FIELD(agent.sampled_out));
    per_source(b, t, "packeteur_source_batch_wire_bytes_total", "counter",
               "Bytes of the source's packets messages as received (compressed or not).",
               SOURCE_FIELD(batch_wire_bytes));
    per_source(b, t, "packeteur_source_batch_plain_bytes_total", "counter",
               "Bytes of the source's packets messages once inflated.",
               SOURCE_FIELD(batch_plain_bytes));
    per_source(b, t, "packeteur_source_compressed_messages_total", "counter",
               "Packets messages of the source that came compressed.",
               SOURCE_FIELD(compressed_messages));
    per_source(b, t, "packeteur_source_linktype_drops_total", "counter",
               "Packets of the source dropped because their link type differs from the stream's.",
               SOURCE_FIELD(linktype_drops));
    per_source(b, t, "packeteur_source_duplicate_messages_total", "counter",
               "Messages of the source dropped: a sequence number below the next expected.",
               SOURCE_FIELD(duplicates));
    per_source(b, t, "packeteur_source_foreign_messages_total", "counter",
               "Messages with the source's id from a peer it is not bound to, refused.",
               SOURCE_FIELD(foreign));
    per_source(b, t, "packeteur_source_implausible_messages_total", "counter",
               "Messages of the source dropped: a sequence or packet index jump no agent makes.",
               SOURCE_FIELD(implausible));
    per_source(b, t, "packeteur_source_refused_while_evicted_total", "counter",
               "Messages of the source refused (table full, peer limit) while it was evicted.",
               SOURCE_FIELD(refused));
    per_source(b, t, "packeteur_source_inconsistent_stats_total", "counter",
               "Stats or goodbyes of the source with a counter below the last (ignored).",
               SOURCE_FIELD(inconsistent_stats));
}

/* Sources by state, and what the source table refused and forgot. */
static void
source_table(struct pk_buf *b, const struct pk_collect_report *r)
{
    const struct pk_sources *t = r->sources;
    uint64_t by_state[PK_SOURCE_STATES] = {0};

    family(b, "packeteur_source_up", "gauge",
           "1 when the source was heard from within SOURCE_STALE_AFTER.");
    for (size_t i = 0; i < t->n; i++) {
        int up = 0;
        by_state[pk_source_state(t, t->v[i], r->common.now_ns)]++;
        if (!first_of_name(t, i))
            continue;
        for (size_t j = i; j < t->n; j++)
            if (strcmp(t->v[j]->name, t->v[i]->name) == 0)
                up |= pk_source_state(t, t->v[j], r->common.now_ns) == PK_SOURCE_UP;
        pk_buf_printf(b, "packeteur_source_up{source=\"");
        pk_metrics_escape(b, t->v[i]->name);
        pk_buf_printf(b, "\"} %d\n", up);
    }
    family(b, "packeteur_sources", "gauge", "Sources known to the collector, by state.");
    for (int s = 0; s < PK_SOURCE_STATES; s++)
        pk_buf_printf(b, "packeteur_sources{state=\"%s\"} %" PRIu64 "\n", pk_source_state_names[s],
                      by_state[s]);
    single(b, "packeteur_sources_refused_total", "counter",
           "Messages of new sources refused (the table full, or the peer at its limit).",
           t->refused);
    family(b, "packeteur_source_refusals_total", "counter",
           "Messages the source table refused, by reason: table_full, peer_limit (the peer holds "
           "its limit of live sources), other_peer (a source's id from a peer it is not bound to).");
    for (int i = 0; i < PK_SR_REASONS; i++)
        pk_buf_printf(b, "packeteur_source_refusals_total{reason=\"%s\"} %" PRIu64 "\n",
                      pk_source_refusal_names[i], t->refused_by[i]);
    single(b, "packeteur_refusing_peers", "gauge",
           "Peers in the table of refusing peers (/status refusing_peers; the most recent).",
           t->nrefusing);
    single(b, "packeteur_refusing_peers_forgotten_total", "counter",
           "Refusing peers dropped from that table to make room for newer ones.",
           t->refusing_forgotten);
    single(b, "packeteur_sources_forgotten_total", "counter",
           "Sources that were not up, forgotten to make room for new ones.", t->evicted);
    single(b, "packeteur_sources_restored_total", "counter",
           "Evicted sources that came back and resumed their books from their tombstone.",
           t->restored);
    single(b, "packeteur_sources_forgotten_for_good_total", "counter",
           "Tombstones of evicted sources dropped for newer ones (those start new books).",
           t->forgotten_for_good);
}

/* The output stage: written, dropped, late, held, queued. */
static void
output_stage(struct pk_buf *b, const struct pk_collect_report *r)
{
    single(b, "packeteur_output_packets_total", "counter", "Packets written to the output.",
           r->out_packets);
    single(b, "packeteur_output_bytes_total", "counter",
           "Bytes of packet data written to the output.", r->out_bytes);
    family(b, "packeteur_output_drops_total", "counter", "Packets not written, by cause.");
    pk_buf_printf(b, "packeteur_output_drops_total{cause=\"linktype\"} %" PRIu64 "\n",
                  r->out_linktype_drops);
    single(b, "packeteur_output_late_packets_total", "counter",
           "Packets written after a packet with a later timestamp (MERGE_WINDOW too short).",
           r->out_late);
    single(b, "packeteur_merge_held_packets", "gauge",
           "Packets held for timestamp order (MERGE_WINDOW).", r->merge_held);
    single(b, "packeteur_merge_forced_total", "counter",
           "Held packets released before their time because the hold buffer was full.",
           r->merge_forced);
    single(b, "packeteur_output_queue_bytes", "gauge", "Bytes waiting for the output's reader.",
           r->out_queue_bytes);
    single(b, "packeteur_output_queue_limit_bytes", "gauge", "OUTPUT_BUFFER.", r->out_queue_limit);
    single(b, "packeteur_output_blocked", "gauge",
           "1 while the output queue is full and the collector makes agents wait.",
           (uint64_t)r->intake_paused);
    if (!r->rotating)
        return;
    family(b, "packeteur_output_files_total", "counter",
           "OUTPUT_ROTATE: files completed, deleted for OUTPUT_KEEP, and completed at start for "
           "a run that did not end.");
    pk_buf_printf(b, "packeteur_output_files_total{event=\"completed\"} %" PRIu64 "\n",
                  r->out_files_completed);
    pk_buf_printf(b, "packeteur_output_files_total{event=\"deleted\"} %" PRIu64 "\n",
                  r->out_files_deleted);
    pk_buf_printf(b, "packeteur_output_files_total{event=\"recovered\"} %" PRIu64 "\n",
                  r->out_files_recovered);
    single(b, "packeteur_output_rotate_failures_total", "counter",
           "OUTPUT_ROTATE: a new file could not be created, or a file not renamed or deleted.",
           r->out_rotate_failures);
}

/* Intake: messages dropped and received, and the transport's own counters. */
static void
intake(struct pk_buf *b, const struct pk_collect_report *r)
{
    family(b, "packeteur_messages_dropped_total", "counter",
           "Received messages dropped as invalid, by reason.");
    pk_buf_printf(b, "packeteur_messages_dropped_total{reason=\"malformed\"} %" PRIu64 "\n",
                  r->bad_malformed);
    pk_buf_printf(b, "packeteur_messages_dropped_total{reason=\"version\"} %" PRIu64 "\n",
                  r->bad_version);
    pk_buf_printf(b, "packeteur_messages_dropped_total{reason=\"oversized\"} %" PRIu64 "\n",
                  r->bad_oversized + r->transport.messages_oversized);
    single(b, "packeteur_messages_received_total", "counter", "Messages received.",
           r->transport.messages_received);
    single(b, "packeteur_peers_dropped_total", "counter",
           "Connections closed for bad framing or bad messages.", r->transport.peers_dropped);
    single(b, "packeteur_received_bytes_total", "counter", "Bytes of messages received.",
           r->transport.bytes_received);
    transport_stats(b, &r->own);
}

/* A reader's labels: kind, endpoint, peer (unique among the readers connected). */
static void
reader_sample(struct pk_buf *b, const char *name, const struct pk_sink_stats *st,
              const char *cause, uint64_t v)
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

    family(b, name, type, help);
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
    single(b, "packeteur_readers", "gauge", "Readers connected now (limit SERVE_MAX_READERS).",
           r->gate ? r->gate->readers : 0);
    single(b, "packeteur_readers_admitted_total", "counter", "Readers let in.",
           r->gate ? r->gate->admitted : 0);
    family(b, "packeteur_readers_refused_total", "counter",
           "Readers refused, by reason: address (SERVE_ALLOW), limit (SERVE_MAX_READERS).");
    for (int i = 0; i < PK_GATE_REFUSALS; i++)
        pk_buf_printf(b, "packeteur_readers_refused_total{reason=\"%s\"} %" PRIu64 "\n",
                      pk_gate_refusal_names[i], r->gate ? r->gate->refused[i] : 0);
    single(b, "packeteur_serve_connects_total", "counter",
           "SERVE_CONNECT connections made.", r->serve ? r->serve->connects : 0);
    single(b, "packeteur_serve_connect_failures_total", "counter",
           "SERVE_CONNECT attempts that failed (each is retried with backoff).",
           r->serve ? r->serve->connect_failures : 0);
}

/* FORWARD_ENDPOINT: only when it is set. */
static void
forward(struct pk_buf *b, const struct pk_collect_report *r)
{
    if (r->forward_endpoint == NULL)
        return;
    single(b, "packeteur_forward_messages_total", "counter",
           "Messages FORWARD_ENDPOINT's transport took.", r->forward_taken);
    single(b, "packeteur_forward_delivered_total", "counter",
           "Forwarded messages a delivery report confirmed.", r->forward_delivered);
    family(b, "packeteur_forward_drops_total", "counter",
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
    source_counters(b, r->sources);
    source_table(b, r);
    output_stage(b, r);
    intake(b, r);
    single(b, "packeteur_collector_encrypted", "gauge", "1 when agents must encrypt.",
           (uint64_t)r->encrypted);
    family(b, "packeteur_collector_refused_total", "counter",
           "Peers refused, by reason: address (COLLECT_ALLOW), key (COLLECT_CURVE_ALLOWED), "
           "handshake (wrong key or mechanism, not this protocol), peer_limit (COLLECT_MAX_PEERS).");
    for (int i = 0; i < PK_REFUSALS; i++)
        pk_buf_printf(b, "packeteur_collector_refused_total{reason=\"%s\"} %" PRIu64 "\n",
                      pk_refusal_names[i], pk_access_refused_count(r->access, i));
    http_metrics(b, r->http);
    readers(b, r);
    forward(b, r);
    pk_procstat_render(b);
}

/* The per-source families of the collect metrics (split from metrics.c): one labelled sample
 * per source name, the sources by state, and what the source table refused and forgot. */
#include "metrics.h"
#include "metrics_int.h"

#include <inttypes.h>
#include <stddef.h>
#include <string.h>

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
    pk_metrics_family(b, name, type, help);
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

/* The per-source counters, one family each: a row is a name, its help and the field summed. */
static const struct {
    const char *name;
    const char *help;
    size_t offset;
} source_counters[] = {
    {"packeteur_source_packets_total", "Packets received from the source.", SOURCE_FIELD(packets)},
    {"packeteur_source_received_bytes_total", "Bytes of packet records received from the source.",
     SOURCE_FIELD(bytes)},
    {"packeteur_source_written_packets_total", "Packets of the source written to the output.",
     SOURCE_FIELD(written)},
    {"packeteur_source_lost_messages_total",
     "Messages of the source lost in transit (sequence gaps).", SOURCE_FIELD(lost_messages)},
    {"packeteur_source_lost_packets_total",
     "Packets of the source lost in transit (packet-index gaps).", SOURCE_FIELD(lost_packets)},
    {"packeteur_source_delivery_failed_packets_total",
     "Packets of the source its agent's transport failed to deliver (not lost in transit).",
     SOURCE_FIELD(delivery_failed)},
    {"packeteur_source_agent_captured_total", "Packets the agent reports it captured.",
     SOURCE_FIELD(agent.captured)},
    {"packeteur_source_agent_relayed_total",
     "Packets the agent reports it handed to its transport.", SOURCE_FIELD(agent.relayed)},
    {"packeteur_source_agent_kernel_drops_total", "Packets the agent reports the kernel dropped.",
     SOURCE_FIELD(agent.kernel_drops)},
    {"packeteur_source_agent_interface_drops_total",
     "Packets the agent reports the interface dropped.", SOURCE_FIELD(agent.if_drops)},
    {"packeteur_source_agent_relay_drops_total",
     "Packets the agent reports it dropped with its relay queue full.",
     SOURCE_FIELD(agent.relay_drops)},
    {"packeteur_source_agent_rate_limited_total",
     "Packets the agent reports it did not send, over its RELAY_RATE_LIMIT.",
     SOURCE_FIELD(agent.rate_limited)},
    {"packeteur_source_agent_sampled_out_total",
     "Packets the agent reports its SAMPLE left out (by design: not loss).",
     SOURCE_FIELD(agent.sampled_out)},
    {"packeteur_source_paused_total",
     "Packets the agent reports it captured while control paused it, not sent (not loss).",
     SOURCE_FIELD(agent.paused)},
    {"packeteur_source_batch_wire_bytes_total",
     "Bytes of the source's packets messages as received (compressed or not).",
     SOURCE_FIELD(batch_wire_bytes)},
    {"packeteur_source_batch_plain_bytes_total",
     "Bytes of the source's packets messages once inflated.", SOURCE_FIELD(batch_plain_bytes)},
    {"packeteur_source_compressed_messages_total",
     "Packets messages of the source that came compressed.", SOURCE_FIELD(compressed_messages)},
    {"packeteur_source_linktype_drops_total",
     "Packets of the source dropped because their link type differs from the stream's.",
     SOURCE_FIELD(linktype_drops)},
    {"packeteur_source_duplicate_messages_total",
     "Messages of the source dropped: a sequence number below the next expected.",
     SOURCE_FIELD(duplicates)},
    {"packeteur_source_foreign_messages_total",
     "Messages with the source's id from a peer it is not bound to, refused.",
     SOURCE_FIELD(foreign)},
    {"packeteur_source_implausible_messages_total",
     "Messages of the source dropped: a sequence or packet index jump no agent makes.",
     SOURCE_FIELD(implausible)},
    {"packeteur_source_refused_while_evicted_total",
     "Messages of the source refused (table full, peer limit) while it was evicted.",
     SOURCE_FIELD(refused)},
    {"packeteur_source_inconsistent_stats_total",
     "Stats or goodbyes of the source with a counter below the last (ignored).",
     SOURCE_FIELD(inconsistent_stats)},
};

/* Sources by state, and what the source table refused and forgot. */
static void
source_table(struct pk_buf *b, const struct pk_collect_report *r)
{
    const struct pk_sources *t = r->sources;
    uint64_t by_state[PK_SOURCE_STATES] = {0};

    pk_metrics_family(b, "packeteur_source_up", "gauge",
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
    pk_metrics_family(b, "packeteur_sources", "gauge", "Sources known to the collector, by state.");
    for (int s = 0; s < PK_SOURCE_STATES; s++)
        pk_buf_printf(b, "packeteur_sources{state=\"%s\"} %" PRIu64 "\n", pk_source_state_names[s],
                      by_state[s]);
    pk_metrics_single(b, "packeteur_sources_refused_total", "counter",
                      "Messages of new sources refused (the table full, or the peer at its limit).",
                      t->refused);
    pk_metrics_family(
        b, "packeteur_source_refusals_total", "counter",
        "Messages the source table refused, by reason: table_full, peer_limit (the peer holds "
        "its limit of live sources), other_peer (a source's id from a peer it is not bound to).");
    for (int i = 0; i < PK_SR_REASONS; i++)
        pk_buf_printf(b, "packeteur_source_refusals_total{reason=\"%s\"} %" PRIu64 "\n",
                      pk_source_refusal_names[i], t->refused_by[i]);
    pk_metrics_single(
        b, "packeteur_refusing_peers", "gauge",
        "Peers in the table of refusing peers (/status refusing_peers; the most recent).",
        t->nrefusing);
    pk_metrics_single(b, "packeteur_refusing_peers_forgotten_total", "counter",
                      "Refusing peers dropped from that table to make room for newer ones.",
                      t->refusing_forgotten);
    pk_metrics_single(b, "packeteur_sources_forgotten_total", "counter",
                      "Sources that were not up, forgotten to make room for new ones.", t->evicted);
    pk_metrics_single(
        b, "packeteur_sources_restored_total", "counter",
        "Evicted sources that came back and resumed their books from their tombstone.",
        t->restored);
    pk_metrics_single(
        b, "packeteur_sources_forgotten_for_good_total", "counter",
        "Tombstones of evicted sources dropped for newer ones (those start new books).",
        t->forgotten_for_good);
}

/*
 * The control plane: per source name, the generation wanted and the one applied (of the source
 * of that name heard from last: the table keeps it first; generations do not add up), and the
 * pushes in all.
 */
static void
control(struct pk_buf *b, const struct pk_collect_report *r)
{
    const struct pk_sources *t = r->sources;

    pk_metrics_family(b, "packeteur_source_control_generation", "gauge",
                      "The source's control generation: desired (the control plane's) and "
                      "applied (in force at its agent).");
    for (size_t i = 0; i < t->n; i++) {
        const char *name = t->v[i]->name;
        uint64_t desired;
        if (!first_of_name(t, i))
            continue;
        desired = r->control_desired ? r->control_desired(r->control_data, name) : 0;
        pk_buf_printf(b, "packeteur_source_control_generation{source=\"");
        pk_metrics_escape(b, name);
        pk_buf_printf(b, "\",which=\"desired\"} %" PRIu64 "\n", desired);
        pk_buf_printf(b, "packeteur_source_control_generation{source=\"");
        pk_metrics_escape(b, name);
        pk_buf_printf(b, "\",which=\"applied\"} %" PRIu64 "\n", t->v[i]->applied_gen);
    }
    pk_metrics_single(b, "packeteur_control_messages_sent_total", "counter",
                      "Control messages sent to agents on the return path.", r->control_sent);
    pk_metrics_single(b, "packeteur_control_send_failures_total", "counter",
                      "Control messages the return path did not take (full, or the agent not "
                      "connected); tried again at the agent's next message.",
                      r->control_send_failures);
}

void
pk_metrics_sources(struct pk_buf *b, const struct pk_collect_report *r)
{
    for (size_t i = 0; i < sizeof source_counters / sizeof source_counters[0]; i++)
        per_source(b, r->sources, source_counters[i].name, "counter", source_counters[i].help,
                   source_counters[i].offset);
    source_table(b, r);
    control(b, r);
}

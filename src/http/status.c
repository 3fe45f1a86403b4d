/* /status rendering with cJSON; see status.h and docs/STATUS.md. */
#include "status.h"
#include "status_int.h"
#include "http.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * A source's filter comes from its hello, up to 64 KiB; with 1,024 sources that alone made
 * /status 136 MB (every '"' doubles when escaped). /status shows its first STATUS_FILTER_MAX
 * bytes (with filter_truncated), which bounds the document to about 5 KiB per source.
 */
#define STATUS_FILTER_MAX 1024

/* RFC 3339 UTC with milliseconds, or null for 0. */
static void
add_time(cJSON *o, const char *key, uint64_t ns)
{
    char buf[40];
    time_t sec = (time_t)(ns / 1000000000u);
    struct tm tm;
    size_t n;

    if (ns == 0) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    gmtime_r(&sec, &tm);
    n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof(buf) - n, ".%03uZ", (unsigned)(ns % 1000000000u / 1000000u));
    cJSON_AddStringToObject(o, key, buf);
}

static cJSON *
common(const struct pk_report_common *c)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "mode", c->mode);
    cJSON_AddStringToObject(o, "version", PCKTR_VERSION);
    add_time(o, "start_time", c->start_ns);
    cJSON_AddNumberToObject(o, "uptime_seconds", (double)(c->now_ns - c->start_ns) / 1e9);
    cJSON_AddStringToObject(o, "transport", c->transport);
    cJSON_AddStringToObject(o, "endpoint", c->endpoint);
    return o;
}

/*
 * The transport's own counters (ops->report), each in its object ("security.connections": a
 * path from the root), made when it is missing.
 */
static void
add_transport_fields(cJSON *root, const struct pk_transport_report *r)
{
    for (size_t i = 0; i < r->n; i++) {
        const struct pk_transport_stat *s = &r->stat[i];
        cJSON *o = root;
        char path[64], *save = NULL;

        if (s->object == NULL)
            continue; /* in /metrics only */
        snprintf(path, sizeof(path), "%s", s->object);
        for (char *name = strtok_r(path, ".", &save); name; name = strtok_r(NULL, ".", &save)) {
            cJSON *next = cJSON_GetObjectItemCaseSensitive(o, name);
            o = next != NULL ? next : cJSON_AddObjectToObject(o, name);
        }
        cJSON_AddNumberToObject(o, s->field, (double)s->value);
    }
}

/* A public key, or null when there is none (NULL or ""). */
static void
add_key(cJSON *o, const char *name, const char *key)
{
    if (key != NULL && key[0] != '\0')
        cJSON_AddStringToObject(o, name, key);
    else
        cJSON_AddNullToObject(o, name);
}

static void
add_stats(cJSON *o, const struct pk_stats *s)
{
    cJSON_AddNumberToObject(o, "captured", (double)s->captured);
    cJSON_AddNumberToObject(o, "relayed", (double)s->relayed);
    cJSON_AddNumberToObject(o, "kernel_drops", (double)s->kernel_drops);
    cJSON_AddNumberToObject(o, "interface_drops", (double)s->if_drops);
    cJSON_AddNumberToObject(o, "relay_drops", (double)s->relay_drops);
    cJSON_AddNumberToObject(o, "queued", (double)s->queued);
    cJSON_AddNumberToObject(o, "rate_limited", (double)s->rate_limited);
    cJSON_AddNumberToObject(o, "sampled_out", (double)s->sampled_out);
    cJSON_AddNumberToObject(o, "paused", (double)s->paused);
    cJSON_AddNumberToObject(o, "delivery_failed", (double)s->delivery_failed);
    cJSON_AddNumberToObject(o, "unconfirmed", (double)s->unconfirmed);
}

/* value cut to at most max bytes, at a UTF-8 character boundary (the text is valid UTF-8). */
static void
add_capped(cJSON *o, const char *key, const char *value, size_t max, const char *flag)
{
    size_t len = strlen(value);
    char *cut;

    cJSON_AddBoolToObject(o, flag, len > max);
    if (len <= max || (cut = malloc(max + 1)) == NULL) {
        cJSON_AddStringToObject(o, key, len <= max ? value : "");
        return;
    }
    while (max > 0 && ((unsigned char)value[max] & 0xc0) == 0x80)
        max--;
    memcpy(cut, value, max);
    cut[max] = '\0';
    cJSON_AddStringToObject(o, key, cut);
    free(cut);
}

/* What HTTP clients cost: "http", or null when the server is off (it is, when no one asks). */
static void
add_http(cJSON *o, const struct pk_http_counters *c)
{
    cJSON *h;

    if (c == NULL) {
        cJSON_AddNullToObject(o, "http");
        return;
    }
    h = cJSON_AddObjectToObject(o, "http");
    cJSON_AddNumberToObject(h, "connections", (double)c->connections);
    cJSON_AddNumberToObject(h, "connections_refused", (double)c->connections_refused);
    cJSON_AddNumberToObject(h, "responses_busy", (double)c->responses_busy);
    cJSON_AddNumberToObject(h, "clients_stalled", (double)c->clients_stalled);
    cJSON_AddNumberToObject(h, "held_bytes", (double)c->held_bytes);
    cJSON_AddNumberToObject(h, "held_peak_bytes", (double)c->held_peak);
    cJSON_AddNumberToObject(h, "held_limit_bytes", (double)c->held_limit);
}

static char *
print_and_free(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);

    cJSON_Delete(o);
    return s;
}

char *
pk_status_capture(const struct pk_capture_report *r)
{
    cJSON *o = common(&r->common), *cap = cJSON_AddObjectToObject(o, "capture");
    cJSON *relay = cJSON_AddObjectToObject(o, "relay");

    cJSON_AddStringToObject(cap, "source_name", r->source_name);
    cJSON_AddStringToObject(cap, r->from_file ? "read_file" : "device", r->device);
    cJSON_AddStringToObject(cap, "filter", r->filter);
    cJSON_AddNumberToObject(cap, "link_type", r->linktype);
    cJSON_AddNumberToObject(cap, "snaplen", r->snaplen);
    cJSON_AddBoolToObject(cap, "device_up", !r->device_down);
    add_stats(cap, &r->stats);
    cJSON_AddBoolToObject(relay, "connected", r->connected);
    cJSON_AddNumberToObject(relay, "messages_sent", (double)r->transport.messages_sent);
    cJSON_AddNumberToObject(relay, "bytes_sent", (double)r->transport.bytes_sent);
    cJSON_AddNumberToObject(relay, "connects", (double)r->transport.connects);
    cJSON_AddNumberToObject(relay, "disconnects", (double)r->transport.disconnects);
    cJSON_AddBoolToObject(relay, "encrypted", r->encrypted);
    add_key(relay, "public_key", r->public_key);
    cJSON_AddNumberToObject(cap, "sample_n", r->sample_n ? r->sample_n : 1);
    cJSON_AddStringToObject(relay, "compression", r->compression ? r->compression : "none");
    cJSON_AddNumberToObject(relay, "batch_plain_bytes", (double)r->batch_plain_bytes);
    cJSON_AddNumberToObject(relay, "batch_wire_bytes", (double)r->batch_wire_bytes);
    cJSON_AddNumberToObject(relay, "batches_compressed", (double)r->batches_compressed);
    cJSON_AddNumberToObject(relay, "rate_limit_bytes", (double)r->rate_limit);
    cJSON_AddNumberToObject(cap, "paused", (double)r->stats.paused);
    pk_status_add_agent_control(o, r);
    add_transport_fields(o, &r->own);
    add_http(o, r->http);
    return print_and_free(o);
}

static cJSON *
source_json(const struct pk_collect_report *r, const struct pk_source *s)
{
    const struct pk_sources *t = r->sources;
    uint64_t now_ns = r->common.now_ns;
    cJSON *o = cJSON_CreateObject(), *agent;
    char id[20];

    snprintf(id, sizeof(id), "%016llx", (unsigned long long)s->id);
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "name", s->name);
    cJSON_AddStringToObject(o, "state", pk_source_state_names[pk_source_state(t, s, now_ns)]);
    cJSON_AddStringToObject(o, "host", s->host);
    cJSON_AddStringToObject(o, "device", s->device);
    cJSON_AddNumberToObject(o, "link_type", s->linktype);
    cJSON_AddNumberToObject(o, "snaplen", s->snaplen);
    cJSON_AddNumberToObject(o, "sample_n", s->sample_n ? s->sample_n : 1);
    cJSON_AddNumberToObject(o, "batch_wire_bytes", (double)s->batch_wire_bytes);
    cJSON_AddNumberToObject(o, "batch_plain_bytes", (double)s->batch_plain_bytes);
    cJSON_AddNumberToObject(o, "compressed_messages", (double)s->compressed_messages);
    cJSON_AddNumberToObject(o, "interfaces_described_again", (double)s->redescribed);
    cJSON_AddNumberToObject(o, "interfaces_kept_at_limit", (double)s->redescribe_capped);
    add_capped(o, "filter", s->filter, STATUS_FILTER_MAX, "filter_truncated");
    cJSON_AddStringToObject(o, "peer", s->peer);
    add_key(o, "client_key", s->key);
    if (r->per_connection)
        cJSON_AddBoolToObject(o, "connected", s->connected);
    else
        cJSON_AddNullToObject(o, "connected"); /* zmq does not say which peer left */
    add_time(o, "connected_since", s->connected_since_ns);
    cJSON_AddNumberToObject(o, "reconnects", (double)s->reconnects);
    cJSON_AddNumberToObject(o, "disconnects", (double)s->disconnects);
    cJSON_AddStringToObject(o, "agent_version", s->version);
    add_time(o, "agent_start_time", s->start_ns);
    add_time(o, "first_seen", s->first_seen_ns);
    add_time(o, "last_seen", s->last_seen_ns);
    cJSON_AddNumberToObject(o, "seconds_since_seen",
                            (double)(now_ns > s->last_seen_ns ? now_ns - s->last_seen_ns : 0) / 1e9);
    cJSON_AddBoolToObject(o, "said_goodbye", s->said_goodbye);
    cJSON_AddNumberToObject(o, "messages", (double)s->messages);
    cJSON_AddNumberToObject(o, "packets", (double)s->packets);
    cJSON_AddNumberToObject(o, "bytes", (double)s->bytes);
    cJSON_AddNumberToObject(o, "written", (double)s->written);
    cJSON_AddNumberToObject(o, "linktype_drops", (double)s->linktype_drops);
    cJSON_AddNumberToObject(o, "late", (double)s->late);
    cJSON_AddNumberToObject(o, "lost_messages", (double)s->lost_messages);
    cJSON_AddNumberToObject(o, "lost_packets", (double)s->lost_packets);
    cJSON_AddNumberToObject(o, "delivery_failed_packets", (double)s->delivery_failed);
    cJSON_AddNumberToObject(o, "awaiting_delivery_report", (double)s->awaiting_report);
    cJSON_AddNumberToObject(o, "relayed_before_first_seen", (double)s->index_base);
    cJSON_AddNumberToObject(o, "duplicates", (double)s->duplicates);
    cJSON_AddNumberToObject(o, "refused_from_other_peers", (double)s->foreign);
    cJSON_AddNumberToObject(o, "implausible", (double)s->implausible);
    cJSON_AddNumberToObject(o, "refused_while_evicted", (double)s->refused);
    cJSON_AddNumberToObject(o, "inconsistent_stats", (double)s->inconsistent_stats);
    agent = cJSON_AddObjectToObject(o, "agent");
    add_stats(agent, &s->agent);
    pk_status_add_source_control(o, r, s);
    return o;
}

/* Messages the source table refused, by reason, and the most recent peers it refused. */
static void
add_refusals(cJSON *o, const struct pk_sources *t)
{
    cJSON *by = cJSON_AddObjectToObject(o, "source_refusals"), *peers;

    for (int i = 0; i < PK_SR_REASONS; i++)
        cJSON_AddNumberToObject(by, pk_source_refusal_names[i], (double)t->refused_by[i]);
    cJSON_AddNumberToObject(o, "sources_per_peer_limit", (double)t->per_peer_limit);
    peers = cJSON_AddArrayToObject(o, "refusing_peers");
    for (size_t i = 0; i < t->nrefusing; i++) {
        const struct pk_refusing_peer *p = &t->refusing[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "peer", p->peer);
        cJSON_AddStringToObject(e, "address", p->addr);
        for (int r = 0; r < PK_SR_REASONS; r++)
            cJSON_AddNumberToObject(e, pk_source_refusal_names[r], (double)p->count[r]);
        add_time(e, "first_refused", p->first_ns);
        add_time(e, "last_refused", p->last_ns);
        cJSON_AddItemToArray(peers, e);
    }
    cJSON_AddNumberToObject(o, "refusing_peers_forgotten", (double)t->refusing_forgotten);
}

/* One reader of the stream: who, through what, how it fares. */
static cJSON *
reader_json(const struct pk_sink *k)
{
    cJSON *o = cJSON_CreateObject(), *dropped;
    struct pk_sink_stats st;

    pk_sink_stats(k, &st);
    cJSON_AddStringToObject(o, "kind", st.kind);
    cJSON_AddStringToObject(o, "peer", st.peer);
    cJSON_AddStringToObject(o, "endpoint", st.endpoint);
    cJSON_AddStringToObject(o, "format", st.format);
    cJSON_AddStringToObject(o, "filter", st.filter);
    add_time(o, "connected_since", st.connected_since_ns);
    cJSON_AddNumberToObject(o, "packets", (double)st.packets);
    cJSON_AddNumberToObject(o, "bytes", (double)st.bytes);
    cJSON_AddNumberToObject(o, "filtered", (double)st.filtered);
    dropped = cJSON_AddObjectToObject(o, "dropped");
    for (int i = 0; i < PK_SINK_DROPS; i++)
        cJSON_AddNumberToObject(dropped, pk_sink_drop_names[i], (double)st.dropped[i]);
    cJSON_AddNumberToObject(o, "queue_bytes", (double)st.queue_bytes);
    cJSON_AddNumberToObject(o, "queue_limit_bytes", (double)st.queue_limit);
    cJSON_AddNumberToObject(o, "sent_bytes", (double)st.sent_bytes);
    cJSON_AddBoolToObject(o, "slow", st.slow);
    cJSON_AddNumberToObject(o, "slow_episodes", (double)st.slow_episodes);
    return o;
}

/* "readers": every reader now; "reader_access": who may read, how many, refusals. */
static void
add_readers(cJSON *o, const struct pk_collect_report *r)
{
    cJSON *list = cJSON_AddArrayToObject(o, "readers"), *acc, *refused;

    for (size_t i = 0; r->sinks != NULL && i < pk_sinkset_count(r->sinks); i++)
        if (pk_sinkset_at(r->sinks, i) != NULL)
            cJSON_AddItemToArray(list, reader_json(pk_sinkset_at(r->sinks, i)));
    acc = cJSON_AddObjectToObject(o, "reader_access");
    cJSON_AddStringToObject(acc, "allow", r->serve_allow ? r->serve_allow : "");
    cJSON_AddNumberToObject(acc, "limit", r->gate ? (double)r->gate->max_readers : 0);
    cJSON_AddNumberToObject(acc, "connected", r->gate ? (double)r->gate->readers : 0);
    cJSON_AddNumberToObject(acc, "admitted", r->gate ? (double)r->gate->admitted : 0);
    cJSON_AddNumberToObject(acc, "left", r->serve ? (double)r->serve->left : 0);
    cJSON_AddNumberToObject(acc, "closed_set_full", r->serve ? (double)r->serve->full : 0);
    refused = cJSON_AddObjectToObject(acc, "refused");
    for (int i = 0; i < PK_GATE_REFUSALS; i++)
        cJSON_AddNumberToObject(refused, pk_gate_refusal_names[i],
                                r->gate ? (double)r->gate->refused[i] : 0);
}

/* Long (74 lines): one JSON object field after another, in the order docs/STATUS.md lists. */
/* OUTPUT_ROTATE: the file being written and what was done to files. */
static void
add_rotation(cJSON *out, const struct pk_collect_report *r)
{
    cJSON *rot;

    if (!r->rotating)
        return;
    rot = cJSON_AddObjectToObject(out, "rotation");
    cJSON_AddStringToObject(rot, "current", r->out_file ? r->out_file : "");
    cJSON_AddNumberToObject(rot, "completed", (double)r->out_files_completed);
    cJSON_AddNumberToObject(rot, "deleted", (double)r->out_files_deleted);
    cJSON_AddNumberToObject(rot, "recovered", (double)r->out_files_recovered);
    cJSON_AddNumberToObject(rot, "failures", (double)r->out_rotate_failures);
}

char *
pk_status_collect(const struct pk_collect_report *r)
{
    cJSON *o = common(&r->common), *sources, *out, *msgs;
    const struct pk_sources *t = r->sources;
    uint64_t by_state[PK_SOURCE_STATES] = {0};

    sources = cJSON_AddArrayToObject(o, "sources");
    for (size_t i = 0; i < t->n; i++) {
        by_state[pk_source_state(t, t->v[i], r->common.now_ns)]++;
        cJSON_AddItemToArray(sources, source_json(r, t->v[i]));
    }
    cJSON *counts = cJSON_AddObjectToObject(o, "sources_by_state");
    for (int s = 0; s < PK_SOURCE_STATES; s++)
        cJSON_AddNumberToObject(counts, pk_source_state_names[s], (double)by_state[s]);
    cJSON_AddNumberToObject(o, "sources_refused", (double)t->refused);
    cJSON_AddNumberToObject(o, "sources_forgotten", (double)t->evicted);
    cJSON_AddNumberToObject(o, "sources_restored", (double)t->restored);
    cJSON_AddNumberToObject(o, "sources_forgotten_for_good", (double)t->forgotten_for_good);
    add_refusals(o, t);
    cJSON_AddNumberToObject(o, "stale_after_seconds", (double)t->stale_ms / 1e3);
    cJSON_AddNumberToObject(o, "gone_after_seconds", (double)t->gone_ms / 1e3);

    out = cJSON_AddObjectToObject(o, "output");
    cJSON_AddStringToObject(out, "format", r->output_format ? r->output_format : "pcap");
    if (r->stream_started)
        cJSON_AddNumberToObject(out, "link_type", r->stream_linktype);
    else
        cJSON_AddNullToObject(out, "link_type");
    cJSON_AddNumberToObject(out, "packets", (double)r->out_packets);
    cJSON_AddNumberToObject(out, "bytes", (double)r->out_bytes);
    cJSON_AddNumberToObject(out, "linktype_drops", (double)r->out_linktype_drops);
    cJSON_AddNumberToObject(out, "merge_window_seconds", (double)r->merge_window_ms / 1e3);
    cJSON_AddNumberToObject(out, "merge_held", (double)r->merge_held);
    cJSON_AddNumberToObject(out, "merge_forced", (double)r->merge_forced);
    cJSON_AddNumberToObject(out, "late", (double)r->out_late);
    cJSON_AddNumberToObject(out, "queue_bytes", (double)r->out_queue_bytes);
    cJSON_AddNumberToObject(out, "queue_limit_bytes", (double)r->out_queue_limit);
    cJSON_AddBoolToObject(out, "blocked", r->intake_paused);
    add_rotation(out, r);

    msgs = cJSON_AddObjectToObject(o, "messages");
    cJSON_AddNumberToObject(msgs, "received", (double)r->transport.messages_received);
    cJSON_AddNumberToObject(msgs, "bytes", (double)r->transport.bytes_received);
    cJSON_AddNumberToObject(msgs, "malformed", (double)r->bad_malformed);
    cJSON_AddNumberToObject(msgs, "wrong_version", (double)r->bad_version);
    cJSON_AddNumberToObject(msgs, "oversized",
                            (double)(r->bad_oversized + r->transport.messages_oversized));
    cJSON_AddNumberToObject(msgs, "peers_dropped", (double)r->transport.peers_dropped);

    cJSON *sec = cJSON_AddObjectToObject(o, "security");
    cJSON_AddBoolToObject(sec, "encrypted", r->encrypted);
    add_key(sec, "public_key", r->public_key);
    cJSON_AddStringToObject(sec, "allow", r->allow ? r->allow : "");
    if (r->access != NULL && r->access->keys != NULL)
        cJSON_AddNumberToObject(sec, "allowed_keys", (double)r->access->nkeys);
    else
        cJSON_AddNullToObject(sec, "allowed_keys"); /* any key */
    cJSON *conns = cJSON_AddObjectToObject(sec, "connections");
    cJSON_AddNumberToObject(conns, "accepted", (double)r->transport.connects);
    cJSON *refused = cJSON_AddObjectToObject(sec, "refused");
    for (int i = 0; i < PK_REFUSALS; i++)
        cJSON_AddNumberToObject(refused, pk_refusal_names[i], (double)pk_access_refused_count(r->access, i));
    add_transport_fields(o, &r->own);
    add_http(o, r->http);
    pk_status_add_plane(o, r->control);
    add_readers(o, r);
    if (r->forward_endpoint != NULL) {
        cJSON *fw = cJSON_AddObjectToObject(o, "forward");
        cJSON_AddStringToObject(fw, "endpoint", r->forward_endpoint);
        cJSON_AddNumberToObject(fw, "messages", (double)r->forward_taken);
        cJSON_AddNumberToObject(fw, "delivered", (double)r->forward_delivered);
        cJSON_AddNumberToObject(fw, "dropped_queue_full", (double)r->forward_dropped);
        cJSON_AddNumberToObject(fw, "delivery_failed", (double)r->forward_failed);
    }
    return print_and_free(o);
}

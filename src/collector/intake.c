/*
 * The collector's intake: each message is decoded, admitted by the source table (new, known,
 * refused, duplicate) and applied to its source; packets go on to the output stage. Bad
 * messages are dropped and counted by reason; they never touch the output or other sources.
 * The changes of a source (new, reconnected, stale, gone, loss) are logged here. Loop thread.
 */
#define PK_LOG_MODULE "collector"
#include "capstream.h"
#include "collector_int.h"
#include "compress.h"
#include "config.h"
#include "control_push.h"
#include "frame.h"
#include "log.h"
#include "pcktr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BAD_LOG_INTERVAL_NS (10ull * 1000000000ull)
#define REFUSED_LOG_INTERVAL_NS 1000000000ull /* refusing peers: at most a line a second */

static const char *const bad_names[] = {"malformed", "unsupported protocol version", "oversized"};

static void
note_bad(struct collector *c, int rc, const char *peer)
{
    enum bad_reason why = rc == -EPROTONOSUPPORT ? BAD_VERSION
                          : rc == -EMSGSIZE      ? BAD_SIZE
                                                 : BAD_MALFORMED;
    uint64_t now = pk_now_ns(), total;

    c->bad[why]++;
    total = c->bad[BAD_MALFORMED] + c->bad[BAD_VERSION] + c->bad[BAD_SIZE];
    /* One line now and then, not one per message: a flood of garbage must not flood the log. */
    if (c->bad_logged_ns == 0 || now - c->bad_logged_ns >= BAD_LOG_INTERVAL_NS) {
        pk_warn_with(&(struct pk_log_fields){.event = "message_dropped", .peer = peer},
                     "dropped a %s message from %s (%llu bad messages so far)", bad_names[why],
                     peer[0] ? peer : "an unknown peer", (unsigned long long)total);
        c->bad_logged_ns = now;
    }
}

void
pk_intake_release_if_written(struct collector *c)
{
    if (c->tr != NULL && c->tr->ops->released != NULL && pk_outstage_queued(&c->os) == 0 &&
        c->os.merge.n == 0)
        c->tr->ops->released(c->tr);
}

void
pk_intake_pause_if_full(void *data)
{
    struct collector *c = data;

    if (c->tr != NULL && pk_outstage_full(&c->os) && !c->paused) {
        c->paused = 1;
        c->tr->ops->set_receiving(c->tr, 0);
        pk_debug("output queue full (%zu bytes): pausing intake", pk_outstage_queued(&c->os));
    }
}

void
pk_intake_log_totals(const struct pk_source *s, const char *what, const char *event)
{
    pk_info_with(
        SOURCE_FIELDS(s, event),
        "source \"%s\" %s: received %llu packets (written %llu, link-type drops %llu), lost "
        "in transit %llu packets in %llu messages; agent: captured %llu, relayed %llu, relay "
        "drops %llu, kernel drops %llu, interface drops %llu, rate limited %llu, sampled out %llu, "
        "paused %llu, delivery failed %llu",
        s->name, what, (unsigned long long)s->packets, (unsigned long long)s->written,
        (unsigned long long)s->linktype_drops, (unsigned long long)s->lost_packets,
        (unsigned long long)s->lost_messages, (unsigned long long)s->agent.captured,
        (unsigned long long)s->agent.relayed, (unsigned long long)s->agent.relay_drops,
        (unsigned long long)s->agent.kernel_drops, (unsigned long long)s->agent.if_drops,
        (unsigned long long)s->agent.rate_limited, (unsigned long long)s->agent.sampled_out,
        (unsigned long long)s->agent.paused, (unsigned long long)s->delivery_failed);
}

/* Logs each change of a source's state once; `now` may bring a silent source back up. */
static void
update_state(struct pk_sources *t, struct pk_source *s, uint64_t now_ns)
{
    enum pk_source_state st = pk_source_state(t, s, now_ns);

    if (st == s->state)
        return;
    if (st == PK_SOURCE_UP)
        pk_info_with(SOURCE_FIELDS(s, "source_up"), "source \"%s\" is up again", s->name);
    else if (st == PK_SOURCE_STALE)
        pk_warn_with(SOURCE_FIELDS(s, "source_stale"), "source \"%s\" is stale: silent for %.1f s",
                     s->name, (double)(now_ns - s->last_seen_ns) / 1e9);
    else if (!s->said_goodbye)
        pk_warn_with(SOURCE_FIELDS(s, "source_gone"), "source \"%s\" is gone: silent for %.1f s",
                     s->name, (double)(now_ns - s->last_seen_ns) / 1e9);
    s->state = st;
}

void
pk_intake_check_states(struct collector *c, uint64_t now_ns)
{
    for (size_t i = 0; i < c->sources.n; i++)
        update_state(&c->sources, c->sources.v[i], now_ns);
}

/*
 * A message the source table did not take. Each refusing peer is logged once (the table keeps
 * the 64 most recent apart); a peer that keeps coming back, or a crowd of them, is only
 * counted: at most one line per REFUSED_LOG_INTERVAL, saying how many went unlogged.
 */
static void
note_refused(struct collector *c, const struct pk_admission *a, const struct pk_frame *f,
             uint64_t now_ns)
{
    const char *peer = a->peer->addr[0] ? a->peer->addr : "an unknown peer";

    if (!a->first_refusal)
        return;
    if (c->refused_logged_ns != 0 && now_ns - c->refused_logged_ns < REFUSED_LOG_INTERVAL_NS) {
        c->refused_unlogged++;
        return;
    }
    if (a->why == PK_SR_OTHER_PEER)
        pk_warn_with(
            &(struct pk_log_fields){.event = "source_spoofed", .source = a->source->name,
                                    .peer = a->peer->addr},
            "refusing messages with the id of source \"%s\" (%016llx) from %s: it is bound to "
            "%s and up (%llu other refusing peers not logged)",
            a->source->name, (unsigned long long)f->source_id, peer, a->source->peer,
            (unsigned long long)c->refused_unlogged);
    else
        pk_warn_with(
            &(struct pk_log_fields){.event = "source_refused", .peer = a->peer->addr},
            "refusing new sources from %s: %s (%zu sources, at most %zu per peer); counted in "
            "sources_refused (%llu other refusing peers not logged)",
            peer, a->why == PK_SR_TABLE_FULL ? "the source table is full of live sources"
                                             : "it holds its limit of live sources",
            c->sources.n, c->sources.per_peer_limit, (unsigned long long)c->refused_unlogged);
    c->refused_logged_ns = now_ns;
    c->refused_unlogged = 0;
}

/* Follows the address (and key) a source speaks from, for /status and the logs. */
static void
note_peer(struct collector *c, struct pk_source *s, const struct pk_admission *a,
          const struct pk_peer *who, uint64_t now)
{
    const char *peer = who->addr;

    if (a->what == PK_ADMIT_NEW)
        pk_info_with(
            &(struct pk_log_fields){.event = "source_new", .source = s->name, .peer = peer},
            "new source \"%s\" (id %016llx) from %s", s->name, (unsigned long long)s->id,
            peer[0] ? peer : "an unknown peer");
    else
        update_state(&c->sources, s, now);
    if (peer[0] != '\0' && (strcmp(s->peer, peer) != 0 || !s->connected)) {
        int again = s->peer[0] != '\0';
        snprintf(s->peer, sizeof(s->peer), "%s", peer);
        if (again) {
            s->reconnects++;
            pk_info_with(SOURCE_FIELDS(s, "source_reconnected"),
                         "source \"%s\" reconnected from %s", s->name, peer);
        }
        s->connected_since_ns = now;
        s->connected = 1;
    }
    if (who->key[0] != '\0' && strcmp(s->key, who->key) != 0) {
        if (s->key[0] != '\0')
            pk_warn_with(SOURCE_FIELDS(s, "source_key_changed"),
                         "source \"%s\" now sends with CURVE key %s (was %s)", s->name, who->key,
                         s->key);
        snprintf(s->key, sizeof(s->key), "%s", who->key);
    }
}

static void
note_loss(struct pk_source *s, uint64_t lost, const char *where)
{
    if (lost > 0)
        pk_warn_with(SOURCE_FIELDS(s, "source_loss"),
                     "source \"%s\": %llu packets lost in transit%s (%llu so far)", s->name,
                     (unsigned long long)lost, where, (unsigned long long)s->lost_packets);
}

void
pk_intake_free(struct collector *c)
{
    pk_codec_free(c->codec);
    free(c->inflated);
}

/*
 * A compressed batch, inflated into the one buffer of the largest message any transport hands
 * over (PK_FRAME_MAX): a message that declares more is refused before inflating, counted as
 * oversized, so no message grows memory. *buf and *len then name the plain message.
 */
static int
inflate(struct collector *c, const uint8_t **buf, size_t *len)
{
    int rc;

    if (c->codec == NULL) {
        if ((rc = pk_codec_open(&c->codec, PK_COMPRESS_NONE, 0)) != 0)
            return rc;
        if ((c->inflated = malloc(PK_FRAME_MAX)) == NULL)
            return -ENOMEM;
    }
    if (c->inflated == NULL)
        return -ENOMEM;
    if ((rc = pk_codec_inflate(c->codec, *buf, *len, c->inflated, PK_FRAME_MAX, len)) != 0)
        return rc;
    *buf = c->inflated;
    return 0;
}

static void
count_batch(struct pk_source *s, size_t wire_len, size_t plain_len, int compressed)
{
    s->batch_wire_bytes += wire_len;
    s->batch_plain_bytes += plain_len;
    s->compressed_messages += compressed != 0;
}

int
pk_intake_on_message(struct pk_transport *t, const uint8_t *buf, size_t len, const struct pk_peer *who)
{
    struct collector *c = t->data;
    struct pk_admission a;
    struct pk_frame f;
    struct pk_source *s;
    size_t wire_len = len;
    uint64_t applied_was, refused_was;
    int rc;

    if ((pk_codec_is_compressed(buf, len) && (rc = inflate(c, &buf, &len)) != 0) ||
        (rc = pk_frame_decode(buf, len, &f)) != 0) {
        note_bad(c, rc, who->addr);
        return rc;
    }
    if (f.kind == PK_KIND_CONTROL) { /* collector to agent only: not valid here */
        note_bad(c, -EBADMSG, who->addr);
        return -EBADMSG;
    }
    uint64_t now = pk_now_ns();
    /* A peer is its CURVE key when it has one (the address may change), else its address. */
    pk_sources_admit(&c->sources, &f, who->key[0] ? who->key : who->addr, who->addr, now, &a);
    if (a.what == PK_ADMIT_REFUSED) {
        note_refused(c, &a, &f, now);
        return 0; /* a valid message the table will not take: not the connection's fault */
    }
    if (a.what == PK_ADMIT_DROPPED)
        return 0; /* counted in the source's duplicates or implausible; never written twice */
    s = a.source;
    note_peer(c, s, &a, who, now);
    pk_forward_message(c->fwd, buf, len); /* as it came: byte-exact at the next collector */
    applied_was = s->applied_gen;
    refused_was = s->refused_gen;

    switch (f.kind) {
    case PK_KIND_HELLO:
        if (pk_source_apply_hello(s, &f.u.hello))
            pk_info_with(SOURCE_FIELDS(s, "source_hello"),
                         "source \"%s\": host %s, device %s, link type %u, snaplen %u, filter "
                         "\"%s\", agent %s, sampling 1/%u",
                         s->name, s->host, s->device, s->linktype, s->snaplen, s->filter,
                         s->version, s->sample_n);
        pk_control_push_source(c, s, applied_was, refused_was, now);
        break;
    case PK_KIND_PACKETS:
        note_loss(s, pk_source_apply_packets(s, &f.u.packets), "");
        s->packets += f.u.packets.count;
        s->bytes += f.u.packets.records_len; /* records with their 16-byte headers */
        count_batch(s, wire_len, len, c->inflated != NULL && buf == c->inflated);
        pk_outstage_packets(&c->os, s, &f.u.packets, now);
        break;
    case PK_KIND_STATS:
        note_loss(s, pk_source_apply_stats(s, &f.u.stats, 0), " (by its relayed total)");
        pk_control_push_source(c, s, applied_was, refused_was, now);
        break;
    case PK_KIND_GOODBYE:
        note_loss(s, pk_source_apply_stats(s, &f.u.stats, 1), " before its goodbye");
        s->state = PK_SOURCE_GONE;
        pk_intake_log_totals(s, "said goodbye", "source_goodbye");
        break;
    }
    pk_intake_pause_if_full(c);
    pk_intake_release_if_written(c); /* a regular file is written at once: confirm at once */
    return 0;
}

/* A transport that tells connections apart reports each close: mark its sources. */
void
pk_intake_on_peer(struct pk_transport *t, enum pk_peer_event ev, const char *peer,
                  const char *why)
{
    struct collector *c = t->data;

    if (ev == PK_PEER_WRONG_PROTOCOL) {
        /* An agent retries every 100 ms or so: one line per run; peers_dropped counts them all. */
        if (!c->wrong_protocol_logged++)
            pk_warn_with(
                &(struct pk_log_fields){.event = "peer_wrong_transport", .peer = peer},
                "%s %s, but this collector has RELAY_TRANSPORT=%s: set the same "
                "RELAY_TRANSPORT on agents and collector (closing such connections, "
                "counted in packeteur_peers_dropped_total)",
                peer, why[0] ? why : "speaks another protocol", c->cfg->relay_transport);
        return;
    }
    if (ev == PK_PEER_END) {
        pk_info_with(&(struct pk_log_fields){.event = "input_end"}, "end of input (%s): stopping",
                     why[0] ? why : "the transport has nothing more");
        pk_collector_stop(c);
        return;
    }
    pk_debug("peer %s %s", peer[0] ? peer : "(unknown)", ev == PK_PEER_UP ? "connected" : "left");
    if (ev != PK_PEER_DOWN || !c->per_connection || peer[0] == '\0' || c->stopping)
        return; /* at our own stop, every connection closes: that is no news about sources */
    for (size_t i = 0; i < c->sources.n; i++) {
        struct pk_source *s = c->sources.v[i];
        if (s->connected && strcmp(s->peer, peer) == 0) {
            s->connected = 0;
            s->disconnects++;
            if (!s->said_goodbye)
                pk_warn_with(SOURCE_FIELDS(s, "source_disconnected"),
                             "source \"%s\" disconnected (%s) without a goodbye", s->name, peer);
        }
    }
}

int
pk_intake_is_message(const uint8_t *buf, size_t len)
{
    return len >= sizeof(PK_FRAME_MAGIC) - 1 &&
           memcmp(buf, PK_FRAME_MAGIC, sizeof(PK_FRAME_MAGIC) - 1) == 0;
}

/* The capture-stream decoder (capstream.h) in the transport contract's shape. */
static int
stream_open(void **out, const char *peer, pk_stream_emit_cb emit, void *data, char *errbuf)
{
    return pk_capstream_open((struct pk_capstream **)out, peer, emit, data, errbuf);
}

static long
stream_parse(void *st, const uint8_t *buf, size_t len, char *errbuf)
{
    return pk_capstream_parse(st, buf, len, errbuf);
}

static int
stream_end(void *st, size_t leftover, char *errbuf)
{
    return pk_capstream_end(st, leftover, errbuf);
}

static void
stream_free(void *st)
{
    pk_capstream_free(st);
}

const struct pk_stream_decoder pk_intake_capture_streams = {
    pk_capstream_detect, stream_open, stream_parse, stream_end, stream_free,
};

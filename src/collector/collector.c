/*
 * The collector. Accounting per source: packets received = written + linktype drops, and
 * the agent's relayed total = received + lost in transit (packet-index gaps). Bad messages
 * are dropped and counted by reason; they never touch the output or other sources.
 */
#define PK_LOG_MODULE "collector"
#include "collector.h"
#include "buf.h"
#include "config.h"
#include "frame.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "merge.h"
#include "output.h"
#include "pcapout.h"
#include "pcktr.h"
#include "reports.h"
#include "sources.h"
#include "keys.h"
#include "privdrop.h"
#include "transport.h"
#include "writer.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#define MAX_SOURCES 1024
#define BAD_LOG_INTERVAL_NS (10ull * 1000000000ull)
#define REFUSED_LOG_INTERVAL_NS 1000000000ull /* refusing peers: at most a line a second */
#define ISB_INTERVAL_MS 5000 /* pcapng: interface statistics blocks this often, and at exit */
#define STATE_CHECK_MS 250
#define MERGE_TICK_MS 10 /* MERGE_WINDOW: how often held packets are checked for release */ /* how often silent sources are checked for stale and gone */

enum bad_reason { BAD_MALFORMED, BAD_VERSION, BAD_SIZE, BAD_REASONS };
/* Log fields of a source, for LOG_FORMAT=json (docs/LOGGING.md lists the events). */
#define SOURCE_FIELDS(s, ev)                                                                       \
    (&(struct pk_log_fields){.event = (ev),                                                        \
                             .source = (s)->name,                                                  \
                             .host = (s)->host,                                                    \
                             .device = (s)->device,                                                \
                             .peer = (s)->peer})

static const char *const bad_names[] = {"malformed", "unsupported protocol version", "oversized"};

struct collector {
    uv_loop_t loop;
    const struct pk_config *cfg;
    struct pk_transport *tr;
    struct pk_curve_keys *keys; /* COLLECT_CURVE_ALLOWED is reloaded on SIGHUP */
    struct pk_access access; /* who may send; refusal counters */
    struct pk_output *out;
    struct pk_sources sources;
    struct pk_signals signals;
    uv_signal_t sighup;
    uv_prepare_t flush_prepare;
    uv_timer_t linger_timer, state_timer, isb_timer, merge_timer;
    struct pk_writer writer;
    struct pk_merge merge; /* MERGE_WINDOW > 0 */
    int merging;
    uint64_t last_ts_ns, out_late; /* merging: the latest timestamp written; writes behind it */
    struct pk_http *http; /* NULL when METRICS_ADDRPORT is empty */
    struct pk_reporter reporter; /* what http renders */
    uint64_t start_ns;

    int paused, stopping, finished, exit_code;
    uint64_t out_packets, out_bytes, out_linktype_drops;
    uint64_t bad[BAD_REASONS];
    struct pk_transport_counters counters; /* the transport's, kept after it is closed */
    int per_connection; /* the transport's peers name connections (ops->per_connection_peers) */
    uint64_t bad_logged_ns;
    uint64_t refused_logged_ns, refused_unlogged; /* refusing peers: one line per interval */
    int wrong_protocol_logged; /* a zmq agent reached this tcp-raw collector */
};

static void stop(struct collector *c);

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

static void
write_record(struct collector *c, struct pk_source *s, uint32_t linktype,
             const struct pk_record *rec)
{
    int first = !c->writer.started;

    if (c->merging) {
        if (rec->ts_ns < c->last_ts_ns) {
            s->late++;
            c->out_late++;
        } else {
            c->last_ts_ns = rec->ts_ns;
        }
    }
    int rc = pk_writer_record(&c->writer, s, linktype, rec);

    if (rc > 0) {
        if (first && c->writer.format == PK_FORMAT_PCAP)
            pk_info("output stream link type %u (from source \"%s\")", linktype, s->name);
        s->written++;
        c->out_packets++;
        c->out_bytes += rec->caplen;
        return;
    }
    s->linktype_drops++;
    c->out_linktype_drops++;
    if (rc < 0 && !s->warned_interfaces) {
        pk_warn_with(SOURCE_FIELDS(s, "source_linktype_mismatch"),
                     "source \"%s\" sends a link type (%u) beyond the %d pcapng interfaces a "
                     "source may have: dropping those packets (counted as link-type drops)",
                     s->name, linktype, PK_SOURCE_INTERFACES);
        s->warned_interfaces = 1;
    } else if (rc == 0 && !s->warned_linktype) {
        pk_warn_with(SOURCE_FIELDS(s, "source_linktype_mismatch"),
                     "source \"%s\" has link type %u but the pcap stream has %u: dropping its "
                     "packets (counted as link-type drops; OUTPUT_FORMAT=pcapng takes every link "
                     "type)",
                     s->name, linktype, c->writer.stream_linktype);
        s->warned_linktype = 1;
    }
}

static void
pause_if_full(struct collector *c)
{
    if (c->tr != NULL && pk_output_full(c->out) && !c->paused) {
        c->paused = 1;
        c->tr->ops->set_receiving(c->tr, 0);
        pk_debug("output queue full (%zu bytes): pausing intake", pk_output_queued(c->out));
    }
}

/* Writes what the merge buffer releases now (all: everything, at exit). */
static void
release_merged(struct collector *c, int all)
{
    struct pk_merge_entry *e;
    uint64_t now = pk_now_ns();

    while ((e = pk_merge_next(&c->merge, now, all)) != NULL) {
        struct pk_record rec = {e->ts_ns, e->caplen, e->origlen, e->data};
        write_record(c, e->source, e->linktype, &rec);
        pk_merge_release(&c->merge, e);
    }
    pause_if_full(c);
}

static void
on_merge_timer(uv_timer_t *h)
{
    release_merged(container_of(h, struct collector, merge_timer), 0);
}

/* now_ns: when the message arrived, the arrival time of all its packets */
static void
write_packets(struct collector *c, struct pk_source *s, const struct pk_packets *p,
              uint64_t now_ns)
{
    struct pk_record rec;
    size_t off = 0;

    while (pk_packets_next(p, &off, &rec))
        if (!c->merging || pk_merge_add(&c->merge, s, p->linktype, &rec, now_ns) != 0)
            write_record(c, s, p->linktype, &rec); /* in order, or when holding it failed */
    if (c->merging)
        release_merged(c, 0);
}

static void
log_source_totals(const struct pk_source *s, const char *what, const char *event)
{
    pk_info_with(
        SOURCE_FIELDS(s, event),
        "source \"%s\" %s: received %llu packets (written %llu, link-type drops %llu), lost "
        "in transit %llu packets in %llu messages; agent: captured %llu, relayed %llu, relay "
        "drops %llu, kernel drops %llu, interface drops %llu",
        s->name, what, (unsigned long long)s->packets, (unsigned long long)s->written,
        (unsigned long long)s->linktype_drops, (unsigned long long)s->lost_packets,
        (unsigned long long)s->lost_messages, (unsigned long long)s->agent.captured,
        (unsigned long long)s->agent.relayed, (unsigned long long)s->agent.relay_drops,
        (unsigned long long)s->agent.kernel_drops, (unsigned long long)s->agent.if_drops);
}

/* pcapng: interface statistics blocks now and then, so a reader sees drops as they happen. */
static void
on_isb_timer(uv_timer_t *h)
{
    struct collector *c = container_of(h, struct collector, isb_timer);

    pk_writer_stats(&c->writer, &c->sources, pk_now_ns());
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

static void
on_state_timer(uv_timer_t *h)
{
    struct collector *c = container_of(h, struct collector, state_timer);
    uint64_t now = pk_now_ns();

    for (size_t i = 0; i < c->sources.n; i++)
        update_state(&c->sources, c->sources.v[i], now);
    pk_log_flush(0); /* a flood that stopped still gets its "N more suppressed" line */
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

static int
on_message(struct pk_transport *t, const uint8_t *buf, size_t len, const struct pk_peer *who)
{
    struct collector *c = t->data;
    struct pk_admission a;
    struct pk_frame f;
    struct pk_source *s;
    int rc;

    if ((rc = pk_frame_decode(buf, len, &f)) != 0) {
        note_bad(c, rc, who->addr);
        return rc;
    }
    uint64_t now = pk_now_ns();
    /* A peer is its CURVE key when it has one (the address may change), else its address. */
    pk_sources_admit(&c->sources, &f, who->key[0] ? who->key : who->addr, who->addr, now, &a);
    if (a.what == PK_ADMIT_REFUSED) {
        note_refused(c, &a, &f, now);
        return 0; /* a valid message the table will not take: not the connection's fault */
    }
    if (a.what == PK_ADMIT_DUPLICATE)
        return 0; /* counted in the source's duplicates; never written twice */
    s = a.source;
    note_peer(c, s, &a, who, now);

    switch (f.kind) {
    case PK_KIND_HELLO:
        if (pk_source_apply_hello(s, &f.u.hello))
            pk_info_with(SOURCE_FIELDS(s, "source_hello"),
                         "source \"%s\": host %s, device %s, link type %u, snaplen %u, filter "
                         "\"%s\", agent %s",
                         s->name, s->host, s->device, s->linktype, s->snaplen, s->filter,
                         s->version);
        break;
    case PK_KIND_PACKETS:
        note_loss(s, pk_source_apply_packets(s, &f.u.packets), "");
        s->packets += f.u.packets.count;
        s->bytes += f.u.packets.records_len; /* records with their 16-byte headers */
        write_packets(c, s, &f.u.packets, now);
        break;
    case PK_KIND_STATS:
        note_loss(s, pk_source_apply_stats(s, &f.u.stats, 0), " (by its relayed total)");
        break;
    case PK_KIND_GOODBYE:
        note_loss(s, pk_source_apply_stats(s, &f.u.stats, 1), " before its goodbye");
        s->state = PK_SOURCE_GONE;
        log_source_totals(s, "said goodbye", "source_goodbye");
        break;
    }
    pause_if_full(c);
    return 0;
}

/*
 * Output is written once per loop turn, from a prepare handle: it runs after the idle phase
 * (where a resumed transport delivers) and right before the loop may block in poll. A check
 * handle would run after poll, too late for idle-phase messages (the collector hung so).
 */
static void
on_flush_prepare(uv_prepare_t *h)
{
    struct collector *c = container_of(h, struct collector, flush_prepare);

    if (pk_output_queued(c->out) > 0)
        pk_output_flush(c->out);
}

static void
finish(struct collector *c)
{
    if (c->finished)
        return;
    c->finished = 1;
    if (pk_output_queued(c->out) > 0)
        pk_warn("discarding %zu bytes of output that stdout did not take within LINGER",
                pk_output_queued(c->out));
    for (size_t i = 0; i < c->sources.n; i++)
        log_source_totals(c->sources.v[i], "totals", "source_totals");
    pk_info("wrote %llu packets (%llu bytes of packet data); dropped %llu malformed, %llu "
            "wrong-version, %llu oversized messages",
            (unsigned long long)c->out_packets, (unsigned long long)c->out_bytes,
            (unsigned long long)c->bad[BAD_MALFORMED], (unsigned long long)c->bad[BAD_VERSION],
            (unsigned long long)c->bad[BAD_SIZE]);
    uv_close((uv_handle_t *)&c->flush_prepare, NULL);
    uv_close((uv_handle_t *)&c->linger_timer, NULL);
    uv_close((uv_handle_t *)&c->state_timer, NULL);
    uv_close((uv_handle_t *)&c->isb_timer, NULL);
    uv_close((uv_handle_t *)&c->merge_timer, NULL);
    pk_output_close(c->out);
    if (c->http != NULL)
        pk_http_stop(c->http, NULL, NULL);
}

static void
on_drained(struct pk_output *o, void *data)
{
    struct collector *c = data;

    (void)o;
    if (c->stopping) {
        if (pk_output_queued(c->out) == 0)
            finish(c);
        return;
    }
    if (c->paused && !pk_output_full(c->out)) {
        c->paused = 0;
        c->tr->ops->set_receiving(c->tr, 1);
        pk_debug("output queue drained to %zu bytes: resuming intake", pk_output_queued(c->out));
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
        pk_error("OUTPUT=\"%s\": cannot write: %s; the file keeps the %llu bytes of whole "
                 "blocks written before",
                 c->cfg->output, strerror(-err), (unsigned long long)pk_output_kept(o));
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
    c->tr->ops->close(c->tr, 0, on_transport_closed, c);
    c->tr = NULL;
    uv_timer_stop(&c->isb_timer);
    uv_timer_stop(&c->merge_timer);
    if (c->merging && !c->finished)
        release_merged(c, 1); /* nothing held is lost at exit */
    if (!c->finished)
        pk_writer_stats(&c->writer, &c->sources, pk_now_ns()); /* final counts, pcapng only */
    if (pk_output_queued(c->out) == 0) {
        finish(c);
        return;
    }
    pk_output_flush(c->out);
    if (!c->finished)
        uv_timer_start(&c->linger_timer, on_linger_timeout, c->cfg->linger_ms, 0);
}

static void
on_stop_signal(void *data, int signum)
{
    (void)signum;
    stop(data);
}

static void
fill_report(void *data, union pk_report *u)
{
    struct collector *c = data;
    struct pk_collect_report *r = &u->collect;

    r->common.mode = "collect";
    r->common.transport = c->cfg->relay_transport;
    r->common.endpoint = c->cfg->collect_endpoint;
    r->common.start_ns = c->start_ns;
    r->common.now_ns = pk_now_ns();
    r->sources = &c->sources;
    r->output_format = pk_output_format_names[c->writer.format];
    r->stream_started = c->writer.started && c->writer.format == PK_FORMAT_PCAP;
    r->stream_linktype = c->writer.stream_linktype;
    r->out_packets = c->out_packets;
    r->out_bytes = c->out_bytes;
    r->out_linktype_drops = c->out_linktype_drops;
    r->merge_window_ms = c->cfg->merge_window_ms;
    r->merge_held = c->merge.n;
    r->merge_forced = c->merge.forced;
    r->out_late = c->out_late;
    r->out_queue_bytes = c->finished ? 0 : pk_output_queued(c->out);
    r->out_queue_limit = c->cfg->output_buffer;
    r->intake_paused = c->paused;
    r->per_connection = c->per_connection;
    r->bad_malformed = c->bad[BAD_MALFORMED];
    r->bad_version = c->bad[BAD_VERSION];
    r->bad_oversized = c->bad[BAD_SIZE];
    r->transport = c->tr != NULL ? c->tr->counters : c->counters;
    r->encrypted = c->keys->enabled;
    r->public_key = c->keys->enabled ? c->keys->public_key : NULL;
    r->allow = c->cfg->collect_allow;
    r->access = &c->access;
    r->http = pk_http_counters(c->http);
}

/* A transport that tells connections apart (tcp-raw) reports each close: mark its sources. */
static void
on_peer(struct pk_transport *t, enum pk_peer_event ev, const char *peer)
{
    struct collector *c = t->data;

    if (ev == PK_PEER_WRONG_PROTOCOL) {
        /* An agent retries every 100 ms or so: one line per run; peers_dropped counts them all. */
        if (!c->wrong_protocol_logged++)
            pk_warn_with(
                &(struct pk_log_fields){.event = "peer_wrong_transport", .peer = peer},
                "%s speaks ZeroMQ, but this collector has RELAY_TRANSPORT=%s: set the same "
                "RELAY_TRANSPORT on agents and collector (closing such connections, "
                "counted in packeteur_peers_dropped_total)",
                peer, c->cfg->relay_transport);
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

/*
 * SIGHUP: COLLECT_CURVE_ALLOWED is read again, so that an agent can be added (or removed)
 * without a restart that would cut every other source's stream. ZAP asks at each handshake, so
 * the new list applies to the next connection; connected agents keep theirs. A file that does
 * not parse changes nothing.
 */
static void
on_sighup(uv_signal_t *h, int signum)
{
    struct collector *c = h->data;
    char errbuf[PK_ERRBUF_SIZE];
    size_t before = c->keys->nallowed;

    (void)signum;
    if (c->keys->allowed == NULL) {
        pk_info("SIGHUP: nothing to reload (COLLECT_CURVE_ALLOWED is not set)");
        return;
    }
    if (pk_keys_reload_allowed(c->cfg->collect_curve_allowed, c->keys, errbuf) != 0) {
        pk_warn_with(&(struct pk_log_fields){.event = "allowed_keys_reload_failed"},
                     "SIGHUP: %s; the %zu keys in force stay", errbuf, before);
        return;
    }
    pk_access_set_keys(&c->access, (const char(*)[PK_KEY_Z85_LEN + 1]) c->keys->allowed,
                       c->keys->nallowed);
    pk_info_with(&(struct pk_log_fields){.event = "allowed_keys_reloaded"},
                 "SIGHUP: COLLECT_CURVE_ALLOWED=\"%s\" reloaded: %zu keys (were %zu); connected "
                 "agents keep their connections, the list applies to new ones",
                 c->cfg->collect_curve_allowed, c->keys->nallowed, before);
}

/* Says at start how the relay is protected, and warns where it is not. */
static void
log_security(struct collector *c, const struct pk_endpoint *ep)
{
    const struct pk_config *cfg = c->cfg;
    int public_listener = ep->host[0] == '\0';

    for (int i = 0; i < ep->naddrs; i++)
        if (!pk_endpoint_is_loopback(ep, i))
            public_listener = 1;
    if (c->keys->enabled)
        pk_info("relay encrypted with CURVE; the collector's public key (agents' "
                "RELAY_CURVE_SERVERKEY) is %s; %s", c->keys->public_key,
                c->keys->allowed ? "only keys in COLLECT_CURVE_ALLOWED may send"
                                 : "any agent that has this public key may send");
    else if (c->tr->ops->encrypts)
        pk_warn("the relay is not encrypted: agents send captured packets in clear text (set "
                "COLLECT_CURVE_SECRETKEY, see pcktr keygen)");
    else if (public_listener && cfg->nallow == 0)
        pk_warn("%s carries captured packets in clear text and listens beyond loopback on %s "
                "with no COLLECT_ALLOW: anyone who reaches it can send; use it on a trusted "
                "network or in a tunnel, and set COLLECT_ALLOW",
                cfg->relay_transport, cfg->collect_endpoint);
    else
        pk_warn("the relay is not encrypted (%s): use it on a trusted network or in a tunnel",
                cfg->relay_transport);
    if (cfg->nallow > 0)
        pk_info("only peers in COLLECT_ALLOW=%s may send", cfg->collect_allow);
}

int
pk_collector_run(const struct pk_config *cfg, struct pk_curve_keys *keys)
{
    struct collector *c = calloc(1, sizeof(*c));
    struct pk_endpoint ep = cfg->collect_ep;
    struct pk_transport_opts topts = {.role = PK_TRANSPORT_RECEIVER, .max_message = PK_FRAME_MAX,
        .peer_max_message = cfg->collect_max_message, .max_peers = cfg->collect_max_peers};
    struct pk_output_callbacks ocb = {on_drained, on_output_error, NULL};
    char errbuf[PK_ERRBUF_SIZE], os[160], app[64];
    int rc, out_fd = STDOUT_FILENO;
    struct utsname un;

    if (c == NULL)
        return PK_EXIT_RUNTIME;
    c->cfg = cfg;
    c->keys = keys;
    c->reporter = (struct pk_reporter){PK_REPORT_COLLECT, fill_report, c};
    pk_log_set_context(&(struct pk_log_fields){.endpoint = cfg->collect_endpoint});
    c->access.allow = cfg->allow;
    c->access.nallow = cfg->nallow;
    pk_access_set_keys(&c->access, (const char(*)[PK_KEY_Z85_LEN + 1]) keys->allowed,
                       keys->nallowed);
    topts.access = &c->access;
    if (keys->enabled) {
        topts.public_key = keys->public_key;
        topts.secret_key = keys->secret_key;
    }
    ocb.data = c;
    pk_sources_init(&c->sources, MAX_SOURCES, cfg->stale_after_ms, cfg->gone_after_ms);
    c->merging = cfg->merge_window_ms > 0;
    pk_merge_init(&c->merge, cfg->merge_window_ms, cfg->output_buffer);
    c->start_ns = pk_now_ns();
    uv_loop_init(&c->loop);

    char moved[4096]; /* OUTPUT: never truncated, an existing capture is moved aside */
    if (strcmp(cfg->output, "-") != 0 &&
        (out_fd = pk_output_open_path(cfg->output, moved, sizeof(moved), errbuf)) < 0) {
        pk_error("%s", errbuf);
        c->exit_code = PK_EXIT_RUNTIME;
        goto out_loop;
    }
    if (strcmp(cfg->output, "-") != 0 && moved[0] != '\0')
        pk_info_with(&(struct pk_log_fields){.event = "output_moved_aside"},
                     "OUTPUT=\"%s\" held a capture: moved aside to \"%s\"", cfg->output, moved);
    c->out = pk_output_new(&c->loop, out_fd, cfg->output_buffer, &ocb, errbuf);
    if (c->out == NULL) {
        pk_error("%s", errbuf);
        c->exit_code = PK_EXIT_RUNTIME;
        goto out_loop;
    }
    if (ep.host[0] != '\0' && (rc = pk_endpoint_resolve(&ep, errbuf)) != 0) {
        pk_error("COLLECT_ENDPOINT=\"%s\": %s", cfg->collect_endpoint, errbuf);
        c->exit_code = PK_EXIT_RUNTIME;
        goto out_output;
    }
    if (cfg->metrics_addrport[0] != '\0' &&
        pk_reports_start(&c->http, &c->loop, &cfg->metrics_ep, cfg->metrics_addrport,
                         &c->reporter, errbuf) != 0) {
        pk_error("%s", errbuf);
        c->exit_code = PK_EXIT_RUNTIME;
        goto out_output;
    }
    c->tr = pk_transport_find(cfg->relay_transport)->open(&c->loop, &ep, &topts, errbuf);
    if (c->tr == NULL) {
        pk_error("COLLECT_ENDPOINT=\"%s\": %s", cfg->collect_endpoint, errbuf);
        c->exit_code = PK_EXIT_RUNTIME;
        goto out_output;
    }
    c->tr->data = c;
    c->per_connection = c->tr->ops->per_connection_peers;
    c->sources.per_connection = c->per_connection; /* a source may move once its connection closed */
    c->tr->on_message = on_message;
    c->tr->on_peer = on_peer;
    log_security(c, &ep);
    if ((rc = pk_drop_privileges(cfg->run_as, errbuf)) != 0) {
        pk_error("%s", errbuf);
        c->exit_code = pk_exit_code(rc);
        c->tr->ops->close(c->tr, 0, on_transport_closed, c);
        c->tr = NULL;
        goto out_output;
    }
    if (cfg->run_as[0] != '\0')
        pk_info("running as user %s (uid %u)", cfg->run_as, (unsigned)getuid());
    if (uname(&un) != 0)
        memset(&un, 0, sizeof(un));
    snprintf(os, sizeof(os), "%s %s", un.sysname, un.release);
    snprintf(app, sizeof(app), "pcktr %s", PCKTR_VERSION);
    pk_writer_init(&c->writer, cfg->output_format, c->out, un.machine, os, app);
    pk_info("collecting on %s (%s); writing %s to %s", cfg->collect_endpoint, cfg->relay_transport,
            pk_output_format_names[cfg->output_format],
            strcmp(cfg->output, "-") == 0 ? "stdout" : cfg->output);

    uv_prepare_init(&c->loop, &c->flush_prepare);
    uv_prepare_start(&c->flush_prepare, on_flush_prepare);
    uv_unref((uv_handle_t *)&c->flush_prepare);
    uv_timer_init(&c->loop, &c->linger_timer);
    uv_timer_init(&c->loop, &c->state_timer);
    uv_timer_start(&c->state_timer, on_state_timer, STATE_CHECK_MS, STATE_CHECK_MS);
    uv_timer_init(&c->loop, &c->isb_timer);
    uv_timer_start(&c->isb_timer, on_isb_timer, ISB_INTERVAL_MS, ISB_INTERVAL_MS);
    uv_timer_init(&c->loop, &c->merge_timer);
    if (c->merging) /* release held packets as their time comes, even when nothing arrives */
        uv_timer_start(&c->merge_timer, on_merge_timer, MERGE_TICK_MS, MERGE_TICK_MS);
    pk_signals_start(&c->signals, &c->loop, on_stop_signal, c);
    uv_signal_init(&c->loop, &c->sighup);
    c->sighup.data = c;
    uv_signal_start(&c->sighup, on_sighup, SIGHUP);
    uv_unref((uv_handle_t *)&c->sighup);
    goto out_loop;

out_output:
    pk_output_close(c->out);
    if (c->http != NULL)
        pk_http_stop(c->http, NULL, NULL);
out_loop:
    pk_loop_finish(&c->loop);
    if (c->http != NULL)
        pk_http_free(c->http);
    rc = c->exit_code;
    pk_merge_free(&c->merge);
    pk_sources_free(&c->sources);
    free(c);
    return rc;
}

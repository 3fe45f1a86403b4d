/*
 * The agent's relay: packets go into one batch message until BATCH_BYTES or the end of a
 * wake-up, then to the transport, each message with the next sequence number. Accounting:
 * captured = relayed + relay_drops + rate_limited + sampled_out + paused + queued (in the open
 * batch). While control pauses the relay (control.c) nothing is batched; then SAMPLE leaves
 * flows out before batching. A finished batch is compressed (RELAY_COMPRESSION)
 * when that makes it shorter, then checked against RELAY_RATE_LIMIT's bucket: over it, it is
 * not sent. A batch the transport refuses is dropped and counted (live capture), or kept with the file paused (READ_FILE) until the
 * transport is writable again or RELAY_TIMEOUT passes. Control messages (hello, stats, goodbye)
 * share the sequence. Loop thread only.
 */
#define PK_LOG_MODULE "agent"
#include "relay.h"
#include "afamily.h"
#include "capture.h"
#include "compress.h"
#include "config.h"
#include "delivery.h"
#include "frame.h"
#include "log.h"
#include "pcktr.h"
#include "replay.h"
#include "sample.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_stall(uv_timer_t *h);
static void on_rate_wait(uv_timer_t *h);

/* A burst of 50 ms of the rate, or one full batch when that is more: the rate over any second
 * is then within 5% of RELAY_RATE_LIMIT, and a batch always fits an idle bucket. */
static void
init_bucket(struct agent *a, uint64_t rate)
{
    pk_bucket_init(&a->bucket, rate, rate / 20 > a->cfg->batch_bytes ? rate / 20 : a->cfg->batch_bytes,
                   pk_now_ns());
}

/* The codec of cfg's RELAY_COMPRESSION (NULL for none), and the buffer it compresses into. */
static int
open_codec(struct agent *a, const struct pk_config *cfg, struct pk_codec **codec)
{
    *codec = NULL;
    if (cfg->compression == PK_COMPRESS_NONE)
        return 0;
    if (a->zbuf == NULL) {
        a->zcap = pk_codec_bound(PK_FRAME_BATCH_CAP(a->cfg->batch_bytes));
        if ((a->zbuf = malloc(a->zcap)) == NULL)
            return -ENOMEM;
    }
    return pk_codec_open(codec, cfg->compression, cfg->compression_level);
}

int
pk_relay_init(struct agent *a)
{
    size_t batch_cap = PK_FRAME_BATCH_CAP(a->cfg->batch_bytes);

    if ((a->batch_buf = malloc(batch_cap)) == NULL)
        return -ENOMEM;
    pk_batch_init(&a->batch, a->batch_buf, batch_cap);
    a->rate_limit = pk_control_rate_limit(a->cfg->relay_rate_limit, a->ctl.rate_limit);
    init_bucket(a, a->rate_limit);
    return open_codec(a, a->cfg, &a->codec);
}

int
pk_relay_retune(struct agent *a, const struct pk_config *next)
{
    struct pk_codec *codec = a->codec;
    int rc;

    if (next->compression != a->cfg->compression ||
        next->compression_level != a->cfg->compression_level) {
        if ((rc = open_codec(a, next, &codec)) != 0)
            return rc;
        pk_relay_flush(a); /* the open batch goes as it was to be sent */
        pk_codec_free(a->codec);
    }
    a->codec = codec;
    pk_relay_set_rate(a, pk_control_rate_limit(next->relay_rate_limit, a->ctl.rate_limit));
    return 0;
}

void
pk_relay_set_rate(struct agent *a, uint64_t rate)
{
    if (rate == a->rate_limit)
        return; /* the bucket keeps what it holds */
    a->rate_limit = rate;
    init_bucket(a, rate);
}

void
pk_relay_free(struct agent *a)
{
    pk_codec_free(a->codec);
    free(a->zbuf);
    free(a->batch_buf);
}

/* packets: how many the message holds (0: control), for the delivery accounting. */
static int
send_message(struct agent *a, uint8_t *buf, size_t len, uint32_t packets)
{
    int rc;

    pk_frame_set_seq(buf, a->seq, pk_now_ns());
    /*
     * A signal (SIGHUP) landing inside zmq_send's command processing makes it fail with EINTR
     * before the message is queued (socket_base_t::send): try again rather than drop a batch.
     */
    for (int tries = 0; (rc = a->tr->ops->send(a->tr, buf, len)) == -EINTR && tries < 8; tries++)
        ;
    if (rc == 0) {
        a->seq++;
        pk_bucket_charge(&a->bucket, len, pk_now_ns());
        pk_delivery_handed(a, packets);
    }
    return rc;
}

void
pk_agent_fill_stats(struct agent *a, struct pk_stats *s)
{
    if (a->cap != NULL)
        pk_capture_stats(a->cap, &a->st.kernel_drops, &a->st.if_drops);
    *s = a->st;
    s->queued = a->batch_open ? a->batch.count : 0;
    s->applied_gen = a->ctl.applied_gen;
    s->refused_gen = a->ctl.refused_gen;
}

int
pk_relay_send_control(struct agent *a, enum pk_frame_kind kind)
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
    return send_message(a, a->control, len, 0);
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

/*
 * One line when an episode of rate-limited batches starts, one when a batch goes after a
 * second without any: at a rate near the limit every other batch is over it.
 */
static void
note_rate_limited(struct agent *a, int limited)
{
    uint64_t now = pk_now_ns();

    if (limited) {
        if (!a->limiting)
            pk_warn_with(&(struct pk_log_fields){.event = "rate_limited"},
                         "%s%llu bytes/s reached: batches over it are not sent, see rate "
                         "limited (%llu packets so far)",
                         a->rate_limit == a->cfg->relay_rate_limit ? "RELAY_RATE_LIMIT="
                                                                   : "control's rate limit of ",
                         (unsigned long long)a->rate_limit,
                         (unsigned long long)a->st.rate_limited);
        a->limiting = 1;
        a->limited_ns = now;
    } else if (a->limiting && now - a->limited_ns >= 1000000000ull) {
        a->limiting = 0;
        pk_info_with(&(struct pk_log_fields){.event = "rate_limit_room"},
                     "relay under RELAY_RATE_LIMIT for a second; %llu packets rate limited so far",
                     (unsigned long long)a->st.rate_limited);
    }
}

/*
 * The finished batch, compressed when that is shorter, if the rate limit lets it go: the
 * transport's verdict, or -ENOBUFS when it is over the limit (counted as rate limited), or
 * -ETIME when READ_FILE waits for the budget (the rate-wait timer is set).
 */
static int
send_batch(struct agent *a)
{
    size_t plain = pk_batch_end(&a->batch), len = 0;
    uint8_t *msg = a->batch_buf;
    int rc;

    if (a->codec != NULL && (len = pk_codec_compress(a->codec, a->batch_buf, plain, a->zbuf,
                                                     a->zcap)) != 0)
        msg = a->zbuf;
    else
        len = plain;
    if (!pk_bucket_allows(&a->bucket, len, pk_now_ns())) {
        if (a->replay != NULL && !a->stopping) {
            /* A file is not lost for being read faster than the link: it waits, paced. */
            uv_timer_start(&a->rate_wait, on_rate_wait,
                           pk_bucket_wait_ms(&a->bucket, len, pk_now_ns()), 0);
            return -ETIME;
        }
        a->st.rate_limited += a->batch.count;
        note_rate_limited(a, 1);
        return -ENOBUFS;
    }
    if ((rc = send_message(a, msg, len, a->batch.count)) == 0) {
        note_rate_limited(a, 0);
        a->batch_plain_bytes += plain;
        a->batch_wire_bytes += len;
        a->batches_compressed += msg == a->zbuf;
    }
    return rc;
}

/* Hands the open batch to the transport. -EAGAIN only in READ_FILE mode (the batch is kept). */
int
pk_relay_flush(struct agent *a)
{
    int rc;

    if (!a->batch_open)
        return 0;
    if (a->batch.count == 0) {
        a->batch_open = 0;
        return 0;
    }
    rc = send_batch(a);
    if (rc == -ETIME) {
        a->batch_pending = 1; /* kept; the replay pauses until the timer sends it */
        return -EAGAIN;
    }
    if (rc == -ENOBUFS) {
        a->batch_open = a->batch_pending = 0; /* counted as rate limited */
        return 0;
    }
    if (rc == 0) {
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
        /* Not only the first refusal: a batch kept for the rate limit may meet a full queue. */
        if (!uv_is_active((uv_handle_t *)&a->stall)) {
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

int
pk_relay_would_overflow(const struct agent *a, const struct pk_packet *pkt)
{
    return a->batch_open && a->batch.count > 0 &&
           a->batch.len + PK_RECORD_HEADER_LEN + pkt->caplen > a->cfg->batch_bytes;
}

void
pk_relay_add(struct agent *a, const struct pk_packet *pkt)
{
    a->st.captured++;
    pk_af_hist_add(&a->hist, pk_af_classify(a->hello.linktype, pkt->data, pkt->caplen),
                   pkt->origlen);
    if (a->ctl.paused) {
        a->st.paused++; /* control's choice: counted, not relayed, no gap in the index */
        return;
    }
    if (!pk_sample_keep(a->hello.sample_n, a->hello.linktype, pkt->data, pkt->caplen)) {
        a->st.sampled_out++; /* by design: not a drop, and no gap in the packet index */
        return;
    }
    /* A record that would take the open batch past BATCH_BYTES goes into the next one, so a
     * message stays within BATCH_BYTES unless one record alone is larger (READ_FILE flushed
     * before calling: on_replay_packet). The buffer holds BATCH_BYTES plus one largest record,
     * so adding always fits. */
    if (pk_relay_would_overflow(a, pkt))
        pk_relay_flush(a);
    if (!a->batch_open) {
        pk_batch_begin(&a->batch, &a->src, a->hello.linktype, a->handed);
        a->batch_open = 1;
    }
    pk_batch_add(&a->batch, pkt->ts_ns, pkt->caplen, pkt->origlen, pkt->data);
    if (a->batch.len >= a->cfg->batch_bytes)
        pk_relay_flush(a);
}

/* A kept batch (READ_FILE) goes now, if it can: then the file reads on, or finishes. */
static void
send_pending(struct agent *a)
{
    if (!a->batch_pending || pk_relay_flush(a) == -EAGAIN)
        return;
    if (a->replay_ended)
        pk_agent_finish(a, a->cfg->relay_timeout_ms);
    else
        pk_replay_resume(a->replay);
}

void
pk_relay_on_writable(struct pk_transport *t)
{
    struct agent *a = t->data;

    pk_debug("relay queue writable again");
    if (a->goodbye_pending) {
        uint64_t now = uv_now(&a->loop);
        if (pk_relay_send_control(a, PK_KIND_GOODBYE) == 0)
            pk_agent_close_transport(a, a->goodbye_deadline_ms > now
                                            ? a->goodbye_deadline_ms - now
                                            : 0);
        return;
    }
    send_pending(a);
}

static void
on_rate_wait(uv_timer_t *h)
{
    struct agent *a = container_of(h, struct agent, rate_wait);

    if (!a->stopping)
        send_pending(a);
}

static void
on_stall(uv_timer_t *h)
{
    struct agent *a = container_of(h, struct agent, stall);

    pk_log_with(PK_LOG_ERROR, &(struct pk_log_fields){.event = "relay_timeout"},
                "collector %s took nothing for RELAY_TIMEOUT (%llu ms); giving up",
                a->cfg->relay_endpoint, (unsigned long long)a->cfg->relay_timeout_ms);
    a->exit_code = PK_EXIT_RUNTIME;
    pk_agent_finish(a, 0);
}

void
pk_relay_on_peer(struct pk_transport *t, enum pk_peer_event ev, const char *peer,
                 const char *why)
{
    struct agent *a = t->data;

    if (ev == PK_PEER_UP) {
        pk_info_with(&(struct pk_log_fields){.event = "collector_connected", .peer = peer},
                     "connected to collector %s%s%s%s", peer[0] ? peer : a->cfg->relay_endpoint,
                     why[0] ? " (" : "", why, why[0] ? ")" : "");
        a->handshake_warned = 0;
        /* A restarted collector learns this source at once; but not once stopping: a hello
         * queued behind the goodbye would bring the source back up at the collector. */
        if (!a->stopping)
            pk_relay_send_control(a, PK_KIND_HELLO);
    } else if (ev == PK_PEER_REFUSED) {
        /* The transport retries by itself; one line per run of failures, not one per retry. */
        if (!a->handshake_warned++)
            pk_warn_with(
                &(struct pk_log_fields){.event = "collector_refused"},
                "collector %s refused this agent's handshake (%s)%s%s; retrying",
                a->cfg->relay_endpoint, peer, why[0] ? ": " : "", why);
    } else {
        pk_warn_with(
            &(struct pk_log_fields){.event = "collector_lost", .peer = peer},
            "lost collector %s; queueing up to RELAY_QUEUE=%llu messages while reconnecting",
            peer[0] ? peer : a->cfg->relay_endpoint, (unsigned long long)a->cfg->relay_queue);
    }
}

void
pk_relay_on_heartbeat(uv_timer_t *h)
{
    struct agent *a = container_of(h, struct agent, heartbeat);

    /* Refused control messages are not lost data: the next heartbeat carries fresh totals. */
    pk_relay_send_control(a, PK_KIND_HELLO);
    pk_relay_send_control(a, PK_KIND_STATS);
}

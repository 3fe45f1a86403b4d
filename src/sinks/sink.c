/* Sinks; see sink.h. */
#define PK_LOG_MODULE "sinks"
#include "sink_int.h"
#include "log.h"
#include "loop.h"
#include "pcktr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const pk_sink_drop_names[PK_SINK_DROPS] = {"queue_full", "linktype"};

static struct pk_sink *
sink_alloc(const struct pk_sink_opts *opts, char *errbuf)
{
    struct pk_sink *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return pk_seterr(errbuf, -ENOMEM, "out of memory"), NULL;
    s->limit = opts->limit;
    s->connected_since_ns = pk_now_ns();
    snprintf(s->kind, sizeof(s->kind), "%s", opts->kind ? opts->kind : "");
    snprintf(s->peer, sizeof(s->peer), "%s", opts->peer ? opts->peer : "");
    snprintf(s->endpoint, sizeof(s->endpoint), "%s", opts->endpoint ? opts->endpoint : "");
    return s;
}

int
pk_sink_new_pull(struct pk_sink **out, const struct pk_sink_opts *opts,
                 const struct pk_sink_consumer *consumer, char *errbuf)
{
    struct pk_sink *s;
    int rc;

    *out = NULL;
    if ((s = sink_alloc(opts, errbuf)) == NULL)
        return -ENOMEM;
    if ((rc = pk_filter_new(&s->filter, opts->filter, errbuf)) != 0) {
        free(s);
        return rc;
    }
    s->consumer = *consumer;
    pk_writer_init(&s->w, opts->format, NULL, NULL); /* its format; its group writes */
    *out = s;
    return 0;
}

int
pk_sink_new_primary(struct pk_sink **out, uv_loop_t *loop, int fd,
                    const struct pk_sink_opts *opts, const struct pk_output_callbacks *cbs,
                    char *errbuf)
{
    struct pk_sink *s;

    *out = NULL;
    if ((s = sink_alloc(opts, errbuf)) == NULL)
        return -ENOMEM;
    if ((s->out = pk_output_new(loop, fd, opts->limit, cbs, errbuf)) == NULL) {
        free(s);
        return -ENOMEM;
    }
    pk_writer_init(&s->w, opts->format, s->out, NULL);
    *out = s;
    return 0;
}

void
pk_sink_free(struct pk_sink *s)
{
    if (s == NULL)
        return;
    if (s->out != NULL)
        pk_output_close(s->out);
    pk_chunkq_clear(&s->q); /* an in-flight write's chunk lives on in its others' references */
    if (s->group == NULL)
        pk_filter_free(s->filter);
    free(s);
}

/* n packets dropped; the first drop of an episode is logged, the end in pk_sink_consume. */
static void
drop(struct pk_sink *s, enum pk_sink_drop why, uint64_t n)
{
    s->dropped[why] += n;
    if (why != PK_SINK_DROP_QUEUE_FULL || n == 0)
        return;
    s->episode_drops += n;
    if (s->slow)
        return;
    s->slow = 1;
    s->slow_episodes++;
    s->episode_drops = n;
    pk_warn_with(&(struct pk_log_fields){.event = "reader_slow", .peer = s->peer},
                 "reader %s (%s) is too slow: its queue of %zu bytes is full, dropping whole "
                 "packets for it (counted as queue_full) until it catches up", s->peer,
                 s->endpoint, s->limit);
}

void
pk_sink_take(struct pk_sink *s, struct pk_chunk *c, uint64_t filtered, uint64_t linktype)
{
    s->filtered += filtered;
    drop(s, PK_SINK_DROP_LINKTYPE, linktype);
    if (c == NULL || c->len == 0)
        return;
    if (!c->must && s->q.charge + c->len + PK_CHUNK_OVERHEAD > s->limit) {
        drop(s, PK_SINK_DROP_QUEUE_FULL, c->packets);
        return;
    }
    pk_chunkq_push(&s->q, c);
    s->packets += c->packets;
    s->bytes += c->bytes;
}

/* A reader's queue drained to half its limit: a slow episode ends. */
static void
caught_up(struct pk_sink *s)
{
    if (!s->slow || s->q.charge > s->limit / 2)
        return;
    s->slow = 0;
    pk_info_with(&(struct pk_log_fields){.event = "reader_caught_up", .peer = s->peer},
                 "reader %s (%s) caught up: %llu packets dropped while it was too slow", s->peer,
                 s->endpoint, (unsigned long long)s->episode_drops);
}

int
pk_sink_peek(const struct pk_sink *s, struct iovec *iov, int max)
{
    return s->out != NULL ? pk_output_peek(s->out, iov, max) : pk_chunkq_peek(&s->q, iov, max);
}

void
pk_sink_consume(struct pk_sink *s, size_t n)
{
    if (s->out != NULL) {
        pk_output_consume(s->out, n);
        return;
    }
    pk_chunkq_consume(&s->q, n);
    caught_up(s);
}

size_t
pk_sink_queued(const struct pk_sink *s)
{
    return s->out != NULL ? pk_output_queued(s->out) : s->q.queued;
}

int
pk_sink_full(const struct pk_sink *s)
{
    return s->out != NULL ? pk_output_full(s->out) : s->q.charge >= s->limit;
}

struct pk_output *
pk_sink_output(struct pk_sink *s)
{
    return s->out;
}

struct pk_output *
pk_sink_swap_output(struct pk_sink *s, struct pk_output *out)
{
    struct pk_output *old = s->out;

    s->out = s->w.out = out;
    if (s->w.started)
        pk_writer_start_section(&s->w, s->w.stream_linktype);
    return old;
}

enum pk_output_format
pk_sink_format(const struct pk_sink *s)
{
    return s->w.format;
}

void
pk_sink_stats(const struct pk_sink *s, struct pk_sink_stats *st)
{
    memset(st, 0, sizeof(*st));
    st->kind = s->kind;
    st->peer = s->peer;
    st->endpoint = s->endpoint;
    st->format = pk_format_reader_names[s->w.format];
    st->filter = pk_filter_expr(s->filter);
    st->connected_since_ns = s->connected_since_ns;
    st->packets = s->packets;
    st->bytes = s->bytes;
    st->filtered = s->filtered;
    memcpy(st->dropped, s->dropped, sizeof(st->dropped));
    st->queue_bytes = pk_sink_queued(s);
    st->queue_limit = s->limit;
    st->sent_bytes = s->out != NULL ? pk_output_written(s->out) : s->q.taken;
    st->slow = s->slow;
    st->slow_episodes = s->slow_episodes;
}

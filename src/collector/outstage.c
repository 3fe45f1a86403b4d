/*
 * The output stage (outstage.h): merge, write, flush, interface statistics. Per source it
 * counts what was written and what its link type kept out; in total, what left. Loop thread.
 */
#define PK_LOG_MODULE "collector"
#include "outstage.h"
#include "collector_int.h"
#include "log.h"
#include "loop.h"
#include "pcktr.h"
#include "report.h"

#include <errno.h>

#define ISB_INTERVAL_MS 5000 /* pcapng: interface statistics blocks this often, and at exit */
#define MERGE_TICK_MS 10     /* MERGE_WINDOW: how often held packets are checked for release */

void
pk_outstage_init(struct pk_outstage *o, uint64_t merge_window_ms, size_t limit_bytes,
                 void (*on_queued)(void *data), void *data)
{
    o->merging = merge_window_ms > 0;
    pk_merge_init(&o->merge, merge_window_ms, limit_bytes);
    o->on_queued = on_queued;
    o->data = data;
}

int
pk_outstage_open(struct pk_outstage *o, uv_loop_t *loop, int fd, size_t limit,
                 enum pk_output_format format, const struct pk_output_callbacks *cb,
                 char *errbuf)
{
    struct pk_sink_opts opts = {.format = format, .limit = limit, .kind = "output"};

    return pk_sink_new_primary(&o->primary, loop, fd, &opts, cb, errbuf);
}

static void
write_record(struct pk_outstage *o, struct pk_source *s, uint32_t linktype,
             const struct pk_record *rec)
{
    int first = !o->sinks.started;

    if (o->merging) {
        if (rec->ts_ns < o->last_ts_ns) {
            s->late++;
            o->late++;
        } else {
            o->last_ts_ns = rec->ts_ns;
        }
    }
    int rc = pk_sinkset_record(&o->sinks, s, linktype, rec);

    if (rc > 0) {
        if (first && o->format != PK_FORMAT_PCAPNG)
            pk_info("output stream link type %u (from source \"%s\")", linktype, s->name);
        s->written++;
        o->packets++;
        o->bytes += rec->caplen;
        if (o->on_written != NULL) /* a record boundary: OUTPUT_ROTATE may complete the file */
            o->on_written(o->written_data);
        return;
    }
    s->linktype_drops++;
    o->linktype_drops++;
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
                     s->name, linktype, o->sinks.stream_linktype);
        s->warned_linktype = 1;
    }
}

/* Writes what the merge buffer releases now (all: everything, at exit). */
static void
release_merged(struct pk_outstage *o, int all)
{
    struct pk_merge_entry *e;
    uint64_t now = pk_now_ns();

    while ((e = pk_merge_next(&o->merge, now, all)) != NULL) {
        struct pk_record rec = {e->ts_ns, e->caplen, e->origlen, e->data};
        write_record(o, e->source, e->linktype, &rec);
        pk_merge_release(&o->merge, e);
    }
    o->on_queued(o->data);
}

static void
on_merge_timer(uv_timer_t *h)
{
    release_merged(container_of(h, struct pk_outstage, merge_timer), 0);
}

void
pk_outstage_packets(struct pk_outstage *o, struct pk_source *s, const struct pk_packets *p,
                    uint64_t now_ns)
{
    struct pk_output *out = o->primary != NULL ? pk_sink_output(o->primary) : NULL;
    struct pk_record rec;
    size_t off = 0;

    /*
     * Not merging, every record is written from p, which stays as it is until we return: the
     * output may write the packets from there, one copy fewer (output.h, lending).
     */
    if (!o->merging && out != NULL)
        pk_output_lend_begin(out);
    while (pk_packets_next(p, &off, &rec))
        if (!o->merging || pk_merge_add(&o->merge, s, p->linktype, &rec, now_ns) != 0)
            write_record(o, s, p->linktype, &rec); /* in order, or when holding it failed */
    if (o->merging)
        release_merged(o, 0);
    else if (o->primary != NULL) /* the output a rotation put in place does not lend */
        pk_output_lend_end(pk_sink_output(o->primary));
}

/* pcapng: interface statistics blocks now and then, so a reader sees drops as they happen. */
static void
on_isb_timer(uv_timer_t *h)
{
    struct pk_outstage *o = container_of(h, struct pk_outstage, isb_timer);

    pk_sinkset_stats(&o->sinks, o->sources, pk_now_ns());
}

/*
 * Output is written once per loop turn, from a prepare handle: it runs after the idle phase
 * (where a resumed transport delivers) and right before the loop may block in poll. A check
 * handle would run after poll, too late for idle-phase messages (the collector hung so).
 */
static void
on_flush_prepare(uv_prepare_t *h)
{
    struct pk_outstage *o = container_of(h, struct pk_outstage, flush_prepare);

    pk_sinkset_flush(&o->sinks);
}

void
pk_outstage_start(struct pk_outstage *o, uv_loop_t *loop, enum pk_output_format format,
                  const struct pk_sources *sources, const char *hardware, const char *os,
                  const char *application)
{
    o->sources = sources;
    o->format = format;
    pk_sinkset_init(&o->sinks, hardware, os, application);
    pk_sinkset_set_primary(&o->sinks, o->primary);
    uv_prepare_init(loop, &o->flush_prepare);
    uv_prepare_start(&o->flush_prepare, on_flush_prepare);
    uv_unref((uv_handle_t *)&o->flush_prepare);
    uv_timer_init(loop, &o->isb_timer);
    uv_timer_start(&o->isb_timer, on_isb_timer, ISB_INTERVAL_MS, ISB_INTERVAL_MS);
    uv_timer_init(loop, &o->merge_timer);
    if (o->merging) /* release held packets as their time comes, even when nothing arrives */
        uv_timer_start(&o->merge_timer, on_merge_timer, MERGE_TICK_MS, MERGE_TICK_MS);
    o->started = 1;
}

void
pk_outstage_stop(struct pk_outstage *o, int final)
{
    uv_timer_stop(&o->isb_timer);
    uv_timer_stop(&o->merge_timer);
    if (o->merging && final)
        release_merged(o, 1); /* nothing held is lost at exit */
    if (final)
        pk_sinkset_stats(&o->sinks, o->sources, pk_now_ns()); /* final counts, pcapng only */
    pk_sinkset_seal(&o->sinks); /* readers that end with what they have get the last ones */
}

struct pk_sinkset *
pk_outstage_sinks(struct pk_outstage *o)
{
    return &o->sinks;
}

size_t
pk_outstage_queued(const struct pk_outstage *o)
{
    return o->primary != NULL ? pk_sink_queued(o->primary) : 0;
}

int
pk_outstage_full(const struct pk_outstage *o)
{
    return o->primary != NULL && pk_sink_full(o->primary);
}

void
pk_outstage_flush(struct pk_outstage *o)
{
    if (o->primary != NULL)
        pk_output_flush(pk_sink_output(o->primary));
}

void
pk_outstage_report(const struct pk_outstage *o, struct pk_collect_report *r)
{
    r->output_format = o->primary != NULL ? pk_output_format_names[o->format] : "none";
    r->stream_started = o->sinks.started && o->format == PK_FORMAT_PCAP;
    r->stream_linktype = o->sinks.stream_linktype;
    r->out_packets = o->packets;
    r->out_bytes = o->bytes;
    r->out_linktype_drops = o->linktype_drops;
    r->merge_held = o->merge.n;
    r->merge_forced = o->merge.forced;
    r->out_late = o->late;
}

void
pk_outstage_close(struct pk_outstage *o)
{
    if (o->started) {
        uv_close((uv_handle_t *)&o->flush_prepare, NULL);
        uv_close((uv_handle_t *)&o->isb_timer, NULL);
        uv_close((uv_handle_t *)&o->merge_timer, NULL);
    }
    if (o->started)
        pk_sinkset_close(&o->sinks); /* the primary */
    else
        pk_sink_free(o->primary);
    o->primary = NULL;
}

void
pk_outstage_free(struct pk_outstage *o)
{
    pk_merge_free(&o->merge);
    if (o->started)
        pk_sinkset_free(&o->sinks);
}

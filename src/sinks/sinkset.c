/* The output stage's fan-out; see sinkset.h. */
#include "sinkset.h"
#include "sink_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void
pk_sinkset_init(struct pk_sinkset *set, const char *hardware, const char *os,
                const char *application)
{
    memset(set, 0, sizeof(*set));
    pk_ifreg_init(&set->reg, hardware, os, application);
}

void
pk_sinkset_set_primary(struct pk_sinkset *set, struct pk_sink *primary)
{
    set->primary = primary;
    if (primary != NULL)
        primary->w.reg = &set->reg;
}

int
pk_sinkset_add(struct pk_sinkset *set, struct pk_sink *s)
{
    if (set->n == PK_SINKSET_MAX)
        return -ENOSPC;
    if (set->v == NULL && (set->v = calloc(PK_SINKSET_MAX, sizeof(*set->v))) == NULL)
        return -ENOMEM;
    s->w.reg = &set->reg;
    s->slot = set->n;
    set->v[set->n++] = s;
    set->added++;
    if (set->started)
        pk_writer_start_section(&s->w, set->stream_linktype);
    return 0;
}

/* Closes the holes that removals during a pass left, keeping the order. */
static void
compact(struct pk_sinkset *set)
{
    size_t j = 0;

    for (size_t i = 0; i < set->n; i++) {
        if (set->v[i] == NULL)
            continue;
        set->v[i]->slot = j;
        set->v[j++] = set->v[i];
    }
    set->n = j;
    set->holes = 0;
}

void
pk_sinkset_remove(struct pk_sinkset *set, struct pk_sink *s)
{
    set->v[s->slot] = NULL;
    set->removed++;
    pk_sink_free(s);
    if (set->passes > 0)
        set->holes = 1;
    else
        compact(set);
}

static void
end_pass(struct pk_sinkset *set)
{
    if (--set->passes == 0 && set->holes)
        compact(set);
}

/* Every sink's stream begins (the first packet); a reader added later begins at once. */
static void
start(struct pk_sinkset *set, uint32_t linktype)
{
    set->started = 1;
    set->stream_linktype = linktype;
    if (set->primary != NULL)
        pk_writer_start_section(&set->primary->w, linktype);
    for (size_t i = 0; i < set->n; i++)
        pk_writer_start_section(&set->v[i]->w, linktype);
}

/* A new interface (or, the registry full, a new section) in every pcapng stream. */
static void
describe(struct pk_sink *s, int verdict, uint32_t linktype, uint32_t id)
{
    if (s == NULL || s->w.format != PK_FORMAT_PCAPNG)
        return;
    if (verdict == PK_IFREG_NEW_SECTION)
        pk_writer_start_section(&s->w, linktype);
    else
        pk_writer_interface(&s->w, id);
}

int
pk_sinkset_record(struct pk_sinkset *set, struct pk_source *src, uint32_t linktype,
                  const struct pk_record *rec)
{
    uint32_t id = 0;
    int verdict, rc = 1;

    if (!set->started)
        start(set, linktype);
    verdict = pk_ifreg_of(&set->reg, src, linktype, &id);
    if (verdict == PK_IFREG_NEW || verdict == PK_IFREG_NEW_SECTION) {
        describe(set->primary, verdict, linktype, id);
        for (size_t i = 0; i < set->n; i++)
            describe(set->v[i], verdict, linktype, id);
    }
    if (set->primary != NULL) {
        struct pk_sink *p = set->primary;
        if (p->w.format == PK_FORMAT_PCAPNG)
            rc = verdict >= 0 ? pk_writer_record(&p->w, linktype, id, rec) : verdict;
        else
            rc = pk_writer_record(&p->w, linktype, id, rec);
        if (rc > 0) {
            p->packets++;
            p->bytes += rec->caplen;
        }
    } else if (verdict < 0) {
        rc = verdict;
    }
    for (size_t i = 0; i < set->n; i++)
        pk_sink_deliver(set->v[i], linktype, verdict >= 0, id, rec);
    return rc;
}

void
pk_sinkset_flush(struct pk_sinkset *set)
{
    if (set->primary != NULL && pk_output_queued(set->primary->out) > 0)
        pk_output_flush(set->primary->out); /* may close the stage (a failed write) */
    set->passes++;
    for (size_t i = 0; i < set->n; i++) {
        struct pk_sink *s = set->v[i];
        if (s != NULL && pk_output_queued(s->out) > 0)
            s->consumer.on_data(s, s->consumer.data);
    }
    end_pass(set);
}

void
pk_sinkset_stats(struct pk_sinkset *set, const struct pk_sources *t, uint64_t now_ns)
{
    if (set->primary != NULL)
        pk_writer_stats(&set->primary->w, t, now_ns);
}

size_t
pk_sinkset_count(const struct pk_sinkset *set)
{
    return set->n;
}

const struct pk_sink *
pk_sinkset_at(const struct pk_sinkset *set, size_t i)
{
    return set->v[i];
}

void
pk_sinkset_close(struct pk_sinkset *set)
{
    pk_sink_free(set->primary);
    set->primary = NULL;
}

void
pk_sinkset_free(struct pk_sinkset *set)
{
    for (size_t i = 0; i < set->n; i++)
        pk_sink_free(set->v[i]);
    free(set->v);
    set->v = NULL;
    set->n = 0;
    pk_ifreg_free(&set->reg);
}

/* The output stage's fan-out; see sinkset.h. */
#include "sinkset.h"
#include "group.h"
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
    struct pk_group *g;
    int rc;

    if (set->n == PK_SINKSET_MAX)
        return -ENOSPC;
    if (set->v == NULL && (set->v = calloc(PK_SINKSET_MAX, sizeof(*set->v))) == NULL)
        return -ENOMEM;
    g = pk_group_find(set->groups, s->w.format, pk_filter_expr(s->filter));
    if (g != NULL) {
        pk_filter_free(s->filter); /* the group's is the same */
        s->filter = NULL;
    } else {
        if ((rc = pk_group_new(&g, s, &set->reg)) != 0)
            return rc;
        g->next = set->groups;
        set->groups = g;
    }
    s->slot = set->n;
    set->v[set->n++] = s;
    set->added++;
    pk_group_join(g, s, set->started, set->stream_linktype);
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
    struct pk_group *g = s->group;

    set->v[s->slot] = NULL;
    set->removed++;
    if (pk_group_leave(g, s) == 0) { /* its last member: the group goes */
        struct pk_group **p = &set->groups;
        while (*p != g)
            p = &(*p)->next;
        *p = g->next;
        pk_group_free(g);
    }
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
    for (struct pk_group *g = set->groups; g != NULL; g = g->next)
        pk_group_start(g, linktype);
}

/* A new interface (or, the registry full, a new section) in the primary's pcapng stream. */
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
        for (struct pk_group *g = set->groups; g != NULL; g = g->next)
            pk_group_describe(g, verdict, linktype, id);
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
    for (struct pk_group *g = set->groups; g != NULL; g = g->next)
        pk_group_record(g, linktype, verdict >= 0, id, rec);
    return rc;
}

void
pk_sinkset_seal(struct pk_sinkset *set)
{
    for (struct pk_group *g = set->groups; g != NULL; g = g->next)
        pk_group_seal(g);
}

void
pk_sinkset_flush(struct pk_sinkset *set)
{
    if (set->primary != NULL && pk_output_queued(set->primary->out) > 0)
        pk_output_flush(set->primary->out); /* may close the stage (a failed write) */
    pk_sinkset_seal(set);
    set->passes++;
    for (size_t i = 0; i < set->n; i++) {
        struct pk_sink *s = set->v[i];
        if (s != NULL && s->q.queued > 0)
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
    while (set->n > 0) /* the last first: nothing to compact */
        pk_sinkset_remove(set, set->v[set->n - 1]);
    free(set->v);
    set->v = NULL;
    set->n = 0;
    pk_ifreg_free(&set->reg);
}

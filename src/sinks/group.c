/* Reader groups; see group.h. */
#include "group.h"
#include "sink_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SECTION_HEAD 1024u /* a section header block at most (writer.c's buffer) */

struct pk_group *
pk_group_find(struct pk_group *list, enum pk_output_format format, const char *expr)
{
    for (struct pk_group *g = list; g != NULL; g = g->next)
        if (g->w.format == format && strcmp(pk_filter_expr(g->filter), expr) == 0)
            return g;
    return NULL;
}

int
pk_group_new(struct pk_group **out, struct pk_sink *s, const struct pk_ifreg *reg)
{
    struct pk_group *g = calloc(1, sizeof(*g));

    if ((*out = g) == NULL)
        return -ENOMEM;
    pk_writer_init(&g->w, s->w.format, NULL, reg);
    g->filter = s->filter;
    g->cap = PK_CHUNK_BYTES;
    return 0;
}

/*
 * A chunk is dropped whole by a member that cannot hold it, so it must be small next to every
 * member's limit: a quarter of the smallest (SERVE_BUFFER is 64 KiB at least: 16 KiB chunks),
 * at most PK_CHUNK_BYTES.
 */
static void
set_cap(struct pk_group *g)
{
    g->cap = PK_CHUNK_BYTES;
    for (struct pk_sink *s = g->members; s != NULL; s = s->gnext)
        if (s->limit / 4 < g->cap)
            g->cap = s->limit / 4;
}

/* A chunk every member takes (whatever its room): the header, an interface block. */
static void
to_all(struct pk_group *g, struct pk_chunk *c)
{
    c->must = 1;
    pk_chunk_seal(c);
    for (struct pk_sink *s = g->members; s != NULL; s = s->gnext)
        pk_sink_take(s, c, 0, 0);
    pk_chunk_unref(c);
}

/* The stream's header (pcapng: a section with every interface so far), in a chunk of its own. */
static struct pk_chunk *
section(struct pk_group *g, uint32_t linktype)
{
    struct pk_chunk *c = pk_chunk_new(SECTION_HEAD + g->w.reg->bytes);

    g->w.chunk = c;
    pk_writer_start_section(&g->w, linktype);
    g->w.chunk = g->cur;
    c->must = 1;
    pk_chunk_seal(c);
    return c;
}

void
pk_group_join(struct pk_group *g, struct pk_sink *s, int started, uint32_t linktype)
{
    pk_group_seal(g); /* what came before is the others' */
    s->group = g;
    s->filter = g->filter;
    s->gprev = NULL;
    s->gnext = g->members;
    if (g->members != NULL)
        g->members->gprev = s;
    g->members = s;
    set_cap(g);
    if (started) {
        struct pk_chunk *c = section(g, linktype);
        pk_sink_take(s, c, 0, 0);
        pk_chunk_unref(c);
    }
}

size_t
pk_group_leave(struct pk_group *g, struct pk_sink *s)
{
    size_t n = 0;

    if (s->gprev != NULL)
        s->gprev->gnext = s->gnext;
    else
        g->members = s->gnext;
    if (s->gnext != NULL)
        s->gnext->gprev = s->gprev;
    s->group = NULL;
    s->filter = NULL; /* the group's */
    set_cap(g);
    for (struct pk_sink *m = g->members; m != NULL; m = m->gnext)
        n++;
    return n;
}

void
pk_group_start(struct pk_group *g, uint32_t linktype)
{
    to_all(g, section(g, linktype));
}

void
pk_group_describe(struct pk_group *g, int verdict, uint32_t linktype, uint32_t id)
{
    struct pk_chunk *c;

    if (g->w.format != PK_FORMAT_PCAPNG)
        return;
    pk_group_seal(g); /* the packets before it come before it */
    if (verdict == PK_IFREG_NEW_SECTION) {
        to_all(g, section(g, linktype));
        return;
    }
    c = pk_chunk_new(g->w.reg->v[id].len);
    g->w.chunk = c;
    pk_writer_interface(&g->w, id);
    g->w.chunk = NULL;
    to_all(g, c);
}

void
pk_group_record(struct pk_group *g, uint32_t linktype, int if_ok, uint32_t if_id,
                const struct pk_record *rec)
{
    size_t len;

    if (g->w.format == PK_FORMAT_PCAPNG ? !if_ok : linktype != g->w.stream_linktype) {
        g->linktype++;
        return;
    }
    if (!pk_filter_match(g->filter, linktype, rec)) {
        g->filtered++;
        return;
    }
    len = pk_writer_record_len(&g->w, rec->caplen);
    if (g->cur != NULL && g->cur->len + len > g->cap)
        pk_group_seal(g);
    if (g->cur == NULL)
        g->w.chunk = g->cur = pk_chunk_new(len > g->cap ? len : g->cap);
    pk_writer_record(&g->w, linktype, if_id, rec);
    g->cur->packets++;
    g->cur->bytes += rec->caplen;
}

void
pk_group_seal(struct pk_group *g)
{
    struct pk_chunk *c = g->cur;

    g->cur = g->w.chunk = NULL;
    if (c != NULL)
        pk_chunk_seal(c);
    if (c != NULL || g->filtered > 0 || g->linktype > 0)
        for (struct pk_sink *s = g->members; s != NULL; s = s->gnext)
            pk_sink_take(s, c, g->filtered, g->linktype);
    g->filtered = g->linktype = 0;
    pk_chunk_unref(c);
}

void
pk_group_free(struct pk_group *g)
{
    if (g == NULL)
        return;
    pk_chunk_unref(g->cur);
    pk_filter_free(g->filter);
    free(g);
}

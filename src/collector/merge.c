/* Timestamp-ordered hold buffer; see merge.h. A binary heap on an array. */
#include "merge.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void
pk_merge_init(struct pk_merge *m, uint64_t window_ms, size_t limit_bytes)
{
    memset(m, 0, sizeof(*m));
    m->window_ns = window_ms * 1000000u;
    m->limit = limit_bytes;
}

static int
before(const struct pk_merge_entry *a, const struct pk_merge_entry *b)
{
    return a->ts_ns < b->ts_ns || (a->ts_ns == b->ts_ns && a->order < b->order);
}

static void
swap(struct pk_merge *m, size_t i, size_t j)
{
    struct pk_merge_entry *t = m->heap[i];

    m->heap[i] = m->heap[j];
    m->heap[j] = t;
}

int
pk_merge_add(struct pk_merge *m, struct pk_source *s, uint32_t linktype,
             const struct pk_record *rec, uint64_t now_ns)
{
    struct pk_merge_entry *e;
    size_t i;

    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 1024;
        struct pk_merge_entry **h = realloc(m->heap, cap * sizeof(*h));
        if (h == NULL)
            return -ENOMEM;
        m->heap = h;
        m->cap = cap;
    }
    if ((e = malloc(sizeof(*e) + rec->caplen)) == NULL)
        return -ENOMEM;
    e->ts_ns = rec->ts_ns;
    e->arrival_ns = now_ns;
    e->order = m->next_order++;
    e->source = s;
    e->linktype = linktype;
    e->caplen = rec->caplen;
    e->origlen = rec->origlen;
    memcpy(e->data, rec->data, rec->caplen);
    s->held++;
    m->bytes += sizeof(*e) + rec->caplen;
    for (i = m->n++, m->heap[i] = e; i > 0 && before(m->heap[i], m->heap[(i - 1) / 2]);
         i = (i - 1) / 2)
        swap(m, i, (i - 1) / 2);
    return 0;
}

struct pk_merge_entry *
pk_merge_next(struct pk_merge *m, uint64_t now_ns, int all)
{
    struct pk_merge_entry *top;
    size_t i = 0;

    if (m->n == 0)
        return NULL;
    top = m->heap[0];
    if (!all && top->arrival_ns + m->window_ns > now_ns) {
        if (m->bytes <= m->limit)
            return NULL;
        m->forced++; /* over the limit: the earliest leaves before its time */
    }
    m->heap[0] = m->heap[--m->n];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, min = i;
        if (l < m->n && before(m->heap[l], m->heap[min]))
            min = l;
        if (r < m->n && before(m->heap[r], m->heap[min]))
            min = r;
        if (min == i)
            break;
        swap(m, i, min);
        i = min;
    }
    m->bytes -= sizeof(*top) + top->caplen;
    return top;
}

void
pk_merge_release(struct pk_merge *m, struct pk_merge_entry *e)
{
    (void)m;
    e->source->held--;
    free(e);
}

void
pk_merge_free(struct pk_merge *m)
{
    while (m->n > 0)
        pk_merge_release(m, m->heap[--m->n]);
    free(m->heap);
    m->heap = NULL;
}

/* Shared stream bytes; see chunk.h. */
#include "chunk.h"

#include <stdlib.h>
#include <string.h>

struct pk_chunk *
pk_chunk_new(size_t cap)
{
    struct pk_chunk *c = calloc(1, sizeof(*c));

    if (c == NULL || (c->data = malloc(cap > 0 ? cap : 1)) == NULL)
        abort(); /* bounded by a queue's limit: the host is out of memory */
    c->refs = 1;
    c->cap = cap;
    return c;
}

void
pk_chunk_append(struct pk_chunk *c, const void *buf, size_t len)
{
    if (c->len + len > c->cap) { /* a block larger than the room planned: rare */
        size_t cap = c->cap * 2 > c->len + len ? c->cap * 2 : c->len + len;
        uint8_t *d = realloc(c->data, cap);
        if (d == NULL)
            abort();
        c->data = d;
        c->cap = cap;
    }
    memcpy(c->data + c->len, buf, len);
    c->len += len;
}

void
pk_chunk_seal(struct pk_chunk *c)
{
    uint8_t *d;

    /* Shrinking keeps the bytes in place with glibc's heap (the chunks are below its mmap
     * threshold, main.c); either way nothing refers to them yet. */
    if (c->len == 0 || c->len == c->cap || (d = realloc(c->data, c->len)) == NULL)
        return;
    c->data = d;
    c->cap = c->len;
}

void
pk_chunk_ref(struct pk_chunk *c)
{
    c->refs++;
}

void
pk_chunk_unref(struct pk_chunk *c)
{
    if (c == NULL || --c->refs > 0)
        return;
    free(c->data);
    free(c);
}

void
pk_chunkq_push(struct pk_chunkq *q, struct pk_chunk *c)
{
    if (q->n == q->cap) { /* grow the ring, unrolled to start at 0 */
        size_t cap = q->cap ? q->cap * 2 : 16;
        struct pk_chunk **v = malloc(cap * sizeof(*v));
        if (v == NULL)
            abort();
        for (size_t i = 0; i < q->n; i++)
            v[i] = q->v[(q->head + i) % q->cap];
        free(q->v);
        q->v = v;
        q->cap = cap;
        q->head = 0;
    }
    pk_chunk_ref(c);
    q->v[(q->head + q->n++) % q->cap] = c;
    q->queued += c->len;
    q->charge += c->len + PK_CHUNK_OVERHEAD;
}

int
pk_chunkq_peek(const struct pk_chunkq *q, struct iovec *iov, int max)
{
    int k = 0;

    for (size_t i = 0; i < q->n && k < max; i++) {
        const struct pk_chunk *c = q->v[(q->head + i) % q->cap];
        size_t off = i == 0 ? q->off : 0;
        iov[k].iov_base = c->data + off;
        iov[k++].iov_len = c->len - off;
    }
    return k;
}

/* The head reference is all taken: dropped. */
static void
pop(struct pk_chunkq *q)
{
    struct pk_chunk *c = q->v[q->head];

    q->charge -= PK_CHUNK_OVERHEAD + (c->len - q->off);
    q->queued -= c->len - q->off;
    q->head = (q->head + 1) % q->cap;
    q->n--;
    q->off = 0;
    pk_chunk_unref(c);
}

void
pk_chunkq_consume(struct pk_chunkq *q, size_t n)
{
    n = n < q->queued ? n : q->queued;
    q->taken += n;
    while (n > 0 || (q->n > 0 && q->off == q->v[q->head]->len)) {
        size_t left = q->v[q->head]->len - q->off;
        if (n < left) {
            q->off += n;
            q->queued -= n;
            q->charge -= n;
            return;
        }
        n -= left;
        pop(q);
    }
}

void
pk_chunkq_clear(struct pk_chunkq *q)
{
    while (q->n > 0)
        pop(q);
    free(q->v);
    q->v = NULL;
    q->cap = q->head = 0;
}

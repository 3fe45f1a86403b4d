/* Tombstones of evicted sources; see sources_graves.h. Lookups scan an array of ids: a flood of
 * new ids reads 8 KiB per message, as much as the table's own keys. */
#include "sources_graves.h"

#include <stdlib.h>
#include <string.h>

static int
ensure(struct pk_sources *t)
{
    if (t->graves != NULL)
        return 0;
    t->graves = calloc(PK_SOURCE_TOMBSTONES, sizeof(*t->graves));
    t->grave_ids = calloc(PK_SOURCE_TOMBSTONES, sizeof(*t->grave_ids));
    t->grave_used = calloc(PK_SOURCE_TOMBSTONES, sizeof(*t->grave_used));
    if (t->graves == NULL || t->grave_ids == NULL || t->grave_used == NULL) {
        pk_graves_free(t);
        return -1;
    }
    return 0;
}

void
pk_graves_bury(struct pk_sources *t, const struct pk_source *s)
{
    size_t i = t->grave_next;

    if (ensure(t) != 0) {
        t->forgotten_for_good++; /* out of memory: its books are lost, and that is counted */
        return;
    }
    if (t->grave_used[i])
        t->forgotten_for_good++; /* the oldest tombstone: that source will start new books */
    else
        t->ngraves++;
    t->graves[i] = *s;
    t->graves[i].filter = NULL; /* a hello brings it back; it may be 8 KiB */
    t->grave_ids[i] = s->id;
    t->grave_used[i] = 1;
    t->grave_next = (i + 1) % PK_SOURCE_TOMBSTONES;
}

long
pk_graves_find(const struct pk_sources *t, uint64_t id)
{
    if (t->ngraves == 0)
        return -1;
    for (size_t i = 0; i < PK_SOURCE_TOMBSTONES; i++)
        if (t->grave_ids[i] == id && t->grave_used[i])
            return (long)i;
    return -1;
}

void
pk_graves_raise(struct pk_sources *t, long slot, struct pk_source *s)
{
    char *filter = s->filter;

    *s = t->graves[slot];
    s->filter = filter;
    t->grave_used[slot] = 0;
    t->ngraves--;
    t->restored++;
}

void
pk_graves_free(struct pk_sources *t)
{
    free(t->graves);
    free(t->grave_ids);
    free(t->grave_used);
    t->graves = NULL;
    t->grave_ids = NULL;
    t->grave_used = NULL;
    t->ngraves = 0;
}

/*
 * MERGE_WINDOW: a hold buffer that releases packets in timestamp order across sources. Each
 * packet is held until the earliest held packet has waited the window since it arrived, so
 * sources whose packets arrive up to the window apart come out merged, as mergecap merges
 * files. Memory is bounded: past the limit the earliest packets leave early. Pure (the caller
 * supplies the clock); one malloc per held packet. Single-threaded.
 */
#ifndef PK_MERGE_H
#define PK_MERGE_H

#include "frame.h"
#include "sources.h"

#include <stddef.h>
#include <stdint.h>

struct pk_merge_entry {
    uint64_t ts_ns, arrival_ns, order;
    struct pk_source *source; /* kept alive: source->held counts its entries */
    uint32_t linktype, caplen, origlen;
    uint8_t data[];
};

struct pk_merge {
    struct pk_merge_entry **heap; /* min-heap by (ts_ns, order) */
    size_t n, cap, bytes, limit;
    uint64_t window_ns, next_order;
    uint64_t forced; /* released before their time because the buffer was full */
};

void pk_merge_init(struct pk_merge *m, uint64_t window_ms, size_t limit_bytes);
/** Copies a record in. 0, or -ENOMEM (the caller writes it at once instead). */
int pk_merge_add(struct pk_merge *m, struct pk_source *s, uint32_t linktype,
                 const struct pk_record *rec, uint64_t now_ns);
/**
 * The next entry to write now (all = 1: regardless of time, to drain at exit), or NULL. The
 * caller writes it, then frees it with pk_merge_release.
 */
struct pk_merge_entry *pk_merge_next(struct pk_merge *m, uint64_t now_ns, int all);
void pk_merge_release(struct pk_merge *m, struct pk_merge_entry *e);
void pk_merge_free(struct pk_merge *m);

#endif

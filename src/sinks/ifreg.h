/*
 * The pcapng interface numbering that every sink shares. A pcapng stream names each packet's
 * interface by its index among the interface blocks written so far in its section; with many
 * writers starting at different times (a reader that joins, a rotated file) one numbering is
 * kept here, and a writer that starts mid-stream writes a section header and then the block of
 * every interface registered so far, in id order (pk_writer_start_section). The blocks are kept
 * here, not in the sources, so that they survive a source's eviction.
 *
 * Bounded: at most PK_IFREG_MAX interfaces and PK_IFREG_BYTES of blocks. When a new interface
 * would pass either, the registry is emptied and a new numbering begins (epoch + 1): the owner
 * starts a new section in every pcapng writer (a section header resets a reader's interface
 * list), so ids start at 0 again and each source describes its interfaces afresh.
 * Pure (no I/O); loop thread only.
 */
#ifndef PK_IFREG_H
#define PK_IFREG_H

#include "sources.h"

#include <stddef.h>
#include <stdint.h>

#define PK_IFREG_MAX 65536u        /* interfaces in one numbering */
#define PK_IFREG_BYTES (32u << 20) /* bytes of interface blocks kept (about 2 KiB at most each) */

struct pk_ifreg_entry {
    uint8_t *idb; /* the whole interface description block */
    uint32_t len, linktype;
};

struct pk_ifreg {
    struct pk_ifreg_entry *v; /* v[id] */
    size_t n, cap, bytes;
    uint32_t epoch;           /* numberings begun because the registry was full */
    char hardware[128], os[128], application[64]; /* for section headers */
};

/** An empty registry; hardware/os/application go into every section header. */
void pk_ifreg_init(struct pk_ifreg *r, const char *hardware, const char *os,
                   const char *application);

/** Releases the blocks. */
void pk_ifreg_free(struct pk_ifreg *r);

enum pk_ifreg_verdict {
    PK_IFREG_KNOWN,       /* the source described this interface before: *id is its id */
    PK_IFREG_NEW,         /* registered now: write r->v[*id] to every started pcapng writer */
    PK_IFREG_NEW_SECTION, /* the registry was full and was emptied: start a new section in
                             every started pcapng writer (which writes every block, this one) */
};

/**
 * The interface of source s for linktype, registered on its first use. Returns a verdict, or
 * -ENOSPC when s already has PK_SOURCE_INTERFACES link types, -EINVAL for a link type a block
 * cannot hold (over 65535), -ENOMEM. A packet without an interface is not written as pcapng.
 */
int pk_ifreg_of(struct pk_ifreg *r, struct pk_source *s, uint32_t linktype, uint32_t *id);

/** s's first interface in the current numbering (for statistics blocks): 0, or -ENOENT. */
int pk_ifreg_first(const struct pk_ifreg *r, const struct pk_source *s, uint32_t *id);

#endif

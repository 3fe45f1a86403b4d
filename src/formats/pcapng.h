/*
 * pcapng block encoders for the collector's OUTPUT_FORMAT=pcapng (host byte order, which the
 * section header's byte-order magic declares). Pure; each function writes one whole block into
 * buf and returns its length, or 0 when cap is too small.
 */
#ifndef PK_PCAPNG_H
#define PK_PCAPNG_H

#include "pcapfmt.h"

#include <stddef.h>
#include <stdint.h>

size_t pk_pcapng_shb(uint8_t *buf, size_t cap, const char *hardware, const char *os,
                     const char *application);

/** An interface with nanosecond timestamps (if_tsresol 9). Strings may be NULL or "".
 *  0 also for a link type over 65535, which the block cannot hold. */
size_t pk_pcapng_idb(uint8_t *buf, size_t cap, uint32_t linktype, uint32_t snaplen,
                     const char *name, const char *description, const char *filter);

/** The 28-byte head of an enhanced packet block; the caller appends data, pad, trailer. */
void pk_pcapng_epb_head(uint8_t *buf, uint32_t if_id, uint64_t ts_ns, uint32_t caplen,
                        uint32_t origlen);
/** Padding after caplen bytes of data plus the trailing length: writes up to 7 bytes. */
size_t pk_pcapng_epb_tail(uint8_t *buf, uint32_t caplen);

struct pk_pcapng_if_stats {
    uint64_t ts_ns;
    uint64_t ifrecv;      /* isb_ifrecv: packets the agent's interface received */
    uint64_t ifdrop;      /* isb_ifdrop: dropped by the interface */
    uint64_t osdrop;      /* isb_osdrop: dropped by the capturing kernel */
    uint64_t filteraccept; /* isb_filteraccept: packets that passed the filter (captured) */
    uint64_t usrdeliv;    /* isb_usrdeliv: packets written to this file */
    const char *comment;  /* opt_comment: the drops pcapng has no field for */
};

size_t pk_pcapng_isb(uint8_t *buf, size_t cap, uint32_t if_id, const struct pk_pcapng_if_stats *s);

#endif

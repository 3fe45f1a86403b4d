/*
 * Address family of a captured frame, for the packeteur_capture_* metrics, and the packet-size
 * histogram per family. Pure; reads only within caplen.
 */
#ifndef PK_AFAMILY_H
#define PK_AFAMILY_H

#include <stdint.h>

enum pk_af { PK_AF_IPV4, PK_AF_IPV6, PK_AF_OTHER, PK_AF_COUNT };

extern const char *const pk_af_names[PK_AF_COUNT]; /* "IPv4", "IPv6", "other" */

/**
 * Classifies a frame of the given LINKTYPE_ value: Ethernet (with any number of 802.1Q/802.1ad
 * tags), Linux cooked v1 and v2, raw IP (raw, IPv4, IPv6), BSD loopback/null. Anything else,
 * or a frame too short to tell, is PK_AF_OTHER.
 */
enum pk_af pk_af_classify(uint32_t linktype, const uint8_t *p, uint32_t caplen);

#define PK_AF_BUCKETS 11 /* upper bounds 2^6 .. 2^16 bytes; +Inf is the count */

struct pk_af_hist {
    uint64_t bucket[PK_AF_COUNT][PK_AF_BUCKETS]; /* non-cumulative */
    uint64_t count[PK_AF_COUNT];
    uint64_t sum[PK_AF_COUNT];
};

/** Adds one packet of `len` bytes (its length on the wire). */
void pk_af_hist_add(struct pk_af_hist *h, enum pk_af af, uint32_t len);

#endif

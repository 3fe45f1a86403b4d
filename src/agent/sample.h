/*
 * SAMPLE=1/N: flow-consistent sampling. A packet is kept when the flow hash of its frame is 0
 * modulo N, so both directions of a flow, and every packet of it, share one verdict; frames
 * that are not IPv4 or IPv6 (ARP, LLDP, a truncated IP header) are always kept. The hash is
 * defined in docs/PROTOCOL.md ("Flow sampling") so that anyone can compute it. Pure.
 */
#ifndef PK_SAMPLE_H
#define PK_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

/**
 * The flow hash of a frame of LINKTYPE_ linktype (1 Ethernet with any 802.1Q/802.1ad tags, 113
 * Linux cooked, 276 Linux cooked v2, 101 raw IP, 228 IPv4, 229 IPv6). 0 and *hash, or -ENOENT
 * when the frame carries no IP header it can read (such frames are kept).
 */
int pk_flow_hash(uint32_t linktype, const uint8_t *frame, size_t caplen, uint64_t *hash);

/** 1 when SAMPLE=1/n keeps the frame (always with n <= 1). */
int pk_sample_keep(uint32_t n, uint32_t linktype, const uint8_t *frame, size_t caplen);

#endif

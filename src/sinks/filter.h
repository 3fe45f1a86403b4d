/*
 * A sink's BPF filter over the merged stream. The stream mixes link types (one per source and
 * device), and a BPF program is compiled for one: each link type's program is compiled on its
 * first packet (pcap_open_dead + pcap_compile) and kept, up to PK_FILTER_LINKTYPES of them; a
 * link type the expression cannot be compiled for (an Ethernet-only expression on raw IP, say)
 * matches nothing. Programs run with pcap_offline_filter. Loop thread only.
 */
#ifndef PK_FILTER_H
#define PK_FILTER_H

#include "frame.h"

#include <stdint.h>

#define PK_FILTER_LINKTYPES 16 /* link types with a compiled program; others match nothing */

struct pk_filter;

/**
 * Checks that expr compiles (for Ethernet, the usual link type). 0, or -EINVAL with libpcap's
 * message in errbuf (quoted as it is; the caller names the variable).
 */
int pk_filter_check(const char *expr, char *errbuf);

/** A filter for expr (checked first); NULL or "" gives NULL: no filter. */
int pk_filter_new(struct pk_filter **out, const char *expr, char *errbuf);

/** 1 when the packet matches (a NULL filter matches everything), 0 when not. */
int pk_filter_match(struct pk_filter *f, uint32_t linktype, const struct pk_record *rec);

/** The expression as given ("" for NULL). */
const char *pk_filter_expr(const struct pk_filter *f);

void pk_filter_free(struct pk_filter *f);

#endif

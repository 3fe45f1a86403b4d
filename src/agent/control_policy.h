/*
 * The agent's side of the control plane, its pure part (docs/CONTROL.md, "On the agent"):
 * whether a message on the return path is a control message for this agent, how a central
 * filter is checked and combined with the agent's own, and how central sampling and rate
 * limits combine with SAMPLE and RELAY_RATE_LIMIT. Control only narrows: the effective setting
 * is always the stricter of the two. No I/O; pk_control_filter_check only compiles (libpcap).
 */
#ifndef PK_CONTROL_POLICY_H
#define PK_CONTROL_POLICY_H

#include "frame.h"

#include <stddef.h>
#include <stdint.h>

struct pcap; /* pcap_t */

/* Bytes of the prefix every control message for one agent starts with: the header up to and
 * including the source id (magic, version, kind, name length, flags, source id). */
#define PK_CONTROL_PREFIX_LEN 16

/**
 * Writes into prefix (PK_CONTROL_PREFIX_LEN bytes) how every control message meant for self
 * starts. 0, or -EINVAL when self's name cannot be encoded.
 */
int pk_control_prefix(const struct pk_frame_source *self, uint8_t *prefix);

/**
 * Decodes buf (len bytes) and checks it is a control message for self (its source id and
 * name). 0 and *c (pointers into buf); -EBADMSG malformed (or another protocol version);
 * -ENOMSG another kind of message; -ESRCH meant for another source.
 */
int pk_control_check(const uint8_t *buf, size_t len, const struct pk_frame_source *self,
                     struct pk_control *c);

/** Words for a pk_control_check result, for the log. */
const char *pk_control_reject_reason(int rc);

/**
 * Checks a central filter (filter.len bytes, maybe empty) on its own, so that one which is not
 * an expression by itself ("udp) or (tcp": an attempt to close the parentheses it is put in
 * and widen the capture) is refused, and copies it NUL-terminated into out (out_cap bytes).
 * 0; or -EINVAL with libpcap's words (or the reason: a NUL byte, too long) in errbuf.
 */
int pk_control_filter_check(struct pcap *p, struct pk_str filter, char *out, size_t out_cap,
                            char *errbuf);

/**
 * The exclusion a capture's filter is combined with: "(central) and exclude", or either alone
 * when the other is empty. 0, or -E2BIG when it does not fit out_cap bytes.
 */
int pk_control_exclude(char *out, size_t out_cap, const char *central, const char *exclude);

/** The effective SAMPLE N: the larger of the agent's own and the central (0 or 1: none). */
uint32_t pk_control_sample_n(uint32_t own, uint32_t central);

/** The effective rate limit (bytes/s, 0: none): the smaller non-zero of own and central. */
uint64_t pk_control_rate_limit(uint64_t own, uint64_t central);

#endif

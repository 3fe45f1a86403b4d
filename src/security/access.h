/*
 * Who may send to the collector: peer address ranges (COLLECT_ALLOW) and CURVE client keys
 * (COLLECT_CURVE_ALLOWED), and the bookkeeping of refusals: counted by reason, logged once per
 * peer. Transports enforce the policy where they can see the peer (tcp-raw on accept, zmq in
 * its ZAP handler); the policy itself knows nothing of transports.
 */
#ifndef PK_ACCESS_H
#define PK_ACCESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PK_ALLOW_MAX 64     /* CIDR entries in COLLECT_ALLOW */
#define PK_KEY_Z85_LEN 40   /* a CURVE key in Z85 */
#define PK_REFUSAL_MEMORY 256 /* peers remembered so that each refusal is logged once */

struct pk_cidr {
    int family;        /* AF_INET or AF_INET6 */
    uint8_t addr[16];  /* network byte order, host bits cleared */
    unsigned prefix;   /* bits */
};

/** Parses "10.0.0.0/8, 2001:db8::/32, 192.0.2.7" into out (at most max). 0 or -EINVAL + errbuf. */
int pk_cidr_parse_list(const char *list, struct pk_cidr *out, int max, int *n, char *errbuf);

/** 1 when addr (IPv4, IPv6 or IPv4-mapped IPv6) is in one of the n ranges; 1 too when n == 0. */
int pk_cidr_match(const struct pk_cidr *ranges, int n, const struct sockaddr *addr);

/** The same for an address in text ("192.0.2.7", "::1"); 0 for text that is no address. */
int pk_cidr_match_str(const struct pk_cidr *ranges, int n, const char *addr);

enum pk_refusal {
    PK_REFUSED_ADDRESS,
    PK_REFUSED_KEY,
    PK_REFUSED_HANDSHAKE,
    PK_REFUSED_PEER_LIMIT, /* zmq: COLLECT_MAX_PEERS connections were open */
    PK_REFUSALS
};

extern const char *const pk_refusal_names[PK_REFUSALS]; /* metric label values */

struct pk_access {
    const struct pk_cidr *allow; /* NULL or nallow == 0: every address */
    int nallow;
    const char (*keys)[PK_KEY_Z85_LEN + 1]; /* allowed client public keys; NULL: any key */
    size_t nkeys;
    uint64_t refused[PK_REFUSALS];
    uint64_t logged[PK_REFUSAL_MEMORY]; /* hashes of refusals already logged */
    size_t nlogged;
    int logged_full;
};

/** a->refused[why], or 0 when a is NULL (no policy, nothing refused). */
static inline uint64_t
pk_access_refused_count(const struct pk_access *a, int why)
{
    return a != NULL ? a->refused[why] : 0;
}

/** Sets the allowed client keys (NULL: any key), at start or on a reload; refusals are logged
 *  afresh under the new list. */
void pk_access_set_keys(struct pk_access *a, const char (*keys)[PK_KEY_Z85_LEN + 1], size_t n);

/** 1 when key (Z85) is allowed: in the list, or no list is set. */
int pk_access_key_allowed(const struct pk_access *a, const char *key_z85);

/**
 * Counts one refusal and logs it (warn) the first time this peer is refused for this reason;
 * `peer` is an address, `detail` what was refused (a key, a mechanism) or "".
 */
void pk_access_refuse(struct pk_access *a, enum pk_refusal why, const char *peer,
                      const char *detail);

#endif

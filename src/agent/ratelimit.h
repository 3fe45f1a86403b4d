/*
 * RELAY_RATE_LIMIT: a token bucket of wire bytes. It fills at the rate up to its burst; a batch
 * goes when the bucket holds its length (or is full, for a batch larger than the burst), and
 * the bucket may run into debt by control messages, which always go. Pure; the caller passes
 * the time.
 */
#ifndef PK_RATELIMIT_H
#define PK_RATELIMIT_H

#include <stdint.h>

struct pk_bucket {
    uint64_t rate;  /* bytes per second; 0: no limit */
    double burst;   /* bytes */
    double tokens;  /* may be negative (debt) */
    uint64_t last_ns;
};

/** rate bytes/s (0: no limit), burst bytes; starts full at now_ns. */
void pk_bucket_init(struct pk_bucket *b, uint64_t rate, uint64_t burst, uint64_t now_ns);

/** 1 when a batch of len bytes may go now, else 0. Nothing is paid: see pk_bucket_charge. */
int pk_bucket_allows(struct pk_bucket *b, uint64_t len, uint64_t now_ns);

/** Milliseconds until a batch of len bytes may go (0: now; at least 1 otherwise). */
uint64_t pk_bucket_wait_ms(struct pk_bucket *b, uint64_t len, uint64_t now_ns);

/** A message that went (a batch allowed, or a hello, stats, goodbye): the bucket pays len. */
void pk_bucket_charge(struct pk_bucket *b, uint64_t len, uint64_t now_ns);

#endif

/*
 * FORWARD_ENDPOINT (forward.c): every message the collector admits from its agents is also
 * handed, as it came, to a second transport opened as a sender (Kafka: the same record format
 * as its agents write), so that sites can tier collectors. The collector never waits for it:
 * a message it refuses (its queue of FORWARD_QUEUE messages full, brokers away) is dropped and
 * counted, and so is one whose delivery report fails. Loop thread only.
 */
#ifndef PK_FORWARD_H
#define PK_FORWARD_H

#include "transport.h"

#include <stdint.h>
#include <uv.h>

struct pk_config;

/* Messages awaiting their delivery report before the forwarder drops new ones. */
#define PK_FORWARD_QUEUE 4096

struct pk_forward_counters {
    uint64_t taken;     /* messages the transport took */
    uint64_t dropped;   /* refused by the transport (full or failing): never forwarded */
    uint64_t delivered; /* confirmed by a delivery report (or taken, if it does not confirm) */
    uint64_t failed;    /* whose delivery report failed */
};

struct pk_forward {
    const struct pk_config *cfg;
    struct pk_transport *tr; /* NULL once closed */
    struct pk_transport_config *tc;
    struct pk_forward_counters n;
    int dropping; /* in a run of drops, logged once */
};

/** Opens cfg->forward on cfg->forward_endpoint: 0 and *out, or an exit code after one log line. */
int pk_forward_open(struct pk_forward **out, uv_loop_t *loop, const struct pk_config *cfg);

/** Hands one valid message over; never blocks (NULL f: no forwarding). */
void pk_forward_message(struct pk_forward *f, const uint8_t *buf, size_t len);

/** Closes the transport, which keeps delivering for up to linger_ms; f is freed after it.
 *  last: the counters now (the owner's to show once f is gone). */
void pk_forward_close(struct pk_forward *f, uint64_t linger_ms, struct pk_forward_counters *last);

#endif

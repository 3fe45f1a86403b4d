/*
 * Who may read the merged stream, and how many at once: the one check for every kind of
 * reader (PCAP-over-IP listeners, HTTP /stream). The stream holds every host's traffic, so the
 * default (SERVE_ALLOW) is loopback only; SERVE_MAX_READERS bounds the readers of all kinds
 * together, and with SERVE_BUFFER the memory they may hold. Refusals are counted by reason and
 * logged at most once per PK_GATE_LOG_INTERVAL_MS (the first at once, then a summary line with
 * the count of the others). Pure bookkeeping, no I/O; loop thread only.
 */
#ifndef PK_GATE_H
#define PK_GATE_H

#include "access.h"

#include <stdint.h>
#include <sys/socket.h>

#define PK_GATE_LOG_INTERVAL_MS 10000

enum pk_gate_refusal {
    PK_GATE_REFUSED_ADDRESS, /* not in SERVE_ALLOW */
    PK_GATE_REFUSED_LIMIT,   /* SERVE_MAX_READERS readers were connected */
    PK_GATE_REFUSALS
};

extern const char *const pk_gate_refusal_names[PK_GATE_REFUSALS]; /* "address", "limit" */

struct pk_gate {
    const struct pk_cidr *allow; /* SERVE_ALLOW; nallow == 0: loopback only */
    int nallow;
    unsigned max_readers; /* SERVE_MAX_READERS */
    unsigned readers;     /* admitted and not yet left, every kind */
    uint64_t admitted;    /* over the process's life */
    uint64_t refused[PK_GATE_REFUSALS];
    uint64_t logged_ns, unlogged; /* the rate limit of refusal lines */
};

/** A gate for the ranges (borrowed; n == 0: loopback only) and a limit of readers. */
void pk_gate_init(struct pk_gate *g, const struct pk_cidr *allow, int nallow, unsigned max_readers);

/**
 * Whether a reader from addr may read now: 0 (counted in: call pk_gate_leave when it goes), or
 * -EACCES (address) or -EMFILE (limit), counted and logged (rate-limited) naming peer (its
 * "ip:port") and via (what it came through: "tcp://[::]:57012", "GET /stream").
 */
int pk_gate_admit(struct pk_gate *g, const struct sockaddr *addr, const char *peer,
                  const char *via);

/** A reader admitted by pk_gate_admit left. */
void pk_gate_leave(struct pk_gate *g);

#endif

/*
 * The collector's control plane (docs/CONTROL.md): the desired state of the fleet, an entry per
 * source name and one for all sources, each a narrowing of what the agents capture (an extra
 * filter, pause, sampling, a rate limit) under a generation number; the change log (who changed
 * what, when); and its persistence in CONTROL_STATE, written atomically at each change and read
 * at start. What an agent applied is the source table's (sources.h); this module knows only what
 * is wanted. Bounded: PK_CONTROL_ENTRIES_MAX entries, PK_CONTROL_LOG_MAX changes kept. Loop
 * thread only.
 */
#ifndef PK_CONTROL_H
#define PK_CONTROL_H

#include "frame.h"

#include <stddef.h>
#include <stdint.h>

#define PK_CONTROL_ENTRIES_MAX 1024 /* per-source entries; a PUT for one more is refused */
#define PK_CONTROL_LOG_MAX 64       /* changes kept for GET /control (all are in the log) */
#define PK_CONTROL_WHO_MAX 192      /* "ADDR:PORT" and the request's own words ("by") */

/* What applies to one source: a generation and a narrowing. */
struct pk_control_desired {
    /* The change it comes from. 0: nothing was ever set; after an entry is deleted, a source
     * without one gets the generation of that delete with nothing set, so that an agent that
     * applied the deleted entry applies "nothing" in its place. */
    uint64_t generation;
    uint32_t flags;      /* PK_CONTROL_PAUSED */
    uint32_t sample_n;   /* 0 or 1: no central sampling */
    uint64_t rate_limit; /* bytes per second, 0: none */
    const char *filter;  /* "" : none; borrowed until the next change */
};

struct pk_control_plane;

/* Called after each change that took: name is the source entry's, or NULL when the entry for
 * all sources changed (every source's desired state may differ now). */
typedef void (*pk_control_changed_cb)(void *data, const char *name);

/** Fills d with what applies to the source called name: its own entry, else the entry for all
 *  sources, else nothing (with the generation described above). */
void pk_control_plane_desired(const struct pk_control_plane *cp, const char *name,
                              struct pk_control_desired *d);

/** d as the control message for source src (filter borrowed from d). */
void pk_control_message_of(const struct pk_control_desired *d, struct pk_control *msg);

#endif

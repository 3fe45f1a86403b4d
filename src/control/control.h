/*
 * The collector's control plane (docs/CONTROL.md): the desired state of the fleet, an entry per
 * source name and one for all sources, each a narrowing of what the agents capture (an extra
 * filter, pause, sampling, a rate limit) under a generation number; the change log (who changed
 * what, when); and its persistence in CONTROL_STATE, written atomically at each change and read
 * at start. What an agent applied is the source table's (sources.h); this module knows only what
 * is wanted. Bounded: PK_CONTROL_ENTRIES_MAX entries, PK_CONTROL_LOG_MAX changes kept. Loop
 * thread only.
 *
 * The collector: pk_control_plane_open() at start, before the HTTP server (its error is the
 * exit code pk_exit_code(rc)); pk_control_plane_on_change() to hear of changes; after
 * pk_reports_start(), pk_http_set_control(http, cp) (http.h) serves /control; for each source,
 * pk_control_plane_desired() then pk_control_message_of(); pk_control_plane_free() after
 * pk_http_free(). The HTTP API (src/http/control_api.c) calls set/clear and the counters.
 */
#ifndef PK_CONTROL_H
#define PK_CONTROL_H

#include "frame.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct pk_cidr; /* access.h */

#define PK_CONTROL_ENTRIES_MAX 1024 /* per-source entries; a PUT for one more is refused */
#define PK_CONTROL_LOG_MAX 64       /* changes kept for GET /control (all are in the log) */
#define PK_CONTROL_WHO_MAX 192      /* "ADDR:PORT" and the request's own words ("by") */
#define PK_CONTROL_NAME_MAX 255     /* bytes of a source name in a route */
#define PK_CONTROL_BY_MAX 128       /* printable bytes of a request's "by" */

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

/* One entry: for one source, or for all. Values, not options: absent fields of a PUT are 0/"". */
struct pk_control_entry {
    char *filter;        /* malloc'd, "" or NULL: none; at most PK_CONTROL_FILTER_MAX bytes */
    int paused;
    uint32_t sample_n;   /* 0: none */
    uint64_t rate_limit; /* bytes per second, 0: none */
    uint64_t generation;
    char changed_by[PK_CONTROL_WHO_MAX];
    uint64_t changed_at_ms; /* wall clock */
};

/* One change of the log ring. */
struct pk_control_change {
    int set;                       /* 1: set (PUT), 0: cleared (DELETE) */
    int all;                       /* the entry for all sources */
    char name[PK_CONTROL_NAME_MAX + 1];
    struct pk_control_entry entry; /* generation, who and when; the fields when set */
};

/* What the HTTP API answered, for /metrics and /status. */
enum pk_control_result {
    PK_CONTROL_OK,
    PK_CONTROL_UNAUTHORIZED, /* 401: no token or a wrong one */
    PK_CONTROL_FORBIDDEN,    /* 403: the peer is not in CONTROL_ALLOW */
    PK_CONTROL_INVALID,      /* 400: a bad body, name or method (405 too) */
    PK_CONTROL_NOT_FOUND,    /* 404: DELETE of an entry that did not exist, an unknown path */
    PK_CONTROL_FULL,         /* 409: PK_CONTROL_ENTRIES_MAX entries already */
    PK_CONTROL_ERROR,        /* 500: CONTROL_STATE could not be written (nothing changed) */
    PK_CONTROL_RESULTS
};

extern const char *const pk_control_result_names[PK_CONTROL_RESULTS]; /* metric label values */

/* The settings of the collector (config.h) the plane is opened with. */
struct pk_control_settings {
    const char *state;             /* CONTROL_STATE; NULL or "": in memory only */
    const char *token_file;        /* CONTROL_TOKEN_FILE; NULL or "": the HTTP API is off */
    const struct pk_cidr *allow;   /* CONTROL_ALLOW; nallow == 0: loopback only */
    int nallow;
};

/**
 * Opens the plane: reads the token file (when set) and CONTROL_STATE (a missing file is an
 * empty state). Returns 0, or -EINVAL with errbuf naming the setting and the reason (an exit
 * code of 2: pk_exit_code) or -ENOMEM. *out is NULL on failure. Warns (once) when the token
 * file is readable by group or others.
 */
int pk_control_plane_open(struct pk_control_plane **out, const struct pk_control_settings *s,
                          char *errbuf);

/** Frees the plane (NULL is fine). */
void pk_control_plane_free(struct pk_control_plane *cp);

/** cb is called after each change that took (NULL: none); data is passed to it. */
void pk_control_plane_on_change(struct pk_control_plane *cp, pk_control_changed_cb cb,
                                void *data);

/** 1 when the HTTP API is on (CONTROL_TOKEN_FILE was set). */
int pk_control_plane_enabled(const struct pk_control_plane *cp);

/** The newest generation given out (by a set or a clear), 0 when none ever was. */
uint64_t pk_control_plane_generation(const struct pk_control_plane *cp);

/**
 * Replaces the entry of name (NULL: the entry for all sources) with e's fields (filter copied),
 * under a new generation, made by `who`. Logs the change and saves CONTROL_STATE. Returns 0,
 * -ENOSPC (PK_CONTROL_ENTRIES_MAX entries), -EINVAL (a bad name or field), or -EIO when the
 * state could not be saved (nothing changed); errbuf says why. *out (may be NULL) gets the new
 * entry, borrowed until the next change.
 */
int pk_control_plane_set(struct pk_control_plane *cp, const char *name,
                         const struct pk_control_entry *e, const char *who,
                         const struct pk_control_entry **out, char *errbuf);

/** Deletes the entry of name (NULL: all sources). 0, -ENOENT when there was none, -EIO as
 *  for set; *gen (may be NULL) gets the generation of the delete. */
int pk_control_plane_clear(struct pk_control_plane *cp, const char *name, const char *who,
                           uint64_t *gen, char *errbuf);

/** GET /control: a malloc'd JSON text (caller frees with free), NULL when out of memory. */
char *pk_control_plane_json(const struct pk_control_plane *cp);

/** An entry as a malloc'd JSON object text (the answer to a PUT); NULL when out of memory. */
char *pk_control_entry_json(const struct pk_control_entry *e);

/**
 * Parses a PUT body into e (its filter malloc'd: free with pk_control_entry_reset) and "by"
 * into by (at most 128 printable bytes, "" when absent). Returns 0, or -EINVAL with errbuf a
 * sentence naming the field (an unknown field, a wrong type, a filter that does not compile).
 */
int pk_control_parse_body(const char *body, size_t len, struct pk_control_entry *e,
                          char by[PK_CONTROL_BY_MAX + 1], char *errbuf);

/** Frees e's filter and zeroes e. */
void pk_control_entry_reset(struct pk_control_entry *e);

/** 1 when the peer may use the API (CONTROL_ALLOW, or loopback when it is empty). */
int pk_control_peer_allowed(const struct pk_control_plane *cp, const struct sockaddr *peer);

/** 1 when the Authorization header's value is "Bearer TOKEN" (constant time in TOKEN). */
int pk_control_token_ok(const struct pk_control_plane *cp, const char *value, size_t len);

/** Counts one answer of the HTTP API. */
void pk_control_plane_count(struct pk_control_plane *cp, enum pk_control_result r);

/** The counters, borrowed until pk_control_plane_free; PK_CONTROL_RESULTS of them. */
const uint64_t *pk_control_plane_counters(const struct pk_control_plane *cp);

#endif

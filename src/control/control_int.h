/*
 * The plane's insides, shared by control.c (the store), control_state.c (CONTROL_STATE and the
 * token) and control_json.c (bodies and answers). Private to src/control; loop thread only.
 */
#ifndef PK_CONTROL_INT_H
#define PK_CONTROL_INT_H

#include "access.h"
#include "control.h"

#include <stddef.h>
#include <stdint.h>

struct src_entry {
    char name[PK_CONTROL_NAME_MAX + 1];
    struct pk_control_entry e;
};

struct pk_control_plane {
    struct src_entry *src; /* nsrc in use, in the order they were first set */
    size_t nsrc, cap;
    struct pk_control_entry all;
    int has_all;
    uint64_t last_gen;    /* the newest generation given out */
    uint64_t cleared_gen; /* the generation of the latest delete: "nothing" for the rest */
    struct pk_control_change log[PK_CONTROL_LOG_MAX]; /* a ring, oldest at log_head */
    size_t log_n, log_head;
    char *state_path; /* NULL: in memory only */
    char *token;      /* NULL: the API is off */
    size_t token_len;
    struct pk_cidr allow[PK_ALLOW_MAX];
    int nallow;
    uint64_t counters[PK_CONTROL_RESULTS];
    pk_control_changed_cb cb;
    void *cb_data;
};

/** The entry of name, or NULL. */
struct src_entry *pk_control_find(const struct pk_control_plane *cp, const char *name);

/** A copy of e with its own filter ("" when e has none); -ENOMEM. */
int pk_control_entry_copy(struct pk_control_entry *dst, const struct pk_control_entry *e);

/** 1 when s (len bytes) is valid UTF-8 without control characters: what a name, a filter and
 *  "by" may hold, so that the state file, JSON answers and log lines stay well formed. */
int pk_control_text_ok(const char *s, size_t len);

/** 0, or -EINVAL + errbuf when the filter does not compile (pcap_compile on DLT_EN10MB). */
int pk_control_check_filter(const char *filter, char *errbuf);

/** Reads CONTROL_STATE into cp (empty when the file is missing); -EINVAL + errbuf. */
int pk_control_state_load(struct pk_control_plane *cp, char *errbuf);

/** Writes cp to CONTROL_STATE atomically (tmp, fsync, rename, fsync of the directory). */
int pk_control_state_save(const struct pk_control_plane *cp, char *errbuf);

/** Reads the token file into cp->token; -EINVAL + errbuf (empty, unreadable). */
int pk_control_token_load(struct pk_control_plane *cp, const char *path, char *errbuf);

#endif

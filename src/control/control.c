/*
 * The store of the control plane (control.h): an entry per source name and one for all, each
 * change under a generation that never repeats, the change log ring, and what applies to a
 * source. Each change is saved (control_state.c) before it takes: a change that cannot be
 * saved is undone, so that a restart never goes back on what was answered 200.
 */
#define PK_LOG_MODULE "control"
#include "control.h"
#include "control_int.h"
#include "log.h"
#include "loop.h"
#include "pcktr.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const pk_control_result_names[PK_CONTROL_RESULTS] = {
    "ok", "unauthorized", "forbidden", "invalid", "not_found", "full", "error",
};

/* The wall clock keeps generations new across a restart that lost its state file; last + 1
 * keeps them increasing when the clock steps back or two changes share a millisecond. */
static uint64_t
next_generation(const struct pk_control_plane *cp)
{
    uint64_t now = pk_wall_ms();

    return now > cp->last_gen ? now : cp->last_gen + 1;
}

struct src_entry *
pk_control_find(const struct pk_control_plane *cp, const char *name)
{
    for (size_t i = 0; i < cp->nsrc; i++)
        if (strcmp(cp->src[i].name, name) == 0)
            return &cp->src[i];
    return NULL;
}

int
pk_control_entry_copy(struct pk_control_entry *dst, const struct pk_control_entry *e)
{
    *dst = *e;
    dst->filter = strdup(e->filter != NULL ? e->filter : "");
    return dst->filter != NULL ? 0 : -ENOMEM;
}

void
pk_control_entry_reset(struct pk_control_entry *e)
{
    free(e->filter);
    memset(e, 0, sizeof(*e));
}

void
pk_control_plane_desired(const struct pk_control_plane *cp, const char *name,
                         struct pk_control_desired *d)
{
    const struct src_entry *s = name != NULL ? pk_control_find(cp, name) : NULL;
    const struct pk_control_entry *e = s != NULL ? &s->e : cp->has_all ? &cp->all : NULL;

    memset(d, 0, sizeof(*d));
    d->filter = "";
    if (e == NULL) {
        d->generation = cp->cleared_gen;
        return;
    }
    d->generation = e->generation;
    d->flags = e->paused ? PK_CONTROL_PAUSED : 0;
    d->sample_n = e->sample_n;
    d->rate_limit = e->rate_limit;
    d->filter = e->filter != NULL ? e->filter : "";
}

void
pk_control_message_of(const struct pk_control_desired *d, struct pk_control *msg)
{
    size_t len = strlen(d->filter);

    memset(msg, 0, sizeof(*msg));
    msg->generation = d->generation;
    msg->flags = d->flags;
    msg->sample_n = d->sample_n;
    msg->rate_limit = d->rate_limit;
    msg->filter.ptr = d->filter;
    msg->filter.len = (uint16_t)(len <= PK_CONTROL_FILTER_MAX ? len : 0);
}

/* "source \"NAME\"" or "all sources", for the log. */
static const char *
what_of(const char *name, char *buf, size_t cap)
{
    if (name == NULL)
        return "all sources";
    snprintf(buf, cap, "source \"%s\"", name);
    return buf;
}

static void
log_change(struct pk_control_plane *cp, int set, const char *name, const struct pk_control_entry *e)
{
    size_t at = (cp->log_head + cp->log_n) % PK_CONTROL_LOG_MAX;
    struct pk_control_change *c = &cp->log[at];
    char what[PK_CONTROL_NAME_MAX + 16];

    if (cp->log_n == PK_CONTROL_LOG_MAX) { /* full: the oldest goes */
        pk_control_entry_reset(&c->entry);
        cp->log_head = (cp->log_head + 1) % PK_CONTROL_LOG_MAX;
    } else {
        cp->log_n++;
    }
    c->set = set;
    c->all = name == NULL;
    snprintf(c->name, sizeof(c->name), "%s", name != NULL ? name : "");
    if (pk_control_entry_copy(&c->entry, e) != 0)
        c->entry.filter = NULL; /* the change is still told, without its filter */
    if (set)
        pk_info_with(&(struct pk_log_fields){.event = "control_set", .source = name},
                     "%s set by %s, generation %" PRIu64 ": filter \"%s\", paused %s, "
                     "sample 1/%" PRIu32 ", rate limit %" PRIu64 " B/s",
                     what_of(name, what, sizeof(what)), e->changed_by, e->generation,
                     e->filter != NULL ? e->filter : "", e->paused ? "yes" : "no",
                     e->sample_n ? e->sample_n : 1, e->rate_limit);
    else
        pk_info_with(&(struct pk_log_fields){.event = "control_cleared", .source = name},
                     "%s cleared by %s, generation %" PRIu64, what_of(name, what, sizeof(what)),
                     e->changed_by, e->generation);
    if (cp->cb != NULL)
        cp->cb(cp->cb_data, name);
}

static int
check_name(const char *name, char *errbuf)
{
    size_t len = strlen(name);

    if (len == 0 || len > PK_CONTROL_NAME_MAX)
        return pk_seterr(errbuf, -EINVAL, "a source name has 1 to %d bytes", PK_CONTROL_NAME_MAX);
    if (!pk_control_text_ok(name, len))
        return pk_seterr(errbuf, -EINVAL, "a source name is UTF-8 text without control characters");
    return 0;
}

static int
check_entry(const struct pk_control_entry *e, char *errbuf)
{
    if (e->filter != NULL && strlen(e->filter) > PK_CONTROL_FILTER_MAX)
        return pk_seterr(errbuf, -EINVAL, "filter: longer than %d bytes", PK_CONTROL_FILTER_MAX);
    if (e->sample_n > (1u << 31))
        return pk_seterr(errbuf, -EINVAL, "sample: N is at most 2^31");
    return 0;
}

/* Makes a slot for name at the end of cp->src; -ENOSPC past the bound. */
static int
add_slot(struct pk_control_plane *cp, const char *name, struct src_entry **out)
{
    if (cp->nsrc >= PK_CONTROL_ENTRIES_MAX)
        return -ENOSPC;
    if (cp->nsrc == cp->cap) {
        size_t cap = cp->cap ? cp->cap * 2 : 16;
        struct src_entry *n = realloc(cp->src, cap * sizeof(*n));
        if (n == NULL)
            return -ENOMEM;
        cp->src = n;
        cp->cap = cap;
    }
    *out = &cp->src[cp->nsrc++];
    memset(*out, 0, sizeof(**out));
    snprintf((*out)->name, sizeof((*out)->name), "%s", name);
    return 0;
}

int
pk_control_plane_set(struct pk_control_plane *cp, const char *name,
                     const struct pk_control_entry *e, const char *who,
                     const struct pk_control_entry **out, char *errbuf)
{
    struct src_entry *s = NULL;
    struct pk_control_entry ne, old, *slot = &cp->all;
    uint64_t old_last = cp->last_gen;
    int created = 0, old_has = cp->has_all, rc;

    if ((name != NULL && (rc = check_name(name, errbuf)) != 0) ||
        (rc = check_entry(e, errbuf)) != 0)
        return rc;
    if (name != NULL && (s = pk_control_find(cp, name)) == NULL) {
        if ((rc = add_slot(cp, name, &s)) != 0)
            return pk_seterr(errbuf, rc,
                             rc == -ENOSPC ? "%d source entries already: clear one"
                                           : "out of memory (%d)",
                             PK_CONTROL_ENTRIES_MAX);
        created = 1;
    }
    if (s != NULL)
        slot = &s->e;
    if (pk_control_entry_copy(&ne, e) != 0) {
        free(ne.filter);
        cp->nsrc -= created;
        return pk_seterr(errbuf, -ENOMEM, "out of memory");
    }
    ne.generation = next_generation(cp);
    ne.changed_at_ms = pk_wall_ms();
    snprintf(ne.changed_by, sizeof(ne.changed_by), "%s", who != NULL ? who : "");
    old = *slot;
    *slot = ne;
    cp->has_all |= name == NULL;
    cp->last_gen = ne.generation;
    if ((rc = pk_control_state_save(cp, errbuf)) != 0) {
        free(slot->filter);
        *slot = old;
        cp->has_all = old_has;
        cp->last_gen = old_last;
        cp->nsrc -= created;
        return rc;
    }
    free(old.filter);
    if (out != NULL)
        *out = slot;
    log_change(cp, 1, name, slot);
    return 0;
}

int
pk_control_plane_clear(struct pk_control_plane *cp, const char *name, const char *who,
                       uint64_t *gen, char *errbuf)
{
    struct src_entry *s = name != NULL ? pk_control_find(cp, name) : NULL;
    struct pk_control_entry old, gone = {0};
    uint64_t old_last = cp->last_gen, old_cleared = cp->cleared_gen;
    size_t at = s != NULL ? (size_t)(s - cp->src) : 0;
    int rc;

    if (name != NULL ? s == NULL : !cp->has_all)
        return pk_seterr(errbuf, -ENOENT, "no entry for %s", name ? name : "all sources");
    old = name != NULL ? s->e : cp->all;
    gone.generation = cp->last_gen = cp->cleared_gen = next_generation(cp);
    gone.changed_at_ms = pk_wall_ms();
    snprintf(gone.changed_by, sizeof(gone.changed_by), "%s", who != NULL ? who : "");
    if (name != NULL)
        memmove(&cp->src[at], &cp->src[at + 1], (cp->nsrc - at - 1) * sizeof(*cp->src));
    else
        memset(&cp->all, 0, sizeof(cp->all));
    cp->nsrc -= name != NULL;
    cp->has_all &= name != NULL;
    if ((rc = pk_control_state_save(cp, errbuf)) != 0) { /* undo: put it back where it was */
        if (name != NULL) {
            memmove(&cp->src[at + 1], &cp->src[at], (cp->nsrc - at) * sizeof(*cp->src));
            snprintf(cp->src[at].name, sizeof(cp->src[at].name), "%s", name);
            cp->src[at].e = old;
            cp->nsrc++;
        } else {
            cp->all = old;
            cp->has_all = 1;
        }
        cp->last_gen = old_last;
        cp->cleared_gen = old_cleared;
        return rc;
    }
    free(old.filter);
    if (gen != NULL)
        *gen = gone.generation;
    log_change(cp, 0, name, &gone);
    return 0;
}

void
pk_control_plane_on_change(struct pk_control_plane *cp, pk_control_changed_cb cb, void *data)
{
    cp->cb = cb;
    cp->cb_data = data;
}

int
pk_control_plane_enabled(const struct pk_control_plane *cp)
{
    return cp != NULL && cp->token != NULL;
}

uint64_t
pk_control_plane_generation(const struct pk_control_plane *cp)
{
    return cp != NULL ? cp->last_gen : 0;
}

void
pk_control_plane_count(struct pk_control_plane *cp, enum pk_control_result r)
{
    if (r < PK_CONTROL_RESULTS)
        cp->counters[r]++;
}

const uint64_t *
pk_control_plane_counters(const struct pk_control_plane *cp)
{
    return cp->counters;
}

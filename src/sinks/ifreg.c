/* The shared pcapng interface numbering; see ifreg.h. */
#include "ifreg.h"
#include "pcapng.h"
#include "pcapout.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
pk_ifreg_init(struct pk_ifreg *r, const char *hardware, const char *os, const char *application)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->hardware, sizeof(r->hardware), "%s", hardware);
    snprintf(r->os, sizeof(r->os), "%s", os);
    snprintf(r->application, sizeof(r->application), "%s", application);
}

static void
empty(struct pk_ifreg *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i].idb);
    r->n = 0;
    r->bytes = 0;
}

void
pk_ifreg_free(struct pk_ifreg *r)
{
    empty(r);
    free(r->v);
    r->v = NULL;
    r->cap = 0;
}

/* The source's interfaces, void when they belong to an earlier numbering. */
static void
settle_source(const struct pk_ifreg *r, struct pk_source *s)
{
    if (s->ifs_epoch != r->epoch) {
        s->nifs = 0;
        s->ifs_epoch = r->epoch;
    }
}

/* Room for one more entry of len bytes; 1 when a new numbering had to begin, or -ENOMEM. */
/* A sampling agent's interface says so: its packets are 1 flow in n, not a loss. */
static const char *
sampling_text(uint32_t n, char *buf, size_t len)
{
    snprintf(buf, len, ", sampling 1/%u flows", (unsigned)n);
    return buf;
}

static int
make_room(struct pk_ifreg *r, size_t len)
{
    int fresh = 0;

    if (r->n == PK_IFREG_MAX || r->bytes + len > PK_IFREG_BYTES) {
        empty(r);
        r->epoch++;
        fresh = 1;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        struct pk_ifreg_entry *v = realloc(r->v, cap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        r->v = v;
        r->cap = cap;
    }
    return fresh;
}

int
pk_ifreg_of(struct pk_ifreg *r, struct pk_source *s, uint32_t linktype, uint32_t *id)
{
    uint8_t buf[4096]; /* a block holds at most 1 KiB of filter, 255 bytes of name */
    char description[800], sampling[48];
    size_t n;
    int fresh;

    settle_source(r, s);
    for (uint32_t i = 0; i < s->nifs; i++) {
        if (s->ifs[i].linktype == linktype) {
            *id = s->ifs[i].id;
            return PK_IFREG_KNOWN;
        }
    }
    if (s->nifs == PK_SOURCE_INTERFACES)
        return -ENOSPC;
    snprintf(description, sizeof(description), "%s on %s (host %s)%s", s->device[0] ? s->device : "?",
             s->peer[0] ? s->peer : "?", s->host[0] ? s->host : "?",
             s->sample_n > 1 ? sampling_text(s->sample_n, sampling, sizeof(sampling)) : "");
    n = pk_pcapng_idb(buf, sizeof(buf), linktype, s->snaplen ? s->snaplen : PK_PCAP_STREAM_SNAPLEN,
                      s->name, description, s->filter);
    if (n == 0)
        return -EINVAL; /* a link type the block cannot hold (the decoder refuses those) */
    if ((fresh = make_room(r, n)) < 0)
        return fresh;
    settle_source(r, s); /* a new numbering voids this source's interfaces too */
    if ((r->v[r->n].idb = malloc(n)) == NULL)
        return -ENOMEM;
    memcpy(r->v[r->n].idb, buf, n);
    r->v[r->n].len = (uint32_t)n;
    r->v[r->n].linktype = linktype;
    r->bytes += n;
    s->ifs[s->nifs].linktype = linktype;
    s->ifs[s->nifs].id = *id = (uint32_t)r->n++;
    s->nifs++;
    return fresh ? PK_IFREG_NEW_SECTION : PK_IFREG_NEW;
}

int
pk_ifreg_first(const struct pk_ifreg *r, const struct pk_source *s, uint32_t *id)
{
    if (s->ifs_epoch != r->epoch || s->nifs == 0)
        return -ENOENT;
    *id = s->ifs[0].id;
    return 0;
}

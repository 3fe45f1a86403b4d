/* Source table; see sources.h. Lookup is linear with the last hit first: sources are few. */
#include "sources.h"
#include "text.h"

#include <stdlib.h>
#include <string.h>

const char *const pk_source_state_names[PK_SOURCE_STATES] = {"up", "stale", "gone"};

void
pk_sources_init(struct pk_sources *t, size_t limit, uint64_t stale_ms, uint64_t gone_ms)
{
    memset(t, 0, sizeof(*t));
    t->limit = limit;
    t->stale_ms = stale_ms;
    t->gone_ms = gone_ms;
}

enum pk_source_state
pk_source_state(const struct pk_sources *t, const struct pk_source *s, uint64_t now_ns)
{
    uint64_t silent_ms = now_ns > s->last_seen_ns ? (now_ns - s->last_seen_ns) / 1000000 : 0;

    if (s->said_goodbye || silent_ms >= t->gone_ms)
        return PK_SOURCE_GONE;
    return silent_ms >= t->stale_ms ? PK_SOURCE_STALE : PK_SOURCE_UP;
}

/* Forgets the gone source heard from least recently; 0 when there is none. */
static int
evict_one(struct pk_sources *t, uint64_t now_ns)
{
    size_t victim = t->n;

    for (size_t i = 0; i < t->n; i++)
        if (pk_source_state(t, t->v[i], now_ns) == PK_SOURCE_GONE && t->v[i]->held == 0 &&
            (victim == t->n || t->v[i]->last_seen_ns < t->v[victim]->last_seen_ns))
            victim = i;
    if (victim == t->n)
        return 0;
    free(t->v[victim]->filter);
    free(t->v[victim]);
    memmove(&t->v[victim], &t->v[victim + 1], (t->n - victim - 1) * sizeof(t->v[0]));
    t->n--;
    t->evicted++;
    return 1;
}

void
pk_sources_free(struct pk_sources *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i]->filter);
        free(t->v[i]);
    }
    free(t->v);
    t->v = NULL;
    t->n = 0;
}

/*
 * Names, hosts, devices and filters come from the network and go into logs, /status, the
 * status page and pcapng blocks. Control characters (a terminal escape in a log line) and bytes
 * that are not UTF-8 (which make /status invalid JSON) become '?'; the rest is kept as sent.
 */
static void
copy_str(char *dst, size_t cap, const struct pk_str *s)
{
    pk_text_copy_clean(dst, cap, s->ptr, s->len);
}

static struct pk_source *
find(struct pk_sources *t, uint64_t id)
{
    for (size_t i = 0; i < t->n; i++) {
        if (t->v[i]->id == id) {
            struct pk_source *s = t->v[i];
            if (i > 0) { /* move to front: a busy source is found first next time */
                memmove(&t->v[1], &t->v[0], i * sizeof(t->v[0]));
                t->v[0] = s;
            }
            return s;
        }
    }
    return NULL;
}

static struct pk_source *
add(struct pk_sources *t, const struct pk_frame *f, uint64_t now_ns)
{
    struct pk_source *s, **v;

    if (t->n >= t->limit && !evict_one(t, now_ns))
        return NULL;
    s = calloc(1, sizeof(*s));
    v = realloc(t->v, (t->n + 1) * sizeof(*v));
    if (s == NULL || v == NULL || (s->filter = strdup("")) == NULL) {
        free(s);
        if (v != NULL)
            t->v = v;
        return NULL;
    }
    t->v = v;
    memmove(&t->v[1], &t->v[0], t->n * sizeof(t->v[0]));
    t->v[0] = s;
    t->n++;
    s->id = f->source_id;
    copy_str(s->name, sizeof(s->name), &f->name);
    s->first_seen_ns = now_ns;
    return s;
}

struct pk_source *
pk_sources_track(struct pk_sources *t, const struct pk_frame *f, uint64_t now_ns, int *created)
{
    struct pk_source *s = find(t, f->source_id);

    *created = 0;
    if (s == NULL) {
        if ((s = add(t, f, now_ns)) == NULL) {
            t->refused++;
            return NULL;
        }
        *created = 1;
    }
    s->last_seen_ns = now_ns;
    s->messages++;
    if (!s->have_seq || f->seq >= s->next_seq) {
        /* The first message a collector sees of a source (it may have restarted) sets the base. */
        if (s->have_seq)
            s->lost_messages += f->seq - s->next_seq;
        s->next_seq = f->seq + 1;
        s->have_seq = 1;
    } else {
        s->out_of_order++;
    }
    return s;
}

int
pk_source_apply_hello(struct pk_source *s, const struct pk_hello *h)
{
    char host[sizeof(s->host)], device[sizeof(s->device)];
    char *filter = malloc((size_t)h->filter.len + 1);
    int changed;

    if (filter == NULL)
        return 0;
    copy_str(host, sizeof(host), &h->host);
    copy_str(device, sizeof(device), &h->device);
    copy_str(filter, (size_t)h->filter.len + 1, &h->filter);
    changed = !s->have_hello || s->linktype != h->linktype || strcmp(s->host, host) != 0 ||
              strcmp(s->device, device) != 0 || strcmp(s->filter, filter) != 0;
    free(s->filter);
    s->filter = filter;
    memcpy(s->host, host, sizeof(host));
    memcpy(s->device, device, sizeof(device));
    copy_str(s->version, sizeof(s->version), &h->version);
    s->linktype = h->linktype;
    s->snaplen = h->snaplen;
    s->tsresol = h->tsresol;
    s->heartbeat_ms = h->heartbeat_ms;
    s->start_ns = h->start_ns;
    s->have_hello = 1;
    return changed;
}

uint64_t
pk_source_apply_packets(struct pk_source *s, const struct pk_packets *p)
{
    uint64_t lost = 0;

    if (s->have_index && p->first_index > s->next_index)
        lost = p->first_index - s->next_index;
    s->lost_packets += lost;
    if (!s->have_index)
        s->index_base = p->first_index;
    if (!s->have_index || p->first_index + p->count > s->next_index)
        s->next_index = p->first_index + p->count;
    s->have_index = 1;
    return lost;
}

/* Source table; see sources.h. Lookup is linear with the last hit first: sources are few. */
#include "sources.h"
#include "sources_graves.h"
#include "text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const pk_source_state_names[PK_SOURCE_STATES] = {"up", "stale", "gone"};
const char *const pk_source_refusal_names[PK_SR_REASONS] = {"table_full", "peer_limit",
                                                            "other_peer"};

void
pk_sources_init(struct pk_sources *t, size_t limit, uint64_t stale_ms, uint64_t gone_ms)
{
    memset(t, 0, sizeof(*t));
    t->limit = limit;
    t->per_peer_limit = PK_SOURCES_PER_PEER;
    t->stale_ms = stale_ms;
    t->gone_ms = gone_ms;
}

/*
 * An agent says how often it speaks (the hello's heartbeat interval): one with a long interval
 * is not stale between two heartbeats. Three intervals allow for one lost or late heartbeat;
 * capped at gone_ms, so that a peer claiming an absurd interval cannot keep a slot up longer
 * than SOURCE_GONE_AFTER.
 */
static uint64_t
stale_after_ms(const struct pk_sources *t, const struct pk_source *s)
{
    uint64_t beats = 3ull * s->heartbeat_ms;

    if (beats <= t->stale_ms)
        return t->stale_ms;
    return beats < t->gone_ms ? beats : t->gone_ms;
}

enum pk_source_state
pk_source_state(const struct pk_sources *t, const struct pk_source *s, uint64_t now_ns)
{
    uint64_t silent_ms = now_ns > s->last_seen_ns ? (now_ns - s->last_seen_ns) / 1000000 : 0;

    if (s->said_goodbye || silent_ms >= t->gone_ms)
        return PK_SOURCE_GONE;
    return silent_ms >= stale_after_ms(t, s) ? PK_SOURCE_STALE : PK_SOURCE_UP;
}

/* Peer identities are compared by hash first: a flood compares its own against every source. */
static uint64_t
peer_hash(const char *peer)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a over what the table stores of it */

    for (size_t i = 0; i < PK_PEER_ID_LEN - 1 && peer[i] != '\0'; i++)
        h = (h ^ (uint8_t)peer[i]) * 0x100000001b3ull;
    return h;
}

/* A stored peer identity (cut to PK_PEER_ID_LEN - 1 bytes) is peer's: compared as stored. */
static int
same_peer(uint64_t stored_hash, const char *stored, uint64_t hash, const char *peer)
{
    return stored_hash == hash && strncmp(stored, peer, PK_PEER_ID_LEN - 1) == 0;
}

/* An evicted source keeps a tombstone: if it comes back, its gap is lost in transit. */
static void
remove_at(struct pk_sources *t, size_t i)
{
    pk_graves_bury(t, t->v[i]);
    free(t->v[i]->filter);
    free(t->v[i]);
    memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof(t->v[0]));
    memmove(&t->keys[i], &t->keys[i + 1], (t->n - i - 1) * sizeof(t->keys[0]));
    t->n--;
    t->evicted++;
}

/* When a source that is up now can turn stale at the earliest (now, for one held while not up). */
static uint64_t
victim_time(const struct pk_sources *t, const struct pk_source *s, int up, uint64_t now_ns)
{
    return up ? s->last_seen_ns + stale_after_ms(t, s) * 1000000 : now_ns;
}

/*
 * Forgets the source heard from least recently among those that are not up (and hold nothing
 * in the merge buffer); with owner, only among that peer's. 0 when there is none: nothing ever
 * evicts a source that is up. A full table of live sources under a flood of new ids would scan
 * them all for every message: the scan remembers when a victim may appear at the earliest, and
 * is skipped until then (a hello or goodbye, which may change that time, resets it).
 */
static int
evict_one(struct pk_sources *t, const char *owner, uint64_t owner_hash, uint64_t now_ns)
{
    size_t victim = t->n;
    uint64_t earliest = UINT64_MAX;

    if (owner == NULL && now_ns < t->no_victim_until_ns)
        return 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct pk_source *s = t->v[i];
        int up;
        if (owner != NULL && !same_peer(t->keys[i].owner_hash, s->owner, owner_hash, owner))
            continue;
        up = pk_source_state(t, s, now_ns) == PK_SOURCE_UP;
        if (s->held > 0 || up) {
            uint64_t when = victim_time(t, s, up, now_ns);
            earliest = when < earliest ? when : earliest;
            continue;
        }
        if (victim == t->n || s->last_seen_ns < t->v[victim]->last_seen_ns)
            victim = i;
    }
    if (victim == t->n) {
        if (owner == NULL)
            t->no_victim_until_ns = earliest;
        return 0;
    }
    remove_at(t, victim);
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
    free(t->keys);
    pk_graves_free(t);
    t->v = NULL;
    t->keys = NULL;
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
        if (t->keys[i].id == id) {
            struct pk_source *s = t->v[i];
            struct pk_source_key k = t->keys[i];
            if (i > 0) { /* move to front: a busy source is found first next time */
                memmove(&t->v[1], &t->v[0], i * sizeof(t->v[0]));
                memmove(&t->keys[1], &t->keys[0], i * sizeof(t->keys[0]));
                t->v[0] = s;
                t->keys[0] = k;
            }
            return s;
        }
    }
    return NULL;
}

static size_t
sources_of(const struct pk_sources *t, const char *owner, uint64_t hash)
{
    size_t n = 0;

    for (size_t i = 0; i < t->n; i++)
        n += same_peer(t->keys[i].owner_hash, t->v[i]->owner, hash, owner);
    return n;
}

/* Makes room for a new source of owner: 0, or -ENOSPC with the reason it cannot have one. */
static int
make_room(struct pk_sources *t, const char *owner, uint64_t hash, uint64_t now_ns,
          enum pk_source_refusal *why)
{
    if (sources_of(t, owner, hash) >= t->per_peer_limit && !evict_one(t, owner, hash, now_ns)) {
        *why = PK_SR_PEER_LIMIT;
        return -ENOSPC;
    }
    if (t->n >= t->limit && !evict_one(t, NULL, 0, now_ns)) {
        *why = PK_SR_TABLE_FULL;
        return -ENOSPC;
    }
    return 0;
}

static struct pk_source *
add(struct pk_sources *t, const struct pk_frame *f, const char *owner, uint64_t hash,
    uint64_t now_ns)
{
    struct pk_source *s;

    if (t->v == NULL) { /* sized once: the table never holds more than limit */
        t->v = calloc(t->limit, sizeof(*t->v));
        t->keys = calloc(t->limit, sizeof(*t->keys));
        if (t->v == NULL || t->keys == NULL) {
            free(t->v);
            free(t->keys);
            t->v = NULL;
            t->keys = NULL;
            return NULL;
        }
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL || (s->filter = strdup("")) == NULL) {
        free(s);
        return NULL;
    }
    memmove(&t->v[1], &t->v[0], t->n * sizeof(t->v[0]));
    memmove(&t->keys[1], &t->keys[0], t->n * sizeof(t->keys[0]));
    t->v[0] = s;
    t->keys[0] = (struct pk_source_key){f->source_id, hash};
    t->n++;
    s->id = f->source_id;
    copy_str(s->name, sizeof(s->name), &f->name);
    snprintf(s->owner, sizeof(s->owner), "%s", owner);
    s->first_seen_ns = now_ns;
    return s;
}

/* The refusal-table entry of peer: found, or made in place of the least recent one. */
static struct pk_refusing_peer *
refusing_peer(struct pk_sources *t, const char *peer, uint64_t hash, uint64_t now_ns, int *first)
{
    struct pk_refusing_peer *last = &t->refusing[t->last_refusing];
    size_t i, oldest = 0;

    *first = 0;
    if (t->nrefusing > 0 && same_peer(last->hash, last->peer, hash, peer))
        return last; /* a flood comes from one peer: found first */
    for (i = 0; i < t->nrefusing; i++) {
        if (same_peer(t->refusing[i].hash, t->refusing[i].peer, hash, peer))
            break;
        if (t->refusing[i].last_ns < t->refusing[oldest].last_ns)
            oldest = i;
    }
    if (i == t->nrefusing) {
        if (t->nrefusing < PK_REFUSING_PEERS) {
            t->nrefusing++;
        } else {
            i = oldest;
            t->refusing_forgotten++;
        }
        memset(&t->refusing[i], 0, sizeof(t->refusing[i]));
        snprintf(t->refusing[i].peer, sizeof(t->refusing[i].peer), "%s", peer);
        t->refusing[i].hash = hash;
        t->refusing[i].first_ns = now_ns;
        *first = 1;
    }
    t->last_refusing = i;
    return &t->refusing[i];
}

static void
refuse(struct pk_sources *t, const char *peer, uint64_t hash, const char *addr,
       enum pk_source_refusal why, uint64_t now_ns, struct pk_admission *a)
{
    struct pk_refusing_peer *p = refusing_peer(t, peer, hash, now_ns, &a->first_refusal);

    snprintf(p->addr, sizeof(p->addr), "%s", addr);
    p->count[why]++;
    p->last_ns = now_ns;
    t->refused_by[why]++;
    if (why != PK_SR_OTHER_PEER)
        t->refused++;
    a->what = PK_ADMIT_REFUSED;
    a->why = why;
    a->peer = p;
}

/*
 * A known id from another peer. The source moves to it only when it is not up, or when its own
 * connection closed (a tcp-raw agent that reconnects comes from a new port): so a peer that
 * read the id in /status cannot say goodbye for a live source, nor send its packets.
 */
static int
may_move(const struct pk_sources *t, const struct pk_source *s, uint64_t now_ns)
{
    return pk_source_state(t, s, now_ns) != PK_SOURCE_UP || (t->per_connection && !s->connected);
}

/* The source now speaks from owner. A sequence that starts over is a new run of the same id
 * (a capture stream whose id came round again): its bases are taken afresh. */
static void
move(struct pk_source *s, const struct pk_frame *f, const char *owner)
{
    snprintf(s->owner, sizeof(s->owner), "%s", owner);
    if (s->have_seq && f->seq < s->next_seq) {
        s->have_seq = s->have_index = 0;
        memset(&s->agent, 0, sizeof(s->agent)); /* a new run's counters start again */
        s->run_failed = s->awaiting_report = 0;
    }
}

/*
 * A sequence or packet index that jumps further than any agent can (PK_SEQ_JUMP_MAX,
 * PK_INDEX_JUMP_MAX), or a batch whose index would wrap: from the source's own peer (zmq
 * without CURVE: any process at its address), such a message would make every later one of
 * the real agent a duplicate, and its lost counts absurd. Judged before the books move.
 */
static int
implausible(const struct pk_source *s, const struct pk_frame *f)
{
    uint64_t next_index, to;

    if (s->have_seq && f->seq > s->next_seq && f->seq - s->next_seq > PK_SEQ_JUMP_MAX)
        return 1;
    if (f->kind == PK_KIND_PACKETS) {
        to = f->u.packets.first_index;
        if (to > UINT64_MAX - f->u.packets.count)
            return 1;
    } else if (f->kind == PK_KIND_STATS || f->kind == PK_KIND_GOODBYE) {
        to = pk_stats_index(&f->u.stats);
    } else {
        return 0;
    }
    if (s->have_index)
        next_index = s->next_index;
    else if (!s->have_seq && f->seq == 0)
        next_index = 0; /* seen from its first message (track_seq): the base is 0 */
    else
        return 0; /* joined late: this message sets the base */
    return to > next_index && to - next_index > PK_INDEX_JUMP_MAX;
}

/* Sequence bookkeeping of an admitted message; 0, or -EALREADY for a duplicate (dropped). */
static int
track_seq(struct pk_source *s, const struct pk_frame *f)
{
    if (s->have_seq && f->seq < s->next_seq) {
        s->duplicates++; /* a repeat, or older than one already taken: never written twice */
        return -EALREADY;
    }
    if (s->have_seq) {
        s->lost_messages += f->seq - s->next_seq;
    } else if (f->seq == 0) {
        /* Seen from its very first message: every packet it relays should arrive here. */
        s->have_index = 1;
        s->index_base = s->next_index = 0;
    }
    /* Otherwise this collector started (or restarted) after the source: the base is here. */
    s->next_seq = f->seq + 1;
    s->have_seq = 1;
    return 0;
}

/*
 * A message with an id not in the table: a new source, or an evicted one that takes its
 * tombstone back, bound to this peer as a source that was not up would be (may_move). 0, or -1
 * when refused; a refused message of an evicted source is counted in its tombstone.
 */
static int
admit_new(struct pk_sources *t, const struct pk_frame *f, const char *peer, uint64_t hash,
          const char *addr, uint64_t now_ns, struct pk_admission *a)
{
    struct pk_source *s = NULL;
    long grave;

    /* a->why stays PK_SR_TABLE_FULL when add() is out of memory */
    int rc = make_room(t, peer, hash, now_ns, &a->why);
    if (rc == 0)
        s = add(t, f, peer, hash, now_ns);
    grave = pk_graves_find(t, f->source_id); /* after make_room: an eviction may bury over it */
    if (s == NULL) {
        if (grave >= 0)
            t->graves[grave].refused++;
        refuse(t, peer, hash, addr, a->why, now_ns, a);
        return -1;
    }
    a->what = PK_ADMIT_NEW;
    if (grave >= 0) {
        pk_graves_raise(t, grave, s);
        move(s, f, peer);
        a->what = PK_ADMIT_MOVED;
    }
    a->source = s;
    return 0;
}

void
pk_sources_admit(struct pk_sources *t, const struct pk_frame *f, const char *peer, const char *addr,
                 uint64_t now_ns, struct pk_admission *a)
{
    struct pk_source *s = find(t, f->source_id);
    uint64_t hash = peer_hash(peer);

    memset(a, 0, sizeof(*a));
    a->what = PK_ADMIT_KNOWN;
    if (s == NULL) {
        if (admit_new(t, f, peer, hash, addr, now_ns, a) != 0)
            return;
        s = a->source;
    } else if (!same_peer(t->keys[0].owner_hash, s->owner, hash, peer)) { /* s is first */
        if (!may_move(t, s, now_ns)) {
            s->foreign++;
            refuse(t, peer, hash, addr, PK_SR_OTHER_PEER, now_ns, a);
            a->source = s;
            return;
        }
        move(s, f, peer);
        t->keys[0].owner_hash = hash;
        a->what = PK_ADMIT_MOVED;
    }
    a->source = s;
    if (implausible(s, f)) {
        s->implausible++;
        a->what = PK_ADMIT_DROPPED;
        return;
    }
    if (track_seq(s, f) != 0) {
        a->what = PK_ADMIT_DROPPED;
        return;
    }
    s->last_seen_ns = now_ns;
    s->messages++;
    s->said_goodbye = 0; /* a source that speaks after its goodbye is up again */
    if (f->kind == PK_KIND_HELLO || f->kind == PK_KIND_GOODBYE)
        t->no_victim_until_ns = 0; /* its heartbeat, or its goodbye, may make a victim sooner */
}

struct pk_source *
pk_sources_track(struct pk_sources *t, const struct pk_frame *f, uint64_t now_ns, int *created)
{
    struct pk_admission a;

    pk_sources_admit(t, f, "", "", now_ns, &a);
    *created = a.what == PK_ADMIT_NEW;
    return a.what == PK_ADMIT_REFUSED || a.what == PK_ADMIT_DROPPED ? NULL : a.source;
}

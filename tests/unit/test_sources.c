/* Source table: identity, sequence and packet-index gaps, limits. */
#include "frame.h"
#include "sources.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static struct pk_frame
frame(uint64_t id, uint64_t seq)
{
    struct pk_frame f = {.source_id = id, .seq = seq, .kind = PK_KIND_STATS};
    f.name.ptr = "agent-a";
    f.name.len = 7;
    return f;
}

static void
test_sequence_gaps(void **state)
{
    struct pk_sources t;
    struct pk_frame f;
    struct pk_source *s;
    int created;

    (void)state;
    pk_sources_init(&t, 8, 3000, 30000);
    f = frame(1, 10); /* a collector that starts late sees seq 10 first: no loss */
    s = pk_sources_track(&t, &f, 100, &created);
    assert_non_null(s);
    assert_int_equal(created, 1);
    assert_string_equal(s->name, "agent-a");
    f = frame(1, 11);
    assert_ptr_equal(pk_sources_track(&t, &f, 200, &created), s);
    assert_int_equal(created, 0);
    f = frame(1, 15); /* 12, 13, 14 lost */
    pk_sources_track(&t, &f, 300, &created);
    assert_true(s->lost_messages == 3);
    f = frame(1, 13); /* late: counted as lost already, so dropped (never counted twice) */
    assert_null(pk_sources_track(&t, &f, 400, &created));
    f = frame(1, 15); /* a repeat */
    assert_null(pk_sources_track(&t, &f, 400, &created));
    assert_true(s->duplicates == 2 && s->lost_messages == 3);
    assert_true(s->messages == 3);
    assert_true(s->first_seen_ns == 100 && s->last_seen_ns == 300);
    pk_sources_free(&t);
}

static void
test_packet_index_gaps(void **state)
{
    struct pk_sources t;
    struct pk_frame f = frame(2, 3); /* joined late: the first batch's index is the base */
    struct pk_packets p = {.linktype = 1};
    struct pk_source *s;
    int created;

    (void)state;
    pk_sources_init(&t, 8, 3000, 30000);
    s = pk_sources_track(&t, &f, 1, &created);
    p.first_index = 500, p.count = 10;
    assert_true(pk_source_apply_packets(s, &p) == 0);
    p.first_index = 510, p.count = 5;
    assert_true(pk_source_apply_packets(s, &p) == 0);
    p.first_index = 540, p.count = 1; /* 515..539 lost */
    assert_true(pk_source_apply_packets(s, &p) == 25);
    assert_true(s->lost_packets == 25);
    pk_sources_free(&t);
}

static void
test_hello_and_limit(void **state)
{
    struct pk_sources t;
    struct pk_frame f;
    struct pk_hello h = {.linktype = 1, .snaplen = 1500};
    struct pk_source *s;
    int created;

    (void)state;
    pk_sources_init(&t, 2, 3000, 30000);
    f = frame(1, 0);
    s = pk_sources_track(&t, &f, 1, &created);
    h.host = (struct pk_str){"web1", 4};
    h.device = (struct pk_str){"eth0", 4};
    h.filter = (struct pk_str){"port 80", 7};
    h.version = (struct pk_str){"0.1.0", 5};
    assert_int_equal(pk_source_apply_hello(s, &h), 1);
    assert_int_equal(pk_source_apply_hello(s, &h), 0); /* the periodic hello changes nothing */
    assert_string_equal(s->filter, "port 80");
    assert_string_equal(s->host, "web1");
    {
        /* A 64 KiB filter keeps its first PK_SOURCE_FILTER_MAX bytes: the table stays bounded. */
        static char big[65535];
        memset(big, 'x', sizeof(big));
        h.filter = (struct pk_str){big, sizeof(big)};
        assert_int_equal(pk_source_apply_hello(s, &h), 1);
        assert_int_equal(strlen(s->filter), PK_SOURCE_FILTER_MAX);
        h.filter = (struct pk_str){"port 80", 7};
        assert_int_equal(pk_source_apply_hello(s, &h), 1);
    }
    h.linktype = 113;
    assert_int_equal(pk_source_apply_hello(s, &h), 1);
    f = frame(2, 0);
    assert_non_null(pk_sources_track(&t, &f, 1, &created));
    f = frame(3, 0);
    assert_null(pk_sources_track(&t, &f, 1, &created));
    assert_true(t.refused == 1);
    f = frame(1, 1); /* known sources still work when the table is full */
    assert_ptr_equal(pk_sources_track(&t, &f, 2, &created), s);
    /* Once a source is gone, a new one takes its place. */
    f = frame(1, 2);
    f.kind = PK_KIND_GOODBYE;
    assert_ptr_equal(pk_sources_track(&t, &f, 2, &created), s);
    pk_source_apply_stats(s, &f.u.stats, 1);
    f = frame(3, 0);
    assert_non_null(pk_sources_track(&t, &f, 3, &created));
    assert_true(t.evicted == 1 && t.n == 2);
    pk_sources_free(&t);
}

static void
test_states(void **state)
{
    struct pk_sources t;
    struct pk_frame f = frame(1, 0);
    struct pk_source *s;
    int created;
    const uint64_t ms = 1000000;

    (void)state;
    pk_sources_init(&t, 8, 3000, 30000);
    s = pk_sources_track(&t, &f, 1000 * ms, &created);
    assert_int_equal(pk_source_state(&t, s, 1000 * ms), PK_SOURCE_UP);
    assert_int_equal(pk_source_state(&t, s, 3999 * ms), PK_SOURCE_UP);
    assert_int_equal(pk_source_state(&t, s, 4000 * ms), PK_SOURCE_STALE);
    assert_int_equal(pk_source_state(&t, s, 31000 * ms), PK_SOURCE_GONE);
    s->said_goodbye = 1;
    assert_int_equal(pk_source_state(&t, s, 1000 * ms), PK_SOURCE_GONE);
    assert_string_equal(pk_source_state_names[PK_SOURCE_STALE], "stale");
    pk_sources_free(&t);
}

/* Names from the network: control bytes and what is not UTF-8 become '?', UTF-8 stays. */
static void
test_name_sanitized(void **state)
{
    static const struct {
        const char *sent, *kept;
    } cases[] = {
        {"caf\xc3\xa9-\xe2\x82\xac", "caf\xc3\xa9-\xe2\x82\xac"}, /* é, € */
        {"a\x1b[31mred", "a?[31mred"},                            /* terminal escape */
        {"nl\nx\x7f", "nl?x?"},
        {"bad\xff\xc3(", "bad?" "?("},      /* invalid, truncated */
        {"\xc0\xaf\xed\xa0\x80", "?????"}, /* overlong, surrogate */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pk_sources t;
        struct pk_frame f = frame(9, 1);
        int created;
        f.name.ptr = cases[i].sent;
        f.name.len = strlen(cases[i].sent);
        pk_sources_init(&t, 8, 3000, 30000);
        assert_string_equal(pk_sources_track(&t, &f, 1, &created)->name, cases[i].kept);
        pk_sources_free(&t);
    }
}

static const uint64_t MS = 1000000;

static enum pk_admit
admit(struct pk_sources *t, uint64_t id, uint64_t seq, int kind, const char *peer,
      uint64_t now_ns, struct pk_admission *a)
{
    struct pk_frame f = frame(id, seq);

    f.kind = (uint8_t)kind;
    pk_sources_admit(t, &f, peer, peer, now_ns, a);
    return a->what;
}

/* The start the books tests share: a table (8 sources, stale after 5 s, forgotten after 60 s)
 * and source "A" of the given id, seen from its hello from peer "A" at now_ns. */
static struct pk_source *
source_from_hello(struct pk_sources *t, uint64_t id, uint64_t now_ns, struct pk_admission *a)
{
    pk_sources_init(t, 8, 5000, 60000);
    admit(t, id, 0, PK_KIND_HELLO, "A", now_ns, a);
    return a->source;
}

/* A source is bound to its first peer: another peer can neither say goodbye for it nor evict
 * it, however many ids it brings; the source's own messages keep coming in. */
static void
test_bound_to_first_peer(void **state)
{
    struct pk_sources t;
    struct pk_admission a;
    struct pk_source *s;

    (void)state;
    pk_sources_init(&t, 1024, 5000, 60000);
    assert_int_equal(admit(&t, 7, 0, PK_KIND_HELLO, "10.0.0.1:4000", 1 * MS, &a), PK_ADMIT_NEW);
    s = a.source;
    assert_string_equal(s->owner, "10.0.0.1:4000");
    assert_int_equal(admit(&t, 7, 1, PK_KIND_GOODBYE, "10.0.0.9:5000", 2 * MS, &a),
                     PK_ADMIT_REFUSED);
    assert_int_equal(a.why, PK_SR_OTHER_PEER);
    assert_ptr_equal(a.source, s);
    assert_true(a.first_refusal);
    assert_int_equal(admit(&t, 7, 2, PK_KIND_STATS, "10.0.0.9:5000", 3 * MS, &a),
                     PK_ADMIT_REFUSED);
    assert_false(a.first_refusal); /* logged once per peer */
    assert_true(s->foreign == 2 && t.refused_by[PK_SR_OTHER_PEER] == 2 && t.refused == 0);
    assert_true(s->messages == 1 && s->next_seq == 1); /* the spoofed ones changed nothing */
    for (uint64_t id = 100; id < 100 + 2000; id++)
        admit(&t, id, 0, PK_KIND_HELLO, "10.0.0.9:5000", 4 * MS, &a);
    assert_int_equal(admit(&t, 7, 1, PK_KIND_STATS, "10.0.0.1:4000", 5 * MS, &a), PK_ADMIT_KNOWN);
    assert_ptr_equal(a.source, s);
    assert_int_equal(pk_source_state(&t, s, 5 * MS), PK_SOURCE_UP);
    assert_true(t.n == 1 + PK_SOURCES_PER_PEER && t.evicted == 0);
    assert_true(t.nrefusing == 1 && t.refusing[0].count[PK_SR_PEER_LIMIT] == 2000 - 64);
    assert_true(t.refusing[0].count[PK_SR_OTHER_PEER] == 2);
    assert_string_equal(t.refusing[0].peer, "10.0.0.9:5000");
    /* An identity longer than the table stores is still recognised as itself. */
    {
        const char *longer = "[fe80:1111:2222:3333:4444:5555:6666:7777%a-very-long-ifname]:65535";
        assert_true(strlen(longer) >= PK_PEER_ID_LEN);
        assert_int_equal(admit(&t, 9, 0, PK_KIND_HELLO, longer, 6 * MS, &a), PK_ADMIT_NEW);
        assert_int_equal(admit(&t, 9, 1, PK_KIND_STATS, longer, 7 * MS, &a), PK_ADMIT_KNOWN);
    }
    pk_sources_free(&t);
}

/* A source moves to another peer only when it is not up, or (per-connection transports) when
 * its own connection closed: an agent that reconnects from a new port. */
static void
test_moves_when_not_up_or_disconnected(void **state)
{
    struct pk_sources t;
    struct pk_admission a;
    struct pk_source *s;

    (void)state;
    pk_sources_init(&t, 1024, 5000, 60000);
    t.per_connection = 1;
    admit(&t, 7, 0, PK_KIND_HELLO, "127.0.0.1:4000", 1000 * MS, &a);
    s = a.source;
    s->connected = 1;
    assert_int_equal(admit(&t, 7, 1, PK_KIND_STATS, "127.0.0.1:4001", 1001 * MS, &a),
                     PK_ADMIT_REFUSED);
    s->connected = 0; /* the transport said its connection closed */
    assert_int_equal(admit(&t, 7, 1, PK_KIND_HELLO, "127.0.0.1:4001", 1002 * MS, &a),
                     PK_ADMIT_MOVED);
    assert_string_equal(s->owner, "127.0.0.1:4001");
    assert_true(s->next_seq == 2 && s->lost_messages == 0);
    /* Without per-connection peers (zmq), only silence frees it. */
    t.per_connection = 0;
    assert_int_equal(admit(&t, 7, 2, PK_KIND_STATS, "key-B", 1003 * MS, &a), PK_ADMIT_REFUSED);
    assert_int_equal(admit(&t, 7, 2, PK_KIND_STATS, "key-B", 7000 * MS, &a), PK_ADMIT_MOVED);
    assert_string_equal(s->owner, "key-B");
    /* A run that starts over on the new peer gets new bases, not 2^64 lost messages. */
    s->connected = 0;
    t.per_connection = 1;
    assert_int_equal(admit(&t, 7, 0, PK_KIND_HELLO, "127.0.0.1:4002", 7001 * MS, &a),
                     PK_ADMIT_MOVED);
    assert_true(s->next_seq == 1 && s->duplicates == 0 && s->lost_messages == 0);
    pk_sources_free(&t);
}

/* A goodbye from its own peer makes a source gone; anything it sends after brings it back. */
static void
test_speaks_after_goodbye(void **state)
{
    struct pk_sources t;
    struct pk_admission a;
    struct pk_stats st = {.relayed = 0};
    struct pk_source *s;

    (void)state;
    pk_sources_init(&t, 1024, 5000, 60000);
    admit(&t, 7, 0, PK_KIND_HELLO, "A", 1 * MS, &a);
    s = a.source;
    admit(&t, 7, 1, PK_KIND_GOODBYE, "A", 2 * MS, &a);
    pk_source_apply_stats(s, &st, 1);
    assert_int_equal(pk_source_state(&t, s, 2 * MS), PK_SOURCE_GONE);
    assert_int_equal(admit(&t, 7, 2, PK_KIND_HELLO, "A", 3 * MS, &a), PK_ADMIT_KNOWN);
    assert_false(s->said_goodbye);
    assert_int_equal(pk_source_state(&t, s, 3 * MS), PK_SOURCE_UP);
    pk_sources_free(&t);
}

/* One peer may hold PK_SOURCES_PER_PEER sources; past that its new ids are refused while its
 * sources are up, and replace its own oldest once they are not. Others are not affected. */
static void
test_per_peer_limit(void **state)
{
    struct pk_sources t;
    struct pk_admission a;
    const uint64_t flood = 100000;

    (void)state;
    pk_sources_init(&t, 1024, 5000, 60000);
    for (uint64_t id = 1; id <= flood; id++)
        admit(&t, id, 0, PK_KIND_STATS, "evil", 10 * MS, &a);
    assert_true(t.n == PK_SOURCES_PER_PEER);
    assert_true(t.refused == flood - 64 && t.refused_by[PK_SR_PEER_LIMIT] == flood - 64);
    assert_true(t.nrefusing == 1 && t.refusing[0].count[PK_SR_PEER_LIMIT] == flood - 64);
    assert_int_equal(admit(&t, flood + 1, 0, PK_KIND_HELLO, "good", 11 * MS, &a), PK_ADMIT_NEW);
    /* Once evil's sources are stale, its new ids take their places, one for one. */
    assert_int_equal(admit(&t, flood + 2, 0, PK_KIND_STATS, "evil", 6000 * MS, &a),
                     PK_ADMIT_NEW);
    assert_true(t.n == PK_SOURCES_PER_PEER + 1 && t.evicted == 1);
    assert_int_equal(admit(&t, flood + 1, 1, PK_KIND_STATS, "good", 6000 * MS, &a),
                     PK_ADMIT_KNOWN); /* "good" went stale too, but was not evicted for evil */
    pk_sources_free(&t);
}

/* A full table forgets the least recently heard source that is not up (stale or gone, holding
 * nothing for the merge), and refuses when every source is up. */
static void
test_full_table_evicts_not_up(void **state)
{
    struct pk_sources t;
    struct pk_admission a;
    struct pk_source *older;

    (void)state;
    pk_sources_init(&t, 3, 5000, 60000);
    admit(&t, 1, 0, PK_KIND_HELLO, "p1", 1000 * MS, &a);
    older = a.source;
    admit(&t, 2, 0, PK_KIND_HELLO, "p2", 2000 * MS, &a);
    admit(&t, 3, 0, PK_KIND_HELLO, "p3", 9000 * MS, &a);
    older->held = 1; /* in the merge buffer: kept */
    assert_int_equal(admit(&t, 4, 0, PK_KIND_HELLO, "p4", 9500 * MS, &a), PK_ADMIT_NEW);
    assert_true(t.evicted == 1 && t.n == 3);
    for (size_t i = 0; i < t.n; i++) /* 2 went (ids: its memory may hold the new source now) */
        assert_true(t.v[i]->id != 2);
    assert_int_equal(admit(&t, 5, 0, PK_KIND_HELLO, "p5", 9500 * MS, &a), PK_ADMIT_REFUSED);
    assert_int_equal(a.why, PK_SR_TABLE_FULL);
    assert_true(t.refused == 1 && t.refused_by[PK_SR_TABLE_FULL] == 1);
    pk_sources_free(&t);
}

/* A full table of live sources is not scanned for every new id, yet a source becomes a victim
 * as soon as it goes stale or says goodbye. */
static void
test_full_table_victim_as_soon_as_not_up(void **state)
{
    struct pk_sources t;
    struct pk_admission a;
    struct pk_stats st = {0};
    struct pk_source *second;

    (void)state;
    pk_sources_init(&t, 2, 5000, 60000);
    admit(&t, 1, 0, PK_KIND_HELLO, "p1", 0, &a);
    admit(&t, 2, 0, PK_KIND_HELLO, "p2", 1000 * MS, &a);
    second = a.source;
    assert_int_equal(admit(&t, 3, 0, PK_KIND_HELLO, "p3", 2000 * MS, &a), PK_ADMIT_REFUSED);
    assert_int_equal(admit(&t, 4, 0, PK_KIND_HELLO, "p4", 4999 * MS, &a), PK_ADMIT_REFUSED);
    assert_int_equal(admit(&t, 5, 0, PK_KIND_HELLO, "p5", 5000 * MS, &a), PK_ADMIT_NEW);
    assert_true(t.evicted == 1);
    assert_int_equal(admit(&t, 6, 0, PK_KIND_HELLO, "p6", 5001 * MS, &a), PK_ADMIT_REFUSED);
    admit(&t, 2, 1, PK_KIND_GOODBYE, "p2", 5002 * MS, &a);
    pk_source_apply_stats(second, &st, 1);
    assert_int_equal(admit(&t, 7, 0, PK_KIND_HELLO, "p7", 5003 * MS, &a), PK_ADMIT_NEW);
    assert_true(t.evicted == 2 && t.n == 2);
    pk_sources_free(&t);
}

/* The table of refusing peers keeps the most recent PK_REFUSING_PEERS; the rest are counted. */
static void
test_refusing_peers_bounded(void **state)
{
    struct pk_sources t;
    struct pk_admission a;
    char peer[32];
    int firsts = 0;

    (void)state;
    pk_sources_init(&t, 1, 5000, 60000);
    admit(&t, 1, 0, PK_KIND_HELLO, "owner", 1 * MS, &a);
    for (int i = 0; i < 200; i++) {
        snprintf(peer, sizeof(peer), "10.0.%d.%d:99", i / 250, i % 250);
        admit(&t, 1000 + (uint64_t)i, 0, PK_KIND_HELLO, peer, (2 + (uint64_t)i) * MS, &a);
        assert_int_equal(a.what, PK_ADMIT_REFUSED);
        firsts += a.first_refusal;
    }
    assert_int_equal(firsts, 200);
    assert_true(t.nrefusing == PK_REFUSING_PEERS && t.refusing_forgotten == 200 - 64);
    for (size_t i = 0; i < t.nrefusing; i++) /* the most recent ones are kept */
        assert_true(t.refusing[i].last_ns >= (2 + 200 - 64) * MS);
    pk_sources_free(&t);
}

/* The relayed total of a stats or goodbye closes the books on what never arrived, also for a
 * collector that joined the source late (index_base). */
static void
test_relayed_total_closes_the_books(void **state)
{
    struct pk_sources t;
    struct pk_admission a;
    struct pk_packets p = {.linktype = 1};
    struct pk_stats st = {0};
    struct pk_source *s;

    (void)state;
    /* Seen from its first message: a batch lost right before the goodbye is counted. */
    s = source_from_hello(&t, 1, 1, &a);
    admit(&t, 1, 1, PK_KIND_PACKETS, "A", 2, &a);
    p.first_index = 0, p.count = 10;
    assert_true(pk_source_apply_packets(s, &p) == 0);
    s->packets += 10;
    admit(&t, 1, 3, PK_KIND_GOODBYE, "A", 3, &a); /* seq 2, packets 10..19, lost */
    st.relayed = 20;
    assert_true(pk_source_apply_stats(s, &st, 1) == 10);
    assert_true(s->lost_packets == 10 && s->lost_messages == 1 && s->said_goodbye);
    assert_true(st.relayed == s->index_base + s->packets + s->lost_packets);
    /* Seen from its first message, but its first batch lost: counted at the next one. */
    admit(&t, 2, 0, PK_KIND_HELLO, "B", 1, &a);
    s = a.source;
    admit(&t, 2, 2, PK_KIND_PACKETS, "B", 2, &a);
    p.first_index = 5, p.count = 5;
    assert_true(pk_source_apply_packets(s, &p) == 5 && s->index_base == 0);
    /* Joined late (a collector restart): what was relayed before is not lost here. */
    admit(&t, 3, 500, PK_KIND_STATS, "C", 1, &a);
    s = a.source;
    st.relayed = 1000;
    assert_true(pk_source_apply_stats(s, &st, 0) == 0 && s->index_base == 1000);
    admit(&t, 3, 501, PK_KIND_PACKETS, "C", 2, &a);
    p.first_index = 1000, p.count = 10;
    assert_true(pk_source_apply_packets(s, &p) == 0);
    s->packets += 10;
    st.relayed = 1030; /* 1010..1029 never came */
    admit(&t, 3, 503, PK_KIND_GOODBYE, "C", 3, &a);
    assert_true(pk_source_apply_stats(s, &st, 1) == 20);
    assert_true(st.relayed == s->index_base + s->packets + s->lost_packets);
    /* Joined late at a packets message: its first index is the base. */
    admit(&t, 4, 77, PK_KIND_PACKETS, "D", 1, &a);
    s = a.source;
    p.first_index = 300, p.count = 3;
    assert_true(pk_source_apply_packets(s, &p) == 0 && s->index_base == 300);
    st.relayed = 303;
    assert_true(pk_source_apply_stats(s, &st, 1) == 0);
    pk_sources_free(&t);
}

/* A source that says it speaks every 10 s is not stale 5 s into a silence; an absurd interval
 * still ends at SOURCE_GONE_AFTER. */
static void
test_heartbeat_sets_liveness(void **state)
{
    struct pk_sources t;
    struct pk_admission a;
    struct pk_hello h = {.linktype = 1, .heartbeat_ms = 10000};
    struct pk_source *s;

    (void)state;
    s = source_from_hello(&t, 1, 1000 * MS, &a);
    pk_source_apply_hello(s, &h);
    assert_int_equal(pk_source_state(&t, s, 30999 * MS), PK_SOURCE_UP);
    assert_int_equal(pk_source_state(&t, s, 31000 * MS), PK_SOURCE_STALE);
    h.heartbeat_ms = 1000; /* a short interval: SOURCE_STALE_AFTER rules */
    pk_source_apply_hello(s, &h);
    assert_int_equal(pk_source_state(&t, s, 6000 * MS), PK_SOURCE_STALE);
    h.heartbeat_ms = 0xffffffffu;
    pk_source_apply_hello(s, &h);
    assert_int_equal(pk_source_state(&t, s, 60999 * MS), PK_SOURCE_UP);
    assert_int_equal(pk_source_state(&t, s, 61000 * MS), PK_SOURCE_GONE);
    pk_sources_free(&t);
}

/* A message of kind packets (count packets from first) or stats (relayed). */
static enum pk_admit
admit_batch(struct pk_sources *t, uint64_t id, uint64_t seq, int kind, uint64_t index,
            uint32_t count, const char *peer, uint64_t now_ns, struct pk_admission *a)
{
    struct pk_frame f = frame(id, seq);

    f.kind = (uint8_t)kind;
    if (kind == PK_KIND_PACKETS)
        f.u.packets = (struct pk_packets){.linktype = 1, .count = count, .first_index = index};
    else
        f.u.stats = (struct pk_stats){.relayed = index};
    pk_sources_admit(t, &f, peer, peer, now_ns, a);
    if (a->what != PK_ADMIT_REFUSED && a->what != PK_ADMIT_DROPPED) {
        if (kind == PK_KIND_PACKETS)
            pk_source_apply_packets(a->source, &f.u.packets);
        else
            pk_source_apply_stats(a->source, &f.u.stats, kind == PK_KIND_GOODBYE);
    }
    return a->what;
}

/* A source evicted while briefly stale, refused while the table is full of fresh ids, comes
 * back with its books: what it relayed meanwhile is lost in transit, not "before first seen". */
static void
test_evicted_source_resumes_books(void **state)
{
    struct pk_sources t;
    struct pk_admission a;
    struct pk_source *s;

    (void)state;
    pk_sources_init(&t, 2, 1000, 60000);
    admit(&t, 7, 0, PK_KIND_HELLO, "A", 1 * MS, &a);
    assert_int_equal(admit_batch(&t, 7, 1, PK_KIND_PACKETS, 0, 100, "A", 2 * MS, &a),
                     PK_ADMIT_KNOWN);
    admit(&t, 100, 0, PK_KIND_HELLO, "B", 2000 * MS, &a);
    admit(&t, 101, 0, PK_KIND_HELLO, "B", 2000 * MS, &a); /* 7 is stale: evicted */
    assert_true(t.evicted == 1 && t.ngraves == 1 && t.n == 2);
    assert_int_equal(admit_batch(&t, 7, 2, PK_KIND_PACKETS, 100, 1050, "A", 2001 * MS, &a),
                     PK_ADMIT_REFUSED);
    assert_int_equal(a.why, PK_SR_TABLE_FULL);
    /* The flood's ids are stale in turn: 7 takes a slot back, and its tombstone. */
    assert_int_equal(admit_batch(&t, 7, 3, PK_KIND_PACKETS, 1150, 100, "A2", 4000 * MS, &a),
                     PK_ADMIT_MOVED);
    s = a.source;
    assert_true(t.restored == 1 && t.ngraves == 1 && t.evicted == 2); /* 100 buried now */
    assert_true(s->first_seen_ns == 1 * MS && s->messages == 3 && s->packets == 0);
    assert_true(s->lost_messages == 1 && s->lost_packets == 1050 && s->index_base == 0);
    assert_true(s->refused == 1 && s->next_index == 1250);
    assert_string_equal(s->owner, "A2");
    assert_string_equal(s->filter, "");
    pk_sources_free(&t);

    /* The ring keeps the last PK_SOURCE_TOMBSTONES: the oldest is forgotten for good, and only
     * that one starts new books when it comes back. */
    pk_sources_init(&t, 1, 1000, 60000);
    for (uint64_t id = 1; id <= PK_SOURCE_TOMBSTONES + 2; id++)
        admit_batch(&t, id, 5, PK_KIND_STATS, 40, 0, "A", id * 2000 * MS, &a);
    assert_true(t.evicted == PK_SOURCE_TOMBSTONES + 1 && t.forgotten_for_good == 1);
    assert_true(t.ngraves == PK_SOURCE_TOMBSTONES);
    uint64_t later = (PK_SOURCE_TOMBSTONES + 4) * 2000 * MS;
    assert_int_equal(admit_batch(&t, 1, 9, PK_KIND_STATS, 90, 0, "A", later, &a), PK_ADMIT_NEW);
    assert_true(a.source->index_base == 90 && a.source->lost_messages == 0);
    /* That buried the last source over id 2's tombstone (and it, 1 over 3's): it comes back. */
    assert_int_equal(admit_batch(&t, PK_SOURCE_TOMBSTONES + 2, 9, PK_KIND_STATS, 90, 0, "A",
                                 later * 2, &a),
                     PK_ADMIT_MOVED);
    assert_true(a.source->index_base == 40 && a.source->lost_packets == 50);
    assert_true(a.source->lost_messages == 3 && t.forgotten_for_good == 3);
    pk_sources_free(&t);
}

/* A sequence or packet index far beyond any agent's (a peer at the agent's address) is dropped
 * and counted; the agent's own messages keep coming in, and the lost counts stay true. */
static void
test_implausible_jumps_dropped(void **state)
{
    struct pk_sources t;
    struct pk_admission a;
    struct pk_source *s;

    (void)state;
    s = source_from_hello(&t, 7, 1 * MS, &a);
    admit_batch(&t, 7, 1, PK_KIND_PACKETS, 0, 10, "A", 2 * MS, &a);
    assert_int_equal(admit(&t, 7, UINT64_MAX - 1, PK_KIND_STATS, "A", 3 * MS, &a),
                     PK_ADMIT_DROPPED);
    assert_int_equal(admit_batch(&t, 7, 2, PK_KIND_PACKETS, 1ull << 63, 1, "A", 3 * MS, &a),
                     PK_ADMIT_DROPPED);
    assert_int_equal(admit_batch(&t, 7, 2, PK_KIND_PACKETS, UINT64_MAX - 1, 5, "A", 3 * MS, &a),
                     PK_ADMIT_DROPPED);
    assert_int_equal(admit_batch(&t, 7, 2, PK_KIND_STATS, 1ull << 62, 0, "A", 3 * MS, &a),
                     PK_ADMIT_DROPPED);
    assert_true(s->implausible == 4 && s->next_seq == 2 && s->next_index == 10);
    assert_int_equal(admit_batch(&t, 7, 2, PK_KIND_PACKETS, 10, 10, "A", 4 * MS, &a),
                     PK_ADMIT_KNOWN);
    /* Large but possible gaps are still losses. */
    assert_int_equal(admit_batch(&t, 7, 3 + PK_SEQ_JUMP_MAX, PK_KIND_PACKETS,
                                 20 + PK_INDEX_JUMP_MAX, 1, "A", 5 * MS, &a),
                     PK_ADMIT_KNOWN);
    assert_true(s->lost_messages == PK_SEQ_JUMP_MAX && s->lost_packets == PK_INDEX_JUMP_MAX);
    assert_true(s->duplicates == 0 && s->implausible == 4);
    /* Seen from its first message, the base is 0: a first batch at 2^63 is implausible too. */
    admit(&t, 8, 0, PK_KIND_HELLO, "A", 6 * MS, &a);
    assert_int_equal(admit_batch(&t, 8, 1, PK_KIND_PACKETS, 1ull << 63, 1, "A", 7 * MS, &a),
                     PK_ADMIT_DROPPED);
    pk_sources_free(&t);
}

/* The agent's counters never go down: a stats message with lower ones is counted, and moves
 * none back (queued is a gauge); a new run of the id starts them again. */
static void
test_agent_counters_monotonic(void **state)
{
    struct pk_sources t;
    struct pk_admission a;
    struct pk_source *s;
    struct pk_stats st = {.captured = 100, .kernel_drops = 3, .relayed = 90, .queued = 5};

    (void)state;
    s = source_from_hello(&t, 7, 1 * MS, &a);
    pk_source_apply_stats(s, &st, 0);
    assert_true(s->lost_packets == 90);
    st = (struct pk_stats){.captured = 50, .kernel_drops = 9, .relayed = 40, .queued = 2};
    assert_true(pk_source_apply_stats(s, &st, 0) == 0);
    assert_true(s->agent.captured == 100 && s->agent.kernel_drops == 9);
    assert_true(s->agent.relayed == 90 && s->agent.queued == 2);
    assert_true(s->inconsistent_stats == 1 && s->lost_packets == 90 && s->next_index == 90);
    st.captured = 200;
    st.relayed = 95;
    pk_source_apply_stats(s, &st, 0);
    assert_true(s->inconsistent_stats == 1 && s->agent.captured == 200 && s->lost_packets == 95);
    /* A run that starts over (from another peer once this one is not up) starts again. */
    assert_int_equal(admit(&t, 7, 0, PK_KIND_HELLO, "B", 9000 * MS, &a), PK_ADMIT_MOVED);
    assert_true(s->agent.captured == 0 && s->agent.relayed == 0);
    pk_sources_free(&t);
}

/* An agent whose transport confirms delivery: a gap its delivery_failed total explains is booked
 * as delivery failed, not lost; a gap while it still has packets unconfirmed waits; the rest is
 * lost. Each packet is counted once. */
static void
test_delivery_failed_not_lost(void **state)
{
    struct pk_sources t;
    struct pk_admission a;
    struct pk_packets p = {.linktype = 1};
    struct pk_stats st = {0};
    struct pk_source *s;

    (void)state;
    s = source_from_hello(&t, 1, 1, &a);
    /* seq 1, packets 0..9, is in flight at the agent (and will fail): the stats says so. */
    admit(&t, 1, 2, PK_KIND_STATS, "A", 2, &a);
    st.unconfirmed = 10;
    assert_true(pk_source_apply_stats(s, &st, 0) == 0);
    assert_true(s->awaiting_report == 10 && s->lost_packets == 0);
    admit(&t, 1, 3, PK_KIND_PACKETS, "A", 3, &a);
    p.first_index = 10, p.count = 5;
    assert_true(pk_source_apply_packets(s, &p) == 0);
    s->packets += 5;
    /* Its report came: failed. */
    admit(&t, 1, 4, PK_KIND_STATS, "A", 4, &a);
    st.relayed = 5, st.delivery_failed = 10, st.unconfirmed = 0;
    assert_true(pk_source_apply_stats(s, &st, 0) == 0);
    assert_true(s->delivery_failed == 10 && s->awaiting_report == 0 && s->lost_packets == 0);
    /* A failure reported before its gap is seen: booked at once. */
    admit(&t, 1, 6, PK_KIND_STATS, "A", 5, &a);
    st.delivery_failed = 13;
    assert_true(pk_source_apply_stats(s, &st, 0) == 0 && s->delivery_failed == 13);
    /* Packets 18..27 delivered but never arrived: lost in transit. */
    admit(&t, 1, 8, PK_KIND_GOODBYE, "A", 6, &a);
    st.relayed = 15;
    assert_true(pk_source_apply_stats(s, &st, 1) == 10);
    assert_true(s->lost_packets == 10 && s->delivery_failed == 13 && s->awaiting_report == 0);
    assert_true(pk_stats_index(&st) ==
                s->index_base + s->packets + s->lost_packets + s->delivery_failed);
    /* A 48-byte stats (zmq, tcp-raw) keeps today's books: a gap is lost at once. */
    admit(&t, 2, 0, PK_KIND_HELLO, "B", 1, &a);
    s = a.source;
    admit(&t, 2, 1, PK_KIND_PACKETS, "B", 2, &a);
    p.first_index = 4, p.count = 1;
    assert_true(pk_source_apply_packets(s, &p) == 4 && s->lost_packets == 4);
    pk_sources_free(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequence_gaps),   cmocka_unit_test(test_packet_index_gaps),
        cmocka_unit_test(test_hello_and_limit), cmocka_unit_test(test_states),
        cmocka_unit_test(test_name_sanitized),
        cmocka_unit_test(test_bound_to_first_peer),
        cmocka_unit_test(test_moves_when_not_up_or_disconnected),
        cmocka_unit_test(test_speaks_after_goodbye),
        cmocka_unit_test(test_per_peer_limit),
        cmocka_unit_test(test_full_table_evicts_not_up),
        cmocka_unit_test(test_full_table_victim_as_soon_as_not_up),
        cmocka_unit_test(test_refusing_peers_bounded),
        cmocka_unit_test(test_relayed_total_closes_the_books),
        cmocka_unit_test(test_delivery_failed_not_lost),
        cmocka_unit_test(test_heartbeat_sets_liveness),
        cmocka_unit_test(test_evicted_source_resumes_books),
        cmocka_unit_test(test_implausible_jumps_dropped),
        cmocka_unit_test(test_agent_counters_monotonic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Source table: identity, sequence and packet-index gaps, limits. */
#include "frame.h"
#include "sources.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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
    f = frame(1, 13); /* late */
    pk_sources_track(&t, &f, 400, &created);
    assert_true(s->out_of_order == 1 && s->lost_messages == 3);
    assert_true(s->messages == 4);
    assert_true(s->first_seen_ns == 100 && s->last_seen_ns == 400);
    pk_sources_free(&t);
}

static void
test_packet_index_gaps(void **state)
{
    struct pk_sources t;
    struct pk_frame f = frame(2, 0);
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
    s->said_goodbye = 1;
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequence_gaps),   cmocka_unit_test(test_packet_index_gaps),
        cmocka_unit_test(test_hello_and_limit), cmocka_unit_test(test_states),
        cmocka_unit_test(test_name_sanitized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

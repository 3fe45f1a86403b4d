/* The source table and the control plane: what hellos and stats say of an agent's control, the
 * state /status shows, when the collector pushes (pk_source_control_due), and that a change of
 * the applied generation alone describes no interface anew while a new filter does. */
#include "frame.h"
#include "sources.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define SEC 1000000000ull

static struct pk_source *
new_source(struct pk_sources *t, uint64_t id)
{
    struct pk_frame f = {.source_id = id, .seq = 0, .kind = PK_KIND_HELLO};
    int created;

    f.name = (struct pk_str){"agent-a", 7};
    pk_sources_init(t, 8, 3000, 30000);
    return pk_sources_track(t, &f, 1, &created);
}

static struct pk_hello
hello(const char *filter, uint32_t control, uint64_t applied)
{
    struct pk_hello h = {
        .linktype = 1, .snaplen = 1500, .sample_n = 1, .control = control, .applied_gen = applied};

    h.host = (struct pk_str){"web1", 4};
    h.device = (struct pk_str){"eth0", 4};
    h.filter = (struct pk_str){filter, (uint16_t)strlen(filter)};
    h.version = (struct pk_str){"0.1.0", 5};
    return h;
}

static void
test_hello_says_control(void **state)
{
    struct pk_sources t;
    struct pk_source *s = new_source(&t, 1);
    struct pk_hello h = hello("port 80", PK_HELLO_TAKES_CONTROL, 7);

    (void)state;
    assert_non_null(s);
    pk_source_apply_hello(s, &h);
    assert_true(s->takes_control && s->applied_gen == 7);
    h = hello("port 80", 0, 0); /* restarted with CONTROL=off, or an older agent */
    pk_source_apply_hello(s, &h);
    assert_false(s->takes_control);
    assert_true(s->applied_gen == 0);
    assert_int_equal(pk_source_control_state(s, 7, 1, 1), PK_SC_OFF);
    pk_sources_free(&t);
}

/* Generations: the latest wins, also downwards; paused: the highest seen, like the counters. */
static void
test_stats_say_control(void **state)
{
    struct pk_sources t;
    struct pk_source *s = new_source(&t, 2);
    struct pk_stats st = {
        .captured = 100, .relayed = 60, .paused = 40, .applied_gen = 9, .refused_gen = 8};

    (void)state;
    pk_source_apply_stats(s, &st, 0);
    assert_true(s->applied_gen == 9 && s->refused_gen == 8 && s->agent.paused == 40);
    st.applied_gen = 3; /* desired state cleared: a lower generation is no inconsistency */
    st.refused_gen = 0;
    pk_source_apply_stats(s, &st, 0);
    assert_true(s->applied_gen == 3 && s->refused_gen == 0 && s->inconsistent_stats == 0);
    st.paused = 10; /* a counter that went down: ignored and counted */
    pk_source_apply_stats(s, &st, 0);
    assert_true(s->agent.paused == 40 && s->inconsistent_stats == 1);
    pk_sources_free(&t);
}

/* Paused packets were never relayed: no index gap, nothing lost. */
static void
test_paused_is_no_loss(void **state)
{
    struct pk_sources t;
    struct pk_source *s = new_source(&t, 3); /* seen from seq 0: the index base is 0 */
    struct pk_packets p = {.linktype = 1, .first_index = 0, .count = 10};
    struct pk_stats st = {.captured = 1010, .relayed = 10, .paused = 1000};

    (void)state;
    assert_true(pk_source_apply_packets(s, &p) == 0);
    assert_true(pk_source_apply_stats(s, &st, 0) == 0);
    assert_true(s->lost_packets == 0 && s->agent.paused == 1000);
    p.first_index = 10; /* after the pause, the index goes on where it was */
    assert_true(pk_source_apply_packets(s, &p) == 0);
    assert_true(s->lost_packets == 0);
    pk_sources_free(&t);
}

/* A new applied generation alone (a pause) keeps the pcapng interfaces; a new filter in force
 * (the agent applied a central filter) describes them anew, at most PK_SOURCE_REDESCRIBE_MAX. */
static void
test_redescribe_on_filter_not_generation(void **state)
{
    struct pk_sources t;
    struct pk_source *s = new_source(&t, 4);
    struct pk_hello h = hello("port 80", PK_HELLO_TAKES_CONTROL, 0);
    char filter[32];

    (void)state;
    pk_source_apply_hello(s, &h);
    s->nifs = 1;
    h = hello("port 80", PK_HELLO_TAKES_CONTROL, 1); /* paused: generation 1, same filter */
    pk_source_apply_hello(s, &h);
    assert_true(s->nifs == 1 && s->redescribed == 0 && s->applied_gen == 1);
    h = hello("(port 80) and (host 10.0.0.1)", PK_HELLO_TAKES_CONTROL, 2);
    pk_source_apply_hello(s, &h);
    assert_true(s->nifs == 0 && s->redescribed == 1 && s->applied_gen == 2);
    for (int i = 0; i < PK_SOURCE_REDESCRIBE_MAX + 3; i++) {
        snprintf(filter, sizeof(filter), "port %d", 1000 + i);
        h = hello(filter, PK_HELLO_TAKES_CONTROL, 3 + (uint64_t)i);
        s->nifs = 1;
        pk_source_apply_hello(s, &h);
    }
    assert_true(s->redescribed == PK_SOURCE_REDESCRIBE_MAX);
    assert_true(s->redescribe_capped == 4 && s->nifs == 1);
    pk_sources_free(&t);
}

static void
test_states(void **state)
{
    struct pk_source s = {.takes_control = 1, .applied_gen = 5, .refused_gen = 6};

    (void)state;
    assert_int_equal(pk_source_control_state(&s, 5, 1, 1), PK_SC_APPLIED);
    assert_int_equal(pk_source_control_state(&s, 6, 1, 1), PK_SC_REFUSED);
    assert_int_equal(pk_source_control_state(&s, 7, 1, 1), PK_SC_PENDING);
    assert_int_equal(pk_source_control_state(&s, 7, 1, 0), PK_SC_UNSUPPORTED);
    assert_int_equal(pk_source_control_state(&s, 7, 0, 1), PK_SC_OFF); /* no plane here */
    s.refused_gen = 0;
    s.applied_gen = 4;
    /* Desired 0 (nothing set) with refused 0 (none): still pending, the agent drops what it
     * applied of another collector's state. */
    assert_int_equal(pk_source_control_state(&s, 0, 1, 1), PK_SC_PENDING);
    s.takes_control = 0;
    assert_int_equal(pk_source_control_state(&s, 7, 1, 1), PK_SC_OFF);
    assert_string_equal(pk_source_control_names[PK_SC_PENDING], "pending");
    assert_string_equal(pk_source_control_names[PK_SC_UNSUPPORTED], "unsupported");
}

/* The push rule as a table: (desired, applied, refused, gen last tried, when, tries, now). */
static void
test_push_decision(void **state)
{
    static const struct {
        uint64_t desired, applied, refused, sent_gen, sent_ns, tries, now;
        int takes, due;
        const char *why;
    } rows[] = {
        {5, 4, 0, 0, 0, 0, 10 * SEC, 1, 1, "never sent: at once"},
        {5, 5, 0, 0, 0, 0, 10 * SEC, 1, 0, "applied"},
        {5, 4, 5, 0, 0, 0, 10 * SEC, 1, 0, "refused: not again"},
        {6, 4, 5, 5, 10 * SEC, 1, 10 * SEC, 1, 1, "a new generation after a refusal: at once"},
        {5, 4, 0, 5, 10 * SEC, 1, 10 * SEC + SEC / 2, 1, 0, "the same, within a second"},
        {5, 4, 0, 5, 10 * SEC, 1, 11 * SEC, 1, 1, "the same, a second later"},
        {6, 4, 0, 5, 10 * SEC, 1, 10 * SEC + 1, 1, 1, "changed since the last send: at once"},
        {5, 4, 0, 5, 10 * SEC, 1, 9 * SEC, 1, 1, "the clock went back: not stuck"},
        {5, 4, 0, 0, 0, 0, 10 * SEC, 0, 0, "takes no control"},
        {0, 4, 0, 0, 0, 0, 10 * SEC, 1, 1, "cleared: generation 0 is sent"},
        {3, 9, 0, 9, 10 * SEC, 1, 10 * SEC, 1, 1, "lower than applied: generations go down"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct pk_source s = {.takes_control = rows[i].takes,
                              .applied_gen = rows[i].applied,
                              .refused_gen = rows[i].refused,
                              .control_sent_gen = rows[i].sent_gen,
                              .last_control_sent_ns = rows[i].sent_ns,
                              .control_sends = rows[i].tries};
        if (pk_source_control_due(&s, rows[i].desired, rows[i].now) != rows[i].due)
            fail_msg("row %zu (%s): due should be %d", i, rows[i].why, rows[i].due);
    }
}

/* A failed push counts, and is tried again after a second, or at once for a new generation. */
static void
test_push_bookkeeping(void **state)
{
    struct pk_source s = {.takes_control = 1, .applied_gen = 1};

    (void)state;
    assert_true(pk_source_control_due(&s, 2, 10 * SEC));
    pk_source_control_sent(&s, 2, 10 * SEC, -EAGAIN);
    assert_true(s.control_send_failures == 1 && s.control_sends == 0);
    assert_false(pk_source_control_due(&s, 2, 10 * SEC + 1));
    assert_true(pk_source_control_due(&s, 3, 10 * SEC + 1));
    assert_true(pk_source_control_due(&s, 2, 11 * SEC));
    pk_source_control_sent(&s, 2, 11 * SEC, 0);
    assert_true(s.control_sends == 1 && s.control_sent_gen == 2 &&
                s.last_control_sent_ns == 11 * SEC);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_says_control),
        cmocka_unit_test(test_stats_say_control),
        cmocka_unit_test(test_paused_is_no_loss),
        cmocka_unit_test(test_redescribe_on_filter_not_generation),
        cmocka_unit_test(test_states),
        cmocka_unit_test(test_push_decision),
        cmocka_unit_test(test_push_bookkeeping),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The MERGE_WINDOW hold buffer: order, due time, the memory bound, draining. */
#include "merge.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void
add(struct pk_merge *m, struct pk_source *s, uint64_t ts, uint64_t now)
{
    uint8_t data[100] = {0};
    struct pk_record rec = {ts, sizeof(data), sizeof(data), data};

    assert_int_equal(pk_merge_add(m, s, 1, &rec, now), 0);
}

static uint64_t
next_ts(struct pk_merge *m, uint64_t now, int all)
{
    struct pk_merge_entry *e = pk_merge_next(m, now, all);
    uint64_t ts;

    if (e == NULL)
        return 0;
    ts = e->ts_ns;
    pk_merge_release(m, e);
    return ts;
}

static void
test_order_and_window(void **state)
{
    struct pk_merge m;
    struct pk_source s;
    const uint64_t ms = 1000000;

    (void)state;
    memset(&s, 0, sizeof(s));
    pk_merge_init(&m, 100, 1 << 20);
    add(&m, &s, 30, 0);
    add(&m, &s, 10, 5 * ms);
    add(&m, &s, 20, 6 * ms);
    add(&m, &s, 10, 7 * ms); /* a tie: arrival order decides */
    assert_int_equal(s.held, 4);
    assert_true(next_ts(&m, 104 * ms, 0) == 0); /* the earliest (ts 10) arrived at 5 ms */
    assert_true(next_ts(&m, 105 * ms, 0) == 10);
    assert_true(next_ts(&m, 106 * ms, 0) == 0); /* the second ts 10 arrived at 7 ms */
    assert_true(next_ts(&m, 107 * ms, 0) == 10);
    assert_true(next_ts(&m, 107 * ms, 1) == 20); /* draining ignores time */
    assert_true(next_ts(&m, 107 * ms, 1) == 30);
    assert_true(next_ts(&m, 107 * ms, 1) == 0);
    assert_int_equal(s.held, 0);
    assert_true(m.forced == 0);
    pk_merge_free(&m);
}

static void
test_bound(void **state)
{
    struct pk_merge m;
    struct pk_source s;

    (void)state;
    memset(&s, 0, sizeof(s));
    pk_merge_init(&m, 60000, 1000); /* room for a few 100-byte packets */
    for (uint64_t i = 0; i < 50; i++)
        add(&m, &s, 1000 - i, 0);
    /* Over the limit: the earliest leave before their time, in order, until it fits. */
    uint64_t prev = 0, released = 0, ts;
    while ((ts = next_ts(&m, 1, 0)) != 0) {
        assert_true(ts > prev);
        prev = ts;
        released++;
    }
    assert_true(released > 0 && m.forced == released);
    assert_true(m.bytes <= 1000);
    pk_merge_free(&m); /* frees what is still held */
    assert_int_equal(s.held, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_window),
        cmocka_unit_test(test_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

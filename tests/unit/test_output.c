/* The bounded output queue on a real pipe: limits, back-pressure signals, EPIPE. */
#include "output.h"
#include "pcktr.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

struct seen {
    int drained, error;
};

static void
on_drained(struct pk_output *o, void *data)
{
    (void)o;
    ((struct seen *)data)->drained++;
}

static void
on_error(struct pk_output *o, int err, void *data)
{
    (void)o;
    ((struct seen *)data)->error = err;
}

static void
test_pipe_backpressure_and_epipe(void **state)
{
    uv_loop_t loop;
    struct seen seen = {0, 0};
    struct pk_output_callbacks cbs = {on_drained, on_error, &seen};
    static uint8_t block[256 * 1024], sink[1 << 20];
    char err[PK_ERRBUF_SIZE];
    struct pk_output *o;
    uint64_t total = 0, got = 0;
    int fds[2];

    (void)state;
    signal(SIGPIPE, SIG_IGN);
    memset(block, 0xab, sizeof(block));
    assert_int_equal(pipe(fds), 0);
    uv_loop_init(&loop);
    o = pk_output_new(&loop, fds[1], 1 << 20, &cbs, err);
    assert_non_null(o);
    /* Fill past the limit without anyone reading: appends never block, full() says stop. */
    while (!pk_output_full(o)) {
        pk_output_append(o, block, sizeof(block));
        total += sizeof(block);
        pk_output_flush(o);
    }
    assert_true(pk_output_queued(o) >= (1u << 20));
    assert_true(pk_output_queued(o) <= (1u << 20) + sizeof(block) + 65536);
    /* Read everything; the writable watcher moves the rest and reports the drain. */
    while (got < total) {
        ssize_t n = read(fds[0], sink, sizeof(sink));
        assert_true(n > 0);
        got += (uint64_t)n;
        uv_run(&loop, UV_RUN_NOWAIT);
    }
    assert_true(got == total);
    assert_true(pk_output_written(o) == total);
    assert_true(pk_output_queued(o) == 0);
    assert_true(seen.drained > 0);
    /* The reader leaves: the next flush reports EPIPE, once. */
    close(fds[0]);
    pk_output_append(o, block, 100);
    pk_output_flush(o);
    assert_int_equal(seen.error, -EPIPE);
    pk_output_close(o);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    close(fds[1]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipe_backpressure_and_epipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

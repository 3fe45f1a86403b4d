/*
 * The bounded output queue on a real pipe: limits, back-pressure signals, EPIPE; on a regular
 * file that cannot take more (RLIMIT_FSIZE stands in for a full disk): cut to whole blocks.
 */
#include "output.h"
#include "pcktr.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

struct seen {
    int drained, error, errors; /* error: the last one reported; errors: how many reports */
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
    ((struct seen *)data)->errors++;
}

static void
test_pipe_backpressure_and_epipe(void **state)
{
    uv_loop_t loop;
    struct seen seen = {0, 0, 0};
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
    assert_int_equal(seen.errors, 1);
    /* More data and more flushes after the failure are not reported again. */
    pk_output_append(o, block, 100);
    pk_output_flush(o);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(seen.errors, 1);
    pk_output_close(o);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    close(fds[1]);
}

/*
 * Blocks of varied sizes, more of them than the output remembers block ends for (so its list is
 * thinned), into a file limited to an odd size: the write fails (EFBIG, as ENOSPC would) and
 * the file is cut back to a whole block, the last one that fits or one a little before it.
 */
static void
test_file_cut_to_whole_blocks(void **state)
{
    uv_loop_t loop;
    struct seen seen = {0, 0, 0};
    struct pk_output_callbacks cbs = {on_drained, on_error, &seen};
    static uint8_t block[1500];
    static uint64_t ends[20000];
    char err[PK_ERRBUF_SIZE], path[] = "/tmp/pk-test-output-XXXXXX";
    struct rlimit old, lim;
    struct stat st;
    struct pk_output *o;
    uint64_t total = 0, limit = 1000003, best = 0;
    size_t n = 0;
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    signal(SIGXFSZ, SIG_IGN); /* a write past the limit then fails with EFBIG */
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = limit;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    uv_loop_init(&loop);
    o = pk_output_new(&loop, fd, 64 << 20, &cbs, err);
    assert_non_null(o);
    for (unsigned i = 0; n < 20000 && total < 4 * limit; i++) {
        size_t len = 16 + (i * 7919u) % (sizeof(block) - 16);
        memset(block, (int)i, len);
        pk_output_append(o, block, len / 2); /* a block in two appends, like a record */
        pk_output_append(o, block + len / 2, len - len / 2);
        pk_output_end_block(o);
        total += len;
        ends[n++] = total;
    }
    pk_output_flush(o);
    assert_int_equal(seen.error, -EFBIG);
    for (size_t i = 0; i < n && ends[i] <= limit; i++)
        best = ends[i];
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal((uint64_t)st.st_size, pk_output_kept(o));
    int whole = 0;
    for (size_t i = 0; i < n && !whole; i++)
        whole = ends[i] == (uint64_t)st.st_size;
    assert_true(whole);                                  /* ends exactly on a block */
    assert_true((uint64_t)st.st_size <= best);           /* nothing partial */
    assert_true((uint64_t)st.st_size + 64 * 1500 > best); /* and close to the last one that fit */
    pk_output_close(o);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    close(fd);
    unlink(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipe_backpressure_and_epipe),
        cmocka_unit_test(test_file_cut_to_whole_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Lending (output.h) on a real pipe: the bytes that come out are the bytes appended, in order,
 * whether the pipe takes them all, part of them or none. Each message's packet data lives in a
 * buffer that is overwritten and freed right after lend_end, so a pointer kept past it shows
 * as wrong bytes here (and as a use after free under ASan).
 */
#include "output.h"
#include "pcktr.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define MAX_STREAM (8u << 20)

static uint8_t expected[MAX_STREAM];
static size_t expected_len;

static void
on_drained(struct pk_output *o, void *data)
{
    (void)o;
    (void)data;
}

static void
on_error(struct pk_output *o, int err, void *data)
{
    (void)o;
    *(int *)data = err;
}

/* One message: records of a 16-byte header (copied) and size bytes of data (lent). */
static void
lend_message(struct pk_output *o, unsigned msg, unsigned records, size_t size)
{
    uint8_t *data = malloc(records * size);

    assert_non_null(data);
    for (size_t i = 0; i < records * size; i++)
        data[i] = (uint8_t)(msg * 131u + i * 7u);
    pk_output_lend_begin(o);
    for (unsigned r = 0; r < records; r++) {
        uint8_t head[16];
        memset(head, (int)(r ^ msg), sizeof(head));
        pk_output_append(o, head, sizeof(head));
        pk_output_append_lent(o, data + r * size, size);
        assert_true(expected_len + sizeof(head) + size <= MAX_STREAM);
        memcpy(expected + expected_len, head, sizeof(head));
        memcpy(expected + expected_len + sizeof(head), data + r * size, size);
        expected_len += sizeof(head) + size;
    }
    pk_output_lend_end(o);
    memset(data, 0xee, records * size); /* the caller's memory is its own again */
    free(data);
}

/* Reads the pipe while the loop writes the rest; the stream must be what was appended. */
static void
drain_and_compare(uv_loop_t *loop, struct pk_output *o, int rfd)
{
    static uint8_t got[MAX_STREAM];
    size_t n = 0;

    while (n < expected_len) {
        ssize_t r = read(rfd, got + n, MAX_STREAM - n);
        if (r < 0 && errno == EAGAIN) {
            assert_true(pk_output_queued(o) > 0); /* else bytes were lost: fail, not hang */
            r = 0;
        }
        assert_true(r >= 0);
        n += (size_t)r;
        pk_output_flush(o);
        uv_run(loop, UV_RUN_NOWAIT);
    }
    assert_int_equal(n, expected_len);
    assert_memory_equal(got, expected, expected_len);
    assert_true(pk_output_written(o) == expected_len);
    assert_int_equal(pk_output_queued(o), 0);
}

/* direct: the pipe has room for all of it, so each lend_end has written its message whole. */
static void
run_case(size_t prefill, unsigned messages, unsigned records, size_t size, int direct)
{
    uv_loop_t loop;
    int err = 0;
    struct pk_output_callbacks cbs = {on_drained, on_error, &err};
    char errbuf[PK_ERRBUF_SIZE];
    struct pk_output *o;
    int fds[2];

    signal(SIGPIPE, SIG_IGN);
    expected_len = 0;
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
    uv_loop_init(&loop);
    o = pk_output_new(&loop, fds[1], 1 << 20, &cbs, errbuf);
    assert_non_null(o);
    if (prefill > 0) { /* the reader is behind: the pipe has little or no room */
        static uint8_t fill[1 << 20];
        memset(fill, 0x5a, sizeof(fill));
        assert_true(prefill <= sizeof(fill));
        pk_output_append(o, fill, prefill);
        memcpy(expected, fill, prefill);
        expected_len = prefill;
        pk_output_flush(o);
    }
    for (unsigned m = 0; m < messages; m++) {
        lend_message(o, m, records, size);
        if (direct) {
            assert_int_equal(pk_output_queued(o), 0);
            assert_true(pk_output_written(o) == expected_len);
        }
    }
    if (prefill >= (1u << 20)) { /* none of the messages fit */
        assert_true(pk_output_written(o) == prefill);
        assert_true(pk_output_queued(o) == expected_len - prefill);
    }
    drain_and_compare(&loop, o, fds[0]);
    assert_int_equal(err, 0);
    pk_output_close(o);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    close(fds[0]);
    close(fds[1]);
}

/* The pipe (1 MiB) takes every message whole: nothing is ever queued. */
static void
test_lend_pipe_takes_all(void **state)
{
    (void)state;
    run_case(0, 4, 128, 1500, 1); /* 4 x 194 KB */
}

/* The pipe fills in the middle of a message: the rest is copied before lend_end returns. */
static void
test_lend_pipe_fills_midway(void **state)
{
    (void)state;
    run_case((1u << 20) - 100000, 6, 128, 1500, 0);
}

/* The pipe is full: nothing lent is written, all of it is copied, nothing is lost. */
static void
test_lend_pipe_full(void **state)
{
    (void)state;
    run_case(1u << 20, 3, 256, 1500, 0);
}

/* More pieces than one writev takes, and small packets that fill the copy area first. */
static void
test_lend_many_pieces_and_small_packets(void **state)
{
    (void)state;
    run_case(0, 1, 1000, 600, 1); /* 2000 pieces: written every 512 */
    run_case(0, 2, 4000, 64, 0);  /* the copy area fills below 64 KiB: queued as before */
    run_case(500000, 3, 3000, 64, 0);
}

/* A regular file does not lend: the appends are queued (copied) until the flush. */
static void
test_lend_not_on_files(void **state)
{
    uv_loop_t loop;
    int err = 0;
    struct pk_output_callbacks cbs = {on_drained, on_error, &err};
    char errbuf[PK_ERRBUF_SIZE], path[] = "/tmp/pk-test-lend-XXXXXX";
    static uint8_t data[1500];
    int fd = mkstemp(path);
    struct pk_output *o;

    (void)state;
    assert_true(fd >= 0);
    uv_loop_init(&loop);
    o = pk_output_new(&loop, fd, 1 << 20, &cbs, errbuf);
    assert_non_null(o);
    pk_output_lend_begin(o);
    pk_output_append_lent(o, data, sizeof(data));
    assert_int_equal(pk_output_queued(o), sizeof(data));
    pk_output_lend_end(o);
    assert_int_equal(pk_output_queued(o), sizeof(data));
    pk_output_flush(o);
    assert_true(pk_output_written(o) == sizeof(data));
    pk_output_close(o);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    close(fd);
    unlink(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lend_pipe_takes_all),
        cmocka_unit_test(test_lend_pipe_fills_midway),
        cmocka_unit_test(test_lend_pipe_full),
        cmocka_unit_test(test_lend_many_pieces_and_small_packets),
        cmocka_unit_test(test_lend_not_on_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Compressed packets messages: round trips for lz4 and zstd, incompressible batches stay plain,
 * and every hostile form (a bomb, a lie about the length, corruption, another kind) is refused
 * without writing past the receiver's buffer. */
#include "compress.h"
#include "frame.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const struct pk_frame_source src = {.source_id = 42, .name = "branch:eth0"};

/* A batch of n text-like packets (or random ones). */
static size_t
make_batch(uint8_t *buf, size_t cap, int n, int random_bytes)
{
    struct pk_batch b;
    uint8_t data[1400];

    pk_batch_init(&b, buf, cap);
    pk_batch_begin(&b, &src, 1, 7);
    for (int i = 0; i < n; i++) {
        for (size_t j = 0; j < sizeof(data); j++)
            data[j] = random_bytes ? (uint8_t)rand() : (uint8_t)("GET /index.html HTTP/1.1\r\n"[j % 26]);
        assert_int_equal(pk_batch_add(&b, 1000 + (uint64_t)i, sizeof(data), sizeof(data), data), 0);
    }
    return pk_batch_end(&b);
}

static void
round_trip(enum pk_compression algo, int level)
{
    static uint8_t plain[65536], z[80000], out[70000];
    struct pk_codec *c, *rx;
    struct pk_frame f;
    size_t len = make_batch(plain, sizeof(plain), 40, 0), zlen, outlen = 0;

    assert_int_equal(pk_codec_open(&c, algo, level), 0);
    assert_int_equal(pk_codec_open(&rx, PK_COMPRESS_NONE, 0), 0);
    assert_true(pk_codec_bound(len) <= sizeof(z));
    zlen = pk_codec_compress(c, plain, len, z, sizeof(z));
    assert_true(zlen > 0 && zlen < len / 4);
    assert_true(pk_codec_is_compressed(z, zlen));
    assert_int_equal(z[4], 2);
    assert_int_equal(pk_frame_decode(z, zlen, &f), -EBADMSG); /* not without inflating */
    assert_int_equal(pk_codec_inflate(rx, z, zlen, out, sizeof(out), &outlen), 0);
    assert_int_equal(outlen, len);
    assert_memory_equal(out, plain, len);
    assert_int_equal(pk_frame_decode(out, outlen, &f), 0);
    assert_int_equal(f.u.packets.count, 40);
    /* The receiver's buffer is smaller than the declared plain length: refused unread. */
    memset(out, 0xAA, sizeof(out));
    assert_int_equal(pk_codec_inflate(rx, z, zlen, out, len - 1, &outlen), -EMSGSIZE);
    assert_int_equal(out[0], 0xAA);
    /* A lie about the length, either way, and corruption. */
    size_t off = 32 + strlen(src.name);
    z[off] ^= 1;
    assert_int_equal(pk_codec_inflate(rx, z, zlen, out, sizeof(out), &outlen), -EBADMSG);
    z[off] ^= 1;
    z[zlen / 2] ^= 0x5a;
    int rc = pk_codec_inflate(rx, z, zlen, out, sizeof(out), &outlen);
    assert_true(rc == -EBADMSG || (rc == 0 && pk_frame_decode(out, outlen, &f) != 0) ||
                (rc == 0 && memcmp(out, plain, len) != 0));
    z[zlen / 2] ^= 0x5a;
    for (size_t cut = off; cut < zlen; cut += 97)
        assert_int_not_equal(pk_codec_inflate(rx, z, cut, out, sizeof(out), &outlen), 0);
    z[5] = PK_KIND_HELLO;
    assert_int_equal(pk_codec_inflate(rx, z, zlen, out, sizeof(out), &outlen), -EBADMSG);
    pk_codec_free(c);
    pk_codec_free(rx);
}

static void
test_lz4(void **state)
{
    (void)state;
    round_trip(PK_COMPRESS_LZ4, 0);
}

static void
test_zstd(void **state)
{
    (void)state;
    round_trip(PK_COMPRESS_ZSTD, 3);
    round_trip(PK_COMPRESS_ZSTD, 19);
}

static void
test_incompressible_stays_plain(void **state)
{
    static uint8_t plain[65536], z[80000];
    struct pk_codec *c;
    static uint8_t data[60000];
    struct pk_batch b;
    size_t len;

    (void)state;
    for (size_t j = 0; j < sizeof(data); j++)
        data[j] = (uint8_t)(rand() >> 7);
    pk_batch_init(&b, plain, sizeof(plain));
    pk_batch_begin(&b, &src, 1, 7);
    assert_int_equal(pk_batch_add(&b, 1, sizeof(data), sizeof(data), data), 0);
    len = pk_batch_end(&b);
    assert_int_equal(pk_codec_open(&c, PK_COMPRESS_LZ4, 0), 0);
    assert_int_equal(pk_codec_compress(c, plain, len, z, sizeof(z)), 0);
    pk_codec_free(c);
    assert_int_equal(pk_codec_open(&c, PK_COMPRESS_ZSTD, 0), -EINVAL);
}

/* 16 MiB of zeros declared in a message of a few hundred bytes: a 64 KiB receiver refuses it. */
static void
test_bomb(void **state)
{
    size_t big = 16u << 20;
    static const uint8_t zeros[262144];
    uint8_t *plain = calloc(1, big), *z = malloc(pk_codec_bound(big)), out[65536];
    struct pk_batch b;
    struct pk_codec *c, *rx;
    size_t len, zlen, outlen;

    (void)state;
    assert_non_null(plain);
    assert_non_null(z);
    pk_batch_init(&b, plain, big);
    pk_batch_begin(&b, &src, 1, 0);
    while (pk_batch_add(&b, 1, sizeof(zeros), sizeof(zeros), zeros) == 0)
        ;
    len = pk_batch_end(&b);
    assert_int_equal(pk_codec_open(&c, PK_COMPRESS_ZSTD, 3), 0);
    assert_int_equal(pk_codec_open(&rx, PK_COMPRESS_NONE, 0), 0);
    zlen = pk_codec_compress(c, plain, len, z, pk_codec_bound(big));
    assert_true(zlen > 0 && zlen < 4096);
    assert_int_equal(pk_codec_inflate(rx, z, zlen, out, sizeof(out), &outlen), -EMSGSIZE);
    pk_codec_free(c);
    pk_codec_free(rx);
    free(plain);
    free(z);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lz4),
        cmocka_unit_test(test_zstd),
        cmocka_unit_test(test_incompressible_stays_plain),
        cmocka_unit_test(test_bomb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

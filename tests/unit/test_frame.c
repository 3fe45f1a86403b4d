/* Wire codec: round trips, and rejection of everything malformed. */
#include "frame.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const struct pk_frame_source src = {.source_id = 0x1122334455667788ull, .name = "web1:eth0"};

static size_t
make_batch(uint8_t *buf, size_t cap, int n)
{
    struct pk_batch b;
    uint8_t data[1600];

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)i;
    pk_batch_init(&b, buf, cap);
    pk_batch_begin(&b, &src, 1, 1000);
    for (int i = 0; i < n; i++)
        assert_int_equal(pk_batch_add(&b, 1700000000123456789ull + (uint64_t)i, (uint32_t)(60 + i),
                                      (uint32_t)(60 + i + (i % 3)), data),
                         0);
    return pk_batch_end(&b);
}

static void
test_packets_round_trip(void **state)
{
    uint8_t buf[65536];
    struct pk_frame f;
    struct pk_record rec;
    size_t len = make_batch(buf, sizeof(buf), 20), off = 0;
    int n = 0;

    (void)state;
    pk_frame_set_seq(buf, 42, 99);
    assert_int_equal(pk_frame_decode(buf, len, &f), 0);
    assert_int_equal(f.kind, PK_KIND_PACKETS);
    assert_int_equal(f.version, PK_PROTO_VERSION);
    assert_true(f.source_id == src.source_id);
    assert_true(f.seq == 42 && f.sent_ns == 99);
    assert_int_equal(f.name.len, strlen(src.name));
    assert_memory_equal(f.name.ptr, src.name, f.name.len);
    assert_int_equal(f.u.packets.linktype, 1);
    assert_int_equal(f.u.packets.count, 20);
    assert_true(f.u.packets.first_index == 1000);
    while (pk_packets_next(&f.u.packets, &off, &rec)) {
        assert_true(rec.ts_ns == 1700000000123456789ull + (uint64_t)n);
        assert_int_equal(rec.caplen, 60 + n);
        assert_int_equal(rec.origlen, 60 + n + (n % 3));
        assert_int_equal(rec.data[5], 5);
        n++;
    }
    assert_int_equal(n, 20);
}

static void
test_batch_reports_full(void **state)
{
    uint8_t buf[256], data[300] = {0};
    struct pk_batch b;

    (void)state;
    pk_batch_init(&b, buf, sizeof(buf));
    pk_batch_begin(&b, &src, 1, 0);
    assert_int_equal(pk_batch_add(&b, 1, 100, 100, data), 0);
    assert_int_equal(pk_batch_add(&b, 2, 200, 200, data), -ENOSPC);
    assert_int_equal(b.count, 1);
}

static void
test_hello_and_stats_round_trip(void **state)
{
    uint8_t buf[4096];
    struct pk_hello h = {.linktype = 113, .snaplen = 1500, .tsresol = 9, .heartbeat_ms = 1000,
                         .start_ns = 123};
    struct pk_stats s = {.captured = 1, .kernel_drops = 2, .if_drops = 3, .relay_drops = 4, .relayed = 5, .queued = 6};
    struct pk_frame f;
    size_t len = pk_frame_encode_hello(buf, sizeof(buf), &src, &h, "web1", "eth0", "tcp port 80",
                                       "0.1.0");

    (void)state;
    assert_true(len > 0);
    assert_int_equal(pk_frame_decode(buf, len, &f), 0);
    assert_int_equal(f.kind, PK_KIND_HELLO);
    assert_int_equal(f.u.hello.linktype, 113);
    assert_int_equal(f.u.hello.snaplen, 1500);
    assert_int_equal(f.u.hello.tsresol, 9);
    assert_true(f.u.hello.start_ns == 123);
    assert_int_equal(f.u.hello.filter.len, 11);
    assert_memory_equal(f.u.hello.filter.ptr, "tcp port 80", 11);
    assert_memory_equal(f.u.hello.version.ptr, "0.1.0", 5);

    len = pk_frame_encode_stats(buf, sizeof(buf), &src, PK_KIND_GOODBYE, &s);
    assert_int_equal(pk_frame_decode(buf, len, &f), 0);
    assert_int_equal(f.kind, PK_KIND_GOODBYE);
    assert_true(f.u.stats.captured == 1 && f.u.stats.kernel_drops == 2 && f.u.stats.if_drops == 3);
    assert_true(f.u.stats.relay_drops == 4 && f.u.stats.relayed == 5 && f.u.stats.queued == 6);
    assert_int_equal(pk_frame_encode_stats(buf, 40, &src, PK_KIND_STATS, &s), 0);
}

/* Version 2 only where needed: sampling in a hello, rate-limited and sampled-out counts. */
static void
test_version2_fields(void **state)
{
    uint8_t buf[4096];
    struct pk_hello h = {.linktype = 1, .snaplen = 1500, .tsresol = 9, .sample_n = 8};
    struct pk_stats s = {.captured = 10, .relay_drops = 1, .relayed = 5, .rate_limited = 2, .sampled_out = 2};
    struct pk_frame f;
    size_t len = pk_frame_encode_hello(buf, sizeof(buf), &src, &h, "h", "d", "", "v");

    (void)state;
    assert_int_equal(buf[4], 2);
    assert_int_equal(pk_frame_decode(buf, len, &f), 0);
    assert_int_equal(f.u.hello.sample_n, 8);
    assert_int_equal(pk_frame_decode(buf, len - 1, &f), -EBADMSG);
    h.sample_n = 1;
    len = pk_frame_encode_hello(buf, sizeof(buf), &src, &h, "h", "d", "", "v");
    assert_int_equal(buf[4], 1);
    assert_int_equal(pk_frame_decode(buf, len, &f), 0);
    assert_int_equal(f.u.hello.sample_n, 1);
    len = pk_frame_encode_stats(buf, sizeof(buf), &src, PK_KIND_STATS, &s);
    assert_int_equal(buf[4], 2);
    assert_int_equal(pk_frame_decode(buf, len, &f), 0);
    assert_true(f.u.stats.rate_limited == 2 && f.u.stats.sampled_out == 2);
    buf[4] = 1; /* a version 1 stats is 48 bytes */
    assert_int_equal(pk_frame_decode(buf, len, &f), -EBADMSG);
    buf[4] = 3;
    assert_int_equal(pk_frame_decode(buf, len, &f), -EPROTONOSUPPORT);
    /* The delivery group: the 80-byte form, the first group present as 0 where it is 0. */
    s = (struct pk_stats){.captured = 10, .relayed = 7, .delivery_failed = 2, .unconfirmed = 1};
    len = pk_frame_encode_stats(buf, sizeof(buf), &src, PK_KIND_STATS, &s);
    assert_int_equal(buf[4], 2);
    assert_int_equal(pk_frame_decode(buf, len, &f), 0);
    assert_true(f.u.stats.delivery_failed == 2 && f.u.stats.unconfirmed == 1);
    assert_true(f.u.stats.rate_limited == 0 && f.u.stats.sampled_out == 0);
    assert_int_equal(pk_frame_decode(buf, len - 8, &f), -EBADMSG); /* 72: no such form */
    assert_int_equal(pk_frame_decode(buf, len - 16, &f), 0);       /* 64: the first group */
    assert_true(f.u.stats.delivery_failed == 0 && f.u.stats.unconfirmed == 0);
}

/* Every proper prefix of a valid message is rejected, as is any trailing byte. */
static void
test_rejects_truncated_and_trailing(void **state)
{
    uint8_t buf[65536];
    struct pk_frame f;
    size_t len = make_batch(buf, sizeof(buf), 5);
    uint8_t hello[512];
    struct pk_hello h = {0};
    size_t hlen = pk_frame_encode_hello(hello, sizeof(hello), &src, &h, "h", "d", "", "v");

    (void)state;
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(pk_frame_decode(buf, cut, &f), -EBADMSG);
    assert_int_equal(pk_frame_decode(buf, len + 1, &f), -EBADMSG);
    for (size_t cut = 0; cut < hlen; cut++)
        assert_int_equal(pk_frame_decode(hello, cut, &f), -EBADMSG);
}

static void
test_rejects_bad_fields(void **state)
{
    uint8_t buf[65536], copy[65536];
    struct pk_frame f;
    size_t len = make_batch(buf, sizeof(buf), 3);
    size_t body = PK_FRAME_HEADER_LEN + strlen(src.name);

    (void)state;
    memcpy(copy, buf, len);
    copy[4] = 3; /* a protocol version this codec does not speak */
    assert_int_equal(pk_frame_decode(copy, len, &f), -EPROTONOSUPPORT);
    memcpy(copy, buf, len);
    copy[0] = 'X'; /* magic */
    assert_int_equal(pk_frame_decode(copy, len, &f), -EBADMSG);
    memcpy(copy, buf, len);
    copy[5] = 9; /* unknown kind */
    assert_int_equal(pk_frame_decode(copy, len, &f), -EBADMSG);
    memcpy(copy, buf, len);
    copy[6] = 0; /* empty name */
    assert_int_equal(pk_frame_decode(copy, len, &f), -EBADMSG);
    memcpy(copy, buf, len);
    copy[6] = 255; /* name longer than the message */
    assert_int_equal(pk_frame_decode(copy, 60, &f), -EBADMSG);
    memcpy(copy, buf, len);
    copy[body + 4] = 4; /* count says 4 records, there are 3 */
    assert_int_equal(pk_frame_decode(copy, len, &f), -EBADMSG);
    memcpy(copy, buf, len);
    /* first record's caplen larger than its original length */
    copy[body + PK_PACKETS_BODY_HEADER_LEN + 8] = 0xff;
    assert_int_equal(pk_frame_decode(copy, len, &f), -EBADMSG);
    memcpy(copy, buf, len);
    /* a huge caplen must not be trusted */
    memset(copy + body + PK_PACKETS_BODY_HEADER_LEN + 8, 0xff, 8);
    assert_int_equal(pk_frame_decode(copy, len, &f), -EBADMSG);
    assert_int_equal(pk_frame_decode(buf, PK_FRAME_MAX + 1, &f), -EMSGSIZE);
    memcpy(copy, buf, len);
    copy[body + 2] = 1; /* link type 65537: pcap and pcapng would cut it to 1 (Ethernet) */
    assert_int_equal(pk_frame_decode(copy, len, &f), -EBADMSG);
    copy[body + 2] = 0;
    copy[body] = 0xff, copy[body + 1] = 0xff; /* 65535 is the largest */
    assert_int_equal(pk_frame_decode(copy, len, &f), 0);
}

/* A hello's link type over 65535 is refused as well. */
static void
test_rejects_wide_linktype_in_hello(void **state)
{
    uint8_t buf[512];
    struct pk_frame f;
    struct pk_hello h = {.linktype = 0x10001, .snaplen = 1500, .tsresol = 9};
    size_t len = pk_frame_encode_hello(buf, sizeof(buf), &src, &h, "h", "d", "", "v");

    (void)state;
    assert_true(len > 0);
    assert_int_equal(pk_frame_decode(buf, len, &f), -EBADMSG);
    h.linktype = 0xffff;
    len = pk_frame_encode_hello(buf, sizeof(buf), &src, &h, "h", "d", "", "v");
    assert_int_equal(pk_frame_decode(buf, len, &f), 0);
}

/* Random bytes, and valid messages with random bytes flipped, never crash the decoder. */
static void
test_random_input(void **state)
{
    uint8_t buf[65536], copy[65536];
    struct pk_frame f;
    size_t len = make_batch(buf, sizeof(buf), 8);
    unsigned seed = 7386;
    int accepted = 0;

    (void)state;
    for (int i = 0; i < 20000; i++) {
        size_t n = (size_t)rand_r(&seed) % 2048;
        for (size_t j = 0; j < n; j++)
            copy[j] = (uint8_t)rand_r(&seed);
        if (i % 2)
            memcpy(copy, "PKTR\x01\x02", n < 6 ? n : 6);
        if (pk_frame_decode(copy, n, &f) == 0)
            accepted++;
    }
    assert_int_equal(accepted, 0);
    for (int i = 0; i < 20000; i++) {
        size_t off = 0;
        struct pk_record rec;
        memcpy(copy, buf, len);
        copy[(size_t)rand_r(&seed) % len] ^= (uint8_t)(1 + rand_r(&seed) % 255);
        if (pk_frame_decode(copy, len, &f) == 0 && f.kind == PK_KIND_PACKETS)
            while (pk_packets_next(&f.u.packets, &off, &rec))
                assert_true(rec.data + rec.caplen <= copy + len);
    }
}

/* The control plane: hello's control tail, stats' 104-byte form, the control message (kind 5). */
static void
test_control_fields(void **state)
{
    uint8_t buf[8192];
    char big[PK_CONTROL_FILTER_MAX + 2];
    struct pk_hello h = {.linktype = 1, .snaplen = 1500, .tsresol = 9, .sample_n = 1,
                         .control = PK_HELLO_TAKES_CONTROL, .applied_gen = 77};
    struct pk_stats s = {.captured = 9, .relayed = 4, .paused = 5, .applied_gen = 77,
                         .refused_gen = 78};
    struct pk_control c = {.generation = 1ull << 40, .flags = PK_CONTROL_PAUSED, .sample_n = 4,
                           .rate_limit = 1000, .filter = {"udp port 53", 11}};
    struct pk_frame f;
    size_t len = pk_frame_encode_hello(buf, sizeof(buf), &src, &h, "h", "d", "", "v");

    (void)state;
    assert_int_equal(buf[4], 2);
    assert_int_equal(pk_frame_decode(buf, len, &f), 0);
    assert_true(f.u.hello.control == PK_HELLO_TAKES_CONTROL && f.u.hello.applied_gen == 77);
    assert_int_equal(f.u.hello.sample_n, 1);
    assert_int_equal(pk_frame_decode(buf, len - 1, &f), -EBADMSG);
    buf[len - 12] = 2; /* an unknown control bit */
    assert_int_equal(pk_frame_decode(buf, len, &f), -EBADMSG);

    len = pk_frame_encode_stats(buf, sizeof(buf), &src, PK_KIND_STATS, &s);
    assert_int_equal(len, PK_FRAME_HEADER_LEN + strlen(src.name) + 104);
    assert_int_equal(pk_frame_decode(buf, len, &f), 0);
    assert_true(f.u.stats.paused == 5 && f.u.stats.applied_gen == 77 &&
                f.u.stats.refused_gen == 78 && f.u.stats.delivery_failed == 0);
    assert_int_equal(pk_frame_decode(buf, len - 8, &f), -EBADMSG);

    len = pk_frame_encode_control(buf, sizeof(buf), &src, &c);
    assert_true(len > 0);
    assert_int_equal(pk_frame_decode(buf, len, &f), 0);
    assert_int_equal(f.kind, PK_KIND_CONTROL);
    assert_true(f.u.control.generation == 1ull << 40 && f.u.control.flags == PK_CONTROL_PAUSED);
    assert_true(f.u.control.sample_n == 4 && f.u.control.rate_limit == 1000);
    assert_int_equal(f.u.control.filter.len, 11);
    assert_memory_equal(f.u.control.filter.ptr, "udp port 53", 11);
    assert_int_equal(pk_frame_decode(buf, len - 1, &f), -EBADMSG);
    buf[len - 11 - 2 - 16] = 0x80; /* a flag bit no version defines */
    assert_int_equal(pk_frame_decode(buf, len, &f), -EBADMSG);
    memset(big, 'a', sizeof(big));
    c.filter = (struct pk_str){big, PK_CONTROL_FILTER_MAX + 1};
    assert_int_equal(pk_frame_encode_control(buf, sizeof(buf), &src, &c), 0);
    c.filter.len = PK_CONTROL_FILTER_MAX;
    len = pk_frame_encode_control(buf, sizeof(buf), &src, &c);
    assert_int_equal(pk_frame_decode(buf, len, &f), 0);
    assert_int_equal(f.u.control.filter.len, PK_CONTROL_FILTER_MAX);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_packets_round_trip),
        cmocka_unit_test(test_batch_reports_full),
        cmocka_unit_test(test_hello_and_stats_round_trip),
        cmocka_unit_test(test_version2_fields),
        cmocka_unit_test(test_control_fields),
        cmocka_unit_test(test_rejects_truncated_and_trailing),
        cmocka_unit_test(test_rejects_bad_fields),
        cmocka_unit_test(test_rejects_wide_linktype_in_hello),
        cmocka_unit_test(test_random_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

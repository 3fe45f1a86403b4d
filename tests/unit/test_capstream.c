/* pcap/pcapng stream parsing: byte orders, resolutions, chunking, and broken streams. */
#include "capstream.h"
#include "frame.h"
#include "pcktr.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

struct seen {
    int hellos, goodbyes, packets;
    uint64_t ts[16];
    uint32_t caplen[16], origlen[16], linktype;
    char name[300], device[300], filter[300];
};

/* A decoder, or NULL (the tests then fail on it). */
static struct pk_capstream *
new_stream(const char *peer, pk_capstream_emit_cb emit, void *data)
{
    struct pk_capstream *cs;
    char err[PK_ERRBUF_SIZE];

    return pk_capstream_open(&cs, peer, emit, data, err) == 0 ? cs : NULL;
}

static void
on_emit(void *data, const uint8_t *msg, size_t len)
{
    struct seen *s = data;
    struct pk_frame f;
    struct pk_record rec;
    size_t off = 0;

    assert_int_equal(pk_frame_decode(msg, len, &f), 0); /* everything emitted is valid */
    memcpy(s->name, f.name.ptr, f.name.len);
    s->name[f.name.len] = '\0';
    if (f.kind == PK_KIND_HELLO) {
        s->hellos++;
        memcpy(s->device, f.u.hello.device.ptr, f.u.hello.device.len);
        s->device[f.u.hello.device.len] = '\0';
        memcpy(s->filter, f.u.hello.filter.ptr, f.u.hello.filter.len);
        s->filter[f.u.hello.filter.len] = '\0';
    } else if (f.kind == PK_KIND_GOODBYE) {
        s->goodbyes++;
    } else if (f.kind == PK_KIND_PACKETS) {
        s->linktype = f.u.packets.linktype;
        while (pk_packets_next(&f.u.packets, &off, &rec) && s->packets < 16) {
            s->ts[s->packets] = rec.ts_ns;
            s->caplen[s->packets] = rec.caplen;
            s->origlen[s->packets++] = rec.origlen;
        }
    }
}

static size_t
put32(uint8_t *p, uint32_t v, int be)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (be ? 24 - 8 * i : 8 * i));
    return 4;
}

static size_t
put16(uint8_t *p, uint16_t v, int be)
{
    p[0] = (uint8_t)(be ? v >> 8 : v);
    p[1] = (uint8_t)(be ? v : v >> 8);
    return 2;
}

/* Feeds buf in chunks of `step` bytes, as a network would deliver it. */
static int
feed(struct pk_capstream *cs, const uint8_t *buf, size_t len, size_t step)
{
    uint8_t pending[8192];
    size_t have = 0, pos = 0;
    char err[PK_ERRBUF_SIZE];

    while (pos < len) {
        size_t n = len - pos < step ? len - pos : step;
        memcpy(pending + have, buf + pos, n);
        have += n;
        pos += n;
        long used = pk_capstream_parse(cs, pending, have, err);
        if (used < 0)
            return (int)used;
        memmove(pending, pending + used, have - (size_t)used);
        have -= (size_t)used;
    }
    return pk_capstream_end(cs, have, err);
}

static size_t
make_pcap(uint8_t *b, int be, int nsec)
{
    size_t o = 0;

    o += put32(b + o, nsec ? 0xa1b23c4d : 0xa1b2c3d4, be);
    o += put16(b + o, 2, be);
    o += put16(b + o, 4, be);
    o += put32(b + o, 0, be);
    o += put32(b + o, 0, be);
    o += put32(b + o, 65535, be);
    o += put32(b + o, 1, be);
    for (int i = 0; i < 3; i++) {
        o += put32(b + o, 1700000000 + (uint32_t)i, be);
        o += put32(b + o, 123456 + (uint32_t)i, be);
        o += put32(b + o, 60, be);
        o += put32(b + o, 60 + (uint32_t)i, be);
        memset(b + o, 0xab, 60);
        o += 60;
    }
    return o;
}

static void
test_pcap_both_orders_and_resolutions(void **state)
{
    uint8_t buf[1024];

    (void)state;
    for (int be = 0; be < 2; be++) {
        for (int nsec = 0; nsec < 2; nsec++) {
            for (size_t step = 1; step <= 1024; step *= 32) {
                struct seen s = {0};
                struct pk_capstream *cs = new_stream("10.0.0.7:5000", on_emit, &s);
                size_t len = make_pcap(buf, be, nsec);
                assert_int_equal(feed(cs, buf, len, step), 0);
                assert_int_equal(s.packets, 3);
                assert_int_equal(s.hellos, 1);
                assert_int_equal(s.goodbyes, 1);
                assert_string_equal(s.name, "10.0.0.7:5000");
                assert_int_equal(s.linktype, 1);
                assert_true(s.ts[2] == 1700000002ull * 1000000000u + (nsec ? 123458u : 123458000u));
                assert_int_equal(s.origlen[2], 62);
                pk_capstream_free(cs);
            }
        }
    }
}

/* One pcapng section: SHB, IDB (if_name, if_filter, if_tsresol=9), an unknown block, two EPBs. */
static size_t
make_pcapng(uint8_t *b, int be)
{
    size_t o = 0, start;

    o += put32(b + o, 0x0A0D0D0A, be);
    o += put32(b + o, 28, be);
    o += put32(b + o, 0x1A2B3C4D, be);
    o += put16(b + o, 1, be);
    o += put16(b + o, 0, be);
    memset(b + o, 0xff, 8), o += 8;
    o += put32(b + o, 28, be);

    start = o;
    o += put32(b + o, 1, be);
    o += 4; /* length, patched */
    o += put16(b + o, 113, be); /* Linux cooked */
    o += put16(b + o, 0, be);
    o += put32(b + o, 262144, be);
    o += put16(b + o, 2, be), o += put16(b + o, 4, be), memcpy(b + o, "eth0", 4), o += 4;
    o += put16(b + o, 11, be), o += put16(b + o, 7, be); /* type byte 0 + "port 1" */
    b[o] = 0, memcpy(b + o + 1, "port 1", 6), b[o + 7] = 0, o += 8;    /* padded to 8 */
    o += put16(b + o, 9, be), o += put16(b + o, 1, be), b[o] = 9, b[o + 1] = b[o + 2] = b[o + 3] = 0, o += 4;
    o += put32(b + o, 0, be); /* opt_endofopt */
    o += put32(b + o, (uint32_t)(o - start + 4), be);
    put32(b + start + 4, (uint32_t)(o - start), be);

    o += put32(b + o, 0x0BAD, be), o += put32(b + o, 16, be), o += 4, o += put32(b + o, 16, be);

    for (int i = 0; i < 2; i++) {
        uint64_t ts = 1700000000123456789ull + (uint64_t)i;
        o += put32(b + o, 6, be);
        o += put32(b + o, 32 + 44, be);
        o += put32(b + o, 0, be);
        o += put32(b + o, (uint32_t)(ts >> 32), be);
        o += put32(b + o, (uint32_t)ts, be);
        o += put32(b + o, 42, be);
        o += put32(b + o, 1500, be);
        memset(b + o, 0xcd, 44), o += 44; /* 42 bytes + 2 of padding */
        o += put32(b + o, 32 + 44, be);
    }
    return o;
}

static void
test_pcapng_both_orders(void **state)
{
    uint8_t buf[1024];

    (void)state;
    for (int be = 0; be < 2; be++) {
        for (size_t step = 1; step <= 1024; step *= 8) {
            struct seen s = {0};
            struct pk_capstream *cs = new_stream("[::1]:6000", on_emit, &s);
            size_t len = make_pcapng(buf, be);
            assert_int_equal(feed(cs, buf, len, step), 0);
            assert_int_equal(s.packets, 2);
            assert_string_equal(s.name, "[::1]:6000/eth0");
            assert_string_equal(s.device, "eth0");
            assert_string_equal(s.filter, "port 1");
            assert_int_equal(s.linktype, 113);
            assert_true(s.ts[1] == 1700000000123456790ull); /* if_tsresol 9: nanoseconds */
            assert_int_equal(s.caplen[0], 42);
            assert_int_equal(s.origlen[0], 1500);
            assert_int_equal(s.goodbyes, 1);
            pk_capstream_free(cs);
        }
    }
}

static void
test_broken_streams(void **state)
{
    uint8_t buf[1024], bad[1024];
    size_t len = make_pcap(buf, 0, 0), nglen;
    struct seen s = {0};
    struct pk_capstream *cs;

    (void)state;
    /* truncated inside a record */
    cs = new_stream("p", on_emit, &s);
    assert_int_equal(feed(cs, buf, len - 10, 7), -EBADMSG);
    assert_int_equal(s.goodbyes, 0);
    pk_capstream_free(cs);
    /* an absurd record length */
    memcpy(bad, buf, len);
    put32(bad + 24 + 8, 0x7fffffff, 0);
    cs = new_stream("p", on_emit, &s);
    assert_int_equal(feed(cs, bad, len, 64), -EBADMSG);
    pk_capstream_free(cs);
    /* pcapng: block lengths that disagree, an absurd block, a packet for a missing interface */
    nglen = make_pcapng(buf, 0);
    memcpy(bad, buf, nglen);
    put32(bad + nglen - 4, 12, 0);
    cs = new_stream("p", on_emit, &s);
    assert_int_equal(feed(cs, bad, nglen, 1024), -EBADMSG);
    pk_capstream_free(cs);
    memcpy(bad, buf, nglen);
    put32(bad + 28 + 4, 0xfffffff0, 0);
    cs = new_stream("p", on_emit, &s);
    assert_int_equal(feed(cs, bad, nglen, 1024), -EBADMSG);
    pk_capstream_free(cs);
    memcpy(bad, buf, nglen);
    put32(bad + nglen - 76 + 8, 5, 0); /* last EPB names interface 5 */
    cs = new_stream("p", on_emit, &s);
    assert_int_equal(feed(cs, bad, nglen, 1024), -EBADMSG);
    pk_capstream_free(cs);
    /* detection */
    assert_int_equal(pk_capstream_detect(buf, 3), -EAGAIN);
    assert_int_equal(pk_capstream_detect(buf, 4), 1);
    assert_int_equal(pk_capstream_detect((const uint8_t *)"\x10\0\0\0PKTR", 8), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pcap_both_orders_and_resolutions),
        cmocka_unit_test(test_pcapng_both_orders),
        cmocka_unit_test(test_broken_streams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SAMPLE's flow hash: both directions alike, VLAN tags and link types do not change a flow,
 * fragments and truncated transport headers use ports 0, non-IP frames are kept; and the hash
 * of one known key, computed by hand from docs/PROTOCOL.md. */
#include "sample.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* An Ethernet/IPv4/UDP frame (with a VLAN tag when vlan), addresses and ports given. */
static size_t
ipv4_udp(uint8_t *f, int vlan, const uint8_t src[4], const uint8_t dst[4], uint16_t sp,
         uint16_t dp, uint16_t frag)
{
    size_t o = 12;

    memset(f, 0, 128);
    if (vlan) {
        f[o++] = 0x81, f[o++] = 0x00, f[o++] = 0x00, f[o++] = 0x64;
    }
    f[o++] = 0x08, f[o++] = 0x00;
    uint8_t *ip = f + o;
    ip[0] = 0x45, ip[6] = (uint8_t)(frag >> 8), ip[7] = (uint8_t)frag, ip[9] = 17;
    memcpy(ip + 12, src, 4);
    memcpy(ip + 16, dst, 4);
    ip[20] = (uint8_t)(sp >> 8), ip[21] = (uint8_t)sp, ip[22] = (uint8_t)(dp >> 8), ip[23] = (uint8_t)dp;
    return o + 28;
}

static uint64_t
hash_of(uint32_t lt, const uint8_t *f, size_t n)
{
    uint64_t h = 0;
    assert_int_equal(pk_flow_hash(lt, f, n, &h), 0);
    return h;
}

static void
test_symmetric_and_vlan(void **state)
{
    static const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
    uint8_t f[128], g[128];
    size_t n = ipv4_udp(f, 0, a, b, 1234, 53, 0), m = ipv4_udp(g, 0, b, a, 53, 1234, 0);

    (void)state;
    assert_true(hash_of(1, f, n) == hash_of(1, g, m));
    m = ipv4_udp(g, 1, b, a, 53, 1234, 0);
    assert_true(hash_of(1, f, n) == hash_of(1, g, m));
    /* Raw IP: the same flow. */
    assert_true(hash_of(101, f + 14, n - 14) == hash_of(1, f, n));
    assert_true(hash_of(228, f + 14, n - 14) == hash_of(1, f, n));
    /* Another port is another flow. */
    m = ipv4_udp(g, 0, a, b, 1235, 53, 0);
    assert_true(hash_of(1, f, n) != hash_of(1, g, m));
}

/* key = 17 || 10.0.0.1 0x04d2 || 10.0.0.2 0x0035: FNV-1a 64 of those 13 bytes. */
static void
test_known_value(void **state)
{
    static const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
    static const uint8_t key[13] = {17, 10, 0, 0, 1, 0x04, 0xd2, 10, 0, 0, 2, 0x00, 0x35};
    uint8_t f[128];
    size_t n = ipv4_udp(f, 0, b, a, 53, 1234, 0);
    uint64_t h = 0xcbf29ce484222325ull;

    (void)state;
    for (size_t i = 0; i < sizeof(key); i++)
        h = (h ^ key[i]) * 0x100000001b3ull;
    assert_true(hash_of(1, f, n) == h);
}

static void
test_fragments_and_truncation(void **state)
{
    static const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
    uint8_t f[128], g[128];
    size_t n = ipv4_udp(f, 0, a, b, 0, 0, 0), m = ipv4_udp(g, 0, a, b, 1234, 53, 0x2000);

    (void)state;
    /* A first fragment (MF) hashes as ports 0, so later fragments (no ports) agree with it. */
    assert_true(hash_of(1, f, n) == hash_of(1, g, m));
    /* Ports cut off: 0. */
    m = ipv4_udp(g, 0, a, b, 1234, 53, 0);
    assert_true(hash_of(1, f, n) == hash_of(1, g, m - 6));
    /* No IP header: no flow, and the frame is kept whatever N. */
    uint64_t h;
    assert_int_equal(pk_flow_hash(1, g, 14 + 10, &h), -ENOENT);
    g[12] = 0x08, g[13] = 0x06; /* ARP */
    assert_int_equal(pk_flow_hash(1, g, m, &h), -ENOENT);
    assert_int_equal(pk_sample_keep(1000, 1, g, m), 1);
    assert_int_equal(pk_flow_hash(147, g, m, &h), -ENOENT);
    assert_int_equal(pk_sample_keep(1, 1, f, n), 1);
}

/* IPv6 through a Linux cooked header and a hop-by-hop option: the same as plain Ethernet. */
static void
test_ipv6_extensions(void **state)
{
    uint8_t e[128] = {0}, s[128] = {0};
    uint8_t *ip = e + 14;

    (void)state;
    e[12] = 0x86, e[13] = 0xdd;
    ip[0] = 0x60, ip[6] = 6; /* TCP */
    ip[8 + 15] = 1, ip[24 + 15] = 2;
    ip[40] = 0x30, ip[41] = 0x39, ip[42] = 0x00, ip[43] = 0x50;
    uint64_t plain = hash_of(1, e, 14 + 60);
    /* The same with a hop-by-hop header (8 bytes) before TCP, in Linux cooked framing. */
    s[14] = 0x86, s[15] = 0xdd;
    memcpy(s + 16, ip, 40);
    s[16 + 6] = 0;  /* next: hop-by-hop */
    s[56] = 6;      /* its next: TCP */
    s[57] = 0;      /* (0 + 1) * 8 bytes */
    memcpy(s + 64, ip + 40, 20);
    assert_true(hash_of(113, s, 84) == plain);
    /* A Fragment header instead: ports 0, another hash. */
    s[16 + 6] = 44;
    assert_true(hash_of(113, s, 84) != plain);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_symmetric_and_vlan),
        cmocka_unit_test(test_known_value),
        cmocka_unit_test(test_fragments_and_truncation),
        cmocka_unit_test(test_ipv6_extensions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* COLLECT_ALLOW ranges, CURVE key text, and the once-per-peer refusal bookkeeping. */
#include "access.h"
#include "zmq_keys.h"
#include "pcktr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static int
match(const char *list, const char *addr)
{
    struct pk_cidr r[PK_ALLOW_MAX];
    char err[PK_ERRBUF_SIZE];
    int n;

    assert_int_equal(pk_cidr_parse_list(list, r, PK_ALLOW_MAX, &n, err), 0);
    return pk_cidr_match_str(r, n, addr);
}

static void
test_cidr_match(void **state)
{
    (void)state;
    assert_true(match("10.0.0.0/8", "10.255.1.2"));
    assert_false(match("10.0.0.0/8", "11.0.0.1"));
    assert_true(match("192.0.2.7", "192.0.2.7"));
    assert_false(match("192.0.2.7", "192.0.2.8"));
    assert_true(match("192.0.2.0/25", "192.0.2.127"));
    assert_false(match("192.0.2.0/25", "192.0.2.128"));
    assert_true(match("10.1.2.3/8", "10.9.9.9")); /* host bits are cleared, as ip(8) would */
    assert_true(match("0.0.0.0/0", "203.0.113.9"));
    assert_false(match("0.0.0.0/0", "2001:db8::1")); /* families never mix */
    assert_true(match("2001:db8::/32", "2001:db8:ffff::1"));
    assert_false(match("2001:db8::/32", "2001:db9::1"));
    assert_true(match("::1", "::1"));
    assert_true(match("2001:db8::/127", "2001:db8::1"));
    assert_false(match("2001:db8::/127", "2001:db8::2"));
    /* a dual-stack listener reports IPv4 peers as IPv4-mapped IPv6 */
    assert_true(match("127.0.0.0/8", "::ffff:127.0.0.1"));
    assert_false(match("127.0.0.0/8", "::ffff:10.0.0.1"));
    assert_true(match(" 10.0.0.0/8 , ::1 ", "::1")); /* blanks around entries */
    assert_true(match("", "198.51.100.1"));          /* empty: everyone */
    assert_false(match("10.0.0.0/8", "not-an-address"));
}

static void
test_cidr_sockaddr(void **state)
{
    struct pk_cidr r[4];
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
    struct sockaddr_in a4 = {.sin_family = AF_INET};
    char err[PK_ERRBUF_SIZE];
    int n;

    (void)state;
    assert_int_equal(pk_cidr_parse_list("127.0.0.1,fe80::/10", r, 4, &n, err), 0);
    assert_int_equal(n, 2);
    inet_pton(AF_INET, "127.0.0.1", &a4.sin_addr);
    assert_true(pk_cidr_match(r, n, (struct sockaddr *)&a4));
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &a6.sin6_addr);
    assert_true(pk_cidr_match(r, n, (struct sockaddr *)&a6));
    inet_pton(AF_INET6, "fe80::1", &a6.sin6_addr);
    assert_true(pk_cidr_match(r, n, (struct sockaddr *)&a6));
    inet_pton(AF_INET6, "::1", &a6.sin6_addr);
    assert_false(pk_cidr_match(r, n, (struct sockaddr *)&a6));
}

static void
test_cidr_errors(void **state)
{
    const char *bad[] = {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/8x",
                         "host.example", "10.0.0.256", "10.0.0.0/-1", "1.2.3.4/8/8"};
    struct pk_cidr r[2];
    char err[PK_ERRBUF_SIZE];
    int n;

    (void)state;
    for (size_t i = 0; i < PK_ARRAY_LEN(bad); i++) {
        assert_int_equal(pk_cidr_parse_list(bad[i], r, 2, &n, err), -EINVAL);
        assert_non_null(strstr(err, bad[i]));
    }
    assert_int_equal(pk_cidr_parse_list("1.1.1.1,2.2.2.2,3.3.3.3", r, 2, &n, err), -EINVAL);
    assert_non_null(strstr(err, "more than 2"));
    assert_int_equal(pk_cidr_parse_list(",,", r, 2, &n, err), 0);
    assert_int_equal(n, 0);
}

/* Keys made by libzmq's own zmq_curve_keypair, written the way `pcktr keygen` writes them. */
#define PUB "DWdllR:39ZK*hJ&[&nZK+h#Q&goNYNvEX=6[aV^3"
#define SEC "4Q@8sG<M{j[gLMASfv*5>lQf7tP#G.SC=#s)1<6}"

static void
test_key_text(void **state)
{
    char key[PK_KEY_Z85_LEN + 1], err[PK_ERRBUF_SIZE];

    (void)state;
    assert_int_equal(pk_keys_parse_text("public-key: " PUB "\nsecret-key: " SEC "\n",
                                        "secret-key", key, err), 0);
    assert_string_equal(key, SEC);
    assert_int_equal(pk_keys_parse_text("public-key: " PUB "\nsecret-key: " SEC "\n",
                                        "public-key", key, err), 0);
    assert_string_equal(key, PUB);
    /* a bare key, with comments; '#' inside a key is a Z85 character, not a comment */
    assert_int_equal(pk_keys_parse_text("# the collector\n  " PUB "  # web-01\n", "public-key",
                                        key, err), 0);
    assert_string_equal(key, PUB);
    assert_int_equal(pk_keys_parse_text("aNCjGd9bsB1O1+${L1Qz[pZz@cjCzFbf!)D4YanB", "public-key",
                                        key, err), 0);
    /* refused: no such line, a short key, two bare keys (which one?), junk */
    assert_int_equal(pk_keys_parse_text("public-key: " PUB "\n", "secret-key", key, err), -EINVAL);
    assert_non_null(strstr(err, "secret-key"));
    assert_int_equal(pk_keys_parse_text("public-key: abc\n", "public-key", key, err), -EINVAL);
    assert_non_null(strstr(err, "line 1"));
    assert_int_equal(pk_keys_parse_text(PUB "\n" SEC "\n", "public-key", key, err), -EINVAL);
    assert_int_equal(pk_keys_parse_text("", "public-key", key, err), -EINVAL);
    assert_int_equal(pk_keys_parse_text("public-key: " PUB "x\n", "public-key", key, err),
                     -EINVAL);
}

static void
test_refusals(void **state)
{
    struct pk_access a;
    const char allowed[1][PK_KEY_Z85_LEN + 1] = {PUB};
    char peer[32];

    (void)state;
    memset(&a, 0, sizeof(a));
    assert_true(pk_access_key_allowed(&a, SEC)); /* no list: any key */
    a.keys = allowed;
    a.nkeys = 1;
    assert_true(pk_access_key_allowed(&a, PUB));
    assert_false(pk_access_key_allowed(&a, SEC));
    a.nkeys = 0; /* an empty list allows nobody */
    assert_false(pk_access_key_allowed(&a, PUB));

    for (int i = 0; i < 3; i++)
        pk_access_refuse(&a, PK_REFUSED_ADDRESS, "192.0.2.1", "");
    pk_access_refuse(&a, PK_REFUSED_KEY, "192.0.2.1", SEC);
    assert_true(a.refused[PK_REFUSED_ADDRESS] == 3 && a.refused[PK_REFUSED_KEY] == 1);
    assert_int_equal(a.nlogged, 2); /* logged once per peer and reason */
    for (int i = 0; i < 2 * PK_REFUSAL_MEMORY; i++) {
        snprintf(peer, sizeof(peer), "10.0.%d.%d", i / 256, i % 256);
        pk_access_refuse(&a, PK_REFUSED_ADDRESS, peer, "");
    }
    assert_int_equal(a.nlogged, PK_REFUSAL_MEMORY); /* bounded; the counter goes on */
    assert_true(a.logged_full);
    assert_true(a.refused[PK_REFUSED_ADDRESS] == 3 + 2 * PK_REFUSAL_MEMORY);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cidr_match),  cmocka_unit_test(test_cidr_sockaddr),
        cmocka_unit_test(test_cidr_errors), cmocka_unit_test(test_key_text),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Address family of frames of every supported link type, and the histogram buckets. */
#include "afamily.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void
test_ethernet_and_vlan(void **state)
{
    uint8_t f[64] = {0};

    (void)state;
    f[12] = 0x08, f[13] = 0x00;
    assert_int_equal(pk_af_classify(1, f, 60), PK_AF_IPV4);
    f[12] = 0x86, f[13] = 0xdd;
    assert_int_equal(pk_af_classify(1, f, 60), PK_AF_IPV6);
    f[12] = 0x08, f[13] = 0x06; /* ARP */
    assert_int_equal(pk_af_classify(1, f, 60), PK_AF_OTHER);
    /* QinQ: 802.1ad then 802.1Q then IPv6 */
    f[12] = 0x88, f[13] = 0xa8, f[16] = 0x81, f[17] = 0x00, f[20] = 0x86, f[21] = 0xdd;
    assert_int_equal(pk_af_classify(1, f, 60), PK_AF_IPV6);
    assert_int_equal(pk_af_classify(1, f, 20), PK_AF_OTHER); /* truncated inside the tags */
    assert_int_equal(pk_af_classify(1, f, 0), PK_AF_OTHER);
}

static void
test_cooked_raw_null(void **state)
{
    uint8_t sll[20] = {0}, sll2[20] = {0}, raw4[1] = {0x45}, raw6[1] = {0x60}, null[4];

    (void)state;
    sll[14] = 0x08, sll[15] = 0x00;
    assert_int_equal(pk_af_classify(113, sll, 20), PK_AF_IPV4);
    sll2[0] = 0x86, sll2[1] = 0xdd;
    assert_int_equal(pk_af_classify(276, sll2, 20), PK_AF_IPV6);
    assert_int_equal(pk_af_classify(101, raw4, 1), PK_AF_IPV4);
    assert_int_equal(pk_af_classify(101, raw6, 1), PK_AF_IPV6);
    assert_int_equal(pk_af_classify(12, raw6, 1), PK_AF_IPV6);
    assert_int_equal(pk_af_classify(228, raw6, 0), PK_AF_IPV4); /* the link type says it all */
    assert_int_equal(pk_af_classify(229, raw4, 0), PK_AF_IPV6);
    memcpy(null, "\x02\x00\x00\x00", 4); /* AF_INET, little-endian host */
    assert_int_equal(pk_af_classify(0, null, 4), PK_AF_IPV4);
    memcpy(null, "\x00\x00\x00\x1e", 4); /* AF_INET6 (macOS), big-endian */
    assert_int_equal(pk_af_classify(0, null, 4), PK_AF_IPV6);
    assert_int_equal(pk_af_classify(108, null, 4), PK_AF_IPV6);
    assert_int_equal(pk_af_classify(108, null, 3), PK_AF_OTHER);
    assert_int_equal(pk_af_classify(147, null, 4), PK_AF_OTHER); /* a user link type */
}

static void
test_histogram(void **state)
{
    struct pk_af_hist h;

    (void)state;
    memset(&h, 0, sizeof(h));
    pk_af_hist_add(&h, PK_AF_IPV4, 64);    /* le 64: bounds are inclusive */
    pk_af_hist_add(&h, PK_AF_IPV4, 65);    /* le 128 */
    pk_af_hist_add(&h, PK_AF_IPV4, 65536); /* le 65536 */
    pk_af_hist_add(&h, PK_AF_IPV4, 65537); /* +Inf only */
    assert_true(h.bucket[PK_AF_IPV4][0] == 1 && h.bucket[PK_AF_IPV4][1] == 1);
    assert_true(h.bucket[PK_AF_IPV4][10] == 1);
    assert_true(h.count[PK_AF_IPV4] == 4 && h.sum[PK_AF_IPV4] == 64 + 65 + 65536 + 65537);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ethernet_and_vlan),
        cmocka_unit_test(test_cooked_raw_null),
        cmocka_unit_test(test_histogram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

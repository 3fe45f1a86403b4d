/*
 * DLT_ -> LINKTYPE_: the expected numbers are the tcpdump.org link-layer registry's
 * (https://www.tcpdump.org/linktypes.html), not libpcap's headers, so a wrong mapping cannot
 * agree with itself.
 */
#include "linktype.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pcap/dlt.h>

static void
test_differing_values(void **state)
{
    (void)state;
    assert_int_equal(pk_linktype_from_dlt(DLT_RAW), 101);
    assert_int_equal(pk_linktype_from_dlt(DLT_ATM_RFC1483), 100);
    assert_int_equal(pk_linktype_from_dlt(DLT_SLIP_BSDOS), 102);
    assert_int_equal(pk_linktype_from_dlt(DLT_PPP_BSDOS), 103);
    assert_int_equal(pk_linktype_from_dlt(DLT_C_HDLC), 104);
    assert_int_equal(pk_linktype_from_dlt(DLT_ATM_CLIP), 106);
    assert_int_equal(pk_linktype_from_dlt(DLT_LOOP), 108);
    assert_int_equal(pk_linktype_from_dlt(DLT_ENC), 109);
    assert_int_equal(pk_linktype_from_dlt(DLT_HDLC), 112);
    assert_int_equal(pk_linktype_from_dlt(DLT_PFSYNC), 246);
    assert_int_equal(pk_linktype_from_dlt(DLT_PKTAP), 258);
#ifdef __linux__
    /* What libpcap hands out on Linux, e.g. for a tun device. */
    assert_int_equal(pk_linktype_from_dlt(12), 101);
    assert_int_equal(pk_linktype_from_dlt(11), 100);
    assert_int_equal(pk_linktype_from_dlt(19), 106);
#endif
}

static void
test_same_values(void **state)
{
    (void)state;
    assert_int_equal(pk_linktype_from_dlt(DLT_NULL), 0);
    assert_int_equal(pk_linktype_from_dlt(DLT_EN10MB), 1);
    assert_int_equal(pk_linktype_from_dlt(DLT_IEEE802), 6);
    assert_int_equal(pk_linktype_from_dlt(DLT_PPP_SERIAL), 50);
    assert_int_equal(pk_linktype_from_dlt(DLT_PPP_ETHER), 51);
    assert_int_equal(pk_linktype_from_dlt(DLT_REDBACK_SMARTEDGE), 32);
    assert_int_equal(pk_linktype_from_dlt(DLT_SYMANTEC_FIREWALL), 99);
    assert_int_equal(pk_linktype_from_dlt(DLT_IEEE802_11_RADIO), 127);
    assert_int_equal(pk_linktype_from_dlt(DLT_LINUX_SLL), 113);
    assert_int_equal(pk_linktype_from_dlt(DLT_IPV4), 228);
    assert_int_equal(pk_linktype_from_dlt(DLT_IPV6), 229);
    assert_int_equal(pk_linktype_from_dlt(DLT_LINUX_SLL2), 276);
}

static void
test_unknown(void **state)
{
    (void)state;
    /* No registry value: the caller decides (libpcap would refuse to write the file). */
    assert_int_equal(pk_linktype_from_dlt(-1), -1);
    assert_int_equal(pk_linktype_from_dlt(60), -1);
    assert_int_equal(pk_linktype_from_dlt(100000), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_differing_values),
        cmocka_unit_test(test_same_values),
        cmocka_unit_test(test_unknown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

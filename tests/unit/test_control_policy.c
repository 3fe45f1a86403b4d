/* The agent's control policy (control_policy.h): which messages are for this agent, a central
 * filter checked alone (so it cannot break out of its parentheses and widen the capture), the
 * combined exclusion, and sampling and rate limits that only narrow. */
#include "control_policy.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define ID 0x1122334455667788ull
static const struct pk_frame_source self = {ID, "web1:eth0"};

static size_t
control_for(uint8_t *buf, size_t cap, uint64_t id, const char *name, const char *filter)
{
    struct pk_frame_source src = {id, name};
    struct pk_control c = {.generation = 7,
                           .flags = PK_CONTROL_PAUSED,
                           .sample_n = 4,
                           .rate_limit = 1000,
                           .filter = {filter, (uint16_t)strlen(filter)}};
    size_t n = pk_frame_encode_control(buf, cap, &src, &c);

    assert_true(n > 0);
    return n;
}

static void
test_prefix(void **state)
{
    uint8_t prefix[PK_CONTROL_PREFIX_LEN], buf[512];
    const uint8_t want[PK_CONTROL_PREFIX_LEN] = {'P',  'K',  'T',  'R',  1,    5,    9,    0,
                                                 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11};

    (void)state;
    assert_int_equal(pk_control_prefix(&self, prefix), 0);
    assert_memory_equal(prefix, want, sizeof(want));
    /* Every control message for this agent starts so, whatever its body. */
    control_for(buf, sizeof(buf), ID, self.name, "tcp port 80");
    assert_memory_equal(buf, prefix, sizeof(prefix));
}

static void
test_check_accepts_own(void **state)
{
    uint8_t buf[512];
    size_t n = control_for(buf, sizeof(buf), ID, self.name, "tcp port 80");
    struct pk_control c;

    (void)state;
    assert_int_equal(pk_control_check(buf, n, &self, &c), 0);
    assert_true(c.generation == 7);
    assert_int_equal(c.flags, PK_CONTROL_PAUSED);
    assert_int_equal(c.sample_n, 4);
    assert_true(c.rate_limit == 1000);
    assert_int_equal(c.filter.len, strlen("tcp port 80"));
    assert_memory_equal(c.filter.ptr, "tcp port 80", c.filter.len);
}

static void
test_check_rejects_others(void **state)
{
    uint8_t buf[512];
    struct pk_control c;
    struct pk_hello h = {.linktype = 1, .snaplen = 65535, .tsresol = 9};
    size_t n;

    (void)state;
    n = control_for(buf, sizeof(buf), ID + 1, self.name, "");
    assert_int_equal(pk_control_check(buf, n, &self, &c), -ESRCH); /* another id */
    n = control_for(buf, sizeof(buf), ID, "web1:eth1", "");
    assert_int_equal(pk_control_check(buf, n, &self, &c), -ESRCH); /* another name, same length */
    n = control_for(buf, sizeof(buf), ID, "web1:eth0.100", "");
    assert_int_equal(pk_control_check(buf, n, &self, &c), -ESRCH); /* a longer name */
    n = pk_frame_encode_hello(buf, sizeof(buf), &self, &h, "h", "eth0", "", "v");
    assert_int_equal(pk_control_check(buf, n, &self, &c), -ENOMSG); /* another kind */
    n = control_for(buf, sizeof(buf), ID, self.name, "udp");
    for (size_t cut = 0; cut < n; cut++)
        assert_int_equal(pk_control_check(buf, cut, &self, &c), -EBADMSG);
    buf[n] = 0;
    assert_int_equal(pk_control_check(buf, n + 1, &self, &c), -EBADMSG); /* trailing byte */
    assert_string_equal(pk_control_reject_reason(-ESRCH), "meant for another source");
}

static int
filter_check(pcap_t *p, const char *expr, size_t len, char *out, size_t cap, char *errbuf)
{
    return pk_control_filter_check(p, (struct pk_str){expr, (uint16_t)len}, out, cap, errbuf);
}

static void
test_filter_alone(void **state)
{
    pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
    char out[PK_CONTROL_FILTER_MAX + 1], errbuf[256], combined[8192];
    const char *inject = "udp) or (tcp";
    struct bpf_program prog;

    (void)state;
    assert_non_null(p);
    assert_int_equal(filter_check(p, "udp port 53", 11, out, sizeof(out), errbuf), 0);
    assert_string_equal(out, "udp port 53");
    assert_int_equal(filter_check(p, "", 0, out, sizeof(out), errbuf), 0);
    assert_string_equal(out, "");
    /* The injection: alone it is no expression, and it is refused with libpcap's words. */
    errbuf[0] = '\0';
    assert_int_equal(filter_check(p, inject, strlen(inject), out, sizeof(out), errbuf), -EINVAL);
    assert_true(strlen(errbuf) > 0);
    assert_string_equal(out, "");
    /* Why alone: in its parentheses it compiles, as "udp or (tcp and not ...)": wider. */
    assert_int_equal(pk_control_exclude(combined, sizeof(combined), inject,
                                        "not (tcp port 7386 and (host 127.0.0.1))"),
                     0);
    assert_int_equal(pcap_compile(p, &prog, combined, 1, PCAP_NETMASK_UNKNOWN), 0);
    pcap_freecode(&prog);
    /* A NUL would cut it short of what the collector sent; a filter past the buffer is cut. */
    assert_int_equal(filter_check(p, "udp\0 or tcp", 11, out, sizeof(out), errbuf), -EINVAL);
    assert_int_equal(filter_check(p, "udp port 53", 11, out, 8, errbuf), -EINVAL);
    pcap_close(p);
}

static void
test_exclude(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(pk_control_exclude(out, sizeof(out), "udp", "not (tcp port 1)"), 0);
    assert_string_equal(out, "(udp) and not (tcp port 1)");
    assert_int_equal(pk_control_exclude(out, sizeof(out), "", "not (tcp port 1)"), 0);
    assert_string_equal(out, "not (tcp port 1)");
    assert_int_equal(pk_control_exclude(out, sizeof(out), "udp", ""), 0);
    assert_string_equal(out, "(udp)");
    assert_int_equal(pk_control_exclude(out, 10, "udp", "not (tcp port 1)"), -E2BIG);
}

static void
test_only_narrows(void **state)
{
    (void)state;
    /* SAMPLE: the larger N keeps fewer flows; central 0 or 1 leaves the agent's own. */
    assert_int_equal(pk_control_sample_n(1, 0), 1);
    assert_int_equal(pk_control_sample_n(0, 0), 1);
    assert_int_equal(pk_control_sample_n(4, 1), 4);
    assert_int_equal(pk_control_sample_n(4, 2), 4);
    assert_int_equal(pk_control_sample_n(2, 8), 8);
    /* Rate: the smaller non-zero; 0 is "no limit", never "stop". */
    assert_true(pk_control_rate_limit(0, 0) == 0);
    assert_true(pk_control_rate_limit(0, 100) == 100);
    assert_true(pk_control_rate_limit(100, 0) == 100);
    assert_true(pk_control_rate_limit(100, 50) == 50);
    assert_true(pk_control_rate_limit(50, 100) == 50);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_check_accepts_own),
        cmocka_unit_test(test_check_rejects_others),
        cmocka_unit_test(test_filter_alone),
        cmocka_unit_test(test_exclude),
        cmocka_unit_test(test_only_narrows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The pcap writer, checked by reading its output back with libpcap itself. */
#include "pcapout.h"

#include <pcap/pcap.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static void
test_libpcap_reads_it_back(void **state)
{
    char path[] = "/tmp/pk-test-pcapout-XXXXXX", err[PCAP_ERRBUF_SIZE];
    uint8_t hdr[PK_PCAP_FILE_HEADER_LEN], data[9000];
    const uint64_t ts[3] = {1700000000123456789ull, 1700000000999999999ull, 5};
    const uint32_t caplen[3] = {42, 96, 9000}, origlen[3] = {42, 1514, 9000};
    struct pcap_pkthdr *h;
    const u_char *bytes;
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "wb");
    pcap_t *p;

    (void)state;
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7);
    pk_pcap_file_header(hdr, 228 /* raw IPv4 */, PK_PCAP_STREAM_SNAPLEN);
    fwrite(hdr, 1, sizeof(hdr), f);
    for (int i = 0; i < 3; i++) {
        pk_pcap_record_header(hdr, ts[i], caplen[i], origlen[i]);
        fwrite(hdr, 1, PK_PCAP_RECORD_HEADER_LEN, f);
        fwrite(data, 1, caplen[i], f);
    }
    fclose(f);

    p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
    assert_non_null(p);
    assert_int_equal(pcap_datalink(p), 228);
    assert_int_equal(pcap_snapshot(p), PK_PCAP_STREAM_SNAPLEN);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pcap_next_ex(p, &h, &bytes), 1);
        assert_true((uint64_t)h->ts.tv_sec * 1000000000u + (uint64_t)h->ts.tv_usec == ts[i]);
        assert_int_equal(h->caplen, caplen[i]);
        assert_int_equal(h->len, origlen[i]);
        assert_memory_equal(bytes, data, caplen[i]);
    }
    assert_int_equal(pcap_next_ex(p, &h, &bytes), PCAP_ERROR_BREAK);
    pcap_close(p);
    unlink(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_libpcap_reads_it_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

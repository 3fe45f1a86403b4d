/*
 * The sinks (src/sinks) without a network: endpoint queries, the fan-out's accounting per
 * reader (written, filtered, dropped by cause), a reader that joins late getting every
 * interface, readers of one format and filter sharing one encoding (chunks), the bounded
 * interface registry, and the reader gate.
 */
#include "gate.h"
#include "ifreg.h"
#include "pcapfmt.h"
#include "pcktr.h"
#include "serve.h"
#include "sink.h"
#include "sinkset.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void
on_data(struct pk_sink *s, void *data)
{
    (void)s;
    (*(int *)data)++;
}

/* Takes every queued byte of s into buf; returns how many. */
static size_t
drain(struct pk_sink *s, uint8_t *buf, size_t cap)
{
    struct iovec iov[64];
    size_t n = 0;
    int k;

    while ((k = pk_sink_peek(s, iov, 64)) > 0) {
        size_t taken = 0;
        for (int i = 0; i < k; i++) {
            assert_true(n + iov[i].iov_len <= cap);
            memcpy(buf + n, iov[i].iov_base, iov[i].iov_len);
            n += iov[i].iov_len;
            taken += iov[i].iov_len;
        }
        pk_sink_consume(s, taken);
    }
    return n;
}

/* pcapng blocks of type t in buf. */
static int
count_blocks(const uint8_t *buf, size_t n, uint32_t t)
{
    int c = 0;

    for (size_t off = 0; off + 8 <= n;) {
        uint32_t type, len;
        memcpy(&type, buf + off, 4);
        memcpy(&len, buf + off + 4, 4);
        assert_true(len >= 12 && off + len <= n);
        c += type == t;
        off += len;
    }
    return c;
}

static struct pk_source *
source(const char *name)
{
    struct pk_source *s = calloc(1, sizeof(*s));

    assert_non_null(s);
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->filter = (char *)"";
    return s;
}

/* An Ethernet frame: IPv4/UDP when udp, else ARP. */
static struct pk_record
frame(uint8_t *buf, size_t len, int udp)
{
    memset(buf, 0, len);
    buf[12] = 0x08;
    buf[13] = udp ? 0x00 : 0x06; /* IPv4 or ARP */
    buf[14] = 0x45;
    buf[16] = (uint8_t)((len - 14) >> 8);
    buf[17] = (uint8_t)(len - 14);
    buf[22] = 64;
    buf[23] = 17;
    return (struct pk_record){1000000123ull, (uint32_t)len, (uint32_t)len, buf};
}

static struct pk_sink *
pull(const char *format, const char *filter, size_t limit, int *calls)
{
    struct pk_sink_opts o = {.filter = filter, .limit = limit, .kind = "serve", .peer = "t"};
    struct pk_sink_consumer c = {on_data, calls};
    char errbuf[PK_ERRBUF_SIZE];
    struct pk_sink *s;

    assert_int_equal(pk_format_reader_parse(format, &o.format), 0);
    assert_int_equal(pk_sink_new_pull(&s, &o, &c, errbuf), 0);
    return s;
}

static void
test_endpoint_query(void **state)
{
    struct pk_serve_endpoint e, v[PK_SERVE_MAX_ENDPOINTS];
    char errbuf[PK_ERRBUF_SIZE];
    int n;

    (void)state;
    assert_int_equal(pk_serve_endpoint_parse("tcp://*:57013?filter=udp%20port%2053&format=pcapng",
                                             1, PK_FORMAT_PCAP_US, &e, errbuf), 0);
    assert_string_equal(e.text, "tcp://*:57013");
    assert_string_equal(e.filter, "udp port 53");
    assert_int_equal(e.format, PK_FORMAT_PCAPNG);
    assert_int_equal(pk_serve_endpoint_parse("tcp://127.0.0.1:1?filter=udp+port+53", 1,
                                             PK_FORMAT_PCAP, &e, errbuf), 0);
    assert_string_equal(e.filter, "udp port 53");
    assert_int_equal(e.format, PK_FORMAT_PCAP);
    assert_int_equal(pk_serve_endpoint_parse("tcp://*:1?filter=%zz", 1, 0, &e, errbuf), -EINVAL);
    assert_int_equal(pk_serve_endpoint_parse("tcp://*:1?filter=%4", 1, 0, &e, errbuf), -EINVAL);
    assert_int_equal(pk_serve_endpoint_parse("tcp://*:1?color=red", 1, 0, &e, errbuf), -EINVAL);
    assert_int_equal(pk_serve_endpoint_parse("tcp://*:1?format=pcap-us", 1, 0, &e, errbuf),
                     -EINVAL);
    assert_int_equal(pk_serve_endpoint_parse("tcp://*:1?filter=udp%20portt", 1, 0, &e, errbuf),
                     -EINVAL);
    assert_non_null(strstr(errbuf, "syntax error"));
    assert_int_equal(pk_serve_endpoint_parse("localhost:57012", 0, 0, &e, errbuf), 0);
    assert_int_equal(e.ep.port, 57012);
    assert_int_equal(pk_serve_endpoint_parse("*:57012", 0, 0, &e, errbuf), -EINVAL);
    assert_int_equal(pk_serve_endpoint_list(" tcp://*:1 ,, tcp://*:2?format=pcap-ns", 1,
                                            PK_FORMAT_PCAP_US, v, &n, errbuf), 0);
    assert_int_equal(n, 2);
    assert_int_equal(v[1].format, PK_FORMAT_PCAP);
    assert_int_equal(pk_serve_endpoint_list("", 1, 0, v, &n, errbuf), 0);
    assert_int_equal(n, 0);
}

/* Per reader: written + filtered + dropped by cause = what the stage handled. */
static void
test_fanout_accounting(void **state)
{
    static uint8_t out[1 << 20];
    struct pk_sinkset set;
    struct pk_source *a = source("a");
    uint8_t pkt[1000];
    int calls = 0;
    struct pk_sink *udp_only, *ng, *frozen;
    struct pk_sink_stats st;

    (void)state;
    pk_sinkset_init(&set, "hw", "os", "app");
    udp_only = pull("pcap", "udp", 1 << 20, &calls);
    ng = pull("pcapng", NULL, 1 << 20, &calls);
    frozen = pull("pcap-ns", NULL, 65536, &calls);
    assert_int_equal(pk_sinkset_add(&set, udp_only), 0);
    assert_int_equal(pk_sinkset_add(&set, ng), 0);
    assert_int_equal(pk_sinkset_add(&set, frozen), 0);
    for (int i = 0; i < 200; i++) {
        struct pk_record r = frame(pkt, sizeof(pkt), i % 2 == 0);
        assert_int_equal(pk_sinkset_record(&set, a, 1, &r), 1); /* no primary: written */
    }
    struct pk_record raw = frame(pkt, 60, 1);
    pk_sinkset_record(&set, a, 101, &raw); /* another link type */
    pk_sinkset_flush(&set);
    assert_int_equal(calls, 3);

    pk_sink_stats(udp_only, &st);
    assert_string_equal(st.format, "pcap");
    assert_int_equal(st.packets, 100);
    assert_int_equal(st.filtered, 100);
    assert_int_equal(st.dropped[PK_SINK_DROP_LINKTYPE], 1);
    assert_int_equal(st.dropped[PK_SINK_DROP_QUEUE_FULL], 0);
    size_t n = drain(udp_only, out, sizeof(out));
    uint32_t magic;
    memcpy(&magic, out, 4);
    assert_int_equal(magic, PK_PCAP_MAGIC_US);
    assert_int_equal(n, PK_PCAP_FILE_HEADER_LEN + 100 * (PK_PCAP_RECORD_HEADER_LEN + 1000));

    pk_sink_stats(ng, &st);
    assert_int_equal(st.packets, 201); /* pcapng takes every link type */
    n = drain(ng, out, sizeof(out));
    assert_int_equal(count_blocks(out, n, PK_PCAPNG_BT_IDB), 2);
    assert_int_equal(count_blocks(out, n, PK_PCAPNG_BT_EPB), 201);

    pk_sink_stats(frozen, &st); /* never drained: whole packets dropped past its limit */
    assert_true(st.slow);
    assert_int_equal(st.packets + st.dropped[PK_SINK_DROP_QUEUE_FULL] +
                         st.dropped[PK_SINK_DROP_LINKTYPE], 201);
    assert_true(st.queue_bytes <= 65536);
    assert_int_equal(st.queue_bytes, PK_PCAP_FILE_HEADER_LEN + st.packets * 1016);
    drain(frozen, out, sizeof(out));
    pk_sink_stats(frozen, &st);
    assert_false(st.slow);
    assert_int_equal(st.slow_episodes, 1);

    pk_sinkset_remove(&set, udp_only);
    assert_int_equal(pk_sinkset_count(&set), 2);
    pk_sinkset_free(&set);
    free(a);
}

/* A reader joining later gets a section and every interface so far, also of evicted sources. */
static void
test_late_join(void **state)
{
    static uint8_t out[1 << 16];
    struct pk_sinkset set;
    struct pk_source *a = source("a"), *b = source("b");
    uint8_t pkt[100];
    int calls = 0;
    struct pk_record r = frame(pkt, sizeof(pkt), 1);

    (void)state;
    pk_sinkset_init(&set, "hw", "os", "app");
    pk_sinkset_record(&set, a, 1, &r);
    pk_sinkset_record(&set, b, 1, &r);
    pk_sinkset_record(&set, b, 101, &r);
    free(a); /* evicted: its interface stays described */
    struct pk_sink *late = pull("pcapng", NULL, 1 << 16, &calls);
    assert_int_equal(pk_sinkset_add(&set, late), 0);
    pk_sinkset_record(&set, b, 101, &r);
    pk_sinkset_flush(&set); /* the pass: a reader's bytes of the turn become its own */
    size_t n = drain(late, out, sizeof(out));
    assert_int_equal(count_blocks(out, n, PK_PCAPNG_BT_SHB), 1);
    assert_int_equal(count_blocks(out, n, PK_PCAPNG_BT_IDB), 3);
    assert_int_equal(count_blocks(out, n, PK_PCAPNG_BT_EPB), 1);
    uint32_t if_id; /* the packet names interface 2, the third block */
    memcpy(&if_id, out + n - 4 - ((100 + 3) & ~3u) - 20, 4);
    assert_int_equal(if_id, 2);
    pk_sinkset_free(&set);
    free(b);
}

/* Readers of one format and filter share the encoding: the same bytes, the same memory. */
static void
test_share_identical(void **state)
{
    static uint8_t out1[1 << 20], out2[1 << 20];
    struct pk_sinkset set;
    struct pk_source *a = source("a");
    uint8_t pkt[700];
    int calls = 0;
    struct pk_sink *x = pull("pcapng", "udp", 1 << 20, &calls);
    struct pk_sink *y = pull("pcapng", "udp", 1 << 20, &calls);
    struct pk_sink_stats sx, sy;

    (void)state;
    pk_sinkset_init(&set, "hw", "os", "app");
    assert_int_equal(pk_sinkset_add(&set, x), 0);
    assert_int_equal(pk_sinkset_add(&set, y), 0);
    for (int i = 0; i < 1000; i++) {
        struct pk_record r = frame(pkt, sizeof(pkt), i % 3 != 0);
        pk_sinkset_record(&set, a, 1, &r);
        if (i % 100 == 99)
            pk_sinkset_flush(&set);
    }
    pk_sinkset_flush(&set);
    struct iovec ix[64], iy[64];
    int kx = pk_sink_peek(x, ix, 64), ky = pk_sink_peek(y, iy, 64);
    assert_int_equal(kx, ky);
    assert_true(kx > 2);
    for (int i = 0; i < kx; i++) /* both there at the start: even the header is shared */
        assert_ptr_equal(ix[i].iov_base, iy[i].iov_base);
    size_t n1 = drain(x, out1, sizeof(out1)), n2 = drain(y, out2, sizeof(out2));
    assert_int_equal(n1, n2);
    assert_memory_equal(out1, out2, n1);
    assert_int_equal(count_blocks(out1, n1, PK_PCAPNG_BT_EPB), 666);
    assert_int_equal(count_blocks(out1, n1, PK_PCAPNG_BT_IDB), 1);
    pk_sink_stats(x, &sx);
    pk_sink_stats(y, &sy);
    assert_int_equal(sx.packets, 666);
    assert_int_equal(sx.filtered, 334);
    assert_int_equal(sy.packets, 666);
    assert_int_equal(sy.filtered, 334);
    assert_int_equal(sx.sent_bytes, n1);
    assert_int_equal(sx.queue_bytes, 0);
    pk_sinkset_free(&set);
    free(a);
}

/* A reader whose queue is full drops whole chunks, every packet in them counted; the other of
 * its group gets everything. */
static void
test_share_full_drops_chunks(void **state)
{
    static uint8_t out[4 << 20];
    struct pk_sinkset set;
    struct pk_source *a = source("a");
    uint8_t pkt[1000];
    int calls = 0;
    struct pk_sink *fast = pull("pcap", NULL, 4 << 20, &calls);
    struct pk_sink *frozen = pull("pcap", NULL, 4 << 20, &calls);
    struct pk_sink_stats sf, sz;
    size_t rec = PK_PCAP_RECORD_HEADER_LEN + 1000, got = 0;

    (void)state;
    pk_sinkset_init(&set, "hw", "os", "app");
    assert_int_equal(pk_sinkset_add(&set, fast), 0);
    assert_int_equal(pk_sinkset_add(&set, frozen), 0);
    for (int i = 0; i < 10000; i++) { /* 10 MB: far past the frozen one's 4 MiB */
        struct pk_record r = frame(pkt, sizeof(pkt), 1);
        pk_sinkset_record(&set, a, 1, &r);
        if (i % 37 == 36) {
            pk_sinkset_flush(&set);
            got += drain(fast, out, sizeof(out));
        }
    }
    pk_sinkset_flush(&set);
    got += drain(fast, out, sizeof(out));
    pk_sink_stats(fast, &sf);
    assert_int_equal(sf.packets, 10000);
    assert_int_equal(sf.dropped[PK_SINK_DROP_QUEUE_FULL], 0);
    assert_int_equal(got, PK_PCAP_FILE_HEADER_LEN + 10000 * rec);
    pk_sink_stats(frozen, &sz);
    assert_true(sz.slow);
    assert_int_equal(sz.slow_episodes, 1);
    assert_true(sz.dropped[PK_SINK_DROP_QUEUE_FULL] > 0);
    assert_int_equal(sz.packets + sz.dropped[PK_SINK_DROP_QUEUE_FULL], 10000);
    assert_int_equal(sz.queue_bytes, PK_PCAP_FILE_HEADER_LEN + sz.packets * rec);
    assert_true(sz.queue_bytes <= 4 << 20);
    assert_int_equal(sz.bytes, sz.packets * 1000);
    size_t n = drain(frozen, out, sizeof(out)); /* whole records: a clean pcap */
    assert_int_equal(n, sz.queue_bytes);
    for (size_t off = PK_PCAP_FILE_HEADER_LEN; off < n; off += rec) {
        uint32_t caplen;
        memcpy(&caplen, out + off + 8, 4);
        assert_int_equal(caplen, 1000);
    }
    pk_sink_stats(frozen, &sz);
    assert_false(sz.slow);
    pk_sinkset_free(&set);
    free(a);
}

/* pcapng, joining mid-stream: a section with every interface so far, then the records from its
 * join on, the same bytes as the reader that was there. */
static void
test_share_join_midstream(void **state)
{
    static uint8_t early_b[1 << 20], late_b[1 << 20];
    struct pk_sinkset set;
    struct pk_source *a = source("a"), *b = source("b");
    uint8_t pkt[200];
    int calls = 0;
    struct pk_record r = frame(pkt, sizeof(pkt), 1);
    struct pk_sink *early = pull("pcapng", NULL, 1 << 20, &calls), *late;

    (void)state;
    pk_sinkset_init(&set, "hw", "os", "app");
    assert_int_equal(pk_sinkset_add(&set, early), 0);
    for (int i = 0; i < 50; i++)
        pk_sinkset_record(&set, i % 2 ? a : b, 1, &r);
    /* before the pass: the header at once, and b's first record, which a's interface block
     * sealed (the block comes after it); the rest waits for the pass */
    size_t ne = drain(early, early_b, sizeof(early_b));
    assert_int_equal(count_blocks(early_b, ne, PK_PCAPNG_BT_IDB), 2);
    assert_int_equal(count_blocks(early_b, ne, PK_PCAPNG_BT_EPB), 1);
    late = pull("pcapng", NULL, 1 << 20, &calls); /* joins with records of the turn pending */
    assert_int_equal(pk_sinkset_add(&set, late), 0);
    pk_sinkset_record(&set, a, 101, &r); /* a third interface, after the join */
    for (int i = 0; i < 30; i++)
        pk_sinkset_record(&set, b, 1, &r);
    pk_sinkset_flush(&set);
    ne += drain(early, early_b + ne, sizeof(early_b) - ne);
    size_t nl = drain(late, late_b, sizeof(late_b));
    assert_int_equal(count_blocks(late_b, nl, PK_PCAPNG_BT_SHB), 1);
    assert_int_equal(count_blocks(late_b, nl, PK_PCAPNG_BT_IDB), 3);
    assert_int_equal(count_blocks(late_b, nl, PK_PCAPNG_BT_EPB), 31);
    assert_int_equal(count_blocks(early_b, ne, PK_PCAPNG_BT_IDB), 3);
    assert_int_equal(count_blocks(early_b, ne, PK_PCAPNG_BT_EPB), 81);
    /* late's header: its SHB and the two interfaces of before; then the same bytes as early's
     * from the third interface block on */
    uint32_t len0, len1, len2;
    memcpy(&len0, late_b + 4, 4);
    memcpy(&len1, late_b + len0 + 4, 4);
    memcpy(&len2, late_b + len0 + len1 + 4, 4);
    size_t head = len0 + len1 + len2, tail = nl - head;
    assert_true(tail < ne);
    assert_memory_equal(late_b + head, early_b + ne - tail, tail);
    uint32_t type;
    memcpy(&type, late_b + head, 4);
    assert_int_equal(type, PK_PCAPNG_BT_IDB);
    pk_sinkset_free(&set);
    free(a);
    free(b);
}

/* Another filter or another format: another encoding. */
static void
test_share_not_across(void **state)
{
    struct pk_sinkset set;
    struct pk_source *a = source("a");
    uint8_t pkt[100];
    int calls = 0;
    struct pk_sink *v[4] = {pull("pcap", NULL, 1 << 20, &calls),
                            pull("pcap", "udp", 1 << 20, &calls),
                            pull("pcap-ns", NULL, 1 << 20, &calls),
                            pull("pcap", "", 1 << 20, &calls)}; /* "" is no filter */
    struct pk_record r = frame(pkt, sizeof(pkt), 1);

    (void)state;
    pk_sinkset_init(&set, "hw", "os", "app");
    for (int i = 0; i < 4; i++)
        assert_int_equal(pk_sinkset_add(&set, v[i]), 0);
    pk_sinkset_record(&set, a, 1, &r);
    pk_sinkset_flush(&set);
    const void *p[4];
    for (int i = 0; i < 4; i++) {
        struct iovec iov[2];
        assert_int_equal(pk_sink_peek(v[i], iov, 2), 2); /* header, the record's chunk */
        p[i] = iov[1].iov_base;
    }
    assert_ptr_not_equal(p[0], p[1]);
    assert_ptr_not_equal(p[0], p[2]);
    assert_ptr_not_equal(p[1], p[2]);
    assert_ptr_equal(p[0], p[3]);
    pk_sinkset_free(&set);
    free(a);
}

/* A reader removed while the others still refer to chunks it took: nothing freed early (ASan
 * would say), and the group goes with its last member. */
static void
test_share_remove_outstanding(void **state)
{
    static uint8_t expect[1 << 16], got[1 << 16];
    struct pk_sinkset set;
    struct pk_source *a = source("a");
    uint8_t pkt[300];
    int calls = 0;
    struct pk_sink *x = pull("pcap", NULL, 1 << 20, &calls);
    struct pk_sink *y = pull("pcap", NULL, 1 << 20, &calls);
    struct pk_record r = frame(pkt, sizeof(pkt), 1);
    struct iovec iov[16];

    (void)state;
    pk_sinkset_init(&set, "hw", "os", "app");
    assert_int_equal(pk_sinkset_add(&set, x), 0);
    assert_int_equal(pk_sinkset_add(&set, y), 0);
    for (int i = 0; i < 20; i++)
        pk_sinkset_record(&set, a, 1, &r);
    pk_sinkset_flush(&set);
    int k = pk_sink_peek(y, iov, 16); /* as an in-flight write would */
    size_t n = 0;
    for (int i = 0; i < k; i++) {
        memcpy(expect + n, iov[i].iov_base, iov[i].iov_len);
        n += iov[i].iov_len;
    }
    assert_int_equal(pk_sink_peek(x, iov, 16), k);
    pk_sinkset_remove(&set, x); /* with the same chunks queued */
    for (int i = 0; i < 5; i++)
        pk_sinkset_record(&set, a, 1, &r); /* into the group's open chunk */
    assert_int_equal(pk_sink_peek(y, iov, 16), k); /* still the same, still readable */
    size_t m = 0;
    for (int i = 0; i < k; i++) {
        memcpy(got + m, iov[i].iov_base, iov[i].iov_len);
        m += iov[i].iov_len;
    }
    assert_int_equal(m, n);
    assert_memory_equal(got, expect, n);
    pk_sink_consume(y, n);
    pk_sinkset_flush(&set);
    assert_int_equal(pk_sink_queued(y), 5 * (PK_PCAP_RECORD_HEADER_LEN + 300));
    pk_sinkset_remove(&set, y); /* the last: with bytes queued and the group's chunk */
    assert_int_equal(pk_sinkset_count(&set), 0);
    x = pull("pcap", NULL, 1 << 20, &calls); /* a new group after the old one went */
    assert_int_equal(pk_sinkset_add(&set, x), 0);
    pk_sinkset_record(&set, a, 1, &r);
    pk_sinkset_flush(&set);
    assert_int_equal(pk_sink_queued(x), PK_PCAP_FILE_HEADER_LEN + PK_PCAP_RECORD_HEADER_LEN + 300);
    pk_sinkset_free(&set); /* x with its bytes */
    free(a);
}

/* The registry full: a new section, in place, in every pcapng stream of a group. */
static void
test_share_new_section(void **state)
{
    size_t nsrc = PK_IFREG_MAX / PK_SOURCE_INTERFACES, cap = 64u << 20;
    struct pk_source *v = calloc(nsrc + 1, sizeof(*v));
    uint8_t *out = malloc(cap), *out2 = malloc(cap), pkt[60];
    struct pk_record r = frame(pkt, sizeof(pkt), 1);
    struct pk_sinkset set;
    int calls = 0;
    struct pk_sink *x = pull("pcapng", NULL, 1 << 30, &calls);
    struct pk_sink *y = pull("pcapng", NULL, 1 << 30, &calls);

    (void)state;
    assert_non_null(v);
    assert_non_null(out);
    assert_non_null(out2);
    pk_sinkset_init(&set, "hw", "os", "app");
    assert_int_equal(pk_sinkset_add(&set, x), 0);
    assert_int_equal(pk_sinkset_add(&set, y), 0);
    for (size_t i = 0; i <= nsrc; i++)
        for (uint32_t lt = 1; lt <= (i < nsrc ? PK_SOURCE_INTERFACES : 1); lt++)
            pk_sinkset_record(&set, &v[i], lt, &r);
    pk_sinkset_flush(&set);
    size_t n = drain(x, out, cap), n2 = drain(y, out2, cap);
    assert_int_equal(n, n2);
    assert_memory_equal(out, out2, n);
    assert_int_equal(count_blocks(out, n, PK_PCAPNG_BT_SHB), 2);
    assert_int_equal(count_blocks(out, n, PK_PCAPNG_BT_IDB), PK_IFREG_MAX + 1);
    assert_int_equal(count_blocks(out, n, PK_PCAPNG_BT_EPB), PK_IFREG_MAX + 1);
    uint32_t len, type; /* the stream ends with the new section: SHB, its IDB, its packet */
    size_t off = 0, last[3] = {0, 0, 0};
    while (off < n) {
        last[0] = last[1], last[1] = last[2], last[2] = off;
        memcpy(&len, out + off + 4, 4);
        off += len;
    }
    memcpy(&type, out + last[0], 4);
    assert_int_equal(type, PK_PCAPNG_BT_SHB);
    memcpy(&type, out + last[1], 4);
    assert_int_equal(type, PK_PCAPNG_BT_IDB);
    pk_sinkset_free(&set);
    free(v);
    free(out);
    free(out2);
}

/* Bounded: past PK_IFREG_MAX interfaces, a new numbering begins at 0. */
static void
test_registry_bound(void **state)
{
    size_t nsrc = PK_IFREG_MAX / PK_SOURCE_INTERFACES;
    struct pk_source *v = calloc(nsrc + 1, sizeof(*v));
    struct pk_ifreg reg;
    uint32_t id;

    (void)state;
    assert_non_null(v);
    pk_ifreg_init(&reg, "", "", "");
    for (size_t i = 0; i < nsrc; i++)
        for (uint32_t lt = 1; lt <= PK_SOURCE_INTERFACES; lt++)
            assert_int_equal(pk_ifreg_of(&reg, &v[i], lt, &id), PK_IFREG_NEW);
    assert_int_equal(id, PK_IFREG_MAX - 1);
    assert_int_equal(pk_ifreg_of(&reg, &v[0], 9, &id), -ENOSPC); /* its 9th link type */
    assert_int_equal(pk_ifreg_of(&reg, &v[0], 1, &id), PK_IFREG_KNOWN);
    assert_int_equal(pk_ifreg_of(&reg, &v[nsrc], 1, &id), PK_IFREG_NEW_SECTION);
    assert_int_equal(id, 0);
    assert_int_equal(reg.n, 1);
    assert_int_equal(pk_ifreg_of(&reg, &v[0], 1, &id), PK_IFREG_NEW); /* described afresh */
    assert_int_equal(id, 1);
    assert_int_equal(pk_ifreg_first(&reg, &v[1], &id), -ENOENT);
    pk_ifreg_free(&reg);
    free(v);
}

static void
test_gate(void **state)
{
    struct sockaddr_in lo = {.sin_family = AF_INET}, other = {.sin_family = AF_INET};
    struct sockaddr_in6 lo6 = {.sin6_family = AF_INET6};
    struct pk_cidr ten[1];
    struct pk_gate g;
    char errbuf[PK_ERRBUF_SIZE];
    int n;

    (void)state;
    inet_pton(AF_INET, "127.0.0.2", &lo.sin_addr);
    inet_pton(AF_INET, "10.1.2.3", &other.sin_addr);
    lo6.sin6_addr = in6addr_loopback;
    pk_gate_init(&g, NULL, 0, 2); /* loopback only, 2 readers */
    assert_int_equal(pk_gate_admit(&g, (struct sockaddr *)&other, "10.1.2.3:1", "x"), -EACCES);
    assert_int_equal(pk_gate_admit(&g, (struct sockaddr *)&lo, "127.0.0.2:1", "x"), 0);
    assert_int_equal(pk_gate_admit(&g, (struct sockaddr *)&lo6, "[::1]:1", "x"), 0);
    assert_int_equal(pk_gate_admit(&g, (struct sockaddr *)&lo, "127.0.0.2:2", "x"), -EMFILE);
    pk_gate_leave(&g);
    assert_int_equal(pk_gate_admit(&g, (struct sockaddr *)&lo, "127.0.0.2:2", "x"), 0);
    assert_int_equal(g.refused[PK_GATE_REFUSED_ADDRESS], 1);
    assert_int_equal(g.refused[PK_GATE_REFUSED_LIMIT], 1);
    assert_int_equal(g.admitted, 3);
    assert_int_equal(pk_cidr_parse_list("10.0.0.0/8", ten, 1, &n, errbuf), 0);
    pk_gate_init(&g, ten, n, 2);
    assert_int_equal(pk_gate_admit(&g, (struct sockaddr *)&lo, "127.0.0.2:1", "x"), -EACCES);
    assert_int_equal(pk_gate_admit(&g, (struct sockaddr *)&other, "10.1.2.3:1", "x"), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoint_query),   cmocka_unit_test(test_fanout_accounting),
        cmocka_unit_test(test_late_join),        cmocka_unit_test(test_share_identical),
        cmocka_unit_test(test_share_full_drops_chunks),
        cmocka_unit_test(test_share_join_midstream),
        cmocka_unit_test(test_share_not_across),
        cmocka_unit_test(test_share_remove_outstanding),
        cmocka_unit_test(test_share_new_section),
        cmocka_unit_test(test_registry_bound),
        cmocka_unit_test(test_gate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

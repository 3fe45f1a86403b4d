/*
 * pcap/pcapng stream parser; see capstream.h. Formats: the pcap file format and the pcapng
 * specification (draft-ietf-opsawg-pcapng). Every length is checked against what has arrived
 * and against fixed limits before anything is read.
 */
#include "capstream.h"
#include "frame.h"
#include "pcapfmt.h"
#include "pcktr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IFACES 64
#define MAX_BLOCK (2u << 20)     /* the largest pcapng block accepted */
#define BATCH_BYTES (64u * 1024) /* a packets message is sent when it holds this much */
#define CONTROL_CAP 4096

enum { FMT_UNKNOWN, FMT_PCAP, FMT_PCAPNG };

struct iface {
    uint32_t linktype, snaplen;
    int tsresol_binary;  /* if_tsresol: 1 for 2^-n, 0 for 10^-n */
    unsigned tsresol_n;  /* n */
    uint64_t seq, packets;
    int hello_sent;
    char name[128], description[128], filter[256], source_name[256];
};

struct pk_capstream {
    char peer[64];
    pk_capstream_emit_cb emit;
    void *data;
    int format, swapped, pcap_nsec, have_header;
    uint64_t base_id;
    unsigned section; /* sources of a new pcapng section get new ids */
    struct iface ifaces[MAX_IFACES];
    unsigned nifaces;
    char hardware[128], os[128], application[128];
    uint8_t *batch_buf;
    struct pk_batch batch;
    int batch_iface; /* -1: no batch open */
    uint8_t control[CONTROL_CAP];
};

static uint32_t
rd32(const struct pk_capstream *cs, const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return cs->swapped ? __builtin_bswap32(v) : v;
}

static uint16_t
rd16(const struct pk_capstream *cs, const uint8_t *p)
{
    uint16_t v;

    memcpy(&v, p, 2);
    return cs->swapped ? __builtin_bswap16(v) : v;
}

int
pk_capstream_detect(const uint8_t *buf, size_t len)
{
    uint32_t m;

    if (len < 4)
        return -EAGAIN;
    memcpy(&m, buf, 4);
    return m == PK_PCAP_MAGIC_US || m == PK_PCAP_MAGIC_US_SWAPPED || m == PK_PCAP_MAGIC_NS ||
           m == PK_PCAP_MAGIC_NS_SWAPPED || m == PK_PCAPNG_BT_SHB;
}

int
pk_capstream_open(struct pk_capstream **out, const char *peer, pk_capstream_emit_cb emit,
                  void *data, char *errbuf)
{
    struct pk_capstream *cs = calloc(1, sizeof(*cs));
    size_t cap = PK_FRAME_BATCH_CAP(BATCH_BYTES);

    *out = NULL;
    if (cs == NULL || (cs->batch_buf = malloc(cap)) == NULL) {
        free(cs);
        return pk_seterr(errbuf, -ENOMEM, "out of memory for a capture-stream decoder");
    }
    snprintf(cs->peer, sizeof(cs->peer), "%s", peer);
    cs->emit = emit;
    cs->data = data;
    cs->batch_iface = -1;
    pk_batch_init(&cs->batch, cs->batch_buf, cap);
    /* Ids need only be unique among sources: peer address bits mixed with an address in memory. */
    cs->base_id = ((uint64_t)(uintptr_t)cs << 16) ^ 0x9e3779b97f4a7c15ull;
    for (const char *p = peer; *p; p++)
        cs->base_id = cs->base_id * 131 + (uint8_t)*p;
    *out = cs;
    return 0;
}

void
pk_capstream_free(struct pk_capstream *cs)
{
    if (cs != NULL)
        free(cs->batch_buf);
    free(cs);
}

static struct pk_frame_source
source_of(struct pk_capstream *cs, unsigned idx)
{
    struct iface *ifc = &cs->ifaces[idx];
    struct pk_frame_source src = {.source_id = cs->base_id + ((uint64_t)cs->section << 8) + idx,
                                  .name = ifc->source_name};

    if (ifc->source_name[0] == '\0') {
        char name[sizeof(ifc->source_name)]; /* built apart: its parts live in the same struct */
        if (cs->format == FMT_PCAP)
            snprintf(name, sizeof(name), "%s", cs->peer);
        else if (ifc->name[0] != '\0')
            snprintf(name, sizeof(name), "%s/%s", cs->peer, ifc->name);
        else
            snprintf(name, sizeof(name), "%s/if%u", cs->peer, idx);
        memcpy(ifc->source_name, name, sizeof(name));
    }
    return src;
}

static void
emit_with_seq(struct pk_capstream *cs, struct iface *ifc, uint8_t *msg, size_t len)
{
    pk_frame_set_seq(msg, ifc->seq++, 0);
    cs->emit(cs->data, msg, len);
}

static void
send_hello(struct pk_capstream *cs, unsigned idx)
{
    struct iface *ifc = &cs->ifaces[idx];
    struct pk_frame_source src = source_of(cs, idx);
    struct pk_hello h = {.linktype = ifc->linktype, .snaplen = ifc->snaplen, .tsresol = 9};
    char host[64], device[300], version[420];
    size_t len;

    snprintf(host, sizeof(host), "%s", cs->peer);
    if (strrchr(host, ':') != NULL && host[0] != '[')
        *strrchr(host, ':') = '\0'; /* "10.0.0.7:51234" -> "10.0.0.7" */
    snprintf(device, sizeof(device), "%s%s%s", ifc->name[0] ? ifc->name : "stream",
             ifc->description[0] ? " - " : "", ifc->description);
    /* The section's shb_userappl, shb_os and shb_hardware say what wrote the stream. */
    snprintf(version, sizeof(version), "%s%s%s%s%s%s",
             cs->application[0] ? cs->application
             : cs->format == FMT_PCAP ? "pcap stream"
                                      : "pcapng stream",
             cs->os[0] ? " on " : "", cs->os, cs->hardware[0] ? " (" : "", cs->hardware,
             cs->hardware[0] ? ")" : "");
    len = pk_frame_encode_hello(cs->control, sizeof(cs->control), &src, &h, host, device,
                                ifc->filter, version);
    if (len > 0)
        emit_with_seq(cs, ifc, cs->control, len);
    ifc->hello_sent = 1;
}

static void
flush_batch(struct pk_capstream *cs)
{
    struct iface *ifc;

    if (cs->batch_iface < 0)
        return;
    ifc = &cs->ifaces[cs->batch_iface];
    if (cs->batch.count > 0)
        emit_with_seq(cs, ifc, cs->batch_buf, pk_batch_end(&cs->batch));
    cs->batch_iface = -1;
}

static int
add_packet(struct pk_capstream *cs, unsigned idx, uint64_t ts_ns, uint32_t caplen,
           uint32_t origlen, const uint8_t *data, char *errbuf)
{
    struct iface *ifc = &cs->ifaces[idx];

    if (caplen > PK_FRAME_MAX_CAPLEN)
        return pk_seterr(errbuf, -EBADMSG, "a packet of %u captured bytes (at most %u)", caplen,
                         PK_FRAME_MAX_CAPLEN);
    if (origlen < caplen)
        origlen = caplen; /* some writers store 0: the packet was at least what was captured */
    if (cs->batch_iface != (int)idx)
        flush_batch(cs);
    if (!ifc->hello_sent)
        send_hello(cs, idx);
    if (cs->batch_iface < 0) {
        struct pk_frame_source src = source_of(cs, idx);
        pk_batch_begin(&cs->batch, &src, ifc->linktype, ifc->packets);
        cs->batch_iface = (int)idx;
    }
    pk_batch_add(&cs->batch, ts_ns, caplen, origlen, data);
    ifc->packets++;
    if (cs->batch.len >= BATCH_BYTES)
        flush_batch(cs);
    return 0;
}

/* ---- classic pcap ---------------------------------------------------------------------- */

static long
parse_pcap(struct pk_capstream *cs, const uint8_t *buf, size_t len, char *errbuf)
{
    size_t off = 0;

    if (!cs->have_header) {
        uint32_t magic;
        if (len < PK_PCAP_FILE_HEADER_LEN)
            return 0;
        memcpy(&magic, buf, 4);
        cs->swapped = magic == PK_PCAP_MAGIC_US_SWAPPED || magic == PK_PCAP_MAGIC_NS_SWAPPED;
        cs->pcap_nsec = magic == PK_PCAP_MAGIC_NS || magic == PK_PCAP_MAGIC_NS_SWAPPED;
        cs->nifaces = 1;
        cs->ifaces[0].snaplen = rd32(cs, buf + 16);
        cs->ifaces[0].linktype = rd32(cs, buf + 20) & 0xffff; /* upper bits: FCS length */
        if (rd16(cs, buf + 4) != 2)
            return pk_seterr(errbuf, -EBADMSG, "pcap version %u (expected 2)", rd16(cs, buf + 4));
        cs->have_header = 1;
        off = PK_PCAP_FILE_HEADER_LEN;
    }
    while (len - off >= PK_PCAP_RECORD_HEADER_LEN) {
        const uint8_t *r = buf + off;
        uint32_t caplen = rd32(cs, r + 8), origlen = rd32(cs, r + 12), frac = rd32(cs, r + 4);
        uint64_t ts;
        int rc;
        if (caplen > PK_FRAME_MAX_CAPLEN)
            return pk_seterr(errbuf, -EBADMSG, "pcap record of %u bytes (at most %u)", caplen,
                             PK_FRAME_MAX_CAPLEN);
        if (len - off - PK_PCAP_RECORD_HEADER_LEN < caplen)
            break;
        ts = (uint64_t)rd32(cs, r) * 1000000000u + (uint64_t)frac * (cs->pcap_nsec ? 1u : 1000u);
        if ((rc = add_packet(cs, 0, ts, caplen, origlen, r + PK_PCAP_RECORD_HEADER_LEN, errbuf)) != 0)
            return rc;
        off += PK_PCAP_RECORD_HEADER_LEN + caplen;
    }
    return (long)off;
}

/* ---- pcapng ---------------------------------------------------------------------------- */

/* Calls fn for each option (code, value, length) in [p, end); -EBADMSG when one overruns. */
static int
each_option(struct pk_capstream *cs, const uint8_t *p, const uint8_t *end,
            void (*fn)(struct pk_capstream *, void *, uint16_t, const uint8_t *, uint16_t),
            void *arg)
{
    while (end - p >= 4) {
        uint16_t code = rd16(cs, p), olen = rd16(cs, p + 2);
        size_t padded = ((size_t)olen + 3) & ~(size_t)3;
        if (code == 0)
            return 0;
        if ((size_t)(end - p - 4) < padded)
            return -EBADMSG;
        fn(cs, arg, code, p + 4, olen);
        p += 4 + padded;
    }
    return 0;
}

static void
copy_opt(char *dst, size_t cap, const uint8_t *v, uint16_t len)
{
    size_t n = len < cap - 1 ? len : cap - 1;

    memcpy(dst, v, n);
    dst[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)dst[i] < 0x20)
            dst[i] = ' '; /* names end up in logs and labels */
}

static void
on_shb_option(struct pk_capstream *cs, void *arg, uint16_t code, const uint8_t *v, uint16_t len)
{
    (void)arg;
    if (code == 2)
        copy_opt(cs->hardware, sizeof(cs->hardware), v, len);
    else if (code == 3)
        copy_opt(cs->os, sizeof(cs->os), v, len);
    else if (code == 4)
        copy_opt(cs->application, sizeof(cs->application), v, len);
}

static void
on_idb_option(struct pk_capstream *cs, void *arg, uint16_t code, const uint8_t *v, uint16_t len)
{
    struct iface *ifc = arg;

    (void)cs;
    if (code == 2)
        copy_opt(ifc->name, sizeof(ifc->name), v, len);
    else if (code == 3)
        copy_opt(ifc->description, sizeof(ifc->description), v, len);
    else if (code == 11 && len > 1 && v[0] == 0) /* if_filter: a libpcap filter string */
        copy_opt(ifc->filter, sizeof(ifc->filter), v + 1, (uint16_t)(len - 1));
    else if (code == 9 && len >= 1) {
        ifc->tsresol_binary = (v[0] & 0x80) != 0;
        ifc->tsresol_n = v[0] & 0x7f;
    }
}

static uint64_t
to_ns(const struct iface *ifc, uint64_t units)
{
    static const uint64_t pow10[] = {1,         10,         100,         1000,        10000,
                                     100000,    1000000,    10000000,    100000000,   1000000000,
                                     10000000000ull, 100000000000ull, 1000000000000ull};
    unsigned n = ifc->tsresol_n;

    if (ifc->tsresol_binary)
        return n >= 64 ? 0 : (uint64_t)(((unsigned __int128)units * 1000000000u) >> n);
    if (n <= 9)
        return units * pow10[9 - n];
    return n - 9 < PK_ARRAY_LEN(pow10) ? units / pow10[n - 9] : 0;
}

static void
end_section(struct pk_capstream *cs)
{
    flush_batch(cs);
    for (unsigned i = 0; i < cs->nifaces; i++) {
        struct iface *ifc = &cs->ifaces[i];
        if (ifc->hello_sent) {
            struct pk_frame_source src = source_of(cs, i);
            struct pk_stats st = {.captured = ifc->packets, .relayed = ifc->packets};
            size_t len = pk_frame_encode_stats(cs->control, sizeof(cs->control), &src,
                                               PK_KIND_GOODBYE, &st);
            if (len > 0)
                emit_with_seq(cs, ifc, cs->control, len);
        }
    }
}

/* Long (65 lines): one case per pcapng block type the stream carries, kept side by side. */
static int
pcapng_block(struct pk_capstream *cs, uint32_t type, const uint8_t *b, uint32_t total, char *errbuf)
{
    const uint8_t *end = b + total - 4; /* before the trailing length */

    switch (type) {
    case PK_PCAPNG_BT_SHB:
        if (cs->have_header)
            end_section(cs); /* a new section: new interfaces, new sources */
        if (total < 28)
            return pk_seterr(errbuf, -EBADMSG, "section header of %u bytes", total);
        cs->section += cs->have_header;
        cs->have_header = 1;
        cs->nifaces = 0;
        memset(cs->ifaces, 0, sizeof(cs->ifaces));
        if (each_option(cs, b + 24, end, on_shb_option, NULL) != 0)
            return pk_seterr(errbuf, -EBADMSG, "bad section header options");
        return 0;
    case PK_PCAPNG_BT_IDB: {
        struct iface *ifc;
        if (total < 20)
            return pk_seterr(errbuf, -EBADMSG, "interface description of %u bytes", total);
        if (cs->nifaces >= MAX_IFACES)
            return pk_seterr(errbuf, -EBADMSG, "more than %d interfaces", MAX_IFACES);
        ifc = &cs->ifaces[cs->nifaces];
        memset(ifc, 0, sizeof(*ifc));
        ifc->linktype = rd16(cs, b + 8);
        ifc->snaplen = rd32(cs, b + 12);
        ifc->tsresol_n = 6;
        if (each_option(cs, b + 16, end, on_idb_option, ifc) != 0)
            return pk_seterr(errbuf, -EBADMSG, "bad interface description options");
        cs->nifaces++;
        return 0;
    }
    case PK_PCAPNG_BT_EPB: {
        uint32_t id, caplen;
        if (total < 32)
            return pk_seterr(errbuf, -EBADMSG, "enhanced packet block of %u bytes", total);
        id = rd32(cs, b + 8);
        caplen = rd32(cs, b + 20);
        if (id >= cs->nifaces)
            return pk_seterr(errbuf, -EBADMSG, "packet for undeclared interface %u", id);
        if (caplen > total - 32)
            return pk_seterr(errbuf, -EBADMSG, "packet of %u bytes in a block of %u", caplen, total);
        return add_packet(cs, id,
                          to_ns(&cs->ifaces[id],
                                (uint64_t)rd32(cs, b + 12) << 32 | rd32(cs, b + 16)),
                          caplen, rd32(cs, b + 24), b + 28, errbuf);
    }
    case PK_PCAPNG_BT_SPB: {
        uint32_t origlen, caplen;
        if (total < 16 || cs->nifaces == 0)
            return pk_seterr(errbuf, -EBADMSG, "bad simple packet block");
        origlen = rd32(cs, b + 8);
        caplen = total - 16;
        if (caplen > origlen)
            caplen = origlen; /* the rest is padding */
        if (cs->ifaces[0].snaplen != 0 && caplen > cs->ifaces[0].snaplen)
            caplen = cs->ifaces[0].snaplen;
        return add_packet(cs, 0, 0, caplen, origlen, b + 12, errbuf); /* SPBs carry no time */
    }
    default:
        return 0; /* statistics, name resolution, custom, ...: skipped */
    }
}

static long
parse_pcapng(struct pk_capstream *cs, const uint8_t *buf, size_t len, char *errbuf)
{
    size_t off = 0;

    while (len - off >= 12) {
        const uint8_t *b = buf + off;
        uint32_t type, total;
        int rc;
        memcpy(&type, b, 4);
        if (type == PK_PCAPNG_BT_SHB) { /* the byte-order magic decides how to read this section */
            uint32_t bom;
            memcpy(&bom, b + 8, 4);
            if (bom != PK_PCAPNG_BOM && bom != PK_PCAPNG_BOM_SWAPPED)
                return pk_seterr(errbuf, -EBADMSG, "bad pcapng byte-order magic");
            cs->swapped = bom == PK_PCAPNG_BOM_SWAPPED;
        } else if (!cs->have_header) {
            return pk_seterr(errbuf, -EBADMSG, "pcapng stream without a section header");
        }
        type = rd32(cs, b);
        total = rd32(cs, b + 4);
        if (total < 12 || total % 4 != 0 || total > MAX_BLOCK)
            return pk_seterr(errbuf, -EBADMSG, "pcapng block of %u bytes", total);
        if (len - off < total)
            break;
        if (rd32(cs, b + total - 4) != total)
            return pk_seterr(errbuf, -EBADMSG, "pcapng block lengths disagree");
        if ((rc = pcapng_block(cs, type, b, total, errbuf)) != 0)
            return rc;
        off += total;
    }
    return (long)off;
}

long
pk_capstream_parse(struct pk_capstream *cs, const uint8_t *buf, size_t len, char *errbuf)
{
    long rc;

    if (cs->format == FMT_UNKNOWN) {
        uint32_t m;
        if (len < 4)
            return 0;
        memcpy(&m, buf, 4);
        cs->format = m == PK_PCAPNG_BT_SHB ? FMT_PCAPNG : FMT_PCAP;
    }
    rc = cs->format == FMT_PCAP ? parse_pcap(cs, buf, len, errbuf)
                                : parse_pcapng(cs, buf, len, errbuf);
    flush_batch(cs); /* what arrived together leaves together: latency stays low */
    return rc;
}

int
pk_capstream_end(struct pk_capstream *cs, size_t leftover, char *errbuf)
{
    flush_batch(cs);
    if (leftover > 0 || !cs->have_header)
        return pk_seterr(errbuf, -EBADMSG, "the stream ended inside a %s (%zu bytes left)",
                         cs->have_header ? "record" : "header", leftover);
    end_section(cs);
    return 0;
}

/*
 * pcap/pcapng stream parser; see capstream.h. Formats: the pcap file format and the pcapng
 * specification (draft-ietf-opsawg-pcapng, capstream_pcapng.c). Every length is checked against
 * what has arrived and against fixed limits before anything is read. This file: the sources and
 * messages a stream becomes, and classic pcap.
 */
#include "capstream_int.h"
#include "pcapfmt.h"
#include "pcktr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int
pk_capstream_add_packet(struct pk_capstream *cs, unsigned idx, uint64_t ts_ns, uint32_t caplen,
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
        if ((rc = pk_capstream_add_packet(cs, 0, ts, caplen, origlen, r + PK_PCAP_RECORD_HEADER_LEN, errbuf)) != 0)
            return rc;
        off += PK_PCAP_RECORD_HEADER_LEN + caplen;
    }
    return (long)off;
}


void
pk_capstream_end_section(struct pk_capstream *cs)
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
                                : pk_capstream_parse_pcapng(cs, buf, len, errbuf);
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
    pk_capstream_end_section(cs);
    return 0;
}


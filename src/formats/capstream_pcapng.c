/*
 * The pcapng half of the capture-stream decoder: section headers, interface descriptions,
 * enhanced and simple packet blocks, in either byte order (draft-ietf-opsawg-pcapng). Other
 * blocks are skipped. Every length is checked before anything is read.
 */
#include "capstream_int.h"
#include "pcapfmt.h"
#include "pcktr.h"

#include <errno.h>
#include <string.h>

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


/* Long (65 lines): one case per pcapng block type the stream carries, kept side by side. */
static int
pcapng_block(struct pk_capstream *cs, uint32_t type, const uint8_t *b, uint32_t total, char *errbuf)
{
    const uint8_t *end = b + total - 4; /* before the trailing length */

    switch (type) {
    case PK_PCAPNG_BT_SHB:
        if (cs->have_header)
            pk_capstream_end_section(cs); /* a new section: new interfaces, new sources */
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
        return pk_capstream_add_packet(cs, id,
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
        return pk_capstream_add_packet(cs, 0, 0, caplen, origlen, b + 12, errbuf); /* SPBs carry no time */
    }
    default:
        return 0; /* statistics, name resolution, custom, ...: skipped */
    }
}

long
pk_capstream_parse_pcapng(struct pk_capstream *cs, const uint8_t *buf, size_t len, char *errbuf)
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


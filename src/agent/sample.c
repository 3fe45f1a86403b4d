/*
 * Flow-consistent sampling (sample.h). The key of a flow is the protocol and its two ends,
 * (address, port), in a fixed order, the lesser first, so that both directions give one key:
 *   key  = protocol (1 byte) || lesser end || greater end
 *   end  = address (4 or 16 bytes, network order) || port (2 bytes, big-endian)
 * ends compared as byte strings; ports are those of TCP, UDP, SCTP and UDP-Lite, and 0 for
 * other protocols, for every IP fragment (IPv4 MF or offset, an IPv6 Fragment header: a later
 * fragment has no ports, so none has) and when the captured bytes end before them. The hash
 * is 64-bit FNV-1a of the key. VLAN tags are skipped (not part of the key).
 */
#include "sample.h"

#include <errno.h>
#include <string.h>

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull
#define MAX_VLAN_TAGS 4
#define MAX_IPV6_EXTENSIONS 8

struct flow {
    uint8_t proto, alen;
    const uint8_t *src, *dst;
    uint16_t sport, dport;
};

static uint16_t
be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static int
has_ports(uint8_t proto)
{
    return proto == 6 || proto == 17 || proto == 132 || proto == 136;
}

static void
read_ports(struct flow *f, const uint8_t *l4, size_t left, int fragment)
{
    f->sport = f->dport = 0;
    if (!fragment && has_ports(f->proto) && left >= 4) {
        f->sport = be16(l4);
        f->dport = be16(l4 + 2);
    }
}

static int
parse_ipv4(const uint8_t *p, size_t len, struct flow *f)
{
    size_t ihl;

    if (len < 20 || (p[0] >> 4) != 4 || (ihl = (size_t)(p[0] & 0x0f) * 4) < 20 || ihl > len)
        return -ENOENT;
    f->proto = p[9];
    f->alen = 4;
    f->src = p + 12;
    f->dst = p + 16;
    read_ports(f, p + ihl, len - ihl, (be16(p + 6) & 0x3fff) != 0);
    return 0;
}

static int
parse_ipv6(const uint8_t *p, size_t len, struct flow *f)
{
    size_t off = 40;
    uint8_t nh;
    int fragment = 0;

    if (len < 40 || (p[0] >> 4) != 6)
        return -ENOENT;
    nh = p[6];
    for (int i = 0; i < MAX_IPV6_EXTENSIONS && len - off >= 8; i++) {
        if (nh == 0 || nh == 43 || nh == 60 || nh == 51 || nh == 44) {
            size_t ext = nh == 44 ? 8 : nh == 51 ? ((size_t)p[off + 1] + 2) * 4 : ((size_t)p[off + 1] + 1) * 8;
            fragment |= nh == 44;
            nh = p[off];
            if (ext > len - off) {
                off = len;
                break;
            }
            off += ext;
        } else {
            break;
        }
    }
    f->proto = nh;
    f->alen = 16;
    f->src = p + 8;
    f->dst = p + 24;
    read_ports(f, p + off, len - off, fragment);
    return 0;
}

/* The IP header of the frame: its offset and EtherType (0x0800, 0x86dd), or -ENOENT. */
static int
locate_ip(uint32_t linktype, const uint8_t *p, size_t len, size_t *off, uint16_t *etype)
{
    switch (linktype) {
    case 1: /* Ethernet */
        *off = 12;
        for (int tags = 0; len >= *off + 2; tags++) {
            *etype = be16(p + *off);
            if ((*etype != 0x8100 && *etype != 0x88a8 && *etype != 0x9100) || tags == MAX_VLAN_TAGS)
                break;
            *off += 4;
        }
        *off += 2;
        return len >= *off ? 0 : -ENOENT;
    case 113: /* Linux cooked: the protocol at 14, 16 bytes of header */
        if (len < 16)
            return -ENOENT;
        *etype = be16(p + 14);
        *off = 16;
        return 0;
    case 276: /* Linux cooked v2: the protocol first, 20 bytes of header */
        if (len < 20)
            return -ENOENT;
        *etype = be16(p);
        *off = 20;
        return 0;
    case 101: case 228: case 229: /* raw IP: the version says which */
        if (len < 1)
            return -ENOENT;
        *etype = (p[0] >> 4) == 6 ? 0x86dd : 0x0800;
        *off = 0;
        return 0;
    default:
        return -ENOENT;
    }
}

static uint64_t
fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= FNV_PRIME;
    }
    return h;
}

int
pk_flow_hash(uint32_t linktype, const uint8_t *frame, size_t caplen, uint64_t *hash)
{
    uint8_t a[18], b[18];
    struct flow f;
    size_t off;
    uint16_t etype;
    uint64_t h = FNV_OFFSET;
    int rc;

    if (locate_ip(linktype, frame, caplen, &off, &etype) != 0)
        return -ENOENT;
    if (etype == 0x0800)
        rc = parse_ipv4(frame + off, caplen - off, &f);
    else if (etype == 0x86dd)
        rc = parse_ipv6(frame + off, caplen - off, &f);
    else
        return -ENOENT;
    if (rc != 0)
        return rc;
    memcpy(a, f.src, f.alen);
    a[f.alen] = (uint8_t)(f.sport >> 8);
    a[f.alen + 1] = (uint8_t)f.sport;
    memcpy(b, f.dst, f.alen);
    b[f.alen] = (uint8_t)(f.dport >> 8);
    b[f.alen + 1] = (uint8_t)f.dport;
    int swap = memcmp(a, b, (size_t)f.alen + 2) > 0;
    h = fnv1a(h, &f.proto, 1);
    h = fnv1a(h, swap ? b : a, (size_t)f.alen + 2);
    h = fnv1a(h, swap ? a : b, (size_t)f.alen + 2);
    *hash = h;
    return 0;
}

int
pk_sample_keep(uint32_t n, uint32_t linktype, const uint8_t *frame, size_t caplen)
{
    uint64_t h;

    if (n <= 1 || pk_flow_hash(linktype, frame, caplen, &h) != 0)
        return 1;
    return h % n == 0;
}

/* Address family classification; see afamily.h. */
#include "afamily.h"
#include "bytes.h"

const char *const pk_af_names[PK_AF_COUNT] = {"IPv4", "IPv6", "other"};

enum {
    LINKTYPE_NULL = 0,
    LINKTYPE_ETHERNET = 1,
    LINKTYPE_RAW = 101,
    LINKTYPE_LOOP = 108,
    LINKTYPE_LINUX_SLL = 113,
    LINKTYPE_IPV4 = 228,
    LINKTYPE_IPV6 = 229,
    LINKTYPE_LINUX_SLL2 = 276,
    DLT_RAW_BSD = 12, /* DLT_RAW as some systems number it in files */
    DLT_RAW_OPENBSD = 14,
};

static enum pk_af
from_ethertype(uint16_t type)
{
    return type == 0x0800 ? PK_AF_IPV4 : type == 0x86dd ? PK_AF_IPV6 : PK_AF_OTHER;
}

static enum pk_af
from_ip_version(const uint8_t *p, uint32_t caplen)
{
    if (caplen < 1)
        return PK_AF_OTHER;
    return (p[0] >> 4) == 4 ? PK_AF_IPV4 : (p[0] >> 4) == 6 ? PK_AF_IPV6 : PK_AF_OTHER;
}

/* BSD AF_ values for IPv6 differ between systems: 24 (NetBSD, OpenBSD), 28 (FreeBSD), 30 (macOS). */
static enum pk_af
from_bsd_af(uint32_t af)
{
    return af == 2 ? PK_AF_IPV4 : (af == 24 || af == 28 || af == 30 || af == 10) ? PK_AF_IPV6
                                                                                 : PK_AF_OTHER;
}

enum pk_af
pk_af_classify(uint32_t linktype, const uint8_t *p, uint32_t caplen)
{
    uint32_t off, little;
    uint16_t type;

    switch (linktype) {
    case LINKTYPE_ETHERNET:
        for (off = 12; off + 2 <= caplen; off += 4) {
            type = pk_get_be16(p + off);
            if (type != 0x8100 && type != 0x88a8 && type != 0x9100)
                return from_ethertype(type);
        }
        return PK_AF_OTHER;
    case LINKTYPE_LINUX_SLL: /* protocol type at offset 14 */
        return caplen >= 16 ? from_ethertype(pk_get_be16(p + 14)) : PK_AF_OTHER;
    case LINKTYPE_LINUX_SLL2: /* protocol type first */
        return caplen >= 2 ? from_ethertype(pk_get_be16(p)) : PK_AF_OTHER;
    case LINKTYPE_RAW:
    case DLT_RAW_BSD:
    case DLT_RAW_OPENBSD:
        return from_ip_version(p, caplen);
    case LINKTYPE_IPV4:
        return PK_AF_IPV4;
    case LINKTYPE_IPV6:
        return PK_AF_IPV6;
    case LINKTYPE_NULL: /* a 4-byte AF in the capturing host's byte order: try both */
    case LINKTYPE_LOOP: /* always big-endian */
        if (caplen < 4)
            return PK_AF_OTHER;
        little = pk_get_le32(p);
        if (linktype == LINKTYPE_NULL && from_bsd_af(little) != PK_AF_OTHER)
            return from_bsd_af(little);
        return from_bsd_af(pk_get_be32(p));
    default:
        return PK_AF_OTHER;
    }
}

void
pk_af_hist_add(struct pk_af_hist *h, enum pk_af af, uint32_t len)
{
    int i = 0;

    while (i < PK_AF_BUCKETS && len > (64u << i))
        i++;
    if (i < PK_AF_BUCKETS)
        h->bucket[af][i]++;
    h->count[af]++;
    h->sum[af] += len;
}

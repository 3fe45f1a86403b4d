/*
 * DLT_ -> LINKTYPE_; see linktype.h. The rules are those of libpcap 1.10's dlt_to_linktype()
 * (pcap-common.c), written against the tcpdump.org registry: values below 11 and in the
 * "matching" range 104..LINKTYPE_MATCHING_MAX are the same in both; the DLT_ values that
 * differ between systems got LINKTYPE_ values of their own (100..112), and the system's DLT_
 * constant is mapped to them. The DLT_ constants come from <pcap/dlt.h>, so a build on another
 * system maps that system's numbers.
 */
#include "linktype.h"

#include <pcap/dlt.h>

enum {
    LOW_MATCHING_MAX = 10,   /* 0 .. 10: DLT_ = LINKTYPE_ on every system */
    HIGH_MATCHING_MIN = 104, /* LINKTYPE_C_HDLC */
    HIGH_MATCHING_MAX = 289, /* LINKTYPE_MATCHING_MAX of libpcap 1.10 */
    LINKTYPE_ATM_RFC1483 = 100,
    LINKTYPE_RAW = 101,
    LINKTYPE_SLIP_BSDOS = 102,
    LINKTYPE_PPP_BSDOS = 103,
    LINKTYPE_C_HDLC = 104,
    LINKTYPE_ATM_CLIP = 106,
    LINKTYPE_FRELAY = 107,
    LINKTYPE_LOOP = 108,
    LINKTYPE_ENC = 109,
    LINKTYPE_NETBSD_HDLC = 112,
    LINKTYPE_PFSYNC = 246,
    LINKTYPE_PKTAP = 258,
};

/*
 * DLT_ constants whose value is system-dependent, with their registry value. Checked before
 * the matching ranges: on some systems the DLT_ value lies inside a range that would otherwise
 * pass it through unchanged (FreeBSD's DLT_PFSYNC is 121, macOS's DLT_PKTAP is DLT_USER2 149).
 */
static const struct {
    int dlt, linktype;
} moved[] = {
    {DLT_ATM_RFC1483, LINKTYPE_ATM_RFC1483},
    {DLT_RAW, LINKTYPE_RAW},
    {DLT_SLIP_BSDOS, LINKTYPE_SLIP_BSDOS},
    {DLT_PPP_BSDOS, LINKTYPE_PPP_BSDOS},
    {DLT_PFSYNC, LINKTYPE_PFSYNC},
    {DLT_PKTAP, LINKTYPE_PKTAP},
#ifdef DLT_FR
    {DLT_FR, LINKTYPE_FRELAY}, /* BSD/OS Frame Relay */
#endif
    {DLT_HDLC, LINKTYPE_NETBSD_HDLC},
    {DLT_C_HDLC, LINKTYPE_C_HDLC},
    {DLT_LOOP, LINKTYPE_LOOP},
    {DLT_ENC, LINKTYPE_ENC},
    {DLT_ATM_CLIP, LINKTYPE_ATM_CLIP},
};

int
pk_linktype_from_dlt(int dlt)
{
    if (dlt >= 0 && dlt <= LOW_MATCHING_MAX)
        return dlt;
    for (unsigned i = 0; i < sizeof(moved) / sizeof(moved[0]); i++)
        if (moved[i].dlt == dlt)
            return moved[i].linktype;
    if (dlt >= HIGH_MATCHING_MIN && dlt <= HIGH_MATCHING_MAX)
        return dlt;
    /* Outside both ranges, but the same number on every system that has them. */
    if (dlt == DLT_REDBACK_SMARTEDGE || dlt == DLT_PPP_SERIAL || dlt == DLT_PPP_ETHER ||
        dlt == DLT_SYMANTEC_FIREWALL)
        return dlt;
    return -1;
}

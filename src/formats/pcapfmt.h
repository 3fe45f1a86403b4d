/*
 * The numbers of the two capture file formats, in one place: the classic pcap file format
 * (draft-ietf-opsawg-pcap) and pcapng (draft-ietf-opsawg-pcapng). Magic numbers are given as a
 * host-order u32 read from the first four bytes; the _SWAPPED values are what a file written on a
 * host of the other byte order shows. Constants only.
 */
#ifndef PK_PCAPFMT_H
#define PK_PCAPFMT_H

/* Classic pcap */
#define PK_PCAP_MAGIC_US 0xa1b2c3d4u /* microsecond timestamps */
#define PK_PCAP_MAGIC_NS 0xa1b23c4du /* nanosecond timestamps */
#define PK_PCAP_MAGIC_US_SWAPPED 0xd4c3b2a1u
#define PK_PCAP_MAGIC_NS_SWAPPED 0x4d3cb2a1u
#define PK_PCAP_VERSION_MAJOR 2
#define PK_PCAP_VERSION_MINOR 4
#define PK_PCAP_FILE_HEADER_LEN 24   /* magic .. link type */
#define PK_PCAP_RECORD_HEADER_LEN 16 /* seconds, fraction, captured and original length */

/* pcapng block types */
#define PK_PCAPNG_BT_SHB 0x0A0D0D0Au /* section header; also the file's first four bytes */
#define PK_PCAPNG_BT_IDB 1u          /* interface description */
#define PK_PCAPNG_BT_SPB 3u          /* simple packet */
#define PK_PCAPNG_BT_ISB 5u          /* interface statistics */
#define PK_PCAPNG_BT_EPB 6u          /* enhanced packet */
/* The section header's byte-order magic, and how it reads from the other byte order. */
#define PK_PCAPNG_BOM 0x1A2B3C4Du
#define PK_PCAPNG_BOM_SWAPPED 0x4D3C2B1Au
#define PK_PCAPNG_EPB_HEADER 28 /* block type .. original length */

#endif

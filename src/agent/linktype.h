/*
 * libpcap's DLT_ values -> LINKTYPE_ values. pcap_datalink() answers in DLT_ values, which
 * differ between systems for a few link types (raw IP is DLT_RAW 12 on Linux, 14 on OpenBSD);
 * capture files and the relay carry LINKTYPE_ values, the numbers of the tcpdump.org link-layer
 * registry (raw IP is LINKTYPE_RAW 101 everywhere). Pure.
 */
#ifndef PK_LINKTYPE_H
#define PK_LINKTYPE_H

/**
 * The LINKTYPE_ value of a DLT_ value of the system this was built on, or -1 when the registry
 * has none for it (libpcap refuses to write such a capture to a file, too).
 */
int pk_linktype_from_dlt(int dlt);

#endif

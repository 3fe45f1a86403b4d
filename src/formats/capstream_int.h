/*
 * Private to the capture-stream decoder: its state, shared by capstream.c (the sources and
 * messages it makes, classic pcap, the API) and capstream_pcapng.c (pcapng blocks).
 */
#ifndef PK_CAPSTREAM_INT_H
#define PK_CAPSTREAM_INT_H

#include "capstream.h"
#include "frame.h"

#include <stdint.h>
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

/* A field of the stream in its byte order. */
static inline uint32_t
rd32(const struct pk_capstream *cs, const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return cs->swapped ? __builtin_bswap32(v) : v;
}

static inline uint16_t
rd16(const struct pk_capstream *cs, const uint8_t *p)
{
    uint16_t v;

    memcpy(&v, p, 2);
    return cs->swapped ? __builtin_bswap16(v) : v;
}

/** Adds one packet of interface idx to the open batch (a hello first). 0, or -EBADMSG. */
int pk_capstream_add_packet(struct pk_capstream *cs, unsigned idx, uint64_t ts_ns,
                            uint32_t caplen, uint32_t origlen, const uint8_t *data,
                            char *errbuf);

/** The end of a section (or of the stream): the batch goes, and a goodbye per source. */
void pk_capstream_end_section(struct pk_capstream *cs);

/** capstream_pcapng.c: parses whole pcapng blocks; bytes consumed, or -EBADMSG + errbuf. */
long pk_capstream_parse_pcapng(struct pk_capstream *cs, const uint8_t *buf, size_t len,
                               char *errbuf);

#endif

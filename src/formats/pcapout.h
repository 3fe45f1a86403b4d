/*
 * Classic pcap encoding (the nanosecond-magic variant, and the microsecond one that
 * PCAP-over-IP readers expect; host byte order as every pcap writer does). Pure; writes into
 * caller buffers.
 */
#ifndef PK_PCAPOUT_H
#define PK_PCAPOUT_H

#include "pcapfmt.h"

#include <stddef.h>
#include <stdint.h>

#define PK_PCAP_STREAM_SNAPLEN 262144u /* the largest any source may send */

/** Writes the 24-byte file header for a stream of the given link type. */
void pk_pcap_file_header(uint8_t *buf, uint32_t linktype, uint32_t snaplen);

/** Writes the 16-byte record header: seconds, nanoseconds, captured and original length. */
void pk_pcap_record_header(uint8_t *buf, uint64_t ts_ns, uint32_t caplen, uint32_t origlen);

/** Turns a file header written by pk_pcap_file_header into the microsecond variant. */
void pk_pcap_header_to_us(uint8_t *buf);

/** The record header of the microsecond variant (the fraction truncated). */
void pk_pcap_record_header_us(uint8_t *buf, uint64_t ts_ns, uint32_t caplen, uint32_t origlen);

#endif

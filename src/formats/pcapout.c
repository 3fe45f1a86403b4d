/* Classic pcap headers; see pcapout.h. */
#include "pcapout.h"

#include <string.h>

void
pk_pcap_file_header(uint8_t *buf, uint32_t linktype, uint32_t snaplen)
{
    uint32_t magic = PK_PCAP_MAGIC_NS, zone = 0, sigfigs = 0;
    uint16_t major = PK_PCAP_VERSION_MAJOR, minor = PK_PCAP_VERSION_MINOR;

    memcpy(buf, &magic, 4);
    memcpy(buf + 4, &major, 2);
    memcpy(buf + 6, &minor, 2);
    memcpy(buf + 8, &zone, 4);
    memcpy(buf + 12, &sigfigs, 4);
    memcpy(buf + 16, &snaplen, 4);
    memcpy(buf + 20, &linktype, 4);
}

static void
put_record(uint8_t *buf, uint32_t sec, uint32_t fraction, uint32_t caplen, uint32_t origlen)
{
    memcpy(buf, &sec, 4);
    memcpy(buf + 4, &fraction, 4);
    memcpy(buf + 8, &caplen, 4);
    memcpy(buf + 12, &origlen, 4);
}

void
pk_pcap_record_header(uint8_t *buf, uint64_t ts_ns, uint32_t caplen, uint32_t origlen)
{
    put_record(buf, (uint32_t)(ts_ns / 1000000000u), (uint32_t)(ts_ns % 1000000000u), caplen,
               origlen);
}

void
pk_pcap_header_to_us(uint8_t *buf)
{
    uint32_t magic = PK_PCAP_MAGIC_US;

    memcpy(buf, &magic, 4);
}

void
pk_pcap_record_header_us(uint8_t *buf, uint64_t ts_ns, uint32_t caplen, uint32_t origlen)
{
    put_record(buf, (uint32_t)(ts_ns / 1000000000u), (uint32_t)(ts_ns % 1000000000u / 1000u),
               caplen, origlen);
}

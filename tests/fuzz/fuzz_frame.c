/*
 * libFuzzer target: the wire protocol decoder, which sees every byte a peer sends. A message it
 * accepts must walk cleanly: every record inside the message, count as announced.
 */
#include "frame.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pk_frame f;
    struct pk_record rec;
    size_t off = 0;
    uint32_t n = 0;

    if (pk_frame_decode(data, size, &f) != 0 || f.kind != PK_KIND_PACKETS)
        return 0;
    while (pk_packets_next(&f.u.packets, &off, &rec)) {
        if (rec.data < data || rec.data + rec.caplen > data + size || rec.caplen > rec.origlen)
            abort();
        n++;
    }
    if (n != f.u.packets.count)
        abort();
    return 0;
}

/*
 * libFuzzer target: the wire protocol decoder, which sees every byte a peer sends. A message it
 * accepts must walk cleanly: every record inside the message, count as announced; a control
 * message it accepts encodes again to the same bytes.
 */
#include "frame.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pk_frame f;
    struct pk_record rec;
    size_t off = 0;
    uint32_t n = 0;

    if (pk_frame_decode(data, size, &f) != 0)
        return 0;
    if (f.kind == PK_KIND_CONTROL) {
        /* What an agent takes: encoded again, the same bytes (no field it ignores). */
        static uint8_t again[PK_FRAME_HEADER_LEN + PK_FRAME_NAME_MAX + 26 + PK_CONTROL_FILTER_MAX];
        char name[PK_FRAME_NAME_MAX + 1];
        struct pk_frame_source src = {f.source_id, name};
        size_t len;

        memcpy(name, f.name.ptr, f.name.len);
        name[f.name.len] = '\0';
        len = pk_frame_encode_control(again, sizeof(again), &src, &f.u.control);
        if (len != size)
            abort();
        pk_frame_set_seq(again, f.seq, f.sent_ns);
        if (memcmp(again, data, size) != 0)
            abort();
        return 0;
    }
    if (f.kind != PK_KIND_PACKETS)
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

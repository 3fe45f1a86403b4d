/*
 * libFuzzer target: compressed packets messages, as a hostile peer sends them. Inflating never
 * writes past the receiver's buffer nor allocates for the data, and what it accepts decodes as
 * a plain message or is refused by the decoder.
 */
#include "compress.h"
#include "frame.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP 65536 /* a receiver with a small largest message: a bomb must stop at it */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct pk_codec *c;
    static uint8_t out[CAP];
    struct pk_frame f;
    size_t len = 0;

    if (c == NULL && pk_codec_open(&c, PK_COMPRESS_NONE, 0) != 0)
        abort();
    if (!pk_codec_is_compressed(data, size) || pk_codec_inflate(c, data, size, out, CAP, &len) != 0)
        return 0;
    if (len > CAP)
        abort();
    if (pk_frame_decode(out, len, &f) == 0 && f.kind != PK_KIND_PACKETS)
        abort();
    return 0;
}

/*
 * libFuzzer target: the pcap/pcapng stream parser, fed the way a tcp-raw connection feeds it
 * (chunks of any size, the unconsumed tail kept). Every message it emits must be one the
 * protocol decoder accepts: the collector trusts them like an agent's.
 */
#include "capstream.h"
#include "frame.h"
#include "pcktr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
on_message(void *ctx, const uint8_t *msg, size_t len)
{
    struct pk_frame f;
    struct pk_record rec;
    size_t off = 0;

    (void)ctx;
    if (pk_frame_decode(msg, len, &f) != 0)
        abort(); /* the parser made a message the collector would drop as malformed */
    if (f.kind == PK_KIND_PACKETS)
        while (pk_packets_next(&f.u.packets, &off, &rec))
            ;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[PK_ERRBUF_SIZE];
    struct pk_capstream *cs;
    uint8_t *buf;
    size_t chunk, len = 0, pos = 1;
    long n = 0;

    if (size < 1 || pk_capstream_detect(data + 1, size - 1) != 1)
        return 0;
    chunk = (size_t)data[0] * 7 + 1; /* the first byte picks the read size */
    if ((buf = malloc(size)) == NULL || pk_capstream_open(&cs, "fuzz", on_message, NULL, err) != 0) {
        free(buf);
        return 0;
    }
    while (pos < size) {
        size_t take = size - pos < chunk ? size - pos : chunk;
        memcpy(buf + len, data + pos, take);
        len += take;
        pos += take;
        if ((n = pk_capstream_parse(cs, buf, len, err)) < 0)
            break;
        if ((size_t)n > len)
            abort();
        memmove(buf, buf + n, len - (size_t)n);
        len -= (size_t)n;
    }
    if (n >= 0)
        pk_capstream_end(cs, len, err);
    pk_capstream_free(cs);
    free(buf);
    return 0;
}

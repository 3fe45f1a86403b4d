/*
 * Compressed packets messages (compress.h). Each batch is compressed on its own (no dictionary,
 * no state across messages), so any message can be lost, refused or reordered without making
 * another unreadable. Inflating writes into a caller buffer of fixed size with the bounded
 * one-shot decoders (LZ4_decompress_safe, ZSTD_decompressDCtx), which never write past it nor
 * allocate for the data: a small message that would inflate to gigabytes costs nothing.
 */
#include "compress.h"
#include "bytes.h"
#include "frame.h"

#include <errno.h>
#include <lz4.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define PLAIN_LEN_FIELD 4 /* the u32 length of the plain body */

struct pk_codec {
    enum pk_compression algo;
    int level;
    ZSTD_CCtx *cctx; /* agent: zstd only */
    ZSTD_DCtx *dctx; /* collector: made at the first zstd message */
};

int
pk_codec_open(struct pk_codec **out, enum pk_compression algo, int level)
{
    struct pk_codec *c;

    *out = NULL;
    if (algo > PK_COMPRESS_ZSTD || (algo == PK_COMPRESS_ZSTD && (level < 1 || level > 19)))
        return -EINVAL;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return -ENOMEM;
    c->algo = algo;
    c->level = level;
    if (algo == PK_COMPRESS_ZSTD && (c->cctx = ZSTD_createCCtx()) == NULL) {
        free(c);
        return -ENOMEM;
    }
    *out = c;
    return 0;
}

void
pk_codec_free(struct pk_codec *c)
{
    if (c == NULL)
        return;
    ZSTD_freeCCtx(c->cctx);
    ZSTD_freeDCtx(c->dctx);
    free(c);
}

size_t
pk_codec_bound(size_t len)
{
    size_t lz = (size_t)LZ4_compressBound(len > (size_t)LZ4_MAX_INPUT_SIZE ? 0 : (int)len);
    size_t zs = ZSTD_compressBound(len);

    /* The header and name stay plain: a bound of the whole message covers them and the body. */
    return PK_FRAME_HEADER_LEN + PK_FRAME_NAME_MAX + PLAIN_LEN_FIELD + (lz > zs ? lz : zs);
}

/* Where the body starts: after the header and the name (a message the codec made or checks). */
static size_t
body_offset(const uint8_t *msg)
{
    return PK_FRAME_HEADER_LEN + (size_t)msg[6];
}

size_t
pk_codec_compress(struct pk_codec *c, const uint8_t *msg, size_t len, uint8_t *out, size_t cap)
{
    size_t off = body_offset(msg), plain = len - off, n;

    if (c->algo == PK_COMPRESS_NONE || len < off || cap < off + PLAIN_LEN_FIELD ||
        plain > UINT32_MAX || plain > (size_t)LZ4_MAX_INPUT_SIZE)
        return 0;
    uint8_t *dst = out + off + PLAIN_LEN_FIELD;
    size_t room = cap - off - PLAIN_LEN_FIELD;
    if (c->algo == PK_COMPRESS_LZ4) {
        int r = LZ4_compress_default((const char *)msg + off, (char *)dst, (int)plain,
                                     room > INT32_MAX ? INT32_MAX : (int)room);
        n = r > 0 ? (size_t)r : 0;
    } else {
        n = ZSTD_compressCCtx(c->cctx, dst, room, msg + off, plain, c->level);
        n = ZSTD_isError(n) ? 0 : n;
    }
    if (n == 0 || off + PLAIN_LEN_FIELD + n >= len)
        return 0; /* incompressible (random payloads, encrypted traffic): plain is shorter */
    memcpy(out, msg, off);
    out[4] = 2;
    out[7] = (uint8_t)c->algo;
    pk_put_le32(out + off, (uint32_t)plain);
    return off + PLAIN_LEN_FIELD + n;
}

int
pk_codec_is_compressed(const uint8_t *msg, size_t len)
{
    return len >= PK_FRAME_HEADER_LEN && memcmp(msg, PK_FRAME_MAGIC, 4) == 0 && msg[4] == 2 &&
           (msg[7] & PK_FRAME_FLAG_COMPRESSION) != 0;
}

static int
inflate_body(struct pk_codec *c, int algo, const uint8_t *src, size_t srclen, uint8_t *dst,
             size_t plain)
{
    if (algo == PK_COMPRESS_LZ4) {
        if (srclen > INT32_MAX)
            return -EBADMSG;
        int r = LZ4_decompress_safe((const char *)src, (char *)dst, (int)srclen, (int)plain);
        return r >= 0 && (size_t)r == plain ? 0 : -EBADMSG;
    }
    if (algo != PK_COMPRESS_ZSTD)
        return -EPROTONOSUPPORT;
    if (c->dctx == NULL && (c->dctx = ZSTD_createDCtx()) == NULL)
        return -ENOMEM;
    size_t r = ZSTD_decompressDCtx(c->dctx, dst, plain, src, srclen);
    return !ZSTD_isError(r) && r == plain ? 0 : -EBADMSG;
}

int
pk_codec_inflate(struct pk_codec *c, const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
                 size_t *outlen)
{
    size_t off;
    uint32_t plain;
    int rc;

    if (!pk_codec_is_compressed(msg, len) || msg[6] == 0)
        return -EBADMSG;
    off = body_offset(msg);
    if (msg[5] != PK_KIND_PACKETS || (msg[7] & ~PK_FRAME_FLAG_COMPRESSION) != 0 ||
        len < off + PLAIN_LEN_FIELD)
        return -EBADMSG;
    plain = pk_get_le32(msg + off);
    if ((size_t)plain > cap || off + (size_t)plain > cap)
        return -EMSGSIZE; /* declared over the largest message: refused before inflating */
    rc = inflate_body(c, msg[7] & PK_FRAME_FLAG_COMPRESSION, msg + off + PLAIN_LEN_FIELD,
                      len - off - PLAIN_LEN_FIELD, out + off, plain);
    if (rc != 0)
        return rc;
    memcpy(out, msg, off);
    out[4] = PK_PROTO_VERSION; /* the plain form of a packets message is version 1's */
    out[7] = 0;
    *outlen = off + plain;
    return 0;
}

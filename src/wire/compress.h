/*
 * Compressed packets messages (docs/PROTOCOL.md, version 2): the header and source name stay
 * plain, the header's byte 7 names the algorithm, and the body is a u32 length of the plain
 * body followed by that body compressed on its own (LZ4 block, or one zstd frame). The agent
 * compresses a finished batch; the collector inflates it into a buffer of its maximum message
 * size before decoding, so a message that claims more than that is refused unread.
 */
#ifndef PK_COMPRESS_H
#define PK_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

enum pk_compression { PK_COMPRESS_NONE = 0, PK_COMPRESS_LZ4 = 1, PK_COMPRESS_ZSTD = 2 };

struct pk_codec;

/** A codec for algo (level: zstd's, 1..19; ignored otherwise). 0, -EINVAL or -ENOMEM. */
int pk_codec_open(struct pk_codec **out, enum pk_compression algo, int level);
void pk_codec_free(struct pk_codec *c);

/** Room a compressed form of a len-byte message may need. */
size_t pk_codec_bound(size_t len);

/**
 * Compresses the plain packets message msg (len bytes, header and name included) into out.
 * Returns the compressed message's length, or 0 when it would not be shorter than msg (send
 * msg as it is) or compression failed.
 */
size_t pk_codec_compress(struct pk_codec *c, const uint8_t *msg, size_t len, uint8_t *out,
                         size_t cap);

/** The message is a version 2 message with a compressed body. */
int pk_codec_is_compressed(const uint8_t *msg, size_t len);

/**
 * Inflates a compressed message into out (cap bytes: the receiver's largest message) as the
 * plain message it stands for; *outlen is its length. Any codec (of any algo) inflates both
 * algorithms. 0; -EMSGSIZE when the declared plain length is over cap (nothing is inflated);
 * -EBADMSG when the body is not what it declares (short, corrupt, another length, another
 * kind than packets); -EPROTONOSUPPORT for an unknown algorithm.
 */
int pk_codec_inflate(struct pk_codec *c, const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
                     size_t *outlen);

#endif

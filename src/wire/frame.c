/*
 * Wire codec. All integers are little-endian on the wire, written and read byte by byte so the
 * code is independent of host order and alignment. Decoding trusts no length: every field is
 * checked against what remains of the buffer before it is read.
 */
#include "frame.h"
#include "bytes.h"

#include <errno.h>
#include <string.h>

/*
 * Header layout (32 bytes + name):
 *  0 magic "PKTR" | 4 version | 5 kind | 6 name length | 7 reserved (0)
 *  8 source id u64 | 16 sequence u64 | 24 send time ns u64 | 32 name bytes
 */
static size_t
put_header_v(uint8_t *buf, size_t cap, const struct pk_frame_source *src, enum pk_frame_kind kind,
             uint8_t version)
{
    size_t namelen = strlen(src->name);

    if (namelen == 0 || namelen > PK_FRAME_NAME_MAX || cap < PK_FRAME_HEADER_LEN + namelen)
        return 0;
    memcpy(buf, PK_FRAME_MAGIC, 4);
    buf[4] = version;
    buf[5] = (uint8_t)kind;
    buf[6] = (uint8_t)namelen;
    buf[7] = 0;
    pk_put_le64(buf + 8, src->source_id);
    pk_put_le64(buf + 16, 0);
    pk_put_le64(buf + 24, 0);
    memcpy(buf + PK_FRAME_HEADER_LEN, src->name, namelen);
    return PK_FRAME_HEADER_LEN + namelen;
}

static size_t
put_header(uint8_t *buf, size_t cap, const struct pk_frame_source *src, enum pk_frame_kind kind)
{
    return put_header_v(buf, cap, src, kind, PK_PROTO_VERSION);
}

void
pk_frame_set_seq(uint8_t *buf, uint64_t seq, uint64_t sent_ns)
{
    pk_put_le64(buf + 16, seq);
    pk_put_le64(buf + 24, sent_ns);
}

static size_t
put_str(uint8_t *buf, size_t off, size_t cap, const char *s)
{
    size_t len = s ? strlen(s) : 0;

    if (len > 65535 || off == 0 || off + 2 + len > cap)
        return 0;
    pk_put_le16(buf + off, (uint16_t)len);
    memcpy(buf + off + 2, s, len);
    return off + 2 + len;
}

/* Version 2 hellos end in a tail of 4 bytes (sample_n) or 16 (+ control u32, applied gen u64):
 * the shorter when control and applied gen are 0. */
#define HELLO_TAIL_SAMPLE 4
#define HELLO_TAIL_CONTROL 16

size_t
pk_frame_encode_hello(uint8_t *buf, size_t cap, const struct pk_frame_source *src,
                      const struct pk_hello *h, const char *host, const char *device,
                      const char *filter, const char *version)
{
    int v2 = h->sample_n > 1 || h->control != 0 || h->applied_gen != 0;
    int v2_control = h->control != 0 || h->applied_gen != 0;
    size_t off = put_header_v(buf, cap, src, PK_KIND_HELLO, v2 ? 2 : 1);

    if (off == 0 || off + 24 > cap)
        return 0;
    pk_put_le32(buf + off, h->linktype);
    pk_put_le32(buf + off + 4, h->snaplen);
    pk_put_le32(buf + off + 8, h->tsresol);
    pk_put_le32(buf + off + 12, h->heartbeat_ms);
    pk_put_le64(buf + off + 16, h->start_ns);
    off += 24;
    off = put_str(buf, off, cap, host);
    off = put_str(buf, off, cap, device);
    off = put_str(buf, off, cap, filter);
    off = put_str(buf, off, cap, version);
    if (v2 && off != 0) {
        if (off + (v2_control ? HELLO_TAIL_CONTROL : HELLO_TAIL_SAMPLE) > cap)
            return 0;
        pk_put_le32(buf + off, h->sample_n);
        off += HELLO_TAIL_SAMPLE;
        if (v2_control) {
            pk_put_le32(buf + off, h->control);
            pk_put_le64(buf + off + 4, h->applied_gen);
            off += HELLO_TAIL_CONTROL - HELLO_TAIL_SAMPLE;
        }
    }
    return off;
}

#define STATS_BODY_LEN 48
/*
 * Version 2 stats and goodbyes carry extension groups after the 48 bytes, in this order, and
 * are 64 or 80 bytes long: the shortest form that holds every non-zero extension field.
 */
#define STATS_BODY_LEN_V2 64       /* + rate limited, sampled out */
#define STATS_BODY_LEN_DELIVERY 80 /* + delivery failed, unconfirmed */
#define STATS_BODY_LEN_CONTROL 104 /* + paused, applied gen, refused gen */

static size_t
stats_body_len(const struct pk_stats *s)
{
    if (s->paused || s->applied_gen || s->refused_gen)
        return STATS_BODY_LEN_CONTROL;
    if (s->delivery_failed || s->unconfirmed)
        return STATS_BODY_LEN_DELIVERY;
    if (s->rate_limited || s->sampled_out)
        return STATS_BODY_LEN_V2;
    return STATS_BODY_LEN;
}

size_t
pk_frame_encode_stats(uint8_t *buf, size_t cap, const struct pk_frame_source *src,
                      enum pk_frame_kind kind, const struct pk_stats *s)
{
    size_t body = stats_body_len(s);
    size_t off = put_header_v(buf, cap, src, kind, body == STATS_BODY_LEN ? 1 : 2);

    if (off == 0 || off + body > cap)
        return 0;
    pk_put_le64(buf + off, s->captured);
    pk_put_le64(buf + off + 8, s->kernel_drops);
    pk_put_le64(buf + off + 16, s->if_drops);
    pk_put_le64(buf + off + 24, s->relay_drops);
    pk_put_le64(buf + off + 32, s->relayed);
    pk_put_le64(buf + off + 40, s->queued);
    if (body >= STATS_BODY_LEN_V2) {
        pk_put_le64(buf + off + 48, s->rate_limited);
        pk_put_le64(buf + off + 56, s->sampled_out);
    }
    if (body >= STATS_BODY_LEN_DELIVERY) {
        pk_put_le64(buf + off + 64, s->delivery_failed);
        pk_put_le64(buf + off + 72, s->unconfirmed);
    }
    if (body >= STATS_BODY_LEN_CONTROL) {
        pk_put_le64(buf + off + 80, s->paused);
        pk_put_le64(buf + off + 88, s->applied_gen);
        pk_put_le64(buf + off + 96, s->refused_gen);
    }
    return off + body;
}

/* Control body: 0 generation u64 | 8 flags u32 | 12 sample n u32 | 16 rate limit u64 |
 * 24 filter (u16 length + bytes) */
#define CONTROL_BODY_FIXED 24

size_t
pk_frame_encode_control(uint8_t *buf, size_t cap, const struct pk_frame_source *src,
                        const struct pk_control *c)
{
    size_t off = put_header(buf, cap, src, PK_KIND_CONTROL);

    if (off == 0 || c->filter.len > PK_CONTROL_FILTER_MAX ||
        off + CONTROL_BODY_FIXED + 2 + c->filter.len > cap)
        return 0;
    pk_put_le64(buf + off, c->generation);
    pk_put_le32(buf + off + 8, c->flags);
    pk_put_le32(buf + off + 12, c->sample_n);
    pk_put_le64(buf + off + 16, c->rate_limit);
    off += CONTROL_BODY_FIXED;
    pk_put_le16(buf + off, c->filter.len);
    if (c->filter.len > 0)
        memcpy(buf + off + 2, c->filter.ptr, c->filter.len);
    return off + 2 + c->filter.len;
}

void
pk_batch_init(struct pk_batch *b, uint8_t *buf, size_t cap)
{
    memset(b, 0, sizeof(*b));
    b->buf = buf;
    b->cap = cap;
}

/* Packets body: 0 linktype u32 | 4 count u32 | 8 reserved u64 (0) | 16 first index u64 */
void
pk_batch_begin(struct pk_batch *b, const struct pk_frame_source *src, uint32_t linktype,
               uint64_t first_index)
{
    size_t off = put_header(b->buf, b->cap, src, PK_KIND_PACKETS);

    b->body_off = off;
    pk_put_le32(b->buf + off, linktype);
    pk_put_le32(b->buf + off + 4, 0);
    pk_put_le64(b->buf + off + 8, 0);
    pk_put_le64(b->buf + off + 16, first_index);
    b->len = off + PK_PACKETS_BODY_HEADER_LEN;
    b->count = 0;
}

int
pk_batch_add(struct pk_batch *b, uint64_t ts_ns, uint32_t caplen, uint32_t origlen,
             const uint8_t *data)
{
    uint8_t *p;

    if (b->cap - b->len < PK_RECORD_HEADER_LEN + (size_t)caplen)
        return -ENOSPC;
    p = b->buf + b->len;
    pk_put_le64(p, ts_ns);
    pk_put_le32(p + 8, caplen);
    pk_put_le32(p + 12, origlen);
    memcpy(p + PK_RECORD_HEADER_LEN, data, caplen);
    b->len += PK_RECORD_HEADER_LEN + caplen;
    b->count++;
    return 0;
}

size_t
pk_batch_end(struct pk_batch *b)
{
    pk_put_le32(b->buf + b->body_off + 4, b->count);
    return b->len;
}

static int
get_str(const uint8_t *buf, size_t len, size_t *off, struct pk_str *s)
{
    if (len - *off < 2)
        return -EBADMSG;
    s->len = pk_get_le16(buf + *off);
    if (len - *off - 2 < s->len)
        return -EBADMSG;
    s->ptr = (const char *)buf + *off + 2;
    if (memchr(s->ptr, '\0', s->len) != NULL)
        return -EBADMSG;
    *off += 2 + (size_t)s->len;
    return 0;
}

static int
decode_hello(const uint8_t *buf, size_t len, size_t off, int version, struct pk_hello *h)
{
    struct pk_str *const strs[] = {&h->host, &h->device, &h->filter, &h->version};
    int rc;

    if (len - off < 24)
        return -EBADMSG;
    h->linktype = pk_get_le32(buf + off);
    if (h->linktype > PK_LINKTYPE_MAX)
        return -EBADMSG; /* it could not be written without being cut to another link type */
    h->snaplen = pk_get_le32(buf + off + 4);
    h->tsresol = pk_get_le32(buf + off + 8);
    h->heartbeat_ms = pk_get_le32(buf + off + 12);
    h->start_ns = pk_get_le64(buf + off + 16);
    off += 24;
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        if ((rc = get_str(buf, len, &off, strs[i])) != 0)
            return rc;
    h->sample_n = 1;
    h->control = 0;
    h->applied_gen = 0;
    if (version >= 2) {
        if (len - off != HELLO_TAIL_SAMPLE && len - off != HELLO_TAIL_CONTROL)
            return -EBADMSG;
        h->sample_n = pk_get_le32(buf + off);
        if (h->sample_n == 0)
            return -EBADMSG;
        if (len - off == HELLO_TAIL_CONTROL) {
            h->control = pk_get_le32(buf + off + 4);
            h->applied_gen = pk_get_le64(buf + off + 8);
            if ((h->control & ~PK_HELLO_TAKES_CONTROL) != 0)
                return -EBADMSG;
        }
        return 0;
    }
    return off == len ? 0 : -EBADMSG;
}

static int
decode_stats(const uint8_t *buf, size_t len, size_t off, int version, struct pk_stats *st)
{
    size_t body = len - off;

    if (version >= 2 ? body != STATS_BODY_LEN_V2 && body != STATS_BODY_LEN_DELIVERY &&
                           body != STATS_BODY_LEN_CONTROL
                     : body != STATS_BODY_LEN)
        return -EBADMSG;
    st->captured = pk_get_le64(buf + off);
    st->kernel_drops = pk_get_le64(buf + off + 8);
    st->if_drops = pk_get_le64(buf + off + 16);
    st->relay_drops = pk_get_le64(buf + off + 24);
    st->relayed = pk_get_le64(buf + off + 32);
    st->queued = pk_get_le64(buf + off + 40);
    st->rate_limited = body >= STATS_BODY_LEN_V2 ? pk_get_le64(buf + off + 48) : 0;
    st->sampled_out = body >= STATS_BODY_LEN_V2 ? pk_get_le64(buf + off + 56) : 0;
    st->delivery_failed = body >= STATS_BODY_LEN_DELIVERY ? pk_get_le64(buf + off + 64) : 0;
    st->unconfirmed = body >= STATS_BODY_LEN_DELIVERY ? pk_get_le64(buf + off + 72) : 0;
    st->paused = body >= STATS_BODY_LEN_CONTROL ? pk_get_le64(buf + off + 80) : 0;
    st->applied_gen = body >= STATS_BODY_LEN_CONTROL ? pk_get_le64(buf + off + 88) : 0;
    st->refused_gen = body >= STATS_BODY_LEN_CONTROL ? pk_get_le64(buf + off + 96) : 0;
    return 0;
}

static int
decode_control(const uint8_t *buf, size_t len, size_t off, struct pk_control *c)
{
    int rc;

    if (len - off < CONTROL_BODY_FIXED)
        return -EBADMSG;
    c->generation = pk_get_le64(buf + off);
    c->flags = pk_get_le32(buf + off + 8);
    c->sample_n = pk_get_le32(buf + off + 12);
    c->rate_limit = pk_get_le64(buf + off + 16);
    off += CONTROL_BODY_FIXED;
    if ((c->flags & ~PK_CONTROL_PAUSED) != 0)
        return -EBADMSG;
    if ((rc = get_str(buf, len, &off, &c->filter)) != 0)
        return rc;
    if (c->filter.len > PK_CONTROL_FILTER_MAX)
        return -EBADMSG;
    return off == len ? 0 : -EBADMSG;
}

static int
decode_packets(const uint8_t *buf, size_t len, size_t off, struct pk_packets *p)
{
    size_t pos;
    uint32_t n;

    if (len - off < PK_PACKETS_BODY_HEADER_LEN)
        return -EBADMSG;
    p->linktype = pk_get_le32(buf + off);
    if (p->linktype > PK_LINKTYPE_MAX)
        return -EBADMSG; /* it could not be written without being cut to another link type */
    p->count = pk_get_le32(buf + off + 4);
    if (pk_get_le64(buf + off + 8) != 0)
        return -EBADMSG;
    p->first_index = pk_get_le64(buf + off + 16);
    p->records = buf + off + PK_PACKETS_BODY_HEADER_LEN;
    p->records_len = len - off - PK_PACKETS_BODY_HEADER_LEN;
    /* Walk every record now, so consumers never see half of a bad message. */
    for (pos = 0, n = 0; pos < p->records_len; n++) {
        uint32_t caplen, origlen;
        if (p->records_len - pos < PK_RECORD_HEADER_LEN)
            return -EBADMSG;
        caplen = pk_get_le32(p->records + pos + 8);
        origlen = pk_get_le32(p->records + pos + 12);
        if (caplen > PK_FRAME_MAX_CAPLEN || caplen > origlen)
            return -EBADMSG;
        if (p->records_len - pos - PK_RECORD_HEADER_LEN < caplen)
            return -EBADMSG;
        pos += PK_RECORD_HEADER_LEN + caplen;
    }
    return n == p->count ? 0 : -EBADMSG;
}

int
pk_packets_next(const struct pk_packets *p, size_t *offset, struct pk_record *rec)
{
    const uint8_t *r;

    if (*offset >= p->records_len)
        return 0;
    r = p->records + *offset;
    rec->ts_ns = pk_get_le64(r);
    rec->caplen = pk_get_le32(r + 8);
    rec->origlen = pk_get_le32(r + 12);
    rec->data = r + PK_RECORD_HEADER_LEN;
    *offset += PK_RECORD_HEADER_LEN + rec->caplen;
    return 1;
}

int
pk_frame_decode(const uint8_t *buf, size_t len, struct pk_frame *f)
{
    size_t off;

    if (len > PK_FRAME_MAX)
        return -EMSGSIZE;
    if (len < PK_FRAME_HEADER_LEN || memcmp(buf, PK_FRAME_MAGIC, 4) != 0)
        return -EBADMSG;
    f->version = buf[4];
    if (f->version < PK_PROTO_VERSION || f->version > PK_PROTO_VERSION_MAX)
        return -EPROTONOSUPPORT;
    f->kind = buf[5];
    f->name.len = buf[6];
    /* Byte 7: reserved in version 1; version 2's compression flags, which pk_codec_inflate
     * clears: a message that still has them was not inflated. */
    f->flags = buf[7];
    if (f->name.len == 0 || f->flags != 0 || len - PK_FRAME_HEADER_LEN < f->name.len)
        return -EBADMSG;
    f->source_id = pk_get_le64(buf + 8);
    f->seq = pk_get_le64(buf + 16);
    f->sent_ns = pk_get_le64(buf + 24);
    f->name.ptr = (const char *)buf + PK_FRAME_HEADER_LEN;
    if (memchr(f->name.ptr, '\0', f->name.len) != NULL)
        return -EBADMSG;
    off = PK_FRAME_HEADER_LEN + f->name.len;

    switch (f->kind) {
    case PK_KIND_HELLO:
        return decode_hello(buf, len, off, f->version, &f->u.hello);
    case PK_KIND_PACKETS:
        return decode_packets(buf, len, off, &f->u.packets);
    case PK_KIND_STATS:
    case PK_KIND_GOODBYE:
        return decode_stats(buf, len, off, f->version, &f->u.stats);
    case PK_KIND_CONTROL: /* version 1 only: no version 2 form exists */
        if (f->version != PK_PROTO_VERSION)
            return -EBADMSG;
        return decode_control(buf, len, off, &f->u.control);
    default:
        return -EBADMSG;
    }
}

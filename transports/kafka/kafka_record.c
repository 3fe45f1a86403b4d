/* The Kafka record format (kafka_record.h, docs/KAFKA.md): message <-> record, both ways. */
#include "kafka_record.h"
#include "bytes.h"
#include "frame.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const kind_names[] = {"", "hello", "packets", "stats", "goodbye"};

static void
copy_str(char *dst, size_t cap, struct pk_str s)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;

    memcpy(dst, s.ptr, n);
    dst[n] = '\0';
}

static void
add_u64(rd_kafka_headers_t *h, const char *name, uint64_t v)
{
    char buf[24];

    snprintf(buf, sizeof(buf), "%" PRIu64, v);
    rd_kafka_header_add(h, name, -1, buf, -1);
}

/* The readable headers: who, what, and the source's latest totals. */
static void
add_readable(rd_kafka_headers_t *h, const struct pk_kafka_meta *meta, const struct pk_frame *f,
             const char *key)
{
    add_u64(h, "pktr.version", f->version);
    rd_kafka_header_add(h, "pktr.kind", -1, kind_names[f->kind], -1);
    rd_kafka_header_add(h, "pktr.source_id", -1, key, -1);
    rd_kafka_header_add(h, "pktr.source", -1, f->name.ptr, f->name.len);
    add_u64(h, "pktr.seq", f->seq);
    rd_kafka_header_add(h, "pktr.host", -1, meta->host, -1);
    rd_kafka_header_add(h, "pktr.device", -1, meta->device, -1);
    add_u64(h, "pktr.snaplen", meta->snaplen);
    add_u64(h, "pktr.kernel_drops", meta->kernel_drops);
    add_u64(h, "pktr.if_drops", meta->if_drops);
    add_u64(h, "pktr.relay_drops", meta->relay_drops);
}

/* A packets message's records as classic pcap records (ns); returns the value's length. */
static size_t
to_pcap_records(const struct pk_packets *p, uint8_t *value)
{
    struct pk_record rec;
    size_t off = 0, len = 0;

    while (pk_packets_next(p, &off, &rec)) {
        pk_put_le32(value + len, (uint32_t)(rec.ts_ns / 1000000000u));
        pk_put_le32(value + len + 4, (uint32_t)(rec.ts_ns % 1000000000u));
        pk_put_le32(value + len + 8, rec.caplen);
        pk_put_le32(value + len + 12, rec.origlen);
        memcpy(value + len + PK_RECORD_HEADER_LEN, rec.data, rec.caplen);
        len += PK_RECORD_HEADER_LEN + rec.caplen;
    }
    return len;
}

static void
remember(struct pk_kafka_meta *meta, const struct pk_frame *f)
{
    if (f->kind == PK_KIND_HELLO) {
        copy_str(meta->host, sizeof(meta->host), f->u.hello.host);
        copy_str(meta->device, sizeof(meta->device), f->u.hello.device);
        meta->snaplen = f->u.hello.snaplen;
    } else if (f->kind == PK_KIND_STATS || f->kind == PK_KIND_GOODBYE) {
        meta->kernel_drops = f->u.stats.kernel_drops;
        meta->if_drops = f->u.stats.if_drops;
        meta->relay_drops = f->u.stats.relay_drops;
    }
}

/* The meta of source id: its slot, or the oldest one taken over (emptied). */
static struct pk_kafka_meta *
meta_of(struct pk_kafka_metas *m, uint64_t id)
{
    struct pk_kafka_meta *meta;

    for (size_t i = 0; i < PK_KAFKA_META_SOURCES; i++)
        if (m->v[i].used && m->v[i].source_id == id)
            return &m->v[i];
    meta = &m->v[m->next];
    m->next = (m->next + 1) % PK_KAFKA_META_SOURCES;
    memset(meta, 0, sizeof(*meta));
    meta->used = 1;
    meta->source_id = id;
    return meta;
}

int
pk_kafka_record_encode(struct pk_kafka_metas *metas, const uint8_t *msg, size_t len,
                       uint8_t *value, struct pk_kafka_out *out)
{
    struct pk_kafka_meta *meta;
    struct pk_frame f;
    size_t prefix = len;

    if (pk_frame_decode(msg, len, &f) != 0)
        return -EBADMSG;
    meta = meta_of(metas, f.source_id);
    remember(meta, &f);
    snprintf(out->key, sizeof(out->key), "%016" PRIx64, f.source_id);
    out->ts_ms = (int64_t)(f.sent_ns / 1000000u);
    out->value_len = 0;
    if (f.kind == PK_KIND_PACKETS) {
        prefix = (size_t)(f.u.packets.records - msg);
        out->value_len = to_pcap_records(&f.u.packets, value);
        if (f.u.packets.count > 0)
            out->ts_ms = (int64_t)(pk_get_le64(f.u.packets.records) / 1000000u);
    }
    if ((out->headers = rd_kafka_headers_new(16)) == NULL)
        return -ENOMEM;
    rd_kafka_header_add(out->headers, PK_KAFKA_HDR_FRAME, -1, msg, (ssize_t)prefix);
    add_readable(out->headers, meta, &f, out->key);
    if (f.kind == PK_KIND_PACKETS) {
        add_u64(out->headers, "pktr.linktype", f.u.packets.linktype);
        add_u64(out->headers, "pktr.first_index", f.u.packets.first_index);
        add_u64(out->headers, "pktr.count", f.u.packets.count);
    } else if (f.kind == PK_KIND_HELLO) {
        add_u64(out->headers, "pktr.linktype", f.u.hello.linktype);
    }
    return 0;
}

static int
frame_header(const rd_kafka_message_t *m, const void **frame, size_t *len)
{
    rd_kafka_headers_t *h;

    if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_header_get_last(h, PK_KAFKA_HDR_FRAME, frame, len) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        *frame == NULL)
        return -EBADMSG;
    return 0;
}

size_t
pk_kafka_record_size(const rd_kafka_message_t *m)
{
    const void *frame;
    size_t len;

    if (frame_header(m, &frame, &len) != 0)
        return 0;
    return len + m->len; /* a pcap record header is as long as a message's record header */
}

long
pk_kafka_record_decode(const rd_kafka_message_t *m, uint8_t *buf, size_t cap)
{
    const uint8_t *v = m->payload;
    const void *frame;
    size_t flen, off = 0, out;

    if (frame_header(m, &frame, &flen) != 0)
        return -EBADMSG;
    if (flen + m->len > cap)
        return -EMSGSIZE;
    memcpy(buf, frame, flen);
    out = flen;
    while (off < m->len) {
        uint32_t caplen;

        if (m->len - off < PK_RECORD_HEADER_LEN)
            return -EBADMSG;
        caplen = pk_get_le32(v + off + 8);
        if (caplen > m->len - off - PK_RECORD_HEADER_LEN || pk_get_le32(v + off + 4) >= 1000000000u)
            return -EBADMSG;
        pk_put_le64(buf + out,
                    (uint64_t)pk_get_le32(v + off) * 1000000000u + pk_get_le32(v + off + 4));
        pk_put_le32(buf + out + 8, caplen);
        pk_put_le32(buf + out + 12, pk_get_le32(v + off + 12));
        memcpy(buf + out + PK_RECORD_HEADER_LEN, v + off + PK_RECORD_HEADER_LEN, caplen);
        out += PK_RECORD_HEADER_LEN + caplen;
        off += PK_RECORD_HEADER_LEN + caplen;
    }
    return (long)out;
}

/* Capture stream writer; see writer.h. */
#include "writer.h"
#include "chunk.h"
#include "pcapng.h"
#include "pcapout.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *const pk_output_format_names[PK_FORMATS] = {"pcap", "pcapng", "pcap-us"};
const char *const pk_format_reader_names[PK_FORMATS] = {"pcap-ns", "pcapng", "pcap"};

int
pk_format_reader_parse(const char *name, enum pk_output_format *f)
{
    for (int i = 0; i < PK_FORMATS; i++) {
        if (strcmp(name, pk_format_reader_names[i]) == 0) {
            *f = (enum pk_output_format)i;
            return 0;
        }
    }
    return -EINVAL;
}

void
pk_writer_init(struct pk_writer *w, enum pk_output_format format, struct pk_output *out,
               const struct pk_ifreg *reg)
{
    memset(w, 0, sizeof(*w));
    w->format = format;
    w->out = out;
    w->reg = reg;
}

/* Into the chunk when the writer has one (a reader group's), else into the queue. */
static void
put(struct pk_writer *w, const void *buf, size_t len)
{
    if (w->chunk != NULL)
        pk_chunk_append(w->chunk, buf, len);
    else
        pk_output_append(w->out, buf, len);
}

/* A packet's data: the stdout queue may write it from where it is (pk_output_append_lent). */
static void
put_data(struct pk_writer *w, const void *buf, size_t len)
{
    if (w->chunk != NULL)
        pk_chunk_append(w->chunk, buf, len);
    else
        pk_output_append_lent(w->out, buf, len);
}

/* A whole block ends here (only a file queue cares: a full disk cuts back to it). */
static void
end_block(struct pk_writer *w)
{
    if (w->chunk == NULL)
        pk_output_end_block(w->out);
}

void
pk_writer_start_section(struct pk_writer *w, uint32_t linktype)
{
    uint8_t buf[1024];
    size_t n;

    w->started = 1;
    if (w->format != PK_FORMAT_PCAPNG) {
        pk_pcap_file_header(buf, linktype, PK_PCAP_STREAM_SNAPLEN);
        if (w->format == PK_FORMAT_PCAP_US)
            pk_pcap_header_to_us(buf);
        w->stream_linktype = linktype;
        put(w, buf, PK_PCAP_FILE_HEADER_LEN);
        end_block(w);
        return;
    }
    n = pk_pcapng_shb(buf, sizeof(buf), w->reg->hardware, w->reg->os, w->reg->application);
    put(w, buf, n);
    end_block(w);
    for (uint32_t id = 0; id < w->reg->n; id++)
        pk_writer_interface(w, id);
}

void
pk_writer_interface(struct pk_writer *w, uint32_t id)
{
    put(w, w->reg->v[id].idb, w->reg->v[id].len);
    end_block(w);
}

size_t
pk_writer_record_len(const struct pk_writer *w, uint32_t caplen)
{
    if (w->format != PK_FORMAT_PCAPNG)
        return PK_PCAP_RECORD_HEADER_LEN + caplen;
    return PK_PCAPNG_EPB_HEADER + ((caplen + 3u) & ~3u) + 4u;
}

int
pk_writer_record(struct pk_writer *w, uint32_t linktype, uint32_t if_id,
                 const struct pk_record *rec)
{
    uint8_t head[PK_PCAPNG_EPB_HEADER];

    if (w->format != PK_FORMAT_PCAPNG) {
        if (linktype != w->stream_linktype)
            return 0;
        if (w->format == PK_FORMAT_PCAP_US)
            pk_pcap_record_header_us(head, rec->ts_ns, rec->caplen, rec->origlen);
        else
            pk_pcap_record_header(head, rec->ts_ns, rec->caplen, rec->origlen);
        put(w, head, PK_PCAP_RECORD_HEADER_LEN);
        put_data(w, rec->data, rec->caplen);
    } else {
        uint8_t tail[8];
        pk_pcapng_epb_head(head, if_id, rec->ts_ns, rec->caplen, rec->origlen);
        put(w, head, sizeof(head));
        put_data(w, rec->data, rec->caplen);
        put(w, tail, pk_pcapng_epb_tail(tail, rec->caplen));
    }
    end_block(w); /* a full disk cuts the file back to here at most */
    return 1;
}

void
pk_writer_stats(struct pk_writer *w, const struct pk_sources *t, uint64_t now_ns)
{
    uint8_t buf[1024];
    char comment[256];
    uint32_t id;

    if (w->format != PK_FORMAT_PCAPNG || !w->started)
        return;
    for (size_t i = 0; i < t->n; i++) {
        const struct pk_source *s = t->v[i];
        struct pk_pcapng_if_stats st = {
            .ts_ns = now_ns,
            .ifrecv = s->agent.captured + s->agent.kernel_drops + s->agent.if_drops,
            .ifdrop = s->agent.if_drops,
            .osdrop = s->agent.kernel_drops,
            .filteraccept = s->agent.captured,
            .usrdeliv = s->written,
            .comment = comment,
        };
        if (pk_ifreg_first(w->reg, s, &id) != 0)
            continue;
        snprintf(comment, sizeof(comment),
                 "relay drops %llu, lost in transit %llu, kernel drops %llu, interface drops %llu",
                 (unsigned long long)s->agent.relay_drops, (unsigned long long)s->lost_packets,
                 (unsigned long long)s->agent.kernel_drops, (unsigned long long)s->agent.if_drops);
        put(w, buf, pk_pcapng_isb(buf, sizeof(buf), id, &st));
        end_block(w);
    }
}

/* Capture stream writer; see writer.h. */
#include "writer.h"
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
        pk_output_append(w->out, buf, PK_PCAP_FILE_HEADER_LEN);
        pk_output_end_block(w->out);
        return;
    }
    n = pk_pcapng_shb(buf, sizeof(buf), w->reg->hardware, w->reg->os, w->reg->application);
    pk_output_append(w->out, buf, n);
    pk_output_end_block(w->out);
    for (uint32_t id = 0; id < w->reg->n; id++)
        pk_writer_interface(w, id);
}

void
pk_writer_interface(struct pk_writer *w, uint32_t id)
{
    pk_output_append(w->out, w->reg->v[id].idb, w->reg->v[id].len);
    pk_output_end_block(w->out);
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
        pk_output_append(w->out, head, PK_PCAP_RECORD_HEADER_LEN);
        pk_output_append(w->out, rec->data, rec->caplen);
    } else {
        uint8_t tail[8];
        pk_pcapng_epb_head(head, if_id, rec->ts_ns, rec->caplen, rec->origlen);
        pk_output_append(w->out, head, sizeof(head));
        pk_output_append(w->out, rec->data, rec->caplen);
        pk_output_append(w->out, tail, pk_pcapng_epb_tail(tail, rec->caplen));
    }
    pk_output_end_block(w->out); /* a full disk cuts the file back to here at most */
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
        pk_output_append(w->out, buf, pk_pcapng_isb(buf, sizeof(buf), id, &st));
        pk_output_end_block(w->out);
    }
}

/* Output stream writer; see writer.h. */
#include "writer.h"
#include "pcapng.h"
#include "pcapout.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *const pk_output_format_names[] = {"pcap", "pcapng"};

void
pk_writer_init(struct pk_writer *w, enum pk_output_format format, struct pk_output *out,
               const char *hardware, const char *os, const char *application)
{
    memset(w, 0, sizeof(*w));
    w->format = format;
    w->out = out;
    snprintf(w->hardware, sizeof(w->hardware), "%s", hardware);
    snprintf(w->os, sizeof(w->os), "%s", os);
    snprintf(w->application, sizeof(w->application), "%s", application);
}

static void
start(struct pk_writer *w, uint32_t linktype)
{
    uint8_t buf[1024];
    size_t n;

    if (w->format == PK_FORMAT_PCAP) {
        pk_pcap_file_header(buf, linktype, PK_PCAP_STREAM_SNAPLEN);
        n = PK_PCAP_FILE_HEADER_LEN;
        w->stream_linktype = linktype;
    } else {
        n = pk_pcapng_shb(buf, sizeof(buf), w->hardware, w->os, w->application);
    }
    pk_output_append(w->out, buf, n);
    w->started = 1;
}

/*
 * pcapng: the source's interface for this link type, described the first time the source uses
 * it and reused after, so that a source flipping link types costs one block per link type, not
 * one per packet. -ENOSPC past PK_SOURCE_INTERFACES link types (the packet is not written).
 */
static int
interface_of(struct pk_writer *w, struct pk_source *s, uint32_t linktype, uint32_t *if_id)
{
    uint8_t buf[2048];
    char description[600];
    size_t n;

    for (uint32_t i = 0; i < s->nifs; i++) {
        if (s->ifs[i].linktype == linktype) {
            *if_id = s->ifs[i].id;
            return 0;
        }
    }
    if (s->nifs == PK_SOURCE_INTERFACES)
        return -ENOSPC;
    snprintf(description, sizeof(description), "%s on %s (host %s)", s->device[0] ? s->device : "?",
             s->peer[0] ? s->peer : "?", s->host[0] ? s->host : "?");
    n = pk_pcapng_idb(buf, sizeof(buf), linktype, s->snaplen ? s->snaplen : PK_PCAP_STREAM_SNAPLEN,
                      s->name, description, s->filter);
    if (n == 0)
        return -EINVAL; /* a link type the block cannot hold (the decoder refuses those) */
    pk_output_append(w->out, buf, n);
    s->ifs[s->nifs].linktype = linktype;
    s->ifs[s->nifs].id = *if_id = w->interfaces++;
    s->nifs++;
    return 0;
}

int
pk_writer_record(struct pk_writer *w, struct pk_source *s, uint32_t linktype,
                 const struct pk_record *rec)
{
    uint8_t head[PK_PCAPNG_EPB_HEADER];

    if (!w->started)
        start(w, linktype);
    if (w->format == PK_FORMAT_PCAP) {
        if (linktype != w->stream_linktype)
            return 0;
        pk_pcap_record_header(head, rec->ts_ns, rec->caplen, rec->origlen);
        pk_output_append(w->out, head, PK_PCAP_RECORD_HEADER_LEN);
        pk_output_append(w->out, rec->data, rec->caplen);
    } else {
        uint8_t tail[8];
        uint32_t if_id;
        int rc = interface_of(w, s, linktype, &if_id);
        if (rc != 0)
            return rc;
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
        if (s->nifs == 0)
            continue;
        snprintf(comment, sizeof(comment),
                 "relay drops %llu, lost in transit %llu, kernel drops %llu, interface drops %llu",
                 (unsigned long long)s->agent.relay_drops, (unsigned long long)s->lost_packets,
                 (unsigned long long)s->agent.kernel_drops, (unsigned long long)s->agent.if_drops);
        pk_output_append(w->out, buf, pk_pcapng_isb(buf, sizeof(buf), s->ifs[0].id, &st));
        pk_output_end_block(w->out);
    }
}

/*
 * File replay on a uv_idle handle. pcap_next_ex keeps the current packet valid until the next
 * call, which is what lets a refused packet be offered again without copying it.
 */
#include "replay.h"
#include "replay_map.h"
#include "pcktr.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PACKETS_PER_ROUND 4096
#define READ_BUFFER (1u << 20) /* stdio buffer of READ_FILE */

struct pk_replay {
    pcap_t *pcap;
    uv_idle_t idle;
    struct pk_replay_sink sink;
    char *buf;             /* the FILE's stdio buffer, freed after pcap_close */
    struct pk_replay_map *map; /* the fast path, until it hands the file back (replay_map.h) */
    struct bpf_program prog;   /* FILTER, applied here to what the map reads */
    int filtering;
    struct pk_packet held; /* a packet the sink refused, offered again on resume */
    int holding, ended;
};

/* 1: r->held is the next packet FILTER takes. 0: the end (rc: pcap_next_ex's). */
static int
next_packet(struct pk_replay *r, int *rc)
{
    struct pcap_pkthdr *hdr;
    const u_char *bytes;

    while (r->map != NULL) {
        if (pk_replay_map_next(r->map, &r->held) == 0) {
            pk_replay_map_close(r->map);
            r->map = NULL;
            break;
        }
        struct pcap_pkthdr h = {.caplen = r->held.caplen, .len = r->held.origlen};
        if (!r->filtering || pcap_offline_filter(&r->prog, &h, r->held.data))
            return 1;
    }
    if ((*rc = pcap_next_ex(r->pcap, &hdr, &bytes)) != 1)
        return 0;
    r->held.ts_ns = (uint64_t)hdr->ts.tv_sec * 1000000000u + (uint64_t)hdr->ts.tv_usec;
    r->held.caplen = hdr->caplen;
    r->held.origlen = hdr->len;
    r->held.data = bytes;
    return 1;
}

static void
on_idle(uv_idle_t *h)
{
    struct pk_replay *r = container_of(h, struct pk_replay, idle);
    int rc;

    for (int i = 0; i < PACKETS_PER_ROUND; i++) {
        if (!r->holding) {
            if (!next_packet(r, &rc)) {
                r->ended = 1;
                uv_idle_stop(&r->idle);
                r->sink.on_burst_end(r->sink.data);
                r->sink.on_end(r->sink.data, rc == PCAP_ERROR_BREAK ? NULL : pcap_geterr(r->pcap));
                return;
            }
            r->holding = 1;
        }
        if (r->sink.on_packet(r->sink.data, &r->held) == -EAGAIN) {
            uv_idle_stop(&r->idle);
            return;
        }
        r->holding = 0;
    }
    r->sink.on_burst_end(r->sink.data);
}

static void
close_replay(struct pk_replay *r)
{
    pk_replay_map_close(r->map);
    if (r->filtering)
        pcap_freecode(&r->prog);
    pcap_close(r->pcap);
    free(r->buf);
    free(r);
}

int
pk_replay_open(struct pk_replay **out, uv_loop_t *loop, const char *path, const char *filter,
               const struct pk_replay_sink *sink, char *errbuf)
{
    char pcap_err[PCAP_ERRBUF_SIZE];
    struct pk_replay *r = calloc(1, sizeof(*r));
    int rc;

    if (r == NULL)
        return pk_seterr(errbuf, -ENOMEM, "out of memory");
    r->sink = *sink;
    /*
     * Our own FILE with a 1 MiB buffer of our own: stdio's 4 KiB meant a read(2) per 4 KiB.
     * glibc ignores setvbuf's size when the buffer is NULL (perf stat: still 49 000 reads of
     * 4 KB for a 200 MB file); with the buffer given, 240.
     */
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        int err = errno;
        free(r);
        return pk_seterr(errbuf, -ENOENT, "READ_FILE=\"%s\": %s", path, strerror(err));
    }
    if ((r->buf = malloc(READ_BUFFER)) == NULL) {
        fclose(fp);
        free(r);
        return pk_seterr(errbuf, -ENOMEM, "out of memory");
    }
    setvbuf(fp, r->buf, _IOFBF, READ_BUFFER);
    r->pcap = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, pcap_err);
    if (r->pcap == NULL) {
        fclose(fp);
        free(r->buf);
        free(r);
        return pk_seterr(errbuf, -ENOENT, "READ_FILE=\"%s\": %s", path, pcap_err);
    }
    if (filter[0] != '\0') {
        if (pcap_compile(r->pcap, &r->prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
            pk_seterr(errbuf, -EINVAL, "FILTER=\"%s\" is invalid: %s", filter, pcap_geterr(r->pcap));
            close_replay(r);
            return -EINVAL;
        }
        r->filtering = 1;                  /* r->prog for what the map reads, freed on close */
        pcap_setfilter(r->pcap, &r->prog); /* a copy of it for what libpcap reads */
    }
    if ((rc = pk_replay_map_open(&r->map, fp)) != 0) {
        pk_seterr(errbuf, rc, "READ_FILE=\"%s\": cannot map: %s", path, strerror(-rc));
        close_replay(r);
        return rc;
    }
    uv_idle_init(loop, &r->idle);
    *out = r;
    return 0;
}

int
pk_replay_dlt(const struct pk_replay *r)
{
    return pcap_datalink(r->pcap);
}

uint32_t
pk_replay_snaplen(const struct pk_replay *r)
{
    return (uint32_t)pcap_snapshot(r->pcap);
}

void
pk_replay_resume(struct pk_replay *r)
{
    if (!r->ended)
        uv_idle_start(&r->idle, on_idle);
}

static void
on_idle_closed(uv_handle_t *h)
{
    struct pk_replay *r = container_of(h, struct pk_replay, idle);

    close_replay(r);
}

void
pk_replay_close(struct pk_replay *r)
{
    uv_close((uv_handle_t *)&r->idle, on_idle_closed);
}

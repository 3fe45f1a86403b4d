/*
 * READ_FILE: replays a pcap or pcapng file as fast as the sink takes it. Reading runs from a
 * uv_idle handle in bounded rounds (epoll refuses regular files), and stops while the sink
 * refuses a packet, so a slow relay delays the replay but loses nothing. Loop thread only.
 */
#ifndef PK_REPLAY_H
#define PK_REPLAY_H

#include "capture.h"

struct pk_replay;

struct pk_replay_sink {
    /** 0: taken. -EAGAIN: not now; the same packet is offered again after pk_replay_resume. */
    int (*on_packet)(void *data, const struct pk_packet *pkt);
    void (*on_burst_end)(void *data);
    /** End of file (error NULL) or a read error (the file is damaged or truncated). */
    void (*on_end)(void *data, const char *error);
    void *data;
};

/** Opens path (nanosecond timestamps), applies filter (may be ""). 0, -ENOENT/-EINVAL + errbuf. */
int pk_replay_open(struct pk_replay **out, uv_loop_t *loop, const char *path, const char *filter,
                   const struct pk_replay_sink *sink, char *errbuf);

/**
 * libpcap's DLT_ value for the file: pcap_open_offline turns the file's LINKTYPE_ into a DLT_
 * (LINKTYPE_RAW 101 becomes DLT_RAW, 12 on Linux), so it must be converted back for the relay.
 */
int pk_replay_dlt(const struct pk_replay *r);
uint32_t pk_replay_snaplen(const struct pk_replay *r);

/** Starts or resumes reading after the sink said -EAGAIN. */
void pk_replay_resume(struct pk_replay *r);
void pk_replay_close(struct pk_replay *r);

#endif

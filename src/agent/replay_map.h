/*
 * READ_FILE's fast path (replay.c's helper, nothing else uses it): the records of a classic
 * pcap file in this host's byte order, read in place from a mapped window of the file instead
 * of being copied by read(2) into stdio's buffer and by libpcap into its own. It reads only the
 * ordinary records; at the first one that is not (short, longer than the file's snaplen, past
 * the size the file had when opened, the end of the file) it hands the file back to libpcap
 * positioned at that record, so that errors, the end and anything unusual are libpcap's, as
 * without it. Loop thread only.
 */
#ifndef PK_REPLAY_MAP_H
#define PK_REPLAY_MAP_H

#include "capture.h"

#include <stdio.h>

struct pk_replay_map;

/**
 * fp: the FILE libpcap opened the file on (its header read). 0 and *out set: the map reads from the
 * first record on. 0 and *out NULL: not a file it reads (pcapng, the other byte order, another
 * version, a link type libpcap fixes up); libpcap reads it all. -errno: could not map.
 */
int pk_replay_map_open(struct pk_replay_map **out, FILE *fp);

/**
 * 1: pkt is the next record, its data valid until the next call. 0: the rest is libpcap's
 * (pcap_next_ex reads on from the record the map stopped at); the map can then be closed.
 */
int pk_replay_map_next(struct pk_replay_map *m, struct pk_packet *pkt);

void pk_replay_map_close(struct pk_replay_map *m);

#endif

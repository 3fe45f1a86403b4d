/*
 * Live capture: a libpcap handle activated with the agent's options, non-blocking, its
 * selectable fd on a uv_poll_t in the shared loop. Each readiness callback hands every
 * available packet to on_packet, then calls on_burst_end once (the agent flushes its batch).
 * Loop thread only.
 */
#ifndef PK_CAPTURE_H
#define PK_CAPTURE_H

#include <stdint.h>
#include <uv.h>

/* A packet as libpcap delivered it; data is borrowed for the duration of the call. */
struct pk_packet {
    uint64_t ts_ns;
    uint32_t caplen, origlen;
    const uint8_t *data;
};

struct pk_packet_sink {
    void (*on_packet)(void *data, const struct pk_packet *pkt);
    void (*on_burst_end)(void *data);
    void (*on_error)(void *data, const char *msg); /* capture stopped (interface gone, ...) */
    /* the device went down (up 0, msg: libpcap's words) or is capturing again (up 1) */
    void (*on_link)(void *data, int up, const char *msg);
    void *data;
};

struct pk_capture_opts {
    const char *device;
    const char *filter;  /* the user's FILTER, may be "" */
    const char *exclude; /* a filter for traffic never to capture (the relay's own), or "" */
    uint32_t snaplen;
    int promisc;
    uint64_t buffer_size;
};

struct pk_capture;
struct pcap;

/**
 * Opens and activates the device and starts polling. Returns 0, or a negative errno with a
 * sentence in errbuf: -EINVAL bad filter (libpcap's words), -ENODEV no such device, -EPERM no
 * permission, -EIO anything else.
 */
int pk_capture_open(struct pk_capture **out, uv_loop_t *loop, const struct pk_capture_opts *opts,
                    const struct pk_packet_sink *sink, char *errbuf);

/** libpcap's DLT_ value of the device (pcap_datalink); files and the relay want LINKTYPE_. */
int pk_capture_dlt(const struct pk_capture *cap);
/** 9 when timestamps are nanoseconds, 6 when the device only gives microseconds. */
int pk_capture_tsresol(const struct pk_capture *cap);
/** Kernel and interface drop counters (pcap_stats); 0 or -EIO. */
int pk_capture_stats(struct pk_capture *cap, uint64_t *kernel_drops, uint64_t *if_drops);

/** 1 while the device is down (the capture waits for it to come back). */
int pk_capture_is_down(const struct pk_capture *cap);

/** The filter in force: FILTER combined with the exclusion. Borrowed until close. */
const char *pk_capture_filter(const struct pk_capture *cap);

/**
 * Replaces the filter: filter (the user's, may be "") combined with exclude. 0, or -EINVAL
 * (libpcap's words in errbuf) / -E2BIG (longer than 8191 bytes) / -EIO, and the filter in
 * force stays.
 */
int pk_capture_set_filter(struct pk_capture *cap, const char *filter, const char *exclude,
                          char *errbuf);

/** The pcap handle, to compile a filter on (control_policy.h). Borrowed until close. */
struct pcap *pk_capture_pcap(const struct pk_capture *cap);

/** Stops polling; the pcap handle is closed once libuv has released its fd. */
void pk_capture_close(struct pk_capture *cap);

#endif

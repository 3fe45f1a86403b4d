/*
 * Live capture on libpcap; see capture.h.
 *
 * Why not immediate mode: with it, libpcap 1.10 falls back to TPACKET_V2, whose ring has one
 * fixed slot per packet sized by min(snaplen, MTU). On lo (MTU 65536) a 16 MiB ring then holds
 * about 240 slots, and lo shows the kernel every packet twice: a burst of 500 one-byte datagrams
 * from a shell lost 236 to kernel drops. TPACKET_V3 packs packets into blocks, so the same ring
 * holds over 100 000 small packets (0 drops, 3 runs of 3); a 1 ms block timeout (rounded up to
 * one kernel tick) keeps latency low at low rates, and an idle interface causes no wake-ups.
 *
 * Why pacing: each wake-up costs the agent about 25-35 us whatever it carries (epoll, the
 * dispatch, and the send of the batch, which on loopback runs the receiver's TCP stack too).
 * At 100 kpps of small packets a block retires on its timeout every millisecond, and waking for
 * each cost the agent 10-18x the CPU of tcpdump, which waits up to a second per block. So while
 * a wake-up finds many packets (PACE_ENTER), the ring is read on a timer every pace_ms instead
 * (PACE_MS at most): up to PACE_MS times fewer wake-ups and sends, for at most PACE_MS of added
 * latency at those rates only. Below PACE_LEAVE_PER_MS packets per ms it reads on each block
 * again. The ring keeps what arrives meanwhile, counted in blocks: the kernel hands a block over
 * when it is full or on the timeout, however few packets it holds, so at 100 kpps of small
 * packets each millisecond takes a whole block. A pace may take at most a quarter of the ring's
 * blocks at the rate just seen (with the default BUFFER_SIZE, 16 of 64 blocks: 16 ms at low byte
 * rates, about 6 ms at 250 kpps of 1500 bytes); where that is under 2 ms, there is no pacing.
 */
#include "capture.h"
#include "pcktr.h"

#include <errno.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_TIMEOUT_MS 1 /* TPACKET_V3 hands a block over at the latest after this */
#define DISPATCH_ROUNDS 8 /* pcap_dispatch calls per wake-up before yielding to the loop */
#define DOWN_RECHECK_MS 250 /* a device that went down: how often to look for it coming back */
#define PACE_MS 16           /* the longest pace: the added latency at high rates */
#define PACE_MIN_MS 2        /* a shorter pace saves too little: read on each block then */
#define PACE_ENTER 64        /* packets in one wake-up on a block that start pacing */
#define PACE_LEAVE_PER_MS 8  /* fewer packets per ms of a pace end it */
#define PACE_ROUNDS 256      /* pcap_dispatch calls per pace at most (one block or more each) */
/* libpcap 1.10 sizes a TPACKET_V3 block for its largest snaplen (262144 bytes, a power of two):
 * BUFFER_SIZE / this is the ring's blocks, or fewer blocks than it has if they are smaller. */
#define RING_BLOCK_BYTES (256u << 10)

struct pk_capture {
    pcap_t *pcap;
    uv_poll_t poll;
    uv_timer_t rearm; /* restarts polling while the device is down */
    uv_timer_t pace;  /* reads the ring while pacing (poll is stopped meanwhile) */
    unsigned pace_ms;
    uint64_t pace_from_ms;             /* uv_now of the pace's start */
    uint64_t ring_blocks;              /* BUFFER_SIZE in blocks */
    uint64_t drained_n, drained_bytes; /* packets and bytes of the current drain */
    int handles_open;
    struct pk_packet_sink sink;
    int tsresol;
    int failed, down;
    unsigned ifindex; /* of the device when opened; 0 for "any" */
    char device[IF_NAMESIZE];
    char filter[8192];
};

static void on_readable(uv_poll_t *h, int status, int events);
static void on_pace(uv_timer_t *h);

static void
on_pcap_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    struct pk_capture *cap = (struct pk_capture *)user;
    struct pk_packet pkt = {
        .ts_ns = (uint64_t)h->ts.tv_sec * 1000000000u +
                 (uint64_t)h->ts.tv_usec * (cap->tsresol == 9 ? 1u : 1000u),
        .caplen = h->caplen,
        .origlen = h->len,
        .data = bytes,
    };

    cap->drained_n++;
    cap->drained_bytes += h->caplen;
    cap->sink.on_packet(cap->sink.data, &pkt);
}

static void
on_rearm(uv_timer_t *h)
{
    struct pk_capture *cap = container_of(h, struct pk_capture, rearm);

    uv_poll_start(&cap->poll, UV_READABLE, on_readable);
}

/*
 * A socket error. When the device only went down (a link flap, `ip link set down`) it keeps
 * its index, and the socket captures again once it is up: wait for that rather than give up.
 * A device that disappeared (or came back as another interface) ends the capture.
 */
static void
capture_error(struct pk_capture *cap, const char *msg)
{
    char why[PK_ERRBUF_SIZE];

    uv_poll_stop(&cap->poll);
    uv_timer_stop(&cap->pace);
    if (cap->ifindex != 0 && if_nametoindex(cap->device) == cap->ifindex) {
        if (!cap->down) {
            cap->down = 1;
            cap->sink.on_link(cap->sink.data, 0, msg);
        }
        uv_timer_start(&cap->rearm, on_rearm, DOWN_RECHECK_MS, 0);
        return;
    }
    pk_seterr(why, 0, "%s; DEVICE=\"%s\" is gone", msg, cap->device);
    cap->failed = 1;
    cap->sink.on_error(cap->sink.data, why);
}

/*
 * Hands every available packet to the sink (at most rounds dispatches), then ends the burst.
 * On a poll error (libuv says UV_EBADF for POLLERR) libpcap reads the socket error. Returns 0,
 * or -1 when the capture failed or went down (capture_error has taken over).
 */
static int
drain(struct pk_capture *cap, int rounds, int status)
{
    char msg[PK_ERRBUF_SIZE];
    int n = 0;

    cap->drained_n = cap->drained_bytes = 0;
    for (int i = 0; i < rounds; i++) {
        n = pcap_dispatch(cap->pcap, -1, on_pcap_packet, (u_char *)cap);
        if (n <= 0)
            break;
        if (cap->down) {
            cap->down = 0;
            cap->sink.on_link(cap->sink.data, 1, "");
        }
    }
    cap->sink.on_burst_end(cap->sink.data);
    if (n < 0 || status < 0) {
        pk_seterr(msg, 0, "capture: %s", n < 0 ? pcap_geterr(cap->pcap) : uv_strerror(status));
        capture_error(cap, msg);
        return -1;
    }
    return 0;
}

/* The pace for bytes that came in ms: a quarter of the ring's blocks at that rate (each ms
 * takes a block on the timeout, and more when packets fill them first), at most PACE_MS. */
static unsigned
pace_for(const struct pk_capture *cap, uint64_t bytes, uint64_t ms)
{
    uint64_t blocks_per_s = 1000 + bytes * 1000 / (ms ? ms : 1) / RING_BLOCK_BYTES;
    uint64_t pace = cap->ring_blocks / 4 * 1000 / blocks_per_s;

    return pace > PACE_MS ? PACE_MS : (unsigned)pace;
}

static void
pace_start(struct pk_capture *cap, unsigned ms)
{
    cap->pace_ms = ms;
    cap->pace_from_ms = uv_now(cap->pace.loop);
    uv_timer_start(&cap->pace, on_pace, ms, 0);
}

static void
on_readable(uv_poll_t *h, int status, int events)
{
    struct pk_capture *cap = container_of(h, struct pk_capture, poll);
    unsigned pace;

    (void)events;
    if (drain(cap, DISPATCH_ROUNDS, status) != 0 || cap->drained_n < PACE_ENTER)
        return;
    /* Up to DISPATCH_ROUNDS blocks came in about one timeout: the rate is at least that. */
    if ((pace = pace_for(cap, cap->drained_bytes, BLOCK_TIMEOUT_MS)) < PACE_MIN_MS)
        return;
    uv_poll_stop(&cap->poll);
    pace_start(cap, pace);
}

static void
on_pace(uv_timer_t *h)
{
    struct pk_capture *cap = container_of(h, struct pk_capture, pace);
    uint64_t took = uv_now(h->loop) - cap->pace_from_ms;
    unsigned pace;

    if (drain(cap, PACE_ROUNDS, 0) != 0)
        return;
    pace = pace_for(cap, cap->drained_bytes, took);
    if (cap->drained_n < (uint64_t)PACE_LEAVE_PER_MS * (took ? took : 1) || pace < PACE_MIN_MS) {
        uv_poll_start(&cap->poll, UV_READABLE, on_readable);
        return;
    }
    pace_start(cap, pace);
}

/*
 * The user's FILTER is compiled alone first, so an error quotes what the user wrote; the filter
 * in force changes only once the combined one is set, so a failure leaves it as it was.
 */
int
pk_capture_set_filter(struct pk_capture *cap, const char *filter, const char *exclude,
                      char *errbuf)
{
    pcap_t *p = cap->pcap;
    struct bpf_program prog;
    char combined[sizeof(cap->filter)];
    int rc = 0, n;

    if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0)
        return pk_seterr(errbuf, -EINVAL, "FILTER=\"%s\" is invalid: %s", filter, pcap_geterr(p));
    pcap_freecode(&prog);
    if (filter[0] != '\0' && exclude[0] != '\0')
        n = snprintf(combined, sizeof(combined), "(%s) and %s", filter, exclude);
    else
        n = snprintf(combined, sizeof(combined), "%s", filter[0] ? filter : exclude);
    /* A cut filter may still compile, and capture more than meant: refuse it instead. */
    if (n < 0 || (size_t)n >= sizeof(combined))
        return pk_seterr(errbuf, -E2BIG, "the combined filter is longer than %zu bytes",
                         sizeof(combined) - 1);
    /* The optimiser refuses a filter that matches nothing ("expression rejects all packets"),
     * which a central filter narrowing an agent to nothing legitimately is: unoptimised, it is
     * a valid program that keeps nothing. */
    if (pcap_compile(p, &prog, combined, 1, PCAP_NETMASK_UNKNOWN) != 0 &&
        pcap_compile(p, &prog, combined, 0, PCAP_NETMASK_UNKNOWN) != 0)
        return pk_seterr(errbuf, -EINVAL, "filter \"%s\" is invalid: %s", combined,
                         pcap_geterr(p));
    if (pcap_setfilter(p, &prog) != 0)
        rc = pk_seterr(errbuf, -EIO, "cannot set filter: %s", pcap_geterr(p));
    else
        memcpy(cap->filter, combined, sizeof(combined));
    pcap_freecode(&prog);
    return rc;
}

struct pcap *
pk_capture_pcap(const struct pk_capture *cap)
{
    return cap->pcap;
}

static int
activate_error(pcap_t *p, int status, const char *device, char *errbuf)
{
    const char *detail = pcap_geterr(p);

    switch (status) {
    case PCAP_ERROR_NO_SUCH_DEVICE:
        return pk_seterr(errbuf, -ENODEV, "DEVICE=\"%s\": no such device (%s); see ip link",
                         device, detail);
    case PCAP_ERROR_PERM_DENIED:
        return pk_seterr(errbuf, -EPERM,
                         "DEVICE=\"%s\": permission denied (%s); run as root or grant CAP_NET_RAW "
                         "(setcap cap_net_raw,cap_net_admin+ep pcktr)",
                         device, detail);
    case PCAP_ERROR_IFACE_NOT_UP:
        return pk_seterr(errbuf, -ENETDOWN, "DEVICE=\"%s\" is down; bring it up first", device);
    default:
        return pk_seterr(errbuf, -EIO, "DEVICE=\"%s\": cannot capture: %s (%s)", device,
                         pcap_statustostr(status), detail);
    }
}

int
pk_capture_open(struct pk_capture **out, uv_loop_t *loop, const struct pk_capture_opts *opts,
                const struct pk_packet_sink *sink, char *errbuf)
{
    char pcap_err[PCAP_ERRBUF_SIZE] = "";
    struct pk_capture *cap = calloc(1, sizeof(*cap));
    int rc, status;

    if (cap == NULL)
        return pk_seterr(errbuf, -ENOMEM, "out of memory");
    cap->sink = *sink;
    snprintf(cap->device, sizeof(cap->device), "%s", opts->device);
    cap->ifindex = if_nametoindex(opts->device); /* 0 for "any" */
    cap->pcap = pcap_create(opts->device, pcap_err);
    if (cap->pcap == NULL) {
        rc = pk_seterr(errbuf, -EIO, "DEVICE=\"%s\": %s", opts->device, pcap_err);
        goto fail;
    }
    pcap_set_snaplen(cap->pcap, (int)opts->snaplen);
    pcap_set_promisc(cap->pcap, opts->promisc);
    pcap_set_buffer_size(cap->pcap, (int)opts->buffer_size);
    pcap_set_timeout(cap->pcap, BLOCK_TIMEOUT_MS);
    cap->tsresol = pcap_set_tstamp_precision(cap->pcap, PCAP_TSTAMP_PRECISION_NANO) == 0 ? 9 : 6;
    status = pcap_activate(cap->pcap);
    if (status < 0) {
        rc = activate_error(cap->pcap, status, opts->device, errbuf);
        goto fail;
    }
    if (pcap_get_tstamp_precision(cap->pcap) != PCAP_TSTAMP_PRECISION_NANO)
        cap->tsresol = 6;
    if ((rc = pk_capture_set_filter(cap, opts->filter, opts->exclude, errbuf)) != 0)
        goto fail;
    if (pcap_setnonblock(cap->pcap, 1, pcap_err) != 0) {
        rc = pk_seterr(errbuf, -EIO, "pcap_setnonblock: %s", pcap_err);
        goto fail;
    }
    if ((rc = uv_poll_init(loop, &cap->poll, pcap_get_selectable_fd(cap->pcap))) != 0 ||
        (rc = uv_poll_start(&cap->poll, UV_READABLE, on_readable)) != 0) {
        rc = pk_seterr(errbuf, -EIO, "cannot poll capture fd: %s", uv_strerror(rc));
        goto fail; /* uv_poll_init does not fail for a valid socket fd; nothing to close */
    }
    uv_timer_init(loop, &cap->rearm);
    uv_timer_init(loop, &cap->pace);
    cap->ring_blocks = opts->buffer_size / RING_BLOCK_BYTES;
    cap->handles_open = 3;
    *out = cap;
    return 0;

fail:
    if (cap->pcap)
        pcap_close(cap->pcap);
    free(cap);
    return rc;
}

int
pk_capture_dlt(const struct pk_capture *cap)
{
    return pcap_datalink(cap->pcap);
}

const char *
pk_capture_filter(const struct pk_capture *cap)
{
    return cap->filter;
}

int
pk_capture_tsresol(const struct pk_capture *cap)
{
    return cap->tsresol;
}

int
pk_capture_stats(struct pk_capture *cap, uint64_t *kernel_drops, uint64_t *if_drops)
{
    struct pcap_stat st;

    if (cap->failed || pcap_stats(cap->pcap, &st) != 0)
        return -EIO;
    *kernel_drops = st.ps_drop;
    *if_drops = st.ps_ifdrop;
    return 0;
}

static void
on_handle_closed(uv_handle_t *h)
{
    struct pk_capture *cap = h->data;

    if (--cap->handles_open > 0)
        return;
    pcap_close(cap->pcap); /* only now: libuv has stopped watching its fd */
    free(cap);
}

int
pk_capture_is_down(const struct pk_capture *cap)
{
    return cap->down;
}

void
pk_capture_close(struct pk_capture *cap)
{
    cap->poll.data = cap->rearm.data = cap->pace.data = cap;
    uv_close((uv_handle_t *)&cap->poll, on_handle_closed);
    uv_close((uv_handle_t *)&cap->rearm, on_handle_closed);
    uv_close((uv_handle_t *)&cap->pace, on_handle_closed);
}

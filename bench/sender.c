/*
 * The benchmark's traffic source for live capture: UDP datagrams of a fixed frame size at a
 * fixed offered rate (0: as fast as it can), sent with sendmmsg in batches paced every 1 ms.
 * Prints one JSON line: packets sent, seconds, send errors.
 *
 * Two ways to send. Through a UDP socket (DST_IP DST_PORT), which costs the whole UDP/IP stack
 * of both ends per datagram (on a veth the receiver's stack runs in the sender's context) and
 * reaches about 220 k/s here. Or, with --dev DEVICE, as ready-made Ethernet frames on a packet
 * socket that bypasses the qdisc (what trafgen does), addressed to a MAC no one has, so that the
 * receiving stack drops them at once, as a mirror port shows other hosts' traffic: about 500 k/s
 * here. The frames are the same UDP datagrams either way, so the same capture filter matches.
 *
 * usage: sender [--dev DEVICE] DST_IP DST_PORT FRAME_BYTES RATE_PPS SECONDS
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define HEADERS 42 /* Ethernet 14 + IPv4 20 + UDP 8 */

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint16_t
ip_checksum(const void *hdr, size_t len)
{
    const uint8_t *p = hdr;
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return htons((uint16_t)~sum);
}

/* A packet socket on dev that skips the qdisc, bound for sendmmsg; -1 on error. */
static int
open_packet_socket(const char *dev, struct sockaddr_ll *to)
{
    int fd = socket(AF_PACKET, SOCK_RAW, 0), one = 1;
    struct ifreq ifr = {0};

    if (fd < 0) {
        perror("sender: packet socket");
        return -1;
    }
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
    if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
        perror("sender: device");
        return -1;
    }
    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
    memset(to, 0, sizeof(*to));
    to->sll_family = AF_PACKET;
    to->sll_ifindex = ifr.ifr_ifindex;
    to->sll_halen = ETH_ALEN;
    return fd;
}

/* Fills frame with Ethernet + IPv4 + UDP headers for a datagram of payload_len bytes. */
static void
build_frame(uint8_t *frame, const uint8_t dst_mac[6], const struct sockaddr_in *dst,
            size_t payload_len)
{
    struct ether_header *eth = (struct ether_header *)frame;
    struct iphdr *ip = (struct iphdr *)(frame + 14);
    struct udphdr *udp = (struct udphdr *)(frame + 34);

    memcpy(eth->ether_dhost, dst_mac, 6);
    memcpy(eth->ether_shost, (uint8_t[6]){0x02, 0, 0, 0, 0, 0x02}, 6);
    eth->ether_type = htons(ETHERTYPE_IP);
    *ip = (struct iphdr){.version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_UDP,
                         .tot_len = htons((uint16_t)(20 + 8 + payload_len)),
                         .saddr = dst->sin_addr.s_addr ^ htonl(3), /* a neighbour */
                         .daddr = dst->sin_addr.s_addr};
    ip->check = ip_checksum(ip, 20);
    *udp = (struct udphdr){.source = htons(40000), .dest = dst->sin_port,
                           .len = htons((uint16_t)(8 + payload_len))}; /* checksum 0: none */
}

int
main(int argc, char **argv)
{
    struct sockaddr_in dst = {.sin_family = AF_INET};
    struct sockaddr_ll to;
    static uint8_t frames[BATCH][9000];
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    unsigned long long sent = 0, errors = 0;
    const char *dev = NULL;
    const uint8_t dst_mac[6] = {0x02, 0, 0, 0, 0, 0x01}; /* locally administered, unused */
    int fd;

    if (argc > 2 && strcmp(argv[1], "--dev") == 0) {
        dev = argv[2];
        argv += 2, argc -= 2;
    }
    if (argc != 6) {
        fprintf(stderr, "usage: sender [--dev DEVICE] DST_IP DST_PORT FRAME_BYTES RATE_PPS "
                        "SECONDS\n");
        return 2;
    }
    inet_pton(AF_INET, argv[1], &dst.sin_addr);
    dst.sin_port = htons((uint16_t)atoi(argv[2]));
    int frame = atoi(argv[3]);
    double rate = atof(argv[4]), seconds = atof(argv[5]);
    size_t len = frame > HEADERS ? (size_t)(frame - HEADERS) : 1;
    /* With a packet socket, each message is the whole frame and the payload starts after it. */
    size_t skip = dev != NULL ? HEADERS : 0;

    if (dev != NULL) {
        if ((fd = open_packet_socket(dev, &to)) < 0)
            return 1;
        memcpy(to.sll_addr, dst_mac, 6);
    } else {
        int sndbuf = 4 << 20;
        fd = socket(AF_INET, SOCK_DGRAM, 0);
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    }
    memset(msgs, 0, sizeof(msgs));
    for (int i = 0; i < BATCH; i++) {
        memset(frames[i], 'x', skip + len);
        if (dev != NULL)
            build_frame(frames[i], dst_mac, &dst, len);
        iov[i].iov_base = frames[i];
        iov[i].iov_len = skip + len;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = dev != NULL ? (void *)&to : (void *)&dst;
        msgs[i].msg_hdr.msg_namelen = dev != NULL ? sizeof(to) : sizeof(dst);
    }
    double start = now_s(), t;
    while ((t = now_s() - start) < seconds) {
        unsigned long long due = rate > 0 ? (unsigned long long)(t * rate) : sent + BATCH;
        /* Behind schedule (the sender is the limit): never run past SECONDS to catch up. */
        while (sent < due && now_s() - start < seconds) {
            unsigned n = due - sent < BATCH ? (unsigned)(due - sent) : BATCH;
            for (unsigned i = 0; i < n; i++) /* a sequence number */
                memcpy(frames[i] + skip, &(unsigned long long){sent + i}, 8);
            int r = sendmmsg(fd, msgs, n, 0);
            if (r <= 0) {
                errors++;
                break;
            }
            sent += (unsigned)r;
        }
        if (rate > 0) {
            struct timespec pause = {0, 1000000};
            nanosleep(&pause, NULL);
        }
    }
    printf("{\"sent\": %llu, \"seconds\": %.3f, \"errors\": %llu}\n", sent, now_s() - start, errors);
    return 0;
}

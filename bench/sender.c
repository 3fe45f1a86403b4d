/*
 * The benchmark's traffic source for live capture: UDP datagrams of a fixed frame size at a
 * fixed offered rate (0: as fast as it can), sent with sendmmsg in batches paced every 1 ms.
 * Prints one JSON line: packets sent, seconds, send errors.
 *
 * usage: sender DST_IP DST_PORT FRAME_BYTES RATE_PPS SECONDS
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int
main(int argc, char **argv)
{
    struct sockaddr_in dst = {.sin_family = AF_INET};
    static uint8_t payload[BATCH][9000];
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    unsigned long long sent = 0, errors = 0;

    if (argc != 6) {
        fprintf(stderr, "usage: sender DST_IP DST_PORT FRAME_BYTES RATE_PPS SECONDS\n");
        return 2;
    }
    inet_pton(AF_INET, argv[1], &dst.sin_addr);
    dst.sin_port = htons((uint16_t)atoi(argv[2]));
    int frame = atoi(argv[3]);
    double rate = atof(argv[4]), seconds = atof(argv[5]);
    size_t len = frame > HEADERS ? (size_t)(frame - HEADERS) : 1;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int sndbuf = 4 << 20;

    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    memset(msgs, 0, sizeof(msgs));
    for (int i = 0; i < BATCH; i++) {
        memset(payload[i], 'x', len);
        iov[i].iov_base = payload[i];
        iov[i].iov_len = len;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &dst;
        msgs[i].msg_hdr.msg_namelen = sizeof(dst);
    }
    double start = now_s(), t;
    while ((t = now_s() - start) < seconds) {
        unsigned long long due = rate > 0 ? (unsigned long long)(t * rate) : sent + BATCH;
        /* Behind schedule (the sender is the limit): never run past SECONDS to catch up. */
        while (sent < due && now_s() - start < seconds) {
            unsigned n = due - sent < BATCH ? (unsigned)(due - sent) : BATCH;
            for (unsigned i = 0; i < n; i++)
                memcpy(payload[i], &(unsigned long long){sent + i}, 8); /* a sequence number */
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

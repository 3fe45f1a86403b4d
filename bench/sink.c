/*
 * The benchmark's reader: the end of every pipe measured in bench/run, so that every candidate
 * pays the same output path. Reads stdin to the end in 1 MiB reads and prints one JSON line:
 * bytes, seconds from the first byte to the last, and, with --pcap, the packets of the classic
 * pcap stream and the latency of each (read time minus capture timestamp, CLOCK_REALTIME on
 * the same host) as p50/p99/max in microseconds.
 *
 * usage: sink [--pcap] [--expect-packets N]   (with N it stops after N packets, for live runs)
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1u << 20)
#define MAX_LATENCIES (1u << 22)

static double
now_s(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint32_t
u32(const uint8_t *p, int swap)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return swap ? __builtin_bswap32(v) : v;
}

int
main(int argc, char **argv)
{
    int pcap = 0, swap = 0, nano = 0, header_done = 0;
    unsigned long long expect = 0, bytes = 0, packets = 0;
    uint8_t *buf = malloc(2 * CHUNK), *p;
    double *lat = NULL, first = 0, last = 0;
    size_t have = 0, nlat = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--pcap") == 0)
            pcap = 1;
        else if (strcmp(argv[i], "--expect-packets") == 0 && i + 1 < argc)
            expect = strtoull(argv[++i], NULL, 10);
    }
    if (pcap && (lat = malloc(MAX_LATENCIES * sizeof(*lat))) == NULL)
        return 1;
    for (;;) {
        ssize_t n = read(0, buf + have, CHUNK);
        if (n <= 0)
            break;
        double t = now_s(CLOCK_MONOTONIC);
        if (bytes == 0)
            first = t;
        last = t;
        bytes += (unsigned long long)n;
        if (!pcap)
            continue;
        have += (size_t)n;
        p = buf;
        if (!header_done && have >= 24) {
            uint32_t magic;
            memcpy(&magic, p, 4);
            swap = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
            nano = magic == 0xa1b23c4d || magic == 0x4d3cb2a1;
            p += 24;
            header_done = 1;
        }
        double wall = now_s(CLOCK_REALTIME);
        while (header_done && (size_t)(buf + have - p) >= 16) {
            uint32_t caplen = u32(p + 8, swap);
            if ((size_t)(buf + have - p) < 16 + (size_t)caplen)
                break;
            double ts = u32(p, swap) + u32(p + 4, swap) / (nano ? 1e9 : 1e6);
            if (nlat < MAX_LATENCIES)
                lat[nlat++] = (wall - ts) * 1e6;
            packets++;
            p += 16 + caplen;
        }
        have = (size_t)(buf + have - p);
        memmove(buf, p, have);
        if (expect && packets >= expect)
            break;
    }
    printf("{\"bytes\": %llu, \"seconds\": %.6f", bytes, last - first);
    if (pcap) {
        printf(", \"packets\": %llu", packets);
        if (nlat > 0) {
            qsort(lat, nlat, sizeof(*lat), cmp_double);
            printf(", \"latency_us\": {\"p50\": %.0f, \"p99\": %.0f, \"max\": %.0f}",
                   lat[nlat / 2], lat[(size_t)((double)nlat * 0.99)], lat[nlat - 1]);
        }
    }
    printf("}\n");
    return 0;
}

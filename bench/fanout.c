/*
 * The readers' ceiling in bench/run: the same bytes fanned out by a large-block copy. Reads
 * FILE in 1 MiB blocks and writes every block whole to stdout and to each of N TCP readers
 * (blocking writes, in turn), so that no reader ever misses a byte and the copy costs only
 * what the kernel needs to move the bytes N + 1 times. What pcktr's primary keeps of its
 * 0-reader throughput with N readers is measured against what this keeps with the same readers
 * on the same machine.
 *
 * usage: fanout FILE PORT N   (listens on 127.0.0.1:PORT, prints "listening" on stderr, starts
 *                              copying once N readers are connected)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BLOCK (1u << 20)

static int
write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int
listen_on(int port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(fd, 64) != 0) {
        perror("fanout: listen");
        exit(2);
    }
    return fd;
}

int
main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: fanout FILE PORT N\n");
        return 2;
    }
    FILE *in = fopen(argv[1], "rb");
    int n = atoi(argv[3]), lfd = listen_on(atoi(argv[2]));
    int *readers = calloc((size_t)(n > 0 ? n : 1), sizeof(int));
    char *block = malloc(BLOCK);

    if (in == NULL || readers == NULL || block == NULL) {
        perror("fanout");
        return 2;
    }
    fprintf(stderr, "listening\n");
    for (int i = 0; i < n; i++)
        if ((readers[i] = accept(lfd, NULL, NULL)) < 0) {
            perror("fanout: accept");
            return 2;
        }
    size_t got;
    while ((got = fread(block, 1, BLOCK, in)) > 0) {
        if (write_all(STDOUT_FILENO, block, got) != 0) {
            perror("fanout: stdout");
            return 1;
        }
        for (int i = 0; i < n; i++)
            if (readers[i] >= 0 && write_all(readers[i], block, got) != 0) {
                perror("fanout: reader");
                close(readers[i]);
                readers[i] = -1;
            }
    }
    for (int i = 0; i < n; i++)
        if (readers[i] >= 0)
            close(readers[i]);
    return 0;
}

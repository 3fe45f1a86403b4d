/*
 * The zmq transport's own ceiling for bench/run: what libzmq alone costs to move a file from one
 * process to another, with nothing of pcktr in it. `send` reads FILE in BLOCK-byte pieces, each
 * read straight into a ZeroMQ message, and PUSHes them; `recv` PULLs and writes each message to
 * stdout, into the same reader as every other candidate. The sockets have pcktr's defaults (the
 * agent's ZMQ_SNDHWM is RELAY_QUEUE, 64; the collector's ZMQ_RCVHWM 5, from its per-peer memory
 * bound, transports/zmq/zmq_options.c), a block is the agent's default BATCH_BYTES, and the
 * receiver asks for a 1 MiB pipe on stdout as the collector's output stage does. So
 * pcktr's zmq relay can be compared with the same copy through the same library: the part of
 * the gap to socat that is the library's, and the part that is pcktr's. An empty message ends.
 *
 * usage: zmqcopy send FILE ENDPOINT [BLOCK]   (BLOCK: 196608 by default)
 *        zmqcopy recv ENDPOINT [RCVHWM] >OUT  (RCVHWM: 5; more shows what a larger per-peer
 *                                              bound would buy)
 */
#define _GNU_SOURCE /* F_SETPIPE_SZ */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define SNDHWM 64
#define RCVHWM 5

static int
write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int
do_send(void *ctx, const char *file, const char *ep, size_t block)
{
    void *s = zmq_socket(ctx, ZMQ_PUSH);
    int hwm = SNDHWM, linger = -1, fd = open(file, O_RDONLY);

    if (fd < 0 || s == NULL) {
        perror("zmqcopy: open");
        return 1;
    }
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    if (zmq_connect(s, ep) != 0) {
        fprintf(stderr, "zmqcopy: connect %s: %s\n", ep, zmq_strerror(zmq_errno()));
        return 1;
    }
    for (;;) {
        zmq_msg_t m;
        ssize_t n;

        zmq_msg_init_size(&m, block);
        n = read(fd, zmq_msg_data(&m), block);
        if (n < 0) {
            perror("zmqcopy: read");
            return 1;
        }
        if (n == 0) {
            zmq_msg_close(&m);
            break;
        }
        if ((size_t)n < block) { /* the last piece: a message of its own length */
            zmq_msg_t last;
            zmq_msg_init_size(&last, (size_t)n);
            memcpy(zmq_msg_data(&last), zmq_msg_data(&m), (size_t)n);
            zmq_msg_close(&m);
            m = last;
        }
        if (zmq_msg_send(&m, s, 0) < 0) {
            fprintf(stderr, "zmqcopy: send: %s\n", zmq_strerror(zmq_errno()));
            return 1;
        }
    }
    zmq_send(s, "", 0, 0);
    close(fd);
    zmq_close(s);
    return 0;
}

static int
do_recv(void *ctx, const char *ep, int hwm)
{
    void *s = zmq_socket(ctx, ZMQ_PULL);

    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    (void)fcntl(1, F_SETPIPE_SZ, 1 << 20); /* as src/sinks/output.c; not a pipe: no matter */
    if (zmq_bind(s, ep) != 0) {
        fprintf(stderr, "zmqcopy: bind %s: %s\n", ep, zmq_strerror(zmq_errno()));
        return 1;
    }
    fprintf(stderr, "zmqcopy: listening on %s\n", ep);
    for (;;) {
        zmq_msg_t m;

        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s, 0) < 0) {
            fprintf(stderr, "zmqcopy: recv: %s\n", zmq_strerror(zmq_errno()));
            return 1;
        }
        if (zmq_msg_size(&m) == 0)
            break;
        if (write_all(1, zmq_msg_data(&m), zmq_msg_size(&m)) != 0) {
            perror("zmqcopy: write");
            return 1;
        }
        zmq_msg_close(&m);
    }
    zmq_close(s);
    return 0;
}

int
main(int argc, char **argv)
{
    void *ctx = zmq_ctx_new();
    int rc;

    if (argc >= 4 && strcmp(argv[1], "send") == 0)
        rc = do_send(ctx, argv[2], argv[3], argc > 4 ? strtoul(argv[4], NULL, 0) : 196608);
    else if ((argc == 3 || argc == 4) && strcmp(argv[1], "recv") == 0)
        rc = do_recv(ctx, argv[2], argc > 3 ? atoi(argv[3]) : RCVHWM);
    else {
        fprintf(stderr,
                "usage: zmqcopy send FILE ENDPOINT [BLOCK] | zmqcopy recv ENDPOINT [RCVHWM]\n");
        return 2;
    }
    zmq_ctx_term(ctx);
    return rc;
}

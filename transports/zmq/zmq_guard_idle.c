/*
 * The guard's idle mode (zmq_guard.c). Checking every connection every GUARD_CHECK_MS woke an
 * idle collector 50 times a second. When a check finds every watched connection proven, none
 * closing, none that libzmq took a byte from since the previous check and none with bytes
 * waiting unread, nothing can grow until a peer sends again: the guard then polls each
 * connection for readability instead, and the first sign of a byte (or a new connection, or a
 * delivery) brings back the 20 ms checks before libzmq can have read more than one period's
 * worth. The bytes a connection may take stay counted from its last delivery (c->base), idle
 * or not, so its bound is the same.
 *
 * Each poll is our own uv_poll_t on a dup() of the connection's fd: an epoll registration of
 * our own, independent of libzmq's (which runs on its I/O thread), on an fd number that is
 * ours, so that libzmq closing its fd (and the number being reused by a new accept) cannot
 * touch what libuv watches. A dup also keeps the socket open: libzmq's close would no longer
 * end the TCP connection, so the dup is closed as soon as the guard forgets the connection
 * (its DISCONNECTED) or leaves idle mode. Runs on the loop thread.
 */
#define PK_LOG_MODULE "zmq"
#include "log.h"
#include "pcktr.h"
#include "zmq_transport.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

/* Descriptors left free for libzmq's accepts, the HTTP server and the output when the guard
 * takes one more per connection; past that, the 20 ms checks go on instead. */
#define GUARD_FD_RESERVE 64

struct zmq_watch {
    uv_poll_t poll; /* first: the handle's address is the watch's */
    int fd;         /* our dup of the connection's fd */
    struct zmq_transport *zt;
};

static void
on_watch_closed(uv_handle_t *h)
{
    struct zmq_watch *w = (struct zmq_watch *)h;
    struct zmq_transport *zt = w->zt;

    /* Only now: libuv frees nothing of a handle before this callback, and holds the fd till it. */
    close(w->fd);
    free(w);
    if (--zt->nwatches == 0 && zt->watches_closed != NULL)
        zt->watches_closed(zt);
}

static void
on_watch(uv_poll_t *h, int status, int events)
{
    struct zmq_watch *w = (struct zmq_watch *)h;

    /* Bytes arrived, or the connection ended or was reset (status < 0: EPOLLERR/HUP): libzmq
     * may be reading, so look again every GUARD_CHECK_MS. */
    (void)status;
    (void)events;
    pk_zmq_guard_wake(w->zt);
}

void
pk_zmq_guard_unwatch(struct zmq_transport *zt, struct zmq_conn *c)
{
    (void)zt;
    if (c->watch == NULL)
        return;
    uv_close((uv_handle_t *)&c->watch->poll, on_watch_closed);
    c->watch = NULL;
}

void
pk_zmq_guard_stop_polls(struct zmq_transport *zt)
{
    for (size_t i = 0; i < zt->nconns; i++)
        pk_zmq_guard_unwatch(zt, &zt->conns[i]);
}

/* The highest descriptor the guard may hold: below the soft open-file limit, with a reserve. */
static long
fd_ceiling(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return -1; /* no limit known: dup itself says EMFILE */
    return rl.rlim_cur > GUARD_FD_RESERVE ? (long)(rl.rlim_cur - GUARD_FD_RESERVE) : 0;
}

/* Polls a dup of c's fd for readability. 0 or -errno (then c is not polled). */
static int
watch_conn(struct zmq_transport *zt, struct zmq_conn *c, long ceiling)
{
    struct zmq_watch *w;
    int fd = fcntl(c->fd, F_DUPFD_CLOEXEC, 0), rc;

    if (fd < 0)
        return -errno; /* EMFILE: the caller keeps the 20 ms checks */
    if (ceiling >= 0 && fd >= ceiling) {
        close(fd); /* descriptors are taken lowest first: the table is nearly full */
        return -EMFILE;
    }
    if ((w = malloc(sizeof(*w))) == NULL) {
        close(fd);
        return -ENOMEM;
    }
    /* uv_poll_init sets O_NONBLOCK, shared with libzmq's fd: libzmq has it set already. */
    if ((rc = uv_poll_init_socket(zt->loop, &w->poll, fd)) != 0) {
        close(fd);
        free(w);
        return rc;
    }
    w->fd = fd;
    w->zt = zt;
    c->watch = w;
    zt->nwatches++;
    uv_unref((uv_handle_t *)&w->poll); /* like guard_timer: it keeps no loop alive */
    if ((rc = uv_poll_start(&w->poll, UV_READABLE, on_watch)) != 0)
        pk_zmq_guard_unwatch(zt, c);
    return rc;
}

int
pk_zmq_guard_sleep(struct zmq_transport *zt)
{
    long ceiling = fd_ceiling();
    int rc = 0;

    for (size_t i = 0; i < zt->nconns && rc == 0; i++)
        rc = watch_conn(zt, &zt->conns[i], ceiling);
    if (rc == 0)
        return 0;
    pk_zmq_guard_stop_polls(zt); /* all or none: a connection not polled must stay checked */
    if (!zt->guard_idle_warned) {
        zt->guard_idle_warned = 1;
        pk_warn("guard: cannot poll the fds of the %zu idle connections (%s): checking them "
                "every %d ms instead", zt->nconns, uv_strerror(rc), GUARD_CHECK_MS);
    }
    return rc;
}

int
pk_zmq_guard_close(struct zmq_transport *zt, void (*closed)(struct zmq_transport *zt))
{
    zt->guard_idle = 0;
    pk_zmq_guard_stop_polls(zt);
    if (zt->nwatches == 0) /* also counts those closed earlier whose callback is pending */
        return 0;
    zt->watches_closed = closed;
    return 1;
}

/*
 * Bytes a process has read from a TCP socket, for the zmq guard (zmq_guard.c). Its own file:
 * tcpi_bytes_received is in <linux/tcp.h> only, which clashes with glibc's <netinet/tcp.h>
 * that uv.h includes.
 */
#include "zmq_tcpinfo.h"

#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

int64_t
pk_zmq_bytes_taken(int fd, int *waiting)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    int inq = 0;

    memset(&ti, 0, sizeof(ti));
    /* The kernel's count of bytes received in order, less those still waiting in the socket. */
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 || ioctl(fd, FIONREAD, &inq) != 0)
        return -errno;
    if (len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(ti.tcpi_bytes_received))
        return -ENOTSUP; /* a kernel before 4.1 */
    if (waiting != NULL)
        *waiting = inq;
    return (int64_t)ti.tcpi_bytes_received - inq;
}

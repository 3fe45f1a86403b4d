/*
 * LD_PRELOAD shim for tests: a host without IPv6. socket(AF_INET6, ...) fails with
 * EAFNOSUPPORT, as on a kernel built without it (or booted with ipv6.disable=1); every other
 * socket is the real one.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>

int
socket(int domain, int type, int protocol)
{
    static int (*real_socket)(int, int, int);

    if (domain == AF_INET6) {
        errno = EAFNOSUPPORT;
        return -1;
    }
    if (real_socket == NULL)
        *(void **)&real_socket = dlsym(RTLD_NEXT, "socket");
    return real_socket(domain, type, protocol);
}

/* Private to the zmq transport: what libzmq has read from one of its TCP connections. */
#ifndef PK_ZMQ_TCPINFO_H
#define PK_ZMQ_TCPINFO_H

#include <stdint.h>

/** Bytes taken from the socket fd by its reader so far; a negative errno when the fd does not
 *  say (before Linux 4.1, not TCP, closed). waiting (may be NULL): the bytes still unread. */
int64_t pk_zmq_bytes_taken(int fd, int *waiting);

#endif

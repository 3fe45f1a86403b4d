/*
 * Endpoint syntax shared by every transport: "tcp://HOST:PORT", HOST being a name, an IPv4
 * address, a bracketed IPv6 address, or "*" (every address; receivers only). Also the
 * METRICS_ADDRPORT form "[HOST]:PORT". Parsing is pure; resolution uses getaddrinfo and so
 * blocks: call it at start-up, before the loop runs.
 */
#ifndef PK_ENDPOINT_H
#define PK_ENDPOINT_H

#include <stdint.h>
#include <sys/socket.h>

#define PK_ENDPOINT_MAX_ADDRS 8

struct pk_endpoint {
    char host[256];    /* without brackets; "*" or "" means every address */
    uint16_t port;
    int naddrs;        /* filled by pk_endpoint_resolve */
    struct sockaddr_storage addrs[PK_ENDPOINT_MAX_ADDRS];
};

/** Parses "tcp://HOST:PORT". 0, or -EINVAL with a sentence in errbuf (without the variable). */
int pk_endpoint_parse(const char *s, struct pk_endpoint *ep, char *errbuf);

/** Parses "[HOST]:PORT" or ":PORT" (METRICS_ADDRPORT). Same contract as pk_endpoint_parse. */
int pk_addrport_parse(const char *s, struct pk_endpoint *ep, char *errbuf);

/** Resolves ep->host into ep->addrs (numeric, de-duplicated). 0, or -EHOSTUNREACH + errbuf. */
int pk_endpoint_resolve(struct pk_endpoint *ep, char *errbuf);

/** Formats addrs[i] as "1.2.3.4" or "::1" (no brackets). Returns buf. */
const char *pk_endpoint_addr_str(const struct pk_endpoint *ep, int i, char *buf, size_t len);

/** 1 when addrs[i] is a loopback address (127.0.0.0/8, ::1). */
int pk_endpoint_is_loopback(const struct pk_endpoint *ep, int i);

/** Formats an IPv4 or IPv6 socket address as "1.2.3.4:P" or "[::1]:P". Returns buf. */
const char *pk_sockaddr_str(const struct sockaddr *sa, char *buf, size_t len);

/** 1 when a and b hold the same IPv4 or IPv6 host (ports aside); 0 otherwise or when a is empty. */
int pk_sockaddr_same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

/** Formats "tcp://1.2.3.4:P" or "tcp://[::1]:P" for addrs[i]. Returns buf. */
const char *pk_endpoint_uri(const struct pk_endpoint *ep, int i, char *buf, size_t len);

#endif

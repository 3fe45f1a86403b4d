/* Endpoint parsing and start-up resolution; see endpoint.h. */
#include "endpoint.h"
#include "pcktr.h"
#include "units.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static int
parse_hostport(const char *s, struct pk_endpoint *ep, int allow_empty_host, char *errbuf)
{
    const char *colon, *host = s;
    size_t hostlen;
    uint64_t port;

    memset(ep, 0, sizeof(*ep));
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':')
            return pk_seterr(errbuf, -EINVAL, "unterminated IPv6 literal, expected [ADDR]:PORT");
        host = s + 1;
        hostlen = (size_t)(close - host);
        colon = close + 1;
        struct in6_addr a6;
        char tmp[INET6_ADDRSTRLEN];
        if (hostlen == 0 || hostlen >= sizeof(tmp))
            return pk_seterr(errbuf, -EINVAL, "bad IPv6 address");
        memcpy(tmp, host, hostlen);
        tmp[hostlen] = '\0';
        if (inet_pton(AF_INET6, tmp, &a6) != 1)
            return pk_seterr(errbuf, -EINVAL, "bad IPv6 address \"%s\"", tmp);
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return pk_seterr(errbuf, -EINVAL, "missing :PORT");
        hostlen = (size_t)(colon - s);
        if (memchr(s, ':', hostlen) != NULL)
            return pk_seterr(errbuf, -EINVAL, "IPv6 addresses must be bracketed, as [::1]:PORT");
        for (size_t i = 0; i < hostlen; i++) {
            char c = s[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_' || c == '*'))
                return pk_seterr(errbuf, -EINVAL, "bad character '%c' in host", c);
        }
    }
    if (hostlen == 0 && !allow_empty_host)
        return pk_seterr(errbuf, -EINVAL, "missing host");
    if (hostlen >= sizeof(ep->host))
        return pk_seterr(errbuf, -EINVAL, "host name too long");
    if (pk_parse_uint(colon + 1, &port) != 0 || port == 0 || port > 65535)
        return pk_seterr(errbuf, -EINVAL, "port \"%s\" is not a number from 1 to 65535", colon + 1);
    memcpy(ep->host, host, hostlen);
    ep->host[hostlen] = '\0';
    if (strcmp(ep->host, "*") == 0)
        ep->host[0] = '\0';
    else if (strchr(ep->host, '*') != NULL)
        return pk_seterr(errbuf, -EINVAL, "'*' must be the whole host");
    ep->port = (uint16_t)port;
    return 0;
}

int
pk_endpoint_parse(const char *s, struct pk_endpoint *ep, char *errbuf)
{
    static const char scheme[] = "tcp://";

    if (strncmp(s, scheme, sizeof(scheme) - 1) != 0)
        return pk_seterr(errbuf, -EINVAL, "must start with tcp://");
    return parse_hostport(s + sizeof(scheme) - 1, ep, 0, errbuf);
}

int
pk_addrport_parse(const char *s, struct pk_endpoint *ep, char *errbuf)
{
    return parse_hostport(s, ep, 1, errbuf);
}

int
pk_endpoint_resolve(struct pk_endpoint *ep, char *errbuf)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res, *ai;
    char port[8];
    int rc;

    snprintf(port, sizeof(port), "%u", ep->port);
    rc = getaddrinfo(ep->host[0] ? ep->host : NULL, port, &hints, &res);
    if (rc != 0)
        return pk_seterr(errbuf, -EHOSTUNREACH, "cannot resolve \"%s\": %s", ep->host,
                         gai_strerror(rc));
    ep->naddrs = 0;
    for (ai = res; ai != NULL && ep->naddrs < PK_ENDPOINT_MAX_ADDRS; ai = ai->ai_next) {
        int dup = 0;
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        for (int i = 0; i < ep->naddrs; i++)
            dup |= memcmp(&ep->addrs[i], ai->ai_addr, ai->ai_addrlen) == 0;
        if (!dup)
            memcpy(&ep->addrs[ep->naddrs++], ai->ai_addr, ai->ai_addrlen);
    }
    freeaddrinfo(res);
    if (ep->naddrs == 0)
        return pk_seterr(errbuf, -EHOSTUNREACH, "\"%s\" has no IPv4 or IPv6 address", ep->host);
    return 0;
}

const char *
pk_endpoint_addr_str(const struct pk_endpoint *ep, int i, char *buf, size_t len)
{
    const struct sockaddr_storage *ss = &ep->addrs[i];

    if (ss->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, buf, (socklen_t)len);
    else
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf, (socklen_t)len);
    return buf;
}

int
pk_endpoint_is_loopback(const struct pk_endpoint *ep, int i)
{
    const struct sockaddr_storage *ss = &ep->addrs[i];

    if (ss->ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
    return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
}

const char *
pk_sockaddr_str(const struct sockaddr *sa, char *buf, size_t len)
{
    char addr[INET6_ADDRSTRLEN] = "";

    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &a6->sin6_addr, addr, sizeof(addr));
        snprintf(buf, len, "[%s]:%u", addr, ntohs(a6->sin6_port));
    } else {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &a4->sin_addr, addr, sizeof(addr));
        snprintf(buf, len, "%s:%u", addr, ntohs(a4->sin_port));
    }
    return buf;
}

const char *
pk_endpoint_uri(const struct pk_endpoint *ep, int i, char *buf, size_t len)
{
    char addr[INET6_ADDRSTRLEN + 8];

    /* addrs[i] carries ep->port: pk_endpoint_resolve asked getaddrinfo for it */
    snprintf(buf, len, "tcp://%s", pk_sockaddr_str((const struct sockaddr *)&ep->addrs[i], addr,
                                                   sizeof(addr)));
    return buf;
}

int
pk_sockaddr_same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family == 0 || a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                  &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
}

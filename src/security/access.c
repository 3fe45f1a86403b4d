#define PK_LOG_MODULE "access"
#include "access.h"
#include "log.h"
#include "pcktr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const pk_refusal_names[PK_REFUSALS] = {"address", "key", "handshake", "peer_limit"};

static void
clear_host_bits(uint8_t *addr, unsigned len, unsigned prefix)
{
    for (unsigned i = 0; i < len; i++) {
        unsigned keep = prefix >= (i + 1) * 8 ? 8 : prefix > i * 8 ? prefix - i * 8 : 0;
        addr[i] &= (uint8_t)(0xff00u >> keep);
    }
}

static int
parse_one(const char *text, struct pk_cidr *c)
{
    char buf[64];
    const char *slash = strchr(text, '/');
    size_t alen = slash ? (size_t)(slash - text) : strlen(text);
    unsigned max;

    if (alen == 0 || alen >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, text, alen);
    buf[alen] = '\0';
    memset(c, 0, sizeof(*c));
    if (inet_pton(AF_INET, buf, c->addr) == 1) {
        c->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
        c->family = AF_INET6;
        max = 128;
    } else {
        return -EINVAL;
    }
    c->prefix = max;
    if (slash != NULL) {
        char *end;
        unsigned long p;
        if (!isdigit((unsigned char)slash[1]))
            return -EINVAL;
        p = strtoul(slash + 1, &end, 10);
        if (*end != '\0' || p > max)
            return -EINVAL;
        c->prefix = (unsigned)p;
    }
    clear_host_bits(c->addr, max / 8, c->prefix);
    return 0;
}

int
pk_cidr_parse_list(const char *list, struct pk_cidr *out, int max, int *n, char *errbuf)
{
    const char *p = list;

    *n = 0;
    while (*p != '\0') {
        char item[80];
        size_t len = strcspn(p, ",");
        const char *start = p, *end = p + len;

        while (start < end && isspace((unsigned char)*start))
            start++;
        while (end > start && isspace((unsigned char)end[-1]))
            end--;
        if ((size_t)(end - start) >= sizeof(item))
            return pk_seterr(errbuf, -EINVAL, "\"%.*s...\" is too long for an address", 40, start);
        memcpy(item, start, (size_t)(end - start));
        item[end - start] = '\0';
        if (item[0] != '\0') {
            if (*n == max)
                return pk_seterr(errbuf, -EINVAL, "more than %d entries", max);
            if (parse_one(item, &out[*n]) != 0)
                return pk_seterr(errbuf, -EINVAL, "\"%s\" is not an address or CIDR", item);
            (*n)++;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

static int
in_range(const struct pk_cidr *c, int family, const uint8_t *addr)
{
    uint8_t masked[16];
    unsigned len = family == AF_INET ? 4 : 16;

    if (c->family != family)
        return 0;
    memcpy(masked, addr, len);
    clear_host_bits(masked, len, c->prefix);
    return memcmp(masked, c->addr, len) == 0;
}

static int
match_bytes(const struct pk_cidr *ranges, int n, int family, const uint8_t *addr)
{
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    if (n == 0)
        return 1;
    /* A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d; IPv4 ranges must still match. */
    if (family == AF_INET6 && memcmp(addr, v4mapped, sizeof(v4mapped)) == 0) {
        family = AF_INET;
        addr += 12;
    }
    for (int i = 0; i < n; i++)
        if (in_range(&ranges[i], family, addr))
            return 1;
    return 0;
}

int
pk_cidr_match(const struct pk_cidr *ranges, int n, const struct sockaddr *addr)
{
    if (addr->sa_family == AF_INET)
        return match_bytes(ranges, n, AF_INET,
                           (const uint8_t *)&((const struct sockaddr_in *)addr)->sin_addr);
    if (addr->sa_family == AF_INET6)
        return match_bytes(ranges, n, AF_INET6,
                           (const uint8_t *)&((const struct sockaddr_in6 *)addr)->sin6_addr);
    return n == 0;
}

int
pk_cidr_match_str(const struct pk_cidr *ranges, int n, const char *addr)
{
    uint8_t bytes[16];

    if (inet_pton(AF_INET, addr, bytes) == 1)
        return match_bytes(ranges, n, AF_INET, bytes);
    if (inet_pton(AF_INET6, addr, bytes) == 1)
        return match_bytes(ranges, n, AF_INET6, bytes);
    return n == 0;
}

void
pk_access_set_keys(struct pk_access *a, const char (*keys)[PK_KEY_Z85_LEN + 1], size_t n)
{
    a->keys = keys;
    a->nkeys = n;
    a->nlogged = 0; /* a new policy: its refusals are news again */
    a->logged_full = 0;
}

int
pk_access_key_allowed(const struct pk_access *a, const char *key_z85)
{
    if (a->keys == NULL)
        return 1;
    for (size_t i = 0; i < a->nkeys; i++)
        if (strcmp(a->keys[i], key_z85) == 0)
            return 1;
    return 0;
}

static uint64_t
fnv1a(uint64_t h, const char *s)
{
    for (; *s != '\0'; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

void
pk_access_refuse(struct pk_access *a, enum pk_refusal why, const char *peer, const char *detail)
{
    uint64_t h = fnv1a(fnv1a(14695981039346656037ull ^ (uint64_t)why, peer), detail);
    static const char *const what[PK_REFUSALS] = {
        "its address is not in COLLECT_ALLOW",
        "its CURVE key is not in COLLECT_CURVE_ALLOWED",
        "its handshake failed (wrong key, wrong mechanism or not this protocol)",
        "COLLECT_MAX_PEERS connections are open; it was closed at accept",
    };

    a->refused[why]++;
    for (size_t i = 0; i < a->nlogged; i++)
        if (a->logged[i] == h)
            return;
    if (a->nlogged == PK_REFUSAL_MEMORY) {
        /* A scan from many addresses must not flood the log: the counters keep the rest. */
        if (!a->logged_full)
            pk_warn("refused more than %d distinct peers; further refusals are only counted "
                    "(packeteur_collector_refused_total)", PK_REFUSAL_MEMORY);
        a->logged_full = 1;
        return;
    }
    a->logged[a->nlogged++] = h;
    pk_warn_with(&(struct pk_log_fields){.event = "peer_refused", .peer = peer},
                 "refused %s%s%s%s: %s", peer[0] ? peer : "a peer", detail[0] ? " (" : "", detail,
                 detail[0] ? ")" : "", what[why]);
}

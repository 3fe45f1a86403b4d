/* Readers' admission; see gate.h. */
#define PK_LOG_MODULE "sinks"
#include "gate.h"
#include "log.h"
#include "loop.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

const char *const pk_gate_refusal_names[PK_GATE_REFUSALS] = {"address", "limit"};

void
pk_gate_init(struct pk_gate *g, const struct pk_cidr *allow, int nallow, unsigned max_readers)
{
    memset(g, 0, sizeof(*g));
    g->allow = allow;
    g->nallow = nallow;
    g->max_readers = max_readers;
}

static int
is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) ||
               (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return 0;
}

static int
refuse(struct pk_gate *g, enum pk_gate_refusal why, const char *peer, const char *via)
{
    uint64_t now = pk_now_ns();

    g->refused[why]++;
    if (g->logged_ns != 0 && now - g->logged_ns < PK_GATE_LOG_INTERVAL_MS * 1000000ull) {
        g->unlogged++;
        return why == PK_GATE_REFUSED_ADDRESS ? -EACCES : -EMFILE;
    }
    pk_warn_with(&(struct pk_log_fields){.event = "reader_refused", .peer = peer},
                 "refused reader %s on %s: %s (%llu other refusals since the last line; "
                 "counted in packeteur_readers_refused_total)", peer, via,
                 why == PK_GATE_REFUSED_ADDRESS ? "its address is not in SERVE_ALLOW"
                                                : "SERVE_MAX_READERS readers are connected",
                 (unsigned long long)g->unlogged);
    g->logged_ns = now;
    g->unlogged = 0;
    return why == PK_GATE_REFUSED_ADDRESS ? -EACCES : -EMFILE;
}

int
pk_gate_admit(struct pk_gate *g, const struct sockaddr *addr, const char *peer, const char *via)
{
    int allowed = g->nallow > 0 ? pk_cidr_match(g->allow, g->nallow, addr) : is_loopback(addr);

    if (!allowed)
        return refuse(g, PK_GATE_REFUSED_ADDRESS, peer, via);
    if (g->readers >= g->max_readers)
        return refuse(g, PK_GATE_REFUSED_LIMIT, peer, via);
    g->readers++;
    g->admitted++;
    return 0;
}

void
pk_gate_leave(struct pk_gate *g)
{
    if (g->readers > 0)
        g->readers--;
}

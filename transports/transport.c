/* The transport registry: a static table, as libpcap's check_headers[]. */
#include "transport.h"
#include "pcktr.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

extern const struct pk_transport_ops pk_transport_zmq;
extern const struct pk_transport_ops pk_transport_tcp_raw;
extern const struct pk_transport_ops pk_transport_kafka;

static const struct pk_transport_ops *const transports[] = {
    &pk_transport_zmq,
    &pk_transport_tcp_raw,
    &pk_transport_kafka,
};

const struct pk_transport_ops *
pk_transport_find(const char *name)
{
    for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++)
        if (name != NULL && strcmp(transports[i]->name, name) == 0)
            return transports[i];
    return NULL;
}

void
pk_transport_names(char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]) && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "|" : "", transports[i]->name);
}

const struct pk_transport_ops *
pk_transport_at(size_t i)
{
    return i < sizeof(transports) / sizeof(transports[0]) ? transports[i] : NULL;
}

int
pk_transport_keygen(FILE *out, char *errbuf)
{
    for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++)
        if (transports[i]->keygen != NULL)
            return transports[i]->keygen(out, errbuf);
    return pk_seterr(errbuf, -ENOTSUP, "no transport makes keys");
}

void
pk_transport_stat_add(struct pk_transport_report *r, const struct pk_transport_stat *s,
                      uint64_t value)
{
    if (r->n >= PK_TRANSPORT_STATS_MAX)
        return;
    r->stat[r->n] = *s;
    r->stat[r->n++].value = value;
}

void
pk_transport_get_report(struct pk_transport *t, struct pk_transport_report *r)
{
    r->n = 0;
    if (t->ops->report != NULL)
        t->ops->report(t, r);
}

/* The pure part of the agent's control plane; see control_policy.h. */
#include "control_policy.h"
#include "pcktr.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

int
pk_control_prefix(const struct pk_frame_source *self, uint8_t *prefix)
{
    uint8_t buf[PK_FRAME_HEADER_LEN + PK_FRAME_NAME_MAX + 64];
    struct pk_control none = {0};

    /* The encoder is the one definition of the header: take its first bytes. */
    if (pk_frame_encode_control(buf, sizeof(buf), self, &none) < PK_CONTROL_PREFIX_LEN)
        return -EINVAL;
    memcpy(prefix, buf, PK_CONTROL_PREFIX_LEN);
    return 0;
}

int
pk_control_check(const uint8_t *buf, size_t len, const struct pk_frame_source *self,
                 struct pk_control *c)
{
    struct pk_frame f;
    size_t namelen = strlen(self->name);

    if (pk_frame_decode(buf, len, &f) != 0)
        return -EBADMSG;
    if (f.kind != PK_KIND_CONTROL)
        return -ENOMSG;
    if (f.source_id != self->source_id || f.name.len != namelen ||
        memcmp(f.name.ptr, self->name, namelen) != 0)
        return -ESRCH;
    *c = f.u.control;
    return 0;
}

const char *
pk_control_reject_reason(int rc)
{
    switch (rc) {
    case -ENOMSG:
        return "not a control message";
    case -ESRCH:
        return "meant for another source";
    default:
        return "malformed";
    }
}

int
pk_control_filter_check(struct pcap *p, struct pk_str filter, char *out, size_t out_cap,
                        char *errbuf)
{
    struct bpf_program prog;

    if (filter.len >= out_cap)
        return pk_seterr(errbuf, -EINVAL, "the filter is longer than %zu bytes", out_cap - 1);
    /* A NUL would cut the expression short of what the collector shows as sent. */
    if (filter.len > 0 && memchr(filter.ptr, '\0', filter.len) != NULL)
        return pk_seterr(errbuf, -EINVAL, "the filter holds a NUL byte");
    if (filter.len > 0)
        memcpy(out, filter.ptr, filter.len);
    out[filter.len] = '\0';
    /* Unoptimised: only its syntax counts here (one that keeps nothing is a valid narrowing). */
    if (pcap_compile(p, &prog, out, 0, PCAP_NETMASK_UNKNOWN) != 0) {
        pk_seterr(errbuf, -EINVAL, "%s", pcap_geterr(p));
        out[0] = '\0';
        return -EINVAL;
    }
    pcap_freecode(&prog);
    return 0;
}

int
pk_control_exclude(char *out, size_t out_cap, const char *central, const char *exclude)
{
    int n;

    if (central[0] != '\0' && exclude[0] != '\0')
        n = snprintf(out, out_cap, "(%s) and %s", central, exclude);
    else if (central[0] != '\0')
        n = snprintf(out, out_cap, "(%s)", central);
    else
        n = snprintf(out, out_cap, "%s", exclude);
    return n < 0 || (size_t)n >= out_cap ? -E2BIG : 0;
}

uint32_t
pk_control_sample_n(uint32_t own, uint32_t central)
{
    if (own < 1)
        own = 1;
    return central > own ? central : own;
}

uint64_t
pk_control_rate_limit(uint64_t own, uint64_t central)
{
    if (own == 0)
        return central;
    if (central == 0)
        return own;
    return central < own ? central : own;
}

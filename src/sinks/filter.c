/* Filters per link type; see filter.h. */
#include "filter.h"
#include "pcktr.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#define LINKTYPE_RAW 101   /* the registry's raw IP; libpcap compiles for its DLT_RAW */
#define LINKTYPE_ETHERNET 1

struct program {
    uint32_t linktype;
    int ok; /* compiled: else this link type matches nothing */
    struct bpf_program prog;
};

struct pk_filter {
    char *expr;
    struct program v[PK_FILTER_LINKTYPES];
    int n;
};

/* Compiles expr for a stream of linktype (LINKTYPE_ value). 0, or -EINVAL with errbuf. */
static int
compile(const char *expr, uint32_t linktype, struct bpf_program *prog, char *errbuf)
{
    pcap_t *p = pcap_open_dead(linktype == LINKTYPE_RAW ? DLT_RAW : (int)linktype, 262144);
    int rc = 0;

    if (p == NULL)
        return pk_seterr(errbuf, -ENOMEM, "out of memory");
    if (pcap_compile(p, prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0)
        rc = pk_seterr(errbuf, -EINVAL, "%s", pcap_geterr(p));
    pcap_close(p);
    return rc;
}

int
pk_filter_check(const char *expr, char *errbuf)
{
    struct bpf_program prog;
    int rc = compile(expr, LINKTYPE_ETHERNET, &prog, errbuf);

    if (rc == 0)
        pcap_freecode(&prog);
    return rc;
}

int
pk_filter_new(struct pk_filter **out, const char *expr, char *errbuf)
{
    struct pk_filter *f;
    int rc;

    *out = NULL;
    if (expr == NULL || expr[0] == '\0')
        return 0;
    if ((rc = pk_filter_check(expr, errbuf)) != 0)
        return rc;
    if ((f = calloc(1, sizeof(*f))) == NULL || (f->expr = strdup(expr)) == NULL) {
        free(f);
        return pk_seterr(errbuf, -ENOMEM, "out of memory");
    }
    *out = f;
    return 0;
}

static struct program *
program_for(struct pk_filter *f, uint32_t linktype)
{
    char errbuf[PK_ERRBUF_SIZE];

    for (int i = 0; i < f->n; i++)
        if (f->v[i].linktype == linktype)
            return &f->v[i];
    if (f->n == PK_FILTER_LINKTYPES)
        return NULL;
    f->v[f->n].linktype = linktype;
    f->v[f->n].ok = compile(f->expr, linktype, &f->v[f->n].prog, errbuf) == 0;
    return &f->v[f->n++];
}

int
pk_filter_match(struct pk_filter *f, uint32_t linktype, const struct pk_record *rec)
{
    struct pcap_pkthdr h;
    struct program *p;

    if (f == NULL)
        return 1;
    if ((p = program_for(f, linktype)) == NULL || !p->ok)
        return 0;
    memset(&h, 0, sizeof(h));
    h.caplen = rec->caplen;
    h.len = rec->origlen;
    return pcap_offline_filter(&p->prog, &h, rec->data) != 0;
}

const char *
pk_filter_expr(const struct pk_filter *f)
{
    return f != NULL ? f->expr : "";
}

void
pk_filter_free(struct pk_filter *f)
{
    if (f == NULL)
        return;
    for (int i = 0; i < f->n; i++)
        if (f->v[i].ok)
            pcap_freecode(&f->v[i].prog);
    free(f->expr);
    free(f);
}

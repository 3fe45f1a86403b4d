/* pcapng blocks (draft-ietf-opsawg-pcapng); see pcapng.h. */
#include "pcapng.h"

#include <string.h>

static size_t
pad4(size_t n)
{
    return (n + 3) & ~(size_t)3;
}

struct blockw {
    uint8_t *buf;
    size_t cap, len;
    int overflow;
};

static void
put(struct blockw *w, const void *p, size_t n)
{
    if (w->overflow || w->cap - w->len < n) {
        w->overflow = 1;
        return;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static void
put32(struct blockw *w, uint32_t v)
{
    put(w, &v, 4);
}

static void
put16(struct blockw *w, uint16_t v)
{
    put(w, &v, 2);
}

static void
put_opt(struct blockw *w, uint16_t code, const void *v, size_t n)
{
    static const uint8_t zeros[4];

    if (n > 65535)
        n = 65535;
    put16(w, code);
    put16(w, (uint16_t)n);
    put(w, v, n);
    put(w, zeros, pad4(n) - n);
}

static void
put_str_opt(struct blockw *w, uint16_t code, const char *s)
{
    if (s != NULL && s[0] != '\0')
        put_opt(w, code, s, strlen(s));
}

static void
put_u64_opt(struct blockw *w, uint16_t code, uint64_t v)
{
    put_opt(w, code, &v, 8);
}

/* Starts a block: type and a length patched by finish(). */
static void
begin(struct blockw *w, uint32_t type)
{
    put32(w, type);
    put32(w, 0);
}

static size_t
finish(struct blockw *w)
{
    uint32_t total;

    put32(w, 0); /* opt_endofopt */
    total = (uint32_t)w->len + 4;
    put32(w, total);
    if (w->overflow)
        return 0;
    memcpy(w->buf + 4, &total, 4);
    return w->len;
}

size_t
pk_pcapng_shb(uint8_t *buf, size_t cap, const char *hardware, const char *os,
              const char *application)
{
    struct blockw w = {buf, cap, 0, 0};
    int64_t section_length = -1; /* unknown: a stream */

    begin(&w, PK_PCAPNG_BT_SHB);
    put32(&w, PK_PCAPNG_BOM);
    put16(&w, 1);
    put16(&w, 0);
    put(&w, &section_length, 8);
    put_str_opt(&w, 2, hardware);
    put_str_opt(&w, 3, os);
    put_str_opt(&w, 4, application);
    return finish(&w);
}

size_t
pk_pcapng_idb(uint8_t *buf, size_t cap, uint32_t linktype, uint32_t snaplen, const char *name,
              const char *description, const char *filter)
{
    struct blockw w = {buf, cap, 0, 0};
    uint8_t tsresol = 9;

    if (linktype > 0xffff)
        return 0; /* the field has 16 bits: never write another link type than asked */
    begin(&w, PK_PCAPNG_BT_IDB);
    put16(&w, (uint16_t)linktype);
    put16(&w, 0);
    put32(&w, snaplen);
    put_str_opt(&w, 2, name);
    put_str_opt(&w, 3, description);
    put_opt(&w, 9, &tsresol, 1);
    if (filter != NULL && filter[0] != '\0') { /* if_filter: type 0 = a libpcap filter string */
        uint8_t f[1024];
        size_t n = strlen(filter) < sizeof(f) - 1 ? strlen(filter) : sizeof(f) - 1;
        f[0] = 0;
        memcpy(f + 1, filter, n);
        put_opt(&w, 11, f, n + 1);
    }
    return finish(&w);
}

void
pk_pcapng_epb_head(uint8_t *buf, uint32_t if_id, uint64_t ts_ns, uint32_t caplen,
                   uint32_t origlen)
{
    uint32_t v[7] = {PK_PCAPNG_BT_EPB, (uint32_t)(PK_PCAPNG_EPB_HEADER + pad4(caplen) + 4), if_id,
                     (uint32_t)(ts_ns >> 32), (uint32_t)ts_ns, caplen, origlen};

    memcpy(buf, v, sizeof(v));
}

size_t
pk_pcapng_epb_tail(uint8_t *buf, uint32_t caplen)
{
    size_t pad = pad4(caplen) - caplen;
    uint32_t total = (uint32_t)(PK_PCAPNG_EPB_HEADER + pad4(caplen) + 4);

    memset(buf, 0, pad);
    memcpy(buf + pad, &total, 4);
    return pad + 4;
}

size_t
pk_pcapng_isb(uint8_t *buf, size_t cap, uint32_t if_id, const struct pk_pcapng_if_stats *s)
{
    struct blockw w = {buf, cap, 0, 0};

    begin(&w, PK_PCAPNG_BT_ISB);
    put32(&w, if_id);
    put32(&w, (uint32_t)(s->ts_ns >> 32));
    put32(&w, (uint32_t)s->ts_ns);
    put_str_opt(&w, 1, s->comment);
    put_u64_opt(&w, 4, s->ifrecv);
    put_u64_opt(&w, 5, s->ifdrop);
    put_u64_opt(&w, 6, s->filteraccept);
    put_u64_opt(&w, 7, s->osdrop);
    put_u64_opt(&w, 8, s->usrdeliv);
    return finish(&w);
}

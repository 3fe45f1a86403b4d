/*
 * Lending (output.h): one message's packets go to the pipe by pointer, their headers through a
 * small copy area, in one writev at the end. What the pipe does not take is copied into the
 * queue, the copy the queue always made. So a reader that keeps up costs one copy fewer per
 * byte, and one that does not costs what it did.
 */
#include "output_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/*
 * Shorter pieces are copied: below this, a copy costs less than one more piece in the kernel's
 * writev. Packet data is lent from this size; headers and small packets are copied.
 */
#define LEND_MIN 512
#define LEND_IOV 512           /* pieces in one writev (IOV_MAX is 1024) */
#define LEND_COPY (32u * 1024) /* the copied pieces of one writev: 2048 pcap record headers */
/*
 * When the pieces or the copy area run out: with at least this much gathered, it is written
 * and gathering goes on; with less (small packets, whose copies fill the area first), lending
 * stops for this message and the queue copies as before, writing once per loop turn.
 */
#define LEND_WRITE_MIN (64u * 1024)

struct output_lend {
    int on;
    int n;         /* pieces in iov */
    size_t bytes;  /* their length */
    size_t copied; /* bytes used in copy */
    struct iovec iov[LEND_IOV];
    uint8_t copy[LEND_COPY];
};

int
pk_output_lending(const struct pk_output *o)
{
    return o->lend != NULL && o->lend->on;
}

void
pk_output_lend_begin(struct pk_output *o)
{
    if (!o->pollable || o->regular || o->fd < 0 || o->failed || o->queued > 0)
        return;
    if (o->lend == NULL && (o->lend = malloc(sizeof(*o->lend))) == NULL)
        return; /* copies as before */
    o->lend->on = 1;
    o->lend->n = 0;
    o->lend->bytes = o->lend->copied = 0;
}

/* Stops lending: the pieces not written move into the queue, in order. */
static void
stop_lending(struct pk_output *o, int from)
{
    struct output_lend *l = o->lend;

    l->on = 0;
    for (int i = from; i < l->n; i++)
        pk_output_copy_in(o, l->iov[i].iov_base, l->iov[i].iov_len);
    l->n = 0;
    l->bytes = l->copied = 0;
}

void
pk_output_lend_write(struct pk_output *o)
{
    struct output_lend *l = o->lend;
    int i = 0;

    while (i < l->n) {
        ssize_t w = writev(o->fd, l->iov + i, l->n - i);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* EAGAIN: the reader is behind; an error: flush meets it again */
        o->written += (uint64_t)w;
        for (size_t left = (size_t)w; left > 0;) {
            struct iovec *v = &l->iov[i];
            if (left < v->iov_len) {
                v->iov_base = (uint8_t *)v->iov_base + left;
                v->iov_len -= left;
                break;
            }
            left -= v->iov_len;
            i++;
        }
    }
    if (i < l->n) {
        stop_lending(o, i);
        return;
    }
    l->n = 0;
    l->bytes = l->copied = 0;
}

/* No room for one more piece: write what is gathered, or give it to the queue. */
static int
make_room(struct pk_output *o)
{
    if (o->lend->bytes >= LEND_WRITE_MIN)
        pk_output_lend_write(o);
    else
        stop_lending(o, 0);
    return pk_output_lending(o);
}

void
pk_output_lend_put(struct pk_output *o, const void *buf, size_t len, int lent)
{
    struct output_lend *l = o->lend;
    struct iovec *last;

    if (len == 0)
        return;
    lent = lent && len >= LEND_MIN;
    if ((l->n == LEND_IOV || (!lent && l->copied + len > LEND_COPY)) && !make_room(o)) {
        pk_output_copy_in(o, buf, len);
        return;
    }
    last = l->n > 0 ? &l->iov[l->n - 1] : NULL;
    if (!lent) {
        uint8_t *to = l->copy + l->copied;
        memcpy(to, buf, len);
        l->copied += len;
        if (last != NULL && (uint8_t *)last->iov_base + last->iov_len == to) {
            last->iov_len += len; /* follows the previous copy: one piece */
            l->bytes += len;
            return;
        }
        buf = to;
    }
    l->iov[l->n].iov_base = (void *)buf;
    l->iov[l->n++].iov_len = len;
    l->bytes += len;
}

void
pk_output_lend_end(struct pk_output *o)
{
    if (!pk_output_lending(o))
        return;
    pk_output_lend_write(o);
    o->lend->on = 0;
}

void
pk_output_lend_free(struct pk_output *o)
{
    free(o->lend);
    o->lend = NULL;
}

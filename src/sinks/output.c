/*
 * Output queue: a list of fixed-size chunks (allocated while the queue grows, at most
 * limit/CHUNK_SIZE + 2 of them), written with writev. Memory is returned as chunks drain; the
 * allocator keeps it for the next chunks rather than giving it back to the kernel
 * (tune_allocator() in main.c: without that, every chunk was faulted in page by page).
 */
#define _GNU_SOURCE /* F_SETPIPE_SZ */
#include "output.h"
#include "output_int.h"
#include "pcktr.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static void on_writable(uv_poll_t *h, int status, int events);

struct pk_output *
pk_output_new(uv_loop_t *loop, int fd, size_t limit, const struct pk_output_callbacks *cbs,
              char *errbuf)
{
    struct pk_output *o;
    struct stat st;

    if (fstat(fd, &st) != 0)
        return pk_seterr(errbuf, 0, "stdout: %s", strerror(errno)), NULL;
    if (isatty(fd))
        return pk_seterr(errbuf, 0,
                         "stdout is a terminal; pipe it into a reader (pcktr | tcpdump "
                         "-n -r -) or redirect it to a file"),
               NULL;
    o = calloc(1, sizeof(*o));
    if (o == NULL)
        return pk_seterr(errbuf, 0, "out of memory"), NULL;
    o->fd = fd;
    o->limit = limit;
    o->cbs = *cbs;
    o->pollable = S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
    if ((o->regular = S_ISREG(st.st_mode)) && (o->base = lseek(fd, 0, SEEK_CUR)) < 0)
        o->base = 0;
    if (o->pollable) {
        int fl = fcntl(fd, F_GETFL);
        int rc;
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
            pk_seterr(errbuf, 0, "stdout: cannot make non-blocking: %s", strerror(errno));
            free(o);
            return NULL;
        }
        /*
         * A 64 KiB pipe (Linux's default) makes the collector write and wake up every 64 KiB
         * (perf: a third of its time was in scheduling). With 1 MiB, the unprivileged maximum,
         * and a 1 MiB READ_FILE buffer (replay.c), bench/run's zmq file relay went from 0.78x to
         * 0.94x of nc at 1500-byte packets and from 1.41x to 1.63x of the tcpdump pipe at 64.
         * Best effort: when refused, the pipe stays as it is.
         */
        if (S_ISFIFO(st.st_mode))
            (void)fcntl(fd, F_SETPIPE_SZ, (int)(limit < PIPE_BYTES ? limit : PIPE_BYTES));
        if ((rc = uv_poll_init(loop, &o->poll, fd)) != 0) {
            pk_seterr(errbuf, 0, "stdout: cannot watch: %s", uv_strerror(rc));
            free(o);
            return NULL;
        }
        o->poll.data = o;
    }
    return o;
}

struct pk_output *
pk_output_new_queue(size_t limit, const struct pk_output_callbacks *cbs)
{
    struct pk_output *o = calloc(1, sizeof(*o));

    if (o == NULL)
        return NULL;
    o->fd = -1;
    o->limit = limit;
    o->cbs = *cbs;
    return o;
}

static struct chunk *
new_chunk(struct pk_output *o)
{
    struct chunk *c = o->spare;

    if (c != NULL)
        o->spare = NULL;
    else if ((c = malloc(sizeof(*c))) == NULL)
        abort(); /* a bounded queue of 256 KiB chunks: failing here means the host is out */
    c->next = NULL;
    c->start = c->end = 0;
    return c;
}

void
pk_output_append(struct pk_output *o, const void *buf, size_t len)
{
    if (pk_output_lending(o))
        pk_output_lend_put(o, buf, len, 0);
    else
        pk_output_copy_in(o, buf, len);
}

void
pk_output_append_lent(struct pk_output *o, const void *buf, size_t len)
{
    if (pk_output_lending(o))
        pk_output_lend_put(o, buf, len, 1);
    else
        pk_output_copy_in(o, buf, len);
}

void
pk_output_copy_in(struct pk_output *o, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    if (o->failed)
        return;
    while (len > 0) {
        size_t room, n;
        if (o->tail == NULL || o->tail->end == CHUNK_SIZE) {
            struct chunk *c = new_chunk(o);
            if (o->tail)
                o->tail->next = c;
            else
                o->head = c;
            o->tail = c;
        }
        room = CHUNK_SIZE - o->tail->end;
        n = len < room ? len : room;
        memcpy(o->tail->data + o->tail->end, p, n);
        o->tail->end += n;
        o->queued += n;
        p += n;
        len -= n;
    }
}

void
pk_output_end_block(struct pk_output *o)
{
    if (!o->regular)
        return;
    if (o->nmarks == MAX_MARKS) { /* keep every other one: coarser, still whole blocks */
        for (size_t i = 0; i < MAX_MARKS / 2; i++)
            o->marks[i] = o->marks[2 * i + 1];
        o->nmarks = MAX_MARKS / 2;
    }
    o->marks[o->nmarks++] = o->written + o->queued;
}

/* Marks now written are whole blocks in the file; the rest move to the front. */
static void
settle_marks(struct pk_output *o)
{
    size_t n = 0;

    while (n < o->nmarks && o->marks[n] <= o->written)
        o->whole = o->marks[n++];
    memmove(o->marks, o->marks + n, (o->nmarks - n) * sizeof(o->marks[0]));
    o->nmarks -= n;
}

/*
 * A write failed (ENOSPC, EIO, EFBIG): a regular file is cut back to its last whole block, so
 * that it reads cleanly to the end; what it held before stays.
 */
static void
keep_whole_blocks(struct pk_output *o)
{
    if (!o->regular)
        return;
    settle_marks(o);
    o->kept = o->whole;
    if (o->written > o->whole && ftruncate(o->fd, o->base + (off_t)o->whole) != 0)
        o->kept = o->written; /* could not cut: the last block stays partial */
}

uint64_t
pk_output_kept(const struct pk_output *o)
{
    return o->kept;
}

static void
release_head(struct pk_output *o)
{
    struct chunk *c = o->head;

    o->head = c->next;
    if (o->head == NULL)
        o->tail = NULL;
    if (o->spare == NULL)
        o->spare = c;
    else
        free(c);
}

static void
set_polling(struct pk_output *o, int on)
{
    if (!o->pollable || o->polling == on)
        return;
    o->polling = on;
    if (on)
        uv_poll_start(&o->poll, UV_WRITABLE, on_writable);
    else
        uv_poll_stop(&o->poll);
}

int
pk_output_peek(const struct pk_output *o, struct iovec *iov, int max)
{
    int n = 0;

    for (struct chunk *c = o->head; c != NULL && n < max; c = c->next) {
        iov[n].iov_base = c->data + c->start;
        iov[n++].iov_len = c->end - c->start;
    }
    return n;
}

/* n bytes at the head have left: chunks emptied are released. */
static void
drop_head(struct pk_output *o, size_t n)
{
    o->written += n;
    o->queued -= n;
    while (n > 0) {
        size_t in_head = o->head->end - o->head->start;
        if (n < in_head) {
            o->head->start += n;
            break;
        }
        n -= in_head;
        release_head(o);
    }
}

void
pk_output_consume(struct pk_output *o, size_t n)
{
    int was_full = pk_output_full(o);

    drop_head(o, n < o->queued ? n : o->queued);
    if (was_full || o->queued <= o->limit / 2)
        o->cbs.on_drained(o, o->cbs.data);
}

void
pk_output_flush(struct pk_output *o)
{
    int was_full = pk_output_full(o);

    if (pk_output_lending(o))
        pk_output_lend_write(o); /* what was lent leaves first, or joins the queue */
    while (o->queued > 0 && !o->failed && o->fd >= 0) {
        struct iovec iov[MAX_IOV];
        ssize_t w = writev(o->fd, iov, pk_output_peek(o, iov, MAX_IOV));
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                set_polling(o, 1);
                return;
            }
            o->failed = -errno;
            set_polling(o, 0);
            keep_whole_blocks(o);
            o->cbs.on_error(o, o->failed, o->cbs.data);
            return;
        }
        drop_head(o, (size_t)w);
    }
    settle_marks(o);
    set_polling(o, 0);
    if (was_full || o->queued <= o->limit / 2)
        o->cbs.on_drained(o, o->cbs.data);
}

static void
on_writable(uv_poll_t *h, int status, int events)
{
    struct pk_output *o = h->data;

    (void)events;
    if (status < 0) {
        o->failed = status;
        set_polling(o, 0);
        o->cbs.on_error(o, status, o->cbs.data);
        return;
    }
    pk_output_flush(o);
}

int
pk_output_full(const struct pk_output *o)
{
    return o->queued >= o->limit;
}

size_t
pk_output_queued(const struct pk_output *o)
{
    return o->queued;
}

uint64_t
pk_output_written(const struct pk_output *o)
{
    return o->written;
}

static void
on_poll_closed(uv_handle_t *h)
{
    free(h->data);
}

void
pk_output_close(struct pk_output *o)
{
    while (o->head != NULL)
        release_head(o);
    free(o->spare);
    o->spare = NULL;
    pk_output_lend_free(o);
    if (o->pollable)
        uv_close((uv_handle_t *)&o->poll, on_poll_closed);
    else
        free(o);
}

/*
 * READ_FILE in place; see replay_map.h. A window of the file is mapped at a time (its pages
 * populated at once, read ahead sequentially) and unmapped when the next record lies beyond
 * it, so the agent holds at most WINDOW of the file whatever its size.
 */
#include "replay_map.h"
#include "pcktr.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define WINDOW (2u << 20)        /* mapped at a time; a record is at most 16 + MAX_RECORD */
#define MAX_RECORD (256u * 1024) /* libpcap's largest snapshot length (MAXIMUM_SNAPLEN) */
#define FILE_HEADER 24
#define RECORD_HEADER 16
#define MAGIC_US 0xa1b2c3d4u
#define MAGIC_NS 0xa1b23c4du
#define LINKTYPE_USB_LINUX_MMAPPED 220 /* libpcap rewrites its records' lengths: not ours */

struct pk_replay_map {
    FILE *fp;
    int fd;
    int ns;            /* nanosecond timestamps (else micro) */
    uint32_t snaplen;  /* the file header's */
    uint64_t size;     /* the file's, when opened: records past it are libpcap's */
    uint64_t pos;      /* the next record's offset */
    uint64_t map_off;  /* the window: [map_off, map_off + map_len) */
    size_t map_len;
    const uint8_t *map;
};

/*
 * A mapped file that shrinks under the reader raises SIGBUS at the first page past its new
 * end. That is the file changing while it is replayed, not a bug of ours: say so and stop,
 * rather than dump core.
 */
static void
on_sigbus(int sig)
{
    static const char msg[] = "pcktr: READ_FILE shrank while it was being read; stopping\n";

    (void)sig;
    (void)!write(2, msg, sizeof(msg) - 1);
    _exit(1);
}

static uint32_t
u32_at(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

int
pk_replay_map_open(struct pk_replay_map **out, FILE *fp)
{
    uint8_t h[FILE_HEADER];
    struct stat st;
    struct pk_replay_map *m;
    int fd = fileno(fp);
    uint32_t magic;
    uint16_t major, minor;

    *out = NULL;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return 0; /* a pipe, a device: read(2) it is */
    if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
        return 0;
    magic = u32_at(h);
    memcpy(&major, h + 4, sizeof(major));
    memcpy(&minor, h + 6, sizeof(minor));
    /* version 2.4 (2.3 and older may have swapped lengths), and no link type libpcap fixes up */
    if ((magic != MAGIC_US && magic != MAGIC_NS) || major != 2 || minor != 4 ||
        (u32_at(h + 20) & 0xffffu) == LINKTYPE_USB_LINUX_MMAPPED)
        return 0;
    if ((m = calloc(1, sizeof(*m))) == NULL)
        return -ENOMEM;
    m->fp = fp;
    m->fd = fd;
    m->ns = magic == MAGIC_NS;
    m->snaplen = u32_at(h + 16);
    m->size = (uint64_t)st.st_size;
    m->pos = FILE_HEADER;
    signal(SIGBUS, on_sigbus);
    *out = m;
    return 0;
}

static void
unmap(struct pk_replay_map *m)
{
    if (m->map != NULL)
        munmap((void *)m->map, m->map_len);
    m->map = NULL;
    m->map_len = 0;
}

/* Maps the window that starts at the page of pos. 0, or -errno. */
static int
map_at(struct pk_replay_map *m, uint64_t pos)
{
    uint64_t off = pos & ~(uint64_t)(sysconf(_SC_PAGESIZE) - 1);
    size_t len = m->size - off < WINDOW ? (size_t)(m->size - off) : WINDOW;
    void *p;

    unmap(m);
    p = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, m->fd, (off_t)off);
    if (p == MAP_FAILED)
        return -errno;
    (void)madvise(p, len, MADV_SEQUENTIAL);
    m->map = p;
    m->map_off = off;
    m->map_len = len;
    return 0;
}

/* The rest is libpcap's, from the record at pos. */
static int
hand_over(struct pk_replay_map *m)
{
    unmap(m);
    (void)fseeko(m->fp, (off_t)m->pos, SEEK_SET); /* failing, libpcap reports what it reads */
    return 0;
}

int
pk_replay_map_next(struct pk_replay_map *m, struct pk_packet *pkt)
{
    const uint8_t *h;
    uint32_t caplen;

    if (m->pos + RECORD_HEADER > m->size)
        return hand_over(m); /* the end, or a short header: libpcap says which */
    if (m->map == NULL || m->pos + RECORD_HEADER > m->map_off + m->map_len) {
        if (map_at(m, m->pos) != 0)
            return hand_over(m);
    }
    h = m->map + (m->pos - m->map_off);
    caplen = u32_at(h + 8);
    if (caplen > m->snaplen || caplen > MAX_RECORD || m->pos + RECORD_HEADER + caplen > m->size)
        return hand_over(m);
    if (m->pos + RECORD_HEADER + caplen > m->map_off + m->map_len) {
        if (map_at(m, m->pos) != 0)
            return hand_over(m);
        h = m->map + (m->pos - m->map_off);
    }
    pkt->ts_ns = (uint64_t)u32_at(h) * 1000000000u +
                 (uint64_t)u32_at(h + 4) * (m->ns ? 1u : 1000u);
    pkt->caplen = caplen;
    pkt->origlen = u32_at(h + 12);
    pkt->data = h + RECORD_HEADER;
    m->pos += RECORD_HEADER + caplen;
    return 1;
}

void
pk_replay_map_close(struct pk_replay_map *m)
{
    if (m == NULL)
        return;
    unmap(m);
    free(m);
}

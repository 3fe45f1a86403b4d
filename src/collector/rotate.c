/* OUTPUT_ROTATE's policy: when a file completes; see rotate.h. */
#define PK_LOG_MODULE "collector"
#include "rotate.h"
#include "log.h"
#include "loop.h"
#include "pcktr.h"
#include "rotname.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RETRY_MS 1000 /* after a failure to create a file, records go on into the current one */
#define EARLY_MS 50   /* a timer this close before the boundary (the clocks differ) waits for it */

struct pk_rotate {
    uv_loop_t *loop;
    struct pk_rotname names;
    struct pk_rotate_policy policy;
    int fd;                /* the file being written, -1 once closed */
    char part[PATH_MAX];   /* its hidden name */
    uint64_t stamp_ms;     /* when it was started (its name's stamp) */
    uint64_t records;      /* whole records in it */
    uint64_t retry_ms;     /* no new file before this (wall clock), after a failure */
    int started, closed;
    struct pk_rotate_owner owner;
    uv_timer_t timer;
    struct pk_rotate_counters counters;
};

static void
failed(struct pk_rotate *r, const char *errbuf)
{
    r->counters.failures++;
    pk_log_with(PK_LOG_ERROR,
                &(struct pk_log_fields){.event = "output_rotate_failed",
                                        .variable = "OUTPUT_ROTATE"},
                "%s", errbuf);
}

/* Deletes the oldest completed files beyond OUTPUT_KEEP. */
static void
prune(struct pk_rotate *r)
{
    char errbuf[PK_ERRBUF_SIZE];
    int rc = pk_rotname_prune(&r->names, r->policy.keep, errbuf);

    if (rc < 0)
        failed(r, errbuf);
    else
        r->counters.deleted += (uint64_t)rc;
}

/* The file just closed: renamed to its visible name, or deleted when it holds no record. */
static void
finish_file(struct pk_rotate *r, const char *part, uint64_t stamp_ms, uint64_t records)
{
    char errbuf[PK_ERRBUF_SIZE], done[PATH_MAX];

    if (records == 0) { /* at most a header: nothing to keep */
        if (unlink(part) != 0 && errno != ENOENT) {
            pk_seterr(errbuf, -errno, "OUTPUT_ROTATE: cannot delete \"%s\": %s", part,
                      strerror(errno));
            failed(r, errbuf);
        }
        return;
    }
    if (pk_rotname_complete(&r->names, part, stamp_ms, done, errbuf) != 0) {
        failed(r, errbuf); /* it stays hidden; the next start completes it */
        return;
    }
    r->counters.completed++;
    pk_debug("OUTPUT_ROTATE: completed \"%s\" (%llu records)", done, (unsigned long long)records);
    prune(r);
}

/* Continues in a new file; the owner writes what is queued into the old one, then it completes. */
static void
rotate_now(struct pk_rotate *r)
{
    char errbuf[PK_ERRBUF_SIZE], part[PATH_MAX];
    uint64_t now = pk_wall_ms(), stamp;
    int fd;

    if (!r->started || r->closed || now < r->retry_ms)
        return;
    if ((fd = pk_rotname_create(&r->names, now > r->stamp_ms ? now : r->stamp_ms + 1, part, &stamp,
                                errbuf)) < 0)
        goto fail;
    if (r->owner.switch_file(r->owner.data, fd, errbuf) != 0) {
        (void)close(fd);
        (void)unlink(part);
        goto fail;
    }
    if (r->closed) { /* the old file's write failed and the collector finished meanwhile */
        (void)close(fd);
        (void)unlink(part);
        return;
    }
    (void)close(r->fd);
    finish_file(r, r->part, r->stamp_ms, r->records);
    r->fd = fd;
    memcpy(r->part, part, sizeof(part));
    r->stamp_ms = stamp;
    r->records = 0;
    return;
fail:
    r->retry_ms = now + RETRY_MS;
    failed(r, errbuf);
}

static void on_timer(uv_timer_t *t);

/* Due at the next multiple of the interval from the epoch (wall clock, UTC). */
static void
arm_timer(struct pk_rotate *r)
{
    uint64_t now, iv = r->policy.interval_ms;

    uv_update_time(r->loop); /* the timer counts from the loop's time, which may lag */
    now = pk_wall_ms();
    uv_timer_start(&r->timer, on_timer, (now / iv + 1) * iv - now, 0);
}

/* A file with records completes on time even when nothing more arrives; an empty one goes on. */
static void
on_timer(uv_timer_t *t)
{
    struct pk_rotate *r = container_of(t, struct pk_rotate, timer);
    uint64_t iv = r->policy.interval_ms;

    if (pk_wall_ms() % iv < iv - EARLY_MS && r->records > 0) /* not just short of the boundary */
        rotate_now(r);
    arm_timer(r);
}

int
pk_rotate_open(struct pk_rotate **out, uv_loop_t *loop, const char *output,
               const struct pk_rotate_policy *policy, char *errbuf)
{
    struct pk_rotate *r = calloc(1, sizeof(*r));
    char last[PATH_MAX];
    int rc;

    *out = NULL;
    if (r == NULL)
        return pk_seterr(errbuf, -ENOMEM, "out of memory");
    r->loop = loop;
    r->policy = *policy;
    if ((rc = pk_rotname_init(&r->names, output, errbuf)) != 0 ||
        (rc = pk_rotname_recover(&r->names, last, errbuf)) < 0)
        goto fail;
    if (rc > 0)
        pk_info_with(&(struct pk_log_fields){.event = "output_recovered", .variable = "OUTPUT"},
                     "OUTPUT_ROTATE: completed %d file(s) an earlier run left unfinished, as "
                     "they were (the last: \"%s\")",
                     rc, last);
    r->counters.recovered = (uint64_t)rc;
    if ((r->fd = pk_rotname_create(&r->names, pk_wall_ms(), r->part, &r->stamp_ms, errbuf)) < 0) {
        rc = r->fd;
        goto fail;
    }
    if ((rc = uv_timer_init(loop, &r->timer)) != 0) {
        close(r->fd);
        (void)unlink(r->part);
        pk_seterr(errbuf, rc, "OUTPUT_ROTATE: timer: %s", uv_strerror(rc));
        goto fail;
    }
    *out = r;
    return 0;
fail:
    free(r);
    return rc;
}

int
pk_rotate_fd(const struct pk_rotate *r)
{
    return r->fd;
}

const char *
pk_rotate_current(const struct pk_rotate *r)
{
    return r->part;
}

void
pk_rotate_start(struct pk_rotate *r, const struct pk_rotate_owner *owner)
{
    r->owner = *owner;
    r->started = 1;
    prune(r); /* OUTPUT_KEEP lowered since the last run */
    if (r->policy.interval_ms > 0)
        arm_timer(r);
}

void
pk_rotate_record(struct pk_rotate *r)
{
    r->records++;
    if (r->policy.size > 0 && r->started && !r->closed &&
        r->owner.file_bytes(r->owner.data) >= r->policy.size)
        rotate_now(r);
}

const struct pk_rotate_counters *
pk_rotate_counters(const struct pk_rotate *r)
{
    return &r->counters;
}

static void
on_timer_closed(uv_handle_t *h)
{
    free(container_of((uv_timer_t *)h, struct pk_rotate, timer));
}

void
pk_rotate_close(struct pk_rotate *r)
{
    r->closed = 1;
    uv_timer_stop(&r->timer);
    if (r->fd >= 0) {
        (void)close(r->fd);
        r->fd = -1;
        finish_file(r, r->part, r->stamp_ms, r->records);
    }
    uv_close((uv_handle_t *)&r->timer, on_timer_closed);
}

/*
 * Opening OUTPUT's path (split from output.c, which is the queue in front of the fd): an existing
 * capture is moved aside, never overwritten, and the new file is created without following a
 * link planted since it was looked at.
 */
#define _GNU_SOURCE /* renameat2, RENAME_NOREPLACE */
#include "output.h"
#include "pcktr.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define OUTPUT_FILE_MODE 0640 /* owner writes, group reads, others nothing */

int
pk_output_rename_noreplace(const char *from, const char *to)
{
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -errno;
    if (link(from, to) != 0) /* a file system without RENAME_NOREPLACE: link never replaces */
        return -errno;
    return unlink(from) == 0 ? 0 : -errno;
}

/*
 * Moves the capture at path aside to PATH.YYYYmmddTHHMMSSZ (the time of its last write, UTC),
 * or PATH.STAMP-N when that name is taken; never replacing a file.
 */
static int
move_aside(const char *path, const struct stat *st, char *moved, size_t moved_len, char *errbuf)
{
    char stamp[32];
    struct tm tm;

    if (gmtime_r(&st->st_mtime, &tm) == NULL ||
        strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0)
        snprintf(stamp, sizeof(stamp), "%lld", (long long)st->st_mtime);
    for (int n = 1; n <= 100; n++) {
        int len = n == 1 ? snprintf(moved, moved_len, "%s.%s", path, stamp)
                         : snprintf(moved, moved_len, "%s.%s-%d", path, stamp, n);
        if (len < 0 || (size_t)len >= moved_len)
            return pk_seterr(errbuf, -ENAMETOOLONG,
                             "OUTPUT=\"%s\": name too long to move the "
                             "existing capture aside",
                             path);
        int rc = pk_output_rename_noreplace(path, moved);
        if (rc == 0)
            return 0;
        if (rc != -EEXIST)
            return pk_seterr(errbuf, rc,
                             "OUTPUT=\"%s\": cannot move the existing capture "
                             "aside to \"%s\": %s",
                             path, moved, strerror(-rc));
    }
    return pk_seterr(errbuf, -EEXIST, "OUTPUT=\"%s\": 100 moved-aside captures of %s exist", path,
                     stamp);
}

/* What is at path now: 0 (nothing, or made room for a new file), 1 (open it as it is), -errno. */
static int
make_room(const char *path, char *moved, size_t moved_len, char *errbuf)
{
    struct stat st;

    if (lstat(path, &st) != 0)
        return errno == ENOENT
                   ? 0
                   : pk_seterr(errbuf, -errno, "OUTPUT=\"%s\": %s", path, strerror(errno));
    if (S_ISLNK(st.st_mode)) { /* /dev/stdout, a link to a FIFO: fine; to a file: ambiguous */
        if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
            return 1;
        return pk_seterr(errbuf, -ELOOP,
                         "OUTPUT=\"%s\" is a symbolic link to a file or to "
                         "nothing; accepted: the file's own path (an existing capture is moved "
                         "aside, never overwritten, and a link would leave that ambiguous)",
                         path);
    }
    if (S_ISDIR(st.st_mode))
        return pk_seterr(errbuf, -EISDIR, "OUTPUT=\"%s\" is a directory; accepted: a file path",
                         path);
    if (!S_ISREG(st.st_mode))
        return 1;        /* a FIFO, a device: written as it is */
    if (st.st_size == 0) /* nothing to keep; the new file gets mode 0640 */
        return unlink(path) == 0 || errno == ENOENT
                   ? 0
                   : pk_seterr(errbuf, -errno, "OUTPUT=\"%s\": %s", path, strerror(errno));
    return move_aside(path, &st, moved, moved_len, errbuf);
}

int
pk_output_open_path(const char *path, char *moved, size_t moved_len, char *errbuf)
{
    int fd, rc;

    moved[0] = '\0';
    for (int attempt = 0; attempt < 3; attempt++) {
        if ((rc = make_room(path, moved, moved_len, errbuf)) < 0)
            return rc;
        if (rc == 1) {
            if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
                return pk_seterr(errbuf, -errno, "OUTPUT=\"%s\": cannot open: %s", path,
                                 strerror(errno));
            return fd;
        }
        /* O_EXCL and O_NOFOLLOW: a file or link planted since lstat is never written through. */
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, OUTPUT_FILE_MODE);
        if (fd >= 0)
            return fd;
        if (errno != EEXIST)
            return pk_seterr(errbuf, -errno, "OUTPUT=\"%s\": cannot create: %s", path,
                             strerror(errno));
    }
    return pk_seterr(errbuf, -EEXIST, "OUTPUT=\"%s\" keeps being created by someone else", path);
}

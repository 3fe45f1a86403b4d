/* Names and file operations of OUTPUT_ROTATE; see rotname.h. */
#include "rotname.h"
#include "output.h"
#include "pcktr.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STAMP_LEN 20          /* YYYYmmddTHHMMSS.mmmZ */
#define PART_SUFFIX ".part"
#define FILE_MODE 0640        /* as OUTPUT without rotation: owner writes, group reads */
#define MAX_TRIES 1000        /* milliseconds tried past a taken name */

int
pk_rotname_init(struct pk_rotname *n, const char *output, char *errbuf)
{
    const char *slash = strrchr(output, '/');
    const char *base = slash ? slash + 1 : output;
    const char *dot = strrchr(base, '.');
    size_t dirlen = slash ? (size_t)(slash - output) : 0;

    memset(n, 0, sizeof(*n));
    if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return pk_seterr(errbuf, -EINVAL,
                         "OUTPUT=\"%s\" with OUTPUT_ROTATE is invalid; accepted: a file path "
                         "such as /var/lib/pcktr/site.pcap",
                         output);
    if (dot == base) /* ".pcap": a hidden stem, not an extension */
        dot = NULL;
    if (dirlen + 1 >= sizeof(n->dir) || strlen(base) + STAMP_LEN + 16 > NAME_MAX)
        return pk_seterr(errbuf, -ENAMETOOLONG, "OUTPUT=\"%s\": too long for rotated names",
                         output);
    if (slash == NULL)
        strcpy(n->dir, ".");
    else if (dirlen == 0)
        strcpy(n->dir, "/");
    else
        memcpy(n->dir, output, dirlen);
    memcpy(n->stem, base, dot ? (size_t)(dot - base) : strlen(base));
    if (dot)
        strcpy(n->ext, dot);
    return 0;
}

static void
format_stamp(uint64_t ms, char out[STAMP_LEN + 1])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    char day[16];

    /* 15 characters until the year 9999 */
    if (gmtime_r(&secs, &tm) == NULL || strftime(day, sizeof(day), "%Y%m%dT%H%M%S", &tm) != 15)
        strcpy(day, "19700101T000000");
    snprintf(out, STAMP_LEN + 1, "%s.%03uZ", day, (unsigned)(ms % 1000));
}

/* The millisecond of a stamp, or -1 when s does not hold one. */
static int64_t
parse_stamp(const char *s)
{
    struct tm tm = {0};
    int64_t secs;

    for (int i = 0; i < STAMP_LEN; i++) {
        int digit = s[i] >= '0' && s[i] <= '9';
        if ((i == 8 && s[i] != 'T') || (i == 15 && s[i] != '.') || (i == 19 && s[i] != 'Z') ||
            (i != 8 && i != 15 && i != 19 && !digit))
            return -1;
    }
    if (sscanf(s, "%4d%2d%2dT%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    if ((secs = (int64_t)timegm(&tm)) < 0)
        return -1;
    return secs * 1000 + (s[16] - '0') * 100 + (s[17] - '0') * 10 + (s[18] - '0');
}

/* DIR/[.]STEM-STAMP.EXT[.part] */
static int
path_of(const struct pk_rotname *n, uint64_t ms, int part, char *out)
{
    char stamp[STAMP_LEN + 1];
    int len;

    format_stamp(ms, stamp);
    len = snprintf(out, PATH_MAX, "%s/%s%s-%s%s%s", n->dir, part ? "." : "", n->stem, stamp,
                   n->ext, part ? PART_SUFFIX : "");
    return len > 0 && len < PATH_MAX ? 0 : -ENAMETOOLONG;
}

/* The stamp of a directory entry named like one of ours (hidden or not), or -1. */
static int64_t
entry_stamp(const struct pk_rotname *n, const char *name, int part)
{
    size_t stem = strlen(n->stem), ext = strlen(n->ext), suffix = part ? strlen(PART_SUFFIX) : 0;
    size_t len = strlen(name);

    if (part) {
        if (name[0] != '.')
            return -1;
        name++;
        len--;
    }
    if (len != stem + 1 + STAMP_LEN + ext + suffix || strncmp(name, n->stem, stem) != 0 ||
        name[stem] != '-' || strncmp(name + stem + 1 + STAMP_LEN, n->ext, ext) != 0 ||
        (part && strcmp(name + len - suffix, PART_SUFFIX) != 0))
        return -1;
    return parse_stamp(name + stem + 1);
}

int
pk_rotname_create(const struct pk_rotname *n, uint64_t ms, char *part, uint64_t *stamp_ms,
                  char *errbuf)
{
    char done[PATH_MAX];
    struct stat st;

    for (int i = 0; i < MAX_TRIES; i++, ms++) {
        int fd;
        if (path_of(n, ms, 1, part) != 0 || path_of(n, ms, 0, done) != 0)
            return pk_seterr(errbuf, -ENAMETOOLONG, "OUTPUT_ROTATE: name too long in \"%s\"",
                             n->dir);
        if (lstat(done, &st) == 0)
            continue;
        fd = open(part, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, FILE_MODE);
        if (fd >= 0) {
            *stamp_ms = ms;
            return fd;
        }
        if (errno != EEXIST)
            return pk_seterr(errbuf, -errno, "OUTPUT_ROTATE: cannot create \"%s\": %s", part,
                             strerror(errno));
    }
    return pk_seterr(errbuf, -EEXIST, "OUTPUT_ROTATE: %d names taken after \"%s\"", MAX_TRIES,
                     part);
}

int
pk_rotname_complete(const struct pk_rotname *n, const char *part, uint64_t stamp_ms, char *done,
                    char *errbuf)
{
    for (int i = 0; i < MAX_TRIES; i++, stamp_ms++) {
        int rc;
        if (path_of(n, stamp_ms, 0, done) != 0)
            return pk_seterr(errbuf, -ENAMETOOLONG, "OUTPUT_ROTATE: name too long in \"%s\"",
                             n->dir);
        if ((rc = pk_output_rename_noreplace(part, done)) == 0)
            return 0;
        if (rc != -EEXIST)
            return pk_seterr(errbuf, rc, "OUTPUT_ROTATE: cannot rename \"%s\" to \"%s\": %s",
                             part, done, strerror(-rc));
    }
    return pk_seterr(errbuf, -EEXIST, "OUTPUT_ROTATE: %d names taken after \"%s\"", MAX_TRIES,
                     done);
}

/* Calls fn for every entry of the directory named like ours (hidden or not); -errno. */
static int
each_entry(const struct pk_rotname *n, int part, int (*fn)(void *arg, const char *name, int64_t ms),
           void *arg, char *errbuf)
{
    DIR *d = opendir(n->dir);
    struct dirent *e;
    int rc = 0;

    if (d == NULL)
        return pk_seterr(errbuf, -errno, "OUTPUT_ROTATE: cannot read \"%s\": %s", n->dir,
                         strerror(errno));
    while (rc == 0 && (e = readdir(d)) != NULL) {
        int64_t ms = entry_stamp(n, e->d_name, part);
        if (ms >= 0)
            rc = fn(arg, e->d_name, ms);
    }
    closedir(d);
    return rc;
}

struct recovery {
    const struct pk_rotname *n;
    char *last, *errbuf;
    int count;
};

static int
recover_one(void *arg, const char *name, int64_t ms)
{
    struct recovery *r = arg;
    char part[PATH_MAX];
    struct stat st;
    int rc;

    if (snprintf(part, sizeof(part), "%s/%s", r->n->dir, name) >= (int)sizeof(part))
        return 0;
    if (lstat(part, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    if (st.st_size == 0) /* created, never written: nothing to keep */
        return unlink(part) == 0 || errno == ENOENT ? 0 : pk_seterr(r->errbuf, -errno,
                                                                   "OUTPUT_ROTATE: cannot delete \"%s\": %s", part, strerror(errno));
    if ((rc = pk_rotname_complete(r->n, part, (uint64_t)ms, r->last, r->errbuf)) != 0)
        return rc;
    r->count++;
    return 0;
}

int
pk_rotname_recover(const struct pk_rotname *n, char *last, char *errbuf)
{
    struct recovery r = {n, last, errbuf, 0};
    int rc;

    last[0] = '\0';
    if ((rc = each_entry(n, 1, recover_one, &r, errbuf)) != 0)
        return rc;
    return r.count;
}

struct listing {
    char **names;
    size_t n, cap;
};

static int
list_one(void *arg, const char *name, int64_t ms)
{
    struct listing *l = arg;

    (void)ms;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        char **v = realloc(l->names, cap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        l->names = v;
        l->cap = cap;
    }
    if ((l->names[l->n] = strdup(name)) == NULL)
        return -ENOMEM;
    l->n++;
    return 0;
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int
pk_rotname_prune(const struct pk_rotname *n, uint64_t keep, char *errbuf)
{
    struct listing l = {0};
    char path[PATH_MAX];
    int rc = 0, deleted = 0;

    if (keep == 0)
        return 0;
    if ((rc = each_entry(n, 0, list_one, &l, errbuf)) == -ENOMEM)
        pk_seterr(errbuf, rc, "OUTPUT_KEEP: out of memory listing \"%s\"", n->dir);
    if (rc == 0 && l.n > keep) {
        qsort(l.names, l.n, sizeof(*l.names), by_name); /* fixed-width stamps: time order */
        for (size_t i = 0; i < l.n - keep; i++) {
            if (snprintf(path, sizeof(path), "%s/%s", n->dir, l.names[i]) >= (int)sizeof(path))
                continue; /* cannot be: each_entry's names fit */
            if (unlink(path) == 0)
                deleted++;
            else if (errno != ENOENT)
                rc = pk_seterr(errbuf, -errno, "OUTPUT_KEEP: cannot delete \"%s\": %s", path,
                               strerror(errno));
        }
    }
    for (size_t i = 0; i < l.n; i++)
        free(l.names[i]);
    free(l.names);
    return rc != 0 ? rc : deleted;
}

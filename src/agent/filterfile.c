/* FILTER_FILE (filterfile.h). */
#include "filterfile.h"
#include "pcktr.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int
pk_filter_file_read(const char *path, char *buf, size_t cap, char *errbuf)
{
    FILE *f = fopen(path, "r");
    size_t n, start = 0;

    if (f == NULL)
        return pk_seterr(errbuf, -errno, "FILTER_FILE=\"%s\" cannot be read: %s", path,
                         strerror(errno));
    n = fread(buf, 1, cap - 1, f);
    int big = n == cap - 1 && fgetc(f) != EOF, bad = ferror(f);
    fclose(f);
    if (bad)
        return pk_seterr(errbuf, -EIO, "FILTER_FILE=\"%s\" cannot be read", path);
    if (big)
        return pk_seterr(errbuf, -EFBIG, "FILTER_FILE=\"%s\" is over %zu bytes", path, cap - 1);
    if (memchr(buf, '\0', n) != NULL)
        return pk_seterr(errbuf, -EINVAL, "FILTER_FILE=\"%s\" holds a NUL byte", path);
    for (size_t i = 0; i < n; i++)
        if (buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t')
            buf[i] = ' ';
    while (n > 0 && buf[n - 1] == ' ')
        n--;
    while (start < n && buf[start] == ' ')
        start++;
    memmove(buf, buf + start, n - start);
    buf[n - start] = '\0';
    return 0;
}

/* FILTER_FILE (filterfile.h). */
#include "filterfile.h"
#include "pcktr.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define FILE_MAX (16 * 1024)

const char *const pk_ff_setting_names[PK_FF_SETTINGS] = {"RELAY_COMPRESSION", "RELAY_RATE_LIMIT",
                                                         "SAMPLE"};

/* 1 when the line is NAME=... with NAME in capitals, digits and underscores. */
static int
is_setting(const char *line, size_t *name_len)
{
    size_t i = 0;

    while (isupper((unsigned char)line[i]) || isdigit((unsigned char)line[i]) || line[i] == '_')
        i++;
    *name_len = i;
    return i > 0 && line[i] == '=';
}

static int
take_setting(struct pk_filter_file *ff, const char *path, char *line, size_t name_len,
             char *errbuf)
{
    const char *value = line + name_len + 1;

    for (int k = 0; k < PK_FF_SETTINGS; k++) {
        if (strlen(pk_ff_setting_names[k]) != name_len ||
            strncmp(line, pk_ff_setting_names[k], name_len) != 0)
            continue;
        if (strlen(value) >= PK_FILTER_FILE_VALUE_MAX)
            return pk_seterr(errbuf, -EINVAL, "FILTER_FILE=\"%s\": %s: a value over %d bytes",
                             path, pk_ff_setting_names[k], PK_FILTER_FILE_VALUE_MAX - 1);
        snprintf(ff->value[k], sizeof(ff->value[k]), "%s", value);
        return 0;
    }
    line[name_len] = '\0';
    return pk_seterr(errbuf, -EINVAL,
                     "FILTER_FILE=\"%s\": %s= is no setting it may hold; accepted: "
                     "RELAY_COMPRESSION=, RELAY_RATE_LIMIT=, SAMPLE= lines, # comments, and "
                     "the BPF filter",
                     path, line);
}

/* Trims blanks on both ends of the line, in place; returns its start. */
static char *
trim(char *s)
{
    size_t n = strlen(s);

    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    while (isspace((unsigned char)*s))
        s++;
    return s;
}

static int
parse(struct pk_filter_file *ff, const char *path, char *text, char *errbuf)
{
    size_t used = 0, name_len;
    char *save = NULL;
    int rc;

    for (char *raw = strtok_r(text, "\n", &save); raw != NULL; raw = strtok_r(NULL, "\n", &save)) {
        char *line = trim(raw);
        if (line[0] == '\0' || line[0] == '#')
            continue;
        if (is_setting(line, &name_len)) {
            if ((rc = take_setting(ff, path, line, name_len, errbuf)) != 0)
                return rc;
            continue;
        }
        for (char *p = line; *p; p++)
            if (*p == '\t' || *p == '\r')
                *p = ' ';
        size_t n = strlen(line);
        if (used + (used ? 1 : 0) + n >= sizeof(ff->filter))
            return pk_seterr(errbuf, -EFBIG, "FILTER_FILE=\"%s\": the filter is over %zu bytes",
                             path, sizeof(ff->filter) - 1);
        if (used)
            ff->filter[used++] = ' ';
        memcpy(ff->filter + used, line, n + 1);
        used += n;
    }
    return 0;
}

int
pk_filter_file_read(const char *path, struct pk_filter_file *ff, char *errbuf)
{
    static char text[FILE_MAX + 1];
    FILE *f = fopen(path, "r");
    size_t n;

    memset(ff, 0, sizeof(*ff));
    if (f == NULL)
        return pk_seterr(errbuf, -errno, "FILTER_FILE=\"%s\" cannot be read: %s", path,
                         strerror(errno));
    n = fread(text, 1, FILE_MAX, f);
    int big = n == FILE_MAX && fgetc(f) != EOF, bad = ferror(f);
    fclose(f);
    if (bad)
        return pk_seterr(errbuf, -EIO, "FILTER_FILE=\"%s\" cannot be read", path);
    if (big)
        return pk_seterr(errbuf, -EFBIG, "FILTER_FILE=\"%s\" is over %d bytes", path, FILE_MAX);
    if (memchr(text, '\0', n) != NULL)
        return pk_seterr(errbuf, -EINVAL, "FILTER_FILE=\"%s\" holds a NUL byte", path);
    text[n] = '\0';
    return parse(ff, path, text, errbuf);
}

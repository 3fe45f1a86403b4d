/*
 * Opening the plane: CONTROL_TOKEN_FILE (the API's token), CONTROL_ALLOW, and CONTROL_STATE,
 * read at start and written atomically at each change (a tmp file in the same directory,
 * fsync, rename, fsync of the directory), so that a crash leaves the old state or the new one.
 */
#define PK_LOG_MODULE "control"
#include "control.h"
#include "control_int.h"
#include "log.h"
#include "pcktr.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOKEN_MAX 4096
#define STATE_MAX (16 << 20) /* (1024 + 1) entries of 4 KiB filters fit with room */
#define STATE_VERSION 1

int
pk_control_token_load(struct pk_control_plane *cp, const char *path, char *errbuf)
{
    char buf[TOKEN_MAX + 1];
    struct stat st;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return pk_seterr(errbuf, -EINVAL, "CONTROL_TOKEN_FILE=\"%s\": %s", path, strerror(errno));
    n = read(fd, buf, TOKEN_MAX);
    if (n >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 077) != 0)
        pk_warn_with(&(struct pk_log_fields){.variable = "CONTROL_TOKEN_FILE"},
                     "CONTROL_TOKEN_FILE=\"%s\" is readable by group or others (mode %03o): "
                     "chmod 600 it",
                     path, (unsigned)(st.st_mode & 0777));
    close(fd);
    if (n < 0)
        return pk_seterr(errbuf, -EINVAL, "CONTROL_TOKEN_FILE=\"%s\": %s", path, strerror(errno));
    while (n > 0 &&
           (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
        n--;
    buf[n] = '\0';
    if (n == 0 || strlen(buf) != (size_t)n)
        return pk_seterr(errbuf, -EINVAL, "CONTROL_TOKEN_FILE=\"%s\": %s", path,
                         n == 0 ? "empty: it holds the token requests must carry"
                                : "holds a NUL byte");
    if ((cp->token = strdup(buf)) == NULL)
        return pk_seterr(errbuf, -ENOMEM, "out of memory");
    cp->token_len = (size_t)n;
    return 0;
}

int
pk_control_token_ok(const struct pk_control_plane *cp, const char *value, size_t len)
{
    static const char bearer[] = "Bearer ";
    unsigned diff;

    if (cp->token == NULL || len < sizeof(bearer) - 1 ||
        strncasecmp(value, bearer, sizeof(bearer) - 1) != 0)
        return 0;
    value += sizeof(bearer) - 1;
    len -= sizeof(bearer) - 1;
    /* Every byte of the token is looked at, whatever matched before: no timing to learn it by. */
    diff = len != cp->token_len;
    for (size_t i = 0; i < cp->token_len; i++)
        diff |= (unsigned char)cp->token[i] ^ (unsigned char)(i < len ? value[i] : 0);
    return diff == 0;
}

int
pk_control_peer_allowed(const struct pk_control_plane *cp, const struct sockaddr *peer)
{
    return peer != NULL && pk_cidr_match(cp->allow, cp->nallow, peer);
}

static int
read_entry(const cJSON *o, struct pk_control_entry *e, const char *what, char *errbuf)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "filter");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "paused");
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "sample_n");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "rate_limit");
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(o, "generation");
    const cJSON *by = cJSON_GetObjectItemCaseSensitive(o, "changed_by");
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(o, "changed_at");
    int rc;

    memset(e, 0, sizeof(*e));
    if (!cJSON_IsObject(o) || !cJSON_IsString(f) || !cJSON_IsBool(p) || !cJSON_IsNumber(s) ||
        !cJSON_IsNumber(r) || !cJSON_IsNumber(g) || !cJSON_IsString(by) || !cJSON_IsNumber(at) ||
        s->valuedouble < 0 || s->valuedouble > 2147483648.0 || r->valuedouble < 0 ||
        g->valuedouble < 1 || strlen(f->valuestring) > PK_CONTROL_FILTER_MAX ||
        strlen(by->valuestring) >= PK_CONTROL_WHO_MAX ||
        !pk_control_text_ok(by->valuestring, strlen(by->valuestring)))
        return pk_seterr(errbuf, -EINVAL,
                         "%s: not an entry (filter, paused, sample_n, "
                         "rate_limit, generation, changed_by, changed_at)",
                         what);
    if ((rc = pk_control_check_filter(f->valuestring, errbuf)) != 0)
        return rc;
    if ((e->filter = strdup(f->valuestring)) == NULL)
        return pk_seterr(errbuf, -ENOMEM, "out of memory");
    e->paused = cJSON_IsTrue(p);
    e->sample_n = (uint32_t)s->valuedouble;
    e->rate_limit = (uint64_t)r->valuedouble;
    e->generation = (uint64_t)g->valuedouble;
    e->changed_at_ms = (uint64_t)at->valuedouble;
    snprintf(e->changed_by, sizeof(e->changed_by), "%s", by->valuestring);
    return 0;
}

static int
load_json(struct pk_control_plane *cp, const cJSON *root, char *errbuf)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "version");
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(root, "generation");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "cleared");
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(root, "all");
    const cJSON *srcs = cJSON_GetObjectItemCaseSensitive(root, "sources"), *it;
    struct src_entry *s;
    int rc;

    if (!cJSON_IsNumber(v) || v->valueint != STATE_VERSION || !cJSON_IsNumber(g) ||
        !cJSON_IsNumber(c) || !cJSON_IsObject(srcs) || all == NULL)
        return pk_seterr(errbuf, -EINVAL, "not a control state of version %d", STATE_VERSION);
    cp->last_gen = (uint64_t)g->valuedouble;
    cp->cleared_gen = (uint64_t)c->valuedouble;
    if (!cJSON_IsNull(all)) {
        if ((rc = read_entry(all, &cp->all, "\"all\"", errbuf)) != 0)
            return rc;
        cp->has_all = 1;
    }
    cJSON_ArrayForEach(it, srcs)
    {
        if (it->string == NULL || strlen(it->string) == 0 ||
            strlen(it->string) > PK_CONTROL_NAME_MAX || pk_control_find(cp, it->string) != NULL ||
            !pk_control_text_ok(it->string, strlen(it->string)))
            return pk_seterr(errbuf, -EINVAL,
                             "a source name is empty, too long, repeated or not UTF-8 text");
        if (cp->nsrc >= PK_CONTROL_ENTRIES_MAX)
            return pk_seterr(errbuf, -EINVAL, "more than %d source entries",
                             PK_CONTROL_ENTRIES_MAX);
        if (cp->nsrc == cp->cap) {
            size_t cap = cp->cap ? cp->cap * 2 : 16;
            if ((s = realloc(cp->src, cap * sizeof(*s))) == NULL)
                return pk_seterr(errbuf, -ENOMEM, "out of memory");
            cp->src = s;
            cp->cap = cap;
        }
        s = &cp->src[cp->nsrc];
        snprintf(s->name, sizeof(s->name), "%s", it->string);
        if ((rc = read_entry(it, &s->e, it->string, errbuf)) != 0) {
            free(s->e.filter);
            return rc;
        }
        cp->nsrc++;
    }
    return 0;
}

int
pk_control_state_load(struct pk_control_plane *cp, char *errbuf)
{
    char why[PK_ERRBUF_SIZE];
    cJSON *root;
    char *text;
    FILE *f;
    long n;
    int rc;

    if (cp->state_path == NULL)
        return 0;
    if ((f = fopen(cp->state_path, "rb")) == NULL)
        return errno == ENOENT ? 0 /* a first start */
                               : pk_seterr(errbuf, -EINVAL, "CONTROL_STATE=\"%s\": %s",
                                           cp->state_path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > STATE_MAX ||
        fseek(f, 0, SEEK_SET) != 0 || (text = malloc((size_t)n + 1)) == NULL) {
        fclose(f);
        return pk_seterr(errbuf, -EINVAL, "CONTROL_STATE=\"%s\": unreadable or over %d bytes",
                         cp->state_path, STATE_MAX);
    }
    rc = fread(text, 1, (size_t)n, f) == (size_t)n ? 0 : -EIO;
    fclose(f);
    root = rc == 0 ? cJSON_ParseWithLength(text, (size_t)n) : NULL;
    free(text);
    if (root == NULL)
        return pk_seterr(errbuf, -EINVAL, "CONTROL_STATE=\"%s\": %s", cp->state_path,
                         rc != 0 ? "read error" : "not JSON");
    rc = load_json(cp, root, why);
    cJSON_Delete(root);
    if (rc != 0)
        return pk_seterr(errbuf, -EINVAL, "CONTROL_STATE=\"%s\": %s", cp->state_path, why);
    return 0;
}

static cJSON *
entry_state(const struct pk_control_entry *e)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "filter", e->filter != NULL ? e->filter : "");
    cJSON_AddBoolToObject(o, "paused", e->paused);
    cJSON_AddNumberToObject(o, "sample_n", e->sample_n);
    cJSON_AddNumberToObject(o, "rate_limit", (double)e->rate_limit);
    cJSON_AddNumberToObject(o, "generation", (double)e->generation);
    cJSON_AddStringToObject(o, "changed_by", e->changed_by);
    cJSON_AddNumberToObject(o, "changed_at", (double)e->changed_at_ms);
    return o;
}

static char *
state_text(const struct pk_control_plane *cp)
{
    cJSON *root = cJSON_CreateObject(), *srcs;
    char *s;

    cJSON_AddNumberToObject(root, "version", STATE_VERSION);
    cJSON_AddNumberToObject(root, "generation", (double)cp->last_gen);
    cJSON_AddNumberToObject(root, "cleared", (double)cp->cleared_gen);
    if (cp->has_all)
        cJSON_AddItemToObject(root, "all", entry_state(&cp->all));
    else
        cJSON_AddNullToObject(root, "all");
    srcs = cJSON_AddObjectToObject(root, "sources");
    for (size_t i = 0; i < cp->nsrc; i++)
        cJSON_AddItemToObject(srcs, cp->src[i].name, entry_state(&cp->src[i].e));
    s = cJSON_Print(root);
    cJSON_Delete(root);
    return s;
}

static int
write_all(int fd, const char *s, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, s, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

static int
sync_dir(const char *path)
{
    char *copy = strdup(path);
    int fd, rc = 0;

    if (copy == NULL)
        return -ENOMEM;
    if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(fd) != 0)
        rc = -errno;
    if (fd >= 0)
        close(fd);
    free(copy);
    return rc;
}

int
pk_control_state_save(const struct pk_control_plane *cp, char *errbuf)
{
    char tmp[4096 + 8];
    char *text;
    int fd, rc;

    if (cp->state_path == NULL)
        return 0;
    if ((text = state_text(cp)) == NULL)
        return pk_seterr(errbuf, -EIO, "CONTROL_STATE: out of memory");
    snprintf(tmp, sizeof(tmp), "%s.tmp", cp->state_path);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
        rc = -errno;
    } else {
        rc = write_all(fd, text, strlen(text));
        if (rc == 0 && fsync(fd) != 0)
            rc = -errno;
        if (close(fd) != 0 && rc == 0)
            rc = -errno;
        if (rc == 0 && rename(tmp, cp->state_path) != 0)
            rc = -errno;
        if (rc == 0)
            rc = sync_dir(cp->state_path);
        if (rc != 0)
            (void)unlink(tmp);
    }
    free(text);
    if (rc != 0)
        return pk_seterr(errbuf, -EIO, "CONTROL_STATE=\"%s\": cannot save: %s", cp->state_path,
                         strerror(-rc));
    return 0;
}

int
pk_control_plane_open(struct pk_control_plane **out, const struct pk_control_settings *s,
                      char *errbuf)
{
    struct pk_control_plane *cp = calloc(1, sizeof(*cp));
    int rc = 0;

    *out = NULL;
    if (cp == NULL)
        return pk_seterr(errbuf, -ENOMEM, "out of memory");
    if (s->nallow > 0) {
        cp->nallow = s->nallow < PK_ALLOW_MAX ? s->nallow : PK_ALLOW_MAX;
        memcpy(cp->allow, s->allow, (size_t)cp->nallow * sizeof(*cp->allow));
    } else { /* CONTROL_ALLOW="": loopback only, never everyone */
        rc = pk_cidr_parse_list("127.0.0.0/8,::1", cp->allow, PK_ALLOW_MAX, &cp->nallow, errbuf);
    }
    if (rc == 0 && s->state != NULL && s->state[0] != '\0' &&
        (cp->state_path = strdup(s->state)) == NULL)
        rc = pk_seterr(errbuf, -ENOMEM, "out of memory");
    if (rc == 0 && s->token_file != NULL && s->token_file[0] != '\0')
        rc = pk_control_token_load(cp, s->token_file, errbuf);
    if (rc == 0)
        rc = pk_control_state_load(cp, errbuf);
    if (rc != 0) {
        pk_control_plane_free(cp);
        return rc;
    }
    *out = cp;
    return 0;
}

void
pk_control_plane_free(struct pk_control_plane *cp)
{
    if (cp == NULL)
        return;
    for (size_t i = 0; i < cp->nsrc; i++)
        free(cp->src[i].e.filter);
    free(cp->src);
    free(cp->all.filter);
    for (size_t i = 0; i < PK_CONTROL_LOG_MAX; i++)
        free(cp->log[i].entry.filter);
    free(cp->state_path);
    free(cp->token);
    free(cp);
}

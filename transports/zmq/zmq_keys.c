#define PK_LOG_MODULE "keys"
#include "zmq_keys.h"
#include "log.h"
#include "pcktr.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define KEY_FILE_MAX (4u << 20) /* an allow-list of some ten thousand keys fits */
#define ACCEPTED_KEY "a CURVE key in Z85 (40 characters, from pcktr keygen) or the path of a file holding it"

static int
is_z85_key(const char *s, size_t len)
{
    uint8_t raw[32];
    char copy[PK_KEY_Z85_LEN + 1];

    if (len != PK_KEY_Z85_LEN)
        return 0;
    memcpy(copy, s, len);
    copy[len] = '\0';
    return zmq_z85_decode(raw, copy) != NULL;
}

/*
 * Where a comment starts in the len bytes at line: a '#' at the start or after a blank. Z85
 * has '#' among its characters, so a '#' inside a key is not a comment.
 */
static size_t
comment_start(const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (line[i] == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t'))
            return i;
    return len;
}

int
pk_keys_parse_text(const char *text, const char *want, char out[PK_KEY_Z85_LEN + 1],
                   char *errbuf)
{
    int bare = 0, lineno = 0, found = 0;
    const char *p = text;

    while (*p != '\0') {
        size_t len = strcspn(p, "\n"), hash;
        const char *start = p, *end;
        p += len + (p[len] == '\n');
        lineno++;
        hash = comment_start(start, len);
        end = start + hash;
        while (start < end && isspace((unsigned char)*start))
            start++;
        while (end > start && isspace((unsigned char)end[-1]))
            end--;
        if (start == end)
            continue;
        /* Z85 has ':' among its characters too: only these two words make a label. */
        const char *label = NULL, *key = start;
        for (int i = 0; i < 2 && label == NULL; i++) {
            const char *word = i == 0 ? "public-key:" : "secret-key:";
            if ((size_t)(end - start) > strlen(word) && strncmp(start, word, strlen(word)) == 0)
                label = word;
        }
        int labelled_as_wanted = label != NULL && strncmp(label, want, strlen(want)) == 0;
        if (label != NULL) {
            key = start + strlen(label);
            while (key < end && isspace((unsigned char)*key))
                key++;
        }
        if (!is_z85_key(key, (size_t)(end - key)))
            return pk_seterr(errbuf, -EINVAL, "line %d is not a CURVE key (\"%.*s\")", lineno,
                             (int)(end - start > 48 ? 48 : end - start), start);
        if (label == NULL)
            bare++;
        if (labelled_as_wanted || (label == NULL && found == 0)) {
            memcpy(out, key, PK_KEY_Z85_LEN);
            out[PK_KEY_Z85_LEN] = '\0';
            found = labelled_as_wanted ? 2 : 1;
        }
    }
    /* A bare key counts only when it is the only key: a labelled file says which is which. */
    if (found == 2 || (found == 1 && bare == 1))
        return 0;
    return pk_seterr(errbuf, -EINVAL, "holds no \"%s:\" line%s", want,
                     bare > 1 ? " and more than one bare key" : "");
}

/* Reads a whole (small) file into a NUL-terminated buffer the caller frees. */
static int
read_small_file(const char *path, char **text, int *loose_mode, char *errbuf)
{
    struct stat st;
    char *buf;
    ssize_t n;
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC), err;

    if (fd < 0)
        return pk_seterr(errbuf, -errno, "cannot open \"%s\": %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > KEY_FILE_MAX) {
        close(fd);
        return pk_seterr(errbuf, -EINVAL, "\"%s\" is not a regular file of at most %u bytes",
                         path, KEY_FILE_MAX);
    }
    *loose_mode = (st.st_mode & 077) != 0;
    if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
        close(fd);
        return pk_seterr(errbuf, -ENOMEM, "out of memory");
    }
    while (len < (size_t)st.st_size && (n = read(fd, buf + len, (size_t)st.st_size - len)) > 0)
        len += (size_t)n;
    err = errno;
    close(fd);
    if (len < (size_t)st.st_size) {
        free(buf);
        return pk_seterr(errbuf, -err, "cannot read \"%s\": %s", path, strerror(err));
    }
    buf[len] = '\0';
    if (strlen(buf) != len) {
        free(buf);
        return pk_seterr(errbuf, -EINVAL, "\"%s\" holds a NUL byte: not a key file", path);
    }
    *text = buf;
    return 0;
}

/* One key from a variable: the value itself, or a file named by it. */
static int
load_key(const char *var, const char *value, const char *want, char out[PK_KEY_Z85_LEN + 1],
         char *errbuf)
{
    char why[PK_ERRBUF_SIZE], *text = NULL;
    int loose = 0, rc;

    if (is_z85_key(value, strlen(value))) {
        memcpy(out, value, PK_KEY_Z85_LEN + 1);
        return 0;
    }
    if (value[0] == '\0' || strchr(value, '/') == NULL) {
        /* Not a key, and not written as a path either: most likely a mistyped key. */
        if (access(value, F_OK) != 0)
            return pk_seterr(errbuf, -EINVAL, "%s=\"%.48s\" is invalid; accepted: %s", var, value,
                             ACCEPTED_KEY);
    }
    if ((rc = read_small_file(value, &text, &loose, why)) != 0)
        return pk_seterr(errbuf, rc == -ENOMEM ? rc : -EINVAL, "%s: %s; accepted: %s", var, why,
                         ACCEPTED_KEY);
    rc = pk_keys_parse_text(text, want, out, why);
    free(text);
    if (rc != 0)
        return pk_seterr(errbuf, -EINVAL, "%s=\"%s\": the file %s; accepted: %s", var, value, why,
                         ACCEPTED_KEY);
    if (loose && strcmp(want, "secret-key") == 0)
        pk_warn("%s=\"%s\": the secret key file is readable by group or others (chmod 600 it)",
                var, value);
    return 0;
}

static int
load_allowed(const char *path, struct pk_curve_keys *k, char *errbuf)
{
    char why[PK_ERRBUF_SIZE], *text = NULL;
    int loose, rc, lineno = 0;
    size_t cap = 0;
    const char *p;

    if ((rc = read_small_file(path, &text, &loose, why)) != 0)
        return pk_seterr(errbuf, rc == -ENOMEM ? rc : -EINVAL,
                         "COLLECT_CURVE_ALLOWED: %s; accepted: a file of agent public keys, one "
                         "per line", why);
    k->allowed = NULL;
    k->nallowed = 0;
    for (p = text; *p != '\0';) {
        size_t len = strcspn(p, "\n");
        char line[256], key[PK_KEY_Z85_LEN + 1];
        lineno++;
        snprintf(line, sizeof(line), "%.*s", (int)(len < sizeof(line) - 1 ? len : sizeof(line) - 1), p);
        p += len + (p[len] == '\n');
        line[comment_start(line, strlen(line))] = '\0';
        if (strspn(line, " \t\r") == strlen(line))
            continue;
        if (pk_keys_parse_text(line, "public-key", key, why) != 0) {
            free(text);
            return pk_seterr(errbuf, -EINVAL,
                             "COLLECT_CURVE_ALLOWED=\"%s\": line %d is not a CURVE public key; "
                             "accepted: one key per line (40 Z85 characters, or \"public-key: "
                             "KEY\" as pcktr keygen prints it), # comments",
                             path, lineno);
        }
        if (k->nallowed == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            void *nv = realloc(k->allowed, ncap * sizeof(*k->allowed));
            if (nv == NULL) {
                free(text);
                return pk_seterr(errbuf, -ENOMEM, "out of memory");
            }
            k->allowed = nv;
            cap = ncap;
        }
        memcpy(k->allowed[k->nallowed++], key, sizeof(key));
    }
    free(text);
    if (k->allowed == NULL && (k->allowed = calloc(1, sizeof(*k->allowed))) == NULL)
        return pk_seterr(errbuf, -ENOMEM, "out of memory");
    return 0;
}

static int
set(const char *v)
{
    return v != NULL && v[0] != '\0';
}

/* Long (71 lines): each mode's key variables in turn, each with its own error sentence. */
int
pk_keys_load(const struct zmq_settings *cfg, enum pk_transport_role role,
             struct pk_curve_keys *k, char *errbuf)
{
    int rc;

    memset(k, 0, sizeof(*k));
    if (role == PK_TRANSPORT_RECEIVER) {
        if (!set(cfg->collect_curve_secretkey)) {
            if (set(cfg->collect_curve_allowed))
                return pk_seterr(errbuf, -EINVAL,
                                 "COLLECT_CURVE_ALLOWED=\"%s\" is set without "
                                 "COLLECT_CURVE_SECRETKEY; accepted: both (client keys are "
                                 "checked only on an encrypted relay)",
                                 cfg->collect_curve_allowed);
            return 0;
        }
        if ((rc = load_key("COLLECT_CURVE_SECRETKEY", cfg->collect_curve_secretkey, "secret-key",
                           k->secret_key, errbuf)) != 0)
            return rc;
        zmq_curve_public(k->public_key, k->secret_key);
        memcpy(k->server_public, k->public_key, sizeof(k->public_key));
        k->enabled = 1;
        if (set(cfg->collect_curve_allowed))
            return load_allowed(cfg->collect_curve_allowed, k, errbuf);
        return 0;
    }

    if (!set(cfg->relay_curve_serverkey)) {
        const char *which = set(cfg->relay_curve_secretkey) ? "RELAY_CURVE_SECRETKEY"
                            : set(cfg->relay_curve_publickey) ? "RELAY_CURVE_PUBLICKEY"
                                                              : NULL;
        if (which != NULL)
            return pk_seterr(errbuf, -EINVAL,
                             "%s is set without RELAY_CURVE_SERVERKEY; accepted: set "
                             "RELAY_CURVE_SERVERKEY to the collector's public key too",
                             which);
        return 0;
    }
    if ((rc = load_key("RELAY_CURVE_SERVERKEY", cfg->relay_curve_serverkey, "public-key",
                       k->server_public, errbuf)) != 0)
        return rc;
    k->enabled = 1;
    if (!set(cfg->relay_curve_secretkey)) {
        if (set(cfg->relay_curve_publickey))
            return pk_seterr(errbuf, -EINVAL,
                             "RELAY_CURVE_PUBLICKEY is set without RELAY_CURVE_SECRETKEY; "
                             "accepted: both, or only the secret key (the public key is "
                             "derived from it)");
        k->ephemeral = 1;
        if (zmq_curve_keypair(k->public_key, k->secret_key) != 0)
            return pk_seterr(errbuf, -zmq_errno(), "cannot make a CURVE key pair: %s",
                             zmq_strerror(zmq_errno()));
        return 0;
    }
    if ((rc = load_key("RELAY_CURVE_SECRETKEY", cfg->relay_curve_secretkey, "secret-key",
                       k->secret_key, errbuf)) != 0)
        return rc;
    zmq_curve_public(k->public_key, k->secret_key);
    if (set(cfg->relay_curve_publickey)) {
        char given[PK_KEY_Z85_LEN + 1];
        if ((rc = load_key("RELAY_CURVE_PUBLICKEY", cfg->relay_curve_publickey, "public-key",
                           given, errbuf)) != 0)
            return rc;
        if (strcmp(given, k->public_key) != 0)
            return pk_seterr(errbuf, -EINVAL,
                             "RELAY_CURVE_PUBLICKEY=\"%s\" is not the public key of "
                             "RELAY_CURVE_SECRETKEY (%s); accepted: the matching key, or unset",
                             given, k->public_key);
    }
    return 0;
}

int
pk_keys_reload_allowed(const char *path, struct pk_curve_keys *k, char *errbuf)
{
    struct pk_curve_keys fresh = {0};
    int rc = load_allowed(path, &fresh, errbuf);

    if (rc != 0) {
        free(fresh.allowed);
        return rc;
    }
    free(k->allowed);
    k->allowed = fresh.allowed;
    k->nallowed = fresh.nallowed;
    return 0;
}

void
pk_keys_free(struct pk_curve_keys *k)
{
    free(k->allowed);
    k->allowed = NULL;
    /* The secret stays out of core dumps taken later. */
    memset(k->secret_key, 0, sizeof(k->secret_key));
}

int
pk_keygen(FILE *out, char *errbuf)
{
    char pub[PK_KEY_Z85_LEN + 1], sec[PK_KEY_Z85_LEN + 1];

    if (!zmq_has("curve"))
        return pk_seterr(errbuf, -ENOTSUP, "this libzmq is built without CURVE");
    if (zmq_curve_keypair(pub, sec) != 0)
        return pk_seterr(errbuf, -zmq_errno(), "cannot make a CURVE key pair: %s",
                         zmq_strerror(zmq_errno()));
    fprintf(out, "public-key: %s\nsecret-key: %s\n", pub, sec);
    memset(sec, 0, sizeof(sec));
    if (fflush(out) != 0)
        return pk_seterr(errbuf, -EIO, "cannot write the keys");
    fprintf(stderr, "pcktr: give the public key out (RELAY_CURVE_SERVERKEY for a collector's, "
                    "COLLECT_CURVE_ALLOWED for an agent's); keep the secret key readable only by "
                    "pcktr\n");
    return 0;
}

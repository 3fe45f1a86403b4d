/*
 * stderr logger. Each record is formatted into one buffer and written with a single write(2),
 * so lines from several processes sharing a terminal do not interleave mid-line.
 */
#include "log.h"
#include "pcktr.h"
#include "text.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum pk_log_level pk_log_min_level = PK_LOG_INFO;
static enum pk_log_format log_format = PK_LOG_TEXT;
static struct pk_log_fields log_context;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void
pk_log_setup(enum pk_log_level level, enum pk_log_format format)
{
    pk_log_min_level = level;
    log_format = format;
}

void
pk_log_set_context(const struct pk_log_fields *context)
{
    log_context = context != NULL ? *context : (struct pk_log_fields){0};
}

int
pk_seterr(char *errbuf, int code, const char *fmt, ...)
{
    va_list ap;

    if (errbuf != NULL) {
        va_start(ap, fmt);
        vsnprintf(errbuf, PK_ERRBUF_SIZE, fmt, ap);
        va_end(ap);
    }
    return code;
}

/*
 * Appends s to out as the body of a JSON string; returns the new length (clamped to cap-1).
 * Bytes that are not UTF-8 (a SOURCE_NAME can hold anything) become U+FFFD, so that every line
 * stays JSON that a strict parser takes.
 */
static size_t
json_escape(char *out, size_t len, size_t cap, const char *s)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t left = strlen(s);

    while (left > 0 && len + 7 < cap) {
        size_t n = pk_utf8_len(p, left);
        if (n == 0) {
            len += (size_t)snprintf(out + len, cap - len, "\\ufffd");
            n = 1;
        } else if (*p == '"' || *p == '\\') {
            out[len++] = '\\';
            out[len++] = (char)*p;
        } else if (*p < 0x20) {
            len += (size_t)snprintf(out + len, cap - len, "\\u%04x", *p);
        } else {
            memcpy(out + len, p, n);
            len += n;
        }
        p += n, left -= n;
    }
    out[len] = '\0';
    return len;
}

/* Appends ,"key":"value" when value is set; returns the new length. */
static size_t
json_field(char *out, size_t len, size_t cap, const char *key, const char *own, const char *ctx)
{
    const char *value = own != NULL && own[0] != '\0' ? own : ctx;

    if (value == NULL || value[0] == '\0' || len + strlen(key) + 8 >= cap)
        return len;
    len += (size_t)snprintf(out + len, cap - len, ",\"%s\":\"", key);
    len = json_escape(out, len, cap, value);
    if (len + 1 < cap)
        out[len++] = '"';
    out[len] = '\0';
    return len;
}

/* Appends the record's fields (or the context's, where the record has none). */
static size_t
json_fields(char *out, size_t len, size_t cap, const struct pk_log_fields *f)
{
    static const struct pk_log_fields none;
    const struct pk_log_fields *x = &log_context;

    if (f == NULL)
        f = &none;
    len = json_field(out, len, cap, "event", f->event, NULL); /* events are never inherited */
    len = json_field(out, len, cap, "source", f->source, x->source);
    len = json_field(out, len, cap, "host", f->host, x->host);
    len = json_field(out, len, cap, "device", f->device, x->device);
    len = json_field(out, len, cap, "endpoint", f->endpoint, x->endpoint);
    return json_field(out, len, cap, "peer", f->peer, x->peer);
}

void
pk_log_write(enum pk_log_level level, const char *module, const struct pk_log_fields *fields,
             const char *fmt, ...)
{
    char msg[2048], line[4608], ts[40];
    struct timespec now;
    struct tm tm;
    va_list ap;
    size_t len;
    int saved_errno = errno;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    len = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + len, sizeof(ts) - len, ".%03ldZ", now.tv_nsec / 1000000);

    if (log_format == PK_LOG_JSON) {
        len = (size_t)snprintf(line, sizeof(line), "{\"time\":\"%s\",\"level\":\"%s\",\"module\":\"",
                               ts, level_names[level]);
        len = json_escape(line, len, sizeof(line), module);
        len += (size_t)snprintf(line + len, sizeof(line) - len, "\",\"message\":\"");
        len = json_escape(line, len, sizeof(line), msg);
        len += (size_t)snprintf(line + len, sizeof(line) - len, "\"");
        len = json_fields(line, len, sizeof(line) - 3, fields);
        len += (size_t)snprintf(line + len, sizeof(line) - len, "}\n");
    } else {
        len = (size_t)snprintf(line, sizeof(line), "%s %-5s %s: %s\n", ts, level_names[level],
                               module, msg);
    }
    if (len >= sizeof(line)) {
        len = sizeof(line) - 1;
        line[len - 1] = '\n';
    }
    /* Best effort: a log line that cannot be written is not worth failing the capture for. */
    if (write(STDERR_FILENO, line, len) < 0)
        (void)0;
    errno = saved_errno;
}

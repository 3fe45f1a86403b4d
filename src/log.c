/*
 * stderr logger. Each record is formatted into one buffer and written with a single write(2),
 * so lines from several processes sharing a terminal do not interleave mid-line.
 */
#include "log.h"
#include "pcktr.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum pk_log_level pk_log_min_level = PK_LOG_INFO;
static enum pk_log_format log_format = PK_LOG_TEXT;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void
pk_log_setup(enum pk_log_level level, enum pk_log_format format)
{
    pk_log_min_level = level;
    log_format = format;
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

/* Appends s to out as the body of a JSON string; returns the new length (clamped to cap-1). */
static size_t
json_escape(char *out, size_t len, size_t cap, const char *s)
{
    for (; *s != '\0' && len + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[len++] = '\\';
            out[len++] = (char)c;
        } else if (c < 0x20) {
            len += (size_t)snprintf(out + len, cap - len, "\\u%04x", c);
        } else {
            out[len++] = (char)c;
        }
    }
    out[len] = '\0';
    return len;
}

void
pk_log_write(enum pk_log_level level, const char *module, const char *fmt, ...)
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
        len += (size_t)snprintf(line + len, sizeof(line) - len, "\"}\n");
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

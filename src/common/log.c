/*
 * stderr logger. Each record is formatted into one buffer and written with a single write(2),
 * so lines from several processes sharing a terminal do not interleave mid-line.
 *
 * Records with an event are rate-limited per event name: 100k hello/goodbye pairs from one
 * peer wrote 50 MB of log in 1.8 s. In each RATE_WINDOW_NS window, the first RATE_BURST records
 * of an event are written and the rest only counted; when the window is over, one line says how
 * many were left out (event log_suppressed). The summary is written before the next record of
 * any kind, or by pk_log_flush (the collector's state timer, and at exit).
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

#define RATE_WINDOW_NS (10 * 1000000000ull)
#define RATE_BURST 20
#define RATE_KINDS 64 /* the code has about 35 events; the last slot takes any beyond */

/* One event's window. Event names and modules are string literals: kept by pointer. */
struct rate {
    const char *event, *module;
    uint64_t start_ns; /* 0: no window open */
    uint64_t written, suppressed;
    enum pk_log_level level; /* the most severe suppressed record */
};

static struct rate rates[RATE_KINDS];

/* Records of these are bounded by design and all wanted: one per source at exit. */
/* Never suppressed: a source's closing totals, and every change of the control plane (who
 * changed what is its audit trail; only token holders from CONTROL_ALLOW make them). */
static const char *const unlimited_events[] = {"source_totals", "control_set", "control_cleared"};

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
    len = json_field(out, len, cap, "peer", f->peer, x->peer);
    return json_field(out, len, cap, "variable", f->variable, NULL);
}

/* Formats and writes one line; extra is appended to a JSON record as is ("" for none). */
static void
write_record(enum pk_log_level level, const char *module, const struct pk_log_fields *fields,
             const char *msg, const char *extra)
{
    char line[4608], ts[40];
    struct timespec now;
    struct tm tm;
    size_t len;

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
        len = json_fields(line, len, sizeof(line) - 3 - strlen(extra), fields);
        len += (size_t)snprintf(line + len, sizeof(line) - len, "%s}\n", extra);
    } else {
        len = (size_t)snprintf(line, sizeof(line), "%s %-5s %s: %s\n", ts, level_names[level],
                               module, msg);
    }
    if (len >= sizeof(line)) {
        len = sizeof(line) - 1;
        line[len - 1] = '\n';
    }
    /* One record, one line: a control character in what a peer or client gave (a filter with a
     * newline, an escape sequence) is shown as '?' in text (JSON escapes it). */
    if (log_format != PK_LOG_JSON)
        for (size_t i = 0; i + 1 < len; i++)
            if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
                line[i] = '?';
    /* Best effort: a log line that cannot be written is not worth failing the capture for. */
    if (write(STDERR_FILENO, line, len) < 0)
        (void)0;
}

static uint64_t
mono_ns(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec + 1; /* never 0 */
}

/* Ends r's window; says how many records it left out, if any. */
static void
close_window(struct rate *r)
{
    char msg[256], extra[128];

    if (r->suppressed > 0) {
        snprintf(msg, sizeof(msg), "%llu more %s suppressed (at most %d per %llu s are written)",
                 (unsigned long long)r->suppressed, r->event, RATE_BURST,
                 RATE_WINDOW_NS / 1000000000ull);
        snprintf(extra, sizeof(extra), ",\"suppressed_event\":\"%s\",\"suppressed\":%llu",
                 r->event, (unsigned long long)r->suppressed);
        write_record(r->level, r->module, &(struct pk_log_fields){.event = "log_suppressed"},
                     msg, extra);
    }
    r->start_ns = 0;
    r->written = r->suppressed = 0;
}

void
pk_log_flush(int all)
{
    uint64_t now = mono_ns();

    for (size_t i = 0; i < RATE_KINDS && rates[i].event != NULL; i++)
        if (rates[i].start_ns != 0 && (all || now - rates[i].start_ns >= RATE_WINDOW_NS))
            close_window(&rates[i]);
}

/* 1 when a record of this event may be written now; counts it otherwise. */
static int
rate_allows(enum pk_log_level level, const char *module, const char *event)
{
    struct rate *r = NULL;
    uint64_t now;
    size_t i;

    for (i = 0; i < PK_ARRAY_LEN(unlimited_events); i++)
        if (strcmp(event, unlimited_events[i]) == 0)
            return 1;
    for (i = 0; i < RATE_KINDS && r == NULL; i++)
        if (rates[i].event == NULL || strcmp(rates[i].event, event) == 0 || i == RATE_KINDS - 1)
            r = &rates[i];
    if (r->event == NULL)
        r->event = i == RATE_KINDS ? "other events" : event;
    pk_log_flush(0); /* summaries of windows that are over come before this record */
    now = mono_ns();
    if (r->start_ns == 0) {
        r->start_ns = now;
        r->module = module;
    }
    if (r->written < RATE_BURST) {
        r->written++;
        return 1;
    }
    if (r->suppressed++ == 0 || level > r->level)
        r->level = level;
    return 0;
}

void
pk_log_write(enum pk_log_level level, const char *module, const struct pk_log_fields *fields,
             const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    int saved_errno = errno;

    if (fields != NULL && fields->event != NULL && fields->event[0] != '\0' &&
        !rate_allows(level, module, fields->event)) {
        errno = saved_errno;
        return;
    }
    if (fields == NULL || fields->event == NULL)
        pk_log_flush(0);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    write_record(level, module, fields, msg, "");
    errno = saved_errno;
}

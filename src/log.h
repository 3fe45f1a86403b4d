/*
 * Logging to stderr only (stdout carries capture data). Text for people, or one JSON object per
 * line (LOG_FORMAT=json). Single-threaded: called from the loop thread only.
 */
#ifndef PK_LOG_H
#define PK_LOG_H

enum pk_log_level { PK_LOG_DEBUG, PK_LOG_INFO, PK_LOG_WARN, PK_LOG_ERROR };
enum pk_log_format { PK_LOG_TEXT, PK_LOG_JSON };

extern enum pk_log_level pk_log_min_level;

/** Sets the threshold and output format; before this, INFO and text are used. */
void pk_log_setup(enum pk_log_level level, enum pk_log_format format);

/** Writes one record; use the pk_log() macro, which skips argument evaluation when filtered. */
void pk_log_write(enum pk_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Each .c file that logs defines PK_LOG_MODULE "name" before using these. */
#define pk_log(level, ...)                                                                         \
    do {                                                                                           \
        if ((level) >= pk_log_min_level)                                                           \
            pk_log_write((level), PK_LOG_MODULE, __VA_ARGS__);                                     \
    } while (0)
#define pk_debug(...) pk_log(PK_LOG_DEBUG, __VA_ARGS__)
#define pk_info(...) pk_log(PK_LOG_INFO, __VA_ARGS__)
#define pk_warn(...) pk_log(PK_LOG_WARN, __VA_ARGS__)
#define pk_error(...) pk_log(PK_LOG_ERROR, __VA_ARGS__)

#endif

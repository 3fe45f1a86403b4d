/*
 * Logging to stderr only (stdout carries capture data). Text for people, or one JSON object per
 * line (LOG_FORMAT=json). Single-threaded: called from the loop thread only.
 */
#ifndef PK_LOG_H
#define PK_LOG_H

enum pk_log_level { PK_LOG_DEBUG, PK_LOG_INFO, PK_LOG_WARN, PK_LOG_ERROR };
enum pk_log_format { PK_LOG_TEXT, PK_LOG_JSON };

extern enum pk_log_level pk_log_min_level;

/*
 * What a record is about, as separate fields for LOG_FORMAT=json (NULL or "": left out). The
 * text format prints only the message, so a message names its subject in words as well.
 * `event` is a stable name for machines (source_up, source_gone, peer_refused, ...); the list is
 * in docs/LOGGING.md.
 */
struct pk_log_fields {
    const char *event;
    const char *source, *host, *device; /* a capture source: SOURCE_NAME, its host and device */
    const char *endpoint;               /* RELAY_ENDPOINT or COLLECT_ENDPOINT */
    const char *peer;                   /* the network peer ("ip:port" or an IP) */
    const char *variable;               /* a configuration variable a record is about */
};

/** Sets the threshold and output format; before this, INFO and text are used. */
void pk_log_setup(enum pk_log_level level, enum pk_log_format format);

/** Fields added to every record of this process (the agent's source, device and endpoint);
 *  a record's own fields win. The strings must outlive the logger; NULL clears. */
void pk_log_set_context(const struct pk_log_fields *context);

/**
 * Records with an event are rate-limited per event name: at most 20 per 10 s window are written,
 * then one log_suppressed line says how many more there were. This writes the summaries of the
 * windows that are over (all of them when `all` is set, at exit). Call it now and then.
 */
void pk_log_flush(int all);

/** Writes one record; use the pk_log() macros, which skip argument evaluation when filtered. */
void pk_log_write(enum pk_log_level level, const char *module, const struct pk_log_fields *fields,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Each .c file that logs defines PK_LOG_MODULE "name" before using these. */
#define pk_log(level, ...)                                                                         \
    do {                                                                                           \
        if ((level) >= pk_log_min_level)                                                           \
            pk_log_write((level), PK_LOG_MODULE, NULL, __VA_ARGS__);                               \
    } while (0)
/*
 * The same with fields: pk_warn_with(&(struct pk_log_fields){.event = "x", .peer = p}, fmt, ...).
 * `fields` is not parenthesized on purpose: the preprocessor splits a compound literal's
 * initializers at their commas, and the expansion joins the pieces back together.
 */
#define pk_log_with(level, fields, ...)                                                            \
    do {                                                                                           \
        if ((level) >= pk_log_min_level)                                                           \
            pk_log_write((level), PK_LOG_MODULE, fields, __VA_ARGS__);                             \
    } while (0)
#define pk_debug(...) pk_log(PK_LOG_DEBUG, __VA_ARGS__)
#define pk_info(...) pk_log(PK_LOG_INFO, __VA_ARGS__)
#define pk_warn(...) pk_log(PK_LOG_WARN, __VA_ARGS__)
#define pk_error(...) pk_log(PK_LOG_ERROR, __VA_ARGS__)
#define pk_info_with(fields, ...) pk_log_with(PK_LOG_INFO, fields, __VA_ARGS__)
#define pk_warn_with(fields, ...) pk_log_with(PK_LOG_WARN, fields, __VA_ARGS__)

#endif

/*
 * Configuration from environment variables. One static table (config.c) describes every
 * variable: its name, type, default, accepted values and help; it drives parsing, `--help` and
 * the exit-2 error lines. Pure: the environment comes through a getenv-like function.
 */
#ifndef PK_CONFIG_H
#define PK_CONFIG_H

#include "access.h"
#include "endpoint.h"
#include "serve.h"
#include "transport.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum pk_mode { PK_MODE_CAPTURE, PK_MODE_COLLECT };

struct pk_config {
    int mode; /* enum pk_mode */
    const char *device;
    const char *filter;
    const char *read_file;      /* NULL: live capture */
    const char *relay_endpoint; /* as written; parsed into relay_ep */
    const char *collect_endpoint;
    const char *relay_transport;
    const char *metrics_addrport; /* "" disables the HTTP server */
    const char *source_name;
    uint64_t snaplen;
    int promisc;
    uint64_t buffer_size;
    int log_level;  /* enum pk_log_level */
    int log_format; /* enum pk_log_format */
    uint64_t batch_bytes;
    uint64_t relay_queue;
    uint64_t output_buffer;
    uint64_t heartbeat_ms;
    uint64_t linger_ms;
    uint64_t relay_timeout_ms;
    int output_format;  /* enum pk_output_format */
    const char *output; /* "-" is stdout, "none" no primary output */
    const char *output_rotate; /* OUTPUT_ROTATE as written; "" rotates nothing */
    uint64_t output_keep;      /* OUTPUT_KEEP; 0 keeps every completed file */
    uint64_t rotate_size;        /* parsed from OUTPUT_ROTATE; 0: no size limit */
    uint64_t rotate_interval_ms; /* parsed from OUTPUT_ROTATE; 0: no interval */
    uint64_t merge_window_ms; /* 0: arrival order */
    uint64_t stale_after_ms;
    uint64_t gone_after_ms;
    const char *collect_allow; /* as written; parsed into allow */
    const char *run_as; /* "" keeps the user */
    /* Readers of the merged stream (SERVE_*): as written, and parsed. */
    const char *serve_endpoint, *serve_connect, *serve_allow_text;
    int serve_format; /* index in pcap|pcap-ns|pcapng; entries carry their enum pk_output_format */
    uint64_t serve_buffer, serve_max_readers;
    struct pk_serve_endpoint serve_listen[PK_SERVE_MAX_ENDPOINTS], serve_dial[PK_SERVE_MAX_ENDPOINTS];
    int nserve_listen, nserve_dial;
    struct pk_cidr serve_allow[PK_ALLOW_MAX]; /* nserve_allow == 0: loopback only */
    int nserve_allow;
    /* Thin links (thin.c): RELAY_COMPRESSION as written and parsed, RELAY_RATE_LIMIT. */
    const char *relay_compression;
    int compression, compression_level; /* enum pk_compression; zstd's level */
    uint64_t relay_rate_limit;          /* bytes per second; 0: none */
    const char *filter_file;            /* FILTER_FILE; "" when unset */
    const char *sample;                 /* SAMPLE as written, */
    uint32_t sample_n;                  /* its N: 1 flow in N is kept; 1: every packet */
    /* The control plane (docs/CONTROL.md). */
    int control;                     /* capture: CONTROL, 1: apply control messages */
    const char *control_token_file;  /* collect: ""; the API is off */
    const char *control_allow_text;  /* collect: CONTROL_ALLOW as written */
    struct pk_cidr control_allow[PK_ALLOW_MAX]; /* ncontrol_allow == 0: loopback only */
    int ncontrol_allow;
    const char *control_state;       /* collect: CONTROL_STATE, "" in memory only */

    /* RELAY_TRANSPORT, and its rows of the table parsed into its settings block (opaque: its
     * configure() reads it) */
    const struct pk_transport_ops *transport;
    _Alignas(max_align_t) unsigned char transport_settings[PK_TRANSPORT_SETTINGS_MAX];
    /* FORWARD_ENDPOINT (collect): its transport (the scheme names it), NULL when empty, and its
     * rows parsed into its own block. */
    const char *forward_endpoint;
    const struct pk_transport_ops *forward;
    _Alignas(max_align_t) unsigned char forward_settings[PK_TRANSPORT_SETTINGS_MAX];

    struct pk_endpoint relay_ep;   /* parsed, not resolved */
    struct pk_endpoint collect_ep; /* parsed, not resolved */
    struct pk_endpoint metrics_ep; /* parsed when metrics_addrport is not empty */
    struct pk_cidr allow[PK_ALLOW_MAX]; /* COLLECT_ALLOW; nallow == 0: any address */
    int nallow;
    char source_name_buf[320];     /* storage for the computed SOURCE_NAME default */
};

typedef const char *(*pk_getenv_fn)(const char *name);

/**
 * Fills cfg from the environment. Returns 0, or -EINVAL with one line in errbuf naming the
 * variable, the value and what is accepted (the caller exits 2). Strings in cfg borrow from the
 * environment or from cfg itself; they live as long as both do.
 */
int pk_config_load(struct pk_config *cfg, pk_getenv_fn getenv_fn, char *errbuf);

/**
 * The chosen transport's config from its settings (keys read from files, say): 0 and *out, or
 * -EINVAL with one line in errbuf (exit 2), or another -errno (exit 1). Free it with
 * pk_config_transport_free.
 */
int pk_config_transport(const struct pk_config *cfg, struct pk_transport_config **out,
                        char *errbuf);
void pk_config_transport_free(const struct pk_config *cfg, struct pk_transport_config *tc);

/** The thin-link settings (thin.c): RELAY_COMPRESSION and SAMPLE parsed. 0, or -EINVAL + errbuf. */
int pk_config_check_thin(struct pk_config *cfg, char *errbuf);

/**
 * Sets one thin-link setting (RELAY_COMPRESSION, RELAY_RATE_LIMIT or SAMPLE) as a FILTER_FILE
 * line gives it, parsed as its row would be; value must live as long as cfg. 0, or -EINVAL +
 * errbuf (cfg may then hold the bad value: work on a copy).
 */
int pk_config_set_thin(struct pk_config *cfg, const char *name, const char *value, char *errbuf);

/** Writes the --help text: every variable with its default and meaning. */
void pk_config_print_help(FILE *out);

#endif

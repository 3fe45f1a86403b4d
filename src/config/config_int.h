/*
 * Private to the configuration module: the row type of the table (config_vars.c), which the
 * rows of each transport are turned into (config_transport.c), the parser both use (config.c),
 * and the checks config.c runs after parsing that live in files of their own (config_rotate.c).
 */
#ifndef PK_CONFIG_INT_H
#define PK_CONFIG_INT_H

#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cfg_type { CFG_STRING, CFG_CHOICE, CFG_UINT, CFG_SIZE, CFG_BOOL, CFG_DURATION };

struct cfg_var {
    const char *name;
    enum cfg_type type;
    size_t offset;      /* of the field in struct pk_config */
    const char *def;    /* default as a user would write it; NULL: unset */
    const char *choices; /* CFG_CHOICE: "a|b|c", the index is stored */
    uint64_t min, max;  /* numeric bounds, inclusive */
    const char *help;
};

/** config_vars.c: the core variables, in --help order. */
extern const struct cfg_var pk_config_vars[];
extern const size_t pk_config_nvars;

/** Parses value into the field of v in the block at base (struct pk_config or a settings
 *  block): 0, or -EINVAL with the exit-2 line in errbuf. */
int pk_config_parse_var(void *base, const struct cfg_var *v, const char *value, char *errbuf);

/** The "default:" line of --help. */
void pk_config_print_default(FILE *out, const char *def);

/** config_transport.c: RELAY_TRANSPORT names a transport; every transport's rows parse. */
int pk_config_check_transport(struct pk_config *cfg, pk_getenv_fn getenv_fn, char *errbuf);

/** config_transport.c: each transport's own rows in --help. */
void pk_config_print_transport_rows(FILE *out);
/**
 * OUTPUT_ROTATE ("100M", "1h", "100M,1h") into rotate_size and rotate_interval_ms, and
 * OUTPUT_KEEP, which need OUTPUT to be a file path. 0, or -EINVAL with the line for exit 2.
 */
int pk_config_check_rotate(struct pk_config *cfg, char *errbuf);

#endif

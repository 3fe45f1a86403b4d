/*
 * The checks config.c runs after parsing the table that live in files of their own. Private to
 * src/config/.
 */
#ifndef PK_CONFIG_INT_H
#define PK_CONFIG_INT_H

#include "config.h"

/**
 * OUTPUT_ROTATE ("100M", "1h", "100M,1h") into rotate_size and rotate_interval_ms, and
 * OUTPUT_KEEP, which need OUTPUT to be a file path. 0, or -EINVAL with the line for exit 2.
 */
int pk_config_check_rotate(struct pk_config *cfg, char *errbuf);

#endif

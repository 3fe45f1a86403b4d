/*
 * FILTER_FILE: the agent's BPF filter in a file, read at start and again on SIGHUP
 * (agent_reload.c), with the thin-link settings it may set too. A line NAME=VALUE with NAME
 * one of RELAY_COMPRESSION, RELAY_RATE_LIMIT, SAMPLE sets that setting (over the
 * environment's); lines starting with # are comments; every other line is part of the BPF
 * expression (lines joined with spaces).
 */
#ifndef PK_FILTERFILE_H
#define PK_FILTERFILE_H

#include <stddef.h>

#define PK_FILTER_FILE_MAX 4096 /* bytes of expression: with the relay's exclusion, 8 KiB */
#define PK_FILTER_FILE_VALUE_MAX 32

enum pk_ff_setting { PK_FF_COMPRESSION, PK_FF_RATE_LIMIT, PK_FF_SAMPLE, PK_FF_SETTINGS };

struct pk_filter_file {
    char filter[PK_FILTER_FILE_MAX];
    char value[PK_FF_SETTINGS][PK_FILTER_FILE_VALUE_MAX]; /* "" when the file does not set it */
};

/** The NAME of a setting (RELAY_COMPRESSION, ...). */
extern const char *const pk_ff_setting_names[PK_FF_SETTINGS];

/**
 * Reads path. 0, or -errno with a sentence in errbuf naming FILTER_FILE: unreadable, -EFBIG
 * (a file over 16 KiB, or an expression over PK_FILTER_FILE_MAX - 1 bytes), -EINVAL (a NUL byte,
 * an unknown NAME=, a value over 31 bytes).
 */
int pk_filter_file_read(const char *path, struct pk_filter_file *ff, char *errbuf);

#endif

/*
 * FILTER_FILE: the agent's BPF filter in a file, read at start and again on SIGHUP
 * (agent_reload.c). The file holds one expression, on one line or several.
 */
#ifndef PK_FILTERFILE_H
#define PK_FILTERFILE_H

#include <stddef.h>

#define PK_FILTER_FILE_MAX 4096 /* bytes of expression: with the relay's exclusion, 8 KiB */

/**
 * Reads the expression in path into buf (cap bytes): line breaks and tabs become spaces, and
 * leading and trailing blanks go. 0, or -errno with a sentence in errbuf naming FILTER_FILE
 * (unreadable, -EFBIG over cap - 1 bytes, -EINVAL a NUL byte).
 */
int pk_filter_file_read(const char *path, char *buf, size_t cap, char *errbuf);

#endif

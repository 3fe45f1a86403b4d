/*
 * The JSON /status document (schema: docs/STATUS.md) of a capture or collect report.
 * Returns a string the caller frees with free().
 */
#ifndef PK_STATUS_H
#define PK_STATUS_H

#include "report.h"

char *pk_status_capture(const struct pk_capture_report *r);
char *pk_status_collect(const struct pk_collect_report *r);

#endif

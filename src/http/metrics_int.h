/* Shared by the metrics renderers (metrics.c, metrics_sources.c); not part of metrics.h. */
#ifndef PK_METRICS_INT_H
#define PK_METRICS_INT_H

#include "buf.h"
#include "report.h"

#include <stdint.h>

/** Appends the HELP and TYPE lines of a family. */
void pk_metrics_family(struct pk_buf *b, const char *name, const char *type, const char *help);
/** Appends a family of one unlabelled sample v. */
void pk_metrics_single(struct pk_buf *b, const char *name, const char *type, const char *help,
                       uint64_t v);
/** Appends the per-source families and the source table's counts of a collect report. */
void pk_metrics_sources(struct pk_buf *b, const struct pk_collect_report *r);

#endif

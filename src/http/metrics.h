/*
 * Prometheus text exposition (format 0.0.4) of a capture or collect report, followed by the
 * standard process metrics. Names follow Prometheus conventions; label values are escaped.
 */
#ifndef PK_METRICS_H
#define PK_METRICS_H

#include "buf.h"
#include "report.h"

void pk_metrics_capture(struct pk_buf *b, const struct pk_capture_report *r);
void pk_metrics_collect(struct pk_buf *b, const struct pk_collect_report *r);

/** Appends v to b escaped for a label value (backslash, double quote, newline). */
void pk_metrics_escape(struct pk_buf *b, const char *v);

#endif

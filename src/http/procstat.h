/*
 * The standard process metrics, as the Prometheus client libraries export them, read from
 * /proc/self. Linux only.
 */
#ifndef PK_PROCSTAT_H
#define PK_PROCSTAT_H

#include "buf.h"

/** Appends process_cpu_seconds_total, process_resident_memory_bytes, ... to b. */
void pk_procstat_render(struct pk_buf *b);

#endif

/*
 * Private to the /status renderers (status.c, status_control.c): the control plane's objects.
 */
#ifndef PK_STATUS_INT_H
#define PK_STATUS_INT_H

#include "report.h"

#include <cjson/cJSON.h>

struct pk_control_plane;
struct pk_source;

/** Collector: "control": on or off, its newest generation, the API's answers by result. */
void pk_status_add_plane(cJSON *o, const struct pk_control_plane *cp);
/** Agent: "control": what the collector set, and what it sent that was not taken. */
void pk_status_add_agent_control(cJSON *o, const struct pk_capture_report *r);
/** A source's "control": desired, applied and refused generations, its state, pushes. */
void pk_status_add_source_control(cJSON *o, const struct pk_collect_report *r,
                                  const struct pk_source *s);

#endif

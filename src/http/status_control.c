/* /status: the control plane's objects (docs/CONTROL.md, docs/STATUS.md), for status.c. */
#include "status_int.h"
#include "control.h"
#include "sources.h"

#include <cjson/cJSON.h>

/* The control plane: on or off, its newest generation, the API's answers by result. */
void
pk_status_add_plane(cJSON *o, const struct pk_control_plane *cp)
{
    const uint64_t *n = cp != NULL ? pk_control_plane_counters(cp) : NULL;
    cJSON *c = cJSON_AddObjectToObject(o, "control"), *req;

    cJSON_AddBoolToObject(c, "enabled", pk_control_plane_enabled(cp));
    cJSON_AddNumberToObject(c, "generation", (double)pk_control_plane_generation(cp));
    req = cJSON_AddObjectToObject(c, "requests");
    for (int i = 0; i < PK_CONTROL_RESULTS; i++)
        cJSON_AddNumberToObject(req, pk_control_result_names[i], n != NULL ? (double)n[i] : 0);
}

/* The agent's control plane: what the collector set, and what it sent that was not taken. */
void
pk_status_add_agent_control(cJSON *o, const struct pk_capture_report *r)
{
    cJSON *c = cJSON_AddObjectToObject(o, "control");

    cJSON_AddBoolToObject(c, "enabled", r->control.enabled);
    cJSON_AddNumberToObject(c, "applied_generation", (double)r->control.applied_gen);
    cJSON_AddNumberToObject(c, "refused_generation", (double)r->control.refused_gen);
    cJSON_AddBoolToObject(c, "paused", r->control.paused);
    cJSON_AddStringToObject(c, "central_filter",
                            r->control.central_filter ? r->control.central_filter : "");
    cJSON_AddNumberToObject(c, "paused_packets", (double)r->stats.paused);
    cJSON_AddNumberToObject(c, "rejected_messages", (double)r->control.rejected);
}

/* A source's control: what the plane wants of it, what its agent applied or refused, pushes. */
void
pk_status_add_source_control(cJSON *o, const struct pk_collect_report *r, const struct pk_source *s)
{
    cJSON *ctl = cJSON_AddObjectToObject(o, "control");
    uint64_t desired = r->control_desired ? r->control_desired(r->control_data, s->name) : 0;
    enum pk_source_control st =
        pk_source_control_state(s, desired, r->control_on, r->control_return_path);

    cJSON_AddBoolToObject(ctl, "takes_control", s->takes_control);
    cJSON_AddNumberToObject(ctl, "desired_generation", (double)desired);
    cJSON_AddNumberToObject(ctl, "applied_generation", (double)s->applied_gen);
    cJSON_AddNumberToObject(ctl, "refused_generation", (double)s->refused_gen);
    cJSON_AddStringToObject(ctl, "state", pk_source_control_names[st]);
    cJSON_AddNumberToObject(ctl, "paused_packets", (double)s->agent.paused);
    cJSON_AddNumberToObject(ctl, "sends", (double)s->control_sends);
    cJSON_AddNumberToObject(ctl, "send_failures", (double)s->control_send_failures);
}

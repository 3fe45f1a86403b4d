/*
 * Pushing the control plane's desired state to the agents (docs/CONTROL.md, "At the collector:
 * desired and applied"). The plane (src/control) knows what is wanted per source name; the
 * source table knows what each agent applied or refused and what was pushed to it
 * (sources_control.c decides when); this file joins them to the transport's return path.
 * Private to the collector. Loop thread only.
 */
#ifndef PK_CONTROL_PUSH_H
#define PK_CONTROL_PUSH_H

#include <stdint.h>

struct collector;
struct pk_source;

/**
 * Opens c->control when CONTROL_TOKEN_FILE or CONTROL_STATE is set (c->control stays NULL when
 * both are empty: the control plane is off). Logs a failure; returns an exit code.
 */
int pk_control_push_open(struct collector *c);

/** Frees c->control (after the HTTP server that serves its API is freed). */
void pk_control_push_free(struct collector *c);

/**
 * After a hello or stats of s was applied: logs a change of the generation it applied or
 * refused (was: the values before), then pushes the desired state when it is due.
 */
void pk_control_push_source(struct collector *c, struct pk_source *s, uint64_t applied_was,
                            uint64_t refused_was, uint64_t now_ns);

/** The plane's pk_control_changed_cb (data: the collector): pushes at once to the sources
 *  called name (NULL: every source) that take control. */
void pk_control_push_on_changed(void *data, const char *name);

/** The desired generation for the source called name, 0 when the plane is off (data: the
 *  collector); for the report. */
uint64_t pk_control_push_desired_gen(const void *data, const char *name);

#endif

/*
 * The control plane's open and free as control_push.c expects them (TODO(integration): the
 * store's own control.h declares them; drop this file then). Force-included into the build of
 * test_control_push only, whose test file defines them.
 */
#ifndef PK_CONTROL_STANDIN_H
#define PK_CONTROL_STANDIN_H

#include "control.h"

struct pk_config;

int pk_control_plane_open(struct pk_control_plane **out, const struct pk_config *cfg,
                          pk_control_changed_cb cb, void *data, char *errbuf);
void pk_control_plane_free(struct pk_control_plane *cp);

#endif

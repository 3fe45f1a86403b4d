/*
 * The status page for people, served at GET / by both modes: self-contained HTML that reads
 * /status from the same server. Pure; the page is a constant.
 */
#ifndef PK_STATUSPAGE_H
#define PK_STATUSPAGE_H

#include <stddef.h>

/** An http.h route renderer: a malloc'd copy of the page in *len bytes (NULL when out of memory). */
char *pk_status_page_render(void *data, size_t *len);

#endif

/*
 * A growable text buffer for rendering responses (Prometheus text, JSON). Allocation failure
 * aborts: these buffers are small, and a collector out of memory cannot do anything useful.
 */
#ifndef PK_BUF_H
#define PK_BUF_H

#include <stddef.h>

struct pk_buf {
    char *data; /* NUL-terminated; owned; free with pk_buf_free */
    size_t len, cap;
};

void pk_buf_printf(struct pk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pk_buf_free(struct pk_buf *b);

#endif

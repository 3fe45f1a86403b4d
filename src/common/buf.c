/* Growable text buffer; see buf.h. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void
pk_buf_printf(struct pk_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        size_t room = b->cap - b->len;
        va_start(ap, fmt);
        n = vsnprintf(b->data ? b->data + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        b->cap = b->cap * 2 + (size_t)n + 256;
        if ((b->data = realloc(b->data, b->cap)) == NULL)
            abort();
    }
}

void
pk_buf_free(struct pk_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/*
 * libFuzzer target: the control API's request body (pk_control_parse_body), which an HTTP
 * client holding the token sends. A body it takes must give an entry within the documented
 * bounds: a filter of at most PK_CONTROL_FILTER_MAX bytes that compiled, a printable "by" of at
 * most PK_CONTROL_BY_MAX bytes.
 */
#include "control.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pk_control_entry e;
    char by[PK_CONTROL_BY_MAX + 1], errbuf[512];

    memset(&e, 0, sizeof(e));
    by[0] = '\0';
    if (pk_control_parse_body((const char *)data, size, &e, by, errbuf) == 0) {
        if (e.filter != NULL && strlen(e.filter) > PK_CONTROL_FILTER_MAX)
            abort();
        if (strlen(by) > PK_CONTROL_BY_MAX)
            abort();
        for (const char *p = by; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                abort();
    } else if (memchr(errbuf, '\n', strnlen(errbuf, sizeof(errbuf))) != NULL) {
        abort(); /* an error is one line */
    }
    pk_control_entry_reset(&e);
    return 0;
}

/*
 * libFuzzer target: the configuration parser, given NAME=VALUE lines as its environment. It
 * must accept or refuse with one line naming a variable, and what it accepts must hold.
 */
#include "config.h"
#include "pcktr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_VARS 32

static char *names[MAX_VARS], *values[MAX_VARS];
static int nvars;

static const char *
fuzz_getenv(const char *name)
{
    for (int i = nvars - 1; i >= 0; i--) /* the last assignment wins, as in a shell */
        if (strcmp(names[i], name) == 0)
            return values[i];
    return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), *line, *save = NULL, errbuf[PK_ERRBUF_SIZE];
    struct pk_config cfg;

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    nvars = 0;
    for (line = strtok_r(text, "\n", &save); line && nvars < MAX_VARS;
         line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');
        if (eq == NULL)
            continue;
        *eq = '\0';
        names[nvars] = line;
        values[nvars++] = eq + 1;
    }
    errbuf[0] = '\0';
    if (pk_config_load(&cfg, fuzz_getenv, errbuf) == 0) {
        size_t name_len = strlen(cfg.source_name);
        if (name_len == 0 || name_len > 255 || cfg.nallow < 0 || cfg.nallow > PK_ALLOW_MAX ||
            cfg.relay_ep.port == 0 || cfg.gone_after_ms < cfg.stale_after_ms)
            abort();
    } else if (errbuf[0] == '\0' || strchr(errbuf, '\n') != NULL || strchr(errbuf, '=') == NULL) {
        abort(); /* a refusal must be one line that names the variable */
    }
    free(text);
    return 0;
}

/* OUTPUT_ROTATE and OUTPUT_KEEP, checked once the table is parsed (config_int.h). */
#include "config.h"
#include "config_int.h"
#include "pcktr.h"
#include "units.h"

#include <errno.h>
#include <string.h>

/* One part of OUTPUT_ROTATE: a size (K, M, G) or a duration (ms, s, m, h), told by its unit. */
static int
rotate_part(struct pk_config *cfg, const char *part)
{
    uint64_t v;

    if (strspn(part, "0123456789.") == strlen(part))
        return -EINVAL; /* a bare number: bytes or seconds? */
    if (pk_parse_duration_ms(part, &v) == 0) {
        if (cfg->rotate_interval_ms != 0 || v < 1000 || v > 31ULL * 86400000)
            return -EINVAL;
        cfg->rotate_interval_ms = v;
        return 0;
    }
    if (pk_parse_size(part, &v) != 0 || cfg->rotate_size != 0 || v < 4096 || v > (1ULL << 50))
        return -EINVAL;
    cfg->rotate_size = v;
    return 0;
}

/* OUTPUT_ROTATE ("100M", "1h", "100M,1h") and OUTPUT_KEEP, which need OUTPUT to be a file. */
int
pk_config_check_rotate(struct pk_config *cfg, char *errbuf)
{
    char buf[64], *save = NULL;

    if (cfg->output_rotate[0] == '\0') {
        if (cfg->output_keep != 0)
            return pk_seterr(errbuf, -EINVAL, "OUTPUT_KEEP=\"%llu\" is set without "
                             "OUTPUT_ROTATE; accepted: OUTPUT_KEEP with OUTPUT_ROTATE, or 0",
                             (unsigned long long)cfg->output_keep);
        return 0;
    }
    if (strlen(cfg->output_rotate) >= sizeof(buf))
        goto bad;
    strcpy(buf, cfg->output_rotate);
    for (char *p = strtok_r(buf, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save))
        if (rotate_part(cfg, p) != 0)
            goto bad;
    if (cfg->rotate_size == 0 && cfg->rotate_interval_ms == 0)
        goto bad;
    if (strcmp(cfg->output, "-") == 0 || strcmp(cfg->output, "none") == 0)
        return pk_seterr(errbuf, -EINVAL,
                         "OUTPUT_ROTATE=\"%s\" is set with OUTPUT=\"%s\"; accepted: "
                         "OUTPUT_ROTATE with OUTPUT a file path (for stdout, pipe into tcpdump "
                         "-w FILE -C/-G)",
                         cfg->output_rotate, cfg->output);
    return 0;
bad:
    return pk_seterr(errbuf, -EINVAL,
                     "OUTPUT_ROTATE=\"%s\" is invalid; accepted: a size from 4K (K, M, G: "
                     "100M), an interval from 1s to 31 days (s, m, h: 1h), or both: 100M,1h",
                     cfg->output_rotate);
}

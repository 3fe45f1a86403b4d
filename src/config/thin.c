/* The thin-link settings' syntax (config.h): RELAY_COMPRESSION = none | lz4 | zstd[:LEVEL],
 * SAMPLE = 1/N. */
#include "compress.h"
#include "config.h"
#include "pcktr.h"
#include "units.h"

#include <errno.h>
#include <string.h>

#define ZSTD_DEFAULT_LEVEL 3 /* zstd's own default: most of the ratio for little CPU */

static int
parse_compression(struct pk_config *cfg, char *errbuf)
{
    const char *v = cfg->relay_compression;
    uint64_t level = ZSTD_DEFAULT_LEVEL;

    cfg->compression_level = 0;
    if (strcmp(v, "none") == 0 || v[0] == '\0') {
        cfg->compression = PK_COMPRESS_NONE;
        return 0;
    }
    if (strcmp(v, "lz4") == 0) {
        cfg->compression = PK_COMPRESS_LZ4;
        return 0;
    }
    if (strncmp(v, "zstd", 4) == 0 &&
        (v[4] == '\0' || (v[4] == ':' && pk_parse_uint(v + 5, &level) == 0 && level >= 1 &&
                          level <= 19))) {
        cfg->compression = PK_COMPRESS_ZSTD;
        cfg->compression_level = (int)level;
        return 0;
    }
    return pk_seterr(errbuf, -EINVAL,
                     "RELAY_COMPRESSION=\"%s\" is invalid; accepted: none, lz4, zstd or "
                     "zstd:LEVEL (LEVEL 1 to 19)",
                     v);
}

#define SAMPLE_N_MAX 1000000u

static int
parse_sample(struct pk_config *cfg, char *errbuf)
{
    uint64_t n;

    if (strncmp(cfg->sample, "1/", 2) != 0 || pk_parse_uint(cfg->sample + 2, &n) != 0 || n < 1 ||
        n > SAMPLE_N_MAX)
        return pk_seterr(errbuf, -EINVAL,
                         "SAMPLE=\"%s\" is invalid; accepted: 1/N with N from 1 to %u (1/1: "
                         "every packet)",
                         cfg->sample, SAMPLE_N_MAX);
    cfg->sample_n = (uint32_t)n;
    return 0;
}

/* FILTER_FILE replaces FILTER, and is for a live capture (SIGHUP changes its filter). */
static int
check_filter_file(const struct pk_config *cfg, char *errbuf)
{
    if (cfg->filter_file[0] == '\0' || cfg->mode != PK_MODE_CAPTURE)
        return 0;
    if (cfg->filter[0] != '\0')
        return pk_seterr(errbuf, -EINVAL,
                         "FILTER=\"%s\" and FILTER_FILE=\"%s\" are both set; accepted: one of "
                         "them (FILTER_FILE holds the filter and is read again on SIGHUP)",
                         cfg->filter, cfg->filter_file);
    if (cfg->read_file != NULL && cfg->read_file[0] != '\0')
        return pk_seterr(errbuf, -EINVAL,
                         "FILTER_FILE=\"%s\" is set with READ_FILE; accepted: FILTER_FILE with a "
                         "live DEVICE, FILTER with READ_FILE",
                         cfg->filter_file);
    return 0;
}

#define RATE_LIMIT_MAX (1ULL << 40) /* as RELAY_RATE_LIMIT's row in config.c */

int
pk_config_set_thin(struct pk_config *cfg, const char *name, const char *value, char *errbuf)
{
    uint64_t rate;

    if (strcmp(name, "RELAY_COMPRESSION") == 0) {
        cfg->relay_compression = value;
        return parse_compression(cfg, errbuf);
    }
    if (strcmp(name, "SAMPLE") == 0) {
        cfg->sample = value;
        return parse_sample(cfg, errbuf);
    }
    if (strcmp(name, "RELAY_RATE_LIMIT") == 0) {
        if (pk_parse_size(value, &rate) != 0 || rate > RATE_LIMIT_MAX)
            return pk_seterr(errbuf, -EINVAL,
                             "RELAY_RATE_LIMIT=\"%s\" is invalid; accepted: a size in bytes "
                             "from 0 to %llu (K, M, G suffixes)",
                             value, (unsigned long long)RATE_LIMIT_MAX);
        cfg->relay_rate_limit = rate;
        return 0;
    }
    return pk_seterr(errbuf, -EINVAL, "%s is no thin-link setting", name);
}

int
pk_config_check_thin(struct pk_config *cfg, char *errbuf)
{
    int rc = parse_compression(cfg, errbuf);

    if (rc == 0)
        rc = parse_sample(cfg, errbuf);
    return rc != 0 ? rc : check_filter_file(cfg, errbuf);
}

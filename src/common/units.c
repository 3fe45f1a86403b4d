/* Value parsers for configuration; see units.h. */
#include "units.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int
pk_parse_uint(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (s == NULL || *s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno == ERANGE)
        return -ERANGE;
    if (*end != '\0')
        return -EINVAL;
    *out = v;
    return 0;
}

/* Splits "<number><suffix>" into a non-negative decimal number and its suffix. */
static int
split_number(const char *s, double *num, const char **suffix)
{
    char *end;

    if (s == NULL || !((*s >= '0' && *s <= '9') || *s == '.'))
        return -EINVAL;
    errno = 0;
    *num = strtod(s, &end);
    if (errno == ERANGE || end == s || *num < 0)
        return -EINVAL;
    *suffix = end;
    return 0;
}

struct unit {
    const char *suffix;
    double factor;
};

/* "<number><suffix>" scaled by the suffix's factor; cmp says whether case matters. */
static int
parse_scaled(const char *s, const struct unit *units, size_t n,
             int (*cmp)(const char *, const char *), double limit, uint64_t *out)
{
    const char *suffix;
    double num;

    if (split_number(s, &num, &suffix) != 0)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (cmp(suffix, units[i].suffix) == 0) {
            double v = num * units[i].factor;
            if (v > limit)
                return -ERANGE;
            *out = (uint64_t)(v + 0.5);
            return 0;
        }
    }
    return -EINVAL;
}

int
pk_parse_size(const char *s, uint64_t *out)
{
    static const struct unit units[] = {
        {"", 1},           {"b", 1},           {"k", 1024.0},       {"kb", 1024.0},
        {"kib", 1024.0},   {"m", 1048576.0},   {"mb", 1048576.0},   {"mib", 1048576.0},
        {"g", 1073741824.0}, {"gb", 1073741824.0}, {"gib", 1073741824.0}};

    return parse_scaled(s, units, sizeof(units) / sizeof(units[0]), strcasecmp, 1.8e19, out);
}

int
pk_parse_duration_ms(const char *s, uint64_t *out)
{
    /* Case matters: "m" is minutes, and "M" would read as a size. */
    static const struct unit units[] = {
        {"ms", 1}, {"", 1000}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};

    return parse_scaled(s, units, sizeof(units) / sizeof(units[0]), strcmp, 1e15, out);
}

int
pk_parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -EINVAL;
}

/*
 * Parsers for the value syntaxes of the configuration: unsigned integers, byte sizes with
 * K/M/G suffixes, durations with ms/s/m/h suffixes, booleans. Pure; no allocation.
 */
#ifndef PK_UNITS_H
#define PK_UNITS_H

#include <stdint.h>

/** Decimal unsigned integer, no sign, no trailing junk. 0 or -EINVAL / -ERANGE. */
int pk_parse_uint(const char *s, uint64_t *out);

/** Bytes: "65536", "64K", "16M", "1G" (powers of 1024; "KiB"/"k" forms accepted). */
int pk_parse_size(const char *s, uint64_t *out);

/** Milliseconds: "250ms", "2s", "1.5s", "5m", "1h"; a bare number is seconds. */
int pk_parse_duration_ms(const char *s, uint64_t *out);

/** "1", "true", "yes", "on" / "0", "false", "no", "off" (case-insensitive). */
int pk_parse_bool(const char *s, int *out);

#endif

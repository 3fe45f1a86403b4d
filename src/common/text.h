/*
 * Text that comes from outside (the network, the environment) on its way into logs, JSON and
 * pcapng: UTF-8 validation and cleaning, and percent-decoding. Pure functions, no state.
 */
#ifndef PK_TEXT_H
#define PK_TEXT_H

#include <stddef.h>
#include <stdint.h>

/** Length (1-4) of the valid UTF-8 character at p, of at most n bytes; 0 when there is none
 *  (a stray or truncated sequence, an overlong form, a surrogate, beyond U+10FFFF). */
size_t pk_utf8_len(const uint8_t *p, size_t n);

/**
 * Copies src (len bytes, not necessarily terminated) into dst (cap >= 1 bytes, always
 * terminated): control characters and bytes that are not UTF-8 become '?', a character that
 * does not fit whole is left out. Returns the length written.
 */
size_t pk_text_copy_clean(char *dst, size_t cap, const char *src, size_t len);

/**
 * Percent-decodes src (len bytes) into out (cap >= 1 bytes, always terminated); with
 * plus_is_space a '+' is a space (a query string's form), otherwise itself (a path). Returns
 * the decoded length, or -EINVAL for a bad escape, an escaped or literal NUL, or a result that
 * does not fit in cap - 1 bytes.
 */
int pk_url_decode(const char *src, size_t len, char *out, size_t cap, int plus_is_space);

#endif

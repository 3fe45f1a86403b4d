/* UTF-8 validation and cleaning of outside text, percent-decoding (see text.h). */
#include "text.h"

#include <errno.h>
#include <string.h>

size_t
pk_utf8_len(const uint8_t *p, size_t n)
{
    size_t len;

    if (n == 0)
        return 0;
    if (p[0] < 0x80)
        return 1;
    len = p[0] >= 0xf5 ? 0 : p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
    if (len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) || /* overlong, UTF-16 */
        (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))    /* overlong, > U+10FFFF */
        return 0;
    return len;
}

size_t
pk_text_copy_clean(char *dst, size_t cap, const char *src, size_t len)
{
    const uint8_t *p = (const uint8_t *)src;
    size_t i = 0, o = 0;

    while (i < len && o < cap - 1) {
        size_t n = pk_utf8_len(p + i, len - i);
        if (n == 0 || (n == 1 && (p[i] < 0x20 || p[i] == 0x7f))) {
            dst[o++] = '?';
            i++;
        } else if (o + n <= cap - 1) {
            memcpy(dst + o, p + i, n);
            o += n, i += n;
        } else {
            break;
        }
    }
    dst[o] = '\0';
    return o;
}

static int
hex_digit(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

int
pk_url_decode(const char *src, size_t len, char *out, size_t cap, int plus_is_space)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)src[i];
        if (c == '+' && plus_is_space) {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 2 < len ? hex_digit(src[i + 1]) : -1;
            int lo = hi >= 0 ? hex_digit(src[i + 2]) : -1;
            if (lo < 0)
                return -EINVAL;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c == '\0' || o + 1 >= cap)
            return -EINVAL;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return (int)o;
}

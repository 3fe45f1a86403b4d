/* Outside text: percent-decoding of query values and path names (text.h). */
#include "text.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void
test_url_decode_query(void **state)
{
    char out[32];

    (void)state;
    assert_int_equal(pk_url_decode("udp+port%2053", 13, out, sizeof(out), 1), 11);
    assert_string_equal(out, "udp port 53");
    assert_int_equal(pk_url_decode("%41%62c", 7, out, sizeof(out), 1), 3);
    assert_string_equal(out, "Abc");
    assert_int_equal(pk_url_decode("", 0, out, sizeof(out), 1), 0);
    assert_string_equal(out, "");
    /* only len bytes count, whatever follows */
    assert_int_equal(pk_url_decode("ab%41", 2, out, sizeof(out), 1), 2);
    assert_string_equal(out, "ab");
}

static void
test_url_decode_path(void **state)
{
    char out[8];

    (void)state;
    assert_int_equal(pk_url_decode("a+b%20c", 7, out, sizeof(out), 0), 5);
    assert_string_equal(out, "a+b c");
}

static void
test_url_decode_refused(void **state)
{
    char out[4];

    (void)state;
    assert_int_equal(pk_url_decode("%4", 2, out, sizeof(out), 1), -EINVAL);    /* cut short */
    assert_int_equal(pk_url_decode("%", 1, out, sizeof(out), 1), -EINVAL);
    assert_int_equal(pk_url_decode("%zz", 3, out, sizeof(out), 1), -EINVAL);  /* not hex */
    assert_int_equal(pk_url_decode("%4g", 3, out, sizeof(out), 1), -EINVAL);
    assert_int_equal(pk_url_decode("a%00", 4, out, sizeof(out), 1), -EINVAL); /* a NUL */
    assert_int_equal(pk_url_decode("abc", 3, out, sizeof(out), 1), 3);         /* fits: 3 + NUL */
    assert_int_equal(pk_url_decode("abcd", 4, out, sizeof(out), 1), -EINVAL);  /* does not */
    assert_int_equal(pk_url_decode("a%41%41%41", 10, out, sizeof(out), 1), -EINVAL);
}

static void
test_copy_clean(void **state)
{
    char out[8];

    (void)state;
    assert_int_equal(pk_text_copy_clean(out, sizeof(out), "a\nb\xff", 4), 4);
    assert_string_equal(out, "a?b?");
    assert_int_equal(pk_utf8_len((const uint8_t *)"\xc3\xa9", 2), 2);
    assert_int_equal(pk_utf8_len((const uint8_t *)"\xc3", 1), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_decode_query),
        cmocka_unit_test(test_url_decode_path),
        cmocka_unit_test(test_url_decode_refused),
        cmocka_unit_test(test_copy_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The control plane's store (src/control): generations, delete semantics, all vs per-source,
 * the entries bound, CONTROL_STATE round trip and refusal, PUT bodies, the token. */
#include "control.h"
#include "pcktr.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[64];

static const char *
path_in(const char *name)
{
    static char p[128];

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return p;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

static struct pk_control_plane *
open_plane(const char *state)
{
    struct pk_control_settings s = {.state = state};
    struct pk_control_plane *cp;
    char errbuf[PK_ERRBUF_SIZE];

    assert_int_equal(pk_control_plane_open(&cp, &s, errbuf), 0);
    return cp;
}

static void
set(struct pk_control_plane *cp, const char *name, const char *filter, int paused, uint32_t n)
{
    struct pk_control_entry e = {.filter = (char *)filter, .paused = paused, .sample_n = n};
    char errbuf[PK_ERRBUF_SIZE];

    assert_int_equal(pk_control_plane_set(cp, name, &e, "test", NULL, errbuf), 0);
}

static void
test_generations_increase(void **state)
{
    struct pk_control_plane *cp = open_plane(NULL);
    struct pk_control_desired d;
    uint64_t last = 0, g;

    (void)state;
    assert_int_equal(pk_control_plane_generation(cp), 0);
    pk_control_plane_desired(cp, "a", &d);
    assert_int_equal(d.generation, 0);
    assert_string_equal(d.filter, "");
    for (int i = 0; i < 50; i++) {
        set(cp, "a", "tcp", 0, 0);
        pk_control_plane_desired(cp, "a", &d);
        assert_true(d.generation > last);
        assert_true(d.generation > 1600000000000ull); /* wall-clock ms: new across restarts */
        last = d.generation;
    }
    assert_int_equal(pk_control_plane_clear(cp, "a", "test", &g, NULL), 0);
    assert_true(g > last);
    assert_int_equal(pk_control_plane_generation(cp), g);
    pk_control_plane_free(cp);
}

static void
test_delete_and_all(void **state)
{
    struct pk_control_plane *cp = open_plane(NULL);
    struct pk_control_desired d, da;
    uint64_t g;

    (void)state;
    set(cp, NULL, "udp", 0, 4);
    set(cp, "a", "tcp port 80", 1, 0);
    pk_control_plane_desired(cp, "a", &d);
    assert_string_equal(d.filter, "tcp port 80");
    assert_int_equal(d.flags, PK_CONTROL_PAUSED);
    pk_control_plane_desired(cp, "b", &da); /* no entry of its own: the one for all */
    assert_string_equal(da.filter, "udp");
    assert_int_equal(da.sample_n, 4);
    assert_int_equal(pk_control_plane_clear(cp, "a", "test", NULL, NULL), 0);
    assert_int_equal(pk_control_plane_clear(cp, "a", "test", NULL, NULL), -ENOENT);
    pk_control_plane_desired(cp, "a", &d); /* back to the entry for all */
    assert_string_equal(d.filter, "udp");
    assert_int_equal(d.generation, da.generation);
    assert_int_equal(pk_control_plane_clear(cp, NULL, "test", &g, NULL), 0);
    assert_int_equal(pk_control_plane_clear(cp, NULL, "test", NULL, NULL), -ENOENT);
    pk_control_plane_desired(cp, "b", &d); /* nothing, under the delete's generation */
    assert_int_equal(d.generation, g);
    assert_string_equal(d.filter, "");
    assert_int_equal(d.flags, 0);
    assert_int_equal(d.sample_n, 0);

    struct pk_control msg;
    set(cp, "c", "icmp", 1, 8);
    pk_control_plane_desired(cp, "c", &d);
    pk_control_message_of(&d, &msg);
    assert_int_equal(msg.generation, d.generation);
    assert_int_equal(msg.flags, PK_CONTROL_PAUSED);
    assert_int_equal(msg.sample_n, 8);
    assert_int_equal(msg.filter.len, 4);
    assert_memory_equal(msg.filter.ptr, "icmp", 4);
    pk_control_plane_free(cp);
}

static void
test_entries_limit(void **state)
{
    struct pk_control_plane *cp = open_plane(NULL);
    struct pk_control_entry e = {0};
    char name[32], errbuf[PK_ERRBUF_SIZE];

    (void)state;
    for (int i = 0; i < PK_CONTROL_ENTRIES_MAX; i++) {
        snprintf(name, sizeof(name), "s%d", i);
        assert_int_equal(pk_control_plane_set(cp, name, &e, "t", NULL, errbuf), 0);
    }
    assert_int_equal(pk_control_plane_set(cp, "one-more", &e, "t", NULL, errbuf), -ENOSPC);
    assert_int_equal(pk_control_plane_set(cp, "s7", &e, "t", NULL, errbuf), 0); /* replace */
    assert_int_equal(pk_control_plane_set(cp, NULL, &e, "t", NULL, errbuf), 0); /* all */
    assert_int_equal(pk_control_plane_clear(cp, "s0", "t", NULL, errbuf), 0);
    assert_int_equal(pk_control_plane_set(cp, "one-more", &e, "t", NULL, errbuf), 0);
    assert_int_equal(pk_control_plane_set(cp, "", &e, "t", NULL, errbuf), -EINVAL);
    pk_control_plane_free(cp);
}

static void
test_persistence_round_trip(void **state)
{
    const char *p = path_in("state.json");
    struct pk_control_plane *cp, *back;
    struct pk_control_desired d1, d2;
    const char *names[] = {"a", "b", "c", "nobody", NULL};

    (void)state;
    unlink(p);
    cp = open_plane(p); /* missing: empty */
    assert_int_equal(pk_control_plane_generation(cp), 0);
    set(cp, NULL, "udp", 0, 2);
    set(cp, "a", "tcp port 80", 1, 0);
    set(cp, "b", "", 0, 100);
    set(cp, "c", "icmp", 0, 0);
    assert_int_equal(pk_control_plane_clear(cp, "c", "t", NULL, NULL), 0);
    back = open_plane(p);
    assert_int_equal(pk_control_plane_generation(back), pk_control_plane_generation(cp));
    for (int i = 0; i < (int)PK_ARRAY_LEN(names); i++) {
        pk_control_plane_desired(cp, names[i], &d1);
        pk_control_plane_desired(back, names[i], &d2);
        assert_int_equal(d1.generation, d2.generation);
        assert_int_equal(d1.flags, d2.flags);
        assert_int_equal(d1.sample_n, d2.sample_n);
        assert_int_equal(d1.rate_limit, d2.rate_limit);
        assert_string_equal(d1.filter, d2.filter);
    }
    assert_int_equal(pk_control_plane_clear(back, NULL, "t", NULL, NULL), 0);
    pk_control_plane_free(back);
    back = open_plane(p); /* all sources cleared, and the clear's generation kept */
    pk_control_plane_desired(back, "nobody", &d2);
    assert_int_equal(d2.generation, pk_control_plane_generation(back));
    assert_string_equal(d2.filter, "");
    pk_control_plane_free(back);
    pk_control_plane_free(cp);
    unlink(p);
}

static void
test_corrupt_state_refused(void **state)
{
    const char *p = path_in("bad.json");
    const char *bad[] = {
        "{", "[]", "{\"version\":1}",
        "{\"version\":2,\"generation\":1,"
        "\"cleared\":0,\"all\":null,\"sources\":{}}",
        "{\"version\":1,\"generation\":5,\"cleared\":0,\"all\":null,\"sources\":"
        "{\"a\":{\"filter\":\"tcp port\",\"paused\":false,\"sample_n\":0,"
        "\"rate_limit\":0,\"generation\":5,\"changed_by\":\"\",\"changed_at\":1}}}"};
    struct pk_control_settings s = {.state = p};
    struct pk_control_plane *cp;
    char errbuf[PK_ERRBUF_SIZE];

    (void)state;
    for (size_t i = 0; i < PK_ARRAY_LEN(bad); i++) {
        write_file(p, bad[i], 0600);
        assert_int_equal(pk_control_plane_open(&cp, &s, errbuf), -EINVAL);
        assert_null(cp);
        assert_non_null(strstr(errbuf, "CONTROL_STATE"));
    }
    unlink(p);
}

static void
test_bodies(void **state)
{
    struct pk_control_entry e;
    char by[PK_CONTROL_BY_MAX + 1], errbuf[PK_ERRBUF_SIZE];
    const char *ok = "{\"filter\":\"tcp port 443\",\"paused\":true,\"sample\":\"1/16\","
                     "\"rate_limit\":\"2M\",\"by\":\"alice\"}";
    const char *bad[][2] = {
        {"{\"colour\":1}", "colour"},
        {"{\"paused\":1}", "paused"},
        {"{\"sample\":\"1/0\"}", "sample"},
        {"{\"sample\":2.5}", "sample"},
        {"{\"sample\":\"2/3\"}", "sample"},
        {"{\"rate_limit\":-1}", "rate_limit"},
        {"{\"rate_limit\":\"fast\"}", "rate_limit"},
        {"{\"filter\":\"tcp port\"}", "filter"},
        {"{\"filter\":3}", "filter"},
        {"{\"by\":\"a\\nb\"}", "by"},
        {"[1]", "object"},
        {"", "object"},
    };

    (void)state;
    assert_int_equal(pk_control_parse_body(ok, strlen(ok), &e, by, errbuf), 0);
    assert_string_equal(e.filter, "tcp port 443");
    assert_true(e.paused);
    assert_int_equal(e.sample_n, 16);
    assert_int_equal(e.rate_limit, 2u << 20);
    assert_string_equal(by, "alice");
    pk_control_entry_reset(&e);
    assert_int_equal(
        pk_control_parse_body("{\"sample\":7,\"rate_limit\":1000}", 31, &e, by, errbuf), 0);
    assert_int_equal(e.sample_n, 7);
    assert_int_equal(e.rate_limit, 1000);
    assert_null(e.filter);
    assert_string_equal(by, "");
    for (size_t i = 0; i < PK_ARRAY_LEN(bad); i++) {
        assert_int_equal(pk_control_parse_body(bad[i][0], strlen(bad[i][0]), &e, by, errbuf),
                         -EINVAL);
        assert_non_null(strstr(errbuf, bad[i][1]));
    }
}

static void
test_token(void **state)
{
    const char *t = path_in("token");
    struct pk_control_settings s = {.token_file = t};
    struct pk_control_plane *cp;
    char errbuf[PK_ERRBUF_SIZE];

    (void)state;
    write_file(t, "  \n", 0600);
    assert_int_equal(pk_control_plane_open(&cp, &s, errbuf), -EINVAL);
    assert_non_null(strstr(errbuf, "CONTROL_TOKEN_FILE"));
    s.token_file = path_in("missing");
    assert_int_equal(pk_control_plane_open(&cp, &s, errbuf), -EINVAL);
    s.token_file = t;
    write_file(t, "s3cret\n", 0600);
    assert_int_equal(pk_control_plane_open(&cp, &s, errbuf), 0);
    assert_true(pk_control_plane_enabled(cp));
    assert_true(pk_control_token_ok(cp, "Bearer s3cret", 13));
    assert_false(pk_control_token_ok(cp, "Bearer s3cre", 12));
    assert_false(pk_control_token_ok(cp, "Bearer s3cretx", 14));
    assert_false(pk_control_token_ok(cp, "Basic s3cret", 12));
    pk_control_plane_free(cp);
    unlink(t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generations_increase),
        cmocka_unit_test(test_delete_and_all),
        cmocka_unit_test(test_entries_limit),
        cmocka_unit_test(test_persistence_round_trip),
        cmocka_unit_test(test_corrupt_state_refused),
        cmocka_unit_test(test_bodies),
        cmocka_unit_test(test_token),
    };
    int rc;

    snprintf(dir, sizeof(dir), "/tmp/pk_test_control.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(dir);
    return rc;
}
